//! Intake: whether a pool still takes jobs, and who is in the middle of submitting one; the
//! gate the shared-queue and work-stealing pools share.
//!
//! # Closing without losing a racing submit
//!
//! A submission *enters* (adds one to its shard of the in-flight count), reads `closed`,
//! pushes to the queue, and *leaves*. Shutdown stores `closed`, then waits until every shard
//! reads balanced. A SeqCst fence sits between the write and the read on both sides, so at
//! least one sees the other: the submit sees `closed` and hands its job back, or shutdown
//! sees it in flight and waits until the job is in the queue. Only then may the pool tell its
//! workers that an empty queue stays empty, so that they exit when they find none.
//!
//! The count is sharded per thread (cache-padded), so submitters on different threads (jobs
//! spawning jobs on every worker) never bounce one cache line: entering and leaving are
//! uncontended read-modify-writes on a line the submitting thread keeps in its own cache.
//! The marks also count the accepted submissions (`left` only grows), so the submit path
//! needs no separate `Submitted` counter.

use crossbeam_utils::CachePadded;

use crate::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

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

/// The closed flag and the in-flight submissions of one pool; see the [module docs](self).
pub struct Intake {
    closed: AtomicBool,
    submitting: Box<[CachePadded<Shard>]>,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("closed", &self.is_closed())
            .field("accepted", &self.accepted())
            .finish_non_exhaustive()
    }
}

impl Default for Intake {
    fn default() -> Self {
        Intake::new()
    }
}

/// A submission between [`Intake::enter`] and its end; shutdown waits for it. Dropping it
/// leaves and counts the job as accepted; [`InFlight::refused`] and
/// [`InFlight::leave_uncounted`] leave without counting.
#[must_use = "the submission stays in flight (and shutdown waits) until this is dropped"]
pub struct InFlight<'a> {
    shard: &'a Shard,
}

impl std::fmt::Debug for InFlight<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight").finish_non_exhaustive()
    }
}

impl InFlight<'_> {
    /// Leaves without counting a submission: the queue refused the job.
    pub fn refused(self) {
        // ORDERING: Release, as in `drop`; nothing was pushed, the count only comes back down.
        self.shard.entered.fetch_sub(1, Ordering::Release);
        std::mem::forget(self);
    }

    /// Leaves without counting a submission: jobs moved between a pool's queues while in
    /// flight (a retiring worker's), not new ones.
    pub fn leave_uncounted(self) {
        self.refused();
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

impl Intake {
    /// Open, nothing in flight.
    pub fn new() -> Intake {
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
        }
    }

    /// `true` once shutdown has begun (a hint for paths that need no gate).
    #[inline]
    pub fn is_closed(&self) -> bool {
        // ORDERING: Acquire pairs with the store in `close`.
        self.closed.load(Ordering::Acquire)
    }

    /// Marks a submission as in flight, or returns `None` if intake is closed.
    #[inline]
    pub fn enter(&self) -> Option<InFlight<'_>> {
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

    /// Closes intake and waits until no submission is in flight. After this returns, every
    /// accepted job is in the queue. `unblock` runs between the two, to release submitters
    /// that wait (in flight) for room in a full queue.
    pub fn close(&self, unblock: impl FnOnce()) {
        // ORDERING: Release for `is_closed`; the fence below is the Dekker half (see `enter`).
        self.closed.store(true, Ordering::Release);
        fence(Ordering::SeqCst);
        unblock();
        for shard in self.submitting.iter() {
            // ORDERING: Acquire; reading the shard balanced after the Release that ended each
            // submission makes its push visible to us and to every worker that later reads
            // the seal we store after this. `left` is read first: both only grow (but for
            // refused entries), so `entered - left` read in this order never undercounts.
            loop {
                let left = shard.left.load(Ordering::Acquire);
                if shard.entered.load(Ordering::Acquire) == left {
                    break;
                }
                crate::sync::spin_loop();
                crate::sync::thread::yield_now();
            }
        }
    }

    /// Submissions accepted so far (counted here, by the in-flight mark they need anyway,
    /// instead of by one more counter add per job).
    pub fn accepted(&self) -> u64 {
        // ORDERING: a snapshot; exact once shutdown has drained the shards (see `close`).
        self.submitting
            .iter()
            .map(|s| s.left.load(Ordering::Acquire) as u64)
            .sum()
    }

    /// Submissions that entered and were not undone: the accepted ones, those in flight, and
    /// refused ones for the moment between their entry and its undo. A job is counted here
    /// before its push, so a count of its end is never seen without it: what a pool's idle
    /// check needs (`metrics.rs`), where [`accepted`](Self::accepted) counts a job only after
    /// its push. Never in a report: a refused entry may show for a moment.
    pub fn entered(&self) -> u64 {
        // ORDERING: Acquire, read after the pool's counters (the pool's `is_idle`).
        self.submitting
            .iter()
            .map(|s| s.entered.load(Ordering::Acquire) as u64)
            .sum()
    }
}
