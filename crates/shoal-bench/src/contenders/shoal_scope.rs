//! shoal's `ScopedPool` in its own idiom: `join` and `install` for fork-join, `par_for_each`
//! and `par_map` for batches and maps; fire-and-forget jobs still go through the `Executor`
//! contract, as for the other shoal pools.

use shoal_core::{BuildError, PoolConfig};
use shoal_scope::ScopedPool;

use super::shoal::ShoalPool;
use super::shoal_exec::ExecHandle;
use crate::contender::{Batch, Branch, ForkJoin, MapFn, OrderedMap};

impl ShoalPool for ScopedPool {
    const ID: &'static str = "shoal-scope";
    const ABOUT: &'static str =
        "ScopedPool: join/install, par_for_each, par_map; spawn = ExecutorExt::execute_fn + latch";

    fn start(config: PoolConfig) -> Result<Self, BuildError> {
        Self::builder().config(config).build()
    }

    fn fork_join(pool: &ExecHandle<Self>) -> &impl ForkJoin {
        &*pool.0
    }

    fn batch(pool: &ExecHandle<Self>) -> &impl Batch {
        &*pool.0
    }

    fn mapper(pool: &ExecHandle<Self>) -> &impl OrderedMap {
        &*pool.0
    }
}

impl ForkJoin for ScopedPool {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        ScopedPool::install(self, f)
    }

    #[inline]
    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB) {
        // Inside a worker this joins on that worker's pool, as rayon::join does.
        shoal_scope::join(a, b)
    }
}

impl Batch for ScopedPool {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        let indices: Vec<usize> = (0..n).collect();
        self.par_for_each(&indices, |&i| job(i));
    }
}

impl OrderedMap for ScopedPool {
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        // par_map borrows its input; the workload's items are `u64`, so the clone is a copy.
        self.par_map(&items, |x| f(x.clone()))
    }
}
