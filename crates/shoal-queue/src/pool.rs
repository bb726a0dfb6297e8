//! `SharedQueuePool` and its builder: the public type, how it starts and resizes its workers.

use std::fmt;

use crossbeam_utils::CachePadded;
use shoal_core::lifecycle::{Lifecycle, Starter};
use shoal_core::spawn::{self, SpawnHook, SpawnInfo};
use shoal_core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use shoal_core::sync::Arc;
use shoal_core::{
    check_resize, check_workers, BuildError, BuildErrorKind, Counters, Executor, Job, Metrics,
    PanicHandler, Rejected, ResizeError, Shutdown, ShutdownReport,
};

use crate::queue::JobQueue;
use crate::registry::{Registry, ThreadConfig};
use crate::worker::spawn_worker;

/// The largest `queue_capacity` the pool accepts: 2^20 = 1,048,576 jobs.
///
/// A bounded queue reserves a slot for every job up front (24 bytes each: the boxed job's
/// pointer pair and a sequence stamp), so a bound of `n` costs `24 × n` bytes the moment the
/// pool is built, and a bound near `usize::MAX` cannot be reserved at all. A larger bound
/// would not bound memory usefully anyway: leave the queue unbounded instead.
/// `queue_capacity` above this is a [`BuildError`] of kind
/// [`CapacityTooLarge`](BuildErrorKind::CapacityTooLarge).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

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
        // ORDERING: a snapshot; Relaxed suffices.
        self.registry.target.load(Ordering::Relaxed)
    }

    fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        check_resize(workers)?;
        let registry = &self.registry;
        let Some(mut starter) = registry.life.starter() else {
            return Err(ResizeError::ShutDown);
        };
        starter.prune();
        // ORDERING: `target` and `live` change under `control` on this side; workers read
        // them (SeqCst) when deciding to retire, see `retire` in `worker.rs`.
        registry.target.store(workers, Ordering::SeqCst);
        let live = registry.live.load(Ordering::SeqCst);
        if workers > live {
            for started in 0..workers - live {
                registry.live.fetch_add(1, Ordering::SeqCst);
                if let Err(source) = start_worker(registry, &mut starter) {
                    registry.live.fetch_sub(1, Ordering::SeqCst);
                    registry.target.store(live + started, Ordering::SeqCst);
                    return Err(ResizeError::Spawn { started, source });
                }
            }
        } else if workers < live {
            // Idle workers are blocked in the queue: wake enough of them to retire.
            registry.queue.wake(live - workers);
        }
        Ok(())
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.registry.life.shutdown(&*self.registry, mode)
    }

    fn metrics(&self) -> Metrics {
        self.registry.counters.snapshot(self.registry.life.alive())
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
    /// [`ResizeError::Spawn`], and no job is lost. For fault injection
    /// ([`SpawnFaults`](shoal_core::spawn::SpawnFaults)), capping threads, or logging; see
    /// [`shoal_core::spawn`]. It runs with the pool's internal lock held: keep it quick and do
    /// not call into this pool from it.
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
        let registry = Arc::new(Registry {
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
            life: Lifecycle::new(),
        });
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
