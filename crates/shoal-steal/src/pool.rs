//! `WorkStealingPool` and its builder: the public type, how jobs are submitted (from outside
//! to the injector, from inside to the own deque), and how it starts and resizes its workers.

use std::fmt;

use shoal_core::fork::{self, Offering};
use shoal_core::lifecycle::{self, Lifecycle};
use shoal_core::sync::atomic::AtomicBool;
use shoal_core::sync::{thread, Arc};
use shoal_core::{
    BuildError, Counters, Event, Executor, Job, JoinHalf, JoinHint, PoolConfig, RejectReason,
    Rejected, Shutdown, ShutdownReport, Task,
};

use crate::intake::{Intake, Reserve};
use crate::registry::Registry;
use crate::worker;
use shoal_core::deque::Injector;
use shoal_core::deque::Stealers;
use shoal_core::sleep::Sleep;

/// Submitting and resizing: the registry's side plus the worker's thread-local side (a job
/// submitted from inside a worker goes to its own deque).
impl WorkStealingPool {
    fn submit(&self, job: Task, blocking: bool) -> Result<(), Rejected> {
        // One thread-local look: the calling worker's context, if it is one of ours.
        let own = worker::current(self.registry.id());
        let inside = own.is_some();
        if self.registry.intake.is_bounded() {
            match self.registry.intake.try_reserve() {
                Reserve::Ok => {}
                Reserve::Closed => return self.registry.reject(RejectReason::ShutDown, job),
                Reserve::Full if !blocking => return self.registry.reject(RejectReason::Full, job),
                Reserve::Full => {
                    let reserved = if inside {
                        self.reserve_helping()
                    } else {
                        self.registry.intake.reserve_blocking()
                    };
                    if !reserved {
                        return self.registry.reject(RejectReason::ShutDown, job);
                    }
                }
            }
        }
        if let Some(own) = own {
            // No gate needed: this worker is running (it is the caller) and empties its own
            // deque before it exits; see `intake.rs` (and `shoal_core::intake`).
            if self.registry.intake.is_closed() {
                self.registry.intake.release();
                return self.registry.reject(RejectReason::ShutDown, job);
            }
            self.registry.counters.add(Event::Submitted, 1);
            own.push(job);
        } else {
            let Some(in_flight) = self.registry.intake.enter() else {
                self.registry.intake.release();
                // The entry counted the job as accepted for a moment (`Intake::accepted`):
                // the pool may be idle again now that it is undone.
                self.registry.life.check_idle(&*self.registry);
                return self.registry.reject(RejectReason::ShutDown, job);
            };
            // Counted as submitted when `in_flight` drops (see `Intake::accepted`).
            self.registry.injector.push(job);
            drop(in_flight);
            self.registry.sleep.notify_new_job();
        }
        Ok(())
    }

    /// Inside one of our workers, waiting for room could deadlock (every worker might be
    /// waiting): make room by running queued jobs instead.
    fn reserve_helping(&self) -> bool {
        loop {
            match self.registry.intake.try_reserve() {
                Reserve::Ok => return true,
                Reserve::Closed => return false,
                Reserve::Full => {
                    if !worker::help(self.registry.id()) {
                        // Nothing we can take (the queued jobs are in flight between queues,
                        // or in another worker's LIFO slot): let their owners move.
                        thread::yield_now();
                    }
                }
            }
        }
    }
}

/// A pool of worker threads with one deque each, a global injector, and work stealing.
///
/// See the [crate docs](crate) for how a job travels and when to pick it.
pub struct WorkStealingPool {
    registry: Arc<Registry>,
}

impl fmt::Debug for WorkStealingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (searching, sleepy) = self.registry.sleep.counts();
        f.debug_struct("WorkStealingPool")
            .field("workers", &self.workers())
            .field("searching", &searching)
            .field("sleepy", &sleepy)
            .field("injected", &self.registry.injector.len())
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

    /// Jobs accepted and not yet started. Exact with a bounded queue (the intake counts them);
    /// unbounded, an estimate from the counters (counting exactly would cost a shared atomic
    /// per job), the same as [`Metrics::queued`](shoal_core::Metrics).
    pub fn queued(&self) -> usize {
        match self.registry.intake.queued() {
            Some(exact) => exact,
            None => usize::try_from(self.registry.snapshot(0).queued).unwrap_or(usize::MAX),
        }
    }
}

impl Executor for WorkStealingPool {
    // Parked workers check the target under the sleep lock when woken (`must_look`); busy
    // ones check it after each job.
    shoal_core::lifecycle_executor!(self => self.registry);

    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.submit(job.into(), true)
    }

    fn execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.submit(task, true)
    }

    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.submit(job.into(), false)
    }

    fn try_execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.submit(task, false)
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.flush_own_slot();
        self.registry.life.shutdown(&*self.registry, mode)
    }

    fn shutdown_background(&self) {
        self.flush_own_slot();
        self.registry.life.shutdown_background(&*self.registry);
    }

    #[inline]
    fn join_halves(&self, a: JoinHalf<'_>, b: JoinHalf<'_>) {
        fork::join_offering(self, a, b)
    }

    /// On one of this pool's workers: searching and sleepy workers take offered halves.
    #[inline]
    fn join_hint(&self) -> Option<JoinHint<'_>> {
        self.inside().then(|| self.registry.sleep.join_hint())
    }
}

/// A join offers its second half on the worker's own deque, where thieves find it.
impl Offering for WorkStealingPool {
    #[inline]
    fn inside(&self) -> bool {
        shoal_core::worker::is_worker_of(self.registry.id())
    }

    #[inline]
    fn hungry(&self) -> bool {
        self.registry.sleep.hungry()
    }

    fn offer(&self, carrier: Task) -> Result<(), Rejected> {
        self.submit(carrier, false)?;
        // With the LIFO slot on, the carrier sits in the slot, which nobody steals from.
        // (A slot push wakes nobody, so wake a sleeper the way a deque push does.)
        if self.registry.lifo_slot {
            worker::flush_slot();
            self.registry.sleep.notify_new_job();
        }
        Ok(())
    }
}

impl WorkStealingPool {
    /// Called from inside one of our workers, before a shutdown: our own LIFO slot is
    /// invisible to siblings and to `cancel_queued`, so its job goes where they can reach it
    /// while we finish the job that called us.
    fn flush_own_slot(&self) {
        if worker::is_worker_of(self.registry.id()) {
            worker::flush_slot();
        }
    }
}

impl Drop for WorkStealingPool {
    /// Does what the builder's `on_drop` says: by default a graceful shutdown that runs every
    /// queued job first and joins the workers. Dropped from inside one of its own workers, it
    /// begins the shutdown and returns without joining.
    fn drop(&mut self) {
        self.flush_own_slot();
        self.registry.life.drop_pool(&*self.registry);
    }
}

/// Settings for a [`WorkStealingPool`]: the [`PoolConfig`] every pool has, plus the LIFO slot.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: PoolConfig,
    lifo_slot: bool,
}

impl Builder {
    /// Defaults: one worker per logical CPU, unbounded injector, no LIFO slot.
    pub fn new() -> Builder {
        Builder::default()
    }

    shoal_core::pool_settings!();

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

    /// Starts the workers.
    pub fn build(self) -> Result<WorkStealingPool, BuildError> {
        let workers = self.config.validate()?;
        let registry = Arc::new(Registry {
            injector: Injector::new(),
            stealers: Stealers::new(),
            sleep: Sleep::new(),
            intake: Intake::new(self.config.capacity()),
            counters: Counters::new(),
            life: Lifecycle::with_config(&self.config),
            config: self.config,
            lifo_slot: self.lifo_slot,
            draining: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
        });
        if let Err(err) = lifecycle::start(&registry, workers) {
            // Stop the workers that did start; no job was accepted yet.
            let pool = WorkStealingPool { registry };
            pool.shutdown(Shutdown::Now);
            return Err(BuildError::spawn(err));
        }
        Ok(WorkStealingPool { registry })
    }
}
