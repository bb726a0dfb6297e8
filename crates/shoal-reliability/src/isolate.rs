//! Process isolation: a test that may take its whole process down runs in a child process.
//!
//! A broken unwind path does not always fail politely: a pool may abort the process (a panic
//! while panicking, an abort guard), touch freed memory and crash, or deadlock on the way out.
//! In one shared test binary that kills or stalls every other test and hides their results. So
//! [`isolated`] runs a test's body in a fresh run of the same test binary, filtered down to
//! that one test:
//!
//! ```text
//!  parent (`cargo test`)                       child (same binary, one test)
//!  ─────────────────────                       ─────────────────────────────
//!  #[test] fn t() { isolated("t", limit, body) }
//!    spawn <exe> t --exact --nocapture --test-threads=1, SHOAL_ISOLATED_CHILD=t
//!                                      ──────▶ #[test] fn t() { isolated("t", limit, body) }
//!                                                the variable names this test:
//!                                                watchdog("t", limit, body)
//!    wait (limit + grace), then judge:
//!      still running  -> kill it, fail "hung"
//!      exit != 0      -> fail with the status or signal and the child's stderr tail
//!      no "1 passed"  -> fail: the child ran no test of that name (renamed test?)
//! ```
//!
//! `name` must be the test's path as libtest prints it (for a test at the top of an
//! integration-test file, its function name); `tests/adversarial.rs` declares each test once
//! through a macro that passes `stringify!` of the function's name. The limit honours
//! [`SHOAL_WATCHDOG_SECS`](crate::watchdog::WATCHDOG_ENV) in both processes.

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::panics::{is_expected, PanicOnDrop};
use crate::watchdog::{limit_or_env, watchdog};

/// The environment variable that tells a child process which test it is to run.
pub const CHILD_ENV: &str = "SHOAL_ISOLATED_CHILD";

/// Time the parent allows beyond the body's limit: the child's start-up, and its watchdog
/// reporting a hang on its own (which gives a better message than the parent's kill).
const GRACE: Duration = Duration::from_secs(15);

/// How many lines of the child's output a failure message quotes.
const TAIL_LINES: usize = 60;

/// Runs `body` in a child process of its own (see the [module docs](self)); called from the
/// `#[test]` whose libtest name is `name`.
///
/// In the child (where [`CHILD_ENV`] equals `name`) it runs `body` under [`watchdog`] with
/// `limit`. In the parent it re-runs the current test binary on that one test and panics,
/// naming the test, if the child hangs (killed after `limit` plus a grace period), exits
/// unsuccessfully or by a signal (with the tail of its stderr), or did not run the test.
pub fn isolated(name: &str, limit: Duration, body: fn()) {
    match std::env::var(CHILD_ENV) {
        Ok(child) if child == name => return run_child(name, limit, body),
        Ok(child) => panic!(
            "`{name}` was called inside the isolated child of `{child}`: an isolated test must \
             pass its own test name to `isolated`"
        ),
        Err(_) => {}
    }
    let limit = limit_or_env(limit) + GRACE;
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("`{name}`: cannot locate the test binary to isolate it: {e}"));
    let mut child = Command::new(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("`{name}`: cannot start its child process {exe:?}: {e}"));
    // Drained on threads: a child that fills a pipe must not stall on a parent that polls.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("`{name}`: cannot wait for its child process: {e}"),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "`{name}` hung: its child process was still running after {limit:?} and was \
             killed{}",
            tail("stderr", &stderr)
        );
    };
    if !status.success() {
        // A failure whose message the quiet hook swallowed leaves only libtest's summary.
        let output = if stderr.trim().is_empty() {
            tail("stdout (its stderr is empty)", &stdout)
        } else {
            tail("stderr", &stderr)
        };
        panic!(
            "`{name}` failed in its child process: {}{output}",
            describe(status)
        );
    }
    if !stdout.contains("test result: ok. 1 passed") {
        panic!(
            "`{name}`: the child process exited successfully but did not run the test (is the \
             name passed to `isolated` the test's own name?){}",
            tail("stdout", &stdout)
        );
    }
}

/// The child's side: `body` under the watchdog. A failure whose message the quiet panic hook
/// silenced (a bomb payload, or a message that quotes an expected one) is written to stderr
/// here, since libtest prints nothing more under `--nocapture`; then the child exits with
/// libtest's failure code without dropping the payload (a bomb must not go off over it).
fn run_child(name: &str, limit: Duration, body: fn()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| watchdog(name, limit, body))) {
        let what = if let Some(bomb) = payload.downcast_ref::<PanicOnDrop>() {
            format!("the bomb payload PanicOnDrop({:?}), uncaught", bomb.0)
        } else {
            match shoal_core::panic_message(payload.as_ref()) {
                Some(m) => format!("{m:?}"),
                None => "a payload that is neither a string nor a bomb".to_owned(),
            }
        };
        // An ordinary failure's message is on stderr already, from the panic hook.
        if is_expected(payload.as_ref()) || shoal_core::panic_message(payload.as_ref()).is_none() {
            eprintln!("isolated test `{name}` failed in its child process with {what}");
        }
        std::mem::forget(payload);
        std::process::exit(101);
    }
}

/// Reads a child's pipe to its end on a thread of its own.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The last [`TAIL_LINES`] lines of `text`, headed with `what`. Backtrace frames are left
/// out (a child's expected panics may print one each): the panic messages are what matter.
fn tail(what: &str, text: &str) -> String {
    let all = text.lines().count();
    let lines: Vec<&str> = text.lines().filter(|l| !is_backtrace_line(l)).collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    format!(
        "\n--- child {what}: last {} of {all} lines, backtrace frames left out ---\n{}",
        lines.len() - from,
        lines[from..].join("\n")
    )
}

/// A line of a printed backtrace: `stack backtrace:`, `  12: frame`, `      at file:line`, or
/// the note that ends one.
fn is_backtrace_line(line: &str) -> bool {
    let t = line.trim_start();
    let indented = t.len() < line.len();
    t == "stack backtrace:"
        || t.starts_with("note: Some details are omitted")
        || (indented && t.starts_with("at "))
        || (indented
            && t.split_once(": ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
}

/// An exit status in words: the code, or the signal that killed the process.
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let what = match signal {
                4 => " (SIGILL)",
                6 => " (SIGABRT: the process aborted, e.g. a panic while panicking)",
                7 => " (SIGBUS)",
                8 => " (SIGFPE)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV: invalid memory access)",
                _ => "",
            };
            return format!("killed by signal {signal}{what}");
        }
    }
    match status.code() {
        Some(101) => "exit code 101 (the test failed: a panic or a failed assertion)".into(),
        Some(code) => format!("exit code {code}"),
        None => format!("{status}"),
    }
}

#[cfg(all(test, not(any(shoal_shuttle, shoal_loom))))]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::time::Duration;

    use super::{isolated, CHILD_ENV};
    use crate::panics::{quiet_expected_panics, EXPECTED_TO_FAIL};

    const LIMIT: Duration = Duration::from_secs(30);

    /// Runs `f` on a thread whose panics the quiet hook silences; returns the message of the
    /// panic `f` must end with.
    fn expect_failure(f: fn()) -> String {
        quiet_expected_panics();
        std::thread::Builder::new()
            .name(format!("isolate check {EXPECTED_TO_FAIL}"))
            .spawn(move || {
                let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the check must fail");
                shoal_core::panic_message(payload.as_ref())
                    .unwrap_or_default()
                    .to_owned()
            })
            .unwrap()
            .join()
            .unwrap()
    }

    /// The body runs in a child process that knows its own name.
    #[test]
    fn body_runs_in_its_own_child() {
        isolated("isolate::tests::body_runs_in_its_own_child", LIMIT, || {
            assert_eq!(
                std::env::var(CHILD_ENV).as_deref(),
                Ok("isolate::tests::body_runs_in_its_own_child")
            );
        });
    }

    /// A child that aborts fails the test with its signal; the parent survives to say so.
    #[test]
    fn an_abort_is_reported_not_shared() {
        let message = expect_failure(|| {
            isolated(
                "isolate::tests::an_abort_is_reported_not_shared",
                LIMIT,
                || std::process::abort(),
            )
        });
        assert!(message.contains("failed in its child process"), "{message}");
        #[cfg(unix)]
        assert!(message.contains("SIGABRT"), "{message}");
    }

    /// A name that matches no test cannot pass vacuously.
    #[test]
    fn a_name_without_a_test_fails() {
        let message = expect_failure(|| isolated("isolate::tests::no_such_test", LIMIT, || ()));
        assert!(message.contains("did not run the test"), "{message}");
    }
}
