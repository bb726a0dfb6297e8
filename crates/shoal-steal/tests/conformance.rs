//! The shared conformance suite (`shoal-testkit`), run against WorkStealingPool: once
//! with the defaults, and once with the LIFO slot on (`lifo` module).
#![cfg(not(shoal_loom))]

use shoal_core::BuildError;
use shoal_steal::{Builder, WorkStealingPool};
use shoal_testkit::{Factory, PoolConfig};

fn builder(config: PoolConfig) -> Builder {
    WorkStealingPool::builder().config(config)
}

struct Steal;

impl Factory for Steal {
    type Pool = WorkStealingPool;

    fn build(&self, config: PoolConfig) -> Result<WorkStealingPool, BuildError> {
        builder(config).build()
    }
}

shoal_testkit::conformance_suite!(Steal);

/// The same suite with the one-job LIFO slot enabled.
mod lifo {
    use super::*;

    struct StealLifo;

    impl Factory for StealLifo {
        type Pool = WorkStealingPool;

        fn build(&self, config: PoolConfig) -> Result<WorkStealingPool, BuildError> {
            builder(config).lifo_slot(true).build()
        }
    }

    shoal_testkit::conformance_suite!(StealLifo);
}
