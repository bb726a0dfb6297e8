//! Long stress runs (ignored by default; `cargo xtask stress` runs them, STRESS_SCALE=N
//! multiplies the sizes). They mix joins, scopes, slice loops, external jobs, resizes and
//! shutdowns on more workers than cores, and check every result.
#![cfg(not(shoal_loom))]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::watchdog;
use shoal_core::{Executor, ExecutorExt, Shutdown};
use shoal_scope::ScopedPool;

fn scale() -> u64 {
    std::env::var("STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = shoal_scope::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

#[test]
#[ignore]
fn stress_mixed_workloads() {
    watchdog("stress_mixed_workloads", || {
        for round in 0..20 * scale() {
            let workers = 1 + (round % 4) as usize;
            let pool = Arc::new(ScopedPool::new(workers).unwrap());
            let external = Arc::new(AtomicU64::new(0));
            for _ in 0..50 {
                let (pool2, external) = (pool.clone(), external.clone());
                pool.execute(Box::new(move || {
                    let v = pool2.install(|| fib(12));
                    external.fetch_add(v, Ordering::Relaxed);
                }))
                .unwrap();
            }
            let outside: Vec<_> = (0..2)
                .map(|_| {
                    let pool = pool.clone();
                    std::thread::spawn(move || {
                        let count = AtomicU64::new(0);
                        pool.fork_scope(|s| {
                            for _ in 0..20 {
                                s.spawn(|s| {
                                    s.spawn(|_| {
                                        count.fetch_add(fib(10), Ordering::Relaxed);
                                    });
                                });
                            }
                        });
                        assert_eq!(count.into_inner(), 20 * 55);
                        let items: Vec<u64> = (0..5000).collect();
                        let sum = pool.par_reduce(&items, || 0, |a, x| a + x, |a, b| a + b);
                        assert_eq!(sum, 5000 * 4999 / 2);
                        let sum: u64 = ExecutorExt::scope(&*pool, |s| {
                            let handles: Vec<_> =
                                (0..4).map(|i| s.spawn(move |_| fib(10 + i))).collect();
                            handles.into_iter().map(|h| h.join().unwrap()).sum()
                        });
                        assert_eq!(sum, 55 + 89 + 144 + 233);
                    })
                })
                .collect();
            pool.resize(workers % 3 + 1).unwrap();
            assert_eq!(pool.install(|| fib(18)), 2584);
            for t in outside {
                t.join().unwrap();
            }
            let report = pool.shutdown(Shutdown::Graceful);
            assert_eq!(external.load(Ordering::Relaxed), 50 * 144);
            assert!(report.adds_up());
        }
    });
}
