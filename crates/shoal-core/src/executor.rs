//! The `Executor` contract: what a pool implements. What every executor gets for free on top
//! of it is [`ExecutorExt`](crate::ExecutorExt), in `ext.rs`.

use crate::error::{Rejected, ResizeError};
use crate::fork::{self, JoinHalf};
use crate::job::Job;
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
    /// less or more. Default `false`.
    fn join_inline(&self) -> bool {
        false
    }
}

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
            fn join_halves(&self, a: JoinHalf<'_>, b: JoinHalf<'_>) { (**self).join_halves(a, b) }
            #[inline]
            fn join_inline(&self) -> bool { (**self).join_inline() }
        }
    )*};
}

forward_executor!(Box<E>, std::sync::Arc<E>, &E);
