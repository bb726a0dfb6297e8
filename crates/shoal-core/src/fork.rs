//! `join` through the contract: [`ExecutorExt::join`](crate::ExecutorExt::join) on every
//! executor, fast on every shoal pool.
//!
//! `ExecutorExt::join(a, b)` wraps each closure in a [`JoinHalf`] that stores its value on
//! the caller's stack, then calls the object-safe hook
//! [`Executor::join_halves`], so a `Box<dyn Executor>` reaches each pool's own algorithm.
//! The fork-join pool runs its native `join`. The shared-queue and work-stealing pools use
//! [`join_offering`] below; any other executor gets [`join_by_jobs`], the trait's default.
//!
//! ## Offering `b` only when someone is hungry
//!
//! A join is cheap when nobody needs the second half: inside a worker of the pool, when no
//! worker of the pool is looking for work, `join_offering` runs `a` then `b` as two plain
//! calls (a thread-local read and one load of the pool's idle count). Only when a worker is
//! idle does it *offer* `b`:
//!
//! ```text
//!  owner (a worker)                              an idle worker
//!  ────────────────                              ──────────────
//!  handoff = OFFERED; try_execute(carrier) ────▶ pops carrier: CAS OFFERED → TAKEN
//!  run a                                          runs b (its panic caught), outcome = Ran
//!  CAS OFFERED → RECLAIMED:
//!    ok   -> nobody took b: run it here, a plain call (the carrier later finds RECLAIMED
//!            and does nothing)
//!    fail -> wait for the outcome, running queued jobs meanwhile; resume b's panic, if any
//! ```
//!
//! The carrier's handoff (an `Arc`) is the one allocation, and only offered joins pay it; the
//! carrier itself travels unboxed, as a [`Task`], on shoal's pools. It points at `b` on the
//! owner's stack; that is sound because the owner does not leave the join before the carrier
//! either lost the race (it then never touches `b`) or reported `b`'s outcome. A carrier the
//! executor drops unrun (`Shutdown::Now`) reports `Dropped`, and the owner runs `b` itself:
//! a join never loses a half. A refused offer (shutdown has begun, or a full bounded queue)
//! runs `b` inline too.
//!
//! ## From outside the pool
//!
//! A thread that is not a worker of the pool moves the whole join into the pool as one job
//! and waits (a worker of another pool keeps running its own pool's jobs meanwhile), like
//! rayon's `join` from outside a pool. If the pool refuses or drops that job, the join runs on
//! the calling thread.
//!
//! ## Unwinds
//!
//! A half unwinds when its closure panics. If `a` unwinds while `b` is offered, a guard takes
//! `b` back (it is then dropped unrun, like rayon's) or waits until whoever took it is done,
//! before the unwind leaves the frame `b` lives in. `b`'s panic on another worker is caught
//! there and resumed on the owner; inline, it simply unwinds. The waits hold an
//! `AbortOnUnwind` (see [`unwind`](crate::unwind)): returning early would free `b` while it
//! runs.

use std::any::Any;
use std::fmt;
use std::mem;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::error::Rejected;
use crate::executor::Executor;
use crate::job::Task;
use crate::sync::atomic::{AtomicU8, Ordering};
use crate::sync::Arc;
use crate::unwind::{drop_quietly, AbortOnUnwind};
use crate::wait::Waitable;

/// One half of a join, type-erased and borrowed from the joining thread's stack: what
/// [`Executor::join_halves`] receives. Running it consumes it; it unwinds if the closure
/// panics.
pub struct JoinHalf<'a> {
    f: &'a mut (dyn FnMut() + Send + 'a),
}

impl fmt::Debug for JoinHalf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHalf").finish_non_exhaustive()
    }
}

impl<'a> JoinHalf<'a> {
    /// A half that calls `f` once when run.
    pub fn new(f: &'a mut (dyn FnMut() + Send + 'a)) -> JoinHalf<'a> {
        JoinHalf { f }
    }

    /// Runs the half on the calling thread.
    #[inline]
    pub fn run(self) {
        (self.f)()
    }

    /// The half as a raw pointer that outlives its borrow, for a `'static` job.
    fn erase(self) -> Erased {
        let raw: *mut (dyn FnMut() + Send + 'a) = self.f;
        // SAFETY: only the lifetime changes (same fat-pointer layout). Every user of the
        // pointer dereferences it only while the owner of the pointee waits in the frame that
        // borrowed it (see `Carrier::run` and the waits below).
        Erased(unsafe {
            mem::transmute::<*mut (dyn FnMut() + Send + 'a), *mut (dyn FnMut() + Send + 'static)>(
                raw,
            )
        })
    }
}

/// [`ExecutorExt::join`](crate::ExecutorExt::join): wraps `a` and `b`, hands them to the
/// executor's hook, and returns both values. A panic of either half unwinds out of the hook,
/// which takes the other half back or waits for it first (see the module docs).
#[inline]
pub(crate) fn join<E, A, B, RA, RB>(exec: &E, a: A, b: B) -> (RA, RB)
where
    E: Executor + ?Sized,
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let (mut a, mut ra) = (Some(a), None);
    let (mut b, mut rb) = (Some(b), None);
    let mut run_a = || ra = a.take().map(|a| a());
    let mut run_b = || rb = b.take().map(|b| b());
    let joined = catch_unwind(AssertUnwindSafe(|| {
        exec.join_halves(JoinHalf::new(&mut run_a), JoinHalf::new(&mut run_b))
    }));
    if let Err(payload) = joined {
        // The other half's value (if it ran) is dropped here, quietly: a destructor that
        // panics while this panic unwinds would abort the process.
        drop_quietly((ra, rb));
        resume_unwind(payload);
    }
    const SKIPPED: &str = "Executor::join_halves returned without running both halves";
    (ra.expect(SKIPPED), rb.expect(SKIPPED))
}

// The offer this thread made last and has not resolved yet (its join still runs `a`), or
// null. While nobody has taken it, the joins nested in `a` offer nothing: the offer already
// waiting is the biggest piece of work this thread has to give, and every extra one would cost
// a job that the thief does not want yet (rayon's deque gives the oldest job to a thief; this
// is the same rule for a pool that only offers when someone is idle).
#[cfg(not(shoal_loom))]
std::thread_local! {
    static OUTSTANDING: std::cell::Cell<*const Handoff> = const { std::cell::Cell::new(std::ptr::null()) };
}

#[cfg(shoal_loom)]
crate::sync::thread_local! {
    static OUTSTANDING: std::cell::Cell<*const Handoff> = std::cell::Cell::new(std::ptr::null());
}

/// `true` while this thread's last offer waits, untaken, for a worker.
#[inline]
pub(crate) fn untaken_offer() -> bool {
    OUTSTANDING
        .try_with(|o| {
            let handoff = o.get();
            // SAFETY: a non-null pointer is the handoff of a join further up this thread's
            // stack, which holds its `Arc` and resets the pointer before it returns or unwinds
            // (`Outstanding`).
            // ORDERING: Relaxed: a hint; a stale state only delays or adds one offer.
            !handoff.is_null() && unsafe { (*handoff).state.load(Ordering::Relaxed) } == OFFERED
        })
        .unwrap_or(false)
}

/// Marks `handoff` as this thread's outstanding offer until dropped, then restores the one
/// before it.
struct Outstanding(*const Handoff);

impl Outstanding {
    fn mark(handoff: &Arc<Handoff>) -> Outstanding {
        let ours: *const Handoff = &**handoff;
        Outstanding(
            OUTSTANDING
                .try_with(|o| o.replace(ours))
                .unwrap_or(std::ptr::null()),
        )
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        let _ = OUTSTANDING.try_with(|o| o.set(self.0));
    }
}

/// How a pool takes part in [`join_offering`].
pub trait Offering: Executor {
    /// `true` when the calling thread is one of the pool's workers.
    fn inside(&self) -> bool;
    /// `true` when some worker of the pool looks for work: a hint, read on every join
    /// inside the pool, so it should be one relaxed load.
    fn hungry(&self) -> bool;
    /// Queues the carrier of an offered half where an idle worker finds it (called from
    /// inside a worker). The default is [`Executor::try_execute`] of the boxed carrier; a pool
    /// that queues [`Task`]s takes it as it is (no box). A refusal runs the half inline.
    fn offer(&self, carrier: Task) -> Result<(), Rejected> {
        self.try_execute(carrier.into_job())
    }
}

/// The fast join of a pool: inside one of its workers, `b` is offered only when the pool is
/// [`hungry`](Offering::hungry), and runs inline otherwise; from any other thread the whole
/// join moves into the pool. See the module docs for the protocol.
#[inline]
pub fn join_offering<P>(pool: &P, a: JoinHalf<'_>, b: JoinHalf<'_>)
where
    P: Offering + ?Sized,
{
    if !pool.inside() {
        return join_from_outside(pool, a, b);
    }
    if pool.hungry() && !untaken_offer() {
        if offer(a, b, |carrier| pool.offer(carrier)) {
            // The thief is on its way back to its search: let it get there, so that a join
            // of ours right after this one offers its half instead of running both here.
            crate::sleep::settle(|| pool.hungry());
        }
    } else {
        a.run();
        b.run();
    }
}

/// The join of an executor shoal knows nothing about ([`Executor::join_halves`]'s default):
/// `b` goes to the executor as a job while `a` runs here; then `b` is taken back if no worker
/// started it, or awaited (helping, inside a worker). Correct on every executor, one job per
/// join.
pub fn join_by_jobs<E>(exec: &E, a: JoinHalf<'_>, b: JoinHalf<'_>)
where
    E: Executor + ?Sized,
{
    offer(a, b, |carrier| exec.try_execute(carrier.into_job()));
}

const OFFERED: u8 = 0;
const TAKEN: u8 = 1;
const RECLAIMED: u8 = 2;
const DROPPED: u8 = 3;

/// What became of an offered half.
enum Outcome {
    Pending,
    /// A worker ran it; its panic, if the half unwound.
    Ran(Option<Box<dyn Any + Send>>),
    /// The executor refused or dropped the carrier unrun: the owner runs the half.
    Dropped,
}

/// What the owner of an offered half shares with the job that carries it.
struct Handoff {
    /// `OFFERED`, then exactly one of: `TAKEN` (a worker runs it), `RECLAIMED` (the owner
    /// runs it), `DROPPED` (the carrier was dropped unrun).
    state: AtomicU8,
    outcome: Waitable<Outcome>,
}

/// A half's pointer with its lifetime erased; see [`JoinHalf::erase`].
struct Erased(*mut (dyn FnMut() + Send + 'static));

// SAFETY: the pointee is `Send` (a `JoinHalf` only holds `Send` closures), and the pointer is
// used by one thread at a time: the carrier's runner after winning `OFFERED → TAKEN`, or the
// owner after winning `OFFERED → RECLAIMED` or seeing the outcome.
unsafe impl Send for Erased {}

/// The job that carries an offered half to a worker.
struct Carrier {
    handoff: Arc<Handoff>,
    /// `None` once run; a carrier dropped while it is `Some` was never run.
    half: Option<Erased>,
}

impl Carrier {
    fn run(mut self) {
        let Some(half) = self.half.take() else { return };
        // ORDERING: AcqRel on both racing CASes (here and the owner's reclaim): exactly one
        // wins; the winner sees the owner's writes to the half made before the offer (the
        // executor's queue also orders them).
        if self
            .handoff
            .state
            .compare_exchange(OFFERED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // The owner took it back; `half` may dangle by now and is never touched.
            return;
        }
        // SAFETY: we won the half: the owner does not run it and does not leave the frame it
        // lives in before it sees the outcome we report below.
        let panic = catch_unwind(AssertUnwindSafe(|| unsafe { (*half.0)() })).err();
        // The last touch of the half's frame is above; after this update the owner may return.
        self.handoff.outcome.update(|o| *o = Outcome::Ran(panic));
    }
}

impl Drop for Carrier {
    /// Dropped unrun (refused, or cancelled by a shutdown): tell an owner that waits.
    fn drop(&mut self) {
        if self.half.is_some()
            && self
                .handoff
                .state
                .compare_exchange(OFFERED, DROPPED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.handoff.outcome.update(|o| *o = Outcome::Dropped);
        }
    }
}

fn carrier(half: Erased) -> (Arc<Handoff>, Carrier) {
    let handoff = Arc::new(Handoff {
        state: AtomicU8::new(OFFERED),
        outcome: Waitable::new(Outcome::Pending),
    });
    let carrier = Carrier {
        handoff: handoff.clone(),
        half: Some(half),
    };
    (handoff, carrier)
}

/// What an unwind out of the wait for an offered half would break.
const WAIT_INVARIANT: &str = "a join waits for its second half, which another worker may still run";

/// Offers `b` as a job through `queue`, runs `a`, then takes `b` back or waits for it.
/// Returns `true` when another worker ran `b`.
fn offer(
    a: JoinHalf<'_>,
    b: JoinHalf<'_>,
    queue: impl FnOnce(Task) -> Result<(), Rejected>,
) -> bool {
    let b = b.erase();
    let b_ptr = b.0;
    let (handoff, carrier) = carrier(b);
    // Three words (the handoff's `Arc`, the half's pointer): it travels unboxed.
    if let Err(refused) = queue(Task::new(move || carrier.run())) {
        // Dropping the job drops the carrier unrun: its state is `DROPPED` now.
        drop_quietly(refused);
        a.run();
        // SAFETY: the carrier is gone, so nobody else can reach `b`; this is its one run.
        unsafe { (*b_ptr)() };
        return false;
    }
    let guard = ReclaimOnUnwind(&handoff);
    let outstanding = Outstanding::mark(&handoff);
    a.run();
    drop(outstanding);
    mem::forget(guard);
    if reclaim(&handoff) {
        // SAFETY: we won the half (`RECLAIMED`, or the carrier was dropped unrun): nobody
        // else runs it, and this is its one run.
        unsafe { (*b_ptr)() };
        false
    } else if let Some(payload) = await_taken(&handoff) {
        resume_unwind(payload);
    } else {
        true
    }
}

/// `true` if the owner runs the half itself: it won it back, or the carrier was dropped.
fn reclaim(handoff: &Handoff) -> bool {
    // ORDERING: see `Carrier::run`.
    match handoff
        .state
        .compare_exchange(OFFERED, RECLAIMED, Ordering::AcqRel, Ordering::Acquire)
    {
        Ok(_) => true,
        Err(state) => state == DROPPED,
    }
}

/// Waits until the worker that took the half reported it; returns its panic, if any.
///
/// The wait looks a while before it sleeps, as every wait inside a worker does
/// ([`look_before_sleep`](crate::worker::look_before_sleep)): the two halves of a join are
/// often alike, so the thief is often about done.
fn await_taken(handoff: &Handoff) -> Option<Box<dyn Any + Send>> {
    AbortOnUnwind::run(WAIT_INVARIANT, || {
        handoff
            .outcome
            .wait_until(|o| match mem::replace(o, Outcome::Pending) {
                Outcome::Ran(panic) => Some(panic),
                // Only a carrier that was never taken is dropped, and we saw it taken.
                Outcome::Dropped => Some(None),
                Outcome::Pending => None,
            })
    })
}

/// Runs only if `a` unwinds while `b` is offered: takes `b` back (it is then dropped unrun,
/// with the frame that owns it), or waits until whoever took it is done.
struct ReclaimOnUnwind<'h>(&'h Handoff);

impl Drop for ReclaimOnUnwind<'_> {
    fn drop(&mut self) {
        if !reclaim(self.0) {
            // `a`'s panic goes on; `b`'s, if any, is dropped quietly.
            drop_quietly(await_taken(self.0));
        }
    }
}

/// Moves the whole join into the pool as one job and waits for it; runs it here if the pool
/// refuses or drops the job.
#[cold]
fn join_from_outside<E>(exec: &E, a: JoinHalf<'_>, b: JoinHalf<'_>)
where
    E: Executor + ?Sized,
{
    // Set before the join runs on this thread after all: it then runs `a` and `b` here
    // instead of asking the executor again (which would refuse again).
    let here = std::sync::atomic::AtomicBool::new(false);
    let mut halves = Some((a, b));
    let mut whole = || {
        if let Some((a, b)) = halves.take() {
            // ORDERING: Relaxed: set and read by this thread, or read by the carrier's
            // runner, which only ever sees `false` (the store happens after the carrier is
            // gone).
            if here.load(std::sync::atomic::Ordering::Relaxed) {
                a.run();
                b.run();
            } else {
                exec.join_halves(a, b);
            }
        }
    };
    let whole = JoinHalf::new(&mut whole).erase();
    let whole_ptr = whole.0;
    let (handoff, carrier) = carrier(whole);
    if let Err(refused) = exec.execute_task(Task::new(move || carrier.run())) {
        drop_quietly(refused);
    }
    // Never reclaimed: the point is to run on the pool. A dropped carrier runs here.
    let outcome = AbortOnUnwind::run(WAIT_INVARIANT, || {
        handoff
            .outcome
            .wait_until(|o| match mem::replace(o, Outcome::Pending) {
                Outcome::Pending => None,
                done => Some(done),
            })
    });
    match outcome {
        Outcome::Ran(Some(payload)) => resume_unwind(payload),
        Outcome::Ran(None) => {}
        Outcome::Dropped | Outcome::Pending => {
            here.store(true, std::sync::atomic::Ordering::Relaxed);
            // SAFETY: the carrier was dropped unrun, so nobody else can reach the join; this
            // is its one run, and `whole` is still alive in this frame.
            unsafe { (*whole_ptr)() }
        }
    }
}
