//! The watchdog: a scenario that hangs fails with its name instead of hanging the test run.
//!
//! The body runs on a fresh thread that owns everything it needs (the pools were built before
//! and moved in), and the caller waits for it with a timeout. So a hang anywhere in the body,
//! including in a pool's `Drop` at the end of it, is caught: the caller panics with the
//! scenario's name and the stuck thread is left behind (it dies with the test process). A
//! panic in the body is re-raised on the caller unchanged, so assertion messages reach the
//! test harness as they are.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The environment variable that overrides the watchdog's limit, in whole seconds.
pub const TIMEOUT_ENV: &str = "SHOAL_TESTKIT_TIMEOUT_SECS";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a scenario may run before the watchdog fails it: 30 s, or
/// [`TIMEOUT_ENV`] seconds when that variable holds a positive number.
pub fn timeout() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&secs| secs > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// How long a helper wait ([`Tally::wait_for`](crate::Tally::wait_for),
/// [`wait_until`](crate::wait_until)) keeps trying before it fails with its own message: a
/// little less than the watchdog's limit, so the more precise message wins.
pub(crate) fn give_up_after() -> Duration {
    timeout() * 3 / 4
}

/// Runs `body` on a fresh thread named after `scenario` and returns its value.
///
/// Panics with a message naming `scenario` when the body has not finished within
/// [`timeout`]; re-raises the body's own panic unchanged.
pub fn watchdog<R, B>(scenario: &str, body: B) -> R
where
    R: Send + 'static,
    B: FnOnce() -> R + Send + 'static,
{
    watch(scenario, timeout(), body)
}

/// [`watchdog`] with an explicit limit.
pub(crate) fn watch<R, B>(scenario: &str, limit: Duration, body: B) -> R
where
    R: Send + 'static,
    B: FnOnce() -> R + Send + 'static,
{
    let (done_tx, done_rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("testkit:{scenario}"))
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(body));
            // The receiver is gone only if the watchdog already fired; nothing to tell then.
            let _ = done_tx.send(result);
        });
    if let Err(err) = spawned {
        panic!("conformance scenario `{scenario}`: could not start its thread: {err}");
    }
    match done_rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => resume_unwind(payload),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "conformance scenario `{scenario}` did not finish within {limit:?}: the pool hung \
             (a deadlock, a lost wake-up, or a shutdown/drop that never returned). \
             Raise {TIMEOUT_ENV} only if the machine is extremely slow."
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
            "conformance scenario `{scenario}`: its thread ended without reporting (this is a \
             bug in the test kit)"
        ),
    }
}
