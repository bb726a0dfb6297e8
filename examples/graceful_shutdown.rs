//! Shutdown: `Graceful` finishes the work, `Now` cancels what is queued, `Deadline` is
//! graceful until a deadline. In every mode the report adds up:
//! `completed + panicked + cancelled + still_running == submitted`.
//!
//! Each pool gets 2 workers and 20 jobs of 40 ms (400 ms of work in all), then is shut down
//! at once with one of the modes. A job submitted after shutdown began is handed back.
//!
//! Run: `cargo run --release --example graceful_shutdown`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shoal::{Executor, ExecutorExt, Pool, Shutdown, TaskError};

const JOBS: usize = 20;
const JOB: Duration = Duration::from_millis(40);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("graceful_shutdown: 2 workers, {JOBS} jobs of {JOB:?} each, then shutdown\n");
    println!(
        "{:>20}  {:>9}  {:>9}  {:>9}  {:>13}  {:>9}  {:>8}",
        "mode", "completed", "cancelled", "panicked", "still_running", "elapsed", "adds up"
    );
    for mode in [
        Shutdown::Graceful,
        Shutdown::Now,
        Shutdown::Deadline(Duration::from_millis(100)),
    ] {
        let pool = Pool::new(2)?;
        let started = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..JOBS)
            .map(|_| {
                let started = started.clone();
                pool.spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(JOB);
                })
            })
            .collect::<Result<_, _>>()?;
        // Shut down once both workers are busy, so each mode meets running and queued jobs.
        while started.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        let report = pool.shutdown(mode);
        println!(
            "{:>20}  {:>9}  {:>9}  {:>9}  {:>13}  {:>9}  {:>8}",
            format!("{mode:?}"),
            report.completed,
            report.cancelled,
            report.panicked,
            report.still_running,
            format!("{:.0} ms", report.elapsed.as_secs_f64() * 1e3),
            report.adds_up()
        );
        // Every handle has an answer: the value, or Cancelled.
        let cancelled = handles
            .into_iter()
            .map(|h| h.join())
            .filter(|r| matches!(r, Err(TaskError::Cancelled)))
            .count();
        assert_eq!(cancelled as u64, report.cancelled);

        // Intake is closed: a late job comes back with the reason, unrun.
        let late = pool.execute(Box::new(|| println!("never printed")));
        if let Err(rejected) = late {
            assert!(rejected.is_shutdown());
            let _job_is_ours_again = rejected.into_job();
        }
    }
    println!(
        "\nGraceful ran all {JOBS} ({} ms of work on 2 workers); Now let the 2 running jobs \
         finish and cancelled the queue; Deadline ran what fit in 100 ms, cancelled the queue \
         and returned on time, leaving the 2 running jobs to finish on their own.",
        JOBS as u64 * JOB.as_millis() as u64
    );

    // Dropping a pool is a graceful shutdown: the queued jobs still run.
    let ran = Arc::new(AtomicUsize::new(0));
    {
        let pool = Pool::new(2)?;
        for _ in 0..10 {
            let ran = ran.clone();
            pool.execute(Box::new(move || {
                std::thread::sleep(Duration::from_millis(5));
                ran.fetch_add(1, Ordering::SeqCst);
            }))?;
        }
    } // <- drop: waits for all 10
    println!(
        "dropped a pool with 10 queued jobs: {} of 10 ran",
        ran.load(Ordering::SeqCst)
    );
    Ok(())
}
