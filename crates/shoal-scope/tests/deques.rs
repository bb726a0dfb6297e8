//! The deques of `ScopedPool`'s workers: an `Executor` job submitted from one of its workers
//! waits on that worker's own deque (unless the queue is bounded), where idle siblings steal
//! it; a shrink moves it, `Shutdown::Now` cancels it, `queued()` counts it.
//!
//! Ordering comes from gates and tallies, never from sleeps; every test runs under a watchdog
//! that fails it with a message instead of hanging.
#![cfg(not(shoal_loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use common::watchdog;
use shoal_core::{Executor, ExecutorExt, RejectReason, Shutdown, TaskError};
use shoal_scope::ScopedPool;
use shoal_testkit::{wait_until, Gate, Tally};

fn pool(workers: usize) -> Arc<ScopedPool> {
    Arc::new(ScopedPool::new(workers).expect("build"))
}

/// A job that counts its run on `tally`.
fn counting(tally: &Arc<Tally>) -> impl FnOnce() + Send + 'static {
    let tally = tally.clone();
    move || tally.add()
}

/// A job that blocks its worker without helping until its child ran: only an idle sibling can
/// take the child off the owner's deque, and the steal is counted.
#[test]
fn sibling_steals_from_a_blocked_owner() {
    watchdog("sibling_steals_from_a_blocked_owner", || {
        let pool = pool(2);
        let (tx, rx) = mpsc::channel::<u32>();
        let p = pool.clone();
        let parent = pool
            .spawn(move || {
                p.execute_fn(move || tx.send(7).unwrap()).unwrap();
                // Block this worker without helping: only the sibling can run the child.
                rx.recv().unwrap()
            })
            .unwrap();
        assert_eq!(parent.join().unwrap(), 7);
        let m = pool.metrics();
        assert!(m.steals >= 1, "the child was stolen: {m:?}");
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2, "{report:?}");
    });
}

/// On a single worker, the children a job submits wait on its deque: `queued()` counts them
/// there, and they all run once the parent returns (the newest first: each one sees the
/// children submitted after it already run).
#[test]
fn inside_jobs_wait_on_the_workers_deque_newest_first() {
    watchdog("inside_jobs_wait_on_the_workers_deque_newest_first", || {
        let pool = pool(1);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let p = pool.clone();
        let o = order.clone();
        let queued_inside = pool
            .spawn(move || {
                for i in 0..100 {
                    let o = o.clone();
                    p.execute_fn(move || o.lock().unwrap().push(i)).unwrap();
                }
                p.queued()
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(queued_inside, 100);
        pool.wait_idle().unwrap();
        let order = order.lock().unwrap().clone();
        assert_eq!(order, (0..100).rev().collect::<Vec<_>>());
        assert_eq!(pool.queued(), 0);
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 101, "{report:?}");
    });
}

/// A bounded pool keeps the jobs its workers submit in its bounded queue, which is what the
/// capacity counts: from inside a worker, the submit past the capacity is refused as `Full`.
#[test]
fn a_bounded_pool_bounds_inside_jobs_too() {
    watchdog("a_bounded_pool_bounds_inside_jobs_too", || {
        let pool = Arc::new(
            ScopedPool::builder()
                .workers(1)
                .queue_capacity(4)
                .build()
                .unwrap(),
        );
        let ran = Tally::new();
        let (p, r) = (pool.clone(), ran.clone());
        let refused = pool
            .spawn(move || {
                let accepted = (0..4)
                    .filter(|_| p.try_execute_fn(counting(&r)).is_ok())
                    .count();
                assert_eq!(accepted, 4, "room for four");
                match p.try_execute_fn(counting(&r)) {
                    Err(rejected) => rejected.reason(),
                    Ok(()) => panic!("a fifth job past a capacity of four was accepted"),
                }
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(refused, RejectReason::Full);
        ran.wait_for(4, "the four accepted children");
        assert_eq!(pool.metrics().rejected, 1);
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 5, "{report:?}");
    });
}

/// Shrinking retires workers after their job; a retiring worker moves the jobs on its deque
/// to the shared queue first: nothing is lost.
#[test]
fn resize_moves_deque_jobs() {
    watchdog("resize_moves_deque_jobs", || {
        let pool = pool(4);
        let ran = Tally::new();
        let started = Tally::new();
        let release = Gate::new();
        // Four parents, each leaving 500 children on its own deque while it blocks.
        for _ in 0..4 {
            let (p, r, s, wait) = (pool.clone(), ran.clone(), started.clone(), release.waiter());
            pool.execute_fn(move || {
                for _ in 0..500 {
                    p.execute_fn(counting(&r)).unwrap();
                }
                s.add();
                wait.wait();
            })
            .unwrap();
        }
        started.wait_for(4, "four parents holding their children");
        pool.resize(1).unwrap();
        assert_eq!(pool.workers(), 1);
        release.open();
        wait_until("one live worker", || pool.metrics().workers == 1);
        ran.wait_for(2000, "every child");
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2004, "{report:?}");
        assert!(report.adds_up(), "{report:?}");
    });
}

/// `Shutdown::Now` cancels the jobs waiting on a busy worker's deque; their handles say so.
#[test]
fn shutdown_now_cancels_deque_jobs() {
    watchdog("shutdown_now_cancels_deque_jobs", || {
        let pool = pool(1);
        let started = Tally::new();
        let release = Gate::new();
        let (p, s, wait) = (pool.clone(), started.clone(), release.waiter());
        let parent = pool
            .spawn(move || {
                let children: Vec<_> = (0..10).map(|i| p.spawn(move || i).unwrap()).collect();
                s.add();
                wait.wait();
                children
            })
            .unwrap();
        started.wait_for(1, "the parent holding its children");
        let p = pool.clone();
        let stopper = thread::spawn(move || p.shutdown(Shutdown::Now));
        // Let the shutdown cancel what it can reach, then release the parent.
        wait_until("the children cancelled", || pool.metrics().cancelled >= 10);
        release.open();
        let report = stopper.join().unwrap();
        for child in parent.join().unwrap() {
            assert!(matches!(child.join(), Err(TaskError::Cancelled)));
        }
        assert_eq!((report.cancelled, report.completed), (10, 1), "{report:?}");
        assert!(report.adds_up(), "{report:?}");
    });
}

/// A chain of jobs each spawning the next runs to the end on every worker count, also while
/// the chain's jobs move between workers by stealing.
#[test]
fn chains_finish_on_any_worker_count() {
    fn link(pool: Arc<ScopedPool>, left: u32, hops: Arc<AtomicUsize>, done: mpsc::Sender<()>) {
        hops.fetch_add(1, Ordering::Relaxed);
        if left == 0 {
            done.send(()).unwrap();
            return;
        }
        let p = pool.clone();
        pool.execute_fn(move || link(p, left - 1, hops, done))
            .unwrap();
    }
    watchdog("chains_finish_on_any_worker_count", || {
        for workers in [1, 2, 3] {
            let pool = pool(workers);
            let hops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = mpsc::channel();
            let (p, h) = (pool.clone(), hops.clone());
            pool.execute_fn(move || link(p, 10_000, h, tx)).unwrap();
            rx.recv().unwrap();
            assert_eq!(hops.load(Ordering::Relaxed), 10_001);
            let report = pool.shutdown(Shutdown::Graceful);
            assert_eq!(report.completed, 10_001, "{workers} workers: {report:?}");
        }
    });
}
