//! One blocking primitive for every wait in core: a value behind a mutex, and a condition
//! variable that is only signalled when someone is actually waiting.
//!
//! Waiting inside a worker *helps*: while the condition is false, the waiter runs queued jobs
//! of its pool (see [`crate::worker`]). When there is nothing to run, it sleeps with a short,
//! growing timeout and looks again, because new work that only it could run may arrive (every
//! other worker may be waiting too). Outside a worker it blocks plainly.

use std::time::Duration;

use crate::sync::{lock, Condvar, Mutex};
use crate::worker;

struct Inner<S> {
    value: S,
    waiters: usize,
}

/// A value some thread waits on until a condition holds.
pub(crate) struct Waitable<S> {
    inner: Mutex<Inner<S>>,
    cv: Condvar,
}

impl<S> Waitable<S> {
    pub(crate) fn new(value: S) -> Self {
        Waitable {
            inner: Mutex::new(Inner { value, waiters: 0 }),
            cv: Condvar::new(),
        }
    }

    /// Changes the value and wakes the waiters, if there are any.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let mut guard = lock(&self.inner);
        let r = f(&mut guard.value);
        let wake = guard.waiters > 0;
        drop(guard);
        if wake {
            self.cv.notify_all();
        }
        r
    }

    /// Reads or changes the value without waking anyone.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut lock(&self.inner).value)
    }

    /// Waits until `ready` returns `Some`, helping the current pool meanwhile.
    pub(crate) fn wait_until<R>(&self, mut ready: impl FnMut(&mut S) -> Option<R>) -> R {
        if worker::in_worker() {
            self.wait_helping(ready)
        } else {
            let mut guard = lock(&self.inner);
            loop {
                if let Some(r) = ready(&mut guard.value) {
                    return r;
                }
                guard.waiters += 1;
                guard = match self.cv.wait(guard) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                guard.waiters -= 1;
            }
        }
    }

    fn wait_helping<R>(&self, mut ready: impl FnMut(&mut S) -> Option<R>) -> R {
        const MIN_NAP: Duration = Duration::from_micros(20);
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        const MAX_NAP: Duration = Duration::from_millis(1);
        let mut nap = MIN_NAP;
        loop {
            if let Some(r) = ready(&mut lock(&self.inner).value) {
                return r;
            }
            if worker::help_one() {
                nap = MIN_NAP;
                continue;
            }
            let mut guard = lock(&self.inner);
            if let Some(r) = ready(&mut guard.value) {
                return r;
            }
            #[cfg(not(any(shoal_loom, shoal_shuttle)))]
            {
                guard.waiters += 1;
                let (mut g, _) = match self.cv.wait_timeout(guard, nap) {
                    Ok(x) => x,
                    Err(p) => p.into_inner(),
                };
                g.waiters -= 1;
                nap = (nap * 2).min(MAX_NAP);
            }
            #[cfg(any(shoal_loom, shoal_shuttle))]
            {
                // loom's and shuttle's wait_timeout never time out: yield to the model instead.
                drop(guard);
                let _ = nap;
                crate::sync::thread::yield_now();
            }
        }
    }
}
