//! `ScopedPool`, its builder, and how work from outside enters it.

use std::fmt;

use shoal_core::lifecycle;
use shoal_core::sync::Arc;
use shoal_core::unwind::AbortOnUnwind;
use shoal_core::worker as core_worker;
use shoal_core::{
    BuildError, Executor, ExecutorExt, Job, JoinHalf, JoinHint, PoolConfig, Rejected, Shutdown,
    ShutdownReport, Task,
};

use crate::job::StackJob;
use crate::join::join_in_worker;
use crate::latch::Latch;
use crate::registry::Registry;
use crate::scope::{scope_in_worker, ForkScope};
use crate::worker::{current_parker, WorkerThread};

/// What an unwind out of an `install`'s wait would break.
const INSTALL_WAIT_INVARIANT: &str =
    "an install waits for its closure, which a worker runs from the caller's stack";

/// A fork-join pool: [`join`](ScopedPool::join), [`fork_scope`](ScopedPool::fork_scope),
/// [`install`](ScopedPool::install), parallel slice loops, and [`Executor`] for `'static`
/// jobs.
///
/// See the [crate docs](crate) for how it works and when to pick it.
pub struct ScopedPool {
    registry: Arc<Registry>,
}

impl fmt::Debug for ScopedPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedPool")
            .field("workers", &self.workers())
            .finish_non_exhaustive()
    }
}

impl ScopedPool {
    /// A pool of `workers` threads with an unbounded queue.
    pub fn new(workers: usize) -> Result<ScopedPool, BuildError> {
        Builder::new().workers(workers).build()
    }

    /// A builder for every setting.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results.
    ///
    /// Inside a worker of this pool, `a` runs at once on the calling thread and `b` is offered
    /// to idle workers; if none took it by the time `a` returns, `b` runs here as a plain
    /// call. Outside, the whole join moves into the pool and the caller blocks.
    ///
    /// **Panics**: if `a` panics and `b` was never offered, `b` is dropped unrun; if it was
    /// offered, `join` first waits until it ran (on another worker, or on this one while
    /// helping), then `a`'s panic continues. If only `b` panics, its panic is resumed after
    /// `a` returned. Either way `join` never unwinds while `b` may still be running.
    ///
    /// ```
    /// let pool = shoal_scope::ScopedPool::new(2)?;
    /// let v = vec![1, 2, 3, 4];
    /// let (left, right) = pool.join(|| v[..2].iter().sum::<i32>(), || v[2..].iter().sum::<i32>());
    /// assert_eq!(left + right, 10);
    /// # Ok::<(), shoal_core::BuildError>(())
    /// ```
    ///
    /// A join's closures may borrow, but not hand out borrows that outlive the join:
    ///
    /// ```compile_fail
    /// let pool = shoal_scope::ScopedPool::new(2).unwrap();
    /// let mut escaped: &i32 = &0;
    /// pool.join(|| { let local = 5; escaped = &local; }, || ());
    /// ```
    ///
    /// Nor may they capture values that cannot move to another thread:
    ///
    /// ```compile_fail
    /// let pool = shoal_scope::ScopedPool::new(2).unwrap();
    /// let rc = std::rc::Rc::new(1);
    /// pool.join(|| (), move || drop(rc));
    /// ```
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let worker = WorkerThread::current();
        // SAFETY: a non-null current worker is alive on this thread's stack.
        if !worker.is_null() && unsafe { Arc::ptr_eq(&(*worker).registry, &self.registry) } {
            // SAFETY: as above.
            return join_in_worker(unsafe { &*worker }, a, b);
        }
        self.install(|| self.join(a, b))
    }

    /// Runs `op` inside the pool and returns its value: on the calling thread when it is a
    /// worker of this pool, otherwise on a worker while the caller blocks (a worker of another
    /// shoal-scope pool keeps running its own pool's jobs while it waits).
    ///
    /// After shutdown began, `op` runs on the calling thread, which serves as the pool's only
    /// worker for the call: joins and scopes inside still work, sequentially.
    ///
    /// A panic in `op` is resumed on the caller.
    ///
    /// Called from a worker of another pool, `op` runs on behalf of that worker, which waits:
    /// a shutdown of the waiting pool from inside `op` (`a.install(|| b.install(|| a.shutdown(..)))`)
    /// begins the shutdown and returns the report so far, as it does from inside that pool's
    /// own worker, instead of waiting for a worker that waits for it.
    pub fn install<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        let worker = WorkerThread::current();
        if worker.is_null() {
            return self.install_from_outside(op);
        }
        // SAFETY: a non-null current worker is alive on this thread's stack.
        let worker = unsafe { &*worker };
        if Arc::ptr_eq(&worker.registry, &self.registry) {
            op()
        } else {
            self.install_from_other_pool(worker, op)
        }
    }

    #[cold]
    fn install_from_outside<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        let parker = current_parker();
        let job = StackJob::new(op, Latch::new(&parker));
        // SAFETY: `job` stays in this frame until its latch is set (we block on it below, in a
        // wait that aborts rather than unwind) or the pool refused it (then nobody else has
        // the JobRef).
        if self.registry.inject_if_open(unsafe { job.as_job_ref() }) {
            AbortOnUnwind::run(INSTALL_WAIT_INVARIANT, || job.latch.wait_blocking());
            // SAFETY: `wait_blocking` returned, so the latch is set.
            unsafe { job.into_result() }
        } else {
            // SAFETY: the pool refused the JobRef, so only we can reach the job; one run.
            let value = WorkerThread::enter(&self.registry, |_| unsafe { job.run_inline() });
            // Queued jobs this thread ran meanwhile may have been the pool's last ones.
            self.registry.life.check_idle(&*self.registry);
            value
        }
    }

    #[cold]
    fn install_from_other_pool<OP, R>(&self, worker: &WorkerThread, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        // The worker running `op` acts for the pools that wait on us (ours and those we act
        // for): a shutdown of one of them called from `op` must not wait for our exit.
        let held_up = core_worker::held_up_pools();
        let op = move || {
            let _acting = core_worker::act_for(held_up);
            op()
        };
        let job = StackJob::new(op, Latch::new(&worker.parker));
        // SAFETY: as in `install_from_outside`; `wait_until` returns only once the latch is set.
        if self.registry.inject_if_open(unsafe { job.as_job_ref() }) {
            AbortOnUnwind::run(INSTALL_WAIT_INVARIANT, || worker.wait_until(&job.latch));
            // SAFETY: `wait_until` returned, so the latch is set.
            unsafe { job.into_result() }
        } else {
            // SAFETY: the pool refused the JobRef, so only we can reach the job; one run.
            WorkerThread::enter(&self.registry, |_| unsafe { job.run_inline() })
        }
    }

    /// Runs `op` with a [`ForkScope`] whose tasks may borrow anything that outlives the call.
    /// Returns only after `op` and every task (including tasks spawned by tasks) ended, also
    /// when one of them panicked; then the first panic is resumed.
    ///
    /// This is the lean fork-join scope (rayon's `scope`): a task has no handle, returns
    /// nothing and is never cancelled, and costs one allocation and one queue push.
    /// `pool.scope(..)` is the scope every shoal pool has ([`ExecutorExt::scope`]): each task
    /// returns a handle with its value or its panic, the same code on every strategy.
    ///
    /// ```
    /// let pool = shoal_scope::ScopedPool::new(2)?;
    /// let mut words = vec!["a".to_string(), "bb".into(), "ccc".into()];
    /// let total = std::sync::atomic::AtomicUsize::new(0);
    /// pool.fork_scope(|s| {
    ///     for w in words.iter_mut() {
    ///         let total = &total;
    ///         s.spawn(move |_| {
    ///             w.push('!');
    ///             total.fetch_add(w.len(), std::sync::atomic::Ordering::Relaxed);
    ///         });
    ///     }
    /// });
    /// assert_eq!(words, ["a!", "bb!", "ccc!"]);
    /// assert_eq!(total.into_inner(), 9);
    /// # Ok::<(), shoal_core::BuildError>(())
    /// ```
    ///
    /// A task cannot borrow something that dies before the scope ends:
    ///
    /// ```compile_fail
    /// let pool = shoal_scope::ScopedPool::new(2).unwrap();
    /// pool.fork_scope(|s| {
    ///     let local = 5;
    ///     s.spawn(|_| println!("{}", local));
    /// });
    /// ```
    ///
    /// nor capture a value that cannot move to another thread:
    ///
    /// ```compile_fail
    /// let pool = shoal_scope::ScopedPool::new(2).unwrap();
    /// let rc = std::rc::Rc::new(1);
    /// pool.fork_scope(|s| s.spawn(move |_| drop(rc)));
    /// ```
    pub fn fork_scope<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&ForkScope<'scope>) -> R + Send,
        R: Send,
    {
        self.install(|| {
            let worker = WorkerThread::current();
            // SAFETY: `install` runs us on a worker (or a borrowed thread) of this pool, whose
            // WorkerThread is alive on this thread's stack for the whole call.
            scope_in_worker(unsafe { &*worker }, op)
        })
    }

    /// Calls `f` on every item, in parallel, splitting the slice only when a worker is idle.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let pool = shoal_scope::ScopedPool::new(2)?;
    /// let sum = AtomicU64::new(0);
    /// pool.par_for_each(&[1u64, 2, 3, 4], |x| { sum.fetch_add(*x, Ordering::Relaxed); });
    /// assert_eq!(sum.into_inner(), 10);
    /// # Ok::<(), shoal_core::BuildError>(())
    /// ```
    pub fn par_for_each<T, F>(&self, items: &[T], f: F)
    where
        T: Sync,
        F: Fn(&T) + Sync + Send,
    {
        ExecutorExt::par_for_each(self, items, f)
    }

    /// Maps every item in parallel and collects the results, in input order, into a `Vec`.
    ///
    /// If `f` panics, the panic is resumed here and the values already made are leaked, not
    /// dropped.
    ///
    /// ```
    /// let pool = shoal_scope::ScopedPool::new(2)?;
    /// let squares = pool.par_map(&[1u32, 2, 3], |x| x * x);
    /// assert_eq!(squares, [1, 4, 9]);
    /// # Ok::<(), shoal_core::BuildError>(())
    /// ```
    pub fn par_map<T, U, F>(&self, items: &[T], f: F) -> Vec<U>
    where
        T: Sync,
        U: Send,
        F: Fn(&T) -> U + Sync + Send,
    {
        ExecutorExt::par_map(self, items, f)
    }

    /// Folds every item into an accumulator, in parallel: each piece of the slice starts
    /// from `identity()` and folds its items in order with `fold`; pieces are merged with
    /// `combine`, left to right. The result equals the sequential fold when `combine` is
    /// associative and `identity()` is its neutral element.
    ///
    /// ```
    /// let pool = shoal_scope::ScopedPool::new(2)?;
    /// let v: Vec<u64> = (1..=100).collect();
    /// let sum = pool.par_reduce(&v, || 0, |acc, x| acc + x, |a, b| a + b);
    /// assert_eq!(sum, 5050);
    /// # Ok::<(), shoal_core::BuildError>(())
    /// ```
    pub fn par_reduce<T, R, ID, FOLD, OP>(
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
        ExecutorExt::par_reduce(self, items, identity, fold, combine)
    }

    /// Jobs submitted through [`Executor`] and not yet started: the jobs waiting in its
    /// shared queue and in its workers' deques now.
    pub fn queued(&self) -> usize {
        self.registry.queued_external()
    }
}

impl Executor for ScopedPool {
    // Sleeping workers check `must_retire` when woken. `wait_idle` counts the jobs submitted
    // through `Executor`; fork-join calls (`install`, `join`, `fork_scope`, the parallel
    // slices) are not queued jobs, and block their callers anyway.
    shoal_core::lifecycle_executor!(self => self.registry);

    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.registry.submit(job.into(), true)
    }

    fn execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.registry.submit(task, true)
    }

    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.registry.submit(job.into(), false)
    }

    fn try_execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.registry.submit(task, false)
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.registry.life.shutdown(&*self.registry, mode)
    }

    /// The native [`join`](ScopedPool::join).
    fn join_halves(&self, a: JoinHalf<'_>, b: JoinHalf<'_>) {
        self.join(|| a.run(), || b.run());
    }

    /// On one of this pool's workers: inline while no thread of the pool looks for work.
    #[inline]
    fn join_hint(&self) -> Option<JoinHint<'_>> {
        let worker = WorkerThread::current();
        // SAFETY: a non-null current worker is alive on this thread's stack.
        let inside =
            !worker.is_null() && unsafe { Arc::ptr_eq(&(*worker).registry, &self.registry) };
        inside.then(|| JoinHint::demand(&self.registry.demand))
    }

    fn shutdown_background(&self) {
        self.registry.life.shutdown_background(&*self.registry);
    }
}

impl Drop for ScopedPool {
    /// Does what the builder's `on_drop` says: by default a graceful shutdown that runs every
    /// queued job first and joins the workers.
    fn drop(&mut self) {
        self.registry.life.drop_pool(&*self.registry);
    }
}

/// Settings for a [`ScopedPool`]: the [`PoolConfig`] every pool has, nothing more. A bounded
/// queue (`queue_capacity`) bounds only the jobs submitted through
/// [`Executor`]; join halves and scope tasks are never refused.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: PoolConfig,
}

impl Builder {
    /// Defaults: one worker per logical CPU, unbounded queue.
    pub fn new() -> Builder {
        Builder::default()
    }

    shoal_core::pool_settings!();

    /// Starts the workers.
    pub fn build(self) -> Result<ScopedPool, BuildError> {
        let workers = self.config.validate()?;
        let registry = Arc::new(Registry::new(self.config));
        if let Err(err) = lifecycle::start(&registry, workers) {
            // Stop the workers that did start; no job was accepted yet.
            let pool = ScopedPool { registry };
            pool.shutdown(Shutdown::Now);
            return Err(BuildError::spawn(err));
        }
        Ok(ScopedPool { registry })
    }
}
