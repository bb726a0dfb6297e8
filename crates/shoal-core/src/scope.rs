//! Borrowing scopes over any executor: [`ExecutorExt::scope`](crate::ExecutorExt::scope).
//!
//! A scope lets tasks borrow from the caller's stack although the executor only runs
//! `'static` [`Job`]s. The trick is the one `std::thread::scope` uses: the scope does not
//! return before every task it started has ended, so nothing a task borrows can die while
//! the task may still touch it.
//!
//! Each task is one heap node (`Node`: closure, outcome, claim, reference count; the untyped
//! part and its protocol are in `scope_task.rs`). What reaches the executor, when anything
//! does, is a small carrier job holding a reference to the node; whoever claims the node
//! first runs it (a worker through the carrier, the spawning thread when it drains its held
//! tasks, or the handle's `join`). While a worker's last handed-out task waits untaken, its
//! next ones are not handed out at all, and once it was taken the next hand-out is the oldest
//! task the worker holds: so most tasks of a recursive tree cost one node (from the thread's
//! spares), no lock and no job, and run depth-first where they were spawned, while idle workers
//! get the big pieces. The scope counts only the tasks handed to the executor (`pending`, an
//! atomic); its failures list is touched only on failure.
//!
//! The timeline of a scope is on [`Scope`].

use std::alloc::Layout;
use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::error::{panic_message, TaskError};
use crate::executor::Executor;
#[cfg(doc)]
use crate::job::Job;
use crate::scope_task::{self, Action, Frame, Header, Place, TaskRef, COUNTED, DETACHED, DONE};
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::thread::{self, Thread};
use crate::sync::{lock, Mutex};
use crate::unwind::{drop_quietly, try_drop, AbortOnUnwind};

/// The message a scope panics with when a task was dropped unrun and nobody joined it.
pub const CANCELLED_TASK_MESSAGE: &str =
    "a scope task was cancelled before it ran: the executor shut down (Shutdown::Now or a \
     passed deadline) and dropped it";

/// A scope's failures in time order; `None` where a handle took its own.
type Failures = Vec<Option<Box<dyn Any + Send>>>;

/// What the tasks of a scope report back to it.
struct ScopeState {
    /// 1 (the scope's own, returned once its body ended and its held tasks are settled) plus
    /// the tasks handed to the executor that have not ended.
    pending: AtomicUsize,
    /// Set by the task that brings `pending` to 0; the scope's thread waits for it.
    done: AtomicBool,
    /// The scope's thread, stored before it returns its own count, when it has to wait; taken
    /// again before the scope ends, so it is `None` when the state is dropped.
    owner: ManuallyDrop<Mutex<Option<Thread>>>,
    /// Failures in the order they happened; a handle that observes its own takes it (`None`).
    failures: ManuallyDrop<Mutex<Failures>>,
    /// Set once `failures` is not empty, so a scope without failures never locks it.
    failed: AtomicBool,
}

impl ScopeState {
    fn new() -> ScopeState {
        ScopeState {
            pending: AtomicUsize::new(1),
            done: AtomicBool::new(false),
            owner: ManuallyDrop::new(Mutex::new(None)),
            failures: ManuallyDrop::new(Mutex::new(Vec::new())),
            failed: AtomicBool::new(false),
        }
    }
}

impl Drop for ScopeState {
    /// A scope that nothing failed in holds nothing to drop (an empty `Vec` owns no memory,
    /// `owner` is `None` again), so the common case skips both fields' drop glue, a few
    /// nanoseconds of a scope that may last only a few dozen.
    #[inline]
    fn drop(&mut self) {
        // ORDERING: Relaxed: the scope's own thread, after every task ended.
        if cfg!(any(shoal_loom, shoal_shuttle)) || self.failed.load(Ordering::Relaxed) {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.failures) };
        }
        if cfg!(any(shoal_loom, shoal_shuttle)) {
            // SAFETY: as above.
            unsafe { ManuallyDrop::drop(&mut self.owner) };
        } else {
            debug_assert!(lock(&self.owner).is_none(), "the owner is taken back");
        }
    }
}

impl ScopeState {
    fn record_failure(&self, payload: Box<dyn Any + Send>) -> usize {
        let mut failures = lock(&self.failures);
        failures.push(Some(payload));
        // ORDERING: Relaxed: the scope's thread reads it after every task ended (it
        // synchronized with them through `pending` and the tasks' `DONE`), or on its own
        // thread for the body's panic.
        self.failed.store(true, Ordering::Relaxed);
        failures.len() - 1
    }

    /// A counted task ended: the last touch of the scope by that task.
    fn task_ended(&self) {
        // ORDERING: AcqRel: Release hands everything the task did to the scope's thread
        // (its Acquire load or RMW of `pending`); Acquire, for the task that reaches 0, sees
        // the owner's thread stored before the owner's own decrement.
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            let owner = lock(&self.owner).take();
            // ORDERING: Release pairs with the owner's Acquire load of `done`. After this
            // store the scope may be gone: only our own `Thread` handle is touched below.
            self.done.store(true, Ordering::Release);
            if let Some(owner) = owner {
                owner.unpark();
            }
        }
    }

    /// Waits, on the scope's thread, until every counted task ended.
    #[inline]
    fn wait_for_tasks(&self) {
        // ORDERING: Acquire pairs with the Release of each task's decrement.
        if self.pending.load(Ordering::Acquire) != 1 {
            self.wait_for_tasks_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn wait_for_tasks_slow(&self) {
        *lock(&self.owner) = Some(thread::current());
        // ORDERING: AcqRel: Release publishes `owner` to the task that reaches 0; Acquire
        // sees every task's effects when we are the one that reaches 0.
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // No task will take `owner` now: take it back.
            drop(lock(&self.owner).take());
            return;
        }
        // ORDERING: Acquire pairs with the Release store in `task_ended`.
        scope_task::block_until(|| self.done.load(Ordering::Acquire));
    }
}

/// A scope whose tasks may borrow anything that outlives `'env`; see
/// [`ExecutorExt::scope`](crate::ExecutorExt::scope).
///
/// The scope does not return before every task it started has ended, so nothing a task
/// borrows can die while the task may still touch it. A task is handed to
/// [`Executor::execute`] like any job, unless the spawning thread is a worker of the executor
/// whose last handed-out task still waits, untaken, in the executor's queue: then nobody needs
/// more work yet, and the task waits on the spawning thread's own stack. It runs when that
/// thread waits (a `join` of its handle, the end of the task or body that spawned it), newest
/// first, like the second half of a `join`, unless its handle is joined first, anywhere, or it
/// is handed out later: once the last hand-out was taken, the next spawn hands out the oldest
/// task the thread holds (the biggest piece of a recursive split) and holds the new one:
///
/// ```text
///  caller (a worker)                           other workers
///  ─────────────────                           ─────────────
///  exec.scope(|s| {
///     s.spawn(t1) ──execute───────────────────▶ (queued: untaken)
///     s.spawn(t2)   t1 untaken: held here
///     h = s.spawn(t4)  held here                t1 taken: runs ── s.spawn(t3) ──execute──▶
///     h.join()      t4 on top: runs here, a plain call
///     s.spawn(t5)   t1 was taken: t2, the oldest held, ──execute──▶ …
///                   is handed out instead; t5 held here
///  })  body ends (or panics: caught)
///  run what is still here (t5, and t2 unless a worker took it), newest first
///  wait until every handed-out task ended (inside a worker: run queued jobs meanwhile)
///  resume the first unobserved failure, if any; return the body's value
/// ```
///
/// So a recursive tree of tasks on a busy pool hands out about one task each time a worker
/// runs dry, the biggest one the spawner holds, and runs the rest depth-first where they were
/// spawned. The price: a task that was held runs
/// only when its spawner waits for it or ends, so a scope task or body inside a worker must
/// not wait for a task it spawned itself, other than through its handle or the end of the
/// scope (or the two may wait for each other until the spawner's wait gives up). Outside the
/// executor's workers every task is handed out.
///
/// ## Failures
/// - A task's panic is caught: its [`ScopedJoinHandle`] returns it as
///   `Err(TaskError::Panicked(payload))` (the original payload). When a worker of the
///   executor ran it through the executor, the executor sees a `String` copy of the message
///   (so its metrics and `panic_handler` count it, as for `spawn`); a task run where it was
///   spawned or joined is no job of the executor's, and its panic reaches the scope only.
/// - A panic nobody took through a handle is resumed by `scope` after every task ended; the
///   first one in time wins (the body's own panic counts, when it came first).
/// - **A task the executor refuses** (it is shutting down) **runs inline** on the thread that
///   called `spawn`, so a scope never loses work at submission. A task the executor accepted
///   and later *dropped unrun* (`Shutdown::Now`, or a passed deadline) is reported: its handle
///   returns `Err(TaskError::Cancelled)`, and if nobody joined that handle, `scope` panics
///   after every task ended with a message saying so, instead of returning as if the work
///   were done.
///
/// ## What the compiler checks
/// A task cannot borrow something that dies before the scope ends:
///
/// ```compile_fail
/// # fn demo(exec: &dyn shoal_core::Executor) {
/// use shoal_core::ExecutorExt;
/// exec.scope(|s| {
///     let local = 5;
///     s.spawn(|_| println!("{}", local)); // `local` dies at the end of the body
/// });
/// # }
/// ```
///
/// A task cannot capture a value that must stay on its thread:
///
/// ```compile_fail
/// # fn demo(exec: &dyn shoal_core::Executor) {
/// use shoal_core::ExecutorExt;
/// let rc = std::rc::Rc::new(1);
/// exec.scope(|s| {
///     s.spawn(move |_| drop(rc)); // Rc is not Send
/// });
/// # }
/// ```
///
/// A handle cannot leave its scope:
///
/// ```compile_fail
/// # fn demo(exec: &dyn shoal_core::Executor) {
/// use shoal_core::ExecutorExt;
/// let escaped = exec.scope(|s| s.spawn(|_| 1));
/// # }
/// ```
pub struct Scope<'scope, 'env: 'scope, E: ?Sized> {
    exec: &'scope E,
    state: ScopeState,
    /// Invariant in both lifetimes, like `std::thread::Scope`.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<E: ?Sized> fmt::Debug for Scope<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ORDERING: Relaxed: a snapshot for display.
        let pending = self.state.pending.load(Ordering::Relaxed).saturating_sub(1);
        f.debug_struct("Scope")
            .field("pending", &pending)
            .finish_non_exhaustive()
    }
}

/// Runs a scope on `exec`; the body of [`ExecutorExt::scope`](crate::ExecutorExt::scope).
pub(crate) fn scope<'env, E, F, R>(exec: &E, f: F) -> R
where
    E: Executor + ?Sized,
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, E>) -> R,
{
    let scope = Scope {
        exec,
        state: ScopeState::new(),
        scope: PhantomData,
        env: PhantomData,
    };
    let frame = Frame::enter(scope.id(), scope.inside_the_executor());
    let value = match catch_unwind(AssertUnwindSafe(|| f(&scope))) {
        Ok(value) => Some(value),
        Err(payload) => {
            // The body's panic takes its place in time order, after the failures so far.
            scope.state.record_failure(payload);
            None
        }
    };
    // Every task ends, whatever the body did: this wait is what makes the borrows sound.
    // First the tasks held on this thread run here, newest first; then the scope waits for
    // the ones handed to the executor. Nothing in it unwinds (tasks catch their panics;
    // helping runs jobs through `run_job`), and it must not: an unwind here would return while
    // tasks still borrow the caller's stack, so one (from a foreign `Helper`, say) stops the
    // process instead.
    AbortOnUnwind::run(
        "a scope waits for its tasks, which borrow its stack",
        || {
            frame.end();
            scope.state.wait_for_tasks();
        },
    );
    // Every task has ended. Resume the first failure nobody took through a handle; the later
    // ones go quietly (one at a time: each payload's destructor may panic).
    // ORDERING: Relaxed: see `record_failure`.
    if !scope.state.failed.load(Ordering::Relaxed) {
        return value.expect("a body that panicked left a failure to resume");
    }
    let failures = std::mem::take(&mut *lock(&scope.state.failures));
    let mut unobserved = failures.into_iter().flatten();
    if let Some(first) = unobserved.next() {
        unobserved.for_each(drop_quietly);
        resume_unwind(first);
    }
    value.expect("a body that panicked left a failure to resume")
}

impl<'scope, 'env, E> Scope<'scope, 'env, E>
where
    E: Executor + ?Sized,
{
    /// Starts a task. It may borrow anything that outlives the scope (`'env`), and gets the
    /// scope to spawn more tasks. Returns a handle to its value.
    ///
    /// Inside a busy worker of the executor the task is held on the calling thread (see
    /// [`Scope`]); otherwise it is handed to the executor. If the executor refuses it (it is
    /// shutting down), the task runs right here, on the calling thread, before `spawn`
    /// returns.
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce(&'scope Scope<'scope, 'env, E>) -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // A task pushed on this thread's stack is drained before this frame of the scope
        // ends; only then may it also stay off the executor. Held while this thread's last
        // hand-out waits untaken (see `untaken_offer`): that one is the work an idle worker
        // gets first.
        let (node, place, promote) =
            scope_task::place(self.id(), |place| Node::<E, F, T>::allocate(place, f, self));
        // The node was created with one reference for each of the handle, this thread's stack
        // unless `Outside` (pushed already), and the carrier and `offered` when handed out:
        // each `adopt` below takes one of them, once.
        // SAFETY: the handle's reference.
        let task = unsafe { TaskRef::adopt(node) };
        let handle = ScopedJoinHandle {
            task: ManuallyDrop::new(task),
            state: &self.state,
            value: PhantomData,
        };
        if place.handed_out() {
            // ORDERING: Relaxed, as `Arc::clone`: the scope's thread reads `pending` only
            // after it synchronized with whatever spawned this task (its own body, or a task
            // whose end it waits for).
            self.state.pending.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the node was made with the carrier's and `offered`'s references.
            unsafe { self.hand_out(node) };
        } else if let Some(oldest) = promote {
            scope_task::promote(oldest);
        }
        handle
    }

    /// Gives a counted task to the executor in a carrier, and remembers it as this thread's
    /// last hand-out. If the executor refuses it (it is shutting down), it runs here, so the
    /// scope loses no work.
    ///
    /// # Safety
    /// The caller gives two references to `node` (the carrier's and `offered`'s), and the
    /// task is counted in `pending`.
    unsafe fn hand_out(&self, node: NonNull<Header>) {
        // SAFETY: the carrier's reference.
        let task = unsafe { TaskRef::adopt(node) };
        let carrier = Carrier { task, ran: false };
        // SAFETY: `offered`'s reference.
        scope_task::offered(unsafe { TaskRef::adopt(node) });
        if let Err(rejected) = self.exec.execute(Box::new(move || carrier.run())) {
            // The task records its own panic; the message copy it resumes for the executor
            // is dropped.
            let job = rejected.into_job();
            if let Err(message) = catch_unwind(AssertUnwindSafe(job)) {
                drop_quietly(message);
            }
        }
    }

    /// `true` when the calling thread is a worker of the executor.
    fn inside_the_executor(&self) -> bool {
        self.exec
            .pool_id()
            .is_some_and(|id| crate::worker::is_worker_of(id.get()))
    }

    /// The scope's identity for the frames of `scope_task`: its address.
    fn id(&self) -> usize {
        (self as *const Self).cast::<()>() as usize
    }
}

/// How a task ended, kept in its node until its handle takes it.
enum Outcome<T> {
    Value(T),
    /// Panicked where nobody else could see it (run alone by its handle): the payload.
    Panicked(Box<dyn Any + Send>),
    /// Panicked or cancelled; the payload is `failures[index]` in the scope's state.
    Failed {
        index: usize,
        cancelled: bool,
    },
}

/// The part of a node its handle reads, whatever the closure's type.
#[repr(C)]
struct Head<T> {
    header: Header,
    outcome: UnsafeCell<Option<Outcome<T>>>,
}

/// One scope task: the one allocation it costs. `#[repr(C)]` with the header first, so an
/// untyped `NonNull<Header>` reaches it and a handle (which knows only `T`) its outcome.
#[repr(C)]
struct Node<'scope, 'env, E: ?Sized, F, T> {
    head: Head<T>,
    f: UnsafeCell<Option<F>>,
    scope: &'scope Scope<'scope, 'env, E>,
}

impl<'scope, 'env, E, F, T> Node<'scope, 'env, E, F, T>
where
    E: Executor + ?Sized,
    F: FnOnce(&'scope Scope<'scope, 'env, E>) -> T + Send + 'scope,
    T: Send + 'scope,
{
    /// A node for a task going to `place`, with its references, its lifetimes erased behind
    /// the untyped pointer.
    ///
    /// Erasing them is sound because the node's closure and value, which may borrow from the
    /// scope, are touched only before the scope returns: `scope()` returns only after its
    /// thread drained the tasks it held, waited for the held tasks their handles claimed, and
    /// saw `pending` reach 0, and each task ends (`Action::Run`, `Action::Cancel`) with the
    /// last touch of anything borrowed before it sets `DONE` and returns its count. A value
    /// whose handle is gone is dropped by the task before that (`finish`); one whose handle
    /// still exists is taken or dropped by the handle, which cannot outlive `'scope`. What a
    /// carrier left in an executor's queue still holds afterwards is the empty node, freed
    /// without touching the scope.
    fn allocate(place: Place, f: F, scope: &'scope Scope<'scope, 'env, E>) -> NonNull<Header> {
        let node = crate::spare::take(Layout::new::<Self>()).cast::<Self>();
        // SAFETY: fresh memory for a `Self`.
        unsafe {
            node.as_ptr().write(Node {
                head: Head::<T> {
                    header: Header::new(place, Self::act, Self::run_alone),
                    outcome: UnsafeCell::new(None),
                },
                f: UnsafeCell::new(Some(f)),
                scope,
            })
        };
        node.cast::<Header>()
    }

    /// [`Header::run_alone`]: runs the task as a plain call and frees the node.
    ///
    /// # Safety
    /// `ptr` is a node of this type, the caller holds every reference to it, and `out` is an
    /// `Option<Outcome<T>>` for its `T`.
    unsafe fn run_alone(ptr: NonNull<Header>, out: *mut ()) {
        let ptr = ptr.cast::<Self>();
        // SAFETY: the caller holds the node alone.
        let node = unsafe { ptr.as_ref() };
        // SAFETY: as above: nobody else touches `f`.
        let f = unsafe { (*node.f.get()).take() }.expect("a task runs once");
        // No frame of its own: the tasks it holds join the caller's frame, which drains them
        // before it ends (it is this scope's, or nothing is held).
        let outcome = match catch_unwind(AssertUnwindSafe(|| f(node.scope))) {
            Ok(value) => Outcome::Value(value),
            Err(payload) => Outcome::Panicked(payload),
        };
        // SAFETY: the caller gave `out` for this `T`, and holds the node alone; nothing in
        // it is left to drop: `f` was taken above, its outcome went to `out`, and no thread
        // waits for it (a waiter would hold a reference).
        unsafe {
            out.cast::<Option<Outcome<T>>>().write(Some(outcome));
            Self::release(ptr);
        }
    }

    /// The typed operations behind [`Header::act`].
    ///
    /// # Safety
    /// `ptr` is a node of this type; the caller holds a reference, and for `Run` and
    /// `Cancel` has claimed it, for `Free` the last one.
    unsafe fn act(ptr: NonNull<Header>, action: Action) -> Option<String> {
        let ptr = ptr.cast::<Self>();
        if let Action::Free = action {
            // SAFETY: the last reference is gone.
            unsafe { Self::free(ptr) };
            return None;
        }
        // SAFETY: the caller holds a reference.
        let node = unsafe { ptr.as_ref() };
        if let Action::Promote = action {
            let state = &node.scope.state;
            // ORDERING: Relaxed, as in `spawn`: the task whose frame holds this one (or the
            // scope's body, on this thread) has not ended, so the scope's thread reads
            // `pending` only after this.
            state.pending.fetch_add(1, Ordering::Relaxed);
            if node.head.header.try_count() {
                node.head.header.add_refs(2);
                // SAFETY: counted above; the two references were just added.
                unsafe { node.scope.hand_out(ptr.cast::<Header>()) };
            } else {
                // Claimed meanwhile (by its handle, on another thread): it stays where it is.
                // Something else this thread runs still holds a count, so this never
                // returns the last one.
                // ORDERING: Relaxed: nobody waits on this step.
                let before = state.pending.fetch_sub(1, Ordering::Relaxed);
                debug_assert!(before > 1, "a promotion held the scope's last count");
            }
            return None;
        }
        // SAFETY: the caller claimed the task (or holds it alone): nobody else touches `f`.
        let f = unsafe { (*node.f.get()).take() };
        match action {
            Action::Run => match node.call(f.expect("a task runs once")) {
                Ok(value) => {
                    // SAFETY: claimed by the caller.
                    unsafe { node.finish(Outcome::Value(value)) };
                    None
                }
                Err(payload) => {
                    let message = panic_message(payload.as_ref())
                        .unwrap_or("<non-string panic payload>")
                        .to_owned();
                    let index = node.scope.state.record_failure(payload);
                    let cancelled = false;
                    // SAFETY: claimed by the caller.
                    unsafe { node.finish(Outcome::Failed { index, cancelled }) };
                    Some(message)
                }
            },
            Action::Cancel => {
                // Dropped unrun: drop the closure first (its captures may borrow from the
                // scope, and their destructors may panic: quietly, the cancellation is what
                // gets reported), then report the cancellation and return the count.
                drop_quietly(f);
                let index = node
                    .scope
                    .state
                    .record_failure(Box::new(CANCELLED_TASK_MESSAGE));
                let cancelled = true;
                // SAFETY: claimed by the caller.
                unsafe { node.finish(Outcome::Failed { index, cancelled }) };
                None
            }
            Action::Free | Action::Promote => unreachable!("handled above"),
        }
    }

    /// Drops what is left in the node and gives its memory back. That is nothing by now: the
    /// closure was taken by whoever claimed it, and the outcome by the handle or, for a
    /// detached task, by `finish`.
    ///
    /// # Safety
    /// `ptr` is a node of this type, made in `allocate`, that nobody uses again.
    unsafe fn free(ptr: NonNull<Self>) {
        // SAFETY: the caller's contract. Nothing reads the node after its drop.
        unsafe {
            std::ptr::drop_in_place(ptr.as_ptr());
            crate::spare::give(ptr.cast::<u8>(), Layout::new::<Self>());
        }
    }

    /// Gives the memory of a node whose fields hold nothing to drop back, without running
    /// their (empty) drop glue.
    ///
    /// # Safety
    /// `ptr` is a node of this type, made in `allocate`, that nobody uses again, whose `f`,
    /// outcome and waiter are `None`.
    #[inline]
    unsafe fn release(ptr: NonNull<Self>) {
        // SAFETY: the caller's contract.
        unsafe {
            let node = ptr.as_ref();
            debug_assert!((*node.f.get()).is_none(), "the closure was taken");
            debug_assert!(
                (*node.head.outcome.get()).is_none(),
                "the outcome was taken"
            );
            crate::spare::give(ptr.cast::<u8>(), Layout::new::<Self>());
        }
    }

    /// Runs the closure in a frame of its scope, so the tasks it holds end before it does.
    fn call(&self, f: F) -> Result<T, Box<dyn Any + Send>> {
        let frame = Frame::enter(self.scope.id(), self.scope.inside_the_executor());
        let result = catch_unwind(AssertUnwindSafe(|| f(self.scope)));
        frame.end();
        result
    }

    /// Publishes the outcome, then returns the count: the last touch of anything the scope
    /// owns. Never unwinds, so nothing can skip the count.
    ///
    /// # Safety
    /// The caller claimed the task and holds a reference.
    unsafe fn finish(&self, outcome: Outcome<T>) {
        // SAFETY: only the claimer writes the outcome before DONE; the handle reads it after.
        unsafe { *self.head.outcome.get() = Some(outcome) };
        let prev = self.head.header.set_done();
        if prev & DETACHED != 0 {
            // The handle is gone, so the value is ours to drop, before the count: it may
            // borrow from the scope. Its destructor may panic: the task ran, so that panic is
            // the task's, resumed by the scope like any panic nobody joined.
            // SAFETY: DETACHED and DONE are both set, and we set the second: nobody else
            // touches the outcome.
            let outcome = unsafe { (*self.head.outcome.get()).take() };
            if let Err(payload) = try_drop(outcome) {
                self.scope.state.record_failure(payload);
            }
        }
        if prev & COUNTED != 0 {
            self.scope.state.task_ended();
        }
    }
}

/// The job a handed-out task travels in. Run, it claims and runs the task; dropped unrun (the
/// executor cancelled it), it claims and cancels it. Either finds nothing to do if the task
/// was claimed first.
struct Carrier {
    task: TaskRef,
    ran: bool,
}

impl Carrier {
    fn run(mut self) {
        self.ran = true;
        if let Some(message) = self.task.run_if_unclaimed() {
            drop(self);
            // Let the executor count the panic and show it to its panic handler, as `spawn`
            // does. The task has ended and returned its count.
            resume_unwind(Box::new(message));
        }
    }
}

impl Drop for Carrier {
    fn drop(&mut self) {
        if !self.ran {
            self.task.cancel_if_unclaimed();
        }
    }
}

/// The value of one scope task; see [`Scope::spawn`]. Dropping it detaches the task (the scope
/// still waits for it, and resumes its panic if it panicked).
pub struct ScopedJoinHandle<'scope, T> {
    /// The handle's reference to the task's node.
    task: ManuallyDrop<TaskRef>,
    state: &'scope ScopeState,
    /// The handle hands a `T` to the thread that joins it: `Send` and `Sync` when `T: Send`.
    value: PhantomData<std::sync::Mutex<T>>,
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the task and returns its value, its panic (`TaskError::Panicked`, the
    /// original payload), or `TaskError::Cancelled` if the executor dropped it unrun. A
    /// failure taken here is not resumed again by the scope.
    ///
    /// A task nobody has started runs here, on the calling thread, if it was held (see
    /// [`Scope`]) or the calling thread is a worker. Otherwise the call waits (inside a worker:
    /// running queued jobs meanwhile).
    #[inline(always)]
    pub fn join(self) -> Result<T, TaskError> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used again, nor dropped.
        let task = unsafe { ManuallyDrop::take(&mut this.task) };
        let state = this.state;
        let held = scope_task::pop_if_top(task.ptr());
        if let Some(held) = held {
            if !task.header().counted() {
                // The task never left this thread: the handle and this thread's stack hold
                // its only references, both ours now. Run it as a plain call.
                std::mem::forget(held);
                let mut outcome = None::<Outcome<T>>;
                // SAFETY: we hold every reference (the stack's was forgotten above), and
                // `outcome` is an `Option<Outcome<T>>` for the node's `T`.
                unsafe { task.run_alone((&mut outcome as *mut Option<Outcome<T>>).cast()) };
                return match outcome {
                    Some(Outcome::Value(value)) => Ok(value),
                    other => Self::failed(other, state),
                };
            }
            drop(held);
        }
        Self::join_claimed(task, state)
    }

    /// [`join`](Self::join) of a task that is not this thread's alone.
    #[inline(never)]
    fn join_claimed(task: TaskRef, state: &ScopeState) -> Result<T, TaskError> {
        // A held task has nobody else to run it until its frame ends (which may be this very
        // call's caller): run it here. One handed out is run here if nobody started it and
        // this thread is a worker (which must not block its pool); otherwise its worker runs
        // it, or its cancellation is reported.
        if !task.header().counted() || crate::worker::in_worker() {
            // A panic message is for the executor's accounting; the payload is ours.
            drop(task.run_if_unclaimed());
        }
        task.header().wait_done();
        match take_outcome::<T>(&task) {
            Outcome::Value(value) => Ok(value),
            other => Self::failed(Some(other), state),
        }
    }

    /// The error for an outcome that is not a value.
    #[cold]
    fn failed(outcome: Option<Outcome<T>>, state: &ScopeState) -> Result<T, TaskError> {
        match outcome.expect("a task that ended left its outcome for its handle") {
            Outcome::Value(value) => Ok(value),
            Outcome::Panicked(payload) => Err(TaskError::Panicked(payload.into())),
            Outcome::Failed { index, cancelled } => {
                let payload = lock(&state.failures)[index].take();
                match (cancelled, payload) {
                    (false, Some(payload)) => Err(TaskError::Panicked(payload.into())),
                    _ => Err(TaskError::Cancelled),
                }
            }
        }
    }

    /// `true` once the task ended (completed, panicked or cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.header().is_done()
    }
}

/// Takes the outcome of a task that ended, through its handle's reference.
fn take_outcome<T>(task: &TaskRef) -> Outcome<T> {
    let head = task.ptr().cast::<Head<T>>();
    // SAFETY: the node is a `Node<_, _, T>`, whose `#[repr(C)]` prefix is `Head<T>`; the task
    // ended (DONE seen with Acquire, or run alone here) and the handle is not detached, so
    // nobody else touches the outcome.
    unsafe { (*head.as_ref().outcome.get()).take() }
        .expect("a task that ended left its outcome for its handle")
}

impl<T> Drop for ScopedJoinHandle<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `self.task` is not used after this.
        let task = unsafe { ManuallyDrop::take(&mut self.task) };
        // ORDERING: AcqRel: Acquire sees the outcome if the task ended; Release pairs with
        // the claimer's RMW in `set_done`, which then owns the outcome.
        let prev = task.header().state.fetch_or(DETACHED, Ordering::AcqRel);
        if prev & DONE != 0 {
            // The task ended first: its value (which may borrow from the scope) is dropped
            // here, after our reference, and its destructor's panic unwinds into the caller.
            let outcome = take_outcome::<T>(&task);
            drop(task);
            drop(outcome);
        }
    }
}
