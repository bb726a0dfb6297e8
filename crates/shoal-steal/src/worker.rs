//! The worker: its thread-local context, where it looks for jobs, and its loop.
//!
//! ```text
//! loop:
//!   0. run the broadcast jobs in my mailbox, if any (one load when there are none)
//!   1. find a job: LIFO slot → own deque (LIFO) → injector (a batch) → siblings (from a
//!      random start, half of a victim's deque)           hot path: no lock, no syscall
//!   2. found: run it (panic caught and counted); a shrink pending? retire; back to 0
//!   3. nothing: tell `wait_idle` callers the pool may be idle, then idle
//!      (`shoal_core::sleep`): search with a short spin, announce, re-check, park. Idle also
//!      watches two flags, `draining` (shutdown: one more scan, then exit) and the target
//!      (shrink below my index: move our jobs to the injector, exit), and my mailbox (back
//!      to 0)
//! ```
//!
//! Jobs submitted from inside a worker of this pool go to that worker's own deque (or LIFO
//! slot), found through the thread-local [`Context`]. A thread that waits inside a worker
//! (a `JoinHandle::join`, a `map`, a scope) runs jobs through [`help`], in the same order.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;

use shoal_core::sleep::{backoff, Spin};
use shoal_core::sync::atomic::Ordering;
use shoal_core::sync::{thread, thread_local, Arc};
use shoal_core::worker::{self as core_worker, Helper};
use shoal_core::{Event, Task};

use crate::registry::Registry;
use shoal_core::deque::{Local, Siblings, Steal};

/// One worker's private state, reachable from its thread (and jobs running on it).
pub(crate) struct Context {
    registry: Arc<Registry>,
    pool_id: usize,
    /// The worker's index (`shoal_core::identity`): what resizing retires it by.
    index: usize,
    local: Local,
    slot: Cell<Option<Task>>,
    /// Its key in the stealer list (unique over the pool's life) and its copy of the list
    /// (`shoal_core::deque::Siblings`).
    siblings: Siblings,
    /// How long this worker spins before it announces sleep: [`backoff`] rounds, each
    /// followed by a scan of every queue; the budget adapts to what its searches found.
    spin: Spin,
}

#[cfg(not(shoal_loom))]
thread_local! {
    static CONTEXT: RefCell<Option<Rc<Context>>> = const { RefCell::new(None) };
}

// loom's `thread_local!` takes no `const` initializer.
#[cfg(shoal_loom)]
thread_local! {
    static CONTEXT: RefCell<Option<Rc<Context>>> = RefCell::new(None);
}

/// The calling thread's context, if it is a worker of pool `pool_id`.
#[inline]
pub(crate) fn current(pool_id: usize) -> Option<Rc<Context>> {
    CONTEXT
        .try_with(|c| match &*c.borrow() {
            Some(ctx) if ctx.pool_id == pool_id => Some(ctx.clone()),
            _ => None,
        })
        .ok()
        .flatten()
}

/// `true` when the calling thread is a worker of pool `pool_id`.
#[inline]
pub(crate) fn is_worker_of(pool_id: usize) -> bool {
    CONTEXT
        .try_with(|c| matches!(&*c.borrow(), Some(ctx) if ctx.pool_id == pool_id))
        .unwrap_or(false)
}

/// Runs one job of pool `pool_id` on the calling worker, if there is one. `true` if it ran.
pub(crate) fn help(pool_id: usize) -> bool {
    match current(pool_id) {
        Some(ctx) => ctx.help(),
        None => false,
    }
}

/// Moves the calling worker's LIFO-slot job (if any) to its stealable deque.
pub(crate) fn flush_slot() {
    let _ = CONTEXT.try_with(|c| {
        if let Some(ctx) = &*c.borrow() {
            if let Some(job) = ctx.slot.take() {
                ctx.local.push(job);
            }
        }
    });
}

/// What `shoal_core`'s helping waits call on our workers: run one job, found the way the
/// worker loop finds them.
struct StealHelper {
    pool_id: usize,
}

impl Helper for StealHelper {
    fn help_one(&self) -> bool {
        help(self.pool_id)
    }
}

impl Context {
    /// Pushes a job submitted from inside this worker onto its own deque (or LIFO slot).
    #[inline]
    pub(crate) fn push(&self, job: Task) {
        if self.registry.lifo_slot {
            match self.slot.replace(Some(job)) {
                // The slot was empty: we run it next ourselves, nobody needs waking.
                None => return,
                // The previous occupant becomes stealable.
                Some(previous) => self.local.push(previous),
            }
        } else {
            self.local.push(job);
        }
        self.registry.sleep.notify_new_job();
    }

    fn help(&self) -> bool {
        match self.find_job() {
            Some(job) => {
                self.registry.run(job);
                true
            }
            None => false,
        }
    }

    /// Step 1 of the loop: slot, own deque, injector, siblings.
    #[inline]
    fn find_job(&self) -> Option<Task> {
        if let Some(job) = self.slot.take() {
            return Some(job);
        }
        if let Some(job) = self.local.pop() {
            return Some(job);
        }
        self.steal()
    }

    /// After a batch landed in our deque: we are the submitter of the jobs it brought (they
    /// were invisible to everyone while in transit, and we may now block in the job we took),
    /// so wake a sleeper if nobody searches (`shoal_core::sleep`, steps A-C). A batch of one costs
    /// nothing.
    #[inline]
    fn announce_batch(&self) {
        if !self.local.is_empty() {
            self.registry.sleep.notify_new_job();
        }
    }

    /// Takes a batch from the injector or, failing that, from a sibling. Returns `None` only
    /// after a full pass in which every queue was seen empty (no lost race).
    fn steal(&self) -> Option<Task> {
        let registry = &*self.registry;
        loop {
            let mut retry = false;
            match registry.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(job) => {
                    self.announce_batch();
                    return Some(job);
                }
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            match self.siblings.steal_batch(&registry.stealers, &self.local) {
                Ok(job) => {
                    let taken = 1 + self.local.len() as u64;
                    registry.counters.add(Event::Steal, taken);
                    self.announce_batch();
                    return Some(job);
                }
                Err(lost_race) => retry |= lost_race,
            }
            if !retry {
                return None;
            }
            shoal_core::sync::spin_loop();
        }
    }

    /// `true` if some queue (our deque, the injector, a sibling's deque) holds a job: the
    /// last searcher's test before it hands the search on (`shoal_core::sleep`, step 5).
    fn work_visible(&self) -> bool {
        let registry = &*self.registry;
        if !self.local.is_empty() || !registry.injector.is_empty() {
            return true;
        }
        self.siblings.any_queued(&registry.stealers)
    }

    /// Retires if our index is at or above the pool's target (`Lifecycle::try_retire`), and
    /// leaves: our jobs go back to the injector, our stealer leaves the list. `false` if we
    /// stay, also when shutdown began (the shutdown drains every deque; we stay and help).
    #[inline]
    fn try_retire(&self) -> bool {
        self.retire_pending() && self.retire()
    }

    /// [`try_retire`](Self::try_retire) once a retirement is pending.
    #[cold]
    fn retire(&self) -> bool {
        let registry = &*self.registry;
        // Moving jobs is a submission: in flight until they are in the injector, so that a
        // shutdown starting now waits for them before workers may conclude "all empty".
        let Some(in_flight) = registry.intake.enter() else {
            return false;
        };
        if !registry.life.try_retire(self.index) {
            in_flight.leave_uncounted();
            return false;
        }
        let mut moved = 0usize;
        if let Some(job) = self.slot.take() {
            registry.injector.push(job);
            moved += 1;
        }
        while let Some(job) = self.local.pop() {
            registry.injector.push(job);
            moved += 1;
        }
        in_flight.leave_uncounted();
        registry.stealers.remove(self.siblings.id());
        if moved > 0 {
            // We are their submitter now (see the proof in `shoal_core::sleep`).
            registry.sleep.notify_new_job();
        }
        true
    }

    /// `true` when we should retire: our index is at or above the target (a shrink) and
    /// intake is still open (once shutdown closed it, we stay and help drain, and looking
    /// again would only spin until `draining` is set).
    #[inline]
    fn retire_pending(&self) -> bool {
        self.registry.life.must_retire(self.index) && !self.registry.intake.is_closed()
    }

    /// `true` when a parked worker must wake up and look: shutdown is draining, a retirement
    /// is pending for us, or a broadcast job waits in our mailbox.
    #[inline]
    fn must_look(&self) -> bool {
        let registry = &*self.registry;
        registry.must_look() || self.retire_pending() || registry.life.has_mail()
    }

    /// Step 3: nothing found. Search, announce, re-check, park; see `shoal_core::sleep`.
    fn idle(&self) -> Idle {
        let registry = &*self.registry;
        let sleep = &registry.sleep;
        // The job that ended last may have left the pool idle.
        registry.life.check_idle(registry);
        // Every idle worker searches: its spin also polls the siblings' deques (see
        // "The searcher limit" in `shoal_core::sleep`).
        let searching = sleep.try_start_searching(usize::MAX);
        debug_assert!(searching, "no limit: every idle worker searches");
        let mut round = 0;
        let mut spell = self.spin.spell();
        loop {
            if registry.life.has_mail() {
                sleep.stop_searching(|| self.work_visible());
                return Idle::Mail;
            }
            // ORDERING: SeqCst, paired with the store in `Registry::shutdown`, which follows the
            // intake drain: the scan below sees every job accepted before the shutdown.
            if registry.draining.load(Ordering::SeqCst) {
                let found = self.find_job();
                sleep.stop_searching(|| self.work_visible());
                return match found {
                    Some(job) => Idle::Task(job),
                    None => Idle::Exit,
                };
            }
            if self.try_retire() {
                sleep.stop_searching(|| self.work_visible());
                return Idle::Retired;
            }
            if let Some(job) = self.find_job() {
                sleep.stop_searching(|| self.work_visible());
                spell.found();
                return Idle::Task(job);
            }
            if round < spell.rounds() {
                backoff(round);
                round += 1;
                continue;
            }
            spell.sleeps(true);
            // Step 2: announce. Step 3: re-check every queue and flag.
            sleep.announce_sleepy(true);
            if let Some(job) = self.find_job() {
                sleep.cancel_sleepy();
                sleep.stop_searching(|| self.work_visible());
                return Idle::Task(job);
            }
            if self.must_look() {
                sleep.cancel_sleepy();
                continue;
            }
            // Step 4: park until a token or a flag; we come back searching.
            sleep.park(&registry.counters, || self.must_look());
            round = 0;
        }
    }

    fn main_loop(&self) {
        let registry = &*self.registry;
        loop {
            registry.life.run_mail();
            let job = match self.find_job() {
                Some(job) => job,
                None => match self.idle() {
                    Idle::Task(job) => job,
                    Idle::Mail => continue,
                    Idle::Exit | Idle::Retired => return,
                },
            };
            registry.run(job);
            shoal_core::lifecycle::faults::fault_point();
            if self.try_retire() {
                return;
            }
        }
    }
}

enum Idle {
    Task(Task),
    /// A broadcast job waits in our mailbox.
    Mail,
    /// Shutdown is draining and every queue was empty after we saw it.
    Exit,
    /// We claimed a retirement and moved our jobs out.
    Retired,
}

/// Starts worker `index`: its deque, its entry in the stealer list, its thread. Every worker
/// thread of the pool is started here (through `Lifecycle::starter`, which counts it).
pub(crate) fn spawn_worker(
    registry: &Arc<Registry>,
    index: usize,
) -> io::Result<thread::JoinHandle<()>> {
    let local = Local::new();
    let id = registry.stealers.add(local.stealer());
    let for_thread = registry.clone();
    // Searching until its thread runs (`Sleep::starting`): a join offers work for it.
    registry.sleep.starting();
    registry
        .config
        .spawn("shoal-steal", index, move || {
            run(for_thread, local, index, id)
        })
        .inspect_err(|_| {
            registry.stealers.remove(id);
            // A failed start is rare: wake a sleeper (if one sleeps) to look for whatever a
            // submitter left to the worker that never came.
            registry.sleep.started(|| true);
        })
}

/// The body of worker `index`'s thread (`shoal_core::identity`), listed as stealer `id`.
fn run(registry: Arc<Registry>, local: Local, index: usize, id: usize) {
    let pool_id = registry.id();
    let ctx = Rc::new(Context {
        siblings: Siblings::new(&registry.stealers, id),
        registry: registry.clone(),
        pool_id,
        index,
        local,
        slot: Cell::new(None),
        spin: Spin::new(),
    });
    CONTEXT.with(|c| *c.borrow_mut() = Some(ctx.clone()));
    // Before the start hook: the count `spawn_worker` made ends here.
    registry.sleep.started(|| ctx.work_visible());
    // Declared before the worker state, so dropped after it is restored. It owns the
    // thread's last handle on the context, so it can empty the deque and slot.
    let exit = ExitGuard {
        registry: &registry,
        ctx: Some(ctx),
        _life: registry.life.exit_guard(&*registry, index),
    };
    let _worker = core_worker::enter(pool_id, std::sync::Arc::new(StealHelper { pool_id }));
    if let Some(ctx) = &exit.ctx {
        ctx.main_loop();
    }
}

/// Ends a worker when dropped, at the end of `run` or by an unwind out of it: accounts for any
/// job left in its slot or deque, then (its `_life` field dropping last) reports the exit, so
/// shutdown never waits for a worker that is gone.
struct ExitGuard<'a> {
    registry: &'a Registry,
    ctx: Option<Rc<Context>>,
    _life: shoal_core::lifecycle::ExitGuard<'a>,
}

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| c.borrow_mut().take());
        // The loop leaves only with an empty slot and deque (it found nothing, or it moved
        // them out); anything else would be a bug, and even then no job is dropped uncounted.
        if let Some(Ok(ctx)) = self.ctx.take().map(Rc::try_unwrap) {
            if std::thread::panicking() {
                // An unwind out of the loop (a bug): leave the stealer list.
                self.registry.stealers.remove(ctx.siblings.id());
            }
            debug_assert!(
                std::thread::panicking() || ctx.local.is_empty(),
                "a worker exited with queued jobs"
            );
            if let Some(job) = ctx.slot.take() {
                core_worker::cancel_job(job, &self.registry.counters);
            }
            ctx.local.cancel_all(&self.registry.counters);
        }
    }
}
