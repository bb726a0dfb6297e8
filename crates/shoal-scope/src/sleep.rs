//! The parking protocol of idle threads.
//!
//! A thread with nothing to do (an idle worker, or an owner waiting on a latch whose job was
//! taken by someone else) spins a short while looking for work, then *sleeps*: it registers
//! its [`Parker`] in the sleeper list and parks. Whoever makes work available wakes one
//! sleeper; shutdown and resize wake them all; a latch wakes its own owner directly.
//!
//! ```text
//!  sleeper                                       pusher
//!  ───────                                       ──────
//!  1. lock list, push my parker,                 a. push the job, queued += 1
//!     sleeping += 1, fence(SeqCst)               b. fence(SeqCst); if sleeping > 0:
//!  2. ready()? (queued > 0, latch set,              lock list, pop one parker,
//!     shutdown, retire)  -> deregister, return      sleeping -= 1, unpark it
//!  3. park() until a token
//!  4. deregister (if nobody popped me)
//! ```
//!
//! **No lost wake-up (work)**: steps 1/2 and a/b are the two halves of Dekker's pattern, with
//! a SeqCst fence between each side's write and its read: the fences are totally ordered, so
//! either the sleeper's fence comes first (the pusher's read of `sleeping` sees the sleeper
//! and unparks it) or the pusher's does (the sleeper's check in 2 sees the job and does not
//! park). The parker keeps a
//! token, so an unpark between 2 and 3 is not lost either.
//!
//! **No lost wake-up (flags)**: shutdown and resize change their flag *before* taking the
//! list lock in [`Sleep::notify_all`]; a sleeper that registers after that lock sees the flag
//! in step 2 (the mutex orders the two), one that registered before is unparked.
//!
//! **A wake that is not used is passed on**: a sleeper popped by a pusher may find that its
//! own latch was set meanwhile and leave without taking the job. It then calls
//! [`Sleep::notify_one`] again if work is still queued, so the job is not left with every
//! other thread asleep.

use shoal_core::sync::atomic::{fence, AtomicUsize, Ordering};
use shoal_core::sync::{lock, Arc, Mutex};

use crate::latch::Parker;

/// The sleeper list; see the module docs.
pub(crate) struct Sleep {
    /// `sleepers.len()`, readable without the lock (the pushers' fast path).
    sleeping: AtomicUsize,
    sleepers: Mutex<Vec<Arc<Parker>>>,
}

impl Sleep {
    pub(crate) fn new() -> Sleep {
        Sleep {
            sleeping: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::new()),
        }
    }

    /// Wakes one sleeper, if there is one. Call after making work available (step b).
    #[inline]
    pub(crate) fn notify_one(&self) {
        // ORDERING: the fence orders the caller's `queued += 1` before this load, against the
        // sleeper's fence between `sleeping += 1` and its check (Dekker, module docs). Two
        // SeqCst fences are what the C11 model (and loom, which treats SeqCst *accesses* as
        // AcqRel) needs for "at least one side sees the other".
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.notify_one_cold();
    }

    #[cold]
    fn notify_one_cold(&self) {
        let parker = {
            let mut sleepers = lock(&self.sleepers);
            let parker = sleepers.pop();
            if parker.is_some() {
                // ORDERING: under the list lock; SeqCst keeps the counter in the total order.
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
            }
            parker
        };
        if let Some(parker) = parker {
            parker.unpark();
        }
    }

    /// Wakes every sleeper (shutdown, resize). Change the flag they check first.
    pub(crate) fn notify_all(&self) {
        let parkers = {
            let mut sleepers = lock(&self.sleepers);
            // ORDERING: under the list lock, see `notify_one_cold`.
            self.sleeping.fetch_sub(sleepers.len(), Ordering::SeqCst);
            std::mem::take(&mut *sleepers)
        };
        for parker in parkers {
            parker.unpark();
        }
    }

    /// Parks the caller until someone wakes it, unless `ready` (checked after registering)
    /// says there is already something to do. Returns whether it actually parked.
    pub(crate) fn sleep(&self, parker: &Arc<Parker>, ready: impl Fn() -> bool) -> bool {
        {
            let mut sleepers = lock(&self.sleepers);
            sleepers.push(parker.clone());
            // ORDERING: the fence pairs with the one in `notify_one` (Dekker, see there).
            self.sleeping.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if ready() {
                self.deregister(&mut sleepers, parker);
                return false;
            }
        }
        parker.park();
        let mut sleepers = lock(&self.sleepers);
        self.deregister(&mut sleepers, parker);
        true
    }

    /// Removes `parker` from the list if no waker popped it already.
    fn deregister(&self, sleepers: &mut Vec<Arc<Parker>>, parker: &Arc<Parker>) {
        if let Some(i) = sleepers.iter().position(|p| Arc::ptr_eq(p, parker)) {
            sleepers.swap_remove(i);
            // ORDERING: under the list lock, see `notify_one_cold`.
            self.sleeping.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
