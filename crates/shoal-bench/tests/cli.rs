//! The command line: good runs write their files, bad arguments fail with a clear message.

use std::path::PathBuf;
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

#[test]
fn compare_tiny_writes_table_json_and_svg() {
    let dir = out_dir("compare");
    let o = shoal_bench(&[
        "compare",
        "--size",
        "tiny",
        "--workloads",
        "fib,hash,idle",
        "--contenders",
        "sequential,rayon,threadpool",
        "--no-progress",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("fib: fib(20)"), "{stdout}");
    assert!(stdout.contains("targets"), "{stdout}");
    // threadpool cannot join: it is left out of the fib block, not shown as a failure.
    assert!(!stdout.contains("FAILED"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("compare.json")).unwrap()).unwrap();
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

#[test]
fn sweep_writes_a_line_chart() {
    let dir = out_dir("sweep");
    let o = shoal_bench(&[
        "sweep",
        "--workload",
        "hash",
        "--workers",
        "1,2",
        "--size",
        "tiny",
        "--contenders",
        "rayon,std-scope",
        "--no-progress",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep-hash.json")).unwrap())
            .unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 4);
    assert!(std::fs::read_to_string(dir.join("sweep-hash.svg"))
        .unwrap()
        .contains("polyline"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_names_every_workload() {
    let o = shoal_bench(&["list"]);
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    for w in [
        "spawn-outside",
        "spawn-inside",
        "chain",
        "fib",
        "tree-sum",
        "hash",
        "io",
        "unbalanced",
        "map",
        "idle",
    ] {
        assert!(stdout.contains(w), "{w} missing from:\n{stdout}");
    }
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["compare", "--size", "huge"], "invalid size"),
        (&["compare", "--size", "0"], "invalid size"),
        (&["compare", "--workers", "0"], "out of range"),
        (&["compare", "--workers", "many"], "not a worker count"),
        (&["compare", "--workloads", "fibonacci"], "unknown workload"),
        (&["compare", "--contenders", "go"], "unknown contender"),
        (&["sweep"], "--workload"),
        (
            &["sweep", "--workload", "fib", "--workers", "1,0"],
            "out of range",
        ),
        (&["compare", "--timeout", "0"], "timeout"),
        (&["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, needle) in cases {
        let o = shoal_bench(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in:\n{err}"
        );
    }
}

#[test]
fn help_explains_each_option() {
    let o = shoal_bench(&["compare", "--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--workloads",
        "--contenders",
        "--size",
        "--workers",
        "--io-workers",
        "--out",
        "--timeout",
    ] {
        assert!(text.contains(opt), "{opt} missing from --help:\n{text}");
    }
}
