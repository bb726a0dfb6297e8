//! `join` and `install`: results, recursion, panics, calls from outside and across pools.
#![cfg(not(shoal_loom))]

mod common;

use std::panic::{catch_unwind, panic_any, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use shoal_scope::ScopedPool;

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = shoal_scope::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn fib_seq(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_seq(n - 1) + fib_seq(n - 2)
    }
}

#[test]
fn smoke() {
    watchdog("smoke", || {
        let pool = ScopedPool::new(2).unwrap();
        let (a, b) = pool.join(|| 1 + 1, || "two");
        assert_eq!((a, b), (2, "two"));
    });
}

#[test]
fn deep_recursion_matches_sequential() {
    watchdog("deep_recursion_matches_sequential", || {
        for workers in [1, 2, 4] {
            let pool = ScopedPool::new(workers).unwrap();
            assert_eq!(pool.install(|| fib(24)), fib_seq(24), "{workers} workers");
        }
    });
}

#[test]
fn join_from_outside_uses_the_pool() {
    watchdog("join_from_outside_uses_the_pool", || {
        let pool = ScopedPool::builder()
            .workers(2)
            .thread_name("outside-join")
            .build()
            .unwrap();
        let (a, b) = pool.join(
            || std::thread::current().name().map(str::to_owned),
            || fib(15),
        );
        assert!(a.unwrap().starts_with("outside-join"));
        assert_eq!(b, 610);
    });
}

#[test]
fn free_join_outside_uses_default_pool() {
    watchdog("free_join_outside_uses_default_pool", || {
        assert_eq!(fib(18), fib_seq(18));
    });
}

#[test]
fn join_borrows_from_the_stack() {
    watchdog("join_borrows_from_the_stack", || {
        let pool = ScopedPool::new(2).unwrap();
        let mut v: Vec<u32> = (0..1000).collect();
        let (left, right) = v.split_at_mut(500);
        pool.join(
            || left.iter_mut().for_each(|x| *x *= 2),
            || right.iter_mut().for_each(|x| *x += 1),
        );
        assert_eq!(v[499], 998);
        assert_eq!(v[500], 501);
    });
}

/// The half of a join that panics.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Half {
    A,
    B,
}

/// Runs 50 joins on a 2-worker pool in which the `panicking` half computes `fib(its_work)`
/// and panics, while the other half computes `fib(other_work)` and counts its runs: each join
/// must resume the panicking half's panic (its `&str` payload), and only once the other half,
/// if it ran, has finished. Returns the pool and how often the other half ran.
fn panicking_joins(panicking: Half, its_work: u64, other_work: u64) -> (ScopedPool, usize) {
    let pool = ScopedPool::new(2).unwrap();
    let (running, ran) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let other = || {
        running.fetch_add(1, Ordering::SeqCst);
        fib(other_work);
        running.fetch_sub(1, Ordering::SeqCst);
        ran.fetch_add(1, Ordering::SeqCst);
    };
    let message = match panicking {
        Half::A => "a failed",
        Half::B => "b failed",
    };
    let fails = || {
        fib(its_work);
        panic_any(message)
    };
    for _ in 0..50 {
        let r = catch_unwind(AssertUnwindSafe(|| match panicking {
            Half::A => pool.join(fails, other),
            Half::B => pool.join(other, fails),
        }));
        let payload = r.expect_err("a half panicked, so the join panics");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&message));
        // If the other half ran, it finished before join unwound.
        assert_eq!(running.load(Ordering::SeqCst), 0);
    }
    (pool, ran.into_inner())
}

#[test]
fn panic_in_b_is_resumed_after_a() {
    watchdog("panic_in_b_is_resumed_after_a", || {
        let (pool, a_done) = panicking_joins(Half::B, 0, 12);
        assert_eq!(a_done, 50);
        // The pool still works.
        assert_eq!(pool.install(|| fib(16)), 987);
    });
}

#[test]
fn panic_in_a_waits_for_a_taken_b() {
    watchdog("panic_in_a_waits_for_a_taken_b", || {
        panicking_joins(Half::A, 14, 14);
    });
}

#[test]
fn install_returns_value_and_resumes_panic() {
    watchdog("install_returns_value_and_resumes_panic", || {
        let pool = ScopedPool::new(2).unwrap();
        assert_eq!(pool.install(|| 7), 7);
        let r = catch_unwind(AssertUnwindSafe(|| pool.install(|| panic!("inside"))));
        assert!(r.is_err());
        assert_eq!(pool.install(|| fib(10)), 55);
    });
}

#[test]
fn nested_pools_do_not_deadlock() {
    watchdog("nested_pools_do_not_deadlock", || {
        let outer = ScopedPool::new(2).unwrap();
        let inner = ScopedPool::new(2).unwrap();
        let total: u64 = outer.install(|| {
            let (a, b) =
                shoal_scope::join(|| inner.install(|| fib(16)), || inner.install(|| fib(15)));
            a + b
        });
        assert_eq!(total, 987 + 610);
    });
}

#[test]
fn join_after_shutdown_runs_on_caller() {
    watchdog("join_after_shutdown_runs_on_caller", || {
        use shoal_core::{Executor, Shutdown};
        let pool = ScopedPool::new(2).unwrap();
        pool.shutdown(Shutdown::Graceful);
        assert_eq!(pool.install(|| fib(15)), 610);
        let hits = AtomicUsize::new(0);
        pool.fork_scope(|s| {
            for _ in 0..10 {
                s.spawn(|_| {
                    hits.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(hits.load(Ordering::SeqCst), 10);
    });
}
