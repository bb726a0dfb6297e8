//! loom models of SharedQueuePool's own protocol: sealing the queue at shutdown, retiring
//! workers on shrink, panic accounting, and helping waits. Under `cfg(shoal_loom)` the
//! crossbeam channel is swapped for a loom-visible `Mutex<VecDeque>` (see `src/queue.rs`).
//! The models every pool shares are written once, in shoal-core's `tests/common/loom.rs`.
//!
//! Run: `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --target-dir target/loom -p shoal-pool-queue --test loom`
#![cfg(shoal_loom)]

#[path = "../../shoal-core/tests/common/loom.rs"]
#[macro_use]
mod common;

use common::{counting_job, model};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use shoal_core::{Executor, ExecutorExt, Shutdown, TaskError};
use shoal_queue::SharedQueuePool;

shared_models! { SharedQueuePool::new;
    submit_races_shutdown(1), panic_is_counted_once(1),
    join_from_worker_finishes = join_from_worker(1),
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
