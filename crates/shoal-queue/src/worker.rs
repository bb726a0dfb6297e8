//! The worker loop.
//!
//! ```text
//! loop:
//!   0. run the broadcast jobs in my mailbox, if any (one load when there are none)
//!   1. try_pop a job without blocking          (hot path: no lock, no syscall)
//!   2. queue empty and sealed?  -> pop once more; still empty -> exit
//!   3. my index at or above the target? -> retire (exit)
//!   4. tell `wait_idle` callers the pool may be idle; spin a little, then block until a job
//!      or a token in my own wake channel arrives
//!   5. run the job (catching its panic), then check 3 again
//! ```
//!
//! A worker never exits while a job it could run is queued: it only exits when the queue is
//! *sealed* (shutdown has closed intake and no submission is in flight, so the queue can only
//! shrink) and a pop after observing the seal finds it empty, or when it retires because the
//! pool shrank below its index, in which case the workers `0..target` (`target >= 1`) stay to
//! serve the queue.

use std::io;

use shoal_core::sync::atomic::Ordering;
use shoal_core::sync::{thread, Arc};
use shoal_core::worker::{self, Helper};

use crate::queue::Popped;
use crate::registry::Registry;

/// Starts worker number `index`. Every worker thread of the pool is started here, so this is
/// where the builder's spawn hook is asked first (`shoal_core::spawn`): a refusal, like the OS
/// refusing a thread, comes back as the `Err` that `build` and `resize` turn into their errors.
pub(crate) fn spawn_worker(
    registry: Arc<Registry>,
    index: usize,
) -> io::Result<thread::JoinHandle<()>> {
    let for_thread = registry.clone();
    registry
        .config
        .spawn("shoal-queue", index, move || run(for_thread, index))
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

/// Before blocking, look for a job for a short while. A producer streaming jobs keeps
/// spinning workers fed without a wake-up syscall per job (the channel only signals receivers
/// that are blocked); after the spin the worker blocks, so an idle pool burns no CPU.
fn spin_for_job(registry: &Registry) -> Option<shoal_core::Job> {
    #[cfg(not(any(shoal_loom, shoal_shuttle)))]
    {
        const SPIN: std::time::Duration = std::time::Duration::from_micros(50);
        let backoff = crossbeam_utils::Backoff::new();
        let start = std::time::Instant::now();
        loop {
            if let Some(job) = registry.queue.try_pop() {
                return Some(job);
            }
            if backoff.is_completed() {
                if start.elapsed() > SPIN {
                    return None;
                }
                thread::yield_now();
            } else {
                backoff.snooze();
            }
        }
    }
    #[cfg(any(shoal_loom, shoal_shuttle))]
    {
        // Under a model checker the spin is only noise in the schedule space (and a spin
        // timed by the wall clock would make shuttle's schedules impossible to replay).
        registry.queue.try_pop()
    }
}

fn run(registry: Arc<Registry>, index: usize) {
    // Declared first, so dropped last, after the worker state below is restored: reports
    // the exit however the loop ends (an unwind included), so shutdown never waits for a
    // worker that is gone. Creating it runs the start hook.
    let _exit = registry.life.exit_guard(&*registry, index);
    // Taken before the first look at the pool's state (see `JobQueue::waker`).
    let waker = registry.queue.waker(index);
    let _worker = worker::enter(
        registry.id(),
        std::sync::Arc::new(QueueHelper(registry.clone())),
    );
    loop {
        registry.life.run_mail();
        let job = match registry.queue.try_pop() {
            Some(job) => job,
            None => {
                // ORDERING: SeqCst pairs with the store of `sealed` in `Registry::close`; every push that
                // happened before the seal is visible to the pop below.
                if registry.sealed.load(Ordering::SeqCst) {
                    match registry.queue.try_pop() {
                        Some(job) => job,
                        None => break,
                    }
                } else if registry.life.try_retire(index) {
                    break;
                } else {
                    // Out of work: the job that ended last may have left the pool idle.
                    registry.life.check_idle(&*registry);
                    // ORDERING: Relaxed: `idle` is a hint for joins (see its field).
                    registry.idle.fetch_add(1, Ordering::Relaxed);
                    let job = match spin_for_job(&registry) {
                        Some(job) => Some(job),
                        None => match registry.queue.pop(&waker) {
                            Popped::Job(job) => Some(job),
                            Popped::Wake => None,
                        },
                    };
                    registry.idle.fetch_sub(1, Ordering::Relaxed);
                    match job {
                        Some(job) => job,
                        None => continue,
                    }
                }
            }
        };
        registry.run(job);
        shoal_core::lifecycle::faults::fault_point();
        if registry.life.try_retire(index) {
            break;
        }
    }
}
