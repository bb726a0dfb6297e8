//! What the pool and its workers share: the injector, the stealer list, the sleep protocol,
//! the intake, the counters and the pool's life cycle; how a taken job is run; the steps of
//! the shared life cycle (`shoal_core::lifecycle`) that depend on the queues.

use std::io;

use shoal_core::lifecycle::{Lifecycle, Mechanics, Workers};
use shoal_core::sync::atomic::{AtomicBool, Ordering};
use shoal_core::sync::{thread, Arc};
use shoal_core::PoolConfig;
use shoal_core::{worker as core_worker, Counters, Event, Metrics, RejectReason, Rejected, Task};

use crate::intake::Intake;
use shoal_core::deque::Injector;
use shoal_core::deque::Stealers;
use shoal_core::sleep::Sleep;

/// What the pool and its workers share.
pub(crate) struct Registry {
    /// Jobs submitted from outside the pool.
    pub(crate) injector: Injector,
    /// Every worker's stealer, for siblings to steal from.
    pub(crate) stealers: Stealers,
    /// The parking protocol (`shoal_core::sleep`).
    pub(crate) sleep: Sleep,
    /// Closed flag, in-flight submissions, capacity (see `intake.rs`).
    pub(crate) intake: Intake,
    pub(crate) counters: Counters,
    /// The settings the pool was built with (thread names, stack size, hooks).
    pub(crate) config: PoolConfig,
    /// Jobs spawned from inside a worker go to a one-job LIFO slot first.
    pub(crate) lifo_slot: bool,
    /// Set once no submission can still be on its way in: from then on a worker that finds
    /// every queue empty exits.
    pub(crate) draining: AtomicBool,
    /// Jobs taken from now on are cancelled, not run (`Shutdown::Now`, or a passed deadline).
    pub(crate) cancel: AtomicBool,
    /// Phases, worker threads and their indices, resizing, shutdown and its report, broadcasts,
    /// `wait_idle` (shared by every pool).
    pub(crate) life: Lifecycle,
}

impl Registry {
    /// The id under which workers register with `shoal_core::worker`.
    #[inline]
    pub(crate) fn id(&self) -> usize {
        self as *const Registry as usize
    }

    /// Runs (or, when cancelling, drops) a job just taken from a queue. Every path that takes
    /// a job to run it comes through here.
    #[inline]
    pub(crate) fn run(&self, job: Task) {
        self.intake.release();
        // ORDERING: Relaxed is enough: `cancel` only decides between running and dropping a
        // job already taken off a queue; either is allowed for such a job under `Now`, and the
        // final accounting comes after the workers are joined.
        if self.cancel.load(Ordering::Relaxed) {
            core_worker::cancel_job(job, &self.counters);
        } else {
            core_worker::run_job(job, &self.counters, self.config.handler());
        }
    }

    /// `true` when a parked worker must wake up and look at the pool's flags (the worker adds
    /// its own: the target, its mailbox).
    #[inline]
    pub(crate) fn must_look(&self) -> bool {
        // ORDERING: a SeqCst load of a flag stored (SeqCst) before `Sleep::wake_all`; checked
        // under the sleep lock, which orders it with the wake-up anyway.
        self.draining.load(Ordering::SeqCst)
    }

    pub(crate) fn reject(&self, reason: RejectReason, job: Task) -> Result<(), Rejected> {
        self.counters.add(Event::Rejected, 1);
        Err(Rejected::new(reason, job.into_job()))
    }

    /// The counters, with the submissions counted by the intake added in.
    pub(crate) fn snapshot(&self, workers: usize) -> Metrics {
        let mut m = self.counters.snapshot(workers);
        m.submitted += self.intake.accepted();
        m.queued = m
            .submitted
            .saturating_sub(m.running + m.completed + m.panicked + m.cancelled);
        m
    }
}

/// What the life cycle starts and resizes.
impl Workers for Registry {
    fn life(&self) -> &Lifecycle {
        &self.life
    }

    fn spawn_worker(this: &Arc<Self>, index: usize) -> io::Result<thread::JoinHandle<()>> {
        crate::worker::spawn_worker(this, index)
    }
}

/// The steps of the shared life cycle that depend on the injector, the deques and the sleep
/// protocol.
impl Mechanics for Registry {
    fn id(&self) -> usize {
        Registry::id(self)
    }

    fn close(&self, cancel: bool) {
        // 1. Stop intake and wait until no submission is in flight: every accepted job is in
        //    a queue now, and the queues can only shrink.
        self.intake.close();
        if cancel {
            // ORDERING: SeqCst; see `run`.
            self.cancel.store(true, Ordering::SeqCst);
        }
        // 2. Tell workers that an empty pool stays empty, and wake the parked ones to see it.
        // ORDERING: SeqCst store read by workers (SeqCst) before their last scan; the intake
        // drain above happens-before it, so that scan sees every accepted job.
        self.draining.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
    }

    /// Drops every job still queued in the injector or a deque unrun, counted as cancelled,
    /// and cancels the jobs workers take from now on. Jobs in a busy worker's LIFO slot are
    /// cancelled by that worker when its job returns.
    fn cancel_queued(&self) {
        // ORDERING: SeqCst like every flag store; see `run`.
        self.cancel.store(true, Ordering::SeqCst);
        self.injector.cancel_all(&self.counters);
        self.stealers.cancel_all(&self.counters);
    }

    fn wake_all(&self, _alive: usize) {
        self.sleep.wake_all();
    }

    fn metrics(&self, workers: usize) -> Metrics {
        self.snapshot(workers)
    }

    /// As the default, but with the submissions from outside counted from their entry (before
    /// their push), not from their accepted count (after it): see `Intake::entered`.
    fn is_idle(&self) -> bool {
        let m = self.counters.snapshot(0);
        m.completed + m.panicked + m.cancelled >= m.submitted + self.intake.entered()
    }
}
