//! What the pool and its workers share: the queue with its intake gate
//! (`shoal_core::queue`), the sleep protocol, the counters and the pool's life cycle; the
//! steps of the shared life cycle (`shoal_core::lifecycle`) that depend on the queue.

use std::io;

use shoal_core::lifecycle::{Lifecycle, Mechanics, Workers};
use shoal_core::queue::SharedQueue;
use shoal_core::sleep::Sleep;
use shoal_core::sync::atomic::{AtomicBool, Ordering};
use shoal_core::sync::{thread, Arc};
use shoal_core::PoolConfig;
use shoal_core::{Counters, Metrics, Rejected, Task};

/// The searcher limit's floor (see `Registry::search_limit`). Under a model checker it is one,
/// so that the models of two workers also check the path of a worker over the limit.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
const MIN_SEARCHERS: usize = 2;
#[cfg(any(shoal_loom, shoal_shuttle))]
const MIN_SEARCHERS: usize = 1;

/// What the pool and its workers share.
pub(crate) struct Registry {
    /// The queue, its intake gate and its cancel flag (`shoal_core::queue`).
    pub(crate) queue: SharedQueue,
    /// The parking protocol (`shoal_core::sleep`); its idle count (`Sleep::idle`: workers
    /// searching, about to sleep or asleep) is the hint a join reads (`shoal_core::fork`).
    pub(crate) sleep: Sleep,
    pub(crate) counters: Counters,
    /// The settings the pool was built with (thread names, stack size, hooks).
    pub(crate) config: PoolConfig,
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
            queue: SharedQueue::new(config.capacity()),
            sleep: Sleep::new(),
            counters: Counters::new(),
            life: Lifecycle::with_config(&config),
            config,
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
    pub(crate) fn run(&self, job: Task) {
        self.queue.run(job, &self.counters, self.config.handler());
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

    pub(crate) fn submit(&self, job: Task, blocking: bool) -> Result<(), Rejected> {
        self.queue.submit(
            self,
            &self.counters,
            job,
            blocking,
            || match self.queue.try_pop() {
                Some(queued) => {
                    self.run(queued);
                    true
                }
                None => false,
            },
            // Wake a sleeper if no worker is searching (`shoal_core::sleep`, steps A-C).
            || self.sleep.notify_new_job(),
        )
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
        self.queue.close(cancel);
        // ORDERING: SeqCst store, read (SeqCst) by workers before their last pop; the intake
        // drain above happens-before it, so that pop sees every accepted job.
        self.sealed.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
    }

    /// Drops every queued job unrun (counted as cancelled), and cancels the jobs workers
    /// take from now on.
    fn cancel_queued(&self) {
        self.queue.cancel_queued(&self.counters);
    }

    fn wake_all(&self, _alive: usize) {
        self.sleep.wake_all();
    }

    fn metrics(&self, workers: usize) -> Metrics {
        self.queue.snapshot(&self.counters, workers)
    }

    fn is_idle(&self) -> bool {
        self.queue.is_idle(&self.counters)
    }
}
