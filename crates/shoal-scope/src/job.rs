//! Jobs without boxes: what a worker queues for the halves of `join` and for scope tasks.
//!
//! A [`JobRef`] is two words: a pointer to the job and the function that runs it. The job for
//! the second half of `join` is a [`StackJob`] on the joining thread's stack; no heap
//! allocation happens per join. Scope tasks outlive the `spawn` call, so they are
//! [`HeapJob`]s (one `Box` each). Jobs submitted through [`Executor`](shoal_core::Executor)
//! are ordinary boxed [`Job`](shoal_core::Job)s and travel in their own queue.
//!
//! Internal jobs never unwind into the worker that runs them: a `StackJob` stores its panic
//! for the owner to resume, a scope task hands it to its scope. [`JobRef::execute`] enforces
//! it: an unwind out of an internal job would skip the latch or count its owner waits for, so
//! it stops the process with a message instead (see `shoal_core::unwind`).

use std::cell::UnsafeCell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::panic::{self, AssertUnwindSafe};

use shoal_core::unwind::{drop_quietly, AbortOnUnwind};

use crate::latch::Latch;

/// A type-erased pointer to a job and the function that runs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JobRef {
    pointer: *const (),
    execute_fn: unsafe fn(*const ()),
}

// SAFETY: a JobRef is handed to another thread only for jobs whose closures are Send, and the
// job it points at stays alive until it has run (the owner of a StackJob waits on its latch;
// a HeapJob owns itself). See the constructors.
unsafe impl Send for JobRef {}

/// Two JobRefs are the same job when they point at the same place.
impl PartialEq for JobRef {
    fn eq(&self, other: &JobRef) -> bool {
        self.pointer == other.pointer
    }
}

impl JobRef {
    /// Runs the job.
    ///
    /// # Safety
    /// Each JobRef runs at most once, while the job it points to is alive.
    #[inline]
    pub(crate) unsafe fn execute(self) {
        let guard = AbortOnUnwind::new("an internal job of a shoal-scope pool unwound");
        // SAFETY: forwarded to the caller.
        unsafe { (self.execute_fn)(self.pointer) };
        guard.disarm();
    }
}

/// A job on the stack of the thread that waits for it (the second half of `join`, or the
/// closure an outside thread `install`s).
///
/// `result` is written only when another thread runs the job (then the owner reads it after
/// the latch); a job the owner runs inline never touches it, so the common path pays neither
/// for initialising it nor for dropping it.
pub(crate) struct StackJob<F, R> {
    pub(crate) latch: Latch,
    /// Taken exactly once: run by a thief, run inline by the owner, or dropped unrun by the
    /// owner's unwind guard (a `ManuallyDrop`, so the common path stores no "taken" flag).
    func: UnsafeCell<ManuallyDrop<F>>,
    result: UnsafeCell<MaybeUninit<std::thread::Result<R>>>,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    #[inline]
    pub(crate) fn new(func: F, latch: Latch) -> StackJob<F, R> {
        StackJob {
            latch,
            func: UnsafeCell::new(ManuallyDrop::new(func)),
            result: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// A reference another thread may run.
    ///
    /// # Safety
    /// The job must stay where it is and alive until the JobRef has been executed (and its
    /// latch set) or has been taken back unrun by the owner.
    #[inline]
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        JobRef {
            pointer: self as *const Self as *const (),
            execute_fn: Self::execute,
        }
    }

    /// Runs the closure on another thread: stores its value or panic, then sets the latch.
    ///
    /// # Safety
    /// `this` comes from `as_job_ref` on a live job that has not run yet.
    unsafe fn execute(this: *const ()) {
        // SAFETY: per the contract, `this` is a live StackJob<F, R> nobody else touches now
        // (the owner only reads `result` after the latch is set).
        let job = unsafe { &*(this as *const Self) };
        // SAFETY: a JobRef is executed once, and the owner neither runs nor drops `func`
        // once it offered the job (`pop` said so), so this is the one take.
        let func = unsafe { ManuallyDrop::take(&mut *job.func.get()) };
        let result = panic::catch_unwind(AssertUnwindSafe(func));
        // SAFETY: as above; the owner reads it only after seeing the latch set below.
        unsafe { (*job.result.get()).write(result) };
        // SAFETY: the latch is live and unset; we do not touch `job` after this.
        unsafe { Latch::set(&job.latch) };
    }

    /// The owner took the job back unrun: run it here, as a plain call.
    ///
    /// # Safety
    /// Only the owner, at most once, and only for a job no other thread can reach (never
    /// offered, or refused by the pool); not after `drop_unrun`.
    #[inline]
    pub(crate) unsafe fn run_inline(&self) -> R {
        // SAFETY: per the contract this is the one take of `func`.
        let func = unsafe { ManuallyDrop::take(&mut *self.func.get()) };
        func()
    }

    /// The owner took the job back but will not run it (its other half panicked).
    ///
    /// # Safety
    /// As for `run_inline`: the one take of `func`, by the owner, of a job nobody else can
    /// reach.
    pub(crate) unsafe fn drop_unrun(&self) {
        // SAFETY: per the contract this is the one take of `func`.
        let func = unsafe { ManuallyDrop::take(&mut *self.func.get()) };
        drop_quietly(func);
    }

    /// The owner saw the latch set: the value, or the job's panic resumed.
    ///
    /// # Safety
    /// The latch is set (another thread ran the job through its JobRef, which wrote the
    /// result before setting it).
    pub(crate) unsafe fn into_result(self) -> R {
        debug_assert!(self.latch.probe(), "the result is read after the latch");
        // SAFETY: per the contract the latch is set, so `execute` wrote the result (and its
        // Release swap made the write visible to the owner's Acquire probe); we read it once,
        // consuming the job.
        match unsafe { self.result.into_inner().assume_init() } {
            Ok(value) => value,
            Err(payload) => panic::resume_unwind(payload),
        }
    }

    /// The owner saw the latch set but unwinds: drop the value or payload the runner left,
    /// quietly (a payload's destructor may panic, and the owner is unwinding already).
    ///
    /// # Safety
    /// As for `into_result`: the latch is set. The job is not read again afterwards.
    pub(crate) unsafe fn discard_result(&self) {
        debug_assert!(self.latch.probe(), "the result is dropped after the latch");
        // SAFETY: as in `into_result`, and the caller reads the job no more.
        let result = unsafe { (*self.result.get()).assume_init_read() };
        drop_quietly(result);
    }
}

/// A job on the heap that owns itself: a scope task.
pub(crate) struct HeapJob<F> {
    func: F,
}

impl<F: FnOnce() + Send> HeapJob<F> {
    /// Boxes `func` and leaks it into a JobRef; running the JobRef frees it.
    ///
    /// # Safety
    /// Everything `func` borrows must outlive the run of the JobRef (the scope waits for it),
    /// and the JobRef must be executed exactly once (a leaked one leaks the box).
    pub(crate) unsafe fn into_job_ref(func: F) -> JobRef {
        let pointer = Box::into_raw(Box::new(HeapJob { func }));
        JobRef {
            pointer: pointer as *const (),
            execute_fn: Self::execute,
        }
    }

    /// # Safety
    /// `this` comes from `into_job_ref` and runs once.
    unsafe fn execute(this: *const ()) {
        // SAFETY: `this` is the box leaked by `into_job_ref`, executed once.
        let job = unsafe { Box::from_raw(this as *mut Self) };
        (job.func)();
    }
}
