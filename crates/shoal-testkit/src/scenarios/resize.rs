//! `resize`: grows at once, shrinks after the current job, loses nothing under load, refuses
//! impossible counts, and works from inside a worker.

use std::thread;

use shoal_core::{Executor, ExecutorExt, ResizeError, Shutdown, MAX_WORKERS};

use crate::tools::{wait_until, Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    build, execute_counting, graceful_completes, join_numbered, joined, run_together, scenario,
    shared_scenario, spawn_numbered, wait_metrics, watch_worker_exits, ACCEPT,
};

/// `resize(4)` on a 1-worker pool grows it at once: `workers()` says 4 on return, and four
/// jobs that need four workers at the same time finish.
pub fn resize_grow<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("resize_grow", pool, move |pool| {
        pool.resize(4).expect("growing a running pool");
        assert_eq!(pool.workers(), 4, "workers() reflects a grow at once");
        run_together(
            &pool,
            4,
            "four jobs that need the four workers of resize(4)",
        );
        wait_until("metrics().workers to be 4", || pool.metrics().workers == 4);
    });
}

/// `resize(1)` while four workers are busy and jobs are queued: the busy jobs finish normally,
/// every queued job still runs, `workers()` becomes 1 and the surplus workers leave.
pub fn resize_shrink_after_current_job<F: Factory>(f: &F) {
    let name = "resize_shrink_after_current_job";
    shared_scenario(f, name, PoolConfig::new().workers(4), move |pool| {
        let gate = Gate::new();
        let arrived = Tally::new();
        let busy: Vec<_> = (0..4u32)
            .map(|i| {
                let (waiter, arrived) = (gate.waiter(), arrived.clone());
                pool.spawn(move || {
                    arrived.add();
                    waiter.wait();
                    i
                })
                .expect(ACCEPT)
            })
            .collect();
        arrived.wait_for(4, "four gated jobs on the four workers");
        let queued = spawn_numbered(&*pool, 20);
        // resize may return at once or after the retiring workers' jobs: either is fine.
        let resizer = {
            let pool = pool.clone();
            thread::spawn(move || pool.resize(1))
        };
        gate.open();
        joined(resizer, "resize(1)").expect("shrinking a running pool");
        assert_eq!(pool.workers(), 1, "workers() reflects a shrink");
        join_numbered(busy, "a busy job finishes");
        join_numbered(queued, "no queued job is lost");
        wait_until("metrics().workers to drop to 1", || {
            pool.metrics().workers == 1
        });
        assert_eq!(pool.spawn(|| 3).expect(ACCEPT).join().expect("ran"), 3);
    });
}

/// One thread resizes the pool up and down (1 to 8 workers) over and over while another
/// submits 2000 jobs: every job runs exactly once and the final size sticks.
pub fn resize_under_load_no_job_lost<F: Factory>(f: &F) {
    const JOBS: u64 = 2000;
    let name = "resize_under_load_no_job_lost";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let ran = Tally::new();
        let submitter = {
            let (pool, ran) = (pool.clone(), ran.clone());
            thread::spawn(move || execute_counting(&*pool, JOBS, &ran))
        };
        let resizer = {
            let pool = pool.clone();
            thread::spawn(move || {
                for _ in 0..5 {
                    for n in [1, 4, 2, 8, 1, 3, 6, 2] {
                        pool.resize(n).expect("resizing under load");
                        thread::yield_now();
                    }
                }
            })
        };
        joined(submitter, "the submitter");
        joined(resizer, "the resizer");
        pool.resize(3).expect("a last resize");
        assert_eq!(pool.workers(), 3);
        ran.wait_for(JOBS, "every job submitted during the resizes");
        graceful_completes(&*pool, "resize_under_load_no_job_lost", JOBS);
        assert_eq!(ran.get(), JOBS, "no job ran twice");
    });
}

/// `resize(0)` gives `ResizeError::Zero`, `resize(MAX_WORKERS + 1)` gives `TooMany` with the
/// numbers; neither changes the pool, and resizing to the current size is a no-op.
pub fn resize_invalid_counts_are_errors<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("resize_invalid_counts_are_errors", pool, move |pool| {
        match pool.resize(0) {
            Err(ResizeError::Zero) => {}
            other => panic!("resize(0) must give ResizeError::Zero, got {other:?}"),
        }
        match pool.resize(MAX_WORKERS + 1) {
            Err(ResizeError::TooMany { requested, max }) => {
                assert_eq!((requested, max), (MAX_WORKERS + 1, MAX_WORKERS));
            }
            other => panic!("resize(MAX_WORKERS + 1) must give TooMany, got {other:?}"),
        }
        assert_eq!(pool.workers(), 2, "a refused resize changes nothing");
        pool.resize(2).expect("resizing to the current size");
        assert_eq!(pool.workers(), 2);
        run_together(
            &pool,
            2,
            "two jobs on the two workers after refused resizes",
        );
    });
}

/// `resize` after shutdown gives `ResizeError::ShutDown`, whether growing or shrinking.
pub fn resize_after_shutdown_is_error<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("resize_after_shutdown_is_error", pool, move |pool| {
        pool.shutdown(Shutdown::Graceful);
        for n in [4, 1] {
            match pool.resize(n) {
                Err(ResizeError::ShutDown) => {}
                other => panic!("resize({n}) after shutdown must give ShutDown, got {other:?}"),
            }
        }
    });
}

/// Shrinking really retires threads: after `resize(1)` three of four worker threads exit,
/// the last one keeps serving, and it exits at shutdown.
pub fn resize_shrink_retires_threads<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(4));
    scenario("resize_shrink_retires_threads", pool, move |pool| {
        let exited = watch_worker_exits(&pool, 4);
        pool.resize(1).expect("shrinking a running pool");
        wait_until("three of the four worker threads to exit", || {
            exited.get() >= 3
        });
        assert_eq!(exited.get(), 3, "resize(1) keeps one worker");
        join_numbered(spawn_numbered(&pool, 10), "the last worker serves");
        pool.shutdown(Shutdown::Graceful);
        wait_until("the last worker thread to exit", || exited.get() == 4);
    });
}

/// `resize` called from inside a worker (growing to 4, then shrinking to 1, which may retire
/// the caller itself) returns without deadlock, and the pool keeps running jobs.
pub fn resize_inside_worker<F: Factory>(f: &F) {
    let name = "resize_inside_worker";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        for n in [4, 1] {
            let inner = pool.clone();
            let resized = pool.spawn(move || inner.resize(n)).expect(ACCEPT).join();
            resized
                .expect("no panic")
                .unwrap_or_else(|err| panic!("resize({n}) from inside a worker: {err}"));
            assert_eq!(pool.workers(), n);
        }
        join_numbered(spawn_numbered(&*pool, 20), "ran");
        wait_metrics(&*pool, "the pool to settle at one worker", |m| {
            m.workers == 1
        });
        graceful_completes(&*pool, name, 22);
    });
}
