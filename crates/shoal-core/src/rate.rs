//! Rate limiting: start at most R jobs per second, with a burst, and cap the jobs in flight.
//!
//! A worker pool bounds *how many* jobs run at once; many jobs also need a bound on *how often*
//! they start: calls to a rate-limited API, crawling politely, keeping a database under a
//! write budget. [`RateLimited`] wraps any [`Executor`] and adds both:
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
//! ## Who waits, and why no job is lost
//! The **submitting thread waits** in [`execute`](Executor::execute): there is no dispatcher
//! thread and no hidden queue, so a loop of `execute` calls is paced at the configured rate
//! (natural backpressure: memory does not grow with the backlog). The limiter never holds a
//! job: at any moment a job is either in its submitter's hands or in the wrapped executor.
//! [`try_execute`](Executor::try_execute) never waits: without a token or a slot it returns
//! [`RejectReason::Full`] with the job. If the wrapped executor refuses a job, the token is
//! refunded, the slot freed, and the *original* job handed back.
//!
//! **Shutdown** passes through to the wrapped executor. Submitters still waiting for a token
//! (the jobs *held back* by the limiter) are woken and get [`RejectReason::ShutDown`] with their
//! job; they are counted in [`Metrics::rejected`] and [`RateLimited::refused_at_shutdown`].
//!
//! ## Waiting inside a worker
//! - A worker thread that waits for a slot runs queued jobs of its pool meanwhile (the same
//!   helping wait as [`JoinHandle::join`](crate::JoinHandle::join)), so released jobs queued
//!   behind it still get to run and free their slots.
//! - A job of this limiter that submits to it while every slot is taken would wait forever if
//!   all slot holders did the same. Instead it waits for a token only and then runs the new job
//!   **inline**, inside its own slot (it is blocked meanwhile, so the number of jobs running
//!   does not grow). Inline jobs are counted in the metrics and the shutdown report, but the
//!   wrapped pool's `panic_handler` does not see their panics.
//!
//! ## Time
//! All time comes from a [`Clock`]: [`SystemClock`] in production, [`ManualClock`] in tests,
//! where time moves only when the test says so, so tests are exact and never sleep.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use shoal_core::{Executor, Job, ManualClock, Metrics, RateLimit, RateLimited, Rejected,
//!                  ResizeError, Shutdown, ShutdownReport};
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
//! # Ok::<(), shoal_core::RateLimitError>(())
//! ```

use std::cell::Cell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
// The limiter is not part of any loom model, and it needs `Weak` and unsized `Arc` coercions
// (`Arc<dyn Clock>`) that loom's types lack, so it uses std's primitives directly (as
// `worker.rs` does for the helper pointer).
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::error::{RejectReason, Rejected, ResizeError};
use crate::executor::Executor;
use crate::job::Job;
use crate::metrics::Metrics;
use crate::shutdown::{Shutdown, ShutdownReport};
use crate::worker;

/// A source of time for [`RateLimited`].
///
/// `now` is monotonic time since an origin of the clock's choosing. A clock whose time can
/// jump (a [`ManualClock`]) must call the wakers given to [`register_waker`](Clock::register_waker)
/// after each jump, so submitters waiting for a token look again.
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's origin; never decreases.
    fn now(&self) -> Duration;

    /// Called once by each [`RateLimited`] that uses this clock with a function that wakes
    /// its waiting submitters. A clock that only moves with real time can ignore it (the
    /// default); waiters then wake when their computed wait has passed.
    fn register_waker(&self, waker: Weak<dyn Fn() + Send + Sync>) {
        let _ = waker;
    }
}

/// Real time, from [`Instant`].
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: exact, sleep-free tests of anything time-based.
///
/// ```
/// use std::time::Duration;
/// use shoal_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// assert_eq!(clock.now(), Duration::ZERO);
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(clock.now(), Duration::from_millis(250));
/// ```
#[derive(Default)]
pub struct ManualClock {
    now: Mutex<Duration>,
    wakers: Mutex<Vec<Weak<dyn Fn() + Send + Sync>>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves time forward by `by` and wakes every limiter waiting on this clock.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = lock(&self.now);
            *now = now.saturating_add(by);
        }
        // Wake after the new time is visible: a waiter reads the clock under its limiter's
        // lock, and the waker takes that lock before notifying, so no wake-up is lost.
        let wakers: Vec<_> = {
            let mut list = lock(&self.wakers);
            list.retain(|w| w.strong_count() > 0);
            list.iter().filter_map(Weak::upgrade).collect()
        };
        for wake in wakers {
            wake();
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *lock(&self.now)
    }

    fn register_waker(&self, waker: Weak<dyn Fn() + Send + Sync>) {
        lock(&self.wakers).push(waker);
    }
}

/// How fast jobs may start: `jobs` per `period`, bursts of up to `burst`, and optionally at
/// most `max_in_flight` at once. Checked when a [`RateLimited`] is built.
///
/// ```
/// use std::time::Duration;
/// use shoal_core::RateLimit;
///
/// let api = RateLimit::per_second(50).burst(10).max_in_flight(8);
/// assert_eq!(api.interval(), Duration::from_millis(20));
/// let slow = RateLimit::per(3, Duration::from_secs(60)); // 3 a minute, burst 1
/// assert_eq!(slow.interval(), Duration::from_secs(20));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    jobs: u32,
    period: Duration,
    burst: u32,
    max_in_flight: Option<usize>,
}

impl RateLimit {
    /// `jobs` per second, burst 1, no in-flight cap.
    pub fn per_second(jobs: u32) -> RateLimit {
        RateLimit::per(jobs, Duration::from_secs(1))
    }

    /// `jobs` per `period`, burst 1, no in-flight cap.
    pub fn per(jobs: u32, period: Duration) -> RateLimit {
        RateLimit {
            jobs,
            period,
            burst: 1,
            max_in_flight: None,
        }
    }

    /// How many tokens the bucket holds: jobs an idle limiter lets start at once (default 1:
    /// evenly spaced starts).
    pub fn burst(mut self, burst: u32) -> RateLimit {
        self.burst = burst;
        self
    }

    /// At most `n` jobs released and not yet finished (default: no cap).
    pub fn max_in_flight(mut self, n: usize) -> RateLimit {
        self.max_in_flight = Some(n);
        self
    }

    /// Jobs per period.
    pub fn jobs(&self) -> u32 {
        self.jobs
    }

    /// The period the rate is counted over.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Tokens the bucket holds at most.
    pub fn burst_size(&self) -> u32 {
        self.burst
    }

    /// The in-flight cap, if any.
    pub fn in_flight_cap(&self) -> Option<usize> {
        self.max_in_flight
    }

    /// The time one token takes to drip in: `period / jobs` (rounded down to whole
    /// nanoseconds; the bucket itself keeps exact fractions).
    pub fn interval(&self) -> Duration {
        match self.jobs {
            0 => Duration::MAX,
            n => self.period / n,
        }
    }

    /// Checks the settings; every constructor of [`RateLimited`] calls it.
    pub fn validate(&self) -> Result<(), RateLimitError> {
        if self.jobs == 0 {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroRate,
                "a rate of 0 jobs per period would never start a job: use at least 1 (for a \
                 slower rate, lengthen the period: RateLimit::per(1, Duration::from_secs(60)))",
            ))
        } else if self.period.is_zero() {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroPeriod,
                "a period of zero is an infinite rate: give a period above zero, or do not wrap \
                 the executor in RateLimited",
            ))
        } else if self.burst == 0 {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroBurst,
                "burst(0): a bucket that holds no token never releases a job; use at least 1",
            ))
        } else if self.max_in_flight == Some(0) {
            Err(RateLimitError::new(
                RateLimitErrorKind::ZeroInFlight,
                "max_in_flight(0) would never let a job run; use at least 1, or leave it unset \
                 for no cap",
            ))
        } else {
            Ok(())
        }
    }
}

/// What is wrong with a [`RateLimit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimitErrorKind {
    /// Zero jobs per period.
    ZeroRate,
    /// A period of zero.
    ZeroPeriod,
    /// `burst(0)`.
    ZeroBurst,
    /// `max_in_flight(0)`.
    ZeroInFlight,
}

/// A [`RateLimit`] that cannot work. Opaque, with a [`kind`](RateLimitError::kind); the
/// `Display` says what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitError {
    kind: RateLimitErrorKind,
    detail: &'static str,
}

impl RateLimitError {
    fn new(kind: RateLimitErrorKind, detail: &'static str) -> RateLimitError {
        RateLimitError { kind, detail }
    }

    /// What is wrong.
    pub fn kind(&self) -> RateLimitErrorKind {
        self.kind
    }
}

impl fmt::Display for RateLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid rate limit: {}", self.detail)
    }
}

impl std::error::Error for RateLimitError {}

/// The token bucket, in exact integer arithmetic: one token is `period_ns` units of credit, and
/// every nanosecond adds `jobs` units. So "10 per second" and "3 per second" are both exact,
/// with no rounding drift however long the limiter runs.
#[derive(Debug)]
struct Bucket {
    jobs: u128,
    period_ns: u128,
    capacity: u128,
    credit: u128,
    last: Duration,
}

impl Bucket {
    /// A full bucket at clock time `now`.
    fn new(limit: &RateLimit, now: Duration) -> Bucket {
        let period_ns = limit.period.as_nanos();
        let capacity = u128::from(limit.burst) * period_ns;
        Bucket {
            jobs: u128::from(limit.jobs),
            period_ns,
            capacity,
            credit: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Duration) {
        if now > self.last {
            let elapsed = (now - self.last).as_nanos();
            self.credit = self
                .credit
                .saturating_add(elapsed.saturating_mul(self.jobs))
                .min(self.capacity);
            self.last = now;
        }
    }

    fn try_take(&mut self) -> bool {
        if self.credit >= self.period_ns {
            self.credit -= self.period_ns;
            true
        } else {
            false
        }
    }

    fn refund(&mut self) {
        self.credit = (self.credit + self.period_ns).min(self.capacity);
    }

    /// Clock time until the next token, after a refill.
    fn until_next(&self) -> Duration {
        let missing = self.period_ns.saturating_sub(self.credit);
        let ns = missing.div_ceil(self.jobs);
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

struct State {
    bucket: Bucket,
    in_flight: usize,
    closed: bool,
    /// Submitters blocked in `execute`.
    waiting: usize,
    /// Held-back submitters refused because shutdown began.
    refused_at_shutdown: u64,
    /// `try_execute` calls refused for lack of a token or a slot.
    refused_full: u64,
    /// Jobs run inline by a nested submitter (see the module docs).
    inline_completed: u64,
    inline_panicked: u64,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
    cap: usize,
    clock: Arc<dyn Clock>,
}

impl Shared {
    fn id(&self) -> usize {
        self as *const Shared as usize
    }

    fn release_slot(&self) {
        let mut st = lock(&self.state);
        st.in_flight -= 1;
        let wake = st.waiting > 0;
        drop(st);
        if wake {
            self.cv.notify_all();
        }
    }
}

/// One in-flight slot; dropping it (the job returned, panicked, or was dropped unrun) frees it.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.release_slot();
    }
}

std::thread_local! {
    /// The limiter (by `Shared` address) whose job this thread is running; 0 for none.
    static RUNNING_FOR: Cell<usize> = const { Cell::new(0) };
}

/// Marks the thread as running a job of one limiter until dropped (restores the previous mark,
/// so limiters can nest).
struct Running(usize);

impl Running {
    fn enter(id: usize) -> Running {
        Running(RUNNING_FOR.with(|c| c.replace(id)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = RUNNING_FOR.try_with(|c| c.set(self.0));
    }
}

enum Grant {
    /// A token and a slot: release the job into the wrapped executor.
    Slot(Slot),
    /// A token, no slot, and the caller is one of our own jobs: run the job inline.
    Inline,
}

/// An [`Executor`] that releases jobs into another one at a limited rate; see the
/// [module docs](self) for how it works.
pub struct RateLimited<E> {
    inner: E,
    limit: RateLimit,
    shared: Arc<Shared>,
    /// Kept alive here; the clock holds it weakly.
    _waker: Arc<dyn Fn() + Send + Sync>,
}

impl<E> fmt::Debug for RateLimited<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("limit", &self.limit)
            .field("in_flight", &self.in_flight())
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl<E: Executor> RateLimited<E> {
    /// Wraps `inner`, timing with the [`SystemClock`].
    pub fn new(inner: E, limit: RateLimit) -> Result<RateLimited<E>, RateLimitError> {
        RateLimited::with_clock(inner, limit, Arc::new(SystemClock::new()))
    }

    /// Wraps `inner`, timing with `clock` (a [`ManualClock`] in tests).
    pub fn with_clock(
        inner: E,
        limit: RateLimit,
        clock: Arc<dyn Clock>,
    ) -> Result<RateLimited<E>, RateLimitError> {
        limit.validate()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                bucket: Bucket::new(&limit, clock.now()),
                in_flight: 0,
                closed: false,
                waiting: 0,
                refused_at_shutdown: 0,
                refused_full: 0,
                inline_completed: 0,
                inline_panicked: 0,
            }),
            cv: Condvar::new(),
            cap: limit.max_in_flight.unwrap_or(usize::MAX),
            clock,
        });
        let target = shared.clone();
        let waker: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            // Taking the lock orders this wake after any waiter's look at the clock.
            drop(lock(&target.state));
            target.cv.notify_all();
        });
        shared.clock.register_waker(Arc::downgrade(&waker));
        Ok(RateLimited {
            inner,
            limit,
            shared,
            _waker: waker,
        })
    }
}

impl<E> RateLimited<E> {
    /// The wrapped executor.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// The limit this limiter enforces.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Jobs released and not yet finished.
    pub fn in_flight(&self) -> usize {
        lock(&self.shared.state).in_flight
    }

    /// Submitters blocked in `execute` now, waiting for a token or a slot: the jobs the
    /// limiter is holding back.
    pub fn waiting(&self) -> usize {
        lock(&self.shared.state).waiting
    }

    /// Held-back submissions that shutdown refused (each got its job back with
    /// [`RejectReason::ShutDown`]).
    pub fn refused_at_shutdown(&self) -> u64 {
        lock(&self.shared.state).refused_at_shutdown
    }

    fn nested(&self) -> bool {
        RUNNING_FOR.with(Cell::get) == self.shared.id()
    }

    /// Takes a token and a slot without waiting; `Err(Full)` when either is missing.
    fn grant_now(&self) -> Result<Slot, RejectReason> {
        let sh = &self.shared;
        let mut st = lock(&sh.state);
        if st.closed {
            return Err(RejectReason::ShutDown);
        }
        if st.in_flight < sh.cap {
            st.bucket.refill(sh.clock.now());
            if st.bucket.try_take() {
                st.in_flight += 1;
                return Ok(Slot(sh.clone()));
            }
        }
        st.refused_full += 1;
        Err(RejectReason::Full)
    }

    /// Waits for a token and a slot (or, nested, a token only), or for shutdown.
    fn grant_waiting(&self) -> Result<Grant, RejectReason> {
        const MIN_NAP: Duration = Duration::from_micros(20);
        const MAX_NAP: Duration = Duration::from_millis(1);
        let sh = &self.shared;
        let nested = self.nested();
        let in_worker = worker::in_worker();
        let mut nap = MIN_NAP;
        let mut st = lock(&sh.state);
        loop {
            if st.closed {
                st.refused_at_shutdown += 1;
                return Err(RejectReason::ShutDown);
            }
            st.bucket.refill(sh.clock.now());
            // `None`: waiting for a slot, which a finishing job signals.
            let wait_for_token = if st.in_flight < sh.cap {
                if st.bucket.try_take() {
                    st.in_flight += 1;
                    return Ok(Grant::Slot(Slot(sh.clone())));
                }
                Some(st.bucket.until_next())
            } else if nested {
                if st.bucket.try_take() {
                    return Ok(Grant::Inline);
                }
                Some(st.bucket.until_next())
            } else {
                None
            };
            if in_worker {
                // Run our pool's queued jobs while we wait: a released job queued behind us
                // may be what frees the slot.
                drop(st);
                if worker::help_one() {
                    nap = MIN_NAP;
                    st = lock(&sh.state);
                    continue;
                }
                st = lock(&sh.state);
                // New work for us to help with may arrive without a signal: nap briefly.
                let timeout = wait_for_token.map_or(nap, |t| t.min(nap));
                st = self.wait(st, Some(timeout));
                nap = (nap * 2).min(MAX_NAP);
            } else {
                st = self.wait(st, wait_for_token);
            }
        }
    }

    fn wait<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, State> {
        st.waiting += 1;
        let mut st = match timeout {
            None => self.shared.cv.wait(st).unwrap_or_else(|p| p.into_inner()),
            Some(t) => {
                self.shared
                    .cv
                    .wait_timeout(st, t)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
        };
        st.waiting -= 1;
        st
    }

    fn run_inline(&self, job: Job) {
        let ok = catch_unwind(AssertUnwindSafe(job)).map_err(worker::drop_quietly);
        let mut st = lock(&self.shared.state);
        match ok {
            Ok(()) => st.inline_completed += 1,
            Err(()) => st.inline_panicked += 1,
        }
    }
}

impl<E: Executor> RateLimited<E> {
    /// Hands a granted job to the wrapped executor. If it refuses, the token is refunded, the
    /// slot freed, and the original job handed back.
    fn release(&self, job: Job, slot: Slot, blocking: bool) -> Result<(), Rejected> {
        // The cell lets us take the original job back out of a refused wrapper.
        let cell = Arc::new(Mutex::new(Some(job)));
        let in_wrapper = cell.clone();
        let id = self.shared.id();
        let wrapped: Job = Box::new(move || {
            // Dropped last, even when the job panics: frees the slot after the job ended.
            let _slot = slot;
            let _running = Running::enter(id);
            let job = lock(&in_wrapper).take();
            if let Some(job) = job {
                job();
            }
        });
        let result = if blocking {
            self.inner.execute(wrapped)
        } else {
            self.inner.try_execute(wrapped)
        };
        result.map_err(|rejected| {
            let reason = rejected.reason();
            lock(&self.shared.state).bucket.refund();
            // Dropping the unrun wrapper frees the slot (and wakes a waiter).
            drop(rejected.into_job());
            let job = lock(&cell)
                .take()
                .expect("a refused wrapper never ran its job");
            Rejected::new(reason, job)
        })
    }
}

impl<E: Executor> Executor for RateLimited<E> {
    /// Waits for a token and an in-flight slot, then releases the job into the wrapped
    /// executor (which may wait for room in its own queue). Fails only when shutdown has
    /// begun, with the job handed back.
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        match self.grant_waiting() {
            Ok(Grant::Slot(slot)) => self.release(job, slot, true),
            Ok(Grant::Inline) => {
                self.run_inline(job);
                Ok(())
            }
            Err(reason) => Err(Rejected::new(reason, job)),
        }
    }

    /// Releases the job only if a token and a slot are there now and the wrapped executor
    /// takes it without waiting; otherwise `Full` (or `ShutDown`) with the job handed back.
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        match self.grant_now() {
            Ok(slot) => self.release(job, slot, false),
            Err(reason) => Err(Rejected::new(reason, job)),
        }
    }

    fn workers(&self) -> usize {
        self.inner.workers()
    }

    fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        self.inner.resize(workers)
    }

    /// Stops intake (waiting submitters get their jobs back with `ShutDown`), then shuts the
    /// wrapped executor down with `mode`. The report adds the jobs run inline.
    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        lock(&self.shared.state).closed = true;
        self.shared.cv.notify_all();
        let mut report = self.inner.shutdown(mode);
        let st = lock(&self.shared.state);
        report.submitted += st.inline_completed + st.inline_panicked;
        report.completed += st.inline_completed;
        report.panicked += st.inline_panicked;
        report
    }

    /// The wrapped executor's metrics, plus the limiter's refusals (in `rejected`) and the
    /// jobs it ran inline.
    fn metrics(&self) -> Metrics {
        let mut m = self.inner.metrics();
        let st = lock(&self.shared.state);
        m.rejected += st.refused_at_shutdown + st.refused_full;
        m.submitted += st.inline_completed + st.inline_panicked;
        m.completed += st.inline_completed;
        m.panicked += st.inline_panicked;
        m
    }
}

/// Locks a std mutex, ignoring poisoning: no user code runs under the limiter's locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    //! The bucket's arithmetic; the limiter's behaviour is tested through the public API in
    //! `tests/rate.rs`, on a [`ManualClock`].

    use super::*;

    #[test]
    fn bucket_wait_is_the_exact_time_to_the_next_token() {
        let limit = RateLimit::per(3, Duration::from_secs(1));
        let mut b = Bucket::new(&limit, Duration::ZERO);
        assert!(b.try_take());
        assert!(!b.try_take());
        assert_eq!(b.until_next(), Duration::from_nanos(333_333_334));
        b.refill(Duration::from_nanos(333_333_333));
        assert!(!b.try_take());
        assert_eq!(b.until_next(), Duration::from_nanos(1));
        b.refill(Duration::from_nanos(333_333_334));
        assert_eq!(b.until_next(), Duration::ZERO);
        assert!(b.try_take());
    }

    #[test]
    fn bucket_refund_never_exceeds_the_burst() {
        let limit = RateLimit::per_second(10).burst(2);
        let mut b = Bucket::new(&limit, Duration::ZERO);
        b.refund();
        assert!(b.try_take() && b.try_take());
        assert!(!b.try_take(), "a refund into a full bucket is capped");
    }

    #[test]
    fn bucket_survives_extreme_settings() {
        let limit = RateLimit::per(u32::MAX, Duration::MAX).burst(u32::MAX);
        let mut b = Bucket::new(&limit, Duration::ZERO);
        b.refill(Duration::MAX);
        assert!(b.try_take());
        let limit = RateLimit::per(u32::MAX, Duration::from_nanos(1));
        let mut b = Bucket::new(&limit, Duration::ZERO);
        assert!(b.try_take());
        b.refill(Duration::from_nanos(1));
        assert!(b.try_take());
    }
}
