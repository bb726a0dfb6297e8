//! What every shoal strategy offers through the `Executor` contract alone: `execute` for
//! spawning, a latch for batches, and the result queue `ExecutorExt::map` for ordered maps.

use std::sync::Arc;

use shoal_core::{Executor, ExecutorExt, Shutdown};

use crate::contender::{spawn_batch, Batch, OrderedMap, Spawn};

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
        if let Err(rejected) = self.0.execute(Box::new(job)) {
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
    fn map_ordered<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
        F: Fn(T) -> R + Send + Sync + 'static,
    {
        self.0
            .map(items, f)
            .collect::<Result<Vec<R>, _>>()
            .unwrap_or_else(|e| panic!("a map job failed: {e}"))
    }
}

impl<P: Executor + 'static> ExecHandle<P> {
    /// Graceful shutdown: runs what is queued, joins every worker.
    pub fn close(self) {
        let report = self.0.shutdown(Shutdown::Graceful);
        debug_assert_eq!(report.cancelled, 0, "a graceful shutdown cancels nothing");
    }
}
