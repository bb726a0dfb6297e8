//! What every shoal strategy offers through the `Executor` contract alone: `execute` for
//! spawning, a latch for batches, the result queue `ExecutorExt::map` for ordered maps, and
//! `ExecutorExt::scope` for fork-join.

use std::sync::Arc;

use shoal_core::{Executor, ExecutorExt, Shutdown, TaskError};

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
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        self.0
            .map(items, f)
            .collect::<Result<Vec<R>, _>>()
            .unwrap_or_else(|e| panic!("a map job failed: {e}"))
    }
}

/// A scope task's result, or its panic resumed here.
fn take<T>(result: Result<T, TaskError>) -> T {
    match result {
        Ok(value) => value,
        Err(TaskError::Panicked(payload)) => std::panic::resume_unwind(payload.into_inner()),
        Err(TaskError::Cancelled) => panic!("a running pool cancelled a scope task"),
    }
}

/// Fork-join on any executor: `join(a, b)` is a scope that spawns `b` as a task and runs `a`
/// on the caller; the scope's wait helps (runs queued jobs) inside a worker. Every join costs a
/// scope and a boxed task, which is what a dedicated fork-join pool avoids.
impl<P: Executor + 'static> ForkJoin for ExecHandle<P> {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        take(self.0.scope(|s| s.spawn(move |_| f()).join()))
    }

    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB) {
        self.0.scope(|s| {
            let b = s.spawn(move |_| b());
            let ra = a();
            (ra, take(b.join()))
        })
    }
}

impl<P: Executor + 'static> ExecHandle<P> {
    /// Graceful shutdown: runs what is queued, joins every worker.
    pub fn close(self) {
        let report = self.0.shutdown(Shutdown::Graceful);
        debug_assert_eq!(report.cancelled, 0, "a graceful shutdown cancels nothing");
    }
}
