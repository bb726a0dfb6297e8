//! The life cycle every pool shares: running, stopping, stopped; starting worker threads,
//! their exit, the three shutdown modes and the report, written once for every strategy.
//!
//! A pool keeps one [`Lifecycle`] in the state its workers share, and implements
//! [`Mechanics`] for the few steps that depend on its queues. The life cycle does the rest:
//!
//! ```text
//!   Running ──shutdown(mode)──▶ Stopping ──last worker exits, no cancel in progress──▶ Stopped(report)
//!
//!   shutdown(mode), first call:
//!     1. phase = Stopping (under the lock; later calls see it and only wait)
//!     2. pool.close(cancel = mode is Now): refuse submissions; return once none is on its way in
//!     3. Now: cancel_queued (queued jobs dropped unrun, counted as cancelled)
//!     4. pool.wake_all(alive): every worker sees the new state; an idle worker that finds
//!        nothing queued exits
//!     5. wait until Stopped (or the deadline: then cancel what is still queued, and return
//!        with the jobs still running counted in `still_running`)
//!   every worker thread: holds an ExitGuard; dropping it (at the end of its loop, or by an
//!     unwind) counts the exit, and the last one writes the report
//! ```
//!
//! **The report is written once**, by whoever makes the last change that can alter it: the
//! last worker to exit, or the last cancelling call when a worker exited first (a job a
//! cancelling call took off a queue is neither queued nor counted yet, like a job in a
//! worker's hands). Every caller, concurrent ones included, gets that same report.
//!
//! **No hang on exit**: a worker reports its exit by dropping its [`ExitGuard`], never by a
//! call at the end of its loop, so an unwind out of the pool's own code cannot leave
//! `shutdown` waiting for a worker that is gone.
//!
//! **No wait for oneself**: called on a thread that a worker of the pool waits for (the worker
//! itself, or a thread running `install` for it, see [`worker::holds_up`]), `shutdown` begins
//! the shutdown and returns the report so far.

use std::io;
use std::time::Instant;

use crate::error::{check_resize, ResizeError};
use crate::metrics::Metrics;
use crate::shutdown::{Shutdown, ShutdownReport};
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{lock, thread, Condvar, Mutex, MutexGuard};
use crate::worker;

/// What a pool supplies to the shared life cycle: the steps that depend on its queues.
pub trait Mechanics: Send + Sync {
    /// The pool's id, as its workers registered it with [`worker::enter`].
    fn id(&self) -> usize;

    /// Closes intake: submissions are refused from now on, and this returns only once no
    /// submission is still on its way into a queue (so an empty queue stays empty). With
    /// `cancel`, jobs workers take from now on are dropped unrun instead of run.
    fn close(&self, cancel: bool);

    /// Drops every queued job unrun, counted as cancelled, and cancels instead of running
    /// jobs taken from now on. May be called more than once, concurrently.
    fn cancel_queued(&self);

    /// Wakes every worker (`alive` have not exited yet) so that it sees the new state.
    fn wake_all(&self, alive: usize);

    /// The pool's counters, with `workers` as the worker count.
    fn metrics(&self, workers: usize) -> Metrics;
}

/// Where the pool is in its life. Changes only under the lock.
enum Phase {
    Running,
    /// Intake is closed; workers drain (or cancel) the queues.
    Stopping,
    /// Every worker has exited; the final report.
    Stopped(ShutdownReport),
}

struct Control {
    phase: Phase,
    /// Threads started and not yet joined (retired ones until pruned).
    threads: Vec<thread::JoinHandle<()>>,
    /// Workers that have not exited yet (retiring ones included).
    alive: usize,
    /// When the first shutdown call began.
    started: Option<Instant>,
    /// A deadline passed with jobs still running: later calls return at once instead of
    /// waiting for jobs that may never return.
    abandoned: bool,
    /// Calls cancelling queued jobs right now: the final report waits for them.
    cancelling: usize,
    /// The index the next worker gets (never reused).
    next_index: usize,
}

/// The shared life cycle of one pool; see the [module docs](self).
pub struct Lifecycle {
    control: Mutex<Control>,
    /// Signalled when a worker exits or the report is written.
    exited: Condvar,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let control = lock(&self.control);
        let phase = match control.phase {
            Phase::Running => "running",
            Phase::Stopping => "stopping",
            Phase::Stopped(_) => "stopped",
        };
        f.debug_struct("Lifecycle")
            .field("phase", &phase)
            .field("alive", &control.alive)
            .finish_non_exhaustive()
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl Lifecycle {
    /// A running pool with no worker yet.
    pub fn new() -> Lifecycle {
        Lifecycle {
            control: Mutex::new(Control {
                phase: Phase::Running,
                threads: Vec::new(),
                alive: 0,
                started: None,
                abandoned: false,
                cancelling: 0,
                next_index: 0,
            }),
            exited: Condvar::new(),
        }
    }

    /// Worker threads that have not exited yet.
    pub fn alive(&self) -> usize {
        lock(&self.control).alive
    }

    /// Starts workers while the pool is running: `None` once shutdown has begun. Holds the
    /// life cycle's lock until dropped, so a shutdown waits for the starts to finish.
    pub fn starter(&self) -> Option<Starter<'_>> {
        let control = lock(&self.control);
        match control.phase {
            Phase::Running => Some(Starter { control }),
            _ => None,
        }
    }

    /// What every pool's `resize` starts with: checks the requested count against the
    /// contract's limits, refuses once shutdown has begun, and forgets the handles of retired
    /// threads; then the pool starts or retires workers through the returned starter.
    pub fn resizer(&self, workers: usize) -> Result<Starter<'_>, ResizeError> {
        check_resize(workers)?;
        let mut starter = self.starter().ok_or(ResizeError::ShutDown)?;
        starter.prune();
        Ok(starter)
    }

    /// The guard a worker thread holds for its whole life: dropping it reports the exit.
    pub fn exit_guard<'a>(&'a self, pool: &'a dyn Mechanics) -> ExitGuard<'a> {
        ExitGuard { life: self, pool }
    }

    /// Stops the pool; see [`Executor::shutdown`](crate::Executor::shutdown) and the module
    /// docs. Idempotent: later calls wait for the first one's report.
    pub fn shutdown(&self, pool: &dyn Mechanics, mode: Shutdown) -> ShutdownReport {
        let inside = worker::holds_up(pool.id());
        let mut control = lock(&self.control);
        match control.phase {
            Phase::Stopped(report) => return report,
            Phase::Stopping => {
                if let Shutdown::Now = mode {
                    // A later, stricter call still cancels what is queued.
                    drop(control);
                    self.cancel_queued(pool);
                    control = lock(&self.control);
                }
                return self.wait_stopped(pool, control, inside, None);
            }
            Phase::Running => {}
        }
        control.phase = Phase::Stopping;
        control.started = Some(Instant::now());
        drop(control);

        let now = matches!(mode, Shutdown::Now);
        pool.close(now);
        if now {
            self.cancel_queued(pool);
        }
        let deadline = match mode {
            // A deadline too far to represent (`Duration::MAX`) is no deadline: graceful.
            Shutdown::Deadline(d) => Instant::now().checked_add(d),
            _ => None,
        };
        let (alive, none_started) = {
            let control = lock(&self.control);
            let none = control.alive == 0 && matches!(control.phase, Phase::Stopping);
            (control.alive, none)
        };
        pool.wake_all(alive);
        if none_started {
            // No worker is left to write the report: every start failed (a failed build).
            // Cancelling writes it. When the workers all exited already, the report is
            // written and stays as it is, so that concurrent callers get the same one.
            self.cancel_queued(pool);
        }
        let control = lock(&self.control);
        self.wait_stopped(pool, control, inside, deadline)
    }

    /// Cancels what is queued, registered so that the final report waits for it.
    fn cancel_queued(&self, pool: &dyn Mechanics) {
        lock(&self.control).cancelling += 1;
        /// Unregisters even if the pool's cancel unwinds (it drops jobs quietly; this is
        /// the guard that makes an unwind there a failed call, not a hung pool).
        struct Done<'a>(&'a Lifecycle, &'a dyn Mechanics);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut control = lock(&self.0.control);
                control.cancelling -= 1;
                self.0.finish_if_stopped(self.1, &mut control);
            }
        }
        let _done = Done(self, pool);
        pool.cancel_queued();
    }

    /// Writes the final report once nothing can change it any more: shutdown began, every
    /// worker exited and no call is cancelling. Wakes whoever waits.
    fn finish_if_stopped(&self, pool: &dyn Mechanics, control: &mut Control) {
        if control.alive == 0 && control.cancelling == 0 {
            if let Phase::Stopping = control.phase {
                let elapsed = control.started.map(|s| s.elapsed()).unwrap_or_default();
                control.phase =
                    Phase::Stopped(ShutdownReport::from_metrics(&pool.metrics(0), elapsed));
            }
        }
        self.exited.notify_all();
    }

    /// Waits until the report is written (not at all when called from a thread a worker
    /// waits for), or the deadline passes; joins the exited threads and returns the report.
    fn wait_stopped(
        &self,
        pool: &dyn Mechanics,
        mut control: MutexGuard<'_, Control>,
        inside: bool,
        deadline: Option<Instant>,
    ) -> ShutdownReport {
        let started = control.started.unwrap_or_else(Instant::now);
        let report_now = || ShutdownReport::from_metrics(&pool.metrics(0), started.elapsed());
        loop {
            if let Phase::Stopped(report) = control.phase {
                let threads = std::mem::take(&mut control.threads);
                drop(control);
                for t in threads {
                    let _ = t.join();
                }
                return report;
            }
            if inside || control.abandoned {
                // We cannot wait for a worker that waits for us, nor for jobs a deadline
                // already gave up on: return what we know now.
                drop(control);
                return report_now();
            }
            match deadline {
                None => {
                    control = self.exited.wait(control).unwrap_or_else(|p| p.into_inner());
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        drop(control);
                        // Past the deadline: as `Now` for whatever is still queued.
                        self.cancel_queued(pool);
                        let mut control = lock(&self.control);
                        if let Phase::Stopped(report) = control.phase {
                            return report;
                        }
                        // Workers still busy are not waited for; they exit when their job
                        // returns and write the final report then.
                        control.abandoned = true;
                        drop(control);
                        return report_now();
                    }
                    control = self
                        .exited
                        .wait_timeout(control, deadline - now)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
            }
        }
    }
}

/// Starts worker threads while holding the life cycle's lock; see [`Lifecycle::starter`].
pub struct Starter<'a> {
    control: MutexGuard<'a, Control>,
}

impl std::fmt::Debug for Starter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Starter")
            .field("alive", &self.control.alive)
            .finish_non_exhaustive()
    }
}

impl Starter<'_> {
    /// Starts one worker: `spawn` gets the worker's index (unique over the pool's life) and
    /// starts its thread. The thread counts as alive from now on, until it drops its
    /// [`ExitGuard`]. On an error nothing is counted.
    pub fn start(
        &mut self,
        spawn: impl FnOnce(usize) -> io::Result<thread::JoinHandle<()>>,
    ) -> io::Result<()> {
        let index = self.control.next_index;
        let handle = spawn(index)?;
        self.control.next_index += 1;
        self.control.alive += 1;
        self.control.threads.push(handle);
        Ok(())
    }

    /// Forgets the handles of threads that have finished (retired workers), so a pool resized
    /// up and down keeps no handle per retired thread.
    pub fn prune(&mut self) {
        // Neither model checker's JoinHandle can say whether its thread finished.
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        self.control.threads.retain(|t| !t.is_finished());
    }
}

/// Held by a worker thread for its whole life; dropping it reports the exit (and writes the
/// final report if it was the last worker of a stopping pool).
#[must_use = "the worker's exit is reported when the guard drops"]
pub struct ExitGuard<'a> {
    life: &'a Lifecycle,
    pool: &'a dyn Mechanics,
}

impl std::fmt::Debug for ExitGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExitGuard").finish_non_exhaustive()
    }
}

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        let mut control = lock(&self.life.control);
        control.alive -= 1;
        self.life.finish_if_stopped(self.pool, &mut control);
    }
}

/// The worker count a pool is sized to, and the retire protocol that shrinks it: `target` is
/// the count asked for, `live` the workers that have not decided to retire. A worker retires
/// (between jobs, or when woken idle) by moving `live` down by one while it is above `target`,
/// so exactly `live - target` workers retire, whoever gets there first. The shared-queue and
/// fork-join pools use it; the work-stealing pool counts retirements instead, because its
/// retiring workers must first move their own deques out.
///
/// Both counts live in one atomic word (`target` in the high half, `live` in the low half),
/// so a worker's "is `live` above `target`?" and its decrement are one CAS. With two words, a
/// worker could read the old `target` of a pool that is growing, then the new `live`, and
/// retire although nobody asked it to (a loom model of a resize up found that).
#[derive(Debug)]
pub struct Sizing {
    /// `target << 32 | live`.
    state: AtomicU64,
}

/// Packs the two counts; both are at most [`MAX_WORKERS`](crate::MAX_WORKERS), far below
/// 2^32, so `live` never carries into `target`.
fn pack(target: usize, live: usize) -> u64 {
    ((target as u64) << 32) | live as u64
}

/// `(target, live)`.
fn unpack(state: u64) -> (usize, usize) {
    (
        (state >> 32) as usize,
        (state & u64::from(u32::MAX)) as usize,
    )
}

impl Sizing {
    /// Sized to `workers`, all of them live (started by the builder).
    pub fn new(workers: usize) -> Sizing {
        Sizing {
            state: AtomicU64::new(pack(workers, workers)),
        }
    }

    /// The worker count the pool is sized to now.
    pub fn target(&self) -> usize {
        // ORDERING: a snapshot; Relaxed suffices.
        unpack(self.state.load(Ordering::Relaxed)).0
    }

    /// Retires the calling worker if the pool has more live workers than its target.
    pub fn retire(&self) -> bool {
        // ORDERING: SeqCst, like every change of the word: one CAS decides, against the
        // changes `resize` makes.
        self.state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                let (target, live) = unpack(s);
                (live > target).then(|| pack(target, live - 1))
            })
            .is_ok()
    }

    /// A cheap check for an idle loop: should some worker retire?
    pub fn surplus(&self) -> bool {
        // ORDERING: SeqCst, as in `retire`.
        let (target, live) = unpack(self.state.load(Ordering::SeqCst));
        live > target
    }

    /// Resizes to `workers`, holding the life cycle's lock through `starter` (from
    /// [`Lifecycle::resizer`], which checked the count): grows at once by calling `start` once
    /// per missing worker, or shrinks by lowering the target and calling `wake(surplus)` so
    /// that idle workers notice. A failed start leaves the pool with the workers it had plus
    /// those that did start, and `target` says so.
    pub fn resize(
        &self,
        starter: &mut Starter<'_>,
        workers: usize,
        mut start: impl FnMut(&mut Starter<'_>) -> io::Result<()>,
        wake: impl FnOnce(usize),
    ) -> Result<(), ResizeError> {
        // ORDERING: `target` changes only here, under the life cycle's lock; workers change
        // `live` only by the CAS in `retire`. SeqCst on every change (see `retire`).
        let set_target = |target: usize| {
            let prev = self
                .state
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                    Some(pack(target, unpack(s).1))
                })
                .unwrap_or_else(|s| s);
            unpack(prev).1
        };
        let live = set_target(workers);
        if workers > live {
            for started in 0..workers - live {
                // One more live worker: the low half, which never carries (see `pack`).
                self.state.fetch_add(1, Ordering::SeqCst);
                if let Err(source) = start(starter) {
                    self.state.fetch_sub(1, Ordering::SeqCst);
                    set_target(live + started);
                    return Err(ResizeError::Spawn { started, source });
                }
            }
        } else if workers < live {
            wake(live - workers);
        }
        Ok(())
    }
}

/// A test hook: a panic in a pool's own worker code, between two jobs. Every worker loop calls
/// [`fault_point`](faults::fault_point) after each job; [`arm`](faults::arm) makes the next
/// calls panic there, in whatever pool. The reliability campaign uses it (each such test in its
/// own process) to prove that no unwind out of a worker loop can hang `shutdown`. Disarmed, it
/// costs one relaxed load per job.
#[doc(hidden)]
pub mod faults {
    // Plain std: the hook is not part of any modelled protocol.
    use std::sync::atomic::{AtomicUsize, Ordering};

    static ARMED: AtomicUsize = AtomicUsize::new(0);

    /// The message the injected panics carry.
    pub const MESSAGE: &str = "a fault injected into a worker loop";

    /// Makes the next `count` fault points (in any pool of the process) panic.
    pub fn arm(count: usize) {
        // ORDERING: Relaxed: a test arms it before submitting the job whose end triggers it.
        ARMED.fetch_add(count, Ordering::Relaxed);
    }

    /// Called by every worker loop after each job: panics if armed.
    #[inline]
    pub fn fault_point() {
        // ORDERING: Relaxed: a hint; the decrement decides who panics.
        if ARMED.load(Ordering::Relaxed) > 0
            && ARMED
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        {
            panic!("{MESSAGE}");
        }
    }
}
