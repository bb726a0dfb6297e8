//! loom models of SharedQueuePool's own protocol: sealing the queue at shutdown, retiring
//! workers on shrink, panic accounting, and helping waits. Under `cfg(shoal_loom)` the
//! crossbeam channel is swapped for a loom-visible `Mutex<VecDeque>` (see `src/queue.rs`).
//!
//! Run: `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --target-dir target/loom -p shoal-queue --test loom`
#![cfg(shoal_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use shoal_core::{Executor, ExecutorExt, Shutdown, TaskError};
use shoal_queue::SharedQueuePool;

fn pool(workers: usize) -> SharedQueuePool {
    SharedQueuePool::new(workers).expect("build")
}

/// A job that counts its run; the loom `Arc` it holds makes a job that is never run nor
/// dropped fail loom's leak check.
fn counting_job(ran: &Arc<AtomicUsize>) -> shoal_core::Job {
    let ran = ran.clone();
    Box::new(move || {
        ran.fetch_add(1, Ordering::SeqCst);
    })
}

fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// A job submitted concurrently with a graceful shutdown is either run, or refused with the job
/// handed back: never accepted and then lost.
#[test]
fn submit_races_shutdown() {
    loom::model(|| {
        let pool = Arc::new(pool(1));
        let ran = Arc::new(AtomicUsize::new(0));
        let submitter = {
            let (pool, ran) = (pool.clone(), ran.clone());
            loom::thread::spawn(move || pool.execute(counting_job(&ran)).is_ok())
        };
        let report = pool.shutdown(Shutdown::Graceful);
        let accepted = submitter.join().unwrap();
        let ran = ran.load(Ordering::SeqCst);
        assert_eq!(ran, usize::from(accepted), "accepted={accepted} ran={ran}");
        // The report may have been made before or after the accepted job ran, but the job
        // was accepted before the seal, so the graceful drain ran it before the report.
        assert_eq!(report.completed as usize, ran);
        assert!(report.adds_up());
    });
}

/// Graceful shutdown runs every job that was queued before it.
#[test]
fn graceful_shutdown_runs_everything_queued() {
    loom::model(|| {
        let pool = pool(2);
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(counting_job(&ran)).unwrap();
        pool.execute(counting_job(&ran)).unwrap();
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        assert_eq!(report.completed, 2);
        assert!(report.adds_up());
    });
}

/// `Shutdown::Now` runs or cancels each queued job exactly once; a cancelled job's handle says
/// so.
#[test]
fn shutdown_now_cancels_or_runs_each_job_once() {
    loom::model(|| {
        let pool = pool(1);
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
    loom::model(|| {
        let pool = pool(2);
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

/// A panicking job is counted once, as panicked, and its handle carries the message.
#[test]
fn panic_is_counted_once() {
    quiet_panics();
    loom::model(|| {
        let pool = pool(1);
        let handle = pool.spawn(|| -> u32 { panic!("boom") }).unwrap();
        let err = handle.join().unwrap_err();
        assert_eq!(err.panic_message(), Some("boom"));
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.panicked, 1);
        assert_eq!(report.completed, 0);
        assert!(report.adds_up());
    });
}

/// With a single worker, a job that spawns a child and joins it finishes: the waiting worker
/// runs the child itself.
#[test]
fn join_from_worker_finishes() {
    loom::model(|| {
        let pool = Arc::new(pool(1));
        let outer = {
            let inner_pool = pool.clone();
            pool.spawn(move || {
                let child = inner_pool.spawn(|| 20).unwrap();
                child.join().unwrap() + 1
            })
            .unwrap()
        };
        assert_eq!(outer.join().unwrap(), 21);
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2);
    });
}
