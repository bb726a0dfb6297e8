//! The `threadpool` crate: the classic shared-queue pool (an mpsc channel behind a mutex).

use crate::contender::{
    channel_map, offers, spawn_batch, Batch, Contender, MapFn, OrderedMap, Spawn,
};

/// A `threadpool::ThreadPool`: `execute` only; batches wait on a latch, maps use the classic
/// result channel.
#[derive(Debug)]
pub struct ThreadPool {
    pool: threadpool::ThreadPool,
}

/// The pool handle jobs carry (threadpool's handle is `Clone`).
#[derive(Debug, Clone)]
pub struct Handle(threadpool::ThreadPool);

impl Spawn for Handle {
    fn spawn<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.0.execute(job);
    }
}

impl Batch for ThreadPool {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        spawn_batch(&Handle(self.pool.clone()), n, job);
    }
}

impl OrderedMap for ThreadPool {
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        channel_map(&Handle(self.pool.clone()), items, f)
    }
}

impl Contender for ThreadPool {
    offers! {
        self,
        id: "threadpool",
        about: "threadpool crate: execute + latch; map = one job per item, results on an mpsc channel",
        family: Peer,
        Spawn: Handle(self.pool.clone()),
        Batch: self,
        OrderedMap: self,
    }

    fn build(workers: usize) -> Result<Self, String> {
        if workers == 0 {
            return Err("threadpool needs at least one worker".into());
        }
        Ok(ThreadPool {
            pool: threadpool::Builder::new()
                .num_threads(workers)
                .thread_name("threadpool".into())
                .build(),
        })
    }

    fn close(self) {
        // Waits for queued jobs; the threads exit once the last handle drops.
        self.pool.join();
    }
}
