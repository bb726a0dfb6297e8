//! Rate limiting: at most R job starts per second, bursts of B, at most C in flight.
//!
//! `RateLimited` wraps any pool. Here: 50 jobs per second, bursts of 10, at most 3 jobs in
//! flight, over a pool of 4 workers. 110 jobs are submitted with `execute`, which waits for a
//! token, so the submitting loop itself is paced. The example records when each job started
//! and prints the achieved rate next to the configured one, and the most jobs it saw in flight.
//!
//! Run: `cargo run --release --example rate_limit`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shoal::{Executor, Pool, RateLimit, RateLimited, Shutdown};

const RATE: u32 = 50;
const BURST: u32 = 10;
const IN_FLIGHT: usize = 3;
const JOBS: usize = 110;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit = RateLimit::per_second(RATE)
        .burst(BURST)
        .max_in_flight(IN_FLIGHT);
    let limited = RateLimited::new(Pool::new(4)?, limit)?;
    println!(
        "rate_limit: {JOBS} jobs through RateLimit::per_second({RATE}).burst({BURST})\
         .max_in_flight({IN_FLIGHT}) over a 4-worker pool\n"
    );

    let origin = Instant::now();
    let starts = Arc::new(Mutex::new(Vec::with_capacity(JOBS)));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    for _ in 0..JOBS {
        let (starts, running, peak) = (starts.clone(), running.clone(), peak.clone());
        limited.execute(Box::new(move || {
            starts.lock().unwrap().push(origin.elapsed());
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5)); // the "request"
            running.fetch_sub(1, Ordering::SeqCst);
        }))?;
    }
    let report = limited.shutdown(Shutdown::Graceful);
    let mut starts = starts.lock().unwrap().clone();
    starts.sort();

    let burst_done = starts[BURST as usize - 1];
    let first_paced = starts[BURST as usize];
    let last = *starts.last().unwrap();
    // The burst empties the bucket at t = 0; from then on tokens drip in at RATE per second,
    // so the paced jobs should take (JOBS - BURST) / RATE seconds.
    let paced = (JOBS - BURST as usize) as f64;
    let achieved = paced / last.as_secs_f64();
    println!(
        "first {BURST} jobs (the burst) started within {:?}",
        burst_done
    );
    println!(
        "job {} (first paced) started at {:?}",
        BURST + 1,
        first_paced
    );
    println!("job {JOBS} started at {last:?}");
    println!();
    println!("configured rate      : {RATE} jobs/s");
    println!("achieved after burst  : {achieved:.2} jobs/s");
    println!(
        "overall              : {:.2} jobs/s over {:?} (burst + rate x time: {:.0} allowed)",
        JOBS as f64 / last.as_secs_f64(),
        last,
        BURST as f64 + RATE as f64 * last.as_secs_f64()
    );
    println!(
        "most jobs in flight  : {} (cap {IN_FLIGHT})",
        peak.load(Ordering::SeqCst)
    );
    println!(
        "report               : {} completed of {} submitted",
        report.completed, report.submitted
    );

    // try_execute never waits: without a token it hands the job back as Full.
    let limited = RateLimited::new(Pool::new(2)?, RateLimit::per_second(RATE).burst(BURST))?;
    let (mut accepted, mut full) = (0, 0);
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        match limited.try_execute(Box::new(|| ())) {
            Ok(()) => accepted += 1,
            Err(rejected) if rejected.is_full() => {
                full += 1;
                drop(rejected.into_job()); // ours to retry or drop, knowingly
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(other) => return Err(other.into()),
        }
    }
    println!(
        "\ntry_execute for 200 ms: {accepted} accepted (allowed: burst {BURST} + {RATE}/s x \
         0.2 s = {}), {full} handed back as Full",
        BURST + RATE / 5
    );
    Ok(())
}
