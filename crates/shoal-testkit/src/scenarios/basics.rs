//! Basics: jobs run, handles give values back, the trait works through `dyn`, and many
//! submitters at once lose nothing.

use std::sync::Arc;
use std::thread;

use std::sync::atomic::{AtomicU64, Ordering};

use shoal_core::{Executor, ExecutorExt, RejectReason, Shutdown};

use crate::tools::{wait_until, Alive, Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    await_intake_closed, blocked, build, check_report, counting_job, fill_then_shutdown,
    graceful_completes, joined, scenario, shared_scenario, stampede, stopper, wait_metrics, ACCEPT,
};
use super::Counts;

/// Jobs given to `execute` all run, `spawn` hands the job's value back, and the report counts
/// every one of them as completed.
pub fn smoke<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("smoke", pool, move |pool| {
        let ran = Tally::new();
        for _ in 0..100 {
            pool.execute(counting_job(&ran)).expect(ACCEPT);
        }
        ran.wait_for(100, "100 executed jobs to run");
        let answer = pool.spawn(|| 6 * 7).expect(ACCEPT).join();
        assert_eq!(answer.expect("the job does not panic"), 42);
        graceful_completes(&pool, "smoke", 101);
    });
}

/// Each of many spawned jobs hands its own value back through its own `JoinHandle`, whatever
/// order the handles are joined in.
pub fn spawn_returns_values<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("spawn_returns_values", pool, move |pool| {
        let handles: Vec<_> = (0..200u32)
            .map(|i| pool.spawn(move || format!("job {i}")).expect(ACCEPT))
            .collect();
        for (i, handle) in handles.into_iter().enumerate().rev() {
            assert_eq!(handle.join().expect("no panic"), format!("job {i}"));
        }
    });
}

/// `workers()` and `metrics().workers` report the configured worker count (1, 3 and 8).
pub fn workers_match_config<F: Factory>(f: &F) {
    let pools: Vec<(usize, F::Pool)> = [1, 3, 8]
        .into_iter()
        .map(|n| (n, build(f, PoolConfig::new().workers(n))))
        .collect();
    scenario("workers_match_config", pools, move |pools| {
        for (n, pool) in &pools {
            assert_eq!(pool.workers(), *n, "workers() must be the configured count");
            wait_until("metrics().workers to be the configured count", || {
                pool.metrics().workers == *n
            });
        }
    });
}

/// `is_finished` is false and `try_join` hands the handle back while the job is blocked;
/// once it has run, `is_finished` turns true and `try_join` gives the value.
pub fn try_join_and_is_finished<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("try_join_and_is_finished", pool, move |pool| {
        let gate = Gate::new();
        let waiter = gate.waiter();
        let handle = pool
            .spawn(move || {
                waiter.wait();
                7
            })
            .expect(ACCEPT);
        assert!(
            !handle.is_finished(),
            "a job blocked on a gate is not finished"
        );
        let handle = match handle.try_join() {
            Ok(result) => panic!("try_join on an unfinished job gave {result:?}"),
            Err(handle) => handle,
        };
        gate.open();
        wait_until("the handle to report is_finished", || handle.is_finished());
        match handle.try_join() {
            Ok(Ok(7)) => {}
            other => panic!("try_join on a finished job must give its value, got {other:?}"),
        }
    });
}

/// Dropping a `JoinHandle` detaches the job: it still runs, queued or not.
pub fn dropped_handle_detaches<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("dropped_handle_detaches", pool, move |pool| {
        fill_then_shutdown(
            &pool,
            "jobs whose handles were dropped",
            1,
            3,
            |pool, job| {
                drop(pool.spawn(job).expect(ACCEPT));
            },
        );
    });
}

/// A pool works through `Box<dyn Executor>` and `Arc<dyn Executor>`: execute, spawn, map,
/// workers, shutdown, and sharing the `Arc` between threads.
pub fn dyn_executor_box_and_arc<F: Factory>(f: &F) {
    let pools = (
        build(f, PoolConfig::new().workers(2)),
        build(f, PoolConfig::new().workers(2)),
    );
    scenario("dyn_executor_box_and_arc", pools, move |(first, second)| {
        let boxed: Box<dyn Executor> = Box::new(first);
        assert_eq!(boxed.workers(), 2);
        let two = boxed.spawn(|| 1 + 1).expect(ACCEPT).join();
        assert_eq!(two.expect("no panic"), 2);
        let squares: Vec<u32> = boxed
            .map(1..=5u32, |x| x * x)
            .map(|r| r.expect("no panic"))
            .collect();
        assert_eq!(squares, [1, 4, 9, 16, 25]);
        // The map's jobs: one per chunk at most, at least one.
        let map_jobs = boxed.metrics().submitted - 1;
        assert!((1..=5).contains(&map_jobs), "{map_jobs} jobs for 5 items");
        let ran = Tally::new();
        boxed.execute(counting_job(&ran)).expect(ACCEPT);
        ran.wait_for(1, "a job executed through Box<dyn Executor>");
        graceful_completes(&*boxed, "Box<dyn Executor>", map_jobs + 2);

        let shared: Arc<dyn Executor> = Arc::new(second);
        let threads: Vec<_> = (0..3u32)
            .map(|t| {
                let shared = shared.clone();
                thread::spawn(move || {
                    let handle = shared.spawn(move || t * 10).expect(ACCEPT);
                    handle.join().expect("no panic")
                })
            })
            .collect();
        let sum: u32 = threads
            .into_iter()
            .map(|t| joined(t, "a thread spawning through Arc<dyn Executor>"))
            .sum();
        assert_eq!(sum, 30);
        graceful_completes(&*shared, "Arc<dyn Executor>", 3);
    });
}

/// Jobs that submit more jobs (a fan-out three levels deep) get every one of them run and
/// counted.
pub fn job_submits_jobs<F: Factory>(f: &F) {
    shared_scenario(
        f,
        "job_submits_jobs",
        PoolConfig::new().workers(2),
        |pool| {
            let ran = Tally::new();
            let (p, r) = (pool.clone(), ran.clone());
            pool.execute(Box::new(move || {
                for _ in 0..10 {
                    let (p2, r2) = (p.clone(), r.clone());
                    p.execute(Box::new(move || {
                        for _ in 0..10 {
                            p2.execute(counting_job(&r2)).expect(ACCEPT);
                        }
                        r2.add();
                    }))
                    .expect(ACCEPT);
                }
                r.add();
            }))
            .expect(ACCEPT);
            ran.wait_for(111, "1 + 10 + 100 jobs submitted from inside jobs");
            graceful_completes(&*pool, "job_submits_jobs", 111);
        },
    );
}

/// Eight threads submitting at once (released together by a barrier) lose no job: every one
/// runs, and `submitted` counts each exactly once.
pub fn stampede_many_submitters<F: Factory>(f: &F) {
    let name = "stampede_many_submitters";
    shared_scenario(f, name, PoolConfig::new().workers(3), move |pool| {
        let ran = Tally::new();
        let total = stampede(&pool, 8, 300, &ran);
        ran.wait_for(total, "every job of the stampede to run");
        wait_metrics(&*pool, "the stampede's metrics to settle", |m| {
            m.submitted == total && m.completed == total
        });
        graceful_completes(&*pool, name, total);
    });
}

/// An unbounded queue (the default) never answers `Full`: 5000 `try_execute`s behind a busy
/// worker are all accepted, and all run.
pub fn unbounded_queue_accepts_everything<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("unbounded_queue_accepts_everything", pool, move |pool| {
        let what = "5000 jobs queued with try_execute";
        fill_then_shutdown(&pool, what, 1, 5000, |pool, job| {
            if let Err(rejected) = pool.try_execute(job) {
                panic!("an unbounded queue refused a job: {rejected}");
            }
        });
    });
}

/// `execute_fn` runs closures of every size (small ones travel unboxed in the queue's slot,
/// large ones boxed), from outside and from inside a worker; counts a panicking one as
/// panicked; drops the captures of queued ones that a `Shutdown::Now` cancels, once each; and
/// after shutdown hands the closure back in the error, still runnable.
pub fn execute_fn_small_and_large<F: Factory>(f: &F) {
    let name = "execute_fn_small_and_large";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let ran = Tally::new();
        // Small: an `Arc` (one word). Large: 64 bytes of data besides it.
        for _ in 0..100 {
            let r = ran.clone();
            pool.execute_fn(move || r.add()).expect(ACCEPT);
        }
        let sum = Arc::new(AtomicU64::new(0));
        for i in 0..10u64 {
            let (r, sum) = (ran.clone(), sum.clone());
            let big = [i; 8];
            pool.execute_fn(move || {
                sum.fetch_add(big.iter().sum::<u64>(), Ordering::Relaxed);
                r.add();
            })
            .expect(ACCEPT);
        }
        // From inside a worker: ten small children.
        let (p, r) = (pool.clone(), ran.clone());
        pool.execute_fn(move || {
            for _ in 0..10 {
                let r2 = r.clone();
                p.execute_fn(move || r2.add()).expect(ACCEPT);
            }
            r.add();
        })
        .expect(ACCEPT);
        ran.wait_for(100 + 10 + 11, "the closures given to execute_fn to run");
        assert_eq!(sum.load(Ordering::Relaxed), 8 * (0..10).sum::<u64>());
        pool.execute_fn(|| panic!("a small closure panics"))
            .expect(ACCEPT);
        wait_metrics(&*pool, "the panicking closure to be counted", |m| {
            m.panicked == 1 && m.completed == 121
        });

        // Queued behind two held workers, then cancelled: each capture dropped exactly once.
        let gate = blocked(&*pool, 2);
        let alive = Alive::new();
        for _ in 0..5 {
            let tracked = alive.track(());
            pool.execute_fn(move || drop(tracked)).expect(ACCEPT);
        }
        assert_eq!(alive.now(), 5, "the queued closures hold their captures");
        let stop = stopper(&pool, Shutdown::Now);
        let probes = await_intake_closed(&*pool);
        gate.open();
        let report = joined(stop, "the shutdown");
        check_report(
            name,
            &report,
            Counts {
                submitted: 122 + 2 + 5 + probes,
                completed: 121 + 2,
                panicked: 1,
                cancelled: 5 + probes,
                still_running: 0,
            },
        );
        assert_eq!(
            alive.now(),
            0,
            "every cancelled closure dropped its captures"
        );

        // Refused: the closure comes back, boxed, and still runs.
        let back = Tally::new();
        let b = back.clone();
        let refused = pool
            .execute_fn(move || b.add())
            .expect_err("the pool is shut down");
        assert_eq!(refused.reason(), RejectReason::ShutDown);
        (refused.into_job())();
        assert_eq!(back.get(), 1, "the refused closure came back intact");
    });
}
