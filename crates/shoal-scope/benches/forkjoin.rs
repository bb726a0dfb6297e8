//! Fork-join workloads: ScopedPool against rayon and sequential code, in one run.
//!
//! Run: `cargo bench -p shoal-scope --bench forkjoin -- --warm-up-time 1 --measurement-time 3`
//!
//! Both pools get the same number of threads (the logical CPUs). Each group has a sequential
//! baseline, so the ratios `scoped / rayon` and `scoped / sequential` come from one run.
//! Criterion samples one contender at a time, so on a machine shared with other work the
//! ratios drift with the load; `examples/ratios.rs` runs the same workloads interleaved and
//! keeps the least disturbed round of each (the numbers in the crate docs come from it).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rayon::prelude::*;
use shoal_scope::ScopedPool;

/// Threads for both pools.
fn threads() -> usize {
    shoal_core::default_workers()
}

fn pools() -> (ScopedPool, rayon::ThreadPool) {
    let scoped = ScopedPool::new(threads()).expect("ScopedPool starts");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(threads())
        .build()
        .expect("rayon pool starts");
    (scoped, rayon)
}

// ---- fib(30): the cost of a join itself --------------------------------------------------

/// Teaches: with no cutoff, almost all the work is join overhead (1.3 million joins of a few
/// nanoseconds each); a scheduler that charges for every join loses to sequential code.
fn fib_seq(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    fib_seq(n - 1) + fib_seq(n - 2)
}

fn fib_scoped(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = shoal_scope::join(|| fib_scoped(n - 1), || fib_scoped(n - 2));
    a + b
}

fn fib_rayon(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1), || fib_rayon(n - 2));
    a + b
}

fn fib(c: &mut Criterion) {
    let (scoped, rayon) = pools();
    let n = 30;
    assert_eq!(scoped.install(|| fib_scoped(n)), fib_seq(n));
    assert_eq!(rayon.install(|| fib_rayon(n)), fib_seq(n));
    let mut g = c.benchmark_group("fib30");
    g.bench_function("sequential", |b| b.iter(|| fib_seq(black_box(n))));
    g.bench_function("scoped", |b| {
        b.iter(|| scoped.install(|| fib_scoped(black_box(n))))
    });
    g.bench_function("rayon", |b| {
        b.iter(|| rayon.install(|| fib_rayon(black_box(n))))
    });
    g.finish();
}

// ---- binary tree sum: pointer chasing with a join per node ------------------------------

/// Teaches: a join per node of a heap-allocated tree; memory latency dominates, so the
/// scheduler's share is smaller than in fib but still paid a million times.
struct Node {
    value: u64,
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

fn build(depth: u32, next: &mut u64) -> Option<Box<Node>> {
    if depth == 0 {
        return None;
    }
    let left = build(depth - 1, next);
    *next += 1;
    let value = *next;
    let right = build(depth - 1, next);
    Some(Box::new(Node { value, left, right }))
}

fn sum_seq(node: &Option<Box<Node>>) -> u64 {
    match node {
        None => 0,
        Some(n) => n.value + sum_seq(&n.left) + sum_seq(&n.right),
    }
}

fn sum_scoped(node: &Option<Box<Node>>) -> u64 {
    match node {
        None => 0,
        Some(n) => {
            let (l, r) = shoal_scope::join(|| sum_scoped(&n.left), || sum_scoped(&n.right));
            n.value + l + r
        }
    }
}

fn sum_rayon(node: &Option<Box<Node>>) -> u64 {
    match node {
        None => 0,
        Some(n) => {
            let (l, r) = rayon::join(|| sum_rayon(&n.left), || sum_rayon(&n.right));
            n.value + l + r
        }
    }
}

fn tree(c: &mut Criterion) {
    let (scoped, rayon) = pools();
    // 2^20 - 1 nodes.
    let mut next = 0;
    let root = build(20, &mut next);
    let expected = sum_seq(&root);
    assert_eq!(scoped.install(|| sum_scoped(&root)), expected);
    assert_eq!(rayon.install(|| sum_rayon(&root)), expected);
    let mut g = c.benchmark_group("tree_sum_2^20");
    g.bench_function("sequential", |b| b.iter(|| sum_seq(black_box(&root))));
    g.bench_function("scoped", |b| {
        b.iter(|| scoped.install(|| sum_scoped(black_box(&root))))
    });
    g.bench_function("rayon", |b| {
        b.iter(|| rayon.install(|| sum_rayon(black_box(&root))))
    });
    g.finish();
}

// ---- hashing 4096 buffers of 16 KiB: coarse, independent work ----------------------------

/// Teaches: coarse jobs (microseconds each) measure parallel efficiency, not join cost:
/// the ideal is `sequential / threads`.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn hashing(c: &mut Criterion) {
    let (scoped, rayon) = pools();
    let buffers: Vec<Vec<u8>> = (0..4096u32)
        .map(|i| {
            (0..16 * 1024u32)
                .map(|j| (i.wrapping_mul(31).wrapping_add(j) % 251) as u8)
                .collect()
        })
        .collect();
    let expected: Vec<u64> = buffers.iter().map(|b| fnv1a(b)).collect();
    assert_eq!(scoped.par_map(&buffers, |b| fnv1a(b)), expected);
    let mut g = c.benchmark_group("hash_4096x16KiB");
    g.sample_size(10);
    g.bench_function("sequential", |b| {
        b.iter(|| {
            black_box(&buffers)
                .iter()
                .map(|b| fnv1a(b))
                .collect::<Vec<u64>>()
        })
    });
    g.bench_function("scoped", |b| {
        b.iter(|| scoped.par_map(black_box(&buffers), |b| fnv1a(b)))
    });
    g.bench_function("rayon", |b| {
        b.iter(|| {
            rayon.install(|| {
                black_box(&buffers)
                    .par_iter()
                    .map(|b| fnv1a(b))
                    .collect::<Vec<u64>>()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, fib, tree, hashing);
criterion_main!(benches);
