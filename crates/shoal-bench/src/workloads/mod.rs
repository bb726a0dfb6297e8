//! The workloads. Each type's doc line says what it teaches; [`WorkloadId`](crate::WorkloadId)
//! lists them by name.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::contender::Batch;

mod batch;
mod files;
mod fnv;
mod fork_join;
mod http;
mod idle;
mod map;
mod spawn;
mod wake;

pub use batch::{Hash, HashMap, Io, Unbalanced, HASH_BUFFER};
pub use files::{files_root, walk, FileEntry, Files, MAX_FILE};
pub use fnv::{fnv1a, Fnv1a};
pub use fork_join::{fib_calls, Fib, JoinLoop, Node, TreeSum};
pub use http::Http;
pub use idle::Idle;
pub use map::{Mapped, ResultQueue, ResultQueueUnordered};
pub use spawn::{Chain, SpawnInside, SpawnOutside};
pub use wake::{percentile, WakeLatency, WAKE_GAP, WAKE_ROUNDS};

/// A deterministic CPU burner: `iters` rounds of xorshift64 from `seed`. No closed form, so
/// the compiler cannot skip it; about a nanosecond per round.
#[inline]
pub fn burn(seed: u64, iters: u32) -> u64 {
    let mut x = seed | 1;
    for _ in 0..iters {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// Runs the batch, adding each job's value into one sum. The jobs are coarse, so the one
/// shared atomic costs nothing measurable.
fn sum_batch<B: Batch>(
    b: &B,
    n: usize,
    value: impl Fn(usize) -> u64 + Send + Sync + 'static,
) -> u64 {
    let sum = Arc::new(AtomicU64::new(0));
    let s = sum.clone();
    b.for_each_index(n, move |i| {
        // ORDERING: Relaxed; the batch's own completion (a latch, a scope join) orders these
        // adds before the load below.
        s.fetch_add(value(i), Ordering::Relaxed);
    });
    // ORDERING: Relaxed, ordered after every add by the batch's completion.
    sum.load(Ordering::Relaxed)
}
