//! `JoinHandle`: the typed result of one spawned job.
//!
//! A spawned job carries a [`Completer`]; the caller keeps the [`JoinHandle`]. Both point at
//! one slot. The completer fills it exactly once: with the value, with the panic payload, or,
//! if the job is dropped unrun (a shutdown cancelled it, or the pool refused it), with
//! [`TaskError::Cancelled`] from its destructor. So a handle always ends with an answer.

use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

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

/// Creates a connected completer/handle pair.
pub fn pair<T>() -> (Completer<T>, JoinHandle<T>) {
    let slot = Arc::new(Waitable::new(State::Pending));
    (
        Completer {
            slot: Some(slot.clone()),
        },
        JoinHandle { slot, claim: None },
    )
}

/// The sending half, moved into the job.
pub struct Completer<T> {
    slot: Option<Arc<Waitable<State<T>>>>,
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
                self.complete(Err(TaskError::Panicked(payload)));
                resume_unwind(Box::new(message));
            }
        }
    }

    /// Fills the slot. Later calls and the destructor do nothing.
    ///
    /// With the handle already dropped, the result is dropped here: a panic from its
    /// destructor unwinds from this call, after the slot was filled, so the pool running the
    /// job counts it as panicked (the job ran; it was not cancelled).
    pub fn complete(&mut self, result: Result<T, TaskError>) {
        if let Some(slot) = self.slot.take() {
            slot.update(|s| *s = State::Done(result));
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
/// Dropping the handle detaches the job: it still runs, its result is dropped.
pub struct JoinHandle<T> {
    slot: Arc<Waitable<State<T>>>,
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
        self.slot.wait_until(|s| match s {
            State::Pending => None,
            State::Done(_) => match std::mem::replace(s, State::Taken) {
                State::Done(r) => Some(r),
                _ => unreachable!("state was Done"),
            },
            State::Taken => unreachable!("a JoinHandle takes its result once"),
        })
    }

    /// Returns the result if the job has finished, or the handle back if it has not.
    pub fn try_join(self) -> Result<Result<T, TaskError>, JoinHandle<T>> {
        let taken = self.slot.with(|s| match s {
            State::Done(_) => match std::mem::replace(s, State::Taken) {
                State::Done(r) => Some(r),
                _ => None,
            },
            _ => None,
        });
        match taken {
            Some(r) => Ok(r),
            None => Err(self),
        }
    }

    /// `true` once the job has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.slot.with(|s| !matches!(s, State::Pending))
    }

    /// Cancels the job if it is still queued: it is taken out and dropped unrun, the pool
    /// counts it as cancelled, and [`join`](Self::join) gives
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled) at once. A job that has started
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
