//! The shared job queue, behind one small internal interface with two implementations:
//! crossbeam-channel in normal builds, and a `Mutex<VecDeque>` + `Condvar` stand-in under
//! `cfg(shoal_loom)` and `cfg(shoal_shuttle)` (crossbeam parks with std's `thread::park`, which
//! neither model checker can see; see LOOM.md). Everything above this file is the pool's own protocol, which loom checks.
//!
//! Besides jobs, the queue carries *wake tokens*, one channel per worker (keyed by worker
//! index, made when that index is first used): a blocked worker wakes for a job or for its own
//! token, and treats a token as "look at the pool's state" (a shrink, a shutdown, or a
//! broadcast job in its mailbox). [`JobQueue::wake_all`] leaves one token in every worker's
//! channel (a token already waiting there is enough), so no worker can take another's: a
//! broadcast must reach each worker, not just as many workers as there are tokens.

use shoal_core::Job;

/// What a blocked worker woke up for.
pub(crate) enum Popped {
    Job(Job),
    Wake,
}

pub(crate) enum PushError {
    /// The bounded queue is full; the job comes back.
    Full(Job),
    /// Intake was closed; the job comes back.
    #[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
    Closed(Job),
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
mod imp {
    use super::{Popped, PushError};
    use crossbeam_channel::{self as channel, Receiver, Select, Sender, TrySendError};
    use shoal_core::sync::{lock, Mutex};
    use shoal_core::Job;

    /// A worker's own wake channel (holds at most one token).
    pub(crate) type Waker = Receiver<()>;

    pub(crate) struct JobQueue {
        jobs_tx: Sender<Job>,
        jobs_rx: Receiver<Job>,
        /// One wake channel per worker index.
        wakers: Mutex<Vec<(Sender<()>, Receiver<()>)>>,
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
                wakers: Mutex::new(Vec::new()),
                closed_tx: Mutex::new(Some(closed_tx)),
                closed_rx,
            }
        }

        /// Worker `index`'s wake channel. A worker takes it before it first looks at the
        /// pool's state, so a `wake_all` after that look reaches it.
        pub(crate) fn waker(&self, index: usize) -> Waker {
            let mut wakers = lock(&self.wakers);
            while wakers.len() <= index {
                wakers.push(channel::bounded(1));
            }
            wakers[index].1.clone()
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

        /// Blocks until a job or a token on `waker` (the caller's own) arrives.
        pub(crate) fn pop(&self, waker: &Waker) -> Popped {
            let mut sel = Select::new();
            let jobs = sel.recv(&self.jobs_rx);
            let _wake = sel.recv(waker);
            let oper = sel.select();
            if oper.index() == jobs {
                match oper.recv(&self.jobs_rx) {
                    Ok(job) => Popped::Job(job),
                    Err(_) => Popped::Wake,
                }
            } else {
                let _ = oper.recv(waker);
                Popped::Wake
            }
        }

        /// Leaves a token in every worker's channel, so that each blocked worker wakes once
        /// and looks at the state the caller changed before this call.
        pub(crate) fn wake_all(&self) {
            for (tx, _) in lock(&self.wakers).iter() {
                // Full: a token already waits there, which is as good.
                let _ = tx.try_send(());
            }
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
    use super::{Popped, PushError};
    use shoal_core::sync::{lock, Condvar, Mutex};
    use shoal_core::Job;
    use std::collections::VecDeque;

    /// A worker's own wake flag: its index in `State::wakes`.
    pub(crate) type Waker = usize;

    struct State {
        jobs: VecDeque<Job>,
        /// One pending token per worker index.
        wakes: Vec<bool>,
        closed: bool,
    }

    pub(crate) struct JobQueue {
        state: Mutex<State>,
        capacity: usize,
        not_empty: Condvar,
        not_full: Condvar,
    }

    impl JobQueue {
        pub(crate) fn new(capacity: Option<usize>) -> JobQueue {
            JobQueue {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    wakes: Vec::new(),
                    closed: false,
                }),
                capacity: capacity.unwrap_or(usize::MAX),
                not_empty: Condvar::new(),
                not_full: Condvar::new(),
            }
        }

        pub(crate) fn try_push(&self, job: Job) -> Result<(), PushError> {
            let mut s = lock(&self.state);
            if s.jobs.len() >= self.capacity {
                return Err(PushError::Full(job));
            }
            s.jobs.push_back(job);
            drop(s);
            self.not_empty.notify_one();
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
                    drop(s);
                    self.not_empty.notify_one();
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

        pub(crate) fn waker(&self, index: usize) -> Waker {
            let mut s = lock(&self.state);
            if s.wakes.len() <= index {
                s.wakes.resize(index + 1, false);
            }
            index
        }

        pub(crate) fn pop(&self, waker: &Waker) -> Popped {
            let mut s = lock(&self.state);
            loop {
                if let Some(job) = s.jobs.pop_front() {
                    drop(s);
                    self.not_full.notify_one();
                    return Popped::Job(job);
                }
                if std::mem::take(&mut s.wakes[*waker]) {
                    return Popped::Wake;
                }
                s = self.not_empty.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        }

        pub(crate) fn wake_all(&self) {
            lock(&self.state).wakes.fill(true);
            self.not_empty.notify_all();
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
