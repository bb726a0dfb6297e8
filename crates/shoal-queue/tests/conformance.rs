//! The shared conformance suite (`shoal-testkit`), run against SharedQueuePool.
#![cfg(not(shoal_loom))]

use shoal_core::BuildError;
use shoal_queue::SharedQueuePool;
use shoal_testkit::{Factory, PoolConfig};

struct Queue;

impl Factory for Queue {
    type Pool = SharedQueuePool;

    fn build(&self, config: PoolConfig) -> Result<SharedQueuePool, BuildError> {
        let mut builder = SharedQueuePool::builder().workers(config.workers);
        if let Some(capacity) = config.queue_capacity {
            builder = builder.queue_capacity(capacity);
        }
        if let Some(handler) = config.panic_handler {
            builder = builder.panic_handler(move |payload| handler(payload));
        }
        builder.build()
    }
}

shoal_testkit::conformance_suite!(Queue);
