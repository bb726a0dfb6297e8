//! The result queue: `map` keeps input order, `map_unordered` yields everything, both keep a
//! bounded number of items in flight and pull their input lazily.
//!
//! `map` hands items to jobs in chunks sized from the measured time per item, so the default
//! window (2 × workers chunks) is 2 × workers items only while items are slow; the checks of
//! the default window use items that sleep for a millisecond, and a long input of small items
//! to show that the window still holds memory flat.

use std::sync::Arc;
use std::thread;

use shoal_core::{Executor, ExecutorExt, Shutdown};

use crate::tools::{Alive, Tally, Tracked};
use crate::{Factory, PoolConfig};

use super::{build, check_report, scenario, Counts};

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
    let pool = build(f, PoolConfig::workers(3));
    scenario("map_preserves_order", pool, move |pool| {
        let want: Vec<u64> = (0..300).map(|x| x * x).collect();
        let default: Vec<u64> = pool
            .map(0..300u64, uneven)
            .map(|r| r.expect("no panic"))
            .collect();
        assert_eq!(default, want, "map with the default window");
        for window in [1, 50] {
            let got: Vec<u64> = pool
                .map(0..300u64, uneven)
                .window(window)
                .map(|r| r.expect("no panic"))
                .collect();
            assert_eq!(got, want, "map with window {window}");
        }
    });
}

/// `map` never has more items alive (pulled from the input and not yet finished) than its
/// window: 3 when set; by default 2 × workers while items are slow, and a bounded number for a
/// long input of small items, so a long input never piles up in the queue.
pub fn map_bounded_in_flight<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(4));
    scenario("map_bounded_in_flight", pool, move |pool| {
        let want: Vec<u64> = (0..200).collect();
        let alive = Alive::new();
        let got: Vec<u64> = pool
            .map(tracked_items(&alive, 200), slow_value)
            .window(3)
            .map(|r| r.expect("no panic"))
            .collect();
        assert_eq!(got, want);
        assert!(
            alive.max() <= 3,
            "map with window 3 had {} items in flight at once",
            alive.max()
        );
        let alive = Alive::new();
        let got: Vec<u64> = pool
            .map(tracked_items(&alive, 200), sleepy_value)
            .map(|r| r.expect("no panic"))
            .collect();
        assert_eq!(got, want);
        assert!(
            alive.max() <= 8,
            "map of slow items with the default window (2 x 4 workers) had {} items in flight \
             at once",
            alive.max()
        );
        assert_eq!(alive.now(), 0, "every item was dropped");
        let alive = Alive::new();
        let sum: u64 = pool
            .map(tracked_items(&alive, LONG_INPUT), |item| *item.value())
            .map(|r| r.expect("no panic"))
            .sum();
        assert_eq!(sum, LONG_INPUT * (LONG_INPUT - 1) / 2);
        assert!(
            alive.max() <= LONG_INPUT_ALIVE_LIMIT,
            "map of {LONG_INPUT} small items had {} in flight at once",
            alive.max()
        );
        assert_eq!(alive.now(), 0, "every item was dropped");
    });
}

/// `map_unordered` yields exactly one result per item (1000 items, every value once).
pub fn map_unordered_yields_every_result<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(3));
    scenario("map_unordered_yields_every_result", pool, move |pool| {
        let mut got: Vec<u64> = pool
            .map_unordered(0..1000u64, uneven)
            .map(|r| r.expect("no panic"))
            .collect();
        got.sort_unstable();
        let want: Vec<u64> = (0..1000).map(|x| x * x).collect();
        assert_eq!(got, want);
    });
}

/// `map_unordered` never has more items alive than its window (3 when set; by default 2 ×
/// workers while items are slow, and a bounded number for a long input of small items).
pub fn map_unordered_bounded_in_flight<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(4));
    scenario("map_unordered_bounded_in_flight", pool, move |pool| {
        let want: Vec<u64> = (0..200).collect();
        for (window, limit) in [(Some(3), 3), (None, 8)] {
            let alive = Alive::new();
            let body = if window.is_some() {
                slow_value
            } else {
                sleepy_value
            };
            let mapped = pool.map_unordered(tracked_items(&alive, 200), body);
            let mapped = match window {
                Some(w) => mapped.window(w),
                None => mapped,
            };
            let mut got: Vec<u64> = mapped.map(|r| r.expect("no panic")).collect();
            got.sort_unstable();
            assert_eq!(got, want);
            assert!(
                alive.max() <= limit,
                "map_unordered with window {window:?} had {} items in flight at once",
                alive.max()
            );
            assert_eq!(alive.now(), 0, "every item was dropped");
        }
        let alive = Alive::new();
        let count = pool
            .map_unordered(tracked_items(&alive, LONG_INPUT), |item| *item.value())
            .filter(Result::is_ok)
            .count();
        assert_eq!(count as u64, LONG_INPUT);
        assert!(
            alive.max() <= LONG_INPUT_ALIVE_LIMIT,
            "map_unordered of {LONG_INPUT} small items had {} in flight at once",
            alive.max()
        );
        assert_eq!(alive.now(), 0, "every item was dropped");
    });
}

/// `map` and `map_unordered` on a shut-down pool yield `Err(Cancelled)` once per item, without
/// hanging.
pub fn map_after_shutdown_yields_cancelled<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(2));
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
    let pool = build(f, PoolConfig::workers(2));
    scenario("map_lazy_input", pool, move |pool| {
        let pulled = Tally::new();
        let counter = pulled.clone();
        let endless = (0u64..).inspect(move |_| counter.add());
        let first: Vec<u64> = pool
            .map(endless, |x| x + 1)
            .window(WINDOW)
            .take(10)
            .map(|r| r.expect("no panic"))
            .collect();
        assert_eq!(first, (1..=10).collect::<Vec<u64>>());
        let ordered_pulled = pulled.get();
        assert!(
            ordered_pulled <= 10 + WINDOW as u64,
            "map pulled {ordered_pulled} items to give 10 results with window {WINDOW}"
        );

        let pulled = Tally::new();
        let counter = pulled.clone();
        let endless = (0u64..).inspect(move |_| counter.add());
        let some: Vec<u64> = pool
            .map_unordered(endless, |x| x + 1)
            .window(WINDOW)
            .take(10)
            .map(|r| r.expect("no panic"))
            .collect();
        assert_eq!(some.len(), 10);
        let unordered_pulled = pulled.get();
        assert!(
            unordered_pulled <= 10 + WINDOW as u64,
            "map_unordered pulled {unordered_pulled} items to give 10 results"
        );
        let report = pool.shutdown(Shutdown::Graceful);
        check_report(
            "map_lazy_input",
            &report,
            Counts::completed(ordered_pulled + unordered_pulled),
        );
    });
}
