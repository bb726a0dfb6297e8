//! shoal's `WorkStealingPool`: per-worker deques, a global injector, stealing.

use std::sync::Arc;

use shoal_steal::WorkStealingPool;

use super::shoal_exec::ExecHandle;
use crate::contender::{Batch, Capability, Contender, Family, ForkJoin, Info, OrderedMap, Spawn};

/// `WorkStealingPool` through the `Executor` contract.
#[derive(Debug)]
pub struct ShoalSteal {
    pool: ExecHandle<WorkStealingPool>,
}

impl Contender for ShoalSteal {
    const INFO: Info = Info {
        id: "shoal-steal",
        about: "WorkStealingPool: execute + latch (spawns inside a worker stay on its deque); join = ExecutorExt::scope; map = ExecutorExt::map",
        family: Family::Shoal,
        caps: &[
            Capability::Spawn,
            Capability::ForkJoin,
            Capability::Batch,
            Capability::OrderedMap,
        ],
    };

    fn build(workers: usize) -> Result<Self, String> {
        let pool = WorkStealingPool::builder()
            .workers(workers)
            .thread_name("shoal-steal")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ShoalSteal {
            pool: ExecHandle(Arc::new(pool)),
        })
    }

    fn spawner(&self) -> Option<impl Spawn> {
        Some(self.pool.clone())
    }

    fn fork_join(&self) -> Option<&impl ForkJoin> {
        Some(&self.pool)
    }

    fn batch(&self) -> Option<&impl Batch> {
        Some(&self.pool)
    }

    fn mapper(&self) -> Option<&impl OrderedMap> {
        Some(&self.pool)
    }

    fn close(self) {
        self.pool.close();
    }
}
