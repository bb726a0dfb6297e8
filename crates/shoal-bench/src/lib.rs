//! # shoal-bench: every strategy and the peers, on the same workloads
//!
//! This crate is the benchmark harness behind `cargo run --release -p shoal-bench -- compare`
//! and `benches/compare.rs`. Three ideas hold it together:
//!
//! - **One trait over every contender.** [`Contender`] is implemented once per library: once
//!   for all of shoal's pools ([`Shoal`](contenders::Shoal), driven through the `Executor`
//!   contract; a [`ShoalPool`](contenders::ShoalPool) says what differs), once per peer a user
//!   would pick instead (rayon, `threadpool`, the `executors` crate's two pools,
//!   `std::thread::scope`, tokio's `spawn_blocking`, and the seed's worker pool in Go, which
//!   runs as its own process when `go` is installed: [`contenders::go`]), plus a
//!   [`Sequential`](contenders::Sequential) baseline. A contender offers the [`Capability`]s its library really has, each in that
//!   library's own idiom; a workload that needs one it lacks is reported as skipped.
//! - **One workload at a time, each with what it teaches.** [`WorkloadId::teaches`] is the
//!   one-line lesson of each: submit cost, local spawning, hand-off latency, join overhead,
//!   parallel efficiency, blocking IO, real sockets (`http`: requests to a loopback
//!   [`backend`](backend::Backend), with their p50 and p99 latency), a real disk (`files`: a
//!   tree read and hashed, its cold first pass reported apart), load balance, the result
//!   queue, idle burn, wake latency (reported as p50 and p99, not as a throughput). The
//!   settings of the real-IO workloads (which tree, how the backend behaves) travel in a
//!   [`Setup`].
//! - **Answers are checked.** Every run returns a checksum compared with the one computed at
//!   preparation, so a pool that drops or repeats work fails instead of looking fast, and a
//!   watchdog turns a hang into an error message.
//!
//! ```
//! use shoal_bench::{measure_one, ContenderId, Plan, Size, WorkloadId};
//! use std::time::Duration;
//!
//! let plan = Plan { size: Size::TINY, cpu_workers: 2, io_workers: 8,
//!                   cell_timeout: Duration::from_secs(60) };
//! let cell = measure_one(WorkloadId::Fib, ContenderId::Rayon, 2, &plan);
//! assert!(cell.is_ok(), "{:?}", cell.status);
//! assert!(cell.throughput > 0.0);
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod chart;
pub mod contender;
pub mod contenders;
pub mod cpu;
pub mod latch;
pub mod measure;
pub mod report;
pub mod workload;
pub mod workloads;

pub use contender::{Batch, Capability, Contender, Family, ForkJoin, Info, OrderedMap, Spawn};
pub use contenders::{ContenderId, ContenderVisitor};
pub use measure::{
    measure_one, measure_rounds, prepare_any, AnyPrepared, Cell, Plan, Prepared, Status,
};
pub use workload::{
    Answer, Setup, Size, Timing, WorkerKind, Workload, WorkloadId, WorkloadVisitor,
};
