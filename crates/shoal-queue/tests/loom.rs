//! loom models of SharedQueuePool's own protocol: parking without lost wake-ups (for jobs
//! from outside and for jobs a worker spawns while its sibling falls asleep, with the
//! searcher limit in force), sealing the queue at shutdown, growing and retiring workers on
//! resize, panic accounting, and helping waits. Under `cfg(shoal_loom)` the crossbeam channel
//! is swapped for a loom-visible `Mutex<VecDeque>` (see shoal-core's `src/queue.rs`) and workers skip the
//! spin phase. The models every pool shares are written once, in shoal-core's
//! `tests/common/loom.rs`.
//!
//! Each model is main + at most 2 workers and at most 3 jobs.
//!
//! Run: `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --target-dir target/loom -p shoal-pool-queue --test loom`
#![cfg(shoal_loom)]

#[path = "../../shoal-core/tests/common/loom.rs"]
#[macro_use]
mod common;

use common::{counting_job, model, spin_until};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use shoal_core::{Executor, ExecutorExt, Shutdown, TaskError};
use shoal_queue::SharedQueuePool;

shared_models! { SharedQueuePool::new;
    submit_races_shutdown(1), panic_is_counted_once(1),
    join_from_worker_finishes = join_from_worker(1),
    inside_push_wakes_a_parked_sibling(2),
    /// Graceful shutdown runs every job that was queued before it.
    graceful_shutdown_runs_everything_queued = queued_jobs_all_run(2, 2),
    /// A cancel racing the worker that starts the job: one of them gets it, counted once.
    cancel_races_start(1),
}

/// `Shutdown::Now` runs or cancels each queued job exactly once; a cancelled job's handle says
/// so.
#[test]
fn shutdown_now_cancels_or_runs_each_job_once() {
    model(|| {
        let pool = SharedQueuePool::new(1).expect("build");
        let a = pool.spawn(|| 1).unwrap();
        let b = pool.spawn(|| 2).unwrap();
        let report = pool.shutdown(Shutdown::Now);
        let outcomes = [a.join(), b.join()];
        let done = outcomes.iter().filter(|r| r.is_ok()).count() as u64;
        let cancelled = outcomes
            .iter()
            .filter(|r| matches!(r, Err(TaskError::Cancelled)))
            .count() as u64;
        assert_eq!(done + cancelled, 2);
        assert_eq!(report.completed, done);
        assert_eq!(report.cancelled, cancelled);
        assert!(report.adds_up());
    });
}

/// Shrinking while jobs are queued never strands one: the remaining worker runs them all.
#[test]
fn resize_down_never_strands_a_job() {
    model(|| {
        let pool = SharedQueuePool::new(2).expect("build");
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(counting_job(&ran)).unwrap();
        pool.resize(1).unwrap();
        pool.execute(counting_job(&ran)).unwrap();
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        assert_eq!(report.completed, 2);
        assert_eq!(pool.workers(), 1);
    });
}

/// A job submitted while the only worker is going to sleep is run: the submitter waits for it
/// without helping (a plain condvar wait), so a lost wake-up is a loom deadlock.
#[test]
fn no_lost_wakeup_when_last_worker_parks() {
    model(|| {
        let pool = SharedQueuePool::new(1).expect("build");
        let handle = pool.spawn(|| 7).unwrap();
        assert_eq!(handle.join().unwrap(), 7);
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 1);
    });
}

/// Growing the pool starts a worker that takes part in the protocol at once: a job that
/// blocks one worker until a second job ran needs the new worker. The new worker counts as
/// searching until its thread runs (`Sleep::starting`), so a submitter that sees it wakes
/// nobody, and the new worker must find the job.
#[test]
fn resize_up_adds_a_worker_that_runs_jobs() {
    model(|| {
        let pool = Arc::new(SharedQueuePool::new(1).expect("build"));
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let blocker = pool.spawn(move || spin_until(&d)).unwrap();
        pool.resize(2).unwrap();
        let d = done.clone();
        pool.execute(Box::new(move || d.store(true, Ordering::SeqCst)))
            .unwrap();
        blocker.join().unwrap();
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2);
        assert_eq!(pool.workers(), 2);
    });
}

/// Shrinking while both workers may be parked: exactly one retires (woken to see the surplus),
/// and a graceful shutdown afterwards still finds the other one to run what was queued.
#[test]
fn shrink_wakes_a_parked_worker_to_retire() {
    model(|| {
        let pool = SharedQueuePool::new(2).expect("build");
        pool.resize(1).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(counting_job(&ran)).unwrap();
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_eq!(report.completed, 1);
        assert!(report.adds_up());
    });
}

/// A broadcast while the worker may be searching, announcing or parked reaches it: its mailbox
/// is a flag the parked worker checks under the sleep lock, and the broadcast wakes every
/// parked worker after posting. The caller waits without helping, so a lost wake-up is a loom
/// deadlock.
#[test]
fn broadcast_wakes_a_parked_worker() {
    model(|| {
        let pool = SharedQueuePool::new(1).expect("build");
        let indices = pool.broadcast(|w| w.index()).unwrap();
        assert_eq!(indices.len(), 1);
        assert_eq!(*indices[0].as_ref().unwrap(), 0);
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up());
    });
}
