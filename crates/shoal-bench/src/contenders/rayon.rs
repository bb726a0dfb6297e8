//! rayon: the fork-join pool most Rust users reach for.

use std::sync::{Arc, Condvar, Mutex};

use rayon::prelude::*;

use crate::contender::{offers, Batch, Branch, Contender, ForkJoin, MapFn, OrderedMap, Spawn};

/// A dedicated `rayon::ThreadPool`, used the way its docs suggest for each shape of work:
/// `spawn` for fire-and-forget, `join` for fork-join, `par_iter` for batches and maps.
#[derive(Debug)]
pub struct Rayon {
    pool: Arc<rayon::ThreadPool>,
    exited: Arc<(Mutex<usize>, Condvar)>,
    workers: usize,
}

impl Spawn for Arc<rayon::ThreadPool> {
    fn spawn<F: FnOnce() + Send + 'static>(&self, job: F) {
        // From inside one of its workers, `ThreadPool::spawn` pushes onto that worker's deque.
        rayon::ThreadPool::spawn(self, job);
    }
}

impl ForkJoin for Rayon {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        self.pool.install(f)
    }

    #[inline]
    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB) {
        rayon::join(a, b)
    }
}

impl Batch for Rayon {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        self.pool.install(|| (0..n).into_par_iter().for_each(job));
    }
}

impl OrderedMap for Rayon {
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        self.pool.install(|| items.into_par_iter().map(f).collect())
    }
}

impl Contender for Rayon {
    offers! {
        self,
        id: "rayon",
        about: "rayon::ThreadPool: spawn, join, par_iter().for_each, par_iter().map().collect()",
        family: Peer,
        Spawn: self.pool.clone(),
        ForkJoin: self,
        Batch: self,
        OrderedMap: self,
    }

    fn build(workers: usize) -> Result<Self, String> {
        let exited = Arc::new((Mutex::new(0usize), Condvar::new()));
        let on_exit = exited.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("rayon-{i}"))
            .exit_handler(move |_| {
                let (count, cv) = &*on_exit;
                *count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                cv.notify_all();
            })
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Rayon {
            pool: Arc::new(pool),
            exited,
            workers,
        })
    }

    /// rayon's pool has no join: dropping it only asks the threads to stop. The exit handler
    /// counts them out so the next measurement starts on a quiet machine.
    fn close(self) {
        let Rayon {
            pool,
            exited,
            workers,
        } = self;
        drop(pool);
        let (count, cv) = &*exited;
        let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
        while *n < workers {
            n = cv.wait(n).unwrap_or_else(|p| p.into_inner());
        }
    }
}
