//! The worker: its private stack of join halves, how it offers work, and its loop.
//!
//! ## The local stack (no atomics on the fast path)
//! Every `join(a, b)` pushes a [`JobRef`] for `b` on the worker's **private** stack, a plain
//! `Vec` no other thread reads, runs `a`, and pops `b` back. The stack's bottom part,
//! `jobs[..shared]`, holds jobs already *offered*: copied into the pool's injector because
//! some thread was hungry. Offering always takes the oldest unoffered job (the bottom one, the
//! biggest piece of work left), so the offered jobs are always a prefix of the stack. Hence,
//! when `join` pops `b`:
//!
//! ```text
//!   jobs: [ j0  j1 | j2  j3  b ]        pop -> len 4 >= shared 2: b is still ours, run it inline
//!           shared ^
//!   jobs: [ j0  j1  j2  j3  b |]        pop -> len 4 <  shared 5: b was offered; wait on its latch
//! ```
//!
//! The cost of a join nobody wants to help with: a TLS read, a `Vec` push and pop, one
//! `Relaxed` load of the pool's `demand` counter, and a compare. No fence, no CAS, no lock.
//!
//! ## The loop
//! ```text
//! loop:
//!   0. run the broadcast jobs in my mailbox, if any (one load when there are none)
//!   1. search: take a job (internal first); none -> tell `wait_idle` callers the pool may
//!      be idle, demand += 1, spin, sleep until work / shutdown / resize / mail; demand -= 1
//!   2. got a job: run it; retire (exit) if my index is at or above the pool's target
//!   3. woken by shutdown: take once more, exit when nothing is queued
//!   4. woken by resize: retire (exit) if my index is at or above the target
//! ```

use std::cell::{Cell, UnsafeCell};
use std::io;
use std::ptr;

use shoal_core::deque::{Local, Siblings};
use shoal_core::sleep::Spin;
use shoal_core::sync::atomic::Ordering;
use shoal_core::sync::{thread, thread_local, Arc};
use shoal_core::worker::{self as core_worker, Helper};

use crate::job::JobRef;
use crate::latch::{Latch, Parker};
use crate::registry::Registry;

#[cfg(not(shoal_loom))]
thread_local! {
    static WORKER: Cell<*const WorkerThread> = const { Cell::new(ptr::null()) };
    static PARKER: Arc<Parker> = Arc::new(Parker::new());
}

// loom's `thread_local!` takes no `const` initializer.
#[cfg(shoal_loom)]
thread_local! {
    static WORKER: Cell<*const WorkerThread> = Cell::new(ptr::null());
    static PARKER: Arc<Parker> = Arc::new(Parker::new());
}

/// The parker of the calling thread, for waits outside any worker.
pub(crate) fn current_parker() -> Arc<Parker> {
    PARKER.with(Arc::clone)
}

struct LocalStack {
    jobs: Vec<JobRef>,
    /// `jobs[..shared]` were offered to the injector.
    shared: usize,
}

/// A worker's deque of `Executor` jobs it submitted itself, and its view of its siblings'.
pub(crate) struct OwnDeque {
    pub(crate) local: Local,
    /// Its key in the registry's stealer list and its copy of the list.
    pub(crate) siblings: Siblings,
}

impl OwnDeque {
    /// A new deque, listed among `registry`'s stealers.
    fn listed(registry: &Registry) -> OwnDeque {
        let local = Local::new();
        let id = registry.stealers.add(local.stealer());
        OwnDeque {
            local,
            siblings: Siblings::new(&registry.stealers, id),
        }
    }
}

/// A thread working for a pool: a worker, or an outside thread the pool borrowed for a call.
pub(crate) struct WorkerThread {
    pub(crate) registry: Arc<Registry>,
    pub(crate) parker: Arc<Parker>,
    /// How long this thread's next search spins (see `Registry::search`).
    pub(crate) spin: Spin,
    /// Only this thread touches it (it is reachable only through this thread's `WORKER`
    /// pointer and references on this thread's stack).
    local: UnsafeCell<LocalStack>,
    /// A worker of a pool with an unbounded queue keeps the `Executor` jobs it submits here;
    /// a borrowed thread (and a worker of a bounded pool) sends them to the shared queue.
    pub(crate) deque: Option<OwnDeque>,
}

impl Drop for WorkerThread {
    /// Takes the deque off the stealer list. The worker leaves it empty (it drains it, or
    /// moves it to the shared queue when it retires); should a bug leave a job, it is
    /// cancelled and counted, not lost silently.
    fn drop(&mut self) {
        if let Some(deque) = &self.deque {
            self.registry.stealers.remove(deque.siblings.id());
            debug_assert!(
                std::thread::panicking() || deque.local.is_empty(),
                "a worker exited with queued jobs"
            );
            deque.local.cancel_all(&self.registry.counters);
        }
    }
}

impl WorkerThread {
    /// The calling thread's worker state, or null outside every pool.
    #[inline]
    pub(crate) fn current() -> *const WorkerThread {
        WORKER.with(Cell::get)
    }

    /// Runs `f` with the calling thread registered as a borrowed thread of `registry` (and
    /// with `shoal_core::worker`, so waits on handles inside it help this pool).
    pub(crate) fn enter<R>(registry: &Arc<Registry>, f: impl FnOnce(&WorkerThread) -> R) -> R {
        Self::enter_with(registry, None, f)
    }

    /// [`enter`](Self::enter) for one of the pool's own workers, with a deque of its own when
    /// the pool's queue is unbounded.
    fn enter_worker<R>(registry: &Arc<Registry>, f: impl FnOnce(&WorkerThread) -> R) -> R {
        let deque = registry.local_deques.then(|| OwnDeque::listed(registry));
        Self::enter_with(registry, deque, f)
    }

    fn enter_with<R>(
        registry: &Arc<Registry>,
        deque: Option<OwnDeque>,
        f: impl FnOnce(&WorkerThread) -> R,
    ) -> R {
        struct Restore(*const WorkerThread);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.0;
                // try_with: the guard may drop while thread locals are torn down.
                let _ = WORKER.try_with(|w| w.set(previous));
            }
        }
        let worker = WorkerThread {
            registry: registry.clone(),
            parker: Arc::new(Parker::new()),
            spin: Spin::new(),
            local: UnsafeCell::new(LocalStack {
                jobs: Vec::with_capacity(64),
                shared: 0,
            }),
            deque,
        };
        let _core = core_worker::enter(
            registry.id(),
            std::sync::Arc::new(ScopeHelper(registry.clone())),
        );
        let _restore = Restore(WORKER.with(|w| w.replace(&worker)));
        f(&worker)
    }

    /// Pushes the job for the second half of a join; offers the oldest job if someone is
    /// hungry.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        {
            // SAFETY: only this thread touches `local` (see the field), and no other borrow
            // of it is live: every borrow ends inside the method that made it.
            let local = unsafe { &mut *self.local.get() };
            local.jobs.push(job);
        }
        if self.hungry() {
            self.offer();
        }
    }

    /// `true` when some thread of the pool is looking for work and none is queued for it.
    #[inline]
    pub(crate) fn hungry(&self) -> bool {
        // ORDERING: Relaxed: `demand` is a hint (see `registry`); a stale value only delays
        // or adds one offer.
        self.registry.demand.load(Ordering::Relaxed) > 0
    }

    /// Offers the oldest job not yet offered, if there is one.
    #[cold]
    pub(crate) fn offer(&self) {
        let job = {
            // SAFETY: as in `push`.
            let local = unsafe { &mut *self.local.get() };
            if local.shared == local.jobs.len() {
                return;
            }
            local.shared += 1;
            local.jobs[local.shared - 1]
        };
        self.registry.inject(job);
    }

    /// Pops `job` (the top of the stack) back. `true`: it was never offered, run it here.
    /// `false`: it was offered; someone may be running it, wait on its latch.
    #[inline]
    pub(crate) fn pop(&self, job: JobRef) -> bool {
        // SAFETY: as in `push`.
        let local = unsafe { &mut *self.local.get() };
        let top = local.jobs.pop();
        debug_assert_eq!(top, Some(job), "join halves pop in stack order");
        let len = local.jobs.len();
        if len >= local.shared {
            true
        } else {
            local.shared = len;
            false
        }
    }

    /// Helps the pool until `latch` (owned by this thread's parker) is set.
    #[inline]
    pub(crate) fn wait_until(&self, latch: &Latch) {
        if !latch.probe() {
            self.registry.wait_until(latch, self);
        }
    }

    /// Leaves the pool if worker `index` is to retire (a shrink), moving the jobs on our deque
    /// to the shared queue first. `false`: we stay (no shrink pending, or shutdown began: then
    /// we stay and drain).
    #[inline]
    pub(crate) fn try_retire(&self, index: usize) -> bool {
        let registry = &*self.registry;
        // One load when no shrink is pending (after every job).
        if !registry.life.must_retire(index) {
            return false;
        }
        self.retire(index)
    }

    /// [`try_retire`](Self::try_retire) once a shrink is pending.
    #[cold]
    fn retire(&self, index: usize) -> bool {
        let registry = &*self.registry;
        let Some(deque) = self.deque.as_ref().filter(|d| !d.local.is_empty()) else {
            // Nothing of ours to move (only we push to our deque).
            return registry.life.try_retire(index);
        };
        let moved = registry
            .external
            .requeue(|| registry.life.try_retire(index), || deque.local.pop());
        if moved {
            // We are their submitter now: wake a sleeper if nobody searches.
            registry.sleep.notify_one();
        }
        moved
    }
}

/// Lets a thread that waits on a `shoal_core` handle inside one of our workers run our jobs.
struct ScopeHelper(Arc<Registry>);

impl Helper for ScopeHelper {
    fn help_one(&self) -> bool {
        let current = WorkerThread::current();
        // SAFETY: a non-null current worker is alive on this thread's stack.
        let me = unsafe { current.as_ref() }.filter(|w| Arc::ptr_eq(&w.registry, &self.0));
        match self.0.take(me) {
            Some(work) => {
                self.0.run(work);
                true
            }
            None => false,
        }
    }
}

/// Starts worker number `index`. Every worker thread of the pool is started here.
pub(crate) fn spawn_worker(
    registry: Arc<Registry>,
    index: usize,
) -> io::Result<thread::JoinHandle<()>> {
    let for_thread = registry.clone();
    registry
        .config
        .spawn("shoal-scope", index, move || main_loop(for_thread, index))
}

fn main_loop(registry: Arc<Registry>, index: usize) {
    // Reports the exit however the loop ends (an unwind included), so shutdown never waits
    // for a worker that is gone. Creating it runs the start hook.
    let _exit = registry.life.exit_guard(&*registry, index);
    WorkerThread::enter_worker(&registry, |worker| {
        let stop =
            || registry.is_closed() || registry.life.must_retire(index) || registry.life.has_mail();
        // The first search takes over the count `start_worker` made for this worker.
        let mut counted = true;
        loop {
            registry.life.run_mail();
            // The fast path: the job we spawned last, run straight from our deque (a job that
            // spawns its successor puts it there).
            if !counted && registry.run_own(worker) {
                shoal_core::lifecycle::faults::fault_point();
                if worker.try_retire(index) {
                    break;
                }
                continue;
            }
            let found = registry.search(worker, None, &stop, counted);
            counted = false;
            match found {
                Some(work) => {
                    registry.run(work);
                    shoal_core::lifecycle::faults::fault_point();
                    if worker.try_retire(index) {
                        break;
                    }
                }
                None if registry.is_closed() => {
                    // Everything pushed before the close is visible now (see `is_closed`),
                    // and our own deque only we fill.
                    match registry.take(Some(worker)) {
                        Some(work) => registry.run(work),
                        None => break,
                    }
                }
                None => {
                    if worker.try_retire(index) {
                        break;
                    }
                }
            }
        }
    });
}
