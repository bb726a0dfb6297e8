//! What a pool crate writes to run the suite: a [`Factory`] that builds its pool from a
//! [`PoolConfig`].

use std::fmt;

use shoal_core::{BuildError, Executor, PanicHandler};

/// What a scenario asks the [`Factory`] for: the pool's size, its queue bound, its panic
/// handler. Every other builder setting stays at the pool's default.
#[derive(Clone)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Worker threads (the builder's `workers`). The suite also asks for 0 and for more than
    /// [`MAX_WORKERS`](shoal_core::MAX_WORKERS), expecting a [`BuildError`].
    pub workers: usize,
    /// `Some(n)`: a bounded queue of `n` jobs (the builder's `queue_capacity`); `None`:
    /// unbounded, the default.
    pub queue_capacity: Option<usize>,
    /// The builder's `panic_handler`, when the scenario watches panics.
    pub panic_handler: Option<PanicHandler>,
}

impl PoolConfig {
    /// `workers` workers, an unbounded queue, no panic handler.
    pub fn workers(workers: usize) -> PoolConfig {
        PoolConfig {
            workers,
            queue_capacity: None,
            panic_handler: None,
        }
    }

    /// Bounds the queue to `capacity` jobs.
    pub fn capacity(mut self, capacity: usize) -> PoolConfig {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Installs a panic handler.
    pub fn panic_handler(mut self, handler: PanicHandler) -> PoolConfig {
        self.panic_handler = Some(handler);
        self
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("panic_handler", &self.panic_handler.is_some())
            .finish()
    }
}

/// Builds the pool under test from a [`PoolConfig`]: the one thing a pool crate writes to run
/// the suite.
pub trait Factory: Send + Sync + 'static {
    /// The pool type.
    type Pool: Executor + 'static;

    /// Builds a pool with `config`'s settings (and defaults for everything else). Must return
    /// the builder's `BuildError` unchanged, since scenarios check its kind.
    fn build(&self, config: PoolConfig) -> Result<Self::Pool, BuildError>;
}
