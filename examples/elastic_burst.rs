//! An elastic pool under bursts: how many threads it starts, how soon it is back at `min`
//! after the load stops, and what it costs while idle.
//!
//! Two bursts of 10,000 jobs on `Sizing::elastic(1, 64)` with a 1 s `keep_alive`: tiny jobs
//! (the one worker clears them within an interval, so no thread should start) and jobs that
//! block for 1 ms (the pool should grow, to at most 64, and shrink back to 1 within
//! `keep_alive` + 1 s of the last job). Then the process's CPU time over 3 idle seconds.
//!
//! Run: `cargo run --release --example elastic_burst`

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cpu_time;
use shoal::{Executor, ExecutorExt, Pool, Sizing};

const BURST: usize = 10_000;
const MAX: usize = 64;
const KEEP_ALIVE: Duration = Duration::from_secs(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Arc::new(AtomicUsize::new(0));
    let pool = {
        let started = started.clone();
        Pool::builder()
            .sizing(Sizing::elastic(1, MAX).keep_alive(KEEP_ALIVE))
            .on_thread_start(move || {
                started.fetch_add(1, Ordering::Relaxed);
            })
            .build()?
    };
    println!("elastic(1, {MAX}), keep_alive {KEEP_ALIVE:?}: {BURST} jobs per burst\n");
    for (name, job) in [
        ("tiny jobs (~1 µs)", Duration::ZERO),
        ("blocking jobs (1 ms)", Duration::from_millis(1)),
    ] {
        let before = started.load(Ordering::Relaxed);
        let t = Instant::now();
        let peak = Arc::new(AtomicUsize::new(0));
        for _ in 0..BURST {
            let peak = peak.clone();
            pool.execute(Box::new(move || {
                if !job.is_zero() {
                    std::thread::sleep(job);
                }
                if let Some(w) = shoal::current_worker() {
                    peak.fetch_max(w.index() + 1, Ordering::Relaxed);
                }
            }))?;
        }
        pool.wait_idle()?;
        let burst = t.elapsed();
        let threads = started.load(Ordering::Relaxed) - before;
        let t = Instant::now();
        while pool.workers() > 1 || pool.metrics().workers > 1 {
            std::thread::sleep(Duration::from_millis(10));
            if t.elapsed() > KEEP_ALIVE * 10 {
                break;
            }
        }
        println!(
            "{name:<22} ran in {:>8.1} ms; threads started {threads:>3} (max {MAX}); \
             highest worker index used {:>3}; back at 1 worker {:>6.0} ms after the last job \
             (keep_alive {} ms)",
            burst.as_secs_f64() * 1e3,
            peak.load(Ordering::Relaxed),
            t.elapsed().as_secs_f64() * 1e3,
            KEEP_ALIVE.as_millis()
        );
    }
    let idle = Duration::from_secs(3);
    match (cpu_time(), {
        std::thread::sleep(idle);
        cpu_time()
    }) {
        (Some(a), Some(b)) => println!(
            "\nidle afterwards: {:.2}% of a core over {idle:?} (the whole process)",
            (b - a).as_secs_f64() / idle.as_secs_f64() * 100.0
        ),
        _ => println!("\nidle CPU: n/a (no /proc)"),
    }
    let m = pool.metrics();
    if let Some(s) = m.sizing {
        println!(
            "decisions: {} grows, {} shrinks; last: {}",
            s.grown,
            s.shrunk,
            s.last.map(|d| d.to_string()).unwrap_or_default()
        );
    }
    Ok(())
}
