//! The watchdog: a test that hangs fails with its name instead of hanging the run.
//!
//! The body runs on a fresh thread that owns what it needs, and the caller waits for it with a
//! limit. A hang anywhere in the body, a pool's `Drop` included, fails the test with the
//! body's name after the limit; the stuck thread is left behind and dies with the process. A
//! panic in the body reaches the caller unchanged.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The environment variable that overrides every watchdog limit, in whole seconds.
pub const WATCHDOG_ENV: &str = "SHOAL_WATCHDOG_SECS";

/// `limit`, unless [`WATCHDOG_ENV`] holds a positive number of seconds.
pub fn limit_or_env(limit: Duration) -> Duration {
    std::env::var(WATCHDOG_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&secs| secs > 0)
        .map_or(limit, Duration::from_secs)
}

/// Runs `body` on a fresh thread named `name` and returns its value; panics with a message
/// naming `name` if it has not finished within `limit` (or [`WATCHDOG_ENV`]).
pub fn watchdog<R, B>(name: &str, limit: Duration, body: B) -> R
where
    R: Send + 'static,
    B: FnOnce() -> R + Send + 'static,
{
    let limit = limit_or_env(limit);
    let (done_tx, done_rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("watched:{name}"))
        // Deep nesting tests recurse on this thread too.
        .stack_size(64 << 20)
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(body));
            // The receiver is gone only if the watchdog already fired.
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
            panic!("`{name}`: its thread ended without reporting")
        }
    }
}

/// Polls `cond` until it holds, or panics with `what` after `limit`. For conditions that
/// settle eventually (a thread that exits after a shutdown returned); never a timing assertion.
pub fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    let mut nap = Duration::from_micros(50);
    while !cond() {
        if start.elapsed() > limit {
            panic!("gave up after {limit:?} waiting for: {what}");
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}
