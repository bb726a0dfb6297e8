//! Every strategy under test, built from one configuration (`shoal_core::PoolConfig`, the one
//! every pool's builder takes).

use std::fmt;

pub use shoal_core::PoolConfig;
use shoal_core::{BuildError, Executor};

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

    /// Builds the pool `config` describes, through the pool's own builder.
    pub fn build(self, config: &PoolConfig) -> Result<Box<dyn Executor>, BuildError> {
        let config = config.clone();
        Ok(match self {
            Strategy::Queue => Box::new(
                shoal_queue::SharedQueuePool::builder()
                    .config(config)
                    .build()?,
            ),
            #[cfg(not(shoal_loom))]
            Strategy::Steal => Box::new(
                shoal_steal::WorkStealingPool::builder()
                    .config(config)
                    .build()?,
            ),
            #[cfg(not(shoal_loom))]
            Strategy::StealLifo => Box::new(
                shoal_steal::WorkStealingPool::builder()
                    .config(config)
                    .lifo_slot(true)
                    .build()?,
            ),
            #[cfg(not(shoal_loom))]
            Strategy::Scope => Box::new(shoal_scope::ScopedPool::builder().config(config).build()?),
        })
    }
}

impl Strategy {
    /// Builds `spec`, expecting the builder to refuse it; panics naming the strategy if it
    /// built a pool instead.
    pub fn build_error(self, spec: &PoolConfig) -> BuildError {
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

/// `config` with `queue_capacity(capacity)` when `capacity` is `Some` (the model and stress
/// campaigns draw bounded and unbounded pools alike).
pub fn with_capacity(config: PoolConfig, capacity: Option<usize>) -> PoolConfig {
    match capacity {
        Some(capacity) => config.queue_capacity(capacity),
        None => config,
    }
}
