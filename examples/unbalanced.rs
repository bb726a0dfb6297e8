//! Where work stealing wins: uneven work, split recursively, balanced by idle workers
//! stealing.
//!
//! 4096 items; the first eighth are heavy (~300 us each), the rest light (~8 us). A static
//! split (one contiguous chunk per core, the way a hand-rolled thread loop divides work) puts
//! every heavy item in the first chunk: one core works while the others finish early and
//! idle. A pool that splits the range in halves recursively and lets idle workers take the
//! halves waiting to be processed keeps every core busy to the end.
//!
//! Run: `cargo run --release --example unbalanced` (needs the `steal` feature)

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{calibrate, cores, ms, spin, timed};
use shoal::{Executor, ExecutorExt, Shutdown, Strategy, WorkStealingPool};

const ITEMS: usize = 4096;
const GRAIN: usize = 16;

/// The cost of item `i`: heavy for the first eighth.
fn work(i: usize, heavy: u64, light: u64) -> u64 {
    spin(if i < ITEMS / 8 { heavy } else { light })
}

/// Processes `lo..hi`: small ranges directly, larger ones split in two, the right half
/// spawned as a job (which an idle worker may take), the left half done here.
fn split(pool: &Arc<dyn Executor>, lo: usize, hi: usize, heavy: u64, light: u64) -> u64 {
    if hi - lo <= GRAIN {
        return (lo..hi)
            .map(|i| work(i, heavy, light))
            .fold(0, u64::wrapping_add);
    }
    let mid = lo + (hi - lo) / 2;
    let p = pool.clone();
    let right = pool
        .spawn(move || split(&p, mid, hi, heavy, light))
        .expect("running");
    let left = split(pool, lo, mid, heavy, light);
    left.wrapping_add(right.join().expect("no panic"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = cores();
    let heavy = calibrate(Duration::from_micros(300));
    let light = calibrate(Duration::from_micros(8));
    println!(
        "unbalanced: {ITEMS} items, first {} heavy (~300 us), rest light (~8 us); {cores} cores\n",
        ITEMS / 8
    );

    let (_, sequential) = timed(|| {
        (0..ITEMS)
            .map(|i| work(i, heavy, light))
            .fold(0, u64::wrapping_add)
    });
    let ideal = sequential / cores as u32;
    let row = |name: &str, took: Duration, note: String| {
        println!(
            "{:>34}  {:>10}  {:>9.0}%  {note}",
            name,
            ms(took),
            100.0 * ideal.as_secs_f64() / took.as_secs_f64()
        );
    };
    println!("{:>34}  {:>10}  {:>10}", "", "time", "of ideal");
    row("sequential", sequential, String::new());

    // The hand-rolled static split: one contiguous chunk per core.
    let chunk = ITEMS.div_ceil(cores);
    let (busiest, static_split) = timed(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..cores)
                .map(|c| {
                    s.spawn(move || {
                        let t = std::time::Instant::now();
                        let end = ((c + 1) * chunk).min(ITEMS);
                        (c * chunk..end).for_each(|i| {
                            work(i, heavy, light);
                        });
                        t.elapsed()
                    })
                })
                .collect();
            let times: Vec<Duration> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            times
        })
    });
    row(
        &format!("static split, {cores} threads"),
        static_split,
        format!(
            "(chunk times: {})",
            busiest
                .iter()
                .map(|d| ms(*d))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );

    // Work stealing with recursive splitting.
    let steal = WorkStealingPool::new(cores)?;
    let steal: Arc<dyn Executor> = Arc::new(steal);
    let (_, took) = timed(|| split(&steal, 0, ITEMS, heavy, light));
    let m = steal.metrics();
    steal.shutdown(Shutdown::Graceful);
    row(
        "WorkStealingPool, recursive split",
        took,
        format!("({} jobs, {} steals)", m.completed, m.steals),
    );

    // The same recursive program on the other strategies compiled in.
    for strategy in Strategy::enabled()
        .iter()
        .filter(|s| **s != Strategy::Steal)
    {
        let pool: Arc<dyn Executor> = Arc::from(strategy.build(cores)?);
        let (_, took) = timed(|| split(&pool, 0, ITEMS, heavy, light));
        let m = pool.metrics();
        pool.shutdown(Shutdown::Graceful);
        row(
            &format!("{}, recursive split", strategy.pool_name()),
            took,
            format!("({} jobs)", m.completed),
        );
    }

    // One job per item through the result queue: balanced too, at one job per item.
    let pool = WorkStealingPool::new(cores)?;
    let (_, took) = timed(|| {
        pool.map(0..ITEMS, move |i| work(i, heavy, light))
            .map(Result::unwrap)
            .fold(0, u64::wrapping_add)
    });
    pool.shutdown(Shutdown::Graceful);
    row(
        "WorkStealingPool, one job per item",
        took,
        format!("({ITEMS} jobs)"),
    );
    println!(
        "\nthe static split waits for its busiest chunk; the pools hand out the work as workers \
         free up, so all cores finish together."
    );
    Ok(())
}
