//! Fork-join workloads: ScopedPool against rayon and sequential code, in one run.
//!
//! Run: `cargo bench -p shoal-pool-scope --bench forkjoin -- --warm-up-time 1 --measurement-time 3`
//!
//! Both pools get the same number of threads (the logical CPUs). Each group has a sequential
//! baseline, so the ratios `scoped / rayon` and `scoped / sequential` come from one run.
//! Criterion samples one contender at a time, so on a machine shared with other work the
//! ratios drift with the load; `examples/ratios.rs` runs the same workloads interleaved and
//! keeps the least disturbed round of each (the numbers in the crate docs come from it).
//! The workloads themselves, and what each teaches, are in `workloads/mod.rs`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rayon::prelude::*;

mod workloads;
use workloads::{buffers, build, fib, fib_seq, fnv1a, pools, sum, sum_seq, Rayon, Scoped};

fn fib30(c: &mut Criterion) {
    let (scoped, rayon) = pools(shoal_core::default_workers());
    let n = 30;
    assert_eq!(scoped.install(|| fib::<Scoped>(n)), fib_seq(n));
    assert_eq!(rayon.install(|| fib::<Rayon>(n)), fib_seq(n));
    let mut g = c.benchmark_group("fib30");
    g.bench_function("sequential", |b| b.iter(|| fib_seq(black_box(n))));
    g.bench_function("scoped", |b| {
        b.iter(|| scoped.install(|| fib::<Scoped>(black_box(n))))
    });
    g.bench_function("rayon", |b| {
        b.iter(|| rayon.install(|| fib::<Rayon>(black_box(n))))
    });
    g.finish();
}

fn tree(c: &mut Criterion) {
    let (scoped, rayon) = pools(shoal_core::default_workers());
    // 2^20 - 1 nodes.
    let root = build(20, &mut 0);
    let expected = sum_seq(&root);
    assert_eq!(scoped.install(|| sum::<Scoped>(&root)), expected);
    assert_eq!(rayon.install(|| sum::<Rayon>(&root)), expected);
    let mut g = c.benchmark_group("tree_sum_2^20");
    g.bench_function("sequential", |b| b.iter(|| sum_seq(black_box(&root))));
    g.bench_function("scoped", |b| {
        b.iter(|| scoped.install(|| sum::<Scoped>(black_box(&root))))
    });
    g.bench_function("rayon", |b| {
        b.iter(|| rayon.install(|| sum::<Rayon>(black_box(&root))))
    });
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let (scoped, rayon) = pools(shoal_core::default_workers());
    let buffers = buffers();
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

criterion_group!(benches, fib30, tree, hashing);
criterion_main!(benches);
