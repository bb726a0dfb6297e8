//! Model-based random testing: random operation sequences against every strategy, checked step
//! by step against a reference model of the accounting.
//!
//! The model is deliberately tiny. It knows whether the pool is running, its target size,
//! whether the queue is bounded, and which jobs the pool accepted or refused. From that it
//! predicts every answer the pool must give (accepted or refused and why, the value or panic a
//! handle returns, the order `map` yields, a resize's result) and, at the end, what must have
//! happened to every job: each accepted job completed, panicked or was cancelled **exactly
//! once** (cancelled only if a `Now` or `Deadline` shutdown came first); each refused job came
//! back to the caller, who ran it. The pool's reports and metrics must agree with the jobs'
//! own records ([`Ledger`]).
//!
//! `map` items are not jobs: `map` runs them in chunks, some on the calling thread. Each item
//! must run exactly once (or, on a pool that refused it, be dropped unrun), and the jobs a
//! `map` submitted (counted by how much `metrics().submitted` grew during it) must each end
//! once, with one panic per panicking item unless a `Now` or `Deadline` shutdown cancelled
//! some of them first.
//!
//! proptest generates the sequences and, when one fails, shrinks it to a minimal failing
//! sequence, printed with the seed that found it. Knobs: `SHOAL_MODEL_CASES` (sequences per
//! strategy, default 128), `SHOAL_MODEL_SEED` (replay a run).
#![cfg(not(any(shoal_shuttle, shoal_loom)))]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestError, TestRunner};
use shoal_core::{Executor, ExecutorExt, JoinHandle, RejectReason, ResizeError, Shutdown};
use shoal_reliability::scale::model_cases;
use shoal_reliability::{
    eventually, quiet_expected_panics, watchdog, with_capacity, Gate, JobId, Ledger, Outcome,
    PoolConfig, Strategy as PoolKind, Tally, EXPECTED, EXPECTED_TO_FAIL,
};

/// How a shutdown op stops the pool.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Graceful,
    Now,
    /// Milliseconds.
    Deadline(u8),
}

impl Mode {
    fn shutdown(self) -> Shutdown {
        match self {
            Mode::Graceful => Shutdown::Graceful,
            Mode::Now => Shutdown::Now,
            Mode::Deadline(ms) => Shutdown::Deadline(Duration::from_millis(u64::from(ms))),
        }
    }
}

/// One operation of a sequence.
#[derive(Clone, Debug)]
enum Op {
    /// `execute` one job.
    Execute { panics: bool },
    /// `try_execute` one job.
    TryExecute { panics: bool },
    /// `spawn` one job and join it at once.
    SpawnJoin { panics: bool },
    /// `spawn` one job; its handle is joined after the pool is gone.
    SpawnLater { panics: bool },
    /// `map` over `items` jobs, job `panic_at` panicking, with an explicit window (0 included).
    Map {
        items: u8,
        window: Option<u8>,
        panic_at: Option<u8>,
        unordered: bool,
    },
    /// `resize(n)`, 0 included.
    Resize(usize),
    /// Block every worker at a gate and `try_execute` gated jobs until the bounded queue says
    /// `Full` (no-op on an unbounded queue).
    FillUntilFull,
    /// `shutdown(mode)`.
    Shutdown(Mode),
    /// Drop the pool (a graceful shutdown); ends the sequence.
    Drop,
}

#[derive(Clone, Debug)]
struct Case {
    workers: usize,
    capacity: Option<usize>,
    ops: Vec<Op>,
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::Graceful),
        Just(Mode::Now),
        prop_oneof![Just(0u8), Just(1), Just(5)].prop_map(Mode::Deadline),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let panics = || proptest::bool::weighted(0.15);
    prop_oneof![
        6 => panics().prop_map(|panics| Op::Execute { panics }),
        3 => panics().prop_map(|panics| Op::TryExecute { panics }),
        3 => panics().prop_map(|panics| Op::SpawnJoin { panics }),
        2 => panics().prop_map(|panics| Op::SpawnLater { panics }),
        2 => (0u8..6, proptest::option::of(0u8..4), proptest::option::weighted(0.3, 0u8..6), any::<bool>())
            .prop_map(|(items, window, panic_at, unordered)| Op::Map { items, window, panic_at, unordered }),
        3 => (0usize..=6).prop_map(Op::Resize),
        2 => Just(Op::FillUntilFull),
        1 => mode().prop_map(Op::Shutdown),
        1 => Just(Op::Drop),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..=4,
        proptest::option::weighted(0.5, 1usize..=4),
        proptest::collection::vec(op(), 1..48),
    )
        .prop_map(|(workers, capacity, ops)| Case {
            workers,
            capacity,
            ops,
        })
}

/// Most jobs a `FillUntilFull` may submit before the pool must have said `Full`.
const FILL_LIMIT: usize = 512;
/// How long the model waits for what settles eventually: a job a deadline gave up on (it is
/// never blocked), counters catching up with the jobs' own records.
const PATIENCE: Duration = Duration::from_secs(20);

/// The reference model's state, and what it expects of every job.
struct Model {
    /// The pool under test, for messages.
    name: String,
    /// How long to wait for what settles eventually.
    patience: Duration,
    ledger: Ledger,
    running: bool,
    bounded: bool,
    /// Jobs the pool accepted.
    accepted: Vec<JobId>,
    /// Jobs the pool refused and handed back (the model ran them itself).
    handed_back: Vec<JobId>,
    /// `map` items on a pool that refused them: their tokens are dropped unrun.
    refused_items: Vec<JobId>,
    /// `map` items on a running pool: each must have run exactly once.
    map_items: Vec<JobId>,
    /// Jobs the pool accepted from `map`s (chunks and panic reports).
    map_jobs: u64,
    /// Panicking `map` items on a running pool: the pool counts one panic for each.
    map_panics: u64,
    /// Spawned jobs whose handles are joined at the very end.
    later: Vec<(JobId, JoinHandle<u64>)>,
    /// Refusals the pool must have counted in `metrics().rejected`.
    rejected: u64,
    /// A `Now` or `Deadline` shutdown happened: accepted jobs may have been cancelled.
    may_cancel: bool,
    /// A deadline passed with jobs possibly still running: reports stop being final.
    deadline_used: bool,
    /// The first report that waited for every worker.
    final_report: Option<shoal_core::ShutdownReport>,
}

impl Model {
    fn ctx(&self, step: usize, op: &Op) -> String {
        format!("[{}] step {step} {op:?}", self.name)
    }

    /// Runs a job the pool handed back, on this thread, and checks it is the job we gave it.
    fn take_back(&mut self, id: JobId, job: shoal_core::Job, ctx: &str) {
        assert_eq!(
            self.ledger.events(id),
            0,
            "{ctx}: a refused job had already run or been dropped"
        );
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        assert_eq!(
            self.ledger.events(id),
            1,
            "{ctx}: the handed-back job is not the one submitted"
        );
        assert!(matches!(
            self.ledger.outcome(id),
            Outcome::Completed | Outcome::Panicked
        ));
        self.handed_back.push(id);
        self.rejected += 1;
    }

    fn refused(&mut self, result: Result<(), shoal_core::Rejected>, id: JobId, ctx: &str) {
        match result {
            Ok(()) => panic!("{ctx}: accepted after shutdown"),
            Err(rej) => {
                assert_eq!(rej.reason(), RejectReason::ShutDown, "{ctx}");
                self.take_back(id, rej.into_job(), ctx);
            }
        }
    }

    fn step(&mut self, pool: &dyn Executor, step: usize, op: &Op) {
        let ctx = self.ctx(step, op);
        match *op {
            Op::Execute { panics } => {
                let (id, job) = self.ledger.job(panics);
                let result = pool.execute(job);
                if self.running {
                    assert!(result.is_ok(), "{ctx}: a running pool refused: {result:?}");
                    self.accepted.push(id);
                } else {
                    self.refused(result, id, &ctx);
                }
            }
            Op::TryExecute { panics } => {
                let (id, job) = self.ledger.job(panics);
                match pool.try_execute(job) {
                    Ok(()) => {
                        assert!(self.running, "{ctx}: accepted after shutdown");
                        self.accepted.push(id);
                    }
                    Err(rej) => {
                        let expected = if !self.running {
                            RejectReason::ShutDown
                        } else {
                            assert!(self.bounded, "{ctx}: an unbounded queue refused");
                            RejectReason::Full
                        };
                        assert_eq!(rej.reason(), expected, "{ctx}");
                        self.take_back(id, rej.into_job(), &ctx);
                    }
                }
            }
            Op::SpawnJoin { panics } | Op::SpawnLater { panics } => {
                let token = self.ledger.token(panics);
                let id = token.id();
                match pool.spawn(move || token.run()) {
                    Ok(handle) => {
                        assert!(self.running, "{ctx}: accepted after shutdown");
                        self.accepted.push(id);
                        if matches!(op, Op::SpawnJoin { .. }) {
                            check_join(handle.join(), id, Outcome::from_panics(panics), &ctx);
                        } else {
                            self.later.push((id, handle));
                        }
                    }
                    Err(rej) => {
                        assert!(!self.running, "{ctx}: a running pool refused: {rej:?}");
                        assert_eq!(rej.reason(), RejectReason::ShutDown, "{ctx}");
                        self.take_back(id, rej.into_job(), &ctx);
                    }
                }
            }
            Op::Map {
                items,
                window,
                panic_at,
                unordered,
            } => self.map(pool, items, window, panic_at, unordered, &ctx),
            Op::Resize(n) => {
                let result = pool.resize(n);
                match (n, self.running) {
                    (0, _) => assert!(
                        matches!(result, Err(ResizeError::Zero)),
                        "{ctx}: {result:?}"
                    ),
                    (_, true) => {
                        assert!(result.is_ok(), "{ctx}: {result:?}");
                        assert_eq!(pool.workers(), n, "{ctx}: workers() after resize");
                    }
                    (_, false) => {
                        assert!(
                            matches!(result, Err(ResizeError::ShutDown)),
                            "{ctx}: {result:?}"
                        )
                    }
                }
            }
            Op::FillUntilFull => self.fill(pool, &ctx),
            Op::Shutdown(mode) => self.shutdown(pool, mode, &ctx),
            Op::Drop => unreachable!("handled by the runner"),
        }
    }

    fn map(
        &mut self,
        pool: &dyn Executor,
        items: u8,
        window: Option<u8>,
        panic_at: Option<u8>,
        unordered: bool,
        ctx: &str,
    ) {
        let tokens: Vec<_> = (0..items)
            .map(|i| self.ledger.token(Some(i) == panic_at))
            .collect();
        let expect: Vec<(JobId, Outcome)> = tokens
            .iter()
            .map(|t| (t.id(), Outcome::from_panics(t.panics())))
            .collect();
        let f = |t: shoal_reliability::Token| t.run();
        let submitted_before = pool.metrics().submitted;
        let results: Vec<_> = match (unordered, window) {
            (false, None) => pool.map(tokens, f).collect(),
            (false, Some(w)) => pool.map(tokens, f).window(usize::from(w)).collect(),
            (true, None) => pool.map_unordered(tokens, f).collect(),
            (true, Some(w)) => pool
                .map_unordered(tokens, f)
                .window(usize::from(w))
                .collect(),
        };
        assert_eq!(results.len(), expect.len(), "{ctx}: one result per item");
        // This thread is the only one that submits: what the count grew by is the map's jobs.
        self.map_jobs += pool.metrics().submitted - submitted_before;
        if !self.running {
            for (r, (id, _)) in results.iter().zip(&expect) {
                assert!(
                    matches!(r, Err(e) if e.is_cancelled()),
                    "{ctx}: a refused item must yield Cancelled"
                );
                assert_eq!(self.ledger.outcome(*id), Outcome::Dropped, "{ctx}");
                self.refused_items.push(*id);
                // Nothing ran, so every chunk held one item: one refused job per item.
                self.rejected += 1;
            }
            return;
        }
        if let Some((r, id)) = results
            .iter()
            .zip(&expect)
            .find_map(|(r, &(id, _))| matches!(r, Err(e) if e.is_cancelled()).then_some((r, id)))
        {
            panic!("{ctx}: a running pool lost the job of map item {id}: {r:?}");
        }
        if unordered {
            let mut got: Vec<Option<u64>> = results
                .into_iter()
                .map(|r| match r {
                    Ok(v) => Some(v),
                    Err(e) => {
                        assert!(e.is_panic(), "{ctx}: {e:?}");
                        None
                    }
                })
                .collect();
            let mut want: Vec<Option<u64>> = expect
                .iter()
                .map(|&(id, o)| (o == Outcome::Completed).then_some(id as u64 * 2))
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{ctx}: map_unordered results");
        } else {
            for (r, &(id, outcome)) in results.into_iter().zip(&expect) {
                check_join(r, id, outcome, ctx);
            }
        }
        self.map_panics += expect
            .iter()
            .filter(|&&(_, o)| o == Outcome::Panicked)
            .count() as u64;
        self.map_items.extend(expect.iter().map(|&(id, _)| id));
    }

    /// Whether the pool's counts are the accepted jobs' (`tally`) plus a fitting outcome for
    /// each `map` job: completed, panicked (one per panicking item unless some were
    /// cancelled) or cancelled (only after `Now` or `Deadline`).
    fn counts_fit(
        &self,
        tally: &Tally,
        submitted: u64,
        completed: u64,
        panicked: u64,
        cancelled: u64,
    ) -> bool {
        if submitted != self.accepted.len() as u64 + self.map_jobs
            || completed < tally.completed
            || panicked < tally.panicked
            || cancelled < tally.dropped
        {
            return false;
        }
        let (c, p, x) = (
            completed - tally.completed,
            panicked - tally.panicked,
            cancelled - tally.dropped,
        );
        let exact_panics = if self.may_cancel {
            p <= self.map_panics
        } else {
            x == 0 && p == self.map_panics
        };
        c + p + x == self.map_jobs && exact_panics
    }

    fn fill(&mut self, pool: &dyn Executor, ctx: &str) {
        if !self.bounded {
            return;
        }
        let gate = Gate::new();
        let opener = gate.opener();
        let mut overflow = None;
        for _ in 0..FILL_LIMIT {
            let (id, job) = self.ledger.gated_job(&gate, false);
            match pool.try_execute(job) {
                Ok(()) => {
                    assert!(self.running, "{ctx}: accepted after shutdown");
                    self.accepted.push(id);
                }
                Err(rej) => {
                    let expected = if self.running {
                        RejectReason::Full
                    } else {
                        RejectReason::ShutDown
                    };
                    assert_eq!(rej.reason(), expected, "{ctx}");
                    overflow = Some((id, rej.into_job()));
                    break;
                }
            }
        }
        drop(opener);
        let Some((id, job)) = overflow else {
            panic!("{ctx}: {FILL_LIMIT} try_execute calls on a bounded queue never gave Full");
        };
        self.take_back(id, job, ctx);
    }

    fn shutdown(&mut self, pool: &dyn Executor, mode: Mode, ctx: &str) {
        let report = pool.shutdown(mode.shutdown());
        assert!(report.adds_up(), "{ctx}: {report:?}");
        assert_eq!(
            report.submitted,
            self.accepted.len() as u64 + self.map_jobs,
            "{ctx}: submitted"
        );
        if let Some(first) = self.final_report {
            assert_eq!(report, first, "{ctx}: a later shutdown's report changed");
            return;
        }
        if self.running {
            self.running = false;
            match mode {
                Mode::Graceful => {
                    assert_eq!(report.cancelled, 0, "{ctx}: graceful cancelled jobs");
                }
                Mode::Now => self.may_cancel = true,
                Mode::Deadline(_) => {
                    self.may_cancel = true;
                    self.deadline_used = true;
                }
            }
        }
        if self.deadline_used {
            // Once a deadline gave up on running jobs, later calls return at once; the
            // final check waits for the jobs to settle instead.
            return;
        }
        let tally = self.ledger.tally(self.accepted.clone());
        let fits = report.still_running == 0
            && tally.pending == 0
            && tally.duplicated == 0
            && self.counts_fit(
                &tally,
                report.submitted,
                report.completed,
                report.panicked,
                report.cancelled,
            );
        assert!(
            fits,
            "{ctx}: the pool's report and the jobs' own records disagree\n  report: \
             {report:?}\n  ledger: {tally:?}, map jobs {}, panicking map items {}",
            self.map_jobs, self.map_panics
        );
        self.final_report = Some(report);
    }

    /// Before the pool goes: once every accepted job settled, the metrics must match the
    /// ledger exactly.
    fn check_metrics(&self, pool: &dyn Executor, ctx: &str) {
        self.ledger.wait_settled(&self.accepted, self.patience);
        let tally = self.ledger.tally(self.accepted.clone());
        assert_eq!(tally.duplicated, 0, "{ctx}: a job settled twice");
        let matches = |m: &shoal_core::Metrics| {
            self.counts_fit(&tally, m.submitted, m.completed, m.panicked, m.cancelled)
                && m.rejected == self.rejected
                && m.running == 0
                && m.queued == 0
        };
        // Counters are bumped just after a job records itself: let them catch up.
        let limit = self.patience;
        let start = std::time::Instant::now();
        loop {
            let m = pool.metrics();
            if matches(&m) {
                return;
            }
            if start.elapsed() > limit {
                panic!(
                    "{ctx}: metrics disagree with the jobs' records\n  metrics: {m:?}\n  \
                     ledger: {tally:?}, rejected (model) {}, map jobs {}, panicking map items {}",
                    self.rejected, self.map_jobs, self.map_panics
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// After the pool is gone: every job of the sequence is accounted for exactly once.
    fn check_end(self, ctx: &str) {
        self.ledger.wait_settled(&self.accepted, self.patience);
        let tally = self.ledger.tally(self.accepted.clone());
        assert_eq!(tally.duplicated, 0, "{ctx}: a job settled twice: {tally:?}");
        assert_eq!(
            tally.pending, 0,
            "{ctx}: an accepted job was lost: {tally:?}"
        );
        if !self.may_cancel {
            assert_eq!(
                tally.dropped, 0,
                "{ctx}: jobs were cancelled without Now or Deadline: {tally:?}"
            );
        }
        for &id in &self.handed_back {
            assert_eq!(self.ledger.events(id), 1, "{ctx}: handed-back job {id}");
        }
        for &id in &self.refused_items {
            assert_eq!(self.ledger.events(id), 1, "{ctx}: refused item {id}");
            assert_eq!(self.ledger.outcome(id), Outcome::Dropped, "{ctx}");
        }
        for &id in &self.map_items {
            assert_eq!(self.ledger.events(id), 1, "{ctx}: map item {id}");
            assert!(
                matches!(
                    self.ledger.outcome(id),
                    Outcome::Completed | Outcome::Panicked
                ),
                "{ctx}: map item {id} did not run"
            );
        }
        for (id, handle) in self.later {
            let outcome = self.ledger.outcome(id);
            check_join(handle.join(), id, outcome, ctx);
        }
        let all = self.ledger.tally_all();
        assert_eq!(
            (all.pending, all.duplicated),
            (0, 0),
            "{ctx}: every job ever made must have settled exactly once: {all:?}"
        );
    }
}

trait FromPanics {
    fn from_panics(panics: bool) -> Outcome;
}

impl FromPanics for Outcome {
    fn from_panics(panics: bool) -> Outcome {
        if panics {
            Outcome::Panicked
        } else {
            Outcome::Completed
        }
    }
}

/// A handle's (or an ordered `map` item's) result must say what the job recorded.
fn check_join(result: Result<u64, shoal_core::TaskError>, id: JobId, outcome: Outcome, ctx: &str) {
    match (outcome, result) {
        (Outcome::Completed, Ok(v)) => assert_eq!(v, id as u64 * 2, "{ctx}: job {id}'s value"),
        (Outcome::Panicked, Err(e)) if e.is_panic() => assert!(
            e.panic_message().is_some_and(|m| m.contains(EXPECTED)),
            "{ctx}: job {id}'s panic message: {e:?}"
        ),
        (Outcome::Dropped, Err(e)) if e.is_cancelled() => {}
        (outcome, result) => {
            panic!("{ctx}: job {id} recorded {outcome:?} but its handle gave {result:?}")
        }
    }
}

/// What the model runs against: a real pool, or one made to lose a job (to show that the
/// model catches it and shrinks the sequence that shows it).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Subject {
    Real,
    /// Silently drops the third job it accepts.
    Lossy,
}

/// An executor that drops the third job it accepts and says it queued it: the bug class the
/// campaign exists to catch.
struct Lossy {
    inner: Box<dyn Executor>,
    accepted: AtomicU64,
}

impl Lossy {
    fn lose(&self, job: shoal_core::Job) -> Option<shoal_core::Job> {
        // ORDERING: one thread submits in the model; SeqCst for simplicity.
        if self.accepted.fetch_add(1, Ordering::SeqCst) == 2 {
            drop(job);
            None
        } else {
            Some(job)
        }
    }
}

impl Executor for Lossy {
    fn execute(&self, job: shoal_core::Job) -> Result<(), shoal_core::Rejected> {
        match self.lose(job) {
            Some(job) => self.inner.execute(job),
            None => Ok(()),
        }
    }
    fn try_execute(&self, job: shoal_core::Job) -> Result<(), shoal_core::Rejected> {
        match self.lose(job) {
            Some(job) => self.inner.try_execute(job),
            None => Ok(()),
        }
    }
    fn workers(&self) -> usize {
        self.inner.workers()
    }
    fn resize(&self, n: usize) -> Result<(), ResizeError> {
        self.inner.resize(n)
    }
    fn shutdown(&self, mode: Shutdown) -> shoal_core::ShutdownReport {
        self.inner.shutdown(mode)
    }
    fn metrics(&self) -> shoal_core::Metrics {
        self.inner.metrics()
    }
}

/// Runs one sequence; returns the operations run and the jobs made.
fn run_case(kind: PoolKind, subject: Subject, patience: Duration, case: &Case) -> (u64, u64) {
    let ledger = Ledger::with_capacity(case.ops.len() * (FILL_LIMIT + 8) + 64);
    let real = kind
        .build(&with_capacity(
            PoolConfig::new().workers(case.workers),
            case.capacity,
        ))
        .expect("build");
    let pool: Box<dyn Executor> = match subject {
        Subject::Real => real,
        Subject::Lossy => Box::new(Lossy {
            inner: real,
            accepted: AtomicU64::new(0),
        }),
    };
    let name = match subject {
        Subject::Real => kind.to_string(),
        Subject::Lossy => format!("{kind}, lossy"),
    };
    let mut model = Model {
        name: name.clone(),
        patience,
        ledger,
        running: true,
        bounded: case.capacity.is_some(),
        accepted: Vec::new(),
        handed_back: Vec::new(),
        refused_items: Vec::new(),
        map_items: Vec::new(),
        map_jobs: 0,
        map_panics: 0,
        later: Vec::new(),
        rejected: 0,
        may_cancel: false,
        deadline_used: false,
        final_report: None,
    };
    let mut pool = Some(pool);
    let mut ops = 0;
    for (step, op) in case.ops.iter().enumerate() {
        ops += 1;
        if let Op::Drop = op {
            let p = pool.take().expect("one drop");
            model.check_metrics(&*p, &model.ctx(step, op));
            drop(p);
            break;
        }
        model.step(&**pool.as_ref().expect("alive"), step, op);
    }
    if let Some(p) = pool.take() {
        model.check_metrics(&*p, &format!("[{name}] end of sequence"));
        drop(p);
    }
    let jobs = model.ledger.len() as u64;
    model.check_end(&format!("[{name}] after drop"));
    (ops, jobs)
}

fn seed() -> u64 {
    std::env::var("SHOAL_MODEL_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        })
}

/// Runs the model's random sequences against `kind`; returns proptest's verdict with the
/// numbers of operations and jobs tried.
fn explore(
    kind: PoolKind,
    subject: Subject,
    cases: u32,
    seed: u64,
    patience: Duration,
) -> (Result<(), TestError<Case>>, u64, u64) {
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 4096,
        max_shrink_time: 300_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let (ops, jobs) = (AtomicU64::new(0), AtomicU64::new(0));
    let result = runner.run(&case(), |case| {
        let for_body = case.clone();
        let name = match subject {
            Subject::Real => format!("model {kind}"),
            Subject::Lossy => format!("model {kind} {EXPECTED_TO_FAIL}"),
        };
        let (o, j) = watchdog(&name, Duration::from_secs(60), move || {
            run_case(kind, subject, patience, &for_body)
        });
        ops.fetch_add(o, Ordering::Relaxed);
        jobs.fetch_add(j, Ordering::Relaxed);
        Ok(())
    });
    (result, ops.into_inner(), jobs.into_inner())
}

fn run_model(kind: PoolKind) {
    quiet_expected_panics();
    let seed = seed();
    let cases = model_cases();
    let (result, ops, jobs) = explore(kind, Subject::Real, cases, seed, PATIENCE);
    match result {
        Ok(()) => eprintln!(
            "model [{kind}]: {cases} sequences passed (seed {seed}): {ops} operations, {jobs} \
             jobs, 0 lost"
        ),
        Err(TestError::Fail(reason, minimal)) => panic!(
            "model [{kind}] failed (replay with SHOAL_MODEL_SEED={seed}).\nMinimal failing \
             sequence: {minimal:#?}\nReason: {reason}"
        ),
        Err(TestError::Abort(reason)) => panic!("model [{kind}] aborted: {reason}"),
    }
}

/// One `#[test]` per strategy: `name: Kind` runs the model against `PoolKind::Kind`.
macro_rules! model_tests {
    ($($test:ident: $kind:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_model(PoolKind::$kind);
            }
        )*
    };
}

model_tests!(
    model_queue: Queue,
    model_steal: Steal,
    model_steal_lifo: StealLifo,
    model_scope: Scope,
);

/// The model's checks can fail, and shrinking finds the smallest sequence that shows it: a
/// pool that silently drops the third job it accepts is caught, and the minimal failing
/// sequence has at most three operations (three submits, or one `map` of three items).
#[test]
fn model_catches_a_lost_job_and_shrinks() {
    quiet_expected_panics();
    let (result, _, _) = explore(
        PoolKind::Queue,
        Subject::Lossy,
        64,
        7,
        Duration::from_millis(100),
    );
    match result {
        Err(TestError::Fail(reason, minimal)) => {
            assert!(
                minimal.ops.len() <= 3,
                "shrinking left {} operations: {minimal:#?}",
                minimal.ops.len()
            );
            let reason = reason.to_string();
            assert!(
                reason.contains("disagree") || reason.contains("lost"),
                "{reason}"
            );
        }
        other => panic!(
            "a pool that loses jobs passed the model: {:?}",
            other.is_ok()
        ),
    }
}

/// Metrics are polled with a limit, not forever: keeps `eventually` honest too.
#[test]
fn eventually_gives_up() {
    let r = std::panic::catch_unwind(|| eventually("never", Duration::from_millis(20), || false));
    assert!(r.is_err());
}
