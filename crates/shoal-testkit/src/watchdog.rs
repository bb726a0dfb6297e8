//! The watchdog: a test that hangs fails with its name instead of hanging the test run.
//!
//! One watchdog for the conformance scenarios, the reliability campaign (which re-exports it
//! as `shoal_reliability::watchdog`) and the pools' own tests; one environment variable,
//! [`WATCHDOG_ENV`], overrides every limit.
//!
//! The body runs on a fresh thread that owns everything it needs (the pools were built before
//! and moved in), and the caller waits for it with a limit. So a hang anywhere in the body,
//! including in a pool's `Drop` at the end of it, is caught: the caller panics with the body's
//! name and the stuck thread is left behind (it dies with the test process). A panic in the
//! body is re-raised on the caller unchanged, so assertion messages reach the test harness as
//! they are.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The environment variable that overrides every watchdog limit, in whole seconds:
/// `SHOAL_WATCHDOG_SECS`. It replaces the conformance suite's former
/// `SHOAL_TESTKIT_TIMEOUT_SECS`, which is no longer read.
pub const WATCHDOG_ENV: &str = "SHOAL_WATCHDOG_SECS";

/// The limit of a conformance scenario when [`WATCHDOG_ENV`] is not set.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(30);

/// The stack of the watched thread: deep nesting tests recurse on it.
const STACK_SIZE: usize = 64 << 20;

/// `limit`, unless [`WATCHDOG_ENV`] holds a positive number of seconds.
pub fn limit_or_env(limit: Duration) -> Duration {
    std::env::var(WATCHDOG_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&secs| secs > 0)
        .map_or(limit, Duration::from_secs)
}

/// How long a conformance scenario may run before the watchdog fails it: [`SCENARIO_LIMIT`],
/// or [`WATCHDOG_ENV`] seconds when that variable holds a positive number.
pub fn timeout() -> Duration {
    limit_or_env(SCENARIO_LIMIT)
}

/// How long a helper wait ([`Tally::wait_for`](crate::Tally::wait_for),
/// [`wait_until`](crate::wait_until)) keeps trying before it fails with its own message: a
/// little less than the scenario's limit, so the more precise message wins.
pub(crate) fn give_up_after() -> Duration {
    timeout() * 3 / 4
}

/// Runs `body` on a fresh thread named after `name` and returns its value.
///
/// Panics with a message naming `name` when the body has not finished within `limit` (or
/// [`WATCHDOG_ENV`] seconds, when set); re-raises the body's own panic unchanged. The watched
/// thread has a 64 MiB stack, for tests that recurse deeply.
pub fn watchdog<R, B>(name: &str, limit: Duration, body: B) -> R
where
    R: Send + 'static,
    B: FnOnce() -> R + Send + 'static,
{
    watch(name, limit_or_env(limit), body)
}

/// [`watchdog`] with exactly `limit`, whatever [`WATCHDOG_ENV`] says.
pub(crate) fn watch<R, B>(name: &str, limit: Duration, body: B) -> R
where
    R: Send + 'static,
    B: FnOnce() -> R + Send + 'static,
{
    let (done_tx, done_rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("watched:{name}"))
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(body));
            // The receiver is gone only if the watchdog already fired; nothing to tell then.
            let _ = done_tx.send(result);
        });
    if let Err(err) = spawned {
        panic!("`{name}`: could not start its watched thread: {err}");
    }
    match done_rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => resume_unwind(payload),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "`{name}` did not finish within {limit:?}: a pool hung (a deadlock, a lost \
             wake-up, or a shutdown/drop that never returned). Raise {WATCHDOG_ENV} only if \
             the machine is extremely slow."
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("`{name}`: its thread ended without reporting (a bug in the watchdog)")
        }
    }
}
