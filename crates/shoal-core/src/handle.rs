//! `JoinHandle`: the typed result of one spawned job.
//!
//! A spawned job carries a [`Completer`]; the caller keeps the [`JoinHandle`]. Both point at
//! one slot. The completer fills it exactly once: with the value, with the panic payload, or,
//! if the job is dropped unrun (a shutdown cancelled it, or the pool refused it), with
//! [`TaskError::Cancelled`] from its destructor. So a handle always ends with an answer.
//!
//! ## Waiting: blocked, or as a future
//!
//! The slot is a [`Waitable`]: a mutex around the state, and a condition variable that the
//! completer signals only when a thread blocks in [`JoinHandle::join`]. The handle is also a
//! [`Future`]: a task that polls it early leaves its [`Waker`] in the slot, and the completer
//! wakes it. No wake-up is lost, because both sides act under the slot's one lock:
//!
//! 1. `poll` locks the slot. Finished: it takes the result. Pending: it stores the waker
//!    (replacing an older one that would not wake the same task), and unlocks.
//! 2. The completer locks the slot, stores the result, takes the waker out, unlocks, then
//!    wakes it (outside the lock: a waker is foreign code).
//!
//! The lock orders the two. If step 2 comes first, step 1 finds the result. If step 1 comes
//! first, step 2 finds the waker. There is no moment between `poll`'s check and its
//! registration that step 2 can slip into. A job dropped unrun completes with `Cancelled`
//! through the same step 2, so its future wakes too. The loom model `future_wakes_on_*` in
//! `tests/loom.rs` checks both orders.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::claim::{CancelOutcome, ClaimCell};
use crate::error::{panic_message, TaskError};
use crate::sync::Arc;
use crate::wait::Waitable;
use crate::worker;

enum State<T> {
    Pending,
    Done(Result<T, TaskError>),
    Taken,
}

/// The slot a completer fills and a handle reads.
struct Slot<T> {
    state: State<T>,
    /// The task that polled the handle last, while the job had not finished.
    waker: Option<Waker>,
}

impl<T> Slot<T> {
    /// Takes the result, if it is there.
    fn take(&mut self) -> Option<Result<T, TaskError>> {
        match self.state {
            State::Pending => None,
            State::Done(_) => match std::mem::replace(&mut self.state, State::Taken) {
                State::Done(r) => Some(r),
                _ => unreachable!("state was Done"),
            },
            State::Taken => panic!(
                "JoinHandle: the result was already taken (a handle polled again after it \
                 returned Ready)"
            ),
        }
    }
}

/// Creates a connected completer/handle pair.
pub fn pair<T>() -> (Completer<T>, JoinHandle<T>) {
    let slot = Arc::new(Waitable::new(Slot {
        state: State::Pending,
        waker: None,
    }));
    (
        Completer {
            slot: Some(slot.clone()),
        },
        JoinHandle { slot, claim: None },
    )
}

/// The sending half, moved into the job.
pub struct Completer<T> {
    slot: Option<Arc<Waitable<Slot<T>>>>,
}

impl<T> fmt::Debug for Completer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer").finish_non_exhaustive()
    }
}

impl<T> Completer<T> {
    /// Runs `f`, stores its value or panic in the slot.
    ///
    /// A panic is caught, its payload stored for the handle, and the panic resumed with a
    /// `String` copy of the message so that the pool counts it and its `panic_handler` sees it.
    pub fn run<F: FnOnce() -> T>(mut self, f: F) {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => self.complete(Ok(value)),
            Err(payload) => {
                let message = panic_message(payload.as_ref())
                    .unwrap_or("<non-string panic payload>")
                    .to_owned();
                self.complete(Err(TaskError::Panicked(payload.into())));
                resume_unwind(Box::new(message));
            }
        }
    }

    /// Fills the slot and wakes whoever waits: a thread in `join`, or the task that polled
    /// the handle as a future. Later calls and the destructor do nothing.
    ///
    /// With the handle already dropped, the result is dropped here: a panic from its
    /// destructor unwinds from this call, after the slot was filled, so the pool running the
    /// job counts it as panicked (the job ran; it was not cancelled).
    pub fn complete(&mut self, result: Result<T, TaskError>) {
        if let Some(slot) = self.slot.take() {
            let waker = slot.update(|s| {
                s.state = State::Done(result);
                s.waker.take()
            });
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        self.complete(Err(TaskError::Cancelled));
    }
}

/// The result of a job started with [`ExecutorExt::spawn`](crate::ExecutorExt::spawn).
///
/// Wait for it blocked with [`join`](JoinHandle::join), or `.await` it: the handle is a
/// [`Future`] with the same output, on any async runtime. Awaiting never blocks the runtime's
/// thread: the job runs on the pool, and the task is woken when it finished, panicked, or was
/// cancelled (dropped unrun by a shutdown).
///
/// ```
/// # use shoal_core::*;
/// # struct Threads;
/// # impl Executor for Threads {
/// #     fn execute(&self, job: Job) -> Result<(), Rejected> { std::thread::spawn(job); Ok(()) }
/// #     fn try_execute(&self, job: Job) -> Result<(), Rejected> { self.execute(job) }
/// #     fn workers(&self) -> usize { 1 }
/// #     fn resize(&self, _: usize) -> Result<(), ResizeError> { Ok(()) }
/// #     fn shutdown(&self, _: Shutdown) -> ShutdownReport { ShutdownReport::default() }
/// #     fn metrics(&self) -> Metrics { Metrics::default() }
/// # }
/// # let pool = Threads;
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct Unpark(std::thread::Thread);
/// #     impl Wake for Unpark { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
/// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
/// #             Poll::Ready(v) => return v,
/// #             Poll::Pending => std::thread::park(),
/// #         }
/// #     }
/// # }
/// // Any executor (here `block_on` stands for your runtime's).
/// let handle = pool.spawn(|| 6 * 7)?;
/// let answer = block_on(async { handle.await });
/// assert_eq!(answer.unwrap(), 42);
/// # Ok::<(), Rejected>(())
/// ```
///
/// Polling a handle again after it returned `Ready` panics, as most futures do. Inside a
/// worker of a shoal pool, prefer `join`: it runs queued jobs while it waits, where a runtime
/// blocked on the future would only wait.
///
/// Dropping the handle detaches the job: it still runs, its result is dropped.
pub struct JoinHandle<T> {
    slot: Arc<Waitable<Slot<T>>>,
    /// The queued job, when it was spawned claimable: `join` inside a worker runs it here if
    /// nobody has started it (see `claim.rs`).
    claim: Option<Arc<ClaimCell>>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// Attaches the claim cell of the handle's queued job.
    pub(crate) fn with_claim(mut self, claim: Arc<ClaimCell>) -> Self {
        self.claim = Some(claim);
        self
    }

    /// Waits for the job and returns its value, or why there is none.
    ///
    /// Called from inside a worker of any shoal pool, the wait runs other queued jobs of that
    /// pool meanwhile, so a job waiting on another job cannot deadlock the pool.
    pub fn join(self) -> Result<T, TaskError> {
        if let Some(claim) = &self.claim {
            if worker::in_worker() {
                // Depth-first, like a plain call: run the job we wait for ourselves rather
                // than wait for a worker to reach it.
                claim.run_inline();
            }
        }
        self.slot.wait_until(Slot::take)
    }

    /// Returns the result if the job has finished, or the handle back if it has not.
    pub fn try_join(self) -> Result<Result<T, TaskError>, JoinHandle<T>> {
        match self.slot.with(Slot::take) {
            Some(r) => Ok(r),
            None => Err(self),
        }
    }

    /// `true` once the job has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.slot.with(|s| !matches!(s.state, State::Pending))
    }

    /// Cancels the job if it is still queued: it is taken out and dropped unrun, the pool
    /// counts it as cancelled, and [`join`](Self::join) gives
    /// [`TaskError::Cancelled`] at once. A job that has started
    /// is never interrupted, and one that has ended stays as it ended: the outcome says which.
    ///
    /// The job's captured values are dropped on the calling thread (a panic in their
    /// destructors is caught and discarded). The pool counts the cancellation in
    /// `metrics().cancelled` when the job's empty place in the queue comes up, or when a
    /// shutdown drops the queue; until then it still shows in `metrics().queued`.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::{CancelOutcome, ExecutorExt};
    /// let handle = pool.spawn(|| 6 * 7).expect("the pool is running");
    /// match handle.cancel() {
    ///     CancelOutcome::Cancelled => assert!(handle.join().unwrap_err().is_cancelled()),
    ///     _ => assert_eq!(handle.join().unwrap(), 42), // too late: it ran, or runs now
    /// }
    /// # }
    /// ```
    pub fn cancel(&self) -> CancelOutcome {
        if self.claim.as_ref().is_some_and(|claim| claim.cancel()) {
            return CancelOutcome::Cancelled;
        }
        if self.is_finished() {
            CancelOutcome::Finished
        } else {
            CancelOutcome::Running
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, TaskError>;

    /// Ready with the job's result once it finished, panicked or was cancelled; until then
    /// `Pending`, with the task's waker left for the completer (see the module docs for why
    /// no wake-up is lost). Never blocks and never runs the job here.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.slot.with(|s| {
            if let Some(result) = s.take() {
                return Poll::Ready(result);
            }
            match &s.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => s.waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
    }
}
