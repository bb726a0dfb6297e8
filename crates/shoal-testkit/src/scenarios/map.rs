//! The result queue: `map` keeps input order, `map_unordered` yields everything, both keep a
//! bounded number of items in flight and pull their input lazily.
//!
//! `map` hands items to jobs in chunks sized from the measured time per item, so the default
//! window (4 × workers chunks) is 4 × workers items only while items are slow; the checks of
//! the default window use items that sleep for a millisecond, and a long input of small items
//! to show that the window still holds memory flat.

use std::sync::Arc;
use std::thread;

use shoal_core::{Executor, ExecutorExt, Shutdown, TaskError};

use crate::tools::{Alive, Tally, Tracked};
use crate::{Factory, PoolConfig};

use super::steps::{build, graceful_completes, scenario};

/// Uneven work, so results finish out of order: item `x` yields `x * 7 % 13` times.
fn uneven(x: u64) -> u64 {
    for _ in 0..(x * 7 % 13) {
        thread::yield_now();
    }
    x * x
}

/// A tracked input of `n` items, for counting how many are alive at once.
fn tracked_items(alive: &Arc<Alive>, n: u64) -> impl Iterator<Item = Tracked<u64>> {
    let alive = alive.clone();
    (0..n).map(move |i| alive.track(i))
}

/// A job body that holds its item for a while, so many items are in flight at once.
fn slow_value(item: Tracked<u64>) -> u64 {
    for _ in 0..20 {
        thread::yield_now();
    }
    *item.value()
}

/// The results of mapping `items` through `f` on `pool` with `map`, or with `map_unordered`
/// when `unordered`, with `window` when set.
fn results<'e, E, I, F>(
    pool: &'e E,
    unordered: bool,
    window: Option<usize>,
    items: I,
    f: F,
) -> Box<dyn Iterator<Item = Result<u64, TaskError>> + 'e>
where
    E: Executor,
    I: IntoIterator,
    I::IntoIter: 'e,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> u64 + Send + Sync + 'static,
{
    match (unordered, window) {
        (false, None) => Box::new(pool.map(items, f)),
        (false, Some(w)) => Box::new(pool.map(items, f).window(w)),
        (true, None) => Box::new(pool.map_unordered(items, f)),
        (true, Some(w)) => Box::new(pool.map_unordered(items, f).window(w)),
    }
}

/// Maps `items` as [`results`] does; returns the values of the first `take` results (sorted,
/// for `map_unordered`), dropping the iterator after them.
fn mapped<E, I, F>(
    pool: &E,
    unordered: bool,
    window: Option<usize>,
    take: usize,
    items: I,
    f: F,
) -> Vec<u64>
where
    E: Executor,
    I: IntoIterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> u64 + Send + Sync + 'static,
{
    let mut got: Vec<u64> = results(pool, unordered, window, items, f)
        .take(take)
        .map(|r| r.expect("no panic"))
        .collect();
    if unordered {
        got.sort_unstable();
    }
    got
}

/// The scenario of `map_bounded_in_flight` and (`unordered`) `map_unordered_bounded_in_flight`:
/// on 4 workers, maps 200 tracked items with a window of 3, then slow items with the default
/// window (4 chunks per worker, 16, a chunk each), then a long input of small items: every value comes
/// back, never more items alive at once than the window (a bounded number for the long input),
/// and every item is dropped at the end.
fn bounded_in_flight<F: Factory>(f: &F, scenario_name: &str, unordered: bool) {
    let pool = build(f, PoolConfig::new().workers(4));
    scenario(scenario_name, pool, move |pool| {
        check_in_flight(&pool, unordered);
    });
}

fn check_in_flight<E: Executor>(pool: &E, unordered: bool) {
    let name = if unordered { "map_unordered" } else { "map" };
    let want: Vec<u64> = (0..200).collect();
    for (window, limit) in [(Some(3), 3), (None, 16)] {
        let alive = Alive::new();
        // Items slow enough (a millisecond) for the default window to give each a chunk.
        let body = if window.is_some() {
            slow_value
        } else {
            sleepy_value
        };
        let got = mapped(
            pool,
            unordered,
            window,
            usize::MAX,
            tracked_items(&alive, 200),
            body,
        );
        assert_eq!(got, want, "{name} with window {window:?}");
        assert!(
            alive.max() <= limit,
            "{name} with window {window:?} had {} items in flight at once",
            alive.max()
        );
        assert_eq!(alive.now(), 0, "every item was dropped");
    }
    let alive = Alive::new();
    let got = mapped(
        pool,
        unordered,
        None,
        usize::MAX,
        tracked_items(&alive, LONG_INPUT),
        |item| *item.value(),
    );
    assert_eq!(got.len() as u64, LONG_INPUT, "{name}: one result per item");
    assert!(
        alive.max() <= LONG_INPUT_ALIVE_LIMIT,
        "{name} of {LONG_INPUT} small items had {} in flight at once",
        alive.max()
    );
    assert_eq!(alive.now(), 0, "every item was dropped");
}

/// A job body slow enough (a millisecond) that `map` gives it a chunk of its own.
fn sleepy_value(item: Tracked<u64>) -> u64 {
    thread::sleep(std::time::Duration::from_millis(1));
    *item.value()
}

/// Items of a long input alive at once under the default window, with small items: a bounded
/// number, far below the input's length.
const LONG_INPUT: u64 = 200_000;
const LONG_INPUT_ALIVE_LIMIT: usize = 20_000;

/// `map` yields one result per item in input order, whatever order the jobs finish in, with
/// the default window, a window of 1 and a window larger than the pool.
pub fn map_preserves_order<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("map_preserves_order", pool, move |pool| {
        let want: Vec<u64> = (0..300).map(|x| x * x).collect();
        for window in [None, Some(1), Some(50)] {
            let got = mapped(&pool, false, window, usize::MAX, 0..300u64, uneven);
            assert_eq!(got, want, "map with window {window:?}");
        }
    });
}

/// `map` never has more items alive (pulled from the input and not yet finished) than its
/// window: 3 when set; by default 4 × workers while items are slow, and a bounded number for a
/// long input of small items, so a long input never piles up in the queue.
pub fn map_bounded_in_flight<F: Factory>(f: &F) {
    bounded_in_flight(f, "map_bounded_in_flight", false);
}

/// `map_unordered` yields exactly one result per item (1000 items, every value once).
pub fn map_unordered_yields_every_result<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("map_unordered_yields_every_result", pool, move |pool| {
        let got = mapped(&pool, true, None, usize::MAX, 0..1000u64, uneven);
        let want: Vec<u64> = (0..1000).map(|x| x * x).collect();
        assert_eq!(got, want);
    });
}

/// `map_unordered` never has more items alive than its window (3 when set; by default 4 ×
/// workers while items are slow, and a bounded number for a long input of small items).
pub fn map_unordered_bounded_in_flight<F: Factory>(f: &F) {
    bounded_in_flight(f, "map_unordered_bounded_in_flight", true);
}

/// `map` and `map_unordered` on a shut-down pool yield `Err(Cancelled)` once per item, without
/// hanging.
pub fn map_after_shutdown_yields_cancelled<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("map_after_shutdown_yields_cancelled", pool, move |pool| {
        pool.shutdown(Shutdown::Graceful);
        let ordered: Vec<_> = pool.map(0..5u32, |x| x).collect();
        assert_eq!(ordered.len(), 5, "one result per item");
        for result in ordered {
            assert!(result.expect_err("refused").is_cancelled());
        }
        let unordered: Vec<_> = pool.map_unordered(0..5u32, |x| x).collect();
        assert_eq!(unordered.len(), 5, "one result per item");
        for result in unordered {
            assert!(result.expect_err("refused").is_cancelled());
        }
    });
}

/// `map` and `map_unordered` pull their input lazily: taking 10 results from an endless
/// input pulls at most 10 + window items, and the jobs left in flight when the iterator is
/// dropped still run.
pub fn map_lazy_input<F: Factory>(f: &F) {
    const WINDOW: usize = 4;
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("map_lazy_input", pool, move |pool| {
        let mut pulled_in_all = 0;
        for unordered in [false, true] {
            let name = if unordered { "map_unordered" } else { "map" };
            let pulled = Tally::new();
            let counter = pulled.clone();
            let endless = (0u64..).inspect(move |_| counter.add());
            let first = mapped(&pool, unordered, Some(WINDOW), 10, endless, |x| x + 1);
            if unordered {
                assert_eq!(first.len(), 10, "{name} gave {first:?}");
            } else {
                assert_eq!(first, (1..=10).collect::<Vec<u64>>(), "{name}");
            }
            let pulled = pulled.get();
            assert!(
                pulled <= 10 + WINDOW as u64,
                "{name} pulled {pulled} items to give 10 results with window {WINDOW}"
            );
            pulled_in_all += pulled;
        }
        // One job per chunk at most (a map's jobs loop over the chunks handed out, and the
        // caller runs some itself), and at least one job per map.
        let jobs = pool.metrics().submitted;
        assert!(
            (2..=pulled_in_all).contains(&jobs),
            "{jobs} jobs for two maps that pulled {pulled_in_all} items"
        );
        graceful_completes(&pool, "map_lazy_input", jobs);
    });
}

/// While the caller holds a map's iterator without taking results, the pool runs every item
/// already pulled into the window: the map's jobs loop over its chunks until none is left,
/// also when the caller takes a lane of its own and the pool gets one job fewer than it has
/// workers.
pub fn map_runs_the_window_while_the_caller_is_away<F: Factory>(f: &F) {
    const WINDOW: usize = 16;
    const ITEMS: u64 = 200;
    let pool = build(f, PoolConfig::new().workers(2));
    scenario(
        "map_runs_the_window_while_the_caller_is_away",
        pool,
        move |pool| {
            for unordered in [false, true] {
                let name = if unordered { "map_unordered" } else { "map" };
                let pulled = Tally::new();
                let ran = Tally::new();
                let (p, r) = (pulled.clone(), ran.clone());
                let input = (0..ITEMS).inspect(move |_| p.add());
                let work = move |x: u64| {
                    for _ in 0..20 {
                        thread::yield_now();
                    }
                    r.add();
                    x
                };
                let mut results = results(&pool, unordered, Some(WINDOW), input, work);
                let first = results.next().expect("a first result");
                assert!(first.is_ok(), "{name}: {first:?}");
                let away = pulled.get();
                assert!(away >= 2, "{name} pulled {away} items for its window");
                ran.wait_for(
                    away,
                    &format!(
                        "{name}: the pool runs the {away} items pulled while the caller is away"
                    ),
                );
                let rest = results.filter(Result::is_ok).count() as u64;
                assert_eq!(rest + 1, ITEMS, "{name}: one result per item");
            }
            let jobs = pool.metrics().submitted;
            graceful_completes(&pool, "map_runs_the_window_while_the_caller_is_away", jobs);
        },
    );
}
