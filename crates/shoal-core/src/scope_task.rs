//! The untyped half of a scope task: its header (claim, references, waiter), the thread's stack
//! of tasks it may still run itself, and how a waiter blocks. The typed half, and the rules
//! that make borrowing sound, are in `scope.rs`.
//!
//! ## One allocation per task
//!
//! A task is one heap node: this [`Header`], then the task's outcome, closure and scope
//! pointer (`scope::Node`). Up to three parties hold a reference to it, counted in `refs`:
//! its handle, the spawning thread's stack of held tasks ([`Frame`]), and the carrier job
//! handed to the executor, when there is one. Whoever drops the last reference frees it.
//!
//! ## Claim
//!
//! A task runs once, on whichever thread claims it first: the executor's worker (through the
//! carrier), the thread that spawned it (when it drains its stack, newest first), or its
//! handle's `join`. The claim is one compare-and-swap on `state` (`0 → TAKEN`); the loser
//! never touches the closure. A carrier the executor drops unrun claims the task too and
//! cancels it. The winner publishes the outcome and sets `DONE`:
//!
//! ```text
//!  state bits   TAKEN      claimed: running or cancelled, by exactly one thread
//!               DONE       ended; the outcome is in the node (set by the claimer)
//!               WAITER     a thread waits for DONE; its `Thread` is in `waiter`
//!               DETACHED   the handle is gone: whoever sets the second of DONE and
//!                          DETACHED drops the outcome
//! ```
//!
//! A waiter stores its `Thread` in `waiter`, then sets `WAITER` (Release). The claimer sets
//! `DONE` with one read-modify-write (AcqRel): if `WAITER` was set, it takes the `Thread` and
//! unparks it; if not, the waiter's own RMW saw `DONE` and it does not wait. Either way no
//! wake-up is lost, and the claimer still holds its reference while it reads `waiter`.
//!
//! ## Held tasks and frames
//!
//! Inside a worker of the executor, while the last task this thread handed out still waits
//! untaken, a task is not handed to the executor at all: it waits on the spawning thread's
//! stack until that thread drains it, or its handle claims it. That is sound only if someone is
//! sure to drain it before the scope returns, so a thread holds tasks only inside a [`Frame`]
//! of the same scope: the scope's body on its own thread, or one of its tasks being run (one
//! run alone by its handle joins its caller's frame). A frame drains
//! the tasks pushed above its mark before it ends (runs the unclaimed ones, waits for a held
//! one that a handle claimed), so a held task ends before the frame that held it, and the
//! scope waits for every frame: its body's directly, a task's through that task.

use std::cell::{RefCell, UnsafeCell};
use std::ptr::NonNull;
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
use std::time::Duration;

use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::thread::{self, Thread};
use crate::sync::thread_local;
use crate::{identity, worker};

/// Claimed: it runs, ran or was cancelled, by one thread.
pub(crate) const TAKEN: usize = 1;
/// Ended: the outcome is in the node.
pub(crate) const DONE: usize = 2;
/// A thread waits for `DONE`; its `Thread` is in `Header::waiter`.
const WAITER: usize = 4;
/// The handle is gone.
pub(crate) const DETACHED: usize = 8;

/// What [`Header::act`] should do with the typed node.
pub(crate) enum Action {
    /// Run the claimed task and publish its outcome (`DONE`, wake-up, count); returns the
    /// panic message, if it panicked, for a carrier to hand to its executor.
    Run,
    /// Run the task with no other reference alive but the caller's: no claim, no atomics;
    /// the outcome stays in the node for the caller.
    RunAlone,
    /// Drop the claimed task's closure unrun and publish `Cancelled`.
    Cancel,
    /// Free the node (the last reference is gone).
    Free,
}

/// The start of every task node (`#[repr(C)]`, first field), so an untyped pointer to it
/// reaches the node.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: AtomicUsize,
    refs: AtomicUsize,
    /// Counted in the scope's `pending` (it was handed to the executor). Written before the
    /// node is shared, never after.
    pub(crate) counted: bool,
    /// The thread waiting for `DONE`, written by it before it sets `WAITER`.
    waiter: UnsafeCell<Option<Thread>>,
    /// The typed operations on the node.
    pub(crate) act: unsafe fn(NonNull<Header>, Action) -> Option<String>,
}

impl Header {
    pub(crate) fn new(
        refs: usize,
        counted: bool,
        act: unsafe fn(NonNull<Header>, Action) -> Option<String>,
    ) -> Header {
        Header {
            state: AtomicUsize::new(0),
            refs: AtomicUsize::new(refs),
            counted,
            waiter: UnsafeCell::new(None),
            act,
        }
    }

    /// Claims the task; `true` if the caller now owns running (or cancelling) it.
    fn try_claim(&self) -> bool {
        // ORDERING: Acquire: the winner sees the node as its spawner wrote it (the hand-over
        // through a thread's stack or the executor's queue orders that already; this is
        // cheap insurance). A single winner is what matters: the other bits (DETACHED) may
        // already be set.
        self.state.fetch_or(TAKEN, Ordering::Acquire) & TAKEN == 0
    }

    /// Sets `DONE` after the outcome was written, and wakes the waiter. Returns the state
    /// before, so the caller sees `DETACHED`. Called by the claimer, which holds a reference.
    pub(crate) fn set_done(&self) -> usize {
        // ORDERING: AcqRel: Release publishes the outcome to whoever sees DONE (the handle,
        // a waiting drain); Acquire sees the waiter's `Thread` if WAITER was set, and the
        // handle's DETACHED (after which the claimer owns the outcome).
        let prev = self.state.fetch_or(DONE, Ordering::AcqRel);
        if prev & WAITER != 0 {
            // SAFETY: WAITER was set (Release) after the waiter wrote the cell, and the
            // waiter does not touch it again: our RMW came later, so its own saw no DONE.
            if let Some(waiter) = unsafe { (*self.waiter.get()).take() } {
                waiter.unpark();
            }
        }
        prev
    }

    /// `true` once the task ended.
    pub(crate) fn is_done(&self) -> bool {
        // ORDERING: Acquire pairs with the Release in `set_done`: the outcome is visible.
        self.state.load(Ordering::Acquire) & DONE != 0
    }

    /// Blocks until the task ended (inside a worker: helping meanwhile). At most one thread
    /// waits for a task: the handle that lost the claim, or the drain of a held task that its
    /// handle claimed (and then runs, so it does not wait).
    pub(crate) fn wait_done(&self) {
        if self.is_done() {
            return;
        }
        // SAFETY: only the single waiter writes the cell, before it sets WAITER; the claimer
        // reads it only after seeing WAITER.
        unsafe { *self.waiter.get() = Some(thread::current()) };
        // ORDERING: Release publishes the cell to the claimer's AcqRel in `set_done`;
        // Acquire: if DONE is already set, the outcome is visible.
        let prev = self.state.fetch_or(WAITER, Ordering::AcqRel);
        debug_assert_eq!(prev & WAITER, 0, "one waiter per task");
        if prev & DONE != 0 {
            // SAFETY: the claimer set DONE before WAITER was set, so it never reads the cell.
            unsafe { *self.waiter.get() = None };
            return;
        }
        block_until(|| self.is_done());
    }
}

/// One counted reference to a task node.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: the node is shared through atomics and the claim; its closure and value are `Send`
// (`Scope::spawn` requires it), and only the claimer touches the closure.
unsafe impl Send for TaskRef {}
// SAFETY: through `&TaskRef` a thread reads the header's atomics or claims the task (and then
// runs or drops the `Send` closure on itself): nothing is touched without the claim.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// Adopts one reference to a node (of the count it was created with).
    ///
    /// # Safety
    /// `node` points to a live node, and the caller gives this `TaskRef` one of its references.
    pub(crate) unsafe fn adopt(node: NonNull<Header>) -> TaskRef {
        TaskRef(node)
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a reference keeps the node alive.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn ptr(&self) -> NonNull<Header> {
        self.0
    }

    /// Claims and runs the task if nobody has; returns the panic message if it ran here and
    /// panicked.
    pub(crate) fn run_if_unclaimed(&self) -> Option<String> {
        if self.header().try_claim() {
            // SAFETY: we hold a reference and won the claim.
            unsafe { (self.header().act)(self.0, Action::Run) }
        } else {
            None
        }
    }

    /// Claims and cancels the task if nobody has.
    pub(crate) fn cancel_if_unclaimed(&self) {
        if self.header().try_claim() {
            // SAFETY: we hold a reference and won the claim.
            unsafe { (self.header().act)(self.0, Action::Cancel) };
        }
    }

    /// Frees the node without touching the count: the caller holds every reference.
    ///
    /// # Safety
    /// No other reference to the node exists, counted or not.
    pub(crate) unsafe fn free_alone(self) {
        let node = self.0;
        std::mem::forget(self);
        // SAFETY: the caller owns the node alone.
        unsafe { (node.as_ref().act)(node, Action::Free) };
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // ORDERING: Release hands our uses of the node to whoever frees it; the Acquire fence
        // before freeing pairs with every other holder's Release (as `Arc` does).
        if self.header().refs.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            // SAFETY: that was the last reference.
            unsafe { (self.header().act)(self.0, Action::Free) };
        }
    }
}

/// What a thread knows of the scopes it runs in.
struct Local {
    /// Its held tasks, newest last.
    held: Vec<TaskRef>,
    /// The innermost frame: the scope it belongs to (its address; 0: none) and the length of
    /// `held` when it began.
    frame: (usize, usize),
    /// The last task this thread handed to an executor from a frame, while nobody may have
    /// claimed it yet. While it waits untaken, the next ones are held: it is the biggest piece
    /// of work this thread has to give, and each extra one would cost a job that no idle worker
    /// wants yet (the rule `ExecutorExt::join` follows for its offers).
    offered: Option<TaskRef>,
}

#[cfg(not(shoal_loom))]
thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { held: Vec::new(), frame: (0, 0), offered: None })
    };
}

#[cfg(shoal_loom)]
thread_local! {
    static LOCAL: RefCell<Local> =
        RefCell::new(Local { held: Vec::new(), frame: (0, 0), offered: None });
}

/// `true` when the calling thread's innermost frame belongs to `scope`: a task pushed now is
/// drained before that frame ends.
#[inline]
pub(crate) fn in_frame_of(scope: usize) -> bool {
    LOCAL
        .try_with(|l| l.borrow().frame.0 == scope)
        .unwrap_or(false)
}

/// Pushes a task on the calling thread's stack; the caller checked [`in_frame_of`] (so the
/// thread locals are alive).
#[inline]
pub(crate) fn push(task: TaskRef) {
    LOCAL.with(|l| l.borrow_mut().held.push(task));
}

/// Takes `node` off the top of the calling thread's stack, if it is there, above the
/// innermost frame's mark: the caller then holds the stack's reference too.
#[inline]
pub(crate) fn pop_if_top(node: NonNull<Header>) -> Option<TaskRef> {
    LOCAL
        .try_with(|l| {
            let mut l = l.borrow_mut();
            if l.held.len() > l.frame.1 && l.held.last().map(TaskRef::ptr) == Some(node) {
                l.held.pop()
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// `true` while the last task this thread handed out (see [`offered`]) is unclaimed.
#[inline]
pub(crate) fn untaken_offer() -> bool {
    LOCAL
        .try_with(|l| {
            l.borrow().offered.as_ref().is_some_and(|task| {
                // ORDERING: Relaxed: a hint; a stale answer only holds or hands out one task
                // more.
                task.header().state.load(Ordering::Relaxed) & TAKEN == 0
            })
        })
        .unwrap_or(false)
}

/// Remembers `task` as the last one this thread handed out.
#[inline]
pub(crate) fn offered(task: TaskRef) {
    let mut task = Some(task);
    // The previous one is released outside the borrow: it may be the last reference.
    let previous = LOCAL
        .try_with(|l| std::mem::replace(&mut l.borrow_mut().offered, task.take()))
        .ok()
        .flatten();
    drop(previous);
    // Still here only while the thread locals are torn down: nothing to remember it in.
    drop(task);
}

/// A scope's claim on the calling thread: tasks of that scope spawned here are pushed on the
/// thread's stack, and [`drain`](Frame::drain) settles them before the frame ends.
pub(crate) struct Frame {
    outer: (usize, usize),
}

impl Frame {
    /// Begins a frame of `scope` (its address) on the calling thread.
    #[inline]
    pub(crate) fn enter(scope: usize) -> Frame {
        let outer = LOCAL
            .try_with(|l| {
                let mut l = l.borrow_mut();
                let mark = l.held.len();
                std::mem::replace(&mut l.frame, (scope, mark))
            })
            .unwrap_or((0, 0));
        Frame { outer }
    }

    /// Settles every task pushed in this frame, newest first: runs the unclaimed ones here;
    /// waits for a held one that its handle claimed (a counted one the scope waits for).
    /// Never unwinds: tasks catch their panics.
    #[inline]
    pub(crate) fn drain(&self) {
        while let Some(task) = LOCAL
            .try_with(|l| {
                let mut l = l.borrow_mut();
                if l.held.len() > l.frame.1 {
                    l.held.pop()
                } else {
                    None
                }
            })
            .ok()
            .flatten()
        {
            // A panic message is for the executor's accounting; the scope got the payload.
            drop(task.run_if_unclaimed());
            if !task.header().counted {
                task.header().wait_done();
            }
        }
    }
}

impl Drop for Frame {
    #[inline]
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|l| l.borrow_mut().frame = self.outer);
    }
}

/// Blocks the calling thread until `ready()`; whoever makes it true unparks this thread
/// afterwards. Inside a worker (or a thread with a worker identity) it runs queued jobs and
/// its broadcast mail meanwhile, and naps with a growing timeout when there is nothing to run.
pub(crate) fn block_until(ready: impl Fn() -> bool) {
    if worker::in_worker() || identity::has_identity() {
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        let mut nap = Duration::from_micros(20);
        loop {
            if ready() {
                return;
            }
            if worker::help_one() {
                #[cfg(not(any(shoal_loom, shoal_shuttle)))]
                {
                    nap = Duration::from_micros(20);
                }
                continue;
            }
            if ready() {
                return;
            }
            // loom's and shuttle's timed parks never time out: yield to the model instead.
            #[cfg(any(shoal_loom, shoal_shuttle))]
            thread::yield_now();
            #[cfg(not(any(shoal_loom, shoal_shuttle)))]
            {
                thread::park_timeout(nap);
                nap = (nap * 2).min(Duration::from_millis(1));
            }
        }
    } else {
        while !ready() {
            thread::park();
        }
    }
}
