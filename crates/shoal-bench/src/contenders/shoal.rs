//! shoal's three pools as one contender: [`Shoal`] drives any of them through the `Executor`
//! contract, and [`ShoalPool`] holds what differs between them: the name, the builder, and
//! (for `ScopedPool`) the fork-join idiom a pool has of its own.

use std::sync::Arc;

use shoal_core::{BuildError, Executor, PoolConfig};

use super::shoal_exec::ExecHandle;
use crate::contender::{offers, Batch, Contender, ForkJoin, OrderedMap};

/// What tells one shoal pool from another as a contender. The views default to the
/// `Executor` contract ([`ExecHandle`]); a pool with an idiom of its own returns that instead.
pub trait ShoalPool: Executor + Sized + 'static {
    /// The contender's id, also the name of its worker threads.
    const ID: &'static str;
    /// One line: which API each capability maps to.
    const ABOUT: &'static str;

    /// Starts the pool from `config`, through the pool's own builder.
    fn start(config: PoolConfig) -> Result<Self, BuildError>;

    /// The fork-join view: by default `ExecutorExt::join`.
    fn fork_join(pool: &ExecHandle<Self>) -> &impl ForkJoin {
        pool
    }

    /// The batch view: by default `execute` and a latch.
    fn batch(pool: &ExecHandle<Self>) -> &impl Batch {
        pool
    }

    /// The ordered-map view: by default `ExecutorExt::map`, the result queue.
    fn mapper(pool: &ExecHandle<Self>) -> &impl OrderedMap {
        pool
    }
}

/// A shoal pool under test: fire-and-forget jobs go through `Executor::execute`, the other
/// capabilities through the [`ShoalPool`] views. [`ShoalQueue`](super::ShoalQueue),
/// [`ShoalSteal`](super::ShoalSteal) and [`ShoalScope`](super::ShoalScope) name the three.
#[derive(Debug)]
pub struct Shoal<P> {
    pool: ExecHandle<P>,
}

impl<P: ShoalPool> Contender for Shoal<P> {
    offers! {
        self,
        id: P::ID,
        about: P::ABOUT,
        family: Shoal,
        Spawn: self.pool.clone(),
        ForkJoin: P::fork_join(&self.pool),
        Batch: P::batch(&self.pool),
        OrderedMap: P::mapper(&self.pool),
    }

    fn build(workers: usize) -> Result<Self, String> {
        let config = PoolConfig::new().workers(workers).thread_name(P::ID);
        let pool = P::start(config).map_err(|e| e.to_string())?;
        Ok(Shoal {
            pool: ExecHandle(Arc::new(pool)),
        })
    }

    fn close(self) {
        self.pool.close();
    }
}

#[cfg(feature = "queue")]
impl ShoalPool for shoal_queue::SharedQueuePool {
    const ID: &'static str = "shoal-queue";
    const ABOUT: &'static str = "SharedQueuePool: execute_fn + latch; join = ExecutorExt::join; map = ExecutorExt::map (the result queue)";

    fn start(config: PoolConfig) -> Result<Self, BuildError> {
        Self::builder().config(config).build()
    }
}

#[cfg(feature = "steal")]
impl ShoalPool for shoal_steal::WorkStealingPool {
    const ID: &'static str = "shoal-steal";
    const ABOUT: &'static str = "WorkStealingPool: execute_fn + latch (spawns inside a worker stay on its deque); join = ExecutorExt::join; map = ExecutorExt::map";

    fn start(config: PoolConfig) -> Result<Self, BuildError> {
        Self::builder().config(config).build()
    }
}

/// What `Strategy::build` returns: the pool behind the trait object, so every call (including
/// `join`'s `join_inline` hint) is a dynamic one.
#[cfg(feature = "steal")]
impl ShoalPool for Box<dyn Executor> {
    const ID: &'static str = "shoal-dyn";
    const ABOUT: &'static str = "Box<dyn Executor> holding a WorkStealingPool (what Strategy::build returns): every capability through the trait object";

    fn start(config: PoolConfig) -> Result<Self, BuildError> {
        let pool = shoal_steal::WorkStealingPool::builder()
            .config(config)
            .build()?;
        Ok(Box::new(pool))
    }
}

/// A pool seen through the `Executor` contract alone: the pool it holds, with none of that
/// pool's own idioms. For `ScopedPool`, whose contender otherwise uses its native `join` and
/// `par_map`, this is what a program gets from the contract: `ExecutorExt::map` and
/// `map_unordered` (the result queue) over its `Executor` side, `ExecutorExt::join`.
#[derive(Debug)]
pub struct ThroughContract<P>(P);

impl<P: Executor> Executor for ThroughContract<P> {
    shoal_core::delegate_executor!(self => self.0);
}

#[cfg(feature = "scope")]
impl ShoalPool for ThroughContract<shoal_scope::ScopedPool> {
    const ID: &'static str = "shoal-scope/ext";
    const ABOUT: &'static str = "ScopedPool through the Executor contract alone: execute_fn + latch; join = ExecutorExt::join; map = ExecutorExt::map";

    fn start(config: PoolConfig) -> Result<Self, BuildError> {
        shoal_scope::ScopedPool::builder()
            .config(config)
            .build()
            .map(ThroughContract)
    }
}
