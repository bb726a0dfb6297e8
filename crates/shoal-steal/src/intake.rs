//! Intake: whether the pool still takes jobs, who is in the middle of submitting one, and the
//! bounded capacity with its backpressure.
//!
//! # Closing without losing a racing submit
//!
//! Submissions from outside the pool pass the gate every pool shares (`shoal_core::intake`):
//! a submission *enters* (marks itself in flight on its thread's shard), reads `closed`,
//! pushes to the injector, and *leaves*; shutdown stores `closed` and waits until no
//! submission is in flight. So a submit either sees `closed` and hands its job back, or
//! shutdown waits until the job is in the injector. Only then may workers conclude "empty
//! stays empty" and exit. The marks also count the accepted submissions, so the outside path
//! needs no separate `Submitted` counter, and the entries (net of undone ones) count a job
//! before its push, which is what `wait_idle`'s check needs.
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

use shoal_core::intake::{InFlight, Intake as Gate};
use shoal_core::sync::atomic::{fence, AtomicUsize, Ordering};
use shoal_core::sync::{lock, Condvar, Mutex};

pub(crate) struct Intake {
    /// The closed flag and the in-flight marks (`shoal_core::intake`).
    gate: Gate,
    capacity: Option<usize>,
    /// Accepted and not yet started; maintained only when `capacity` is set.
    queued: AtomicUsize,
    room_waiters: AtomicUsize,
    room_lock: Mutex<()>,
    room: Condvar,
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
            gate: Gate::new(),
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
        // No Dekker pairing is needed here (see the module docs: the worker itself drains
        // what it pushes).
        self.gate.is_closed()
    }

    /// Marks a submission as in flight, or returns `None` if intake is closed. Dropping the
    /// mark counts the job as accepted; `leave_uncounted` does not.
    #[inline]
    pub(crate) fn enter(&self) -> Option<InFlight<'_>> {
        self.gate.enter()
    }

    /// Closes intake, wakes submitters waiting for room, and waits until no submission is in
    /// flight. After this returns, every accepted job is in a queue.
    pub(crate) fn close(&self) {
        self.gate.close(|| {
            drop(lock(&self.room_lock));
            self.room.notify_all();
        });
    }

    /// Submissions from outside accepted so far (they are counted here, by the in-flight
    /// mark they need anyway, instead of by one more shared-counter add per job).
    pub(crate) fn accepted(&self) -> u64 {
        self.gate.accepted()
    }

    /// Submissions from outside that entered and were not undone: the accepted ones, those in
    /// flight, and refused ones for the moment between their entry and its undo. A job is
    /// counted here before its push, so a count of its end is never seen without it: what the
    /// pool's idle check needs (shoal-core's `metrics.rs`), where [`accepted`](Self::accepted)
    /// counts a job only after its push. Never in a report: a refused entry may show for a
    /// moment.
    pub(crate) fn entered(&self) -> u64 {
        self.gate.entered()
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
