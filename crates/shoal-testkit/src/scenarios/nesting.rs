//! Calls from inside a worker: joins and maps that must help instead of deadlock, and
//! shutdown or drop begun by a job of the pool itself.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};

use shoal_core::{Executor, ExecutorExt, RejectReason, Shutdown};

use crate::tools::{Gate, Tally};
use crate::{Factory, PoolConfig};

use super::{build, check_report, counting_job, scenario, Counts, ACCEPT};

/// Spawns a job that spawns a child and joins it, `depth` levels down; returns the depth.
fn chain<P: Executor + 'static>(pool: &Arc<P>, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    let inner = pool.clone();
    let child = pool.spawn(move || chain(&inner, depth - 1)).expect(ACCEPT);
    child.join().expect("a link of the chain panicked") + 1
}

/// Fibonacci by spawning both halves and joining them: a tree of waits.
fn fib<P: Executor + 'static>(pool: &Arc<P>, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (left, right) = (pool.clone(), pool.clone());
    let a = pool.spawn(move || fib(&left, n - 1)).expect(ACCEPT);
    let b = pool.spawn(move || fib(&right, n - 2)).expect(ACCEPT);
    a.join().expect("no panic") + b.join().expect("no panic")
}

/// On a 1-worker pool, a job that spawns a child and joins it finishes: the only worker,
/// waiting in `join`, runs the child itself.
pub fn join_inside_worker<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("join_inside_worker", pool, move |pool| {
        let pool = Arc::new(pool);
        let inner = pool.clone();
        let outer = pool
            .spawn(move || {
                let child = inner.spawn(|| 21).expect(ACCEPT);
                child.join().expect("the child ran") * 2
            })
            .expect(ACCEPT);
        assert_eq!(outer.join().expect("no panic"), 42);
    });
}

/// Two chains of 50 nested spawn-and-join on a 2-worker pool, so every worker waits at once,
/// both finish, and every link is counted.
pub fn nested_join_chain<F: Factory>(f: &F) {
    const DEPTH: usize = 50;
    let pool = build(f, PoolConfig::workers(2));
    scenario("nested_join_chain", pool, move |pool| {
        let pool = Arc::new(pool);
        let roots: Vec<_> = (0..2)
            .map(|_| {
                let inner = pool.clone();
                pool.spawn(move || chain(&inner, DEPTH)).expect(ACCEPT)
            })
            .collect();
        for root in roots {
            assert_eq!(root.join().expect("no panic"), DEPTH);
        }
        let report = pool.shutdown(Shutdown::Graceful);
        let jobs = 2 * (DEPTH as u64 + 1);
        check_report("nested_join_chain", &report, Counts::completed(jobs));
    });
}

/// A tree of nested waits (Fibonacci of 10 by spawn-and-join, 177 jobs) on 2 workers
/// finishes with the right answer.
pub fn nested_join_tree<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(2));
    scenario("nested_join_tree", pool, move |pool| {
        let pool = Arc::new(pool);
        let inner = pool.clone();
        let root = pool.spawn(move || fib(&inner, 10)).expect(ACCEPT);
        assert_eq!(root.join().expect("no panic"), 55);
        let report = pool.shutdown(Shutdown::Graceful);
        check_report("nested_join_tree", &report, Counts::completed(177));
    });
}

/// `map` called from inside the only worker of a pool finishes: its waits run the mapped
/// jobs on the waiting worker.
pub fn map_inside_worker<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("map_inside_worker", pool, move |pool| {
        let pool = Arc::new(pool);
        let inner = pool.clone();
        let outer = pool
            .spawn(move || {
                inner
                    .map(0..20u64, |x| x * 2)
                    .map(|r| r.expect("no panic"))
                    .sum::<u64>()
            })
            .expect(ACCEPT);
        assert_eq!(outer.join().expect("no panic"), 380);
    });
}

/// Waits that cross pools finish: a job of pool A joins a job of pool B, which joins a job of
/// pool A while A's only worker is the one waiting (it runs that job itself).
pub fn cross_pool_nested_join<F: Factory>(f: &F) {
    let pools = (
        build(f, PoolConfig::workers(1)),
        build(f, PoolConfig::workers(1)),
    );
    scenario("cross_pool_nested_join", pools, move |(a, b)| {
        let (a, b) = (Arc::new(a), Arc::new(b));
        let (a_inner, b_inner) = (a.clone(), b.clone());
        let outer = a
            .spawn(move || {
                let a_again = a_inner.clone();
                let middle = b_inner
                    .spawn(move || {
                        let innermost = a_again.spawn(|| 7).expect(ACCEPT);
                        innermost.join().expect("the innermost job ran") + 1
                    })
                    .expect(ACCEPT);
                middle.join().expect("the middle job ran") + 1
            })
            .expect(ACCEPT);
        assert_eq!(outer.join().expect("no panic"), 9);
        check_report(
            "pool A",
            &a.shutdown(Shutdown::Graceful),
            Counts::completed(2),
        );
        check_report(
            "pool B",
            &b.shutdown(Shutdown::Graceful),
            Counts::completed(1),
        );
    });
}

/// `shutdown(Graceful)` from inside the only worker returns (no deadlock) with a report that
/// adds up and counts its own job in `still_running`; intake is closed, the queued jobs still
/// run, and a later shutdown from outside returns the final report.
pub fn shutdown_inside_worker<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("shutdown_inside_worker", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let (report_tx, report_rx) = mpsc::channel();
        {
            let (inner, waiter) = (pool.clone(), gate.waiter());
            pool.execute(Box::new(move || {
                waiter.wait();
                let _ = report_tx.send(inner.shutdown(Shutdown::Graceful));
            }))
            .expect(ACCEPT);
        }
        let handles: Vec<_> = (0..10u32)
            .map(|i| pool.spawn(move || i).expect(ACCEPT))
            .collect();
        gate.open();
        let inner = report_rx
            .recv()
            .expect("the job calling shutdown from inside a worker ended without a report");
        assert!(inner.adds_up(), "the inside report must add up: {inner:?}");
        assert!(
            inner.still_running >= 1,
            "the inside caller's own job is still running: {inner:?}"
        );
        assert_eq!(inner.submitted, 11, "{inner:?}");
        let refused = pool
            .execute(Box::new(|| {}))
            .expect_err("intake is closed once shutdown returned");
        assert_eq!(refused.reason(), RejectReason::ShutDown);
        let last = pool.shutdown(Shutdown::Graceful);
        check_report(
            "the outside shutdown after an inside one",
            &last,
            Counts::completed(11),
        );
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.join().expect("queued jobs still run"), i as u32);
        }
    });
}

/// `shutdown(Now)` from inside the only worker returns (no deadlock), the jobs queued
/// behind it are cancelled, and a later shutdown from outside reports them.
pub fn shutdown_now_inside_worker<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("shutdown_now_inside_worker", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let ran = Tally::new();
        let (report_tx, report_rx) = mpsc::channel();
        {
            let (inner, waiter) = (pool.clone(), gate.waiter());
            pool.execute(Box::new(move || {
                waiter.wait();
                let _ = report_tx.send(inner.shutdown(Shutdown::Now));
            }))
            .expect(ACCEPT);
        }
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let ran = ran.clone();
                pool.spawn(move || ran.add()).expect(ACCEPT)
            })
            .collect();
        gate.open();
        let inner = report_rx
            .recv()
            .expect("the job calling shutdown from inside a worker ended without a report");
        assert!(inner.adds_up(), "the inside report must add up: {inner:?}");
        assert!(inner.still_running >= 1, "{inner:?}");
        let last = pool.shutdown(Shutdown::Graceful);
        let want = Counts {
            submitted: 11,
            completed: 1,
            cancelled: 10,
            ..Counts::default()
        };
        check_report("the outside shutdown after an inside Now", &last, want);
        assert_eq!(ran.get(), 0, "a cancelled job must never run");
        for handle in handles {
            assert!(handle.join().expect_err("cancelled").is_cancelled());
        }
    });
}

/// Dropping the last reference to a pool inside one of its own jobs (a graceful shutdown
/// begun from inside a worker) neither panics nor deadlocks, and the jobs queued behind it
/// still run.
pub fn drop_inside_worker<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1));
    scenario("drop_inside_worker", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let ran = Tally::new();
        let (done_tx, done_rx) = mpsc::channel();
        {
            let (last_ref, waiter) = (pool.clone(), gate.waiter());
            pool.execute(Box::new(move || {
                waiter.wait();
                let dropped = catch_unwind(AssertUnwindSafe(move || drop(last_ref)));
                let _ = done_tx.send(dropped.is_ok());
            }))
            .expect(ACCEPT);
        }
        for _ in 0..10 {
            pool.execute(counting_job(&ran)).expect(ACCEPT);
        }
        drop(pool);
        gate.open();
        let dropped_cleanly = done_rx
            .recv()
            .expect("the job dropping the pool ended without reporting");
        assert!(
            dropped_cleanly,
            "dropping the last reference inside a worker panicked"
        );
        ran.wait_for(10, "the jobs queued behind the dropping job to run");
    });
}
