//! The same lines using `spawn`, `map`, `scope`, `join` and the slice loops compile and run on every pool, on
//! `shoal::Pool` and through `Box<dyn Executor>`, in every feature set (`cargo xtask features`
//! runs this file under each of the seven): no pool shadows a contract method with a different
//! signature, and `shoal::Pool` has one API whatever the features.

use shoal::{Executor, ExecutorExt, Shutdown, Strategy};

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
