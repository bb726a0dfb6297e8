//! shoal pools that size themselves ([`shoal_core::Sizing`]), as contenders: the shared-queue
//! pool with an elastic or an adaptive policy, given bounds (1 to [`SIZED_MAX`]) but never
//! the worker count. They ignore the run's `--workers`: finding the count is what they are
//! measured on, against the fixed counts of a `sweep`.

use std::marker::PhantomData;
use std::sync::Arc;

use shoal_core::{PoolConfig, Sizing};
use shoal_queue::SharedQueuePool;

use super::shoal_exec::ExecHandle;
use crate::contender::{offers, Contender};

/// The most workers a self-sizing contender may start.
pub const SIZED_MAX: usize = 256;

/// Which policy a [`SelfSized`] contender runs.
pub trait Policy: std::fmt::Debug + Send + Sync + 'static {
    /// The contender's id, also the name of its worker threads.
    const ID: &'static str;
    /// One line: the policy and its bounds.
    const ABOUT: &'static str;
    /// The policy.
    fn sizing() -> Sizing;
}

/// `Sizing::elastic(1, SIZED_MAX)`.
#[derive(Debug)]
pub struct Elastic;

impl Policy for Elastic {
    const ID: &'static str = "shoal-elastic";
    const ABOUT: &'static str = "SharedQueuePool with Sizing::elastic(1, 256): grows while jobs wait, retires idle workers; execute_fn + latch, map";
    fn sizing() -> Sizing {
        Sizing::elastic(1, SIZED_MAX)
    }
}

/// `Sizing::adaptive(1, SIZED_MAX)`.
#[derive(Debug)]
pub struct Adaptive;

impl Policy for Adaptive {
    const ID: &'static str = "shoal-adaptive";
    const ABOUT: &'static str = "SharedQueuePool with Sizing::adaptive(1, 256): holds at the measured knee; execute_fn + latch, map";
    fn sizing() -> Sizing {
        Sizing::adaptive(1, SIZED_MAX)
    }
}

/// A self-sizing shared-queue pool under test.
#[derive(Debug)]
pub struct SelfSized<K> {
    pool: ExecHandle<SharedQueuePool>,
    policy: PhantomData<K>,
}

impl<K: Policy> Contender for SelfSized<K> {
    offers! {
        self,
        id: K::ID,
        about: K::ABOUT,
        family: Shoal,
        Spawn: self.pool.clone(),
        Batch: &self.pool,
        OrderedMap: &self.pool,
    }

    fn build(_workers: usize) -> Result<Self, String> {
        let config = PoolConfig::new().sizing(K::sizing()).thread_name(K::ID);
        let pool = SharedQueuePool::builder()
            .config(config)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(SelfSized {
            pool: ExecHandle(Arc::new(pool)),
            policy: PhantomData,
        })
    }

    fn close(self) {
        self.pool.close();
    }
}
