//! The fork-join ratios, measured robustly on a busy machine: ScopedPool against rayon and
//! sequential code on the workloads of `benches/forkjoin.rs`, each round running every
//! contender once, back to back, and the minimum of all rounds kept per contender (the run
//! least disturbed by other processes).
//!
//! Run: `cargo run --release -p shoal-pool-scope --example ratios [rounds]` (default 15 rounds).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rayon::prelude::*;

#[path = "../benches/workloads/mod.rs"]
mod workloads;
use workloads::{buffers, build, fib, fib_seq, fnv1a, pools, sum, sum_seq, Rayon, Scoped};

fn time<R>(f: impl FnOnce() -> R) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

/// Minimum per contender over `rounds` rounds of (sequential, scoped, rayon).
fn measure(rounds: usize, mut round: impl FnMut() -> [Duration; 3]) -> [Duration; 3] {
    let mut best = [Duration::MAX; 3];
    for _ in 0..rounds {
        for (b, t) in best.iter_mut().zip(round()) {
            *b = (*b).min(t);
        }
    }
    best
}

fn report(name: &str, threads: usize, [seq, scoped, rayon]: [Duration; 3]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<28} sequential {:>8.2} ms   scoped {:>8.2} ms   rayon {:>8.2} ms   \
         scoped/rayon {:.2}   scoped/sequential {:.2}   efficiency scoped {:.0}% rayon {:.0}%",
        ms(seq),
        ms(scoped),
        ms(rayon),
        ms(scoped) / ms(rayon),
        ms(scoped) / ms(seq),
        100.0 * ms(seq) / (threads as f64 * ms(scoped)),
        100.0 * ms(seq) / (threads as f64 * ms(rayon)),
    );
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let threads = shoal_core::default_workers();
    let (scoped, rayon) = pools(threads);
    println!("{threads} threads each, minimum of {rounds} interleaved rounds");

    assert_eq!(scoped.install(|| fib::<Scoped>(30)), fib_seq(30));
    let fib30 = measure(rounds, || {
        [
            time(|| fib_seq(black_box(30))),
            time(|| scoped.install(|| fib::<Scoped>(black_box(30)))),
            time(|| rayon.install(|| fib::<Rayon>(black_box(30)))),
        ]
    });
    report("fib(30), no cutoff", threads, fib30);

    let root = build(20, &mut 0);
    assert_eq!(scoped.install(|| sum::<Scoped>(&root)), sum_seq(&root));
    let tree = measure(rounds, || {
        [
            time(|| sum_seq(&root)),
            time(|| scoped.install(|| sum::<Scoped>(&root))),
            time(|| rayon.install(|| sum::<Rayon>(&root))),
        ]
    });
    report("tree sum, 2^20 nodes", threads, tree);

    let buffers = buffers();
    let hash = measure(rounds, || {
        [
            time(|| buffers.iter().map(|b| fnv1a(b)).collect::<Vec<u64>>()),
            time(|| scoped.par_map(&buffers, |b| fnv1a(b))),
            time(|| rayon.install(|| buffers.par_iter().map(|b| fnv1a(b)).collect::<Vec<u64>>())),
        ]
    });
    report("hash 4096 x 16 KiB, par_map", threads, hash);
}
