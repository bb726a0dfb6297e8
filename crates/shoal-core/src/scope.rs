//! Borrowing scopes over any executor: [`ExecutorExt::scope`](crate::ExecutorExt::scope).
//!
//! A scope lets tasks borrow from the caller's stack although the executor only runs
//! `'static` [`Job`]s. The trick is the one `std::thread::scope` uses: the scope does not
//! return before every task it started has ended, so nothing a task borrows can die while
//! the task may still touch it. Each task is boxed, its lifetime erased to `'static` (the one
//! `unsafe` step, see [`Scope::spawn`]), and handed to [`Executor::execute`].
//!
//! The timeline of a scope is on [`Scope`].

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::claim::{self, ClaimCell};
use crate::error::{panic_message, TaskError};
use crate::executor::Executor;
use crate::job::Job;
use crate::sync::Arc;
use crate::unwind::{drop_quietly, try_drop, AbortOnUnwind};
use crate::wait::Waitable;

/// The message a scope panics with when a task was dropped unrun and nobody joined it.
pub const CANCELLED_TASK_MESSAGE: &str =
    "a scope task was cancelled before it ran: the executor shut down (Shutdown::Now or a \
     passed deadline) and dropped it";

/// What every task reports back to its scope.
struct Tally {
    /// Tasks started and not yet ended.
    pending: usize,
    /// Failures in the order they happened; a handle that observes its own takes it (`None`).
    failures: Vec<Option<Box<dyn Any + Send>>>,
    /// Tasks the scope's waiter may still run itself, newest last (see `claim.rs`): waiting
    /// for the scope runs its own queued tasks depth-first before it helps with anything else.
    claims: Vec<Arc<ClaimCell>>,
}

/// A scope whose tasks may borrow anything that outlives `'env`; see
/// [`ExecutorExt::scope`](crate::ExecutorExt::scope).
///
/// The scope does not return before every task it started has ended, so nothing a task
/// borrows can die while the task may still touch it; tasks travel through
/// [`Executor::execute`] like any job:
///
/// ```text
///  caller                                      executor's workers
///  ──────                                      ──────────────────
///  exec.scope(|s| {            pending = 0
///     s.spawn(t1) ──execute──▶ pending = 1 ──▶ t1 runs ── s.spawn(t3) ──▶ pending = 3
///     s.spawn(t2) ──execute──▶ pending = 2 ──▶ t2 runs
///  })  body ends (or panics: caught)           t1 ends: pending = 2 …
///  wait until pending == 0 (inside a worker: run queued jobs meanwhile)
///  resume the first unobserved failure, if any; return the body's value
/// ```
///
/// ## Failures
/// - A task's panic is caught: its [`ScopedJoinHandle`] returns it as
///   `Err(TaskError::Panicked(payload))` (the original payload), and the executor sees a
///   `String` copy of the message (so its metrics and `panic_handler` count it, as for `spawn`).
/// - A panic nobody took through a handle is resumed by `scope` after every task ended; the
///   first one in time wins (the body's own panic counts, when it came first).
/// - **A task the executor refuses** (it is shutting down) **runs inline** on the thread that
///   called `spawn`, so a scope never loses work at submission. A task the executor accepted
///   and later *dropped unrun* (`Shutdown::Now`, or a passed deadline) is reported: its handle
///   returns `Err(TaskError::Cancelled)`, and if nobody joined that handle, `scope` panics
///   after every task ended with a message saying so, instead of returning as if the work
///   were done.
///
/// ## What the compiler checks
/// A task cannot borrow something that dies before the scope ends:
///
/// ```compile_fail
/// # fn demo(exec: &dyn shoal_core::Executor) {
/// use shoal_core::ExecutorExt;
/// exec.scope(|s| {
///     let local = 5;
///     s.spawn(|_| println!("{}", local)); // `local` dies at the end of the body
/// });
/// # }
/// ```
///
/// A task cannot capture a value that must stay on its thread:
///
/// ```compile_fail
/// # fn demo(exec: &dyn shoal_core::Executor) {
/// use shoal_core::ExecutorExt;
/// let rc = std::rc::Rc::new(1);
/// exec.scope(|s| {
///     s.spawn(move |_| drop(rc)); // Rc is not Send
/// });
/// # }
/// ```
///
/// A handle cannot leave its scope:
///
/// ```compile_fail
/// # fn demo(exec: &dyn shoal_core::Executor) {
/// use shoal_core::ExecutorExt;
/// let escaped = exec.scope(|s| s.spawn(|_| 1));
/// # }
/// ```
pub struct Scope<'scope, 'env: 'scope, E: ?Sized> {
    exec: &'scope E,
    tally: Arc<Waitable<Tally>>,
    /// Invariant in both lifetimes, like `std::thread::Scope`.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<E: ?Sized> fmt::Debug for Scope<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending = self.tally.with(|t| t.pending);
        f.debug_struct("Scope")
            .field("pending", &pending)
            .finish_non_exhaustive()
    }
}

/// Runs a scope on `exec`; the body of [`ExecutorExt::scope`](crate::ExecutorExt::scope).
pub(crate) fn scope<'env, E, F, R>(exec: &E, f: F) -> R
where
    E: Executor + ?Sized,
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, E>) -> R,
{
    let scope = Scope {
        exec,
        tally: Arc::new(Waitable::new(Tally {
            pending: 0,
            failures: Vec::new(),
            claims: Vec::new(),
        })),
        scope: PhantomData,
        env: PhantomData,
    };
    let value = match catch_unwind(AssertUnwindSafe(|| f(&scope))) {
        Ok(value) => Some(value),
        Err(payload) => {
            // The body's panic takes its place in time order, after the failures so far.
            scope.tally.update(|t| t.failures.push(Some(payload)));
            None
        }
    };
    // Every task ends, whatever the body did: this wait is what makes the borrows sound.
    // Meanwhile the waiter runs the scope's own tasks that nobody started, newest first.
    // Nothing in it unwinds (inline runs catch their panics; helping runs jobs through
    // `run_job`), and it must not: an unwind here would return while tasks still borrow the
    // caller's stack, so one (from a foreign `Helper`, say) stops the process instead.
    AbortOnUnwind::run(
        "a scope waits for its tasks, which borrow its stack",
        || {
            while let Some(claim) = scope.tally.wait_until(|t| {
                if t.pending == 0 {
                    Some(None)
                } else {
                    t.claims.pop().map(Some)
                }
            }) {
                claim.run_inline();
            }
        },
    );
    // Every task has ended. Resume the first failure nobody took through a handle; the later
    // ones go quietly (one at a time: each payload's destructor may panic).
    let failures = scope.tally.with(|t| std::mem::take(&mut t.failures));
    let mut unobserved = failures.into_iter().flatten();
    if let Some(first) = unobserved.next() {
        unobserved.for_each(drop_quietly);
        resume_unwind(first);
    }
    value.expect("a body that panicked left a failure to resume")
}

/// The state a task shares with its handle.
enum Slot<T> {
    Pending,
    Done(T),
    /// Panicked or cancelled; the payload is `failures[index]` in the scope's tally.
    Failed {
        index: usize,
        cancelled: bool,
    },
    Taken,
}

impl<'scope, 'env, E> Scope<'scope, 'env, E>
where
    E: Executor + ?Sized,
{
    /// Starts a task on the executor. It may borrow anything that outlives the scope
    /// (`'env`), and gets the scope to spawn more tasks. Returns a handle to its value.
    ///
    /// If the executor refuses the task (it is shutting down), the task runs right here, on
    /// the calling thread, before `spawn` returns.
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce(&'scope Scope<'scope, 'env, E>) -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let slot = Arc::new(Waitable::new(Slot::Pending));
        self.tally.update(|t| t.pending += 1);
        let mut task = Task {
            f: Some(f),
            slot: Some(slot.clone()),
            tally: Some(self.tally.clone()),
        };
        let scope: &'scope Self = self;
        let job: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || task.run(scope));
        // SAFETY: only the lifetime changes ('scope to 'static). The job may touch what it
        // borrows for as long as it exists, and it ceases to exist before the scope returns:
        // `scope()` waits until `pending` is 0, and a task returns its count only after it
        // ran and dropped its closure and its reference to the value (`Task::finish`), or was
        // dropped unrun together with its closure (`Task::drop`); either way nothing borrowed
        // is touched afterwards, and neither path can unwind before the count (destructors
        // run under `try_drop` / `drop_quietly`; the task is the count's drop guard). The wait
        // cannot be skipped: the body's panic is caught first, the wait aborts the process
        // rather than unwind, and a job an executor leaks forever leaves the scope waiting
        // forever, which is safe. The job is then parked in a claim cell (shared by
        // the queue entry, this scope's claim list and the handle, which may outlive the scope);
        // a cell gives its job up exactly once, to be run or dropped, and both end the task,
        // so no cell still holds the job once `pending` is 0.
        let job: Job = unsafe {
            std::mem::transmute::<Box<dyn FnOnce() + Send + 'scope>, Box<dyn FnOnce() + Send>>(job)
        };
        let (job, claim) = claim::claimable(job);
        self.tally.update(|t| t.claims.push(claim.clone()));
        if let Err(rejected) = self.exec.execute(job) {
            // Refused (shutdown): run it here so the scope loses no work. The task records
            // its own panic; the message copy it resumes for the executor is dropped.
            let job = rejected.into_job();
            if let Err(message) = catch_unwind(AssertUnwindSafe(job)) {
                drop_quietly(message);
            }
        }
        ScopedJoinHandle {
            slot,
            claim,
            tally: self.tally.clone(),
            scope: PhantomData,
        }
    }
}

/// A task on its way through the executor. Whether it runs or is dropped unrun, its drop
/// returns the task's count to the scope, last.
struct Task<F, T> {
    f: Option<F>,
    slot: Option<Arc<Waitable<Slot<T>>>>,
    tally: Option<Arc<Waitable<Tally>>>,
}

impl<F, T> Task<F, T> {
    fn run<S>(&mut self, scope: S)
    where
        F: FnOnce(S) -> T,
    {
        let f = self.f.take().expect("a task runs once");
        match catch_unwind(AssertUnwindSafe(move || f(scope))) {
            Ok(value) => self.finish(Slot::Done(value)),
            Err(payload) => {
                let message = panic_message(payload.as_ref())
                    .unwrap_or("<non-string panic payload>")
                    .to_owned();
                let index = self.record_failure(payload);
                self.finish(Slot::Failed {
                    index,
                    cancelled: false,
                });
                // Let the executor count the panic and show it to its panic handler, as
                // `spawn` does. The count was returned above; `drop` does nothing more.
                resume_unwind(Box::new(message));
            }
        }
    }

    fn record_failure(&self, payload: Box<dyn Any + Send>) -> usize {
        let tally = self.tally.as_ref().expect("the count is still held");
        tally.update(|t| {
            t.failures.push(Some(payload));
            t.failures.len() - 1
        })
    }

    /// Fills the slot, then returns the count: the last touch of anything the scope owns.
    /// Never unwinds, so nothing can skip the count.
    fn finish(&mut self, outcome: Slot<T>) {
        if let Some(slot) = self.slot.take() {
            slot.update(|s| *s = outcome);
            // Drop our reference to `T` (it may borrow from the scope) before the count. With
            // the handle gone, this drops the value itself, and its destructor may panic: the
            // task ran, so that panic is the task's, resumed by the scope like any panic
            // nobody joined (not a cancellation).
            if let Err(payload) = try_drop(slot) {
                self.record_failure(payload);
            }
        }
        if let Some(tally) = self.tally.take() {
            tally.update(|t| t.pending -= 1);
        }
    }
}

/// The task is its own count's drop guard: however it leaves the executor (run, or dropped
/// unrun), the count comes back exactly once.
impl<F, T> Drop for Task<F, T> {
    fn drop(&mut self) {
        // Dropped unrun (the executor cancelled it): drop the closure first (its captures may
        // borrow from the scope, and their destructors may panic: quietly, the cancellation
        // is what gets reported), then report the cancellation and return the count.
        if self.tally.is_some() {
            drop_quietly(self.f.take());
            let index = self.record_failure(Box::new(CANCELLED_TASK_MESSAGE));
            self.finish(Slot::Failed {
                index,
                cancelled: true,
            });
        }
    }
}

/// The value of one scope task; see [`Scope::spawn`]. Dropping it detaches the task (the scope
/// still waits for it, and resumes its panic if it panicked).
pub struct ScopedJoinHandle<'scope, T> {
    slot: Arc<Waitable<Slot<T>>>,
    /// The task's queue entry: `join` inside a worker runs the task itself if nobody has.
    claim: Arc<ClaimCell>,
    tally: Arc<Waitable<Tally>>,
    scope: PhantomData<&'scope mut &'scope ()>,
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the task (inside a worker: running queued jobs meanwhile) and returns its
    /// value, its panic (`TaskError::Panicked`, the original payload), or
    /// `TaskError::Cancelled` if the executor dropped it unrun. A failure taken here is not
    /// resumed again by the scope.
    pub fn join(self) -> Result<T, TaskError> {
        if crate::worker::in_worker() {
            self.claim.run_inline();
        }
        let outcome = self.slot.wait_until(|s| match s {
            Slot::Pending => None,
            _ => Some(std::mem::replace(s, Slot::Taken)),
        });
        match outcome {
            Slot::Done(value) => Ok(value),
            Slot::Failed { index, cancelled } => {
                let payload = self.tally.with(|t| t.failures[index].take());
                match (cancelled, payload) {
                    (false, Some(payload)) => Err(TaskError::Panicked(payload.into())),
                    _ => Err(TaskError::Cancelled),
                }
            }
            Slot::Pending | Slot::Taken => unreachable!("a handle takes its result once"),
        }
    }

    /// `true` once the task ended (completed, panicked or cancelled).
    pub fn is_finished(&self) -> bool {
        self.slot.with(|s| !matches!(s, Slot::Pending))
    }
}
