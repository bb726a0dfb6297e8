//! Stress and soak: every strategy under sizes no unit test reaches. Every test is `#[ignore]`d
//! (a plain `cargo test` skips them), sized by `STRESS_SCALE` (unset: full size; `0`: the
//! smallest size that still takes every path), runs under a watchdog, and ends with the
//! accounting check: every job the pool accepted settled exactly once, and the pool's report
//! agrees with the jobs' own records.
//!
//! ```text
//! cargo test --release -p shoal-reliability --test stress -- --ignored            # full
//! STRESS_SCALE=0 cargo test --release -p shoal-reliability --test stress -- --include-ignored
//! ```
#![cfg(not(any(shoal_shuttle, shoal_loom)))]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use shoal_core::{
    Executor, ExecutorExt, JoinHandle, Rejected, ResizeError, Shutdown, ShutdownReport, MAX_WORKERS,
};
use shoal_reliability::scale::{is_short, scaled_usize};
use shoal_reliability::{
    check_final_report, eventually, quiet_expected_panics, watchdog, with_capacity, Children,
    JobId, Ledger, Outcome, PoolConfig, Strategy, Tally,
};

/// The watchdog's limit: generous, since full sizes run for minutes on 2 cores.
fn limit() -> Duration {
    if is_short() {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(1800)
    }
}

fn shared(kind: Strategy, spec: &PoolConfig) -> Arc<dyn Executor> {
    Arc::from(kind.build(spec).expect("build"))
}

/// A tiny deterministic generator (xorshift64*), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn log(line: String) {
    eprintln!("stress: {line}");
}

// ---------------------------------------------------------------------------------------------
// Millions of jobs, 10% panicking.

/// `n` jobs from two submitters, every tenth panicking; the panic handler, the report, the
/// metrics and the ledger must all agree.
fn ten_percent_panics(kind: Strategy) {
    quiet_expected_panics();
    let n = scaled_usize(4_000_000, 200_000) / 20 * 20;
    watchdog(&format!("ten_percent_panics {kind}"), limit(), move || {
        let handled = Arc::new(AtomicU64::new(0));
        let ledger = Ledger::with_capacity(n);
        let seen = handled.clone();
        let spec = PoolConfig::new()
            .workers(4)
            .queue_capacity(4096)
            .panic_handler(move |payload| {
                assert!(shoal_reliability::is_expected(payload));
                seen.fetch_add(1, Ordering::Relaxed);
            });
        let pool = shared(kind, &spec);
        let submitters: Vec<_> = (0..2)
            .map(|_| {
                let (pool, ledger) = (pool.clone(), ledger.clone());
                thread::spawn(move || {
                    for i in 0..n / 2 {
                        let (_, job) = ledger.job(i % 10 == 9);
                        pool.execute(job).expect("running pool accepts");
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().expect("submitter");
        }
        let report = pool.shutdown(Shutdown::Graceful);
        let tally = ledger.tally_all();
        check_final_report(&format!("ten_percent_panics {kind}"), &report, &tally);
        assert_eq!(tally.panicked, n as u64 / 10, "{kind}: panicking jobs");
        assert_eq!(
            handled.load(Ordering::Relaxed),
            n as u64 / 10,
            "{kind}: panic handler"
        );
        let m = pool.metrics();
        assert_eq!(
            (m.completed, m.panicked, m.submitted),
            (report.completed, report.panicked, n as u64)
        );
        log(format!(
            "{kind}: {n} jobs, {} panicked, 0 lost",
            tally.panicked
        ));
    });
}

// ---------------------------------------------------------------------------------------------
// Resize storms under load.

/// Two submitters push jobs (a fifth of which submit a child job from inside the pool) while
/// a resizer changes the size at random, invalid sizes included, and a reader takes metrics.
/// Shrinking retires workers that may hold local work; nothing may be lost.
fn resize_storm(kind: Strategy) {
    quiet_expected_panics();
    let jobs = scaled_usize(2_000_000, 40_000);
    let resizes = scaled_usize(20_000, 600);
    watchdog(&format!("resize_storm {kind}"), limit(), move || {
        // Top-level jobs, children, and margin.
        let ledger = Ledger::with_capacity(jobs * 2 + 16);
        let pool = shared(kind, &PoolConfig::new().workers(3).queue_capacity(256));
        let accepted = Arc::new(AtomicU64::new(0));
        let refused_children = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));

        let submitters: Vec<_> = (0..2u64)
            .map(|s| {
                let (pool, ledger, accepted, refused) = (
                    pool.clone(),
                    ledger.clone(),
                    accepted.clone(),
                    refused_children.clone(),
                );
                thread::spawn(move || {
                    let mut rng = Rng::new(s + 1);
                    for _ in 0..jobs / 2 {
                        let panics = rng.below(10) == 0;
                        let token = ledger.token(panics);
                        let job: shoal_core::Job = if rng.below(5) == 0 {
                            let (inner_pool, inner_ledger) = (pool.clone(), ledger.clone());
                            let (inner_accepted, inner_refused) =
                                (accepted.clone(), refused.clone());
                            Box::new(move || {
                                let (_, child) = inner_ledger.job(false);
                                match inner_pool.execute(child) {
                                    Ok(()) => {
                                        inner_accepted.fetch_add(1, Ordering::Relaxed);
                                    }
                                    // Only while shutting down; the child is dropped (recorded).
                                    Err(rej) => {
                                        assert!(rej.is_shutdown(), "{rej:?}");
                                        inner_refused.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                                drop(inner_pool);
                                token.run();
                            })
                        } else {
                            Box::new(move || {
                                token.run();
                            })
                        };
                        pool.execute(job).expect("running pool accepts");
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();

        let resizer = {
            let pool = pool.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(99);
                for i in 0..resizes {
                    let n = match rng.below(20) {
                        0 => 0,
                        1 => MAX_WORKERS + 1,
                        _ => 1 + rng.below(8) as usize,
                    };
                    match (n, pool.resize(n)) {
                        (0, Err(ResizeError::Zero)) => {}
                        (n, Err(ResizeError::TooMany { .. })) if n > MAX_WORKERS => {}
                        (n, Ok(())) if (1..=MAX_WORKERS).contains(&n) => {}
                        (n, r) => panic!("resize #{i} to {n}: {r:?}"),
                    }
                    if i % 8 == 0 {
                        thread::yield_now();
                    }
                }
            })
        };
        let reader = {
            let (pool, done) = (pool.clone(), done.clone());
            thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let m = pool.metrics();
                    assert!(m.completed + m.panicked + m.cancelled <= m.submitted + m.running + 64);
                    assert!(pool.workers() >= 1);
                    reads += 1;
                    thread::sleep(Duration::from_micros(200));
                }
                reads
            })
        };
        for s in submitters {
            s.join().expect("submitter");
        }
        resizer.join().expect("resizer");
        let report = pool.shutdown(Shutdown::Graceful);
        done.store(true, Ordering::Relaxed);
        let reads = reader.join().expect("reader");

        let tally = ledger.tally_all();
        let refused = refused_children.load(Ordering::Relaxed);
        assert_eq!(
            report.submitted,
            accepted.load(Ordering::Relaxed),
            "{kind}: submitted"
        );
        // Refused children were dropped unrun by their parents: the ledger has them as
        // dropped, the pool never saw them.
        let pool_side = Tally {
            dropped: tally.dropped - refused,
            ..tally
        };
        check_final_report(&format!("resize_storm {kind}"), &report, &pool_side);
        log(format!(
            "{kind}: {} jobs ({} children refused at shutdown), {resizes} resizes, {reads} \
             metrics reads, 0 lost",
            report.submitted, refused
        ));
    });
}

// ---------------------------------------------------------------------------------------------
// Shutdown racing submitters.

/// What one submitter did in a round.
#[derive(Default)]
struct Submitted {
    accepted: Vec<JobId>,
    refused: Vec<JobId>,
    handles: Vec<(JobId, JoinHandle<u64>)>,
}

/// Each round: four submitters (execute, try_execute with retries, spawn, and jobs that
/// submit from inside the pool) race two concurrent shutdowns in different modes. Every
/// accepted job settles once; every refused one comes back; both callers get a report.
fn shutdown_races_submitters(kind: Strategy) {
    quiet_expected_panics();
    let rounds = scaled_usize(1_000, 40);
    watchdog(
        &format!("shutdown_races_submitters {kind}"),
        limit(),
        move || {
            let mut totals = (0u64, 0u64, 0u64);
            for round in 0..rounds {
                let counts = race_round(kind, round);
                totals.0 += counts.0;
                totals.1 += counts.1;
                totals.2 += counts.2;
            }
            log(format!(
            "{kind}: {rounds} rounds, {} accepted, {} refused and handed back, {} cancelled, 0 lost",
            totals.0, totals.1, totals.2
        ));
        },
    );
}

const PER_SUBMITTER: usize = 4_000;

fn race_round(kind: Strategy, round: usize) -> (u64, u64, u64) {
    let mut rng = Rng::new(round as u64 + 7);
    let modes = [
        Shutdown::Graceful,
        Shutdown::Now,
        Shutdown::Deadline(Duration::ZERO),
        Shutdown::Deadline(Duration::from_millis(1)),
    ];
    let first = modes[round % 4];
    let second = modes[rng.below(4) as usize];
    let capacity = round
        .is_multiple_of(2)
        .then_some(1 + rng.below(16) as usize);
    let spec = with_capacity(PoolConfig::new().workers(1 + round % 4), capacity);
    let pool = shared(kind, &spec);
    let ledger = Ledger::with_capacity(4 * PER_SUBMITTER * 2 + 16);
    let children = Children::default();

    let submitters: Vec<_> = (0..4usize)
        .map(|s| {
            let (pool, ledger) = (pool.clone(), ledger.clone());
            let children = children.clone();
            thread::spawn(move || {
                let mut out = Submitted::default();
                for i in 0..PER_SUBMITTER {
                    let panics = i % 10 == 3;
                    let result: Result<JobId, (JobId, Rejected)> = match s {
                        0 => {
                            let (id, job) = ledger.job(panics);
                            pool.execute(job).map(|()| id).map_err(|r| (id, r))
                        }
                        1 => {
                            let (id, mut job) = ledger.job(panics);
                            loop {
                                match pool.try_execute(job) {
                                    Ok(()) => break Ok(id),
                                    Err(r) if r.is_full() => {
                                        job = r.into_job();
                                        thread::yield_now();
                                    }
                                    Err(r) => break Err((id, r)),
                                }
                            }
                        }
                        2 => {
                            let token = ledger.token(panics);
                            let id = token.id();
                            match pool.spawn(move || token.run()) {
                                Ok(h) => {
                                    out.handles.push((id, h));
                                    Ok(id)
                                }
                                Err(r) => Err((id, r)),
                            }
                        }
                        _ => {
                            // A job that submits a child from inside the pool.
                            let (id, job) = ledger.parent_job(pool.clone(), 1, &children);
                            pool.execute(job).map(|()| id).map_err(|r| (id, r))
                        }
                    };
                    match result {
                        Ok(id) => out.accepted.push(id),
                        Err((id, rej)) => {
                            assert!(rej.is_shutdown(), "refused for {:?}", rej.reason());
                            // Handed back whole: dropping it records the drop.
                            drop(rej.into_job());
                            out.refused.push(id);
                            break;
                        }
                    }
                }
                out
            })
        })
        .collect();

    // Shut down once some work is in, from two threads at once.
    let trigger = rng.below(300) as usize;
    eventually("submissions started", Duration::from_secs(30), || {
        ledger.len() >= trigger
    });
    let other = {
        let pool = pool.clone();
        thread::spawn(move || pool.shutdown(second))
    };
    let report: ShutdownReport = pool.shutdown(first);
    let other_report = other.join().expect("second shutdown");
    let outs: Vec<Submitted> = submitters
        .into_iter()
        .map(|s| s.join().expect("submitter"))
        .collect();
    // A job still running at a deadline holds a clone of the pool; drop ours and wait.
    drop(pool);

    let mut accepted: Vec<JobId> = outs.iter().flat_map(|o| o.accepted.clone()).collect();
    let refused: Vec<JobId> = outs.iter().flat_map(|o| o.refused.clone()).collect();
    // Wait for the accepted parents first: they decide the children's fate.
    ledger.wait_settled(&accepted, Duration::from_secs(60));
    accepted.extend(children.accepted());
    ledger.wait_settled(&accepted, Duration::from_secs(60));
    let ctx = format!("race {kind} round {round} ({first:?} vs {second:?}, {spec:?})");
    assert!(
        report.adds_up() && other_report.adds_up(),
        "{ctx}: {report:?} {other_report:?}"
    );

    let tally = ledger.tally(accepted.iter().copied());
    assert_eq!(
        (tally.pending, tally.duplicated),
        (0, 0),
        "{ctx}: {tally:?}"
    );
    let refused_inside = children.refused();
    for &id in refused.iter().chain(&refused_inside) {
        assert_eq!(ledger.events(id), 1, "{ctx}: refused job {id}");
        assert_eq!(
            ledger.outcome(id),
            Outcome::Dropped,
            "{ctx}: refused job {id}"
        );
    }
    let deadline = |m: Shutdown| matches!(m, Shutdown::Deadline(_));
    let graceful_only = matches!((first, second), (Shutdown::Graceful, Shutdown::Graceful));
    if graceful_only {
        assert_eq!(tally.dropped, 0, "{ctx}: graceful shutdowns cancelled jobs");
    }
    if !deadline(first) && !deadline(second) {
        // Both calls waited for every worker: their report is final and exact.
        check_final_report(&ctx, &report, &tally);
        assert_eq!(
            report, other_report,
            "{ctx}: the two callers' reports differ"
        );
    }
    for o in outs {
        for (id, h) in o.handles {
            let r = h.join();
            let ok = match ledger.outcome(id) {
                Outcome::Completed => matches!(r, Ok(v) if v == id as u64 * 2),
                Outcome::Panicked => matches!(&r, Err(e) if e.is_panic()),
                Outcome::Dropped => matches!(&r, Err(e) if e.is_cancelled()),
                Outcome::Pending => false,
            };
            assert!(
                ok,
                "{ctx}: handle of job {id} gave {r:?}, ledger {:?}",
                ledger.outcome(id)
            );
        }
    }
    let all = ledger.tally_all();
    assert_eq!(
        (all.pending, all.duplicated),
        (0, 0),
        "{ctx}: every job ever made: {all:?}"
    );
    (
        accepted.len() as u64,
        (refused.len() + refused_inside.len()) as u64,
        tally.dropped,
    )
}

// ---------------------------------------------------------------------------------------------
// Nesting thousands deep.

/// Worker stacks for the nesting tests: a wait inside a worker runs the awaited job on the
/// same stack, so a chain `depth` long nests `depth` job frames on one thread.
const DEEP_STACK: usize = 512 << 20;

fn chain(pool: &Arc<dyn Executor>, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    let next = pool.clone();
    let handle = pool
        .spawn(move || chain(&next, depth - 1) + 1)
        .expect("running pool accepts");
    handle.join().expect("no panic in the chain")
}

fn tree(pool: &Arc<dyn Executor>, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (a, b) = (pool.clone(), pool.clone());
    let left = pool.spawn(move || tree(&a, depth - 1)).expect("accepts");
    let right = pool.spawn(move || tree(&b, depth - 1)).expect("accepts");
    left.join().expect("left") + right.join().expect("right")
}

fn nested_scopes(exec: &dyn Executor, depth: usize) -> usize {
    if depth == 0 {
        return 0;
    }
    exec.scope(|s| s.spawn(|_| nested_scopes(exec, depth - 1) + 1).join())
        .expect("no panic in the nest")
}

/// Runs `f` in a job on `pool`, handing it the pool, and returns what it returned: a
/// recursion that starts inside a worker.
fn on_worker<T: Send + 'static>(
    pool: &Arc<dyn Executor>,
    f: impl FnOnce(Arc<dyn Executor>) -> T + Send + 'static,
) -> T {
    let p = pool.clone();
    let handle = pool.spawn(move || f(p)).expect("accepts");
    handle.join().expect("no panic on the worker")
}

/// A job chain (each job spawns the next and joins it) thousands deep, a binary join tree of
/// thousands of jobs, and borrowing scopes nested thousands deep, from inside the pool, where
/// every wait helps. Ends with the report: every job completed.
fn nested_deep(kind: Strategy) {
    let depth = scaled_usize(10_000, 2_000);
    let tree_depth: u32 = if is_short() { 12 } else { 16 };
    watchdog(&format!("nested_deep {kind}"), limit(), move || {
        let pool = shared(kind, &PoolConfig::new().workers(2).stack_size(DEEP_STACK));
        let got = on_worker(&pool, move |p| chain(&p, depth));
        assert_eq!(got, depth, "{kind}: chain");
        let leaves = on_worker(&pool, move |p| tree(&p, tree_depth));
        assert_eq!(leaves, 1 << tree_depth, "{kind}: tree");
        let nest = on_worker(&pool, move |p| nested_scopes(&*p, depth));
        assert_eq!(nest, depth, "{kind}: nested scopes");
        let report = pool.shutdown(Shutdown::Graceful);
        let expected = (depth + 1) as u64 + ((2u64 << tree_depth) - 1) + (depth + 1) as u64;
        assert_eq!(report.completed, expected, "{kind}: {report:?}");
        assert!(report.adds_up() && report.cancelled == 0 && report.panicked == 0);
        log(format!(
            "{kind}: chain {depth} deep, tree of {} jobs, scopes {depth} deep",
            (2u64 << tree_depth) - 1
        ));
    });
}

/// ScopedPool's own fork-join: `join` recursion and `scope` nesting thousands deep, from the
/// outside (through `install`) and from inside a job.
#[test]
#[ignore = "stress: run with --ignored (cargo xtask stress), STRESS_SCALE sizes it"]
fn scope_forkjoin_deep() {
    let depth = scaled_usize(20_000, 2_000);
    watchdog("scope_forkjoin_deep", limit(), move || {
        let pool = Arc::new(
            shoal_scope::ScopedPool::builder()
                .workers(2)
                .stack_size(DEEP_STACK)
                .build()
                .expect("build"),
        );
        fn rec(pool: &shoal_scope::ScopedPool, d: usize) -> usize {
            if d == 0 {
                return 0;
            }
            let (a, b) = pool.join(|| rec(pool, d - 1), || 1);
            a + b
        }
        fn nest(pool: &shoal_scope::ScopedPool, d: usize) -> usize {
            if d == 0 {
                return 0;
            }
            let mut r = 0;
            let slot = &mut r;
            pool.fork_scope(|s| s.spawn(move |_| *slot = nest(pool, d - 1) + 1));
            r
        }
        assert_eq!(pool.install(|| rec(&pool, depth)), depth);
        assert_eq!(nest(&pool, depth), depth);
        let p = pool.clone();
        let inside = pool
            .spawn(move || rec(&p, depth) + nest(&p, depth))
            .expect("accepts")
            .join()
            .expect("no panic");
        assert_eq!(inside, 2 * depth);
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up() && report.completed == 1, "{report:?}");
        log(format!("scope: join and scope recursion {depth} deep"));
    });
}

// ---------------------------------------------------------------------------------------------
// The worker limit itself.

/// `workers(MAX_WORKERS)` (4096 threads, small stacks): the limit is accepted, the pool runs
/// jobs, shrinks to one worker and shuts down. (In the bad-input campaign in spirit; here
/// because 4096 threads take a while to start and stop on 2 cores.)
fn workers_at_the_limit(kind: Strategy) {
    watchdog(
        &format!("workers_at_the_limit {kind}"),
        limit(),
        move || {
            let start = std::time::Instant::now();
            let pool = shared(
                kind,
                &PoolConfig::new().workers(MAX_WORKERS).stack_size(128 << 10),
            );
            let built = start.elapsed();
            assert_eq!(pool.workers(), MAX_WORKERS);
            let sum: usize = pool.map(0..10_000usize, |x| x).map(Result::unwrap).sum();
            assert_eq!(sum, 9_999 * 10_000 / 2);
            pool.resize(1).expect("shrink");
            assert_eq!(pool.spawn(|| 2).unwrap().join().unwrap(), 2);
            let report = pool.shutdown(Shutdown::Graceful);
            // `map` submits a few jobs that loop over chunks, not one per item: every job
            // completed.
            assert!(
                report.adds_up() && report.completed == report.submitted,
                "{report:?}"
            );
            log(format!(
                "{kind}: {MAX_WORKERS} workers built in {built:?}, whole test {:?}",
                start.elapsed()
            ));
        },
    );
}

macro_rules! every_strategy {
    ($($test:ident => $body:ident($kind:ident);)*) => {$(
        #[test]
        #[ignore = "stress: run with --ignored (cargo xtask stress), STRESS_SCALE sizes it"]
        fn $test() {
            $body(Strategy::$kind);
        }
    )*};
}

every_strategy! {
    ten_percent_panics_queue => ten_percent_panics(Queue);
    ten_percent_panics_steal => ten_percent_panics(Steal);
    ten_percent_panics_steal_lifo => ten_percent_panics(StealLifo);
    ten_percent_panics_scope => ten_percent_panics(Scope);
    resize_storm_queue => resize_storm(Queue);
    resize_storm_steal => resize_storm(Steal);
    resize_storm_steal_lifo => resize_storm(StealLifo);
    resize_storm_scope => resize_storm(Scope);
    shutdown_races_submitters_queue => shutdown_races_submitters(Queue);
    shutdown_races_submitters_steal => shutdown_races_submitters(Steal);
    shutdown_races_submitters_steal_lifo => shutdown_races_submitters(StealLifo);
    shutdown_races_submitters_scope => shutdown_races_submitters(Scope);
    nested_deep_queue => nested_deep(Queue);
    nested_deep_steal => nested_deep(Steal);
    nested_deep_steal_lifo => nested_deep(StealLifo);
    nested_deep_scope => nested_deep(Scope);
    workers_at_the_limit_queue => workers_at_the_limit(Queue);
    workers_at_the_limit_steal => workers_at_the_limit(Steal);
    workers_at_the_limit_steal_lifo => workers_at_the_limit(StealLifo);
    workers_at_the_limit_scope => workers_at_the_limit(Scope);
}
