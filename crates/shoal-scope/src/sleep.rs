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
//!     sleeping += 1, fence(SeqCst)               b. fence(SeqCst); if sleeping > 0 and
//!  2. ready()? (queued > 0, latch set,              searching == 0: lock list, pop one
//!     shutdown, retire)  -> deregister, return      parker, sleeping -= 1, searching += 1
//!  3. park() until a token                          (on its behalf), unpark it
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
//!
//! ## Searchers: no wake-up while somebody is looking
//!
//! A thread in the spin phase of its search is *searching*; at most `limit` threads search at
//! once (half the cores the workers can use, at least two: more would only race each other
//! for each job),
//! the rest go straight to sleep. A pusher that sees a searcher wakes nobody: step b reads
//! `searching` after `sleeping`, and returns if it is above zero. A woken sleeper is counted
//! as searching by its waker, before the unpark, so the pushers right behind it do not wake
//! a second sleeper for the same burst. Why no job is left behind:
//!
//! - A searcher that gives up goes to sleep through steps 1-2: its fence follows the pusher's
//!   (the pusher saw it still searching), so its check in step 2 sees the job.
//! - A searcher that finds work and was the *last* one hands the search on: it fences, and if
//!   a thread sleeps and work is still queued, wakes one ([`Sleep::stop_searching`]). Its
//!   fence follows the pusher's, so it sees the job if nobody took it.
//!
//! This is the protocol of `shoal_core::sleep` (the shared-queue and work-stealing pools'),
//! on this pool's sleeper list of parkers, which latches also wake one by one.

use crossbeam_utils::CachePadded;
use shoal_core::sync::atomic::{fence, AtomicUsize, Ordering};
use shoal_core::sync::{lock, Arc, Mutex};

use crate::latch::Parker;

/// The sleeper list; see the module docs.
pub(crate) struct Sleep {
    /// `sleepers.len()`, readable without the lock (the pushers' fast path).
    sleeping: CachePadded<AtomicUsize>,
    /// Threads in the spin phase of a search, and sleepers a waker popped (they search next).
    searching: CachePadded<AtomicUsize>,
    sleepers: Mutex<Vec<Arc<Parker>>>,
}

/// How a [`Sleep::sleep`] ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Slept {
    /// `ready` held after registering: the caller did not park.
    NotParked,
    /// Parked and woken by its latch, or it found itself still listed: not counted anywhere.
    Woken,
    /// Parked, and a waker popped it from the list and counted it as searching: the caller
    /// must stop searching when it leaves ([`Sleep::stop_searching`]).
    WokenSearching,
}

impl Sleep {
    pub(crate) fn new() -> Sleep {
        Sleep {
            sleeping: CachePadded::new(AtomicUsize::new(0)),
            searching: CachePadded::new(AtomicUsize::new(0)),
            sleepers: Mutex::new(Vec::new()),
        }
    }

    /// Starts a search's spin phase, unless `limit` threads search already. Returns whether
    /// the caller is now counted as searching.
    #[inline]
    pub(crate) fn try_start_searching(&self, limit: usize) -> bool {
        // ORDERING: a count; pushers rely on it only through the fences described in the
        // module docs. The limit is a heuristic (two threads may both pass it).
        if self.searching.load(Ordering::Relaxed) >= limit {
            return false;
        }
        self.searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Ends the caller's search. `found`: it took work (then, as the last searcher, it hands
    /// the search on to a sleeper if `has_work()` still sees a job). Otherwise it is about to
    /// sleep (its check in step 2 covers what it leaves) or to leave with its latch set (the
    /// caller passes a wake on itself).
    #[inline]
    pub(crate) fn stop_searching(&self, found: bool, has_work: impl FnOnce() -> bool) {
        // ORDERING: the decrement, then (last searcher with work) a SeqCst fence before the
        // loads of `sleeping` and of the queues: a pusher that saw us searching (after its
        // fence) left its job to us; our fence follows its fence (module docs).
        let prev = self.searching.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(prev > 0, "stop_searching without a search");
        if found && prev == 1 {
            fence(Ordering::SeqCst);
            if self.sleeping.load(Ordering::Relaxed) > 0 && has_work() {
                self.notify_one_cold();
            }
        }
    }

    /// Wakes one sleeper, if there is one and nobody searches. Call after making work
    /// available (step b).
    #[inline]
    pub(crate) fn notify_one(&self) {
        // ORDERING: the fence orders the caller's `queued += 1` before these loads, against the
        // sleeper's fence between `sleeping += 1` and its check (Dekker, module docs), and the
        // last searcher's fence in `stop_searching`. Two SeqCst fences are what the C11 model
        // (and loom, which treats SeqCst *accesses* as AcqRel) needs for "at least one side
        // sees the other".
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) == 0 {
            return;
        }
        if self.searching.load(Ordering::Relaxed) > 0 {
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
                // ORDERING: under the list lock; SeqCst keeps the counters in the total order.
                // The woken thread searches next: counted now, so that the pushers right
                // behind us do not wake another sleeper for the same work.
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                self.searching.fetch_add(1, Ordering::SeqCst);
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
            // ORDERING: under the list lock, see `notify_one_cold`; every popped thread is
            // counted as searching, like one popped alone.
            self.sleeping.fetch_sub(sleepers.len(), Ordering::SeqCst);
            self.searching.fetch_add(sleepers.len(), Ordering::SeqCst);
            std::mem::take(&mut *sleepers)
        };
        for parker in parkers {
            parker.unpark();
        }
    }

    /// Parks the caller until someone wakes it, unless `ready` (checked after registering)
    /// says there is already something to do.
    pub(crate) fn sleep(&self, parker: &Arc<Parker>, ready: impl Fn() -> bool) -> Slept {
        {
            let mut sleepers = lock(&self.sleepers);
            sleepers.push(parker.clone());
            // ORDERING: the fence pairs with the one in `notify_one` (Dekker, see there).
            self.sleeping.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if ready() {
                let listed = self.deregister(&mut sleepers, parker);
                debug_assert!(listed, "nobody pops a sleeper without the list lock");
                return Slept::NotParked;
            }
        }
        parker.park();
        let mut sleepers = lock(&self.sleepers);
        if self.deregister(&mut sleepers, parker) {
            Slept::Woken
        } else {
            Slept::WokenSearching
        }
    }

    /// Removes `parker` from the list if no waker popped it already; `false` if one did.
    fn deregister(&self, sleepers: &mut Vec<Arc<Parker>>, parker: &Arc<Parker>) -> bool {
        match sleepers.iter().position(|p| Arc::ptr_eq(p, parker)) {
            Some(i) => {
                sleepers.swap_remove(i);
                // ORDERING: under the list lock, see `notify_one_cold`.
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}
