//! Fault injection: what happens to every strategy when something outside the pool fails.
//!
//! - The OS refuses a thread (injected through each builder's `spawn_hook` with
//!   [`SpawnFaults`]): at build the caller gets a `BuildError` of kind `Spawn` and no thread is
//!   left behind; at resize the caller gets `ResizeError::Spawn { started }`, the pool keeps
//!   what it had plus `started`, and no queued job is lost.
//! - A `panic_handler` that panics (with a plain message, and with a payload whose own
//!   destructor panics).
//! - A job whose destructor panics: when it runs, and when a shutdown cancels it.
//! - A job that never returns during `Shutdown::Deadline`: the call returns, the report counts
//!   it in `still_running`, later calls and the drop do not hang.
#![cfg(not(any(shoal_shuttle, shoal_loom)))]

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shoal_core::spawn::{SpawnHook, SpawnInfo};
use shoal_core::{BuildErrorKind, Executor, ExecutorExt, ResizeError, Shutdown};
use shoal_reliability::{
    check_final_report, eventually, expected_panic, quiet_expected_panics, watchdog, Gate, Ledger,
    Outcome, PanicOnDrop, PoolConfig, Strategy, EXPECTED,
};
use shoal_testkit::faults::SpawnFaults;

const LIMIT: Duration = Duration::from_secs(60);

/// Worker threads of this process whose name starts with `prefix` (Linux: `/proc`); `None`
/// elsewhere. Thread names are cut to 15 bytes there, so prefixes are short.
fn threads_named(prefix: &str) -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count(),
    )
}

/// Waits until no thread named `prefix…` is left (where the OS lets us look).
fn no_threads_left(prefix: &str) {
    if threads_named(prefix).is_some() {
        eventually(&format!("threads `{prefix}*` to exit"), LIMIT, || {
            threads_named(prefix) == Some(0)
        });
    }
}

fn short(kind: Strategy) -> &'static str {
    match kind {
        Strategy::Queue => "q",
        Strategy::Steal => "s",
        Strategy::StealLifo => "l",
        Strategy::Scope => "c",
    }
}

// ---------------------------------------------------------------------------------------------
// The OS refuses a thread.

fn spawn_refused_at_build(kind: Strategy) {
    let prefix = format!("fb{}", short(kind));
    let faults = SpawnFaults::new();
    faults.allow_next(2);
    let spec = PoolConfig::new()
        .workers(4)
        .thread_name(prefix.clone())
        .spawn_hook(faults.hook());
    let err = kind.build_error(&spec); // the third start is refused
    assert_eq!(err.kind(), BuildErrorKind::Spawn, "{kind}: {err}");
    let source = std::error::Error::source(&err).expect("carries the OS error");
    let io = source.downcast_ref::<io::Error>().expect("an io::Error");
    assert_eq!(io.kind(), io::ErrorKind::WouldBlock, "{kind}");
    assert!(err.to_string().contains("refused"), "{kind}: {err}");
    assert_eq!((faults.attempts(), faults.refused()), (3, 1), "{kind}");
    // The two threads that did start were stopped and joined by `build`.
    no_threads_left(&prefix);

    // Every start refused: the very first one fails.
    faults.refuse_all();
    let err = kind.build_error(&spec);
    assert_eq!(err.kind(), BuildErrorKind::Spawn);
    no_threads_left(&prefix);

    // The same settings build once the OS allows threads again.
    faults.allow_all();
    let pool = kind.build(&spec).expect("builds");
    assert_eq!(pool.workers(), 4);
    assert_eq!(pool.spawn(|| 7).unwrap().join().unwrap(), 7);
}

fn spawn_refused_at_resize(kind: Strategy) {
    quiet_expected_panics();
    let prefix = format!("fr{}", short(kind));
    let faults = SpawnFaults::new();
    let ledger = Ledger::with_capacity(1024);
    let spec = PoolConfig::new()
        .workers(2)
        .thread_name(prefix.clone())
        .spawn_hook(faults.hook());
    let pool = kind.build(&spec).expect("build");
    let gate = Gate::new();
    let opener = gate.opener();
    let mut accepted = Vec::new();
    // Both workers busy, 50 jobs queued behind them.
    for _ in 0..2 {
        let (id, job) = ledger.gated_job(&gate, false);
        pool.execute(job).unwrap();
        accepted.push(id);
    }
    gate.wait_arrived(2, LIMIT);
    for i in 0..50 {
        let (id, job) = ledger.job(i % 10 == 0);
        pool.execute(job).unwrap();
        accepted.push(id);
    }
    // Grow by 3; the OS gives one thread and refuses the next.
    faults.allow_next(1);
    match pool.resize(5) {
        Err(ResizeError::Spawn { started, source }) => {
            assert_eq!(started, 1, "{kind}");
            assert_eq!(source.kind(), io::ErrorKind::WouldBlock, "{kind}");
        }
        other => panic!("{kind}: resize under a refusing OS gave {other:?}"),
    }
    assert_eq!(pool.workers(), 3, "{kind}: workers() after a partial grow");
    assert_eq!(faults.refused(), 1);
    // Nothing lost: the queued jobs run on the workers that exist.
    drop(opener);
    ledger.wait_settled(&accepted, LIMIT);
    assert_eq!(ledger.tally(accepted.clone()).pending, 0);
    // Every start refused, still nothing breaks; shrinking needs no thread.
    faults.refuse_all();
    assert!(matches!(
        pool.resize(8),
        Err(ResizeError::Spawn { started: 0, .. })
    ));
    assert_eq!(pool.workers(), 3, "{kind}");
    assert!(pool.resize(1).is_ok());
    // A resize from inside a job gets the error too, and the job goes on.
    let p: Arc<dyn Executor> = Arc::from(pool);
    let inner = p.clone();
    let inside = p
        .spawn(move || matches!(inner.resize(6), Err(ResizeError::Spawn { .. })))
        .unwrap()
        .join()
        .unwrap();
    assert!(
        inside,
        "{kind}: resize inside a job with every start refused"
    );
    faults.allow_all();
    assert!(p.resize(6).is_ok());
    assert_eq!(p.workers(), 6);
    for _ in 0..100 {
        let (id, job) = ledger.job(false);
        p.execute(job).unwrap();
        accepted.push(id);
    }
    let report = p.shutdown(Shutdown::Graceful);
    // The spawned check job is the one accepted job not in the ledger.
    let mut tally = ledger.tally(accepted);
    tally.completed += 1;
    check_final_report(&format!("spawn_refused_at_resize {kind}"), &report, &tally);
    drop(p);
    no_threads_left(&prefix);
}

fn panicking_spawn_hook(kind: Strategy) {
    quiet_expected_panics();
    let hook = SpawnHook::new(|info: &SpawnInfo<'_>| {
        if info.index() >= 1 {
            expected_panic("spawn hook");
        }
        Ok(())
    });
    let err = kind.build_error(&PoolConfig::new().workers(3).spawn_hook({
        let hook = hook.clone();
        move |info| hook.check(info)
    }));
    assert_eq!(err.kind(), BuildErrorKind::Spawn, "{kind}");
    // The hook's panic is the OS-level cause: the error's source, not repeated in its text.
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause.as_deref().is_some_and(|c| c.contains(EXPECTED)),
        "{kind}: {err}, caused by {cause:?}"
    );
    let pool = kind
        .build(&PoolConfig::new().workers(1).spawn_hook({
            let hook = hook;
            move |info| hook.check(info)
        }))
        .expect("one start is fine");
    assert!(matches!(
        pool.resize(2),
        Err(ResizeError::Spawn { started: 0, .. })
    ));
    assert_eq!(pool.spawn(|| 1).unwrap().join().unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// A panic handler that panics.

fn panicking_panic_handler(kind: Strategy) {
    quiet_expected_panics();
    for nasty_payload in [false, true] {
        let calls = Arc::new(AtomicU64::new(0));
        let seen = calls.clone();
        let spec = PoolConfig::new().workers(2).panic_handler(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            if nasty_payload {
                // The handler's panic payload panics again when dropped.
                std::panic::panic_any(PanicOnDrop("handler payload drop"));
            }
            expected_panic("panic handler");
        });
        let pool = kind.build(&spec).expect("build");
        let ledger = Ledger::with_capacity(1024);
        let mut accepted = Vec::new();
        for i in 0..400 {
            let (id, job) = ledger.job(i % 2 == 0);
            pool.execute(job).unwrap();
            accepted.push(id);
        }
        // The workers survived: a spawned job still runs, the size is unchanged.
        assert_eq!(pool.spawn(|| 5).unwrap().join().unwrap(), 5);
        assert_eq!(pool.workers(), 2);
        let report = pool.shutdown(Shutdown::Graceful);
        let mut tally = ledger.tally(accepted);
        tally.completed += 1;
        let ctx = format!("panicking_panic_handler {kind} (nasty payload: {nasty_payload})");
        check_final_report(&ctx, &report, &tally);
        assert_eq!(calls.load(Ordering::SeqCst), 200, "{ctx}: handler calls");
    }
}

/// A job that panics with a payload whose destructor panics too.
fn nasty_job_payload(kind: Strategy) {
    quiet_expected_panics();
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let pool = kind
        .build(&PoolConfig::new().workers(2).panic_handler(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        }))
        .expect("build");
    for _ in 0..50 {
        pool.execute(Box::new(|| {
            std::panic::panic_any(PanicOnDrop("job payload drop"))
        }))
        .unwrap();
    }
    assert_eq!(pool.spawn(|| 5).unwrap().join().unwrap(), 5);
    let report = pool.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{kind}: {report:?}");
    assert_eq!(
        (report.panicked, report.completed),
        (50, 1),
        "{kind}: {report:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 50, "{kind}");
}

// ---------------------------------------------------------------------------------------------
// Jobs whose destructor panics.

fn destructor_panics_when_run(kind: Strategy) {
    quiet_expected_panics();
    let pool = kind.build(&PoolConfig::new().workers(2)).expect("build");
    let ledger = Ledger::with_capacity(256);
    let mut accepted = Vec::new();
    for _ in 0..100 {
        let (id, job) = ledger.job_holding(PanicOnDrop("captured value dropped after the run"));
        accepted.push(id);
        pool.execute(job).unwrap();
    }
    // Through spawn: the handle reports the destructor's panic.
    let guard = PanicOnDrop("spawned closure's capture");
    let r = pool
        .spawn(move || {
            let _guard = guard;
            9
        })
        .unwrap()
        .join();
    assert!(
        matches!(&r, Err(e) if e.is_panic()),
        "{kind}: the destructor's panic is the job's panic: {r:?}"
    );
    assert_eq!(pool.spawn(|| 1).unwrap().join().unwrap(), 1);
    assert_eq!(pool.workers(), 2);
    let report = pool.shutdown(Shutdown::Graceful);
    let tally = ledger.tally(accepted);
    assert_eq!(tally.completed, 100, "{kind}: every job body ran");
    // The pool saw the destructors' panics: each of those jobs counts as panicked.
    assert_eq!(
        (report.panicked, report.completed),
        (101, 1),
        "{kind}: {report:?}"
    );
    assert!(report.adds_up());
}

fn destructor_panics_when_cancelled(kind: Strategy) {
    quiet_expected_panics();
    for mode in [Shutdown::Now, Shutdown::Deadline(Duration::ZERO)] {
        let pool = kind.build(&PoolConfig::new().workers(1)).expect("build");
        let ledger = Ledger::with_capacity(256);
        let gate = Gate::new();
        let opener = gate.opener();
        let (blocker, job) = ledger.gated_job(&gate, false);
        pool.execute(job).unwrap();
        gate.wait_arrived(1, LIMIT);
        let mut queued = Vec::new();
        for _ in 0..20 {
            let (id, job) = ledger.job_holding(PanicOnDrop("cancelled job's capture"));
            queued.push(id);
            pool.execute(job).unwrap();
        }
        let shutdown = {
            let pool: Arc<dyn Executor> = Arc::from(pool);
            let p = pool.clone();
            let t = std::thread::spawn(move || p.shutdown(mode));
            let report = if let Shutdown::Now = mode {
                // Now waits for the running blocker: let it finish once the queue is gone.
                ledger.wait_settled(&queued, LIMIT);
                drop(opener);
                t.join().expect("shutdown returns")
            } else {
                // A passed deadline does not wait for the blocker: release it only after.
                let report = t.join().expect("shutdown returns");
                drop(opener);
                report
            };
            (pool, report)
        };
        let (pool, report) = shutdown;
        ledger.wait_settled(&[blocker], LIMIT);
        let ctx = format!("destructor_panics_when_cancelled {kind} {mode:?}");
        assert!(report.adds_up(), "{ctx}: {report:?}");
        assert_eq!(report.cancelled, 20, "{ctx}: {report:?}");
        let tally = ledger.tally(queued.clone());
        assert_eq!(tally.dropped, 20, "{ctx}: {tally:?}");
        assert_eq!(ledger.outcome(blocker), Outcome::Completed);
        // A refused job whose destructor panics comes back whole; dropping it is the caller's
        // business, and panics there, where the caller can see it.
        let guard = PanicOnDrop("refused job's capture");
        let rej = pool
            .execute(Box::new(move || drop(guard)))
            .expect_err("after shutdown");
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rej))).is_err());
        drop(pool);
    }
}

// ---------------------------------------------------------------------------------------------
// A job that never returns during Shutdown::Deadline.

fn deadline_with_stuck_job(kind: Strategy) {
    quiet_expected_panics();
    let prefix = format!("dl{}", short(kind));
    let pool: Arc<dyn Executor> = Arc::from(
        kind.build(&PoolConfig::new().workers(1).thread_name(prefix.clone()))
            .expect("build"),
    );
    let ledger = Ledger::with_capacity(64);
    let gate = Gate::new();
    // Never opened while the pool is being shut down.
    let (stuck, job) = ledger.gated_job(&gate, false);
    pool.execute(job).unwrap();
    gate.wait_arrived(1, LIMIT);
    let mut queued = Vec::new();
    for _ in 0..5 {
        let (id, job) = ledger.job(false);
        pool.execute(job).unwrap();
        queued.push(id);
    }
    let p = pool.clone();
    let report = watchdog(
        &format!("deadline_with_stuck_job {kind}"),
        Duration::from_secs(20),
        move || {
            let report = p.shutdown(Shutdown::Deadline(Duration::from_millis(50)));
            // Later calls, a resize, a submission and the drop return too.
            let again = p.shutdown(Shutdown::Graceful);
            let now = p.shutdown(Shutdown::Now);
            assert!(again.adds_up() && now.adds_up(), "{again:?} {now:?}");
            assert!(again.still_running >= 1 && now.still_running >= 1);
            assert!(matches!(p.resize(3), Err(ResizeError::ShutDown)));
            assert!(p.execute(Box::new(|| ())).unwrap_err().is_shutdown());
            drop(p);
            report
        },
    );
    let ctx = format!("deadline_with_stuck_job {kind}");
    assert!(report.adds_up(), "{ctx}: {report:?}");
    assert_eq!(report.still_running, 1, "{ctx}: {report:?}");
    assert_eq!(report.cancelled, 5, "{ctx}: {report:?}");
    assert_eq!(report.submitted, 6, "{ctx}: {report:?}");
    assert_eq!(ledger.tally(queued).dropped, 5, "{ctx}");
    assert_eq!(ledger.outcome(stuck), Outcome::Pending, "{ctx}");
    // The last handle goes, from this thread, while the job is still stuck.
    watchdog(
        &format!("{ctx}: drop"),
        Duration::from_secs(20),
        move || drop(pool),
    );
    // The job returns at last; its worker then exits on its own.
    gate.open();
    ledger.wait_settled(&[stuck], LIMIT);
    assert_eq!(ledger.outcome(stuck), Outcome::Completed);
    no_threads_left(&prefix);
}

shoal_reliability::every_strategy_guarded!(
    std::time::Duration::from_secs(90);
    spawn_refused_at_build,
    spawn_refused_at_resize,
    panicking_spawn_hook,
    panicking_panic_handler,
    nasty_job_payload,
    destructor_panics_when_run,
    destructor_panics_when_cancelled,
    deadline_with_stuck_job,
);
