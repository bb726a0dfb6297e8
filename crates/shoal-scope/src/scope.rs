//! `fork_scope`: any number of tasks that borrow from the caller's stack, as lean as a join:
//! no handle, no result slot, never cancelled.
//!
//! ```text
//!  owner (a worker)                       other workers
//!  ────────────────                       ─────────────
//!  fork_scope(|s| {               pending = 1 (the body)
//!     s.spawn(t1)  ──inject──▶ pending = 2 ─────▶ run t1:
//!     s.spawn(t2)  ──inject──▶ pending = 3           s.spawn(t3) ──▶ pending = 4
//!     ...                                         t1 ends: pending = 3
//!  })  body ends:              pending = 2
//!  wait_until(latch): run t2 here (help)          run t3
//!                              pending = 1        t3 ends: pending = 0 -> set latch
//!  latch set: every task has ended; resume the first panic, if any; return the body's value
//! ```
//!
//! A task is a [`HeapJob`] in the injector. It catches its own panic
//! (the first payload is kept for the owner; later ones are dropped quietly, since their
//! destructors may panic too) and a drop guard decrements `pending` as its very last touch of
//! the scope, however the task ends; the decrement to zero sets the latch. The owner returns
//! only after it saw the latch set, also when the body panicked, and its wait cannot unwind
//! (an `AbortOnUnwind` makes sure): so no task outlives the data it borrows.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

use shoal_core::sync::atomic::{AtomicUsize, Ordering};
use shoal_core::sync::{lock, Arc, Mutex};
use shoal_core::unwind::{drop_quietly, AbortOnUnwind};

use crate::job::HeapJob;
use crate::latch::Latch;
use crate::registry::Registry;
use crate::worker::WorkerThread;

/// A scope in which tasks may borrow anything that outlives `'scope`; see
/// [`ScopedPool::fork_scope`](crate::ScopedPool::fork_scope).
pub struct ForkScope<'scope> {
    registry: Arc<Registry>,
    /// The body plus the tasks that have not ended.
    pending: AtomicUsize,
    latch: Latch,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Invariant in `'scope` (a `fn` that takes and returns it): tasks may neither shorten nor
    /// lengthen it.
    marker: PhantomData<fn(&'scope ()) -> &'scope ()>,
}

impl fmt::Debug for ForkScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForkScope")
            // ORDERING: a snapshot for display only.
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A scope pointer a task carries to another thread. Dropping it returns the task's count:
/// the guard that keeps an unwind from skipping the count.
struct ScopePtr<'scope>(*const ForkScope<'scope>);

// SAFETY: `ForkScope` is Sync (its fields are), so sharing a pointer to it across threads is as
// safe as sharing `&ForkScope`; the scope outlives every task (module docs).
unsafe impl Send for ScopePtr<'_> {}

impl Drop for ScopePtr<'_> {
    fn drop(&mut self) {
        // SAFETY: a ScopePtr is made for one task, which holds one count until this drop;
        // the scope is live until that count is returned, and nothing touches the scope
        // after this call (the task drops its pointer last).
        unsafe { ForkScope::complete_one(self.0) };
    }
}

impl<'scope> ForkScope<'scope> {
    fn new(worker: &WorkerThread) -> ForkScope<'scope> {
        ForkScope {
            registry: worker.registry.clone(),
            pending: AtomicUsize::new(1),
            latch: Latch::new(&worker.parker),
            panic: Mutex::new(None),
            marker: PhantomData,
        }
    }

    /// Starts a task that may borrow anything outliving `'scope`. It runs on some worker of
    /// the pool; the scope does not return before it (and every task it spawns) has ended.
    /// A panic in the task is caught; the scope resumes the first one after all tasks ended.
    pub fn spawn<BODY>(&self, body: BODY)
    where
        BODY: FnOnce(&ForkScope<'scope>) + Send + 'scope,
    {
        // ORDERING: Relaxed: the caller holds a count of its own (the body or a running
        // task), so `pending` cannot reach zero meanwhile; the AcqRel decrements order the
        // tasks' effects before the owner's return.
        self.pending.fetch_add(1, Ordering::Relaxed);
        let scope = ScopePtr(self);
        let task = move || {
            // Declared first, so dropped last: returns the count after everything else.
            let scope = scope;
            // SAFETY: the scope waits until `pending` is zero, and this task's decrement is
            // the drop of `scope`, after its last use.
            let this = unsafe { &*scope.0 };
            // `body` is consumed inside the catch, so its captures drop (and may panic) there.
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| body(this))) {
                this.record_panic(payload);
            }
        };
        // SAFETY: the task borrows data living for `'scope`, and the scope returns only after
        // the task ran (the pending count). It runs exactly once: internal jobs are never
        // dropped unrun (a shutdown cancels external jobs only, and the owner itself runs
        // queued jobs while it waits).
        let job = unsafe { HeapJob::into_job_ref(task) };
        self.registry.inject(job);
    }

    /// Keeps the first panic for the owner; drops later ones quietly (their destructors may
    /// panic, and a task must not unwind).
    fn record_panic(&self, payload: Box<dyn Any + Send>) {
        let later = {
            let mut first = lock(&self.panic);
            match *first {
                None => {
                    *first = Some(payload);
                    None
                }
                Some(_) => Some(payload),
            }
        };
        drop_quietly(later);
    }

    /// Returns one count; the last one sets the latch.
    ///
    /// # Safety
    /// `this` is a live scope and the caller holds a count. The scope may be freed as soon
    /// as the count is returned, so the caller must not touch it afterwards.
    unsafe fn complete_one(this: *const ForkScope<'scope>) {
        // SAFETY: live per the contract.
        // ORDERING: AcqRel: Release publishes this task's effects; Acquire on the last
        // decrement collects every other task's before the latch (Release) hands them to the
        // owner.
        if unsafe { (*this).pending.fetch_sub(1, Ordering::AcqRel) } == 1 {
            // SAFETY: the owner waits for this latch, so it is live and unset.
            unsafe { Latch::set(&(*this).latch) };
        }
    }
}

/// Runs a scope on the calling worker: the body, then help until every task ended.
pub(crate) fn scope_in_worker<'scope, OP, R>(worker: &WorkerThread, op: OP) -> R
where
    OP: FnOnce(&ForkScope<'scope>) -> R,
{
    let scope = ForkScope::new(worker);
    let value = match panic::catch_unwind(AssertUnwindSafe(|| op(&scope))) {
        Ok(value) => Some(value),
        Err(payload) => {
            // In time order with the tasks' panics: the first one wins.
            scope.record_panic(payload);
            None
        }
    };
    // SAFETY: the body's count; we touch only the latch and the panic slot afterwards, and
    // both live in this frame, which outlives the wait below.
    unsafe { ForkScope::complete_one(&scope) };
    // The wait runs only jobs that cannot unwind (see `crate::job`); if one ever did, this
    // frame would die while tasks still borrow it: stop the process instead.
    AbortOnUnwind::run(
        "a scope waits for its tasks, which borrow its stack",
        || worker.wait_until(&scope.latch),
    );
    let first = lock(&scope.panic).take();
    if let Some(payload) = first {
        // The body's value, if any, goes quietly: it must not panic over the resumed panic.
        drop_quietly(value);
        panic::resume_unwind(payload);
    }
    value.expect("a body that panicked recorded its panic")
}
