//! Intake: whether the pool still takes jobs, who is in the middle of submitting one, and the
//! bounded capacity with its backpressure.
//!
//! # Closing without losing a racing submit
//!
//! A submission from outside the pool *enters* (adds one to its shard of `submitting`), reads
//! `closed`, pushes to the injector, and *leaves*. Shutdown stores `closed`, then waits until
//! every shard reads zero. A SeqCst fence sits between the write and the read on both sides,
//! so at least one sees the other: the submit
//! sees `closed` and hands its job back, or shutdown sees it in flight and waits until the job
//! is in the injector. Only then may workers conclude "empty stays empty" and exit. The count
//! is sharded per thread (cache-padded), so concurrent submitters from different threads do
//! not bounce one cache line: entering and leaving are uncontended read-modify-writes. The
//! same marks count the accepted submissions (`left` only grows), so the outside path needs
//! no separate `Submitted` counter; `entered` (net of undone entries) counts a job before its
//! push, which is what `wait_idle`'s check needs.
//!
//! Submissions from inside a worker push to that worker's own deque and need no gate: the
//! owner itself is running (it is the caller), and it empties its deque before it exits.
//!
//! # Capacity
//!
//! With `queue_capacity(n)`, `queued` counts jobs accepted and not yet started (wherever they
//! are: injector, a deque, a LIFO slot). A submit reserves one unit before it pushes; a worker
//! releases it when it takes the job. A submitter that finds no room waits on `room`; a worker
//! that releases a unit signals it only when someone waits (the same announce-then-check
//! pairing as the sleep protocol: the waiter adds itself to `room_waiters` and re-tries the
//! reservation under the lock; the releaser decrements `queued`, then reads `room_waiters`).

use crossbeam_utils::CachePadded;
use shoal_core::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use shoal_core::sync::{lock, Condvar, Mutex};

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
const SHARDS: usize = 16;
#[cfg(any(shoal_loom, shoal_shuttle))]
const SHARDS: usize = 1;

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
fn shard_index() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    static NEXT: StdAtomicUsize = StdAtomicUsize::new(0);
    std::thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX
        .try_with(|i| {
            let mut v = i.get();
            if v == usize::MAX {
                // ORDERING: only spreading threads over shards matters; nothing is published.
                v = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARDS;
                i.set(v);
            }
            v
        })
        .unwrap_or(0)
}

#[cfg(any(shoal_loom, shoal_shuttle))]
fn shard_index() -> usize {
    0
}

/// One shard of the in-flight count: `entered - left` submissions are in flight.
struct Shard {
    /// Also counts each job before its push (see `Intake::entered`).
    entered: AtomicUsize,
    /// Also the number of jobs this shard's submitters got accepted (see `Intake::accepted`).
    left: AtomicUsize,
}

pub(crate) struct Intake {
    closed: AtomicBool,
    submitting: Box<[CachePadded<Shard>]>,
    capacity: Option<usize>,
    /// Accepted and not yet started; maintained only when `capacity` is set.
    queued: AtomicUsize,
    room_waiters: AtomicUsize,
    room_lock: Mutex<()>,
    room: Condvar,
}

/// A submission between `enter` and `leave`; shutdown waits for it. Dropping it leaves and
/// counts the job as accepted; [`InFlight::leave_uncounted`] leaves without counting.
pub(crate) struct InFlight<'a> {
    shard: &'a Shard,
}

impl InFlight<'_> {
    /// Leaves without counting a submission (jobs moved between queues, not new ones).
    pub(crate) fn leave_uncounted(self) {
        // ORDERING: Release: what was pushed while in flight happens-before the shutdown's
        // Acquire load that reads the shard balanced (see `Intake::close`).
        self.shard.entered.fetch_sub(1, Ordering::Release);
        std::mem::forget(self);
    }
}

impl Drop for InFlight<'_> {
    #[inline]
    fn drop(&mut self) {
        // ORDERING: Release: the push made while in flight happens-before the shutdown's load
        // that reads this shard balanced (see `Intake::close`).
        self.shard.left.fetch_add(1, Ordering::Release);
    }
}

/// The outcome of a reservation attempt.
pub(crate) enum Reserve {
    Ok,
    Full,
    Closed,
}

impl Intake {
    pub(crate) fn new(capacity: Option<usize>) -> Intake {
        Intake {
            closed: AtomicBool::new(false),
            submitting: (0..SHARDS)
                .map(|_| {
                    CachePadded::new(Shard {
                        entered: AtomicUsize::new(0),
                        left: AtomicUsize::new(0),
                    })
                })
                .collect(),
            capacity,
            queued: AtomicUsize::new(0),
            room_waiters: AtomicUsize::new(0),
            room_lock: Mutex::new(()),
            room: Condvar::new(),
        }
    }

    /// `true` once shutdown has begun. For a submission that needs no gate (from inside a
    /// worker); a gated one learns it from [`Intake::enter`].
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: Acquire pairs with the store in `close`; no Dekker pairing is needed here
        // (see the module docs: the worker itself drains what it pushes).
        self.closed.load(Ordering::Acquire)
    }

    /// Marks a submission as in flight, or returns `None` if intake is closed.
    #[inline]
    pub(crate) fn enter(&self) -> Option<InFlight<'_>> {
        let shard = &*self.submitting[shard_index()];
        // ORDERING: the increment, a SeqCst fence, then the load of `closed`, against `close`:
        // the store of `closed`, a SeqCst fence, then the loads of the shards. The two fences
        // are ordered one way or the other in the single SeqCst order, so at least one side
        // sees the other's write (a Dekker pairing made of fences, which loom checks; loom
        // treats SeqCst loads and stores as AcqRel).
        shard.entered.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::Relaxed) {
            // ORDERING: nothing was pushed; the count only has to come back down.
            shard.entered.fetch_sub(1, Ordering::Release);
            return None;
        }
        Some(InFlight { shard })
    }

    /// Closes intake, wakes submitters waiting for room, and waits until no submission is in
    /// flight. After this returns, every accepted job is in a queue.
    pub(crate) fn close(&self) {
        // ORDERING: Release for `is_closed`; the fence below is the Dekker half (see `enter`).
        self.closed.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        drop(lock(&self.room_lock));
        self.room.notify_all();
        for shard in self.submitting.iter() {
            // ORDERING: Acquire; reading the shard balanced after the Release that ended each
            // submission makes its push visible to us and to every worker that later reads the
            // draining flag we store after this. `left` is read first: both only grow (but for
            // undone entries), so `entered - left` read in this order never undercounts.
            loop {
                let left = shard.left.load(Ordering::Acquire);
                if shard.entered.load(Ordering::Acquire) == left {
                    break;
                }
                shoal_core::sync::spin_loop();
                shoal_core::sync::thread::yield_now();
            }
        }
    }

    /// Submissions from outside accepted so far (they are counted here, by the in-flight
    /// mark they need anyway, instead of by one more shared-counter add per job).
    pub(crate) fn accepted(&self) -> u64 {
        // ORDERING: a snapshot; exact once shutdown has drained the shards (see `close`).
        self.submitting
            .iter()
            .map(|s| s.left.load(Ordering::Acquire) as u64)
            .sum()
    }

    /// Submissions from outside that entered and were not undone: the accepted ones, those in
    /// flight, and refused ones for the moment between their entry and its undo. A job is
    /// counted here before its push, so a count of its end is never seen without it: what the
    /// pool's idle check needs (shoal-core's `metrics.rs`), where [`accepted`](Self::accepted)
    /// counts a job only after its push. Never in a report: a refused entry may show for a
    /// moment.
    pub(crate) fn entered(&self) -> u64 {
        // ORDERING: Acquire, read after the pool's counters (`Registry::is_idle`).
        self.submitting
            .iter()
            .map(|s| s.entered.load(Ordering::Acquire) as u64)
            .sum()
    }

    /// `true` when the pool has a bounded queue.
    #[inline]
    pub(crate) fn is_bounded(&self) -> bool {
        self.capacity.is_some()
    }

    /// Reserves room for one job (always succeeds when unbounded).
    #[inline]
    pub(crate) fn try_reserve(&self) -> Reserve {
        let Some(capacity) = self.capacity else {
            return Reserve::Ok;
        };
        // ORDERING: SeqCst, paired with the releaser's SeqCst decrement and room_waiters load
        // (see the module docs).
        let reserved = self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |q| {
                (q < capacity).then_some(q + 1)
            })
            .is_ok();
        if reserved {
            Reserve::Ok
        } else if self.is_closed() {
            Reserve::Closed
        } else {
            Reserve::Full
        }
    }

    /// Blocks until a unit of room is reserved (`true`) or intake closes (`false`).
    pub(crate) fn reserve_blocking(&self) -> bool {
        match self.try_reserve() {
            Reserve::Ok => return true,
            Reserve::Closed => return false,
            Reserve::Full => {}
        }
        let mut guard = lock(&self.room_lock);
        // ORDERING: the announce side: increment, SeqCst fence, then re-try (the CAS reads
        // `queued`); the releaser decrements `queued`, fences, then reads this. One of us
        // sees the other; a releaser that sees us signals under the lock we hold.
        self.room_waiters.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let reserved = loop {
            match self.try_reserve() {
                Reserve::Ok => break true,
                Reserve::Closed => break false,
                Reserve::Full => {}
            }
            guard = self.room.wait(guard).unwrap_or_else(|p| p.into_inner());
        };
        // ORDERING: only ever read as "someone may wait"; a stale non-zero costs one lock.
        self.room_waiters.fetch_sub(1, Ordering::Relaxed);
        drop(guard);
        reserved
    }

    /// Gives back one unit (a job started, or a reserved submit was refused).
    #[inline]
    pub(crate) fn release(&self) {
        if self.capacity.is_none() {
            return;
        }
        // ORDERING: decrement, SeqCst fence, load of `room_waiters`: see `reserve_blocking`.
        self.queued.fetch_sub(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.room_waiters.load(Ordering::Relaxed) > 0 {
            drop(lock(&self.room_lock));
            self.room.notify_one();
        }
    }

    /// Jobs accepted and not yet started, when bounded.
    pub(crate) fn queued(&self) -> Option<usize> {
        // ORDERING: a snapshot for display only.
        self.capacity.map(|_| self.queued.load(Ordering::Relaxed))
    }
}
