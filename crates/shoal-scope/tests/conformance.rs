//! The shared conformance suite (`shoal-testkit`), run against ScopedPool.
#![cfg(not(shoal_loom))]

use shoal_core::BuildError;
use shoal_scope::ScopedPool;
use shoal_testkit::{Factory, PoolConfig};

struct Scoped;

impl Factory for Scoped {
    type Pool = ScopedPool;

    fn build(&self, config: PoolConfig) -> Result<ScopedPool, BuildError> {
        ScopedPool::builder().config(config).build()
    }
}

shoal_testkit::conformance_suite!(Scoped);
