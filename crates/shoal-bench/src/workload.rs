//! The [`Workload`] abstraction: one shape of work, sized by a [`Size`], run on any contender
//! that has the [`Capability`] it needs.
//!
//! A workload is prepared once (buffers allocated, a tree built, expected answers computed)
//! and then run many times; every run returns a checksum that must equal the one in
//! [`Workload::answer`], so a contender that loses or repeats work fails loudly instead of
//! looking fast.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::backend::BackendConfig;
use crate::contender::{Capability, Contender, Info};
use crate::workloads::{
    Chain, Fib, Files, Hash, HashMap, Http, Idle, Io, JoinLoop, ResultQueue, ResultQueueUnordered,
    SpawnInside, SpawnOutside, TreeSum, Unbalanced, WakeLatency,
};

/// How big a run is. `scale` multiplies the `full` size; each workload maps it onto its own
/// parameters (jobs, depth, buffers).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Size {
    /// 1.0 is `full`: every workload on every contender in two or three minutes on 2 cores.
    pub scale: f64,
}

impl Size {
    /// A smoke test: every cell once, seconds in all.
    pub const TINY: Size = Size { scale: 0.01 };
    /// A quarter of `full`.
    pub const SMALL: Size = Size { scale: 0.25 };
    /// The default of `compare`.
    pub const FULL: Size = Size { scale: 1.0 };

    /// `base × scale`, at least `min`.
    pub fn count(self, base: usize, min: usize) -> usize {
        ((base as f64 * self.scale).round() as usize).max(min)
    }

    /// How long the runner keeps repeating one cell (after one warm-up run).
    pub fn budget_secs(self) -> f64 {
        (0.5 * self.scale.sqrt()).min(2.0)
    }

    /// The preset name, if the scale is one.
    pub fn name(self) -> Option<&'static str> {
        [
            ("tiny", Size::TINY),
            ("small", Size::SMALL),
            ("full", Size::FULL),
        ]
        .into_iter()
        .find(|(_, s)| *s == self)
        .map(|(n, _)| n)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "scale {}", self.scale),
        }
    }
}

impl FromStr for Size {
    type Err = String;

    /// `tiny`, `small`, `full`, or a positive scale factor such as `0.5`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tiny" => Ok(Size::TINY),
            "small" => Ok(Size::SMALL),
            "full" => Ok(Size::FULL),
            other => match other.parse::<f64>() {
                Ok(scale) if scale.is_finite() && scale > 0.0 && scale <= 100.0 => {
                    Ok(Size { scale })
                }
                _ => Err(format!(
                    "invalid size `{s}`: use tiny, small, full, or a scale factor in (0, 100] \
                     such as 0.5"
                )),
            },
        }
    }
}

/// Which worker count a workload's pool gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    /// `--workers`: CPU-bound work, one worker per core is the sweet spot.
    Cpu,
    /// `--io-workers`: jobs that mostly sleep need many more workers than cores.
    Io,
}

/// How the runner times a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// One warm-up run, then repeated runs until the size's time budget; the median counts.
    Repeat,
    /// One run over a fixed wall-clock window after the pool settled (the idle workload).
    Window,
}

/// What a correct run of a workload returns, and how much work that run is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The checksum a correct run returns.
    pub checksum: u64,
    /// Units of work in one run (jobs, calls, nodes, MiB, items), for throughput.
    pub units: f64,
}

impl Answer {
    /// A workload whose checksum counts its jobs: the answer is `jobs`, and so is the work.
    pub fn count(jobs: usize) -> Answer {
        Answer {
            checksum: jobs as u64,
            units: jobs as f64,
        }
    }
}

/// Settings that only some workloads read, from the command line: where `files` reads, how
/// the `http` workload's backend behaves. The default is what a run without options uses.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The directory tree `files` hashes; `None`: the Rust toolchain's installation (see
    /// [`files_root`](crate::workloads::files_root)).
    pub files_root: Option<PathBuf>,
    /// The loopback backend the `http` workload calls.
    pub backend: BackendConfig,
}

/// One shape of work, prepared for a size and run on any admitted contender.
pub trait Workload: Sized + Send + Sync + 'static {
    /// Which workload this is.
    const ID: WorkloadId;

    /// Builds the input (and the expected checksum) for `size`, for a pool of `workers`, with
    /// the default [`Setup`].
    ///
    /// # Panics
    ///
    /// Where [`prepare_with`](Workload::prepare_with) fails with the default setup (`files`
    /// without a Rust toolchain to read, `http` without a loopback socket); the harness calls
    /// `prepare_with` and reports the error instead.
    fn prepare(size: Size, workers: usize) -> Self;

    /// Builds the input for `size` and `workers` with the settings of `setup`. Fails with a
    /// message saying what to do when what the workload needs outside the process (a
    /// directory, a socket) is not there.
    fn prepare_with(size: Size, workers: usize, setup: &Setup) -> Result<Self, String> {
        let _ = setup;
        Ok(Self::prepare(size, workers))
    }

    /// Runs the work once on `c` and returns the checksum. Called only for admitted
    /// contenders.
    fn run<C: Contender>(&self, c: &C) -> u64;

    /// The checksum a correct run returns, and the units of work it counts for.
    fn answer(&self) -> Answer;

    /// The parameters in words, for the report ("200000 jobs").
    fn describe(&self) -> String;

    /// The best time a perfect pool could reach, where there is one (IO: waves × sleep).
    fn ideal_secs(&self) -> Option<f64> {
        None
    }

    /// The latencies (seconds) the last run measured, taken out of the workload, for a
    /// workload that measures latency rather than throughput (wake-latency); the runner
    /// reports their median and 99th percentile. Empty for the others.
    fn take_latencies(&self) -> Vec<f64> {
        Vec::new()
    }

    /// Megabytes (10^6 bytes) one run reads, for a workload that reports MB/s beside its
    /// units (files).
    fn megabytes(&self) -> Option<f64> {
        None
    }

    /// Seconds of the first, cold pass over the workload's data, made while preparing it, for
    /// a workload that reads from disk (files): the page cache is shared by every contender,
    /// so only one pass per process can find the data uncached, and every run after it is
    /// warm.
    fn cold_secs(&self) -> Option<f64> {
        None
    }
}

/// Something to do with a concrete workload type, chosen at run time by [`WorkloadId`].
pub trait WorkloadVisitor {
    /// What the visit returns.
    type Output;
    /// Called with the workload's type.
    fn visit<W: Workload>(self) -> Self::Output;
}

/// Writes [`WorkloadId`] and its table from one row per workload: the type (also the variant's
/// name), then its name, unit, capability, worker kind, timing and what it teaches.
macro_rules! workload_ids {
    ($($ty:ident, $name:literal, $unit:literal, $needs:ident, $workers:ident, $timing:ident,
       $teaches:literal;)*) => {
        /// A workload chosen by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum WorkloadId {
            $(
                #[doc = concat!("[`", stringify!($ty), "`](crate::workloads::", stringify!($ty), ").")]
                $ty,
            )*
        }

        impl WorkloadId {
            /// Every workload, in report order.
            pub const ALL: &'static [WorkloadId] = &[$(WorkloadId::$ty,)*];

            /// The command-line name.
            pub fn name(self) -> &'static str {
                match self { $(WorkloadId::$ty => $name,)* }
            }

            /// What the workload teaches, in one line.
            pub fn teaches(self) -> &'static str {
                match self { $(WorkloadId::$ty => $teaches,)* }
            }

            /// The unit its throughput is counted in.
            pub fn unit(self) -> &'static str {
                match self { $(WorkloadId::$ty => $unit,)* }
            }

            /// The capability a contender needs to take part.
            pub fn needs(self) -> Capability {
                match self { $(WorkloadId::$ty => Capability::$needs,)* }
            }

            /// Which worker count its pool gets.
            pub fn worker_kind(self) -> WorkerKind {
                match self { $(WorkloadId::$ty => WorkerKind::$workers,)* }
            }

            /// How it is timed.
            pub fn timing(self) -> Timing {
                match self { $(WorkloadId::$ty => Timing::$timing,)* }
            }

            /// Calls `v` with the concrete type.
            pub fn visit<V: WorkloadVisitor>(self, v: V) -> V::Output {
                match self { $(WorkloadId::$ty => v.visit::<$ty>(),)* }
            }
        }
    };
}

workload_ids! {
    SpawnOutside, "spawn-outside", "jobs", Spawn, Cpu, Repeat,
        "submit cost: many tiny jobs pushed from a thread outside the pool";
    SpawnInside, "spawn-inside", "jobs", Spawn, Cpu, Repeat,
        "local queues: one job inside a worker spawns many tiny jobs";
    Chain, "chain", "hops", Spawn, Cpu, Repeat,
        "hand-off latency: each job spawns the next, one job in flight at a time";
    Fib, "fib", "calls", ForkJoin, Cpu, Repeat,
        "join overhead: recursive fib with no cutoff, two tiny tasks per call";
    TreeSum, "tree-sum", "nodes", ForkJoin, Cpu, Repeat,
        "join over borrowed data: sum a binary tree of boxed nodes, no cutoff";
    JoinLoop, "join-loop", "joins", ForkJoin, Cpu, Repeat,
        "coarse joins back to back: the hand-off and the owner's wait for the other half";
    Hash, "hash", "MiB", Batch, Cpu, Repeat,
        "parallel efficiency: SHA-256 of many 16 KiB buffers, coarse independent jobs";
    HashMap, "hash-map", "MiB", OrderedMap, Cpu, Repeat,
        "parallel efficiency through the result queue: the same SHA-256 buffers through map";
    Io, "io", "jobs", Batch, Io, Repeat,
        "blocking IO: jobs that sleep 10 ms, many more workers than cores";
    Http, "http", "requests", Batch, Io, Repeat,
        "real sockets: GETs to a loopback backend that serves a few at once; p50, p99";
    Files, "files", "files", Batch, Io, Repeat,
        "a real disk: read and hash every file of a tree; cold first pass, then warm";
    Unbalanced, "unbalanced", "jobs", Batch, Cpu, Repeat,
        "load balance: a few huge jobs among many small ones; static splits lose";
    ResultQueue, "map", "items", OrderedMap, Cpu, Repeat,
        "the result queue: map over a large input, results in input order";
    ResultQueueUnordered, "map-unordered", "items", OrderedMap, Cpu, Repeat,
        "the result queue in any order: the same map, results as they finish";
    Idle, "idle", "jobs", Spawn, Cpu, Window,
        "idle burn: one job every 5 ms; CPU time a mostly idle pool burns per second";
    WakeLatency, "wake-latency", "jobs", Spawn, Cpu, Window,
        "wake latency: submit to start of one job on an idle pool, p50 and p99";
}

/// The rounds of the workloads whose goals compare contenders run for run, and of idle;
/// wake-latency aside (see [`WorkloadId::rounds`]).
pub const ROUNDS: usize = 3;

impl WorkloadId {
    /// Workload-specific exclusions on top of the capability: the sequential baseline would
    /// just sleep through every IO job one after another (and has no worker to wake), and
    /// tokio's blocking pool is compared only where it is meant to be used (blocking IO,
    /// idling, waking up).
    fn admits_extra(self, info: &Info) -> bool {
        match self {
            WorkloadId::Io | WorkloadId::WakeLatency => info.id != "sequential",
            // Real IO with a sequential baseline beside it; tokio's blocking pool is made
            // for exactly this.
            WorkloadId::Idle | WorkloadId::Http | WorkloadId::Files => true,
            _ => info.id != "tokio-blocking",
        }
    }

    /// How many rounds the runner splits one cell of this workload into (see
    /// [`crate::measure::measure_rounds`]): each contender is measured once per round, the
    /// contenders in turn, and its rounds are pooled, so that on a shared machine a noisy
    /// stretch lands on every contender instead of making one contender's figure.
    ///
    /// - wake-latency, compared on its tail: [`WAKE_ROUNDS`](crate::workloads::WAKE_ROUNDS),
    ///   each round taking its share of the samples;
    /// - every other workload on the CPU-bound worker count, timed by repeated runs
    ///   (spawn-outside, spawn-inside, chain, fib, tree-sum, hash, hash-map, unbalanced, map,
    ///   map-unordered), whose goals compare a pool with a peer, with `ScopedPool` or with the
    ///   sequential baseline run for run: [`ROUNDS`], each round with its share of the size's
    ///   time budget and of the most runs;
    /// - idle, judged on a fraction of a percent of a core: [`ROUNDS`], each a whole window.
    ///   One window's figure moved by half a percent of a core from run to run, as much for
    ///   two rows of one pool as between pools; the rounds average three windows, taken in
    ///   turn with the sequential baseline's that the pool's own figure is measured against;
    /// - the IO workloads: 1. A few long runs of mostly waiting, which other processes hardly
    ///   slow down.
    pub fn rounds(self) -> usize {
        match (self, self.worker_kind(), self.timing()) {
            (WorkloadId::WakeLatency, _, _) => crate::workloads::WAKE_ROUNDS,
            (WorkloadId::Idle, _, _) | (_, WorkerKind::Cpu, Timing::Repeat) => ROUNDS,
            _ => 1,
        }
    }

    /// `false` for the workloads whose throughput means nothing (idle, wake-latency: they
    /// wait on purpose between jobs); the report compares them on CPU or latency instead.
    pub fn has_throughput(self) -> bool {
        !matches!(self, WorkloadId::Idle | WorkloadId::WakeLatency)
    }

    /// `true` if `info`'s contender takes part in this workload. The Go worker pool has no
    /// in-process capabilities; it runs the workloads its program implements.
    pub fn admits(self, info: &Info) -> bool {
        if info.id == crate::contenders::GO_POOL {
            return crate::contenders::go::GO_WORKLOADS.contains(&self);
        }
        info.has(self.needs()) && self.admits_extra(info)
    }
}

impl fmt::Display for WorkloadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WorkloadId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase();
        WorkloadId::ALL
            .iter()
            .copied()
            .find(|w| w.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = WorkloadId::ALL.iter().map(|w| w.name()).collect();
                format!("unknown workload `{s}`; choose from: {}", names.join(", "))
            })
    }
}
