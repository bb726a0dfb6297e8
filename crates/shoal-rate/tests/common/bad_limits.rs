//! Rate limits that cannot work, each with the kind of error `RateLimited::new` must give.
//!
//! Written once for shoal-rate's own tests (`tests/rate.rs`) and for the reliability
//! campaign's bad-input tests, which include this file by path and check every strategy.

use std::time::Duration;

use shoal_rate::{RateLimit, RateLimitErrorKind};

/// Every invalid limit, with the error kind it must give.
pub fn bad_limits() -> [(RateLimit, RateLimitErrorKind); 5] {
    [
        (RateLimit::per_second(0), RateLimitErrorKind::ZeroRate),
        (
            RateLimit::per(1, Duration::ZERO),
            RateLimitErrorKind::ZeroPeriod,
        ),
        (
            RateLimit::per(0, Duration::ZERO),
            RateLimitErrorKind::ZeroRate,
        ),
        (
            RateLimit::per_second(5).burst(0),
            RateLimitErrorKind::ZeroBurst,
        ),
        (
            RateLimit::per_second(5).max_in_flight(0),
            RateLimitErrorKind::ZeroInFlight,
        ),
    ]
}
