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
    println!("errors: BuildError, StrategyError, ResizeError, RateLimitError convert into Box<dyn Error + Send + Sync>");
    job_errors()?;
    println!("errors: Rejected, TaskError convert into Box<dyn Error> and keep the job and the panic message");
    println!("downstream: all checks passed");
    Ok(())
}

/// `?` turns these errors into `Box<dyn Error + Send + Sync>`, the type threads and async
/// tasks can hand on. (Each call here succeeds; what is checked is that it compiles.)
fn errors_are_send_sync() -> Result<(), Box<dyn Error + Send + Sync>> {
    let pool = Pool::builder()
        .workers(2)
        .thread_name("downstream")
        .build()?; // BuildError
    let strategy: Strategy = "queue".parse()?; // StrategyError
    let other = strategy.build(1)?; // StrategyError
    pool.resize(3)?; // ResizeError
    let limited = RateLimited::new(other, RateLimit::per_second(1000))?; // RateLimitError
    assert!(limited.shutdown(Shutdown::Graceful).adds_up());
    assert!(pool.shutdown(Shutdown::Graceful).adds_up());
    Ok(())
}

/// The errors that carry a job or a panic payload (`Rejected`, `TaskError`) are not `Sync` yet:
/// they go into a plain `Box<dyn Error>`. When they are, move them to `errors_are_send_sync`.
/// They bring what went wrong back intact: a refused job whole, a panic's message.
fn job_errors() -> Result<(), Box<dyn Error>> {
    let pool = Pool::new(1)?;
    pool.execute(Box::new(|| ()))?; // Rejected
    assert_eq!(pool.spawn(|| 6 * 7)?.join()?, 42); // Rejected, TaskError

    // The panic is deliberate: keep the default hook from printing it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let joined = pool.spawn(|| -> u32 { panic!("deliberate") })?.join();
    std::panic::set_hook(default_hook);
    match joined {
        Err(err @ TaskError::Panicked(_)) => {
            let boxed: Box<dyn Error> = Box::new(err);
            assert!(
                boxed.to_string().contains("deliberate"),
                "the panic message is lost: {boxed}"
            );
        }
        other => return Err(format!("expected a panic, got {other:?}").into()),
    }

    pool.shutdown(Shutdown::Graceful);
    let (tx, rx) = std::sync::mpsc::channel();
    let refused = pool
        .execute(Box::new(move || tx.send("ran").expect("receiver alive")))
        .expect_err("a pool that shut down refuses jobs");
    let boxed: Box<dyn Error> = Box::new(refused);
    println!("refused as expected: {boxed}");
    let refused = boxed
        .downcast::<shoal::Rejected>()
        .map_err(|_| "the boxed error is a Rejected")?;
    (refused.into_job())(); // handed back whole: it still runs
    assert_eq!(rx.recv()?, "ran");
    Ok(())
}
