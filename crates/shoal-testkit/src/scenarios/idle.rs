//! `wait_idle`: waits until nothing is queued or running without stopping the pool, has a
//! timeout variant, never returns while an earlier job is unfinished (also with submitters
//! racing it), and refuses to wait from inside the pool.

use std::thread;
use std::time::Duration;

use shoal_core::{Executor, ExecutorExt, Shutdown, WaitIdleError};

use crate::tools::{Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    build, execute_counting, graceful_completes, join_numbered, joined, occupy, on_worker,
    scenario, shared_scenario, spawn_numbered, stampede,
};

/// Far beyond the watchdog: a wait that needed it would be caught.
const FAR: Duration = Duration::from_secs(3600);

/// With both workers held and 20 jobs queued, `wait_idle` waits; once the workers are let go
/// it returns after all 22 jobs ended, and the pool still takes and runs jobs afterwards.
pub fn wait_idle_waits_for_queued_and_running<F: Factory>(f: &F) {
    let name = "wait_idle_waits_for_queued_and_running";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let gate = Gate::new();
        let held = occupy(&*pool, &gate, 2);
        let ran = Tally::new();
        execute_counting(&*pool, 20, &ran);
        let waiter = {
            let (pool, ran, held) = (pool.clone(), ran.clone(), held.clone());
            thread::spawn(move || {
                pool.wait_idle().expect("waiting from outside the pool");
                (held.get(), ran.get())
            })
        };
        assert!(
            !waiter.is_finished(),
            "wait_idle returned while two jobs were held and twenty queued"
        );
        gate.open();
        let seen = joined(waiter, "wait_idle");
        assert_eq!(seen, (2, 20), "every job ended before wait_idle returned");
        assert!(pool.metrics().is_idle(), "{:?}", pool.metrics());
        join_numbered(spawn_numbered(&*pool, 10), "jobs after wait_idle");
        pool.wait_idle().expect("waiting again");
        graceful_completes(&*pool, name, 32);
    });
}

/// `wait_idle_timeout` says `false` when a job is still running at the timeout, and `true`
/// once the pool is idle (at once on a pool that is idle already).
pub fn wait_idle_timeout_says_whether_idle<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("wait_idle_timeout_says_whether_idle", pool, move |pool| {
        assert_eq!(
            pool.wait_idle_timeout(Duration::ZERO),
            Ok(true),
            "idle at start"
        );
        let gate = Gate::new();
        occupy(&pool, &gate, 1);
        assert_eq!(
            pool.wait_idle_timeout(Duration::from_millis(20)),
            Ok(false),
            "a held job keeps the pool busy past the timeout"
        );
        gate.open();
        assert_eq!(pool.wait_idle_timeout(FAR), Ok(true));
        assert_eq!(pool.wait_idle_timeout(Duration::ZERO), Ok(true));
    });
}

/// Called from inside a job of the pool, `wait_idle` (and its timeout variant) refuses at
/// once with `InsideWorker` instead of waiting for itself.
pub fn wait_idle_inside_worker_is_error<F: Factory>(f: &F) {
    let name = "wait_idle_inside_worker_is_error";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let got = on_worker(&pool, |pool| {
            (pool.wait_idle(), pool.wait_idle_timeout(FAR))
        });
        assert_eq!(
            got,
            (
                Err(WaitIdleError::InsideWorker),
                Err(WaitIdleError::InsideWorker)
            )
        );
        pool.wait_idle().expect("from outside it waits");
    });
}

/// `wait_idle` called over and over while four threads submit 2000 jobs always returns, and
/// once the submitters are done, one more call returns only after all 2000 jobs ran: it never
/// reports idle while a job submitted before the call is unfinished.
pub fn wait_idle_with_concurrent_submitters<F: Factory>(f: &F) {
    let name = "wait_idle_with_concurrent_submitters";
    shared_scenario(f, name, PoolConfig::new().workers(2), move |pool| {
        let ran = Tally::new();
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || {
                for _ in 0..20 {
                    pool.wait_idle().expect("waiting from outside the pool");
                }
            })
        };
        let total = stampede(&pool, 4, 500, &ran);
        joined(waiter, "the repeated wait_idle");
        pool.wait_idle().expect("waiting from outside the pool");
        assert_eq!(
            ran.get(),
            total,
            "wait_idle returned before every job ended"
        );
        graceful_completes(&*pool, name, total);
    });
}

/// After `shutdown_background`, `wait_idle` waits for the queue to drain; after the pool
/// stopped, it returns at once.
pub fn wait_idle_during_and_after_shutdown<F: Factory>(f: &F) {
    let name = "wait_idle_during_and_after_shutdown";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        occupy(&*pool, &gate, 1);
        let ran = Tally::new();
        execute_counting(&*pool, 10, &ran);
        pool.shutdown_background();
        let waiter = {
            let (pool, ran) = (pool.clone(), ran.clone());
            thread::spawn(move || {
                pool.wait_idle().expect("waiting from outside the pool");
                ran.get()
            })
        };
        gate.open();
        assert_eq!(joined(waiter, "wait_idle while draining"), 10);
        pool.shutdown(Shutdown::Graceful);
        assert_eq!(pool.wait_idle_timeout(Duration::ZERO), Ok(true));
    });
}
