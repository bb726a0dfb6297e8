//! One program, every strategy: pick the pool by cargo feature or at run time.
//!
//! `shoal::Pool` is fixed at compile time (the first enabled of `steal`, `queue`, `scope`).
//! `shoal::Strategy` picks at run time and builds a `Box<dyn Executor>`, so the same binary
//! can run every strategy compiled into it, or the one named by `SHOAL_STRATEGY`:
//!
//! ```text
//! cargo run --release --example pick_by_feature                         # every enabled one
//! SHOAL_STRATEGY=queue cargo run --release --example pick_by_feature    # just one
//! cargo run --release --example pick_by_feature --no-default-features --features scope
//! ```

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{calibrate, cores, ms, spin, timed};
use shoal::{Executor, ExecutorExt, Shutdown, Strategy};

/// Spawns a binary tree of jobs from inside the pool, each parent joining its child.
fn tree(pool: &Arc<dyn Executor>, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let p = pool.clone();
    let right = pool.spawn(move || tree(&p, depth - 1)).expect("running");
    let left = tree(pool, depth - 1);
    left + right.join().expect("no panic")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let strategies: Vec<Strategy> = match std::env::var("SHOAL_STRATEGY") {
        Ok(_) => vec![Strategy::from_env("SHOAL_STRATEGY")?],
        Err(_) => Strategy::enabled().to_vec(),
    };
    let workers = cores();
    let iters = calibrate(Duration::from_micros(50));
    println!(
        "pick_by_feature: shoal::Pool runs {}; running {:?} with {workers} workers",
        Strategy::default().pool_name(),
        strategies.iter().map(|s| s.name()).collect::<Vec<_>>()
    );
    println!("(set SHOAL_STRATEGY=queue|steal|scope to pick one)\n");
    println!(
        "{:>8}  {:>22}  {:>22}  {:>22}",
        "strategy", "100k tiny jobs (outside)", "4k x 50us jobs via map", "2^12 nested spawn+join"
    );
    for strategy in strategies {
        // 1. Many tiny jobs submitted from outside; shutdown waits for all of them.
        let pool = strategy.build(workers)?;
        let (_, tiny) = timed(|| {
            for _ in 0..100_000 {
                pool.execute(Box::new(|| {
                    std::hint::black_box(1);
                }))
                .expect("running");
            }
            pool.shutdown(Shutdown::Graceful)
        });

        // 2. Coarse CPU jobs through the result queue.
        let pool = strategy.build(workers)?;
        let (_, coarse) = timed(|| {
            pool.map(0..4_000u64, move |_| spin(iters))
                .map(Result::unwrap)
                .fold(0, u64::wrapping_add)
        });
        pool.shutdown(Shutdown::Graceful);

        // 3. Jobs spawning and joining jobs from inside the pool.
        let pool: Arc<dyn Executor> = Arc::from(strategy.build(workers)?);
        let (leaves, nested) = timed(|| tree(&pool, 12));
        assert_eq!(leaves, 1 << 12);
        pool.shutdown(Shutdown::Graceful);

        println!(
            "{:>8}  {:>22}  {:>22}  {:>22}",
            strategy.name(),
            ms(tiny),
            ms(coarse),
            ms(nested)
        );
    }
    Ok(())
}
