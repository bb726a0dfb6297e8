//! IO-bound work: many more workers than cores.
//!
//! 200 jobs that each wait 10 ms (a stand-in for a network or disk call: the thread sleeps,
//! the CPU is free). A worker that waits holds no core, so the right worker count is set by
//! how many waits should overlap, not by the core count. Results come back through `map`, in
//! input order, with a bounded number of jobs in flight.
//!
//! Run: `cargo run --release --example io_bound`

mod common;

use std::time::Duration;

use common::{cores, ms, timed};
use shoal::{Executor, ExecutorExt, Pool, Shutdown};

const JOBS: u32 = 200;
const WAIT: Duration = Duration::from_millis(10);

/// A simulated request: waits, then returns a response for `id`.
fn fetch(id: u32) -> u32 {
    std::thread::sleep(WAIT);
    id * 2
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = cores();
    println!("io_bound: {JOBS} jobs that each wait {WAIT:?}; {cores} logical cores\n");
    println!(
        "{:>8}  {:>10}  {:>10}  {:>12}",
        "workers", "time", "ideal", "% of ideal"
    );
    for workers in [cores, 20, 50, 200] {
        let pool = Pool::new(workers)?;
        let (responses, took) = timed(|| {
            pool.map(0..JOBS, fetch)
                .collect::<Result<Vec<u32>, _>>()
                .expect("no job panics")
        });
        assert_eq!(responses, (0..JOBS).map(|i| i * 2).collect::<Vec<_>>());
        pool.shutdown(Shutdown::Graceful);
        // Ideal: the jobs split into rounds of `workers` waits each.
        let rounds = JOBS.div_ceil(workers as u32);
        let ideal = WAIT * rounds;
        println!(
            "{:>8}  {:>10}  {:>10}  {:>11.0}%",
            workers,
            ms(took),
            ms(ideal),
            100.0 * ideal.as_secs_f64() / took.as_secs_f64()
        );
    }
    println!(
        "\nwith workers = cores the waits run {cores} at a time; with 200 workers all of them \
         overlap and the whole batch takes about one wait."
    );
    Ok(())
}
