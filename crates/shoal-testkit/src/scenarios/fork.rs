//! `ExecutorExt::join` on every pool: from outside, from a worker, from a worker of another
//! pool, nested deep, over borrowed data, with panics in either half, and around shutdown.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use shoal_core::{panic_message, Executor, ExecutorExt, Shutdown};

use crate::{Factory, PoolConfig};

use super::steps::{build, check_report, scenario, shared_scenario, ACCEPT};
use super::Counts;

/// Fibonacci by `ExecutorExt::join` at every level.
fn fib<E: Executor + ?Sized>(pool: &E, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = pool.join(|| fib(pool, n - 1), || fib(pool, n - 2));
    a + b
}

/// The sum of `v` by halving it with `join` down to slices of 64.
fn sum<E: Executor + ?Sized>(pool: &E, v: &[u64]) -> u64 {
    if v.len() <= 64 {
        return v.iter().sum();
    }
    let (left, right) = v.split_at(v.len() / 2);
    let (l, r) = pool.join(|| sum(pool, left), || sum(pool, right));
    l + r
}

/// A chain of joins `depth` deep, each nesting in its first half; returns the depth.
fn chain<E: Executor + ?Sized>(pool: &E, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    let (below, ()) = pool.join(|| chain(pool, depth - 1), || ());
    below + 1
}

/// The message of a panic caught from `f`.
fn panic_of(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the join must panic");
    panic_message(payload.as_ref())
        .unwrap_or("<non-string panic payload>")
        .to_owned()
}

/// `join` from a thread outside the pool returns both values; a recursive join computes the
/// right answer. (Where the halves run is the executor's choice: shoal's pools move the join
/// onto a worker, the trait's default runs `a` on the caller.)
pub fn fork_join_from_outside<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("fork_join_from_outside", pool, |pool| {
        assert_eq!(pool.join(|| "a", || 3 + 4), ("a", 7));
        assert_eq!(fib(&pool, 20), 6765);
        // Whatever a pool counts as jobs for the joins (a join moved in from outside, a half
        // offered to an idle worker), all of them completed.
        let report = pool.shutdown(Shutdown::Graceful);
        check_report("after joins", &report, Counts::completed(report.submitted));
    });
}

/// Joins borrow from the caller's stack, mutably, and see every element once.
pub fn fork_join_borrows_the_stack<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("fork_join_borrows_the_stack", pool, |pool| {
        let v: Vec<u64> = (0..100_000).collect();
        assert_eq!(sum(&pool, &v), 4_999_950_000);
        let mut halves = vec![0u64; 1000];
        let (left, right) = halves.split_at_mut(500);
        pool.join(
            || left.iter_mut().for_each(|x| *x += 1),
            || right.iter_mut().for_each(|x| *x += 2),
        );
        assert_eq!(halves.iter().sum::<u64>(), 500 + 1000);
    });
}

/// A job of the pool joins, recursively; the pool's accounting still adds up.
pub fn fork_join_inside_worker<F: Factory>(f: &F) {
    shared_scenario(
        f,
        "fork_join_inside_worker",
        PoolConfig::new().workers(2),
        |pool| {
            let inner = pool.clone();
            let handle = pool.spawn(move || fib(&*inner, 22)).expect(ACCEPT);
            assert_eq!(handle.join().expect("no panic"), 17711);
            let report = pool.shutdown(Shutdown::Graceful);
            assert!(report.adds_up(), "report does not add up: {report:?}");
            assert_eq!(report.panicked, 0);
            assert_eq!(report.cancelled, 0);
        },
    );
}

/// A join called on a worker of another pool runs on this pool and returns; neither pool
/// deadlocks when each one's jobs join on the other.
pub fn fork_join_from_another_pool<F: Factory>(f: &F) {
    let a = Arc::new(build(f, PoolConfig::new().workers(2)));
    let b = Arc::new(build(f, PoolConfig::new().workers(2)));
    scenario("fork_join_from_another_pool", (a, b), |(a, b)| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (from, to) = if i % 2 == 0 {
                    (a.clone(), b.clone())
                } else {
                    (b.clone(), a.clone())
                };
                let to = to.clone();
                from.spawn(move || fib(&*to, 15)).expect(ACCEPT)
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().expect("no panic"), 610);
        }
        for pool in [a, b] {
            assert!(pool.shutdown(Shutdown::Graceful).adds_up());
        }
    });
}

/// A chain of 10,000 nested joins completes (on a worker with a stack big enough for it).
pub fn fork_join_nested_10000_deep<F: Factory>(f: &F) {
    let config = PoolConfig::new().workers(2).stack_size(256 << 20);
    let pool = build(f, config);
    scenario("fork_join_nested_10000_deep", pool, |pool| {
        assert_eq!(chain(&pool, 10_000), 10_000);
    });
}

/// Either half's panic reaches the caller after both halves ended; `a`'s wins when both
/// panic; the pool keeps working and counts no job panic for it.
pub fn fork_join_panics_reach_the_caller<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("fork_join_panics_reach_the_caller", pool, |pool| {
        let b_ended = AtomicBool::new(false);
        let message = panic_of(|| {
            pool.join(
                || panic!("conformance: a"),
                || b_ended.store(true, Ordering::SeqCst),
            );
        });
        assert_eq!(message, "conformance: a");
        let a_ended = AtomicBool::new(false);
        let message = panic_of(|| {
            pool.join(
                || {
                    thread::sleep(Duration::from_millis(5));
                    a_ended.store(true, Ordering::SeqCst)
                },
                || panic!("conformance: b"),
            );
        });
        assert_eq!(message, "conformance: b");
        assert!(a_ended.load(Ordering::SeqCst), "b's panic waited for a");
        let message = panic_of(|| {
            pool.join(|| panic!("conformance: a"), || panic!("conformance: b"));
        });
        assert_eq!(message, "conformance: a");
        // Deep in a recursion, on whichever worker: the panic comes out at the top.
        let message = panic_of(|| {
            fn boom<E: Executor + ?Sized>(pool: &E, n: u64) -> u64 {
                if n == 3 {
                    panic!("conformance: leaf");
                }
                if n < 2 {
                    return n;
                }
                let (a, b) = pool.join(|| boom(pool, n - 1), || boom(pool, n - 2));
                a + b
            }
            boom(&pool, 18);
        });
        assert_eq!(message, "conformance: leaf");
        assert_eq!(fib(&pool, 15), 610, "the pool works after the panics");
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "report does not add up: {report:?}");
        assert_eq!(
            report.panicked, 0,
            "a join's panic is the caller's, not a job's"
        );
    });
}

/// One join whose first half waits (up to 200 ms) for the second to run: `true` if it did,
/// so the second half ran on another thread while the first one waited.
fn b_ran_while_a_waited<E: Executor + ?Sized>(pool: &E) -> bool {
    let b_ran = AtomicBool::new(false);
    let (seen, ()) = pool.join(
        || {
            let until = Instant::now() + Duration::from_millis(200);
            while Instant::now() < until {
                if b_ran.load(Ordering::SeqCst) {
                    return true;
                }
                thread::yield_now();
            }
            false
        },
        || b_ran.store(true, Ordering::SeqCst),
    );
    seen
}

/// Over a few tries, the second half runs on another thread while the first one waits for
/// it: a join is parallel when a worker is idle.
pub fn fork_join_runs_halves_in_parallel<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("fork_join_runs_halves_in_parallel", pool, |pool| {
        let parallel = (0..50).any(|_| {
            // Let the other worker go idle first.
            thread::sleep(Duration::from_millis(2));
            b_ran_while_a_waited(&pool)
        });
        assert!(parallel, "in 50 joins, b never ran while a waited for it");
    });
}

/// A join right after `resize` grew the pool, while the new worker is still starting, is
/// parallel too: a starting worker counts as idle. On five pools of one worker, a job grows
/// its pool to two and joins at once; the second half ran while the first one waited at least
/// once. (The same holds for the first join on a pool built a moment ago.)
pub fn fork_join_parallel_while_a_worker_starts<F: Factory>(f: &F) {
    let pools: Vec<Arc<F::Pool>> = (0..5)
        .map(|_| Arc::new(build(f, PoolConfig::new().workers(1))))
        .collect();
    scenario("fork_join_parallel_while_a_worker_starts", pools, |pools| {
        let parallel = pools.iter().any(|pool| {
            let on_worker = pool.clone();
            let job = pool.spawn(move || {
                on_worker.resize(2).expect("grow to two workers");
                b_ran_while_a_waited(&*on_worker)
            });
            job.expect(ACCEPT).join().expect("the job does not panic")
        });
        assert!(
            parallel,
            "on five pools grown to two workers, the join right after never ran b while a \
             waited for it"
        );
    });
}

/// After shutdown a join still runs both halves (on the calling thread); joins racing a
/// `Shutdown::Now` lose no half, and the report adds up.
pub fn fork_join_around_shutdown<F: Factory>(f: &F) {
    shared_scenario(
        f,
        "fork_join_around_shutdown",
        PoolConfig::new().workers(2),
        |pool| {
            let done = Arc::new(AtomicUsize::new(0));
            let joiners: Vec<_> = (0..3)
                .map(|_| {
                    let (pool, done) = (pool.clone(), done.clone());
                    thread::spawn(move || {
                        for _ in 0..20 {
                            assert_eq!(fib(&*pool, 16), 987, "a join lost a half");
                            done.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            while done.load(Ordering::SeqCst) < 5 {
                thread::yield_now();
            }
            let report = pool.shutdown(Shutdown::Now);
            assert!(report.adds_up(), "report does not add up: {report:?}");
            for joiner in joiners {
                joiner
                    .join()
                    .expect("joins around a shutdown must not panic");
            }
            assert_eq!(
                pool.join(|| 1, || 2),
                (1, 2),
                "a join after shutdown runs inline"
            );
            assert_eq!(fib(&*pool, 10), 55);
        },
    );
}

/// The slice loops of the contract see every item once, keep `par_map`'s input order, fold
/// like the sequential loop, work on empty slices and from inside a worker, and resume a
/// panic of `f` on the caller.
pub fn fork_slices_through_the_contract<F: Factory>(f: &F) {
    shared_scenario(
        f,
        "fork_slices_through_the_contract",
        PoolConfig::new().workers(3),
        |pool| {
            let v: Vec<u64> = (0..50_000).collect();
            let seen: Vec<AtomicUsize> = (0..v.len()).map(|_| AtomicUsize::new(0)).collect();
            pool.par_for_each(&v, |&x| {
                seen[x as usize].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                seen.iter().all(|s| s.load(Ordering::Relaxed) == 1),
                "par_for_each saw every item exactly once"
            );
            let squares = pool.par_map(&v, |x| x * x);
            assert!(squares.iter().zip(&v).all(|(s, x)| *s == x * x), "in order");
            let sum = pool.par_reduce(&v, || 0u64, |acc, x| acc + x, |a, b| a + b);
            assert_eq!(sum, v.iter().sum::<u64>());
            let empty: [u64; 0] = [];
            assert!(pool.par_map(&empty, |x| *x).is_empty());
            assert_eq!(pool.par_reduce(&empty, || 7, |a, _| a, |a, _| a), 7);
            let inner = pool.clone();
            let inside = pool
                .spawn(move || {
                    let v: Vec<u64> = (1..=1000).collect();
                    inner.par_map(&v, |x| x + 1).iter().sum::<u64>()
                })
                .expect(ACCEPT);
            assert_eq!(inside.join().expect("no panic"), 500_500 + 1000);
            let message = panic_of(|| {
                pool.par_map(&v, |&x| {
                    if x == 31_337 {
                        panic!("conformance: item");
                    }
                    x
                });
            });
            assert_eq!(message, "conformance: item");
            let report = pool.shutdown(Shutdown::Graceful);
            assert!(report.adds_up(), "report does not add up: {report:?}");
        },
    );
}

/// A loop of two items, each of which waits (up to 200 ms) until both are running: over a
/// few tries, both meet, so the loop was split and one half went to an idle worker. (Whether
/// a worker is idle at the moment of a split is up to the scheduler; a loop whose items wait
/// for each other without a limit can deadlock on any fork-join pool, as on rayon.)
pub fn fork_slice_splits_for_idle_workers<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("fork_slice_splits_for_idle_workers", pool, |pool| {
        let met = (0..50).any(|_| {
            // Let both workers go idle first.
            thread::sleep(Duration::from_millis(2));
            let arrived = AtomicUsize::new(0);
            let both = AtomicUsize::new(0);
            pool.par_for_each(&[0u8, 1], |_| {
                arrived.fetch_add(1, Ordering::SeqCst);
                let until = Instant::now() + Duration::from_millis(200);
                while Instant::now() < until {
                    if arrived.load(Ordering::SeqCst) == 2 {
                        both.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    thread::yield_now();
                }
            });
            both.load(Ordering::SeqCst) == 2
        });
        assert!(
            met,
            "in 50 loops of 2 items, the items never ran at the same time"
        );
    });
}
