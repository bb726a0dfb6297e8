//! One blocking primitive for every wait in core: a value behind a mutex, and a condition
//! variable that is only signalled when someone is actually waiting.
//!
//! Waiting inside a worker *helps*: while the condition is false, the waiter runs queued jobs
//! of its pool (see [`crate::worker`]) and the broadcast jobs posted to it. When there is
//! nothing to run, it looks a while first (what it waits for is often about done, and a sleep
//! costs a wake-up), then sleeps with a short, growing timeout and looks again, because new
//! work that only it could run may arrive (every other worker may be waiting too). Outside a
//! worker it blocks plainly.

use std::time::{Duration, Instant};

use crate::identity;
use crate::sync::{lock, Condvar, Mutex};
use crate::worker;

struct Inner<S> {
    value: S,
    /// Threads asleep on the condition variable that no signal has reached yet. A signal
    /// wakes them all and clears this, so a burst of updates signals once, not once per
    /// update until the sleepers get the lock back (each signal is a futex call).
    waiters: usize,
    /// Signals sent so far: a waiter that finds it unchanged when it wakes was not signalled
    /// (a timeout or a spurious wake-up) and takes its own count back.
    signals: u64,
}

impl<S> Inner<S> {
    /// Counts the caller as asleep; returns the signal count to hand to [`Inner::woke`].
    fn sleeping(&mut self) -> u64 {
        self.waiters += 1;
        self.signals
    }

    /// Whether an update owes the sleepers a signal; if so, counts it sent and clears them.
    fn signal(&mut self) -> bool {
        if self.waiters == 0 {
            return false;
        }
        self.waiters = 0;
        self.signals += 1;
        true
    }

    /// The caller woke up: unless a signal came since [`Inner::sleeping`] (which cleared every
    /// sleeper's count), it takes its count back.
    fn woke(&mut self, signals: u64) {
        if self.signals == signals {
            self.waiters -= 1;
        }
    }
}

/// A value some thread waits on until a condition holds.
pub(crate) struct Waitable<S> {
    inner: Mutex<Inner<S>>,
    cv: Condvar,
}

impl<S> Waitable<S> {
    pub(crate) fn new(value: S) -> Self {
        Waitable {
            inner: Mutex::new(Inner {
                value,
                waiters: 0,
                signals: 0,
            }),
            cv: Condvar::new(),
        }
    }

    /// Changes the value and wakes the waiters, if there are any.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let mut guard = lock(&self.inner);
        let r = f(&mut guard.value);
        let wake = guard.signal();
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
            // Under the model checkers the deadline is not watched (see above).
            #[cfg(not(any(shoal_loom, shoal_shuttle)))]
            let timeout = match deadline {
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    Some(deadline - now)
                }
                None => None,
            };
            #[cfg(any(shoal_loom, shoal_shuttle))]
            let timeout: Option<Duration> = None;
            let signals = guard.sleeping();
            guard = match timeout {
                Some(timeout) => match self.cv.wait_timeout(guard, timeout) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                },
                None => match self.cv.wait(guard) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                },
            };
            guard.woke(signals);
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
        // Look a while before the first nap (`worker::look_before_sleep`), within the
        // deadline; each look takes the lock, since the value lives behind it.
        let mut found = None;
        worker::look_before_sleep(|| {
            found = ready(&mut lock(&self.inner).value);
            found.is_some() || deadline.is_some_and(|d| Instant::now() >= d)
        });
        if found.is_some() {
            return found;
        }
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
                let signals = guard.sleeping();
                let (mut g, _) = match self.cv.wait_timeout(guard, wait) {
                    Ok(x) => x,
                    Err(p) => p.into_inner(),
                };
                g.woke(signals);
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

#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests {
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;

    fn counts<S>(w: &Waitable<S>) -> (usize, u64) {
        let inner = lock(&w.inner);
        (inner.waiters, inner.signals)
    }

    /// Two sleepers, one update: one signal wakes both, neither takes back a count the signal
    /// already cleared, and updates after that signal nobody.
    #[test]
    fn one_signal_wakes_every_sleeper() {
        let w = Arc::new(Waitable::new(0u32));
        let sleepers: Vec<_> = (0..2)
            .map(|_| {
                let w = w.clone();
                thread::spawn(move || w.wait_until(|v| (*v > 0).then_some(*v)))
            })
            .collect();
        let start = Instant::now();
        while counts(&w).0 < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the sleepers never slept"
            );
            thread::sleep(Duration::from_millis(1));
        }
        w.update(|v| *v = 7);
        for s in sleepers {
            assert_eq!(s.join().unwrap(), 7);
        }
        assert_eq!(counts(&w), (0, 1));
        w.update(|v| *v = 8);
        assert_eq!(
            counts(&w),
            (0, 1),
            "an update with nobody asleep signals nobody"
        );
    }

    /// A sleeper whose deadline passes takes its own count back, so the next update does not
    /// signal a thread that is gone.
    #[test]
    fn a_timed_out_sleeper_takes_its_count_back() {
        let w = Waitable::new(0u32);
        let deadline = Instant::now() + Duration::from_millis(5);
        assert_eq!(w.wait_until_deadline(|_| None::<()>, Some(deadline)), None);
        assert_eq!(counts(&w), (0, 0));
        w.update(|v| *v = 1);
        assert_eq!(counts(&w), (0, 0));
    }
}
