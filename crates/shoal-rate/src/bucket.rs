//! The token bucket, in exact integer arithmetic.
//!
//! One token is `period_ns` units of credit, and every nanosecond adds `jobs` units. So "10 per
//! second" and "3 per second" are both exact, with no rounding drift however long the limiter
//! runs. The bucket holds at most `burst` tokens; releasing a job takes one.

use std::time::Duration;

use crate::limit::RateLimit;

/// The credit a limiter has for releasing jobs; it lives under the limiter's lock.
#[derive(Debug)]
pub(crate) struct Bucket {
    jobs: u128,
    period_ns: u128,
    capacity: u128,
    credit: u128,
    last: Duration,
}

impl Bucket {
    /// A full bucket at clock time `now`.
    pub(crate) fn new(limit: &RateLimit, now: Duration) -> Bucket {
        let period_ns = limit.period().as_nanos();
        let capacity = u128::from(limit.burst_size()) * period_ns;
        Bucket {
            jobs: u128::from(limit.jobs()),
            period_ns,
            capacity,
            credit: capacity,
            last: now,
        }
    }

    /// Adds the credit earned since the last refill, up to the burst.
    pub(crate) fn refill(&mut self, now: Duration) {
        if now > self.last {
            let elapsed = (now - self.last).as_nanos();
            self.credit = self
                .credit
                .saturating_add(elapsed.saturating_mul(self.jobs))
                .min(self.capacity);
            self.last = now;
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self) -> bool {
        if self.credit >= self.period_ns {
            self.credit -= self.period_ns;
            true
        } else {
            false
        }
    }

    /// Gives back a token taken for a job the wrapped executor refused (never above the burst).
    pub(crate) fn refund(&mut self) {
        self.credit = (self.credit + self.period_ns).min(self.capacity);
    }

    /// Clock time until the next token, after a refill.
    pub(crate) fn until_next(&self) -> Duration {
        let missing = self.period_ns.saturating_sub(self.credit);
        let ns = missing.div_ceil(self.jobs);
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    //! The bucket's arithmetic; the limiter's behaviour is tested through the public API in
    //! `tests/rate.rs`, on a [`ManualClock`](crate::ManualClock).

    use super::*;

    #[test]
    fn bucket_wait_is_the_exact_time_to_the_next_token() {
        let limit = RateLimit::per(3, Duration::from_secs(1));
        let mut b = Bucket::new(&limit, Duration::ZERO);
        assert!(b.try_take());
        assert!(!b.try_take());
        assert_eq!(b.until_next(), Duration::from_nanos(333_333_334));
        b.refill(Duration::from_nanos(333_333_333));
        assert!(!b.try_take());
        assert_eq!(b.until_next(), Duration::from_nanos(1));
        b.refill(Duration::from_nanos(333_333_334));
        assert_eq!(b.until_next(), Duration::ZERO);
        assert!(b.try_take());
    }

    #[test]
    fn bucket_refund_never_exceeds_the_burst() {
        let limit = RateLimit::per_second(10).burst(2);
        let mut b = Bucket::new(&limit, Duration::ZERO);
        b.refund();
        assert!(b.try_take() && b.try_take());
        assert!(!b.try_take(), "a refund into a full bucket is capped");
    }

    #[test]
    fn bucket_survives_extreme_settings() {
        let limit = RateLimit::per(u32::MAX, Duration::MAX).burst(u32::MAX);
        let mut b = Bucket::new(&limit, Duration::ZERO);
        b.refill(Duration::MAX);
        assert!(b.try_take());
        let limit = RateLimit::per(u32::MAX, Duration::from_nanos(1));
        let mut b = Bucket::new(&limit, Duration::ZERO);
        assert!(b.try_take());
        b.refill(Duration::from_nanos(1));
        assert!(b.try_take());
    }
}
