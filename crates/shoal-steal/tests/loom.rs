//! loom models of WorkStealingPool's own protocol: parking without lost wake-ups (for jobs
//! from outside and for jobs pushed on a local deque), shutdown draining local and global
//! queues, resize in both directions, panic accounting, and helping waits. Under
//! `cfg(shoal_loom)` the crossbeam deques and injector are swapped for loom-visible
//! `Mutex<VecDeque>` stand-ins (see shoal-core's `src/deque.rs`) and workers skip the spin phase.
//!
//! The models every pool shares are written once, in shoal-core's `tests/common/loom.rs`.
//!
//! Each model is main + at most 2 workers (+ 1 submitter) and at most 3 jobs.
//!
//! Run: `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --target-dir target/loom -p shoal-pool-steal --test loom`
#![cfg(shoal_loom)]

#[path = "../../shoal-core/tests/common/loom.rs"]
#[macro_use]
mod common;

use common::{blocked_parent_and_child, model};
use loom::sync::Arc;
use shoal_core::{Executor, ExecutorExt, Shutdown};
use shoal_steal::WorkStealingPool;

fn pool(workers: usize) -> Arc<WorkStealingPool> {
    Arc::new(WorkStealingPool::new(workers).expect("build"))
}

shared_models! { WorkStealingPool::new;
    submit_races_shutdown(1), panic_is_counted_once(1),
    /// With a single worker, a job that spawns a child and joins it finishes: the waiting
    /// worker finds the child on its own deque and runs it.
    join_from_worker_helps = join_from_worker(1),
    /// A cancel racing the worker that starts the job: one of them gets it, counted once.
    cancel_races_start(1),
    /// Graceful shutdown runs what is queued in the injector and in a worker's local deque.
    shutdown_drains_local_and_global_queues = inside_jobs_drain_on_shutdown(2),
    /// Whichever worker retires, a job on a worker's local deque runs (a retiring owner moves
    /// it to the injector first).
    shrink_never_strands_a_job = shrink_never_strands_an_inside_job(2),
    /// Growing adds a deque whose stealer siblings see.
    grow_adds_a_stealer = grow_then_inside_push_is_stolen(1),
    /// `Shutdown::Now` runs or cancels each queued job exactly once, wherever it waits.
    shutdown_now_cancels_or_runs_each_job_once = shutdown_now_inside_jobs_once(1),
}

/// A job pushed while the only worker is going to sleep is run: the submitter waits for it
/// without helping (a plain condvar wait), so a lost wake-up is a loom deadlock.
#[test]
fn no_lost_wakeup_when_last_worker_parks() {
    model(|| {
        let pool = pool(1);
        let handle = pool.spawn(|| 7).unwrap();
        assert_eq!(handle.join().unwrap(), 7);
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 1);
    });
}

/// A job spawned from inside a worker goes to that worker's deque; its owner then blocks
/// without helping, so the sibling (parked or parking) must be woken and steal it.
#[test]
fn local_push_wakes_a_parked_sibling() {
    model(|| {
        let pool = pool(2);
        let report = blocked_parent_and_child(&pool);
        assert_eq!(report.completed, 2);
        assert!(pool.metrics().steals >= 1);
    });
}
