//! The shared conformance suite (`shoal-testkit`), run against ScopedPool.
#![cfg(not(shoal_loom))]

use shoal_core::BuildError;
use shoal_scope::ScopedPool;
use shoal_testkit::{Factory, PoolConfig};

struct Scoped;

impl Factory for Scoped {
    type Pool = ScopedPool;

    fn build(&self, config: PoolConfig) -> Result<ScopedPool, BuildError> {
        let mut builder = ScopedPool::builder().workers(config.workers);
        if let Some(capacity) = config.queue_capacity {
            builder = builder.queue_capacity(capacity);
        }
        if let Some(handler) = config.panic_handler {
            builder = builder.panic_handler(move |payload| handler(payload));
        }
        builder.build()
    }
}

shoal_testkit::conformance_suite!(Scoped);
