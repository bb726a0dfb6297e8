//! loom models of WorkStealingPool's own protocol: parking without lost wake-ups (for jobs
//! from outside and for jobs pushed on a local deque), shutdown draining local and global
//! queues, resize in both directions, panic accounting, and helping waits. Under
//! `cfg(shoal_loom)` the crossbeam deques and injector are swapped for loom-visible
//! `Mutex<VecDeque>` stand-ins (see `src/queue.rs`) and workers skip the spin phase.
//!
//! Each model is main + at most 2 workers (+ 1 submitter) and at most 3 jobs.
//!
//! Run: `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --target-dir target/loom -p shoal-steal --test loom`
#![cfg(shoal_loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use shoal_core::{Executor, ExecutorExt, Shutdown, TaskError};
use shoal_steal::WorkStealingPool;

fn pool(workers: usize) -> Arc<WorkStealingPool> {
    Arc::new(WorkStealingPool::new(workers).expect("build"))
}

/// A job that counts its run; the loom `Arc` it holds makes a job that is never run nor
/// dropped fail loom's leak check.
fn counting_job(ran: &Arc<AtomicUsize>) -> shoal_core::Job {
    let ran = ran.clone();
    Box::new(move || {
        ran.fetch_add(1, Ordering::SeqCst);
    })
}

/// Waits for `flag` without helping the pool (a plain spin, as a job blocked on a channel
/// would): only another worker can make progress for us.
fn spin_until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        loom::thread::yield_now();
    }
}

fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// A job pushed while the only worker is going to sleep is run: the submitter waits for it
/// without helping (a plain condvar wait), so a lost wake-up is a loom deadlock.
#[test]
fn no_lost_wakeup_when_last_worker_parks() {
    loom::model(|| {
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
    loom::model(|| {
        let pool = pool(2);
        let done = Arc::new(AtomicBool::new(false));
        let (p, d) = (pool.clone(), done.clone());
        let parent = pool
            .spawn(move || {
                let d2 = d.clone();
                p.execute(Box::new(move || d2.store(true, Ordering::SeqCst)))
                    .unwrap();
                spin_until(&d);
            })
            .unwrap();
        parent.join().unwrap();
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2);
        assert!(pool.metrics().steals >= 1);
    });
}

/// Graceful shutdown runs what is queued in the injector and in a worker's local deque.
#[test]
fn shutdown_drains_local_and_global_queues() {
    loom::model(|| {
        let pool = pool(2);
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(counting_job(&ran)).unwrap();
        let (p, r) = (pool.clone(), ran.clone());
        pool.execute(Box::new(move || {
            // Pushed on the local deque, unless shutdown already closed intake.
            if p.execute(counting_job(&r)).is_ok() {
                r.fetch_add(10, Ordering::SeqCst);
            }
        }))
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
    loom::model(|| {
        let pool = pool(2);
        let ran = Arc::new(AtomicUsize::new(0));
        let resized = Arc::new(AtomicBool::new(false));
        let (p, r, re) = (pool.clone(), ran.clone(), resized.clone());
        pool.execute(Box::new(move || {
            // Refused only if the shutdown below already closed intake.
            if p.execute(counting_job(&r)).is_ok() {
                r.fetch_add(10, Ordering::SeqCst);
            }
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
    loom::model(|| {
        let pool = pool(1);
        let done = Arc::new(AtomicBool::new(false));
        let (p, d) = (pool.clone(), done.clone());
        pool.resize(2).unwrap();
        let parent = pool
            .spawn(move || {
                let d2 = d.clone();
                p.execute(Box::new(move || d2.store(true, Ordering::SeqCst)))
                    .unwrap();
                spin_until(&d);
            })
            .unwrap();
        parent.join().unwrap();
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2);
    });
}

/// A job submitted concurrently with a graceful shutdown is either run, or refused with the job
/// handed back: never accepted and then lost.
#[test]
fn submit_races_shutdown() {
    loom::model(|| {
        let pool = pool(1);
        let ran = Arc::new(AtomicUsize::new(0));
        let submitter = {
            let (pool, ran) = (pool.clone(), ran.clone());
            loom::thread::spawn(move || pool.execute(counting_job(&ran)).is_ok())
        };
        let report = pool.shutdown(Shutdown::Graceful);
        let accepted = submitter.join().unwrap();
        let ran = ran.load(Ordering::SeqCst);
        assert_eq!(ran, usize::from(accepted));
        assert_eq!(report.completed as usize, ran);
        assert!(report.adds_up());
    });
}

/// `Shutdown::Now` runs or cancels each queued job exactly once, wherever it waits.
#[test]
fn shutdown_now_cancels_or_runs_each_job_once() {
    loom::model(|| {
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
/// finds the child on its own deque and runs it.
#[test]
fn join_from_worker_helps() {
    loom::model(|| {
        let pool = pool(1);
        let p = pool.clone();
        let outer = pool
            .spawn(move || p.spawn(|| 20).unwrap().join().unwrap() + 1)
            .unwrap();
        assert_eq!(outer.join().unwrap(), 21);
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2);
    });
}
