//! # The conformance suite: one set of tests every shoal pool runs
//!
//! The crate docs list the semantics every strategy must show (panics, the three shutdown
//! modes, submit after shutdown, a full bounded queue, resize, drop, waits inside workers,
//! accounting). This module turns each row of that table into executable *scenarios*, generic
//! over a way to build the pool, so that a new strategy is "done" when the whole suite passes.
//!
//! ## How a pool crate runs it
//!
//! Enable the `testkit` feature in the pool crate's `[dev-dependencies]`, implement [`Factory`]
//! for a unit struct, and invoke [`conformance_suite!`](crate::conformance_suite) in an
//! integration test; it expands to one `#[test]` per scenario, named after it:
//!
//! ```ignore
//! // crates/<pool>/tests/conformance.rs
//! use shoal_core::testkit::{Factory, PoolConfig};
//! use shoal_core::BuildError;
//! use my_pool::MyPool;
//!
//! struct Mine;
//! impl Factory for Mine {
//!     type Pool = MyPool;
//!     fn build(&self, config: PoolConfig) -> Result<MyPool, BuildError> {
//!         let mut builder = MyPool::builder().workers(config.workers);
//!         if let Some(capacity) = config.queue_capacity {
//!             builder = builder.queue_capacity(capacity);
//!         }
//!         if let Some(handler) = config.panic_handler {
//!             builder = builder.panic_handler(move |payload| handler(payload));
//!         }
//!         builder.build()
//!     }
//! }
//!
//! shoal_core::conformance_suite!(Mine);
//! ```
//!
//! ## How a scenario is written
//!
//! - Each scenario is a `pub fn name<F: Factory>(f: &F)` in [`scenarios`], with a doc line
//!   saying what it proves. It builds its pools first, then runs its body under a
//!   [`watchdog`]: on a fresh thread that owns the pools, so a deadlock anywhere, including in
//!   a pool's `Drop`, fails the test with the scenario's name after [`timeout`] instead of
//!   hanging the run.
//! - Ordering comes from gates and tallies ([`Gate`], [`Tally`]), never from sleeps: a test
//!   waits until all workers are *known* to be inside gated jobs before it fills a queue. A
//!   few waits poll a condition that settles eventually (a metrics snapshot); they give up with
//!   a message. No assertion depends on how long anything took.
//! - A [`Gate`] opens when it is dropped, so a failing assertion releases the jobs it blocked
//!   and the pool can still shut down: the test then fails with the assertion's message.
//!
//! The tools here use `std` threads and locks directly, not the [`sync`](crate::sync) shim:
//! the suite runs real threads against a real pool and is never part of a loom model.

mod tools;
mod watchdog;

pub mod scenarios;

#[cfg(all(test, not(shoal_loom)))]
mod reference;

use std::fmt;

use crate::error::BuildError;
use crate::executor::Executor;
use crate::job::PanicHandler;

pub use tools::{
    panic_recorder, poll, signal_on_thread_exit, wait_until, Alive, Gate, PanicRecorder, SeenPanic,
    Tally, Tracked, Waiter,
};
pub use watchdog::{timeout, watchdog, TIMEOUT_ENV};

/// What a scenario asks the [`Factory`] for: the pool's size, its queue bound, its panic
/// handler. Every other builder setting stays at the pool's default.
#[derive(Clone)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Worker threads (the builder's `workers`). The suite also asks for 0 and for more than
    /// [`MAX_WORKERS`](crate::MAX_WORKERS), expecting a [`BuildError`].
    pub workers: usize,
    /// `Some(n)`: a bounded queue of `n` jobs (the builder's `queue_capacity`); `None`:
    /// unbounded, the default.
    pub queue_capacity: Option<usize>,
    /// The builder's `panic_handler`, when the scenario watches panics.
    pub panic_handler: Option<PanicHandler>,
}

impl PoolConfig {
    /// `workers` workers, an unbounded queue, no panic handler.
    pub fn workers(workers: usize) -> PoolConfig {
        PoolConfig {
            workers,
            queue_capacity: None,
            panic_handler: None,
        }
    }

    /// Bounds the queue to `capacity` jobs.
    pub fn capacity(mut self, capacity: usize) -> PoolConfig {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Installs a panic handler.
    pub fn panic_handler(mut self, handler: PanicHandler) -> PoolConfig {
        self.panic_handler = Some(handler);
        self
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("panic_handler", &self.panic_handler.is_some())
            .finish()
    }
}

/// Builds the pool under test from a [`PoolConfig`]: the one thing a pool crate writes to run
/// the suite.
pub trait Factory: Send + Sync + 'static {
    /// The pool type.
    type Pool: Executor + 'static;

    /// Builds a pool with `config`'s settings (and defaults for everything else). Must return
    /// the builder's `BuildError` unchanged, since scenarios check its kind.
    fn build(&self, config: PoolConfig) -> Result<Self::Pool, BuildError>;
}

/// The names of every scenario in [`scenarios`], in the order the suite declares them.
pub const SCENARIOS: &[&str] = crate::conformance_suite!(@list @names);

/// Expands to one `#[test]` per conformance scenario, each running
/// `shoal_core::testkit::scenarios::<name>(&$factory)`.
///
/// Use it once, in an integration test of the pool crate, with an expression that builds a
/// [`Factory`](crate::testkit::Factory) (usually a unit struct); see the
/// [`testkit`](crate::testkit) docs. The `@`-prefixed forms are internal.
#[macro_export]
macro_rules! conformance_suite {
    (@tests $factory:expr ; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::testkit::scenarios::$name(&$factory);
            }
        )*
    };
    (@names ; $($name:ident),* $(,)?) => {
        &[$(stringify!($name)),*]
    };
    (@list $($head:tt)*) => {
        $crate::conformance_suite! { $($head)* ;
            // basics
            smoke,
            spawn_returns_values,
            workers_match_config,
            try_join_and_is_finished,
            dropped_handle_detaches,
            dyn_executor_box_and_arc,
            job_submits_jobs,
            stampede_many_submitters,
            unbounded_queue_accepts_everything,
            // config
            zero_workers_is_error,
            too_many_workers_is_error,
            zero_capacity_is_error,
            // panics
            panic_keeps_workers,
            panic_message_via_handle,
            panic_counted_in_metrics,
            panic_handler_sees_execute_payload,
            panic_handler_sees_spawn_message_copy,
            panicking_panic_handler_is_contained,
            panic_in_map_item,
            // shutdown
            shutdown_idle_pool,
            shutdown_graceful_drains_queue,
            shutdown_now_cancels_queued,
            shutdown_deadline_cancels_after_deadline,
            shutdown_deadline_met_is_graceful,
            shutdown_twice_same_report,
            concurrent_shutdowns,
            concurrent_shutdowns_mixed_modes,
            submit_after_shutdown_rejected,
            shutdown_joins_workers,
            drop_is_graceful,
            cancelled_job_with_panicking_drop,
            shutdown_report_matches_metrics,
            // bounded queue
            bounded_try_execute_full,
            bounded_try_spawn_full,
            bounded_execute_blocks_until_room,
            bounded_blocked_execute_on_graceful_shutdown,
            bounded_blocked_execute_on_shutdown_now,
            bounded_execute_from_worker_helps,
            bounded_backpressure_stampede,
            // resize
            resize_grow,
            resize_shrink_after_current_job,
            resize_under_load_no_job_lost,
            resize_invalid_counts_are_errors,
            resize_after_shutdown_is_error,
            resize_shrink_retires_threads,
            resize_inside_worker,
            // waits and calls from inside workers
            join_inside_worker,
            nested_join_chain,
            nested_join_tree,
            map_inside_worker,
            cross_pool_nested_join,
            shutdown_inside_worker,
            shutdown_now_inside_worker,
            drop_inside_worker,
            // the result queue
            map_preserves_order,
            map_bounded_in_flight,
            map_unordered_yields_every_result,
            map_unordered_bounded_in_flight,
            map_after_shutdown_yields_cancelled,
            map_lazy_input,
            // metrics
            metrics_consistent_after_quiescence,
            metrics_track_running_and_queued,
            metrics_count_rejections,
        }
    };
    ($factory:expr) => {
        $crate::conformance_suite!(@list @tests $factory);
    };
}
