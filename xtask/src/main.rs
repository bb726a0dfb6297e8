//! `cargo xtask <check>`: every check CI runs, one subcommand each. `.ci/run` calls
//! `cargo xtask test`, which runs them all in order and stops at the first failure.

use std::env;
use std::process::{exit, Command};
use std::time::Instant;

/// Crates with loom models in `tests/loom.rs` (shoal-core: the shared life cycle).
const LOOM_CRATES: &[&str] = &["shoal-core", "shoal-queue", "shoal-steal", "shoal-scope"];

/// Every combination of the facade's strategy features that must build and pass its tests,
/// and all three with `stream` (the async tests of map streams).
/// (A build with none must fail with a clear `compile_error!`; `facade_none` checks that.)
const FEATURE_SETS: &[&str] = &[
    "queue",
    "steal",
    "scope",
    "queue,steal",
    "queue,scope",
    "steal,scope",
    "queue,steal,scope",
    "queue,steal,scope,stream",
];

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test      every check CI runs: fmt, clippy, tests + doc tests, facade feature sets,
            docs, loom and shuttle models, benches compiled, shoal-bench smoke run,
            short stress
  fmt       cargo fmt --check
  clippy    clippy on every target with -D warnings
  unit      cargo test on the workspace (unit, integration and doc tests)
  features  the facade's tests under every strategy feature set
  doc       rustdoc with -D warnings
  loom      the loom models of every pool (LOOM_MAX_PREEMPTIONS defaults to 2)
  shuttle   randomized shuttle schedules over every pool (SHOAL_SHUTTLE_ITERATIONS, default 200)
  bench     compile every benchmark (cargo bench --no-run)
  smoke     run `shoal-bench compare` at a tiny size
  stress    the long stress and soak tests (ignored by default); STRESS_SCALE=N multiplies sizes
  asan      unit, conformance, integration and adversarial tests under AddressSanitizer
            (needs a nightly toolchain; `test` runs it when one is installed, else skips it)";

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        exit(2);
    };
    let started = Instant::now();
    let ok = match cmd.as_str() {
        "test" => all(),
        "fmt" => fmt(),
        "clippy" => clippy(),
        "unit" => unit(),
        "features" => features(),
        "doc" => doc(),
        "loom" => loom(),
        "shuttle" => shuttle(),
        "bench" => bench(),
        "smoke" => smoke(),
        "stress" => stress(false),
        "asan" => match nightly() {
            Some(_) => asan(),
            None => {
                eprintln!("asan: {NO_NIGHTLY}");
                false
            }
        },
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            true
        }
        other => {
            eprintln!("unknown command `{other}`\n\n{USAGE}");
            exit(2);
        }
    };
    let secs = started.elapsed().as_secs();
    if ok {
        eprintln!(
            "xtask {cmd}: all checks passed in {}m{:02}s",
            secs / 60,
            secs % 60
        );
    } else {
        eprintln!("xtask {cmd}: FAILED after {}m{:02}s", secs / 60, secs % 60);
        exit(1);
    }
}

/// A named check.
type Step = (&'static str, fn() -> bool);

fn all() -> bool {
    let steps: &[Step] = &[
        ("fmt", fmt),
        ("clippy", clippy),
        ("unit", unit),
        ("features", features),
        ("doc", doc),
        ("loom", loom),
        ("shuttle", shuttle),
        ("bench", bench),
        ("smoke", smoke),
        ("stress (short)", || stress(true)),
        ("asan", asan),
    ];
    let mut skipped = Vec::new();
    for (name, step) in steps {
        if *name == "asan" && nightly().is_none() {
            eprintln!("\n=== xtask: asan SKIPPED: {NO_NIGHTLY} ===");
            skipped.push(*name);
            continue;
        }
        let t = Instant::now();
        eprintln!("\n=== xtask: {name} ===");
        if !step() {
            eprintln!("=== xtask: {name} FAILED ===");
            return false;
        }
        eprintln!("=== xtask: {name} ok ({:.0?}) ===", t.elapsed());
    }
    if !skipped.is_empty() {
        eprintln!("\nxtask: skipped: {}", skipped.join(", "));
    }
    true
}

const NO_NIGHTLY: &str = "no nightly toolchain (AddressSanitizer needs one: `rustup toolchain \
     install nightly`; no rust-src or Miri needed)";

/// The nightly toolchain's `rustc --version`, if rustup has one.
fn nightly() -> Option<String> {
    let out = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The tests AddressSanitizer watches: every pool's unit, conformance and integration tests, the
/// rate limiter's, the suite against shoal-testkit's reference pool, and the adversarial
/// unwind-safety suite. std is not instrumented (no rust-src), our code is: it finds a scope or
/// join frame freed while another thread still uses it, which loom cannot see.
fn asan() -> bool {
    eprintln!("asan with {}", nightly().unwrap_or_default());
    let runs: &[&[&str]] = &[
        &[
            "-p",
            "shoal-core",
            "-p",
            "shoal-testkit",
            "-p",
            "shoal-queue",
            "-p",
            "shoal-steal",
            "-p",
            "shoal-scope",
            "-p",
            "shoal-rate",
            "--lib",
            "--tests",
        ],
        &["-p", "shoal-reliability", "--test", "adversarial"],
    ];
    for args in runs {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo", "test"]);
        c.args([
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target-dir",
            "target/asan",
        ]);
        c.args(*args);
        // The stable toolchain's settings from `cargo xtask` must not leak into nightly's.
        for var in ["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC", "RUSTDOC"] {
            c.env_remove(var);
        }
        c.env("RUSTFLAGS", "-Zsanitizer=address");
        // Stack frames stay poisoned after return, so a join or scope that returned early is
        // caught; leaks are not errors here (some tests forget handles on purpose).
        c.env(
            "ASAN_OPTIONS",
            "detect_stack_use_after_return=1:detect_leaks=0",
        );
        if !run(c) {
            return false;
        }
    }
    true
}

fn cargo() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut cmd: Command) -> bool {
    eprintln!("$ {cmd:?}");
    match cmd.status() {
        Ok(status) => status.success(),
        Err(err) => {
            eprintln!("could not start {cmd:?}: {err}");
            false
        }
    }
}

fn fmt() -> bool {
    let mut c = cargo();
    c.args(["fmt", "--all", "--", "--check"]);
    run(c)
}

fn clippy() -> bool {
    let mut c = cargo();
    c.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(c)
}

fn unit() -> bool {
    let mut c = cargo();
    c.args(["test", "--workspace"]);
    run(c)
}

fn features() -> bool {
    for set in FEATURE_SETS {
        let mut c = cargo();
        c.args([
            "test",
            "-p",
            "shoal",
            "--no-default-features",
            "--features",
            set,
        ]);
        if !run(c) {
            return false;
        }
    }
    facade_none()
}

/// A facade with no strategy must refuse to build, saying what to enable.
fn facade_none() -> bool {
    let mut c = cargo();
    c.args(["check", "-p", "shoal", "--no-default-features", "--lib"]);
    eprintln!("$ {c:?}  (must fail with a compile_error naming the features)");
    match c.output() {
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                eprintln!("a facade build with no strategy feature succeeded; it must fail");
                false
            } else if !stderr.contains("enable one of the features") {
                eprintln!("the build failed, but not with the expected message:\n{stderr}");
                false
            } else {
                true
            }
        }
        Err(err) => {
            eprintln!("could not start cargo: {err}");
            false
        }
    }
}

fn doc() -> bool {
    let mut c = cargo();
    c.args(["doc", "--workspace", "--no-deps", "--all-features"]);
    c.env("RUSTDOCFLAGS", "-D warnings");
    run(c)
}

fn loom() -> bool {
    let preemptions = env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "2".into());
    for krate in LOOM_CRATES {
        if !std::path::Path::new(&format!("crates/{krate}/tests/loom.rs")).exists() {
            eprintln!("no loom models in {krate} (crates/{krate}/tests/loom.rs missing)");
            return false;
        }
        let mut c = cargo();
        c.args([
            "test",
            "--release",
            "--target-dir",
            "target/loom",
            "-p",
            krate,
            "--test",
            "loom",
        ]);
        c.env("RUSTFLAGS", "--cfg shoal_loom -C debug-assertions");
        c.env("LOOM_MAX_PREEMPTIONS", &preemptions);
        if !run(c) {
            return false;
        }
    }
    true
}

fn bench() -> bool {
    let mut c = cargo();
    c.args(["bench", "--workspace", "--no-run"]);
    run(c)
}

fn smoke() -> bool {
    let mut c = cargo();
    c.args([
        "run",
        "--release",
        "-p",
        "shoal-bench",
        "--",
        "compare",
        "--size",
        "tiny",
        "--no-progress",
    ]);
    run(c)
}

/// The stress suites: `short` runs them at a small size (part of `test`); otherwise at full
/// size, multiplied by `STRESS_SCALE`.
fn stress(short: bool) -> bool {
    let mut c = cargo();
    c.args([
        "test",
        "--release",
        "-p",
        "shoal-reliability",
        "--test",
        "stress",
    ]);
    if short {
        c.env("STRESS_SCALE", "0");
        c.args(["--", "--include-ignored"]);
    } else {
        c.args(["--", "--ignored"]);
    }
    run(c)
}

/// shuttle's randomized schedules over every pool (`crates/shoal-reliability/tests/shuttle.rs`).
/// `SHOAL_SHUTTLE_ITERATIONS` sets schedules per scenario and scheduler (default here: 200).
fn shuttle() -> bool {
    let mut c = cargo();
    c.args([
        "test",
        "--release",
        "--target-dir",
        "target/shuttle",
        "-p",
        "shoal-reliability",
        "--test",
        "shuttle",
    ]);
    c.env("RUSTFLAGS", "--cfg shoal_shuttle");
    if env::var_os("SHOAL_SHUTTLE_ITERATIONS").is_none() {
        c.env("SHOAL_SHUTTLE_ITERATIONS", "200");
    }
    run(c)
}
