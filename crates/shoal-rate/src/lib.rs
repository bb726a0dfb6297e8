//! # shoal-rate: start at most R jobs per second, over any executor
//!
//! A worker pool bounds *how many* jobs run at once; many jobs also need a bound on *how often*
//! they start: calls to a rate-limited API, crawling politely, keeping a database under a
//! write budget. [`RateLimited`] wraps any [`Executor`] (every shoal pool, a
//! `Box<dyn Executor>`, another limiter) and adds both:
//!
//! - a **token bucket**: the bucket holds at most `burst` tokens and gains `jobs` tokens per
//!   `period` (e.g. 10 per second: one every 100 ms). Releasing a job into the wrapped executor
//!   takes one token. So over any stretch of time `T`, at most `burst + rate × T` jobs are
//!   released: an idle limiter allows a burst, a busy one settles at the rate.
//! - an optional **in-flight cap**: at most `max_in_flight` jobs released and not yet finished
//!   (finished = returned, panicked, or dropped unrun by a shutdown).
//!
//! ```text
//!              ┌──────────────── RateLimited ────────────────┐
//!  execute(job)│ wait until: a token is in the bucket        │ inner.execute(job)
//!  ───────────▶│        and: in_flight < max_in_flight       │──────────────────▶ pool
//!              │ take the token, in_flight += 1              │
//!              └─────────────────────────────────────────────┘   job ends (ok, panic,
//!                 ▲ tokens drip in at `rate`, up to `burst`       or cancelled):
//!                 └───────────────────────────────────────────── in_flight -= 1, wake
//! ```
//!
//! The limiter is a layer over the [`Executor`] contract, not a strategy: it has no threads and
//! no queue of its own, and the pool under it schedules exactly as it would without it.
//!
//! ## How a job travels
//!
//! 1. [`execute`](shoal_core::Executor::execute) takes the limiter's lock, tops up the bucket
//!    from the [`Clock`], and takes a token and a slot; without one it waits on a condition
//!    variable (for the next token's exact time, or until a finishing job frees a slot).
//! 2. The job is wrapped: the wrapper owns the slot and keeps the job in a cell the limiter can
//!    take it back from. The wrapper goes to the wrapped executor's `execute`.
//! 3. A worker runs the wrapper: it marks the thread as running a job of this limiter, runs
//!    the job, and drops the slot, which frees it and wakes waiting submitters, whether the
//!    job returned or panicked. A wrapper that a shutdown drops unrun frees its slot the same
//!    way.
//! 4. If the wrapped executor refuses the wrapper, the token is refunded, the slot freed, and
//!    the *original* job handed back in the [`Rejected`].
//!
//! Cost per job: the limiter's mutex twice (grant, finish) and the job's cell once, two small
//! allocations (the cell and the wrapper), and one clock read each time it looks at the bucket.
//!
//! ## Who waits, and why no job is lost
//!
//! The **submitting thread waits** in [`execute`](shoal_core::Executor::execute): there is no
//! dispatcher thread and no hidden queue, so a loop of `execute` calls is paced at the
//! configured rate (natural backpressure: memory does not grow with the backlog). The limiter
//! never holds a job: at any moment a job is either in its submitter's hands or in the wrapped
//! executor. [`try_execute`](shoal_core::Executor::try_execute) never waits: without a token
//! or a slot it returns [`RejectReason::Full`] with the job.
//!
//! **Shutdown** passes through to the wrapped executor. Submitters still waiting for a token
//! (the jobs *held back* by the limiter) are woken and get [`RejectReason::ShutDown`] with their
//! job; they are counted in [`Metrics::rejected`] and [`RateLimited::refused_at_shutdown`].
//!
//! ## Waiting inside a worker
//!
//! - A worker thread that waits for a slot runs queued jobs of its pool meanwhile (the same
//!   helping wait as [`JoinHandle::join`](shoal_core::JoinHandle::join), through
//!   [`shoal_core::worker::help_one`]), so released jobs queued behind it still get to run and
//!   free their slots.
//! - A job of this limiter that submits to it while every slot is taken would wait forever if
//!   all slot holders did the same. Instead it waits for a token only and then runs the new job
//!   **inline**, inside its own slot (it is blocked meanwhile, so the number of jobs running
//!   does not grow). Inline jobs are counted in the metrics and the shutdown report, but the
//!   wrapped pool's `panic_handler` does not see their panics.
//!
//! ## Time
//!
//! All time comes from a [`Clock`]: [`SystemClock`] in production, [`ManualClock`] in tests,
//! where time moves only when the test says so, so tests are exact and never sleep.
//!
//! ## Example
//!
//! Any executor works; here a tiny inline one stands in for a real pool:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use shoal_core::{Executor, Job, Metrics, Rejected, ResizeError, Shutdown, ShutdownReport};
//! use shoal_rate::{ManualClock, RateLimit, RateLimited};
//!
//! # struct Inline;
//! # impl Executor for Inline {
//! #     fn execute(&self, job: Job) -> Result<(), Rejected> { job(); Ok(()) }
//! #     fn try_execute(&self, job: Job) -> Result<(), Rejected> { self.execute(job) }
//! #     fn workers(&self) -> usize { 1 }
//! #     fn resize(&self, _: usize) -> Result<(), ResizeError> { Ok(()) }
//! #     fn shutdown(&self, _: Shutdown) -> ShutdownReport { ShutdownReport::default() }
//! #     fn metrics(&self) -> Metrics { Metrics::default() }
//! # }
//! let clock = Arc::new(ManualClock::new());
//! // 10 jobs per second, bursts of up to 3.
//! let limit = RateLimit::per_second(10).burst(3);
//! let limited = RateLimited::with_clock(Inline, limit, clock.clone())?;
//!
//! for _ in 0..3 {
//!     assert!(limited.try_execute(Box::new(|| ())).is_ok()); // the burst
//! }
//! assert!(limited.try_execute(Box::new(|| ())).unwrap_err().is_full()); // bucket empty
//! clock.advance(Duration::from_millis(100)); // one token drips in
//! assert!(limited.try_execute(Box::new(|| ())).is_ok());
//! # Ok::<(), shoal_rate::RateLimitError>(())
//! ```
//!
//! The facade crate `shoal` re-exports every name here (`shoal::RateLimited`, ...);
//! `examples/rate_limit.rs` in the workspace runs a limiter over a real pool.
//!
//! [`Executor`]: shoal_core::Executor
//! [`Rejected`]: shoal_core::Rejected
//! [`RejectReason::Full`]: shoal_core::RejectReason::Full
//! [`RejectReason::ShutDown`]: shoal_core::RejectReason::ShutDown
//! [`Metrics::rejected`]: shoal_core::Metrics::rejected
#![deny(missing_docs)]

mod bucket;
mod clock;
mod limit;
mod limiter;
mod sync;

pub use clock::{Clock, ManualClock, SystemClock};
pub use limit::{RateLimit, RateLimitError, RateLimitErrorKind};
pub use limiter::RateLimited;
