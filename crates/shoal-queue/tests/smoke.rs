//! Quick end-to-end checks of SharedQueuePool beyond the shared conformance suite.
#![cfg(not(shoal_loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use shoal_core::{Executor, ExecutorExt, Shutdown};
use shoal_queue::SharedQueuePool;

#[test]
fn smoke() {
    let pool = SharedQueuePool::new(2).unwrap();
    let sum: u64 = pool.map(0..1000u64, |x| x * 2).map(Result::unwrap).sum();
    assert_eq!(sum, 999_000);
    let report = pool.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{report:?}");
    // `map` submits a few jobs that loop over chunks of items, not one per item: every one
    // completed.
    assert!(report.completed >= 1, "{report:?}");
    assert_eq!(report.completed, report.submitted, "{report:?}");
}

#[test]
fn stampede_of_submitters_loses_nothing() {
    let pool = Arc::new(
        SharedQueuePool::builder()
            .workers(3)
            .queue_capacity(8)
            .build()
            .unwrap(),
    );
    let ran = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            let ran = ran.clone();
            std::thread::spawn(move || {
                for _ in 0..2_000 {
                    let ran = ran.clone();
                    pool.execute(Box::new(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                    }))
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let report = pool.shutdown(Shutdown::Graceful);
    assert_eq!(ran.load(Ordering::Relaxed), 8_000);
    assert_eq!(report.completed, 8_000);
    assert!(report.adds_up());
}

#[test]
fn shutdown_races_submitters() {
    for round in 0..50 {
        let pool = Arc::new(SharedQueuePool::new(2).unwrap());
        let ran = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..3)
            .map(|_| {
                let (pool, ran, refused) = (pool.clone(), ran.clone(), refused.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let ran = ran.clone();
                        if let Err(rejected) = pool.execute(Box::new(move || {
                            ran.fetch_add(1, Ordering::Relaxed);
                        })) {
                            assert!(rejected.is_shutdown());
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mode = if round % 2 == 0 {
            Shutdown::Graceful
        } else {
            Shutdown::Now
        };
        let report = pool.shutdown(mode);
        for s in submitters {
            s.join().unwrap();
        }
        assert!(report.adds_up(), "{report:?}");
        let ran = ran.load(Ordering::Relaxed) as u64;
        assert_eq!(ran, report.completed);
        assert_eq!(
            report.completed + report.cancelled + refused.load(Ordering::Relaxed) as u64,
            600
        );
    }
}

#[test]
fn resize_under_load() {
    let pool = SharedQueuePool::new(1).unwrap();
    let handles: Vec<_> = (0..500u64)
        .map(|i| pool.spawn(move || i).unwrap())
        .collect();
    for n in [4, 1, 3, 2, 1, 5] {
        pool.resize(n).unwrap();
        assert_eq!(pool.workers(), n);
    }
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 499 * 500 / 2);
}

/// Runs `f` in a job on a fresh 2-worker pool, handing it the pool: a recursion that starts
/// on a worker. Returns the pool and what `f` returned.
fn on_a_worker(f: fn(&Arc<SharedQueuePool>) -> u64) -> (Arc<SharedQueuePool>, u64) {
    let pool = Arc::new(SharedQueuePool::new(2).unwrap());
    let p = pool.clone();
    let value = pool.spawn(move || f(&p)).unwrap().join().unwrap();
    (pool, value)
}

fn fib_spawn(pool: &Arc<SharedQueuePool>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let p = pool.clone();
    let right = pool.spawn(move || fib_spawn(&p, n - 2)).unwrap();
    let left = fib_spawn(pool, n - 1);
    left + right.join().unwrap()
}

/// Regression: helping on a FIFO queue used to stack one frame per queued job (breadth-first)
/// and overflowed a worker's stack around fib(20). Joins now run their own unstarted job
/// first (depth-first), so the stack grows with the recursion depth only.
#[test]
fn deep_spawn_join_recursion_does_not_overflow() {
    let (pool, value) = on_a_worker(|pool| fib_spawn(pool, 22));
    assert_eq!(value, 17_711);
    let report = pool.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{report:?}");
}

fn fib_scope(pool: &SharedQueuePool, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (mut a, mut b) = (0, 0);
    pool.scope(|s| {
        s.spawn(|_| b = fib_scope(pool, n - 2));
        a = fib_scope(pool, n - 1);
    });
    a + b
}

/// The same regression through borrowing scopes (`join` built on `scope`).
#[test]
fn deep_scope_recursion_does_not_overflow() {
    let (pool, value) = on_a_worker(|pool| fib_scope(pool, 20));
    assert_eq!(value, 6_765);
    assert_eq!(fib_scope(&pool, 18), 2_584);
}
