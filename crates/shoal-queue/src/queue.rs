//! The shared job queue, behind one small internal interface with two implementations:
//! crossbeam-channel in normal builds, and a `Mutex<VecDeque>` stand-in under `cfg(shoal_loom)`
//! and `cfg(shoal_shuttle)` (crossbeam parks with std's `thread::park`, which neither model
//! checker can see; see LOOM.md). Everything above this file is the pool's own protocol,
//! which loom checks.
//!
//! Workers never block inside the queue: they only `try_pop`, and sleep in the pool's own
//! parking protocol (`shoal_core::sleep`), which decides whom a new job wakes. The channel's own
//! wake-up machinery is then never armed on the receiving side, so a push costs the channel
//! one load of its (empty) waiter list, not a lock. Only an outside submitter that waits for
//! room in a full bounded queue blocks in the channel.
//!
//! So the queue carries no wake tokens either: a wake-up for a worker's own state (its
//! mailbox, a shrink below its index, the seal) is a flag the worker checks under the sleep
//! lock, and no worker can take another's (`Registry::must_look`).

use shoal_core::Job;

pub(crate) enum PushError {
    /// The bounded queue is full; the job comes back.
    Full(Job),
    /// Intake was closed; the job comes back.
    #[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
    Closed(Job),
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
mod imp {
    use super::PushError;
    use crossbeam_channel::{self as channel, Receiver, Select, Sender, TrySendError};
    use shoal_core::sync::{lock, Mutex};
    use shoal_core::Job;

    pub(crate) struct JobQueue {
        jobs_tx: Sender<Job>,
        jobs_rx: Receiver<Job>,
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
        pub(crate) fn try_push(&self, job: Job) -> Result<(), PushError> {
            self.jobs_tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(job) => PushError::Full(job),
                // The pool holds both ends, so the channel never disconnects.
                TrySendError::Disconnected(job) => PushError::Closed(job),
            })
        }

        /// Waits for room; gives the job back if intake closes first.
        pub(crate) fn push_blocking(&self, job: Job) -> Result<(), Job> {
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
        pub(crate) fn try_pop(&self) -> Option<Job> {
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
    use shoal_core::sync::{lock, Condvar, Mutex};
    use shoal_core::Job;
    use std::collections::VecDeque;

    struct State {
        jobs: VecDeque<Job>,
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

        pub(crate) fn try_push(&self, job: Job) -> Result<(), PushError> {
            let mut s = lock(&self.state);
            if s.jobs.len() >= self.capacity {
                return Err(PushError::Full(job));
            }
            s.jobs.push_back(job);
            Ok(())
        }

        pub(crate) fn push_blocking(&self, job: Job) -> Result<(), Job> {
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

        pub(crate) fn try_pop(&self) -> Option<Job> {
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

pub(crate) use imp::JobQueue;
