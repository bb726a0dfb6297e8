//! shuttle: randomized schedules over the pools' own protocols, with more threads and longer
//! runs than loom's exhaustive search can afford (4–8 threads per scenario).
//!
//! Under `--cfg shoal_shuttle` the `shoal_core::sync` shim hands out shuttle's mutexes,
//! condition variables, atomics and threads, and each shuttle-ready pool swaps its lock-free
//! queue for its loom stand-in (shuttle, like loom, cannot see inside crossbeam). Every
//! scenario runs under two schedulers: uniformly random schedules, and PCT (probabilistic
//! concurrency testing, which finds bugs needing a few specific preemptions with a known
//! probability). A failure prints the schedule to replay with `shuttle::replay`.
//!
//! Every strategy runs here: `SharedQueuePool`, `WorkStealingPool` (plain and with its LIFO
//! slot) and `ScopedPool`. Run:
//!
//! ```text
//! RUSTFLAGS="--cfg shoal_shuttle" cargo test --release --target-dir target/shuttle \
//!     -p shoal-reliability --test shuttle
//! ```
//!
//! `SHOAL_SHUTTLE_ITERATIONS` sets the schedules per scenario and scheduler (default 1000).
#![cfg(shoal_shuttle)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shoal_core::{
    BroadcastError, CancelOutcome, Executor, ExecutorExt, RejectReason, ResizeError, Shutdown,
    ShutdownReport,
};
use shoal_reliability::{
    check_final_report, Children, JobId, Ledger, Outcome, PoolConfig, Strategy,
};
use shuttle::scheduler::{PctScheduler, RandomScheduler};
use shuttle::{thread, Config, Runner};

fn iterations() -> usize {
    std::env::var("SHOAL_SHUTTLE_ITERATIONS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1000)
}

/// Schedules tried over the whole run, for the summary.
static SCHEDULES: AtomicUsize = AtomicUsize::new(0);

/// Runs `scenario` against `kind` under random and PCT schedules.
fn explore(name: &str, kind: Strategy, scenario: fn(Strategy)) {
    let n = iterations();
    let config = || {
        let mut c = Config::new();
        // The pools' frames, the helping waits and the jobs nest on shuttle's coroutine stacks.
        c.stack_size = 1 << 20;
        c
    };
    let counted = move || {
        SCHEDULES.fetch_add(1, Ordering::Relaxed);
        scenario(kind);
    };
    Runner::new(RandomScheduler::new(n), config()).run(counted);
    Runner::new(PctScheduler::new(3, n), config()).run(counted);
    eprintln!(
        "shuttle {name} [{kind}]: {} schedules (random + PCT depth 3), all held; {} so far in \
         this run",
        2 * n,
        SCHEDULES.load(Ordering::Relaxed)
    );
}

fn build(kind: Strategy, spec: PoolConfig) -> Arc<dyn Executor> {
    Arc::from(kind.build(&spec).expect("build"))
}

/// What a submitting thread saw.
#[derive(Default)]
struct Seen {
    accepted: Vec<JobId>,
    refused: Vec<JobId>,
}

/// Submits `n` jobs with `execute` (or `try_execute`, retrying while `Full`), stopping at the
/// first refusal, whose job it drops (the ledger records it).
fn submitter(pool: Arc<dyn Executor>, ledger: Ledger, n: usize, try_first: bool) -> Seen {
    let mut seen = Seen::default();
    for i in 0..n {
        // No job panics here: shuttle fails an execution on any panic, caught or not (panic
        // accounting is covered by the loom models and the other campaigns).
        let _ = i;
        let (id, mut job) = ledger.job(false);
        let result = if try_first {
            loop {
                match pool.try_execute(job) {
                    Err(r) if r.is_full() => {
                        job = r.into_job();
                        thread::yield_now();
                    }
                    other => break other,
                }
            }
        } else {
            pool.execute(job)
        };
        match result {
            Ok(()) => seen.accepted.push(id),
            Err(rej) => {
                assert_eq!(rej.reason(), RejectReason::ShutDown);
                drop(rej.into_job());
                seen.refused.push(id);
                break;
            }
        }
    }
    seen
}

/// Starts `threads` [`submitter`]s at once, each submitting `jobs` jobs to `pool`; the one
/// numbered `trying` (if any) uses `try_execute`. Join them with [`joined`].
fn submitters(
    pool: &Arc<dyn Executor>,
    ledger: &Ledger,
    threads: usize,
    jobs: usize,
    trying: Option<usize>,
) -> Vec<thread::JoinHandle<Seen>> {
    (0..threads)
        .map(|t| {
            let (p, l) = (pool.clone(), ledger.clone());
            thread::spawn(move || submitter(p, l, jobs, Some(t) == trying))
        })
        .collect()
}

/// What each submitter thread saw.
fn joined(submitters: Vec<thread::JoinHandle<Seen>>) -> Vec<Seen> {
    submitters.into_iter().map(|t| t.join().unwrap()).collect()
}

/// Resizes `pool` to each of `sizes` in turn, on a thread of its own; a refusal because the
/// pool is shutting down is fine, any other is a failure.
fn resizer<const N: usize>(pool: &Arc<dyn Executor>, sizes: [usize; N]) -> thread::JoinHandle<()> {
    let p = pool.clone();
    thread::spawn(move || {
        for n in sizes {
            match p.resize(n) {
                Ok(()) | Err(ResizeError::ShutDown) => {}
                Err(e) => panic!("resize({n}): {e}"),
            }
        }
    })
}

/// Every accepted job settled exactly once, every refused one came back and was dropped;
/// a final report agrees with the jobs' records.
fn check(ledger: &Ledger, seen: &[Seen], report: Option<&ShutdownReport>, may_cancel: bool) {
    let accepted: Vec<JobId> = seen.iter().flat_map(|s| s.accepted.clone()).collect();
    let tally = ledger.tally(accepted.iter().copied());
    assert_eq!((tally.pending, tally.duplicated), (0, 0), "{tally:?}");
    if !may_cancel {
        assert_eq!(
            tally.dropped, 0,
            "cancelled without Now/Deadline: {tally:?}"
        );
    }
    for s in seen {
        for &id in &s.refused {
            assert_eq!(ledger.events(id), 1);
            assert_eq!(ledger.outcome(id), Outcome::Dropped);
        }
    }
    if let Some(report) = report {
        check_final_report("shuttle", report, &tally);
    }
}

/// Three submitters (the one numbered `trying` uses `try_execute`) race a graceful shutdown
/// of a pool built from `spec`: a job is accepted and run, or refused and handed back; never
/// lost.
fn three_submitters_race_graceful_shutdown(kind: Strategy, spec: PoolConfig, trying: usize) {
    let pool = build(kind, spec);
    let ledger = Ledger::with_capacity(32);
    let threads = submitters(&pool, &ledger, 3, 3, Some(trying));
    let report = pool.shutdown(Shutdown::Graceful);
    let seen = joined(threads);
    check(&ledger, &seen, Some(&report), false);
}

/// Three submitters race a graceful shutdown: a job is accepted and run, or refused and
/// handed back; never lost. (main + 2 workers + 3 submitters = 6 threads)
fn submitters_race_graceful_shutdown(kind: Strategy) {
    three_submitters_race_graceful_shutdown(kind, PoolConfig::new().workers(2), 2);
}

/// Submitters race a `Now` shutdown and a concurrent graceful one: both callers get the same
/// final report; accepted jobs ran or were cancelled, once. (main + 2 workers + 2 submitters +
/// 1 second stopper = 6 threads)
fn submitters_race_two_shutdowns(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let ledger = Ledger::with_capacity(32);
    let threads = submitters(&pool, &ledger, 2, 3, Some(1));
    let other = {
        let p = pool.clone();
        thread::spawn(move || p.shutdown(Shutdown::Graceful))
    };
    let report = pool.shutdown(Shutdown::Now);
    let other = other.join().unwrap();
    assert_eq!(report, other, "two callers, two reports");
    let seen = joined(threads);
    check(&ledger, &seen, Some(&report), true);
}

/// Two resizers (grow and shrink) race two submitters on a pool that starts with one
/// worker; then a graceful shutdown runs everything. Retiring workers never strand a job.
/// (main + 1–3 workers, retired ones included + 2 resizers + 2 submitters ≤ 8 threads)
fn resizers_race_submitters(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(1));
    let ledger = Ledger::with_capacity(32);
    let resizers = [resizer(&pool, [2, 1]), resizer(&pool, [3, 1])];
    let threads = submitters(&pool, &ledger, 2, 3, Some(1));
    for r in resizers {
        r.join().unwrap();
    }
    let seen = joined(threads);
    assert_eq!(pool.workers(), 1, "both resizers ended at 1");
    let report = pool.shutdown(Shutdown::Graceful);
    check(&ledger, &seen, Some(&report), false);
}

/// A resize racing the shutdown itself: it either happens before (and its workers are joined)
/// or is refused with `ShutDown`; the shutdown never waits for a worker that was never
/// counted. (main + 2–4 workers + resizer + submitter ≤ 7 threads)
fn resize_races_shutdown(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let ledger = Ledger::with_capacity(16);
    let resizing = resizer(&pool, [4]);
    let sub = submitters(&pool, &ledger, 1, 3, None);
    let report = pool.shutdown(Shutdown::Graceful);
    resizing.join().unwrap();
    let seen = joined(sub);
    check(&ledger, &seen, Some(&report), false);
    assert!(matches!(pool.resize(2), Err(ResizeError::ShutDown)));
}

/// A bounded queue of one slot: blocking and non-blocking submitters against two workers and
/// a shutdown; blocked submitters get their jobs back when intake closes. (6 threads)
fn bounded_backpressure_and_shutdown(kind: Strategy) {
    three_submitters_race_graceful_shutdown(
        kind,
        PoolConfig::new().workers(2).queue_capacity(1),
        0,
    );
}

/// Jobs that spawn a child and join it (a helping wait) on two workers, while a third thread
/// submits and the main thread shuts down gracefully afterwards. (5 threads)
fn nested_joins_with_submitter(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let ledger = Ledger::with_capacity(32);
    let mut parents = Vec::new();
    for _ in 0..2 {
        let (p, l) = (pool.clone(), ledger.clone());
        let h = pool
            .spawn(move || {
                let token = l.token(false);
                let child = p.spawn(move || token.run()).expect("running");
                child.join().expect("child")
            })
            .expect("running");
        parents.push(h);
    }
    let sub = submitters(&pool, &ledger, 1, 2, None);
    for h in parents {
        let v = h.join().expect("parent");
        assert_eq!(v % 2, 0);
    }
    let seen = joined(sub);
    let report = pool.shutdown(Shutdown::Graceful);
    // 2 parents + 2 children + the submitter's jobs.
    assert_eq!(report.submitted, 4 + seen[0].accepted.len() as u64);
    check(&ledger, &seen, None, false);
    assert!(
        report.adds_up() && report.completed == report.submitted,
        "{report:?}"
    );
}

/// A zero deadline races submitters: queued jobs are cancelled, running ones finish; the
/// jobs' records settle exactly once whatever the report said at the deadline. (6 threads)
fn deadline_zero_races_submitters(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let ledger = Ledger::with_capacity(32);
    let threads = submitters(&pool, &ledger, 3, 3, Some(2));
    let report = pool.shutdown(Shutdown::Deadline(Duration::ZERO));
    assert!(report.adds_up(), "{report:?}");
    let seen = joined(threads);
    // The drop waits no longer for jobs a deadline gave up on; join the workers explicitly by
    // letting every clone go and waiting for the records.
    drop(pool);
    loop {
        let accepted: Vec<JobId> = seen.iter().flat_map(|s| s.accepted.clone()).collect();
        if ledger.tally(accepted).pending == 0 {
            break;
        }
        thread::yield_now();
    }
    check(&ledger, &seen, None, true);
}

/// Jobs that submit children from inside the pool (on the work-stealing pool they land on the
/// worker's own deque or LIFO slot) race a shrink and a graceful shutdown: a retiring worker
/// must hand its local jobs on, and a child is either run or refused back to its parent.
/// (main + 2 workers + resizer = 4 threads)
fn inner_submits_race_shrink_and_shutdown(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let ledger = Ledger::with_capacity(32);
    let children = Children::default();
    let mut parents = Vec::new();
    for _ in 0..2 {
        let (id, job) = ledger.parent_job(pool.clone(), 2, &children);
        parents.push(id);
        pool.execute(job).expect("running");
    }
    let resizing = resizer(&pool, [1]);
    let report = pool.shutdown(Shutdown::Graceful);
    resizing.join().unwrap();
    let mut accepted = parents;
    accepted.extend(children.accepted());
    let seen = [Seen {
        accepted,
        refused: children.refused(),
    }];
    check(&ledger, &seen, Some(&report), false);
}

/// Broadcasts race a grow, a shrink and a graceful shutdown: each returns (no worker is
/// forgotten, none waits for a broadcast job that nobody runs), refuses with `ShutDown` once
/// shutdown began, or gives one result per worker it reached, with distinct indices, each a
/// value or, for a worker that left at that moment, `Cancelled`.
/// (main + 2–3 workers + resizer + broadcaster ≤ 6 threads)
fn broadcast_races_resize_and_shutdown(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let resizing = resizer(&pool, [3, 1]);
    let caster = {
        let p = pool.clone();
        thread::spawn(move || {
            for _ in 0..2 {
                match p.broadcast(|w| w.index()) {
                    Ok(results) => {
                        assert!(!results.is_empty() && results.len() <= 3, "{results:?}");
                        let mut last = None;
                        for r in results {
                            match r {
                                Ok(i) => {
                                    assert!(last < Some(i), "indices distinct and in order");
                                    last = Some(i);
                                }
                                Err(e) => assert!(e.is_cancelled(), "{e:?}"),
                            }
                        }
                    }
                    Err(BroadcastError::ShutDown) => break,
                    Err(e) => panic!("broadcast: {e}"),
                }
            }
        })
    };
    resizing.join().unwrap();
    let report = pool.shutdown(Shutdown::Graceful);
    caster.join().unwrap();
    assert!(report.adds_up(), "{report:?}");
}

/// `wait_idle` races two submitters, and is called once more after they are done: that call
/// returns only once every accepted job has settled (no false "idle", no lost wake-up).
/// (main + 2 workers + 2 submitters + 1 waiter = 6 threads)
fn wait_idle_races_submitters(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let ledger = Ledger::with_capacity(32);
    let threads = submitters(&pool, &ledger, 2, 3, Some(1));
    let waiter = {
        let p = pool.clone();
        thread::spawn(move || p.wait_idle().expect("from outside the pool"))
    };
    let seen = joined(threads);
    waiter.join().unwrap();
    pool.wait_idle().expect("from outside the pool");
    let accepted: Vec<JobId> = seen.iter().flat_map(|s| s.accepted.clone()).collect();
    let tally = ledger.tally(accepted);
    assert_eq!(
        tally.pending, 0,
        "wait_idle returned with a job unfinished: {tally:?}"
    );
    let report = pool.shutdown(Shutdown::Graceful);
    check(&ledger, &seen, Some(&report), false);
}

/// Handles cancelled while two workers start their jobs: a cancel that says `Cancelled` is a
/// job that never ran; every other job ran once; the report counts each job once.
/// (main + 2 workers = 3 threads)
fn cancels_race_workers(kind: Strategy) {
    let pool = build(kind, PoolConfig::new().workers(2));
    let ledger = Ledger::with_capacity(8);
    let mut jobs = Vec::new();
    for _ in 0..4 {
        let token = ledger.token(false);
        let id = token.id();
        let handle = pool.spawn(move || token.run()).expect("running");
        jobs.push((id, handle));
    }
    let mut cancelled = 0;
    for (id, handle) in &jobs {
        if handle.cancel() == CancelOutcome::Cancelled {
            cancelled += 1;
            assert_eq!(
                ledger.outcome(*id),
                Outcome::Dropped,
                "job {id} ran after its cancel"
            );
        }
    }
    let report = pool.shutdown(Shutdown::Graceful);
    for (id, handle) in jobs {
        match handle.join() {
            Ok(v) => assert_eq!((v, ledger.outcome(id)), (id as u64 * 2, Outcome::Completed)),
            Err(e) => assert!(e.is_cancelled() && ledger.outcome(id) == Outcome::Dropped),
        }
    }
    assert!(report.adds_up(), "{report:?}");
    assert_eq!(
        (report.submitted, report.cancelled),
        (4, cancelled),
        "{report:?}"
    );
}

shoal_reliability::every_strategy!(
    super::explore;
    submitters_race_graceful_shutdown,
    submitters_race_two_shutdowns,
    resizers_race_submitters,
    resize_races_shutdown,
    bounded_backpressure_and_shutdown,
    nested_joins_with_submitter,
    deadline_zero_races_submitters,
    inner_submits_race_shrink_and_shutdown,
    broadcast_races_resize_and_shutdown,
    wait_idle_races_submitters,
    cancels_race_workers,
);
