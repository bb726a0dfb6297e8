//! Pitfall: waiting inside a worker for work that no free worker can run (the nested-wait
//! deadlock), and how shoal's helping wait avoids it.
//!
//! A naive pool (built below in 30 lines: workers pulling from a shared channel) runs
//! "outer" jobs that each submit an "inner" job to the same pool and wait for its result.
//! With as many outer jobs as workers, every worker is blocked waiting, and the inner jobs sit
//! in the queue with nobody to run them: a deadlock. (The example waits with a timeout so it
//! ends.) In a shoal pool, `JoinHandle::join` from inside a worker runs queued jobs while it
//! waits, so the same program finishes, and so does deep recursive nesting.
//!
//! Run: `cargo run --release --example nested_wait`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shoal::{Executor, ExecutorExt, Pool, Shutdown};

const WORKERS: usize = 2;
const TIMEOUT: Duration = Duration::from_millis(500);

type Job = Box<dyn FnOnce() + Send>;

/// The textbook pool: N threads share one receiver. Nothing else.
struct NaivePool {
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl NaivePool {
    fn new(n: usize) -> NaivePool {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..n)
            .map(|_| {
                let receiver: Arc<Mutex<Receiver<Job>>> = receiver.clone();
                std::thread::spawn(move || loop {
                    let job = receiver.lock().unwrap().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // channel closed: shut down
                    }
                })
            })
            .collect();
        NaivePool {
            sender: Some(sender),
            workers,
        }
    }

    fn execute(&self, job: Job) {
        self.sender.as_ref().unwrap().send(job).unwrap();
    }

    /// What a job needs to submit more jobs. (Not an `Arc` of the pool: if a job held the
    /// last one, the pool would be dropped on a worker, which would then try to join itself.)
    fn submitter(&self) -> Sender<Job> {
        self.sender.clone().unwrap()
    }
}

impl Drop for NaivePool {
    fn drop(&mut self) {
        drop(self.sender.take()); // close the channel, or the workers wait forever
        for w in self.workers.drain(..) {
            w.join().unwrap();
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("nested_wait: {WORKERS} workers, {WORKERS} outer jobs, each waits for an inner job\n");

    // 1. The naive pool: every worker waits, nobody runs the inner jobs.
    let naive = NaivePool::new(WORKERS);
    let (done_tx, done_rx) = mpsc::channel();
    // Every outer job waits here until all of them run, so each holds a worker (as happens
    // whenever outer jobs arrive faster than inner ones finish).
    let all_busy = Arc::new(Barrier::new(WORKERS));
    // ... and none gives up its worker before all have timed out or got their answer.
    let all_decided = Arc::new(Barrier::new(WORKERS));
    let start = Instant::now();
    for outer in 0..WORKERS {
        let (submit, done) = (naive.submitter(), done_tx.clone());
        let (all_busy, all_decided) = (all_busy.clone(), all_decided.clone());
        naive.execute(Box::new(move || {
            all_busy.wait();
            let (tx, rx) = mpsc::channel();
            let _ = submit.send(Box::new(move || {
                let _ = tx.send(outer * 10);
            }));
            // The naive wait: block until the inner job answers (a timeout stands in for
            // "forever" so the example ends).
            let outcome = rx.recv_timeout(TIMEOUT);
            let _ = done.send(outcome);
            all_decided.wait();
        }));
    }
    let timed_out = (0..WORKERS)
        .map(|_| done_rx.recv().unwrap())
        .filter(|r| matches!(r, Err(RecvTimeoutError::Timeout)))
        .count();
    println!(
        "naive pool : {timed_out} of {WORKERS} outer jobs were still waiting after {TIMEOUT:?} \
         -> deadlock (every worker blocked, inner jobs queued behind them); gave up after {:?}",
        start.elapsed()
    );
    drop(done_tx);
    // The pool's drop closes its end of the channel and joins the workers; the inner jobs run
    // now that the outer ones gave up, and the channel closes when the last job is done.
    drop(naive);

    // 2. shoal: the same shape; join() inside a worker runs queued jobs while it waits.
    let pool = Arc::new(Pool::new(WORKERS)?);
    let all_busy = Arc::new(Barrier::new(WORKERS));
    let start = Instant::now();
    let outers: Vec<_> = (0..WORKERS)
        .map(|outer| {
            let (p, all_busy) = (pool.clone(), all_busy.clone());
            pool.spawn(move || {
                all_busy.wait();
                let inner = p.spawn(move || outer * 10).expect("running");
                inner.join().expect("no panic")
            })
        })
        .collect::<Result<_, _>>()?;
    let results: Vec<usize> = outers.into_iter().map(|h| h.join().unwrap()).collect();
    println!(
        "shoal pool : all {WORKERS} outer jobs finished in {:?}, results {results:?}",
        start.elapsed()
    );

    // 3. Deep nesting: a recursive job tree where every job waits for its two children.
    static SPAWNS: AtomicUsize = AtomicUsize::new(0);
    fn fib(pool: &Arc<Pool>, n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        SPAWNS.fetch_add(1, Ordering::Relaxed);
        let p = pool.clone();
        let a = pool.spawn(move || fib(&p, n - 1)).expect("running");
        let b = fib(pool, n - 2);
        a.join().expect("no panic") + b
    }
    let start = Instant::now();
    let p = pool.clone();
    let value = pool.spawn(move || fib(&p, 18))?.join().unwrap();
    println!(
        "shoal pool : fib(18) = {value} through {} nested spawn+join jobs on {WORKERS} workers \
         in {:?}, no deadlock",
        SPAWNS.load(Ordering::Relaxed),
        start.elapsed()
    );
    pool.shutdown(Shutdown::Graceful);
    Ok(())
}
