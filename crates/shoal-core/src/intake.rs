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
//! spawning jobs on every worker) never bounce one cache line. The shards are indexed like
//! the pools' counters (`metrics::thread_slot`): a thread that owns its index outright is its
//! shard's only writer and marks with a load and a store, no read-modify-write (on x86 each
//! of those is a full barrier, and a submit made two); threads beyond the owned indices share
//! the rest and add atomically. The Dekker pairing needs no read-modify-write: the fence
//! orders a plain store before the load of `closed` just as well. The marks also count the
//! accepted submissions (`left` only grows), so the submit path needs no separate `Submitted`
//! counter.

use std::marker::PhantomData;

use crossbeam_utils::CachePadded;

use crate::metrics::{add_to_shard, thread_slot, SHARDS};
use crate::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

/// One shard of the in-flight count: `entered - left` submissions are in flight.
struct Shard {
    /// Also counts each job before its push (see `Intake::entered`).
    entered: AtomicU64,
    /// Also the number of jobs this shard's submitters got accepted (see `Intake::accepted`).
    left: AtomicU64,
}

/// One mark up, on the calling thread's shard (`metrics::add_to_shard`).
const UP: u64 = 1;
/// One mark taken back: the two's complement of `UP`, as the counts wrap.
const DOWN: u64 = u64::MAX;

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
    /// The shard is the calling thread's own (see `metrics::add_to_shard`).
    exclusive: bool,
    /// Not `Send`: an owned shard is written by its owner thread only, so the mark is undone
    /// on the thread that made it.
    _owner: PhantomData<*const ()>,
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
        add_to_shard(&self.shard.entered, DOWN, self.exclusive, Ordering::Release);
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
        add_to_shard(&self.shard.left, UP, self.exclusive, Ordering::Release);
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
                        entered: AtomicU64::new(0),
                        left: AtomicU64::new(0),
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
        let (index, exclusive) = thread_slot();
        self.enter_on(index, exclusive)
    }

    /// [`enter`](Self::enter) as the only writer of the model checkers' one shard, which
    /// their threads otherwise share (`thread_slot`): for a model in which one thread submits,
    /// so that the owned shard's plain stores are checked too.
    #[cfg(shoal_loom)]
    #[doc(hidden)]
    pub fn enter_as_owner(&self) -> Option<InFlight<'_>> {
        self.enter_on(0, true)
    }

    #[inline]
    fn enter_on(&self, index: usize, exclusive: bool) -> Option<InFlight<'_>> {
        let shard = &*self.submitting[index];
        // ORDERING: the increment, a SeqCst fence, then the load of `closed`, against `close`:
        // the store of `closed`, a SeqCst fence, then the loads of the shards. The two fences
        // are ordered one way or the other in the single SeqCst order, so at least one side
        // sees the other's write (a Dekker pairing made of fences, which loom checks; loom
        // treats SeqCst loads and stores as AcqRel).
        // The fence orders the increment's store, whether a plain one or a read-modify-write's.
        add_to_shard(&shard.entered, UP, exclusive, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::Relaxed) {
            // ORDERING: nothing was pushed; the count only has to come back down.
            add_to_shard(&shard.entered, DOWN, exclusive, Ordering::Release);
            return None;
        }
        Some(InFlight {
            shard,
            exclusive,
            _owner: PhantomData,
        })
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
            .map(|s| s.left.load(Ordering::Acquire))
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
            .map(|s| s.entered.load(Ordering::Acquire))
            .sum()
    }
}

#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests {
    use std::sync::{Arc, Barrier};
    use std::thread;

    use super::*;

    /// More submitters than there are owned shards, each nesting a second mark in the first,
    /// race `close`: what `close` counts accepted when it returns is exactly what the
    /// submitters were told was accepted, whether their shard was their own or shared.
    #[test]
    fn owners_and_sharers_race_close_without_losing_a_mark() {
        let gate = Arc::new(Intake::new());
        let threads = SHARDS + 8;
        let start = Arc::new(Barrier::new(threads + 1));
        let submitters: Vec<_> = (0..threads)
            .map(|_| {
                let (gate, start) = (gate.clone(), start.clone());
                thread::spawn(move || {
                    let owned = thread_slot().1;
                    start.wait();
                    let mut accepted = 0u64;
                    // Until intake closes: every submitter races `close`.
                    for round in 0u64.. {
                        let Some(outer) = gate.enter() else { break };
                        if round % 3 == 0 {
                            match gate.enter() {
                                Some(inner) => {
                                    drop(inner);
                                    accepted += 1;
                                }
                                None => {
                                    outer.refused();
                                    break;
                                }
                            }
                        }
                        drop(outer);
                        accepted += 1;
                    }
                    (accepted, owned)
                })
            })
            .collect();
        start.wait();
        thread::sleep(std::time::Duration::from_millis(5));
        // A lost mark would leave `close` waiting forever: fail instead of hanging.
        let (tx, rx) = std::sync::mpsc::channel();
        let closer = gate.clone();
        thread::spawn(move || {
            closer.close(|| {});
            let _ = tx.send(closer.accepted());
        });
        let at_close = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("close never read the marks balanced: a mark was lost");
        let results: Vec<(u64, bool)> = submitters.into_iter().map(|h| h.join().unwrap()).collect();
        let told: u64 = results.iter().map(|r| r.0).sum();
        assert_eq!(
            at_close, told,
            "accepted at close against what submitters were told"
        );
        assert_eq!(gate.accepted(), told);
        assert_eq!(gate.entered(), told, "every refused mark was taken back");
        // Other tests' threads may hold owned indices too, so only the bound is certain.
        let owners = results.iter().filter(|r| r.1).count();
        assert!(owners < threads, "{owners} of {threads} owned a shard");
    }
}
