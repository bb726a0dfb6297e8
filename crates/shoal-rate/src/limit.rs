//! The settings: [`RateLimit`] (jobs per period, burst, in-flight cap) and the error that says
//! which one cannot work.

use std::fmt;
use std::time::Duration;

/// How fast jobs may start: `jobs` per `period`, bursts of up to `burst`, and optionally at
/// most `max_in_flight` at once. Checked when a [`RateLimited`](crate::RateLimited) is built.
///
/// ```
/// use std::time::Duration;
/// use shoal_rate::RateLimit;
///
/// let api = RateLimit::per_second(50).burst(10).max_in_flight(8);
/// assert_eq!(api.interval(), Duration::from_millis(20));
/// let slow = RateLimit::per(3, Duration::from_secs(60)); // 3 a minute, burst 1
/// assert_eq!(slow.interval(), Duration::from_secs(20));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    jobs: u32,
    period: Duration,
    burst: u32,
    max_in_flight: Option<usize>,
}

impl RateLimit {
    /// `jobs` per second, burst 1, no in-flight cap.
    pub fn per_second(jobs: u32) -> RateLimit {
        RateLimit::per(jobs, Duration::from_secs(1))
    }

    /// `jobs` per `period`, burst 1, no in-flight cap.
    pub fn per(jobs: u32, period: Duration) -> RateLimit {
        RateLimit {
            jobs,
            period,
            burst: 1,
            max_in_flight: None,
        }
    }

    /// How many tokens the bucket holds: jobs an idle limiter lets start at once (default 1:
    /// evenly spaced starts).
    pub fn burst(mut self, burst: u32) -> RateLimit {
        self.burst = burst;
        self
    }

    /// At most `n` jobs released and not yet finished (default: no cap).
    pub fn max_in_flight(mut self, n: usize) -> RateLimit {
        self.max_in_flight = Some(n);
        self
    }

    /// Jobs per period.
    pub fn jobs(&self) -> u32 {
        self.jobs
    }

    /// The period the rate is counted over.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Tokens the bucket holds at most.
    pub fn burst_size(&self) -> u32 {
        self.burst
    }

    /// The in-flight cap, if any.
    pub fn in_flight_cap(&self) -> Option<usize> {
        self.max_in_flight
    }

    /// The time one token takes to drip in: `period / jobs` (rounded down to whole
    /// nanoseconds; the bucket itself keeps exact fractions).
    pub fn interval(&self) -> Duration {
        match self.jobs {
            0 => Duration::MAX,
            n => self.period / n,
        }
    }

    /// Checks the settings; every constructor of [`RateLimited`](crate::RateLimited) calls it.
    pub fn validate(&self) -> Result<(), RateLimitError> {
        if self.jobs == 0 {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroRate,
                "a rate of 0 jobs per period would never start a job: use at least 1 (for a \
                 slower rate, lengthen the period: RateLimit::per(1, Duration::from_secs(60)))",
            ))
        } else if self.period.is_zero() {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroPeriod,
                "a period of zero is an infinite rate: give a period above zero, or do not wrap \
                 the executor in RateLimited",
            ))
        } else if self.burst == 0 {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroBurst,
                "burst(0): a bucket that holds no token never releases a job; use at least 1",
            ))
        } else if self.max_in_flight == Some(0) {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroInFlight,
                "max_in_flight(0) would never let a job run; use at least 1, or leave it unset \
                 for no cap",
            ))
        } else {
            Ok(())
        }
    }
}

/// What is wrong with a [`RateLimit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimitErrorKind {
    /// Zero jobs per period.
    ZeroRate,
    /// A period of zero.
    ZeroPeriod,
    /// `burst(0)`.
    ZeroBurst,
    /// `max_in_flight(0)`.
    ZeroInFlight,
}

/// A [`RateLimit`] that cannot work. Opaque, with a [`kind`](RateLimitError::kind); the
/// `Display` says what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitError {
    kind: RateLimitErrorKind,
    detail: &'static str,
}

impl RateLimitError {
    fn new(kind: RateLimitErrorKind, detail: &'static str) -> RateLimitError {
        RateLimitError { kind, detail }
    }

    /// What is wrong.
    pub fn kind(&self) -> RateLimitErrorKind {
        self.kind
    }
}

impl fmt::Display for RateLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid rate limit: {}", self.detail)
    }
}

impl std::error::Error for RateLimitError {}

// `?` takes it into `Box<dyn Error + Send + Sync>` and `anyhow::Error`. Checked when the crate
// compiles.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<RateLimitError>();
    assert_send_sync::<RateLimitErrorKind>();
};
