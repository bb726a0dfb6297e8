//! Pools that size themselves: the policy every pool takes through [`PoolConfig::sizing`](crate::PoolConfig::sizing),
//! the decisions it makes, and what [`Metrics::sizing`](crate::Metrics::sizing) says about
//! them.
//!
//! A worker pool has a right size, and it is rarely the number of cores: IO-bound jobs want
//! as many workers as there are requests the resource behind them can serve at once, CPU-bound
//! jobs as many as there are cores, and either one past that only adds waiting. A [`Sizing`]
//! policy finds the size at run time, on every strategy:
//!
//! | policy | grows | shrinks | for |
//! |---|---|---|---|
//! | [`Sizing::fixed`] (the default) | by `resize` only | by `resize` only | a known, steady load |
//! | [`Sizing::elastic`]`(min, max)` | when jobs wait, every worker is busy and the backlog would not drain within an interval; at most doubling per interval, never past the backlog, never past `max` | a worker idle for `keep_alive`, down to `min` | bursts; blocking calls of unknown length (tokio's blocking pool, Java's `ThreadPoolExecutor`) |
//! | [`Sizing::adaptive`]`(min, max)` | as elastic, but only up to a *limit* it finds: the knee where more workers stop adding throughput | as elastic, and the limit backs off when workers only wait inside the resource | IO behind a limited resource: a database, a backend that slows down when overloaded, a disk |
//!
//! ## How it decides
//!
//! One supervisor thread per self-sizing pool samples the pool's [`Metrics`](crate::Metrics) every
//! [`interval`](Sizing::interval) (10 ms by default; while the pool is idle, less and less
//! often, down to every 10 intervals): the backlog (`queued`), the busy workers (`running`)
//! and the jobs that ended. [`Control`](control) turns the samples into
//! decisions, and the pool applies them with the same grow and retire steps as `resize` (see
//! [`lifecycle`](crate::lifecycle)), so a self-sizing pool keeps every guarantee of a fixed
//! one: no job is stranded by a retirement (a retiring worker leaves only between jobs, and
//! never the last one: `min` is at least 1), and a worker added while jobs wait finds them.
//!
//! The adaptive limit follows TCP Vegas's reasoning, measured over windows of saturated
//! samples (a backlog, every worker busy), starting from the core count: by Little's law the
//! mean time a job takes is `W = running / throughput`; the smallest `W` seen lately is the
//! resource's own service time; so `running × (1 − W_min / W)` workers are only *waiting*
//! inside the resource. Fewer than `α` waiting: more workers still add throughput, raise the
//! limit (doubling until the first back-off, then by an eighth). More than `β`: lower it by the
//! excess, at most a quarter per window. It holds in between, at 1.3 to 2 times the
//! resource's capacity, where some queueing in the resource hides what each job does outside
//! it. Every 16 windows at rest it probes lower by `β` for one window: to measure `W_min`
//! afresh (a resource that became slower for everyone would otherwise look overloaded), and
//! to stay lower if that keeps the throughput (a `W_min` measured past the knee makes every
//! count look uncongested). See `control.rs`.

//! ## `resize` by hand
//!
//! [`Executor::resize`](crate::Executor::resize) on a self-sizing pool switches the policy
//! off: the pool keeps the size asked for, as a fixed pool would, and
//! [`SizingStatus::active`] turns `false`. A program that wants bounds of its own builds the
//! pool with them instead.
//!
//! ```
//! use std::time::Duration;
//! use shoal_core::{PoolConfig, Sizing};
//!
//! // Between 2 and 64 workers; a worker idle for 5 s retires.
//! let config = PoolConfig::new()
//!     .sizing(Sizing::elastic(2, 64).keep_alive(Duration::from_secs(5)));
//! assert_eq!(config.validate().unwrap(), 2); // starts with `min` workers
//! ```

pub mod control;
pub(crate) mod supervisor;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{BuildError, BuildErrorKind};
use crate::MAX_WORKERS;

/// The callback [`Sizing::on_decision`] installs.
pub type DecisionHook = Arc<dyn Fn(&Decision) + Send + Sync>;

/// Which policy a pool follows; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// The size `workers` or `resize` set.
    #[default]
    Fixed,
    /// Grows with the backlog, retires idle workers.
    Elastic,
    /// Elastic, bounded by the knee it measures.
    Adaptive,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Fixed => "fixed",
            Mode::Elastic => "elastic",
            Mode::Adaptive => "adaptive",
        })
    }
}

/// A pool's sizing policy: set it with [`PoolConfig::sizing`](crate::PoolConfig::sizing) (or a
/// builder's `sizing`); see the [module docs](self).
#[derive(Clone)]
pub struct Sizing {
    mode: Mode,
    min: usize,
    max: usize,
    keep_alive: Duration,
    interval: Duration,
    hook: Option<DecisionHook>,
}

impl Default for Sizing {
    fn default() -> Self {
        Sizing::fixed()
    }
}

impl fmt::Debug for Sizing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sizing")
            .field("mode", &self.mode)
            .field("min", &self.min)
            .field("max", &self.max)
            .field("keep_alive", &self.keep_alive)
            .field("interval", &self.interval)
            .field("on_decision", &self.hook.is_some())
            .finish()
    }
}

/// How long an idle worker of a self-sizing pool waits before it retires, by default (tokio's
/// blocking pool waits as long).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// How often the supervisor samples the pool, by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(10);

/// The shortest and the longest sampling interval a pool accepts.
pub const INTERVAL_RANGE: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(1));

impl Sizing {
    /// The size set by `workers` (or `resize`), nothing automatic: the default.
    pub fn fixed() -> Sizing {
        Sizing {
            mode: Mode::Fixed,
            min: 0,
            max: 0,
            keep_alive: DEFAULT_KEEP_ALIVE,
            interval: DEFAULT_INTERVAL,
            hook: None,
        }
    }

    /// Between `min` and `max` workers: grows while jobs wait and every worker is busy,
    /// retires workers idle for [`keep_alive`](Sizing::keep_alive). `min` is at least 1.
    pub fn elastic(min: usize, max: usize) -> Sizing {
        Sizing {
            mode: Mode::Elastic,
            min,
            max,
            ..Sizing::fixed()
        }
    }

    /// Like [`elastic`](Sizing::elastic), but grows only up to the knee it measures: the worker
    /// count past which more workers stop adding throughput and only wait.
    pub fn adaptive(min: usize, max: usize) -> Sizing {
        Sizing {
            mode: Mode::Adaptive,
            min,
            max,
            ..Sizing::fixed()
        }
    }

    /// How long a worker stays idle before it retires (default [`DEFAULT_KEEP_ALIVE`]). At
    /// least one [`interval`](Sizing::interval).
    pub fn keep_alive(mut self, keep_alive: Duration) -> Sizing {
        self.keep_alive = keep_alive;
        self
    }

    /// How often the supervisor samples the pool (default [`DEFAULT_INTERVAL`]), within
    /// [`INTERVAL_RANGE`]. Shorter reacts sooner to a burst and costs more idle CPU.
    pub fn interval(mut self, interval: Duration) -> Sizing {
        self.interval = interval;
        self
    }

    /// Called on the supervisor thread with every decision, after the pool applied it: for a
    /// log line or a trace. Keep it quick, and do not shut the pool down from it. A panic in
    /// it is caught and discarded.
    pub fn on_decision<F>(mut self, hook: F) -> Sizing
    where
        F: Fn(&Decision) + Send + Sync + 'static,
    {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The policy.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// `true` for [`Sizing::fixed`].
    pub fn is_fixed(&self) -> bool {
        self.mode == Mode::Fixed
    }

    /// The fewest workers (0 for a fixed pool).
    pub fn min(&self) -> usize {
        self.min
    }

    /// The most workers (0 for a fixed pool).
    pub fn max(&self) -> usize {
        self.max
    }

    /// How long an idle worker waits before it retires.
    pub fn keep_alive_time(&self) -> Duration {
        self.keep_alive
    }

    /// How often the pool is sampled.
    pub fn interval_time(&self) -> Duration {
        self.interval
    }

    /// The [`on_decision`](Sizing::on_decision) hook, if any.
    pub fn decision_hook(&self) -> Option<&DecisionHook> {
        self.hook.as_ref()
    }

    /// Checks the policy and returns the worker count to start with: `workers` if it was set
    /// (it must lie within `min..=max`), else `min`. A fixed policy returns `workers`.
    pub(crate) fn check(&self, workers: Option<usize>) -> Result<Option<usize>, BuildError> {
        if self.is_fixed() {
            return Ok(workers);
        }
        let bad = |detail: String| Err(BuildError::new(BuildErrorKind::InvalidSizing, detail));
        let (min, max, mode) = (self.min, self.max, self.mode);
        if min == 0 {
            return bad(format!(
                "{mode} sizing with min 0: a pool keeps at least one worker, so that no job \
                 waits for a thread to start; use min 1"
            ));
        }
        if min > max {
            return bad(format!("{mode} sizing with min {min} above max {max}"));
        }
        if max > MAX_WORKERS {
            return bad(format!(
                "{mode} sizing with max {max} above the limit of {MAX_WORKERS} workers"
            ));
        }
        let (shortest, longest) = INTERVAL_RANGE;
        if self.interval < shortest || self.interval > longest {
            return bad(format!(
                "a sizing interval of {:?} is outside {shortest:?}..={longest:?}",
                self.interval
            ));
        }
        if self.keep_alive < self.interval {
            return bad(format!(
                "a keep_alive of {:?} is shorter than the sampling interval {:?}",
                self.keep_alive, self.interval
            ));
        }
        match workers {
            Some(n) if n < min || n > max => bad(format!(
                "workers({n}) is outside the {mode} sizing's {min}..={max}: the pool starts \
                 with `workers` if set, else with min"
            )),
            Some(n) => Ok(Some(n)),
            None => Ok(Some(min)),
        }
    }
}

/// Why a self-sizing pool changed its size; see [`Decision`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Jobs waited with every worker busy, and at the rate jobs ended the backlog would not
    /// drain within an interval.
    Backlog {
        /// Jobs waiting at the sample.
        queued: u64,
        /// Jobs ending per second, measured over the last interval.
        per_sec: u64,
    },
    /// Workers were idle at every sample for `keep_alive`.
    Idle {
        /// The fewest idle workers over that time: so many retire.
        idle: usize,
        /// How long they were idle.
        for_time: Duration,
    },
    /// Adaptive: the time a job takes did not grow with the worker count, so more workers
    /// still add throughput.
    BelowKnee(Window),
    /// Adaptive: jobs took longer than the resource's own service time; the excess workers
    /// only waited inside it.
    PastKnee(Window),
    /// Adaptive: a short step down to measure the resource's own service time afresh.
    Probe(Window),
    /// Adaptive: the probe is over; back to the limit before it.
    ProbeEnd(Window),
}

/// What the adaptive policy measured over one window of saturated samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Jobs that ended per second.
    pub per_sec: u64,
    /// The mean time a job took (busy workers / throughput, Little's law).
    pub latency: Duration,
    /// The least of those lately: the resource's own service time.
    pub base_latency: Duration,
    /// Workers busy on average.
    pub busy: u32,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Backlog { queued, per_sec } => write!(
                f,
                "{queued} jobs waited with every worker busy, ending at {per_sec}/s"
            ),
            Reason::Idle { idle, for_time } => {
                write!(f, "{idle} workers idle for {for_time:?}")
            }
            Reason::BelowKnee(w) => write!(
                f,
                "{}/s at {:?} per job (base {:?}): more workers still add throughput",
                w.per_sec, w.latency, w.base_latency
            ),
            Reason::PastKnee(w) => write!(
                f,
                "{}/s at {:?} per job, over the base {:?}: workers wait inside the resource",
                w.per_sec, w.latency, w.base_latency
            ),
            Reason::Probe(w) => write!(
                f,
                "probing the base time per job (now {:?} at {}/s)",
                w.latency, w.per_sec
            ),
            Reason::ProbeEnd(w) => write!(
                f,
                "probe over: base {:?} per job at {}/s",
                w.base_latency, w.per_sec
            ),
        }
    }
}

/// One change of a self-sizing pool's size, with its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The worker count before.
    pub from: usize,
    /// The worker count asked for.
    pub to: usize,
    /// Why.
    pub reason: Reason,
    /// Set when the pool could not start every worker asked for (the OS or the spawn hook
    /// refused a thread): it kept the workers it had and those that did start.
    pub failed: bool,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {} workers: {}", self.from, self.to, self.reason)?;
        if self.failed {
            f.write_str(" (a worker failed to start)")?;
        }
        Ok(())
    }
}

/// What a pool's [`Metrics::sizing`](crate::Metrics::sizing) says about its policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SizingStatus {
    /// The policy the pool was built with.
    pub mode: Mode,
    /// `false` once a `resize` by hand switched the policy off, or the pool shut down.
    pub active: bool,
    /// The worker count the policy wants now.
    pub target: usize,
    /// The policy's bounds.
    pub min: usize,
    /// The most workers the policy may start (what `Executor::max_workers` answers while the
    /// policy is active, and `map` sizes its window by).
    pub max: usize,
    /// Adaptive: the knee it holds to; else `max`.
    pub limit: usize,
    /// Decisions that grew the pool.
    pub grown: u64,
    /// Decisions that shrank it.
    pub shrunk: u64,
    /// The latest decision.
    pub last: Option<Decision>,
}

impl fmt::Display for SizingStatus {
    /// One line, e.g. `elastic 1..=64, target 8, 3 grown, 1 shrunk; last: 4 -> 8 workers:
    /// 12 jobs waited with every worker busy, ending at 900/s`; an adaptive policy adds its
    /// limit, a policy a hand `resize` switched off says `(off)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}..={}", self.mode, self.min, self.max)?;
        if !self.active {
            f.write_str(" (off)")?;
        }
        write!(f, ", target {}", self.target)?;
        if self.mode == Mode::Adaptive {
            write!(f, ", limit {}", self.limit)?;
        }
        write!(f, ", {} grown, {} shrunk", self.grown, self.shrunk)?;
        if let Some(last) = &self.last {
            write!(f, "; last: {last}")?;
        }
        Ok(())
    }
}

impl SizingStatus {
    /// Counts `decision` (a grow or a shrink), keeps it as the last one, and notes the
    /// policy's `limit` at the time.
    pub fn record(&mut self, decision: Decision, limit: usize) {
        if decision.to > decision.from {
            self.grown += 1;
        } else {
            self.shrunk += 1;
        }
        self.last = Some(decision);
        self.limit = limit;
    }
}
