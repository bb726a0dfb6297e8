//! # shoal-testkit: the conformance suite every shoal pool runs
//!
//! shoal-core's crate docs list the semantics every strategy must show: panics, the three
//! shutdown modes, submit after shutdown, a full bounded queue, resize, drop, waits inside
//! workers, accounting; and the operations every pool offers on top of them (thread hooks,
//! `current_worker`, `broadcast`, `wait_idle`, `JoinHandle::cancel`, `shutdown_background`,
//! the drop behavior). This crate turns each row of that table into executable *scenarios*,
//! generic over a way to build the pool, so that a new strategy is "done" when the whole suite
//! passes. It is a development dependency only and is not published; shoal-core stays the
//! contract and nothing else.
//!
//! | module | what it holds |
//! |---|---|
//! | [`scenarios`] | the 88 scenarios, one `pub fn name<F: Factory>(f: &F)` each, grouped by theme |
//! | [`conformance_suite!`] | the macro that turns every scenario into a `#[test]` in a pool crate |
//! | [`Factory`], [`PoolConfig`] | what a pool crate writes: how to build its pool from a config |
//! | tools | [`Gate`], [`Tally`], [`poll`], [`eventually`], [`panic_recorder`], [`Alive`], [`signal_on_thread_exit`]: ordering and counting without sleeps |
//! | watchdog | [`watchdog()`]: a test that hangs fails with its name instead of hanging the run |
//! | [`faults`] | [`SpawnFaults`](faults::SpawnFaults): worker-thread starts refused on demand, through a builder's `spawn_hook` |
//!
//! A deliberately plain reference pool (one `Mutex<VecDeque>`, three condition variables) runs
//! the whole suite in this crate's own tests, so the scenarios are checked before any real
//! pool exists and a failing scenario can be told apart from a failing pool.
//!
//! ## How a pool crate runs it
//!
//! Add `shoal-testkit` to the pool crate's dev-dependencies, outside its loom build (the
//! suite runs real threads, which a loom model cannot):
//!
//! ```toml
//! [target.'cfg(not(shoal_loom))'.dev-dependencies]
//! shoal-testkit = { workspace = true }
//! ```
//!
//! Then implement [`Factory`] for a unit struct and invoke
//! [`conformance_suite!`](crate::conformance_suite) in an integration test, itself cfg'd out
//! of loom builds; the macro expands to one `#[test]` per scenario, named after it:
//!
//! ```ignore
//! // crates/<pool>/tests/conformance.rs
//! #![cfg(not(shoal_loom))]
//!
//! use shoal_core::BuildError;
//! use shoal_testkit::{Factory, PoolConfig};
//! use my_pool::MyPool;
//!
//! struct Mine;
//! impl Factory for Mine {
//!     type Pool = MyPool;
//!     fn build(&self, config: PoolConfig) -> Result<MyPool, BuildError> {
//!         MyPool::builder().config(config).build()
//!     }
//! }
//!
//! shoal_testkit::conformance_suite!(Mine);
//! ```
//!
//! A pool with a setting that changes its scheduling (the work-stealing pool's LIFO slot) runs
//! the suite once per setting, each invocation in a module of its own.
//!
//! ## How a scenario is written
//!
//! - Each scenario is a `pub fn name<F: Factory>(f: &F)` in [`scenarios`], with a doc line
//!   saying what it proves, and is listed once in [`conformance_suite!`]. It builds its pools
//!   first, then runs its body under the [`watchdog()`]: on a fresh thread that owns the pools,
//!   so a deadlock anywhere, including in a pool's `Drop`, fails the test with the scenario's
//!   name after [`timeout`] instead of hanging the run.
//! - Ordering comes from gates and tallies ([`Gate`], [`Tally`]), never from sleeps: a test
//!   waits until all workers are *known* to be inside gated jobs before it fills a queue. A
//!   few waits poll a condition that settles eventually (a metrics snapshot); they give up with
//!   a message. No assertion depends on how long anything took.
//! - A [`Gate`] opens when it is dropped, so a failing assertion releases the jobs it blocked
//!   and the pool can still shut down: the test then fails with the assertion's message.
//!
//! The tools use `std` threads and locks directly, not shoal-core's `sync` shim: the suite
//! runs real threads against a real pool and is never part of a loom model.
//!
//! ## One watchdog
//!
//! [`watchdog()`] is the one watchdog of the suite, the reliability campaign and the pools' own
//! tests: the scenarios run under it with [`SCENARIO_LIMIT`] (30 s), the campaign re-exports it
//! as `shoal_reliability::watchdog` with limits of its own, and shoal-steal's and shoal-scope's
//! tests run under it with 60 s. One variable, `SHOAL_WATCHDOG_SECS` ([`WATCHDOG_ENV`]),
//! overrides every limit on a slow machine; it replaces the suite's former
//! `SHOAL_TESTKIT_TIMEOUT_SECS`, which is no longer read.
#![deny(missing_docs)]

mod factory;
mod suite;
mod tools;
mod watchdog;

pub mod faults;
pub mod scenarios;

#[cfg(all(test, not(shoal_loom)))]
mod reference;

pub use factory::{Factory, PoolConfig};
pub use suite::SCENARIOS;
pub use tools::{
    eventually, panic_recorder, poll, signal_on_thread_exit, wait_until, Alive, Gate,
    PanicRecorder, SeenPanic, Tally, Tracked, Waiter,
};
pub use watchdog::{limit_or_env, timeout, watchdog, SCENARIO_LIMIT, WATCHDOG_ENV};
