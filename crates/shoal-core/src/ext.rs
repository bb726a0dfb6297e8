//! What every executor gets for free: typed spawning, the result queue, `join`, parallel
//! slice loops, scopes.
//!
//! Written against [`Executor`] alone, so a new pool gets all of it by implementing the six
//! required methods of the contract (and, for `broadcast`, `wait_idle` and
//! `current_worker_index`, its hooks).

use std::time::{Duration, Instant};

use crate::broadcast::{self, BroadcastError};
use crate::claim;
use crate::error::{Rejected, TaskError};
use crate::executor::Executor;
use crate::handle::{self, JoinHandle};
use crate::identity::{self, WorkerId};
use crate::idle::WaitIdleError;
use crate::job::Task;
use crate::join_hint;
use crate::map::{Map, MapUnordered};
use crate::scope::{self, Scope};
use crate::slice;

/// Typed spawning, the result queue, scopes, broadcasts and waiting for idle, for every
/// [`Executor`].
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
        // The closure and its completer travel unboxed when they fit (`Task`), and so does
        // the queue's entry for them.
        let (task, claim) = claim::claimable(Task::new(move || completer.run(f)));
        self.execute_task(task)?;
        Ok(handle.with_claim(claim))
    }

    /// Like [`spawn`](ExecutorExt::spawn) but never blocks: a full queue gives `Full`.
    fn try_spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, Rejected>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (completer, handle) = handle::pair();
        let (task, claim) = claim::claimable(Task::new(move || completer.run(f)));
        self.try_execute_task(task)?;
        Ok(handle.with_claim(claim))
    }

    /// Runs `f` on the pool, fire and forget: [`execute`](Executor::execute) without the
    /// `Box`. A closure of up to three words (an `Arc` and an index, say) travels inside the
    /// queue's slot ([`Task`]), so a tiny job costs no allocation on the pools that queue
    /// tasks (all of shoal's); larger closures are boxed as `execute` would. There is no
    /// handle: use [`spawn`](ExecutorExt::spawn) for a result, or to cancel. A panic in `f` is
    /// counted in the metrics and shown to the pool's panic handler. Fails only once shutdown
    /// has begun; the closure comes back in the error, boxed.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..100 {
    ///     let done = done.clone();
    ///     pool.execute_fn(move || {
    ///         done.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .expect("the pool is running");
    /// }
    /// pool.wait_idle().unwrap();
    /// assert_eq!(done.load(Ordering::Relaxed), 100);
    /// # }
    /// ```
    #[inline]
    fn execute_fn<F>(&self, f: F) -> Result<(), Rejected>
    where
        F: FnOnce() + Send + 'static,
    {
        self.execute_task(Task::new(f))
    }

    /// [`execute_fn`](ExecutorExt::execute_fn) that never blocks:
    /// [`try_execute`](Executor::try_execute) without the `Box`. A full bounded queue gives
    /// [`RejectReason::Full`](crate::RejectReason::Full), a shutdown
    /// [`RejectReason::ShutDown`](crate::RejectReason::ShutDown); either way the closure comes
    /// back in the error, boxed, and was not run.
    #[inline]
    fn try_execute_fn<F>(&self, f: F) -> Result<(), Rejected>
    where
        F: FnOnce() + Send + 'static,
    {
        self.try_execute_task(Task::new(f))
    }

    /// Applies `f` to every item on the pool; yields one result per item, **in input order**:
    /// the value, or `Err(TaskError::Panicked)` in the place of an item whose `f` panicked.
    /// Items the pool refuses or cancels (it is shutting down) yield `Err(TaskError::Cancelled)`.
    ///
    /// Items go to jobs in chunks sized to run for tens of microseconds each (one item per
    /// chunk when items are slow); a few jobs loop over the chunks, and the calling thread
    /// runs pending chunks itself while it waits, so the cost per item does not depend on how
    /// small items are. When the pool's workers fill the machine's cores, the calling thread
    /// counts as one of the map's runners and the pool gets one job fewer: no more threads
    /// run chunks than there are cores. At most a window
    /// of items is in flight (default: `4 × workers` chunks, `workers` being a self-sizing
    /// pool's `max`; set it in items with
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

    /// Runs `a` and `b`, potentially in parallel, and returns both values (rayon's `join`).
    /// Both closures may borrow from the caller's stack.
    ///
    /// On a shoal pool, inside one of its workers, `b` goes to another worker only when one
    /// is idle; otherwise both run here as plain calls, so a recursive divide-and-conquer
    /// costs little more than sequential code. From outside the pool the whole join runs on a
    /// worker while the caller waits. On any other executor `b` is submitted as a job and
    /// taken back if nobody started it (see [`Executor::join_halves`]). `join` promises that
    /// both halves run, not that they run at the same time: `a` must not wait for `b` (by a
    /// channel, a lock, a spin), or it may wait forever, as with rayon.
    ///
    /// **Panics**: `join` never returns or unwinds while `b` may still run elsewhere. If `a`
    /// panics, `b` is dropped unrun when nobody started it, otherwise awaited; then `a`'s
    /// panic continues. If only `b` panics, its panic is resumed after `a` returned (as with
    /// rayon's `join`). A pool that shuts down never loses a half: one it refuses or cancels
    /// runs on the calling thread.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    ///
    /// fn sum(pool: &dyn shoal_core::Executor, v: &[u64]) -> u64 {
    ///     if v.len() <= 1024 {
    ///         return v.iter().sum();
    ///     }
    ///     let (left, right) = v.split_at(v.len() / 2);
    ///     let (l, r) = pool.join(|| sum(pool, left), || sum(pool, right));
    ///     l + r
    /// }
    /// let v: Vec<u64> = (0..100_000).collect();
    /// assert_eq!(sum(pool, &v), 4_999_950_000);
    /// # }
    /// ```
    ///
    /// The closures may borrow, but not hand out borrows that outlive the join:
    ///
    /// ```compile_fail
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// let mut escaped: &i32 = &0;
    /// pool.join(|| { let local = 5; escaped = &local; }, || ());
    /// # }
    /// ```
    ///
    /// Nor capture values that cannot move to another thread:
    ///
    /// ```compile_fail
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// let rc = std::rc::Rc::new(1);
    /// pool.join(|| (), move || drop(rc));
    /// # }
    /// ```
    fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        // A trait object (or a pointer to one) reads the hint of the join it is nested in,
        // if that one was on the same object: one vtable call per extent, not per join.
        if join_hint::inline_here(self) {
            return (a(), b());
        }
        join_hint::join_elsewhere(self, a, b)
    }

    /// Calls `f` on every item of a borrowed slice, in parallel, splitting the slice only
    /// when a worker is idle (see `slice.rs` in this crate for how). Returns after every item
    /// was seen; a panic in `f` is resumed here.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use shoal_core::ExecutorExt;
    /// let sum = AtomicU64::new(0);
    /// pool.par_for_each(&[1u64, 2, 3, 4], |x| { sum.fetch_add(*x, Ordering::Relaxed); });
    /// assert_eq!(sum.into_inner(), 10);
    /// # }
    /// ```
    fn par_for_each<T, F>(&self, items: &[T], f: F)
    where
        T: Sync,
        F: Fn(&T) + Sync + Send,
    {
        slice::par_for_each(self, items, f)
    }

    /// Maps every item of a borrowed slice in parallel and collects the results, in input
    /// order. If `f` panics, the panic is resumed here and the values already made are
    /// leaked, not dropped.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// assert_eq!(pool.par_map(&[1u32, 2, 3], |x| x * x), [1, 4, 9]);
    /// # }
    /// ```
    fn par_map<T, U, F>(&self, items: &[T], f: F) -> Vec<U>
    where
        T: Sync,
        U: Send,
        F: Fn(&T) -> U + Sync + Send,
    {
        slice::par_map(self, items, f)
    }

    /// Folds every item of a borrowed slice in parallel: each piece starts from
    /// `identity()` and folds its items in order with `fold`; pieces are merged with
    /// `combine`, left to right. Equals the sequential fold when `combine` is associative
    /// and `identity()` its neutral element.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// let v: Vec<u64> = (1..=100).collect();
    /// assert_eq!(pool.par_reduce(&v, || 0, |acc, x| acc + x, |a, b| a + b), 5050);
    /// # }
    /// ```
    fn par_reduce<T, R, ID, FOLD, OP>(
        &self,
        items: &[T],
        identity: ID,
        fold: FOLD,
        combine: OP,
    ) -> R
    where
        T: Sync,
        R: Send,
        ID: Fn() -> R + Sync + Send,
        FOLD: Fn(R, &T) -> R + Sync + Send,
        OP: Fn(R, R) -> R + Sync + Send,
    {
        slice::par_reduce(self, items, identity, fold, combine)
    }

    /// Runs `f` with a [`Scope`] whose tasks may borrow from the caller's stack; returns
    /// after `f` and every task (including tasks spawned by tasks) ended, also when one of
    /// them panicked. The first panic nobody took through a [`ScopedJoinHandle`] is then
    /// resumed. Works on every executor: tasks travel through [`Executor::execute`] (inside a
    /// busy worker most of them stay on the spawning thread and run there, depth-first), and
    /// a scope waiting inside a worker runs queued jobs meanwhile. See [`Scope`]
    /// for the timeline, and refused and cancelled tasks.
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

    /// Runs `f` once on every worker of the pool (rayon's `broadcast`), and returns one result
    /// per worker, ordered by worker index: `f`'s value, or `Err(TaskError::Panicked)` for a
    /// worker on which `f` panicked (the others are not affected; the pool's metrics and
    /// `panic_handler` do not count a broadcast). `f` gets the worker's [`WorkerId`] and may
    /// borrow from the caller: the call returns only after every worker ran it.
    ///
    /// "Every worker" is every worker alive when the broadcast is posted; each runs `f`
    /// between two jobs, when it wakes up idle, or while it waits inside a job (every shoal
    /// wait does), so a worker busy with a long job delays the broadcast until the job ends or
    /// waits. Called from inside a worker of the pool, that worker runs its own part while it
    /// waits for the others. A worker that leaves at the same moment (a shrinking `resize`)
    /// may report `Err(TaskError::Cancelled)` in its place. After shutdown has begun, it
    /// returns [`BroadcastError::ShutDown`] and runs nothing; an executor that cannot address
    /// its workers returns [`BroadcastError::Unsupported`].
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// // Warm a per-thread cache on every worker; learn each worker's thread name.
    /// let names = pool
    ///     .broadcast(|worker| {
    ///         let name = std::thread::current().name().map(str::to_owned);
    ///         (worker.index(), name)
    ///     })
    ///     .expect("the pool is running");
    /// assert_eq!(names.len(), pool.workers());
    /// # }
    /// ```
    fn broadcast<F, T>(&self, f: F) -> Result<Vec<Result<T, TaskError>>, BroadcastError>
    where
        F: Fn(WorkerId) -> T + Sync,
        T: Send,
    {
        broadcast::broadcast(self, f)
    }

    /// Blocks until nothing is queued or running (threadpool's `join`), without shutting the
    /// pool down: it keeps taking jobs, and this can be called again.
    ///
    /// It returns at a moment when every job the pool had accepted until then had ended; jobs
    /// submitted concurrently may run before or after it returns. It waits on a condition
    /// variable that the pool signals when a worker runs out of work, so it costs no CPU while
    /// it waits. Called from inside the pool (a job or a hook of one of its workers, or a
    /// thread one of its workers waits for), it returns [`WaitIdleError::InsideWorker`] at
    /// once instead of waiting for itself forever. On a `ScopedPool`, fork-join calls
    /// (`install`, `join`, `fork_scope`) are not queued jobs: only jobs submitted through
    /// [`Executor`] count.
    ///
    /// ```
    /// # fn demo(pool: &dyn shoal_core::Executor) {
    /// use shoal_core::ExecutorExt;
    /// for i in 0..10 {
    ///     pool.execute(Box::new(move || drop(i))).expect("the pool is running");
    /// }
    /// pool.wait_idle().expect("called from outside the pool");
    /// assert!(pool.metrics().is_idle());
    /// # }
    /// ```
    fn wait_idle(&self) -> Result<(), WaitIdleError> {
        self.wait_idle_until(None).map(|_| ())
    }

    /// Like [`wait_idle`](ExecutorExt::wait_idle), but gives up after `timeout`: `Ok(true)` if
    /// the pool became idle, `Ok(false)` if the time ran out first.
    fn wait_idle_timeout(&self, timeout: Duration) -> Result<bool, WaitIdleError> {
        // A timeout too long to represent is no timeout.
        self.wait_idle_until(Instant::now().checked_add(timeout))
    }

    /// The calling thread's worker index if it is a worker of this pool (rayon's
    /// `ThreadPool::current_thread_index`); `None` on any other thread. See
    /// [`current_worker`](crate::current_worker) for the numbering.
    fn current_worker_index(&self) -> Option<usize> {
        let worker = identity::current_worker()?;
        (Some(worker.pool()) == self.pool_id()).then(|| worker.index())
    }
}

impl<E: Executor + ?Sized> ExecutorExt for E {}
