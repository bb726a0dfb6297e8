//! Async code awaits shoal's work on a real runtime: `JoinHandle`s (and, with the feature
//! `stream`, map streams) are awaited from tokio tasks on a 2-thread runtime while another
//! task keeps answering a timer. If awaiting blocked a runtime thread, the timer would stall:
//! the ticks must keep coming at roughly their period while the pool works. Completion,
//! panic and cancellation all wake the waiting task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use shoal::{Executor, ExecutorExt, Pool, Shutdown, TaskError};
use tokio::time::{self, MissedTickBehavior};

/// The timer's period.
const TICK: Duration = Duration::from_millis(10);
/// How long any one test may take before it fails instead of hanging.
const WATCHDOG: Duration = Duration::from_secs(120);
/// The name of the pool's threads, so a job can tell where it runs.
const POOL_THREAD: &str = "shoal-async-test";

/// About 100 µs of arithmetic in a debug build: a CPU-bound job.
fn cpu_work(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..20_000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x ^= x >> 29;
    }
    std::hint::black_box(x)
}

/// `cpu_work`, checking that it runs on one of the pool's threads, never the runtime's.
fn job(seed: u64) -> u64 {
    let name = thread::current().name().map(str::to_owned);
    assert!(
        name.as_deref().is_some_and(|n| n.starts_with(POOL_THREAD)),
        "a job ran on {name:?}, not on the pool"
    );
    cpu_work(seed)
}

fn pool() -> Arc<Pool> {
    Arc::new(
        Pool::builder()
            .workers(2)
            .thread_name(POOL_THREAD)
            .build()
            .expect("a pool"),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

/// A task that records when each tick of a `TICK` interval came, until stopped.
struct Ticker {
    ticks: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Ticker {
    fn start() -> Ticker {
        let ticks = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (ticks, stop) = (ticks.clone(), stop.clone());
            async move {
                let mut interval = time::interval(TICK);
                interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
                while !stop.load(Ordering::SeqCst) {
                    interval.tick().await;
                    ticks.lock().unwrap().push(Instant::now());
                }
            }
        });
        Ticker { ticks, stop, task }
    }

    /// Stops the ticker and checks the ticks between `from` and `to` (while the pool
    /// worked): about one per `TICK`, with generous bounds for a loaded machine, and no long
    /// silence anywhere.
    async fn check(self, from: Instant, to: Instant, what: &str) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the ticker task");
        let ticks: Vec<Instant> = self
            .ticks
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|t| (from..=to).contains(t))
            .collect();
        let span = to - from;
        let expected = span.as_secs_f64() / TICK.as_secs_f64();
        let mut edges = vec![from];
        edges.extend(&ticks);
        edges.push(to);
        let longest = edges
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        eprintln!(
            "{what}: {} ticks in {span:?} (about {expected:.0} expected), longest silence \
             {longest:?}",
            ticks.len()
        );
        // Generous: on a machine loaded several times over, a woken thread can wait for a
        // core for hundreds of milliseconds, and ticks come at a fraction of their rate. A
        // blocked runtime gives next to none, and silences of half the run.
        assert!(
            ticks.len() as f64 >= expected / 20.0,
            "{what}: only {} timer ticks in {span:?} (about {expected:.0} expected): a runtime \
             thread was blocked",
            ticks.len()
        );
        let allowed = (span / 4).max(Duration::from_secs(1));
        assert!(
            longest < allowed,
            "{what}: the timer was silent for {longest:?} of {span:?} while the pool worked: \
             a runtime thread was blocked"
        );
    }
}

/// 10,000 CPU jobs, spawned and awaited by 4 tasks (2,500 each) on a 2-thread runtime,
/// while the runtime keeps answering a 10 ms timer. Were the awaits blocking, both runtime
/// threads would sit in them for about half the run each time, and the timer would fall
/// silent for that long.
#[test]
fn ten_thousand_jobs_awaited_while_a_timer_ticks() {
    const TASKS: u64 = 4;
    const JOBS: u64 = 2_500;
    let pool = pool();
    let want: Arc<Vec<u64>> = Arc::new((0..TASKS * JOBS).map(cpu_work).collect());
    runtime().block_on(async {
        time::timeout(WATCHDOG, async {
            let ticker = Ticker::start();
            // Let the ticker start.
            time::sleep(3 * TICK).await;
            let from = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let (pool, want) = (pool.clone(), want.clone());
                    tokio::spawn(async move {
                        let seeds = t * JOBS..(t + 1) * JOBS;
                        let handles: Vec<_> = seeds
                            .clone()
                            .map(|seed| pool.spawn(move || job(seed)).expect("a running pool"))
                            .collect();
                        for (seed, handle) in seeds.zip(handles) {
                            let value = handle.await.expect("the job ran");
                            assert_eq!(value, want[seed as usize], "job {seed}");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("a task");
            }
            let to = Instant::now();
            ticker.check(from, to, "10,000 awaited jobs").await;
        })
        .await
        .expect("the test hung");
    });
    let m = pool.metrics();
    assert_eq!(m.completed, 10_000, "{m}");
    assert!(pool.shutdown(Shutdown::Graceful).adds_up());
}

/// A panicking job wakes its awaiting task with the panic; a job a shutdown cancels wakes its
/// awaiting task with `Cancelled`.
#[test]
fn panic_and_cancellation_wake_the_task() {
    let pool = Arc::new(Pool::builder().workers(1).build().expect("a pool"));
    runtime().block_on(async {
        time::timeout(WATCHDOG, async {
            let hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let err = pool
                .spawn(|| -> u32 { panic!("on purpose") })
                .unwrap()
                .await
                .expect_err("the job panicked");
            std::panic::set_hook(hook);
            assert_eq!(err.panic_message(), Some("on purpose"));

            // The only worker waits on a gate, so the next job stays queued.
            let gate = Arc::new((Mutex::new(false), Condvar::new()));
            let started = Arc::new(AtomicBool::new(false));
            pool.spawn({
                let (gate, started) = (gate.clone(), started.clone());
                move || {
                    started.store(true, Ordering::SeqCst);
                    let (open, cv) = &*gate;
                    let mut open = open.lock().unwrap();
                    while !*open {
                        open = cv.wait(open).unwrap();
                    }
                }
            })
            .unwrap();
            while !started.load(Ordering::SeqCst) {
                time::sleep(TICK).await;
            }
            let queued = pool.spawn(|| 7u32).unwrap();
            let waiter = tokio::spawn(queued);
            // Give the waiting task time to poll the handle and leave its waker.
            time::sleep(5 * TICK).await;
            assert!(!waiter.is_finished());
            // `Now` cancels the queued job while the gated one still runs; it waits for that
            // one, so it runs on a thread of its own and the gate opens once the job is gone.
            let stopper = thread::spawn({
                let pool = pool.clone();
                move || pool.shutdown(Shutdown::Now)
            });
            let result = waiter.await.expect("the waiting task");
            assert!(matches!(result, Err(TaskError::Cancelled)), "{result:?}");
            let (open, cv) = &*gate;
            *open.lock().unwrap() = true;
            cv.notify_all();
            let report = tokio::task::spawn_blocking(move || stopper.join().unwrap())
                .await
                .unwrap();
            assert_eq!(report.cancelled, 1, "{report}");
        })
        .await
        .expect("the test hung");
    });
}

/// 10,000 CPU items through `map(..).into_stream()` and `map_unordered(..).into_stream()`,
/// consumed by async tasks on a 2-thread runtime while a timer ticks; every item runs on the
/// pool, results come in input order (for `map`), and no runtime thread blocks.
#[cfg(feature = "stream")]
#[test]
fn map_streams_run_on_the_pool_while_a_timer_ticks() {
    use std::future::poll_fn;
    use std::pin::Pin;

    use futures_core::Stream;

    async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
        poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
    }

    const ITEMS: u64 = 5_000;
    let pool = pool();
    let mut want_unordered: Vec<u64> = (ITEMS..2 * ITEMS).map(cpu_work).collect();
    want_unordered.sort_unstable();
    let want_ordered: Vec<u64> = (0..ITEMS).map(cpu_work).collect();
    runtime().block_on(async {
        time::timeout(WATCHDOG, async {
            let ticker = Ticker::start();
            time::sleep(3 * TICK).await;
            let from = Instant::now();
            let ordered = tokio::spawn({
                let pool = pool.clone();
                async move {
                    let mut results = pool.map(0..ITEMS, job).into_stream();
                    let mut got = Vec::new();
                    while let Some(result) = next(&mut results).await {
                        got.push(result.expect("no panic"));
                    }
                    got
                }
            });
            let unordered = tokio::spawn({
                let pool = pool.clone();
                async move {
                    let mut results = pool.map_unordered(ITEMS..2 * ITEMS, job).into_stream();
                    let mut got = Vec::new();
                    while let Some(result) = next(&mut results).await {
                        got.push(result.expect("no panic"));
                    }
                    got
                }
            });
            let ordered = ordered.await.expect("the ordered task");
            let mut unordered = unordered.await.expect("the unordered task");
            let to = Instant::now();
            ticker.check(from, to, "10,000 streamed items").await;
            assert!(
                ordered == want_ordered,
                "map's stream: wrong results or order"
            );
            unordered.sort_unstable();
            assert!(
                unordered == want_unordered,
                "map_unordered's stream: wrong results"
            );
        })
        .await
        .expect("the test hung");
    });
    // Both streams ended after their jobs were counted.
    let m = pool.metrics();
    assert_eq!((m.running, m.queued), (0, 0), "{m}");
    assert!(pool.shutdown(Shutdown::Graceful).adds_up());
}
