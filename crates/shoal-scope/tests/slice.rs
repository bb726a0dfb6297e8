//! Parallel slice loops: results equal the sequential ones, for every size and worker count.
#![cfg(not(shoal_loom))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use common::watchdog;
use shoal_scope::ScopedPool;

const SIZES: [usize; 7] = [0, 1, 2, 3, 17, 1000, 100_000];

/// Calls `check` with pools of 1, 2 and 4 workers and the items `0..n` for every size `n`
/// in [`SIZES`].
fn every_pool_and_size(check: impl Fn(&ScopedPool, &[u64])) {
    for workers in [1, 2, 4] {
        let pool = ScopedPool::new(workers).unwrap();
        for n in SIZES {
            let items: Vec<u64> = (0..n as u64).collect();
            check(&pool, &items);
        }
    }
}

#[test]
fn par_for_each_visits_every_item_once() {
    watchdog("par_for_each_visits_every_item_once", || {
        every_pool_and_size(|pool, items| {
            let visits: Vec<AtomicUsize> = items.iter().map(|_| AtomicUsize::new(0)).collect();
            pool.par_for_each(items, |x| {
                visits[*x as usize].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                visits.iter().all(|v| v.load(Ordering::Relaxed) == 1),
                "n={}",
                items.len()
            );
        });
    });
}

#[test]
fn par_map_keeps_input_order() {
    watchdog("par_map_keeps_input_order", || {
        every_pool_and_size(|pool, items| {
            let out = pool.par_map(items, |x| format!("{x}"));
            let expected: Vec<String> = items.iter().map(|x| format!("{x}")).collect();
            assert_eq!(out, expected, "n={}", items.len());
        });
    });
}

#[test]
fn par_reduce_equals_sequential_fold() {
    watchdog("par_reduce_equals_sequential_fold", || {
        every_pool_and_size(|pool, items| {
            let sum = pool.par_reduce(items, || 0u64, |a, x| a + x, |a, b| a + b);
            assert_eq!(sum, items.iter().sum::<u64>());
            // Associative but not commutative: concatenation keeps the order.
            let joined = pool.par_reduce(
                items,
                String::new,
                |mut acc, x| {
                    acc.push_str(&x.to_string());
                    acc
                },
                |a, b| a + &b,
            );
            let expected: String = items.iter().map(|x| x.to_string()).collect();
            assert_eq!(joined, expected, "n={}", items.len());
        });
    });
}

#[test]
fn coarse_loop_is_split_across_workers() {
    watchdog("coarse_loop_is_split_across_workers", || {
        // Each item blocks until both workers hold one, so the loop can only finish if it was
        // split and handed to the idle worker (no timing involved).
        let pool = ScopedPool::new(2).unwrap();
        let arrived = AtomicU64::new(0);
        pool.par_for_each(&[0u8, 1], |_| {
            arrived.fetch_add(1, Ordering::SeqCst);
            while arrived.load(Ordering::SeqCst) < 2 {
                std::thread::yield_now();
            }
        });
    });
}

#[test]
fn panic_in_par_map_is_resumed() {
    watchdog("panic_in_par_map_is_resumed", || {
        let pool = ScopedPool::new(2).unwrap();
        let items: Vec<u32> = (0..1000).collect();
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.par_map(&items, |x| {
                if *x == 777 {
                    panic!("item 777");
                }
                x + 1
            })
        }));
        assert!(r.is_err());
        assert_eq!(pool.par_map(&[1, 2], |x| x * 2), [2, 4]);
    });
}
