//! CPU-bound work: one worker per core is the right size.
//!
//! 16 jobs per core of about 5 ms of pure computation each, run sequentially, then on pools of 1,
//! `cores` and 4 × `cores` workers. With workers = cores the speedup approaches the core count
//! (parallel efficiency near 100%); more workers than cores cannot add CPU time, they only
//! add switching.
//!
//! Run: `cargo run --release --example cpu_bound`

mod common;

use std::time::Duration;

use common::{calibrate, cores, ms, spin, timed};
use shoal::{Executor, ExecutorExt, Pool, Shutdown};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = cores();
    let jobs = 16 * cores as u64;
    let iters = calibrate(Duration::from_millis(5));
    println!("cpu_bound: {jobs} jobs of ~5 ms CPU each; this machine has {cores} logical cores");
    println!("pool: {}\n", std::any::type_name::<Pool>());

    let (_, sequential) = timed(|| (0..jobs).map(|_| spin(iters)).fold(0, u64::wrapping_add));
    println!(
        "{:>22}  {:>10}  {:>8}  {:>10}",
        "", "time", "speedup", "efficiency"
    );
    println!(
        "{:>22}  {:>10}  {:>8}  {:>10}",
        "sequential",
        ms(sequential),
        "1.00x",
        "-"
    );

    for workers in [1, cores, 4 * cores] {
        let pool = Pool::new(workers)?;
        let (_, took) = timed(|| {
            pool.map(0..jobs, move |_| spin(iters))
                .map(Result::unwrap)
                .fold(0, u64::wrapping_add)
        });
        pool.shutdown(Shutdown::Graceful);
        let speedup = sequential.as_secs_f64() / took.as_secs_f64();
        // Efficiency: speedup per core the pool can actually use.
        let usable = workers.min(cores) as f64;
        println!(
            "{:>22}  {:>10}  {:>7.2}x  {:>9.0}%",
            format!("{workers} worker(s)"),
            ms(took),
            speedup,
            100.0 * speedup / usable
        );
    }
    println!(
        "\nworkers = cores gives the speedup; 4x more workers gives no more, because the \
         cores were already busy."
    );
    Ok(())
}
