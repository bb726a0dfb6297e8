//! `join`: run two closures, potentially in parallel.
//!
//! ```text
//!  worker W                                     another thread T (hungry)
//!  ────────                                     ─────────────────────────
//!  join(a, b):
//!   1. job_b = StackJob(b) on W's stack
//!   2. push job_b on W's private stack
//!      demand > 0 ? offer the oldest job ──────▶ take it from the injector
//!   3. run a                                    run it (maybe job_b), set its latch
//!   4. pop job_b:
//!      still ours -> run b inline (a plain call)
//!      offered    -> wait_until(latch): run other queued jobs, sleep if none,
//!                    until T sets the latch; then take b's value or resume its panic
//! ```
//!
//! If `a` panics, a guard pops `job_b` back (dropping `b` unrun) or, if it was offered, waits
//! until whoever took it is done with it, before the panic leaves the frame that owns
//! `job_b`'s memory. So a `join` never returns (or unwinds) while its other half runs.
//!
//! Unwinds, case by case (the rules are in `shoal_core::unwind`):
//! - `a` panics: the guard above; `b`'s value or payload is dropped quietly, `a`'s payload
//!   goes on unwinding.
//! - `b` panics inline: the frame owns `job_b` alone, so the panic simply leaves it.
//! - `b` panics on a thief: the thief's `catch_unwind` stores the payload, sets the latch,
//!   and the owner resumes it here, after both halves ended.
//! - The wait for a taken `b` cannot unwind: it runs only internal jobs (which never unwind)
//!   and external jobs under `run_job` (which catches everything). If it ever did, the frame
//!   would die while the thief still writes into `job_b`: the wait holds an
//!   `AbortOnUnwind`, so that stops the process instead.

use std::mem;

use shoal_core::unwind::AbortOnUnwind;

use crate::job::StackJob;
use crate::latch::Latch;
use crate::worker::WorkerThread;

/// `join` on the calling worker.
#[inline]
pub(crate) fn join_in_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = StackJob::new(b, Latch::new(&worker.parker));
    // SAFETY: `job_b` stays in this frame until it is popped back unrun or its latch is set:
    // the normal path below and the unwind guard both wait for one of the two, and neither
    // wait can unwind (an unwind there aborts the process).
    let job_b_ref = unsafe { job_b.as_job_ref() };
    worker.push(job_b_ref);

    let guard = UnwindGuard {
        worker,
        job: &job_b,
    };
    let ra = a();
    mem::forget(guard);

    let rb = if worker.pop(job_b_ref) {
        // SAFETY: `pop` says the job was never offered: only we can reach it, and this is
        // its one run.
        unsafe { job_b.run_inline() }
    } else {
        AbortOnUnwind::run(WAIT_INVARIANT, || worker.wait_until(&job_b.latch));
        // The thief is on its way back to its search: let it get there, so that a join of
        // ours right after this one offers its half instead of keeping it.
        shoal_core::sleep::settle(|| worker.hungry());
        // SAFETY: `wait_until` returned, so the latch is set.
        unsafe { job_b.into_result() }
    };
    (ra, rb)
}

/// What an unwind out of a join's wait would break.
const WAIT_INVARIANT: &str = "a join waits for its second half, which a thief may still write";

/// Runs only if `a` unwinds: takes `b` back, or waits for whoever took it.
struct UnwindGuard<'a, F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    worker: &'a WorkerThread,
    job: &'a StackJob<F, R>,
}

impl<F, R> Drop for UnwindGuard<'_, F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn drop(&mut self) {
        // SAFETY: only recomputes the JobRef that `join_in_worker` pushed, for the check in
        // `pop`; nothing is executed through it.
        let job_ref = unsafe { self.job.as_job_ref() };
        if self.worker.pop(job_ref) {
            // SAFETY: never offered, so only we can reach it; it will not run.
            unsafe { self.job.drop_unrun() };
        } else {
            AbortOnUnwind::run(WAIT_INVARIANT, || self.worker.wait_until(&self.job.latch));
            // SAFETY: `wait_until` returned, so the latch is set; the job is not read again.
            unsafe { self.job.discard_result() };
        }
    }
}
