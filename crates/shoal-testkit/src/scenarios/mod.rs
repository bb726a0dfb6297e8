//! The scenarios, one `pub fn name<F: Factory>(f: &F)` each, grouped by theme. Each doc line
//! says what the scenario proves; [`SCENARIOS`](crate::SCENARIOS) lists them all and
//! [`conformance_suite!`](crate::conformance_suite) turns each into a `#[test]`.
//!
//! | file | rows of the semantics table |
//! |---|---|
//! | `basics` | spawn/execute, `JoinHandle`, `dyn Executor`, many submitters |
//! | `config` | zero workers, too many, zero capacity |
//! | `panics` | a job panics |
//! | `shutdown` | the three modes, twice, concurrently, submit after, drop, accounting |
//! | `bounded` | a full bounded queue: `Full`, backpressure, shutdown while blocked |
//! | `resize` | `resize(n)` under load, `resize(0)` |
//! | `nesting` | waiting, shutting down and dropping from inside a worker |
//! | `map` | the result queue: order, bounded in-flight |
//! | `metrics` | counters after quiescence |

mod basics;
mod bounded;
mod config;
mod map;
mod metrics;
mod nesting;
mod panics;
mod resize;
mod shutdown;

pub use basics::*;
pub use bounded::*;
pub use config::*;
pub use map::*;
pub use metrics::*;
pub use nesting::*;
pub use panics::*;
pub use resize::*;
pub use shutdown::*;

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use shoal_core::{Executor, Job, Metrics, ShutdownReport};

use crate::tools::{poll, Gate, Tally};
use crate::watchdog::{give_up_after, watchdog, SCENARIO_LIMIT};
use crate::{Factory, PoolConfig};

/// The message for a submission that must succeed.
const ACCEPT: &str = "a running pool must accept this job";

/// Builds a pool or fails the scenario with the config and the error.
fn build<F: Factory>(f: &F, config: PoolConfig) -> F::Pool {
    let shown = format!("{config:?}");
    match f.build(config) {
        Ok(pool) => pool,
        Err(err) => panic!("the factory could not build a pool from {shown}: {err}"),
    }
}

/// Runs `body` with `input` (usually the pools, built beforehand) under the watchdog, with the
/// scenarios' limit.
fn scenario<T, R>(name: &str, input: T, body: impl FnOnce(T) -> R + Send + 'static) -> R
where
    T: Send + 'static,
    R: Send + 'static,
{
    watchdog(name, SCENARIO_LIMIT, move || body(input))
}

/// A job that counts one on `tally`.
fn counting_job(tally: &Arc<Tally>) -> Job {
    let tally = tally.clone();
    Box::new(move || tally.add())
}

/// A job that counts one on `arrived`, then blocks until `gate` opens: it occupies a worker
/// for as long as the test wants, and the test knows when it has started.
fn gated_job(gate: &Gate, arrived: &Arc<Tally>) -> Job {
    let waiter = gate.waiter();
    let arrived = arrived.clone();
    Box::new(move || {
        arrived.add();
        waiter.wait();
    })
}

/// Occupies `n` workers with gated jobs and waits until all `n` are running.
fn occupy<E: Executor + ?Sized>(pool: &E, gate: &Gate, n: u64) {
    let arrived = Tally::new();
    for _ in 0..n {
        pool.execute(gated_job(gate, &arrived)).expect(ACCEPT);
    }
    arrived.wait_for(n, "the gated jobs to occupy every worker");
}

/// Submits no-op probes until the pool refuses one with `ShutDown`: from then on, intake is
/// closed. Returns how many probes were accepted before that (they count as submitted).
fn await_intake_closed<E: Executor + ?Sized>(pool: &E) -> u64 {
    let give_up = Instant::now() + give_up_after();
    let mut accepted = 0;
    loop {
        match pool.try_execute(Box::new(|| {})) {
            Ok(()) => accepted += 1,
            Err(rejected) if rejected.is_shutdown() => return accepted,
            Err(rejected) => assert!(
                rejected.is_full(),
                "try_execute refused a probe for an unknown reason: {rejected}"
            ),
        }
        assert!(
            Instant::now() < give_up,
            "gave up waiting for shutdown to close intake: the pool still accepts jobs"
        );
        thread::sleep(std::time::Duration::from_micros(500));
    }
}

/// Joins a helper thread, re-raising its panic with context.
fn joined<T>(handle: thread::JoinHandle<T>, what: &str) -> T {
    match handle.join() {
        Ok(value) => value,
        Err(payload) => panic!(
            "{what} panicked: {}",
            shoal_core::panic_message(payload.as_ref()).unwrap_or("<non-string payload>")
        ),
    }
}

/// The counts of a [`ShutdownReport`], to compare in one assertion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    submitted: u64,
    completed: u64,
    panicked: u64,
    cancelled: u64,
    still_running: u64,
}

impl Counts {
    fn of(report: &ShutdownReport) -> Counts {
        Counts {
            submitted: report.submitted,
            completed: report.completed,
            panicked: report.panicked,
            cancelled: report.cancelled,
            still_running: report.still_running,
        }
    }

    /// `n` jobs submitted and completed.
    fn completed(n: u64) -> Counts {
        Counts {
            submitted: n,
            completed: n,
            ..Counts::default()
        }
    }
}

/// Asserts that `report` adds up and has exactly the `want`ed counts.
fn check_report(what: &str, report: &ShutdownReport, want: Counts) {
    assert!(
        report.adds_up(),
        "{what}: the report does not add up \
         (completed + panicked + cancelled + still_running != submitted): {report:?}"
    );
    assert_eq!(
        Counts::of(report),
        want,
        "{what}: unexpected shutdown report {report:?}"
    );
}

/// Waits until the pool's metrics settle: nothing queued, nothing running, every accepted job
/// accounted for, and `settled` true of the snapshot. Returns that snapshot.
fn wait_metrics<E: Executor + ?Sized>(
    pool: &E,
    what: &str,
    settled: impl Fn(&Metrics) -> bool,
) -> Metrics {
    poll(what, || {
        let m = pool.metrics();
        let quiet = m.queued == 0
            && m.running == 0
            && m.completed + m.panicked + m.cancelled == m.submitted;
        if quiet && settled(&m) {
            Ok(m)
        } else {
            Err(format!("{m:?}"))
        }
    })
}
