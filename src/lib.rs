//! # shoal: worker pools with pluggable strategies
//!
//! A *worker pool* keeps a set of threads alive and feeds them jobs, so a program can run many
//! small pieces of work in parallel without starting a thread for each. shoal offers several
//! ways to feed the workers (*strategies*), one contract they all keep
//! ([`Executor`]), and this crate to pick one with a cargo feature or at run time.
//!
//! | feature | pool | how jobs reach workers | pick it for |
//! |---|---|---|---|
//! | `queue` | `SharedQueuePool` | one shared FIFO queue | jobs from outside the pool, similar sizes, IO-bound work |
//! | `steal` | `WorkStealingPool` | a deque per worker + a global injector; idle workers steal | jobs that spawn jobs, uneven job sizes |
//! | `scope` | `ScopedPool` | fork-join: `join`, `scope`, parallel slices | recursive divide-and-conquer over borrowed data |
//!
//! `docs/strategies.md` explains how each one works, `docs/tradeoffs.md` which to pick for which
//! workload (with measurements), and `docs/pitfalls.md` what goes wrong with worker pools.
//!
//! ## Quick start
//!
//! ```
//! use shoal::{Executor, ExecutorExt, Pool, Shutdown};
//!
//! let pool = Pool::new(4)?;                       // the strategy the features chose
//! let answer = pool.spawn(|| 6 * 7)?;             // a typed handle
//! assert_eq!(answer.join().unwrap(), 42);
//!
//! // The result queue: one result per item, in input order, a bounded window in flight.
//! let lengths: Vec<usize> = pool
//!     .map(["a", "bb", "ccc"], |s| s.len())
//!     .collect::<Result<_, _>>()
//!     .unwrap();
//! assert_eq!(lengths, [1, 2, 3]);
//!
//! let report = pool.shutdown(Shutdown::Graceful); // runs what is queued, joins workers
//! assert!(report.adds_up());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Choosing the strategy
//!
//! **At compile time**: [`Pool`] is the pool of the first enabled feature in this precedence
//! order: **`steal`, then `queue`, then `scope`**. The work-stealing pool comes first because it
//! is the best all-rounder: it takes jobs from outside almost as cheaply as the shared queue and
//! handles jobs that spawn jobs, and uneven job sizes, far better. The shared queue comes next
//! (strict FIFO, simplest); the fork-join pool last, since it is specialised for
//! divide-and-conquer. To force one, turn the default features off:
//!
//! ```toml
//! shoal = { package = "shoal-pool", version = "0.1", default-features = false, features = ["queue"] }
//! ```
//!
//! Cargo unifies features across a build, so a library that depends on shoal should name the
//! concrete pool type (`shoal::SharedQueuePool`, ...) or take a `&dyn Executor`, and leave
//! [`Pool`] to applications.
//!
//! **Default features** are all three strategies: comparing and switching strategies is what
//! shoal is for, [`Strategy`] can only build what is compiled in, and the three crates are small
//! and share their dependencies (crossbeam), so they cost little to build. A build with none of
//! them fails with a `compile_error!` that says which features to enable.
//!
//! **At run time**: [`Strategy`] parses a name (from a flag or an environment variable) and
//! builds that pool as a `Box<dyn Executor>`:
//!
//! ```
//! use shoal::{ExecutorExt, Strategy};
//!
//! // SHOAL_STRATEGY=queue ./app   (unset: the default strategy, the one `Pool` is)
//! let strategy = Strategy::from_env("SHOAL_STRATEGY")?;
//! let pool = strategy.build(2)?;
//! assert_eq!(pool.spawn(|| "hello")?.join().unwrap(), "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Rate limiting
//!
//! [`RateLimited`] wraps any executor and starts at most R jobs per second (token bucket with
//! a burst) with an optional cap on jobs in flight; see its docs and `examples/rate_limit.rs`.
//! It and its settings and clocks ([`RateLimit`], [`Clock`], [`ManualClock`], ...) are
//! re-exported from `shoal-rate`.
//!
//! ## Async code
//!
//! A [`JoinHandle`] is a `Future`: `.await` it on any runtime, and the task is woken when the
//! job finished, panicked or was cancelled; no runtime thread blocks meanwhile. With the cargo
//! feature **`stream`**, `Map::into_stream` and `MapUnordered::into_stream` turn the
//! result queue into a `futures_core::Stream` (`MapStream`) that never blocks either and runs
//! every item on the pool.
//!
//! ```
//! # use shoal::{ExecutorExt, Pool};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     use std::task::{Context, Poll, Wake, Waker};
//! #     struct Unpark(std::thread::Thread);
//! #     impl Wake for Unpark { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
//! #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
//! #     let mut f = std::pin::pin!(f);
//! #     loop {
//! #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
//! #             Poll::Ready(v) => return v,
//! #             Poll::Pending => std::thread::park(),
//! #         }
//! #     }
//! # }
//! let pool = Pool::new(2)?;
//! let handle = pool.spawn(|| (1..=10u64).product::<u64>())?;
//! // Inside any async runtime (`block_on` stands for yours):
//! let product = block_on(async move { handle.await });
//! assert_eq!(product.unwrap(), 3_628_800);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The contract
//!
//! Everything else below is re-exported from `shoal-core`; every pool implements [`Executor`], and
//! every executor gets [`ExecutorExt`] (`spawn`, `map`, `map_unordered`, and `scope` for tasks
//! that borrow from the caller's stack).
#![deny(missing_docs)]

#[cfg(not(any(feature = "queue", feature = "steal", feature = "scope")))]
compile_error!(
    "shoal needs a strategy: enable one of the features `queue`, `steal` or `scope` \
     (e.g. `shoal = { package = \"shoal-pool\", version = \"0.1\", default-features = false, \
     features = [\"queue\"] }`), \
     or keep the default features, which enable all three"
);

mod strategy;

pub use strategy::{Strategy, StrategyBuilder, StrategyError, StrategyErrorKind};

// What users of a pool need. Implementer helpers (`check_workers`, `handle_pair`, `Counters`,
// `Event`, the life cycle, the sync shim) stay under `shoal::core`.
pub use shoal_core::{
    current_worker, default_workers, panic_message, BroadcastError, BuildError, BuildErrorKind,
    CancelOutcome, DropBehavior, Executor, ExecutorExt, Job, JoinHandle, Map, MapUnordered,
    Metrics, PanicHandler, PanicPayload, PoolConfig, PoolId, RejectReason, Rejected, ResizeError,
    Scope, ScopedJoinHandle, Shutdown, ShutdownReport, TaskError, ThreadHook, WaitIdleError,
    WorkerId, CANCELLED_TASK_MESSAGE, MAX_WORKERS,
};
/// Pools that size themselves: `Sizing::elastic`, `Sizing::adaptive`, and what they report.
pub use shoal_core::{sizing, Decision, Reason, Sizing, SizingStatus};

/// `map` results as a `futures_core::Stream` (cargo feature `stream`).
#[cfg(feature = "stream")]
pub use shoal_core::{MapStream, MapStreamIndexed};

// The rate limiter (`shoal-rate`): a layer over any executor, not a strategy.
pub use shoal_rate::{
    Clock, ManualClock, RateLimit, RateLimitError, RateLimitErrorKind, RateLimited, SystemClock,
};

/// The core crate itself, for the parts of the contract a pool implementer needs
/// (`shoal::core::lifecycle`, `shoal::core::worker`, `shoal::core::sync`, `Counters`,
/// `check_workers`, `handle_pair`).
pub use shoal_core as core;

/// The shared-queue strategy (`shoal-queue`): N workers pulling from one FIFO queue.
#[cfg(feature = "queue")]
pub use shoal_queue as queue;
#[cfg(feature = "queue")]
pub use shoal_queue::SharedQueuePool;

/// The work-stealing strategy (`shoal-steal`): a deque per worker, a global injector, stealing.
#[cfg(feature = "steal")]
pub use shoal_steal as steal;
#[cfg(feature = "steal")]
pub use shoal_steal::WorkStealingPool;

/// The fork-join strategy (`shoal-scope`): `join`, `scope`, `install` and parallel slices.
#[cfg(feature = "scope")]
pub use shoal_scope as scope;
#[cfg(feature = "scope")]
pub use shoal_scope::ScopedPool;

// `Pool` and `PoolBuilder`: the first enabled of steal, queue, scope, behind one type.
mod pool;
pub use pool::{Pool, PoolBuilder};

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The Rust examples in docs/tradeoffs.md (they parse the `steal` strategy by name).
#[cfg(all(doctest, feature = "steal"))]
#[doc = include_str!("../docs/tradeoffs.md")]
pub struct TradeoffsDoctests;
