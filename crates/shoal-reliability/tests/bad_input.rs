//! Bad input: every public entry point with zero, huge and conflicting arguments. Each must
//! give a clear error or a documented behaviour, never a panic, a hang or a lost job. Every
//! test runs against every strategy under a watchdog.
#![cfg(not(any(shoal_shuttle, shoal_loom)))]

use std::sync::Arc;
use std::time::Duration;

use shoal_core::spawn::MIN_STACK_SIZE;
use shoal_core::{
    BuildErrorKind, Executor, ExecutorExt, RejectReason, ResizeError, Shutdown, TaskError,
    MAX_WORKERS,
};
use shoal_rate::{RateLimit, RateLimited};
use shoal_reliability::{quiet_expected_panics, Gate, Ledger, PoolConfig, Strategy};
use shoal_testkit::Alive;

#[path = "../../shoal-rate/tests/common/bad_limits.rs"]
mod bad_limits;

use bad_limits::bad_limits;

const LIMIT: Duration = Duration::from_secs(60);

fn pool(kind: Strategy, spec: PoolConfig) -> Arc<dyn Executor> {
    Arc::from(kind.build(&spec).expect("build"))
}

// ---------------------------------------------------------------------------------------------
// Builders.

/// Builds `spec` on `kind`, expecting a refusal of kind `want` whose message is not empty and
/// contains `says` (`""`: anything).
fn refused(kind: Strategy, spec: PoolConfig, want: BuildErrorKind, says: &str) {
    let shown = format!("{spec:?}");
    let err = kind.build_error(&spec);
    assert_eq!(err.kind(), want, "{kind}: {shown}: {err}");
    let text = err.to_string();
    assert!(
        !text.is_empty() && text.contains(says),
        "{kind}: {shown}: {text}"
    );
}

fn zero_and_huge_workers(kind: Strategy) {
    for (n, want) in [
        (0, BuildErrorKind::ZeroWorkers),
        (MAX_WORKERS + 1, BuildErrorKind::TooManyWorkers),
        (100_000, BuildErrorKind::TooManyWorkers),
        (usize::MAX, BuildErrorKind::TooManyWorkers),
    ] {
        refused(kind, PoolConfig::new().workers(n), want, "");
    }
    // Each pool's `new` checks the same way.
    let via_new = match kind {
        Strategy::Queue => shoal_queue::SharedQueuePool::new(0).err().map(|e| e.kind()),
        Strategy::Steal | Strategy::StealLifo => shoal_steal::WorkStealingPool::new(0)
            .err()
            .map(|e| e.kind()),
        Strategy::Scope => shoal_scope::ScopedPool::new(0).err().map(|e| e.kind()),
    };
    assert_eq!(via_new, Some(BuildErrorKind::ZeroWorkers), "{kind}: new(0)");
}

fn capacities(kind: Strategy) {
    let one = || PoolConfig::new().workers(1);
    refused(
        kind,
        one().queue_capacity(0),
        BuildErrorKind::ZeroCapacity,
        "",
    );
    // A bound near usize::MAX is refused by every pool, with one limit for all
    // (`shoal_core::config::MAX_QUEUE_CAPACITY`): a bound that large bounds nothing useful.
    for huge in [usize::MAX, 1 << 40] {
        let too_large = BuildErrorKind::CapacityTooLarge;
        refused(kind, one().queue_capacity(huge), too_large, "unbounded");
    }
    let max = shoal_core::config::MAX_QUEUE_CAPACITY;
    let p = pool(kind, PoolConfig::new().workers(1).queue_capacity(max));
    assert_eq!(p.spawn(|| 4).unwrap().join().unwrap(), 4);
    refused(
        kind,
        one().queue_capacity(max + 1),
        BuildErrorKind::CapacityTooLarge,
        "",
    );
    // Conflicting: a one-slot queue in front of 64 workers still runs everything.
    let p = pool(kind, PoolConfig::new().workers(64).queue_capacity(1));
    let ledger = Ledger::with_capacity(2_000);
    for _ in 0..2_000 {
        let (_, job) = ledger.job(false);
        p.execute(job).unwrap();
    }
    let report = p.shutdown(Shutdown::Graceful);
    assert_eq!(report.completed, 2_000, "{kind}: {report:?}");
    assert_eq!(ledger.tally_all().completed, 2_000);
}

fn thread_settings(kind: Strategy) {
    let (one, invalid) = (
        || PoolConfig::new().workers(1),
        BuildErrorKind::InvalidThreadConfig,
    );
    refused(kind, one().stack_size(0), invalid, "");
    // A NUL byte cannot be in an OS thread name; std would panic inside spawn.
    refused(kind, one().thread_name("bad\0name"), invalid, "");
    // Stacks too small for a worker's own frames (a stack overflow aborts the process).
    for bytes in [1, 16 << 10, MIN_STACK_SIZE - 1] {
        refused(kind, one().stack_size(bytes), invalid, "minimum");
    }
    // The minimum itself runs jobs, a map, a nested join and a shutdown.
    let p = pool(
        kind,
        PoolConfig::new().workers(2).stack_size(MIN_STACK_SIZE),
    );
    assert_eq!(p.spawn(|| 1 + 1).unwrap().join().unwrap(), 2);
    assert_eq!(p.map(0..100u32, |x| x).filter(Result::is_ok).count(), 100);
    let inner = p.clone();
    let nested = p.spawn(move || inner.spawn(|| 3).unwrap().join().unwrap());
    assert_eq!(nested.unwrap().join().unwrap(), 3);
    assert!(p.shutdown(Shutdown::Graceful).adds_up());
    drop(p);
    // A stack no OS gives: an error of kind Spawn carrying the OS's reason, not a panic.
    refused(
        kind,
        one().stack_size(usize::MAX),
        BuildErrorKind::Spawn,
        "",
    );
    // Empty, very long and non-ASCII names are fine (the OS keeps a prefix).
    for name in [String::new(), "x".repeat(10_000), "ワーカー🦀".to_string()] {
        let p = pool(kind, PoolConfig::new().workers(1).thread_name(name));
        assert_eq!(p.spawn(|| 5).unwrap().join().unwrap(), 5);
    }
}

/// Every setting at its default (`workers` unset: one per CPU).
fn defaults(kind: Strategy) {
    let p: Box<dyn Executor> = match kind {
        Strategy::Queue => Box::new(shoal_queue::SharedQueuePool::builder().build().unwrap()),
        Strategy::Steal => Box::new(shoal_steal::WorkStealingPool::builder().build().unwrap()),
        Strategy::StealLifo => Box::new(
            shoal_steal::WorkStealingPool::builder()
                .lifo_slot(true)
                .build()
                .unwrap(),
        ),
        Strategy::Scope => Box::new(shoal_scope::ScopedPool::builder().build().unwrap()),
    };
    assert_eq!(p.workers(), shoal_core::default_workers(), "{kind}");
    // A pool never used: metrics are zero and shutdown reports nothing.
    let m = p.metrics();
    assert_eq!(
        (m.submitted, m.completed, m.queued, m.running),
        (0, 0, 0, 0)
    );
    let report = p.shutdown(Shutdown::Graceful);
    assert!(report.adds_up() && report.submitted == 0, "{report:?}");
}

// ---------------------------------------------------------------------------------------------
// resize.

fn resize_arguments(kind: Strategy) {
    let p = pool(kind, PoolConfig::new().workers(2));
    assert!(matches!(p.resize(0), Err(ResizeError::Zero)), "{kind}");
    for n in [MAX_WORKERS + 1, 100_000, usize::MAX] {
        match p.resize(n) {
            Err(ResizeError::TooMany { requested, max }) => {
                assert_eq!((requested, max), (n, MAX_WORKERS));
            }
            other => panic!("{kind}: resize({n}) gave {other:?}"),
        }
    }
    assert_eq!(p.workers(), 2, "{kind}: a refused resize changes nothing");
    assert!(
        p.resize(2).is_ok(),
        "{kind}: resize to the current size is a no-op"
    );
    assert!(p.resize(1).is_ok() && p.resize(1).is_ok());
    assert_eq!(p.spawn(|| 6).unwrap().join().unwrap(), 6);
    // Display says what to do.
    assert!(ResizeError::Zero.to_string().contains("shutdown"));
}

/// `resize` while another thread's graceful shutdown waits on a running job, and after.
fn resize_during_shutdown(kind: Strategy) {
    let p = pool(kind, PoolConfig::new().workers(1));
    let gate = Gate::new();
    let opener = gate.hold(&*p, 1, LIMIT);
    let stopper = {
        let p = p.clone();
        std::thread::spawn(move || p.shutdown(Shutdown::Graceful))
    };
    // Once intake is closed, resizes are refused without waiting for the shutdown.
    shoal_reliability::eventually("intake closed", LIMIT, || {
        p.try_execute(Box::new(|| ()))
            .is_err_and(|r| r.is_shutdown())
    });
    assert!(matches!(p.resize(4), Err(ResizeError::ShutDown)), "{kind}");
    assert!(matches!(p.resize(0), Err(ResizeError::Zero)), "{kind}");
    drop(opener);
    let report = stopper.join().unwrap();
    assert!(report.adds_up());
    assert!(matches!(p.resize(3), Err(ResizeError::ShutDown)), "{kind}");
}

// ---------------------------------------------------------------------------------------------
// shutdown.

/// `Deadline` with durations at the extremes: zero is `Now` at once; `Duration::MAX` (which
/// overflows `Instant` arithmetic) is a graceful shutdown with no deadline.
fn deadline_extremes(kind: Strategy) {
    for d in [
        Duration::MAX,
        Duration::from_secs(u64::MAX),
        Duration::from_secs(1 << 40),
    ] {
        let p = pool(kind, PoolConfig::new().workers(1));
        let ledger = Ledger::with_capacity(100);
        for _ in 0..100 {
            let (_, job) = ledger.job(false);
            p.execute(job).unwrap();
        }
        let report = p.shutdown(Shutdown::Deadline(d));
        assert_eq!(report.completed, 100, "{kind} Deadline({d:?}): {report:?}");
        assert_eq!(report.cancelled + report.still_running, 0, "{kind}");
    }
    let p = pool(kind, PoolConfig::new().workers(1));
    let report = p.shutdown(Shutdown::Deadline(Duration::ZERO));
    assert!(report.adds_up());
}

/// Shutdown called from inside one of the pool's own jobs, in each mode: it begins the
/// shutdown and returns without waiting for its own job; the outside call then gets the
/// final report.
fn shutdown_inside_worker(kind: Strategy) {
    quiet_expected_panics();
    for mode in [
        Shutdown::Graceful,
        Shutdown::Now,
        Shutdown::Deadline(Duration::ZERO),
    ] {
        let p = pool(kind, PoolConfig::new().workers(2));
        let ledger = Ledger::with_capacity(64);
        let inner = p.clone();
        let handle = p
            .spawn(move || {
                let report = inner.shutdown(mode);
                assert!(report.adds_up(), "{report:?}");
                assert!(
                    report.still_running >= 1,
                    "its own job is running: {report:?}"
                );
                // Submissions from inside are refused now, with the job handed back.
                let back = inner.execute(Box::new(|| ())).unwrap_err();
                assert_eq!(back.reason(), RejectReason::ShutDown);
                drop(inner);
                7
            })
            .unwrap();
        assert_eq!(handle.join().unwrap(), 7, "{kind} {mode:?}");
        let report = p.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{kind} {mode:?}: {report:?}");
        assert!(p.execute(ledger.job(false).1).is_err());
        drop(p);
        assert_eq!(
            ledger.tally_all().dropped,
            1,
            "the refused job came back and was dropped"
        );
    }
}

/// Dropping the last handle to a pool from inside one of its own jobs.
fn drop_inside_worker(kind: Strategy) {
    let p = pool(kind, PoolConfig::new().workers(2));
    let (tx, rx) = std::sync::mpsc::channel();
    let inner = p.clone();
    p.execute(Box::new(move || {
        // Wait until the outside handle is gone, then drop the last one here.
        rx.recv().unwrap();
        drop(inner);
    }))
    .unwrap();
    drop(p);
    tx.send(()).unwrap();
    // Nothing to join: the test passes when neither side hangs (the watchdog) or panics.
}

// ---------------------------------------------------------------------------------------------
// Handles and the result queue.

fn join_after_pool_dropped(kind: Strategy) {
    // Completed before the drop.
    let p = pool(kind, PoolConfig::new().workers(1));
    let done = p.spawn(|| 1).unwrap();
    // Queued when the pool is dropped: a drop is graceful, so it runs.
    let gate = Gate::new();
    let g = gate.clone();
    p.execute(Box::new(move || g.wait())).unwrap();
    let queued = p.spawn(|| 2).unwrap();
    gate.open();
    drop(p);
    assert_eq!(done.join().unwrap(), 1, "{kind}");
    assert_eq!(queued.join().unwrap(), 2, "{kind}");
    // Cancelled by `Now`, then the pool dropped: the handle says Cancelled.
    let p = pool(kind, PoolConfig::new().workers(1));
    let gate = Gate::new();
    let opener = gate.hold(&*p, 1, LIMIT);
    let cancelled = p.spawn(|| 3).unwrap();
    let stopper = {
        let p = p.clone();
        std::thread::spawn(move || p.shutdown(Shutdown::Now))
    };
    shoal_reliability::eventually("the queued job cancelled", LIMIT, || {
        cancelled.is_finished()
    });
    drop(opener);
    stopper.join().unwrap();
    drop(p);
    assert!(
        matches!(cancelled.join(), Err(TaskError::Cancelled)),
        "{kind}"
    );
}

fn map_arguments(kind: Strategy) {
    let p = pool(kind, PoolConfig::new().workers(4));
    // window(0) is documented as 1: one job in flight at a time, results in order.
    // `inside` counts the jobs running at once, and the most ever.
    let inside = Alive::new();
    let counted = inside.clone();
    let out: Vec<usize> = p
        .map(0..200usize, move |x| {
            let _running = counted.track(x);
            std::thread::yield_now();
            x
        })
        .window(0)
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..200).collect::<Vec<_>>(), "{kind}");
    assert_eq!(inside.max(), 1, "{kind}: window(0) means one in flight");
    let mut un: Vec<usize> = p
        .map_unordered(0..50usize, |x| x)
        .window(0)
        .map(Result::unwrap)
        .collect();
    un.sort_unstable();
    assert_eq!(un, (0..50).collect::<Vec<_>>());
    // Empty input, a huge window.
    assert_eq!(p.map(Vec::<u8>::new(), |x| x).count(), 0);
    let n = p
        .map(0..100u32, |x| x)
        .window(usize::MAX)
        .filter(Result::is_ok)
        .count();
    assert_eq!(n, 100, "{kind}: window(usize::MAX)");
    // After shutdown: one Cancelled per item, no hang.
    p.shutdown(Shutdown::Graceful);
    let after: Vec<_> = p.map(0..5, |x| x).collect();
    assert!(
        after.iter().all(|r| matches!(r, Err(TaskError::Cancelled))),
        "{kind}"
    );
    let after = p.map_unordered(0..5, |x| x).count();
    assert_eq!(after, 5);
}

/// A borrowing scope with no task, a scope on a stopped pool (tasks run inline, documented),
/// and submissions after shutdown through every entry point.
fn after_shutdown_entry_points(kind: Strategy) {
    let p = pool(kind, PoolConfig::new().workers(2).queue_capacity(4));
    assert_eq!(p.scope(|_| 5), 5);
    p.shutdown(Shutdown::Now);
    let mut hits = 0;
    p.scope(|s| {
        s.spawn(|_| hits += 1);
    });
    assert_eq!(hits, 1, "{kind}: a refused scope task runs inline");
    assert!(p.execute(Box::new(|| ())).unwrap_err().is_shutdown());
    assert!(p.try_execute(Box::new(|| ())).unwrap_err().is_shutdown());
    assert!(p.spawn(|| 1).unwrap_err().is_shutdown());
    assert!(p.try_spawn(|| 1).unwrap_err().is_shutdown());
    // Shutdown again in every mode: the same report each time.
    let first = p.shutdown(Shutdown::Graceful);
    for mode in [
        Shutdown::Now,
        Shutdown::Deadline(Duration::ZERO),
        Shutdown::Graceful,
    ] {
        assert_eq!(p.shutdown(mode), first, "{kind}");
    }
}

// ---------------------------------------------------------------------------------------------
// RateLimited over each pool.

fn rate_limit_config(kind: Strategy) {
    for (limit, want) in bad_limits() {
        let err = RateLimited::new(pool(kind, PoolConfig::new().workers(1)), limit).unwrap_err();
        assert_eq!(err.kind(), want, "{kind}: {limit:?}");
        assert!(
            err.to_string().contains("use") || err.to_string().contains("give"),
            "{err}"
        );
    }
    // Huge but valid: no overflow anywhere.
    let wide = RateLimit::per_second(u32::MAX)
        .burst(u32::MAX)
        .max_in_flight(usize::MAX);
    let limited = RateLimited::new(pool(kind, PoolConfig::new().workers(2)), wide).unwrap();
    let sum: u64 = limited.map(0..1000u64, |x| x).map(Result::unwrap).sum();
    assert_eq!(sum, 999 * 1000 / 2);
    assert!(limited.shutdown(Shutdown::Graceful).adds_up());
    // One job per `Duration::MAX`: the first (the burst) runs; the second waits for a token
    // that never comes, until shutdown hands it back.
    let slow = Arc::new(
        RateLimited::new(
            pool(kind, PoolConfig::new().workers(1)),
            RateLimit::per(1, Duration::MAX),
        )
        .unwrap(),
    );
    assert_eq!(slow.spawn(|| 1).unwrap().join().unwrap(), 1);
    assert!(slow.try_execute(Box::new(|| ())).unwrap_err().is_full());
    let waiter = {
        let slow = slow.clone();
        std::thread::spawn(move || slow.execute(Box::new(|| ())))
    };
    shoal_reliability::eventually("a submitter waits for a token", LIMIT, || {
        slow.waiting() == 1
    });
    let report = slow.shutdown(Shutdown::Graceful);
    assert!(report.adds_up());
    let back = waiter.join().unwrap().unwrap_err();
    assert!(
        back.is_shutdown(),
        "{kind}: the held-back job comes back at shutdown"
    );
    // Resize through the limiter keeps the pool's rules.
    let limited = RateLimited::new(
        pool(kind, PoolConfig::new().workers(1)),
        RateLimit::per_second(10),
    )
    .unwrap();
    assert!(matches!(limited.resize(0), Err(ResizeError::Zero)));
}

shoal_reliability::every_strategy_guarded!(
    std::time::Duration::from_secs(120);
    zero_and_huge_workers,
    capacities,
    thread_settings,
    defaults,
    resize_arguments,
    resize_during_shutdown,
    deadline_extremes,
    shutdown_inside_worker,
    drop_inside_worker,
    join_after_pool_dropped,
    map_arguments,
    after_shutdown_entry_points,
    rate_limit_config,
);
