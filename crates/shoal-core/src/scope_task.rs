//! The untyped half of a scope task: its header (claim, references, waiter), the thread's stack
//! of tasks it may still run itself, and how a waiter blocks. The typed half, and the rules
//! that make borrowing sound, are in `scope.rs`.
//!
//! ## One allocation per task
//!
//! A task is one heap node: this [`Header`], then the task's outcome, closure and scope
//! pointer (`scope::Node`), taken from the thread's spare nodes when it has one of the size
//! (`spare.rs`). Up to three parties hold a reference to it, counted in `refs`:
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
//!               COUNTED    counted in the scope's `pending`; set before TAKEN or never
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
//!
//! ## Promotion: the oldest held task goes first
//!
//! Once the last hand-out was taken, the next spawn inside a worker does not hand out the new
//! task (most likely a small one, deep in a recursion) but the *oldest* task the thread still
//! holds, which in a recursive split is the biggest piece of work it has; the new task is held
//! instead. That keeps the number of hand-outs (each a job and a wake-up) near the number of
//! times a worker runs dry, as a work-stealing deque that gives thieves its oldest job does.
//! Promoting a held task counts it in its scope first (`pending + 1`), then sets `COUNTED`
//! with a compare-and-swap that fails if the task was claimed meanwhile (its handle, on
//! another thread; then the count is taken back). So a claimer reads `COUNTED` in its
//! `set_done` exactly when a count was added for it. The promoted task stays on the thread's
//! stack: a drain runs it if no worker took it, and does not wait for it (the scope does).

use std::cell::UnsafeCell;
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
/// Counted in the scope's `pending`: handed to the executor, at its spawn or later (a held
/// task promoted, see [`place`]). Set only while `TAKEN` is not, so it never changes once the
/// task is claimed.
pub(crate) const COUNTED: usize = 16;

/// What [`Header::act`] should do with the typed node.
pub(crate) enum Action {
    /// Run the claimed task and publish its outcome (`DONE`, wake-up, count); returns the
    /// panic message, if it panicked, for a carrier to hand to its executor.
    Run,
    /// Drop the claimed task's closure unrun and publish `Cancelled`.
    Cancel,
    /// Hand a held task to the executor after all (the caller holds a reference, the
    /// thread stack's): count it in its scope, mark it [`COUNTED`] unless it was claimed
    /// meanwhile, and give a carrier to the executor.
    Promote,
    /// Free the node (the last reference is gone).
    Free,
}

/// The start of every task node (`#[repr(C)]`, first field), so an untyped pointer to it
/// reaches the node.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: AtomicUsize,
    refs: AtomicUsize,
    /// The thread waiting for `DONE`, written by it before it sets `WAITER`.
    waiter: UnsafeCell<Option<Thread>>,
    /// The typed operations on the node.
    pub(crate) act: unsafe fn(NonNull<Header>, Action) -> Option<String>,
    /// Runs the task with no other reference alive but the caller's: no claim, no atomics.
    /// The outcome goes to the `Option<Outcome<T>>` the pointer names (the caller's), and the
    /// node is freed. Apart from `act` because it is the common case of a recursion (a task
    /// joined by its handle on the thread that holds it): a function of its own stays small.
    pub(crate) run_alone: unsafe fn(NonNull<Header>, *mut ()),
}

impl Header {
    /// The header of a new task going to `place`, with the references that place gives it.
    pub(crate) fn new(
        place: Place,
        act: unsafe fn(NonNull<Header>, Action) -> Option<String>,
        run_alone: unsafe fn(NonNull<Header>, *mut ()),
    ) -> Header {
        Header {
            state: AtomicUsize::new(if place.handed_out() { COUNTED } else { 0 }),
            refs: AtomicUsize::new(place.refs()),
            waiter: UnsafeCell::new(None),
            act,
            run_alone,
        }
    }

    /// `true` if the task is counted in its scope's `pending` (see [`COUNTED`]). Exact on the
    /// thread whose stack holds the task, which is the only one that promotes it, and once
    /// the task is claimed; elsewhere it may turn `true` a moment later.
    #[inline]
    pub(crate) fn counted(&self) -> bool {
        // ORDERING: Relaxed: see above; whoever acts on the count reads it again with the
        // claim or with `set_done`.
        self.state.load(Ordering::Relaxed) & COUNTED != 0
    }

    /// Counts the task, for [`Action::Promote`]: sets `COUNTED` unless the task was claimed;
    /// `true` if it did. The caller incremented the scope's `pending` first (and takes it
    /// back on `false`), so a claimer that sees `COUNTED` at `set_done` returns a count that
    /// exists.
    pub(crate) fn try_count(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & TAKEN == 0 {
            // ORDERING: AcqRel against the claim's RMW: exactly one of the two comes first;
            // the claimer reads `COUNTED` from its own later RMW (`set_done`).
            match self.state.compare_exchange_weak(
                state,
                state | COUNTED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
        false
    }

    /// Adds `n` references for new holders; the caller holds one already.
    pub(crate) fn add_refs(&self, n: usize) {
        // ORDERING: Relaxed, as `Arc::clone`: the caller's own reference keeps the node alive.
        self.refs.fetch_add(n, Ordering::Relaxed);
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

    /// Runs the task with no other reference alive, writes its outcome to `out` (an
    /// `Option<Outcome<T>>` of the node's `T`) and frees the node.
    ///
    /// # Safety
    /// No other reference to the node exists, counted or not, and `out` is valid for it.
    #[inline]
    pub(crate) unsafe fn run_alone(self, out: *mut ()) {
        let node = self.0;
        std::mem::forget(self);
        // SAFETY: the caller owns the node alone.
        unsafe { (node.as_ref().run_alone)(node, out) };
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

/// The innermost frame of a thread: the scope it belongs to and whether the thread is a
/// worker of that scope's executor (only such a thread holds tasks), packed in one word (the
/// scope's address, which is at least 2-aligned, with `inside` in its low bit; 0: no frame),
/// and the length of the thread's stack of held tasks when it began. Two words, so that
/// entering and leaving a frame moves little.
#[derive(Clone, Copy)]
struct FrameInfo {
    scope_inside: usize,
    mark: usize,
}

const NO_FRAME: FrameInfo = FrameInfo {
    scope_inside: 0,
    mark: 0,
};

impl FrameInfo {
    #[inline]
    fn new(scope: usize, inside: bool, mark: usize) -> FrameInfo {
        debug_assert_eq!(scope & 1, 0, "a scope's address is at least 2-aligned");
        FrameInfo {
            scope_inside: scope | usize::from(inside),
            mark,
        }
    }

    #[inline]
    fn scope(self) -> usize {
        self.scope_inside & !1
    }

    #[inline]
    fn inside(self) -> bool {
        self.scope_inside & 1 != 0
    }
}

/// What a thread knows of the scopes it runs in.
struct Local {
    /// Its held tasks, newest last.
    held: Vec<TaskRef>,
    /// The innermost frame.
    frame: FrameInfo,
    /// The last task this thread handed to an executor from a frame, while nobody may have
    /// claimed it yet. While it waits untaken, the next ones are held: it is the biggest piece
    /// of work this thread has to give, and each extra one would cost a job that no idle worker
    /// wants yet (the rule `ExecutorExt::join` follows for its offers).
    offered: Option<TaskRef>,
    /// Every task below this index of `held` is counted or claimed already: where the search
    /// for the oldest task to promote starts.
    promoted: usize,
}

impl Local {
    /// Takes the newest held task off the stack.
    #[inline]
    fn pop(&mut self) -> Option<TaskRef> {
        let task = self.held.pop();
        self.promoted = self.promoted.min(self.held.len());
        task
    }

    /// The oldest held task that is neither counted nor claimed, if any: the biggest piece of
    /// work this thread has to give (rayon's thieves take the oldest job for the same reason).
    fn oldest_to_promote(&mut self) -> Option<NonNull<Header>> {
        let mut index = self.promoted.min(self.held.len());
        while let Some(task) = self.held.get(index) {
            // ORDERING: Relaxed: a hint; `try_count` decides.
            if task.header().state.load(Ordering::Relaxed) & (TAKEN | COUNTED) == 0 {
                self.promoted = index + 1;
                return Some(task.ptr());
            }
            index += 1;
        }
        self.promoted = index;
        None
    }

    /// `true` while the last task this thread handed out is unclaimed.
    #[inline]
    fn untaken_offer(&self) -> bool {
        self.offered.as_ref().is_some_and(|task| {
            // ORDERING: Relaxed: a hint; a stale answer only holds or hands out one task more.
            task.header().state.load(Ordering::Relaxed) & TAKEN == 0
        })
    }
}

/// The thread's [`Local`], borrowed only through [`LocalCell::with`]. Not a `RefCell`: its
/// borrow flag cost a check, a store and a reset on each of the four or five visits a scope
/// makes, a tenth of a recursive scope's cost. Instead no closure given to `with` reaches
/// `LOCAL` again (each caller says why), and debug builds check it.
struct LocalCell {
    local: UnsafeCell<Local>,
    #[cfg(debug_assertions)]
    busy: std::cell::Cell<bool>,
}

impl LocalCell {
    const fn new() -> LocalCell {
        LocalCell {
            local: UnsafeCell::new(Local {
                held: Vec::new(),
                frame: NO_FRAME,
                offered: None,
                promoted: 0,
            }),
            #[cfg(debug_assertions)]
            busy: std::cell::Cell::new(false),
        }
    }

    /// Runs `f` on the thread's state. `f` must not visit `LOCAL` itself.
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut Local) -> R) -> R {
        #[cfg(debug_assertions)]
        let _busy = {
            struct Busy<'a>(&'a std::cell::Cell<bool>);
            impl Drop for Busy<'_> {
                fn drop(&mut self) {
                    self.0.set(false);
                }
            }
            assert!(
                !self.busy.replace(true),
                "the scope state of a thread re-entered"
            );
            Busy(&self.busy)
        };
        // SAFETY: `LOCAL` is this thread's alone, and the only `&mut` to it is the one made
        // here, for the call of `f`, which does not come back here (checked in debug builds).
        f(unsafe { &mut *self.local.get() })
    }
}

#[cfg(not(shoal_loom))]
thread_local! {
    static LOCAL: LocalCell = const { LocalCell::new() };
}

#[cfg(shoal_loom)]
thread_local! {
    static LOCAL: LocalCell = LocalCell::new();
}

/// Where a new task of a scope goes, decided by [`place`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Place {
    /// The calling thread is in no frame of the scope: handed to the executor.
    Outside,
    /// Handed to the executor, and pushed on the thread's stack too (drained before the
    /// frame ends, in case the executor has not run it by then).
    Framed,
    /// Only pushed on the thread's stack: it runs here unless its handle claims it first.
    Held,
}

impl Place {
    /// The references a new node starts with: its handle's, the thread stack's when pushed,
    /// and the carrier's and [`offered`]'s when handed out.
    fn refs(self) -> usize {
        match self {
            Place::Outside => 3,
            Place::Framed => 4,
            Place::Held => 2,
        }
    }

    /// Handed to the executor (and so counted in the scope's `pending`).
    pub(crate) fn handed_out(self) -> bool {
        self != Place::Held
    }
}

/// Decides where a new task of `scope` goes, makes its node with `make` (which must not touch
/// the scopes' thread state) and, unless it goes [`Outside`](Place::Outside), pushes one of
/// the node's references on the calling thread's stack. One look at the thread's state.
///
/// Inside a worker of the scope's executor, once the last task this thread handed out was
/// taken, the task handed out next is the *oldest* one this thread still holds, if any (the
/// third value: the caller promotes it with [`promote`]); the new one is held instead.
#[inline]
pub(crate) fn place(
    scope: usize,
    make: impl FnOnce(Place) -> NonNull<Header>,
) -> (NonNull<Header>, Place, Option<NonNull<Header>>) {
    let mut make = Some(make);
    // `make` allocates (from `spare`'s own thread state) and builds the node; nothing in this
    // closure visits `LOCAL` again.
    let placed = LOCAL.try_with(|l| {
        l.with(|l| {
            let mut promote = None;
            let place = if l.frame.scope() != scope {
                Place::Outside
            } else if !l.frame.inside() {
                Place::Framed
            } else if l.untaken_offer() {
                Place::Held
            } else {
                promote = l.oldest_to_promote();
                if promote.is_some() {
                    Place::Held
                } else {
                    Place::Framed
                }
            };
            let node = (make.take().expect("made once"))(place);
            if place != Place::Outside {
                // SAFETY: the stack's reference, counted in `place.refs()`.
                l.held.push(unsafe { TaskRef::adopt(node) });
            }
            (node, place, promote)
        })
    });
    match placed {
        Ok(placed) => placed,
        // The thread locals are torn down: no frame exists any more.
        Err(_) => (
            (make.take().expect("made once"))(Place::Outside),
            Place::Outside,
            None,
        ),
    }
}

/// Hands out a held task that [`place`] chose: the thread's stack still holds its reference
/// (nothing ran on this thread since), which keeps it alive through the call.
#[inline]
pub(crate) fn promote(node: NonNull<Header>) {
    // SAFETY: the stack's reference keeps the node alive; `Promote` needs only that.
    unsafe { (node.as_ref().act)(node, Action::Promote) };
}

/// Takes `node` off the top of the calling thread's stack, if it is there, above the
/// innermost frame's mark: the caller then holds the stack's reference too.
#[inline]
pub(crate) fn pop_if_top(node: NonNull<Header>) -> Option<TaskRef> {
    LOCAL
        .try_with(|l| {
            l.with(|l| {
                if l.held.len() > l.frame.mark && l.held.last().map(TaskRef::ptr) == Some(node) {
                    l.pop()
                } else {
                    None
                }
            })
        })
        .ok()
        .flatten()
}

/// Remembers `task` as the last one this thread handed out.
#[inline]
pub(crate) fn offered(task: TaskRef) {
    let mut task = Some(task);
    // The previous one is released outside the borrow: it may be the last reference.
    let previous = LOCAL
        .try_with(|l| l.with(|l| std::mem::replace(&mut l.offered, task.take())))
        .ok()
        .flatten();
    drop(previous);
    // Still here only while the thread locals are torn down: nothing to remember it in.
    drop(task);
}

/// A scope's claim on the calling thread: tasks of that scope spawned here are pushed on the
/// thread's stack, and [`end`](Frame::end) settles them before the frame ends.
pub(crate) struct Frame {
    outer: FrameInfo,
}

impl Frame {
    /// Begins a frame of `scope` (its address) on the calling thread; `inside`: the thread is
    /// a worker of the scope's executor.
    #[inline]
    pub(crate) fn enter(scope: usize, inside: bool) -> Frame {
        let outer = LOCAL
            .try_with(|l| {
                l.with(|l| {
                    let mark = l.held.len();
                    std::mem::replace(&mut l.frame, FrameInfo::new(scope, inside, mark))
                })
            })
            .unwrap_or(NO_FRAME);
        Frame { outer }
    }

    /// Settles every task pushed in this frame, newest first: runs the unclaimed ones here;
    /// waits for a held one that its handle claimed (a counted one the scope waits for).
    /// Then the frame ends. Never unwinds: tasks catch their panics.
    #[inline]
    pub(crate) fn end(self) {
        let outer = self.outer;
        std::mem::forget(self);
        // Most frames hold nothing by now (their tasks were joined): one look ends them.
        while let Some(task) = LOCAL
            .try_with(|l| {
                l.with(|l| {
                    if l.held.len() > l.frame.mark {
                        l.pop()
                    } else {
                        l.frame = outer;
                        None
                    }
                })
            })
            .ok()
            .flatten()
        {
            Frame::settle(task);
        }
    }

    /// Runs a task the frame still holds, unless someone claimed it; waits for a held one
    /// that its handle claimed (a counted one the scope waits for).
    #[cold]
    #[inline(never)]
    fn settle(task: TaskRef) {
        // A panic message is for the executor's accounting; the scope got the payload.
        drop(task.run_if_unclaimed());
        if !task.header().counted() {
            task.header().wait_done();
        }
    }
}

impl Drop for Frame {
    /// Only on a path that skipped [`end`](Frame::end) (which nothing should): the frame
    /// still ends.
    fn drop(&mut self) {
        let outer = self.outer;
        let _ = LOCAL.try_with(|l| l.with(|l| l.frame = outer));
    }
}

/// Blocks the calling thread until `ready()`; whoever makes it true unparks this thread
/// afterwards. Inside a worker (or a thread with a worker identity) it runs queued jobs and
/// its broadcast mail meanwhile, looks a while before its first nap (the task it waits for
/// was taken by another worker and is often about done: [`worker::look_before_sleep`]), and
/// naps with a growing timeout when there is nothing to run.
pub(crate) fn block_until(ready: impl Fn() -> bool) {
    if worker::in_worker() || identity::has_identity() {
        if worker::look_before_sleep(&ready) {
            return;
        }
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
