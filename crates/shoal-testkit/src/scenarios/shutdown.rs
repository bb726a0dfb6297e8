//! Shutdown in its three modes, repeated and concurrent, submit after it, drop, and reports
//! whose numbers add up.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use shoal_core::{Executor, ExecutorExt, RejectReason, Shutdown};

use crate::tools::{signal_on_thread_exit, wait_until, Gate, Tally};
use crate::{Factory, PoolConfig};

use super::{
    await_intake_closed, build, check_report, counting_job, joined, occupy, scenario, wait_metrics,
    Counts, ACCEPT,
};

/// A deadline far beyond the watchdog: a call that waited for it would be caught.
const FAR: Duration = Duration::from_secs(3600);

/// Shutting down a pool that never had a job returns at once with an all-zero report that
/// adds up, and dropping another idle pool returns too.
pub fn shutdown_idle_pool<F: Factory>(f: &F) {
    let pools = (
        build(f, PoolConfig::workers(3)),
        build(f, PoolConfig::workers(3)),
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
    let pool = build(f, PoolConfig::workers(1));
    scenario("shutdown_graceful_drains_queue", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let ran = Tally::new();
        occupy(&*pool, &gate, 1);
        let handles: Vec<_> = (0..100u32)
            .map(|i| {
                let ran = ran.clone();
                pool.spawn(move || {
                    ran.add();
                    i
                })
                .expect(ACCEPT)
            })
            .collect();
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(Shutdown::Graceful))
        };
        let probes = await_intake_closed(&*pool);
        gate.open();
        let report = joined(stopper, "shutdown(Graceful)");
        assert_eq!(ran.get(), 100, "Graceful must run every queued job");
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.join().expect("the job ran"), i as u32);
        }
        let accepted = 101 + probes;
        check_report(
            "shutdown_graceful_drains_queue",
            &report,
            Counts::completed(accepted),
        );
    });
}

/// `Now` cancels the queued jobs while the running one still runs (their handles give
/// `Cancelled`, none of them runs), then waits for the running job before returning.
pub fn shutdown_now_cancels_queued<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("shutdown_now_cancels_queued", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let (arrived, finished, ran) = (Tally::new(), Tally::new(), Tally::new());
        {
            let (waiter, arrived, finished) = (gate.waiter(), arrived.clone(), finished.clone());
            pool.execute(Box::new(move || {
                arrived.add();
                waiter.wait();
                finished.add();
            }))
            .expect(ACCEPT);
        }
        arrived.wait_for(1, "the gated job to start");
        let handles: Vec<_> = (0..10u32)
            .map(|i| {
                let ran = ran.clone();
                pool.spawn(move || {
                    ran.add();
                    i
                })
                .expect(ACCEPT)
            })
            .collect();
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(Shutdown::Now))
        };
        wait_until(
            "Now to cancel the queued jobs while the running job is still blocked",
            || handles.iter().all(|h| h.is_finished()),
        );
        gate.open();
        let report = joined(stopper, "shutdown(Now)");
        assert_eq!(finished.get(), 1, "Now must wait for the running job");
        assert_eq!(ran.get(), 0, "a cancelled job must never run");
        for handle in handles {
            let err = handle.join().expect_err("the job was cancelled");
            assert!(
                err.is_cancelled() && err.panic_message().is_none(),
                "{err:?}"
            );
        }
        let want = Counts {
            submitted: 11,
            completed: 1,
            cancelled: 10,
            ..Counts::default()
        };
        check_report("shutdown_now_cancels_queued", &report, want);
        assert_eq!(pool.metrics().cancelled, 10);
    });
}

/// `Deadline(d)` with a job that outlives `d`: the call returns anyway (the job counted in
/// `still_running`), the queued jobs are cancelled, and the straggler still finishes later.
pub fn shutdown_deadline_cancels_after_deadline<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario(
        "shutdown_deadline_cancels_after_deadline",
        pool,
        move |pool| {
            let gate = Gate::new();
            let (arrived, finished, ran) = (Tally::new(), Tally::new(), Tally::new());
            {
                let (waiter, arrived, finished) =
                    (gate.waiter(), arrived.clone(), finished.clone());
                pool.execute(Box::new(move || {
                    arrived.add();
                    waiter.wait();
                    finished.add();
                }))
                .expect(ACCEPT);
            }
            arrived.wait_for(1, "the gated job to start");
            let handles: Vec<_> = (0..10)
                .map(|_| {
                    let ran = ran.clone();
                    pool.spawn(move || ran.add()).expect(ACCEPT)
                })
                .collect();
            // The gate stays closed: the call must return without waiting for the running job.
            let report = pool.shutdown(Shutdown::Deadline(Duration::from_millis(50)));
            let want = Counts {
                submitted: 11,
                cancelled: 10,
                still_running: 1,
                ..Counts::default()
            };
            check_report("shutdown_deadline_cancels_after_deadline", &report, want);
            assert_eq!(ran.get(), 0, "a cancelled job must never run");
            for handle in handles {
                let err = handle.join().expect_err("the job was cancelled");
                assert!(err.is_cancelled(), "{err:?}");
            }
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
        },
    );
}

/// `Deadline(d)` that is met is a graceful shutdown: every queued job runs, nothing is
/// cancelled, and the call returns as soon as the queue is drained, not at the deadline.
pub fn shutdown_deadline_met_is_graceful<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("shutdown_deadline_met_is_graceful", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let ran = Tally::new();
        occupy(&*pool, &gate, 1);
        for _ in 0..50 {
            pool.execute(counting_job(&ran)).expect(ACCEPT);
        }
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(Shutdown::Deadline(FAR)))
        };
        let probes = await_intake_closed(&*pool);
        gate.open();
        let report = joined(stopper, "shutdown(Deadline(1 h))");
        assert_eq!(ran.get(), 50, "jobs queued before the deadline must run");
        check_report(
            "shutdown_deadline_met_is_graceful",
            &report,
            Counts::completed(51 + probes),
        );
    });
}

/// Shutdown is idempotent: after a Graceful shutdown, further calls in every mode return at
/// once with the same counts.
pub fn shutdown_twice_same_report<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(2));
    scenario("shutdown_twice_same_report", pool, move |pool| {
        let ran = Tally::new();
        for _ in 0..20 {
            pool.execute(counting_job(&ran)).expect(ACCEPT);
        }
        let first = pool.shutdown(Shutdown::Graceful);
        check_report("the first shutdown", &first, Counts::completed(20));
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
    const CALLERS: usize = 6;
    let pool = build(f, PoolConfig::workers(2));
    scenario("concurrent_shutdowns", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let ran = Tally::new();
        occupy(&*pool, &gate, 2);
        for _ in 0..20 {
            pool.execute(counting_job(&ran)).expect(ACCEPT);
        }
        let start = Arc::new(Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (pool, start) = (pool.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    pool.shutdown(Shutdown::Graceful)
                })
            })
            .collect();
        let probes = await_intake_closed(&*pool);
        gate.open();
        let reports: Vec<_> = callers
            .into_iter()
            .map(|c| joined(c, "a concurrent shutdown(Graceful)"))
            .collect();
        assert_eq!(ran.get(), 20);
        for report in &reports {
            check_report(
                "concurrent_shutdowns",
                report,
                Counts::completed(22 + probes),
            );
        }
    });
}

/// Threads calling shutdown at once in different modes (Graceful, Now, Deadline) all return;
/// every report adds up and counts every accepted job, and the pool's counters settle on the
/// same total.
pub fn concurrent_shutdowns_mixed_modes<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(2));
    scenario("concurrent_shutdowns_mixed_modes", pool, move |pool| {
        let modes = [
            Shutdown::Graceful,
            Shutdown::Now,
            Shutdown::Deadline(Duration::ZERO),
            Shutdown::Deadline(FAR),
            Shutdown::Graceful,
            Shutdown::Now,
        ];
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let ran = Tally::new();
        occupy(&*pool, &gate, 2);
        for _ in 0..20 {
            pool.execute(counting_job(&ran)).expect(ACCEPT);
        }
        let start = Arc::new(Barrier::new(modes.len()));
        let callers: Vec<_> = modes
            .into_iter()
            .map(|mode| {
                let (pool, start) = (pool.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    (mode, pool.shutdown(mode))
                })
            })
            .collect();
        let probes = await_intake_closed(&*pool);
        gate.open();
        let accepted = 22 + probes;
        for caller in callers {
            let (mode, report) = joined(caller, "a concurrent shutdown");
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
    let pool = build(f, PoolConfig::workers(2));
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
    let pool = build(f, PoolConfig::workers(3));
    scenario("shutdown_joins_workers", pool, move |pool| {
        let exited = Tally::new();
        let done = Tally::new();
        let barrier = Arc::new(Barrier::new(3));
        for _ in 0..3 {
            let (exited, done, barrier) = (exited.clone(), done.clone(), barrier.clone());
            pool.execute(Box::new(move || {
                // The barrier puts one job on each of the three workers.
                signal_on_thread_exit(&exited);
                barrier.wait();
                done.add();
            }))
            .expect(ACCEPT);
        }
        done.wait_for(3, "one job on each of the three workers");
        assert_eq!(exited.get(), 0, "no worker may exit before shutdown");
        let report = pool.shutdown(Shutdown::Graceful);
        check_report("shutdown_joins_workers", &report, Counts::completed(3));
        wait_until("every worker thread to exit after shutdown", || {
            exited.get() == 3
        });
    });
}

/// Dropping the pool is a graceful shutdown: the drop returns only after every queued job ran,
/// and every handle gives its value.
pub fn drop_is_graceful<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("drop_is_graceful", pool, move |pool| {
        let gate = Gate::new();
        let ran = Tally::new();
        occupy(&pool, &gate, 1);
        let handles: Vec<_> = (0..50u32)
            .map(|i| {
                let ran = ran.clone();
                pool.spawn(move || {
                    ran.add();
                    i
                })
                .expect(ACCEPT)
            })
            .collect();
        // Open the gate a moment after the drop has (most likely) begun; the assertions hold
        // whichever happens first.
        let opener = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            drop(gate);
        });
        drop(pool);
        assert_eq!(ran.get(), 50, "dropping the pool must run every queued job");
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.join().expect("the job ran"), i as u32);
        }
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
    let pool = build(f, PoolConfig::workers(1));
    scenario("cancelled_job_with_panicking_drop", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        occupy(&*pool, &gate, 1);
        for _ in 0..3 {
            let bomb = PanicOnDrop;
            pool.execute(Box::new(move || {
                let _keep = &bomb;
            }))
            .expect(ACCEPT);
        }
        let last = pool.spawn(|| 1).expect(ACCEPT);
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(Shutdown::Now))
        };
        wait_until("Now to cancel the queue (or fail)", || {
            last.is_finished() || stopper.is_finished()
        });
        gate.open();
        let report = joined(stopper, "shutdown(Now) with a panicking cancelled job");
        let want = Counts {
            submitted: 5,
            completed: 1,
            cancelled: 4,
            ..Counts::default()
        };
        check_report("cancelled_job_with_panicking_drop", &report, want);
        assert!(last.join().expect_err("cancelled").is_cancelled());
    });
}

/// After a mixed run (completions, panics, then `Now` with a queue), the shutdown report and
/// `metrics()` agree exactly on every count.
pub fn shutdown_report_matches_metrics<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(2));
    scenario("shutdown_report_matches_metrics", pool, move |pool| {
        let pool = Arc::new(pool);
        let ran = Tally::new();
        for i in 0..35 {
            if i % 7 == 0 {
                pool.execute(Box::new(move || panic!("conformance: panic {i}")))
                    .expect(ACCEPT);
            } else {
                pool.execute(counting_job(&ran)).expect(ACCEPT);
            }
        }
        wait_metrics(&*pool, "the first 35 jobs to end", |m| m.submitted == 35);
        let gate = Gate::new();
        occupy(&*pool, &gate, 2);
        let handles: Vec<_> = (0..10).map(|_| pool.spawn(|| ()).expect(ACCEPT)).collect();
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown(Shutdown::Now))
        };
        wait_until("Now to cancel the queued jobs", || {
            handles.iter().all(|h| h.is_finished())
        });
        gate.open();
        let report = joined(stopper, "shutdown(Now)");
        let want = Counts {
            submitted: 47,
            completed: 32,
            panicked: 5,
            cancelled: 10,
            still_running: 0,
        };
        check_report("shutdown_report_matches_metrics", &report, want);
        let m = pool.metrics();
        assert_eq!(
            (m.submitted, m.completed, m.panicked, m.cancelled),
            (47, 32, 5, 10),
            "metrics after shutdown must match the report: {m:?}"
        );
        assert_eq!((m.queued, m.running), (0, 0), "{m:?}");
    });
}
