//! `broadcast`: once on every worker, one result per worker in index order, panics reported
//! per worker, busy workers waited for, callable from inside a worker, refused after shutdown,
//! and no hang while the pool resizes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use shoal_core::{BroadcastError, Executor, ExecutorExt, Shutdown, TaskError, WorkerId};

use crate::tools::Tally;
use crate::{Factory, PoolConfig};

use super::steps::{
    blocked, build, join_numbered, joined, on_worker, scenario, shared_scenario, spawn_numbered,
    wait_metrics, ACCEPT,
};

/// Unwraps every result of a broadcast that must succeed on every worker.
fn all_ok<T>(results: Vec<Result<T, TaskError>>, what: &str) -> Vec<T> {
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|err| panic!("{what}: worker {i} gave {err:?}")))
        .collect()
}

/// A broadcast on 3 workers runs its closure exactly 3 times, once on each worker thread, and
/// returns the 3 results in index order, each naming its worker of this pool; the closure may
/// borrow from the caller.
pub fn broadcast_runs_once_on_every_worker<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("broadcast_runs_once_on_every_worker", pool, move |pool| {
        let calls = AtomicUsize::new(0); // borrowed, not 'static
        let results = pool
            .broadcast(|worker: WorkerId| {
                calls.fetch_add(1, Ordering::SeqCst);
                (worker, thread::current().id())
            })
            .expect("broadcast on a running pool");
        let seen = all_ok(results, "broadcast");
        assert_eq!(calls.load(Ordering::SeqCst), 3, "once per worker");
        let indices: Vec<usize> = seen.iter().map(|(w, _)| w.index()).collect();
        assert_eq!(indices, [0, 1, 2], "one result per worker, in index order");
        assert!(
            seen.iter().all(|(w, _)| Some(w.pool()) == pool.pool_id()),
            "every worker belongs to this pool: {seen:?}"
        );
        let threads: HashSet<_> = seen.iter().map(|(_, t)| *t).collect();
        assert_eq!(threads.len(), 3, "three different worker threads");
        assert!(
            !threads.contains(&thread::current().id()),
            "never the caller"
        );
    });
}

/// A closure that panics on one worker gives that worker `Err(Panicked)` with the message;
/// the other workers' results are values, the pool keeps its workers, and no job counts as
/// panicked.
pub fn broadcast_reports_panics_per_worker<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("broadcast_reports_panics_per_worker", pool, move |pool| {
        let results = pool
            .broadcast(|worker| {
                if worker.index() == 1 {
                    panic!("conformance: broadcast panics on worker 1");
                }
                worker.index()
            })
            .expect("broadcast on a running pool");
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().ok(), Some(&0));
        assert_eq!(results[2].as_ref().ok(), Some(&2));
        match &results[1] {
            Err(err) => assert_eq!(
                err.panic_message(),
                Some("conformance: broadcast panics on worker 1")
            ),
            Ok(v) => panic!("worker 1 must report its panic, gave {v}"),
        }
        join_numbered(
            spawn_numbered(&pool, 10),
            "jobs after a panicking broadcast",
        );
        let m = wait_metrics(&pool, "the jobs to settle", |m| m.completed == 10);
        assert_eq!((m.workers, m.panicked), (3, 0), "{m:?}");
    });
}

/// A broadcast waits for a worker busy with a long job: it cannot return while that worker
/// is held, and returns with every worker's result once the job ends.
pub fn broadcast_waits_for_busy_workers<F: Factory>(f: &F) {
    let name = "broadcast_waits_for_busy_workers";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let gate = blocked(&*pool, 1);
        let ran = Tally::new();
        let caster = {
            let (pool, ran) = (pool.clone(), ran.clone());
            thread::spawn(move || pool.broadcast(move |w| (ran.add(), w.index()).1))
        };
        ran.wait_for(1, "the idle worker's part of the broadcast");
        assert!(
            !caster.is_finished(),
            "the broadcast returned while a worker was still held in a job"
        );
        drop(gate);
        let results = joined(caster, "the broadcast").expect("running");
        assert_eq!(all_ok(results, name), [0, 1]);
        assert_eq!(ran.get(), 2);
    });
}

/// Broadcasts called from inside workers of the pool return (each caller runs its own part
/// while it waits for the others), also when both workers broadcast at the same time.
pub fn broadcast_from_inside_workers<F: Factory>(f: &F) {
    let name = "broadcast_from_inside_workers";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let one = on_worker(&pool, |pool| pool.broadcast(|w| w.index()));
        assert_eq!(all_ok(one.expect("running"), name), [0, 1]);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (inner, barrier) = (pool.clone(), barrier.clone());
                pool.spawn(move || {
                    barrier.wait();
                    inner.broadcast(|w| w.index())
                })
                .expect(ACCEPT)
            })
            .collect();
        for handle in handles {
            let results = handle.join().expect("no panic").expect("running");
            assert_eq!(all_ok(results, name), [0, 1]);
        }
    });
}

/// After shutdown began (`shutdown`, or `shutdown_background`), a broadcast runs nothing and
/// says `ShutDown`.
pub fn broadcast_after_shutdown_is_error<F: Factory>(f: &F) {
    let pools = (
        build(f, PoolConfig::new().workers(2)),
        build(f, PoolConfig::new().workers(2)),
    );
    scenario("broadcast_after_shutdown_is_error", pools, move |(a, b)| {
        a.shutdown(Shutdown::Graceful);
        b.shutdown_background();
        for pool in [&a, &b] {
            let calls = AtomicUsize::new(0);
            let result = pool.broadcast(|_| calls.fetch_add(1, Ordering::SeqCst));
            assert!(
                matches!(result, Err(BroadcastError::ShutDown)),
                "a broadcast after shutdown must give ShutDown, got {result:?}"
            );
            assert_eq!(calls.load(Ordering::SeqCst), 0, "and run nothing");
        }
    });
}

/// Broadcasts racing resizes (1 to 4 workers, over and over) never hang; each gives one
/// result per worker it reached, with distinct indices below 4, each a value or (for a worker
/// leaving at that moment) `Cancelled`.
pub fn broadcast_during_resize<F: Factory>(f: &F) {
    let name = "broadcast_during_resize";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let done = Arc::new(AtomicBool::new(false));
        let resizer = {
            let (pool, done) = (pool.clone(), done.clone());
            thread::spawn(move || {
                // ORDERING: a stop flag; the join below orders everything else.
                while !done.load(Ordering::Relaxed) {
                    for n in [1, 4, 2, 3] {
                        pool.resize(n).expect("resizing a running pool");
                    }
                }
            })
        };
        for _ in 0..50 {
            let results = pool
                .broadcast(|w| w.index())
                .expect("broadcast on a running pool");
            assert!(!results.is_empty() && results.len() <= 4, "{results:?}");
            let mut last = None;
            for result in results {
                match result {
                    Ok(index) => {
                        assert!(index < 4, "index {index} of a pool never above 4");
                        assert!(last < Some(index), "indices in order, each once");
                        last = Some(index);
                    }
                    Err(err) => assert!(err.is_cancelled(), "{err:?}"),
                }
            }
        }
        done.store(true, Ordering::Relaxed);
        joined(resizer, "the resizer");
    });
}
