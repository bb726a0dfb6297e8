//! Shutdown in its three modes, repeated and concurrent, submit after it, drop, and reports
//! whose numbers add up.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use shoal_core::{Executor, ExecutorExt, JoinHandle, RejectReason, Shutdown, ShutdownReport};

use crate::tools::{wait_until, Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    await_intake_closed, blocked, build, check_report, counting_job, execute_counting,
    graceful_completes, join_cancelled, join_numbered, joined, occupy, scenario, shared_scenario,
    spawn_counted, spawn_numbered, stopper, submit_mixed, wait_metrics, watch_worker_exits, ACCEPT,
};
use super::Counts;

/// A deadline far beyond the watchdog: a call that waited for it would be caught.
const FAR: Duration = Duration::from_secs(3600);

/// Waits until shutdown has closed intake ([`await_intake_closed`]), then opens `gate`,
/// releasing the held workers. Returns the probes accepted before intake closed.
fn release_after_intake_closed<E: Executor + ?Sized>(pool: &E, gate: Gate) -> u64 {
    let probes = await_intake_closed(pool);
    drop(gate);
    probes
}

/// Starts `shutdown(Now)` on a thread of its own while the workers are held at `gate`, waits
/// until it has cancelled the queued jobs behind `handles` (or returned), then opens the gate
/// and returns the report.
fn now_while_held<E: Executor + 'static, T>(
    pool: &Arc<E>,
    gate: Gate,
    handles: &[JoinHandle<T>],
) -> ShutdownReport {
    let stopper = stopper(pool, Shutdown::Now);
    wait_until(
        "Now to cancel the queued jobs while the running jobs are still blocked",
        || handles.iter().all(|h| h.is_finished()) || stopper.is_finished(),
    );
    drop(gate);
    joined(stopper, "shutdown(Now)")
}

/// Holds both workers of `pool` at a gate, queues 20 jobs counting on `ran`, then calls
/// shutdown once per mode in `modes`, all at once (a barrier), each on a thread of its own.
/// Returns the probes accepted before intake closed and each caller's mode and report.
fn shutdowns_at_once<E: Executor + 'static>(
    pool: &Arc<E>,
    ran: &Arc<Tally>,
    modes: &[Shutdown],
) -> (u64, Vec<(Shutdown, ShutdownReport)>) {
    let gate = blocked(&**pool, 2);
    execute_counting(&**pool, 20, ran);
    let start = Arc::new(Barrier::new(modes.len()));
    let callers: Vec<_> = modes
        .iter()
        .map(|&mode| {
            let (pool, start) = (pool.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                (mode, pool.shutdown(mode))
            })
        })
        .collect();
    let probes = release_after_intake_closed(&**pool, gate);
    let reports = callers
        .into_iter()
        .map(|c| joined(c, "a concurrent shutdown"))
        .collect();
    (probes, reports)
}

/// Shutting down a pool that never had a job returns at once with an all-zero report that
/// adds up, and dropping another idle pool returns too.
pub fn shutdown_idle_pool<F: Factory>(f: &F) {
    let pools = (
        build(f, PoolConfig::new().workers(3)),
        build(f, PoolConfig::new().workers(3)),
    );
    scenario("shutdown_idle_pool", pools, move |(first, second)| {
        let report = first.shutdown(Shutdown::Graceful);
        check_report("shutdown_idle_pool", &report, Counts::default());
        drop(second);
    });
}

/// `Graceful` closes intake at once (submissions during the drain are refused with
/// `ShutDown`), runs every job that was queued when it was called, and returns a report
/// that counts them all as completed.
pub fn shutdown_graceful_drains_queue<F: Factory>(f: &F) {
    let name = "shutdown_graceful_drains_queue";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = blocked(&*pool, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&*pool, 100, &ran);
        let stopper = stopper(&pool, Shutdown::Graceful);
        let probes = release_after_intake_closed(&*pool, gate);
        let report = joined(stopper, "shutdown(Graceful)");
        assert_eq!(ran.get(), 100, "Graceful must run every queued job");
        join_numbered(handles, "a job queued before Graceful");
        check_report(name, &report, Counts::completed(101 + probes));
    });
}

/// `Now` cancels the queued jobs while the running one still runs (their handles give
/// `Cancelled`, none of them runs), then waits for the running job before returning.
pub fn shutdown_now_cancels_queued<F: Factory>(f: &F) {
    let name = "shutdown_now_cancels_queued";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        let finished = occupy(&*pool, &gate, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&*pool, 10, &ran);
        let report = now_while_held(&pool, gate, &handles);
        assert_eq!(finished.get(), 1, "Now must wait for the running job");
        assert_eq!(ran.get(), 0, "a cancelled job must never run");
        join_cancelled(handles);
        check_report(name, &report, Counts::cancelled(11, 1));
        assert_eq!(pool.metrics().cancelled, 10);
    });
}

/// `Deadline(d)` with a job that outlives `d`: the call returns anyway (the job counted in
/// `still_running`), the queued jobs are cancelled, and the straggler still finishes later.
pub fn shutdown_deadline_cancels_after_deadline<F: Factory>(f: &F) {
    let name = "shutdown_deadline_cancels_after_deadline";
    let pool = build(f, PoolConfig::new().workers(1));
    scenario(name, pool, move |pool| {
        let gate = Gate::new();
        let finished = occupy(&pool, &gate, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&pool, 10, &ran);
        // The gate stays closed: the call must return without waiting for the running job.
        let report = pool.shutdown(Shutdown::Deadline(Duration::from_millis(50)));
        let want = Counts {
            submitted: 11,
            cancelled: 10,
            still_running: 1,
            ..Counts::default()
        };
        check_report(name, &report, want);
        assert_eq!(ran.get(), 0, "a cancelled job must never run");
        join_cancelled(handles);
        let refused = pool
            .execute(counting_job(&ran))
            .expect_err("intake is closed");
        assert_eq!(refused.reason(), RejectReason::ShutDown);
        gate.open();
        finished.wait_for(1, "the job that outlived the deadline to finish");
        wait_until("the straggler to be counted as completed", || {
            pool.metrics().completed == 1
        });
        let later = pool.shutdown(Shutdown::Graceful);
        assert!(later.adds_up(), "a later report must add up: {later:?}");
        assert_eq!(later.submitted, 11);
    });
}

/// `Deadline(d)` that is met is a graceful shutdown: every queued job runs, nothing is
/// cancelled, and the call returns as soon as the queue is drained, not at the deadline.
pub fn shutdown_deadline_met_is_graceful<F: Factory>(f: &F) {
    let name = "shutdown_deadline_met_is_graceful";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = blocked(&*pool, 1);
        let ran = Tally::new();
        execute_counting(&*pool, 50, &ran);
        let stopper = stopper(&pool, Shutdown::Deadline(FAR));
        let probes = release_after_intake_closed(&*pool, gate);
        let report = joined(stopper, "shutdown(Deadline(1 h))");
        assert_eq!(ran.get(), 50, "jobs queued before the deadline must run");
        check_report(name, &report, Counts::completed(51 + probes));
    });
}

/// Shutdown is idempotent: after a Graceful shutdown, further calls in every mode return at
/// once with the same counts.
pub fn shutdown_twice_same_report<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("shutdown_twice_same_report", pool, move |pool| {
        execute_counting(&pool, 20, &Tally::new());
        graceful_completes(&pool, "the first shutdown", 20);
        for mode in [
            Shutdown::Now,
            Shutdown::Deadline(Duration::ZERO),
            Shutdown::Graceful,
        ] {
            let again = pool.shutdown(mode);
            check_report(
                &format!("a repeated shutdown({mode:?})"),
                &again,
                Counts::completed(20),
            );
        }
    });
}

/// Six threads calling `shutdown(Graceful)` at once, while a job is still running, all
/// return, with the same report.
pub fn concurrent_shutdowns<F: Factory>(f: &F) {
    let name = "concurrent_shutdowns";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let ran = Tally::new();
        let (probes, reports) = shutdowns_at_once(&pool, &ran, &[Shutdown::Graceful; 6]);
        assert_eq!(ran.get(), 20);
        for (_, report) in &reports {
            check_report(name, report, Counts::completed(22 + probes));
        }
    });
}

/// Threads calling shutdown at once in different modes (Graceful, Now, Deadline) all return;
/// every report adds up and counts every accepted job, and the pool's counters settle on the
/// same total.
pub fn concurrent_shutdowns_mixed_modes<F: Factory>(f: &F) {
    let name = "concurrent_shutdowns_mixed_modes";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let modes = [
            Shutdown::Graceful,
            Shutdown::Now,
            Shutdown::Deadline(Duration::ZERO),
            Shutdown::Deadline(FAR),
            Shutdown::Graceful,
            Shutdown::Now,
        ];
        let ran = Tally::new();
        let (probes, reports) = shutdowns_at_once(&pool, &ran, &modes);
        let accepted = 22 + probes;
        for (mode, report) in reports {
            assert!(report.adds_up(), "shutdown({mode:?}): {report:?}");
            assert_eq!(report.submitted, accepted, "shutdown({mode:?}): {report:?}");
        }
        let m = wait_metrics(&*pool, "every job to be completed or cancelled", |m| {
            m.submitted == accepted
        });
        assert!(m.completed >= 2, "the two running jobs complete: {m:?}");
        assert!(ran.get() <= 20);
    });
}

/// After shutdown, `execute`, `try_execute`, `spawn` and `try_spawn` are refused with reason
/// `ShutDown`; each refused job is handed back whole (running it works) and counted in
/// `metrics().rejected`, not in `submitted`.
pub fn submit_after_shutdown_rejected<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("submit_after_shutdown_rejected", pool, move |pool| {
        let report = pool.shutdown(Shutdown::Graceful);
        check_report("an idle shutdown", &report, Counts::default());
        let ran = Tally::new();
        let refusals = [
            pool.execute(counting_job(&ran))
                .expect_err("execute after shutdown"),
            pool.try_execute(counting_job(&ran))
                .expect_err("try_execute after shutdown"),
            {
                let ran = ran.clone();
                pool.spawn(move || ran.add())
                    .expect_err("spawn after shutdown")
            },
            {
                let ran = ran.clone();
                pool.try_spawn(move || ran.add())
                    .expect_err("try_spawn after shutdown")
            },
        ];
        for refused in refusals {
            assert_eq!(refused.reason(), RejectReason::ShutDown, "{refused}");
            assert!(refused.is_shutdown() && !refused.is_full());
            assert!(!refused.to_string().is_empty());
            (refused.into_job())();
        }
        assert_eq!(
            ran.get(),
            4,
            "every refused job is handed back and runnable"
        );
        let m = pool.metrics();
        assert_eq!(
            (m.rejected, m.submitted),
            (4, 0),
            "refusals are counted as rejected, not submitted: {m:?}"
        );
    });
}

/// After `shutdown(Graceful)` returns, every worker thread exits (none is leaked), and none
/// exited before it (workers are long-lived, not one thread per job).
pub fn shutdown_joins_workers<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("shutdown_joins_workers", pool, move |pool| {
        let exited = watch_worker_exits(&pool, 3);
        assert_eq!(exited.get(), 0, "no worker may exit before shutdown");
        graceful_completes(&pool, "shutdown_joins_workers", 3);
        wait_until("every worker thread to exit after shutdown", || {
            exited.get() == 3
        });
    });
}

/// Dropping the pool is a graceful shutdown: the drop returns only after every queued job ran,
/// and every handle gives its value.
pub fn drop_is_graceful<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("drop_is_graceful", pool, move |pool| {
        let gate = blocked(&pool, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&pool, 50, &ran);
        // Open the gate a moment after the drop has (most likely) begun; the assertions hold
        // whichever happens first.
        let opener = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            drop(gate);
        });
        drop(pool);
        assert_eq!(ran.get(), 50, "dropping the pool must run every queued job");
        join_numbered(handles, "a job queued before the drop");
        joined(opener, "the gate opener");
    });
}

/// A panic in the destructor of a job cancelled by `Now` is contained: the shutdown returns,
/// counts the job as cancelled, and cancels the rest of the queue too.
pub fn cancelled_job_with_panicking_drop<F: Factory>(f: &F) {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if !thread::panicking() {
                panic!("conformance: a job's capture panics when dropped");
            }
        }
    }
    let name = "cancelled_job_with_panicking_drop";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = blocked(&*pool, 1);
        for _ in 0..3 {
            let bomb = PanicOnDrop;
            pool.execute(Box::new(move || {
                let _keep = &bomb;
            }))
            .expect(ACCEPT);
        }
        let last = pool.spawn(|| 1).expect(ACCEPT);
        let report = now_while_held(&pool, gate, std::slice::from_ref(&last));
        check_report(name, &report, Counts::cancelled(5, 1));
        assert!(last.join().expect_err("cancelled").is_cancelled());
    });
}

/// After a mixed run (completions, panics, then `Now` with a queue), the shutdown report and
/// `metrics()` agree exactly on every count.
pub fn shutdown_report_matches_metrics<F: Factory>(f: &F) {
    let name = "shutdown_report_matches_metrics";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        submit_mixed(&*pool, 35, 7, &Tally::new());
        wait_metrics(&*pool, "the first 35 jobs to end", |m| m.submitted == 35);
        let gate = blocked(&*pool, 2);
        let handles = spawn_numbered(&*pool, 10);
        let report = now_while_held(&pool, gate, &handles);
        let want = Counts {
            submitted: 47,
            completed: 32,
            panicked: 5,
            cancelled: 10,
            still_running: 0,
        };
        check_report(name, &report, want);
        let m = pool.metrics();
        assert_eq!(
            (m.submitted, m.completed, m.panicked, m.cancelled),
            (47, 32, 5, 10),
            "metrics after shutdown must match the report: {m:?}"
        );
        assert_eq!((m.queued, m.running), (0, 0), "{m:?}");
    });
}
