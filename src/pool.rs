//! `shoal::Pool`: the pool this build uses, with one API in every feature set.
//!
//! Which strategy runs behind it is fixed when the program is compiled (the first enabled of
//! `steal`, `queue`, `scope`, see [`Strategy::default`]), but its type and its methods are the
//! same in every build: enabling a feature somewhere else in the dependency graph changes what
//! runs, never what compiles. The strategy-specific APIs (`ScopedPool::join`, the LIFO slot)
//! are on the strategies' own types.

use std::fmt;

use shoal_core::{BuildError, Executor, PoolConfig};

use crate::Strategy;

/// The pool this build uses: the first enabled strategy of `steal`, `queue`, `scope`, behind
/// one type whose API does not depend on the features. Everything [`Executor`] and
/// [`ExecutorExt`](crate::ExecutorExt) offer works on it.
///
/// ```
/// use shoal::{ExecutorExt, Pool};
/// let pool = Pool::builder().workers(2).thread_name("app").build()?;
/// assert_eq!(pool.spawn(|| 6 * 7).unwrap().join().unwrap(), 42);
/// println!("running on the {} strategy", pool.strategy());
/// # Ok::<(), shoal::BuildError>(())
/// ```
pub struct Pool {
    strategy: Strategy,
    inner: Box<dyn Executor>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("strategy", &self.strategy)
            .field("workers", &self.inner.workers())
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool of `workers` threads with every other setting at its default.
    pub fn new(workers: usize) -> Result<Pool, BuildError> {
        Pool::builder().workers(workers).build()
    }

    /// A builder for every setting every pool has.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The strategy running behind this pool.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Jobs accepted and not yet started (from the pool's counters).
    pub fn queued(&self) -> usize {
        usize::try_from(self.inner.metrics().queued).unwrap_or(usize::MAX)
    }
}

impl Executor for Pool {
    shoal_core::delegate_executor!(self => self.inner);
}

/// Settings for a [`Pool`]: the [`PoolConfig`] every pool has.
#[derive(Clone, Debug, Default)]
pub struct PoolBuilder {
    config: PoolConfig,
}

impl PoolBuilder {
    shoal_core::pool_settings!();

    /// Starts the workers of this build's strategy.
    pub fn build(self) -> Result<Pool, BuildError> {
        let strategy = Strategy::default();
        let inner = crate::strategy::build_enabled(strategy, self.config, false)?;
        Ok(Pool { strategy, inner })
    }
}
