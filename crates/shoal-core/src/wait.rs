//! One blocking primitive for every wait in core: a value behind a mutex, and a condition
//! variable that is only signalled when someone is actually waiting.
//!
//! Waiting inside a worker *helps*: while the condition is false, the waiter runs queued jobs
//! of its pool (see [`crate::worker`]) and the broadcast jobs posted to it. When there is
//! nothing to run, it sleeps with a short, growing timeout and looks again, because new work
//! that only it could run may arrive (every other worker may be waiting too). Outside a worker
//! it blocks plainly.

use std::time::{Duration, Instant};

use crate::identity;
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
    pub(crate) fn wait_until<R>(&self, ready: impl FnMut(&mut S) -> Option<R>) -> R {
        match self.wait_until_deadline(ready, None) {
            Some(r) => r,
            None => unreachable!("a wait without a deadline returns only when ready"),
        }
    }

    /// Like [`wait_until`](Self::wait_until), but gives up at `deadline` (`None`: never) and
    /// returns `None` then. Under loom or shuttle, whose timed waits never time out, the
    /// deadline is not watched.
    pub(crate) fn wait_until_deadline<R>(
        &self,
        mut ready: impl FnMut(&mut S) -> Option<R>,
        deadline: Option<Instant>,
    ) -> Option<R> {
        // A worker thread (also one in its start or stop hook, which has no helper yet) must
        // keep running its own broadcast mail while it waits: the job it waits for may be a
        // broadcast that needs it.
        if worker::in_worker() || identity::has_identity() {
            return self.wait_helping(ready, deadline);
        }
        let mut guard = lock(&self.inner);
        loop {
            if let Some(r) = ready(&mut guard.value) {
                return Some(r);
            }
            guard.waiters += 1;
            guard = match deadline {
                #[cfg(not(any(shoal_loom, shoal_shuttle)))]
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        guard.waiters -= 1;
                        return None;
                    }
                    match self.cv.wait_timeout(guard, deadline - now) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    }
                }
                _ => match self.cv.wait(guard) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                },
            };
            guard.waiters -= 1;
        }
    }

    fn wait_helping<R>(
        &self,
        mut ready: impl FnMut(&mut S) -> Option<R>,
        deadline: Option<Instant>,
    ) -> Option<R> {
        const MIN_NAP: Duration = Duration::from_micros(20);
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        const MAX_NAP: Duration = Duration::from_millis(1);
        let mut nap = MIN_NAP;
        loop {
            if let Some(r) = ready(&mut lock(&self.inner).value) {
                return Some(r);
            }
            if worker::help_one() {
                nap = MIN_NAP;
                continue;
            }
            let mut guard = lock(&self.inner);
            if let Some(r) = ready(&mut guard.value) {
                return Some(r);
            }
            #[cfg(not(any(shoal_loom, shoal_shuttle)))]
            {
                let mut wait = nap;
                if let Some(deadline) = deadline {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    wait = wait.min(deadline - now);
                }
                guard.waiters += 1;
                let (mut g, _) = match self.cv.wait_timeout(guard, wait) {
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
                let _ = (nap, deadline);
                crate::sync::thread::yield_now();
            }
        }
    }
}
