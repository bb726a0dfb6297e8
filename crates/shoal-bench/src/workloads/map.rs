//! The result queue: jobs in, results out, in input order.

use super::burn;
use crate::contender::{Contender, OrderedMap};
use crate::workload::{Answer, Size, Workload, WorkloadId};

/// Rounds of [`burn`] per item: well under a microsecond, so per-item overhead shows.
const ITEM_COST: u32 = 500;

/// The result queue: map a large input through a small function, results in input order.
/// Shows what each library's idiom costs per item: chunked splitting (rayon, ScopedPool),
/// adaptive chunks handed to jobs through a bounded window with the caller helping (shoal's
/// `ExecutorExt::map`), or one job per item and a channel of `(index, result)` (the classic
/// pattern with threadpool and executors).
#[derive(Debug)]
pub struct ResultQueue {
    items: usize,
    expected: u64,
}

fn item(x: u64) -> u64 {
    burn(x, ITEM_COST)
}

impl Workload for ResultQueue {
    const ID: WorkloadId = WorkloadId::ResultQueue;

    fn prepare(size: Size, _workers: usize) -> Self {
        let items = size.count(100_000, 100);
        let expected = (0..items as u64)
            .map(|x| item(x).rotate_left((x % 64) as u32))
            .fold(0u64, u64::wrapping_add);
        ResultQueue { items, expected }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let m = c.mapper().expect("admitted contenders map");
        let input: Vec<u64> = (0..self.items as u64).collect();
        let out = m.map_ordered(input, item);
        // Position-dependent, so results out of order give a different checksum.
        out.iter()
            .enumerate()
            .map(|(i, y)| y.rotate_left((i % 64) as u32))
            .fold(0u64, u64::wrapping_add)
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.expected,
            units: self.items as f64,
        }
    }

    fn describe(&self) -> String {
        format!("map over {} items, ~{ITEM_COST} ns each", self.items)
    }
}

/// The same map as [`ResultQueue`], with its results taken in any order: shoal's
/// `map_unordered`, the other libraries' ordered map (they have no cheaper unordered one).
#[derive(Debug)]
pub struct ResultQueueUnordered {
    items: usize,
    expected: u64,
}

impl Workload for ResultQueueUnordered {
    const ID: WorkloadId = WorkloadId::ResultQueueUnordered;

    fn prepare(size: Size, _workers: usize) -> Self {
        let items = size.count(100_000, 100);
        // The checksum may not depend on the order: a plain wrapping sum.
        let expected = (0..items as u64).map(item).fold(0u64, u64::wrapping_add);
        ResultQueueUnordered { items, expected }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let m = c.mapper().expect("admitted contenders map");
        let input: Vec<u64> = (0..self.items as u64).collect();
        let out = m.map_any_order(input, item);
        assert_eq!(out.len(), self.items, "one result per item");
        out.into_iter().fold(0u64, u64::wrapping_add)
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.expected,
            units: self.items as f64,
        }
    }

    fn describe(&self) -> String {
        format!(
            "map over {} items, ~{ITEM_COST} ns each, results in any order",
            self.items
        )
    }
}
