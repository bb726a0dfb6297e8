//! shoal's `SharedQueuePool`: N workers on one crossbeam channel.

use std::sync::Arc;

use shoal_queue::SharedQueuePool;

use super::shoal_exec::ExecHandle;
use crate::contender::{Batch, Capability, Contender, Family, ForkJoin, Info, OrderedMap, Spawn};

/// `SharedQueuePool` through the `Executor` contract.
#[derive(Debug)]
pub struct ShoalQueue {
    pool: ExecHandle<SharedQueuePool>,
}

impl Contender for ShoalQueue {
    const INFO: Info = Info {
        id: "shoal-queue",
        about: "SharedQueuePool: execute + latch; join = ExecutorExt::scope; map = ExecutorExt::map (the result queue)",
        family: Family::Shoal,
        // No ForkJoin: a join built on `ExecutorExt::scope` overflows a worker's stack here
        // (fib(20) already): a waiting worker helps by running the *oldest* queued job, which
        // forks and waits in turn, so the helping recursion grows with the queue instead of
        // with the recursion depth. The work-stealing pool helps LIFO and stays shallow.
        caps: &[
            Capability::Spawn,
            Capability::ForkJoin,
            Capability::Batch,
            Capability::OrderedMap,
        ],
    };

    fn build(workers: usize) -> Result<Self, String> {
        let pool = SharedQueuePool::builder()
            .workers(workers)
            .thread_name("shoal-queue")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ShoalQueue {
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
