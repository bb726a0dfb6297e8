//! loom models of the life cycle every pool shares (`shoal_core::lifecycle`), checked once for
//! every strategy over the smallest pool that has one: a `Mutex<VecDeque>` queue, a condition
//! variable, workers that hold an `ExitGuard`. Each pool's own models then check only its
//! mechanics (sealing, stealing, latches).
//!
//! Run: `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --target-dir target/loom -p shoal-core --test loom`
#![cfg(shoal_loom)]

use std::collections::VecDeque;

use shoal_core::lifecycle::{Lifecycle, Mechanics};
use shoal_core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use shoal_core::sync::{lock, thread, Arc, Condvar, Mutex};
use shoal_core::{Metrics, Shutdown, ShutdownReport};

/// The smallest pool: jobs are numbers, "running" one counts it completed.
struct Mini {
    queue: Mutex<VecDeque<u32>>,
    /// Signalled when a job is queued, or the state changes.
    cv: Condvar,
    closed: AtomicBool,
    cancel: AtomicBool,
    submitted: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    life: Lifecycle,
}

impl Mini {
    fn new() -> Arc<Mini> {
        Arc::new(Mini {
            queue: Mutex::new(VecDeque::new()),
            cv: Condvar::new(),
            closed: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            submitted: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            life: Lifecycle::new(),
        })
    }

    /// Queues a job unless intake is closed (checked under the queue lock, as `close` sets it).
    fn submit(&self, job: u32) -> bool {
        let mut queue = lock(&self.queue);
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        queue.push_back(job);
        self.submitted.fetch_add(1, Ordering::SeqCst);
        drop(queue);
        self.cv.notify_one();
        true
    }

    fn start(this: &Arc<Mini>, workers: usize) {
        let mut starter = this.life.starter().expect("running");
        for _ in 0..workers {
            let pool = this.clone();
            starter
                .start(|index| Ok(thread::spawn(move || Mini::work(&pool, index))))
                .expect("start");
        }
    }

    /// A worker: runs jobs until intake is closed and the queue is empty.
    fn work(this: &Arc<Mini>, index: usize) {
        let _exit = this.life.exit_guard(&**this, index);
        let mut queue = lock(&this.queue);
        loop {
            if let Some(_job) = queue.pop_front() {
                if this.cancel.load(Ordering::SeqCst) {
                    this.cancelled.fetch_add(1, Ordering::SeqCst);
                } else {
                    this.completed.fetch_add(1, Ordering::SeqCst);
                }
                continue;
            }
            if this.closed.load(Ordering::SeqCst) {
                return;
            }
            queue = this.cv.wait(queue).unwrap();
        }
    }
}

impl Mechanics for Mini {
    fn id(&self) -> usize {
        self as *const Mini as usize
    }

    fn close(&self, cancel: bool) {
        let _queue = lock(&self.queue);
        self.closed.store(true, Ordering::SeqCst);
        if cancel {
            self.cancel.store(true, Ordering::SeqCst);
        }
    }

    fn cancel_queued(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        let drained = std::mem::take(&mut *lock(&self.queue));
        self.cancelled
            .fetch_add(drained.len() as u64, Ordering::SeqCst);
    }

    fn wake_all(&self, _alive: usize) {
        let _queue = lock(&self.queue);
        self.cv.notify_all();
    }

    fn metrics(&self, workers: usize) -> Metrics {
        let mut m = Metrics::default();
        m.workers = workers;
        m.submitted = self.submitted.load(Ordering::SeqCst);
        m.completed = self.completed.load(Ordering::SeqCst);
        m.cancelled = self.cancelled.load(Ordering::SeqCst);
        m
    }
}

fn final_report(report: &ShutdownReport, submitted: u64) {
    assert!(report.adds_up(), "{report:?}");
    assert_eq!(report.still_running, 0, "a final report: {report:?}");
    assert_eq!(report.submitted, submitted, "{report:?}");
}

/// Two threads shut the pool down at once while its worker drains the queue: both get the final
/// report, and it is the same report (written once, by whoever made the last change).
#[test]
fn concurrent_shutdowns_get_one_final_report() {
    loom::model(|| {
        let pool = Mini::new();
        Mini::start(&pool, 1);
        assert!(pool.submit(1));
        let other = {
            let pool = pool.clone();
            thread::spawn(move || pool.life.shutdown(&*pool, Shutdown::Graceful))
        };
        let mine = pool.life.shutdown(&*pool, Shutdown::Graceful);
        let theirs = other.join().unwrap();
        final_report(&mine, 1);
        assert_eq!(mine.completed, 1, "graceful runs what was queued: {mine:?}");
        assert_eq!(
            (mine.completed, mine.cancelled, mine.elapsed),
            (theirs.completed, theirs.cancelled, theirs.elapsed),
            "every caller gets the one report"
        );
    });
}

/// `Shutdown::Now` cancels while the last worker exits: the report waits for the cancelling
/// call, so no job it took shows as still running, and each job is counted once.
#[test]
fn cancel_races_the_last_exit() {
    loom::model(|| {
        let pool = Mini::new();
        Mini::start(&pool, 1);
        assert!(pool.submit(1));
        assert!(pool.submit(2));
        let report = pool.life.shutdown(&*pool, Shutdown::Now);
        final_report(&report, 2);
        assert_eq!(report.completed + report.cancelled, 2, "{report:?}");
        assert_eq!(pool.life.alive(), 0, "every worker exited");
    });
}

/// A submission racing a shutdown is either refused or accounted for in the final report.
#[test]
fn submit_races_shutdown() {
    loom::model(|| {
        let pool = Mini::new();
        Mini::start(&pool, 1);
        let submitter = {
            let pool = pool.clone();
            thread::spawn(move || pool.submit(7))
        };
        let report = pool.life.shutdown(&*pool, Shutdown::Graceful);
        let accepted = submitter.join().unwrap();
        final_report(&report, u64::from(accepted));
        assert_eq!(report.completed, u64::from(accepted), "{report:?}");
    });
}
