//! The shared FIFO queue of jobs (as [`Task`]s) with its intake gate: all of the shared-queue pool's
//! queue, and the queue of `ScopedPool`'s `Executor` side (jobs submitted with `execute`).
//! One type, so that both pools submit, refuse, bound, close, cancel and count their jobs the
//! same way.
//!
//! # The queue
//! crossbeam-channel in normal builds, and a `Mutex<VecDeque>` stand-in under `cfg(shoal_loom)`
//! and `cfg(shoal_shuttle)` (crossbeam parks with std's `thread::park`, which neither model
//! checker can see; see LOOM.md). Everything around it is the pools' own protocol, which loom
//! checks.
//!
//! Workers never block inside the queue: they only [`try_pop`](SharedQueue::try_pop), and
//! sleep in their pool's parking protocol, which decides whom a new job wakes. The channel's
//! own wake-up machinery is then never armed on the receiving side, so a push costs the
//! channel one load of its (empty) waiter list, not a lock. Only an outside submitter that
//! waits for room in a full bounded queue blocks in the channel. A push is a lock-free
//! read-modify-write on the channel's tail, so submitters on many threads do not queue up
//! behind one mutex.
//!
//! # The gate
//! A submission is in flight ([`Intake`]) from before its push until after it; closing waits
//! until none is, so after [`SharedQueue::close`] every accepted job is in the queue and an
//! empty queue stays empty. The in-flight marks also count the accepted jobs, so a submit
//! needs no counter of its own ([`SharedQueue::snapshot`]).

use crate::intake::Intake;
use crate::lifecycle::Workers;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::thread;
use crate::worker::{cancel_job, is_worker_of, run_job};
use crate::{Counters, Metrics, PanicHandler, RejectReason, Rejected, Task};

enum PushError {
    /// The bounded queue is full; the job comes back.
    Full(Task),
    /// Intake was closed; the job comes back.
    #[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
    Closed(Task),
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
mod imp {
    use super::PushError;
    use crate::sync::{lock, Mutex};
    use crate::Task;
    use crossbeam_channel::{self as channel, Receiver, Select, Sender, TrySendError};

    pub(crate) struct JobQueue {
        jobs_tx: Sender<Task>,
        jobs_rx: Receiver<Task>,
        /// Dropped by `close_intake`, which disconnects `closed_rx` and so wakes every
        /// submitter blocked on a full queue.
        closed_tx: Mutex<Option<Sender<()>>>,
        closed_rx: Receiver<()>,
    }

    impl JobQueue {
        pub(crate) fn new(capacity: Option<usize>) -> JobQueue {
            let (jobs_tx, jobs_rx) = match capacity {
                Some(c) => channel::bounded(c),
                None => channel::unbounded(),
            };
            let (closed_tx, closed_rx) = channel::bounded(0);
            JobQueue {
                jobs_tx,
                jobs_rx,
                closed_tx: Mutex::new(Some(closed_tx)),
                closed_rx,
            }
        }

        #[inline]
        pub(crate) fn try_push(&self, job: Task) -> Result<(), PushError> {
            self.jobs_tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(job) => PushError::Full(job),
                // The pool holds both ends, so the channel never disconnects.
                TrySendError::Disconnected(job) => PushError::Closed(job),
            })
        }

        /// Waits for room; gives the job back if intake closes first.
        pub(crate) fn push_blocking(&self, job: Task) -> Result<(), Task> {
            let job = match self.try_push(job) {
                Ok(()) => return Ok(()),
                Err(PushError::Full(job)) | Err(PushError::Closed(job)) => job,
            };
            let mut sel = Select::new();
            let send = sel.send(&self.jobs_tx);
            let closed = sel.recv(&self.closed_rx);
            let oper = sel.select();
            if oper.index() == send {
                oper.send(&self.jobs_tx, job).map_err(|e| e.into_inner())
            } else {
                debug_assert_eq!(oper.index(), closed);
                let _ = oper.recv(&self.closed_rx);
                Err(job)
            }
        }

        #[inline]
        pub(crate) fn try_pop(&self) -> Option<Task> {
            self.jobs_rx.try_recv().ok()
        }

        /// `true` when no job is queued (a snapshot).
        #[inline]
        pub(crate) fn is_empty(&self) -> bool {
            self.jobs_rx.is_empty()
        }

        pub(crate) fn close_intake(&self) {
            lock(&self.closed_tx).take();
        }

        pub(crate) fn len(&self) -> usize {
            self.jobs_rx.len()
        }
    }
}

#[cfg(any(shoal_loom, shoal_shuttle))]
mod imp {
    use super::PushError;
    use crate::sync::{lock, Condvar, Mutex};
    use crate::Task;
    use std::collections::VecDeque;

    struct State {
        jobs: VecDeque<Task>,
        closed: bool,
    }

    pub(crate) struct JobQueue {
        state: Mutex<State>,
        capacity: usize,
        not_full: Condvar,
    }

    impl JobQueue {
        pub(crate) fn new(capacity: Option<usize>) -> JobQueue {
            JobQueue {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    closed: false,
                }),
                capacity: capacity.unwrap_or(usize::MAX),
                not_full: Condvar::new(),
            }
        }

        pub(crate) fn try_push(&self, job: Task) -> Result<(), PushError> {
            let mut s = lock(&self.state);
            if s.jobs.len() >= self.capacity {
                return Err(PushError::Full(job));
            }
            s.jobs.push_back(job);
            Ok(())
        }

        pub(crate) fn push_blocking(&self, job: Task) -> Result<(), Task> {
            let mut s = lock(&self.state);
            loop {
                if s.closed {
                    return Err(job);
                }
                if s.jobs.len() < self.capacity {
                    s.jobs.push_back(job);
                    return Ok(());
                }
                s = self.not_full.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        }

        pub(crate) fn try_pop(&self) -> Option<Task> {
            let job = lock(&self.state).jobs.pop_front();
            if job.is_some() {
                self.not_full.notify_one();
            }
            job
        }

        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.state).jobs.is_empty()
        }

        pub(crate) fn close_intake(&self) {
            lock(&self.state).closed = true;
            self.not_full.notify_all();
        }

        pub(crate) fn len(&self) -> usize {
            lock(&self.state).jobs.len()
        }
    }
}

use imp::JobQueue;

/// The queue and its gate; see the [module docs](self).
pub struct SharedQueue {
    queue: JobQueue,
    intake: Intake,
    /// Queued jobs are to be cancelled, not run (`Shutdown::Now`, or a passed deadline).
    cancel: AtomicBool,
}

impl std::fmt::Debug for SharedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedQueue")
            .field("len", &self.len())
            .field("intake", &self.intake)
            .finish_non_exhaustive()
    }
}

impl SharedQueue {
    /// An open, empty queue; `capacity` bounds it (its slots are reserved now).
    pub fn new(capacity: Option<usize>) -> SharedQueue {
        SharedQueue {
            queue: JobQueue::new(capacity),
            intake: Intake::new(),
            cancel: AtomicBool::new(false),
        }
    }

    /// The gate: whether intake is open, and the submissions in flight.
    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    /// Takes the oldest job, if any. Never blocks.
    #[inline]
    pub fn try_pop(&self) -> Option<Task> {
        self.queue.try_pop()
    }

    /// `true` when no job is queued (a snapshot). Reads the channel's head and tail with
    /// SeqCst loads, after the push's SeqCst read-modify-write: a sleep protocol may put it
    /// on either side of its fence (`shoal_core::sleep`).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Jobs queued now.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Submits `job` to `pool`'s queue. `blocking`: wait for room in a full bounded queue;
    /// on one of `pool`'s own workers (where every worker might be waiting) make room instead
    /// by running queued work through `help` (`true` if it ran something). After the push,
    /// `notify` wakes a worker (the pool's sleep protocol) while the job is still in flight.
    /// A refused job comes back in the error, counted as rejected.
    pub fn submit<P: Workers>(
        &self,
        pool: &P,
        counters: &Counters,
        job: Task,
        blocking: bool,
        help: impl FnMut() -> bool,
        notify: impl FnOnce(),
    ) -> Result<(), Rejected> {
        // The in-flight mark: shutdown waits for it before sealing the queue, so a job either
        // sees intake closed and is refused, or is in the queue before the seal.
        let Some(in_flight) = self.intake.enter() else {
            // The refused entry counted the job for `wait_idle` for a moment.
            pool.life().check_idle(pool);
            return refuse(counters, RejectReason::ShutDown, job);
        };
        let pushed = if blocking {
            self.push_blocking(pool.id(), job, help)
        } else {
            self.queue.try_push(job).map_err(|e| match e {
                PushError::Full(job) => (RejectReason::Full, job),
                PushError::Closed(job) => (RejectReason::ShutDown, job),
            })
        };
        match pushed {
            Ok(()) => {
                notify();
                // Leaving counts the job as accepted.
                drop(in_flight);
                Ok(())
            }
            Err((reason, job)) => {
                in_flight.refused();
                // The entry counted the job for `wait_idle` for a moment (`Intake::entered`):
                // the pool may be idle again now that it is undone.
                pool.life().check_idle(pool);
                refuse(counters, reason, job)
            }
        }
    }

    fn push_blocking(
        &self,
        pool_id: usize,
        job: Task,
        mut help: impl FnMut() -> bool,
    ) -> Result<(), (RejectReason, Task)> {
        if !is_worker_of(pool_id) {
            return self
                .queue
                .push_blocking(job)
                .map_err(|job| (RejectReason::ShutDown, job));
        }
        // Inside our own worker, waiting for room could deadlock (every worker might be
        // waiting): make room by running queued jobs instead.
        let mut job = job;
        loop {
            match self.queue.try_push(job) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(j)) => return Err((RejectReason::ShutDown, j)),
                Err(PushError::Full(j)) => {
                    job = j;
                    if self.intake.is_closed() {
                        return Err((RejectReason::ShutDown, job));
                    }
                    if !help() {
                        thread::yield_now();
                    }
                }
            }
        }
    }

    /// Moves jobs that were accepted (and counted) elsewhere into this queue: a retiring
    /// worker's own deque. Marks a submission in flight first, so that a shutdown starting now
    /// waits until the jobs are here; then asks `may_move` (the retirement's claim) and, if it
    /// agrees, pushes every job `next` yields. Returns `false`, having moved nothing, when
    /// intake is closed (the caller stays and drains instead) or `may_move` said no.
    pub fn requeue(
        &self,
        may_move: impl FnOnce() -> bool,
        mut next: impl FnMut() -> Option<Task>,
    ) -> bool {
        let Some(in_flight) = self.intake.enter() else {
            return false;
        };
        if !may_move() {
            in_flight.leave_uncounted();
            return false;
        }
        while let Some(mut job) = next() {
            // A bounded queue may be full for a moment: wait for a worker to take a job
            // (an accepted job is never dropped).
            while let Err(PushError::Full(j) | PushError::Closed(j)) = self.queue.try_push(job) {
                job = j;
                thread::yield_now();
            }
        }
        in_flight.leave_uncounted();
        true
    }

    /// Runs a job taken from this queue, or drops it unrun (counted as cancelled) once the
    /// queue was cancelled.
    #[inline]
    pub fn run(&self, job: Task, counters: &Counters, handler: Option<&PanicHandler>) {
        // ORDERING: Relaxed is enough: `cancel` only decides between running and dropping a
        // job; a job that misses the flag is run, which Shutdown::Now allows for jobs that
        // were already taken off the queue.
        if self.cancel.load(Ordering::Relaxed) {
            cancel_job(job, counters);
        } else {
            run_job(job, counters, handler);
        }
    }

    /// Closes intake and waits until no submission is still on its way in; from then on
    /// every accepted job is in the queue. With `cancel`, jobs taken from now on are dropped
    /// unrun. Submitters blocked on a full queue get their jobs back.
    pub fn close(&self, cancel: bool) {
        if cancel {
            // ORDERING: SeqCst like every flag store; see `run`.
            self.cancel.store(true, Ordering::SeqCst);
        }
        // Blocked submitters (in flight, waiting for room) give their jobs back as soon as
        // intake is closed; then no submission is left in flight.
        self.intake.close(|| self.queue.close_intake());
    }

    /// Drops every queued job unrun (counted as cancelled), and cancels the jobs taken from
    /// now on.
    pub fn cancel_queued(&self, counters: &Counters) {
        // ORDERING: SeqCst like every flag store; see `run`.
        self.cancel.store(true, Ordering::SeqCst);
        while let Some(job) = self.queue.try_pop() {
            cancel_job(job, counters);
        }
    }

    /// `counters`, with the submissions counted by the gate added in.
    pub fn snapshot(&self, counters: &Counters, workers: usize) -> Metrics {
        let mut m = counters.snapshot(workers);
        m.submitted += self.intake.accepted();
        m.queued = m
            .submitted
            .saturating_sub(m.running + m.completed + m.panicked + m.cancelled);
        m
    }

    /// Every job submitted here has ended, counting the submissions from their entry (before
    /// their push), not from their acceptance (after it): see `Intake::entered`.
    pub fn is_idle(&self, counters: &Counters) -> bool {
        let m = counters.snapshot(0);
        m.completed + m.panicked + m.cancelled >= m.submitted + self.intake.entered()
    }
}

fn refuse(counters: &Counters, reason: RejectReason, job: Task) -> Result<(), Rejected> {
    counters.add(crate::Event::Rejected, 1);
    Err(Rejected::new(reason, job.into_job()))
}
