//! Latches: how a thread waits for a job that runs somewhere else.
//!
//! A [`Latch`] is a one-shot flag owned by the thread that waits on it (the owner of a join,
//! of a scope, or of an `install` from outside). Its state machine:
//!
//! ```text
//!            owner: try_sleep            setter: set (swap)
//!   UNSET ─────────────────────▶ SLEEPING ───────────────▶ SET   (setter unparks the owner)
//!     │  ◀───────────────────────   │
//!     │     owner: wake_up (CAS)    │
//!     └──────────── setter: set (swap) ──────────────────▶ SET   (owner is awake: no unpark)
//! ```
//!
//! 1. The setter publishes the job's result, then swaps the state to `SET` (Release), so an
//!    owner that sees `SET` (Acquire) also sees the result.
//! 2. The owner announces sleep by moving `UNSET -> SLEEPING` with a CAS. If the CAS fails the
//!    latch is already set and the owner does not sleep.
//! 3. A setter whose swap returns `SLEEPING` unparks the owner's [`Parker`]. The parker keeps
//!    a token, so an unpark that lands before the owner reaches `park` is not lost.
//!
//! **No lost wake-up**: the swap and the CAS are read-modify-writes on one atomic, so they
//! are totally ordered. Either the CAS comes first (the swap then sees `SLEEPING` and
//! unparks) or the swap comes first (the CAS fails and the owner never parks).
//!
//! **Lifetime**: the latch usually lives on the owner's stack, and the owner may return (and
//! free it) the moment it sees `SET`. So [`Latch::set`] reads everything it needs (a clone of
//! the owner's parker) *before* the swap and touches nothing of the latch after it.

use shoal_core::sync::atomic::{AtomicUsize, Ordering};
use shoal_core::sync::{lock, Arc, Condvar, Mutex};

const UNSET: usize = 0;
const SLEEPING: usize = 1;
const SET: usize = 2;

/// A thread's own wake-up token: `unpark` leaves a token, `park` waits for one and takes it.
///
/// (Our own rather than `std::thread::park`, so user code that parks its thread cannot steal
/// our tokens, and so loom can see it.)
pub(crate) struct Parker {
    notified: Mutex<bool>,
    cv: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            notified: Mutex::new(false),
            cv: Condvar::new(),
        }
    }

    /// Waits until a token is there, and takes it.
    pub(crate) fn park(&self) {
        let mut notified = lock(&self.notified);
        while !*notified {
            notified = self.cv.wait(notified).unwrap_or_else(|p| p.into_inner());
        }
        *notified = false;
    }

    /// Leaves a token and wakes the owner if it is parked.
    pub(crate) fn unpark(&self) {
        *lock(&self.notified) = true;
        // Every caller holds an `Arc<Parker>`, so notifying after the unlock is safe.
        self.cv.notify_one();
    }
}

/// A one-shot flag with an owner to wake; see the module docs.
pub(crate) struct Latch {
    state: AtomicUsize,
    /// The owner's parker. The owner outlives every moment the latch is unset (it waits for
    /// `SET` before it returns), which is the only time a setter reads this.
    owner: *const Arc<Parker>,
}

// SAFETY: `owner` points at an `Arc<Parker>` (itself Send + Sync) that the owning thread keeps
// alive until the latch is set; setters on other threads only clone it, before the swap.
unsafe impl Send for Latch {}
// SAFETY: as above; the state is an atomic.
unsafe impl Sync for Latch {}

impl Latch {
    /// An unset latch that wakes `owner` when set. `owner` must stay alive until the latch is
    /// set and its owner has seen it (the owner's own stack or thread state).
    #[inline]
    pub(crate) fn new(owner: &Arc<Parker>) -> Latch {
        Latch {
            state: AtomicUsize::new(UNSET),
            owner,
        }
    }

    /// `true` once the latch is set. Everything the setter wrote before `set` is visible.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        // ORDERING: Acquire pairs with the Release of the swap in `set`: the job's result,
        // written before the swap, is visible once we see SET.
        self.state.load(Ordering::Acquire) == SET
    }

    /// Owner only: announce that we are about to park. `false` if the latch is already set.
    pub(crate) fn try_sleep(&self) -> bool {
        // ORDERING: AcqRel/Acquire: this RMW is ordered against the setter's swap (module
        // docs); Acquire on failure pairs with the swap's Release like `probe`.
        self.state
            .compare_exchange(UNSET, SLEEPING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Owner only: back from a park (or gave it up); `SLEEPING -> UNSET` unless already set.
    pub(crate) fn wake_up(&self) {
        // ORDERING: as in `try_sleep`. Failure means SET, which `probe` then reads.
        let _ = self
            .state
            .compare_exchange(SLEEPING, UNSET, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Sets the latch and wakes its owner if it sleeps.
    ///
    /// # Safety
    /// `this` must point to a live latch that is not yet set. The latch may be freed by its
    /// owner as soon as this call has swapped the state, so it is taken as a raw pointer and
    /// not touched after the swap.
    pub(crate) unsafe fn set(this: *const Latch) {
        // SAFETY: the caller guarantees `this` is live and unset; the owner is waiting for
        // this latch, so the parker `owner` points to is alive too. Clone it now: after the
        // swap neither may exist any more.
        let owner: Arc<Parker> = unsafe { (*(*this).owner).clone() };
        // SAFETY: still unset, so still alive (see above).
        // ORDERING: Release pairs with the Acquire in `probe` (result visible); the RMW is
        // totally ordered with the owner's `try_sleep` CAS (no lost wake-up).
        let previous = unsafe { (*this).state.swap(SET, Ordering::AcqRel) };
        if previous == SLEEPING {
            owner.unpark();
        }
    }

    /// Blocks the calling thread (which must be the owner) until the latch is set, without
    /// helping any pool: for threads outside every pool.
    pub(crate) fn wait_blocking(&self) {
        // SAFETY: the owner pointer is valid while we, the owner, are in this call.
        let parker = unsafe { &*self.owner };
        while !self.probe() {
            if self.try_sleep() {
                parker.park();
                self.wake_up();
            }
        }
    }
}
