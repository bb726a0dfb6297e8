//! The list of stealers that lets every worker see its siblings, and changes at runtime.
//!
//! Resizing adds and removes deques while workers steal, so the list is published as an
//! immutable snapshot (`Arc<[Entry]>`) with a version number. A worker keeps its own copy of
//! the snapshot and, before each round of stealing, compares one read-mostly atomic (the
//! version) with the one it holds; only when a resize happened does it take the lock to copy
//! the new list. So stealing costs no lock and no shared write, and a grown worker is seen by
//! every sibling at its next steal attempt.
//!
//! A removed worker's stealer may live on in an old snapshot for a moment: stealing from it is
//! harmless, because a retiring worker empties its deque into a shared queue before it leaves.

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{lock, Mutex};
// The snapshot is immutable data shared by reference counting, not part of any protocol loom
// models (the version and the lock are); std's `Arc` also builds `Arc<[T]>`, loom's cannot.
use std::sync::Arc;

use std::cell::{Cell, RefCell, RefMut};

use super::{Local, Steal, Stealer};
use crate::{Counters, Task};

/// One worker's public face: its key and the stealer of its deque.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Unique to this worker thread over the pool's life (unlike its worker index, which a
    /// later worker may take while this one still leaves).
    pub id: usize,
    /// The thieves' handle on its deque.
    pub stealer: Stealer,
}

/// A published list and the version it was published under.
#[derive(Debug)]
pub struct Snapshot {
    /// The list's version when this copy was made.
    pub version: usize,
    /// Every worker's entry, in the order they were added.
    pub entries: Arc<[Entry]>,
}

impl Snapshot {
    /// Tries to steal a batch from each deque but `me`'s once, starting at entry `start`
    /// (modulo the length; a random start spreads the thieves over the victims). `Ok`: a job
    /// taken, the rest of its batch now in `dest`. `Err(retry)`: nothing taken; `retry` when an
    /// attempt lost a race, so that a deque seen empty may not have been.
    #[inline]
    pub fn steal_batch(&self, me: usize, start: usize, dest: &Local) -> Result<Task, bool> {
        let n = self.entries.len();
        let mut retry = false;
        if n == 0 {
            return Err(retry);
        }
        let start = start % n;
        for k in 0..n {
            let i = if start + k >= n {
                start + k - n
            } else {
                start + k
            };
            let victim = &self.entries[i];
            if victim.id == me {
                continue;
            }
            match victim.stealer.steal_batch_and_pop(dest) {
                Steal::Success(job) => return Ok(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        Err(retry)
    }

    /// `true` if the deque of some entry but `me`'s holds a job (a snapshot).
    #[inline]
    pub fn any_queued(&self, me: usize) -> bool {
        self.entries
            .iter()
            .any(|e| e.id != me && !e.stealer.is_empty())
    }
}

/// The list of a pool's stealers, which changes at run time.
///
/// Resizing adds and removes deques while workers steal, so the list is published as an
/// immutable [`Snapshot`] with a version number. A worker keeps its own copy and, before each
/// round of stealing, compares one read-mostly atomic ([`version`](Stealers::version)) with
/// the one it holds; only after a resize does it take the lock to copy the new list.
pub struct Stealers {
    version: AtomicUsize,
    current: Mutex<Current>,
}

/// The list under its lock, and the key the next entry gets.
struct Current {
    snapshot: Snapshot,
    next_id: usize,
}

impl Stealers {
    /// An empty list.
    pub fn new() -> Stealers {
        Stealers {
            version: AtomicUsize::new(0),
            current: Mutex::new(Current {
                snapshot: Snapshot {
                    version: 0,
                    entries: Arc::from(Vec::new()),
                },
                next_id: 0,
            }),
        }
    }

    /// The version now; compare with [`Snapshot::version`] to see whether a copy is stale.
    #[inline]
    pub fn version(&self) -> usize {
        // ORDERING: Acquire pairs with the Release store in `publish`; a worker that sees the
        // new number and then locks `current` copies a list at least that new (the lock
        // orders it anyway; Acquire keeps the hint honest).
        self.version.load(Ordering::Acquire)
    }

    /// A copy of the current list.
    pub fn snapshot(&self) -> Snapshot {
        let current = &lock(&self.current).snapshot;
        Snapshot {
            version: current.version,
            entries: current.entries.clone(),
        }
    }

    /// Adds a worker's stealer; returns the key it is listed under.
    pub fn add(&self, stealer: Stealer) -> usize {
        let mut current = lock(&self.current);
        let id = current.next_id;
        current.next_id += 1;
        Self::publish(&self.version, &mut current.snapshot, |list| {
            list.push(Entry { id, stealer })
        });
        id
    }

    /// Removes the stealer listed under `id`.
    pub fn remove(&self, id: usize) {
        let mut current = lock(&self.current);
        Self::publish(&self.version, &mut current.snapshot, |list| {
            list.retain(|e| e.id != id)
        });
    }

    /// Drops every job in every listed deque unrun, counted as cancelled (`Shutdown::Now`).
    pub fn cancel_all(&self, counters: &Counters) {
        for entry in self.snapshot().entries.iter() {
            super::cancel_each(|| entry.stealer.steal(), counters);
        }
    }

    fn publish(
        version: &AtomicUsize,
        current: &mut Snapshot,
        change: impl FnOnce(&mut Vec<Entry>),
    ) {
        let mut list: Vec<Entry> = current.entries.iter().cloned().collect();
        change(&mut list);
        current.entries = Arc::from(list);
        current.version += 1;
        // ORDERING: Release; see `version`.
        version.store(current.version, Ordering::Release);
    }
}

impl std::fmt::Debug for Stealers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stealers")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl Default for Stealers {
    fn default() -> Stealers {
        Stealers::new()
    }
}

/// One worker's side of the list: its key, its copy of the list (refreshed only after a
/// resize published a newer one), and where its next round of stealing starts. Only its own
/// thread uses it.
#[derive(Debug)]
pub struct Siblings {
    id: usize,
    copy: RefCell<Snapshot>,
    rng: Cell<u64>,
}

impl Siblings {
    /// The view of the worker listed under `id` in `stealers`.
    pub fn new(stealers: &Stealers, id: usize) -> Siblings {
        Siblings {
            id,
            copy: RefCell::new(stealers.snapshot()),
            // Any odd, non-zero seed; distinct per worker so thieves spread over victims.
            rng: Cell::new((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        }
    }

    /// The worker's key in the list.
    #[inline]
    pub fn id(&self) -> usize {
        self.id
    }

    /// Our copy of the list, refreshed first if a resize (or a sibling starting up)
    /// published a newer one.
    #[inline]
    pub fn current(&self, stealers: &Stealers) -> RefMut<'_, Snapshot> {
        let mut copy = self.copy.borrow_mut();
        if copy.version != stealers.version() {
            *copy = stealers.snapshot();
        }
        copy
    }

    /// [`Snapshot::steal_batch`] over the current list, from a random sibling on.
    #[inline]
    pub fn steal_batch(&self, stealers: &Stealers, dest: &Local) -> Result<Task, bool> {
        let list = self.current(stealers);
        if list.entries.len() < 2 {
            return Err(false);
        }
        list.steal_batch(self.id, self.next_random(), dest)
    }

    /// `true` if a sibling's deque holds a job (a snapshot).
    #[inline]
    pub fn any_queued(&self, stealers: &Stealers) -> bool {
        self.current(stealers).any_queued(self.id)
    }

    /// xorshift64: cheap, deterministic per worker (loom needs determinism).
    #[inline]
    fn next_random(&self) -> usize {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x as usize
    }
}
