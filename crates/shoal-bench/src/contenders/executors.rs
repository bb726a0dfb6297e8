//! The `executors` crate: a crossbeam-channel pool and a crossbeam-deque work-stealing pool.

use executors::crossbeam_workstealing_pool as ws;
use executors::parker::DynParker;
use executors::Executor as _;

use crate::contender::{
    channel_map, offers, spawn_batch, Batch, Contender, MapFn, OrderedMap, Spawn,
};

/// A handle of either `executors` pool; both are `Clone` handles on shared state.
#[derive(Clone)]
pub struct Handle<P>(P);

impl<P> std::fmt::Debug for Handle<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("executors::Handle")
    }
}

impl<P: executors::Executor + Sync + 'static> Spawn for Handle<P> {
    fn spawn<F: FnOnce() + Send + 'static>(&self, job: F) {
        // From a worker of the work-stealing pool this lands on the worker's local queue.
        self.0.execute(job);
    }
}

macro_rules! executors_contender {
    ($(#[$doc:meta])* $name:ident, $pool:ty, $id:literal, $about:literal, $make:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            pool: Handle<$pool>,
        }

        impl Batch for $name {
            fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
                spawn_batch(&self.pool, n, job);
            }
        }

        impl OrderedMap for $name {
            fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
            where
                T: Clone + Send + Sync + 'static,
                R: Send + 'static,
            {
                channel_map(&self.pool, items, f)
            }
        }

        impl Contender for $name {
            offers! {
                self,
                id: $id,
                about: $about,
                family: Peer,
                Spawn: self.pool.clone(),
                Batch: self,
                OrderedMap: self,
            }

            fn build(workers: usize) -> Result<Self, String> {
                if workers == 0 {
                    return Err(concat!($id, " needs at least one worker").into());
                }
                let make: fn(usize) -> $pool = $make;
                Ok($name {
                    pool: Handle(make(workers)),
                })
            }

            fn close(self) {
                // Queued jobs run first (the stop messages queue behind them); the threads are
                // counted out before this returns. A timeout here only means a slow exit.
                let _ = self.pool.0.shutdown();
            }
        }
    };
}

executors_contender!(
    /// `executors::crossbeam_channel_pool::ThreadPool`: one shared crossbeam channel.
    ExecutorsChannel,
    executors::crossbeam_channel_pool::ThreadPool,
    "executors-channel",
    "executors crossbeam_channel_pool: execute + latch; map = result channel",
    executors::crossbeam_channel_pool::ThreadPool::new
);

executors_contender!(
    /// `executors::crossbeam_workstealing_pool`: local deques plus a global queue.
    ExecutorsSteal,
    ws::ThreadPool<DynParker>,
    "executors-steal",
    "executors crossbeam_workstealing_pool (auto parker): execute + latch; map = result channel",
    ws::pool_with_auto_parker
);
