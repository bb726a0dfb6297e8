//! What the pool and its workers share: the queue, the intake gate, the sleep protocol, the
//! counters and the pool's life cycle; how a job is submitted and run; the steps of the shared
//! life cycle (`shoal_core::lifecycle`) that depend on the queue.

use std::io;

use shoal_core::lifecycle::{Lifecycle, Mechanics, Workers};
use shoal_core::sync::atomic::{AtomicBool, Ordering};
use shoal_core::sync::{thread, Arc};
use shoal_core::PoolConfig;
use shoal_core::{worker, Counters, Event, Job, Metrics, RejectReason, Rejected};

use shoal_core::intake::Intake;
use shoal_core::sleep::Sleep;

use crate::queue::{JobQueue, PushError};

/// The searcher limit's floor (see `Registry::search_limit`). Under a model checker it is one,
/// so that the models of two workers also check the path of a worker over the limit.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
const MIN_SEARCHERS: usize = 2;
#[cfg(any(shoal_loom, shoal_shuttle))]
const MIN_SEARCHERS: usize = 1;

/// What the pool and its workers share.
pub(crate) struct Registry {
    pub(crate) queue: JobQueue,
    /// The closed flag and the in-flight submissions (`shoal_core::intake`).
    pub(crate) intake: Intake,
    /// The parking protocol (`shoal_core::sleep`); its idle count (`Sleep::idle`: workers
    /// searching, about to sleep or asleep) is the hint a join reads (`shoal_core::fork`).
    pub(crate) sleep: Sleep,
    pub(crate) counters: Counters,
    /// The settings the pool was built with (thread names, stack size, hooks).
    pub(crate) config: PoolConfig,
    /// Queued jobs are to be cancelled, not run (`Shutdown::Now`, or a passed deadline).
    pub(crate) cancel: AtomicBool,
    /// Set once no submission can still be on its way into the queue: from then on, an empty
    /// queue stays empty and workers may exit.
    pub(crate) sealed: AtomicBool,
    /// The logical CPUs of the machine, read once (see `search_limit`).
    cpus: usize,
    /// Phases, worker threads and their indices, resizing, shutdown and its report, broadcasts,
    /// `wait_idle` (shared by every pool).
    pub(crate) life: Lifecycle,
}

impl Registry {
    pub(crate) fn new(config: PoolConfig) -> Registry {
        Registry {
            queue: JobQueue::new(config.capacity()),
            intake: Intake::new(),
            sleep: Sleep::new(),
            counters: Counters::new(),
            life: Lifecycle::with_config(&config),
            config,
            cancel: AtomicBool::new(false),
            sealed: AtomicBool::new(false),
            cpus: shoal_core::default_workers(),
        }
    }

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

    /// How many idle workers may search (spin on the queue) at once: half the cores the
    /// workers can use, at least two (`shoal_core::sleep`, "The searcher limit"). More
    /// spinners would only race each other for each job on the queue's head; on a machine
    /// with fewer cores than workers, they would take cores from workers that have jobs.
    #[inline]
    pub(crate) fn search_limit(&self) -> usize {
        (self.life.target().min(self.cpus) / 2).max(MIN_SEARCHERS)
    }

    /// `true` when a parked worker `index` must wake up and look at the pool's state: the
    /// queue was sealed (shutdown), its index is at or above the target (a shrink), or a
    /// broadcast job waits in its mailbox (asked on the worker's own thread). Each of them is
    /// stored before [`Sleep::wake_all`], which every parked worker answers by checking this
    /// under the sleep lock: so a worker can neither miss its own wake-up nor take another's.
    #[inline]
    pub(crate) fn must_look(&self, index: usize) -> bool {
        // ORDERING: SeqCst loads of flags stored before `Sleep::wake_all`; checked under the
        // sleep lock, which orders them with the wake-up anyway.
        self.sealed.load(Ordering::SeqCst) || self.life.must_retire(index) || self.life.has_mail()
    }

    pub(crate) fn submit(&self, job: Job, blocking: bool) -> Result<(), Rejected> {
        // The in-flight mark: shutdown waits for it before sealing the queue, so a job either
        // sees intake closed and is refused, or is in the queue before the seal (`shoal_core::intake`).
        let Some(in_flight) = self.intake.enter() else {
            // The refused entry counted the job for `wait_idle` for a moment.
            self.life.check_idle(self);
            return self.reject(RejectReason::ShutDown, job);
        };
        let pushed = if blocking {
            self.push_blocking(job)
        } else {
            self.queue.try_push(job).map_err(|e| match e {
                PushError::Full(job) => (RejectReason::Full, job),
                PushError::Closed(job) => (RejectReason::ShutDown, job),
            })
        };
        match pushed {
            Ok(()) => {
                // Wake a sleeper if no worker is searching (`shoal_core::sleep`, steps A-C).
                self.sleep.notify_new_job();
                // Leaving counts the job as accepted.
                drop(in_flight);
                Ok(())
            }
            Err((reason, job)) => {
                in_flight.refused();
                // The entry counted the job for `wait_idle` for a moment (`Intake::entered`):
                // the pool may be idle again now that it is undone.
                self.life.check_idle(self);
                self.reject(reason, job)
            }
        }
    }

    fn reject(&self, reason: RejectReason, job: Job) -> Result<(), Rejected> {
        self.counters.add(Event::Rejected, 1);
        Err(Rejected::new(reason, job))
    }

    fn push_blocking(&self, job: Job) -> Result<(), (RejectReason, Job)> {
        if !worker::is_worker_of(self.id()) {
            return self
                .queue
                .push_blocking(job)
                .map_err(|job| (RejectReason::ShutDown, job));
        }
        // Inside our own worker, waiting for room could deadlock (every worker might be
        // waiting): make room by running queued jobs instead.
        let mut job = job;
        loop {
            match self.queue.try_push(job) {
                Ok(()) => return Ok(()),
                Err(PushError::Closed(j)) => return Err((RejectReason::ShutDown, j)),
                Err(PushError::Full(j)) => {
                    job = j;
                    if self.intake.is_closed() {
                        return Err((RejectReason::ShutDown, job));
                    }
                    match self.queue.try_pop() {
                        Some(queued) => self.run(queued),
                        None => thread::yield_now(),
                    }
                }
            }
        }
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
        crate::worker::spawn_worker(this.clone(), index)
    }
}

/// The steps of the shared life cycle that depend on the queue.
impl Mechanics for Registry {
    fn id(&self) -> usize {
        Registry::id(self)
    }

    /// Closes intake and waits until no submission is still on its way in; then seals.
    fn close(&self, cancel: bool) {
        if cancel {
            // ORDERING: SeqCst like every flag store; see `run`.
            self.cancel.store(true, Ordering::SeqCst);
        }
        // Blocked submitters (in flight, waiting for room) give their jobs back as soon as
        // intake is closed; then no submission is left in flight.
        self.intake.close(|| self.queue.close_intake());
        // ORDERING: SeqCst store, read (SeqCst) by workers before their last pop; the intake
        // drain above happens-before it, so that pop sees every accepted job.
        self.sealed.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
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
        self.sleep.wake_all();
    }

    fn metrics(&self, workers: usize) -> Metrics {
        self.snapshot(workers)
    }

    /// As the default, but with the submissions counted from their entry (before their push),
    /// not from their accepted count (after it): see `Intake::entered`.
    fn is_idle(&self) -> bool {
        let m = self.counters.snapshot(0);
        m.completed + m.panicked + m.cancelled >= m.submitted + self.intake.entered()
    }
}
