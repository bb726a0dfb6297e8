//! loom models of ScopedPool's own protocol: the join latch, scope completion, and the
//! sleep/wake of idle threads.
//!
//! Run (see shared LOOM notes):
//! `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2
//!  cargo test --release --target-dir target/loom -p shoal-pool-scope --test loom`
//!
//! Its injector and sleeper list are built on the `shoal_core::sync` shim (mutexes, condvars,
//! atomics); its queue of `Executor` jobs is shoal-core's `SharedQueue`, whose crossbeam
//! channel becomes a loom-visible `Mutex<VecDeque>` under `shoal_loom`. So loom sees every
//! step of the protocol. Models stay small: main + at most 2 workers, at most
//! 3 jobs. Every pool is shut down inside the model, so a lost wake-up shows up as loom's
//! deadlock report and a job never run or never freed as a leak. The models every pool shares
//! are written once, in shoal-core's `tests/common/loom.rs`.
#![cfg(shoal_loom)]

use std::panic::{catch_unwind, AssertUnwindSafe};

#[path = "../../shoal-core/tests/common/loom.rs"]
#[macro_use]
mod common;

use common::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use shoal_scope::ScopedPool;

shared_models! { ScopedPool::new;
    idle_worker_wakes_for_job = queued_jobs_all_run(1, 1),
    /// Two idle workers and two jobs: each wake reaches a sleeper, none is lost when both
    /// sleep.
    two_sleepers_two_jobs = queued_jobs_all_run(2, 2),
    /// A cancel racing the worker that starts the job: one of them gets it, counted once.
    cancel_races_start(1),
    /// The external queue's intake gate: a submit racing shutdown is run or handed back.
    submit_races_shutdown(1),
    panic_is_counted_once(1),
    /// A job submitted from a worker (to its own deque) wakes its parked sibling.
    inside_push_wakes_a_parked_sibling(2),
    /// Graceful shutdown runs what is queued in the external queue and in a worker's deque.
    shutdown_drains_local_and_global_queues = inside_jobs_drain_on_shutdown(2),
    /// Whichever worker retires, a job on a worker's deque runs (a retiring owner moves it to
    /// the external queue first).
    shrink_never_strands_a_job = shrink_never_strands_an_inside_job(2),
    /// Growing adds a deque whose stealer siblings see.
    grow_adds_a_stealer = grow_then_inside_push_is_stolen(1),
    /// `Shutdown::Now` runs or cancels each queued job exactly once, wherever it waits.
    shutdown_now_cancels_or_runs_each_job_once = shutdown_now_inside_jobs_once(1),
}

/// A pool of 2 workers for the fork-join models (join halves, scope tasks), which submit no
/// `Executor` job: its bounded queue keeps the workers' deques of `Executor` jobs off (a
/// bounded pool sends those jobs to its shared queue), so loom does not explore their empty
/// polls here; with them on these three models took 3-4 times as long. The deques have models
/// of their own above.
fn fork_join_pool() -> ScopedPool {
    ScopedPool::builder()
        .workers(2)
        .queue_capacity(8)
        .build()
        .unwrap()
}

/// join from outside on 2 workers: whether the second half runs on its owner or is offered
/// to (and taken by) the other worker, both halves have finished when `join` returns.
#[test]
fn join_latch_stolen_half_completes() {
    model(|| {
        let pool = fork_join_pool();
        let done = AtomicUsize::new(0);
        let (a, b) = pool.join(
            || done.fetch_add(1, Ordering::SeqCst),
            || done.fetch_add(10, Ordering::SeqCst),
        );
        assert!(
            (a, b) == (0, 1) || (a, b) == (10, 0),
            "each half returns its value"
        );
        assert_eq!(
            done.load(Ordering::SeqCst),
            11,
            "both halves ran before join returned"
        );
        drop(pool);
    });
}

/// The same with a panicking second half: the panic comes back to the caller only after the
/// half finished, and the first half ran.
#[test]
fn join_latch_with_panic() {
    model(|| {
        let pool = fork_join_pool();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.join(
                || d.fetch_add(1, Ordering::SeqCst),
                || -> usize { panic!("second half failed") },
            )
        }));
        assert!(r.is_err(), "the second half's panic is resumed");
        assert_eq!(done.load(Ordering::SeqCst), 1);
        drop(pool);
    });
}

/// A scope returns only after every task ended, including a task spawned by a task.
#[test]
fn scope_waits_for_nested_tasks() {
    model(|| {
        let pool = fork_join_pool();
        let count = AtomicUsize::new(0);
        pool.fork_scope(|s| {
            s.spawn(|s| {
                count.fetch_add(1, Ordering::SeqCst);
                s.spawn(|_| {
                    count.fetch_add(1, Ordering::SeqCst);
                });
            });
        });
        assert_eq!(count.load(Ordering::SeqCst), 2);
        drop(pool);
    });
}
