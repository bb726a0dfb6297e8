//! Calls from inside a worker: joins and maps that must help instead of deadlock, and
//! shutdown or drop begun by a job of the pool itself.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};

use shoal_core::{Executor, ExecutorExt, RejectReason, Shutdown, ShutdownReport};

use crate::tools::{Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    build, check_report, execute_counting, graceful_completes, join_cancelled, join_numbered,
    on_worker, scenario, shared_scenario, spawn_counted, spawn_numbered, ACCEPT,
};
use super::Counts;

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

/// Queues a job that waits at `gate`, then runs `f` on the worker and sends back what it
/// returned.
fn after_gate_inside<E, T>(
    pool: &E,
    gate: &Gate,
    f: impl FnOnce() -> T + Send + 'static,
) -> mpsc::Receiver<T>
where
    E: Executor + ?Sized,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let waiter = gate.waiter();
    pool.execute(Box::new(move || {
        waiter.wait();
        let _ = tx.send(f());
    }))
    .expect(ACCEPT);
    rx
}

/// Queues a job that waits at `gate`, then shuts its own pool down in `mode` from inside the
/// worker.
fn shutdown_inside<E: Executor + 'static>(
    pool: &Arc<E>,
    gate: &Gate,
    mode: Shutdown,
) -> mpsc::Receiver<ShutdownReport> {
    let inner = pool.clone();
    after_gate_inside(&**pool, gate, move || inner.shutdown(mode))
}

/// The report of a shutdown called from inside a worker: it adds up and counts the caller's
/// own job as still running.
fn inside_report(reports: mpsc::Receiver<ShutdownReport>) -> ShutdownReport {
    let inside = reports
        .recv()
        .expect("the job calling shutdown from inside a worker ended without a report");
    assert!(
        inside.adds_up(),
        "the inside report must add up: {inside:?}"
    );
    assert!(
        inside.still_running >= 1,
        "the inside caller's own job is still running: {inside:?}"
    );
    inside
}

/// On a 1-worker pool, a job that spawns a child and joins it finishes: the only worker,
/// waiting in `join`, runs the child itself.
pub fn join_inside_worker<F: Factory>(f: &F) {
    shared_scenario(
        f,
        "join_inside_worker",
        PoolConfig::new().workers(1),
        |pool| {
            let doubled = on_worker(&pool, |inner| {
                let child = inner.spawn(|| 21).expect(ACCEPT);
                child.join().expect("the child ran") * 2
            });
            assert_eq!(doubled, 42);
        },
    );
}

/// Two chains of 50 nested spawn-and-join on a 2-worker pool, so every worker waits at once,
/// both finish, and every link is counted.
pub fn nested_join_chain<F: Factory>(f: &F) {
    const DEPTH: usize = 50;
    shared_scenario(
        f,
        "nested_join_chain",
        PoolConfig::new().workers(2),
        |pool| {
            let roots: Vec<_> = (0..2)
                .map(|_| {
                    let inner = pool.clone();
                    pool.spawn(move || chain(&inner, DEPTH)).expect(ACCEPT)
                })
                .collect();
            for root in roots {
                assert_eq!(root.join().expect("no panic"), DEPTH);
            }
            graceful_completes(&*pool, "nested_join_chain", 2 * (DEPTH as u64 + 1));
        },
    );
}

/// A tree of nested waits (Fibonacci of 10 by spawn-and-join, 177 jobs) on 2 workers
/// finishes with the right answer.
pub fn nested_join_tree<F: Factory>(f: &F) {
    shared_scenario(
        f,
        "nested_join_tree",
        PoolConfig::new().workers(2),
        |pool| {
            assert_eq!(on_worker(&pool, |inner| fib(&inner, 10)), 55);
            graceful_completes(&*pool, "nested_join_tree", 177);
        },
    );
}

/// `map` called from inside the only worker of a pool finishes: its waits run the mapped
/// jobs on the waiting worker.
pub fn map_inside_worker<F: Factory>(f: &F) {
    shared_scenario(
        f,
        "map_inside_worker",
        PoolConfig::new().workers(1),
        |pool| {
            let sum = on_worker(&pool, |inner| {
                inner
                    .map(0..20u64, |x| x * 2)
                    .map(|r| r.expect("no panic"))
                    .sum::<u64>()
            });
            assert_eq!(sum, 380);
        },
    );
}

/// Waits that cross pools finish: a job of pool A joins a job of pool B, which joins a job of
/// pool A while A's only worker is the one waiting (it runs that job itself).
pub fn cross_pool_nested_join<F: Factory>(f: &F) {
    let pools = (
        build(f, PoolConfig::new().workers(1)),
        build(f, PoolConfig::new().workers(1)),
    );
    scenario("cross_pool_nested_join", pools, move |(a, b)| {
        let (a, b) = (Arc::new(a), Arc::new(b));
        let b_inner = b.clone();
        let nine = on_worker(&a, move |a_inner| {
            let middle = on_worker(&b_inner, move |_| {
                let innermost = a_inner.spawn(|| 7).expect(ACCEPT);
                innermost.join().expect("the innermost job ran") + 1
            });
            middle + 1
        });
        assert_eq!(nine, 9);
        graceful_completes(&*a, "pool A", 2);
        graceful_completes(&*b, "pool B", 1);
    });
}

/// `shutdown(Graceful)` from inside the only worker returns (no deadlock) with a report that
/// adds up and counts its own job in `still_running`; intake is closed, the queued jobs still
/// run, and a later shutdown from outside returns the final report.
pub fn shutdown_inside_worker<F: Factory>(f: &F) {
    let name = "shutdown_inside_worker";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        let reports = shutdown_inside(&pool, &gate, Shutdown::Graceful);
        let handles = spawn_numbered(&*pool, 10);
        gate.open();
        let inside = inside_report(reports);
        assert_eq!(inside.submitted, 11, "{inside:?}");
        let refused = pool
            .execute(Box::new(|| {}))
            .expect_err("intake is closed once shutdown returned");
        assert_eq!(refused.reason(), RejectReason::ShutDown);
        graceful_completes(&*pool, "the outside shutdown after an inside one", 11);
        join_numbered(handles, "a job queued behind the inside shutdown");
    });
}

/// `shutdown(Now)` from inside the only worker returns (no deadlock), the jobs queued
/// behind it are cancelled, and a later shutdown from outside reports them.
pub fn shutdown_now_inside_worker<F: Factory>(f: &F) {
    let name = "shutdown_now_inside_worker";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        let ran = Tally::new();
        let reports = shutdown_inside(&pool, &gate, Shutdown::Now);
        let handles = spawn_counted(&*pool, 10, &ran);
        gate.open();
        inside_report(reports);
        let last = pool.shutdown(Shutdown::Graceful);
        let what = "the outside shutdown after an inside Now";
        check_report(what, &last, Counts::cancelled(11, 1));
        assert_eq!(ran.get(), 0, "a cancelled job must never run");
        join_cancelled(handles);
    });
}

/// Dropping the last reference to a pool inside one of its own jobs (a graceful shutdown
/// begun from inside a worker) neither panics nor deadlocks, and the jobs queued behind it
/// still run.
pub fn drop_inside_worker<F: Factory>(f: &F) {
    let name = "drop_inside_worker";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        let ran = Tally::new();
        let last_ref = pool.clone();
        let dropped = after_gate_inside(&*pool, &gate, move || {
            catch_unwind(AssertUnwindSafe(move || drop(last_ref))).is_ok()
        });
        execute_counting(&*pool, 10, &ran);
        drop(pool);
        gate.open();
        let dropped_cleanly = dropped
            .recv()
            .expect("the job dropping the pool ended without reporting");
        assert!(
            dropped_cleanly,
            "dropping the last reference inside a worker panicked"
        );
        ran.wait_for(10, "the jobs queued behind the dropping job to run");
    });
}
