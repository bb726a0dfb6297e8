//! Spawn-fault injection: make the OS "refuse" worker threads on demand.
//!
//! Every shoal builder takes a `spawn_hook` (see `shoal_core::spawn`), asked before each
//! worker-thread start; an `Err` from it is treated exactly like the OS refusing the thread.
//! [`SpawnFaults`] is a switchboard for such a hook: hand [`SpawnFaults::hook`] to the builder,
//! then decide from the test, at any moment, how many more starts succeed. The reliability
//! campaign uses it to check what `build` and `resize` do when threads run out.
//!
//! ```
//! use std::io;
//! use shoal_core::spawn::{before_spawn, SpawnHook};
//! use shoal_testkit::faults::SpawnFaults;
//!
//! // Allow two threads, then refuse every start as the OS does when it is out of threads.
//! let faults = SpawnFaults::new();
//! faults.allow_next(2);
//! let hook = SpawnHook::new(faults.hook());
//! assert!(before_spawn(Some(&hook), "pool-0", 0).is_ok());
//! assert!(before_spawn(Some(&hook), "pool-1", 1).is_ok());
//! let err = before_spawn(Some(&hook), "pool-2", 2).unwrap_err();
//! assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
//! assert_eq!((faults.attempts(), faults.refused()), (3, 1));
//! ```

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use shoal_core::spawn::SpawnInfo;

/// The error a refused start gives: what `pthread_create` failing with `EAGAIN` (the process
/// is out of threads or memory for stacks) looks like through `std::thread::Builder::spawn`.
pub fn refused(detail: &str) -> io::Error {
    io::Error::new(io::ErrorKind::WouldBlock, detail.to_owned())
}

/// A switchboard for spawn failures: hand [`hook`](SpawnFaults::hook) to a pool's builder,
/// then decide from the test, at any moment, how many more starts succeed.
///
/// Clones share one state. Starts it refuses fail with [`refused`]'s error, as if the OS were
/// out of threads.
#[derive(Clone)]
pub struct SpawnFaults {
    state: Arc<FaultState>,
}

struct FaultState {
    /// Starts still allowed; `usize::MAX` means no limit.
    budget: AtomicUsize,
    attempts: AtomicU64,
    refused: AtomicU64,
}

impl fmt::Debug for SpawnFaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnFaults")
            .field("attempts", &self.attempts())
            .field("refused", &self.refused())
            .finish_non_exhaustive()
    }
}

impl Default for SpawnFaults {
    fn default() -> Self {
        Self::new()
    }
}

impl SpawnFaults {
    /// A switchboard that allows every start, until told otherwise.
    pub fn new() -> SpawnFaults {
        SpawnFaults {
            state: Arc::new(FaultState {
                budget: AtomicUsize::new(usize::MAX),
                attempts: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// Allows the next `n` starts, then refuses every one until changed.
    pub fn allow_next(&self, n: usize) {
        // ORDERING: the budget publishes nothing else; tests set it before the pool call that
        // spawns, on the same thread or before a synchronizing hand-off.
        self.state.budget.store(n, Ordering::SeqCst);
    }

    /// Refuses every start from now on.
    pub fn refuse_all(&self) {
        self.allow_next(0);
    }

    /// Allows every start from now on.
    pub fn allow_all(&self) {
        self.allow_next(usize::MAX);
    }

    /// Starts asked about so far.
    pub fn attempts(&self) -> u64 {
        // ORDERING: a counter read after the pool call returned; SeqCst for simplicity.
        self.state.attempts.load(Ordering::SeqCst)
    }

    /// Starts refused so far.
    pub fn refused(&self) -> u64 {
        // ORDERING: as in `attempts`.
        self.state.refused.load(Ordering::SeqCst)
    }

    /// The hook to give a builder's `spawn_hook`.
    pub fn hook(&self) -> impl Fn(&SpawnInfo<'_>) -> io::Result<()> + Send + Sync + 'static {
        let state = self.state.clone();
        move |info: &SpawnInfo<'_>| {
            // ORDERING: SeqCst counters and budget, so concurrent starts (two resizes from two
            // threads) each take a distinct unit of budget.
            state.attempts.fetch_add(1, Ordering::SeqCst);
            let took = state
                .budget
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| match b {
                    0 => None,
                    usize::MAX => Some(usize::MAX),
                    b => Some(b - 1),
                })
                .is_ok();
            if took {
                Ok(())
            } else {
                state.refused.fetch_add(1, Ordering::SeqCst);
                Err(refused(&format!(
                    "injected spawn failure for `{}` (worker {}): Resource temporarily \
                     unavailable",
                    info.name(),
                    info.index()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use shoal_core::spawn::{before_spawn, SpawnHook};

    use super::*;

    #[test]
    fn faults_budget() {
        let faults = SpawnFaults::new();
        let hook = SpawnHook::new(faults.hook());
        for i in 0..5 {
            assert!(before_spawn(Some(&hook), "w", i).is_ok());
        }
        faults.refuse_all();
        assert!(before_spawn(Some(&hook), "w", 5).is_err());
        faults.allow_next(1);
        assert!(before_spawn(Some(&hook), "w", 6).is_ok());
        assert!(before_spawn(Some(&hook), "w", 7).is_err());
        faults.allow_all();
        assert!(before_spawn(Some(&hook), "w", 8).is_ok());
        assert_eq!((faults.attempts(), faults.refused()), (9, 2));
    }
}
