//! The chunked result queue against three small executors: a real pool of threads, one that
//! queues jobs and never runs them (the caller must do all the work), and one that refuses.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::sizing::MAX_CHUNK;
use crate::error::{RejectReason, Rejected, ResizeError, TaskError};
use crate::executor::Executor;
use crate::ext::ExecutorExt;
use crate::job::{Job, PanicHandler};
use crate::metrics::{Counters, Event, Metrics};
use crate::shutdown::{Shutdown, ShutdownReport};
use crate::worker::{cancel_job, run_job};

/// Silences the panic hook for the expected panics of these tests (the test harness still
/// reports failures: they fail through `assert!` after the hook is restored or in other
/// threads, which print normally only when the message is not one of ours).
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let expected =
                crate::panic_message(info.payload()).is_some_and(|m| m.starts_with("map test:"));
            if !expected {
                previous(info);
            }
        }));
    });
}

/// `n` threads on one channel; every job runs through `run_job`, as in a real pool.
struct TestPool {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    counters: Arc<Counters>,
    handler_calls: Arc<AtomicUsize>,
    workers: usize,
}

impl TestPool {
    fn new(workers: usize) -> TestPool {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let counters = Arc::new(Counters::new());
        let handler_calls = Arc::new(AtomicUsize::new(0));
        let calls = handler_calls.clone();
        let handler: PanicHandler = Arc::new(move |_| {
            calls.fetch_add(1, SeqCst);
        });
        let threads = (0..workers)
            .map(|_| {
                let receiver = receiver.clone();
                let counters = counters.clone();
                let handler = handler.clone();
                thread::spawn(move || loop {
                    let job = receiver.lock().unwrap().recv();
                    match job {
                        Ok(job) => {
                            run_job(job, &counters, Some(&handler));
                        }
                        Err(_) => return,
                    }
                })
            })
            .collect();
        TestPool {
            sender: Mutex::new(Some(sender)),
            threads: Mutex::new(threads),
            counters,
            handler_calls,
            workers,
        }
    }
}

impl Executor for TestPool {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        match &*self.sender.lock().unwrap() {
            Some(sender) => {
                self.counters.add(Event::Submitted, 1);
                sender
                    .send(job)
                    .map_err(|e| Rejected::new(RejectReason::ShutDown, e.0))
            }
            None => Err(Rejected::new(RejectReason::ShutDown, job)),
        }
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.execute(job)
    }
    fn workers(&self) -> usize {
        self.workers
    }
    fn resize(&self, _: usize) -> Result<(), ResizeError> {
        Ok(())
    }
    /// Always graceful: closes the channel, the workers drain it and exit.
    fn shutdown(&self, _: Shutdown) -> ShutdownReport {
        drop(self.sender.lock().unwrap().take());
        for t in std::mem::take(&mut *self.threads.lock().unwrap()) {
            t.join().unwrap();
        }
        ShutdownReport::from_metrics(&self.metrics(), Duration::ZERO)
    }
    fn metrics(&self) -> Metrics {
        self.counters.snapshot(self.workers)
    }
}

impl Drop for TestPool {
    fn drop(&mut self) {
        self.shutdown(Shutdown::Graceful);
    }
}

/// Queues every job and runs none until told: a pool whose workers are all busy elsewhere.
struct Hold {
    workers: usize,
    held: Mutex<Vec<Job>>,
    counters: Counters,
}

impl Hold {
    fn new(workers: usize) -> Hold {
        Hold {
            workers,
            held: Mutex::new(Vec::new()),
            counters: Counters::new(),
        }
    }
    fn held(&self) -> usize {
        self.held.lock().unwrap().len()
    }
    /// Runs the held jobs (and any they add) on this thread, as a worker would.
    fn run_all(&self) {
        loop {
            let jobs = std::mem::take(&mut *self.held.lock().unwrap());
            if jobs.is_empty() {
                return;
            }
            for job in jobs {
                run_job(job, &self.counters, None);
            }
        }
    }
    /// Drops the held jobs unrun, as a `Shutdown::Now` would.
    fn cancel_all(&self) {
        for job in std::mem::take(&mut *self.held.lock().unwrap()) {
            cancel_job(job, &self.counters);
        }
    }
}

impl Executor for Hold {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.counters.add(Event::Submitted, 1);
        self.held.lock().unwrap().push(job);
        Ok(())
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.execute(job)
    }
    fn workers(&self) -> usize {
        self.workers
    }
    fn resize(&self, _: usize) -> Result<(), ResizeError> {
        Ok(())
    }
    fn shutdown(&self, _: Shutdown) -> ShutdownReport {
        ShutdownReport::from_metrics(&self.metrics(), Duration::ZERO)
    }
    fn metrics(&self) -> Metrics {
        self.counters.snapshot(self.workers)
    }
}

/// Refuses every job, as a pool that is shutting down does.
struct Refuse;

impl Executor for Refuse {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        Err(Rejected::new(RejectReason::ShutDown, job))
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.execute(job)
    }
    fn workers(&self) -> usize {
        2
    }
    fn resize(&self, _: usize) -> Result<(), ResizeError> {
        Ok(())
    }
    fn shutdown(&self, _: Shutdown) -> ShutdownReport {
        ShutdownReport::default()
    }
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}

/// Wraps an executor and says its jobs must stay one item each (a rate limiter's answer).
struct OnePerJob<E>(E);

impl<E: Executor> Executor for OnePerJob<E> {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.0.execute(job)
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.0.try_execute(job)
    }
    fn workers(&self) -> usize {
        self.0.workers()
    }
    fn resize(&self, n: usize) -> Result<(), ResizeError> {
        self.0.resize(n)
    }
    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.0.shutdown(mode)
    }
    fn metrics(&self) -> Metrics {
        self.0.metrics()
    }
    fn map_in_chunks(&self) -> bool {
        false
    }
}

/// Counts live items: the high-water mark is the most items in flight at once.
#[derive(Default)]
struct Alive {
    now: AtomicUsize,
    max: AtomicUsize,
    made: AtomicUsize,
}

struct Item {
    value: u64,
    alive: Arc<Alive>,
}

impl Alive {
    fn item(self: &Arc<Self>, value: u64) -> Item {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        self.made.fetch_add(1, SeqCst);
        Item {
            value,
            alive: self.clone(),
        }
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        self.alive.now.fetch_sub(1, SeqCst);
    }
}

/// Panics when dropped (not while unwinding): an item or capture with a hostile destructor.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

fn spin(nanos: u64) {
    let until = Instant::now() + Duration::from_nanos(nanos);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// Waits (bounded) for a condition another thread makes true.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn map_keeps_input_order_with_uneven_items() {
    let pool = TestPool::new(3);
    let got: Vec<u64> = pool
        .map(0..3000u64, |x| {
            spin((x * 7919) % 5000);
            x * x
        })
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, (0..3000u64).map(|x| x * x).collect::<Vec<_>>());
    for window in [1, 5, 1000] {
        let got: Vec<u64> = pool
            .map(0..500u64, |x| x + 1)
            .window(window)
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, (1..=500).collect::<Vec<_>>(), "window {window}");
    }
}

#[test]
fn map_unordered_yields_every_item_once_with_its_position() {
    let pool = TestPool::new(3);
    let mut got: Vec<(usize, u64)> = pool
        .map_unordered(0..5000u64, |x| {
            spin(x % 3 * 1000);
            x * 3
        })
        .indexed()
        .map(|(i, r)| (i, r.unwrap()))
        .collect();
    got.sort_unstable();
    let want: Vec<(usize, u64)> = (0..5000u64).map(|x| (x as usize, x * 3)).collect();
    assert_eq!(got, want);
}

#[test]
fn caller_runs_everything_when_no_worker_is_free() {
    let pool = Hold::new(2);
    let caller = thread::current().id();
    let got: Vec<u64> = pool
        .map(0..20_000u64, move |x| {
            assert_eq!(thread::current().id(), caller);
            x * 2
        })
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, (0..20_000u64).map(|x| x * 2).collect::<Vec<_>>());
    // The jobs submitted (one per lane) are still queued; they find nothing left to run.
    let chunks = pool.held();
    assert!(chunks > 0 && chunks < 20_000 / 50, "{chunks} chunks");
    pool.run_all();
    let m = pool.metrics();
    assert_eq!(
        (m.submitted, m.completed, m.panicked),
        (chunks as u64, chunks as u64, 0)
    );

    // The same through map_unordered.
    let mut got: Vec<u64> = pool
        .map_unordered(0..1000u64, |x| x)
        .map(Result::unwrap)
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    pool.cancel_all();
}

#[test]
fn chunks_grow_for_small_items_and_stay_single_for_slow_ones() {
    // Fast items: the chunks grow until each runs for tens of microseconds.
    let pool = Hold::new(2);
    let n = pool
        .map(0..50_000u64, |x| x ^ 1)
        .filter(Result::is_ok)
        .count();
    assert_eq!(n, 50_000);
    assert!(
        pool.held() < 50_000 / 100,
        "{} jobs for 50000 tiny items",
        pool.held()
    );
    pool.cancel_all();

    // Slow items (2 ms each): one item per chunk, on a real pool too.
    let pool = TestPool::new(2);
    let mut m = pool.map(0..12u64, |x| {
        thread::sleep(Duration::from_millis(2));
        x
    });
    let n = m.by_ref().filter(Result::is_ok).count();
    assert_eq!(n, 12);
    assert_eq!(m.feed.chunks_handed_out(), 12, "one chunk per slow item");
}

#[test]
fn executors_that_pace_jobs_get_one_item_per_job_and_no_help() {
    let pool = OnePerJob(TestPool::new(2));
    let caller = thread::current().id();
    let got: Vec<u64> = pool
        .map(0..2000u64, move |x| {
            assert_ne!(thread::current().id(), caller, "the caller ran an item");
            x + 1
        })
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, (1..=2000).collect::<Vec<_>>());
    let report = pool.shutdown(Shutdown::Graceful);
    assert_eq!((report.submitted, report.completed), (2000, 2000));
}

#[test]
fn panics_land_in_place_and_the_pool_counts_each_once() {
    quiet_panics();
    let expected = (0..600u64).filter(|i| i % 7 == 0).count() as u64;
    let work = |i: u64| {
        if i % 7 == 0 {
            panic!("map test: item {i}");
        }
        i
    };
    for unordered in [false, true] {
        let pool = TestPool::new(2);
        let results: Vec<(usize, Result<u64, TaskError>)> = if unordered {
            pool.map_unordered(0..600u64, work).indexed().collect()
        } else {
            pool.map(0..600u64, work).enumerate().collect()
        };
        assert_eq!(results.len(), 600);
        for (i, r) in results {
            match r {
                Ok(v) => assert_eq!(v, i as u64),
                Err(e) => {
                    assert_eq!(i % 7, 0, "item {i} failed: {e:?}");
                    assert_eq!(e.panic_message(), Some(&*format!("map test: item {i}")));
                }
            }
        }
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{report:?}");
        assert_eq!(
            report.panicked, expected,
            "unordered {unordered}: {report:?}"
        );
        assert_eq!(pool.handler_calls.load(SeqCst) as u64, expected);
    }

    // The caller ran every chunk: it reports every panic through a job of its own.
    let pool = Hold::new(2);
    let failed = pool.map(0..600u64, work).filter(Result::is_err).count();
    assert_eq!(failed as u64, expected);
    pool.run_all();
    assert_eq!(pool.metrics().panicked, expected);
}

#[test]
fn window_bounds_the_items_in_flight() {
    let pool = TestPool::new(4);
    for window in [1, 3, 7, 64] {
        let alive = Arc::new(Alive::default());
        let a = alive.clone();
        let mut m = pool
            .map((0..400u64).map(move |i| a.item(i)), |item: Item| {
                spin(2_000);
                item.value
            })
            .window(window);
        let mut next = 0;
        while let Some(r) = m.next() {
            assert_eq!(r.unwrap(), next);
            next += 1;
            assert!(m.feed.in_flight() <= window, "window {window}");
        }
        drop(m);
        let max = alive.max.load(SeqCst);
        assert!(max <= window, "window {window}: {max} items alive at once");
        eventually("every item dropped", || alive.now.load(SeqCst) == 0);
    }
}

#[test]
fn endless_input_keeps_memory_flat() {
    let pool = TestPool::new(2);
    let bound = super::feed::LANES_PER_WORKER * 2 * MAX_CHUNK;
    let alive = Arc::new(Alive::default());
    let a = alive.clone();
    let endless = (0u64..).map(move |i| a.item(i));
    let mut m = pool.map(endless, |item: Item| item.value);
    for want in 0..300_000u64 {
        assert_eq!(m.next().unwrap().unwrap(), want);
    }
    assert!(m.feed.in_flight() <= bound);
    drop(m);
    let max = alive.max.load(SeqCst);
    assert!(max <= bound, "{max} items alive at once");
    let made = alive.made.load(SeqCst);
    assert!(
        made <= 300_000 + bound,
        "pulled {made} items for 300000 results"
    );
    eventually("every item dropped", || alive.now.load(SeqCst) == 0);

    // An explicit window holds for map_unordered too.
    let alive = Arc::new(Alive::default());
    let a = alive.clone();
    let endless = (0u64..).map(move |i| a.item(i));
    let taken = pool
        .map_unordered(endless, |item: Item| item.value)
        .window(100)
        .take(50_000)
        .count();
    assert_eq!(taken, 50_000);
    assert!(alive.max.load(SeqCst) <= 100);
    assert!(alive.made.load(SeqCst) <= 50_100);
}

#[test]
fn dropped_or_forgotten_iterator_leaves_the_jobs_sound() {
    for forget in [false, true] {
        let pool = Hold::new(2);
        let alive = Arc::new(Alive::default());
        let a = alive.clone();
        let f_dropped = Arc::new(AtomicBool::new(false));
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, SeqCst);
            }
        }
        let flag = Flag(f_dropped.clone());
        let mut m = pool
            .map((0..1000u64).map(move |i| a.item(i)), move |item: Item| {
                let _ = &flag;
                item.value
            })
            .window(64);
        for want in 0..5 {
            assert_eq!(m.next().unwrap().unwrap(), want);
        }
        assert!(pool.held() > 0);
        if forget {
            std::mem::forget(m);
        } else {
            drop(m);
        }
        // The queued jobs run later, on memory that is still theirs, and run every chunk
        // handed out: no item is left behind.
        pool.run_all();
        assert_eq!(alive.now.load(SeqCst), 0, "forget {forget}");
        assert_eq!(f_dropped.load(SeqCst), !forget, "forget {forget}");
    }

    // Dropped, then the queued jobs are cancelled (a `Shutdown::Now`): the items go unrun.
    let pool = Hold::new(2);
    let alive = Arc::new(Alive::default());
    let a = alive.clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let mut m = pool.map((0..1000u64).map(move |i| a.item(i)), move |item: Item| {
        r.fetch_add(1, SeqCst);
        item.value
    });
    assert_eq!(m.next().unwrap().unwrap(), 0);
    let ran_by_caller = ran.load(SeqCst);
    drop(m);
    pool.cancel_all();
    assert_eq!(alive.now.load(SeqCst), 0);
    assert_eq!(ran.load(SeqCst), ran_by_caller);
}

#[test]
fn refused_items_are_cancelled_and_next_never_panics() {
    quiet_panics();
    for unordered in [false, true] {
        let items: Vec<PanicOnDrop> = (0..10).map(|_| PanicOnDrop("map test: item")).collect();
        let f = |item: PanicOnDrop| {
            std::mem::forget(item);
            0u8
        };
        let results = catch_unwind(AssertUnwindSafe(|| -> Vec<Result<u8, TaskError>> {
            if unordered {
                Refuse.map_unordered(items, f).collect()
            } else {
                Refuse.map(items, f).collect()
            }
        }))
        .unwrap_or_else(|_| panic!("next() panicked (unordered {unordered})"));
        assert_eq!(results.len(), 10);
        assert!(results
            .iter()
            .all(|r| matches!(r, Err(TaskError::Cancelled))));
    }
}

#[test]
fn cancelled_jobs_cancel_their_chunks_in_place() {
    // A pool that drops every job unrun once it has them: each dropped job cancels a chunk,
    // the caller runs the rest; every item gets exactly one answer, in order.
    let pool = Hold::new(2);
    let mut m = pool.map(0..100u64, |x| x).window(10);
    let mut got = Vec::new();
    for _ in 0..100 {
        pool.cancel_all();
        got.push(m.next().unwrap());
    }
    assert!(m.next().is_none());
    let cancelled = got
        .iter()
        .filter(|r| matches!(r, Err(TaskError::Cancelled)))
        .count();
    assert!(cancelled > 0);
    for (i, r) in got.into_iter().enumerate() {
        if let Ok(v) = r {
            assert_eq!(v, i as u64);
        }
    }
}

#[test]
fn input_that_panics_loses_no_item() {
    quiet_panics();
    let pool = TestPool::new(2);
    let mut calls = 0u64;
    let input = std::iter::from_fn(move || {
        calls += 1;
        if calls == 20 {
            panic!("map test: input");
        }
        (calls <= 60).then_some(calls)
    });
    let mut m = pool.map(input, |x| x);
    let mut got = Vec::new();
    loop {
        match catch_unwind(AssertUnwindSafe(|| m.next())) {
            Ok(Some(r)) => got.push(r.unwrap()),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let want: Vec<u64> = (1..=60).filter(|&x| x != 20).collect();
    assert_eq!(got, want);
}

#[test]
fn f_whose_destructor_panics_is_contained() {
    quiet_panics();
    for unordered in [false, true] {
        let pool = TestPool::new(2);
        let capture = PanicOnDrop("map test: f capture");
        let f = move |x: u32| {
            let _ = &capture;
            x
        };
        let results = catch_unwind(AssertUnwindSafe(|| -> Vec<Result<u32, TaskError>> {
            if unordered {
                pool.map_unordered(0..100, f).collect()
            } else {
                pool.map(0..100, f).collect()
            }
        }))
        .expect("neither next() nor the drop of the iterator panics");
        assert_eq!(results.len(), 100);
        assert!(results.iter().all(Result::is_ok));
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{report:?}");
    }
}

/// Many maps at once on a small pool, from several threads, some abandoned early, some with
/// panicking items: every result right, every report adding up, nothing hangs.
#[test]
fn stress_concurrent_maps() {
    quiet_panics();
    let pool = Arc::new(TestPool::new(2));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let pool = pool.clone();
            thread::spawn(move || {
                for round in 0..40u64 {
                    let seed = t * 1000 + round;
                    let n = (seed * 7919) % 3000;
                    let cost = (seed * 31) % 4 * 500;
                    let work = move |x: u64| {
                        spin(cost);
                        if x % 997 == 5 {
                            panic!("map test: stress {x}");
                        }
                        x
                    };
                    let take = if round % 5 == 4 { n / 2 } else { n } as usize;
                    let window = (round % 3 == 1).then_some((seed % 50 + 1) as usize);
                    let check = |i: usize, r: Result<u64, TaskError>| match r {
                        Ok(v) => assert_eq!(v, i as u64),
                        Err(e) => assert!(e.is_panic() && i % 997 == 5, "{i}: {e:?}"),
                    };
                    if round % 2 == 0 {
                        let mut m = pool.map(0..n, work);
                        if let Some(w) = window {
                            m = m.window(w);
                        }
                        for (i, r) in m.by_ref().take(take).enumerate() {
                            check(i, r);
                        }
                    } else {
                        let mut m = pool.map_unordered(0..n, work).indexed();
                        if let Some(w) = window {
                            m = m.window(w);
                        }
                        let mut seen = vec![false; n as usize];
                        for (i, r) in m.by_ref().take(take) {
                            assert!(!std::mem::replace(&mut seen[i], true), "{i} twice");
                            check(i, r);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a stress thread failed");
    }
    let report = pool.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{report:?}");
    assert_eq!(report.cancelled, 0);
}

#[test]
fn iterators_are_send_and_sync_when_their_input_is() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    use std::cell::Cell;
    // Items and results that are `Send` but not `Sync`.
    let pool = Hold::new(1);
    let ordered = pool.map((0..3u32).map(Cell::new), |c: Cell<u32>| Cell::new(c.get()));
    send_sync(&ordered);
    let unordered = pool.map_unordered((0..3u32).map(Cell::new), |c: Cell<u32>| c);
    send_sync(&unordered);
    send_sync(&unordered.indexed());
}

/// Once the iterator is exhausted, none of the map's jobs still shows as running: the jobs
/// that delivered the last results reported their end only after their pool counted them.
/// (Before, the consumer could see the last results while their job was still between its
/// last act and the pool's count: `running: 1` right after the map, most of the time.)
#[test]
fn exhausted_map_leaves_no_job_running() {
    let pool = OnePerJob(TestPool::new(2));
    for round in 0..300 {
        let n = if round % 2 == 0 {
            pool.map_unordered(0..16u64, |x| x * 3).count()
        } else {
            pool.map(0..16u64, |x| x * 3).count()
        };
        assert_eq!(n, 16);
        let m = pool.metrics();
        assert_eq!((m.running, m.queued), (0, 0), "round {round}: {m:?}");
        assert_eq!(m.completed, m.submitted, "round {round}: {m:?}");
    }
}

/// Runs every job at once on the calling thread, as part of whatever runs there.
struct Inline;

impl Executor for Inline {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        job();
        Ok(())
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.execute(job)
    }
    fn workers(&self) -> usize {
        1
    }
    fn resize(&self, _: usize) -> Result<(), ResizeError> {
        Ok(())
    }
    fn shutdown(&self, _: Shutdown) -> ShutdownReport {
        ShutdownReport::default()
    }
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}

/// A map whose jobs run nested inside another pool's job (an inline executor used from a
/// job) ends: its jobs are not that pool's own, so they report their end when they return
/// instead of waiting for a count that comes only after the enclosing job ends.
#[test]
fn map_on_an_inline_executor_inside_a_job_ends() {
    let pool = TestPool::new(1);
    let (done, finished) = mpsc::channel();
    pool.execute(Box::new(move || {
        let total: u64 = Inline.map(0..500u64, |x| x).map(Result::unwrap).sum();
        let one_per_job = OnePerJob(Inline).map(0..50u64, |x| x).count();
        let _ = done.send((total, one_per_job));
    }))
    .unwrap();
    let got = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the map inside the job hung");
    assert_eq!(got, ((0..500).sum(), 50));
}

/// `run_job` runs what a job hands to `after_counted` after counting it, and only for that
/// job: a job run by an inline executor inside it hands over nothing.
#[test]
fn after_counted_runs_after_the_count_and_only_for_the_running_job() {
    let counters = Arc::new(Counters::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let job: Job = {
        let (counters, seen) = (counters.clone(), seen.clone());
        Box::new(move || {
            let me = crate::worker::running_job();
            assert_ne!(me, 0);
            let at_end = counters.clone();
            let log = seen.clone();
            crate::worker::after_counted(me, move || {
                log.lock()
                    .unwrap()
                    .push(("after", at_end.get(Event::Completed)));
            });
            // Not the running job: runs at once.
            let log = seen.clone();
            crate::worker::after_counted(me + 1, move || log.lock().unwrap().push(("now", 0)));
            // A job run inside this one without `run_job` is not the running job either.
            let inner: Job = Box::new(|| {});
            assert_ne!(crate::worker::job_address(&inner), me);
            inner();
        })
    };
    let address = crate::worker::job_address(&job);
    assert_eq!(run_job(job, &counters, None), crate::worker::Ran::Completed);
    assert_eq!(*seen.lock().unwrap(), [("now", 0), ("after", 1)]);
    assert_eq!(crate::worker::running_job(), 0, "restored after the job");
    // Outside `run_job`, `after_counted` runs at once.
    let log = seen.clone();
    crate::worker::after_counted(address, move || log.lock().unwrap().push(("outside", 0)));
    assert_eq!(seen.lock().unwrap().len(), 3);
}

/// On a pool whose workers are all busy (none of the map's jobs starts), the consumer waits
/// the grace for the first chunk only, then runs the others at once: the map does not slow
/// down by a grace per chunk.
#[test]
fn a_consumer_on_a_busy_pool_waits_the_grace_once() {
    let pool = Hold::new(2);
    let mut m = pool.map(0..5_000u64, |x| x + 1).window(50);
    // A consumer with a core to spare waits the grace; one that takes a lane does not.
    m.feed.set_cores(64);
    for want in 1..=5_000u64 {
        assert_eq!(m.next().unwrap().unwrap(), want);
    }
    assert!(m.next().is_none());
    assert_eq!(
        m.feed.graced_runs, 1,
        "only the first chunk waited for the pool"
    );
    drop(m);
    // The jobs still queued find nothing to run.
    pool.run_all();
    assert_eq!(pool.held(), 0);
}

/// A consumer that waits runs chunks itself, so on a machine whose cores the workers fill it
/// takes a lane: the pool gets `workers - 1` jobs, and no more than `workers` threads ever run
/// the map's items at once. With a core to spare, every worker gets a job.
#[test]
fn the_consumer_takes_a_lane_when_the_workers_fill_the_cores() {
    use super::feed::{job_lanes, JobLanes};
    let lanes = |max, consumer_runs| JobLanes { max, consumer_runs };
    assert_eq!(job_lanes(4, 4, true, false, false), lanes(3, true));
    assert_eq!(job_lanes(64, 2, true, false, false), lanes(63, true));
    assert_eq!(job_lanes(1, 1, true, false, false), lanes(1, true));
    assert_eq!(job_lanes(2, 16, true, false, false), lanes(2, false));
    assert_eq!(
        job_lanes(2, 16, true, true, false),
        lanes(1, true),
        "inside a worker"
    );
    assert_eq!(
        job_lanes(2, 2, false, false, false),
        lanes(usize::MAX, false)
    );
    // Items that wait leave the cores free: the consumer is an extra thread again.
    assert_eq!(job_lanes(4, 4, true, false, true), lanes(4, false));
    assert_eq!(
        job_lanes(2, 2, true, true, true),
        lanes(1, true),
        "inside a worker"
    );

    for (cores, most) in [(3, 3), (64, 4)] {
        let pool = TestPool::new(3);
        // An item is alive while it runs: the high-water mark is the most run at once.
        let running = Arc::new(Alive::default());
        let r = running.clone();
        let mut m = pool.map(0..400u64, move |x| {
            let _running = r.item(x);
            spin(100_000);
            x
        });
        m.feed.set_cores(cores);
        let got: Vec<u64> = m.map(Result::unwrap).collect();
        assert_eq!(got, (0..400).collect::<Vec<_>>());
        let high = running.max.load(SeqCst);
        assert!(high <= most, "{cores} cores: {high} items at once");
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.submitted >= 1 && report.adds_up(), "{report:?}");
    }
}

/// A consumer busy elsewhere leaves the map to its jobs: they loop over the chunks handed
/// out, so the window's chunks run while the caller does not call `next`.
#[test]
fn jobs_run_the_window_while_the_consumer_is_away() {
    let pool = TestPool::new(2);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let mut m = pool
        .map(0..64u64, move |x| {
            spin(20_000);
            r.fetch_add(1, SeqCst);
            x
        })
        .window(16);
    m.feed.set_cores(2);
    assert_eq!(m.next().unwrap().unwrap(), 0);
    // Away: every item pulled into the window runs, on the pool's one job.
    let pulled = m.feed.in_flight() + 1;
    assert!(pulled >= 8, "{pulled} items pulled");
    eventually("the pool ran the window", || ran.load(SeqCst) == pulled);
    let rest: Vec<u64> = m.map(Result::unwrap).collect();
    assert_eq!(rest, (1..64).collect::<Vec<_>>());
}

/// A stream never runs chunks, and a pool that drops its jobs unrun leaves none of them
/// waiting: every unclaimed chunk is cancelled, the stream yields `Cancelled` for each of
/// its items and ends.
#[cfg(feature = "stream")]
#[test]
fn a_stream_whose_jobs_are_dropped_ends_with_cancelled_items() {
    use futures_core::Stream;
    use std::pin::Pin;
    use std::task::{Context, Poll, Wake, Waker};
    struct Nothing;
    impl Wake for Nothing {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Nothing));
    let mut cx = Context::from_waker(&waker);
    let pool = Hold::new(2);
    let mut stream = pool.map(0..100u64, |x| x).window(40).into_stream();
    let mut got = Vec::new();
    loop {
        match Pin::new(&mut stream).poll_next(&mut cx) {
            Poll::Ready(Some(r)) => got.push(r),
            Poll::Ready(None) => break,
            Poll::Pending => {
                assert!(pool.held() > 0, "a stream waits with no job queued");
                pool.cancel_all();
            }
        }
    }
    assert_eq!(got.len(), 100);
    assert!(got.iter().all(|r| matches!(r, Err(TaskError::Cancelled))));
}

/// Items that wait (here: sleep) leave the cores free, and the consumer's CPU clock says so:
/// the pool gets a lane per worker again and the consumer helps as an extra thread.
#[test]
fn items_that_wait_give_the_pool_every_lane() {
    let pool = TestPool::new(2);
    let mut m = pool.map(0..40u64, |x| {
        thread::sleep(Duration::from_millis(2));
        x
    });
    let got: Vec<u64> = m.by_ref().map(Result::unwrap).collect();
    assert_eq!(got, (0..40).collect::<Vec<_>>());
    let lanes = m.feed.lanes_now();
    assert_eq!((lanes.max, lanes.consumer_runs), (2, false), "{lanes:?}");
}
