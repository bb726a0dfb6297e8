//! The state every worker of one pool shares: the two queues, the demand counter, the
//! sleeper list, the counters, and the pool's life cycle (shutdown, resize).
//!
//! ## Two queues
//! - The **injector** holds internal [`JobRef`]s: halves of `join` that a worker *offered*
//!   because someone was hungry, scope tasks, and closures that outside threads `install`.
//!   Their owners wait for them, so they are never cancelled: a shutdown lets them run. It
//!   sits behind a mutex: work reaches it only when a worker offers it (rare, see
//!   [`crate::worker`]) or from outside. An atomic length lets idle threads poll it without
//!   locking.
//! - The **external queue** holds `'static` jobs ([`Task`]s) submitted through
//!   [`Executor`](shoal_core::Executor). It is the one that can be bounded, counted in the
//!   metrics, drained or cancelled by a shutdown. It is the shared-queue pool's lock-free
//!   queue and intake gate ([`SharedQueue`]), so that tiny jobs submitted from many threads
//!   (from outside, or jobs spawning jobs on every worker) do not queue up behind one lock.
//! - **Each worker's deque** holds the external jobs that worker submitted itself (a job
//!   spawning jobs, an `ExecutorExt::scope` task), when the pool's queue is unbounded: its
//!   owner pushes and pops them LIFO with no gate and no shared write, idle siblings steal
//!   them (`shoal_core::deque`, the work-stealing pool's queues). So a job that spawns its
//!   successor hands it to its own worker, not to a queue every worker races for. A bounded
//!   pool sends these jobs to the external queue too, which is what it bounds.
//!
//! ## Demand
//! `demand` = threads looking for work (idle workers, owners waiting on a taken half, and
//! workers still starting up) − internal jobs queued. A joining worker offers a job only
//! while it is positive, so jobs move between threads only when someone would take them.
//! It is a heuristic: a wrong reading costs a needless offer or a missed one (the job then
//! runs on its owner), never a lost job.

use std::collections::VecDeque;
use std::io;
use std::ptr;

use crossbeam_utils::CachePadded;
use shoal_core::deque::Stealers;
use shoal_core::lifecycle::{Lifecycle, Mechanics, Workers};
use shoal_core::queue::SharedQueue;
use shoal_core::sleep::{backoff, Spell, LONG_SPIN};
use shoal_core::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use shoal_core::sync::{lock, thread, Arc, Mutex, MutexGuard};
use shoal_core::PoolConfig;
use shoal_core::{Counters, Event, Metrics, RejectReason, Rejected, Task};
use std::sync::TryLockError;

use crate::job::JobRef;
use crate::latch::Latch;
use crate::sleep::{Sleep, Slept};
use crate::worker::{OwnDeque, WorkerThread};

/// Something a thread took from the queues.
pub(crate) enum Work {
    Internal(JobRef),
    External(Task),
}

/// The injector of internal jobs.
struct Internal {
    jobs: VecDeque<JobRef>,
    /// Outside `install`s are refused from now on.
    closed: bool,
}

/// What the pool and its workers share.
pub(crate) struct Registry {
    /// Looking threads − queued internal jobs; see the module docs.
    pub(crate) demand: CachePadded<AtomicIsize>,
    /// Jobs in the injector (changed under its lock; read without it).
    queued: CachePadded<AtomicUsize>,
    internal: Mutex<Internal>,
    /// Jobs submitted through `Executor`, with their intake gate and cancel flag.
    pub(crate) external: SharedQueue,
    /// Jobs a worker submits go to its own deque (the queue is unbounded).
    pub(crate) local_deques: bool,
    /// Every worker's deque, for siblings to steal from.
    pub(crate) stealers: Stealers,
    pub(crate) sleep: Sleep,
    pub(crate) counters: Counters,
    /// The settings the pool was built with (thread names, stack size, hooks).
    pub(crate) config: PoolConfig,
    /// Intake closed (mirror of `Queues::closed`, readable without the lock).
    closed: AtomicBool,
    /// Phases, worker threads and their indices, resizing, shutdown and its report, broadcasts,
    /// `wait_idle` (shared by every pool).
    pub(crate) life: Lifecycle,
    /// The logical CPUs of the machine, read once (see `search_limit`).
    cpus: usize,
}

impl Registry {
    /// The shared state of a pool built from `config` (its workers start afterwards).
    pub(crate) fn new(config: PoolConfig) -> Registry {
        let life = Lifecycle::with_config(&config);
        Registry {
            demand: CachePadded::new(AtomicIsize::new(0)),
            queued: CachePadded::new(AtomicUsize::new(0)),
            internal: Mutex::new(Internal {
                jobs: VecDeque::new(),
                closed: false,
            }),
            external: SharedQueue::new(config.capacity()),
            local_deques: config.capacity().is_none(),
            stealers: Stealers::new(),
            sleep: Sleep::new(),
            counters: Counters::new(),
            config,
            closed: AtomicBool::new(false),
            life,
            cpus: shoal_core::default_workers(),
        }
    }

    /// How many threads may spin in a search at once: half the cores the workers can use, at
    /// least two (see `sleep.rs`). More spinners only race each other for each job (and, on
    /// a machine with fewer cores than workers, take cores from threads that have work).
    #[inline]
    fn search_limit(&self) -> usize {
        (self.life.target().min(self.cpus) / 2).max(2)
    }

    /// The id under which workers register with `shoal_core::worker`.
    pub(crate) fn id(&self) -> usize {
        self as *const Registry as usize
    }

    /// Intake closed?
    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: SeqCst pairs with the store in `close`, made after the external queue's
        // gate saw no submission in flight: a worker that sees the flag and then finds the
        // queues empty sees every external job accepted before the close.
        self.closed.load(Ordering::SeqCst)
    }

    // ---- queues ----------------------------------------------------------------------------

    /// Queues an internal job (an offered join half, a scope task) and wakes a sleeper.
    pub(crate) fn inject(&self, job: JobRef) {
        {
            let mut internal = lock(&self.internal);
            internal.jobs.push_back(job);
            // ORDERING: the pusher half of the sleep protocol (see `sleep`); under the lock.
            self.queued.fetch_add(1, Ordering::SeqCst);
        }
        // ORDERING: Relaxed: `demand` is a hint, see the module docs.
        self.demand.fetch_sub(1, Ordering::Relaxed);
        self.sleep.notify_one();
    }

    /// Queues a closure an outside thread installs; refused (`false`) once intake is closed,
    /// because the workers may be gone.
    pub(crate) fn inject_if_open(&self, job: JobRef) -> bool {
        {
            let mut internal = lock(&self.internal);
            if internal.closed {
                return false;
            }
            internal.jobs.push_back(job);
            // ORDERING: as in `inject`.
            self.queued.fetch_add(1, Ordering::SeqCst);
        }
        // ORDERING: as in `inject`.
        self.demand.fetch_sub(1, Ordering::Relaxed);
        self.sleep.notify_one();
        true
    }

    /// Queues an external job: on the calling worker's own deque if it has one, otherwise on
    /// the shared queue. `blocking`: wait for room in a full bounded queue (inside one of our
    /// workers: run queued jobs meanwhile, so waiting cannot deadlock the pool).
    #[inline]
    pub(crate) fn submit(&self, job: Task, blocking: bool) -> Result<(), Rejected> {
        if self.local_deques {
            // SAFETY: a non-null current worker is alive on this thread's stack.
            if let Some(me) = unsafe { WorkerThread::current().as_ref() } {
                if let Some(deque) = me.deque.as_ref().filter(|_| ptr::eq(&*me.registry, self)) {
                    return self.submit_local(deque, job);
                }
            }
        }
        self.submit_shared(job, blocking)
    }

    /// Queues a job a worker submits on its own deque. No gate: this worker is running (it is
    /// the caller) and empties its deque before it exits, by running the jobs (shutdown) or by
    /// moving them to the shared queue (a retirement).
    #[inline]
    fn submit_local(&self, deque: &OwnDeque, job: Task) -> Result<(), Rejected> {
        if self.external.intake().is_closed() {
            self.counters.add(Event::Rejected, 1);
            return Err(Rejected::new(RejectReason::ShutDown, job.into_job()));
        }
        self.counters.add(Event::Submitted, 1);
        deque.local.push(job);
        // The pusher's half of the sleep protocol: a sibling asleep while nobody searches is
        // woken to steal it (this job may block without helping).
        self.sleep.notify_one();
        Ok(())
    }

    fn submit_shared(&self, job: Task, blocking: bool) -> Result<(), Rejected> {
        self.external.submit(
            self,
            &self.counters,
            job,
            blocking,
            || match self.take(None) {
                Some(work) => {
                    self.run(work);
                    true
                }
                None => false,
            },
            || self.sleep.notify_one(),
        )
    }

    /// External jobs queued now: in the shared queue and in the workers' deques.
    pub(crate) fn queued_external(&self) -> usize {
        let deques: usize = self
            .stealers
            .snapshot()
            .entries
            .iter()
            .map(|e| e.stealer.len())
            .sum();
        self.external.len() + deques
    }

    /// `true` when a queue holds a job: the injector, the external queue, and (for `me`, a
    /// worker with a deque) every worker's deque.
    #[inline]
    pub(crate) fn has_work(&self, me: Option<&WorkerThread>) -> bool {
        // ORDERING: in the sleep protocol these reads follow the sleeper's SeqCst fence (see
        // `sleep`): the injector's count is changed by SeqCst RMWs, the channel's tail too
        // (`shoal_core::queue`), and a deque's push precedes its pusher's fence
        // (`Registry::submit_local`). Elsewhere it is a hint that saves a lock when all are
        // empty.
        if self.queued.load(Ordering::SeqCst) != 0 || !self.external.is_empty() {
            return true;
        }
        match me.and_then(|w| w.deque.as_ref()) {
            Some(deque) => !deque.local.is_empty() || deque.siblings.any_queued(&self.stealers),
            None => false,
        }
    }

    /// Takes one job: internal ones first (their owners are waiting), then external ones: for
    /// `me`, a worker with a deque, its own newest, then the shared queue's oldest, then a
    /// batch stolen from a sibling's deque.
    #[inline]
    pub(crate) fn take(&self, me: Option<&WorkerThread>) -> Option<Work> {
        // ORDERING: a hint that saves the lock when the injector is empty; the sleep protocol
        // reads it again after its fence (`has_work`).
        if self.queued.load(Ordering::SeqCst) != 0 {
            if let Some(job) = self.take_internal(lock(&self.internal)) {
                return Some(job);
            }
        }
        self.take_external(me)
    }

    /// `take` for a spinning search: if another thread holds the injector's lock (it is taking
    /// or offering a job right now), skips the injector this round instead of waiting for the
    /// lock (two spinners racing for one offered half would otherwise meet in the lock's
    /// futex), and looks at the external queues, which take no lock.
    fn try_take(&self, me: &WorkerThread) -> Option<Work> {
        // ORDERING: as in `take`.
        if self.queued.load(Ordering::SeqCst) != 0 {
            let internal = match self.internal.try_lock() {
                Ok(internal) => Some(internal),
                // Poisoned: shoal runs no user code under this lock (`shoal_core::sync::lock`).
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(job) = internal.and_then(|i| self.take_internal(i)) {
                return Some(job);
            }
        }
        self.take_external(Some(me))
    }

    /// The external half of `take`.
    #[inline]
    fn take_external(&self, me: Option<&WorkerThread>) -> Option<Work> {
        let Some(deque) = me.and_then(|w| w.deque.as_ref()) else {
            return self.external.try_pop().map(Work::External);
        };
        if let Some(job) = deque.local.pop() {
            return Some(Work::External(job));
        }
        if let Some(job) = self.external.try_pop() {
            return Some(Work::External(job));
        }
        self.steal(deque)
    }

    /// Steals a batch from a sibling's deque into ours and returns one of its jobs. `None`
    /// only after a pass that lost no race.
    #[inline(never)]
    fn steal(&self, deque: &OwnDeque) -> Option<Work> {
        loop {
            match deque.siblings.steal_batch(&self.stealers, &deque.local) {
                Ok(job) => {
                    let more = deque.local.len();
                    self.counters.add(Event::Steal, 1 + more as u64);
                    if more > 0 {
                        // The rest of the batch was invisible in transit, and the job we took
                        // may block: we are its submitter now (as in `submit_local`).
                        self.sleep.notify_one();
                    }
                    return Some(Work::External(job));
                }
                Err(false) => return None,
                Err(true) => shoal_core::sync::spin_loop(),
            }
        }
    }

    /// Pops one internal job under the injector's lock.
    #[inline(never)]
    fn take_internal(&self, mut internal: MutexGuard<'_, Internal>) -> Option<Work> {
        if let Some(job) = internal.jobs.pop_front() {
            // ORDERING: under the lock; SeqCst keeps it in the sleep protocol's total order.
            self.queued.fetch_sub(1, Ordering::SeqCst);
            drop(internal);
            // ORDERING: Relaxed, a hint (module docs): one queued job fewer.
            self.demand.fetch_add(1, Ordering::Relaxed);
            self.counters.add(Event::Steal, 1);
            return Some(Work::Internal(job));
        }
        None
    }

    /// The worker loop's fast path: when no internal job waits, runs the newest job on `me`'s
    /// own deque straight from the pop (a job spawning its successor lands there). `false`
    /// when there was none: then `take` (or a search) looks everywhere.
    #[inline]
    pub(crate) fn run_own(&self, me: &WorkerThread) -> bool {
        // ORDERING: as in `take`: internal jobs go first, and a stale zero only lets one
        // external job run before a queued internal one.
        if self.queued.load(Ordering::SeqCst) != 0 {
            return false;
        }
        match me.deque.as_ref().and_then(|d| d.local.pop()) {
            Some(job) => {
                self.external
                    .run(job, &self.counters, self.config.handler());
                true
            }
            None => false,
        }
    }

    /// Runs what `take` returned.
    #[inline]
    pub(crate) fn run(&self, work: Work) {
        match work {
            // SAFETY: a JobRef in the injector is live and leaves it exactly once (here).
            Work::Internal(job) => unsafe { job.execute() },
            Work::External(job) => {
                self.external
                    .run(job, &self.counters, self.config.handler());
            }
        }
    }

    // ---- idling ----------------------------------------------------------------------------

    /// Looks for work until `stop` holds: spins a little, then sleeps (see [`crate::sleep`]).
    /// With a `latch`, the caller is that latch's owner and its setter wakes it too.
    /// `counted`: the caller is already counted in `demand` (a worker's first search takes
    /// over the count `start_worker` made for it, so it is never uncounted while idle).
    ///
    /// How long it spins adapts to what the thread's searches found: `me.spin` is the thread's
    /// own budget ([`Spin`](shoal_core::sleep::Spin)), read at the start and set when the
    /// search ends its spin.
    pub(crate) fn search(
        &self,
        me: &WorkerThread,
        latch: Option<&Latch>,
        stop: &dyn Fn() -> bool,
        counted: bool,
    ) -> Option<Work> {
        let (parker, spin) = (&me.parker, &me.spin);
        if !counted {
            if let Some(work) = self.take(Some(me)) {
                return Some(work);
            }
            // ORDERING: Relaxed, a hint (module docs): one more thread looking.
            self.demand.fetch_add(1, Ordering::Relaxed);
        }
        let limit = self.search_limit();
        // Under a model checker there is no spin phase, so no search of our own either (it
        // would only multiply the interleavings; loom ran the models with it once, in 13
        // minutes instead of one): a thread then searches only when a waker counted it so.
        let mut searching = LONG_SPIN > 0 && self.sleep.try_start_searching(limit);
        let mut spell = spin.spell();
        // The owner of a latch spins long whatever its budget: it waits for one event, the
        // end of a half another thread runs, which often comes within microseconds (the two
        // halves of a join are often alike). If it slept, that half's end would cost a
        // wake-up, and its next join would find the other thread asleep too (`join-loop`).
        let budget = |spell: &Spell<'_>| {
            if latch.is_some() {
                LONG_SPIN
            } else {
                spell.rounds()
            }
        };
        // Over the limit: no spin, straight to the sleep protocol.
        let mut rounds = if searching { 0 } else { budget(&spell) };
        let mut checked_idle = false;
        let mut first = true;
        let found = loop {
            if stop() {
                break None;
            }
            // The first look after starting or waking waits for the lock; the spin rounds
            // after it skip a held lock (`try_take`).
            let work = if first {
                self.take(Some(me))
            } else {
                self.try_take(me)
            };
            first = false;
            if let Some(work) = work {
                break Some(work);
            }
            if !checked_idle {
                // Out of work: the job that ended last may have left the pool idle.
                self.life.check_idle(self);
                checked_idle = true;
            }
            if rounds < budget(&spell) {
                backoff(rounds);
                rounds += 1;
                continue;
            }
            spell.sleeps(searching);
            if searching {
                // Giving up: the check after registering in `sleep` covers what we leave.
                self.sleep.stop_searching(false, || false);
                searching = false;
            }
            if latch.map_or(true, Latch::try_sleep) {
                let slept = self
                    .sleep
                    .sleep(parker, || stop() || self.has_work(Some(me)));
                if slept != Slept::NotParked {
                    self.counters.add(Event::Park, 1);
                }
                // Popped by a waker: counted as searching on our behalf.
                searching = slept == Slept::WokenSearching;
                if let Some(latch) = latch {
                    latch.wake_up();
                }
            }
            if !searching && LONG_SPIN > 0 {
                searching = self.sleep.try_start_searching(limit);
            }
            rounds = if searching { 0 } else { budget(&spell) };
            first = true;
        };
        if found.is_some() {
            spell.found();
        }
        // ORDERING: Relaxed, a hint: this thread stops looking.
        self.demand.fetch_sub(1, Ordering::Relaxed);
        if searching {
            // Found work as the last searcher: hand the search on if work is left (sleep.rs).
            self.sleep
                .stop_searching(found.is_some(), || self.has_work(Some(me)));
        }
        if found.is_none() && self.has_work(Some(me)) {
            // We may have been woken (and counted as searching) for a job we are not taking:
            // pass the wake on.
            self.sleep.notify_one();
        }
        found
    }

    /// Runs queued jobs until `latch` is set (help-while-waiting); sleeps when there are none.
    /// Broadcast jobs posted to the waiting worker run too: the latch may wait for a job that
    /// waits for this worker's part of a broadcast.
    pub(crate) fn wait_until(&self, latch: &Latch, me: &WorkerThread) {
        while !latch.probe() {
            self.life.run_mail();
            let stop = || latch.probe() || self.life.has_mail();
            if let Some(work) = self.search(me, Some(latch), &stop, false) {
                self.run(work);
            }
        }
    }

    // ---- life cycle ------------------------------------------------------------------------
}

/// What the life cycle starts and resizes.
impl Workers for Registry {
    fn life(&self) -> &Lifecycle {
        &self.life
    }

    fn spawn_worker(this: &Arc<Self>, index: usize) -> io::Result<thread::JoinHandle<()>> {
        // A starting worker counts as hungry from now on, so work offered before its thread
        // runs waits in the injector for it; its first `search` takes the count over.
        // ORDERING: Relaxed, `demand` is a hint (see above).
        this.demand.fetch_add(1, Ordering::Relaxed);
        crate::worker::spawn_worker(this.clone(), index).inspect_err(|_| {
            // ORDERING: as above.
            this.demand.fetch_sub(1, Ordering::Relaxed);
        })
    }
}

/// The steps of the shared life cycle that depend on the two queues. A shutdown cancels only
/// external jobs: the owners of internal ones wait for them, so they always run.
impl Mechanics for Registry {
    fn id(&self) -> usize {
        Registry::id(self)
    }

    /// Closes intake: from now on external submissions and outside `install`s are refused.
    /// Returns once no external submission is on its way in. With `cancel`, external jobs
    /// taken from now on are dropped unrun.
    fn close(&self, cancel: bool) {
        self.external.close(cancel);
        {
            let mut internal = lock(&self.internal);
            internal.closed = true;
            // ORDERING: SeqCst, see `is_closed`.
            self.closed.store(true, Ordering::SeqCst);
        }
        self.sleep.notify_all();
    }

    /// Drops every queued external job unrun (counted as cancelled), in the shared queue and
    /// in the workers' deques. Internal jobs stay: their owners wait for them.
    fn cancel_queued(&self) {
        self.external.cancel_queued(&self.counters);
        self.stealers.cancel_all(&self.counters);
    }

    fn wake_all(&self, _alive: usize) {
        self.sleep.notify_all();
    }

    fn metrics(&self, workers: usize) -> Metrics {
        self.external.snapshot(&self.counters, workers)
    }

    fn is_idle(&self) -> bool {
        self.external.is_idle(&self.counters)
    }
}
