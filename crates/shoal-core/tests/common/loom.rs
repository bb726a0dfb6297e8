//! What the pools' loom models share: the runner, small job helpers, and the models of the
//! contract every pool keeps (a submit racing a shutdown, a graceful drain, a panic counted
//! once, a join from inside a worker, a cancel racing the start of its job).
//!
//! Each pool crate's `tests/loom.rs` includes this file (it is no test target of its own):
//!
//! ```ignore
//! #[path = "../../shoal-core/tests/common/loom.rs"]
//! #[macro_use]
//! mod common;
//! ```
//!
//! It uses nothing but loom and shoal-core, so the loom build stays small. A shared model
//! takes the pool's constructor (`Pool::new`) and a worker count, and builds a fresh pool for
//! every execution; [`shared_models!`] turns a list of them into `#[test]`s.
#![allow(dead_code)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use shoal_core::{
    BuildError, CancelOutcome, Executor, ExecutorExt, Job, Shutdown, ShutdownReport, TaskError,
};

/// A pool's constructor: `Pool::new`.
type New<P> = fn(usize) -> Result<P, BuildError>;

/// Declares one `#[test]` per shared model: `shared_models! { Pool::new; name(args), .. }`
/// runs `common::name(Pool::new, args)`; `test = name(args)` gives the test a name of its
/// own. `Pool::new` builds the pool from a worker count.
macro_rules! shared_models {
    (@one $new:path; $(#[$meta:meta])* $test:ident = $model:ident($($arg:expr),*)) => {
        $(#[$meta])*
        #[test]
        fn $test() {
            common::$model($new, $($arg),*);
        }
    };
    (@one $new:path; $(#[$meta:meta])* $test:ident($($arg:expr),*)) => {
        shared_models!(@one $new; $(#[$meta])* $test = $test($($arg),*));
    };
    ($new:path; $($(#[$meta:meta])* $test:ident $(= $model:ident)? ($($arg:expr),*)),* $(,)?) => {
        $( shared_models!(@one $new; $(#[$meta])* $test $(= $model)? ($($arg),*)); )*
    };
}

/// Runs `f` under loom, with a preemption bound of 2 unless `LOOM_MAX_PREEMPTIONS` says
/// otherwise (loom's other settings come from the environment as usual).
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// A job that counts its run; the loom `Arc` it holds makes a job that is never run nor
/// dropped fail loom's leak check.
pub fn counting_job(ran: &Arc<AtomicUsize>) -> Job {
    let ran = ran.clone();
    Box::new(move || {
        ran.fetch_add(1, Ordering::SeqCst);
    })
}

/// Waits for `flag` without helping the pool (a plain spin, as a job blocked on a channel
/// would): only another worker can make progress for us.
pub fn spin_until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        loom::thread::yield_now();
    }
}

/// Silences the panic hook for models whose jobs panic on purpose.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// A job submitted concurrently with a graceful shutdown is either run, or refused with the
/// job handed back: never accepted and then lost.
pub fn submit_races_shutdown<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = Arc::new(new(workers).expect("build"));
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

/// `jobs` jobs submitted to a pool of `workers` whose workers may be asleep (or about to
/// sleep) all run: the push/sleep handshake loses no wake-up, and a graceful shutdown drains
/// and accounts every one of them.
pub fn queued_jobs_all_run<P: Executor + 'static>(new: New<P>, workers: usize, jobs: usize) {
    model(move || {
        let pool = new(workers).expect("build");
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..jobs {
            pool.execute(counting_job(&ran)).unwrap();
        }
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(ran.load(Ordering::SeqCst), jobs);
        assert_eq!(report.completed, jobs as u64);
        assert!(report.adds_up());
    });
}

/// A panicking job is counted once, as panicked, and its handle carries the message.
pub fn panic_is_counted_once<P: Executor + 'static>(new: New<P>, workers: usize) {
    quiet_panics();
    model(move || {
        let pool = new(workers).expect("build");
        let handle = pool.spawn(|| -> u32 { panic!("boom") }).unwrap();
        let err = handle.join().unwrap_err();
        assert_eq!(err.panic_message(), Some("boom"));
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.panicked, 1);
        assert_eq!(report.completed, 0);
        assert!(report.adds_up());
    });
}

/// With a single worker (`workers` is 1), a job that spawns a child and joins it finishes:
/// the waiting worker finds the child and runs it itself.
pub fn join_from_worker<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = Arc::new(new(workers).expect("build"));
        let inner = pool.clone();
        let outer = pool
            .spawn(move || inner.spawn(|| 20).unwrap().join().unwrap() + 1)
            .unwrap();
        assert_eq!(outer.join().unwrap(), 21);
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 2);
    });
}

/// A job spawns a child from inside its worker, then blocks without helping until the child
/// ran: only a sibling can run the child. Returns the report of the graceful shutdown that
/// follows.
pub fn blocked_parent_and_child<P: Executor + 'static>(pool: &Arc<P>) -> ShutdownReport {
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
    pool.shutdown(Shutdown::Graceful)
}

/// [`blocked_parent_and_child`]: the child's push must wake a sibling whether it is
/// searching, going to sleep or asleep (under loom the searcher limit is one, so with two idle
/// workers one of them goes to sleep without searching).
pub fn inside_push_wakes_a_parked_sibling<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = Arc::new(new(workers).expect("build"));
        let report = blocked_parent_and_child(&pool);
        assert_eq!(report.completed, 2);
        assert!(report.adds_up());
    });
}

/// `JoinHandle::cancel` races the worker that starts the job: exactly one of them gets it.
/// Either the cancel says `Cancelled`, the job never runs, the handle gives `Cancelled` and the
/// pool counts one cancellation; or it says `Running`/`Finished`, the job runs once, the handle
/// gives its value and the pool counts one completion. Never both, never neither.
pub fn cancel_races_start<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = new(workers).expect("build");
        let ran = Arc::new(AtomicUsize::new(0));
        let job_ran = ran.clone();
        let handle = pool
            .spawn(move || {
                job_ran.fetch_add(1, Ordering::SeqCst);
                7
            })
            .unwrap();
        let outcome = handle.cancel();
        let report = pool.shutdown(Shutdown::Graceful);
        let ran = ran.load(Ordering::SeqCst);
        let joined = handle.join();
        match outcome {
            CancelOutcome::Cancelled => {
                assert_eq!(ran, 0, "a cancelled job ran");
                assert!(matches!(joined, Err(TaskError::Cancelled)), "{joined:?}");
                assert_eq!((report.completed, report.cancelled), (0, 1), "{report:?}");
            }
            _ => {
                assert_eq!(ran, 1, "a job the cancel missed must run once");
                assert_eq!(joined.unwrap(), 7);
                assert_eq!((report.completed, report.cancelled), (1, 0), "{report:?}");
            }
        }
        assert!(report.adds_up(), "{report:?}");
    });
}

/// Submits a counting child from inside a job (onto the worker's own deque, on a pool that
/// keeps one) and adds 10 to `ran` if it was accepted: refused only if a shutdown already
/// closed intake.
pub fn submit_inside_child<P: Executor>(pool: &P, ran: &Arc<AtomicUsize>) {
    if pool.execute(counting_job(ran)).is_ok() {
        ran.fetch_add(10, Ordering::SeqCst);
    }
}

/// Graceful shutdown runs what is queued from outside and what a job submitted from inside
/// its worker (to that worker's own deque, on a pool that keeps one).
pub fn inside_jobs_drain_on_shutdown<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = Arc::new(new(workers).expect("build"));
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(counting_job(&ran)).unwrap();
        let (p, r) = (pool.clone(), ran.clone());
        pool.execute(Box::new(move || submit_inside_child(&*p, &r)))
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

/// Shrinking while a worker holds a job it submitted (on its own deque, on a pool that keeps
/// one) never strands it: whichever worker retires, the job runs (a retiring owner moves it
/// to a shared queue first).
pub fn shrink_never_strands_an_inside_job<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = Arc::new(new(workers).expect("build"));
        let ran = Arc::new(AtomicUsize::new(0));
        let resized = Arc::new(AtomicBool::new(false));
        let (p, r, re) = (pool.clone(), ran.clone(), resized.clone());
        pool.execute(Box::new(move || {
            submit_inside_child(&*p, &r);
            // Hold this worker until the shrink is requested, so that it may be the one
            // that retires with the child still on its deque.
            spin_until(&re);
        }))
        .unwrap();
        pool.resize(workers - 1).unwrap();
        resized.store(true, Ordering::SeqCst);
        assert_eq!(pool.workers(), workers - 1);
        let report = pool.shutdown(Shutdown::Graceful);
        let ran = ran.load(Ordering::SeqCst);
        assert!(
            ran == 11 || ran == 0,
            "accepted child must run: ran = {ran}"
        );
        assert_eq!(report.completed, if ran == 11 { 2 } else { 1 });
    });
}

/// Growing from `workers` to `workers + 1` adds a worker that siblings' inside pushes reach:
/// the new worker runs (steals) the child that a blocked parent left behind.
pub fn grow_then_inside_push_is_stolen<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = Arc::new(new(workers).expect("build"));
        pool.resize(workers + 1).unwrap();
        let report = blocked_parent_and_child(&pool);
        assert_eq!(report.completed, 2);
    });
}

/// `Shutdown::Now` runs or cancels each queued job exactly once, wherever it waits (a shared
/// queue, or the deque of the worker that submitted it).
pub fn shutdown_now_inside_jobs_once<P: Executor + 'static>(new: New<P>, workers: usize) {
    model(move || {
        let pool = Arc::new(new(workers).expect("build"));
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
