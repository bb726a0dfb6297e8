//! Memory: what a queued job and a worker cost in heap bytes, and proof that a bounded queue
//! keeps memory flat while producers outrun the workers.
//!
//! A counting global allocator ([`CountingAlloc`]) sees every heap byte the process requests
//! (not the allocator's own rounding, not thread stacks, which are mapped, not allocated).
//! Measurements share that one counter, so the tests of this file take a lock and run one at
//! a time. Run with `--nocapture` to see the figures:
//!
//! ```text
//! cargo test --release -p shoal-reliability --test memory -- --nocapture
//! ```
#![cfg(not(any(shoal_shuttle, shoal_loom)))]

use std::hint::black_box;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use shoal_core::{Executor, ExecutorExt, Shutdown};
use shoal_reliability::{with_capacity, CountingAlloc, Gate, PoolConfig, Strategy};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// One measurement at a time: the counter is process-wide.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn pool(kind: Strategy, spec: PoolConfig) -> Arc<dyn Executor> {
    Arc::from(kind.build(&spec).expect("build"))
}

/// Heap bytes per job waiting in the queue: `n` jobs (each a boxed closure capturing one
/// `u64`, 8 bytes) queued behind a worker blocked at a gate.
fn bytes_per_queued_job(kind: Strategy, capacity: Option<usize>, n: usize) -> f64 {
    let p = pool(kind, with_capacity(PoolConfig::new().workers(1), capacity));
    let gate = Gate::new();
    let opener = gate.hold(&*p, 1, Duration::from_secs(30));
    let before = ALLOC.current();
    for i in 0..n as u64 {
        p.execute(Box::new(move || {
            black_box(i);
        }))
        .unwrap();
    }
    let after = ALLOC.current();
    drop(opener);
    assert_eq!(p.shutdown(Shutdown::Graceful).completed, n as u64 + 1);
    (after - before) as f64 / n as f64
}

/// Heap bytes per spawned job whose `JoinHandle` is kept: the queued job plus its result slot.
fn bytes_per_spawned_job(kind: Strategy, n: usize) -> f64 {
    let p = pool(kind, PoolConfig::new().workers(1));
    let gate = Gate::new();
    let opener = gate.hold(&*p, 1, Duration::from_secs(30));
    let mut handles = Vec::with_capacity(n);
    let before = ALLOC.current();
    for i in 0..n as u64 {
        handles.push(p.spawn(move || i).unwrap());
    }
    let after = ALLOC.current();
    drop(opener);
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, (n as u64 - 1) * n as u64 / 2);
    // The handles' vector was reserved before the measurement.
    (after - before) as f64 / n as f64
}

/// Heap bytes per worker: a pool of `1 + extra` workers against one of 1, both warmed up by
/// running jobs on every worker (thread-local state is allocated lazily).
fn bytes_per_worker(kind: Strategy, extra: usize) -> f64 {
    let measure = |workers: usize| {
        let before = ALLOC.current();
        let p = pool(kind, PoolConfig::new().workers(workers));
        // Keep every worker busy at once, so each one has run a job.
        drop(Gate::new().hold(&*p, workers, Duration::from_secs(30)));
        let _: Vec<_> = p.map(0..workers * 8, |x| x).collect();
        let held = ALLOC.current() - before;
        p.shutdown(Shutdown::Graceful);
        drop(p);
        held
    };
    // Twice each, keeping the second: process-wide lazies (std's thread bookkeeping, the
    // crossbeam-epoch collector) are allocated by the first pool ever built.
    measure(1);
    let one = measure(1);
    measure(1 + extra);
    let many = measure(1 + extra);
    (many - one) as f64 / extra as f64
}

fn report_costs(kind: Strategy) {
    let _one_at_a_time = exclusive();
    let n = 100_000;
    let unbounded = bytes_per_queued_job(kind, None, n);
    let bounded = bytes_per_queued_job(kind, Some(n), n);
    let spawned = bytes_per_spawned_job(kind, n);
    let worker = bytes_per_worker(kind, 32);
    eprintln!(
        "memory [{kind}]: {unbounded:.1} B per queued job (unbounded), {bounded:.1} B (bounded, \
         after build), {spawned:.1} B per spawned job with its handle, {worker:.0} B heap per \
         worker (+ its stack: std's default 2 MiB mapped, touched pages only)"
    );
    // Sanity bounds, far above the figures measured, so they hold on any platform: a queued
    // 8-byte job must not cost more than a few cache lines, a worker not more than 64 KiB.
    assert!(
        (8.0..256.0).contains(&unbounded),
        "{kind}: {unbounded} B/job unbounded"
    );
    assert!(bounded < 256.0, "{kind}: {bounded} B/job bounded");
    assert!(spawned < 512.0, "{kind}: {spawned} B/spawned job");
    assert!(worker < 64.0 * 1024.0, "{kind}: {worker} B/worker");
}

/// Bytes a bounded queue reserves at build, per slot of capacity.
fn reserved_per_slot(kind: Strategy) -> f64 {
    let capacity = 1 << 16;
    let before = ALLOC.current();
    let p = pool(kind, PoolConfig::new().workers(1).queue_capacity(capacity));
    let with = ALLOC.current() - before;
    drop(p);
    let before = ALLOC.current();
    let p = pool(kind, PoolConfig::new().workers(1));
    let without = ALLOC.current() - before;
    drop(p);
    (with - without) as f64 / capacity as f64
}

/// Four producers submit far faster than one slow worker runs; with a bounded queue of 64 the
/// heap must stay flat (the producers wait in `execute`), whatever the number of jobs; with
/// an unbounded queue it grows with the backlog, which shows the measurement can see growth.
fn flat_while_producers_outrun(kind: Strategy) {
    let _one_at_a_time = exclusive();
    let per_producer = 20_000usize;
    let run = |capacity: Option<usize>| -> isize {
        let p = pool(kind, with_capacity(PoolConfig::new().workers(1), capacity));
        let baseline = ALLOC.current();
        ALLOC.reset_peak();
        let producers: Vec<_> = (0..4)
            .map(|_| {
                let p = p.clone();
                thread::spawn(move || {
                    for i in 0..per_producer as u64 {
                        // A slow job: the worker falls behind at once.
                        p.execute(Box::new(move || {
                            let mut x = i;
                            for _ in 0..200 {
                                x = black_box(x.wrapping_mul(31).wrapping_add(7));
                            }
                            black_box(x);
                        }))
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in producers {
            t.join().unwrap();
        }
        let peak = ALLOC.peak() - baseline;
        let report = p.shutdown(Shutdown::Graceful);
        assert_eq!(report.completed, 4 * per_producer as u64);
        peak
    };
    let bounded = run(Some(64));
    let unbounded = run(None);
    eprintln!(
        "memory [{kind}]: peak heap growth with {} jobs from 4 producers: {bounded} B with a \
         bounded queue of 64, {unbounded} B unbounded; {:.1} B per slot reserved at build by a \
         bounded queue",
        4 * per_producer,
        reserved_per_slot(kind)
    );
    // Flat: 64 queued jobs, 4 in the producers' hands, 1 running, thread start-up for the
    // producers; far less than the 80,000 jobs' worth an unbounded queue holds at its peak.
    assert!(
        bounded < 256 * 1024,
        "{kind}: a bounded queue of 64 let the heap grow by {bounded} B"
    );
    assert!(
        unbounded > 4 * bounded,
        "{kind}: the measurement should see an unbounded backlog ({unbounded} B vs {bounded} B)"
    );
}

/// A long soak of the same: memory after many rounds is what it was after the first (no leak
/// per job or per round).
fn no_growth_over_rounds(kind: Strategy) {
    let _one_at_a_time = exclusive();
    let p = pool(kind, PoolConfig::new().workers(2).queue_capacity(128));
    let round = |p: &Arc<dyn Executor>| {
        let handles: Vec<_> = (0..2_000u64).map(|i| p.spawn(move || i).unwrap()).collect();
        for h in handles {
            h.join().unwrap();
        }
        let _: u64 = p.map(0..2_000u64, |x| x).map(Result::unwrap).sum();
    };
    for _ in 0..3 {
        round(&p);
    }
    let after_warmup = ALLOC.current();
    for _ in 0..30 {
        round(&p);
    }
    let after = ALLOC.current();
    let grown = after - after_warmup;
    eprintln!("memory [{kind}]: heap change over 30 rounds of 4,000 jobs: {grown} B");
    assert!(
        grown < 64 * 1024,
        "{kind}: heap grew by {grown} B over 30 identical rounds (a leak?)"
    );
    drop(p);
}

/// `map` and `map_unordered` over an endless input keep the heap flat: after the window
/// filled, consuming ten times as many results again grows the peak by no more than a
/// window's worth of items. Each item carries a 1 KiB buffer, so a map that pulled its input
/// ahead of its window, or kept finished results, would show at once.
fn endless_map_stays_flat(kind: Strategy) {
    let _one_at_a_time = exclusive();
    let p = pool(kind, PoolConfig::new().workers(2));
    const ITEM: usize = 1024;
    let endless = || (0u64..).map(|i| vec![i as u8; ITEM]);
    let work = |v: Vec<u8>| v.iter().map(|&b| u64::from(b)).sum::<u64>();
    for ordered in [true, false] {
        let mut results: Box<dyn Iterator<Item = u64>> = if ordered {
            Box::new(p.map(endless(), work).map(Result::unwrap))
        } else {
            Box::new(p.map_unordered(endless(), work).map(Result::unwrap))
        };
        // Warm up: the window fills and the chunk size settles.
        let _: u64 = results.by_ref().take(20_000).sum();
        ALLOC.reset_peak();
        let warm = ALLOC.current();
        let _: u64 = results.by_ref().take(200_000).sum();
        let peak_growth = ALLOC.peak() - warm;
        let which = if ordered { "map" } else { "map_unordered" };
        eprintln!(
            "memory [{kind}]: {which} over an endless input of 1 KiB items: peak grew by \
             {peak_growth} B over 200,000 more results"
        );
        // The default window is at most 4 x workers chunks of at most 1024 items.
        let window_bytes = (4 * 2 * 1024 * (ITEM + 64)) as isize;
        assert!(
            peak_growth < window_bytes,
            "{kind}: {which}'s peak heap grew by {peak_growth} B over 200,000 results of an \
             endless input (a window holds at most {window_bytes} B)"
        );
        drop(results);
    }
    p.shutdown(Shutdown::Graceful);
}

shoal_reliability::every_strategy_guarded!(
    std::time::Duration::from_secs(300);
    report_costs,
    flat_while_producers_outrun,
    no_growth_over_rounds,
    endless_map_stays_flat
);

/// The allocator counts: a known allocation shows up.
#[test]
fn counting_allocator_counts() {
    let _one_at_a_time = exclusive();
    // `total` only grows: a worker of an earlier test freeing memory meanwhile (which made
    // a `current` difference come out short) cannot hide this allocation.
    let before = ALLOC.total();
    let v: Vec<u8> = Vec::with_capacity(1 << 20);
    let during = ALLOC.total();
    drop(black_box(v));
    assert!(during - before >= 1 << 20);
}
