//! `cargo xtask <check>`: every check CI runs, one subcommand each. `.ci/run` calls
//! `cargo xtask test`, which runs them all in order and stops at the first failure.

use std::env;
use std::fs;
use std::path::Path;
use std::process::{exit, Command};
use std::time::Instant;

/// Crates with loom models in `tests/loom.rs` (shoal-core: the shared life cycle), as
/// (directory, package name).
const LOOM_CRATES: &[(&str, &str)] = &[
    ("crates/shoal-core", "shoal-pool-core"),
    ("crates/shoal-queue", "shoal-pool-queue"),
    ("crates/shoal-steal", "shoal-pool-steal"),
    ("crates/shoal-scope", "shoal-pool-scope"),
];

/// The crates published to crates.io, as (directory, package name). On crates.io `shoal` and
/// `shoal-core` belong to another project, so the packages are `shoal-pool*`; their libraries
/// keep the short names (`use shoal::...`, `use shoal_core::...`).
const PUBLISHED: &[(&str, &str)] = &[
    (".", "shoal-pool"),
    ("crates/shoal-core", "shoal-pool-core"),
    ("crates/shoal-queue", "shoal-pool-queue"),
    ("crates/shoal-steal", "shoal-pool-steal"),
    ("crates/shoal-scope", "shoal-pool-scope"),
    ("crates/shoal-rate", "shoal-pool-rate"),
];

/// The facade's package name (`-p` takes package names, not library names).
const FACADE: &str = "shoal-pool";

/// The program that uses shoal from outside the workspace, as the README says.
const DOWNSTREAM: &str = "tests/downstream/Cargo.toml";

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
            docs, packages, the downstream program, loom and shuttle models, benches
            compiled, shoal-bench smoke run, short stress
  fmt       cargo fmt --check (the workspace and tests/downstream)
  clippy    clippy on every target with -D warnings
  unit      cargo test on the workspace (unit, integration and doc tests)
  features  the facade's tests under every strategy feature set
  doc       rustdoc with -D warnings, the public docs and the internals
  package   cargo package (with verify) of every published crate, the license copies
            equal to the root's, and no benchmark output in the facade's .crate file
  downstream  build, lint and run tests/downstream, a program that depends on the facade
            as the README says and runs its examples; its lock file lists no model checker
  loom      the loom models of every pool (LOOM_MAX_PREEMPTIONS defaults to 2)
  shuttle   randomized shuttle schedules over every pool (SHOAL_SHUTTLE_ITERATIONS, default 200)
  bench     compile every benchmark (cargo bench --no-run)
  smoke     run `shoal-bench compare` at a tiny size, and sweep http and files over 1 and 8
            workers
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
        "package" => package(),
        "downstream" => downstream(),
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
        ("package", package),
        ("downstream", downstream),
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
            "shoal-pool-core",
            "-p",
            "shoal-testkit",
            "-p",
            "shoal-pool-queue",
            "-p",
            "shoal-pool-steal",
            "-p",
            "shoal-pool-scope",
            "-p",
            "shoal-pool-rate",
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
    if !run(c) {
        return false;
    }
    let mut c = cargo();
    c.args(["fmt", "--manifest-path", DOWNSTREAM, "--", "--check"]);
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
            FACADE,
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
    c.args(["check", "-p", FACADE, "--no-default-features", "--lib"]);
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

/// The public docs, then the internals too (where the protocols are explained): both
/// without a warning.
fn doc() -> bool {
    let internals = [
        "--document-private-items",
        "--target-dir",
        "target/doc-private",
    ];
    let passes: [&[&str]; 2] = [&[], &internals];
    passes.iter().all(|extra| {
        let mut c = cargo();
        c.args(["doc", "--workspace", "--no-deps", "--all-features"]);
        c.args(*extra);
        c.env("RUSTDOCFLAGS", "-D warnings");
        run(c)
    })
}

/// `cargo package` of every published crate, verified (each package builds on its own, its
/// workspace dependencies taken from the packages made beside it, never from crates.io), after
/// checking that each crate's copies of the license texts are the root's, then a look inside
/// the facade's `.crate` file: it must hold no benchmark output.
fn package() -> bool {
    if !license_copies_match() {
        return false;
    }
    eprintln!(
        "(cargo lists each test, benchmark and example it leaves out of a package: those need \
         the unpublished shoal-testkit or shoal-bench, or files outside the crate)"
    );
    forget_unpacked_packages();
    let mut c = cargo();
    // --allow-dirty: this checks what would be packaged from the working tree, uncommitted
    // changes included; publishing is not this command's business.
    c.args(["package", "--allow-dirty"]);
    for (_, krate) in PUBLISHED {
        c.args(["-p", krate]);
    }
    run(c) && facade_ships_no_benchmark_output()
}

/// Verifying a package builds it against the other packages of this run, which cargo serves
/// from a temporary local registry and unpacks under `$CARGO_HOME/registry/src/`. It never
/// unpacks the same name and version twice, so a second run (from the same checkout path)
/// would build against the sources of the first: removes those unpacked copies of our own
/// crates first. Nothing else in cargo's cache is touched.
fn forget_unpacked_packages() {
    let home = env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry").join("src")) else {
        return;
    };
    let Ok(registries) = fs::read_dir(&src) else {
        return;
    };
    for registry in registries.flatten() {
        let Ok(crates) = fs::read_dir(registry.path()) else {
            continue;
        };
        for unpacked in crates.flatten() {
            let name = unpacked.file_name().to_string_lossy().into_owned();
            let ours = PUBLISHED
                .iter()
                .any(|(_, krate)| name.starts_with(&format!("{krate}-0.")));
            if ours {
                let _ = fs::remove_dir_all(unpacked.path());
            }
        }
    }
}

/// Each published crate ships the root's LICENSE-MIT and LICENSE-APACHE as copies (cargo packs
/// no file from outside a crate's directory, and links do not survive everywhere): they must
/// not drift.
fn license_copies_match() -> bool {
    let mut ok = true;
    for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
        let Ok(root) = fs::read(file) else {
            eprintln!("{file} is missing at the root of the repository");
            return false;
        };
        for &(dir, _) in PUBLISHED.iter().filter(|(dir, _)| *dir != ".") {
            let copy = format!("{dir}/{file}");
            if fs::read(&copy).ok().as_deref() != Some(root.as_slice()) {
                eprintln!(
                    "{copy} is missing or differs from the root's {file}: `cp {file} {dir}/`"
                );
                ok = false;
            }
        }
    }
    ok
}

/// Lists the facade's `.crate` file (made by `package`) and refuses benchmark runs, benchmark
/// sources, build output and the other crates of the workspace.
fn facade_ships_no_benchmark_output() -> bool {
    let dir = Path::new(&env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("package");
    // `shoal-pool-0.1.0.crate`, not `shoal-pool-core-0.1.0.crate`.
    let prefix = format!("{FACADE}-");
    let found = fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|path| {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.ends_with(".crate")
                    && name
                        .strip_prefix(&prefix)
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
    });
    let Some(krate) = found else {
        eprintln!("no {FACADE}-<version>.crate in {}", dir.display());
        return false;
    };
    let mut c = Command::new("tar");
    c.arg("-tzf").arg(&krate);
    eprintln!("$ {c:?}");
    let listing = match c.output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            eprintln!("tar failed: {}", String::from_utf8_lossy(&out.stderr));
            return false;
        }
        Err(err) => {
            eprintln!("could not start tar to list {}: {err}", krate.display());
            return false;
        }
    };
    // Every entry is `shoal-pool-<version>/<path>`.
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_once('/').map(|(_, path)| path))
        .filter(|path| !path.is_empty())
        .collect();
    if !files.contains(&"src/lib.rs") {
        eprintln!(
            "{} does not list src/lib.rs: cannot read it",
            krate.display()
        );
        return false;
    }
    let shipped_by_mistake: Vec<&str> = files
        .iter()
        .copied()
        .filter(|path| is_benchmark_output_or_foreign(path))
        .collect();
    if !shipped_by_mistake.is_empty() {
        eprintln!(
            "{} holds files it must not ship (fix `include` in the root Cargo.toml):\n  {}",
            krate.display(),
            shipped_by_mistake.join("\n  ")
        );
        return false;
    }
    eprintln!(
        "{}: {} files, no benchmark output",
        krate.display(),
        files.len()
    );
    true
}

/// Benchmark runs (tables as JSON, SVG charts, criterion's HTML), benchmark sources, build
/// output, scripts, and what belongs to other crates: nothing the facade's users need.
fn is_benchmark_output_or_foreign(path: &str) -> bool {
    const DIRS: &[&str] = &[
        "docs/benchmarks/",
        "benches/",
        "target/",
        "criterion/",
        "crates/",
        "scripts/",
        "xtask/",
        "tests/downstream/",
    ];
    // `.cargo_vcs_info.json` is cargo's own record of the commit packaged.
    let output = [".json", ".svg", ".html", ".csv"]
        .iter()
        .any(|ext| path.ends_with(ext))
        && path != ".cargo_vcs_info.json";
    output || DIRS.iter().any(|dir| path.starts_with(dir))
}

/// Builds, lints and runs tests/downstream (its own workspace, sharing this one's target
/// directory), then checks its lock file: a dependent must not get loom or shuttle.
fn downstream() -> bool {
    let with_target = |c: &mut Command| {
        c.args(["--manifest-path", DOWNSTREAM]);
        // It is not a member, so cargo would give it a target directory of its own.
        if env::var_os("CARGO_TARGET_DIR").is_none() {
            c.args(["--target-dir", "target"]);
        }
    };
    let mut c = cargo();
    c.arg("clippy");
    with_target(&mut c);
    c.args(["--all-targets", "--", "-D", "warnings"]);
    if !run(c) {
        return false;
    }
    let mut c = cargo();
    c.arg("run");
    with_target(&mut c);
    if !run(c) {
        return false;
    }
    let lock_path = Path::new(DOWNSTREAM).with_file_name("Cargo.lock");
    let Ok(lock) = fs::read_to_string(&lock_path) else {
        eprintln!("{} is missing after the build", lock_path.display());
        return false;
    };
    let names: Vec<&str> = lock
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .collect();
    if !names.contains(&FACADE) {
        eprintln!(
            "{} does not list {FACADE}: cannot read it",
            lock_path.display()
        );
        return false;
    }
    let checkers: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| ["loom", "shuttle"].contains(name))
        .collect();
    if !checkers.is_empty() {
        eprintln!(
            "{} lists {}: the model checkers must reach no dependent's lock file (keep them \
             optional dependencies of shoal-pool-core, behind its `loom` and `shuttle` features)",
            lock_path.display(),
            checkers.join(", ")
        );
        return false;
    }
    true
}

fn loom() -> bool {
    let preemptions = env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "2".into());
    for &(dir, krate) in LOOM_CRATES {
        if !Path::new(&format!("{dir}/tests/loom.rs")).exists() {
            eprintln!("no loom models in {krate} ({dir}/tests/loom.rs missing)");
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
        // The cfg turns on shoal-core's optional `loom` dependency through each crate's
        // `cfg(shoal_loom)` dev-dependencies.
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

/// `shoal-bench compare` at the tiny size (every workload, the real-IO ones included), then a
/// two-point sweep of each real-IO workload: `http` on loopback only, `files` over the Rust
/// toolchain's installation; a few seconds each.
fn smoke() -> bool {
    let shoal_bench = |args: &[&str]| {
        let mut c = cargo();
        c.args(["run", "--release", "-p", "shoal-bench", "--"]);
        c.args(args);
        c.args(["--size", "tiny", "--no-progress"]);
        run(c)
    };
    shoal_bench(&["compare"])
        && shoal_bench(&["sweep", "--workload", "http", "--workers", "1,8"])
        && shoal_bench(&["sweep", "--workload", "files", "--workers", "1,8"])
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
    // The cfg turns on shoal-core's optional `shuttle` dependency through shoal-reliability's
    // `cfg(shoal_shuttle)` dependencies.
    c.env("RUSTFLAGS", "--cfg shoal_shuttle");
    if env::var_os("SHOAL_SHUTTLE_ITERATIONS").is_none() {
        c.env("SHOAL_SHUTTLE_ITERATIONS", "200");
    }
    run(c)
}
