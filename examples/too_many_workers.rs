//! Pitfall: too many workers cost memory and scheduling, and buy nothing for CPU-bound work.
//!
//! For each worker count: how long the pool takes to start, what the process then holds
//! (threads, resident memory, virtual memory: every thread reserves a stack), and how long
//! the same CPU-bound batch (2000 jobs of ~0.2 ms) takes. Throughput peaks near the core
//! count; past it, memory keeps growing and throughput does not (the knee).
//!
//! Run: `cargo run --release --example too_many_workers`

mod common;

use std::time::Duration;

use common::{calibrate, cores, ms, or_na, rss_mib, spin, threads, timed, virt_mib};
use shoal::{Executor, ExecutorExt, Pool, Shutdown};

const JOBS: u64 = 2000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = cores();
    let iters = calibrate(Duration::from_micros(200));
    println!(
        "too_many_workers: {JOBS} CPU jobs of ~0.2 ms on {cores} logical cores \
         (memory figures from /proc; n/a elsewhere)\n"
    );
    println!(
        "{:>8}  {:>10}  {:>8}  {:>9}  {:>10}  {:>10}  {:>12}",
        "workers", "start", "threads", "RSS MiB", "virt MiB", "batch", "jobs/s"
    );
    let mut best = (0usize, 0f64);
    let mut counts = vec![1, cores, 4 * cores, 64, 256, 1024];
    counts.sort_unstable();
    counts.dedup();
    for workers in counts {
        let (pool, start) = timed(|| Pool::new(workers));
        let pool = pool?;
        // Let every worker reach its idle loop before measuring memory.
        pool.map(0..workers as u64, |x| x)
            .map(Result::unwrap)
            .for_each(drop);
        let (threads, rss, virt) = (threads(), rss_mib(), virt_mib());
        let (_, batch) = timed(|| {
            pool.map(0..JOBS, move |_| spin(iters))
                .map(Result::unwrap)
                .fold(0, u64::wrapping_add)
        });
        pool.shutdown(Shutdown::Graceful);
        let rate = JOBS as f64 / batch.as_secs_f64();
        if rate > best.1 {
            best = (workers, rate);
        }
        println!(
            "{:>8}  {:>10}  {:>8}  {:>9}  {:>10}  {:>10}  {:>12.0}",
            workers,
            ms(start),
            threads.map_or("n/a".into(), |t| t.to_string()),
            or_na(rss, 1),
            or_na(virt, 0),
            ms(batch),
            rate
        );
    }
    println!(
        "\nbest throughput at {} workers; every extra thread still reserves a stack \
         (virtual memory) and costs start-up time and context switches.",
        best.0
    );
    Ok(())
}
