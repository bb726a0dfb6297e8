//! Where the limiter's time comes from: [`SystemClock`] in production, [`ManualClock`] in
//! tests, where time moves only when the test says so, so tests are exact and never sleep.

use std::fmt;
use std::time::{Duration, Instant};

use crate::sync::{lock, Mutex, Weak};

/// A source of time for [`RateLimited`](crate::RateLimited).
///
/// `now` is monotonic time since an origin of the clock's choosing. A clock whose time can
/// jump (a [`ManualClock`]) must call the wakers given to [`register_waker`](Clock::register_waker)
/// after each jump, so submitters waiting for a token look again.
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's origin; never decreases.
    fn now(&self) -> Duration;

    /// Called once by each [`RateLimited`](crate::RateLimited) that uses this clock with a
    /// function that wakes its waiting submitters. A clock that only moves with real time can
    /// ignore it (the default); waiters then wake when their computed wait has passed.
    fn register_waker(&self, waker: Weak<dyn Fn() + Send + Sync>) {
        let _ = waker;
    }
}

/// Real time, from [`Instant`].
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: exact, sleep-free tests of anything time-based.
///
/// ```
/// use std::time::Duration;
/// use shoal_rate::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// assert_eq!(clock.now(), Duration::ZERO);
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(clock.now(), Duration::from_millis(250));
/// ```
#[derive(Default)]
pub struct ManualClock {
    now: Mutex<Duration>,
    wakers: Mutex<Vec<Weak<dyn Fn() + Send + Sync>>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves time forward by `by` and wakes every limiter waiting on this clock.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = lock(&self.now);
            *now = now.saturating_add(by);
        }
        // Wake after the new time is visible: a waiter reads the clock under its limiter's
        // lock, and the waker takes that lock before notifying, so no wake-up is lost.
        let wakers: Vec<_> = {
            let mut list = lock(&self.wakers);
            list.retain(|w| w.strong_count() > 0);
            list.iter().filter_map(Weak::upgrade).collect()
        };
        for wake in wakers {
            wake();
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *lock(&self.now)
    }

    fn register_waker(&self, waker: Weak<dyn Fn() + Send + Sync>) {
        lock(&self.wakers).push(waker);
    }
}
