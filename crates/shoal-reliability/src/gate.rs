//! A gate that jobs wait at until the test opens it: how a test knows workers are busy without
//! sleeping. It opens when its [`Opener`] is dropped, so a failing assertion releases the jobs
//! it blocked and the pool can still shut down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use shoal_core::Executor;

use crate::watchdog::eventually;

struct Inner {
    open: Mutex<bool>,
    cv: Condvar,
    /// Threads that arrived at the gate (waiting or passed).
    arrived: AtomicUsize,
}

/// A one-shot gate; clones share it.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("open", &self.is_open())
            .field("arrived", &self.arrived())
            .finish()
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate {
            inner: Arc::new(Inner {
                open: Mutex::new(false),
                cv: Condvar::new(),
                arrived: AtomicUsize::new(0),
            }),
        }
    }

    /// Waits until the gate is open.
    pub fn wait(&self) {
        // ORDERING: a count read by `wait_arrived`; the gate's mutex orders everything else.
        self.inner.arrived.fetch_add(1, Ordering::SeqCst);
        let mut open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
        while !*open {
            open = self.inner.cv.wait(open).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Opens the gate for good.
    pub fn open(&self) {
        *self.inner.open.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.inner.cv.notify_all();
    }

    /// `true` once opened.
    pub fn is_open(&self) -> bool {
        *self.inner.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Threads that have arrived at the gate so far.
    pub fn arrived(&self) -> usize {
        // ORDERING: see `wait`.
        self.inner.arrived.load(Ordering::SeqCst)
    }

    /// Waits (polling, up to `limit`) until at least `n` threads arrived.
    pub fn wait_arrived(&self, n: usize, limit: Duration) {
        eventually(&format!("{n} threads at the gate"), limit, || {
            self.arrived() >= n
        });
    }

    /// Holds `n` workers of `pool` here: queues `n` jobs that wait at the gate, then waits
    /// (polling, up to `limit`) until all `n` arrived. Returns the opener, made first, so the
    /// jobs are released when it is dropped, a failed submission's unwind included.
    pub fn hold<E: Executor + ?Sized>(&self, pool: &E, n: usize, limit: Duration) -> Opener {
        let opener = self.opener();
        for _ in 0..n {
            let gate = self.clone();
            pool.execute(Box::new(move || gate.wait()))
                .expect("a running pool accepts the gated job");
        }
        self.wait_arrived(n, limit);
        opener
    }

    /// A guard that opens the gate when dropped, panics included.
    pub fn opener(&self) -> Opener {
        Opener { gate: self.clone() }
    }
}

/// Opens its gate on drop; see [`Gate::opener`].
#[derive(Debug)]
pub struct Opener {
    gate: Gate,
}

impl Drop for Opener {
    fn drop(&mut self) {
        self.gate.open();
    }
}
