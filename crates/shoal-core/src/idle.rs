//! Waiting until a pool is idle (threadpool's `join`): nothing queued, nothing running, and the
//! pool still running afterwards.
//!
//! ## What "idle" means
//!
//! A snapshot of the pool's counters in which every job seen accepted has ended
//! ([`Metrics::is_idle`](crate::Metrics::is_idle)). The counters are read so that this cannot
//! be a false positive: every pool counts a job as submitted before any worker can see it, and
//! a snapshot reads the ends (with `Acquire`) before the submissions (see `metrics.rs`), so a
//! snapshot that sees a job's end sees its submission too. Jobs submitted while the wait is on
//! may be counted or not: [`IdleWatch::wait`] returns at a moment when every job submitted
//! before that moment had ended, and says nothing about jobs submitted afterwards.
//!
//! ## Who wakes the waiter (no polling)
//!
//! The counters are sharded and signal nothing, and checking them after every job would cost
//! every job a fence. Instead the pool calls [`IdleWatch::check`] at the few places where it
//! may have *become* idle: a worker that found nothing to run (before it blocks), a worker
//! that exits, a submission taken back, a queue cancelled by a shutdown. The job that ends
//! last is followed by one of those on the thread that counted its end: its worker either
//! finds another job (then the pool is not idle) or finds none.
//!
//! ```text
//!  waiter                                   a thread that may have made the pool idle
//!  ──────                                   ─────────────────────────────────────────
//!  1. waiters += 1                          a. count the job's end (Release)
//!  2. fence(SeqCst)                         b. fence(SeqCst)
//!  3. read the generation, then             c. waiters == 0? done
//!     the counters: idle? return            d. the counters: idle? generation += 1, notify
//!  4. wait until the generation changes,
//!     then 3 again
//! ```
//!
//! **No lost wake-up**: 1-2-3 and a-b-c are Dekker's pattern with a fence on each side. If the
//! waiter's fence comes first in the fences' total order, `c` sees the waiter; if the other
//! fence does, `3` sees the end counted in `a`. The thread with the *last* fence among those
//! that counted ends sees every end counted before it, so once the pool is idle, either the
//! waiter saw it in 3, or that thread sees it in d and bumps the generation, which the waiter
//! read in 3 before its check and now sees changed.

use std::fmt;
use std::time::Instant;

use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::wait::Waitable;

/// Why [`ExecutorExt::wait_idle`](crate::ExecutorExt::wait_idle) could not wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitIdleError {
    /// Called from inside the pool: in one of its jobs (or a hook of one of its workers), or
    /// on a thread that one of its workers waits for (`ScopedPool::install`). The pool cannot
    /// be idle while the calling job runs, so the wait would never end.
    InsideWorker,
    /// The executor cannot tell when it is idle (the default of
    /// [`Executor::wait_idle_until`](crate::Executor::wait_idle_until) for executors outside
    /// shoal).
    Unsupported,
}

impl fmt::Display for WaitIdleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitIdleError::InsideWorker => f.write_str(
                "cannot wait for the pool to be idle from inside it: the calling job keeps it \
                 busy; wait from outside the pool, or join the handles of the jobs instead",
            ),
            WaitIdleError::Unsupported => f.write_str(
                "this executor cannot tell when it is idle; join the handles of its jobs instead",
            ),
        }
    }
}

impl std::error::Error for WaitIdleError {}

/// The waiters of one pool's `wait_idle`, and the check that wakes them; see the
/// [module docs](self).
pub struct IdleWatch {
    /// Threads inside [`IdleWatch::wait`].
    waiters: AtomicUsize,
    /// Bumped by every check that found the pool idle with a waiter.
    generation: Waitable<u64>,
}

impl fmt::Debug for IdleWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleWatch")
            // ORDERING: a snapshot for display only.
            .field("waiters", &self.waiters.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for IdleWatch {
    fn default() -> Self {
        IdleWatch::new()
    }
}

impl IdleWatch {
    /// Nobody waits yet.
    pub fn new() -> IdleWatch {
        IdleWatch {
            waiters: AtomicUsize::new(0),
            generation: Waitable::new(0),
        }
    }

    /// Steps a-d: call after a change that may have left the pool idle (module docs), with a
    /// test of the pool's counters. One fence and one load while nobody waits.
    pub fn check(&self, is_idle: impl FnOnce() -> bool) {
        // ORDERING: the fence pairs with the waiter's fence (Dekker, module docs); the loads
        // of the counters inside `is_idle` are Acquire (see `Counters::snapshot`).
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return;
        }
        if is_idle() {
            self.generation.update(|g| *g = g.wrapping_add(1));
        }
    }

    /// Steps 1-4: waits until `is_idle()` holds, or `deadline` passes. Returns whether the pool
    /// was idle. Inside a worker of some pool the wait runs that pool's jobs meanwhile, as
    /// every shoal wait does.
    pub fn wait(&self, deadline: Option<Instant>, is_idle: impl Fn() -> bool) -> bool {
        /// Unregisters even if `is_idle` unwinds.
        struct Registered<'a>(&'a AtomicUsize);
        impl Drop for Registered<'_> {
            fn drop(&mut self) {
                // ORDERING: only ever read as "someone may wait"; a stale non-zero costs a
                // check of the counters.
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        // ORDERING: the increment, then the fence (module docs).
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let _registered = Registered(&self.waiters);
        fence(Ordering::SeqCst);
        loop {
            let seen = self.generation.with(|g| *g);
            if is_idle() {
                return true;
            }
            let changed = self
                .generation
                .wait_until_deadline(|g| (*g != seen).then_some(()), deadline);
            if changed.is_none() {
                // The deadline passed: one last look.
                return is_idle();
            }
        }
    }
}
