//! The watchdog every campaign test runs under: shoal-testkit's, the same one the conformance
//! suite and the pools' own tests use, re-exported here so the campaign's tests name it through
//! this crate.
//!
//! A test that hangs fails with its name instead of hanging the run: the body runs on a fresh
//! thread, the caller waits for it with a limit, and a panic in the body reaches the caller
//! unchanged. `SHOAL_WATCHDOG_SECS` ([`WATCHDOG_ENV`]) overrides every limit, isolated tests'
//! included. See [`shoal_testkit::watchdog`].

pub use shoal_testkit::{eventually, limit_or_env, watchdog, WATCHDOG_ENV};
