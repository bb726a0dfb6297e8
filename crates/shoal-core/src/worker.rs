//! The hook that lets a thread waiting inside a worker help instead of block.
//!
//! A classic worker pool deadlocks when every worker waits on a job that is still queued: no
//! worker is free to run it. shoal avoids that the way rayon and tokio's `block_in_place` do
//! in spirit: a worker thread registers its pool's [`Helper`] in a thread local when it
//! starts ([`enter`]); every blocking wait in shoal ([`JoinHandle::join`](crate::JoinHandle::join),
//! `map`, scopes) asks the current helper to run one queued job while the awaited
//! thing is not ready. So the job being waited on is either running elsewhere, or gets run by
//! the waiter itself.
//!
//! Each strategy implements [`Helper`] over its own queues; core only knows the trait.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::job::{Job, PanicHandler, Task};
use crate::metrics::{Counters, Event};
use crate::sync::thread_local;
pub use crate::unwind::drop_quietly;
// The helper pointer is plain `std` even under loom: it is not part of any modelled protocol,
// and std's `Arc` coerces to `Arc<dyn Helper>` where loom's cannot.
use std::sync::Arc;

/// What a pool offers to a thread that waits inside one of its workers.
pub trait Helper: Send + Sync {
    /// Runs at most one queued job of this pool on the calling thread (through [`run_job`], so
    /// it is counted and its panic caught). Returns `true` if it ran one.
    fn help_one(&self) -> bool;
}

struct Current {
    pool_id: usize,
    helper: Arc<dyn Helper>,
}

#[cfg(not(shoal_loom))]
thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
    /// `CURRENT`'s pool id alone (0: none), for the checks on hot paths such as every `join`.
    static CURRENT_ID: Cell<usize> = const { Cell::new(0) };
}

// loom's `thread_local!` takes no `const` initializer.
#[cfg(shoal_loom)]
thread_local! {
    static CURRENT: RefCell<Option<Current>> = RefCell::new(None);
    static CURRENT_ID: Cell<usize> = Cell::new(0);
}

/// Marks the calling thread as a worker of pool `pool_id` until the guard drops.
///
/// `pool_id` is any non-zero number unique to the pool while it lives (the address of its
/// shared state is the usual choice).
pub fn enter(pool_id: usize, helper: Arc<dyn Helper>) -> WorkerGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(Current { pool_id, helper }));
    CURRENT_ID.with(|id| id.set(pool_id));
    WorkerGuard { previous }
}

/// Restores the thread's previous worker state on drop.
pub struct WorkerGuard {
    previous: Option<Current>,
}

impl std::fmt::Debug for WorkerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerGuard").finish_non_exhaustive()
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let previous_id = previous.as_ref().map_or(0, |p| p.pool_id);
        // try_with: the guard may drop while thread locals are being torn down.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
        let _ = CURRENT_ID.try_with(|id| id.set(previous_id));
    }
}

/// The id of the pool whose worker is the calling thread, if any.
pub fn current_pool() -> Option<usize> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|c| c.pool_id))
        .ok()
        .flatten()
}

/// `true` when the calling thread is a worker of pool `pool_id`.
#[inline]
pub fn is_worker_of(pool_id: usize) -> bool {
    CURRENT_ID.try_with(Cell::get).ok() == Some(pool_id)
}

// The pools whose workers wait, blocked further up this call chain, for what the calling
// thread runs now: set while a job that a worker of another pool handed over synchronously
// (`ScopedPool::install` from a worker of another pool) runs here.
#[cfg(not(shoal_loom))]
thread_local! {
    static ACTING_FOR: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

#[cfg(shoal_loom)]
thread_local! {
    static ACTING_FOR: RefCell<Vec<usize>> = RefCell::new(Vec::new());
}

/// The pools the calling thread holds up: its own pool, if it is a worker, and every pool it
/// acts for (see [`act_for`]). A pool that hands a job over to another pool and blocks until
/// it ran passes this list along with the job.
pub fn held_up_pools() -> Vec<usize> {
    let mut pools = ACTING_FOR
        .try_with(|a| a.borrow().clone())
        .unwrap_or_default();
    pools.extend(current_pool());
    pools
}

/// Marks the calling thread, until the guard drops, as running a job that workers of `pools`
/// wait for, blocked. A shutdown of one of those pools called meanwhile must not wait for its
/// workers to exit (one of them waits for this very call): see [`holds_up`].
pub fn act_for(pools: Vec<usize>) -> ActingGuard {
    let added = pools.len();
    let _ = ACTING_FOR.try_with(|a| a.borrow_mut().extend(pools));
    ActingGuard { added }
}

/// Undoes one [`act_for`] on drop.
#[derive(Debug)]
pub struct ActingGuard {
    added: usize,
}

impl Drop for ActingGuard {
    fn drop(&mut self) {
        let _ = ACTING_FOR.try_with(|a| {
            let mut a = a.borrow_mut();
            let keep = a.len().saturating_sub(self.added);
            a.truncate(keep);
        });
    }
}

/// `true` when a worker of pool `pool_id` cannot exit before the calling thread returns: the
/// thread is one of its workers, or runs a job one of its workers waits for ([`act_for`]).
/// A pool's `shutdown` called here begins the shutdown and returns without waiting for its
/// workers, as it does from inside its own worker; waiting would deadlock.
pub fn holds_up(pool_id: usize) -> bool {
    is_worker_of(pool_id)
        || ACTING_FOR
            .try_with(|a| a.borrow().contains(&pool_id))
            .unwrap_or(false)
}

/// How many helped jobs may be stacked on one another on a waiting thread. Each level is a
/// job that itself waits and helps; without a bound, helping on a FIFO queue stacks one frame
/// per queued job and overflows the worker's stack. Past the bound a waiter naps and re-checks
/// instead. Progress does not depend on helping this deep: a waiter first runs the very job it
/// waits for if nobody has started it (see `claim.rs`), so every chain of waits ends in a job
/// that is running.
pub const MAX_HELP_DEPTH: usize = 8;

#[cfg(not(shoal_loom))]
thread_local! {
    static HELP_DEPTH: Cell<usize> = const { Cell::new(0) };
}

#[cfg(shoal_loom)]
thread_local! {
    static HELP_DEPTH: Cell<usize> = Cell::new(0);
}

/// Looks a while before a waiting worker goes to sleep: until `done()`, at most
/// [`LONG_SPIN`](crate::sleep::LONG_SPIN) rounds of [`backoff`](crate::sleep::backoff), the
/// way an idle worker searches, running a queued job of its pool ([`help_one`]) in place of a
/// round whenever there is one. Returns `done()`'s last answer.
///
/// What a worker waits for inside its pool, the half of a join another worker took, a task of
/// its scope, a job it spawned, is often about to end: the two sides of a split are often
/// alike. Every wait inside a worker calls this before its first nap (`Waitable` in
/// [`wait`](crate::wait), and `scope_task::block_until`): a wait that sleeps at once pays a
/// futex call on each side and a wake-up's latency (tens of microseconds) every time, which
/// on a loop of joins or scopes of coarse halves costs more than the halves gain. Under a model checker it does not look at all (and returns `false`):
/// a spin only multiplies interleavings, and the wait after it checks `done` anyway.
pub(crate) fn look_before_sleep(done: impl FnMut() -> bool) -> bool {
    #[cfg(not(any(shoal_loom, shoal_shuttle)))]
    {
        let mut done = done;
        for round in 0..crate::sleep::LONG_SPIN {
            if done() {
                return true;
            }
            if !help_one() {
                crate::sleep::backoff(round);
            }
        }
        done()
    }
    #[cfg(any(shoal_loom, shoal_shuttle))]
    {
        let _ = done;
        false
    }
}

/// Runs one queued job of the current worker's pool, if the calling thread is a worker, the
/// pool has one, and fewer than [`MAX_HELP_DEPTH`] helped jobs are already stacked on this
/// thread. Before that, it runs the broadcast jobs posted to the calling worker (see
/// [`identity`](crate::identity)): a broadcast reaches a worker that waits inside a job.
/// Returns `true` if a job ran.
pub fn help_one() -> bool {
    if crate::identity::run_own_mail() {
        return true;
    }
    let helper = CURRENT
        .try_with(|c| c.borrow().as_ref().map(|c| c.helper.clone()))
        .ok()
        .flatten();
    let Some(helper) = helper else { return false };
    let depth = HELP_DEPTH.with(Cell::get);
    if depth >= MAX_HELP_DEPTH {
        return false;
    }
    HELP_DEPTH.with(|d| d.set(depth + 1));
    // Restores the depth also if the helper unwinds (it should not: jobs run under
    // `run_job`, which catches their panics).
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = HELP_DEPTH.try_with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(depth);
    helper.help_one()
}

/// `true` when the calling thread can help (it is a worker of some pool).
pub fn in_worker() -> bool {
    current_pool().is_some()
}

// The job `run_job` runs on this thread now (its address, see `job_address`; 0: none), and
// what to run once its end is counted (`after_counted`). A stack: a job that helps while it
// waits runs other jobs through `run_job` on top of its own.
#[cfg(not(shoal_loom))]
thread_local! {
    static RUNNING: Cell<usize> = const { Cell::new(0) };
    static AFTER_COUNTED: RefCell<Vec<Box<dyn FnOnce()>>> = const { RefCell::new(Vec::new()) };
}

#[cfg(shoal_loom)]
thread_local! {
    static RUNNING: Cell<usize> = Cell::new(0);
    static AFTER_COUNTED: RefCell<Vec<Box<dyn FnOnce()>>> = RefCell::new(Vec::new());
}

/// The identity of a job: the address of its closure. Unique among the jobs alive at one
/// time (a job's box lives until it has run), and never dereferenced.
pub fn job_address(job: &Job) -> usize {
    crate::job::address_of(job)
}

/// The [`job_address`] of the job that [`run_job`] runs on the calling thread now (the
/// innermost one, when a waiting job helps), or 0.
pub fn running_job() -> usize {
    RUNNING.try_with(Cell::get).unwrap_or(0)
}

/// Runs `f` right after the pool has counted the end of the job at address `job` in its
/// metrics, when the calling thread runs that job under [`run_job`] now (it is the
/// [`running_job`]); otherwise runs `f` at once.
///
/// A job's last act happens before the pool counts it as completed: whoever sees that act
/// (its result, say) could still read the job as running in `metrics()`. A job that hands
/// its end over through here is counted first. The map's jobs do, so that once a `map`
/// iterator is exhausted, none of its jobs still shows as running.
///
/// Only for the job itself: `f` runs on the pool's worker after the job has returned, so it
/// must be short and must not block; a panic in it is caught and dropped.
pub fn after_counted(job: usize, f: impl FnOnce() + 'static) {
    if job == 0 || running_job() != job {
        f();
        return;
    }
    let mut f = Some(f);
    let _ = AFTER_COUNTED.try_with(|a| {
        if let Some(f) = f.take() {
            a.borrow_mut().push(Box::new(f));
        }
    });
    // The thread is being torn down: no `run_job` frame can run it later.
    if let Some(f) = f {
        f();
    }
}

/// Runs `job` as the last act of the job at address `outer`: for executors that wrap each
/// job in one of their own (bookkeeping before and after it, as a rate limiter does) and
/// hand the wrapper to another pool. When `outer` is the [`running_job`], `job` counts as
/// the running job while it runs, so what it hands to [`after_counted`] runs after the pool
/// has counted `outer`, that is after the wrapper's own bookkeeping too. Otherwise it just
/// runs `job`.
pub fn run_wrapped(outer: usize, job: Job) {
    if outer == 0 || running_job() != outer {
        job();
        return;
    }
    /// Puts the wrapper back as the running job, also when `job` unwinds.
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = RUNNING.try_with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(outer);
    let _ = RUNNING.try_with(|r| r.set(job_address(&job)));
    job();
}

/// How a job taken off a queue ended; see [`run_job`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    /// The job returned normally.
    Completed,
    /// The job panicked.
    Panicked,
    /// Its handle had cancelled it while it was queued
    /// ([`JoinHandle::cancel`](crate::JoinHandle::cancel)): the entry was empty, nothing ran.
    Cancelled,
}

/// Runs `job` the way every shoal worker does: counts it as started, then completed or
/// panicked, catches its panic so the worker survives, and shows the payload to `handler`
/// (whose own panic is caught too). A job whose handle cancelled it while it was queued runs
/// nothing and is counted as cancelled instead (never as started). Then it runs what the job
/// handed to [`after_counted`]. Returns how it ended.
#[inline]
pub fn run_job(job: impl Into<Task>, counters: &Counters, handler: Option<&PanicHandler>) -> Ran {
    let task = job.into();
    let address = task.address();
    let outer = RUNNING.try_with(|r| r.replace(address)).ok();
    // Only a job with an address can hand anything to `after_counted` (a closure stored in
    // place has none, so nothing is queued for it): the others skip that stack.
    let mark = if address != 0 {
        AFTER_COUNTED.try_with(|a| a.borrow().len()).ok()
    } else {
        None
    };
    let counts = counters.local();
    counts.add(Event::Started, 1);
    let ran = match catch_unwind(AssertUnwindSafe(|| task.run())) {
        Ok(()) if crate::claim::take_skipped() => {
            // The entry of a cancelled job: it never started after all.
            counts.retract(Event::Started, 1);
            counts.add(Event::Cancelled, 1);
            Ran::Cancelled
        }
        Ok(()) => {
            counts.add(Event::Completed, 1);
            Ran::Completed
        }
        Err(payload) => {
            counts.add(Event::Panicked, 1);
            if let Some(handler) = handler {
                // The handler's own panic is caught, and its payload dropped quietly too: a
                // payload whose destructor panics must not unwind into the worker either.
                if let Err(handler_panic) =
                    catch_unwind(AssertUnwindSafe(|| handler(payload.as_ref())))
                {
                    drop_quietly(handler_panic);
                }
            }
            drop_quietly(payload);
            Ran::Panicked
        }
    };
    if let Some(outer) = outer {
        let _ = RUNNING.try_with(|r| r.set(outer));
    }
    if let Some(mark) = mark {
        run_after_counted(mark);
    }
    ran
}

/// Runs what the job that just ended (not an outer one) handed to [`after_counted`]: the
/// entries above `mark`. One at a time, without holding the borrow while each runs.
fn run_after_counted(mark: usize) {
    while let Some(f) = AFTER_COUNTED
        .try_with(|a| {
            let mut a = a.borrow_mut();
            if a.len() > mark {
                a.pop()
            } else {
                None
            }
        })
        .ok()
        .flatten()
    {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
            drop_quietly(panic);
        }
    }
}

/// Drops a queued job unrun during a shutdown, counting it as cancelled. The job's captured
/// completion (if it came from `spawn`) reports [`TaskError::Cancelled`](crate::TaskError) to
/// its handle. A panicking destructor is caught.
pub fn cancel_job(job: impl Into<Task>, counters: &Counters) {
    counters.add(Event::Cancelled, 1);
    drop_quietly(job.into());
}
