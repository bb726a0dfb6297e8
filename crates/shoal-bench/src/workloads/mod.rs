//! The workloads. Each type's doc line says what it teaches; [`WorkloadId`](crate::WorkloadId)
//! lists them by name.

mod batch;
mod fork_join;
mod idle;
mod map;
mod spawn;
mod wake;

pub use batch::{Hash, HashMap, Io, Unbalanced, HASH_BUFFER};
pub use fork_join::{fib_calls, Fib, Node, TreeSum};
pub use idle::Idle;
pub use map::ResultQueue;
pub use spawn::{Chain, SpawnInside, SpawnOutside};
pub use wake::{percentile, WakeLatency, WAKE_GAP};

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
