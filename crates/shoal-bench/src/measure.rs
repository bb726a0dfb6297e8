//! The runner: build a contender, run a workload on it, time it, check its answer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::contender::{Contender, Family};
use crate::contenders::go::{self, GoError, GO_MISSING, GO_POOL};
use crate::contenders::{ContenderId, ContenderVisitor};
use crate::cpu::process_cpu_time;
use crate::workload::{Setup, Size, Timing, WorkerKind, Workload, WorkloadId, WorkloadVisitor};
use crate::workloads::percentile;

/// How a set of cells is run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The size of every workload.
    pub size: Size,
    /// Workers for CPU-bound workloads.
    pub cpu_workers: usize,
    /// Workers for the IO-bound workloads (io, http, files).
    pub io_workers: usize,
    /// How long one cell may take before the run is aborted as hung.
    pub cell_timeout: Duration,
}

impl Plan {
    /// The worker count for `w`.
    pub fn workers_for(&self, w: WorkloadId) -> usize {
        match w.worker_kind() {
            WorkerKind::Cpu => self.cpu_workers,
            WorkerKind::Io => self.io_workers,
        }
    }
}

/// What happened in one cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum Status {
    /// Measured.
    Ok,
    /// The contender lacks the capability the workload needs.
    Skipped(String),
    /// It failed to build, panicked, or returned a wrong checksum.
    Failed(String),
}

/// One workload on one contender.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    /// Workload name.
    pub workload: &'static str,
    /// Contender name.
    pub contender: &'static str,
    /// Shoal, peer or sequential.
    pub family: Family,
    /// Pool size.
    pub workers: usize,
    /// Measured, skipped or failed.
    #[serde(flatten)]
    pub status: Status,
    /// The workload's parameters in words.
    pub params: String,
    /// Timed runs (not counting the warm-up).
    pub runs: usize,
    /// Median seconds per run.
    pub median_secs: f64,
    /// Fastest run.
    pub min_secs: f64,
    /// Slowest run.
    pub max_secs: f64,
    /// Units of work per run.
    pub units: f64,
    /// What a unit is.
    pub unit: &'static str,
    /// `units / median_secs`.
    pub throughput: f64,
    /// CPU seconds (all threads) per wall second over the timed runs: 2.0 = two cores busy.
    pub cpu_cores: f64,
    /// The best possible time, where the workload defines one.
    pub ideal_secs: Option<f64>,
    /// Median latency, for a workload that measures latency (wake-latency).
    pub p50_secs: Option<f64>,
    /// 99th-percentile latency, for a workload that measures latency (wake-latency).
    pub p99_secs: Option<f64>,
    /// Megabytes (10^6 bytes) per run, for a workload that reports MB/s (files).
    pub megabytes: Option<f64>,
    /// Seconds of the workload's cold first pass, made once at preparation (files).
    pub cold_secs: Option<f64>,
    /// Median seconds of the contender's own sequential code for the same work, for a
    /// contender in another language (the Go pool on hash and map): its efficiency is measured
    /// against its own language's single-thread speed, not against Rust's.
    pub own_sequential_secs: Option<f64>,
    /// The latency samples behind `p50_secs` and `p99_secs` (seconds), kept so that the
    /// rounds of one cell can be pooled ([`Cell::merge`]) and two cells' tails compared
    /// (`report::heavier_tail`); written to the JSON when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latencies: Vec<f64>,
    /// The wall seconds of each timed run, kept for the same reason; not written either.
    #[serde(skip)]
    pub walls: Vec<f64>,
}

impl Cell {
    fn empty(w: WorkloadId, c: ContenderId, workers: usize, status: Status) -> Cell {
        let info = c.info();
        Cell {
            workload: w.name(),
            contender: info.id,
            family: info.family,
            workers,
            status,
            params: String::new(),
            runs: 0,
            median_secs: f64::NAN,
            min_secs: f64::NAN,
            max_secs: f64::NAN,
            units: 0.0,
            unit: w.unit(),
            throughput: f64::NAN,
            cpu_cores: f64::NAN,
            ideal_secs: None,
            p50_secs: None,
            p99_secs: None,
            megabytes: None,
            cold_secs: None,
            own_sequential_secs: None,
            latencies: Vec::new(),
            walls: Vec::new(),
        }
    }

    /// One cell from the rounds of the same workload on the same contender (see
    /// [`WorkloadId::rounds`]): the timed runs of every round pooled (their median, their
    /// extremes), the CPU over all their wall time, and the latency percentiles of the pooled
    /// samples. A round that failed or was skipped makes the whole cell so.
    pub fn merge(mut parts: Vec<Cell>) -> Cell {
        assert!(!parts.is_empty(), "a cell has at least one round");
        if parts.len() == 1 || parts.iter().any(|p| !p.is_ok()) {
            let bad = parts.iter().position(|p| !p.is_ok()).unwrap_or(0);
            return parts.swap_remove(bad);
        }
        let wall = |p: &Cell| p.walls.iter().sum::<f64>();
        let total_wall: f64 = parts.iter().map(wall).sum();
        let cpu: f64 = parts.iter().map(|p| p.cpu_cores * wall(p)).sum();
        let mut cell = parts[0].clone();
        cell.own_sequential_secs =
            median_of(parts.iter().filter_map(|p| p.own_sequential_secs).collect());
        let walls = parts.iter().flat_map(|p| p.walls.iter().copied()).collect();
        let latencies = parts.into_iter().flat_map(|p| p.latencies).collect();
        cell.summarize(walls, cpu / total_wall, latencies);
        cell
    }

    /// Sets the run count, the median and the extremes of `walls` (seconds per timed run, at
    /// least one), the throughput, the CPU in cores, and the latency percentiles, and keeps
    /// the runs and samples for [`Cell::merge`].
    fn summarize(&mut self, walls: Vec<f64>, cpu_cores: f64, latencies: Vec<f64>) {
        let mut sorted = walls.clone();
        sorted.sort_by(f64::total_cmp);
        self.runs = sorted.len();
        self.median_secs = median(&sorted);
        self.min_secs = sorted[0];
        self.max_secs = sorted[sorted.len() - 1];
        self.throughput = self.units / self.median_secs;
        self.cpu_cores = cpu_cores;
        self.p50_secs = percentile(&latencies, 0.5);
        self.p99_secs = percentile(&latencies, 0.99);
        self.walls = walls;
        self.latencies = latencies;
    }

    /// `true` if measured.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// Reads back a cell (or a report row) that `compare` or `sweep` wrote as JSON, so charts
    /// can be redrawn without measuring again. Names must be ones this build knows.
    pub fn from_json(v: &serde_json::Value) -> Result<Cell, String> {
        let text = |key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("a result has no `{key}` text"))
        };
        let number = |key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        let workload: WorkloadId = text("workload")?.parse()?;
        let contender: ContenderId = text("contender")?.parse().map_err(|e| format!("{e}"))?;
        let reason = v
            .get("reason")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned();
        let status = match text("status")? {
            "ok" => Status::Ok,
            "skipped" => Status::Skipped(reason),
            "failed" => Status::Failed(reason),
            other => return Err(format!("unknown status `{other}`")),
        };
        let workers = v
            .get("workers")
            .and_then(serde_json::Value::as_u64)
            .ok_or("a result has no `workers` count")? as usize;
        let mut cell = Cell::empty(workload, contender, workers, status);
        cell.params = text("params").unwrap_or("").to_owned();
        cell.runs = v
            .get("runs")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0) as usize;
        cell.median_secs = number("median_secs");
        cell.min_secs = number("min_secs");
        cell.max_secs = number("max_secs");
        cell.units = number("units");
        cell.throughput = number("throughput");
        cell.cpu_cores = number("cpu_cores");
        cell.ideal_secs = v.get("ideal_secs").and_then(serde_json::Value::as_f64);
        cell.p50_secs = v.get("p50_secs").and_then(serde_json::Value::as_f64);
        cell.p99_secs = v.get("p99_secs").and_then(serde_json::Value::as_f64);
        cell.megabytes = v.get("megabytes").and_then(serde_json::Value::as_f64);
        cell.cold_secs = v.get("cold_secs").and_then(serde_json::Value::as_f64);
        cell.own_sequential_secs = v
            .get("own_sequential_secs")
            .and_then(serde_json::Value::as_f64);
        cell.latencies = v
            .get("latencies")
            .and_then(serde_json::Value::as_array)
            .map(|samples| {
                samples
                    .iter()
                    .filter_map(serde_json::Value::as_f64)
                    .collect()
            })
            .unwrap_or_default();
        Ok(cell)
    }
}

/// A workload prepared once for a size and worker count, ready to run on contenders.
#[derive(Debug)]
pub struct Prepared<W> {
    workload: W,
    workers: usize,
    size: Size,
}

impl<W: Workload> Prepared<W> {
    /// Prepares `W` for `workers` workers with the settings of `setup`.
    pub fn new(size: Size, workers: usize, setup: &Setup) -> Result<Self, String> {
        Ok(Prepared {
            workload: W::prepare_with(size, workers, setup)?,
            workers,
            size,
        })
    }

    /// The workload itself (for criterion).
    pub fn workload(&self) -> &W {
        &self.workload
    }

    /// Measures contender `C`.
    pub fn measure<C: Contender>(&self, timeout: Duration) -> Cell {
        let id = contender_id::<C>();
        let mut cell = Cell::empty(W::ID, id, self.workers, Status::Ok);
        cell.params = self.workload.describe();
        cell.units = self.workload.answer().units;
        cell.ideal_secs = self.workload.ideal_secs();
        cell.megabytes = self.workload.megabytes();
        cell.cold_secs = self.workload.cold_secs();
        if !W::ID.admits(&C::INFO) {
            cell.status = Status::Skipped(if C::INFO.id == GO_POOL {
                format!("the Go program does not implement {}", W::ID)
            } else {
                format!(
                    "{} has no {:?} capability for {}",
                    C::INFO.id,
                    W::ID.needs(),
                    W::ID
                )
            });
            return cell;
        }
        if C::INFO.id == GO_POOL {
            // Its own process, with its own timeout: no watchdog needed.
            match self.time_go(timeout) {
                Ok(timed) => timed.fill(&mut cell),
                Err(GoError::Missing) => cell.status = Status::Skipped(GO_MISSING.into()),
                Err(GoError::Failed(e)) => cell.status = Status::Failed(e),
            }
            return cell;
        }
        let label = format!("{} on {}", W::ID, C::INFO.id);
        let _watch = Watchdog::arm(&label, timeout);
        let result = catch_unwind(AssertUnwindSafe(|| self.time::<C>()));
        match result {
            Ok(Ok(timed)) => timed.fill(&mut cell),
            Ok(Err(e)) => cell.status = Status::Failed(e),
            Err(panic) => {
                let msg = shoal_core::panic_message(panic.as_ref())
                    .unwrap_or("<non-string panic>")
                    .to_owned();
                cell.status = Status::Failed(format!("panicked: {msg}"));
            }
        }
        cell
    }

    /// How long one round of a cell repeats the workload: the size's budget, shared by the
    /// workload's rounds.
    fn round_budget(&self) -> f64 {
        self.size.budget_secs() / W::ID.rounds() as f64
    }

    /// Runs the workload on the Go worker pool (its own process) and checks its answer.
    fn time_go(&self, timeout: Duration) -> Result<Timed, GoError> {
        let run = go::run(&self.workload, self.workers, self.round_budget(), timeout)?;
        let want = self.workload.answer().checksum;
        if run.checksum != want {
            return Err(GoError::Failed(format!(
                "wrong result: checksum {:#x}, expected {want:#x}",
                run.checksum
            )));
        }
        Ok(Timed {
            cpu: run.cpu.unwrap_or(f64::NAN),
            walls: run.walls,
            latencies: run.latencies,
            own_sequential: median_of(run.sequential),
        })
    }

    /// Builds `C`, runs the workload per its timing, closes `C`. Returns the wall seconds of
    /// each timed run, the CPU seconds they used together, and the latencies they measured.
    fn time<C: Contender>(&self) -> Result<Timed, String> {
        let c = C::build(self.workers).map_err(|e| format!("build failed: {e}"))?;
        let want = self.workload.answer().checksum;
        let check = |got: u64| {
            if got == want {
                Ok(())
            } else {
                Err(format!(
                    "wrong result: checksum {got:#x}, expected {want:#x}"
                ))
            }
        };
        let mut walls = Vec::new();
        let mut cpu = Duration::ZERO;
        let mut latencies = Vec::new();
        match W::ID.timing() {
            Timing::Window => {
                // Let the new pool's workers (and any exiting ones) settle into idleness.
                std::thread::sleep(Duration::from_millis(100));
                let (wall, used, got) = timed(|| self.workload.run(&c));
                check(got)?;
                walls.push(wall.as_secs_f64());
                cpu += used;
                latencies = self.workload.take_latencies();
            }
            Timing::Repeat => {
                check(self.workload.run(&c))?;
                // The warm-up's latencies do not count.
                drop(self.workload.take_latencies());
                let budget = self.round_budget();
                let most = (MAX_RUNS / W::ID.rounds()).max(1);
                let started = Instant::now();
                while walls.len() < most
                    && (walls.is_empty() || started.elapsed().as_secs_f64() < budget)
                {
                    let (wall, used, got) = timed(|| self.workload.run(&c));
                    check(got)?;
                    walls.push(wall.as_secs_f64());
                    cpu += used;
                    latencies.extend(self.workload.take_latencies());
                }
            }
        }
        c.close();
        Ok(Timed {
            walls,
            cpu: cpu.as_secs_f64(),
            latencies,
            own_sequential: None,
        })
    }
}

/// What the timed runs of one cell measured.
struct Timed {
    /// Wall seconds of each timed run (at least one).
    walls: Vec<f64>,
    /// CPU seconds of the whole process over all of them (NaN: unknown).
    cpu: f64,
    /// Latency samples (seconds), for a workload that measures them.
    latencies: Vec<f64>,
    /// The median of the contender's own sequential runs (see [`Cell::own_sequential_secs`]).
    own_sequential: Option<f64>,
}

impl Timed {
    /// Writes the median, the extremes, the throughput, the CPU and the latency percentiles
    /// into `cell`.
    fn fill(self, cell: &mut Cell) {
        let cpu_cores = self.cpu / self.walls.iter().sum::<f64>();
        cell.summarize(self.walls, cpu_cores, self.latencies);
        cell.own_sequential_secs = self.own_sequential;
    }
}

/// The most timed runs in one cell.
pub(crate) const MAX_RUNS: usize = 30;

fn timed<R>(f: impl FnOnce() -> R) -> (Duration, Duration, R) {
    let cpu0 = process_cpu_time();
    let t0 = Instant::now();
    let r = f();
    let wall = t0.elapsed();
    (wall, process_cpu_time().saturating_sub(cpu0), r)
}

/// The median of `values` in any order; `None` when there are none.
fn median_of(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    (!values.is_empty()).then(|| median(&values))
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn contender_id<C: Contender>() -> ContenderId {
    ContenderId::ALL
        .iter()
        .copied()
        .find(|c| c.name() == C::INFO.id)
        .expect("every contender type has an id")
}

/// Measures workload `w` on contender `c` with `workers` workers, preparing the workload
/// first with the default [`Setup`] (a workload that cannot be prepared gives a failed cell).
/// For many contenders on one workload, prepare once with [`prepare_any`] instead.
pub fn measure_one(w: WorkloadId, c: ContenderId, workers: usize, plan: &Plan) -> Cell {
    match prepare_any(w, plan.size, workers, &Setup::default()) {
        Ok(prepared) => measure_rounds(&*prepared, w, &[c], plan.cell_timeout, |_, _, _| {})
            .pop()
            .expect("one cell per contender"),
        Err(e) => Cell::empty(w, c, workers, Status::Failed(e)),
    }
}

/// Measures every contender on a prepared workload `w`, one cell each, in
/// [`WorkloadId::rounds`] rounds: each round measures every contender once, starting one
/// contender further down the list than the round before, and each contender's rounds are
/// merged ([`Cell::merge`]). `progress(c, round, done)` is called before (`done` false) and
/// after (`done` true) each measurement, for a progress bar.
pub fn measure_rounds(
    prepared: &dyn AnyPrepared,
    w: WorkloadId,
    contenders: &[ContenderId],
    timeout: Duration,
    mut progress: impl FnMut(ContenderId, usize, bool),
) -> Vec<Cell> {
    let rounds = w.rounds();
    let mut parts: Vec<Vec<Cell>> = vec![Vec::with_capacity(rounds); contenders.len()];
    for round in 0..rounds {
        for k in 0..contenders.len() {
            let i = (k + round) % contenders.len();
            progress(contenders[i], round, false);
            parts[i].push(prepared.measure(contenders[i], timeout));
            progress(contenders[i], round, true);
        }
    }
    parts.into_iter().map(Cell::merge).collect()
}

/// A prepared workload whose type was chosen at run time.
pub trait AnyPrepared: Send + Sync {
    /// Measures contender `c` on it.
    fn measure(&self, c: ContenderId, timeout: Duration) -> Cell;
    /// The workload's parameters in words.
    fn describe(&self) -> String;
}

impl<W: Workload> AnyPrepared for Prepared<W> {
    fn measure(&self, c: ContenderId, timeout: Duration) -> Cell {
        struct M<'a, W> {
            p: &'a Prepared<W>,
            timeout: Duration,
        }
        impl<W: Workload> ContenderVisitor for M<'_, W> {
            type Output = Cell;
            fn visit<C: Contender>(self) -> Cell {
                self.p.measure::<C>(self.timeout)
            }
        }
        c.visit(M { p: self, timeout })
    }

    fn describe(&self) -> String {
        self.workload.describe()
    }
}

/// Prepares workload `w` for `workers` workers with the settings of `setup`; fails with a
/// message saying what to do when what the workload needs (a directory, a socket) is not
/// there.
pub fn prepare_any(
    w: WorkloadId,
    size: Size,
    workers: usize,
    setup: &Setup,
) -> Result<Box<dyn AnyPrepared>, String> {
    struct P<'s> {
        size: Size,
        workers: usize,
        setup: &'s Setup,
    }
    impl WorkloadVisitor for P<'_> {
        type Output = Result<Box<dyn AnyPrepared>, String>;
        fn visit<W: Workload>(self) -> Self::Output {
            let prepared = Prepared::<W>::new(self.size, self.workers, self.setup)?;
            Ok(Box::new(prepared))
        }
    }
    w.visit(P {
        size,
        workers,
        setup,
    })
}

/// Aborts the process with a message if a cell runs past its timeout: a pool that lost a job
/// would otherwise hang the whole run on its latch.
struct Watchdog;

/// The deadline of the cell being measured, and its name.
static DEADLINE: Mutex<Option<(Instant, String)>> = Mutex::new(None);

fn start_watchdog() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        std::thread::Builder::new()
            .name("shoal-bench-watchdog".into())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_millis(200));
                let guard = DEADLINE.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((deadline, label)) = guard.as_ref() {
                    if Instant::now() > *deadline {
                        eprintln!(
                            "\nshoal-bench: `{label}` is still running past its timeout \
                             (a lost job or a deadlock?); aborting. Raise --timeout if it is \
                             only slow."
                        );
                        std::process::exit(3);
                    }
                }
            })
            .expect("the watchdog thread starts");
    });
}

impl Watchdog {
    fn arm(label: &str, timeout: Duration) -> Watchdog {
        start_watchdog();
        *DEADLINE.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now() + timeout, label.to_owned()));
        Watchdog
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        *DEADLINE.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
