//! `WorkStealingPool`, its builder, and the state its workers share.

use std::fmt;
use std::time::{Duration, Instant};

use shoal_core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use shoal_core::sync::{lock, thread, Arc, Condvar, Mutex, MutexGuard};
use shoal_core::{
    check_resize, check_workers, worker as core_worker, BuildError, BuildErrorKind, Counters,
    Event, Executor, Job, Metrics, PanicHandler, RejectReason, Rejected, ResizeError, Shutdown,
    ShutdownReport,
};

use crate::intake::{Intake, Reserve};
use crate::queue::{Injector, Steal};
use crate::registry::Registry;
use crate::sleep::Sleep;
use crate::worker;

/// Where the pool is in its life. Changes only under `Shared::control`.
pub(crate) enum Phase {
    Running,
    /// Intake is closed; workers are draining (or cancelling) the queues.
    Stopping,
    /// Every worker has exited; the final report.
    Stopped(ShutdownReport),
}

pub(crate) struct Control {
    pub(crate) phase: Phase,
    /// Threads started and not yet joined (retired ones included until pruned).
    pub(crate) threads: Vec<thread::JoinHandle<()>>,
    /// Worker threads that have not exited yet (retiring ones included).
    pub(crate) alive: usize,
    /// When the first shutdown call began.
    started: Option<Instant>,
    /// A deadline passed with jobs still running: later shutdown calls (and the drop) return
    /// at once instead of waiting for jobs that may never return.
    abandoned: bool,
    /// The id the next worker gets (ids are never reused).
    pub(crate) next_id: usize,
    /// Shutdown calls cancelling queued jobs right now: jobs they took are in their hands, so
    /// the final report waits for them too.
    cancelling: usize,
}

/// Thread settings the builder collected.
#[derive(Clone, Default)]
pub(crate) struct ThreadConfig {
    pub(crate) name: Option<String>,
    pub(crate) stack_size: Option<usize>,
    /// Asked before every thread start; see `shoal_core::spawn`.
    pub(crate) spawn_hook: Option<shoal_core::spawn::SpawnHook>,
}

/// What the pool and its workers share.
pub(crate) struct Shared {
    /// Jobs submitted from outside the pool.
    pub(crate) injector: Injector,
    /// Every worker's stealer, for siblings to steal from.
    pub(crate) registry: Registry,
    /// The parking protocol (see `sleep.rs`).
    pub(crate) sleep: Sleep,
    /// Closed flag, in-flight submissions, capacity (see `intake.rs`).
    pub(crate) intake: Intake,
    pub(crate) counters: Counters,
    pub(crate) panic_handler: Option<PanicHandler>,
    pub(crate) thread_config: ThreadConfig,
    /// Jobs spawned from inside a worker go to a one-job LIFO slot first.
    pub(crate) lifo_slot: bool,
    /// The worker count the pool is sized to.
    target: AtomicUsize,
    /// Retirements requested by a shrink and not yet claimed by a worker.
    pub(crate) retiring: AtomicUsize,
    /// Set once no submission can still be on its way in: from then on a worker that finds
    /// every queue empty exits.
    pub(crate) draining: AtomicBool,
    /// Jobs taken from now on are cancelled, not run (`Shutdown::Now`, or a passed deadline).
    cancel: AtomicBool,
    pub(crate) control: Mutex<Control>,
    /// Signalled when a worker exits (under `control`).
    exited: Condvar,
}

impl Shared {
    /// The id under which workers register with `shoal_core::worker`.
    #[inline]
    pub(crate) fn id(&self) -> usize {
        self as *const Shared as usize
    }

    /// Runs (or, when cancelling, drops) a job just taken from a queue. Every path that takes
    /// a job to run it comes through here.
    #[inline]
    pub(crate) fn run(&self, job: Job) {
        self.intake.release();
        // ORDERING: Relaxed is enough: `cancel` only decides between running and dropping a
        // job already taken off a queue; either is allowed for such a job under `Now`, and the
        // final accounting comes after the workers are joined.
        if self.cancel.load(Ordering::Relaxed) {
            core_worker::cancel_job(job, &self.counters);
        } else {
            core_worker::run_job(job, &self.counters, self.panic_handler.as_ref());
        }
    }

    /// `true` when a parked worker must wake up and look at the flags.
    #[inline]
    pub(crate) fn must_look(&self) -> bool {
        // ORDERING: SeqCst loads of flags stored (SeqCst) before `Sleep::wake_all`; checked
        // under the sleep lock, which orders them with the wake-up anyway.
        self.draining.load(Ordering::SeqCst) || self.retiring.load(Ordering::SeqCst) > 0
    }

    fn reject(&self, reason: RejectReason, job: Job) -> Result<(), Rejected> {
        self.counters.add(Event::Rejected, 1);
        Err(Rejected::new(reason, job))
    }

    fn submit(&self, job: Job, blocking: bool) -> Result<(), Rejected> {
        let inside = worker::is_worker_of(self.id());
        if self.intake.is_bounded() {
            match self.intake.try_reserve() {
                Reserve::Ok => {}
                Reserve::Closed => return self.reject(RejectReason::ShutDown, job),
                Reserve::Full if !blocking => return self.reject(RejectReason::Full, job),
                Reserve::Full => {
                    let reserved = if inside {
                        self.reserve_helping()
                    } else {
                        self.intake.reserve_blocking()
                    };
                    if !reserved {
                        return self.reject(RejectReason::ShutDown, job);
                    }
                }
            }
        }
        if inside {
            // No gate needed: this worker is running (it is the caller) and empties its own
            // deque before it exits; see `intake.rs`.
            if self.intake.is_closed() {
                self.intake.release();
                return self.reject(RejectReason::ShutDown, job);
            }
            self.counters.add(Event::Submitted, 1);
            worker::push_local(job);
        } else {
            let Some(in_flight) = self.intake.enter() else {
                self.intake.release();
                return self.reject(RejectReason::ShutDown, job);
            };
            // Counted as submitted when `in_flight` drops (see `Intake::accepted`).
            self.injector.push(job);
            drop(in_flight);
            self.sleep.notify_new_job();
        }
        Ok(())
    }

    /// Inside one of our workers, waiting for room could deadlock (every worker might be
    /// waiting): make room by running queued jobs instead.
    fn reserve_helping(&self) -> bool {
        loop {
            match self.intake.try_reserve() {
                Reserve::Ok => return true,
                Reserve::Closed => return false,
                Reserve::Full => {
                    if !worker::help(self.id()) {
                        // Nothing we can take (the queued jobs are in flight between queues,
                        // or in another worker's LIFO slot): let their owners move.
                        thread::yield_now();
                    }
                }
            }
        }
    }

    /// Drops every job still queued in the injector or a deque unrun, counted as cancelled.
    /// Jobs in a busy worker's LIFO slot are cancelled by that worker when its job returns.
    /// While this runs, the final report waits (a job taken here is neither queued nor counted
    /// yet, like a job in a worker's hands).
    fn cancel_queued(&self) {
        lock(&self.control).cancelling += 1;
        loop {
            match self.injector.steal() {
                Steal::Success(job) => core_worker::cancel_job(job, &self.counters),
                Steal::Empty => break,
                Steal::Retry => shoal_core::sync::spin_loop(),
            }
        }
        for entry in self.registry.snapshot().entries.iter() {
            loop {
                match entry.stealer.steal() {
                    Steal::Success(job) => core_worker::cancel_job(job, &self.counters),
                    Steal::Empty => break,
                    Steal::Retry => shoal_core::sync::spin_loop(),
                }
            }
        }
        let mut control = lock(&self.control);
        control.cancelling -= 1;
        self.finish_if_done(&mut control);
    }

    /// The counters, with the submissions counted by the intake added in.
    fn snapshot(&self, workers: usize) -> Metrics {
        let mut m = self.counters.snapshot(workers);
        m.submitted += self.intake.accepted();
        m.queued = m
            .submitted
            .saturating_sub(m.running + m.completed + m.panicked + m.cancelled);
        m
    }

    fn report(&self, elapsed: Duration) -> ShutdownReport {
        ShutdownReport::from_metrics(&self.snapshot(0), elapsed)
    }

    /// Called by each worker as it exits, with `control` held.
    pub(crate) fn worker_exited(&self, control: &mut Control) {
        control.alive -= 1;
        self.finish_if_done(control);
    }

    /// Writes the final report once shutdown is under way, every worker has exited and no
    /// shutdown call is still cancelling (written once: concurrent callers all get the same
    /// report); wakes whoever waits for it.
    fn finish_if_done(&self, control: &mut Control) {
        if control.alive == 0 && control.cancelling == 0 {
            if let Phase::Stopping = control.phase {
                let elapsed = control.started.map(|s| s.elapsed()).unwrap_or_default();
                control.phase = Phase::Stopped(self.report(elapsed));
            }
        }
        self.exited.notify_all();
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        let inside = core_worker::holds_up(self.id());
        let mut control = lock(&self.control);
        match control.phase {
            Phase::Stopped(report) => return report,
            Phase::Stopping => {
                if let Shutdown::Now = mode {
                    // A later, stricter call still cancels what is queued.
                    drop(control);
                    // ORDERING: SeqCst like every flag store; see `run`.
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

        if inside {
            // Our own LIFO slot is invisible to siblings and to `cancel_queued`: put its job
            // where they can reach it while we finish the job that called us.
            worker::flush_slot();
        }
        // 1. Stop intake and wait until no submission is in flight: every accepted job is in
        //    a queue now, and the queues can only shrink.
        self.intake.close();
        if let Shutdown::Now = mode {
            // ORDERING: SeqCst; see `run`.
            self.cancel.store(true, Ordering::SeqCst);
        }
        // 2. Tell workers that an empty pool stays empty, and wake the parked ones to see it.
        // ORDERING: SeqCst store read by workers (SeqCst) before their last scan; the intake
        // drain above happens-before it, so that scan sees every accepted job.
        self.draining.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
        if let Shutdown::Now = mode {
            self.cancel_queued();
        }
        let deadline = match mode {
            // A deadline too far to represent (`Duration::MAX`) is no deadline: graceful.
            Shutdown::Deadline(d) => Instant::now().checked_add(d),
            _ => None,
        };
        let alive = lock(&self.control).alive;
        if alive == 0 {
            // Only possible if every start failed; nothing can run the queues. Cancelling
            // writes the final report (unless the last worker already did).
            self.cancel_queued();
        }
        let control = lock(&self.control);
        self.wait_stopped(control, inside, deadline)
    }

    /// Waits until every worker exited (or, called from a worker, returns at once), or the
    /// deadline passes; then joins the exited threads and returns the report.
    fn wait_stopped(
        &self,
        mut control: MutexGuard<'_, Control>,
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
                // We cannot wait for our own worker to exit (nor for workers that may be
                // waiting on our job), nor for jobs a deadline already gave up on: return
                // what we know now; `still_running` counts what is not finished.
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
                        // ORDERING: SeqCst; see `run`.
                        self.cancel.store(true, Ordering::SeqCst);
                        self.cancel_queued();
                        let mut control = lock(&self.control);
                        if let Phase::Stopped(report) = control.phase {
                            return report;
                        }
                        control.abandoned = true;
                        // Workers still busy are not waited for; they exit when their job
                        // returns, and the last one writes the final report.
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

    fn resize(this: &Arc<Shared>, workers: usize) -> Result<(), ResizeError> {
        check_resize(workers)?;
        let mut control = lock(&this.control);
        if !matches!(control.phase, Phase::Running) {
            return Err(ResizeError::ShutDown);
        }
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        control.threads.retain(|t| !t.is_finished());
        // ORDERING: `target` changes only under `control`; SeqCst for simplicity (rare).
        let current = this.target.load(Ordering::SeqCst);
        if workers > current {
            let mut needed = workers - current;
            // Retirements not yet claimed are taken back first: those workers simply stay.
            while needed > 0
                && this
                    .retiring
                    // ORDERING: SeqCst CAS against the workers' claiming CAS in
                    // `Context::try_retire`: each retirement is either claimed or taken back.
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| {
                        (r > 0).then(|| r - 1)
                    })
                    .is_ok()
            {
                needed -= 1;
            }
            let kept = workers - current - needed;
            for started in 0..needed {
                if let Err(source) = worker::spawn_worker(this, &mut control) {
                    this.target
                        .store(current + kept + started, Ordering::SeqCst);
                    return Err(ResizeError::Spawn { started, source });
                }
            }
        } else if workers < current {
            // ORDERING: SeqCst store before `wake_all`, read under the sleep lock by parked
            // workers (see `must_look`) and by busy workers after each job.
            this.retiring.fetch_add(current - workers, Ordering::SeqCst);
            this.sleep.wake_all();
        }
        this.target.store(workers, Ordering::SeqCst);
        Ok(())
    }
}

/// A pool of worker threads with one deque each, a global injector, and work stealing.
///
/// See the [crate docs](crate) for how a job travels and when to pick it.
pub struct WorkStealingPool {
    shared: Arc<Shared>,
}

impl fmt::Debug for WorkStealingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (searching, sleepy) = self.shared.sleep.counts();
        f.debug_struct("WorkStealingPool")
            .field("workers", &self.workers())
            .field("searching", &searching)
            .field("sleepy", &sleepy)
            .field("injected", &self.shared.injector.len())
            .finish_non_exhaustive()
    }
}

impl WorkStealingPool {
    /// A pool of `workers` threads with an unbounded injector.
    pub fn new(workers: usize) -> Result<WorkStealingPool, BuildError> {
        Builder::new().workers(workers).build()
    }

    /// A builder for every setting.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Jobs accepted and not yet started, when the pool has a bounded queue (`None` when
    /// unbounded: counting them would cost a shared atomic per job; see
    /// [`Metrics::queued`](shoal_core::Metrics) for an estimate).
    pub fn queued(&self) -> Option<usize> {
        self.shared.intake.queued()
    }
}

impl Executor for WorkStealingPool {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.shared.submit(job, true)
    }

    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.shared.submit(job, false)
    }

    fn workers(&self) -> usize {
        // ORDERING: a snapshot; Relaxed suffices.
        self.shared.target.load(Ordering::Relaxed)
    }

    fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        Shared::resize(&self.shared, workers)
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.shared.shutdown(mode)
    }

    fn metrics(&self) -> Metrics {
        let alive = lock(&self.shared.control).alive;
        self.shared.snapshot(alive)
    }
}

impl Drop for WorkStealingPool {
    /// Dropping the pool shuts it down gracefully: every queued job runs first. Dropped from
    /// inside one of its own workers, it begins the shutdown and returns without joining.
    fn drop(&mut self) {
        self.shared.shutdown(Shutdown::Graceful);
    }
}

/// Settings for a [`WorkStealingPool`].
#[derive(Clone)]
pub struct Builder {
    workers: Option<usize>,
    queue_capacity: Option<usize>,
    thread_config: ThreadConfig,
    panic_handler: Option<PanicHandler>,
    lifo_slot: bool,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("thread_name", &self.thread_config.name)
            .field("stack_size", &self.thread_config.stack_size)
            .field("lifo_slot", &self.lifo_slot)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: one worker per logical CPU, unbounded injector, no LIFO slot.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            queue_capacity: None,
            thread_config: ThreadConfig::default(),
            panic_handler: None,
            lifo_slot: false,
        }
    }

    /// The number of worker threads (default: logical CPUs).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Bounds the jobs accepted and not yet started (wherever they wait) to `capacity`:
    /// `execute` then waits for room (inside a worker of this pool, it runs queued jobs while
    /// it waits) and `try_execute` returns `Full`. Default: unbounded.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Names worker threads `{prefix}-{id}` (default `shoal-steal-{id}`).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_config.name = Some(prefix.into());
        self
    }

    /// The stack size of each worker thread, in bytes (default: std's).
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

    /// Puts the job spawned last from inside a worker in a one-job slot that only its owner
    /// takes (the way tokio's scheduler does), instead of on the stealable deque. It saves the
    /// deque's fence and the wake-up check on a chain of jobs that each spawn the next, but
    /// the slotted job cannot be stolen while its spawner keeps running: a job that spawns a
    /// child and then blocks on it by any means other than its `JoinHandle` (which helps) can
    /// deadlock. Default: off. The crate docs give the measured difference.
    pub fn lifo_slot(mut self, enabled: bool) -> Self {
        self.lifo_slot = enabled;
        self
    }

    /// Asked before every worker-thread start (at build and when `resize` grows the pool): an
    /// `Err` refuses the start exactly as the OS refusing a thread would (`build` gives a
    /// [`BuildError`] of kind `Spawn`, `resize` a `ResizeError::Spawn`). For fault injection,
    /// capping threads, or logging; see [`shoal_core::spawn`]. It runs with the pool's internal
    /// lock held: keep it quick and do not call into this pool from it.
    pub fn spawn_hook<H>(mut self, hook: H) -> Self
    where
        H: Fn(&shoal_core::spawn::SpawnInfo<'_>) -> std::io::Result<()> + Send + Sync + 'static,
    {
        self.thread_config.spawn_hook = Some(shoal_core::spawn::SpawnHook::new(hook));
        self
    }

    /// Starts the workers.
    pub fn build(self) -> Result<WorkStealingPool, BuildError> {
        let workers = self.workers.unwrap_or_else(shoal_core::default_workers);
        check_workers(workers)?;
        if self.queue_capacity == Some(0) {
            return Err(BuildError::new(
                BuildErrorKind::ZeroCapacity,
                "queue_capacity(0): a bounded queue needs room for at least one job",
            ));
        }
        if self.thread_config.stack_size == Some(0) {
            return Err(BuildError::new(
                BuildErrorKind::InvalidThreadConfig,
                "stack_size(0): a thread needs a stack",
            ));
        }
        // A NUL byte in the name prefix (std would panic inside spawn).
        shoal_core::spawn::check_thread_config(
            self.thread_config.name.as_deref(),
            self.thread_config.stack_size,
        )?;
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            registry: Registry::new(),
            sleep: Sleep::new(),
            intake: Intake::new(self.queue_capacity),
            counters: Counters::new(),
            panic_handler: self.panic_handler,
            thread_config: self.thread_config,
            lifo_slot: self.lifo_slot,
            target: AtomicUsize::new(workers),
            retiring: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            control: Mutex::new(Control {
                phase: Phase::Running,
                threads: Vec::with_capacity(workers),
                alive: 0,
                started: None,
                abandoned: false,
                next_id: 0,
                cancelling: 0,
            }),
            exited: Condvar::new(),
        });
        let mut control = lock(&shared.control);
        for _ in 0..workers {
            if let Err(err) = worker::spawn_worker(&shared, &mut control) {
                drop(control);
                // Stop the workers that did start; no job was accepted yet.
                let pool = WorkStealingPool { shared };
                pool.shared.shutdown(Shutdown::Now);
                return Err(BuildError::spawn(err));
            }
        }
        drop(control);
        Ok(WorkStealingPool { shared })
    }
}
