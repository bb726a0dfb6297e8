//! The fork-join workloads, written once for `benches/forkjoin.rs` (criterion) and
//! `examples/ratios.rs` (interleaved rounds), so both measure the same code.
//!
//! Each recursive workload is a plain sequential function (the baseline) and one function
//! generic over a [`Join`] for both pools: [`Scoped`] (`shoal_scope::join`) or [`Rayon`]
//! (`rayon::join`). The join is a type parameter, not a value, so each pool's variant compiles
//! to direct calls and its closures capture exactly what a hand-written one would. The
//! baselines stay the plain recursion a person would write without a pool.

use shoal_scope::ScopedPool;

/// `join` as a type, so one recursive function serves both pools.
pub trait Join {
    /// Runs `a` and `b`, potentially in parallel.
    fn join(a: impl FnOnce() -> u64 + Send, b: impl FnOnce() -> u64 + Send) -> (u64, u64);
}

/// `shoal_scope::join`, on the ScopedPool the caller runs in.
pub enum Scoped {}

/// `rayon::join`, on the rayon pool the caller runs in.
pub enum Rayon {}

impl Join for Scoped {
    #[inline]
    fn join(a: impl FnOnce() -> u64 + Send, b: impl FnOnce() -> u64 + Send) -> (u64, u64) {
        shoal_scope::join(a, b)
    }
}

impl Join for Rayon {
    #[inline]
    fn join(a: impl FnOnce() -> u64 + Send, b: impl FnOnce() -> u64 + Send) -> (u64, u64) {
        rayon::join(a, b)
    }
}

/// A ScopedPool and a rayon pool with `threads` threads each.
pub fn pools(threads: usize) -> (ScopedPool, rayon::ThreadPool) {
    let scoped = ScopedPool::new(threads).expect("ScopedPool starts");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool starts");
    (scoped, rayon)
}

// ---- fib(30): the cost of a join itself --------------------------------------------------

/// Teaches: with no cutoff, almost all the work is join overhead (1.3 million joins of a few
/// nanoseconds each); a scheduler that charges for every join loses to sequential code.
pub fn fib_seq(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    fib_seq(n - 1) + fib_seq(n - 2)
}

/// fib on a pool: a join at every call.
pub fn fib<J: Join>(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = J::join(|| fib::<J>(n - 1), || fib::<J>(n - 2));
    a + b
}

// ---- binary tree sum: pointer chasing with a join per node ------------------------------

/// Teaches: a join per node of a heap-allocated tree; memory latency dominates, so the
/// scheduler's share is smaller than in fib but still paid a million times.
pub struct Node {
    value: u64,
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

/// A complete tree of `depth` levels, numbered in order from `*next + 1`.
pub fn build(depth: u32, next: &mut u64) -> Option<Box<Node>> {
    if depth == 0 {
        return None;
    }
    let left = build(depth - 1, next);
    *next += 1;
    let value = *next;
    let right = build(depth - 1, next);
    Some(Box::new(Node { value, left, right }))
}

/// The sum of every value in the tree, on the calling thread.
pub fn sum_seq(node: &Option<Box<Node>>) -> u64 {
    match node {
        None => 0,
        Some(n) => n.value + sum_seq(&n.left) + sum_seq(&n.right),
    }
}

/// The sum of every value in the tree on a pool, joining at every node.
pub fn sum<J: Join>(node: &Option<Box<Node>>) -> u64 {
    match node {
        None => 0,
        Some(n) => {
            let (l, r) = J::join(|| sum::<J>(&n.left), || sum::<J>(&n.right));
            n.value + l + r
        }
    }
}

// ---- hashing 4096 buffers of 16 KiB: coarse, independent work ----------------------------

/// Teaches: coarse jobs (microseconds each) measure parallel efficiency, not join cost:
/// the ideal is `sequential / threads`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The 4096 buffers of 16 KiB that the hash workload digests.
pub fn buffers() -> Vec<Vec<u8>> {
    (0..4096u32)
        .map(|i| {
            (0..16 * 1024u32)
                .map(|j| (i.wrapping_mul(31).wrapping_add(j) % 251) as u8)
                .collect()
        })
        .collect()
}
