//! `SharedQueuePool` and its builder: the public type, how it starts and resizes its workers.

use std::fmt;

use shoal_core::fork::{self, Offering};
use shoal_core::lifecycle;
use shoal_core::sync::Arc;

use shoal_core::{
    BuildError, Executor, Job, JoinHalf, JoinHint, PoolConfig, Rejected, Shutdown, ShutdownReport,
    Task,
};

use crate::registry::Registry;

/// A pool of worker threads that pull jobs from one shared queue.
///
/// See the [crate docs](crate) for how it works and when to pick it.
pub struct SharedQueuePool {
    registry: Arc<Registry>,
}

impl fmt::Debug for SharedQueuePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (searching, sleepy) = self.registry.sleep.counts();
        f.debug_struct("SharedQueuePool")
            .field("workers", &self.workers())
            .field("queued", &self.queued())
            .field("searching", &searching)
            .field("sleepy", &sleepy)
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

    /// Jobs accepted and not yet started: the jobs waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.registry.queue.len()
    }
}

impl Executor for SharedQueuePool {
    shoal_core::lifecycle_executor!(self => self.registry);

    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.registry.submit(job.into(), true)
    }

    fn execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.registry.submit(task, true)
    }

    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.registry.submit(job.into(), false)
    }

    fn try_execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.registry.submit(task, false)
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.registry.life.shutdown(&*self.registry, mode)
    }

    fn shutdown_background(&self) {
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

/// A join offers its second half through the queue when a worker waits for a job.
impl Offering for SharedQueuePool {
    #[inline]
    fn inside(&self) -> bool {
        shoal_core::worker::is_worker_of(self.registry.id())
    }

    #[inline]
    fn hungry(&self) -> bool {
        // A hint (two relaxed loads); a stale value only delays or adds one offer.
        self.registry.sleep.hungry()
    }

    fn offer(&self, carrier: Task) -> Result<(), Rejected> {
        self.registry.submit(carrier, false)
    }
}

impl Drop for SharedQueuePool {
    /// Does what the builder's `on_drop` says: by default a graceful shutdown that runs every
    /// queued job first and joins the workers.
    fn drop(&mut self) {
        self.registry.life.drop_pool(&*self.registry);
    }
}

/// Settings for a [`SharedQueuePool`]: the [`PoolConfig`] every pool has, nothing more.
///
/// A bounded queue (`queue_capacity`) reserves its slots (40 bytes each: a task and a stamp) when the pool is built.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: PoolConfig,
}

impl Builder {
    /// Defaults: one worker per logical CPU, unbounded queue.
    pub fn new() -> Builder {
        Builder::default()
    }

    shoal_core::pool_settings!();

    /// Starts the workers.
    pub fn build(self) -> Result<SharedQueuePool, BuildError> {
        let workers = self.config.validate()?;
        let registry = Arc::new(Registry::new(self.config));
        if let Err(err) = lifecycle::start(&registry, workers) {
            // Stop the workers that did start; no job was accepted yet.
            let pool = SharedQueuePool { registry };
            pool.shutdown(Shutdown::Now);
            return Err(BuildError::spawn(err));
        }
        Ok(SharedQueuePool { registry })
    }
}
