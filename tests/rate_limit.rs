//! `RateLimited` over the real pools of this build.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use shoal::{Executor, ExecutorExt, ManualClock, RateLimit, RateLimited, Shutdown, Strategy};

/// Runs `body` on its own thread; fails with a message instead of hanging.
fn watchdog(name: &'static str, body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        body();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: hung for 60 s"),
    }
}

/// Runs `check` under the watchdog, once per strategy of this build, each time with a fresh
/// pool of `workers` workers.
fn on_every_strategy(
    name: &'static str,
    workers: usize,
    check: impl Fn(Strategy, Arc<dyn Executor>) + Send + 'static,
) {
    watchdog(name, move || {
        for &strategy in Strategy::enabled() {
            let pool: Arc<dyn Executor> = Arc::from(strategy.build(workers).unwrap());
            check(strategy, pool);
        }
    });
}

/// `pool` behind `limit` on a clock that never moves: only the burst is ever released.
fn on_still_clock(
    pool: Arc<dyn Executor>,
    limit: RateLimit,
) -> Arc<RateLimited<Arc<dyn Executor>>> {
    let clock = Arc::new(ManualClock::new());
    Arc::new(RateLimited::with_clock(pool, limit, clock).unwrap())
}

#[test]
fn map_through_a_limiter_on_every_strategy() {
    on_every_strategy(
        "map_through_a_limiter_on_every_strategy",
        2,
        |strategy, pool| {
            let limit = RateLimit::per_second(100_000).burst(64).max_in_flight(3);
            let limited = RateLimited::new(pool, limit).unwrap();
            let running = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let (r, p) = (running.clone(), peak.clone());
            let out: Vec<u32> = limited
                .map(0..200u32, move |x| {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    std::thread::yield_now();
                    r.fetch_sub(1, Ordering::SeqCst);
                    x + 1
                })
                .map(Result::unwrap)
                .collect();
            assert_eq!(out, (1..=200).collect::<Vec<_>>(), "{strategy}");
            assert!(peak.load(Ordering::SeqCst) <= 3, "{strategy}: cap exceeded");
            let report = limited.shutdown(Shutdown::Graceful);
            assert!(report.adds_up(), "{strategy}: {report:?}");
            assert_eq!(report.completed, 200, "{strategy}");
        },
    );
}

#[test]
fn a_worker_waiting_for_a_slot_helps_instead_of_deadlocking() {
    // One worker. A job on it submits to a limiter whose only slot is held by a job queued
    // behind it in the same pool: waiting plainly would deadlock; the waiting worker runs the
    // queued job, which frees the slot.
    on_every_strategy("a_worker_waiting_for_a_slot_helps", 1, |strategy, pool| {
        let limit = RateLimit::per_second(1).burst(10).max_in_flight(1);
        let limited = on_still_clock(pool.clone(), limit);
        let ran = Arc::new(AtomicUsize::new(0));
        let (l, r) = (limited.clone(), ran.clone());
        let outer = pool
            .spawn(move || {
                let r1 = r.clone();
                // Takes the only slot; queued behind this job on the one worker.
                l.execute(Box::new(move || {
                    r1.fetch_add(1, Ordering::SeqCst);
                }))
                .unwrap();
                let r2 = r.clone();
                // Must wait for that slot.
                l.execute(Box::new(move || {
                    r2.fetch_add(1, Ordering::SeqCst);
                }))
                .unwrap();
            })
            .unwrap();
        outer.join().unwrap();
        limited.shutdown(Shutdown::Graceful);
        assert_eq!(ran.load(Ordering::SeqCst), 2, "{strategy}");
    });
}

#[test]
fn shutdown_report_adds_up_with_inline_jobs() {
    on_every_strategy(
        "shutdown_report_adds_up_with_inline_jobs",
        2,
        |strategy, pool| {
            let limit = RateLimit::per_second(1).burst(100).max_in_flight(1);
            let limited = on_still_clock(pool, limit);
            let l = limited.clone();
            // The parent holds the only slot; its children run inline, inside that slot.
            let parent = limited
                .spawn(move || {
                    let kids: Vec<_> = (0..5).map(|i| l.spawn(move || i * 10).unwrap()).collect();
                    kids.into_iter().map(|k| k.join().unwrap()).sum::<i32>()
                })
                .unwrap();
            assert_eq!(parent.join().unwrap(), 100, "{strategy}");
            let report = limited.shutdown(Shutdown::Graceful);
            assert_eq!(report.submitted, 6, "{strategy}: {report:?}");
            assert_eq!(report.completed, 6, "{strategy}: {report:?}");
            assert!(report.adds_up());
        },
    );
}

/// The limiter passes the pool's own operations through: its id, broadcasts (not paced: they
/// are no jobs), `wait_idle` (for the jobs it released), and `shutdown_background`, which
/// also refuses new submissions at the limiter at once.
#[test]
fn a_limiter_forwards_the_pool_operations() {
    on_every_strategy(
        "a_limiter_forwards_the_pool_operations",
        2,
        |strategy, pool| {
            let id = pool.pool_id();
            assert!(id.is_some(), "{strategy}");
            let limited = on_still_clock(pool, RateLimit::per_second(1).burst(4));
            assert_eq!(limited.pool_id(), id, "{strategy}");
            let indices: Vec<usize> = limited
                .broadcast(|w| w.index())
                .expect("running")
                .into_iter()
                .map(Result::unwrap)
                .collect();
            assert_eq!(indices, [0, 1], "{strategy}: a broadcast takes no token");
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..4 {
                let ran = ran.clone();
                limited
                    .try_execute(Box::new(move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    }))
                    .expect("the burst");
            }
            limited.wait_idle().expect("outside the pool");
            assert_eq!(ran.load(Ordering::SeqCst), 4, "{strategy}");
            limited.shutdown_background();
            let refused = limited.execute(Box::new(|| ())).expect_err("closed");
            assert!(refused.is_shutdown(), "{strategy}: {refused}");
            assert!(limited.shutdown(Shutdown::Graceful).adds_up(), "{strategy}");
        },
    );
}
