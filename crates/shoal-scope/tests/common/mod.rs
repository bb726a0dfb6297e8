//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

/// How long one test may run before the watchdog fails it (`SHOAL_WATCHDOG_SECS` overrides).
pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs `body` under shoal-testkit's watchdog with [`LIMIT`], so a deadlock fails the test
/// with its name instead of hanging CI.
pub fn watchdog(name: &str, body: impl FnOnce() + Send + 'static) {
    shoal_testkit::watchdog(name, LIMIT, body);
}
