//! shoal's `ScopedPool`: fork-join with lazily offered join halves.

use shoal_scope::ScopedPool;

use crate::contender::{
    Batch, Branch, Capability, Contender, Family, ForkJoin, Info, MapFn, OrderedMap, Spawn,
};

/// `ScopedPool` in its own idiom: `join` and `install` for fork-join, `par_for_each` and
/// `par_map` for batches and maps, and the `Executor` contract for fire-and-forget jobs.
#[derive(Debug)]
pub struct ShoalScope {
    pool: super::shoal_exec::ExecHandle<ScopedPool>,
}

impl ForkJoin for ShoalScope {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        self.pool.0.install(f)
    }

    #[inline]
    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB) {
        // Inside a worker this joins on that worker's pool, as rayon::join does.
        shoal_scope::join(a, b)
    }
}

impl Batch for ShoalScope {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        let indices: Vec<usize> = (0..n).collect();
        self.pool.0.par_for_each(&indices, |&i| job(i));
    }
}

impl OrderedMap for ShoalScope {
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        // par_map borrows its input; the workload's items are `u64`, so the clone is a copy.
        self.pool.0.par_map(&items, |x| f(x.clone()))
    }
}

impl Contender for ShoalScope {
    const INFO: Info = Info {
        id: "shoal-scope",
        about: "ScopedPool: join/install, par_for_each, par_map; spawn = Executor::execute + latch",
        family: Family::Shoal,
        caps: &[
            Capability::Spawn,
            Capability::ForkJoin,
            Capability::Batch,
            Capability::OrderedMap,
        ],
    };

    fn build(workers: usize) -> Result<Self, String> {
        let pool = ScopedPool::builder()
            .workers(workers)
            .thread_name("shoal-scope")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ShoalScope {
            pool: super::shoal_exec::ExecHandle(std::sync::Arc::new(pool)),
        })
    }

    fn spawner(&self) -> Option<impl Spawn> {
        Some(self.pool.clone())
    }

    fn fork_join(&self) -> Option<&impl ForkJoin> {
        Some(self)
    }

    fn batch(&self) -> Option<&impl Batch> {
        Some(self)
    }

    fn mapper(&self) -> Option<&impl OrderedMap> {
        Some(self)
    }

    fn close(self) {
        self.pool.close();
    }
}
