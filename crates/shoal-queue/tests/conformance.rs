//! The shared conformance suite (`shoal-testkit`), run against SharedQueuePool.
#![cfg(not(shoal_loom))]

use shoal_core::BuildError;
use shoal_queue::SharedQueuePool;
use shoal_testkit::{Factory, PoolConfig};

struct Queue;

impl Factory for Queue {
    type Pool = SharedQueuePool;

    fn build(&self, config: PoolConfig) -> Result<SharedQueuePool, BuildError> {
        SharedQueuePool::builder().config(config).build()
    }
}

shoal_testkit::conformance_suite!(Queue);
