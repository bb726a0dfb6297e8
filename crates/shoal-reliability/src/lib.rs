//! # shoal-reliability: every strategy under load, faults and bad input, with nothing lost
//!
//! This crate holds no pool. It is the campaign that tries to break the pools, and the small
//! harness its tests share. Every test ends with the same question: **is every job accounted
//! for exactly once?** A job the pool accepted must have completed, panicked, or been
//! cancelled, once; a job the pool refused must have come back to the caller. The jobs answer
//! for themselves through a [`Ledger`]: each carries a [`Token`] that records its run, its
//! panic, or, from its destructor, that it was dropped unrun. The pool's own counters and
//! shutdown reports are then compared with the ledger.
//!
//! ## The campaigns (`tests/`)
//!
//! | file | what it tries | how |
//! |---|---|---|
//! | `model.rs` | random operation sequences (submit, try_execute, spawn+join, map, resize up and down, panicking jobs, filling a bounded queue until `Full`, shutdown in every mode, drop) | proptest, checked step by step against a reference model of the accounting; shrinking gives the minimal failing sequence |
//! | `shuttle.rs` | concurrent submitters, resizers and a shutdown, 4–8 threads | shuttle's randomized schedules, under `--cfg shoal_shuttle` |
//! | `stress.rs` | millions of jobs with 10% panicking, resize storms under load, shutdown racing submitters, joins and scopes thousands deep | `#[ignore]`d; sized by `STRESS_SCALE` |
//! | `faults.rs` | the OS refusing threads (at build and at resize), a panicking `panic_handler`, jobs whose destructor panics (run and cancelled), a job that never returns during `Shutdown::Deadline` | [`shoal_testkit::faults::SpawnFaults`] through each builder's `spawn_hook` |
//! | `bad_input.rs` | every public entry point with zero, huge and conflicting arguments | one test per input: a clear error or a documented behaviour |
//! | `adversarial.rs` | panicking destructors everywhere a pool touches user values: panic payloads whose drop panics (a second panic in a scope, both halves of a join, nested 20 deep), closures that capture such a value, results whose drop panics with their handle gone, cancelled tasks and refused `map` items that carry one, forgotten handles and iterators, shutdown from inside a job, a scope task and two nested `install`s | each test in a child process of its own ([`isolated`]), so an abort or a crash fails that test with its signal instead of killing the run |
//! | `memory.rs` | bytes per queued job and per worker; a bounded queue stays flat while producers outrun workers | a counting global allocator ([`CountingAlloc`]) |
//!
//! ## Running it
//!
//! ```text
//! cargo test -p shoal-reliability                                  # everything but stress
//! cargo test -p shoal-reliability --test adversarial               # one child process per test
//! STRESS_SCALE=0 cargo test --release -p shoal-reliability --test stress -- --include-ignored
//! cargo test --release -p shoal-reliability --test stress -- --ignored   # full size
//! SHOAL_MODEL_CASES=2000 cargo test --release -p shoal-reliability --test model
//! RUSTFLAGS="--cfg shoal_shuttle" cargo test --release --target-dir target/shuttle \
//!     -p shoal-reliability --test shuttle
//! ```
//!
//! Knobs: `STRESS_SCALE` (percent of full size; `0` = smallest), `SHOAL_MODEL_CASES`
//! (sequences per strategy), `SHOAL_SHUTTLE_ITERATIONS` (schedules per scenario),
//! `SHOAL_WATCHDOG_SECS` (override every watchdog limit, isolated tests' included). See
//! [`scale`].
#![deny(missing_docs)]

pub mod alloc;
pub mod gate;
pub mod isolate;
pub mod ledger;
pub mod panics;
pub mod scale;
pub mod strategy;
pub mod watchdog;

pub use alloc::CountingAlloc;
pub use gate::{Gate, Opener};
pub use isolate::isolated;
pub use ledger::{Children, JobId, Ledger, Outcome, Tally, Token};
pub use panics::{
    expected_panic, is_expected, quiet_expected_panics, PanicOnDrop, EXPECTED, EXPECTED_TO_FAIL,
};
pub use strategy::{with_capacity, PoolConfig, Strategy};
pub use watchdog::{eventually, limit_or_env, watchdog};

use shoal_core::ShutdownReport;

/// Checks a *final* shutdown report (every worker exited, nothing still running) against the
/// ledger's tally of the jobs the pool accepted: the pool's numbers and the jobs' own records
/// must agree, every job settled exactly once. Panics with `context` and both sides.
pub fn check_final_report(context: &str, report: &ShutdownReport, accepted: &Tally) {
    let ok = report.adds_up()
        && report.still_running == 0
        && accepted.pending == 0
        && accepted.duplicated == 0
        && report.completed == accepted.completed
        && report.panicked == accepted.panicked
        && report.cancelled == accepted.dropped
        && report.submitted == accepted.settled();
    assert!(
        ok,
        "{context}: the pool's report and the jobs' own records disagree\n  report: {report:?}\n  \
         ledger: {accepted:?}"
    );
}

/// Runs scenario `f` against one strategy under a watchdog of `limit`, named
/// `"{name} [{kind}]"` in its failure message.
pub fn guarded(name: &str, limit: std::time::Duration, f: fn(Strategy), kind: Strategy) {
    watchdog(&format!("{name} [{kind}]"), limit, move || f(kind));
}

/// Generates one `#[test]` per scenario and strategy configuration, in modules `queue`,
/// `steal`, `steal_lifo` and `scope`: each calls `$run(name, strategy, scenario)` with the
/// scenario `fn(Strategy)` of the same name. `$run` is an expression evaluated inside those
/// modules: name a function of the test file as `super::run`.
#[macro_export]
macro_rules! every_strategy {
    (@module $module:ident, $kind:ident, $run:expr; $($name:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    ($run)(stringify!($name), $crate::Strategy::$kind, super::$name);
                }
            )*
        }
    };
    ($run:expr; $($name:ident),* $(,)?) => {
        $crate::every_strategy!(@module queue, Queue, $run; $($name),*);
        $crate::every_strategy!(@module steal, Steal, $run; $($name),*);
        $crate::every_strategy!(@module steal_lifo, StealLifo, $run; $($name),*);
        $crate::every_strategy!(@module scope, Scope, $run; $($name),*);
    };
}

/// [`every_strategy!`] with each scenario run under a watchdog of `$limit` through
/// [`guarded`].
#[macro_export]
macro_rules! every_strategy_guarded {
    ($limit:expr; $($name:ident),* $(,)?) => {
        $crate::every_strategy!(
            |name, kind, scenario| $crate::guarded(name, $limit, scenario, kind);
            $($name),*
        );
    };
}
