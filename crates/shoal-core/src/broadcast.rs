//! Broadcasts: run a closure once on every worker of a pool
//! ([`ExecutorExt::broadcast`](crate::ExecutorExt::broadcast)), rayon's `broadcast`.
//!
//! A pool's queues hand a job to *some* worker, so a broadcast travels another way: through
//! [`Executor::broadcast_jobs`], which each pool implements natively by posting one job to
//! each live worker's mailbox (see [`identity`](crate::identity)) and waking them all. This
//! file is the typed side, written once: it builds those jobs around the caller's closure,
//! waits for all of them, and returns one result per worker.
//!
//! ```text
//!  caller                                     each live worker (posted under the pool's lock)
//!  ──────                                     ───────────────────────────────────────────────
//!  broadcast(f)
//!    exec.broadcast_jobs(job_for) ─post──────▶ mailbox[i]: job i  (pending += 1 per job)
//!    wait until pending == 0                   between jobs / idle / while waiting / at exit:
//!      (inside a worker: run my own mailbox,     run job i: r = catch_unwind(f(worker i))
//!       and help my pool, meanwhile)             results.push((i, r)); pending -= 1
//!  sort the results by worker index, return
//! ```
//!
//! The closure may borrow from the caller's stack: like a scope, the call does not return
//! before every job it posted has run or been dropped, and a job drops its reference to the
//! closure before it counts itself done.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::error::TaskError;
use crate::executor::Executor;
use crate::identity::WorkerId;
use crate::job::Job;
use crate::sync::Arc;
use crate::unwind::AbortOnUnwind;
use crate::wait::Waitable;

/// Why [`ExecutorExt::broadcast`](crate::ExecutorExt::broadcast) ran nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BroadcastError {
    /// The pool is shutting down (or has stopped): its workers are leaving.
    ShutDown,
    /// The executor cannot address its workers one by one (the default of
    /// [`Executor::broadcast_jobs`] for executors outside shoal).
    Unsupported,
}

impl fmt::Display for BroadcastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BroadcastError::ShutDown => {
                f.write_str("cannot broadcast: the pool is shutting down and its workers leave")
            }
            BroadcastError::Unsupported => f.write_str(
                "this executor cannot run a job on each of its workers; broadcast on a shoal pool",
            ),
        }
    }
}

impl std::error::Error for BroadcastError {}

/// What the jobs of one broadcast report back.
struct Results<T> {
    /// Jobs made and not yet run or dropped.
    pending: usize,
    /// `(worker index, result)`, in the order the jobs ended.
    done: Vec<(usize, Result<T, TaskError>)>,
}

/// The body of [`ExecutorExt::broadcast`](crate::ExecutorExt::broadcast).
pub(crate) fn broadcast<E, F, T>(
    exec: &E,
    f: F,
) -> Result<Vec<Result<T, TaskError>>, BroadcastError>
where
    E: Executor + ?Sized,
    F: Fn(WorkerId) -> T + Sync,
    T: Send,
{
    let results = Arc::new(Waitable::new(Results {
        pending: 0,
        done: Vec::new(),
    }));
    let f: &(dyn Fn(WorkerId) -> T + Sync) = &f;
    let mut job_for = |worker: WorkerId| -> Job {
        results.with(|r| r.pending += 1);
        let task = Task {
            f: Some(f),
            results: Some(results.clone()),
            worker,
        };
        let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || task.run());
        // SAFETY: only the lifetime changes (that of `f`, on this frame, to 'static). The job
        // touches `f` only while it runs, and a task counts itself done (`pending -= 1`) only
        // after it stopped using `f` (`Task::finish`), whether it ran or was dropped unrun
        // (`Task::drop`), and nothing before that count can unwind. This frame does not return
        // before `pending` is 0: the hook's own panic is caught first, and the wait aborts the
        // process rather than unwind. A job an executor leaks forever leaves this call waiting
        // forever, which is safe.
        unsafe {
            std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Box<dyn FnOnce() + Send>>(job)
        }
    };
    let posted = catch_unwind(AssertUnwindSafe(|| exec.broadcast_jobs(&mut job_for)));
    AbortOnUnwind::run(
        "a broadcast waits for its jobs, which borrow its closure",
        || results.wait_until(|r| (r.pending == 0).then_some(())),
    );
    match posted {
        Err(payload) => resume_unwind(payload),
        Ok(Err(err)) => Err(err),
        Ok(Ok(())) => {
            let mut done = results.with(|r| std::mem::take(&mut r.done));
            done.sort_by_key(|(index, _)| *index);
            Ok(done.into_iter().map(|(_, result)| result).collect())
        }
    }
}

/// One worker's part of a broadcast. Run or dropped unrun, it reports exactly once.
struct Task<'f, T> {
    f: Option<&'f (dyn Fn(WorkerId) -> T + Sync)>,
    results: Option<Arc<Waitable<Results<T>>>>,
    worker: WorkerId,
}

impl<T> Task<'_, T> {
    fn run(mut self) {
        let f = self.f.take().expect("a task runs once");
        let worker = self.worker;
        let result =
            catch_unwind(AssertUnwindSafe(|| f(worker))).map_err(|p| TaskError::Panicked(p.into()));
        self.finish(result);
    }

    /// Records the result, then counts the task done: the last touch of the broadcast's state.
    fn finish(&mut self, result: Result<T, TaskError>) {
        if let Some(results) = self.results.take() {
            let index = self.worker.index();
            results.update(|r| {
                r.done.push((index, result));
                r.pending -= 1;
            });
        }
    }
}

impl<T> Drop for Task<'_, T> {
    /// Dropped unrun (its worker left by an unwind before it got to its mailbox): report the
    /// worker's result as cancelled.
    fn drop(&mut self) {
        if self.results.is_some() {
            self.f = None;
            self.finish(Err(TaskError::Cancelled));
        }
    }
}
