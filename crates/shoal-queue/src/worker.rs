//! The worker loop.
//!
//! ```text
//! loop:
//!   0. run the broadcast jobs in my mailbox, if any (one load when there are none)
//!   1. try_pop a job                           (hot path: no lock, no syscall)
//!   2. found: run it (panic caught and counted); my index at or above the target? retire;
//!      back to 0
//!   3. nothing: tell `wait_idle` callers the pool may be idle, then idle
//!      (`shoal_core::sleep`): search with a short spin, announce, re-check, park. Idle also
//!      watches the pool's state: the seal (shutdown: one more pop, then exit), the target
//!      (shrink below my index: retire) and my mailbox (a broadcast: back to 0)
//! ```
//!
//! A worker never exits while a job it could run is queued: it only exits when the queue is
//! *sealed* (shutdown has closed intake and no submission is in flight, so the queue can only
//! shrink) and a pop after observing the seal finds it empty, or when it retires because the
//! pool shrank below its index, in which case the workers `0..target` (`target >= 1`) stay to
//! serve the queue.

use std::io;

use shoal_core::sleep::{backoff, Spin};
use shoal_core::sync::atomic::Ordering;
use shoal_core::sync::{thread, Arc};
use shoal_core::worker::{self, Helper};
use shoal_core::Task;

use crate::registry::Registry;

/// Starts worker number `index`. Every worker thread of the pool is started here, so this is
/// where the builder's spawn hook is asked first (`shoal_core::spawn`): a refusal, like the OS
/// refusing a thread, comes back as the `Err` that `build` and `resize` turn into their errors.
pub(crate) fn spawn_worker(
    registry: Arc<Registry>,
    index: usize,
) -> io::Result<thread::JoinHandle<()>> {
    let for_thread = registry.clone();
    // Searching until its thread runs (`Sleep::starting`): a join offers work for it.
    registry.sleep.starting();
    registry
        .config
        .spawn("shoal-queue", index, move || run(for_thread, index))
        .inspect_err(|_| registry.sleep.started(|| true))
}

/// Lets a thread that waits inside one of our workers run our queued jobs.
struct QueueHelper(Arc<Registry>);

impl Helper for QueueHelper {
    fn help_one(&self) -> bool {
        match self.0.queue.try_pop() {
            Some(job) => {
                self.0.run(job);
                true
            }
            None => false,
        }
    }
}

/// How an idle spell ended.
enum Idle {
    Job(Task),
    /// A broadcast job waits in our mailbox.
    Mail,
    /// The queue is sealed and was empty after we saw the seal.
    Exit,
    /// The pool shrank below our index and we retired.
    Retired,
}

/// Step 3: the queue was empty. Search, announce, re-check, park (`shoal_core::sleep`).
///
/// Every wake-up that is not for a job (the seal, a shrink, a broadcast) comes from
/// [`Sleep::wake_all`](shoal_core::sleep::Sleep::wake_all) after its flag was stored, and a
/// parked worker checks its own flags (`Registry::must_look`) under the sleep lock before it
/// waits: so no worker misses its wake-up, and none can take another's.
///
/// A searcher spins (`spin`'s budget of rounds, each [`backoff`] then a look at the queue)
/// before it announces; the budget adapts to what this worker's searches found ([`Spin`]).
fn idle(registry: &Registry, index: usize, spin: &Spin) -> Idle {
    let sleep = &registry.sleep;
    let more_work = || !registry.queue.is_empty();
    // The job that ended last may have left the pool idle.
    registry.life.check_idle(registry);
    let mut searching = sleep.try_start_searching(registry.search_limit());
    let mut round = 0;
    let mut spell = spin.spell();
    loop {
        // ORDERING: SeqCst pairs with the store of `sealed` in `Registry::close`, which the
        // intake drain happens-before: the pop below sees every job accepted before the seal.
        if registry.sealed.load(Ordering::SeqCst) {
            let found = registry.queue.try_pop();
            if searching {
                sleep.stop_searching(more_work);
            }
            return match found {
                Some(job) => Idle::Job(job),
                None => Idle::Exit,
            };
        }
        if registry.life.try_retire(index) {
            if searching {
                sleep.stop_searching(more_work);
            }
            return Idle::Retired;
        }
        if registry.life.has_mail() {
            if searching {
                sleep.stop_searching(more_work);
            }
            return Idle::Mail;
        }
        if searching {
            if let Some(job) = registry.queue.try_pop() {
                sleep.stop_searching(more_work);
                spell.found();
                return Idle::Job(job);
            }
            if round < spell.rounds() {
                backoff(round);
                round += 1;
                continue;
            }
        }
        spell.sleeps(searching);
        // Step 2: announce. Step 3: re-check the queue and the pool's state.
        sleep.announce_sleepy(searching);
        if let Some(job) = registry.queue.try_pop() {
            sleep.cancel_sleepy();
            sleep.stop_searching(more_work);
            return Idle::Job(job);
        }
        if registry.must_look(index) {
            sleep.cancel_sleepy();
            searching = true;
            continue;
        }
        // Step 4: park until a token or a flag; we come back searching.
        sleep.park(&registry.counters, || registry.must_look(index));
        searching = true;
        round = 0;
    }
}

fn run(registry: Arc<Registry>, index: usize) {
    // First, before the start hook: the count `spawn_worker` made ends here.
    registry.sleep.started(|| !registry.queue.is_empty());
    // Declared first, so dropped last, after the worker state below is restored: reports
    // the exit however the loop ends (an unwind included), so shutdown never waits for a
    // worker that is gone. Creating it runs the start hook.
    let _exit = registry.life.exit_guard(&*registry, index);
    let _worker = worker::enter(
        registry.id(),
        std::sync::Arc::new(QueueHelper(registry.clone())),
    );
    let spin = Spin::new();
    loop {
        registry.life.run_mail();
        let job = match registry.queue.try_pop() {
            Some(job) => job,
            None => match idle(&registry, index, &spin) {
                Idle::Job(job) => job,
                Idle::Mail => continue,
                Idle::Exit | Idle::Retired => break,
            },
        };
        registry.run(job);
        shoal_core::lifecycle::faults::fault_point();
        if registry.life.try_retire(index) {
            break;
        }
    }
}
