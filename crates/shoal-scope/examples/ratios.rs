//! The fork-join ratios, measured robustly on a busy machine: ScopedPool against rayon and
//! sequential code on the workloads of `benches/forkjoin.rs`, each round running every
//! contender once, back to back, and the minimum of all rounds kept per contender (the run
//! least disturbed by other processes).
//!
//! Run: `cargo run --release -p shoal-scope --example ratios [rounds]` (default 15 rounds).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use shoal_scope::ScopedPool;

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

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

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
    let scoped = ScopedPool::new(threads).expect("ScopedPool starts");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon starts");
    println!("{threads} threads each, minimum of {rounds} interleaved rounds");

    assert_eq!(scoped.install(|| fib_scoped(30)), fib_seq(30));
    let fib = measure(rounds, || {
        [
            time(|| fib_seq(black_box(30))),
            time(|| scoped.install(|| fib_scoped(black_box(30)))),
            time(|| rayon.install(|| fib_rayon(black_box(30)))),
        ]
    });
    report("fib(30), no cutoff", threads, fib);

    let mut next = 0;
    let root = build(20, &mut next);
    assert_eq!(scoped.install(|| sum_scoped(&root)), sum_seq(&root));
    let tree = measure(rounds, || {
        [
            time(|| sum_seq(&root)),
            time(|| scoped.install(|| sum_scoped(&root))),
            time(|| rayon.install(|| sum_rayon(&root))),
        ]
    });
    report("tree sum, 2^20 nodes", threads, tree);

    let buffers: Vec<Vec<u8>> = (0..4096u32)
        .map(|i| {
            (0..16 * 1024u32)
                .map(|j| (i.wrapping_mul(31).wrapping_add(j) % 251) as u8)
                .collect()
        })
        .collect();
    let hash = measure(rounds, || {
        [
            time(|| buffers.iter().map(|b| fnv1a(b)).collect::<Vec<u64>>()),
            time(|| scoped.par_map(&buffers, |b| fnv1a(b))),
            time(|| rayon.install(|| buffers.par_iter().map(|b| fnv1a(b)).collect::<Vec<u64>>())),
        ]
    });
    report("hash 4096 x 16 KiB, par_map", threads, hash);
}
