//! A program that depends on shoal the way the README says, outside shoal's workspace.
//!
//! It runs every Rust example of the README (compiled in by build.rs), then checks that
//! shoal's errors travel with `?` into the boxed error types programs use. Any failure exits
//! non-zero with the error.

use std::error::Error;

use shoal::{Executor, ExecutorExt, Pool, RateLimit, RateLimited, Shutdown, Strategy, TaskError};

/// A README example's `main`.
type Example = fn() -> Result<(), Box<dyn Error>>;

include!(concat!(env!("OUT_DIR"), "/readme.rs"));

fn main() -> Result<(), Box<dyn Error>> {
    for &(name, runs, example) in README_EXAMPLES {
        if runs {
            example().map_err(|err| format!("README example {name}: {err}"))?;
            println!("{name}: ran");
        } else {
            println!("{name}: compiled (no_run)");
        }
    }
    errors_are_send_sync().map_err(|err| -> Box<dyn Error> { err })?;
    println!("errors: every shoal error converts into Box<dyn Error + Send + Sync> with ?");
    errors_into_anyhow()?;
    println!("errors: and into anyhow::Error, keeping the job and the panic message");
    awaited_under_tokio()?;
    println!("async: 1,000 handles awaited on a 2-thread tokio runtime");
    operations()?;
    println!("operations: hooks, current_worker, broadcast, wait_idle, cancel, join, par_map");
    println!("downstream: all checks passed");
    Ok(())
}

/// `?` turns every shoal error into `Box<dyn Error + Send + Sync>`, the type threads and async
/// tasks can hand on. (Each call here succeeds; what is checked is that it compiles.)
fn errors_are_send_sync() -> Result<(), Box<dyn Error + Send + Sync>> {
    let pool = Pool::builder()
        .workers(2)
        .thread_name("downstream")
        .build()?; // BuildError
    let strategy: Strategy = "queue".parse()?; // StrategyError
    let other = strategy.build(1)?; // StrategyError
    pool.resize(3)?; // ResizeError
    pool.execute(Box::new(|| ()))?; // Rejected
    assert_eq!(pool.spawn(|| 6 * 7)?.join()?, 42); // Rejected, TaskError
    pool.wait_idle()?; // WaitIdleError
    assert_eq!(pool.broadcast(|_| 1)?.len(), 3); // BroadcastError
    let limited = RateLimited::new(other, RateLimit::per_second(1000))?; // RateLimitError
    assert!(limited.shutdown(Shutdown::Graceful).adds_up());
    assert!(pool.shutdown(Shutdown::Graceful).adds_up());
    Ok(())
}

/// The same errors go into `anyhow::Error`, and what went wrong comes back intact: a refused
/// job whole, a panic's message.
fn errors_into_anyhow() -> anyhow::Result<()> {
    let pool = Pool::new(1)?;
    assert_eq!(pool.spawn(|| 6 * 7)?.join()?, 42);

    // The panic is deliberate: keep the default hook from printing it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let joined = pool.spawn(|| -> u32 { panic!("deliberate") })?.join();
    std::panic::set_hook(default_hook);
    match joined {
        Err(err @ TaskError::Panicked(_)) => {
            let err = anyhow::Error::new(err);
            assert!(
                err.to_string().contains("deliberate"),
                "the panic message is lost: {err}"
            );
        }
        other => anyhow::bail!("expected a panic, got {other:?}"),
    }

    pool.shutdown(Shutdown::Graceful);
    let (tx, rx) = std::sync::mpsc::channel();
    let refused = pool
        .execute(Box::new(move || tx.send("ran").expect("receiver alive")))
        .expect_err("a pool that shut down refuses jobs");
    let err = anyhow::Error::new(refused);
    println!("refused as expected: {err}");
    let refused = err
        .downcast::<shoal::Rejected>()
        .map_err(|_| anyhow::anyhow!("the error is a Rejected"))?;
    (refused.into_job())(); // handed back whole: it still runs
    assert_eq!(rx.recv()?, "ran");
    Ok(())
}

/// CPU work offloaded from async code: the handles are futures, so no runtime thread blocks.
fn awaited_under_tokio() -> Result<(), Box<dyn Error>> {
    let pool = std::sync::Arc::new(Pool::new(2)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let total = runtime.block_on(async {
        let mut sum = 0u64;
        for i in 0..1_000u64 {
            sum += pool.spawn(move || i * 2)?.await?;
        }
        Ok::<u64, Box<dyn Error + Send + Sync>>(sum)
    });
    let total = total.map_err(|err| -> Box<dyn Error> { err })?;
    assert_eq!(total, 999_000);
    pool.shutdown(Shutdown::Graceful);
    Ok(())
}

/// The settings and operations users of rayon, tokio and threadpool look for.
fn operations() -> Result<(), Box<dyn Error>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let pool = Pool::builder()
        .workers(2)
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()?;
    let indices: Vec<usize> = pool
        .broadcast(|worker| worker.index())?
        .into_iter()
        .collect::<Result<_, _>>()?;
    assert_eq!(indices, [0, 1]);
    let inside = pool.spawn(shoal::current_worker)?.join()?;
    assert!(inside.is_some_and(|w| w.index() < 2));
    let handle = pool.spawn(|| 5)?;
    let _ = handle.cancel(); // cancelled if still queued, else it runs: either way it ends
    let _ = handle.join();
    let data: Vec<u64> = (1..=1000).collect();
    let (a, b) = pool.join(
        || data[..500].iter().sum::<u64>(),
        || data[500..].iter().sum::<u64>(),
    );
    assert_eq!(a + b, 500_500);
    assert_eq!(
        pool.par_map(&data, |x| x * 2).iter().sum::<u64>(),
        1_001_000
    );
    pool.wait_idle()?;
    assert!(pool.shutdown(Shutdown::Graceful).adds_up());
    assert_eq!(
        started.load(Ordering::SeqCst),
        2,
        "one start hook per worker"
    );
    assert_eq!(
        stopped.load(Ordering::SeqCst),
        2,
        "one stop hook per worker"
    );
    Ok(())
}
