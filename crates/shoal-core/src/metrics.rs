//! Counters every pool keeps, and the snapshot users read.
//!
//! Counting must not become the bottleneck it measures: a single shared counter bumped by every
//! worker on every job bounces one cache line between all cores. [`Counters`] is sharded: each
//! thread bumps its own cache-padded shard (no contention), and a snapshot sums the shards. A
//! snapshot taken while jobs run is approximate; one taken after the workers were joined is
//! exact (joining a thread synchronizes with everything it did).
//!
//! Most threads own their shard outright: a live thread takes one of the first
//! `EXCLUSIVE_SHARDS` indices for itself (handed back when it exits), and, being its only
//! writer, counts with a load and a store instead of an atomic read-modify-write. On x86 every
//! read-modify-write is a full barrier, and a tiny job used to pay three of them (submitted,
//! started, completed): about a fifth of a hop of a chain of tiny jobs. Threads beyond that
//! many share the remaining shards and add atomically, as do the model checkers' threads (one
//! shard for all).
//!
//! One rule makes a snapshot good enough to tell when a pool is idle (`wait_idle`, see
//! `idle.rs`): every pool counts a job as submitted *before* the job becomes visible to its
//! workers, every count is a `Release` add, and a snapshot reads the ends (completed, panicked,
//! cancelled) with `Acquire` *before* it reads the submissions. A snapshot that sees a job's
//! end therefore also sees its submission, so `ended >= submitted` in a snapshot means every
//! job it saw submitted had ended.

use crossbeam_utils::CachePadded;

use crate::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a pool's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Live workers (after a shrink, retiring ones finish their job first).
    pub workers: usize,
    /// Jobs accepted and not yet started.
    pub queued: u64,
    /// Jobs running now.
    pub running: u64,
    /// Jobs accepted over the pool's life.
    pub submitted: u64,
    /// Jobs that returned normally.
    pub completed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs dropped unrun by a shutdown.
    pub cancelled: u64,
    /// Submissions refused (full queue or shutdown).
    pub rejected: u64,
    /// Jobs taken from another worker's queue (work-stealing strategies; 0 elsewhere).
    pub steals: u64,
    /// Times a worker went to sleep for lack of work.
    pub parks: u64,
    /// A self-sizing pool's policy: its target, its limit and its last decision (`None` for a
    /// fixed pool). See [`sizing`](crate::sizing).
    pub sizing: Option<crate::SizingStatus>,
}

impl std::fmt::Display for Metrics {
    /// One line, e.g. `4 workers, 5 queued, 2 running; 130 submitted: 120 completed,
    /// 10 panicked, 0 cancelled; 0 rejected, 3 steals, 7 parks`; a self-sizing pool adds its
    /// policy after ` | sizing: ` (see [`SizingStatus`](crate::SizingStatus)'s `Display`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.workers == 1 { "" } else { "s" };
        write!(
            f,
            "{} worker{s}, {} queued, {} running; {} submitted: {} completed, {} panicked, \
             {} cancelled; {} rejected, {} steals, {} parks",
            self.workers,
            self.queued,
            self.running,
            self.submitted,
            self.completed,
            self.panicked,
            self.cancelled,
            self.rejected,
            self.steals,
            self.parks,
        )?;
        if let Some(sizing) = &self.sizing {
            write!(f, " | sizing: {sizing}")?;
        }
        Ok(())
    }
}

impl Metrics {
    /// `true` when every job this snapshot saw accepted has ended (completed, panicked or
    /// cancelled): nothing queued, nothing running. What
    /// [`ExecutorExt::wait_idle`](crate::ExecutorExt::wait_idle) waits for.
    pub fn is_idle(&self) -> bool {
        self.completed + self.panicked + self.cancelled >= self.submitted
    }
}

/// Which event to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Event {
    /// A job was accepted.
    Submitted = 0,
    /// A job returned normally.
    Completed,
    /// A job panicked.
    Panicked,
    /// A job was dropped unrun.
    Cancelled,
    /// A submission was refused.
    Rejected,
    /// A job was stolen.
    Steal,
    /// A worker parked.
    Park,
    /// A job started (paired with one of Completed/Panicked to derive `running`).
    Started,
}

const EVENTS: usize = 8;

/// Shards a thread may own alone (see the module docs).
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
const EXCLUSIVE_SHARDS: usize = 24;
/// Shards the threads beyond those share, adding atomically.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
const SHARED_SHARDS: usize = 8;
/// Shards in all: a thread's [`thread_slot`] indexes them. The intake gate (`intake.rs`)
/// shards its in-flight marks the same way.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
pub(crate) const SHARDS: usize = EXCLUSIVE_SHARDS + SHARED_SHARDS;
// Model checkers: one shard keeps every snapshot to a handful of modelled atomic loads.
#[cfg(any(shoal_loom, shoal_shuttle))]
pub(crate) const SHARDS: usize = 1;

struct Shard {
    counts: [AtomicU64; EVENTS],
}

impl Shard {
    /// Adds `n` to `event` (takes it back with `back`: a count this thread made), as the
    /// shard's only writer (`exclusive`) or as one of several.
    #[inline]
    fn count(&self, event: Event, n: u64, back: bool, exclusive: bool) {
        // Taking back is adding the two's complement: both sides wrap.
        let delta = if back { n.wrapping_neg() } else { n };
        // ORDERING: Release pairs with the Acquire loads of `snapshot`: a snapshot that sees a
        // job's end also sees the submission counted before the job was queued (module docs).
        // A Release store publishes what came before it as a Release add does.
        add_to_shard(
            &self.counts[event as usize],
            delta,
            exclusive,
            Ordering::Release,
        );
    }
}

/// Adds `delta` to `count`, one shard of a structure sharded by [`thread_slot`], with
/// `order` (wrapping: a take-back is the two's complement): as the shard's only writer
/// (`exclusive`) a load and a store, otherwise an atomic add.
#[inline]
pub(crate) fn add_to_shard(count: &AtomicU64, delta: u64, exclusive: bool, order: Ordering) {
    if exclusive {
        // ORDERING: the load may be Relaxed: this thread wrote the value it reads, or took the
        // shard over, through `SLOTS`'s lock, from the thread that did.
        count.store(count.load(Ordering::Relaxed).wrapping_add(delta), order);
    } else {
        count.fetch_add(delta, order);
    }
}

/// One thread's shard of [`Counters`] ([`Counters::local`]): `add` and `retract` as there.
pub(crate) struct LocalCounters<'a>(&'a Shard, bool);

impl LocalCounters<'_> {
    #[inline]
    pub(crate) fn add(&self, event: Event, n: u64) {
        self.0.count(event, n, false, self.1);
    }

    #[inline]
    pub(crate) fn retract(&self, event: Event, n: u64) {
        self.0.count(event, n, true, self.1);
    }
}

impl Shard {
    fn new() -> Shard {
        Shard {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Sharded event counters; see the module docs.
pub struct Counters {
    shards: Box<[CachePadded<Shard>]>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters").finish_non_exhaustive()
    }
}

impl Default for Counters {
    fn default() -> Self {
        Self::new()
    }
}

/// The calling thread's shard index (below [`SHARDS`]), and whether the thread is that
/// index's only user: then, in every sharded structure indexed by it, the thread may write its
/// shard with a load and a store instead of a read-modify-write. The answer holds until the
/// thread exits (its slot is handed back by a thread-local destructor, after which it answers
/// a shared index), so a mark a thread makes and undoes within one call is safe.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
#[inline]
pub(crate) fn thread_slot() -> (usize, bool) {
    // A thread that is exiting and whose slot is gone (it may be another thread's by now)
    // counts on a shared shard.
    SHARD
        .try_with(|slot| (slot.index, slot.exclusive))
        .unwrap_or((EXCLUSIVE_SHARDS, false))
}

#[cfg(any(shoal_loom, shoal_shuttle))]
#[inline]
pub(crate) fn thread_slot() -> (usize, bool) {
    (0, false)
}

/// A thread's shard index: one of the exclusive ones while any is free, handed back when the
/// thread exits.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
struct Slot {
    index: usize,
    exclusive: bool,
}

/// The exclusive shard indices no live thread holds, and how many were ever handed out.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
struct Slots {
    free: Vec<usize>,
    issued: usize,
    /// Spreads the threads beyond the exclusive shards over the shared ones.
    overflow: usize,
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
static SLOTS: std::sync::Mutex<Slots> = std::sync::Mutex::new(Slots {
    free: Vec::new(),
    issued: 0,
    overflow: 0,
});

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
impl Slot {
    fn claim() -> Slot {
        let mut slots = SLOTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(index) = slots.free.pop() {
            return Slot {
                index,
                exclusive: true,
            };
        }
        if slots.issued < EXCLUSIVE_SHARDS {
            slots.issued += 1;
            return Slot {
                index: slots.issued - 1,
                exclusive: true,
            };
        }
        slots.overflow = slots.overflow.wrapping_add(1);
        Slot {
            index: EXCLUSIVE_SHARDS + slots.overflow % SHARED_SHARDS,
            exclusive: false,
        }
    }
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
impl Drop for Slot {
    fn drop(&mut self) {
        if self.exclusive {
            // Under the lock: the next owner's first load sees this thread's last store.
            SLOTS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .free
                .push(self.index);
        }
    }
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
std::thread_local! {
    static SHARD: Slot = Slot::claim();
}

impl Counters {
    /// Fresh counters, all zero.
    pub fn new() -> Counters {
        Counters {
            shards: (0..SHARDS)
                .map(|_| CachePadded::new(Shard::new()))
                .collect(),
        }
    }

    /// Counts `n` `event`s on the calling thread's shard.
    #[inline]
    pub fn add(&self, event: Event, n: u64) {
        let (index, exclusive) = thread_slot();
        self.shards[index].count(event, n, false, exclusive);
    }

    /// The calling thread's shard, for several counts in a row (a job's start and its end)
    /// with one look-up.
    #[inline]
    pub(crate) fn local(&self) -> LocalCounters<'_> {
        let (index, exclusive) = thread_slot();
        LocalCounters(&self.shards[index], exclusive)
    }

    /// Takes back `n` `event`s that the calling thread itself counted with [`add`](Self::add)
    /// (a job counted as submitted before its push, and then refused). Only the calling
    /// thread's shard changes, so it never goes below zero.
    #[inline]
    pub fn retract(&self, event: Event, n: u64) {
        // A snapshot between the two counts sees the job as submitted and not ended, which
        // only delays an idle check.
        let (index, exclusive) = thread_slot();
        self.shards[index].count(event, n, true, exclusive);
    }

    /// The sum of one event over all shards.
    pub fn get(&self, event: Event) -> u64 {
        self.shards
            .iter()
            // ORDERING: Acquire pairs with the Release adds (module docs).
            .map(|s| s.counts[event as usize].load(Ordering::Acquire))
            .sum()
    }

    /// A [`Metrics`] snapshot; the pool fills in `workers`.
    ///
    /// The ends are read before the submissions (module docs), so `completed + panicked +
    /// cancelled >= submitted` holds in a snapshot only when every job it saw submitted had
    /// ended.
    pub fn snapshot(&self, workers: usize) -> Metrics {
        let completed = self.get(Event::Completed);
        let panicked = self.get(Event::Panicked);
        let cancelled = self.get(Event::Cancelled);
        let started = self.get(Event::Started);
        let submitted = self.get(Event::Submitted);
        let running = started.saturating_sub(completed + panicked);
        let queued = submitted.saturating_sub(started + cancelled);
        Metrics {
            workers,
            queued,
            running,
            submitted,
            completed,
            panicked,
            cancelled,
            rejected: self.get(Event::Rejected),
            steals: self.get(Event::Steal),
            parks: self.get(Event::Park),
            sizing: None,
        }
    }
}

#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests {
    use std::sync::{Arc, Barrier};
    use std::thread;

    use super::*;

    /// More threads at once than there are exclusive shards: the first ones own theirs, the
    /// rest share, and no count is lost either way.
    #[test]
    fn owners_and_sharers_lose_no_count() {
        let counters = Arc::new(Counters::new());
        let threads = EXCLUSIVE_SHARDS + 2 * SHARED_SHARDS;
        let start = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (counters, start) = (counters.clone(), start.clone());
                thread::spawn(move || {
                    // Everyone holds a slot before anyone counts.
                    let _ = thread_slot();
                    start.wait();
                    for _ in 0..10_000 {
                        counters.add(Event::Submitted, 1);
                        counters.local().add(Event::Started, 1);
                    }
                    counters.retract(Event::Submitted, 1);
                    thread_slot().1
                })
            })
            .collect();
        let owners = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|&owned| owned)
            .count();
        assert!(owners <= EXCLUSIVE_SHARDS, "{owners} owners");
        assert!(owners < threads, "some threads had to share");
        assert_eq!(counters.get(Event::Submitted), threads as u64 * 9_999);
        assert_eq!(counters.get(Event::Started), threads as u64 * 10_000);
    }

    /// A shard handed back by an exiting thread carries on from its last count.
    #[test]
    fn a_shard_changes_hands_without_losing_counts() {
        let counters = Arc::new(Counters::new());
        for _ in 0..3 * EXCLUSIVE_SHARDS {
            let counters = counters.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    counters.add(Event::Completed, 1);
                }
            })
            .join()
            .unwrap();
        }
        assert_eq!(
            counters.get(Event::Completed),
            3 * EXCLUSIVE_SHARDS as u64 * 100
        );
    }
}
