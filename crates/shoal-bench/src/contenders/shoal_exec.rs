//! What every shoal strategy offers through the `Executor` contract alone: `execute_fn` for
//! spawning (a small closure travels in the queue's slot, unboxed), a latch for batches, the result queue `ExecutorExt::map` for ordered maps, and
//! `ExecutorExt::join` for fork-join.

use std::sync::Arc;

use shoal_core::{Executor, ExecutorExt, Shutdown};

use crate::contender::{spawn_batch, Batch, Branch, ForkJoin, MapFn, OrderedMap, Spawn};

/// A shoal pool behind the `Executor` trait, shared with the jobs that spawn into it.
#[derive(Debug)]
pub struct ExecHandle<P>(pub Arc<P>);

impl<P> Clone for ExecHandle<P> {
    fn clone(&self) -> Self {
        ExecHandle(self.0.clone())
    }
}

impl<P: Executor + 'static> Spawn for ExecHandle<P> {
    #[inline]
    fn spawn<F: FnOnce() + Send + 'static>(&self, job: F) {
        if let Err(rejected) = self.0.execute_fn(job) {
            panic!("a running pool refused a job: {rejected}");
        }
    }
}

impl<P: Executor + 'static> Batch for ExecHandle<P> {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        spawn_batch(self, n, job);
    }
}

impl<P: Executor + 'static> OrderedMap for ExecHandle<P> {
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        all_ok(self.0.map(items, f))
    }

    fn map_any_order<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        all_ok(self.0.map_unordered(items, f))
    }
}

/// Every result of a map, or a panic: the benchmark's items never fail.
fn all_ok<R>(results: impl Iterator<Item = Result<R, shoal_core::TaskError>>) -> Vec<R> {
    results
        .collect::<Result<Vec<R>, _>>()
        .unwrap_or_else(|e| panic!("a map job failed: {e}"))
}

/// Fork-join on any executor: `ExecutorExt::join`, which reaches the pool's own join through
/// `Executor::join_halves` (a `Box<dyn Executor>` gets the same path). `install` is a join
/// with an empty second half: from outside the pool, the whole join runs on a worker.
impl<P: Executor + 'static> ForkJoin for ExecHandle<P> {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        self.0.join(f, || ()).0
    }

    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB) {
        self.0.join(a, b)
    }
}

impl<P: Executor + 'static> ExecHandle<P> {
    /// Graceful shutdown: runs what is queued, joins every worker.
    pub fn close(self) {
        let report = self.0.shutdown(Shutdown::Graceful);
        debug_assert_eq!(report.cancelled, 0, "a graceful shutdown cancels nothing");
    }
}
