//! Pitfall: too few workers leave cores idle.
//!
//! Two ways to get it wrong, measured by the CPU time the process used against the wall time
//! (CPU use 100% = every core busy for the whole run):
//! 1. CPU-bound jobs on fewer workers than cores: the other cores do nothing.
//! 2. Jobs that block (here: 8 ms waiting + 2 ms computing) on workers = cores: the workers
//!    spend most of their time waiting, so the cores idle although the queue is full. Such
//!    jobs need workers ≈ cores × (wait + compute) / compute.
//!
//! Run: `cargo run --release --example too_few_workers`

mod common;

use std::time::Duration;

use common::{calibrate, cores, cpu_time, ms, or_na, spin, timed};
use shoal::{Executor, ExecutorExt, Pool, Shutdown};

fn run(workers: usize, jobs: u64, job: impl Fn(u64) -> u64 + Send + Sync + 'static) -> String {
    let pool = Pool::new(workers).expect("pool");
    let cpu_before = cpu_time();
    let (_, wall) = timed(|| {
        pool.map(0..jobs, job)
            .map(Result::unwrap)
            .fold(0, u64::wrapping_add)
    });
    let cpu_after = cpu_time();
    pool.shutdown(Shutdown::Graceful);
    let use_pct = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => {
            Some(100.0 * (b - a).as_secs_f64() / (wall.as_secs_f64() * cores() as f64))
        }
        _ => None,
    };
    format!(
        "{:>8}  {:>10}  {:>8}%",
        workers,
        ms(wall),
        or_na(use_pct, 0)
    )
}

fn main() {
    let cores = cores();
    let cpu_2ms = calibrate(Duration::from_millis(2));
    let cpu_10ms = calibrate(Duration::from_millis(10));
    println!("too_few_workers: {cores} logical cores; CPU use = CPU time / (wall x cores)\n");

    println!("1. 48 CPU-bound jobs of 10 ms");
    println!("{:>8}  {:>10}  {:>9}", "workers", "time", "CPU use");
    for workers in [1, cores] {
        println!("{}", run(workers, 48, move |_| spin(cpu_10ms)));
    }

    println!("\n2. 120 jobs that wait 8 ms, then compute 2 ms");
    println!("{:>8}  {:>10}  {:>9}", "workers", "time", "CPU use");
    let job = move |_| {
        std::thread::sleep(Duration::from_millis(8));
        spin(cpu_2ms)
    };
    for workers in [cores, cores * 5, cores * 10] {
        println!("{}", run(workers, 120, job));
    }
    println!(
        "\nrule of thumb: CPU-bound -> workers = cores; blocking -> workers = cores x \
         (wait + compute) / compute (here {} x 10/2 = {})",
        cores,
        cores * 5
    );
}
