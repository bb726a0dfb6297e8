//! A deliberately plain pool (one `Mutex<VecDeque>`, three condition variables) that the suite
//! runs against in shoal-testkit's own tests, so the scenarios are checked before any real pool
//! exists and a failing scenario can be told apart from a failing pool. Not a public API and
//! not fast: every state change takes the one lock.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use shoal_core::worker::{self, Helper};
use shoal_core::{
    check_resize, BuildError, Counters, Event, Executor, Job, Metrics, PanicHandler, RejectReason,
    Rejected, ResizeError, Shutdown, ShutdownReport,
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
    phase: Phase,
    target: usize,
    live: usize,
    retiring: usize,
    running: u64,
    submitted: u64,
    completed: u64,
    panicked: u64,
    cancelled: u64,
    started_at: Option<Instant>,
    joiner: bool,
    report: Option<ShutdownReport>,
    threads: Vec<thread::JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    room: Condvar,
    done: Condvar,
    capacity: Option<usize>,
    counters: Counters,
    handler: Option<PanicHandler>,
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
        let ok = worker::run_job(job, &self.counters, self.handler.as_ref());
        let mut st = lock(self);
        st.running -= 1;
        if ok {
            st.completed += 1;
        } else {
            st.panicked += 1;
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
    let for_thread = shared.clone();
    let handle = thread::Builder::new()
        .name("reference-worker".into())
        .spawn(move || worker_loop(for_thread))?;
    st.live += 1;
    st.threads.push(handle);
    Ok(())
}

fn worker_loop(shared: Arc<Shared>) {
    let helper: Arc<dyn Helper> = shared.clone();
    let _guard = worker::enter(shared.id(), helper);
    let mut st = lock(&shared);
    loop {
        if st.retiring > 0 {
            st.retiring -= 1;
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
                phase: Phase::Running,
                target: workers,
                live: 0,
                retiring: 0,
                running: 0,
                submitted: 0,
                completed: 0,
                panicked: 0,
                cancelled: 0,
                started_at: None,
                joiner: false,
                report: None,
                threads: Vec::new(),
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            done: Condvar::new(),
            capacity: config.capacity(),
            counters: Counters::new(),
            handler: config.handler().cloned(),
        });
        {
            let mut st = lock(&shared);
            for _ in 0..workers {
                spawn_worker(&shared, &mut st).map_err(BuildError::spawn)?;
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
        let active = st.live - st.retiring;
        st.target = workers;
        if workers < active {
            st.retiring += active - workers;
            drop(st);
            shared.work.notify_all();
        } else {
            let mut missing = workers - active;
            let kept = missing.min(st.retiring);
            st.retiring -= kept;
            missing -= kept;
            for started in 0..missing {
                if let Err(source) = spawn_worker(shared, &mut st) {
                    st.target = st.live - st.retiring;
                    return Err(ResizeError::Spawn { started, source });
                }
            }
        }
        Ok(())
    }

    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        let shared = &self.shared;
        let inside = worker::is_worker_of(shared.id());
        let mut st = lock(shared);
        st.started_at.get_or_insert_with(Instant::now);
        let call_started = Instant::now();
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

    fn metrics(&self) -> Metrics {
        let live = lock(&self.shared).live;
        self.shared.counters.snapshot(live)
    }
}

impl Drop for RefPool {
    fn drop(&mut self) {
        self.shutdown(Shutdown::Graceful);
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
            include_str!("scenarios/basics.rs"),
            include_str!("scenarios/bounded.rs"),
            include_str!("scenarios/config.rs"),
            include_str!("scenarios/map.rs"),
            include_str!("scenarios/fork.rs"),
            include_str!("scenarios/metrics.rs"),
            include_str!("scenarios/nesting.rs"),
            include_str!("scenarios/panics.rs"),
            include_str!("scenarios/resize.rs"),
            include_str!("scenarios/shutdown.rs"),
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
