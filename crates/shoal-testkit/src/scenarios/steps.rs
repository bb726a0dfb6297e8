//! The steps the scenarios are written from, each written once: building pools and running
//! under the watchdog, jobs that count or hold a worker, batches of spawned jobs and their
//! handles, shutdown on a thread of its own, and the checks of reports and metrics.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use shoal_core::{Executor, ExecutorExt, Job, JoinHandle, Metrics, Shutdown, ShutdownReport};

use crate::tools::{poll, signal_on_thread_exit, Gate, Tally};
use crate::watchdog::{give_up_after, watchdog, SCENARIO_LIMIT};
use crate::{Factory, PoolConfig};

use super::Counts;

/// The message for a submission that must succeed.
pub(super) const ACCEPT: &str = "a running pool must accept this job";

/// Builds a pool or fails the scenario with the config and the error.
pub(super) fn build<F: Factory>(f: &F, config: PoolConfig) -> F::Pool {
    let shown = format!("{config:?}");
    match f.build(config) {
        Ok(pool) => pool,
        Err(err) => panic!("the factory could not build a pool from {shown}: {err}"),
    }
}

/// Runs `body` with `input` (usually the pools, built beforehand) under the watchdog, with the
/// scenarios' limit.
pub(super) fn scenario<T, R>(name: &str, input: T, body: impl FnOnce(T) -> R + Send + 'static) -> R
where
    T: Send + 'static,
    R: Send + 'static,
{
    watchdog(name, SCENARIO_LIMIT, move || body(input))
}

/// [`scenario`] for a body that shares its one pool with other threads: builds the pool from
/// `config` and hands it over in an `Arc`.
pub(super) fn shared_scenario<F: Factory>(
    f: &F,
    name: &str,
    config: PoolConfig,
    body: impl FnOnce(Arc<F::Pool>) + Send + 'static,
) {
    let pool = build(f, config);
    scenario(name, pool, move |pool| body(Arc::new(pool)));
}

/// A job that counts one on `tally`.
pub(super) fn counting_job(tally: &Arc<Tally>) -> Job {
    let tally = tally.clone();
    Box::new(move || tally.add())
}

/// Submits `n` jobs with `execute`, each counting one on `ran`.
pub(super) fn execute_counting<E: Executor + ?Sized>(pool: &E, n: u64, ran: &Arc<Tally>) {
    for _ in 0..n {
        pool.execute(counting_job(ran)).expect(ACCEPT);
    }
}

/// A job that panics with a message numbered `i`.
pub(super) fn panicking_job(i: u32) -> Job {
    Box::new(move || panic!("conformance: panic {i}"))
}

/// Submits `n` jobs: job `i` panics when `i % every == 0`, every other one counts on `ran`.
pub(super) fn submit_mixed<E: Executor + ?Sized>(pool: &E, n: u32, every: u32, ran: &Arc<Tally>) {
    for i in 0..n {
        let job = if i % every == 0 {
            panicking_job(i)
        } else {
            counting_job(ran)
        };
        pool.execute(job).expect(ACCEPT);
    }
}

/// Occupies `n` workers with jobs that block until `gate` opens, and waits until all `n` are
/// running: they hold the workers for as long as the test wants. Returns a tally of the gated
/// jobs that finished.
pub(super) fn occupy<E: Executor + ?Sized>(pool: &E, gate: &Gate, n: u64) -> Arc<Tally> {
    let (arrived, finished) = (Tally::new(), Tally::new());
    for _ in 0..n {
        let (waiter, arrived, finished) = (gate.waiter(), arrived.clone(), finished.clone());
        let job: Job = Box::new(move || {
            arrived.add();
            waiter.wait();
            finished.add();
        });
        pool.execute(job).expect(ACCEPT);
    }
    arrived.wait_for(n, "the gated jobs to occupy every worker");
    finished
}

/// A closed gate with `n` workers of `pool` waiting at it ([`occupy`]).
pub(super) fn blocked<E: Executor + ?Sized>(pool: &E, n: u64) -> Gate {
    let gate = Gate::new();
    occupy(pool, &gate, n);
    gate
}

/// The fill-then-shutdown pattern: holds `workers` workers at a gate, hands `n` counting jobs
/// to `submit` (which queues them behind the held ones), opens the gate, waits until all `n`
/// ran, then shuts down gracefully, expecting the held jobs and the `n` as completed.
pub(super) fn fill_then_shutdown<E: Executor + ?Sized>(
    pool: &E,
    what: &str,
    workers: u64,
    n: u64,
    mut submit: impl FnMut(&E, Job),
) {
    let gate = blocked(pool, workers);
    let ran = Tally::new();
    for _ in 0..n {
        submit(pool, counting_job(&ran));
    }
    gate.open();
    ran.wait_for(n, what);
    graceful_completes(pool, what, workers + n);
}

/// Runs `f` in a job on `pool`, handing it the pool, and returns what it returned: a call
/// made from inside a worker.
pub(super) fn on_worker<E, T>(pool: &Arc<E>, f: impl FnOnce(Arc<E>) -> T + Send + 'static) -> T
where
    E: Executor + 'static,
    T: Send + 'static,
{
    let inner = pool.clone();
    let handle = pool.spawn(move || f(inner)).expect(ACCEPT);
    handle.join().expect("the job on the worker panicked")
}

/// Runs `n` jobs that can only finish together (a barrier of `n`), proving `n` workers run.
pub(super) fn run_together<E: Executor + ?Sized>(pool: &E, n: usize, what: &str) {
    let barrier = Arc::new(Barrier::new(n));
    let done = Tally::new();
    for _ in 0..n {
        let (barrier, done) = (barrier.clone(), done.clone());
        pool.execute(Box::new(move || {
            barrier.wait();
            done.add();
        }))
        .expect(ACCEPT);
    }
    done.wait_for(n as u64, what);
}

/// Runs `f` in one job on each of `n` workers (a barrier of `n` holds the jobs until all `n`
/// run at once, so each is on a worker of its own) and returns what each returned.
pub(super) fn on_each_worker<E, T>(
    pool: &E,
    n: usize,
    f: impl Fn() -> T + Send + Sync + 'static,
) -> Vec<T>
where
    E: Executor + ?Sized,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, f) = (barrier.clone(), f.clone());
            pool.spawn(move || {
                barrier.wait();
                f()
            })
            .expect(ACCEPT)
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a job held at the barrier panicked"))
        .collect()
}

/// Puts one job on each of `n` workers (a barrier of `n` holds them until all are there), each
/// watching its thread; returns once all `n` ran, with a tally of the worker threads that have
/// exited since.
pub(super) fn watch_worker_exits<E: Executor + ?Sized>(pool: &E, n: usize) -> Arc<Tally> {
    let exited = Tally::new();
    let ready = Tally::new();
    let barrier = Arc::new(Barrier::new(n));
    for _ in 0..n {
        let (exited, ready, barrier) = (exited.clone(), ready.clone(), barrier.clone());
        pool.execute(Box::new(move || {
            signal_on_thread_exit(&exited);
            barrier.wait();
            ready.add();
        }))
        .expect(ACCEPT);
    }
    ready.wait_for(n as u64, "one job on each worker");
    exited
}

/// Spawns `n` jobs, job `i` returning `i`.
pub(super) fn spawn_numbered<E: Executor + ?Sized>(pool: &E, n: u32) -> Vec<JoinHandle<u32>> {
    (0..n)
        .map(|i| pool.spawn(move || i).expect(ACCEPT))
        .collect()
}

/// Spawns `n` jobs, job `i` counting one on `ran` and returning `i`.
pub(super) fn spawn_counted<E: Executor + ?Sized>(
    pool: &E,
    n: u32,
    ran: &Arc<Tally>,
) -> Vec<JoinHandle<u32>> {
    (0..n)
        .map(|i| {
            let ran = ran.clone();
            pool.spawn(move || {
                ran.add();
                i
            })
            .expect(ACCEPT)
        })
        .collect()
}

/// Joins the handles of [`spawn_numbered`] or [`spawn_counted`]: handle `i` must give `i`.
pub(super) fn join_numbered(handles: Vec<JoinHandle<u32>>, what: &str) {
    for (i, handle) in (0u32..).zip(handles) {
        match handle.join() {
            Ok(value) => assert_eq!(value, i, "{what}: job {i} gave another job's value"),
            Err(err) => panic!("{what}: job {i} gave {err:?}"),
        }
    }
}

/// Joins handles of jobs that were cancelled: each gives `Cancelled`, with no panic message.
pub(super) fn join_cancelled<T: std::fmt::Debug>(handles: Vec<JoinHandle<T>>) {
    for handle in handles {
        let err = handle.join().expect_err("the job was cancelled");
        assert!(
            err.is_cancelled() && err.panic_message().is_none(),
            "{err:?}"
        );
    }
}

/// Calls `pool.shutdown(mode)` on a thread of its own; join it with [`joined`].
pub(super) fn stopper<E: Executor + 'static>(
    pool: &Arc<E>,
    mode: Shutdown,
) -> thread::JoinHandle<ShutdownReport> {
    let pool = pool.clone();
    thread::spawn(move || pool.shutdown(mode))
}

/// Submits no-op probes until the pool refuses one with `ShutDown`: from then on, intake is
/// closed. Returns how many probes were accepted before that (they count as submitted).
pub(super) fn await_intake_closed<E: Executor + ?Sized>(pool: &E) -> u64 {
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
        thread::sleep(Duration::from_micros(500));
    }
}

/// Joins a helper thread, re-raising its panic with context.
pub(super) fn joined<T>(handle: thread::JoinHandle<T>, what: &str) -> T {
    match handle.join() {
        Ok(value) => value,
        Err(payload) => panic!(
            "{what} panicked: {}",
            shoal_core::panic_message(payload.as_ref()).unwrap_or("<non-string payload>")
        ),
    }
}

/// Asserts that `report` adds up and has exactly the `want`ed counts.
pub(super) fn check_report(what: &str, report: &ShutdownReport, want: Counts) {
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

/// Shuts `pool` down gracefully and checks that the report counts `n` jobs, all completed.
pub(super) fn graceful_completes<E: Executor + ?Sized>(pool: &E, what: &str, n: u64) {
    let report = pool.shutdown(Shutdown::Graceful);
    check_report(what, &report, Counts::completed(n));
}

/// Waits until the pool's metrics settle: nothing queued, nothing running, every accepted job
/// accounted for, and `settled` true of the snapshot. Returns that snapshot.
pub(super) fn wait_metrics<E: Executor + ?Sized>(
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

/// `threads` threads, released together by a barrier, each submit `each` jobs counting on
/// `ran` with `execute`; returns once every thread is done submitting, with the total.
pub(super) fn stampede<E: Executor + 'static>(
    pool: &Arc<E>,
    threads: usize,
    each: u64,
    ran: &Arc<Tally>,
) -> u64 {
    let start = Arc::new(Barrier::new(threads));
    let submitters: Vec<_> = (0..threads)
        .map(|_| {
            let (pool, ran, start) = (pool.clone(), ran.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..each {
                    pool.execute(counting_job(&ran)).expect(ACCEPT);
                }
            })
        })
        .collect();
    for submitter in submitters {
        joined(submitter, "a submitter thread");
    }
    threads as u64 * each
}
