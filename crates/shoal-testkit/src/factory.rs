//! What a pool crate writes to run the suite: a [`Factory`] that builds its pool from a
//! [`PoolConfig`], the one configuration every pool takes (`shoal_core::PoolConfig`).

pub use shoal_core::PoolConfig;
use shoal_core::{BuildError, Executor};

/// Builds the pool under test from a [`PoolConfig`]: the one thing a pool crate writes to run
/// the suite.
pub trait Factory: Send + Sync + 'static {
    /// The pool type.
    type Pool: Executor + 'static;

    /// Builds a pool with `config`'s settings: usually `MyPool::builder().config(config).build()`.
    /// Must return the builder's `BuildError` unchanged, since scenarios check its kind.
    fn build(&self, config: PoolConfig) -> Result<Self::Pool, BuildError>;
}
