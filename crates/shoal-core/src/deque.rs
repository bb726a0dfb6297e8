//! Work-stealing queues of jobs (as [`Task`]s): the work-stealing pool's injector and deques,
//! and the deques `ScopedPool` keeps for the jobs its workers submit. Three kinds of queue
//! behind one small interface with two implementations: crossbeam-deque in normal builds, and
//! `Mutex<VecDeque>` stand-ins under `cfg(shoal_loom)` and `cfg(shoal_shuttle)`.
//!
//! crossbeam-deque has no loom support, so under loom the queues are plain locked deques with
//! the same methods and the same LIFO/FIFO ends. loom then checks what the pools add on top
//! (parking, wake-ups, shutdown, resize, accounting); crossbeam's own tests cover the deques.
//!
//! - [`Injector`]: the global FIFO queue for jobs submitted from outside the pool.
//! - [`Local`]: one per worker; its owner pushes and pops at the back (LIFO: the job spawned
//!   last is hottest in cache), thieves take from the front (the oldest, usually biggest job).
//! - [`Stealer`]: the thieves' handle on a [`Local`].
//! - [`Stealers`]: the list of a pool's stealers, which changes as the pool resizes.

mod stealers;

pub use stealers::{Entry, Siblings, Snapshot, Stealers};

use crate::Task;

/// The outcome of one steal attempt.
pub enum Steal {
    /// The queue was empty.
    Empty,
    /// A job, taken.
    Success(Task),
    /// Lost a race with another thief or the owner; trying again may succeed.
    #[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
    Retry,
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
mod imp {
    use super::Steal;
    use crate::Task;
    use crossbeam_deque as cd;

    #[inline]
    fn convert(s: cd::Steal<Task>) -> Steal {
        match s {
            cd::Steal::Empty => Steal::Empty,
            cd::Steal::Success(job) => Steal::Success(job),
            cd::Steal::Retry => Steal::Retry,
        }
    }

    /// The global FIFO queue of a pool's jobs from outside.
    pub struct Injector(cd::Injector<Task>);

    impl Injector {
        /// An empty queue.
        pub fn new() -> Injector {
            Injector(cd::Injector::new())
        }

        /// Adds a job (at the back).
        #[inline]
        pub fn push(&self, job: Task) {
            self.0.push(job);
        }

        /// Takes a batch (about half, at most 32) into `dest` and returns one of them.
        #[inline]
        pub fn steal_batch_and_pop(&self, dest: &Local) -> Steal {
            convert(self.0.steal_batch_and_pop(&dest.0))
        }

        /// Takes one job from the front.
        pub fn steal(&self) -> Steal {
            convert(self.0.steal())
        }

        /// Jobs in the queue now (a snapshot).
        pub fn len(&self) -> usize {
            self.0.len()
        }

        /// `true` when the queue holds no job (a snapshot).
        #[inline]
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    /// One worker's deque: its owner pushes and pops at the back, thieves take from the front.
    pub struct Local(cd::Worker<Task>);

    impl Local {
        /// An empty queue.
        pub fn new() -> Local {
            Local(cd::Worker::new_lifo())
        }

        /// A handle for thieves.
        pub fn stealer(&self) -> Stealer {
            Stealer(self.0.stealer())
        }

        /// Adds a job (at the back).
        #[inline]
        pub fn push(&self, job: Task) {
            self.0.push(job);
        }

        /// The owner takes the job it pushed last.
        #[inline]
        pub fn pop(&self) -> Option<Task> {
            self.0.pop()
        }

        /// Jobs in the queue now (a snapshot).
        #[inline]
        pub fn len(&self) -> usize {
            self.0.len()
        }

        /// `true` when the queue holds no job.
        #[inline]
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    /// A thieves' handle on a [`Local`]: clone it freely; it outlives the deque's owner.
    #[derive(Clone)]
    pub struct Stealer(cd::Stealer<Task>);

    impl Stealer {
        /// Takes about half of the victim's jobs into `dest` and returns one of them.
        #[inline]
        pub fn steal_batch_and_pop(&self, dest: &Local) -> Steal {
            convert(self.0.steal_batch_and_pop(&dest.0))
        }

        /// Takes one job from the front.
        pub fn steal(&self) -> Steal {
            convert(self.0.steal())
        }

        /// `true` when the queue holds no job (a snapshot).
        #[inline]
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// Jobs in the queue now (a snapshot).
        pub fn len(&self) -> usize {
            self.0.len()
        }
    }
}

#[cfg(any(shoal_loom, shoal_shuttle))]
mod imp {
    use super::Steal;
    use crate::sync::{lock, Arc, Mutex};
    use crate::Task;
    use std::collections::VecDeque;

    fn found(job: Option<Task>) -> Steal {
        match job {
            Some(job) => Steal::Success(job),
            None => Steal::Empty,
        }
    }

    /// The global FIFO queue of a pool's jobs from outside.
    pub struct Injector(Mutex<VecDeque<Task>>);

    impl Injector {
        /// An empty queue.
        pub fn new() -> Injector {
            Injector(Mutex::new(VecDeque::new()))
        }

        /// Adds a job (at the back).
        pub fn push(&self, job: Task) {
            lock(&self.0).push_back(job);
        }

        /// Takes the oldest job, and moves the next one (if any) into `dest`: a batch of two,
        /// enough for loom to see a batch land in a local deque.
        pub fn steal_batch_and_pop(&self, dest: &Local) -> Steal {
            let mut q = lock(&self.0);
            let first = q.pop_front();
            if first.is_some() {
                if let Some(next) = q.pop_front() {
                    drop(q);
                    dest.push(next);
                }
            }
            found(first)
        }

        /// Takes one job from the front.
        pub fn steal(&self) -> Steal {
            found(lock(&self.0).pop_front())
        }

        /// Jobs in the queue now (a snapshot).
        pub fn len(&self) -> usize {
            lock(&self.0).len()
        }

        /// `true` when the queue holds no job (a snapshot).
        pub fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }

    /// One worker's deque: its owner pushes and pops at the back, thieves take from the front.
    pub struct Local(Arc<Mutex<VecDeque<Task>>>);

    impl Local {
        /// An empty queue.
        pub fn new() -> Local {
            Local(Arc::new(Mutex::new(VecDeque::new())))
        }

        /// A handle for thieves.
        pub fn stealer(&self) -> Stealer {
            Stealer(self.0.clone())
        }

        /// Adds a job (at the back).
        pub fn push(&self, job: Task) {
            lock(&self.0).push_back(job);
        }

        /// The owner takes the job it pushed last.
        pub fn pop(&self) -> Option<Task> {
            lock(&self.0).pop_back()
        }

        /// Jobs in the queue now (a snapshot).
        pub fn len(&self) -> usize {
            lock(&self.0).len()
        }

        /// `true` when the queue holds no job.
        pub fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }

    /// A thieves' handle on a [`Local`]: clone it freely; it outlives the deque's owner.
    #[derive(Clone)]
    pub struct Stealer(Arc<Mutex<VecDeque<Task>>>);

    impl Stealer {
        /// Takes the oldest job (a batch of one under loom).
        pub fn steal_batch_and_pop(&self, _dest: &Local) -> Steal {
            self.steal()
        }

        /// Takes one job from the front.
        pub fn steal(&self) -> Steal {
            found(lock(&self.0).pop_front())
        }

        /// `true` when the queue holds no job (a snapshot).
        pub fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }

        /// Jobs in the queue now (a snapshot).
        pub fn len(&self) -> usize {
            lock(&self.0).len()
        }
    }
}

pub use imp::{Injector, Local, Stealer};

impl Injector {
    /// Drops every job in the queue unrun, counted as cancelled (`Shutdown::Now`).
    pub fn cancel_all(&self, counters: &crate::Counters) {
        cancel_each(|| self.steal(), counters);
    }
}

impl Local {
    /// Drops every job left in the deque unrun, counted as cancelled: what a worker that
    /// leaves by an unwind (a bug) does with its jobs, so none is lost uncounted.
    pub fn cancel_all(&self, counters: &crate::Counters) {
        while let Some(job) = self.pop() {
            crate::worker::cancel_job(job, counters);
        }
    }
}

/// Takes jobs with `steal` until it finds the queue empty, and cancels each (counted).
fn cancel_each(mut steal: impl FnMut() -> Steal, counters: &crate::Counters) {
    loop {
        match steal() {
            Steal::Success(job) => crate::worker::cancel_job(job, counters),
            Steal::Empty => break,
            Steal::Retry => crate::sync::spin_loop(),
        }
    }
}

impl Default for Injector {
    fn default() -> Injector {
        Injector::new()
    }
}

impl Default for Local {
    fn default() -> Local {
        Local::new()
    }
}

impl std::fmt::Debug for Steal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Steal::Empty => "Empty",
            Steal::Success(_) => "Success(..)",
            Steal::Retry => "Retry",
        })
    }
}

impl std::fmt::Debug for Injector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injector")
            .field("len", &self.len())
            .finish()
    }
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("len", &self.len()).finish()
    }
}

impl std::fmt::Debug for Stealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stealer").field("len", &self.len()).finish()
    }
}
