//! `RateLimited` on a `ManualClock`: time moves only when a test moves it, so every assertion
//! is about counts, never about how long something took.

#[path = "common/bad_limits.rs"]
mod bad_limits;

use std::collections::VecDeque;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shoal_core::{
    Executor, Job, Metrics, RejectReason, Rejected, ResizeError, Shutdown, ShutdownReport,
};
use shoal_rate::{ManualClock, RateLimit, RateLimited};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use bad_limits::bad_limits;

const MS: Duration = Duration::from_millis(1);
const NS: Duration = Duration::from_nanos(1);

/// Runs `body` on its own thread and fails the test with a message if it has not finished
/// after 30 s (a hang means a lost wake-up).
fn watchdog(name: &str, body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        body();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => worker.join().expect("the test body panicked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(payload) = worker.join() {
                std::panic::resume_unwind(payload);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: still running after 30 s; a waiter was never woken")
        }
    }
}

/// Spins (yielding) until `cond` holds; the watchdog bounds it.
fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        std::thread::yield_now();
    }
}

/// What a test executor decides for itself: where a submitted job goes, and what shutdown
/// does. [`Stub`] makes an `Executor` of it.
trait Behaviour: Send + Sync {
    fn submit(&self, job: Job) -> Result<(), Rejected>;
    fn stop(&self) -> ShutdownReport;
}

/// An `Executor` made of a [`Behaviour`]: `execute` and `try_execute` both submit, it claims
/// one worker, `resize` does nothing, its metrics are all zero. Derefs to the behaviour.
#[derive(Default)]
struct Stub<B>(B);

impl<B> Deref for Stub<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.0
    }
}

impl<B: Behaviour> Executor for Stub<B> {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.0.submit(job)
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.0.submit(job)
    }
    fn workers(&self) -> usize {
        1
    }
    fn resize(&self, _: usize) -> Result<(), ResizeError> {
        Ok(())
    }
    fn shutdown(&self, _: Shutdown) -> ShutdownReport {
        self.0.stop()
    }
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}

/// Holds jobs until the test runs or drops them, so the test decides when each job finishes.
#[derive(Default)]
struct Held {
    jobs: Mutex<VecDeque<Job>>,
    refuse: Mutex<Option<RejectReason>>,
    shut: Mutex<bool>,
}

impl Held {
    fn len(&self) -> usize {
        lock(&self.jobs).len()
    }
    fn run_one(&self) {
        let job = lock(&self.jobs).pop_front().expect("a held job");
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
    fn drop_one(&self) {
        drop(lock(&self.jobs).pop_front().expect("a held job"));
    }
    fn refuse(&self, reason: Option<RejectReason>) {
        *lock(&self.refuse) = reason;
    }
}

impl Behaviour for Held {
    fn submit(&self, job: Job) -> Result<(), Rejected> {
        if *lock(&self.shut) {
            return Err(Rejected::new(RejectReason::ShutDown, job));
        }
        if let Some(reason) = *lock(&self.refuse) {
            return Err(Rejected::new(reason, job));
        }
        lock(&self.jobs).push_back(job);
        Ok(())
    }
    fn stop(&self) -> ShutdownReport {
        *lock(&self.shut) = true;
        ShutdownReport::default()
    }
}

/// An executor that holds jobs until the test runs or drops them.
fn held() -> Stub<Held> {
    Stub::default()
}

/// Runs every job on a new thread, joined at shutdown.
#[derive(Default)]
struct ThreadPerJob {
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    done: Arc<AtomicUsize>,
}

impl Behaviour for ThreadPerJob {
    fn submit(&self, job: Job) -> Result<(), Rejected> {
        let done = self.done.clone();
        let t = std::thread::spawn(move || {
            let _ = catch_unwind(AssertUnwindSafe(job));
            done.fetch_add(1, Ordering::SeqCst);
        });
        lock(&self.threads).push(t);
        Ok(())
    }
    fn stop(&self) -> ShutdownReport {
        loop {
            let batch: Vec<_> = lock(&self.threads).drain(..).collect();
            if batch.is_empty() {
                break;
            }
            for t in batch {
                let _ = t.join();
            }
        }
        let mut r = ShutdownReport::default();
        let n = self.done.load(Ordering::SeqCst) as u64;
        r.submitted = n;
        r.completed = n;
        r
    }
}

/// An executor that runs every job on a new thread, joined at shutdown.
fn thread_per_job() -> Stub<ThreadPerJob> {
    Stub::default()
}

fn limited<E: Executor>(inner: E, limit: RateLimit) -> (RateLimited<E>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let l = RateLimited::with_clock(inner, limit, clock.clone()).expect("valid limit");
    (l, clock)
}

fn noop() -> Job {
    Box::new(|| ())
}

/// Shuts `l` down gracefully; the report adds up and counts `n` jobs, all completed.
fn graceful_completes(l: &impl Executor, n: u64) {
    let report = l.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{report:?}");
    assert_eq!((report.submitted, report.completed), (n, n), "{report:?}");
}

/// A job that counts its runs in `counter`.
fn counting(counter: &Arc<AtomicUsize>) -> Job {
    let c = counter.clone();
    Box::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn bad_config_is_a_clear_error() {
    for (limit, kind) in bad_limits() {
        let err = RateLimited::new(held(), limit).unwrap_err();
        assert_eq!(err.kind(), kind);
        let text = err.to_string();
        assert!(text.starts_with("invalid rate limit: "), "{text}");
        assert!(
            text.contains("at least 1") || text.contains("above zero"),
            "{text}"
        );
    }
    assert!(RateLimit::per_second(1).validate().is_ok());
}

#[test]
fn burst_then_one_token_per_interval_exactly() {
    // 10 per second, burst 3: a token every 100 ms.
    let (l, clock) = limited(held(), RateLimit::per_second(10).burst(3));
    for _ in 0..3 {
        l.try_execute(noop()).expect("the burst");
    }
    assert!(l.try_execute(noop()).unwrap_err().is_full());
    clock.advance(100 * MS - NS);
    assert!(l.try_execute(noop()).unwrap_err().is_full(), "1 ns early");
    clock.advance(NS);
    l.try_execute(noop()).expect("exactly one interval later");
    assert!(l.try_execute(noop()).unwrap_err().is_full());
    assert_eq!(l.inner().len(), 4);
    assert_eq!(l.metrics().rejected, 3);
}

#[test]
fn idle_time_refills_at_most_burst() {
    let (l, clock) = limited(held(), RateLimit::per_second(10).burst(4));
    clock.advance(Duration::from_secs(3600));
    for _ in 0..4 {
        l.try_execute(noop()).expect("a full bucket");
    }
    assert!(l.try_execute(noop()).unwrap_err().is_full());
}

#[test]
fn fractional_rates_are_exact() {
    // 3 per second: a token every 333_333_333.3 ns, so the first refill lands at
    // 333_333_334 ns.
    let (l, clock) = limited(held(), RateLimit::per_second(3));
    l.try_execute(noop()).expect("the initial token");
    clock.advance(Duration::from_nanos(333_333_333));
    assert!(l.try_execute(noop()).is_err());
    clock.advance(NS);
    l.try_execute(noop()).expect("333_333_334 ns");

    // With room for a second's worth of tokens, every simulated second releases exactly 3:
    // no rounding drift, however long it runs.
    let (l, clock) = limited(held(), RateLimit::per_second(3).burst(3));
    while l.try_execute(noop()).is_ok() {}
    let mut released = 0;
    for _ in 0..1000 {
        clock.advance(Duration::from_secs(1));
        while l.try_execute(noop()).is_ok() {
            released += 1;
        }
    }
    assert_eq!(released, 3000);
}

#[test]
fn achieved_rate_matches_configured_rate() {
    // 7 per 2 s with a burst of 5: over any window of T, at most 5 + 3.5/s × T releases,
    // and a limiter kept busy achieves exactly that.
    let limit = RateLimit::per(7, Duration::from_secs(2)).burst(5);
    let (l, clock) = limited(held(), limit);
    let mut released_at = Vec::new();
    for step in 0..=20_000u64 {
        let now = Duration::from_millis(step);
        while l.try_execute(noop()).is_ok() {
            released_at.push(now);
        }
        clock.advance(MS);
    }
    // 20 s at 3.5/s, plus the initial burst of 5.
    assert_eq!(released_at.len(), 5 + 70);
    for (i, start) in released_at.iter().enumerate() {
        for (j, end) in released_at.iter().enumerate().skip(i) {
            let window = (*end - *start).as_nanos();
            let allowed = 5 + (window * 7 / 2_000_000_000);
            let n = (j - i + 1) as u128;
            assert!(n <= allowed, "{n} releases in {window} ns");
        }
    }
}

#[test]
fn in_flight_cap_holds_and_frees_on_finish() {
    let (l, _clock) = limited(held(), RateLimit::per_second(1).burst(10).max_in_flight(2));
    l.try_execute(noop()).unwrap();
    l.try_execute(noop()).unwrap();
    assert_eq!(l.in_flight(), 2);
    assert!(
        l.try_execute(noop()).unwrap_err().is_full(),
        "the cap, not the bucket"
    );
    l.inner().run_one();
    assert_eq!(l.in_flight(), 1);
    l.try_execute(noop()).expect("a slot was freed");
    // A refusal for lack of a slot took no token: 10 - 3 remain.
    l.inner().run_one();
    l.inner().run_one();
    for _ in 0..7 {
        l.try_execute(noop()).unwrap();
        l.inner().run_one();
    }
    assert!(l.try_execute(noop()).unwrap_err().is_full());
}

#[test]
fn panicking_and_cancelled_jobs_free_their_slots() {
    let (l, _clock) = limited(held(), RateLimit::per_second(1).burst(10).max_in_flight(1));
    l.try_execute(Box::new(|| panic!("boom"))).unwrap();
    assert_eq!(l.in_flight(), 1);
    l.inner().run_one();
    assert_eq!(l.in_flight(), 0, "a panicking job frees its slot");
    l.try_execute(noop()).unwrap();
    l.inner().drop_one();
    assert_eq!(l.in_flight(), 0, "a job dropped unrun frees its slot");
}

#[test]
fn refused_by_inner_hands_back_the_original_job_and_refunds() {
    let (l, _clock) = limited(held(), RateLimit::per_second(1).max_in_flight(1));
    let runs = Arc::new(AtomicUsize::new(0));
    l.inner().refuse(Some(RejectReason::Full));
    let rejected = l.try_execute(counting(&runs)).unwrap_err();
    assert!(rejected.is_full());
    assert_eq!(l.in_flight(), 0, "slot freed");
    rejected.into_job()();
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the original job came back");
    l.inner().refuse(None);
    l.try_execute(noop()).expect("the token was refunded");
}

#[test]
fn execute_waits_for_a_token() {
    watchdog("execute_waits_for_a_token", || {
        let (l, clock) = limited(held(), RateLimit::per_second(10));
        let l = Arc::new(l);
        l.execute(noop()).expect("the initial token");
        let runs = Arc::new(AtomicUsize::new(0));
        let submitter = {
            let (l, job) = (l.clone(), counting(&runs));
            std::thread::spawn(move || l.execute(job).is_ok())
        };
        until(|| l.waiting() == 1);
        assert_eq!(l.inner().len(), 1, "held back: no token yet");
        clock.advance(100 * MS);
        assert!(submitter.join().unwrap());
        assert_eq!(l.inner().len(), 2);
        assert_eq!(l.waiting(), 0);
    });
}

#[test]
fn execute_waits_for_a_slot() {
    watchdog("execute_waits_for_a_slot", || {
        let (l, _clock) = limited(held(), RateLimit::per_second(1).burst(5).max_in_flight(1));
        let l = Arc::new(l);
        l.execute(noop()).unwrap();
        let submitter = {
            let l = l.clone();
            std::thread::spawn(move || l.execute(noop()).is_ok())
        };
        until(|| l.waiting() == 1);
        assert_eq!(l.inner().len(), 1);
        l.inner().run_one();
        assert!(submitter.join().unwrap());
        assert_eq!(l.in_flight(), 1);
    });
}

#[test]
fn shutdown_hands_back_held_jobs_and_counts_them() {
    watchdog("shutdown_hands_back_held_jobs_and_counts_them", || {
        let (l, _clock) = limited(held(), RateLimit::per_second(1));
        let l = Arc::new(l);
        l.execute(noop()).unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..2)
            .map(|_| {
                let (l, job) = (l.clone(), counting(&runs));
                std::thread::spawn(move || l.execute(job))
            })
            .collect();
        until(|| l.waiting() == 2);
        l.shutdown(Shutdown::Graceful);
        for s in submitters {
            let rejected = s.join().unwrap().unwrap_err();
            assert!(rejected.is_shutdown());
            rejected.into_job()();
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "both held jobs came back whole"
        );
        assert_eq!(l.refused_at_shutdown(), 2);
        assert_eq!(l.metrics().rejected, 2);
        let late = l.try_execute(noop()).unwrap_err();
        assert!(late.is_shutdown());
        assert!(l.execute(noop()).unwrap_err().is_shutdown());
    });
}

#[test]
fn nested_submit_with_every_slot_taken_runs_inline() {
    watchdog("nested_submit_with_every_slot_taken_runs_inline", || {
        let (l, _clock) = limited(
            thread_per_job(),
            RateLimit::per_second(1).burst(2).max_in_flight(1),
        );
        let l = Arc::new(l);
        let (tx, rx) = mpsc::channel();
        let outer = {
            let l2 = l.clone();
            Box::new(move || {
                let tx = tx.clone();
                // Our own slot is the only one: the child runs inline, on this thread.
                let here = std::thread::current().id();
                l2.execute(Box::new(move || {
                    tx.send(std::thread::current().id() == here).unwrap();
                }))
                .unwrap();
            })
        };
        l.execute(outer).unwrap();
        assert!(
            rx.recv().unwrap(),
            "the child ran inline on the parent's thread"
        );
        graceful_completes(&*l, 2);
    });
}

#[test]
fn real_clock_releases_everything() {
    watchdog("real_clock_releases_everything", || {
        let l = RateLimited::new(
            thread_per_job(),
            RateLimit::per_second(2000).burst(10).max_in_flight(4),
        )
        .unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        for _ in 0..40 {
            l.execute(counting(&runs)).unwrap();
        }
        graceful_completes(&l, 40);
        assert_eq!(runs.load(Ordering::SeqCst), 40);
        assert_eq!(l.in_flight(), 0);
    });
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
