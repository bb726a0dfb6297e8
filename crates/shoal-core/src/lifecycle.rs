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
//!   a later call (any mode) first waits until step 2 returned: a report made while a
//!     submission is still on its way in could count the job's end but not its submission
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
//! itself, in a job or in its start or stop hook, or a thread running `install` for it, see
//! [`worker::holds_up`]), `shutdown` begins the shutdown and returns the report so far.
//!
//! **Worker indices and resizing**: every worker has an index (see [`identity`] for what users
//! see). A worker's index is *live* from its start until it retires or exits, and a start takes
//! the lowest index that is not live. The pool's size is a *target*: [`Starter::resize`] sets
//! it and starts a worker for every index below it that is not live; a worker whose index is
//! at or above the target retires ([`Lifecycle::try_retire`], between jobs or when woken
//! idle), and a shrink wakes every worker so that they look. So a shrink retires the highest
//! indices, exactly `live - target` of them, each after its current job, and the live indices
//! are `0..workers` again once they have left. The check between jobs is one load; only a
//! worker at or above the target takes the lock, to retire.
//!
//! **A worker's life**, in its [`ExitGuard`]: created first thing on the thread, it takes the
//! index the [`Starter`] gave it, makes [`current_worker`](crate::current_worker) answer, and
//! runs the `on_thread_start` hook. Dropped, it runs the broadcast jobs posted to the worker
//! (a worker that exits at shutdown first takes its index out of the live set, so that no
//! more are posted to it; a retiring worker did so when it retired), runs the
//! `on_thread_stop` hook, and only then counts the exit. So a shutdown that waits returns
//! after every stop hook returned, and no two live workers share an index (a retired worker
//! may still be running its stop hook while a new worker has its index).
//!
//! **Also written once here**: [`broadcast`](Lifecycle::broadcast) (posting one job to each
//! live worker, under the lock that starts, retirements and exits take),
//! [`wait_idle`](Lifecycle::wait_idle)
//! with the [`check_idle`](Lifecycle::check_idle) a pool makes where it may have become idle
//! (see `idle.rs`), [`shutdown_background`](Lifecycle::shutdown_background), and what
//! [`drop_pool`](Lifecycle::drop_pool) does.

use std::io;
use std::time::Instant;

use crate::broadcast::BroadcastError;
use crate::config::{PoolConfig, ThreadHooks};
use crate::error::{check_resize, ResizeError};
use crate::identity::{self, IdentityGuard, Mailboxes, PoolId, WorkerId};
use crate::idle::{IdleWatch, WaitIdleError};
use crate::job::Job;
use crate::metrics::Metrics;
use crate::shutdown::{DropBehavior, Shutdown, ShutdownReport};
use crate::sizing::{supervisor, Decision, Mode, Sizing, SizingStatus};
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{lock, thread, Arc, Condvar, Mutex, MutexGuard};
use crate::unwind::drop_quietly;
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

    /// `true` when every job the pool accepted has ended: what `wait_idle` waits for. The
    /// default reads [`metrics`](Mechanics::metrics), which is right when the pool counts each
    /// job as submitted before any worker can see it (see `metrics.rs`); a pool that counts
    /// some submissions later in its metrics overrides it.
    fn is_idle(&self) -> bool {
        self.metrics(0).is_idle()
    }
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
    /// The first shutdown call's `close` returned: no submission is on its way in any more.
    /// A report made before that could count a job's end without its submission.
    intake_closed: bool,
    /// Calls cancelling queued jobs right now: the final report waits for them.
    cancelling: usize,
    /// `live[i]`: a worker that has neither retired nor begun to exit holds index `i` (module
    /// docs). Broadcasts go to live indices; a start takes the lowest index that is not live.
    live: Vec<bool>,
    /// The worker count asked for (mirrored in `Lifecycle::target` for lock-free reads).
    target: usize,
    /// What the sizing policy did (`Metrics::sizing`); `active` while its supervisor runs.
    sizing: SizingStatus,
    /// The supervisor thread of a self-sizing pool, joined at shutdown.
    supervisor: Option<thread::JoinHandle<()>>,
}

/// The shared life cycle of one pool; see the [module docs](self).
pub struct Lifecycle {
    control: Mutex<Control>,
    /// Signalled when a worker exits or the report is written.
    exited: Condvar,
    /// The workers' mailboxes (broadcasts). Plain std `Arc`: each worker's identity holds it.
    mail: std::sync::Arc<Mailboxes>,
    /// The waiters of `wait_idle`.
    idle: IdleWatch,
    /// `Control::target`, readable without the lock: a worker's check between jobs.
    target: AtomicUsize,
    hooks: ThreadHooks,
    on_drop: DropBehavior,
    /// The sizing policy (see `sizing`), and the supervisor's name.
    sizing: Sizing,
    // Under the model checkers no supervisor thread starts (their clocks do not run).
    #[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
    supervisor_name: String,
    /// Wakes the supervisor early: shutdown began, or a resize by hand switched it off.
    supervisor_cv: Condvar,
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
    /// A running pool with no worker yet, no thread hooks, and the default drop behavior.
    pub fn new() -> Lifecycle {
        Lifecycle::with_config(&PoolConfig::default())
    }

    /// A running pool with no worker yet, whose workers run `config`'s thread hooks and whose
    /// drop does what `config` says.
    pub fn with_config(config: &PoolConfig) -> Lifecycle {
        Lifecycle {
            control: Mutex::new(Control {
                phase: Phase::Running,
                threads: Vec::new(),
                alive: 0,
                started: None,
                abandoned: false,
                intake_closed: false,
                cancelling: 0,
                live: Vec::new(),
                target: 0,
                sizing: SizingStatus {
                    mode: config.sizing_policy().mode(),
                    limit: config.sizing_policy().max(),
                    min: config.sizing_policy().min(),
                    max: config.sizing_policy().max(),
                    ..SizingStatus::default()
                },
                supervisor: None,
            }),
            exited: Condvar::new(),
            mail: std::sync::Arc::new(Mailboxes::new()),
            idle: IdleWatch::new(),
            target: AtomicUsize::new(0),
            hooks: config.thread_hooks().clone(),
            on_drop: config.drop_behavior(),
            sizing: config.sizing_policy().clone(),
            supervisor_name: format!("{}-sizer", config.thread_prefix().unwrap_or("shoal")),
            supervisor_cv: Condvar::new(),
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
            Phase::Running => Some(Starter {
                life: self,
                control,
            }),
            _ => None,
        }
    }

    /// The worker count the pool is sized to now (`Executor::workers`).
    pub fn target(&self) -> usize {
        // ORDERING: a snapshot; Relaxed suffices.
        self.target.load(Ordering::Relaxed)
    }

    /// `true` when worker `index` should retire: its index is at or above the target. One
    /// load, for a worker's checks between jobs and in its sleep protocol; the retirement
    /// itself is [`try_retire`](Self::try_retire).
    #[inline]
    pub fn must_retire(&self, index: usize) -> bool {
        // ORDERING: SeqCst pairs with the store in `Starter::resize`, which the pool follows
        // with its `wake`: a worker that checks after that wake-up sees the new target.
        index >= self.target.load(Ordering::SeqCst)
    }

    /// Retires the calling worker `index` if its index is at or above the target (module
    /// docs): its index stops being live (no broadcast reaches it any more, and a grow may
    /// give the index to a new worker), and the broadcast jobs already posted to it are kept
    /// for its exit. The caller then leaves its loop. One load when it should not retire.
    #[inline]
    pub fn try_retire(&self, index: usize) -> bool {
        self.must_retire(index) && self.retire(index)
    }

    /// The slow path of [`try_retire`](Self::try_retire), under the lock.
    #[cold]
    fn retire(&self, index: usize) -> bool {
        let mut control = lock(&self.control);
        if index < control.target || !control.live.get(index).copied().unwrap_or(false) {
            return false;
        }
        control.live[index] = false;
        let posted = self.mail.take(index);
        drop(control);
        identity::retire(posted);
        true
    }

    /// What every pool's `resize` starts with: checks the requested count against the
    /// contract's limits, refuses once shutdown has begun, and forgets the handles of retired
    /// threads; then the pool starts or retires workers through the returned starter.
    ///
    /// A resize by hand switches a sizing policy off (see [`sizing`](crate::sizing)): its
    /// supervisor stops, and the pool keeps the size asked for.
    pub fn resizer(&self, workers: usize) -> Result<Starter<'_>, ResizeError> {
        check_resize(workers)?;
        let mut starter = self.starter().ok_or(ResizeError::ShutDown)?;
        starter.prune();
        if starter.control.sizing.active {
            starter.control.sizing.active = false;
            self.supervisor_cv.notify_all();
        }
        Ok(starter)
    }

    /// The starter a sizing policy resizes through: `None` once shutdown began or a resize by
    /// hand switched the policy off, so a decision never overrides either.
    pub(crate) fn policy_starter(&self) -> Option<Starter<'_>> {
        let mut starter = self.starter()?;
        if !starter.control.sizing.active {
            return None;
        }
        starter.prune();
        Some(starter)
    }

    /// The supervisor's pause between samples: waits `interval`, and answers whether the
    /// policy still runs (the pool runs and no resize by hand switched it off).
    #[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
    pub(crate) fn supervisor_wait(&self, interval: std::time::Duration) -> bool {
        let control = lock(&self.control);
        let runs = |c: &Control| c.sizing.active && matches!(c.phase, Phase::Running);
        if !runs(&control) {
            return false;
        }
        let control = self
            .supervisor_cv
            .wait_timeout(control, interval)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
        runs(&control)
    }

    /// The pool's metrics: its counters with the live workers, and what its sizing policy
    /// did. Every pool's `Executor::metrics`.
    pub fn metrics(&self, pool: &dyn Mechanics) -> Metrics {
        let (alive, mut sizing) = {
            let control = lock(&self.control);
            (control.alive, control.sizing)
        };
        let mut m = pool.metrics(alive);
        if sizing.mode != Mode::Fixed {
            sizing.target = self.target();
            m.sizing = Some(sizing);
        }
        m
    }

    /// `Executor::max_workers`: the policy's `max` while a sizing policy is active (never
    /// below the current target), else the target. One load for a fixed pool.
    pub fn max_workers(&self) -> usize {
        if self.sizing.is_fixed() {
            return self.target();
        }
        let active = lock(&self.control).sizing.active;
        if active {
            self.sizing.max().max(self.target())
        } else {
            self.target()
        }
    }

    /// Stops the supervisor, if any, and joins it (not from the supervisor itself): what a
    /// shutdown does before it waits for the workers.
    fn stop_supervisor(&self) {
        let handle = {
            let mut control = lock(&self.control);
            control.sizing.active = false;
            self.supervisor_cv.notify_all();
            if supervisor::on_supervisor() {
                None
            } else {
                control.supervisor.take()
            }
        };
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// The guard worker `index` (the index its [`Starter`] gave it) holds for its whole life,
    /// created first thing on its thread: creating it makes
    /// [`current_worker`](crate::current_worker) answer and runs the start hook; dropping it
    /// ends the worker's life and reports the exit (module docs).
    pub fn exit_guard<'a>(&'a self, pool: &'a dyn Mechanics, index: usize) -> ExitGuard<'a> {
        let id = WorkerId::new(PoolId::new(pool.id()), index);
        let identity = identity::enter(id, Some(self.mail.clone()));
        self.hooks.started();
        ExitGuard {
            life: self,
            pool,
            index,
            identity: Some(identity),
        }
    }

    /// What a worker loop calls between jobs and when it wakes up: runs the broadcast jobs
    /// posted to the calling worker. One relaxed load while no broadcast is in progress.
    #[inline]
    pub fn run_mail(&self) -> bool {
        identity::run_mail_in(&self.mail)
    }

    /// `true` when a broadcast job waits for the calling worker: a worker's sleep protocol
    /// checks it (with its other flags) before it blocks, and [`Mechanics::wake_all`] wakes it
    /// when a broadcast posts one.
    #[inline]
    pub fn has_mail(&self) -> bool {
        identity::has_mail_in(&self.mail)
    }

    /// Runs one job built by `job_for` on every live worker (see
    /// [`Executor::broadcast_jobs`](crate::Executor::broadcast_jobs)): posts them under the
    /// life cycle's lock, which starting and exiting workers take too, then wakes every
    /// worker. `job_for` runs under that lock: it must only build the job. Refused with
    /// [`BroadcastError::ShutDown`] once shutdown has begun.
    pub fn broadcast(
        &self,
        pool: &dyn Mechanics,
        job_for: &mut dyn FnMut(WorkerId) -> Job,
    ) -> Result<(), BroadcastError> {
        let control = lock(&self.control);
        if !matches!(control.phase, Phase::Running) {
            return Err(BroadcastError::ShutDown);
        }
        let pool_id = PoolId::new(pool.id());
        for (index, live) in control.live.iter().enumerate() {
            if *live {
                self.mail
                    .post(index, job_for(WorkerId::new(pool_id, index)));
            }
        }
        let alive = control.alive;
        drop(control);
        pool.wake_all(alive);
        Ok(())
    }

    /// Waits until every job the pool accepted has ended, or `deadline` passes (see
    /// [`Executor::wait_idle_until`](crate::Executor::wait_idle_until) and `idle.rs`).
    /// Refused inside the pool: the calling job would keep it busy forever.
    pub fn wait_idle(
        &self,
        pool: &dyn Mechanics,
        deadline: Option<Instant>,
    ) -> Result<bool, WaitIdleError> {
        if inside(pool) {
            return Err(WaitIdleError::InsideWorker);
        }
        Ok(self.idle.wait(deadline, || pool.is_idle()))
    }

    /// Wakes `wait_idle` callers if the pool is idle now: a pool calls it where it may have
    /// become idle (a worker found no job, a submission was taken back; exits and cancels call
    /// it here). One fence and one load while nobody waits.
    #[inline]
    pub fn check_idle(&self, pool: &dyn Mechanics) {
        self.idle.check(|| pool.is_idle());
    }

    /// Begins a graceful shutdown and returns at once (tokio's `shutdown_background`): intake
    /// closes and the workers exit once the queue is drained. A later
    /// [`shutdown`](Self::shutdown) waits for that and returns the report. Does nothing once
    /// shutdown has begun.
    pub fn shutdown_background(&self, pool: &dyn Mechanics) {
        let mut control = lock(&self.control);
        if !matches!(control.phase, Phase::Running) {
            return;
        }
        control.phase = Phase::Stopping;
        control.started = Some(Instant::now());
        drop(control);
        self.begin(pool, false);
    }

    /// What dropping the pool does, as its configuration says ([`DropBehavior`]).
    pub fn drop_pool(&self, pool: &dyn Mechanics) {
        match self.on_drop {
            DropBehavior::WaitForQueue => {
                self.shutdown(pool, Shutdown::Graceful);
            }
            DropBehavior::CancelQueued => {
                self.shutdown(pool, Shutdown::Now);
            }
            DropBehavior::Background => self.shutdown_background(pool),
        }
    }

    /// Stops the pool; see [`Executor::shutdown`](crate::Executor::shutdown) and the module
    /// docs. Idempotent: later calls wait for the first one's report, a later `Now` still
    /// cancels what is queued, and a later `Deadline` waits no longer than its own deadline
    /// (then cancels what is still queued, as the first call would have).
    pub fn shutdown(&self, pool: &dyn Mechanics, mode: Shutdown) -> ShutdownReport {
        let inside = inside(pool);
        let deadline = match mode {
            // A deadline too far to represent (`Duration::MAX`) is no deadline: graceful.
            Shutdown::Deadline(d) => Instant::now().checked_add(d),
            _ => None,
        };
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
                return self.wait_stopped(pool, control, inside, deadline);
            }
            Phase::Running => {}
        }
        control.phase = Phase::Stopping;
        control.started = Some(Instant::now());
        drop(control);

        self.begin(pool, matches!(mode, Shutdown::Now));
        let control = lock(&self.control);
        self.wait_stopped(pool, control, inside, deadline)
    }

    /// Steps 2-4 of the first shutdown call (module docs), once the phase is `Stopping`.
    fn begin(&self, pool: &dyn Mechanics, now: bool) {
        self.stop_supervisor();
        /// Marks intake closed (and wakes later callers) even if the pool's `close` unwinds,
        /// so that a bug there is a failed call, not a hung one.
        struct Closed<'a>(&'a Lifecycle);
        impl Drop for Closed<'_> {
            fn drop(&mut self) {
                lock(&self.0.control).intake_closed = true;
                self.0.exited.notify_all();
            }
        }
        let closed = Closed(self);
        pool.close(now);
        drop(closed);
        if now {
            self.cancel_queued(pool);
        }
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
                drop(control);
                // The last queued jobs may have just been counted as cancelled.
                self.0.check_idle(self.1);
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
            if !control.intake_closed {
                // A later call can get here while the first one still closes intake (which
                // returns once the submissions on their way in are in or handed back: soon).
                // Any report made before that could count a job's end without its submission.
                control = self.exited.wait(control).unwrap_or_else(|p| p.into_inner());
                continue;
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

/// `true` on a thread that a worker of `pool` waits for, or that is one: in a job
/// ([`worker::holds_up`]), or in the worker's start or stop hook (its identity, set for the
/// whole life of the thread). Waiting there for the pool's workers would wait for itself.
fn inside(pool: &dyn Mechanics) -> bool {
    worker::holds_up(pool.id())
        || identity::current_worker().is_some_and(|w| w.pool().get() == pool.id())
}

/// Starts worker threads while holding the life cycle's lock; see [`Lifecycle::starter`].
pub struct Starter<'a> {
    life: &'a Lifecycle,
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
    /// Starts one worker: `spawn` gets the worker's index (the lowest that is not live, see
    /// the module docs) and starts its thread, which passes the index to
    /// [`Lifecycle::exit_guard`]. The thread counts as alive from now on, until it drops its
    /// [`ExitGuard`]. On an error nothing is counted.
    pub fn start(
        &mut self,
        spawn: impl FnOnce(usize) -> io::Result<thread::JoinHandle<()>>,
    ) -> io::Result<()> {
        let live = &self.control.live;
        let index = live.iter().position(|l| !l).unwrap_or(live.len());
        let handle = spawn(index)?;
        if index == self.control.live.len() {
            self.control.live.push(true);
        } else {
            self.control.live[index] = true;
        }
        self.control.alive += 1;
        self.control.threads.push(handle);
        Ok(())
    }

    /// Sizes the pool to `workers` (module docs): sets the target, starts a worker through
    /// `start` (which calls [`Starter::start`]) for every index below it that is not live, and
    /// calls `wake` when some live worker is at or above it, so that idle workers look and
    /// retire. Every pool's `build` and `resize` come here (`resize` through
    /// [`Lifecycle::resizer`], which checked the count).
    ///
    /// A failed start stops there: the target becomes the index that start would have taken,
    /// so the pool keeps the workers it had and those that did start (workers above it retire,
    /// as they would have), and `workers()` says so.
    pub fn resize(
        &mut self,
        workers: usize,
        mut start: impl FnMut(&mut Self) -> io::Result<()>,
        wake: impl FnOnce(),
    ) -> Result<(), ResizeError> {
        self.set_target(workers);
        let missing = (0..workers)
            .filter(|&i| !self.control.live.get(i).copied().unwrap_or(false))
            .count();
        for started in 0..missing {
            if let Err(source) = start(self) {
                let first_hole = self.control.live.iter().position(|l| !l);
                self.set_target(first_hole.unwrap_or(self.control.live.len()));
                return Err(ResizeError::Spawn { started, source });
            }
        }
        if self.control.live.iter().skip(workers).any(|l| *l) {
            wake();
        }
        Ok(())
    }

    /// What every pool's `build` does: sizes the new pool to `workers` and starts each of them
    /// through `start`. A failed start returns its error; the caller then stops the workers
    /// that did start.
    pub fn start_all(
        &mut self,
        workers: usize,
        mut start: impl FnMut(&mut Self) -> io::Result<()>,
    ) -> io::Result<()> {
        self.set_target(workers);
        for _ in 0..workers {
            start(self)?;
        }
        Ok(())
    }

    fn set_target(&mut self, workers: usize) {
        self.control.target = workers;
        // ORDERING: SeqCst, read by `Lifecycle::must_retire`; the pool's wake-up follows.
        self.life.target.store(workers, Ordering::SeqCst);
    }

    /// Forgets the handles of threads that have finished (retired workers), so a pool resized
    /// up and down keeps no handle per retired thread.
    pub fn prune(&mut self) {
        // Neither model checker's JoinHandle can say whether its thread finished.
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        self.control.threads.retain(|t| !t.is_finished());
    }
}

/// A pool as the life cycle starts and resizes it: the state its workers share, behind an
/// `Arc`. Every pool's `build` calls [`start`], its `resize` calls [`resize`], and a sizing
/// policy's supervisor resizes through the same steps.
pub trait Workers: Mechanics + Sized + 'static {
    /// The pool's life cycle.
    fn life(&self) -> &Lifecycle;

    /// Starts the thread of worker `index`, which passes the index to
    /// [`Lifecycle::exit_guard`].
    fn spawn_worker(this: &Arc<Self>, index: usize) -> io::Result<thread::JoinHandle<()>>;
}

/// The [`Executor`](crate::Executor) methods the life cycle answers alone, for a pool whose
/// `$registry` (an `Arc` of a [`Workers`] type) holds its [`Lifecycle`]: `workers`, `resize`,
/// `metrics`, `pool_id`, `broadcast_jobs` and `wait_idle_until`. Expands inside the pool's
/// `impl Executor { .. }`, beside the methods that depend on its queues (`execute`,
/// `try_execute`, `shutdown`, and the optional hooks it implements natively). `$self` is the
/// `self` keyword (see [`delegate_executor!`](crate::delegate_executor)).
#[macro_export]
macro_rules! lifecycle_executor {
    ($self:ident => $registry:expr) => {
        fn workers(&$self) -> usize {
            $crate::lifecycle::Workers::life(&*$registry).target()
        }

        fn resize(&$self, workers: usize) -> ::std::result::Result<(), $crate::ResizeError> {
            // Idle workers are woken to look whether they retire (`lifecycle::resize_with`).
            $crate::lifecycle::resize(&$registry, workers)
        }

        fn metrics(&$self) -> $crate::Metrics {
            $crate::lifecycle::Workers::life(&*$registry).metrics(&*$registry)
        }

        fn max_workers(&$self) -> usize {
            $crate::lifecycle::Workers::life(&*$registry).max_workers()
        }

        fn pool_id(&$self) -> ::std::option::Option<$crate::PoolId> {
            ::std::option::Option::Some($crate::PoolId::new(
                $crate::lifecycle::Mechanics::id(&*$registry),
            ))
        }

        fn broadcast_jobs(
            &$self,
            job_for: &mut dyn FnMut($crate::WorkerId) -> $crate::Job,
        ) -> ::std::result::Result<(), $crate::BroadcastError> {
            $crate::lifecycle::Workers::life(&*$registry).broadcast(&*$registry, job_for)
        }

        /// Counts the jobs accepted through [`Executor`](shoal_core::Executor) (with `spawn`,
        /// `map` and `scope` tasks).
        fn wait_idle_until(
            &$self,
            deadline: ::std::option::Option<::std::time::Instant>,
        ) -> ::std::result::Result<bool, $crate::WaitIdleError> {
            $crate::lifecycle::Workers::life(&*$registry).wait_idle(&*$registry, deadline)
        }
    };
}

/// What every pool's `build` does once its shared state exists: starts `workers` workers
/// and, for a self-sizing pool, its supervisor (see [`sizing`](crate::sizing)). On an error
/// the caller shuts the pool down (`Shutdown::Now`: no job was accepted yet), which stops
/// whatever did start.
pub fn start<R: Workers>(pool: &Arc<R>, workers: usize) -> io::Result<()> {
    let life = pool.life();
    let mut starter = life.starter().expect("a new pool is running");
    starter.start_all(workers, |starter| {
        starter.start(|index| R::spawn_worker(pool, index))
    })?;
    if life.sizing.is_fixed() {
        return Ok(());
    }
    // The model checkers' clocks do not run: their models apply decisions themselves
    // (`apply_decision`).
    #[cfg(not(any(shoal_loom, shoal_shuttle)))]
    {
        let handle = supervisor::spawn(
            pool,
            life.sizing.clone(),
            workers,
            life.supervisor_name.clone(),
        )?;
        starter.control.supervisor = Some(handle);
    }
    starter.control.sizing.active = true;
    Ok(())
}

/// Applies one decision of a sizing policy: sizes `pool` to `to` unless shutdown began or a
/// resize by hand switched the policy off (then `None`: the policy stops), and records the
/// decision with the policy's `limit` for `Metrics::sizing`. What the supervisor does with each
/// decision; public for the loom models of this race.
#[doc(hidden)]
pub fn apply_decision<R: Workers>(
    pool: &Arc<R>,
    to: usize,
    reason: crate::sizing::Reason,
    limit: usize,
) -> Option<Decision> {
    let life = pool.life();
    let mut starter = life.policy_starter()?;
    let from = life.target();
    let alive = starter.control.alive;
    let failed = starter
        .resize(
            to,
            |starter| starter.start(|index| R::spawn_worker(pool, index)),
            || pool.wake_all(alive),
        )
        .is_err();
    let decision = Decision {
        from,
        to,
        reason,
        failed,
    };
    // Recorded while the starter still holds the life-cycle lock, which a retiring worker's
    // exit takes too: whoever sees the workers this decision retired gone (`metrics().workers`)
    // sees the decision as the last one.
    starter.control.sizing.record(decision, limit);
    drop(starter);
    Some(decision)
}

/// What every pool's `resize` does: checks the count, switches a sizing policy off (see
/// [`Lifecycle::resizer`]), then grows or retires workers.
pub fn resize<R: Workers>(pool: &Arc<R>, workers: usize) -> Result<(), ResizeError> {
    let starter = pool.life().resizer(workers)?;
    resize_with(pool, starter, workers)
}

/// Sizes `pool` to `workers` through `starter`: starts the missing workers, and wakes every
/// worker when some must retire (see [`Starter::resize`]).
pub(crate) fn resize_with<R: Workers>(
    pool: &Arc<R>,
    mut starter: Starter<'_>,
    workers: usize,
) -> Result<(), ResizeError> {
    let alive = starter.control.alive;
    starter.resize(
        workers,
        |starter| starter.start(|index| R::spawn_worker(pool, index)),
        || pool.wake_all(alive),
    )
}

/// Held by a worker thread for its whole life (see [`Lifecycle::exit_guard`]); dropping it
/// ends the worker's life and reports the exit (and writes the final report if it was the last
/// worker of a stopping pool).
#[must_use = "the worker's exit is reported when the guard drops"]
pub struct ExitGuard<'a> {
    life: &'a Lifecycle,
    pool: &'a dyn Mechanics,
    index: usize,
    identity: Option<IdentityGuard>,
}

impl std::fmt::Debug for ExitGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExitGuard").finish_non_exhaustive()
    }
}

impl Drop for ExitGuard<'_> {
    /// The worker's last steps, in this order (module docs): run the broadcast jobs posted to
    /// it (a worker that did not retire first takes its index out of the live set, so that no
    /// more are posted), run the stop hook, forget the identity, then count the exit. A worker
    /// that unwinds out of its loop (a bug in the pool) runs no user code here: its broadcast
    /// jobs are dropped unrun (each then reports itself cancelled) and its stop hook is
    /// skipped. Nothing here unwinds: jobs and hooks run under `catch_unwind`.
    fn drop(&mut self) {
        let life = self.life;
        let unwinding = std::thread::panicking();
        let retired = identity::take_retired();
        let was_retired = retired.is_some();
        match retired {
            Some(posted) => run_or_drop(posted, unwinding),
            // While a broadcast may be in progress, leave the live set first and run what
            // was posted. (Without one, that lock is skipped: a broadcast racing with this
            // exit then posts until the last step below, which drops what it posted, and
            // that worker's result says `Cancelled`.)
            None if life.mail.any_pending() => {
                let posted = {
                    let mut control = lock(&life.control);
                    if let Some(live) = control.live.get_mut(self.index) {
                        *live = false;
                    }
                    life.mail.take(self.index)
                };
                run_or_drop(posted, unwinding);
            }
            None => {}
        }
        if !unwinding {
            life.hooks.stopping();
        }
        drop(self.identity.take());
        let mut control = lock(&life.control);
        let raced = if !was_retired {
            // The index is ours until now: a retired worker's may be a new worker's already.
            if let Some(live) = control.live.get_mut(self.index) {
                *live = false;
            }
            life.mail.take(self.index)
        } else {
            Vec::new()
        };
        control.alive -= 1;
        life.finish_if_stopped(self.pool, &mut control);
        drop(control);
        drop_quietly(raced);
        life.check_idle(self.pool);
    }
}

/// Runs broadcast jobs left in a leaving worker's mailbox, or drops them unrun while the
/// thread unwinds (no user code runs then).
fn run_or_drop(jobs: Vec<Job>, unwinding: bool) {
    if unwinding {
        drop_quietly(jobs);
    } else {
        identity::run_all(jobs);
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
