//! Claimable jobs: a queued job its waiter may take back and run itself.
//!
//! Helping by running *any* queued job is enough to avoid deadlock, but on a FIFO queue it is
//! breadth-first: the helper takes the oldest job, which forks and waits in turn, which helps
//! with the next oldest... and the helper's stack grows with the number of queued jobs, not
//! with the depth of the computation (a `fib(20)` of spawn-and-join overflowed a 2 MiB worker
//! stack that way). rayon's answer is to pop the very job you wait for back off your own deque.
//! A shared queue cannot remove one entry from its middle, so shoal does the equivalent with an
//! indirection: the queue holds an [`Entry`] pointing at a [`ClaimCell`] that holds the job, and
//! the job's waiter holds the cell too. Whoever comes first takes the job out of the cell:
//!
//! ```text
//!   queue: [ .. Entry ─┐ .. ]          waiter (JoinHandle::join / scope end, inside a worker)
//!                      ▼                       │
//!                 ClaimCell: Queued(job) ◀─────┘ run_inline(): Queued → Running → Finished
//!   worker pops Entry: Queued → run it here; Running → account now, return at once;
//!                      Finished → account the panic, if any; nothing to run
//! ```
//!
//! So a waiter runs exactly the work it waits for, depth-first, like sequential code, and its
//! stack grows only with the depth of the computation. The pool still counts every job once, when
//! its entry comes off the queue: an entry whose job panicked inline re-raises the message so the
//! pool counts the panic and shows it to its `panic_handler`. The entry never waits for an inline
//! run in progress (that wait can deadlock, see `Entry::run`); in that one narrow case a panic
//! reaches the job's handle but not the pool's `panicked` counter.
//!
//! **Cancelling** ([`JoinHandle::cancel`](crate::JoinHandle::cancel)) is the same claim with
//! the job dropped instead of run: `Queued → Cancelled`, the closure dropped on the cancelling
//! thread (its completer tells the handle `Cancelled`). The entry stays in the queue, empty;
//! the worker that pops it runs nothing and tells `run_job` so (a thread-local flag,
//! [`take_skipped`]), which counts it as cancelled, once, when it leaves the queue like every
//! other job. A shutdown that drops the queue drops the empty entry and counts it the same
//! way. Whoever changes the state first wins, under the cell's lock: a cancel after the worker
//! took the job (`Consumed`, or `Running` inline) interrupts nothing and says so.

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::error::panic_message;
use crate::job::Task;
use crate::sync::{thread_local, Arc};
use crate::unwind::drop_quietly;
use crate::wait::Waitable;

enum State {
    /// Nobody has started the job.
    Queued(Task),
    /// A waiter took it and runs it now.
    Running,
    /// A waiter ran it; the panic message, if it panicked.
    Finished(Option<String>),
    /// Its handle cancelled it while queued; the job was dropped unrun.
    Cancelled,
    /// The entry came off the queue and accounted for the job (or dropped it unrun).
    Consumed,
}

/// The shared home of one claimable job.
pub(crate) struct ClaimCell {
    state: Waitable<State>,
}

/// Wraps `job` so that the returned handle can run it inline if no worker has started it.
/// The returned [`Task`] is what goes into the queue (one `Arc`: it travels unboxed).
pub(crate) fn claimable(job: Task) -> (Task, Arc<ClaimCell>) {
    let cell = Arc::new(ClaimCell {
        state: Waitable::new(State::Queued(job)),
    });
    let entry = Entry(cell.clone());
    (Task::new(move || entry.run()), cell)
}

impl ClaimCell {
    /// Runs the job on the calling thread if nobody has started it. Returns `true` if it ran
    /// here. A panic of the job is caught (the job's own completion recorded its payload).
    pub(crate) fn run_inline(&self) -> bool {
        let job = self
            .state
            .with(|s| match std::mem::replace(s, State::Running) {
                State::Queued(job) => Some(job),
                other => {
                    *s = other;
                    None
                }
            });
        let Some(job) = job else { return false };
        let panic = catch_unwind(AssertUnwindSafe(|| job.run()))
            .err()
            .map(|payload| {
                let message = panic_message(payload.as_ref())
                    .unwrap_or("<non-string panic payload>")
                    .to_owned();
                drop_quietly(payload);
                message
            });
        self.state.update(|s| {
            // `Consumed`: the entry already left the queue and accounted for the job.
            if !matches!(s, State::Consumed) {
                *s = State::Finished(panic);
            }
        });
        true
    }
}

/// What [`JoinHandle::cancel`](crate::JoinHandle::cancel) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "the job is only stopped if the outcome says `Cancelled`"]
#[non_exhaustive]
pub enum CancelOutcome {
    /// The job was still queued: it will never run, its handle's `join` gives
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled), and the pool counts it in
    /// `cancelled` when its empty place in the queue comes up (or a shutdown drops the queue).
    /// Cancelling again says `Cancelled` again.
    Cancelled,
    /// The job has started (or the handle cannot reach it: a handle from
    /// [`handle_pair`](crate::handle_pair)) and has not finished. It is not interrupted.
    Running,
    /// The job has ended: completed, panicked, or dropped unrun by a shutdown.
    Finished,
}

impl CancelOutcome {
    /// `true` when the job will never run.
    pub fn is_cancelled(self) -> bool {
        self == CancelOutcome::Cancelled
    }
}

impl ClaimCell {
    /// Takes the job out and drops it, if nobody has started it. `true`: the job is cancelled
    /// (now, or by an earlier call); `false`: it was taken (it runs or ran, which the caller
    /// tells from the handle).
    pub(crate) fn cancel(&self) -> bool {
        let job = self.state.with(|s| match s {
            State::Queued(_) => match std::mem::replace(s, State::Cancelled) {
                State::Queued(job) => Some(Some(job)),
                _ => unreachable!("the state was Queued"),
            },
            State::Cancelled => Some(None),
            _ => None,
        });
        match job {
            // Dropped outside the lock: its completer fills the handle's slot with
            // `Cancelled`, and its captures' destructors may panic (quietly, then).
            Some(job) => {
                drop_quietly(job);
                true
            }
            None => false,
        }
    }
}

#[cfg(not(shoal_loom))]
thread_local! {
    static SKIPPED: Cell<bool> = const { Cell::new(false) };
}

#[cfg(shoal_loom)]
thread_local! {
    static SKIPPED: Cell<bool> = Cell::new(false);
}

/// `true` (once) when the job that just returned on this thread was the empty entry of a
/// cancelled job: [`run_job`](crate::worker::run_job) then counts it as cancelled, not
/// completed.
#[inline]
pub(crate) fn take_skipped() -> bool {
    // Read first: the common answer, `false`, costs no write.
    SKIPPED
        .try_with(|s| s.get() && s.replace(false))
        .unwrap_or(false)
}

/// The queue's side of a claimable job.
struct Entry(Arc<ClaimCell>);

impl Entry {
    fn run(self) {
        // Never wait here for a job a waiter is running inline: this worker may hold, lower
        // on its own stack, the very job that inline run waits for (W0 runs C, which helps and
        // pops X's entry; X runs inline on W1 and waits for C), and waiting would close the
        // cycle. The entry just hands the accounting over and returns.
        let state = self.0.state.with(|s| std::mem::replace(s, State::Consumed));
        match state {
            State::Queued(job) => job.run(),
            State::Cancelled => {
                // Nothing to run: tell `run_job` so it counts a cancellation.
                let _ = SKIPPED.try_with(|s| s.set(true));
            }
            State::Finished(Some(message)) => resume_unwind(Box::new(message)),
            State::Running => {
                // Still running inline: the pool counts the job now. If it then panics, the
                // panic reaches its handle (and the scope), but this pool's `panicked` counter
                // and `panic_handler` do not see it: the one case where a panic is reported to
                // the waiter only. `run_inline` sees `Consumed` and keeps the message.
            }
            State::Finished(None) | State::Consumed => {}
        }
    }
}

impl Drop for Entry {
    /// Dropped unrun (a shutdown cancelled it): drop the job now, so its completion reports
    /// `Cancelled` to the waiter instead of leaving it waiting.
    fn drop(&mut self) {
        let state = self.0.state.update(|s| match s {
            State::Queued(_) => std::mem::replace(s, State::Consumed),
            _ => State::Consumed,
        });
        drop(state);
    }
}
