//! A deliberately plain pool (one `Mutex<VecDeque>`, three condition variables) that the suite
//! runs against in shoal-testkit's own tests, so the scenarios are checked before any real pool
//! exists and a failing scenario can be told apart from a failing pool. Not a public API and
//! not fast: every state change takes the one lock.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use shoal_core::identity::{self, Mailboxes};
use shoal_core::sizing::control::{Control, Sample};
use shoal_core::sizing::Mode;
use shoal_core::worker::{self, Helper, Ran};
use shoal_core::{
    check_resize, current_worker, BroadcastError, BuildError, Counters, Decision, DropBehavior,
    Event, Executor, Job, Metrics, PanicHandler, PoolId, RejectReason, Rejected, ResizeError,
    Shutdown, ShutdownReport, Sizing, SizingStatus, ThreadHooks, WaitIdleError, WorkerId,
};

use crate::{Factory, PoolConfig};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Intake closed; queued jobs still run.
    Draining,
    /// Intake closed; the queue was cancelled.
    Stopping,
}

struct State {
    queue: VecDeque<Job>,
    /// `live[i]`: a worker that has not retired or begun to exit holds index `i`; a start
    /// takes the lowest index that is not live, a worker at or above `target` retires.
    live_index: Vec<bool>,
    phase: Phase,
    target: usize,
    live: usize,
    running: u64,
    submitted: u64,
    completed: u64,
    panicked: u64,
    cancelled: u64,
    started_at: Option<Instant>,
    joiner: bool,
    report: Option<ShutdownReport>,
    threads: Vec<thread::JoinHandle<()>>,
    /// A self-sizing pool's policy: what `metrics().sizing` says, and its supervisor thread.
    sizing: SizingStatus,
    supervisor: Option<thread::JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a job is queued, the phase changes, or a broadcast posts mail.
    work: Condvar,
    room: Condvar,
    /// Signalled when a job ends, the queue is cancelled, or a worker exits.
    done: Condvar,
    capacity: Option<usize>,
    counters: Counters,
    handler: Option<PanicHandler>,
    mail: Arc<Mailboxes>,
    hooks: ThreadHooks,
    on_drop: DropBehavior,
    /// Wakes the supervisor when the policy is switched off or the pool shuts down.
    sizer: Condvar,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    fn run(&self, job: Job) {
        let ran = worker::run_job(job, &self.counters, self.handler.as_ref());
        let mut st = lock(self);
        st.running -= 1;
        match ran {
            Ran::Completed => st.completed += 1,
            Ran::Panicked => st.panicked += 1,
            Ran::Cancelled => st.cancelled += 1,
        }
        drop(st);
        self.done.notify_all();
    }

    /// Takes the queue away under the lock (counted as cancelled); the caller drops it.
    fn take_queue(&self, st: &mut State) -> VecDeque<Job> {
        let queue = std::mem::take(&mut st.queue);
        st.cancelled += queue.len() as u64;
        queue
    }

    fn cancel(&self, queue: VecDeque<Job>) {
        for job in queue {
            worker::cancel_job(job, &self.counters);
        }
        self.room.notify_all();
        self.done.notify_all();
    }

    fn report(st: &State, still_running: u64) -> ShutdownReport {
        // `ShutdownReport` is non-exhaustive: outside shoal-core it is filled in field by field.
        let mut report = ShutdownReport::default();
        report.submitted = st.submitted;
        report.completed = st.completed;
        report.panicked = st.panicked;
        report.cancelled = st.cancelled;
        report.still_running = still_running;
        report.elapsed = st.started_at.map(|t| t.elapsed()).unwrap_or_default();
        report
    }
}

impl Helper for Shared {
    fn help_one(&self) -> bool {
        let mut st = lock(self);
        let Some(job) = st.queue.pop_front() else {
            return false;
        };
        st.running += 1;
        drop(st);
        self.room.notify_all();
        self.run(job);
        true
    }
}

fn spawn_worker(shared: &Arc<Shared>, st: &mut State) -> std::io::Result<()> {
    // The lowest index that is not live (shoal_core::identity).
    let index = st
        .live_index
        .iter()
        .position(|live| !live)
        .unwrap_or(st.live_index.len());
    let for_thread = shared.clone();
    let handle = thread::Builder::new()
        .name("reference-worker".into())
        .spawn(move || worker_loop(for_thread, index))?;
    if index == st.live_index.len() {
        st.live_index.push(true);
    } else {
        st.live_index[index] = true;
    }
    st.live += 1;
    st.threads.push(handle);
    Ok(())
}

fn worker_loop(shared: Arc<Shared>, index: usize) {
    let id = WorkerId::new(PoolId::new(shared.id()), index);
    let identity = identity::enter(id, Some(shared.mail.clone()));
    shared.hooks.started();
    let helper: Arc<dyn Helper> = shared.clone();
    let guard = worker::enter(shared.id(), helper);
    let mut st = lock(&shared);
    loop {
        if shared.mail.has(index) {
            drop(st);
            shared.mail.run(index);
            st = lock(&shared);
            continue;
        }
        if index >= st.target {
            // Retire: the highest indices go first, so the rest stay `0..target`.
            break;
        }
        if let Some(job) = st.queue.pop_front() {
            st.running += 1;
            drop(st);
            shared.room.notify_all();
            shared.run(job);
            st = lock(&shared);
            continue;
        }
        if st.phase != Phase::Running {
            break;
        }
        st = shared
            .work
            .wait(st)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    // Leaving: the index is no longer live (no broadcast reaches this worker any more, and a
    // grow may give the index to a new worker); run what reached it already.
    st.live_index[index] = false;
    let posted = shared.mail.take(index);
    drop(st);
    for job in posted {
        job();
    }
    drop(guard);
    shared.hooks.stopping();
    drop(identity);
    let mut st = lock(&shared);
    st.live -= 1;
    drop(st);
    shared.done.notify_all();
}

/// The reference pool.
pub(crate) struct RefPool {
    shared: Arc<Shared>,
}

impl RefPool {
    pub(crate) fn build(config: PoolConfig) -> Result<RefPool, BuildError> {
        // The one validation every pool runs (`shoal_core::PoolConfig::validate`).
        let workers = config.validate()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                live_index: Vec::new(),
                phase: Phase::Running,
                target: workers,
                live: 0,
                running: 0,
                submitted: 0,
                completed: 0,
                panicked: 0,
                cancelled: 0,
                started_at: None,
                joiner: false,
                report: None,
                threads: Vec::new(),
                sizing: SizingStatus {
                    mode: config.sizing_policy().mode(),
                    active: !config.sizing_policy().is_fixed(),
                    limit: config.sizing_policy().max(),
                    min: config.sizing_policy().min(),
                    max: config.sizing_policy().max(),
                    ..SizingStatus::default()
                },
                supervisor: None,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            done: Condvar::new(),
            capacity: config.capacity(),
            counters: Counters::new(),
            handler: config.handler().cloned(),
            mail: Arc::new(Mailboxes::new()),
            hooks: config.thread_hooks().clone(),
            on_drop: config.drop_behavior(),
            sizer: Condvar::new(),
        });
        {
            let mut st = lock(&shared);
            for _ in 0..workers {
                spawn_worker(&shared, &mut st).map_err(BuildError::spawn)?;
            }
            if st.sizing.active {
                let (pool, sizing) = (shared.clone(), config.sizing_policy().clone());
                let handle = thread::Builder::new()
                    .name("reference-sizer".into())
                    .spawn(move || supervise(&pool, &sizing, workers))
                    .map_err(BuildError::spawn)?;
                st.supervisor = Some(handle);
            }
        }
        Ok(RefPool { shared })
    }

    fn submit(&self, job: Job, block: bool) -> Result<(), Rejected> {
        let shared = &self.shared;
        let mut st = lock(shared);
        loop {
            if st.phase != Phase::Running {
                shared.counters.add(Event::Rejected, 1);
                return Err(Rejected::new(RejectReason::ShutDown, job));
            }
            match shared.capacity {
                Some(capacity) if st.queue.len() >= capacity => {
                    if !block {
                        shared.counters.add(Event::Rejected, 1);
                        return Err(Rejected::new(RejectReason::Full, job));
                    }
                    if worker::is_worker_of(shared.id()) {
                        drop(st);
                        if !shared.help_one() {
                            thread::yield_now();
                        }
                        st = lock(shared);
                    } else {
                        st = shared
                            .room
                            .wait(st)
                            .unwrap_or_else(|poisoned| poisoned.into_inner());
                    }
                }
                _ => break,
            }
        }
        st.queue.push_back(job);
        st.submitted += 1;
        shared.counters.add(Event::Submitted, 1);
        drop(st);
        shared.work.notify_one();
        Ok(())
    }
}

impl Executor for RefPool {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.submit(job, true)
    }

    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.submit(job, false)
    }

    fn workers(&self) -> usize {
        lock(&self.shared).target
    }

    fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        check_resize(workers)?;
        let shared = &self.shared;
        let mut st = lock(shared);
        if st.phase != Phase::Running {
            return Err(ResizeError::ShutDown);
        }
        // A resize by hand switches a sizing policy off.
        st.sizing.active = false;
        shared.sizer.notify_all();
        let resized = resize_locked(shared, &mut st, workers);
        drop(st);
        // Workers at or above the target retire when they look.
        shared.work.notify_all();
        resized
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        let shared = &self.shared;
        let inside = worker::is_worker_of(shared.id());
        let mut st = lock(shared);
        st.started_at.get_or_insert_with(Instant::now);
        let call_started = Instant::now();
        st.sizing.active = false;
        shared.sizer.notify_all();
        let supervisor = st.supervisor.take();
        let mut cancelled = VecDeque::new();
        match mode {
            Shutdown::Now if st.phase != Phase::Stopping => {
                st.phase = Phase::Stopping;
                cancelled = shared.take_queue(&mut st);
            }
            Shutdown::Graceful | Shutdown::Deadline(_) if st.phase == Phase::Running => {
                st.phase = Phase::Draining;
            }
            _ => {}
        }
        drop(st);
        if let Some(supervisor) = supervisor {
            if supervisor.thread().id() == thread::current().id() {
                // Shut down from the decision hook: the supervisor returns after it.
                lock(shared).supervisor = Some(supervisor);
            } else {
                let _ = supervisor.join();
            }
        }
        shared.cancel(cancelled);
        shared.work.notify_all();
        shared.room.notify_all();

        let mut st = lock(shared);
        if let Some(report) = st.report {
            return report;
        }
        if inside {
            // This worker cannot wait for itself: help drain the queue, then report the rest
            // (this job included) as still running.
            drop(st);
            while shared.help_one() {}
            let st = lock(shared);
            let unaccounted = st.submitted - st.completed - st.panicked - st.cancelled;
            return Shared::report(&st, unaccounted);
        }
        if st.joiner {
            while st.report.is_none() {
                st = shared
                    .done
                    .wait(st)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            return st.report.unwrap_or_default();
        }
        st.joiner = true;
        let deadline = match mode {
            Shutdown::Deadline(d) => Some(call_started + d),
            _ => None,
        };
        while st.live > 0 {
            match deadline {
                Some(deadline) if Instant::now() >= deadline => {
                    st.phase = Phase::Stopping;
                    let queue = shared.take_queue(&mut st);
                    drop(st);
                    shared.cancel(queue);
                    st = lock(shared);
                    break;
                }
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    st = shared
                        .done
                        .wait_timeout(st, wait)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0;
                }
                None => {
                    st = shared
                        .done
                        .wait(st)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
        }
        let all_exited = st.live == 0;
        let threads = std::mem::take(&mut st.threads);
        let still_running = st.running;
        drop(st);
        if all_exited {
            for handle in threads {
                let _ = handle.join();
            }
        }
        let mut st = lock(shared);
        let report = Shared::report(&st, still_running);
        st.report = Some(report);
        drop(st);
        shared.done.notify_all();
        report
    }

    /// The policy's `max` while a sizing policy is active (as `Lifecycle::max_workers`).
    fn max_workers(&self) -> usize {
        let st = lock(&self.shared);
        if st.sizing.active {
            st.sizing.max.max(st.target)
        } else {
            st.target
        }
    }

    fn metrics(&self) -> Metrics {
        let st = lock(&self.shared);
        let (live, mut sizing, target) = (st.live, st.sizing, st.target);
        drop(st);
        let mut m = self.shared.counters.snapshot(live);
        if sizing.mode != Mode::Fixed {
            sizing.target = target;
            m.sizing = Some(sizing);
        }
        m
    }

    fn pool_id(&self) -> Option<PoolId> {
        Some(PoolId::new(self.shared.id()))
    }

    fn broadcast_jobs(
        &self,
        job_for: &mut dyn FnMut(WorkerId) -> Job,
    ) -> Result<(), BroadcastError> {
        let shared = &self.shared;
        let st = lock(shared);
        if st.phase != Phase::Running {
            return Err(BroadcastError::ShutDown);
        }
        let pool = PoolId::new(shared.id());
        for (index, live) in st.live_index.iter().enumerate() {
            if *live {
                shared.mail.post(index, job_for(WorkerId::new(pool, index)));
            }
        }
        drop(st);
        shared.work.notify_all();
        Ok(())
    }

    fn wait_idle_until(&self, deadline: Option<Instant>) -> Result<bool, WaitIdleError> {
        let shared = &self.shared;
        let inside = worker::holds_up(shared.id())
            || current_worker().is_some_and(|w| w.pool().get() == shared.id());
        if inside {
            return Err(WaitIdleError::InsideWorker);
        }
        let mut st = lock(shared);
        loop {
            if st.queue.is_empty() && st.running == 0 {
                return Ok(true);
            }
            st = match deadline {
                None => shared
                    .done
                    .wait(st)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(false);
                    }
                    shared
                        .done
                        .wait_timeout(st, deadline - now)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }

    fn shutdown_background(&self) {
        let shared = &self.shared;
        let mut st = lock(shared);
        st.started_at.get_or_insert_with(Instant::now);
        if st.phase == Phase::Running {
            st.phase = Phase::Draining;
        }
        drop(st);
        shared.work.notify_all();
        shared.room.notify_all();
    }
}

/// Sizes the pool to `workers` under the lock: starts the missing workers; those at or above
/// the target retire when they look.
/// Sets the target and starts the missing workers, under the caller's lock; the caller wakes
/// the workers once it let go of it, so that those above the target retire.
fn resize_locked(shared: &Arc<Shared>, st: &mut State, workers: usize) -> Result<(), ResizeError> {
    st.target = workers;
    let missing = (0..workers)
        .filter(|&i| !st.live_index.get(i).copied().unwrap_or(false))
        .count();
    for started in 0..missing {
        if let Err(source) = spawn_worker(shared, st) {
            let first_hole = st.live_index.iter().position(|live| !live);
            st.target = first_hole.unwrap_or(st.live_index.len());
            return Err(ResizeError::Spawn { started, source });
        }
    }
    Ok(())
}

/// The supervisor of a self-sizing reference pool: the same decisions as every shoal pool
/// (`shoal_core::sizing::control`), applied under the one lock.
fn supervise(shared: &Arc<Shared>, sizing: &Sizing, workers: usize) {
    let mut control = Control::new(sizing, workers);
    let start = Instant::now();
    loop {
        let st = lock(shared);
        let runs = |st: &State| st.sizing.active && st.phase == Phase::Running;
        if !runs(&st) {
            return;
        }
        let (st, _) = shared
            .sizer
            .wait_timeout(st, sizing.interval_time())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !runs(&st) {
            return;
        }
        let from = st.target;
        drop(st);
        let sample = Sample::of(&shared.counters.snapshot(from), from);
        let Some((to, reason)) = control.step(start.elapsed(), sample) else {
            continue;
        };
        let mut st = lock(shared);
        if !runs(&st) {
            return;
        }
        let failed = resize_locked(shared, &mut st, to).is_err();
        let decision = Decision {
            from,
            to,
            reason,
            failed,
        };
        // Recorded under the lock the resize held, which a retiring worker's exit takes too:
        // whoever sees the retired workers gone sees the decision.
        st.sizing.record(decision, control.limit());
        drop(st);
        shared.work.notify_all();
        if let Some(hook) = sizing.decision_hook() {
            hook(&decision);
        }
    }
}

impl Drop for RefPool {
    fn drop(&mut self) {
        match self.shared.on_drop {
            DropBehavior::CancelQueued => {
                self.shutdown(Shutdown::Now);
            }
            DropBehavior::Background => self.shutdown_background(),
            _ => {
                self.shutdown(Shutdown::Graceful);
            }
        }
    }
}

/// Builds [`RefPool`]s for the suite.
pub(crate) struct RefFactory;

impl Factory for RefFactory {
    type Pool = RefPool;

    fn build(&self, config: PoolConfig) -> Result<RefPool, BuildError> {
        RefPool::build(config)
    }
}

mod suite {
    use super::RefFactory;

    crate::conformance_suite!(RefFactory);
}

mod kit {
    use crate::SCENARIOS;

    /// Every `pub fn name<F: Factory>` in the scenario files is in the suite's list, once.
    #[test]
    fn every_scenario_is_listed() {
        let sources = [
            include_str!("scenarios/background.rs"),
            include_str!("scenarios/basics.rs"),
            include_str!("scenarios/bounded.rs"),
            include_str!("scenarios/broadcast.rs"),
            include_str!("scenarios/cancel.rs"),
            include_str!("scenarios/config.rs"),
            include_str!("scenarios/idle.rs"),
            include_str!("scenarios/map.rs"),
            include_str!("scenarios/fork.rs"),
            include_str!("scenarios/metrics.rs"),
            include_str!("scenarios/nesting.rs"),
            include_str!("scenarios/panics.rs"),
            include_str!("scenarios/resize.rs"),
            include_str!("scenarios/shutdown.rs"),
            include_str!("scenarios/sizing.rs"),
            include_str!("scenarios/threads.rs"),
        ];
        let mut defined: Vec<&str> = sources
            .iter()
            .flat_map(|src| src.lines())
            .filter_map(|line| line.strip_prefix("pub fn "))
            .filter_map(|rest| rest.split_once("<F: Factory>"))
            .map(|(name, _)| name)
            .collect();
        defined.sort_unstable();
        let mut listed = SCENARIOS.to_vec();
        listed.sort_unstable();
        let before = listed.len();
        listed.dedup();
        assert_eq!(listed.len(), before, "a scenario is listed twice");
        assert_eq!(defined, listed, "the scenario files and SCENARIOS disagree");
    }

    /// The watchdog passes a value through, re-raises a panic unchanged, and fails a body
    /// that hangs with a message naming the scenario.
    #[test]
    fn watchdog_catches_hangs_and_panics() {
        use crate::watchdog;
        use crate::watchdog::watch;
        use std::panic::catch_unwind;
        use std::time::Duration;
        let limit = Duration::from_secs(30);
        assert_eq!(watchdog("value", limit, || 5), 5);
        let panicked = catch_unwind(|| watchdog("boom", limit, || panic!("inner message")));
        let payload = panicked.expect_err("the body panicked");
        assert_eq!(
            shoal_core::panic_message(payload.as_ref()),
            Some("inner message")
        );
        let hung = catch_unwind(|| {
            watch("hangs_forever", Duration::from_secs(1), || loop {
                std::thread::park();
            })
        });
        let payload = hung.expect_err("the watchdog fired");
        let message = shoal_core::panic_message(payload.as_ref()).unwrap_or("");
        assert!(message.contains("hangs_forever"), "{message}");
    }
}
