//! The command line: good runs write their files, bad arguments fail with a clear message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shoal_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoal-bench"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shoal-bench-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The arguments of a command line written as one string, separated by spaces.
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs the command line `line` with its files going to `dir` and no progress bar, and checks
/// that it succeeded.
fn run_into(dir: &Path, line: &str) -> Output {
    let mut args = words(line);
    args.extend(["--no-progress", "--out", dir.to_str().unwrap()]);
    let o = shoal_bench(&args);
    assert!(o.status.success(), "{line}: {}", stderr(&o));
    o
}

/// Runs the command line `line`, which must succeed, and checks that its output names each of
/// `names` (separated by spaces).
fn prints_each(line: &str, names: &str) {
    let o = shoal_bench(&words(line));
    assert!(o.status.success(), "{line}: {}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for name in words(names) {
        assert!(
            stdout.contains(name),
            "{name} missing from `{line}`:\n{stdout}"
        );
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn compare_tiny_writes_table_json_and_svg() {
    let dir = out_dir("compare");
    let o = run_into(
        &dir,
        "compare --size tiny --workloads fib,hash,idle --contenders sequential,rayon,threadpool",
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("fib: fib(20)"), "{stdout}");
    assert!(stdout.contains("performance goals"), "{stdout}");
    assert!(!stdout.contains("issue"), "{stdout}");
    // threadpool cannot join: it is left out of the fib block, not shown as a failure.
    assert!(!stdout.contains("FAILED"), "{stdout}");
    let json = read_json(&dir.join("compare.json"));
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9, "3 workloads x 3 contenders");
    let skipped = rows.iter().filter(|r| r["status"] == "skipped").count();
    assert_eq!(skipped, 1, "threadpool on fib");
    let svg = std::fs::read_to_string(dir.join("compare.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("fib"),
        "an SVG with text"
    );

    // The chart can be redrawn from the JSON alone.
    let redrawn = dir.join("again.svg");
    let o = shoal_bench(&[
        "chart",
        dir.join("compare.json").to_str().unwrap(),
        "--svg",
        redrawn.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    assert!(std::fs::read_to_string(&redrawn).unwrap().contains("hash"));
    let o = shoal_bench(&["chart", dir.join("compare.svg").to_str().unwrap()]);
    assert!(!o.status.success(), "an SVG is not a results file");
    assert!(stderr(&o).contains("not JSON"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--repeat` runs the comparison again with fresh pools and judges each goal over the runs.
#[test]
fn repeat_judges_each_goal_over_the_runs() {
    let dir = out_dir("repeat");
    let o = run_into(
        &dir,
        "compare --size tiny --repeat 2 --workloads fib --contenders sequential,shoal-scope,rayon",
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("(run 1 of 2)"), "{stdout}");
    assert!(stdout.contains("(run 2 of 2)"), "{stdout}");
    let summary = &stdout[stdout.find("performance goals over 2 runs").expect(&stdout)..];
    // The one goal both runs measured, with each run's figure; the others are left out.
    assert!(
        summary.contains("/2] fib: ScopedPool <= 0.5x rayon's time"),
        "{summary}"
    );
    assert!(summary.contains("run 1: shoal-scope takes"), "{summary}");
    assert!(summary.contains("run 2: shoal-scope takes"), "{summary}");
    assert!(!summary.contains("hash:"), "{summary}");
    let json = read_json(&dir.join("compare.json"));
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["rows"].as_array().unwrap().len(),
        3,
        "the last run's rows"
    );
    let fib = json["targets_over_runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["goal"] == "fib: ScopedPool <= 0.5x rayon's time")
        .unwrap();
    assert_eq!(fib["judged"], 2);
    assert_eq!(fib["measured"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_writes_a_line_chart() {
    let dir = out_dir("sweep");
    run_into(
        &dir,
        "sweep --workload hash --workers 1,2 --size tiny --contenders rayon,std-scope",
    );
    let json = read_json(&dir.join("sweep-hash.json"));
    assert_eq!(json["cells"].as_array().unwrap().len(), 4);
    assert!(std::fs::read_to_string(dir.join("sweep-hash.svg"))
        .unwrap()
        .contains("polyline"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wake_latency_reports_percentiles_and_the_go_pool_says_why_it_is_missing() {
    let dir = out_dir("wake");
    let o = run_into(
        &dir,
        "compare --size tiny --workloads wake-latency --contenders shoal-queue,threadpool,go-pool",
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("p50 ") && stdout.contains("p99 "),
        "{stdout}"
    );
    let goal = "wake-latency: no shoal pool's tail heavier than the best thread pool's";
    assert!(stdout.contains(goal), "{stdout}");
    assert!(stdout.contains("heaviest: shoal-queue"), "{stdout}");
    let json = read_json(&dir.join("compare.json"));
    let rows = json["rows"].as_array().unwrap();
    let queue = rows
        .iter()
        .find(|r| r["contender"] == "shoal-queue")
        .unwrap();
    let (p50, p99) = (
        queue["p50_secs"].as_f64().unwrap(),
        queue["p99_secs"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99, "p50 {p50}, p99 {p99}");
    // The samples are in the file, so the goal's tail test is made again from it.
    let samples = queue["latencies"].as_array().unwrap();
    assert_eq!(samples.len(), 60, "tiny size: 20 rounds of 3 samples");
    let o = shoal_bench(&[
        "chart",
        dir.join("compare.json").to_str().unwrap(),
        "--svg",
        dir.join("again.svg").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let redrawn = String::from_utf8_lossy(&o.stdout);
    let line = redrawn.lines().find(|l| l.contains(goal)).unwrap();
    assert!(line.contains("heaviest: shoal-queue"), "{line}");
    let go = rows.iter().find(|r| r["contender"] == "go-pool").unwrap();
    let go_installed = Command::new("go").arg("version").output().is_ok();
    if go_installed {
        assert_eq!(go["status"], "ok", "{go}");
        assert!(go["p99_secs"].as_f64().unwrap() > 0.0);
    } else {
        assert_eq!(go["status"], "skipped");
        assert!(stdout.contains("note: go-pool was not run"), "{stdout}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_names_every_workload() {
    prints_each(
        "list",
        "spawn-outside spawn-inside chain fib tree-sum join-loop hash io http files unbalanced \
         map idle wake-latency go-pool",
    );
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let cases = [
        ("compare --size huge", "invalid size"),
        ("compare --size 0", "invalid size"),
        ("compare --workers 0", "out of range"),
        ("compare --workers many", "not a worker count"),
        ("compare --workloads fibonacci", "unknown workload"),
        ("compare --contenders go", "unknown contender"),
        ("sweep", "--workload"),
        ("sweep --workload fib --workers 1,0", "out of range"),
        ("compare --timeout 0", "timeout"),
        ("compare --repeat 0", "--repeat"),
        ("compare --http-capacity 0", "--http-capacity"),
        ("compare --http-service-ms=-1", "not a service time"),
        (
            "compare --workloads files --files-root /nonexistent/shoal-bench-root",
            "files: cannot read the directory /nonexistent/shoal-bench-root",
        ),
        ("frobnicate", "unrecognized subcommand"),
    ];
    for (line, needle) in cases {
        let o = shoal_bench(&words(line));
        assert!(!o.status.success(), "`{line}` should fail");
        let err = stderr(&o);
        assert!(
            err.contains(needle),
            "`{line}`: expected `{needle}` in:\n{err}"
        );
    }
}

#[test]
fn help_explains_each_option() {
    prints_each(
        "compare --help",
        "--workloads --contenders --size --workers --io-workers --out --timeout --files-root \
         --http-service-ms --http-capacity --repeat",
    );
}

#[test]
fn http_sweep_reports_latency_beside_throughput() {
    let dir = out_dir("http");
    let o = run_into(
        &dir,
        "sweep --workload http --workers 1,8 --size tiny --contenders sequential,shoal-queue \
         --http-service-ms 1 --http-capacity 4",
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("requests") && stdout.contains("p99 latency"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
    let json = read_json(&dir.join("sweep-http.json"));
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "2 worker counts x 2 contenders");
    for c in cells {
        assert_eq!(c["status"], "ok", "{c}");
        // 1 ms of service per request, so no request is faster.
        assert!(c["p50_secs"].as_f64().unwrap() >= 1e-3, "{c}");
    }
    assert!(dir.join("sweep-http.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_reports_the_cold_pass_and_megabytes() {
    let dir = out_dir("files");
    let root = dir.join("tree");
    for i in 0..20 {
        let sub = root.join(format!("d{}", i % 3));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i}")), vec![i as u8; 1000 * i]).unwrap();
    }
    let o = run_into(
        &dir,
        &format!(
            "compare --size tiny --workloads files --contenders sequential,shoal-steal \
             --io-workers 4 --files-root {}",
            root.display()
        ),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("all 20 files (0.2 MB"), "{stdout}");
    assert!(stdout.contains("cold: the first pass"), "{stdout}");
    assert!(stdout.contains(" MB/s"), "{stdout}");
    let json = read_json(&dir.join("compare.json"));
    let rows = json["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["status"] == "ok"), "{rows:?}");
    assert!(rows.iter().all(|r| r["cold_secs"].as_f64().unwrap() > 0.0));
    assert!((rows[0]["megabytes"].as_f64().unwrap() - 0.19).abs() < 1e-9);
    let _ = std::fs::remove_dir_all(&dir);
}
