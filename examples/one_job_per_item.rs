//! Pitfall: one job per tiny item. Each job costs a box, a queue slot, a handle and often a
//! wake-up (about a microsecond); when the item itself takes half a microsecond, the pool
//! spends most of its time handing work around and runs slower than a plain loop.
//!
//! The same 200,000 items of ~0.5 µs, on every strategy compiled in (two workers each):
//! a plain loop; one `spawn` per item, joined through its handle; one job per item through a
//! `scope`; `map` (the result queue, which hands items out in chunks and lets the caller
//! help); and `par_map` over the slice (split only when a worker is idle).
//!
//! Run: `cargo run --release --example one_job_per_item`

mod common;

use std::time::Duration;

use common::{calibrate, ms, spin, timed};
use shoal::{Executor, ExecutorExt, Shutdown, Strategy};

const ITEMS: u64 = 200_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iters = calibrate(Duration::from_nanos(500));
    let items: Vec<u64> = (0..ITEMS).collect();
    let work = move |x: &u64| spin(iters).wrapping_add(*x);
    let (expected, plain) = timed(|| items.iter().map(work).fold(0, u64::wrapping_add));
    println!("one_job_per_item: {ITEMS} items of ~0.5 µs, 2 workers\n");
    println!(
        "{:<8} {:<34} {:>10} {:>10}",
        "pool", "way", "time", "vs loop"
    );
    let row = |pool: &str, way: &str, time: Duration| {
        println!(
            "{pool:<8} {way:<34} {:>10} {:>9.2}x",
            ms(time),
            plain.as_secs_f64() / time.as_secs_f64()
        );
    };
    row("-", "a plain loop", plain);
    for strategy in Strategy::ALL.iter().copied().filter(|s| s.is_enabled()) {
        let pool: Box<dyn Executor> = strategy.build(2)?;
        let name = strategy.name();
        let (sum, t) = timed(|| {
            let handles: Vec<_> = items
                .iter()
                .map(|&x| pool.spawn(move || work(&x)).expect("running"))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .fold(0, u64::wrapping_add)
        });
        assert_eq!(sum, expected);
        row(name, "spawn per item + join handles", t);
        let (sum, t) = timed(|| {
            let mut out = vec![0u64; items.len()];
            pool.scope(|s| {
                for (slot, x) in out.iter_mut().zip(&items) {
                    s.spawn(move |_| *slot = work(x));
                }
            });
            out.into_iter().fold(0, u64::wrapping_add)
        });
        assert_eq!(sum, expected);
        row(name, "scope task per item", t);
        let (sum, t) = timed(|| {
            pool.map(items.clone(), move |x| work(&x))
                .map(|r| r.expect("no panic"))
                .fold(0, u64::wrapping_add)
        });
        assert_eq!(sum, expected);
        row(name, "map (chunks, the caller helps)", t);
        let (sum, t) = timed(|| {
            pool.par_map(&items, work)
                .into_iter()
                .fold(0, u64::wrapping_add)
        });
        assert_eq!(sum, expected);
        row(name, "par_map over the slice", t);
        pool.shutdown(Shutdown::Graceful);
    }
    println!(
        "\nOne job per tiny item is slower than the loop; map and par_map pay per chunk or per \
         split, not per item."
    );
    Ok(())
}
