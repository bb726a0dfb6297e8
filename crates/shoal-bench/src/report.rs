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

/// The peers whose idle worker is not a parked thread: the Go pool's worker is a goroutine,
/// which the submit readies on the submitting thread's own scheduler queue and which runs on
/// that thread as soon as the submitter blocks for the result. Their wake latency holds no
/// wake-up of a thread, so it is reported beside the others but is not the bar of the
/// wake-latency goal: only a worker that never sleeps could meet it (docs/benchmarks.md, "The
/// Go pool's wake is a hand-off").
pub const HAND_OFF_PEERS: [&str; 1] = [GO_POOL];

/// The chance of a false miss the wake-latency goal allows, over all the shoal pools it
/// judges together (see [`heavier_tail`]).
pub const TAIL_ALPHA: f64 = 0.05;

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
    /// Latency workloads: this cell's p99 over the lowest p99 among the peers whose idle
    /// workers are parked threads (not [`HAND_OFF_PEERS`]); at most 1.0: no such peer wakes
    /// faster at the tail.
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
            let best_peer_p99 = best_thread_peer(group.iter().copied()).and_then(|c| c.p99_secs);
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

/// Of one workload's cells, the measured peer with the lowest p99 whose idle workers are
/// parked threads (not one of [`HAND_OFF_PEERS`]).
fn best_thread_peer<'a>(cells: impl Iterator<Item = &'a Cell>) -> Option<&'a Cell> {
    cells
        .filter(|c| c.is_ok() && c.family == Family::Peer)
        .filter(|c| !HAND_OFF_PEERS.contains(&c.contender))
        .filter(|c| c.p99_secs.is_some())
        .min_by(|a, b| {
            a.p99_secs
                .unwrap_or(f64::NAN)
                .total_cmp(&b.p99_secs.unwrap_or(f64::NAN))
        })
}

/// Two latency samples, taken in the same rounds, compared at their tail: of the slowest 1%
/// of both together, how many are `x`'s, and how likely a difference that large would be if
/// both came from one distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tail {
    /// `x`'s samples among the slowest 1% of both together.
    pub x_slowest: usize,
    /// The slowest 1% of both together (at least one sample).
    pub slowest: usize,
    /// The rounds the samples were taken in.
    pub rounds: usize,
    /// The chance, were `x` and `y` alike, that `x` would hold as many more of the slowest
    /// samples than `y` as it does, or more (one-sided: only a heavier `x` counts).
    pub p: f64,
}

/// Compares the tails of `x` and `y` at the 99th percentile (see [`Tail`]); both are samples
/// of equal size taken in `rounds` equal rounds, `x`'s round `r` beside `y`'s round `r`
/// ([`measure_rounds`](crate::measure_rounds)). `None` otherwise.
///
/// A p99 of 2,000 samples on a shared machine moves by tens of percent from run to run, so
/// "x's p99 is at most y's" is a coin toss when both wake alike. Nor are the samples
/// independent: the machine slows down for a second now and then, and whichever contender
/// is measuring then takes a dozen or more of the slowest samples in one round. So the test
/// is made on rounds, not on samples: each slow sample counts +1 in its round if it is `x`'s
/// and -1 if it is `y`'s, and the sum over rounds is held against every way of swapping
/// `x` and `y` within rounds (Fisher's paired randomization test, exact). One noisy round
/// then weighs no more than it can be swapped for; a tail heavier in round after round does
/// not hide.
pub fn heavier_tail(x: &[f64], y: &[f64], rounds: usize) -> Option<Tail> {
    if x.is_empty() || rounds == 0 || x.len() != y.len() || x.len() % rounds != 0 {
        return None;
    }
    let per = x.len() / rounds;
    let slowest = (x.len() + y.len()).div_ceil(100);
    let mut both: Vec<(f64, bool, usize)> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, true, i / per))
        .chain(y.iter().enumerate().map(|(i, &v)| (v, false, i / per)))
        .collect();
    // Slowest first; among equal times, `y`'s first, so that a tie never counts against `x`.
    both.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut by_round = vec![0i64; rounds];
    let mut x_slowest = 0;
    for &(_, is_x, round) in &both[..slowest] {
        if is_x {
            x_slowest += 1;
            by_round[round] += 1;
        } else {
            by_round[round] -= 1;
        }
    }
    Some(Tail {
        x_slowest,
        slowest,
        rounds,
        p: swapped_at_least(&by_round),
    })
}

/// The chance that `sum(s_r * |d_r|)`, each sign `s_r` +1 or -1 with even odds, is at least
/// `sum(d_r)`: the exact one-sided p-value of Fisher's paired randomization test.
fn swapped_at_least(d: &[i64]) -> f64 {
    let observed: i64 = d.iter().sum();
    let steps: Vec<usize> = d.iter().map(|v| v.unsigned_abs() as usize).collect();
    let span: usize = steps.iter().sum();
    // chance[k]: the chance that the signed sum of the steps so far is `k - span`.
    let mut chance = vec![0.0f64; 2 * span + 1];
    chance[span] = 1.0;
    for &step in steps.iter().filter(|&&a| a > 0) {
        let mut next = vec![0.0f64; chance.len()];
        for (k, &c) in chance.iter().enumerate().filter(|(_, &c)| c > 0.0) {
            next[k + step] += c / 2.0;
            next[k - step] += c / 2.0;
        }
        chance = next;
    }
    // `observed` lies in `-span..=span`, so the index is in range.
    let from = (observed + span as i64) as usize;
    chance[from..].iter().sum::<f64>().min(1.0)
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
    out.push(wake_target(rows));
}

/// The wake-latency goal: no shoal pool's tail heavier than the best thread-pool peer's, by
/// [`heavier_tail`] at a family-wise [`TAIL_ALPHA`] over the pools judged (Bonferroni: each
/// pool at `TAIL_ALPHA / pools`). The figure names the pool whose tail looks heaviest (the
/// lowest chance), with its p99 against the peer's, and the best p99 ratio beside it.
fn wake_target(rows: &[Row]) -> Target {
    let goal = "wake-latency: no shoal pool's tail heavier than the best thread pool's \
                (p99, sampling noise allowed)"
        .to_owned();
    let not_measured = |measured: &str| Target {
        goal: goal.clone(),
        measured: measured.to_owned(),
        met: None,
    };
    let wake: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cell.workload == WorkloadId::WakeLatency.name())
        .collect();
    let Some(peer) = best_thread_peer(wake.iter().map(|r| &r.cell)) else {
        return not_measured("not measured");
    };
    let pools: Vec<&Row> = wake
        .into_iter()
        .filter(|r| r.cell.family == Family::Shoal && r.cell.is_ok())
        .collect();
    let tests: Vec<(&Row, Tail)> = pools
        .iter()
        .filter(|r| r.cell.runs == peer.runs)
        .filter_map(|r| {
            heavier_tail(&r.cell.latencies, &peer.latencies, peer.runs).map(|t| (*r, t))
        })
        .collect();
    if tests.is_empty() || tests.len() < pools.len() {
        // A file written before the samples were kept holds the p99s alone.
        return not_measured("not measured (no latency samples in rounds)");
    }
    let alpha = TAIL_ALPHA / tests.len() as f64;
    let (worst, tail) = tests
        .iter()
        .min_by(|a, b| a.1.p.total_cmp(&b.1.p))
        .copied()
        .expect("at least one test");
    let ratio = |r: &Row| r.p99_vs_best_peer.unwrap_or(f64::NAN);
    let mut measured = format!(
        "heaviest: {} at {} p99, {:.2}x {}'s, {} of the slowest {} samples of the pair \
         over {} rounds (p = {:.3}, a miss below {alpha:.4})",
        worst.cell.contender,
        duration(worst.cell.p99_secs.unwrap_or(f64::NAN)),
        ratio(worst),
        peer.contender,
        tail.x_slowest,
        tail.slowest,
        tail.rounds,
        tail.p,
    );
    if let Some(best) = pools.iter().min_by(|a, b| ratio(a).total_cmp(&ratio(b))) {
        let _ = write!(
            measured,
            "; best p99: {} at {:.2}x",
            best.cell.contender,
            ratio(best)
        );
    }
    Target {
        goal,
        measured,
        met: Some(tail.p >= alpha),
    }
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
                if HAND_OFF_PEERS.contains(&r.cell.contender) {
                    wake.push_str(" (a hand-off on the submitting thread, not a wake-up)");
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
            samples("shoal-queue", Shoal, alike(2, 1.2)),
            samples("threadpool", Peer, alike(3, 2.0)),
            samples("rayon", Peer, alike(1, 1.0)),
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
        assert!(note(&rows[14]).contains("p99 23.8 us (1.20x the best peer's p99)"));

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
                Some(false), // wake-latency: every sample 1.2x one of rayon's
            ]
        );
        let wake_target = t.last().unwrap();
        assert_eq!(
            wake_target.measured,
            "heaviest: shoal-queue at 23.8 us p99, 1.20x rayon's, 40 of the slowest 40 samples \
             of the pair over 20 rounds (p = 0.000, a miss below 0.0500); best p99: shoal-queue \
             at 1.20x"
        );
    }

    /// The wake-latency goal tests every shoal pool's tail against the best peer that wakes
    /// a thread, names the pool whose tail looks heaviest and the best p99 beside it, and
    /// leaves the Go pool's hand-off out of the bar.
    #[test]
    fn wake_target_tests_each_pool_against_the_best_thread_pool() {
        use Family::*;
        let peer = samples("executors-steal", Peer, alike(1, 1.0));
        let go = samples("go-pool", Peer, vec![5e-6; 2000]);
        let queue = samples("shoal-queue", Shoal, alike(2, 1.0));
        let steal = samples("shoal-steal", Shoal, alike(3, 1.0));
        let rows_alike = rows(&[queue.clone(), steal, peer.clone(), go.clone()]);
        assert_eq!(
            rows_alike[0].p99_vs_best_peer,
            Some(1.0),
            "the Go pool's lower p99 is not the bar"
        );
        assert!(note(&rows_alike[3]).contains("not a wake-up"));
        let t = wake_target(&rows_alike);
        assert_eq!(t.met, Some(true), "{}", t.measured);
        assert!(
            t.measured
                .contains("of the slowest 40 samples of the pair over 20 rounds"),
            "{}",
            t.measured
        );

        // A pool whose slowest 2% are ten times slower, in every round: heavier, beyond noise.
        let mut heavy = alike(4, 1.0);
        for v in heavy.iter_mut().filter(|v| **v > 19.6e-6) {
            *v *= 10.0;
        }
        let heavy = samples("shoal-steal", Shoal, heavy);
        let t = wake_target(&rows(&[queue.clone(), heavy, peer.clone(), go.clone()]));
        assert_eq!(t.met, Some(false), "{}", t.measured);
        assert!(
            t.measured.starts_with("heaviest: shoal-steal"),
            "{}",
            t.measured
        );
        assert!(
            t.measured.ends_with("best p99: shoal-queue at 1.00x"),
            "{}",
            t.measured
        );

        // The same slow samples in one round only: one noisy second, not a heavier tail.
        let mut burst = alike(4, 1.0);
        for v in &mut burst[500..540] {
            *v += 30e-6;
        }
        let burst = samples("shoal-steal", Shoal, burst);
        let t = wake_target(&rows(&[queue, burst, peer, go]));
        assert_eq!(t.met, Some(true), "{}", t.measured);
        assert!(
            t.measured.starts_with("heaviest: shoal-steal"),
            "{}",
            t.measured
        );

        // Without samples (a file written before they were kept) there is nothing to test.
        let t = wake_target(&rows(&[
            wake("shoal-queue", Shoal, 30e-6),
            wake("executors-steal", Peer, 25e-6),
        ]));
        assert_eq!(t.met, None);
    }

    /// The tail test counts the slowest samples of both per round, and asks how often
    /// swapping the two within rounds gives as large a difference.
    #[test]
    fn heavier_tail_weighs_rounds_not_samples() {
        // 10 rounds of 100; `x` has the two slowest samples of every round.
        let y: Vec<f64> = (0..1000).map(|i| f64::from(i % 100)).collect();
        let mut x = y.clone();
        for r in 0..10 {
            x[r * 100] = 1000.0;
            x[r * 100 + 1] = 1000.0;
        }
        let t = heavier_tail(&x, &y, 10).unwrap();
        assert_eq!((t.x_slowest, t.slowest, t.rounds), (20, 20, 10));
        assert!((t.p - 1.0 / 1024.0).abs() < 1e-15, "{}", t.p);
        let t = heavier_tail(&y, &x, 10).unwrap();
        assert_eq!((t.x_slowest, t.p), (0, 1.0));
        // The same 20 slow samples, all in one round: a one-in-two chance.
        let mut one_round = y.clone();
        for v in &mut one_round[300..320] {
            *v = 1000.0;
        }
        let t = heavier_tail(&one_round, &y, 10).unwrap();
        assert_eq!(t.x_slowest, 20);
        assert!((t.p - 0.5).abs() < 1e-15, "{}", t.p);
        // Ties count for the other side.
        assert_eq!(heavier_tail(&y, &y, 10).unwrap().p, 1.0);
        // Samples not in equal rounds are not compared.
        assert!(heavier_tail(&x, &y[..999], 10).is_none());
        assert!(heavier_tail(&x, &y, 7).is_none());
        assert!(heavier_tail(&[], &[], 1).is_none());
    }

    #[test]
    fn swapping_within_rounds_is_counted_exactly() {
        assert_eq!(swapped_at_least(&[]), 1.0);
        assert_eq!(swapped_at_least(&[3]), 0.5);
        assert_eq!(swapped_at_least(&[1, 1, 1]), 0.125);
        // Sums of +-2 +-1: 3, 1, -1, -3; at least -1 in three of four.
        assert_eq!(swapped_at_least(&[-2, 1]), 0.75);
        // 5 +-1 +-1 is at least 3 in every case; -5 +-1 +-1 in none.
        assert_eq!(swapped_at_least(&[5, -1, -1]), 0.5);
        assert_eq!(swapped_at_least(&[5, 1, 1]), 0.125);
        assert_eq!(swapped_at_least(&[0, 0, 2]), 0.5);
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

    /// A wake-latency cell of 20 rounds whose percentiles come from `latencies`.
    fn samples(contender: &'static str, family: Family, latencies: Vec<f64>) -> Cell {
        Cell {
            runs: 20,
            p50_secs: crate::workloads::percentile(&latencies, 0.5),
            p99_secs: crate::workloads::percentile(&latencies, 0.99),
            latencies,
            ..cell(WorkloadId::WakeLatency, contender, family, 1.0)
        }
    }

    /// 2,000 samples of 0.01-20 us times `scale`, in an order that `seed` shuffles: draws of
    /// one distribution (at one scale), spread over the rounds.
    fn alike(seed: u64, scale: f64) -> Vec<f64> {
        let mut v: Vec<f64> = (1..=2000).map(|i| f64::from(i) * 1e-8 * scale).collect();
        let mut state = seed;
        for i in (1..v.len()).rev() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v.swap(i, (state >> 33) as usize % (i + 1));
        }
        v
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
