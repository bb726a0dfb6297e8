//! `SharedQueuePool` and its builder: the public type, how it starts and resizes its workers.

use std::fmt;

use shoal_core::fork::{self, Offering};
use shoal_core::lifecycle::Starter;
use shoal_core::sync::Arc;
use shoal_core::{
    BuildError, Executor, Job, JoinHalf, Metrics, PoolConfig, Rejected, ResizeError, Shutdown,
    ShutdownReport,
};

use crate::registry::Registry;
use crate::worker::spawn_worker;

/// Starts one more worker thread.
fn start_worker(registry: &Arc<Registry>, starter: &mut Starter<'_>) -> std::io::Result<()> {
    starter.start(|index| spawn_worker(registry.clone(), index))
}

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
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.registry.submit(job, true)
    }

    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.registry.submit(job, false)
    }

    fn workers(&self) -> usize {
        self.registry.sizing.target()
    }

    fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        let registry = &self.registry;
        let mut starter = registry.life.resizer(workers)?;
        // Idle workers sleep: wake them to see the surplus (exactly `surplus` retire).
        registry.sizing.resize(
            &mut starter,
            workers,
            |starter| start_worker(registry, starter),
            |_surplus| registry.sleep.wake_all(),
        )
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.registry.life.shutdown(&*self.registry, mode)
    }

    fn metrics(&self) -> Metrics {
        self.registry.snapshot(self.registry.life.alive())
    }

    #[inline]
    fn join_halves(&self, a: JoinHalf<'_>, b: JoinHalf<'_>) {
        fork::join_offering(self, a, b)
    }

    #[inline]
    fn join_inline(&self) -> bool {
        fork::join_inline(self)
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
}

impl Drop for SharedQueuePool {
    /// Dropping the pool shuts it down gracefully: every queued job runs first.
    fn drop(&mut self) {
        self.registry
            .life
            .shutdown(&*self.registry, Shutdown::Graceful);
    }
}

/// Settings for a [`SharedQueuePool`]: the [`PoolConfig`] every pool has, nothing more.
///
/// A bounded queue (`queue_capacity`) reserves its slots (24 bytes each) when the pool is built.
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
        let registry = Arc::new(Registry::new(workers, self.config));
        let mut starter = registry.life.starter().expect("a new pool is running");
        for _ in 0..workers {
            if let Err(err) = start_worker(&registry, &mut starter) {
                drop(starter);
                // Stop the workers that did start; no job was accepted yet.
                let pool = SharedQueuePool { registry };
                pool.shutdown(Shutdown::Now);
                return Err(BuildError::spawn(err));
            }
        }
        drop(starter);
        Ok(SharedQueuePool { registry })
    }
}
