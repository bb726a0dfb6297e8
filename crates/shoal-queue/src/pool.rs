//! `SharedQueuePool`, its builder, and the state its workers share.

use std::fmt;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use shoal_core::spawn::{self, SpawnHook, SpawnInfo};
use shoal_core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use shoal_core::sync::{lock, thread, Arc, Condvar, Mutex};
use shoal_core::{
    check_resize, check_workers, worker, BuildError, BuildErrorKind, Counters, Event, Executor,
    Job, Metrics, PanicHandler, RejectReason, Rejected, ResizeError, Shutdown, ShutdownReport,
};

use crate::queue::{JobQueue, PushError};
use crate::worker::spawn_worker;

/// Where the pool is in its life. Changes only under `Inner::control`.
pub(crate) enum Phase {
    Running,
    /// Intake is closed; workers are draining (or cancelling) the queue.
    Stopping,
    /// Every worker has exited; the final report.
    Stopped(ShutdownReport),
}

pub(crate) struct Control {
    pub(crate) phase: Phase,
    /// Threads started and not yet joined (retired ones included until pruned).
    pub(crate) threads: Vec<thread::JoinHandle<()>>,
    /// Workers that have not exited yet (retiring ones included).
    pub(crate) alive: usize,
    /// When the first shutdown call began.
    pub(crate) started: Option<Instant>,
    /// A deadline passed with jobs still running: later shutdown calls (and the drop) return
    /// at once instead of waiting for jobs that may never return.
    pub(crate) abandoned: bool,
    /// Shutdown calls cancelling queued jobs right now. A job they took off the queue is
    /// counted as cancelled a moment later, so the final report waits for them too: it is
    /// written by whoever brings `alive` and `cancellers` both to zero.
    cancellers: usize,
    next_index: usize,
}

/// Thread settings the builder collected.
#[derive(Clone, Default)]
pub(crate) struct ThreadConfig {
    pub(crate) name: Option<String>,
    pub(crate) stack_size: Option<usize>,
    /// Asked before every thread start; see `shoal_core::spawn`.
    pub(crate) spawn_hook: Option<SpawnHook>,
}

/// The largest `queue_capacity` the pool accepts: 2^20 = 1,048,576 jobs.
///
/// A bounded queue reserves a slot for every job up front (24 bytes each: the boxed job's
/// pointer pair and a sequence stamp), so a bound of `n` costs `24 × n` bytes the moment the
/// pool is built, and a bound near `usize::MAX` cannot be reserved at all. A larger bound
/// would not bound memory usefully anyway: leave the queue unbounded instead.
/// `queue_capacity` above this is a [`BuildError`] of kind
/// [`CapacityTooLarge`](BuildErrorKind::CapacityTooLarge).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// What the pool and its workers share.
pub(crate) struct Inner {
    pub(crate) queue: JobQueue,
    pub(crate) counters: Counters,
    pub(crate) panic_handler: Option<PanicHandler>,
    pub(crate) thread_config: ThreadConfig,
    /// The worker count the pool is sized to.
    pub(crate) target: AtomicUsize,
    /// Workers that have not decided to retire. A worker retires by moving this from above
    /// `target` down by one, so exactly `live - target` workers retire.
    pub(crate) live: AtomicUsize,
    /// Intake closed: submissions are refused from now on.
    pub(crate) closed: AtomicBool,
    /// Queued jobs are to be cancelled, not run (`Shutdown::Now`, or a passed deadline).
    pub(crate) cancel: AtomicBool,
    /// Set once no submission can still be on its way into the queue: from then on, an empty
    /// queue stays empty and workers may exit.
    pub(crate) sealed: AtomicBool,
    /// Submissions between their `closed` check and the end of their push. Written twice per
    /// submit, so it sits alone in its cache line: the submit path never writes a line that
    /// workers read on every job (`cancel`, `target`, `live`).
    pub(crate) submitting: CachePadded<AtomicUsize>,
    pub(crate) control: Mutex<Control>,
    /// Signalled when a worker exits (under `control`).
    pub(crate) exited: Condvar,
}

impl Inner {
    /// The id under which workers register with `shoal_core::worker`.
    pub(crate) fn id(&self) -> usize {
        self as *const Inner as usize
    }

    /// Runs (or, when cancelling, drops) one job the way every path of this pool does.
    #[inline]
    pub(crate) fn run(&self, job: Job) {
        // ORDERING: Relaxed is enough: `cancel` only decides between running and dropping a
        // job; a job that misses the flag is run, which Shutdown::Now allows for jobs that
        // were already taken off the queue.
        if self.cancel.load(Ordering::Relaxed) {
            worker::cancel_job(job, &self.counters);
        } else {
            worker::run_job(job, &self.counters, self.panic_handler.as_ref());
        }
    }

    fn submit(&self, job: Job, blocking: bool) -> Result<(), Rejected> {
        // Announce the submission before checking `closed`; shutdown closes, then waits for
        // `submitting` to reach zero before sealing. So a job either sees `closed` and is
        // refused, or is in the queue before the queue is sealed: never lost in between.
        // ORDERING: SeqCst on both sides (here: add, then load `closed`; shutdown: store
        // `closed`, then load `submitting`) forbids the outcome where each misses the other.
        self.submitting.fetch_add(1, Ordering::SeqCst);
        let result = if self.closed.load(Ordering::SeqCst) {
            Err(Rejected::new(RejectReason::ShutDown, job))
        } else if blocking {
            self.push_blocking(job)
        } else {
            self.queue.try_push(job).map_err(|e| match e {
                PushError::Full(job) => Rejected::new(RejectReason::Full, job),
                PushError::Closed(job) => Rejected::new(RejectReason::ShutDown, job),
            })
        };
        if result.is_ok() {
            self.counters.add(Event::Submitted, 1);
        } else {
            self.counters.add(Event::Rejected, 1);
        }
        // ORDERING: Release pairs with the SeqCst load in `seal`: the push (and its count)
        // happen-before the shutdown's drain.
        self.submitting.fetch_sub(1, Ordering::SeqCst);
        result
    }

    fn push_blocking(&self, job: Job) -> Result<(), Rejected> {
        if !worker::is_worker_of(self.id()) {
            return self
                .queue
                .push_blocking(job)
                .map_err(|job| Rejected::new(RejectReason::ShutDown, job));
        }
        // Inside our own worker, waiting for room could deadlock (every worker might be
        // waiting): make room by running queued jobs instead.
        let mut job = job;
        loop {
            match self.queue.try_push(job) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(j)) => return Err(Rejected::new(RejectReason::ShutDown, j)),
                Err(PushError::Full(j)) => {
                    job = j;
                    if self.closed.load(Ordering::SeqCst) {
                        return Err(Rejected::new(RejectReason::ShutDown, job));
                    }
                    match self.queue.try_pop() {
                        Some(queued) => self.run(queued),
                        None => thread::yield_now(),
                    }
                }
            }
        }
    }

    /// Closes intake and waits until no submission is still on its way in; then seals.
    fn close_and_seal(&self, cancel: bool) {
        // ORDERING: see `submit`.
        self.closed.store(true, Ordering::SeqCst);
        if cancel {
            self.cancel.store(true, Ordering::SeqCst);
        }
        // Blocked submitters give their jobs back now.
        self.queue.close_intake();
        while self.submitting.load(Ordering::SeqCst) != 0 {
            shoal_core::sync::spin_loop();
            thread::yield_now();
        }
        // ORDERING: SeqCst store, read by workers before they decide the queue stays empty.
        self.sealed.store(true, Ordering::SeqCst);
    }

    /// Drops every queued job unrun (counted as cancelled). Registered in `control` while it
    /// runs: the last worker may find the queue empty and exit while a job this call popped is
    /// not counted yet, and the final report must not be written in that gap (it would call
    /// the job still running, for good).
    fn cancel_queued(&self) {
        lock(&self.control).cancellers += 1;
        while let Some(job) = self.queue.try_pop() {
            worker::cancel_job(job, &self.counters);
        }
        let mut control = lock(&self.control);
        control.cancellers -= 1;
        self.finish_if_stopped(&mut control);
    }

    /// Writes the final report once nothing can change it any more: shutdown began, every
    /// worker exited and no call is cancelling jobs. Wakes the callers waiting for it.
    fn finish_if_stopped(&self, control: &mut Control) {
        if control.alive == 0 && control.cancellers == 0 {
            if let Phase::Stopping = control.phase {
                let elapsed = control.started.map(|s| s.elapsed()).unwrap_or_default();
                control.phase = Phase::Stopped(self.report(elapsed));
            }
        }
        self.exited.notify_all();
    }

    /// Wakes every worker so it sees the new state.
    pub(crate) fn wake_all(&self, control: &Control) {
        self.queue.wake(control.alive);
    }

    pub(crate) fn report(&self, elapsed: Duration) -> ShutdownReport {
        ShutdownReport::from_metrics(&self.counters.snapshot(0), elapsed)
    }

    /// Called by each worker as it exits, with `control` held.
    pub(crate) fn worker_exited(&self, control: &mut Control) {
        control.alive -= 1;
        self.finish_if_stopped(control);
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        let inside = worker::holds_up(self.id());
        let mut control = lock(&self.control);
        match control.phase {
            Phase::Stopped(report) => return report,
            Phase::Stopping => {
                if let Shutdown::Now = mode {
                    // A later, stricter call still cancels what is queued.
                    drop(control);
                    self.cancel.store(true, Ordering::SeqCst);
                    self.cancel_queued();
                    control = lock(&self.control);
                }
                return self.wait_stopped(control, inside, None);
            }
            Phase::Running => {}
        }
        control.phase = Phase::Stopping;
        control.started = Some(Instant::now());
        drop(control);

        self.close_and_seal(matches!(mode, Shutdown::Now));
        if let Shutdown::Now = mode {
            self.cancel_queued();
        }
        let deadline = match mode {
            // A deadline too far to represent (`Duration::MAX`) is no deadline: graceful.
            Shutdown::Deadline(d) => Instant::now().checked_add(d),
            _ => None,
        };
        let mut control = lock(&self.control);
        self.wake_all(&control);
        if control.alive == 0 && matches!(control.phase, Phase::Stopping) {
            // No worker is left to finish the report: every start failed (a build that
            // failed). Cancelling writes it (`finish_if_stopped`). When the workers all exited
            // already, the report is written and must stay as it is, so that concurrent
            // callers get the same one.
            drop(control);
            self.cancel_queued();
            control = lock(&self.control);
        }
        self.wait_stopped(control, inside, deadline)
    }

    /// Waits until every worker exited (all but the caller, when called from a worker), or the
    /// deadline passes; then joins the exited threads and returns the report.
    fn wait_stopped(
        &self,
        mut control: shoal_core::sync::MutexGuard<'_, Control>,
        inside: bool,
        deadline: Option<Instant>,
    ) -> ShutdownReport {
        let started = control.started.unwrap_or_else(Instant::now);
        loop {
            if let Phase::Stopped(report) = control.phase {
                let threads = std::mem::take(&mut control.threads);
                drop(control);
                for t in threads {
                    let _ = t.join();
                }
                return report;
            }
            if inside || control.abandoned {
                // We cannot wait for our own worker to exit, nor for jobs a deadline already
                // gave up on: return what we know now.
                return self.report(started.elapsed());
            }
            match deadline {
                None => {
                    control = self.exited.wait(control).unwrap_or_else(|p| p.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        drop(control);
                        // Past the deadline: as `Now` for whatever is still queued.
                        self.cancel.store(true, Ordering::SeqCst);
                        self.cancel_queued();
                        let mut control = lock(&self.control);
                        if let Phase::Stopped(report) = control.phase {
                            return report;
                        }
                        control.abandoned = true;
                        // Workers still busy are not waited for; they exit when their job
                        // returns and finish the report then.
                        return self.report(started.elapsed());
                    }
                    control = self
                        .exited
                        .wait_timeout(control, deadline - now)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
            }
        }
    }
}

/// Starts one more worker thread. Called with `control` held.
fn start_worker(inner: &Arc<Inner>, control: &mut Control) -> std::io::Result<()> {
    let handle = spawn_worker(inner.clone(), control.next_index)?;
    control.next_index += 1;
    control.alive += 1;
    control.threads.push(handle);
    Ok(())
}

/// A pool of worker threads that pull jobs from one shared queue.
///
/// See the [crate docs](crate) for how it works and when to pick it.
pub struct SharedQueuePool {
    inner: Arc<Inner>,
}

impl fmt::Debug for SharedQueuePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedQueuePool")
            .field("workers", &self.workers())
            .finish_non_exhaustive()
    }
}

impl SharedQueuePool {
    /// A pool of `workers` threads with an unbounded queue.
    pub fn new(workers: usize) -> Result<SharedQueuePool, BuildError> {
        Builder::new().workers(workers).build()
    }

    /// A builder for every setting.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Jobs waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.inner.queue.len()
    }
}

impl Executor for SharedQueuePool {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.inner.submit(job, true)
    }

    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.inner.submit(job, false)
    }

    fn workers(&self) -> usize {
        // ORDERING: a snapshot; Relaxed suffices.
        self.inner.target.load(Ordering::Relaxed)
    }

    fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        check_resize(workers)?;
        let inner = &self.inner;
        let mut control = lock(&inner.control);
        if !matches!(control.phase, Phase::Running) {
            return Err(ResizeError::ShutDown);
        }
        // Neither model checker's JoinHandle can say whether its thread finished.
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        control.threads.retain(|t| !t.is_finished());
        // ORDERING: `target` and `live` change under `control` on this side; workers read
        // them (SeqCst) when deciding to retire, see `Worker::should_retire`.
        inner.target.store(workers, Ordering::SeqCst);
        let live = inner.live.load(Ordering::SeqCst);
        if workers > live {
            for started in 0..workers - live {
                inner.live.fetch_add(1, Ordering::SeqCst);
                if let Err(source) = start_worker(inner, &mut control) {
                    inner.live.fetch_sub(1, Ordering::SeqCst);
                    inner.target.store(live + started, Ordering::SeqCst);
                    return Err(ResizeError::Spawn { started, source });
                }
            }
        } else if workers < live {
            // Idle workers are blocked in the queue: wake enough of them to retire.
            inner.queue.wake(live - workers);
        }
        Ok(())
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.inner.shutdown(mode)
    }

    fn metrics(&self) -> Metrics {
        let alive = lock(&self.inner.control).alive;
        self.inner.counters.snapshot(alive)
    }
}

impl Drop for SharedQueuePool {
    /// Dropping the pool shuts it down gracefully: every queued job runs first.
    fn drop(&mut self) {
        self.inner.shutdown(Shutdown::Graceful);
    }
}

/// Settings for a [`SharedQueuePool`].
#[derive(Clone)]
pub struct Builder {
    workers: Option<usize>,
    queue_capacity: Option<usize>,
    thread_config: ThreadConfig,
    panic_handler: Option<PanicHandler>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("thread_name", &self.thread_config.name)
            .field("stack_size", &self.thread_config.stack_size)
            .field("spawn_hook", &self.thread_config.spawn_hook.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: one worker per logical CPU, unbounded queue.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            queue_capacity: None,
            thread_config: ThreadConfig::default(),
            panic_handler: None,
        }
    }

    /// The number of worker threads (default: logical CPUs).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Bounds the queue to `capacity` waiting jobs: `execute` then waits for room and
    /// `try_execute` returns `Full`. Default: unbounded. `capacity` must be between 1 and
    /// [`MAX_QUEUE_CAPACITY`]; the queue reserves its slots (24 bytes each) when the pool is
    /// built.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Names worker threads `{prefix}-{index}` (default `shoal-queue-{index}`). A prefix with a
    /// NUL byte is a [`BuildError`] (no OS thread name can hold one).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_config.name = Some(prefix.into());
        self
    }

    /// The stack size of each worker thread, in bytes (default: std's). At least
    /// [`MIN_STACK_SIZE`](shoal_core::spawn::MIN_STACK_SIZE) (64 KiB); less is a
    /// [`BuildError`].
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.thread_config.stack_size = Some(bytes);
        self
    }

    /// Called with the payload of every job that panics.
    pub fn panic_handler<H>(mut self, handler: H) -> Self
    where
        H: Fn(&(dyn std::any::Any + Send)) + Send + Sync + 'static,
    {
        self.panic_handler = Some(std::sync::Arc::new(handler));
        self
    }

    /// Asked before every worker-thread start (at build and when `resize` grows the pool): an
    /// `Err` refuses the start exactly as the OS refusing a thread would, so `build` returns a
    /// [`BuildError`] of kind [`Spawn`](BuildErrorKind::Spawn) and `resize` a
    /// [`ResizeError::Spawn`], and no job is lost. For fault injection (shoal-testkit's
    /// `SpawnFaults`), capping threads, or logging; see [`shoal_core::spawn`]. It runs with the
    /// pool's internal lock held: keep it quick and do not call into this pool from it.
    pub fn spawn_hook<H>(mut self, hook: H) -> Self
    where
        H: Fn(&SpawnInfo<'_>) -> std::io::Result<()> + Send + Sync + 'static,
    {
        self.thread_config.spawn_hook = Some(SpawnHook::new(hook));
        self
    }

    /// Starts the workers.
    pub fn build(self) -> Result<SharedQueuePool, BuildError> {
        let workers = self.workers.unwrap_or_else(shoal_core::default_workers);
        check_workers(workers)?;
        if self.queue_capacity == Some(0) {
            return Err(BuildError::new(
                BuildErrorKind::ZeroCapacity,
                "queue_capacity(0): a bounded queue needs room for at least one job",
            ));
        }
        if let Some(capacity) = self.queue_capacity {
            if capacity > MAX_QUEUE_CAPACITY {
                return Err(BuildError::new(
                    BuildErrorKind::CapacityTooLarge,
                    format!(
                        "queue_capacity({capacity}) is above the limit of {MAX_QUEUE_CAPACITY} \
                         jobs (a bounded queue reserves every slot up front): use a smaller \
                         bound, or leave the queue unbounded"
                    ),
                ));
            }
        }
        // stack_size(0) or below the minimum, a NUL byte in the name prefix.
        spawn::check_thread_config(
            self.thread_config.name.as_deref(),
            self.thread_config.stack_size,
        )?;
        let inner = Arc::new(Inner {
            queue: JobQueue::new(self.queue_capacity),
            counters: Counters::new(),
            panic_handler: self.panic_handler,
            thread_config: self.thread_config,
            target: AtomicUsize::new(workers),
            live: AtomicUsize::new(workers),
            closed: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            sealed: AtomicBool::new(false),
            submitting: CachePadded::new(AtomicUsize::new(0)),
            control: Mutex::new(Control {
                phase: Phase::Running,
                threads: Vec::with_capacity(workers),
                alive: 0,
                started: None,
                abandoned: false,
                cancellers: 0,
                next_index: 0,
            }),
            exited: Condvar::new(),
        });
        let mut control = lock(&inner.control);
        for _ in 0..workers {
            if let Err(err) = start_worker(&inner, &mut control) {
                drop(control);
                // Stop the workers that did start; no job was accepted yet.
                let pool = SharedQueuePool { inner };
                pool.inner.shutdown(Shutdown::Now);
                return Err(BuildError::spawn(err));
            }
        }
        drop(control);
        Ok(SharedQueuePool { inner })
    }
}
