//! The scenarios, one `pub fn name<F: Factory>(f: &F)` each, grouped by theme. Each doc line
//! says what the scenario proves; [`SCENARIOS`](crate::SCENARIOS) lists them all and
//! [`conformance_suite!`](crate::conformance_suite) turns each into a `#[test]`.
//!
//! | file | rows of the semantics table |
//! |---|---|
//! | `basics` | spawn/execute, `JoinHandle`, `dyn Executor`, many submitters |
//! | `config` | zero workers, too many, zero capacity |
//! | `panics` | a job panics |
//! | `shutdown` | the three modes, twice, concurrently, submit after, drop, accounting |
//! | `bounded` | a full bounded queue: `Full`, backpressure, shutdown while blocked |
//! | `resize` | `resize(n)` under load, `resize(0)` |
//! | `fork` | `ExecutorExt::join`: outside, inside, another pool, 10,000 deep, panics, shutdown |
//! | `nesting` | waiting, shutting down and dropping from inside a worker |
//! | `map` | the result queue: order, bounded in-flight |
//! | `metrics` | counters after quiescence |
//! | `threads` | `on_thread_start` / `on_thread_stop` hooks, `current_worker` and its indices |
//! | `broadcast` | `broadcast`: once per worker, panics per worker, from inside, while resizing |
//! | `idle` | `wait_idle`: waits for queued and running jobs, timeout, from inside |
//! | `cancel` | `JoinHandle::cancel`: queued, running, finished, racing the workers |
//! | `background` | `shutdown_background` and what dropping the pool does |
//! | `sizing` | elastic and adaptive pools: grow, bounded growth, retire, the hook, `resize` by hand, bad policies |
//!
//! `steps` holds what the scenarios are written from: building pools under the watchdog,
//! jobs that count or hold a worker, shutdown on a thread of its own, report checks. The
//! counts a report is checked against (`Counts`, here) stay private to the scenarios, which
//! name their fields.

mod background;
mod basics;
mod bounded;
mod broadcast;
mod cancel;
mod config;
mod fork;
mod idle;
mod map;
mod metrics;
mod nesting;
mod panics;
mod resize;
mod shutdown;
mod sizing;
mod steps;
mod threads;

pub use background::*;
pub use basics::*;
pub use bounded::*;
pub use broadcast::*;
pub use cancel::*;
pub use config::*;
pub use fork::*;
pub use idle::*;
pub use map::*;
pub use metrics::*;
pub use nesting::*;
pub use panics::*;
pub use resize::*;
pub use shutdown::*;
pub use sizing::*;
pub use threads::*;

use shoal_core::ShutdownReport;

/// The counts of a [`ShutdownReport`], to compare in one assertion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    submitted: u64,
    completed: u64,
    panicked: u64,
    cancelled: u64,
    still_running: u64,
}

impl Counts {
    fn of(report: &ShutdownReport) -> Counts {
        Counts {
            submitted: report.submitted,
            completed: report.completed,
            panicked: report.panicked,
            cancelled: report.cancelled,
            still_running: report.still_running,
        }
    }

    /// `n` jobs submitted and completed.
    fn completed(n: u64) -> Counts {
        Counts {
            submitted: n,
            completed: n,
            ..Counts::default()
        }
    }

    /// `submitted` jobs: `completed` of them completed, the rest cancelled.
    fn cancelled(submitted: u64, completed: u64) -> Counts {
        Counts {
            submitted,
            completed,
            cancelled: submitted - completed,
            ..Counts::default()
        }
    }
}
