//! `Latch`: how a benchmark learns that every job it fired off has run.
//!
//! Fire-and-forget pools (threadpool, executors, rayon's `spawn`) give no handle back, so the
//! spawn workloads count completions themselves. Every contender pays for the same latch: one
//! atomic decrement per job, and one `unpark` of the waiting thread by the last job.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, Thread};

/// A countdown that wakes the thread that created it when it reaches zero.
#[derive(Debug)]
pub struct Latch {
    remaining: AtomicUsize,
    owner: Thread,
}

impl Latch {
    /// A latch expecting `count` calls to [`count_down`](Latch::count_down). Only the creating
    /// thread may [`wait`](Latch::wait) on it.
    pub fn new(count: usize) -> Arc<Latch> {
        Arc::new(Latch {
            remaining: AtomicUsize::new(count),
            owner: thread::current(),
        })
    }

    /// Marks one job done; the last one wakes the owner.
    #[inline]
    pub fn count_down(&self) {
        // ORDERING: AcqRel. Release publishes this job's writes to the owner, whose Acquire
        // load in `wait` pairs with it; Acquire makes the last decrementer see every earlier
        // job's writes before it unparks (so the chain of releases reaches the owner).
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.owner.unpark();
        }
    }

    /// How many jobs have not counted down yet.
    pub fn remaining(&self) -> usize {
        // ORDERING: Acquire pairs with the Release in `count_down`.
        self.remaining.load(Ordering::Acquire)
    }

    /// Blocks the owner until the count is zero. A stale unpark token only costs one extra
    /// look at the counter.
    pub fn wait(&self) {
        debug_assert_eq!(
            thread::current().id(),
            self.owner.id(),
            "only the thread that created a Latch may wait on it"
        );
        while self.remaining() != 0 {
            thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_owner_after_last_count() {
        let latch = Latch::new(3);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let l = latch.clone();
                thread::spawn(move || l.count_down())
            })
            .collect();
        latch.wait();
        assert_eq!(latch.remaining(), 0);
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn zero_count_does_not_block() {
        Latch::new(0).wait();
    }
}
