//! # shoal-core: the contract every shoal pool keeps
//!
//! A *worker pool* is a fixed but adjustable set of threads that pull jobs from a queue, run
//! them, and hand results back. shoal has several strategies for the "pull jobs" part (a
//! shared queue, work stealing, fork-join); this crate is what they have in common:
//!
//! - [`Executor`]: the object-safe trait a pool implements: `execute`, `try_execute`,
//!   `workers`, `resize`, `shutdown`, `metrics`, and hooks with defaults for the operations
//!   below that need the pool's own machinery (`broadcast_jobs`, `wait_idle_until`,
//!   `shutdown_background`, `pool_id`, `execute_task`, `try_execute_task`).
//! - [`ExecutorExt`]: what every executor gets for free:
//!   [`execute_fn`](ExecutorExt::execute_fn) and
//!   [`try_execute_fn`](ExecutorExt::try_execute_fn), fire and forget without a `Box` (a
//!   small closure travels in the queue's slot as a [`Task`]), [`spawn`](ExecutorExt::spawn) with a
//!   typed [`JoinHandle`] (which can [`cancel`](JoinHandle::cancel) a queued job), the result
//!   queue [`map`](ExecutorExt::map) / [`map_unordered`](ExecutorExt::map_unordered), which
//!   hand items to jobs in adaptive chunks, let the calling thread help, and keep a bounded
//!   window of items in flight, [`join`](ExecutorExt::join) and the slice loops
//!   ([`par_map`](ExecutorExt::par_map) and friends), fast on every shoal pool through the
//!   [`fork`] hooks, [`broadcast`](ExecutorExt::broadcast) (once on every worker), and
//!   [`wait_idle`](ExecutorExt::wait_idle) (until nothing is queued or running).
//! - Async code awaits the same work: a [`JoinHandle`] is a `Future` (on any runtime), and
//!   with the cargo feature `stream` a map's results are a `futures_core::Stream`
//!   (`Map::into_stream`, `MapUnordered::into_stream`). Neither blocks a runtime thread.
//! - [`identity`]: [`current_worker`], the calling worker's pool and index, and the
//!   per-worker mailboxes broadcasts travel through.
//! - [`idle`]: how `wait_idle` learns that a pool is idle without polling.
//! - Errors that hand back what they refused: [`Rejected`] returns the job, [`TaskError`]
//!   carries a panic's payload ([`PanicPayload`]). Every error is `Send + Sync + 'static`, so
//!   `?` takes it into `Box<dyn Error + Send + Sync>` or `anyhow::Error`.
//! - [`Shutdown`] modes and the [`ShutdownReport`] whose numbers always add up.
//! - [`worker`]: the hook that makes waiting inside a worker *help* instead of block, so
//!   nested waits cannot deadlock a pool.
//! - [`config`]: [`PoolConfig`], the settings every pool has (with the worker threads'
//!   start and stop hooks, and what dropping the pool does: [`DropBehavior`]), their limits
//!   and validation.
//! - [`lifecycle`]: the life cycle every pool shares (starting, numbering and retiring
//!   workers, their exit, the three shutdown modes and the background one, the report,
//!   broadcasts, `wait_idle`); a pool supplies only its [`Mechanics`](lifecycle::Mechanics).
//! - [`sizing`]: pools that size themselves: [`Sizing::elastic`] (grow with the backlog,
//!   retire idle workers) and [`Sizing::adaptive`] (hold at the knee of a limited resource),
//!   applied by a supervisor through the life cycle's resize.
//! - [`sleep`]: the parking protocol idle workers follow (search, announce, re-check, park),
//!   so that a submit wakes a worker only when none is looking and no wake-up is lost.
//! - [`intake`]: the gate submissions pass, so that a shutdown never loses a racing submit.
//! - [`unwind`]: the rules that keep a panicking destructor from breaking a pool, and the
//!   guards that enforce them.
//! - [`sync`]: the one module that names std, loom or shuttle primitives.
//! - [`spawn`]: the thread-settings check every builder runs, and the hook that can refuse a
//!   worker-thread start (fault injection for the reliability campaign).
//!
//! ## Semantics every strategy shows
//!
//! | situation | behaviour |
//! |---|---|
//! | job panics | the worker survives; the handle gives `Err(TaskError::Panicked)` with the message; `metrics().panicked` counts it; the `panic_handler` sees it |
//! | submit after shutdown began | `Err(Rejected)` with reason `ShutDown`, the job handed back |
//! | bounded queue full | `execute` waits for room; `try_execute` returns `Full` with the job |
//! | `Shutdown::Graceful` | stops intake, runs every queued job, joins every worker |
//! | `Shutdown::Now` | stops intake, cancels queued jobs, waits for running ones, joins workers |
//! | `Shutdown::Deadline(d)` | graceful until `d`, then cancels the rest; returns on time |
//! | shutdown twice, from several threads | every caller gets a report; no hang |
//! | shutdown from inside a worker | begins the shutdown, returns without waiting for itself |
//! | dropping the pool | a graceful shutdown (or what `on_drop` says: cancel the queue, or finish it in the background) |
//! | `shutdown_background()` | closes intake, returns at once; queued jobs still run, a later `shutdown` returns the report |
//! | `resize(n)` under load | grows at once; shrinking retires the highest-indexed workers after their job |
//! | thread hooks | `on_thread_start` before a worker's first job, `on_thread_stop` after its last (retired or at shutdown); a panicking hook is caught |
//! | `current_worker()` | the pool and the worker's index inside its jobs and hooks; indices distinct, `0..workers` once a shrink's workers left; `None` elsewhere |
//! | `broadcast(f)` | `f` once on every live worker, one result per worker in index order (panics per worker); `ShutDown` error after shutdown began |
//! | `wait_idle()` | returns when every job accepted before it has ended; the pool keeps running; `InsideWorker` error from inside |
//! | `JoinHandle::cancel()` | a queued job never runs and is counted once as cancelled; a running or finished one is left alone, and the call says so |
//! | zero workers, `resize(0)` | `BuildError` / `ResizeError`, never a hang |
//! | waiting inside a worker | the waiter runs other queued jobs meanwhile |
//! | a destructor panics (payload, captured value, result) | bookkeeping is never skipped, memory in use is never freed, no wait hangs: see [`unwind`] |
//! | accounting | `completed + panicked + cancelled + still_running == submitted` |
//!
//! ## Example
//!
//! Any executor works through the trait; here a tiny inline one stands in for a real pool (it
//! keeps the defaults of the optional hooks: no broadcast, no `wait_idle`):
//!
//! ```
//! use shoal_core::{Executor, ExecutorExt, Job, Metrics, Rejected, ResizeError, Shutdown,
//!                  ShutdownReport};
//!
//! /// Runs every job on the caller's thread: the smallest possible executor.
//! struct Inline;
//! impl Executor for Inline {
//!     fn execute(&self, job: Job) -> Result<(), Rejected> { job(); Ok(()) }
//!     fn try_execute(&self, job: Job) -> Result<(), Rejected> { self.execute(job) }
//!     fn workers(&self) -> usize { 1 }
//!     fn resize(&self, _: usize) -> Result<(), ResizeError> { Ok(()) }
//!     fn shutdown(&self, _: Shutdown) -> ShutdownReport { ShutdownReport::default() }
//!     fn metrics(&self) -> Metrics { Metrics::default() }
//! }
//!
//! let squares: Vec<u64> = Inline.map(1..=4u64, |x| x * x).map(Result::unwrap).collect();
//! assert_eq!(squares, [1, 4, 9, 16]);
//! assert_eq!(Inline.spawn(|| "hi").unwrap().join().unwrap(), "hi");
//! ```
#![deny(missing_docs)]

pub mod config;
pub mod deque;
pub mod fork;
pub mod identity;
pub mod idle;
pub mod intake;
pub mod join_hint;
pub mod lifecycle;
pub mod queue;
pub mod sizing;
pub mod sleep;
pub mod spawn;
pub mod sync;
pub mod unwind;
pub mod worker;

mod broadcast;
mod claim;
mod error;
mod executor;
mod ext;
mod handle;
mod job;
mod map;
mod metrics;
mod scope;
mod scope_task;
mod shutdown;
mod slice;
mod spare;
mod wait;

pub use broadcast::BroadcastError;
pub use claim::CancelOutcome;
pub use config::{PoolConfig, ThreadHooks};
pub use error::{
    check_resize, check_workers, panic_message, BuildError, BuildErrorKind, PanicPayload,
    RejectReason, Rejected, ResizeError, TaskError,
};
pub use executor::Executor;
pub use ext::ExecutorExt;
pub use fork::JoinHalf;
pub use handle::{pair as handle_pair, Completer, JoinHandle};
pub use identity::{current_worker, PoolId, WorkerId};
pub use idle::{IdleWatch, WaitIdleError};
pub use job::{Job, PanicHandler, Task, ThreadHook};
pub use join_hint::JoinHint;
#[doc(hidden)]
pub use join_hint::JoinKey;
#[cfg(feature = "stream")]
pub use map::stream::{MapStream, MapStreamIndexed};
pub use map::{Map, MapUnordered, MapUnorderedIndexed};
pub use metrics::{Counters, Event, Metrics};
pub use scope::{Scope, ScopedJoinHandle, CANCELLED_TASK_MESSAGE};
pub use shutdown::{DropBehavior, Shutdown, ShutdownReport};
pub use sizing::{Decision, Reason, Sizing, SizingStatus};

/// The most workers any shoal pool accepts. Far above any useful count: past a few hundred
/// threads a pool spends more on scheduling and stacks than it gains (see docs/pitfalls.md).
pub const MAX_WORKERS: usize = 4096;

/// The default worker count: the number of logical CPUs.
pub fn default_workers() -> usize {
    num_cpus::get().clamp(1, MAX_WORKERS)
}
