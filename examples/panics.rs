//! Panics inside jobs: the worker survives, the handle reports the panic with its message,
//! the pool counts it, and the builder's `panic_handler` sees it.
//!
//! Run: `cargo run --release --example panics`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use shoal::{panic_message, Executor, ExecutorExt, Pool, Shutdown, TaskError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The default hook prints every panic to stderr; this example reports them itself.
    std::panic::set_hook(Box::new(|_| {}));

    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let pool = Pool::builder()
        .workers(2)
        .panic_handler(move |payload| {
            let msg = panic_message(payload)
                .unwrap_or("<not a string>")
                .to_owned();
            log.lock().unwrap().push(msg);
        })
        .build()?;

    println!("panics: 2 workers, 12 jobs, every third one panics\n");
    let handles: Vec<_> = (0..12u32)
        .map(|i| {
            pool.spawn(move || {
                if i % 3 == 2 {
                    panic!("job {i} failed: bad input");
                }
                i * i
            })
        })
        .collect::<Result<_, _>>()?;
    for (i, handle) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(v) => println!("  job {i:>2}: Ok({v})"),
            Err(TaskError::Panicked(payload)) => println!(
                "  job {i:>2}: Err(Panicked) -> {:?}",
                payload.message().unwrap_or("?")
            ),
            Err(other) => println!("  job {i:>2}: Err({other})"),
        }
    }

    // The workers are all still there: run 1000 more jobs.
    let ok = Arc::new(AtomicUsize::new(0));
    for _ in 0..1000 {
        let ok = ok.clone();
        pool.execute(Box::new(move || {
            ok.fetch_add(1, Ordering::SeqCst);
        }))?;
    }
    let m = pool.metrics();
    let report = pool.shutdown(Shutdown::Graceful);
    println!();
    println!("workers after the panics : {}", m.workers);
    println!("1000 later jobs ran      : {}", ok.load(Ordering::SeqCst));
    let seen = seen.lock().unwrap().clone();
    println!(
        "panic_handler saw        : {} panics, e.g. {:?}",
        seen.len(),
        seen.first()
    );
    println!(
        "report                   : completed {}, panicked {}, submitted {}, adds up: {}",
        report.completed,
        report.panicked,
        report.submitted,
        report.adds_up()
    );
    Ok(())
}
