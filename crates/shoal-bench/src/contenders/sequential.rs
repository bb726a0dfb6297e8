//! The sequential baseline: the same work on the calling thread, no pool.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use crate::contender::{offers, Batch, Branch, Contender, ForkJoin, MapFn, OrderedMap, Spawn};

/// Runs everything on the caller's thread. Spawning queues the job in a thread-local run
/// queue that the outermost `spawn` drains, so a chain of a million spawns is a loop, not a
/// million nested calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequential;

type LocalJob = Box<dyn FnOnce()>;

thread_local! {
    static RUN_QUEUE: RefCell<VecDeque<LocalJob>> = const { RefCell::new(VecDeque::new()) };
    static DRAINING: Cell<bool> = const { Cell::new(false) };
}

impl Spawn for Sequential {
    fn spawn<F: FnOnce() + Send + 'static>(&self, job: F) {
        if DRAINING.with(Cell::get) {
            RUN_QUEUE.with(|q| q.borrow_mut().push_back(Box::new(job)));
            return;
        }
        DRAINING.with(|d| d.set(true));
        job();
        while let Some(next) = RUN_QUEUE.with(|q| q.borrow_mut().pop_front()) {
            next();
        }
        DRAINING.with(|d| d.set(false));
    }
}

impl ForkJoin for Sequential {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        f()
    }

    #[inline]
    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB) {
        (a(), b())
    }
}

impl Batch for Sequential {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        (0..n).for_each(job);
    }
}

impl OrderedMap for Sequential {
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        items.into_iter().map(f).collect()
    }
}

impl Contender for Sequential {
    offers! {
        self,
        id: "sequential",
        about: "one thread, no pool: plain calls, a loop, iter().map(); spawn drains a local run queue",
        family: Sequential,
        Spawn: Sequential,
        ForkJoin: self,
        Batch: self,
        OrderedMap: self,
    }

    fn build(_workers: usize) -> Result<Self, String> {
        Ok(Sequential)
    }
}
