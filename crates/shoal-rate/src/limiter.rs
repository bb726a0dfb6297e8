//! [`RateLimited`]: the wrapper that grants each job a token and a slot, releases it into the
//! wrapped executor, and frees the slot when the job ends. The [crate docs](crate) tell the
//! story; this file is the mechanism.

use std::cell::Cell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use shoal_core::worker;
use shoal_core::{
    BroadcastError, Executor, Job, Metrics, PoolId, RejectReason, Rejected, ResizeError, Shutdown,
    ShutdownReport, WaitIdleError, WorkerId,
};

use crate::bucket::Bucket;
use crate::clock::{Clock, SystemClock};
use crate::limit::{RateLimit, RateLimitError};
use crate::sync::{lock, thread_local, Arc, Condvar, Mutex, MutexGuard};

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
    /// Jobs run inline by a nested submitter (see the crate docs).
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

/// A job on its way into the wrapped executor, and the address of the wrapper carrying it.
struct Wrapped {
    job: Option<Job>,
    address: usize,
}

/// One in-flight slot; dropping it (the job returned, panicked, or was dropped unrun) frees it.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.release_slot();
    }
}

thread_local! {
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
/// [crate docs](crate) for how it works.
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

    /// Wraps `inner`, timing with `clock` (a [`ManualClock`](crate::ManualClock) in tests).
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
            cap: limit.in_flight_cap().unwrap_or(usize::MAX),
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
        // The cell lets us take the original job back out of a refused wrapper, and tells the
        // wrapper its own address (known once it is boxed).
        let cell = Arc::new(Mutex::new(Wrapped {
            job: Some(job),
            address: 0,
        }));
        let in_wrapper = cell.clone();
        let id = self.shared.id();
        let wrapped: Job = Box::new(move || {
            // Dropped last, even when the job panics: frees the slot after the job ended.
            let _slot = slot;
            let _running = Running::enter(id);
            let (job, me) = {
                let mut cell = lock(&in_wrapper);
                (cell.job.take(), cell.address)
            };
            if let Some(job) = job {
                // The job ends with the wrapper: what it hands over for after its pool's count
                // (a map's job does) waits for the wrapper's count, after the slot is freed.
                worker::run_wrapped(me, job);
            }
        });
        lock(&cell).address = worker::job_address(&wrapped);
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
                .job
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
        self.close();
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

    /// `false`: every job is a unit the limiter paces and caps, so `ExecutorExt::map` through
    /// a limiter submits one job per item and runs no item on the calling thread.
    fn map_in_chunks(&self) -> bool {
        false
    }

    /// The wrapped executor's.
    fn max_workers(&self) -> usize {
        self.inner.max_workers()
    }

    /// The wrapped executor's: the limiter's jobs run on its workers.
    fn pool_id(&self) -> Option<PoolId> {
        self.inner.pool_id()
    }

    /// Passes the broadcast to the wrapped executor: a broadcast is not a job the limiter
    /// paces or caps.
    fn broadcast_jobs(
        &self,
        job_for: &mut dyn FnMut(WorkerId) -> Job,
    ) -> Result<(), BroadcastError> {
        self.inner.broadcast_jobs(job_for)
    }

    /// Waits for the wrapped executor. Jobs the limiter holds back (their submitters still wait
    /// in `execute` for a token or a slot) are not accepted yet, and not waited for.
    fn wait_idle_until(&self, deadline: Option<Instant>) -> Result<bool, WaitIdleError> {
        self.inner.wait_idle_until(deadline)
    }

    /// Stops intake as [`shutdown`](Executor::shutdown) does (waiting submitters get their
    /// jobs back with `ShutDown`), then lets the wrapped executor finish in the background.
    fn shutdown_background(&self) {
        self.close();
        self.inner.shutdown_background();
    }
}

impl<E> RateLimited<E> {
    /// Refuses every submission from now on and wakes the submitters that wait for a token or a
    /// slot, so that they get their jobs back.
    fn close(&self) {
        lock(&self.shared.state).closed = true;
        self.shared.cv.notify_all();
    }
}
