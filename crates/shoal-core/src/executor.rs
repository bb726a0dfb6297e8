//! The `Executor` contract: what a pool implements. What every executor gets for free on top
//! of it is [`ExecutorExt`](crate::ExecutorExt), in `ext.rs`.

use std::time::Instant;

use crate::broadcast::BroadcastError;
use crate::error::{Rejected, ResizeError};
use crate::fork::{self, JoinHalf};
use crate::identity::{PoolId, WorkerId};
use crate::idle::WaitIdleError;
use crate::job::{Job, Task};
use crate::join_hint::{JoinHint, JoinKey};
use crate::metrics::Metrics;
use crate::shutdown::{Shutdown, ShutdownReport};

/// A pool of worker threads that runs [`Job`]s.
///
/// Object-safe: `Box<dyn Executor>` and `Arc<dyn Executor>` work, and every executor, sized or
/// not, gets [`ExecutorExt`](crate::ExecutorExt). The semantics every implementation must show
/// (the conformance suite in the shoal-testkit crate checks them) are in the crate docs.
pub trait Executor: Send + Sync {
    /// Queues a job. On a bounded queue that is full, waits for room (from inside a worker of
    /// this pool, it runs queued jobs while it waits). Fails only when shutdown has begun; the
    /// job is handed back in the error.
    fn execute(&self, job: Job) -> Result<(), Rejected>;

    /// Queues a job without ever blocking: a full bounded queue gives
    /// [`RejectReason::Full`](crate::RejectReason::Full) with the job handed back.
    fn try_execute(&self, job: Job) -> Result<(), Rejected>;

    /// [`execute`](Executor::execute) for a [`Task`]: the hook behind
    /// [`ExecutorExt::execute_fn`](crate::ExecutorExt::execute_fn). A pool whose queues hold
    /// tasks queues it as it is, so a small closure travels without a box; the default boxes
    /// it ([`Task::into_job`]) and calls `execute`. A refused task comes back as a `Job`.
    fn execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.execute(task.into_job())
    }

    /// [`try_execute`](Executor::try_execute) for a [`Task`]: the hook behind
    /// [`ExecutorExt::try_execute_fn`](crate::ExecutorExt::try_execute_fn) and
    /// [`try_spawn`](crate::ExecutorExt::try_spawn). Never blocks; the default boxes the task
    /// and calls `try_execute`. A refused task comes back as a `Job`.
    fn try_execute_task(&self, task: Task) -> Result<(), Rejected> {
        self.try_execute(task.into_job())
    }

    /// The number of workers the pool is sized to now.
    fn workers(&self) -> usize;

    /// Changes the number of workers. Growing starts threads at once; shrinking retires workers
    /// after their current job. No queued job is lost either way.
    fn resize(&self, workers: usize) -> Result<(), ResizeError>;

    /// Stops the pool (see [`Shutdown`] for the modes). Idempotent: every call, from any
    /// thread, returns a report; later calls wait for the first to finish (a later
    /// `Deadline` call no longer than its own deadline). Called from inside a
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

    /// Whether [`ExecutorExt::map`](crate::ExecutorExt::map) and
    /// [`ExecutorExt::map_unordered`](crate::ExecutorExt::map_unordered) may hand several items
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

    /// The most workers the pool may run without a `resize`: a self-sizing pool's `max`
    /// while its policy is active (see [`sizing`](crate::sizing)), else
    /// [`workers`](Executor::workers), the default. [`ExecutorExt::map`](crate::ExecutorExt::map)
    /// sizes its window by it, so that a self-sizing pool sees the backlog it grows for.
    fn max_workers(&self) -> usize {
        self.workers()
    }

    /// Runs both halves, potentially in parallel, and returns after both returned: the hook
    /// behind [`ExecutorExt::join`](crate::ExecutorExt::join), object-safe so that a
    /// `Box<dyn Executor>` reaches each pool's own join. Call `ExecutorExt::join` instead; it
    /// makes the halves and hands back their values.
    ///
    /// Each half must run at most once, both must run unless one unwinds, and the call must
    /// not return or unwind while a half may still run elsewhere; a panic of a half that ran
    /// elsewhere is resumed here. The default, [`fork::join_by_jobs`], is correct on any executor:
    /// `b` goes out as a job while `a` runs here, then `b` is taken back if nobody started
    /// it. shoal's pools override it with a join that costs no job unless a worker is idle
    /// ([`fork::join_offering`], or the fork-join pool's native join).
    fn join_halves(&self, a: JoinHalf<'_>, b: JoinHalf<'_>) {
        fork::join_by_jobs(self, a, b)
    }

    /// `true` when a join called now, on this thread, should simply run both halves here:
    /// the thread is a worker of this pool and no worker is idle to take the second half.
    /// [`ExecutorExt::join`](crate::ExecutorExt::join) asks first, so the common case of a
    /// recursive join costs this call and two plain, inlinable calls; otherwise it goes
    /// through [`join_halves`](Executor::join_halves). A hint: a stale answer only moves work
    /// less or more. The default reads [`join_hint`](Executor::join_hint): `false` where it
    /// gives none.
    #[inline]
    fn join_inline(&self) -> bool {
        self.join_hint().is_some_and(|hint| hint.inline())
    }

    /// On a worker of this pool, what [`join_inline`](Executor::join_inline) reads: the
    /// pool's idle counters ([`JoinHint`]). `None` on any other thread, and for an executor
    /// with no workers of its own (the default).
    ///
    /// Through a trait object, [`ExecutorExt::join`](crate::ExecutorExt::join) asks for the
    /// hint once and reads its counters directly in the joins nested inside that one, instead
    /// of calling `join_inline` through the vtable on every join (see
    /// [`join_hint`](crate::join_hint)). So a pool that gives a hint must decide
    /// `join_inline` by it alone.
    fn join_hint(&self) -> Option<JoinHint<'_>> {
        None
    }

    /// The trait object a join on `self` reaches, if any: how `Box<dyn Executor>` and the
    /// other pointers to one pass their pointee's identity on to a join. Not for use outside
    /// shoal-core: [`delegate_executor!`](crate::delegate_executor) forwards it.
    #[doc(hidden)]
    fn join_key(&self) -> Option<JoinKey> {
        None
    }

    /// The id of the pool whose workers run this executor's jobs, as
    /// [`current_worker`](crate::current_worker) reports it inside them. `None` (the default)
    /// for an executor that has no worker threads of its own to name.
    fn pool_id(&self) -> Option<PoolId> {
        None
    }

    /// The hook behind [`ExecutorExt::broadcast`](crate::ExecutorExt::broadcast): calls
    /// `job_for` once per live worker, with that worker's id, and makes each worker run the
    /// job built for it, exactly once (or drop it unrun if the worker leaves first). Returns
    /// once the jobs are handed out, without waiting for them. Every shoal pool posts them to
    /// its workers' mailboxes under its life cycle's lock (`job_for` must only build the job);
    /// after shutdown has begun it refuses with [`BroadcastError::ShutDown`].
    ///
    /// The default, for executors that cannot address their workers, refuses with
    /// [`BroadcastError::Unsupported`] without calling `job_for`.
    fn broadcast_jobs(
        &self,
        job_for: &mut dyn FnMut(WorkerId) -> Job,
    ) -> Result<(), BroadcastError> {
        let _ = job_for;
        Err(BroadcastError::Unsupported)
    }

    /// The hook behind [`ExecutorExt::wait_idle`](crate::ExecutorExt::wait_idle): blocks
    /// until nothing is queued or running, or until `deadline` (`None`: no deadline); returns
    /// whether the pool was idle. The pool keeps running. Every shoal pool refuses to wait from
    /// inside itself ([`WaitIdleError::InsideWorker`]).
    ///
    /// The default, for executors that cannot tell, refuses with
    /// [`WaitIdleError::Unsupported`].
    fn wait_idle_until(&self, deadline: Option<Instant>) -> Result<bool, WaitIdleError> {
        let _ = deadline;
        Err(WaitIdleError::Unsupported)
    }

    /// Begins a graceful shutdown and returns at once, without joining the workers (tokio's
    /// `shutdown_background`): intake closes (submissions get `Rejected` with `ShutDown`), the
    /// queued jobs still run, and the workers exit on their own once the queue is empty. A
    /// later [`shutdown`](Executor::shutdown) waits for what is left and returns the report:
    /// `Graceful` for all of it, `Now` after cancelling what is still queued, `Deadline(d)` no
    /// longer than `d` (then it cancels what is still queued and returns on time, as a first
    /// call would). Does nothing once shutdown has begun.
    ///
    /// The default, for executors that cannot stop in the background, is
    /// `shutdown(Shutdown::Graceful)`: it waits.
    fn shutdown_background(&self) {
        self.shutdown(Shutdown::Graceful);
    }
}

/// Every method of [`Executor`], each handing the call to `$to`: expands inside an
/// `impl Executor for T { .. }` whose value wraps another executor. `$self` is the `self`
/// keyword (passed in, so that the methods' receivers and `$to` are written in the same
/// place). The list of methods lives here once: `Box`, `Arc` and `&` forward with it, and
/// so does the facade's `shoal::Pool`; a method added to the trait is forwarded everywhere by
/// adding it here.
///
/// ```
/// use shoal_core::{Executor, PoolConfig};
///
/// /// A pool with a name, that is otherwise the pool it holds.
/// struct Named<E> { name: &'static str, inner: E }
///
/// impl<E: Executor> Executor for Named<E> {
///     shoal_core::delegate_executor!(self => self.inner);
/// }
/// ```
#[macro_export]
macro_rules! delegate_executor {
    ($self:ident => $to:expr) => {
        fn execute(&$self, job: $crate::Job) -> ::std::result::Result<(), $crate::Rejected> {
            ($to).execute(job)
        }
        fn execute_task(&$self, task: $crate::Task) -> ::std::result::Result<(), $crate::Rejected> {
            ($to).execute_task(task)
        }
        fn try_execute(&$self, job: $crate::Job) -> ::std::result::Result<(), $crate::Rejected> {
            ($to).try_execute(job)
        }
        fn try_execute_task(
            &$self,
            task: $crate::Task,
        ) -> ::std::result::Result<(), $crate::Rejected> {
            ($to).try_execute_task(task)
        }
        fn workers(&$self) -> usize {
            ($to).workers()
        }
        fn resize(&$self, workers: usize) -> ::std::result::Result<(), $crate::ResizeError> {
            ($to).resize(workers)
        }
        fn shutdown(&$self, mode: $crate::Shutdown) -> $crate::ShutdownReport {
            ($to).shutdown(mode)
        }
        fn metrics(&$self) -> $crate::Metrics {
            ($to).metrics()
        }
        fn map_in_chunks(&$self) -> bool {
            ($to).map_in_chunks()
        }
        fn max_workers(&$self) -> usize {
            ($to).max_workers()
        }
        fn join_halves(&$self, a: $crate::JoinHalf<'_>, b: $crate::JoinHalf<'_>) {
            ($to).join_halves(a, b)
        }
        #[inline]
        fn join_inline(&$self) -> bool {
            ($to).join_inline()
        }
        fn join_hint(&$self) -> ::std::option::Option<$crate::JoinHint<'_>> {
            ($to).join_hint()
        }
        #[inline]
        fn join_key(&$self) -> ::std::option::Option<$crate::JoinKey> {
            $crate::join_hint::key_through(&$to)
        }
        fn pool_id(&$self) -> ::std::option::Option<$crate::PoolId> {
            ($to).pool_id()
        }
        fn broadcast_jobs(
            &$self,
            job_for: &mut dyn FnMut($crate::WorkerId) -> $crate::Job,
        ) -> ::std::result::Result<(), $crate::BroadcastError> {
            ($to).broadcast_jobs(job_for)
        }
        fn wait_idle_until(
            &$self,
            deadline: ::std::option::Option<::std::time::Instant>,
        ) -> ::std::result::Result<bool, $crate::WaitIdleError> {
            ($to).wait_idle_until(deadline)
        }
        fn shutdown_background(&$self) {
            ($to).shutdown_background()
        }
    };
}

macro_rules! forward_executor {
    ($($ptr:ty),*) => {$(
        impl<E: Executor + ?Sized> Executor for $ptr {
            delegate_executor!(self => **self);
        }
    )*};
}

forward_executor!(Box<E>, std::sync::Arc<E>, &E);
