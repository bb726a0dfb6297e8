//! The three kinds of job queue, behind one small internal interface with two implementations:
//! crossbeam-deque in normal builds, and `Mutex<VecDeque>` stand-ins under `cfg(shoal_loom)` and
//! `cfg(shoal_shuttle)`.
//!
//! crossbeam-deque has no loom support, so under loom the queues are plain locked deques with
//! the same methods and the same LIFO/FIFO ends. loom then checks what this crate adds on top
//! (parking, wake-ups, shutdown, resize, accounting); crossbeam's own tests cover the deques.
//!
//! - [`Injector`]: the global FIFO queue for jobs submitted from outside the pool.
//! - [`Local`]: one per worker; its owner pushes and pops at the back (LIFO: the job spawned
//!   last is hottest in cache), thieves take from the front (the oldest, usually biggest job).
//! - [`Stealer`]: the thieves' handle on a [`Local`].

use shoal_core::Task;

/// The outcome of one steal attempt.
pub(crate) enum Steal {
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
    use crossbeam_deque as cd;
    use shoal_core::Task;

    #[inline]
    fn convert(s: cd::Steal<Task>) -> Steal {
        match s {
            cd::Steal::Empty => Steal::Empty,
            cd::Steal::Success(job) => Steal::Success(job),
            cd::Steal::Retry => Steal::Retry,
        }
    }

    pub(crate) struct Injector(cd::Injector<Task>);

    impl Injector {
        pub(crate) fn new() -> Injector {
            Injector(cd::Injector::new())
        }

        #[inline]
        pub(crate) fn push(&self, job: Task) {
            self.0.push(job);
        }

        /// Takes a batch (about half, at most 32) into `dest` and returns one of them.
        #[inline]
        pub(crate) fn steal_batch_and_pop(&self, dest: &Local) -> Steal {
            convert(self.0.steal_batch_and_pop(&dest.0))
        }

        pub(crate) fn steal(&self) -> Steal {
            convert(self.0.steal())
        }

        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }

        #[inline]
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    pub(crate) struct Local(cd::Worker<Task>);

    impl Local {
        pub(crate) fn new() -> Local {
            Local(cd::Worker::new_lifo())
        }

        pub(crate) fn stealer(&self) -> Stealer {
            Stealer(self.0.stealer())
        }

        #[inline]
        pub(crate) fn push(&self, job: Task) {
            self.0.push(job);
        }

        #[inline]
        pub(crate) fn pop(&self) -> Option<Task> {
            self.0.pop()
        }

        #[inline]
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    #[derive(Clone)]
    pub(crate) struct Stealer(cd::Stealer<Task>);

    impl Stealer {
        /// Takes about half of the victim's jobs into `dest` and returns one of them.
        #[inline]
        pub(crate) fn steal_batch_and_pop(&self, dest: &Local) -> Steal {
            convert(self.0.steal_batch_and_pop(&dest.0))
        }

        pub(crate) fn steal(&self) -> Steal {
            convert(self.0.steal())
        }

        #[inline]
        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }
}

#[cfg(any(shoal_loom, shoal_shuttle))]
mod imp {
    use super::Steal;
    use shoal_core::sync::{lock, Arc, Mutex};
    use shoal_core::Task;
    use std::collections::VecDeque;

    fn found(job: Option<Task>) -> Steal {
        match job {
            Some(job) => Steal::Success(job),
            None => Steal::Empty,
        }
    }

    pub(crate) struct Injector(Mutex<VecDeque<Task>>);

    impl Injector {
        pub(crate) fn new() -> Injector {
            Injector(Mutex::new(VecDeque::new()))
        }

        pub(crate) fn push(&self, job: Task) {
            lock(&self.0).push_back(job);
        }

        /// Takes the oldest job, and moves the next one (if any) into `dest`: a batch of two,
        /// enough for loom to see a batch land in a local deque.
        pub(crate) fn steal_batch_and_pop(&self, dest: &Local) -> Steal {
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

        pub(crate) fn steal(&self) -> Steal {
            found(lock(&self.0).pop_front())
        }

        pub(crate) fn len(&self) -> usize {
            lock(&self.0).len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }

    pub(crate) struct Local(Arc<Mutex<VecDeque<Task>>>);

    impl Local {
        pub(crate) fn new() -> Local {
            Local(Arc::new(Mutex::new(VecDeque::new())))
        }

        pub(crate) fn stealer(&self) -> Stealer {
            Stealer(self.0.clone())
        }

        pub(crate) fn push(&self, job: Task) {
            lock(&self.0).push_back(job);
        }

        pub(crate) fn pop(&self) -> Option<Task> {
            lock(&self.0).pop_back()
        }

        pub(crate) fn len(&self) -> usize {
            lock(&self.0).len()
        }
    }

    #[derive(Clone)]
    pub(crate) struct Stealer(Arc<Mutex<VecDeque<Task>>>);

    impl Stealer {
        /// Takes the oldest job (a batch of one under loom).
        pub(crate) fn steal_batch_and_pop(&self, _dest: &Local) -> Steal {
            self.steal()
        }

        pub(crate) fn steal(&self) -> Steal {
            found(lock(&self.0).pop_front())
        }

        pub(crate) fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }
}

pub(crate) use imp::{Injector, Local, Stealer};
