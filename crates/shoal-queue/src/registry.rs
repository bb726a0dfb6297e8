//! What the pool and its workers share: the queue, the counters, the intake flags, and the
//! pool's life cycle; how a job is submitted and run; the steps of the shared life cycle
//! (`shoal_core::lifecycle`) that depend on the queue.

use crossbeam_utils::CachePadded;
use shoal_core::lifecycle::{Lifecycle, Mechanics};
use shoal_core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use shoal_core::sync::thread;
use shoal_core::PoolConfig;
use shoal_core::{worker, Counters, Event, Job, Metrics, RejectReason, Rejected};

use crate::queue::{JobQueue, PushError};

/// What the pool and its workers share.
pub(crate) struct Registry {
    pub(crate) queue: JobQueue,
    pub(crate) counters: Counters,
    /// The settings the pool was built with (thread names, stack size, hooks).
    pub(crate) config: PoolConfig,
    /// Intake closed: submissions are refused from now on.
    pub(crate) closed: AtomicBool,
    /// Queued jobs are to be cancelled, not run (`Shutdown::Now`, or a passed deadline).
    pub(crate) cancel: AtomicBool,
    /// Set once no submission can still be on its way into the queue: from then on, an empty
    /// queue stays empty and workers may exit.
    pub(crate) sealed: AtomicBool,
    /// Submissions between their `closed` check and the end of their push. Written twice per
    /// submit, so it sits alone in its cache line: the submit path never writes a line that
    /// workers read on every job (`cancel`, `sizing`).
    pub(crate) submitting: CachePadded<AtomicUsize>,
    /// Workers that found the queue empty and wait for a job (spinning or blocked): a join
    /// offers its second half only when this is above zero (`shoal_core::fork`). Written when
    /// a worker runs dry, not per job.
    pub(crate) idle: CachePadded<AtomicUsize>,
    /// Phases, worker threads and their indices, resizing, shutdown and its report, broadcasts,
    /// `wait_idle` (shared by every pool).
    pub(crate) life: Lifecycle,
}

impl Registry {
    /// The id under which workers register with `shoal_core::worker`.
    pub(crate) fn id(&self) -> usize {
        self as *const Registry as usize
    }

    /// Runs (or, when cancelling, drops) one job the way every path of this pool does.
    #[inline]
    pub(crate) fn run(&self, job: Job) {
        // ORDERING: Relaxed is enough: `cancel` only decides between running and dropping a
        // job; a job that misses the flag is run, which Shutdown::Now allows for jobs that
        // were already taken off the queue.
        if self.cancel.load(Ordering::Relaxed) {
            worker::cancel_job(job, &self.counters);
        } else {
            worker::run_job(job, &self.counters, self.config.handler());
        }
    }

    pub(crate) fn submit(&self, job: Job, blocking: bool) -> Result<(), Rejected> {
        // Announce the submission before checking `closed`; shutdown closes, then waits for
        // `submitting` to reach zero before sealing. So a job either sees `closed` and is
        // refused, or is in the queue before the queue is sealed: never lost in between.
        // ORDERING: SeqCst on both sides (here: add, then load `closed`; shutdown: store
        // `closed`, then load `submitting`) forbids the outcome where each misses the other.
        self.submitting.fetch_add(1, Ordering::SeqCst);
        let mut withdrawn = false;
        let result = if self.closed.load(Ordering::SeqCst) {
            Err(Rejected::new(RejectReason::ShutDown, job))
        } else {
            // Counted before a worker can see the job, so that a count of its end is never
            // seen without its submission (what `wait_idle` relies on: `metrics.rs`); taken
            // back if the queue refuses it.
            self.counters.add(Event::Submitted, 1);
            let pushed = if blocking {
                self.push_blocking(job)
            } else {
                self.queue.try_push(job).map_err(|e| match e {
                    PushError::Full(job) => Rejected::new(RejectReason::Full, job),
                    PushError::Closed(job) => Rejected::new(RejectReason::ShutDown, job),
                })
            };
            if pushed.is_err() {
                self.counters.retract(Event::Submitted, 1);
                withdrawn = true;
            }
            pushed
        };
        if result.is_err() {
            self.counters.add(Event::Rejected, 1);
        }
        // ORDERING: Release pairs with the SeqCst loads in `close` (the wait for `submitting`
        // to reach zero before the queue is sealed): the push (and its count) happen-before
        // the shutdown's drain.
        self.submitting.fetch_sub(1, Ordering::SeqCst);
        if withdrawn {
            // A submission counted and taken back: the pool may be idle again.
            self.life.check_idle(self);
        }
        result
    }

    fn push_blocking(&self, job: Job) -> Result<(), Rejected> {
        if !worker::is_worker_of(self.id()) {
            return self
                .queue
                .push_blocking(job)
                .map_err(|job| Rejected::new(RejectReason::ShutDown, job));
        }
        // Inside our own worker, waiting for room could deadlock (every worker might be
        // waiting): make room by running queued jobs instead.
        let mut job = job;
        loop {
            match self.queue.try_push(job) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(j)) => return Err(Rejected::new(RejectReason::ShutDown, j)),
                Err(PushError::Full(j)) => {
                    job = j;
                    if self.closed.load(Ordering::SeqCst) {
                        return Err(Rejected::new(RejectReason::ShutDown, job));
                    }
                    match self.queue.try_pop() {
                        Some(queued) => self.run(queued),
                        None => thread::yield_now(),
                    }
                }
            }
        }
    }
}

/// The steps of the shared life cycle that depend on the queue.
impl Mechanics for Registry {
    fn id(&self) -> usize {
        Registry::id(self)
    }

    /// Closes intake and waits until no submission is still on its way in; then seals.
    fn close(&self, cancel: bool) {
        // ORDERING: see `submit`.
        self.closed.store(true, Ordering::SeqCst);
        if cancel {
            self.cancel.store(true, Ordering::SeqCst);
        }
        // Blocked submitters give their jobs back now.
        self.queue.close_intake();
        while self.submitting.load(Ordering::SeqCst) != 0 {
            shoal_core::sync::spin_loop();
            thread::yield_now();
        }
        // ORDERING: SeqCst store, read by workers before they decide the queue stays empty.
        self.sealed.store(true, Ordering::SeqCst);
    }

    /// Drops every queued job unrun (counted as cancelled), and cancels the jobs workers
    /// take from now on.
    fn cancel_queued(&self) {
        // ORDERING: SeqCst like every flag store; see `run`.
        self.cancel.store(true, Ordering::SeqCst);
        while let Some(job) = self.queue.try_pop() {
            worker::cancel_job(job, &self.counters);
        }
    }

    fn wake_all(&self, _alive: usize) {
        self.queue.wake_all();
    }

    fn metrics(&self, workers: usize) -> Metrics {
        self.counters.snapshot(workers)
    }
}
