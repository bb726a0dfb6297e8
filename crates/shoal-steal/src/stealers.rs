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
//! harmless, because a retiring worker empties its deque into the injector before it leaves.

use shoal_core::sync::atomic::{AtomicUsize, Ordering};
use shoal_core::sync::{lock, Mutex};
// The snapshot is immutable data shared by reference counting, not part of any protocol loom
// models (the version and the lock are); std's `Arc` also builds `Arc<[T]>`, loom's cannot.
use std::sync::Arc;

use crate::queue::Stealer;

/// One worker's public face: its key and the stealer of its deque.
#[derive(Clone)]
pub(crate) struct Entry {
    /// Unique to this worker thread over the pool's life (unlike its worker index, which a
    /// later worker may take while this one still leaves).
    pub(crate) id: usize,
    pub(crate) stealer: Stealer,
}

/// A published list and the version it was published under.
pub(crate) struct Snapshot {
    pub(crate) version: usize,
    pub(crate) entries: Arc<[Entry]>,
}

pub(crate) struct Stealers {
    version: AtomicUsize,
    current: Mutex<Current>,
}

/// The list under its lock, and the key the next entry gets.
struct Current {
    snapshot: Snapshot,
    next_id: usize,
}

impl Stealers {
    pub(crate) fn new() -> Stealers {
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
    pub(crate) fn version(&self) -> usize {
        // ORDERING: Acquire pairs with the Release store in `publish`; a worker that sees the
        // new number and then locks `current` copies a list at least that new (the lock
        // orders it anyway; Acquire keeps the hint honest).
        self.version.load(Ordering::Acquire)
    }

    /// A copy of the current list.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let current = &lock(&self.current).snapshot;
        Snapshot {
            version: current.version,
            entries: current.entries.clone(),
        }
    }

    /// Adds a worker's stealer; returns the key it is listed under.
    pub(crate) fn add(&self, stealer: Stealer) -> usize {
        let mut current = lock(&self.current);
        let id = current.next_id;
        current.next_id += 1;
        Self::publish(&self.version, &mut current.snapshot, |list| {
            list.push(Entry { id, stealer })
        });
        id
    }

    /// Removes the stealer listed under `id`.
    pub(crate) fn remove(&self, id: usize) {
        let mut current = lock(&self.current);
        Self::publish(&self.version, &mut current.snapshot, |list| {
            list.retain(|e| e.id != id)
        });
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
