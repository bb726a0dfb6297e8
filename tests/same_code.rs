//! The same lines using `spawn`, `map`, `scope`, `join`, the slice loops, `broadcast`,
//! `wait_idle`, `cancel` and `shutdown_background` compile and run on every pool, on
//! `shoal::Pool` and through `Box<dyn Executor>`, in every feature set (`cargo xtask features`
//! runs this file under each of the seven): no pool shadows a contract method with a different
//! signature, and `shoal::Pool` has one API whatever the features.

use shoal::{CancelOutcome, DropBehavior, Executor, ExecutorExt, Shutdown, Strategy};

/// The lines under test, written once, expanded against each concrete pool type (a macro, not
/// a generic function, so that a pool's own inherent methods would be the ones called).
macro_rules! same_lines {
    ($pool:expr) => {{
        let pool = $pool;
        let data = vec![1u64, 2, 3, 4];
        let answer = pool.spawn(|| 6 * 7).expect("running");
        assert_eq!(answer.join().expect("ran"), 42);
        let squares: Vec<u64> = pool
            .map(data.clone(), |x| x * x)
            .map(Result::unwrap)
            .collect();
        assert_eq!(squares, [1, 4, 9, 16]);
        let total = pool.scope(|s| {
            let sum = s.spawn(|_| data.iter().sum::<u64>());
            let count = s.spawn(|_| data.len());
            (sum.join().expect("sum"), count.join().expect("count"))
        });
        assert_eq!(total, (10, 4));
        // Fork-join and slice loops: on every shoal pool a join from outside moves onto a
        // worker, and borrows from this stack.
        let (on_worker, len) = pool.join(shoal::core::worker::in_worker, || data.len());
        assert!(on_worker, "a join from outside runs on the pool");
        assert_eq!(len, 4);
        assert_eq!(pool.par_map(&data, |x| x + 1), [2, 3, 4, 5]);
        assert_eq!(pool.par_reduce(&data, || 0, |a, x| a + x, |a, b| a + b), 10);
        let seen = std::sync::atomic::AtomicU64::new(0);
        pool.par_for_each(&data, |x| {
            seen.fetch_add(*x, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(seen.into_inner(), 10);
        let indices: Vec<usize> = pool
            .broadcast(|worker| worker.index())
            .expect("running")
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(indices, [0, 1]);
        assert_eq!(pool.current_worker_index(), None, "not a worker");
        let id = pool.pool_id();
        let inside = pool.spawn(move || shoal::current_worker().map(|w| Some(w.pool()) == id));
        assert_eq!(inside.expect("running").join().expect("ran"), Some(true));
        let maybe = pool.spawn(|| 5).expect("running");
        match maybe.cancel() {
            CancelOutcome::Cancelled => assert!(maybe.join().unwrap_err().is_cancelled()),
            _ => assert_eq!(maybe.join().expect("ran"), 5),
        }
        pool.wait_idle().expect("outside the pool");
        pool.shutdown_background();
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{report:?}");
    }};
}

#[test]
fn the_same_lines_run_on_every_pool() {
    same_lines!(shoal::Pool::new(2).expect("pool"));
    #[cfg(feature = "queue")]
    same_lines!(shoal::SharedQueuePool::new(2).expect("pool"));
    #[cfg(feature = "steal")]
    same_lines!(shoal::WorkStealingPool::new(2).expect("pool"));
    #[cfg(feature = "scope")]
    same_lines!(shoal::ScopedPool::new(2).expect("pool"));
    for strategy in Strategy::enabled() {
        let pool: Box<dyn Executor> = strategy.build(2).expect("pool");
        same_lines!(pool);
    }
}

#[test]
fn every_builder_has_the_thread_hooks_and_the_drop_behavior() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let config = {
        let (started, stopped) = (started.clone(), stopped.clone());
        shoal::PoolConfig::new()
            .workers(2)
            .on_thread_start(move || {
                // ORDERING: counters read after the pools are joined.
                started.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                stopped.fetch_add(1, Ordering::SeqCst);
            })
            .on_drop(DropBehavior::CancelQueued)
    };
    drop(
        shoal::Pool::builder()
            .config(config.clone())
            .build()
            .expect("pool"),
    );
    for strategy in Strategy::enabled() {
        let pool = strategy
            .builder()
            .config(config.clone())
            .build()
            .expect("pool");
        drop(pool);
    }
    let pools = 1 + Strategy::enabled().len();
    assert_eq!(started.load(Ordering::SeqCst), 2 * pools);
    assert_eq!(
        stopped.load(Ordering::SeqCst),
        2 * pools,
        "a drop that waits joins every worker"
    );
}
