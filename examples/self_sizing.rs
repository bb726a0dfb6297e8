//! Self-sizing pools against a backend that slows down when overloaded.
//!
//! The backend serves 8 requests at once in 2 ms each; with more in flight every request
//! slows in proportion (a database or a service past its capacity). The right pool size is
//! the knee: 8 workers. Fewer leave throughput on the table; more only add latency. A fixed
//! pool must be told; `Sizing::elastic` grows while requests wait (and overshoots: it cannot
//! see the backend); `Sizing::adaptive` measures the time per request and holds at the knee.
//!
//! Run: `cargo run --release --example self_sizing`

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use shoal::{Executor, ExecutorExt, Pool, Shutdown, Sizing};

const REQUESTS: usize = 6000;
const CAPACITY: usize = 8;
const SERVICE: Duration = Duration::from_millis(2);

/// The backend: `CAPACITY` requests at once in `SERVICE`; past that, slower in proportion.
struct Backend {
    in_flight: Mutex<usize>,
    changed: Condvar,
}

impl Backend {
    fn call(&self) -> usize {
        let n = {
            let mut n = self.in_flight.lock().unwrap();
            *n += 1;
            *n
        };
        let slowdown = (n as f64 / CAPACITY as f64).max(1.0);
        thread::sleep(SERVICE.mul_f64(slowdown));
        *self.in_flight.lock().unwrap() -= 1;
        self.changed.notify_all();
        n
    }
}

fn run(name: &str, pool: Pool, backend: &Arc<Backend>) {
    let started = Instant::now();
    let calls = {
        let backend = backend.clone();
        pool.map(0..REQUESTS, move |_| {
            let t = Instant::now();
            backend.call();
            t.elapsed()
        })
    };
    let mut latencies: Vec<Duration> = calls.map(|r| r.expect("a call")).collect();
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    let m = pool.metrics();
    let sizing = m
        .sizing
        .map(|s| {
            format!(
                "{} grows, {} shrinks; last: {}",
                s.grown,
                s.shrunk,
                s.last.map(|d| d.to_string()).unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "fixed".into());
    println!(
        "{name:<22} {:>7.0} req/s  p99 {:>6.1} ms  ends at {:>3} workers  ({sizing})",
        REQUESTS as f64 / secs,
        p99.as_secs_f64() * 1e3,
        pool.workers(),
    );
    pool.shutdown(Shutdown::Graceful);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = Arc::new(Backend {
        in_flight: Mutex::new(0),
        changed: Condvar::new(),
    });
    println!(
        "{REQUESTS} requests to a backend serving {CAPACITY} at once in {} ms each\n",
        SERVICE.as_millis()
    );
    for workers in [2, CAPACITY, 64] {
        let pool = Pool::new(workers)?;
        run(&format!("fixed {workers}"), pool, &backend);
    }
    let elastic = Pool::builder().sizing(Sizing::elastic(1, 128)).build()?;
    run("elastic (1..=128)", elastic, &backend);
    let adaptive = Pool::builder()
        .sizing(Sizing::adaptive(1, 128).on_decision(|d| {
            if std::env::var_os("SHOAL_TRACE").is_some() {
                eprintln!("  adaptive: {d}");
            }
        }))
        .build()?;
    run("adaptive (1..=128)", adaptive, &backend);
    println!(
        "\nThe best fixed count is the backend's capacity; adaptive finds it without being \
         told (SHOAL_TRACE=1 prints each decision)."
    );
    Ok(())
}
