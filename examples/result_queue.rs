//! The result queue: `map` (input order) and `map_unordered` (finish order), with a bounded
//! window of items in flight.
//!
//! The classic worker-pool pattern sends jobs in on one queue and reads results from another.
//! In shoal that is one call: `pool.map(items, f)` is an iterator of results, one per item.
//! Items travel to the workers in chunks sized to run for tens of microseconds (one item per
//! job when items are slow), the calling thread runs chunks itself while it waits, and at most
//! `window` items are in flight (default: 2 × workers chunks), so mapping over a million items
//! never queues a million closures.
//!
//! Run: `cargo run --release --example result_queue`

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{ms, or_na, rss_mib, timed};
use shoal::{Executor, ExecutorExt, Pool, Shutdown};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = Pool::new(4)?;

    // Item i takes (8 - i) × 5 ms: the first items finish last.
    let slow_first = |i: u64| {
        std::thread::sleep(Duration::from_millis((8 - i) * 5));
        i
    };
    let ordered: Vec<u64> = pool.map(0..8u64, slow_first).map(Result::unwrap).collect();
    let unordered: Vec<u64> = pool
        .map_unordered(0..8u64, slow_first)
        .map(Result::unwrap)
        .collect();
    println!("result_queue: 8 items, item i takes (8 - i) x 5 ms, 4 workers");
    println!("  map           yields {ordered:?}   (input order)");
    println!("  map_unordered yields {unordered:?}   (finish order)");

    // The window (in items): count the items running at once.
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (l, p) = (live.clone(), peak.clone());
    let sum: u64 = pool
        .map(0..200u64, move |x| {
            let now = l.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(300));
            l.fetch_sub(1, Ordering::SeqCst);
            x
        })
        .window(3)
        .map(Result::unwrap)
        .sum();
    println!(
        "\n  window(3): sum {sum}, at most {} items running at once",
        peak.load(Ordering::SeqCst)
    );

    // Many small items: handed out a window at a time, in chunks, so memory stays flat however
    // long the input and the cost per item stays small.
    let rss_before = rss_mib();
    let (total, took) = timed(|| {
        pool.map(0..200_000u64, |x| x % 7)
            .map(Result::unwrap)
            .sum::<u64>()
    });
    println!(
        "  200,000 items: sum {total} in {} ({:.0} items/s), at most {} chunks in flight \
         (2 x workers); resident memory {} -> {} MiB",
        ms(took),
        2e5 / took.as_secs_f64(),
        2 * pool.workers(),
        or_na(rss_before, 1),
        or_na(rss_mib(), 1),
    );

    // Errors come back per item, in place. (Silence the default panic message on stderr.)
    std::panic::set_hook(Box::new(|_| {}));
    let results: Vec<Result<u32, String>> = pool
        .map(0..5u32, |x| {
            if x == 2 {
                panic!("item {x} failed")
            }
            x
        })
        .map(|r| r.map_err(|e| e.to_string()))
        .collect();
    println!("\n  a panicking item keeps its slot in the output:");
    for (i, r) in results.iter().enumerate() {
        println!("    item {i}: {r:?}");
    }
    // Out of order, `indexed` says which input a result belongs to.
    let failed: Vec<usize> = pool
        .map_unordered(
            0..5u32,
            |x| if x == 3 { panic!("item 3 failed") } else { x },
        )
        .indexed()
        .filter(|(_, r)| r.is_err())
        .map(|(position, _)| position)
        .collect();
    println!("  map_unordered(..).indexed(): the failed item was input {failed:?}");
    pool.shutdown(Shutdown::Graceful);
    Ok(())
}
