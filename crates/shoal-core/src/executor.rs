//! The `Executor` contract and the conveniences every executor gets for free.

use crate::claim;
use crate::error::{Rejected, ResizeError};
use crate::handle::{self, JoinHandle};
use crate::job::Job;
use crate::map::{Map, MapUnordered};
use crate::metrics::Metrics;
use crate::scope::{self, Scope};
use crate::shutdown::{Shutdown, ShutdownReport};

/// A pool of worker threads that runs [`Job`]s.
///
/// Object-safe: `Box<dyn Executor>` and `Arc<dyn Executor>` work, and every executor, sized or
/// not, gets [`ExecutorExt`]. The semantics every implementation must show (the conformance
/// suite in the shoal-testkit crate checks them) are in the crate docs.
pub trait Executor: Send + Sync {
    /// Queues a job. On a bounded queue that is full, waits for room (from inside a worker of
    /// this pool, it runs queued jobs while it waits). Fails only when shutdown has begun; the
    /// job is handed back in the error.
    fn execute(&self, job: Job) -> Result<(), Rejected>;

    /// Queues a job without ever blocking: a full bounded queue gives
    /// [`RejectReason::Full`](crate::RejectReason::Full) with the job handed back.
    fn try_execute(&self, job: Job) -> Result<(), Rejected>;

    /// The number of workers the pool is sized to now.
    fn workers(&self) -> usize;

    /// Changes the number of workers. Growing starts threads at once; shrinking retires workers
    /// after their current job. No queued job is lost either way.
    fn resize(&self, workers: usize) -> Result<(), ResizeError>;

    /// Stops the pool (see [`Shutdown`] for the modes). Idempotent: every call, from any
    /// thread, returns a report; later calls wait for the first to finish. Called from inside a
    /// worker of this pool it begins the shutdown and returns without waiting for its own job
    /// (counted in `still_running`).
    ///
    /// The same holds on a thread that runs a job a worker of this pool waits for, blocked, when
    /// the pool can know it: inside `ScopedPool::install` called from a worker of another pool
    /// (`a.install(|| b.install(|| a.shutdown(..)))`), the call returns at once with the report
    /// so far (see [`worker::holds_up`](crate::worker::holds_up)). Through a handle it cannot
    /// know: a worker of `a` that waits in `JoinHandle::join` for a job on `b` which shuts `a`
    /// down gracefully waits for itself. Use `Shutdown::Deadline` there: it returns on time and
    /// lists the waiting job in `still_running`.
    fn shutdown(&self, mode: Shutdown) -> ShutdownReport;

    /// A snapshot of the pool's counters.
    fn metrics(&self) -> Metrics;

    /// Whether [`ExecutorExt::map`] and [`ExecutorExt::map_unordered`] may hand several items
    /// to one job and run items on the calling thread while it waits for results. `true` (the
    /// default) suits every pool: it is what makes `map` cheap on small items.
    ///
    /// An executor whose jobs are the units it paces or caps (a rate limiter: so many jobs per
    /// second, at most so many at once) returns `false`: `map` then submits one job per item
    /// and runs nothing on the calling thread, so every item goes through the executor's
    /// bookkeeping.
    fn map_in_chunks(&self) -> bool {
        true
    }
}

/// Typed spawning, the result queue and scopes, for every [`Executor`].
pub trait ExecutorExt: Executor {
    /// Runs `f` on the pool and returns a handle to its result.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// let handle = pool.spawn(|| 6 * 7).expect("the pool is running");
    /// assert_eq!(handle.join().unwrap(), 42);
    /// # }
    /// ```
    fn spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, Rejected>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (completer, handle) = handle::pair();
        let (job, claim) = claim::claimable(Box::new(move || completer.run(f)));
        self.execute(job)?;
        Ok(handle.with_claim(claim))
    }

    /// Like [`spawn`](ExecutorExt::spawn) but never blocks: a full queue gives `Full`.
    fn try_spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, Rejected>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (completer, handle) = handle::pair();
        let (job, claim) = claim::claimable(Box::new(move || completer.run(f)));
        self.try_execute(job)?;
        Ok(handle.with_claim(claim))
    }

    /// Applies `f` to every item on the pool; yields one result per item, **in input order**:
    /// the value, or `Err(TaskError::Panicked)` in the place of an item whose `f` panicked.
    /// Items the pool refuses or cancels (it is shutting down) yield `Err(TaskError::Cancelled)`.
    ///
    /// Items go to jobs in chunks sized to run for tens of microseconds each (one item per
    /// job when items are slow), and the calling thread runs pending chunks itself while it
    /// waits, so the cost per item does not depend on how small items are. At most a window
    /// of items is in flight (default: `2 × workers` chunks; set it in items with
    /// [`Map::window`]), and the input is pulled lazily. [`Map`] says how the pool counts the
    /// jobs and the panics of a map.
    fn map<I, F, T>(&self, items: I, f: F) -> Map<'_, Self, I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        Map::new(self, items.into_iter(), f)
    }

    /// Like [`map`](ExecutorExt::map), but yields results as they finish.
    /// [`MapUnordered::indexed`] pairs each result with its item's input position.
    fn map_unordered<I, F, T>(&self, items: I, f: F) -> MapUnordered<'_, Self, I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        MapUnordered::new(self, items.into_iter(), f)
    }

    /// Runs `f` with a [`Scope`] whose tasks may borrow from the caller's stack; returns
    /// after `f` and every task (including tasks spawned by tasks) ended, also when one of
    /// them panicked. The first panic nobody took through a [`ScopedJoinHandle`] is then
    /// resumed. Works on every executor: tasks travel through [`Executor::execute`], and a
    /// scope waiting inside a worker runs queued jobs meanwhile. See [`Scope`](crate::Scope) and its module
    /// docs for refused and cancelled tasks.
    ///
    /// [`ScopedJoinHandle`]: crate::ScopedJoinHandle
    ///
    /// ```
    /// # use shoal_core::*;
    /// # /// One thread per job: the simplest executor whose jobs really run elsewhere.
    /// # struct Threads;
    /// # impl Executor for Threads {
    /// #     fn execute(&self, job: Job) -> Result<(), Rejected> { std::thread::spawn(job); Ok(()) }
    /// #     fn try_execute(&self, job: Job) -> Result<(), Rejected> { self.execute(job) }
    /// #     fn workers(&self) -> usize { 1 }
    /// #     fn resize(&self, _: usize) -> Result<(), ResizeError> { Ok(()) }
    /// #     fn shutdown(&self, _: Shutdown) -> ShutdownReport { ShutdownReport::default() }
    /// #     fn metrics(&self) -> Metrics { Metrics::default() }
    /// # }
    /// let mut counts = vec![0usize; 4];
    /// let text = "borrowed from the caller";
    /// Threads.scope(|s| {
    ///     for (i, count) in counts.iter_mut().enumerate() {
    ///         s.spawn(move |_| *count = text.len() + i);
    ///     }
    ///     let nested = s.spawn(|s| s.spawn(|_| text.len()).join().unwrap() * 2);
    ///     assert_eq!(nested.join().unwrap(), 48);
    /// });
    /// assert_eq!(counts, [24, 25, 26, 27]);
    /// ```
    fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, Self>) -> R,
    {
        scope::scope(self, f)
    }
}

impl<E: Executor + ?Sized> ExecutorExt for E {}

macro_rules! forward_executor {
    ($($ptr:ty),*) => {$(
        impl<E: Executor + ?Sized> Executor for $ptr {
            fn execute(&self, job: Job) -> Result<(), Rejected> { (**self).execute(job) }
            fn try_execute(&self, job: Job) -> Result<(), Rejected> { (**self).try_execute(job) }
            fn workers(&self) -> usize { (**self).workers() }
            fn resize(&self, workers: usize) -> Result<(), ResizeError> { (**self).resize(workers) }
            fn shutdown(&self, mode: Shutdown) -> ShutdownReport { (**self).shutdown(mode) }
            fn metrics(&self) -> Metrics { (**self).metrics() }
            fn map_in_chunks(&self) -> bool { (**self).map_in_chunks() }
        }
    )*};
}

forward_executor!(Box<E>, std::sync::Arc<E>, &E);
