//! loom models of WorkStealingPool's own protocol: parking without lost wake-ups (for jobs
//! from outside and for jobs pushed on a local deque), shutdown draining local and global
//! queues, resize in both directions, panic accounting, and helping waits. Under
//! `cfg(shoal_loom)` the crossbeam deques and injector are swapped for loom-visible
//! `Mutex<VecDeque>` stand-ins (see `src/queue.rs`) and workers skip the spin phase.
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

use common::{blocked_parent_and_child, counting_job, model, spin_until};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use shoal_core::{Executor, ExecutorExt, Shutdown, TaskError};
use shoal_steal::WorkStealingPool;

fn pool(workers: usize) -> Arc<WorkStealingPool> {
    Arc::new(WorkStealingPool::new(workers).expect("build"))
}

/// Submits a counting child from inside a job (onto the worker's local deque) and adds 10 to
/// `ran` if it was accepted: refused only if a shutdown already closed intake.
fn submit_local_child(pool: &WorkStealingPool, ran: &Arc<AtomicUsize>) {
    if pool.execute(counting_job(ran)).is_ok() {
        ran.fetch_add(10, Ordering::SeqCst);
    }
}

shared_models! { WorkStealingPool::new;
    submit_races_shutdown(1), panic_is_counted_once(1),
    /// With a single worker, a job that spawns a child and joins it finishes: the waiting
    /// worker finds the child on its own deque and runs it.
    join_from_worker_helps = join_from_worker(1),
    /// A cancel racing the worker that starts the job: one of them gets it, counted once.
    cancel_races_start(1),
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

/// Graceful shutdown runs what is queued in the injector and in a worker's local deque.
#[test]
fn shutdown_drains_local_and_global_queues() {
    model(|| {
        let pool = pool(2);
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(counting_job(&ran)).unwrap();
        let (p, r) = (pool.clone(), ran.clone());
        pool.execute(Box::new(move || submit_local_child(&p, &r)))
            .unwrap();
        let report = pool.shutdown(Shutdown::Graceful);
        let ran = ran.load(Ordering::SeqCst);
        // 1 (outside job) + 11 if the child was accepted (it then ran), else 1.
        assert!(ran == 12 || ran == 1, "ran = {ran}");
        assert_eq!(report.completed, if ran == 12 { 3 } else { 2 });
        assert_eq!(report.still_running, 0);
        assert!(report.adds_up());
    });
}

/// Shrinking while a worker holds a job on its local deque never strands it: whichever
/// worker retires, the job runs (a retiring owner moves it to the injector first).
#[test]
fn shrink_never_strands_a_job() {
    model(|| {
        let pool = pool(2);
        let ran = Arc::new(AtomicUsize::new(0));
        let resized = Arc::new(AtomicBool::new(false));
        let (p, r, re) = (pool.clone(), ran.clone(), resized.clone());
        pool.execute(Box::new(move || {
            submit_local_child(&p, &r);
            // Hold this worker until the shrink is requested, so that it may be the one
            // that retires with the child still on its deque.
            spin_until(&re);
        }))
        .unwrap();
        pool.resize(1).unwrap();
        resized.store(true, Ordering::SeqCst);
        assert_eq!(pool.workers(), 1);
        let report = pool.shutdown(Shutdown::Graceful);
        let ran = ran.load(Ordering::SeqCst);
        assert!(
            ran == 11 || ran == 0,
            "accepted child must run: ran = {ran}"
        );
        assert_eq!(report.completed, if ran == 11 { 2 } else { 1 });
    });
}

/// Growing adds a deque whose stealer siblings see: the new worker steals the child that a
/// blocked owner left on its local deque.
#[test]
fn grow_adds_a_stealer() {
    model(|| {
        let pool = pool(1);
        pool.resize(2).unwrap();
        let report = blocked_parent_and_child(&pool);
        assert_eq!(report.completed, 2);
    });
}

/// `Shutdown::Now` runs or cancels each queued job exactly once, wherever it waits.
#[test]
fn shutdown_now_cancels_or_runs_each_job_once() {
    model(|| {
        let pool = pool(1);
        let a = pool.spawn(|| 1).unwrap();
        let p = pool.clone();
        let b = pool.spawn(move || p.spawn(|| 2).ok()).unwrap();
        let report = pool.shutdown(Shutdown::Now);
        let mut done = 0;
        let mut cancelled = 0;
        let mut tally = |r: Result<(), TaskError>| match r {
            Ok(()) => done += 1,
            Err(TaskError::Cancelled) => cancelled += 1,
            Err(e) => panic!("unexpected {e:?}"),
        };
        tally(a.join().map(|_| ()));
        match b.join() {
            Ok(child) => {
                tally(Ok(()));
                if let Some(child) = child {
                    tally(child.join().map(|_| ()));
                }
            }
            Err(e) => tally(Err(e)),
        }
        assert_eq!(report.completed, done);
        assert_eq!(report.cancelled, cancelled);
        assert!(report.adds_up());
    });
}
