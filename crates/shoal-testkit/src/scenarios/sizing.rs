//! Self-sizing pools (`PoolConfig::sizing`): an elastic pool grows when jobs wait with every
//! worker busy, never past `max` or the backlog, retires idle workers back to `min`, reports
//! every decision, stops its supervisor at shutdown, and gives up its policy on a `resize` by
//! hand; impossible policies are build errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use shoal_core::sizing::Mode;
use shoal_core::{
    BuildErrorKind, Executor, ExecutorExt, Reason, Shutdown, Sizing, SizingStatus, MAX_WORKERS,
};

use crate::tools::{signal_on_thread_exit, wait_until, Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{build, run_together, scenario, ACCEPT};

/// The sampling interval of these scenarios: short, so they run fast.
const TICK: Duration = Duration::from_millis(5);
/// How long an idle worker stays in these scenarios.
const KEEP: Duration = Duration::from_millis(100);

fn status<E: Executor + ?Sized>(pool: &E) -> SizingStatus {
    pool.metrics()
        .sizing
        .expect("a self-sizing pool reports its policy in metrics().sizing")
}

/// Counts the worker threads a pool starts.
fn counting_starts(config: PoolConfig) -> (PoolConfig, Arc<AtomicU64>) {
    let started = Arc::new(AtomicU64::new(0));
    let count = started.clone();
    let config = config.on_thread_start(move || {
        count.fetch_add(1, Ordering::SeqCst);
    });
    (config, started)
}

/// Submits `n` jobs that block until `gate` opens; the tally counts those that started.
fn gated<E: Executor + ?Sized>(pool: &E, gate: &Gate, n: usize) -> Arc<Tally> {
    let arrived = Tally::new();
    for _ in 0..n {
        let (waiter, arrived) = (gate.waiter(), arrived.clone());
        pool.execute(Box::new(move || {
            arrived.add();
            waiter.wait();
        }))
        .expect(ACCEPT);
    }
    arrived
}

/// An elastic pool of `min` 1 grows for four jobs that can only finish together (a barrier of
/// four), says why (`Reason::Backlog`), and once they are done retires back to one worker
/// within `keep_alive` and a second.
pub fn elastic_grows_for_waiting_jobs_and_retires_when_idle<F: Factory>(f: &F) {
    let sizing = Sizing::elastic(1, 4).interval(TICK).keep_alive(KEEP);
    let pool = build(f, PoolConfig::new().sizing(sizing));
    scenario(
        "elastic_grows_for_waiting_jobs_and_retires_when_idle",
        pool,
        |pool| {
            assert_eq!(pool.workers(), 1, "an elastic pool starts with min workers");
            let s = status(&pool);
            assert_eq!((s.mode, s.active), (Mode::Elastic, true));
            run_together(&pool, 4, "four jobs that need the pool to grow to four");
            let s = status(&pool);
            assert!(s.grown >= 1, "a grow is counted: {s:?}");
            wait_until("the idle pool to retire back to one worker", || {
                pool.workers() == 1 && pool.metrics().workers == 1
            });
            let s = status(&pool);
            let last = s.last.expect("the retirement is the last decision");
            assert!(
                matches!(last.reason, Reason::Idle { .. }) && last.to == 1,
                "retired for idleness: {last}"
            );
            assert!(s.shrunk >= 1 && s.active, "{s:?}");
        },
    );
}

/// A burst that needs more workers than `max` gets `max`, and a burst of three blocked jobs on
/// a pool of up to 16 starts no more than three workers: growth is bounded by the backlog.
pub fn elastic_growth_is_bounded_by_max_and_by_the_backlog<F: Factory>(f: &F) {
    let (config, started) = counting_starts(
        PoolConfig::new().sizing(Sizing::elastic(1, 3).interval(TICK).keep_alive(KEEP)),
    );
    let pool = build(f, config);
    scenario("elastic_growth_bounded_by_max", pool, move |pool| {
        let gate = Gate::new();
        let arrived = gated(&pool, &gate, 8);
        arrived.wait_for(3, "three blocked jobs on three workers");
        // Many intervals with a backlog: still no fourth worker.
        thread::sleep(TICK * 20);
        assert_eq!(arrived.get(), 3, "only max workers run at once");
        assert_eq!(started.load(Ordering::SeqCst), 3, "no thread past max");
        assert_eq!(pool.workers(), 3);
        gate.open();
        arrived.wait_for(8, "every job runs");
    });

    let (config, started) = counting_starts(
        PoolConfig::new().sizing(Sizing::elastic(1, 16).interval(TICK).keep_alive(KEEP)),
    );
    let pool = build(f, config);
    scenario("elastic_growth_bounded_by_the_backlog", pool, move |pool| {
        let gate = Gate::new();
        let arrived = gated(&pool, &gate, 3);
        arrived.wait_for(3, "three blocked jobs, each on a worker");
        thread::sleep(TICK * 20);
        let n = started.load(Ordering::SeqCst);
        assert!(n <= 3, "three blocked jobs need three workers; {n} started");
        gate.open();
    });
}

/// `resize` by hand switches the policy off: the pool keeps the size asked for, past many
/// `keep_alive`s, and `metrics().sizing` says the policy is no longer active.
pub fn resize_switches_sizing_off<F: Factory>(f: &F) {
    let sizing = Sizing::elastic(1, 8).interval(TICK).keep_alive(TICK * 2);
    let pool = build(f, PoolConfig::new().sizing(sizing));
    scenario("resize_switches_sizing_off", pool, |pool| {
        pool.resize(3).expect("resize by hand");
        assert!(!status(&pool).active, "resize switches the policy off");
        thread::sleep(TICK * 20);
        assert_eq!(
            pool.workers(),
            3,
            "idle, but the size asked for by hand stays"
        );
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{report:?}");
    });
}

/// Every decision reaches the `on_decision` hook, on the supervisor thread, which shutdown
/// stops and joins: when `shutdown` returns, that thread is gone.
pub fn sizing_decisions_reach_the_hook_and_shutdown_joins_the_supervisor<F: Factory>(f: &F) {
    let seen = Arc::new(AtomicU64::new(0));
    let gone = Tally::new();
    let sizing = Sizing::elastic(1, 2)
        .interval(TICK)
        .keep_alive(KEEP)
        .on_decision({
            let (seen, gone) = (seen.clone(), gone.clone());
            move |decision| {
                assert_ne!(decision.from, decision.to, "a decision changes the size");
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    signal_on_thread_exit(&gone);
                }
            }
        });
    let pool = build(f, PoolConfig::new().sizing(sizing));
    scenario("sizing_decisions_reach_the_hook", pool, move |pool| {
        run_together(&pool, 2, "two jobs that need a second worker");
        wait_until("the grow to reach the hook", || {
            seen.load(Ordering::SeqCst) >= 1
        });
        let s = status(&pool);
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{report:?}");
        assert_eq!(
            gone.get(),
            1,
            "shutdown returned after the supervisor thread exited"
        );
        assert!(
            !status(&pool).active,
            "a shut down pool's policy is inactive"
        );
        let decided = seen.load(Ordering::SeqCst);
        assert!(
            decided >= s.grown + s.shrunk,
            "the hook saw every decision: {decided} vs {s:?}"
        );
    });
}

/// An adaptive pool runs every job of a mixed load, and its metrics say adaptive; its limit
/// stays within its bounds.
pub fn adaptive_pool_runs_every_job<F: Factory>(f: &F) {
    let sizing = Sizing::adaptive(2, 6).interval(TICK).keep_alive(KEEP);
    let pool = build(f, PoolConfig::new().sizing(sizing));
    scenario("adaptive_pool_runs_every_job", pool, |pool| {
        assert_eq!(pool.workers(), 2);
        let sums: Vec<u64> = pool
            .map(0..2_000u64, |i| {
                if i % 100 == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
                i
            })
            .collect::<Result<_, _>>()
            .expect("every item");
        assert_eq!(sums.iter().sum::<u64>(), 1_999 * 2_000 / 2);
        let s = status(&pool);
        assert_eq!(s.mode, Mode::Adaptive);
        assert!(
            (2..=6).contains(&s.limit) && (2..=6).contains(&s.target),
            "{s:?}"
        );
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{report:?}");
    });
}

/// Impossible policies are `BuildErrorKind::InvalidSizing`: `min` 0, `min > max`, `max` above
/// `MAX_WORKERS`, `workers` outside `min..=max`, an interval out of range, a `keep_alive`
/// under the interval.
pub fn invalid_sizing_is_error<F: Factory>(f: &F) {
    let cases = [
        PoolConfig::new().sizing(Sizing::elastic(0, 4)),
        PoolConfig::new().sizing(Sizing::adaptive(4, 2)),
        PoolConfig::new().sizing(Sizing::elastic(1, MAX_WORKERS + 1)),
        PoolConfig::new().workers(8).sizing(Sizing::elastic(1, 4)),
        PoolConfig::new().sizing(Sizing::elastic(1, 4).interval(Duration::ZERO)),
        PoolConfig::new().sizing(Sizing::elastic(1, 4).interval(Duration::from_secs(5))),
        PoolConfig::new().sizing(
            Sizing::adaptive(1, 4)
                .interval(Duration::from_millis(50))
                .keep_alive(Duration::from_millis(10)),
        ),
    ];
    for config in cases {
        let shown = format!("{config:?}");
        match f.build(config) {
            Err(err) => {
                assert_eq!(err.kind(), BuildErrorKind::InvalidSizing, "{shown}: {err}");
                assert!(!err.to_string().is_empty());
            }
            Ok(pool) => {
                drop(thread::spawn(move || drop(pool)));
                panic!("{shown} built a pool; expected InvalidSizing");
            }
        }
    }
}
