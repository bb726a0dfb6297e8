//! Every strategy under test, built from one description.

use std::fmt;

use shoal_core::spawn::SpawnHook;
use shoal_core::{BuildError, Executor, PanicHandler};

/// A pool strategy the campaign runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// `SharedQueuePool` (shoal-queue).
    Queue,
    /// `WorkStealingPool` (shoal-steal), default settings.
    #[cfg(not(shoal_loom))]
    Steal,
    /// `WorkStealingPool` with its LIFO slot on (`lifo_slot(true)`): a different local path.
    #[cfg(not(shoal_loom))]
    StealLifo,
    /// `ScopedPool` (shoal-scope), through its `Executor` side.
    #[cfg(not(shoal_loom))]
    Scope,
}

impl Strategy {
    /// Every strategy compiled into this build (only `Queue` under `--cfg shoal_loom`, which
    /// the campaign does not use).
    pub fn all() -> &'static [Strategy] {
        #[cfg(not(shoal_loom))]
        {
            &[
                Strategy::Queue,
                Strategy::Steal,
                Strategy::StealLifo,
                Strategy::Scope,
            ]
        }
        #[cfg(shoal_loom)]
        {
            &[Strategy::Queue]
        }
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Queue => "queue",
            #[cfg(not(shoal_loom))]
            Strategy::Steal => "steal",
            #[cfg(not(shoal_loom))]
            Strategy::StealLifo => "steal-lifo",
            #[cfg(not(shoal_loom))]
            Strategy::Scope => "scope",
        }
    }

    /// Builds the pool `spec` describes, through the pool's own builder.
    pub fn build(self, spec: &PoolSpec) -> Result<Box<dyn Executor>, BuildError> {
        // Every builder has the same methods; one macro applies the spec to each.
        macro_rules! apply {
            ($builder:expr) => {{
                let mut b = $builder.workers(spec.workers);
                if let Some(c) = spec.queue_capacity {
                    b = b.queue_capacity(c);
                }
                if let Some(s) = spec.stack_size {
                    b = b.stack_size(s);
                }
                if let Some(n) = &spec.thread_name {
                    b = b.thread_name(n.clone());
                }
                if let Some(h) = spec.panic_handler.clone() {
                    b = b.panic_handler(move |payload| h(payload));
                }
                if let Some(h) = spec.spawn_hook.clone() {
                    b = b.spawn_hook(move |info| h.check(info));
                }
                b
            }};
        }
        Ok(match self {
            Strategy::Queue => Box::new(apply!(shoal_queue::SharedQueuePool::builder()).build()?),
            #[cfg(not(shoal_loom))]
            Strategy::Steal => Box::new(apply!(shoal_steal::WorkStealingPool::builder()).build()?),
            #[cfg(not(shoal_loom))]
            Strategy::StealLifo => Box::new(
                apply!(shoal_steal::WorkStealingPool::builder())
                    .lifo_slot(true)
                    .build()?,
            ),
            #[cfg(not(shoal_loom))]
            Strategy::Scope => Box::new(apply!(shoal_scope::ScopedPool::builder()).build()?),
        })
    }
}

impl Strategy {
    /// Builds `spec`, expecting the builder to refuse it; panics naming the strategy if it
    /// built a pool instead.
    pub fn build_error(self, spec: &PoolSpec) -> BuildError {
        match self.build(spec) {
            Ok(pool) => panic!(
                "{self}: expected a BuildError for {spec:?}, but a pool of {} workers was built",
                pool.workers()
            ),
            Err(err) => err,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The settings every pool's builder takes; `None` leaves the pool's default.
#[derive(Clone, Default)]
pub struct PoolSpec {
    /// `workers(n)`.
    pub workers: usize,
    /// `queue_capacity(n)`.
    pub queue_capacity: Option<usize>,
    /// `stack_size(bytes)`.
    pub stack_size: Option<usize>,
    /// `thread_name(prefix)`.
    pub thread_name: Option<String>,
    /// `panic_handler(h)`.
    pub panic_handler: Option<PanicHandler>,
    /// `spawn_hook(h)`.
    pub spawn_hook: Option<SpawnHook>,
}

impl fmt::Debug for PoolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolSpec")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("stack_size", &self.stack_size)
            .field("thread_name", &self.thread_name)
            .field("panic_handler", &self.panic_handler.is_some())
            .field("spawn_hook", &self.spawn_hook.is_some())
            .finish()
    }
}

impl PoolSpec {
    /// `workers` workers, every other setting at the pool's default.
    pub fn workers(workers: usize) -> PoolSpec {
        PoolSpec {
            workers,
            ..PoolSpec::default()
        }
    }

    /// With `queue_capacity(capacity)`.
    pub fn capacity(mut self, capacity: usize) -> PoolSpec {
        self.queue_capacity = Some(capacity);
        self
    }

    /// With `queue_capacity` when `Some`.
    pub fn maybe_capacity(mut self, capacity: Option<usize>) -> PoolSpec {
        self.queue_capacity = capacity;
        self
    }

    /// With `stack_size(bytes)`.
    pub fn stack_size(mut self, bytes: usize) -> PoolSpec {
        self.stack_size = Some(bytes);
        self
    }

    /// With `thread_name(prefix)`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> PoolSpec {
        self.thread_name = Some(prefix.into());
        self
    }

    /// With a panic handler.
    pub fn panic_handler<H>(mut self, handler: H) -> PoolSpec
    where
        H: Fn(&(dyn std::any::Any + Send)) + Send + Sync + 'static,
    {
        self.panic_handler = Some(std::sync::Arc::new(handler));
        self
    }

    /// With a spawn hook.
    pub fn spawn_hook(mut self, hook: SpawnHook) -> PoolSpec {
        self.spawn_hook = Some(hook);
        self
    }
}
