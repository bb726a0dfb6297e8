//! Turning cells into a report: ratios against the best peer and the sequential baseline, the
//! performance goals checked against the run, a text table and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::contender::Family;
use crate::contenders::GO_POOL;
use crate::measure::{Cell, Status};
use crate::workload::WorkloadId;

/// The contenders that choose their own worker count (`shoal_core::Sizing`) and ignore the
/// run's: a figure that assumes the run's count, such as io's ideal time, does not apply to
/// them.
pub const SELF_SIZING: [&str; 2] = ["shoal-elastic", "shoal-adaptive"];

/// One row of the report: a cell and what it is compared against.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// The measurement.
    #[serde(flatten)]
    pub cell: Cell,
    /// Throughput over the best peer's throughput (>1: faster than every peer).
    pub vs_best_peer: Option<f64>,
    /// Throughput over the sequential baseline's (the speedup).
    pub vs_sequential: Option<f64>,
    /// Speedup per worker, where a sequential baseline exists (CPU workloads).
    pub efficiency: Option<f64>,
    /// Ideal time over measured time (IO).
    pub of_ideal: Option<f64>,
    /// Idle workload: cores the pool itself burned, that is the process's CPU over the window
    /// minus the sequential baseline's (the feeding thread's own sleeps and wake-ups).
    pub pool_cores: Option<f64>,
    /// Latency workloads: this cell's p99 over the lowest p99 among the peers (at most 1.0:
    /// no peer wakes faster at the tail).
    pub p99_vs_best_peer: Option<f64>,
}

/// A performance goal and what this run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Target {
    /// The goal in words.
    pub goal: String,
    /// What was measured, in words.
    pub measured: String,
    /// Met, missed, or `None` when a cell it needs is missing.
    pub met: Option<bool>,
}

/// Derives every row's ratios from the cells of one run.
pub fn rows(cells: &[Cell]) -> Vec<Row> {
    let mut by_workload: BTreeMap<&str, Vec<&Cell>> = BTreeMap::new();
    for c in cells {
        by_workload.entry(c.workload).or_default().push(c);
    }
    cells
        .iter()
        .map(|cell| {
            let group = &by_workload[cell.workload];
            let ok = |c: &&&Cell| c.is_ok();
            let best_peer = group
                .iter()
                .filter(ok)
                .filter(|c| c.family == Family::Peer)
                .map(|c| c.throughput)
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
            let seq_cell = group
                .iter()
                .filter(ok)
                .find(|c| c.family == Family::Sequential);
            let seq = seq_cell.map(|c| c.throughput);
            let is_idle = cell.workload == WorkloadId::Idle.name();
            let has_throughput = cell
                .workload
                .parse::<WorkloadId>()
                .map_or(true, WorkloadId::has_throughput);
            let measured = cell.is_ok() && has_throughput;
            let best_peer_p99 = group
                .iter()
                .filter(ok)
                .filter(|c| c.family == Family::Peer)
                .filter_map(|c| c.p99_secs)
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))));
            let p99_vs_best_peer = cell
                .p99_secs
                .filter(|_| cell.is_ok())
                .zip(best_peer_p99)
                .map(|(p99, best)| p99 / best);
            let vs_best_peer = best_peer.filter(|_| measured).map(|b| cell.throughput / b);
            let vs_sequential = seq.filter(|_| measured).map(|s| cell.throughput / s);
            let cpu_bound = [
                WorkloadId::Hash,
                WorkloadId::HashMap,
                WorkloadId::Unbalanced,
                WorkloadId::Fib,
                WorkloadId::TreeSum,
                WorkloadId::JoinLoop,
                WorkloadId::ResultQueue,
                WorkloadId::ResultQueueUnordered,
            ]
            .iter()
            .any(|w| w.name() == cell.workload);
            // A contender in another language is held to its own sequential code.
            let own_speedup = cell
                .own_sequential_secs
                .filter(|_| measured)
                .map(|s| s / cell.median_secs);
            let efficiency = own_speedup
                .or(vs_sequential)
                .filter(|_| cpu_bound && cell.family != Family::Sequential)
                .map(|s| s / cell.workers.max(1) as f64);
            // A pool that sizes itself is not bound by the worker count the ideal assumes.
            let of_ideal = cell
                .ideal_secs
                .filter(|_| cell.is_ok() && !SELF_SIZING.contains(&cell.contender))
                .map(|ideal| ideal / cell.median_secs);
            let pool_cores = seq_cell
                .filter(|_| is_idle && cell.is_ok() && cell.family != Family::Sequential)
                .map(|s| (cell.cpu_cores - s.cpu_cores).max(0.0));
            Row {
                cell: cell.clone(),
                vs_best_peer,
                vs_sequential,
                efficiency,
                of_ideal,
                pool_cores,
                p99_vs_best_peer,
            }
        })
        .collect()
}

fn find<'a>(rows: &'a [Row], w: WorkloadId, contender: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.cell.workload == w.name() && r.cell.contender == contender && r.cell.is_ok())
}

fn best_shoal(rows: &[Row], w: WorkloadId) -> Option<&Row> {
    rows.iter()
        .filter(|r| r.cell.workload == w.name() && r.cell.family == Family::Shoal && r.cell.is_ok())
        .max_by(|a, b| a.cell.throughput.total_cmp(&b.cell.throughput))
}

/// Checks the performance goals (docs/benchmarks.md, "Performance goals") against a run.
pub fn targets(rows: &[Row]) -> Vec<Target> {
    let mut out = Vec::new();
    let ratio_target = |out: &mut Vec<Target>, w: WorkloadId, peer: &str, at_least: f64| {
        let best = best_shoal(rows, w);
        let peer_row = find(rows, w, peer);
        let (measured, met) = match (best, peer_row) {
            (Some(b), Some(p)) => {
                let r = b.cell.throughput / p.cell.throughput;
                (
                    format!("{} at {r:.2}x {peer}", b.cell.contender),
                    Some(r >= at_least),
                )
            }
            _ => ("not measured".to_owned(), None),
        };
        out.push(Target {
            goal: format!("{w}: best shoal pool >= {at_least}x {peer}'s throughput"),
            measured,
            met,
        });
    };
    ratio_target(&mut out, WorkloadId::SpawnOutside, "rayon", 1.5);
    ratio_target(&mut out, WorkloadId::SpawnOutside, "threadpool", 2.0);
    for w in [WorkloadId::Fib, WorkloadId::TreeSum] {
        let (measured, met) = match (find(rows, w, "shoal-scope"), find(rows, w, "rayon")) {
            (Some(s), Some(r)) => {
                let t = s.cell.median_secs / r.cell.median_secs;
                (
                    format!("shoal-scope takes {t:.2}x rayon's time"),
                    Some(t <= 0.5),
                )
            }
            _ => ("not measured".to_owned(), None),
        };
        out.push(Target {
            goal: format!("{w}: ScopedPool <= 0.5x rayon's time"),
            measured,
            met,
        });
    }
    let best_by = |w: WorkloadId, key: fn(&Row) -> Option<f64>| {
        rows.iter()
            .filter(|r| r.cell.workload == w.name() && r.cell.family == Family::Shoal)
            .filter_map(|r| key(r).map(|v| (r.cell.contender, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    };
    let (measured, met) = match best_by(WorkloadId::Hash, |r| r.efficiency) {
        Some((c, e)) => (format!("{c} at {:.1}%", e * 100.0), Some(e >= 0.95)),
        None => ("not measured".to_owned(), None),
    };
    out.push(Target {
        goal: "hash: best shoal pool >= 95% parallel efficiency".into(),
        measured,
        met,
    });
    contract_targets(rows, &mut out);
    let (measured, met) = match best_by(WorkloadId::Io, |r| r.of_ideal) {
        Some((c, e)) => (
            format!("{c} at {:.1}% of ideal", e * 100.0),
            Some(e >= 0.95),
        ),
        None => ("not measured".to_owned(), None),
    };
    out.push(Target {
        goal: "io: best shoal pool >= 95% of the ideal rate".into(),
        measured,
        met,
    });
    let idle: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            r.cell.workload == WorkloadId::Idle.name()
                && r.cell.family == Family::Shoal
                && r.cell.is_ok()
        })
        .collect();
    let burn = |r: &Row| r.pool_cores.unwrap_or(r.cell.cpu_cores);
    let (measured, met) = match idle.iter().max_by(|a, b| burn(a).total_cmp(&burn(b))) {
        Some(worst) => (
            match worst.pool_cores {
                Some(pool) => format!(
                    "worst: {} at {:.2}% ({:.2}% of a core with the feeding thread)",
                    worst.cell.contender,
                    pool * 100.0,
                    worst.cell.cpu_cores * 100.0
                ),
                None => format!(
                    "worst: {} at {:.2}% of a core (feeding thread included)",
                    worst.cell.contender,
                    worst.cell.cpu_cores * 100.0
                ),
            },
            Some(burn(worst) < 0.01),
        ),
        None => ("not measured".to_owned(), None),
    };
    out.push(Target {
        goal: "idle: every shoal pool burns < 1% of a core".into(),
        measured,
        met,
    });
    intake_targets(rows, &mut out);
    out
}

/// The shoal contenders that reach each strategy through the `Executor` contract alone, with
/// its `ExecutorExt::map`, `map_unordered` and `join` (`shoal-scope` itself uses
/// `ScopedPool`'s own `par_map` and `join`; `shoal-scope/ext` its contract side).
pub const THROUGH_CONTRACT: [&str; 4] =
    ["shoal-queue", "shoal-steal", "shoal-scope/ext", "shoal-dyn"];

/// The shoal contenders that fork with `ExecutorExt::scope`: spawn `b`, run `a`, wait.
pub const THROUGH_SCOPE: [&str; 3] = ["shoal-queue/scope", "shoal-steal/scope", "shoal-dyn/scope"];

/// Each `Box<dyn Executor>` contender beside the concrete pool it holds.
const BOXED: [(&str, &str); 2] = [
    ("shoal-dyn", "shoal-steal"),
    ("shoal-dyn/scope", "shoal-steal/scope"),
];

/// The worst row of workload `w` among those `pick` chooses that ran, by `score` (higher is
/// better), with its score.
fn worst_of(
    rows: &[Row],
    w: WorkloadId,
    pick: impl Fn(&Row) -> bool,
    score: impl Fn(&Row) -> Option<f64>,
) -> Option<(&Row, f64)> {
    rows.iter()
        .filter(|r| r.cell.workload == w.name() && r.cell.is_ok() && pick(r))
        .filter_map(|r| score(r).map(|s| (r, s)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// The goal `goal`: every contender `pick` chooses runs `w` at `at_least` times `peer`'s
/// throughput or more, judged on the slowest that ran.
fn every_at_least(
    rows: &[Row],
    w: WorkloadId,
    pick: impl Fn(&Row) -> bool,
    peer: &str,
    at_least: f64,
    goal: String,
) -> Target {
    let (measured, met) = match (
        worst_of(rows, w, pick, |r| Some(r.cell.throughput)),
        find(rows, w, peer),
    ) {
        (Some((worst, t)), Some(p)) => {
            let r = t / p.cell.throughput;
            (
                format!("worst: {} at {r:.2}x {peer}", worst.cell.contender),
                Some(r >= at_least),
            )
        }
        _ => ("not measured".to_owned(), None),
    };
    Target {
        goal,
        measured,
        met,
    }
}

/// The goals for fine-grained work through the contract: every strategy's result queue against
/// rayon's map, its `join` and `scope` against `ScopedPool`'s own `join`, and the trait object
/// against the concrete pool. Each names the worst contender of its set that ran.
fn contract_targets(rows: &[Row], out: &mut Vec<Target>) {
    // The worst of `set` that ran `w`, by `score` (higher is better), with its score.
    let worst = |w: WorkloadId, set: &[&str], score: fn(&Row) -> Option<f64>| {
        worst_of(rows, w, |r| set.contains(&r.cell.contender), score)
    };
    let not_measured = || ("not measured".to_owned(), None);
    for w in [WorkloadId::ResultQueue, WorkloadId::ResultQueueUnordered] {
        out.push(every_at_least(
            rows,
            w,
            |r| THROUGH_CONTRACT.contains(&r.cell.contender),
            "rayon",
            0.8,
            format!("{w}: every pool through the contract >= 0.8x rayon's throughput"),
        ));
    }
    let (measured, met) = match worst(WorkloadId::HashMap, &THROUGH_CONTRACT, |r| r.efficiency) {
        Some((r, e)) => (
            format!("worst: {} at {:.1}%", r.cell.contender, e * 100.0),
            Some(e >= 0.95),
        ),
        None => not_measured(),
    };
    out.push(Target {
        goal: "hash-map: every pool through the contract >= 95% parallel efficiency".into(),
        measured,
        met,
    });
    for w in [WorkloadId::Fib, WorkloadId::TreeSum] {
        for (set, how, at_most) in [
            (&THROUGH_CONTRACT[..], "ExecutorExt::join", 2.0),
            (&THROUGH_SCOPE[..], "ExecutorExt::scope", 4.0),
        ] {
            let (measured, met) = match (
                worst(w, set, |r| Some(1.0 / r.cell.median_secs)),
                find(rows, w, "shoal-scope"),
            ) {
                (Some((r, _)), Some(scoped)) => {
                    let v = r.cell.median_secs / scoped.cell.median_secs;
                    (
                        format!("worst: {} at {v:.2}x", r.cell.contender),
                        Some(v <= at_most),
                    )
                }
                _ => not_measured(),
            };
            out.push(Target {
                goal: format!("{w}: every pool by {how} <= {at_most}x ScopedPool's time"),
                measured,
                met,
            });
        }
    }
    out.push(boxed_target(rows));
}

/// The trait object's time over the concrete pool's, judged on the geometric mean of the
/// pairs (each `BOXED` pair in each workload both ran), with the worst pair shown. A single
/// pair is one draw of this machine's run-to-run scatter: the same binary's `fib` moves by
/// 20% either way from one run to the next, so the worst of ten pairs reads over 1.1x even
/// when the two sides run the same instructions; their mean is the trait object's cost.
fn boxed_target(rows: &[Row]) -> Target {
    let pairs: Vec<(WorkloadId, &Row, &Row, f64)> = [
        WorkloadId::Fib,
        WorkloadId::TreeSum,
        WorkloadId::ResultQueue,
        WorkloadId::ResultQueueUnordered,
        WorkloadId::HashMap,
    ]
    .into_iter()
    .flat_map(|w| BOXED.iter().map(move |&(b, c)| (w, b, c)))
    .filter_map(|(w, b, c)| {
        let (b, c) = (find(rows, w, b)?, find(rows, w, c)?);
        (b.cell.is_ok() && c.cell.is_ok())
            .then(|| (w, b, c, b.cell.median_secs / c.cell.median_secs))
    })
    .collect();
    let worst = pairs.iter().max_by(|a, b| a.3.total_cmp(&b.3));
    let (measured, met) = match worst {
        Some(&(w, b, c, v)) => {
            let mean = (pairs.iter().map(|p| p.3.ln()).sum::<f64>() / pairs.len() as f64).exp();
            (
                format!(
                    "{mean:.2}x over {} pairs; worst: {w}, {} at {v:.2}x {}",
                    pairs.len(),
                    b.cell.contender,
                    c.cell.contender
                ),
                Some(mean <= 1.1),
            )
        }
        None => ("not measured".to_owned(), None),
    };
    Target {
        goal: "Box<dyn Executor> <= 1.1x the concrete pool's time (geometric mean)".into(),
        measured,
        met,
    }
}

/// The intake goals: tiny jobs from outside and inside, hand-off, waking up.
fn intake_targets(rows: &[Row], out: &mut Vec<Target>) {
    // The best shoal pool against the seed's Go worker pool (present only when `go` is).
    let best = best_shoal(rows, WorkloadId::SpawnOutside);
    let (measured, met) = match (best, find(rows, WorkloadId::SpawnOutside, GO_POOL)) {
        (Some(b), Some(go)) => {
            let r = b.cell.throughput / go.cell.throughput;
            (
                format!("{} at {r:.2}x {GO_POOL}", b.cell.contender),
                Some(r >= 1.0),
            )
        }
        (_, None) => (
            format!("not measured (no {GO_POOL} row: is `go` installed?)"),
            None,
        ),
        _ => ("not measured".to_owned(), None),
    };
    out.push(Target {
        goal: format!("spawn-outside: best shoal pool >= {GO_POOL}'s throughput"),
        measured,
        met,
    });
    let every_shoal = |out: &mut Vec<Target>, w: WorkloadId, peer: &str, at_least: f64| {
        out.push(every_at_least(
            rows,
            w,
            |r| r.cell.family == Family::Shoal,
            peer,
            at_least,
            format!("{w}: every shoal pool >= {at_least}x {peer}'s throughput"),
        ));
    };
    every_shoal(out, WorkloadId::SpawnOutside, "threadpool", 1.0);
    every_shoal(out, WorkloadId::SpawnInside, "threadpool", 1.0);
    every_shoal(out, WorkloadId::Chain, "executors-steal", 0.8);
    let wakes = || {
        rows.iter()
            .filter(|r| r.cell.workload == WorkloadId::WakeLatency.name())
            .filter(|r| r.cell.family == Family::Shoal)
            .filter_map(|r| r.p99_vs_best_peer.map(|v| (r, v)))
    };
    let worst_wake = wakes().max_by(|a, b| a.1.total_cmp(&b.1));
    let best_wake = wakes().min_by(|a, b| a.1.total_cmp(&b.1));
    let (measured, met) = match (worst_wake, best_wake) {
        (Some((r, v)), Some((best, b))) => {
            let mut measured = format!(
                "worst: {} at {} p99, {v:.2}x the best peer's",
                r.cell.contender,
                duration(r.cell.p99_secs.unwrap_or(f64::NAN))
            );
            // A tail percentile scatters from run to run: the best pool's figure shows
            // whether the pools or the draw are behind a miss.
            if best.cell.contender != r.cell.contender {
                let _ = write!(measured, "; best: {} at {b:.2}x", best.cell.contender);
            }
            (measured, Some(v <= 1.0))
        }
        _ => ("not measured".to_owned(), None),
    };
    out.push(Target {
        goal: "wake-latency: every shoal pool's p99 <= the best peer's".into(),
        measured,
        met,
    });
}

/// `1234567.0` as `1.23 M`.
pub fn si(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let (v, p) = if x >= 1e9 {
        (x / 1e9, " G")
    } else if x >= 1e6 {
        (x / 1e6, " M")
    } else if x >= 1e3 {
        (x / 1e3, " k")
    } else {
        (x, " ")
    };
    format!("{v:.2}{p}")
}

/// Seconds as `12.3 ms`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        "-".into()
    } else if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{:.1} us", secs * 1e6)
    }
}

/// The cold pass of a workload that made one (files) in words: its time and rates.
pub fn cold_line(cell: &Cell) -> Option<String> {
    let secs = cell.cold_secs.filter(|s| *s > 0.0)?;
    let mut line = format!(
        "cold: the first pass, at preparation, on one thread: {}, {}{}/s",
        duration(secs),
        si(cell.units / secs),
        cell.unit
    );
    if let Some(mb) = cell.megabytes {
        let _ = write!(line, ", {:.1} MB/s", mb / secs);
    }
    line.push_str(" (cold only if the page cache did not hold the files already)");
    Some(line)
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}x"))
}

fn note(r: &Row) -> String {
    match &r.cell.status {
        Status::Skipped(_) => "n/a".into(),
        Status::Failed(e) => format!("FAILED: {e}"),
        Status::Ok => {
            let mut parts = Vec::new();
            if r.cell.workload == WorkloadId::Idle.name() {
                parts.push(format!("{:.2}% of a core", r.cell.cpu_cores * 100.0));
                if let Some(pool) = r.pool_cores {
                    parts.push(format!("pool alone {:.2}%", pool * 100.0));
                }
            }
            if let Some(e) = r.efficiency {
                let mut eff = format!("eff {:.0}%", e * 100.0);
                if let Some(own) = r.cell.own_sequential_secs {
                    let _ = write!(eff, " (against its own sequential code: {})", duration(own));
                }
                parts.push(eff);
            }
            if let Some(mb) = r.cell.megabytes {
                parts.push(format!("{:.1} MB/s", mb / r.cell.median_secs));
            }
            if let Some(i) = r.of_ideal {
                parts.push(format!("{:.0}% of ideal", i * 100.0));
            }
            if let (Some(p50), Some(p99)) = (r.cell.p50_secs, r.cell.p99_secs) {
                let mut wake = format!("p50 {}, p99 {}", duration(p50), duration(p99));
                if let Some(v) = r.p99_vs_best_peer.filter(|_| r.cell.family != Family::Peer) {
                    let _ = write!(wake, " ({v:.2}x the best peer's p99)");
                }
                parts.push(wake);
            }
            parts.join(", ")
        }
    }
}

/// The comparison as a plain-text table, one block per workload. Skipped cells are left out
/// of the table unless `show_skipped`.
pub fn table(rows: &[Row], show_skipped: bool) -> String {
    let mut out = String::new();
    let mut order: Vec<&str> = Vec::new();
    for r in rows {
        if !order.contains(&r.cell.workload) {
            order.push(r.cell.workload);
        }
    }
    for w in order {
        let group: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                r.cell.workload == w
                    && (show_skipped || !matches!(r.cell.status, Status::Skipped(_)))
            })
            .collect();
        let Some(first) = group.first() else { continue };
        let teaches = w.parse::<WorkloadId>().map(|id| id.teaches()).unwrap_or("");
        let _ = writeln!(out, "\n{w}: {} ({teaches})", first.cell.params);
        if let Some(cold) = cold_line(&first.cell) {
            let _ = writeln!(out, "  {cold}; the rows below are warm");
        }
        let _ = writeln!(
            out,
            "  {:<18} {:>3} {:>10} {:>17} {:>8} {:>8} {:>6}  note",
            "contender", "wkr", "time/run", "throughput", "vs peer", "vs seq", "cpu"
        );
        for r in group {
            let c = &r.cell;
            let tp = if c.is_ok() {
                format!("{}{}/s", si(c.throughput), c.unit)
            } else {
                "-".into()
            };
            let _ = writeln!(
                out,
                "  {:<18} {:>3} {:>10} {:>17} {:>8} {:>8} {:>6}  {}",
                c.contender,
                c.workers,
                duration(c.median_secs),
                tp,
                ratio(r.vs_best_peer),
                ratio(r.vs_sequential),
                if c.cpu_cores.is_finite() {
                    format!("{:.2}", c.cpu_cores)
                } else {
                    "-".into()
                },
                note(r)
            );
        }
    }
    out
}

/// The goals as text lines.
pub fn targets_text(targets: &[Target]) -> String {
    let mut out = String::from("\nperformance goals (see docs/benchmarks.md):\n");
    for t in targets {
        let mark = match t.met {
            Some(true) => "met   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        let _ = writeln!(out, "  [{mark}] {:<58} {}", t.goal, t.measured);
    }
    out
}

/// The goal a sweep of tiny jobs judges on a many-core machine: no shoal pool's throughput
/// at 16 workers falls more than a fifth under its own at 4 (`spawn-outside` and
/// `spawn-inside`, swept over counts that include 4 and 16). Empty for any other sweep.
pub fn sweep_targets(cells: &[Cell]) -> Vec<Target> {
    let Some(w) = cells.first().map(|c| c.workload) else {
        return Vec::new();
    };
    if ![WorkloadId::SpawnOutside, WorkloadId::SpawnInside]
        .iter()
        .any(|id| id.name() == w)
    {
        return Vec::new();
    }
    let at = |name: &str, n: usize| {
        cells
            .iter()
            .find(|c| c.contender == name && c.workers == n && c.is_ok())
    };
    // Each shoal pool measured at 16 workers, against its own cell at 4.
    let worst = cells
        .iter()
        .filter(|c| c.family == Family::Shoal && c.workers == 16 && c.is_ok())
        .filter_map(|c| Some((c.contender, c.throughput / at(c.contender, 4)?.throughput)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let (measured, met) = match worst {
        Some((name, kept)) => (
            format!("worst: {name} keeps {:.0}%", kept * 100.0),
            Some(kept >= 0.8),
        ),
        None => (
            "not measured (the sweep needs 4 and 16 workers)".to_owned(),
            None,
        ),
    };
    vec![Target {
        goal: format!("{w}: every shoal pool keeps >= 80% of its 4-worker throughput at 16"),
        measured,
        met,
    }]
}

/// One goal judged over several runs of the same comparison (`compare --repeat`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OverRuns {
    /// The goal in words.
    pub goal: String,
    /// Runs that met it.
    pub met: usize,
    /// Runs that measured it (met or missed).
    pub judged: usize,
    /// What each run measured, in run order.
    pub measured: Vec<String>,
}

/// Each goal's verdicts over `runs` (each run's [`targets`], in the same order).
pub fn over_runs(runs: &[Vec<Target>]) -> Vec<OverRuns> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let of_goal = runs.iter().filter_map(|r| r.get(i));
            OverRuns {
                goal: t.goal.clone(),
                met: of_goal.clone().filter(|t| t.met == Some(true)).count(),
                judged: of_goal.clone().filter(|t| t.met.is_some()).count(),
                measured: of_goal.map(|t| t.measured.clone()).collect(),
            }
        })
        .collect()
}

/// The verdicts over runs, as text: each goal some run measured, with the count of runs that
/// met it and every run's figure.
pub fn over_runs_text(goals: &[OverRuns]) -> String {
    let runs = goals.first().map_or(0, |g| g.measured.len());
    let mut out = format!("performance goals over {runs} runs:\n");
    for g in goals.iter().filter(|g| g.judged > 0) {
        let mark = if g.met == g.judged { "met" } else { "MISSED" };
        let _ = writeln!(out, "  [{mark:<6} {}/{}] {}", g.met, g.judged, g.goal);
        for (i, m) in g.measured.iter().enumerate() {
            let _ = writeln!(out, "      run {}: {m}", i + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(workload: WorkloadId, contender: &'static str, family: Family, secs: f64) -> Cell {
        Cell {
            workload: workload.name(),
            contender,
            family,
            workers: 2,
            status: Status::Ok,
            params: String::new(),
            runs: 1,
            median_secs: secs,
            min_secs: secs,
            max_secs: secs,
            units: 100.0,
            unit: workload.unit(),
            throughput: 100.0 / secs,
            cpu_cores: 0.002 / secs,
            ideal_secs: (workload == WorkloadId::Io).then_some(0.1),
            p50_secs: None,
            p99_secs: None,
            megabytes: None,
            cold_secs: None,
            own_sequential_secs: None,
            latencies: Vec::new(),
            walls: vec![secs],
        }
    }

    #[test]
    fn ratios_and_targets_follow_the_cells() {
        use Family::*;
        let cells = vec![
            cell(WorkloadId::SpawnOutside, "sequential", Sequential, 0.1),
            cell(WorkloadId::SpawnOutside, "shoal-steal", Shoal, 0.2),
            cell(WorkloadId::SpawnOutside, "rayon", Peer, 0.4),
            cell(WorkloadId::SpawnOutside, "threadpool", Peer, 0.3),
            cell(WorkloadId::Fib, "shoal-scope", Shoal, 0.1),
            cell(WorkloadId::Fib, "rayon", Peer, 0.3),
            cell(WorkloadId::Hash, "sequential", Sequential, 1.0),
            cell(WorkloadId::Hash, "shoal-queue", Shoal, 0.52),
            cell(WorkloadId::Io, "shoal-queue", Shoal, 0.125),
            cell(WorkloadId::Io, "shoal-elastic", Shoal, 0.05),
            cell(WorkloadId::Idle, "sequential", Sequential, 1.0),
            cell(WorkloadId::Idle, "shoal-queue", Shoal, 0.5),
            cell(WorkloadId::Chain, "shoal-queue", Shoal, 0.2),
            cell(WorkloadId::Chain, "executors-steal", Peer, 0.15),
            wake("shoal-queue", Shoal, 30e-6),
            wake("threadpool", Peer, 40e-6),
            wake("rayon", Peer, 25e-6),
        ];
        let rows = rows(&cells);
        let steal = &rows[1];
        // 1/0.2 over the best peer's 1/0.3.
        assert!((steal.vs_best_peer.unwrap() - 1.5).abs() < 1e-9);
        assert!((steal.vs_sequential.unwrap() - 0.5).abs() < 1e-9);
        let hash = &rows[7];
        assert!((hash.efficiency.unwrap() - 1.0 / 0.52 / 2.0).abs() < 1e-9);
        assert!((rows[8].of_ideal.unwrap() - 0.8).abs() < 1e-9);
        // 0.004 cores for the pool window, 0.002 for the feeder alone.
        // The elastic pool outran the 64-worker ideal: it is not held to it.
        assert!(rows[9].of_ideal.is_none());
        assert!((rows[11].pool_cores.unwrap() - 0.002).abs() < 1e-9);
        assert!(
            rows[11].vs_best_peer.is_none(),
            "idle has no throughput ratio"
        );
        // Wake latency: compared on p99, against the lowest peer p99 (rayon's 25 us).
        assert!(rows[14].vs_best_peer.is_none(), "latency has no throughput");
        assert!((rows[14].p99_vs_best_peer.unwrap() - 1.2).abs() < 1e-9);
        assert!(note(&rows[14]).contains("p99 30.0 us (1.20x the best peer's p99)"));

        let t = targets(&rows);
        let met: Vec<Option<bool>> = t.iter().map(|t| t.met).collect();
        assert_eq!(
            met,
            [
                Some(true),  // spawn-outside: 1/0.2 against rayon's 1/0.4 is 2x >= 1.5x
                Some(false), // against threadpool's 1/0.3 it is 1.5x < 2x
                Some(true),  // fib: 0.1 s against rayon's 0.3 s
                None,        // tree-sum was not measured
                Some(true),  // hash: (1/0.52) / 2 workers = 96% >= 95%
                None,        // map through the contract was not measured
                None,        // nor map-unordered,
                None,        // nor hash-map,
                None,        // nor fib through join,
                None,        // or through the scope,
                None,        // nor tree-sum through join,
                None,        // or through the scope,
                None,        // nor any Box<dyn Executor>
                Some(false), // io: 0.1 s ideal in 0.125 s = 80% < 95%; the elastic pool is not judged
                Some(true),  // idle: the pool adds 0.2% of a core to the feeder's
                None,        // no go-pool row
                Some(true),  // spawn-outside: every shoal pool (steal) at 1.5x threadpool
                None,        // spawn-inside was not measured
                Some(false), // chain: 1/0.2 against executors-steal's 1/0.15 is 0.75x < 0.8x
                Some(false), // wake-latency: 30 us against rayon's 25 us
            ]
        );
        let wake_target = t.last().unwrap();
        assert_eq!(
            wake_target.measured,
            "worst: shoal-queue at 30.0 us p99, 1.20x the best peer's"
        );
    }

    /// The wake-latency goal names the worst shoal pool, and the best one beside it.
    #[test]
    fn wake_target_shows_the_best_pool_too() {
        use Family::*;
        let cells = vec![
            wake("shoal-queue", Shoal, 30e-6),
            wake("shoal-steal", Shoal, 20e-6),
            wake("executors-steal", Peer, 25e-6),
        ];
        let t = targets(&rows(&cells));
        let wake_target = t.last().unwrap();
        assert_eq!(wake_target.met, Some(false));
        assert_eq!(
            wake_target.measured,
            "worst: shoal-queue at 30.0 us p99, 1.20x the best peer's; best: shoal-steal at 0.80x"
        );
    }

    /// The contract goals judge the worst contender of their set, and only contenders that ran.
    #[test]
    fn contract_targets_name_the_worst_of_each_set() {
        use Family::*;
        use WorkloadId::{Fib, HashMap, ResultQueue, TreeSum};
        let cells = vec![
            cell(ResultQueue, "shoal-queue", Shoal, 0.11),
            cell(ResultQueue, "shoal-scope/ext", Shoal, 0.13),
            cell(ResultQueue, "shoal-scope", Shoal, 0.5), // ScopedPool's own par_map: not judged
            cell(ResultQueue, "rayon", Peer, 0.1),
            cell(HashMap, "sequential", Sequential, 1.0),
            cell(HashMap, "shoal-steal", Shoal, 0.52),
            cell(HashMap, "shoal-dyn", Shoal, 0.54),
            cell(Fib, "shoal-scope", Shoal, 0.1),
            cell(Fib, "shoal-steal", Shoal, 0.15),
            cell(Fib, "shoal-dyn", Shoal, 0.18),
            cell(Fib, "shoal-steal/scope", Shoal, 0.3),
            cell(Fib, "shoal-dyn/scope", Shoal, 0.45),
            cell(TreeSum, "shoal-queue", Shoal, 0.1),
        ];
        let t = targets(&rows(&cells));
        let contract: Vec<(&str, &str, Option<bool>)> = t
            .iter()
            .skip(5)
            .take(8)
            .map(|t| (t.goal.as_str(), t.measured.as_str(), t.met))
            .collect();
        assert_eq!(
            contract,
            [
                (
                    "map: every pool through the contract >= 0.8x rayon's throughput",
                    "worst: shoal-scope/ext at 0.77x rayon",
                    Some(false)
                ),
                (
                    "map-unordered: every pool through the contract >= 0.8x rayon's throughput",
                    "not measured",
                    None
                ),
                (
                    "hash-map: every pool through the contract >= 95% parallel efficiency",
                    "worst: shoal-dyn at 92.6%",
                    Some(false)
                ),
                (
                    "fib: every pool by ExecutorExt::join <= 2x ScopedPool's time",
                    "worst: shoal-dyn at 1.80x",
                    Some(true)
                ),
                (
                    "fib: every pool by ExecutorExt::scope <= 4x ScopedPool's time",
                    "worst: shoal-dyn/scope at 4.50x",
                    Some(false)
                ),
                // No ScopedPool row to compare with.
                (
                    "tree-sum: every pool by ExecutorExt::join <= 2x ScopedPool's time",
                    "not measured",
                    None
                ),
                (
                    "tree-sum: every pool by ExecutorExt::scope <= 4x ScopedPool's time",
                    "not measured",
                    None
                ),
                (
                    "Box<dyn Executor> <= 1.1x the concrete pool's time (geometric mean)",
                    "1.23x over 3 pairs; worst: fib, shoal-dyn/scope at 1.50x shoal-steal/scope",
                    Some(false)
                ),
            ]
        );
    }

    /// A sweep of tiny jobs judges how much of its 4-worker throughput each shoal pool keeps
    /// at 16 workers; other sweeps, and sweeps without both counts, judge nothing.
    #[test]
    fn sweep_target_compares_16_workers_with_4() {
        use Family::*;
        use WorkloadId::{Fib, SpawnOutside};
        let at = |w, name, family, workers, secs| Cell {
            workers,
            ..cell(w, name, family, secs)
        };
        let cells = vec![
            at(SpawnOutside, "shoal-queue", Shoal, 4, 0.10),
            at(SpawnOutside, "shoal-queue", Shoal, 16, 0.12),
            at(SpawnOutside, "shoal-steal", Shoal, 4, 0.10),
            at(SpawnOutside, "shoal-steal", Shoal, 16, 0.08),
            // A peer that collapses is not judged.
            at(SpawnOutside, "threadpool", Peer, 4, 0.10),
            at(SpawnOutside, "threadpool", Peer, 16, 0.50),
            // Measured at one count only: not judged.
            at(SpawnOutside, "shoal-scope", Shoal, 4, 0.10),
        ];
        let t = sweep_targets(&cells);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[0].goal,
            "spawn-outside: every shoal pool keeps >= 80% of its 4-worker throughput at 16"
        );
        // 0.10 s at 4 workers, 0.12 s at 16: 83% of the throughput.
        assert_eq!(t[0].measured, "worst: shoal-queue keeps 83%");
        assert_eq!(t[0].met, Some(true));
        let mut slower = cells.clone();
        slower[1].throughput = 100.0 / 0.2;
        assert_eq!(sweep_targets(&slower)[0].met, Some(false));
        assert_eq!(sweep_targets(&cells[..1])[0].met, None, "no 16-worker cell");
        assert!(sweep_targets(&[at(Fib, "shoal-queue", Shoal, 4, 0.1)]).is_empty());
        assert!(sweep_targets(&[]).is_empty());
    }

    /// The trait object's goal takes the geometric mean of its pairs, and names the worst.
    #[test]
    fn boxed_target_judges_the_mean_of_the_pairs() {
        use Family::*;
        use WorkloadId::{Fib, HashMap, TreeSum};
        let cells = vec![
            cell(Fib, "shoal-steal", Shoal, 0.10),
            cell(Fib, "shoal-dyn", Shoal, 0.12),
            cell(TreeSum, "shoal-steal", Shoal, 0.10),
            cell(TreeSum, "shoal-dyn", Shoal, 0.09),
            cell(TreeSum, "shoal-steal/scope", Shoal, 0.20),
            cell(TreeSum, "shoal-dyn/scope", Shoal, 0.19),
            // No concrete row beside it: not a pair.
            cell(HashMap, "shoal-dyn", Shoal, 0.5),
        ];
        let t = boxed_target(&rows(&cells));
        // (1.2 * 0.9 * 0.95)^(1/3) = 1.009
        assert_eq!(
            t.measured,
            "1.01x over 3 pairs; worst: fib, shoal-dyn at 1.20x shoal-steal"
        );
        assert_eq!(t.met, Some(true));
        assert_eq!(boxed_target(&rows(&cells[..1])).met, None, "no pair ran");
    }

    /// The sets the goals judge name contenders that exist (with every pool compiled in).
    #[cfg(all(feature = "queue", feature = "steal", feature = "scope"))]
    #[test]
    fn goal_sets_name_real_contenders() {
        use crate::contenders::{Adaptive, Elastic, Policy};
        use crate::ContenderId;
        let named = THROUGH_CONTRACT
            .iter()
            .chain(&THROUGH_SCOPE)
            .chain(&SELF_SIZING)
            .chain(BOXED.iter().flat_map(|(b, c)| [b, c]));
        for name in named {
            assert!(name.parse::<ContenderId>().is_ok(), "{name}");
        }
        assert_eq!(SELF_SIZING, [Elastic::ID, Adaptive::ID]);
    }

    /// Over several runs a goal counts the runs that met it among those that measured it.
    #[test]
    fn over_runs_counts_met_among_judged() {
        let target = |goal: &str, measured: &str, met| Target {
            goal: goal.into(),
            measured: measured.into(),
            met,
        };
        let runs = vec![
            vec![
                target("a", "0.9x", Some(true)),
                target("b", "not measured", None),
            ],
            vec![
                target("a", "0.7x", Some(false)),
                target("b", "not measured", None),
            ],
            vec![
                target("a", "1.1x", Some(true)),
                target("b", "not measured", None),
            ],
        ];
        let over = over_runs(&runs);
        assert_eq!((over[0].met, over[0].judged), (2, 3));
        assert_eq!(over[0].measured, ["0.9x", "0.7x", "1.1x"]);
        assert_eq!((over[1].met, over[1].judged), (0, 0));
        let text = over_runs_text(&over);
        assert_eq!(
            text,
            "performance goals over 3 runs:\n  [MISSED 2/3] a\n      run 1: 0.9x\n      \
             run 2: 0.7x\n      run 3: 1.1x\n"
        );
        assert!(over_runs(&[]).is_empty());
    }

    fn wake(contender: &'static str, family: Family, p99: f64) -> Cell {
        Cell {
            p50_secs: Some(p99 / 2.0),
            p99_secs: Some(p99),
            ..cell(WorkloadId::WakeLatency, contender, family, 1.0)
        }
    }

    #[test]
    fn another_language_is_held_to_its_own_sequential_code() {
        use Family::*;
        let go = Cell {
            own_sequential_secs: Some(3.6),
            ..cell(WorkloadId::Hash, "go-pool", Peer, 2.0)
        };
        let cells = vec![
            cell(WorkloadId::Hash, "sequential", Sequential, 1.0),
            cell(WorkloadId::Hash, "shoal-steal", Shoal, 0.5),
            go,
        ];
        let rows = rows(&cells);
        // Against Rust's sequential run it would read 1/2/2 = 25%; against its own, 90%.
        assert!((rows[2].efficiency.unwrap() - 0.9).abs() < 1e-9);
        assert!((rows[2].vs_sequential.unwrap() - 0.5).abs() < 1e-9);
        assert!((rows[1].efficiency.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(
            note(&rows[2]),
            "eff 90% (against its own sequential code: 3.60 s)"
        );
        assert!(!note(&rows[1]).contains("own sequential"));
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si(1_234_567.0), "1.23 M");
        assert_eq!(si(12.0), "12.00 ");
        assert_eq!(si(f64::NAN), "-");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(2.5), "2.50 s");
        assert_eq!(duration(0.0123), "12.30 ms");
        assert_eq!(duration(0.0000123), "12.3 us");
    }
}
