//! WorkStealingPool's own behaviour, beyond the shared conformance suite: local deques,
//! stealing, parking, resize moving local jobs, the LIFO slot, shutdown with local work.
//!
//! Ordering comes from flags and counts, never from sleeps; every test runs under a watchdog
//! that fails it with a message instead of hanging.
#![cfg(not(shoal_loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use shoal_core::{Executor, ExecutorExt, Job, Shutdown, TaskError};
use shoal_steal::WorkStealingPool;

/// Runs `body` under shoal-testkit's watchdog: it fails with `name` if it does not finish in
/// 60 s (`SHOAL_WATCHDOG_SECS` overrides).
fn watchdog(name: &str, body: impl FnOnce() + Send + 'static) {
    shoal_testkit::watchdog(name, Duration::from_secs(60), body);
}

/// Spins (yielding) until `cond` holds; panics with `what` after 30 s.
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "gave up waiting: {what}"
        );
        thread::yield_now();
    }
}

fn pool(workers: usize) -> Arc<WorkStealingPool> {
    Arc::new(WorkStealingPool::new(workers).expect("build"))
}

/// A job that counts its run on `ran`.
fn counting(ran: &Arc<AtomicUsize>) -> Job {
    let ran = ran.clone();
    Box::new(move || {
        ran.fetch_add(1, Ordering::Relaxed);
    })
}

/// Runs `f` in a job on `pool`, handing it the pool and a fresh counter, and returns what `f`
/// returned with the counter: a call made from inside a worker.
fn on_worker<T: Send + 'static>(
    pool: &Arc<WorkStealingPool>,
    f: impl FnOnce(&WorkStealingPool, &Arc<AtomicUsize>) -> T + Send + 'static,
) -> (T, Arc<AtomicUsize>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let (p, r) = (pool.clone(), ran.clone());
    let value = pool.spawn(move || f(&p, &r)).unwrap().join().unwrap();
    (value, ran)
}

/// Shuts `pool` down gracefully and checks the report: it adds up, `completed` jobs
/// completed, none is still running.
fn graceful_completes(pool: &WorkStealingPool, completed: u64) {
    let report = pool.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{report:?}");
    assert_eq!(report.completed, completed, "{report:?}");
    assert_eq!(report.still_running, 0, "{report:?}");
}

#[test]
fn smoke() {
    watchdog("smoke", || {
        let pool = pool(2);
        let handles: Vec<_> = (0..1000u64)
            .map(|i| pool.spawn(move || i * 2).unwrap())
            .collect();
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 999 * 1000);
        graceful_completes(&pool, 1000);
    });
}

/// A job whose children it waits for by a plain channel (no helping) only finishes if a
/// sibling steals the child from the owner's deque: the steal is counted.
#[test]
fn sibling_steals_from_a_blocked_owner() {
    watchdog("sibling_steals_from_a_blocked_owner", || {
        let pool = pool(2);
        let (tx, rx) = mpsc::channel::<u32>();
        let p = pool.clone();
        let parent = pool
            .spawn(move || {
                let tx2 = tx.clone();
                p.execute(Box::new(move || tx2.send(7).unwrap())).unwrap();
                // Block this worker without helping: only the sibling can run the child.
                rx.recv().unwrap()
            })
            .unwrap();
        assert_eq!(parent.join().unwrap(), 7);
        let m = pool.metrics();
        assert!(m.steals >= 1, "the child was stolen: {m:?}");
        pool.shutdown(Shutdown::Graceful);
    });
}

/// Many children spawned from inside one worker all run, and a join inside a worker helps.
#[test]
fn spawn_from_inside_runs_everything() {
    watchdog("spawn_from_inside_runs_everything", || {
        let pool = pool(3);
        let (total, ran) = on_worker(&pool, |p, r| {
            let handles: Vec<_> = (0..10_000)
                .map(|i| {
                    let r = r.clone();
                    p.spawn(move || {
                        r.fetch_add(1, Ordering::Relaxed);
                        i
                    })
                    .unwrap()
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum::<usize>()
        });
        assert_eq!(total, (0..10_000).sum::<usize>());
        assert_eq!(ran.load(Ordering::Relaxed), 10_000);
        graceful_completes(&pool, 10_001);
    });
}

/// An unbalanced recursive tree (one deep spine) completes with every join helping.
#[test]
fn unbalanced_tree_with_nested_joins() {
    fn tree(pool: Arc<WorkStealingPool>, depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let p = pool.clone();
        let left = pool.spawn(move || tree(p, depth - 1)).unwrap();
        // The right side is a short leaf chain; the left side is the deep one.
        let right = if depth % 3 == 0 {
            tree(pool, depth / 3)
        } else {
            1
        };
        left.join().unwrap() + right
    }
    watchdog("unbalanced_tree_with_nested_joins", || {
        let pool = pool(2);
        let p = pool.clone();
        let n = pool.spawn(move || tree(p, 60)).unwrap().join().unwrap();
        assert!(n > 60);
        assert!(pool.shutdown(Shutdown::Graceful).adds_up());
    });
}

/// Idle workers park (no idle burn): every worker eventually parks and is counted.
#[test]
fn idle_workers_park() {
    watchdog("idle_workers_park", || {
        let pool = pool(3);
        wait_for("three parks", || pool.metrics().parks >= 3);
        // And a parked pool still wakes for a new job.
        assert_eq!(pool.spawn(|| 5).unwrap().join().unwrap(), 5);
        pool.shutdown(Shutdown::Graceful);
    });
}

/// Many single submit-and-wait round trips: each job arrives while workers are going to
/// sleep or asleep; a lost wake-up would hang here.
#[test]
fn no_lost_wakeup() {
    watchdog("no_lost_wakeup", || {
        let pool = pool(2);
        for i in 0..3_000u32 {
            assert_eq!(pool.spawn(move || i).unwrap().join().unwrap(), i);
            if i % 500 == 0 {
                // Give the workers time to park (not an assertion on time: only a way to
                // reach the "every worker asleep" state now and then).
                thread::sleep(Duration::from_millis(2));
            }
        }
        pool.shutdown(Shutdown::Graceful);
    });
}

/// The same round trips from inside a worker: a child pushed to the local deque while the
/// owner blocks (not helping) must wake the parked sibling.
#[test]
fn no_lost_wakeup_for_local_push() {
    watchdog("no_lost_wakeup_for_local_push", || {
        let pool = pool(2);
        for _ in 0..300 {
            let p = pool.clone();
            // Let both workers reach the park (see `no_lost_wakeup`).
            thread::sleep(Duration::from_micros(500));
            pool.spawn(move || {
                let (tx, rx) = mpsc::channel();
                p.execute(Box::new(move || tx.send(()).unwrap())).unwrap();
                rx.recv().unwrap();
            })
            .unwrap()
            .join()
            .unwrap();
        }
        pool.shutdown(Shutdown::Graceful);
    });
}

/// Growing adds workers whose deques siblings steal from; shrinking retires workers after
/// their job and moves their local jobs to the injector: nothing is lost.
#[test]
fn resize_moves_local_jobs() {
    watchdog("resize_moves_local_jobs", || {
        let pool = pool(1);
        pool.resize(4).unwrap();
        assert_eq!(pool.workers(), 4);
        wait_for("four live workers", || pool.metrics().workers == 4);
        let ran = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        // Four parents, each leaving 500 children on its own deque while it blocks.
        for _ in 0..4 {
            let (p, r, s, rel) = (
                pool.clone(),
                ran.clone(),
                started_tx.clone(),
                release_rx.clone(),
            );
            pool.execute(Box::new(move || {
                for _ in 0..500 {
                    p.execute(counting(&r)).unwrap();
                }
                s.send(()).unwrap();
                let _ = rel.lock().unwrap().recv();
            }))
            .unwrap();
        }
        for _ in 0..4 {
            started_rx.recv().unwrap();
        }
        pool.resize(1).unwrap();
        assert_eq!(pool.workers(), 1);
        for _ in 0..4 {
            release_tx.send(()).unwrap();
        }
        wait_for("one live worker", || pool.metrics().workers == 1);
        wait_for("every child ran", || ran.load(Ordering::Relaxed) == 2000);
        graceful_completes(&pool, 2004);
    });
}

/// With the LIFO slot, a chain of jobs each spawning the next runs to the end, and a
/// helping join still finds a slotted child.
#[test]
fn lifo_slot_chain_and_join() {
    fn link(pool: Arc<WorkStealingPool>, left: u32, done: mpsc::Sender<()>) {
        if left == 0 {
            done.send(()).unwrap();
            return;
        }
        let p = pool.clone();
        pool.execute(Box::new(move || link(p, left - 1, done)))
            .unwrap();
    }
    watchdog("lifo_slot_chain_and_join", || {
        let pool = Arc::new(
            WorkStealingPool::builder()
                .workers(2)
                .lifo_slot(true)
                .build()
                .unwrap(),
        );
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        pool.execute(Box::new(move || link(p, 10_000, tx))).unwrap();
        rx.recv().unwrap();
        let p = pool.clone();
        let v = pool
            .spawn(move || p.spawn(|| 41).unwrap().join().unwrap() + 1)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(v, 42);
        graceful_completes(&pool, 10_001 + 2);
    });
}

/// `Shutdown::Now` cancels jobs waiting in a busy worker's local deque (and LIFO slot).
#[test]
fn shutdown_now_cancels_local_jobs() {
    for lifo in [false, true] {
        watchdog("shutdown_now_cancels_local_jobs", move || {
            let pool = Arc::new(
                WorkStealingPool::builder()
                    .workers(1)
                    .lifo_slot(lifo)
                    .build()
                    .unwrap(),
            );
            let (started_tx, started_rx) = mpsc::channel();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let p = pool.clone();
            let parent = pool
                .spawn(move || {
                    let children: Vec<_> = (0..10).map(|i| p.spawn(move || i).unwrap()).collect();
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    children
                })
                .unwrap();
            started_rx.recv().unwrap();
            let p = pool.clone();
            let stopper = thread::spawn(move || p.shutdown(Shutdown::Now));
            // Let the shutdown cancel what it can reach, then release the parent.
            wait_for("cancellation", || pool.metrics().cancelled >= 9);
            release_tx.send(()).unwrap();
            let report = stopper.join().unwrap();
            let children = parent.join().unwrap();
            for child in children {
                assert!(matches!(child.join(), Err(TaskError::Cancelled)));
            }
            assert_eq!(report.cancelled, 10);
            assert_eq!(report.completed, 1);
            assert!(report.adds_up());
        });
    }
}

/// Shutdown from inside a worker begins the shutdown and returns at once, counting the
/// caller as still running; the queued local jobs still run (graceful), and a later call from
/// outside waits for the end.
#[test]
fn shutdown_inside_worker_returns() {
    watchdog("shutdown_inside_worker_returns", || {
        let pool = pool(2);
        let (inner_report, ran) = on_worker(&pool, |p, r| {
            for _ in 0..100 {
                p.execute(counting(r)).unwrap();
            }
            p.shutdown(Shutdown::Graceful)
        });
        assert!(inner_report.still_running >= 1, "{inner_report:?}");
        graceful_completes(&pool, 101);
        assert_eq!(ran.load(Ordering::Relaxed), 100);
    });
}

/// A deadline that passes while a job is stuck returns without it, counts it as still
/// running, and cancels what was queued (in the injector and in local deques).
#[test]
fn deadline_with_stuck_job() {
    watchdog("deadline_with_stuck_job", || {
        let pool = pool(1);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        let p = pool.clone();
        pool.execute(Box::new(move || {
            for _ in 0..5 {
                p.execute(Box::new(|| {})).unwrap();
            }
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
        }))
        .unwrap();
        started_rx.recv().unwrap();
        for _ in 0..5 {
            pool.execute(Box::new(|| {})).unwrap();
        }
        let report = pool.shutdown(Shutdown::Deadline(Duration::from_millis(50)));
        assert_eq!(report.still_running, 1, "{report:?}");
        assert_eq!(report.cancelled, 10, "{report:?}");
        assert!(report.adds_up());
        release_tx.send(()).unwrap();
    });
}

/// A bounded pool counts jobs waiting anywhere; `execute` from inside a worker on a full
/// queue runs queued jobs instead of blocking, so a one-worker pool cannot deadlock itself.
#[test]
fn bounded_inside_worker_helps() {
    watchdog("bounded_inside_worker_helps", || {
        let pool = Arc::new(
            WorkStealingPool::builder()
                .workers(1)
                .queue_capacity(4)
                .build()
                .unwrap(),
        );
        let ((), ran) = on_worker(&pool, |p, r| {
            for _ in 0..100 {
                p.execute(counting(r)).unwrap();
                assert!(p.queued() <= 4);
            }
        });
        wait_for("all ran", || ran.load(Ordering::Relaxed) == 100);
        assert_eq!(pool.queued(), 0);
        pool.shutdown(Shutdown::Graceful);
    });
}

/// Dropping the pool from inside one of its own workers does not join that worker.
#[test]
fn drop_inside_worker() {
    watchdog("drop_inside_worker", || {
        let pool = WorkStealingPool::new(2).unwrap();
        let (tx, rx) = mpsc::channel::<WorkStealingPool>();
        let (done_tx, done_rx) = mpsc::channel();
        pool.execute(Box::new(move || {
            let pool = rx.recv().unwrap();
            drop(pool);
            done_tx.send(()).unwrap();
        }))
        .unwrap();
        tx.send(pool).unwrap();
        done_rx.recv().unwrap();
    });
}
