//! The result queue: jobs in, results out, in input order or as they finish.

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
///
/// `ORDERED`: results in input order ([`ResultQueue`]), or in any order
/// ([`ResultQueueUnordered`]: shoal's `map_unordered`; the other libraries have no cheaper
/// unordered map and run their ordered one).
#[derive(Debug)]
pub struct Mapped<const ORDERED: bool> {
    items: usize,
    expected: u64,
}

/// The ordered map.
pub type ResultQueue = Mapped<true>;
/// The same map, results in any order.
pub type ResultQueueUnordered = Mapped<false>;

fn item(x: u64) -> u64 {
    burn(x, ITEM_COST)
}

/// The checksum of the results: position-dependent when they come in order, a plain sum
/// (which any order gives) when not.
fn checksum<const ORDERED: bool>(results: impl Iterator<Item = u64>) -> u64 {
    results
        .enumerate()
        .map(|(i, y)| {
            if ORDERED {
                y.rotate_left((i % 64) as u32)
            } else {
                y
            }
        })
        .fold(0u64, u64::wrapping_add)
}

impl<const ORDERED: bool> Workload for Mapped<ORDERED> {
    const ID: WorkloadId = if ORDERED {
        WorkloadId::ResultQueue
    } else {
        WorkloadId::ResultQueueUnordered
    };

    fn prepare(size: Size, _workers: usize) -> Self {
        let items = size.count(100_000, 100);
        let expected = checksum::<ORDERED>((0..items as u64).map(item));
        Mapped { items, expected }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let m = c.mapper().expect("admitted contenders map");
        let input: Vec<u64> = (0..self.items as u64).collect();
        let out = if ORDERED {
            m.map_ordered(input, item)
        } else {
            m.map_any_order(input, item)
        };
        assert_eq!(out.len(), self.items, "one result per item");
        checksum::<ORDERED>(out.into_iter())
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.expected,
            units: self.items as f64,
        }
    }

    fn describe(&self) -> String {
        let order = if ORDERED {
            ""
        } else {
            ", results in any order"
        };
        format!("map over {} items, ~{ITEM_COST} ns each{order}", self.items)
    }
}
