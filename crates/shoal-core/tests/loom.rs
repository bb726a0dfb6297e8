//! loom models of the life cycle every pool shares (`shoal_core::lifecycle`), checked once for
//! every strategy over the smallest pool that has one: a `Mutex<VecDeque>` queue, a condition
//! variable, workers that hold an `ExitGuard`. Each pool's own models then check only its
//! mechanics (sealing, stealing, latches). Then the waker protocol of `JoinHandle` as a future:
//! a poll racing the completion never loses the wake-up.
//!
//! Run: `RUSTFLAGS="--cfg shoal_loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
//!       cargo test --release --target-dir target/loom -p shoal-pool-core --test loom`
#![cfg(shoal_loom)]

use std::collections::VecDeque;

use shoal_core::lifecycle::{self, Lifecycle, Mechanics, Workers};
use shoal_core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use shoal_core::sync::{lock, thread, Arc, Condvar, Mutex};
use shoal_core::{handle_pair, Metrics, Shutdown, ShutdownReport, TaskError};

/// The smallest pool: jobs are numbers, "running" one counts it completed.
struct Mini {
    queue: Mutex<VecDeque<u32>>,
    /// Signalled when a job is queued, or the state changes.
    cv: Condvar,
    closed: AtomicBool,
    cancel: AtomicBool,
    submitted: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    life: Lifecycle,
}

impl Mini {
    fn new() -> Arc<Mini> {
        Mini::with(&shoal_core::PoolConfig::new())
    }

    fn with(config: &shoal_core::PoolConfig) -> Arc<Mini> {
        Arc::new(Mini {
            queue: Mutex::new(VecDeque::new()),
            cv: Condvar::new(),
            closed: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            submitted: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            life: Lifecycle::with_config(config),
        })
    }

    /// Queues a job unless intake is closed (checked under the queue lock, as `close` sets it).
    fn submit(&self, job: u32) -> bool {
        let mut queue = lock(&self.queue);
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        queue.push_back(job);
        self.submitted.fetch_add(1, Ordering::SeqCst);
        drop(queue);
        self.cv.notify_one();
        true
    }

    fn start(this: &Arc<Mini>, workers: usize) {
        let mut starter = this.life.starter().expect("running");
        for _ in 0..workers {
            let pool = this.clone();
            starter
                .start(|index| Ok(thread::spawn(move || Mini::work(&pool, index))))
                .expect("start");
        }
    }

    /// A worker: runs jobs until intake is closed and the queue is empty.
    fn work(this: &Arc<Mini>, index: usize) {
        let _exit = this.life.exit_guard(&**this, index);
        let mut queue = lock(&this.queue);
        loop {
            if let Some(_job) = queue.pop_front() {
                if this.cancel.load(Ordering::SeqCst) {
                    this.cancelled.fetch_add(1, Ordering::SeqCst);
                } else {
                    this.completed.fetch_add(1, Ordering::SeqCst);
                }
                continue;
            }
            if this.closed.load(Ordering::SeqCst) {
                return;
            }
            queue = this.cv.wait(queue).unwrap();
        }
    }
}

impl Mechanics for Mini {
    fn id(&self) -> usize {
        self as *const Mini as usize
    }

    fn close(&self, cancel: bool) {
        let _queue = lock(&self.queue);
        self.closed.store(true, Ordering::SeqCst);
        if cancel {
            self.cancel.store(true, Ordering::SeqCst);
        }
    }

    fn cancel_queued(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        let drained = std::mem::take(&mut *lock(&self.queue));
        self.cancelled
            .fetch_add(drained.len() as u64, Ordering::SeqCst);
    }

    fn wake_all(&self, _alive: usize) {
        let _queue = lock(&self.queue);
        self.cv.notify_all();
    }

    fn metrics(&self, workers: usize) -> Metrics {
        let mut m = Metrics::default();
        m.workers = workers;
        m.submitted = self.submitted.load(Ordering::SeqCst);
        m.completed = self.completed.load(Ordering::SeqCst);
        m.cancelled = self.cancelled.load(Ordering::SeqCst);
        m
    }
}

/// How the life cycle starts Mini's workers (`lifecycle::start`, `resize`, and a sizing
/// policy's decisions).
impl Workers for Mini {
    fn life(&self) -> &Lifecycle {
        &self.life
    }

    fn spawn_worker(this: &Arc<Self>, index: usize) -> std::io::Result<thread::JoinHandle<()>> {
        let pool = this.clone();
        Ok(thread::spawn(move || Mini::work(&pool, index)))
    }
}

fn final_report(report: &ShutdownReport, submitted: u64) {
    assert!(report.adds_up(), "{report:?}");
    assert_eq!(report.still_running, 0, "a final report: {report:?}");
    assert_eq!(report.submitted, submitted, "{report:?}");
}

/// Two threads shut the pool down at once while its worker drains the queue: both get the final
/// report, and it is the same report (written once, by whoever made the last change).
#[test]
fn concurrent_shutdowns_get_one_final_report() {
    loom::model(|| {
        let pool = Mini::new();
        Mini::start(&pool, 1);
        assert!(pool.submit(1));
        let other = {
            let pool = pool.clone();
            thread::spawn(move || pool.life.shutdown(&*pool, Shutdown::Graceful))
        };
        let mine = pool.life.shutdown(&*pool, Shutdown::Graceful);
        let theirs = other.join().unwrap();
        final_report(&mine, 1);
        assert_eq!(mine.completed, 1, "graceful runs what was queued: {mine:?}");
        assert_eq!(
            (mine.completed, mine.cancelled, mine.elapsed),
            (theirs.completed, theirs.cancelled, theirs.elapsed),
            "every caller gets the one report"
        );
    });
}

/// `Shutdown::Now` cancels while the last worker exits: the report waits for the cancelling
/// call, so no job it took shows as still running, and each job is counted once.
#[test]
fn cancel_races_the_last_exit() {
    loom::model(|| {
        let pool = Mini::new();
        Mini::start(&pool, 1);
        assert!(pool.submit(1));
        assert!(pool.submit(2));
        let report = pool.life.shutdown(&*pool, Shutdown::Now);
        final_report(&report, 2);
        assert_eq!(report.completed + report.cancelled, 2, "{report:?}");
        assert_eq!(pool.life.alive(), 0, "every worker exited");
    });
}

/// A submission racing a shutdown is either refused or accounted for in the final report.
#[test]
fn submit_races_shutdown() {
    loom::model(|| {
        let pool = Mini::new();
        Mini::start(&pool, 1);
        let submitter = {
            let pool = pool.clone();
            thread::spawn(move || pool.submit(7))
        };
        let report = pool.life.shutdown(&*pool, Shutdown::Graceful);
        let accepted = submitter.join().unwrap();
        final_report(&report, u64::from(accepted));
        assert_eq!(report.completed, u64::from(accepted), "{report:?}");
    });
}

// ---------------------------------------------------------------------------------------------
// The intake gate (`shoal_core::intake`): a thread that owns its shard marks a submission with a
// plain load and store, not a read-modify-write; the SeqCst fences must still pair it with
// `close`.

/// One submitter that owns its shard (two submissions, the second nested in the first, as a
/// submit that helps while it waits for room) races `close`: once `close` returns, every
/// submission it did not refuse has its job pushed, and the accepted count says so.
#[test]
fn owned_intake_mark_races_close() {
    loom::model(|| {
        let gate = Arc::new(shoal_core::intake::Intake::new());
        let pushed = Arc::new(AtomicU64::new(0));
        let submitter = {
            let (gate, pushed) = (gate.clone(), pushed.clone());
            thread::spawn(move || {
                let mut accepted = 0;
                if let Some(outer) = gate.enter_as_owner() {
                    if let Some(inner) = gate.enter_as_owner() {
                        pushed.fetch_add(1, Ordering::Relaxed);
                        drop(inner);
                        accepted += 1;
                    }
                    pushed.fetch_add(1, Ordering::Relaxed);
                    drop(outer);
                    accepted += 1;
                }
                accepted
            })
        };
        gate.close(|| {});
        // After `close`, what was accepted is pushed, and nothing more will be.
        let seen = pushed.load(Ordering::Relaxed);
        assert_eq!(gate.accepted(), seen);
        let accepted = submitter.join().unwrap();
        assert_eq!(accepted, seen, "a submission accepted after close returned");
    });
}

// ---------------------------------------------------------------------------------------------
// A self-sizing pool's decisions (`shoal_core::sizing`) go through the same life cycle: a
// decision racing a shutdown, or a resize by hand, never starts a worker the pool no longer
// wants, and never loses a job.

/// A pool of one elastic worker (up to 2) whose policy is in force, holding one job.
fn elastic_mini() -> Arc<Mini> {
    let config = shoal_core::PoolConfig::new().sizing(shoal_core::Sizing::elastic(1, 2));
    let pool = Mini::with(&config);
    lifecycle::start(&pool, 1).expect("start");
    assert!(pool.submit(1));
    pool
}

fn backlog() -> shoal_core::Reason {
    shoal_core::Reason::Backlog {
        queued: 1,
        per_sec: 0,
    }
}

/// A grow decided just before a shutdown is applied before it or not at all: after `shutdown`
/// every worker (a grown one too) has exited, the job ran once, the report adds up.
#[test]
fn sizing_grow_races_shutdown() {
    loom::model(|| {
        let pool = elastic_mini();
        let supervisor = {
            let pool = pool.clone();
            thread::spawn(move || lifecycle::apply_decision(&pool, 2, backlog(), 2))
        };
        let report = pool.life.shutdown(&*pool, Shutdown::Graceful);
        let applied = supervisor.join().unwrap();
        final_report(&report, 1);
        assert_eq!(report.completed, 1, "{report:?}");
        if applied.is_some() {
            // Applied while running: the grown worker was counted, and has exited too.
            assert_eq!(pool.life.target(), 2);
        }
        let status = pool.life.metrics(&*pool).sizing.expect("elastic");
        assert!(!status.active, "shutdown switches the policy off");
        assert_eq!(pool.life.alive(), 0, "no worker outlives shutdown");
    });
}

/// A resize by hand racing a decision wins: the policy is off afterwards and the size is the
/// one asked for by hand, whichever ran first.
#[test]
fn resize_by_hand_beats_a_sizing_decision() {
    loom::model(|| {
        let pool = elastic_mini();
        let supervisor = {
            let pool = pool.clone();
            thread::spawn(move || lifecycle::apply_decision(&pool, 2, backlog(), 2))
        };
        lifecycle::resize(&pool, 1).expect("resize by hand");
        let applied = supervisor.join().unwrap();
        assert!(applied.is_none() || applied.unwrap().to == 2);
        let status = pool.life.metrics(&*pool).sizing.expect("elastic");
        assert!(!status.active, "resize by hand switches the policy off");
        if applied.is_none() {
            assert_eq!(pool.life.target(), 1, "the decision came after: refused");
        }
        let report = pool.life.shutdown(&*pool, Shutdown::Graceful);
        final_report(&report, 1);
    });
}

// ---------------------------------------------------------------------------------------------
// `ExecutorExt::join` through `Executor::join_halves`' default (`shoal_core::fork`): the
// second half goes out as a carrier job; the owner takes it back, or waits for whoever took
// it. The executor below holds one job; its worker runs it or, like `Shutdown::Now`, drops it.

use shoal_core::{Executor, ExecutorExt, Job, Rejected, ResizeError};

/// An executor with a queue of jobs and one worker thread that takes them (most models hand
/// it exactly one). Its pool id is [`ONE_SLOT_ID`], under which a model's own thread may
/// register as a worker of it (`shoal_core::worker::enter`).
struct OneSlot {
    jobs: Mutex<VecDeque<Job>>,
    cv: Condvar,
}

/// The pool id of every `OneSlot`.
const ONE_SLOT_ID: usize = 77;

impl OneSlot {
    fn new() -> Arc<OneSlot> {
        Arc::new(OneSlot {
            jobs: Mutex::new(VecDeque::new()),
            cv: Condvar::new(),
        })
    }

    /// Waits for the next job.
    fn take(&self) -> Job {
        let mut jobs = lock(&self.jobs);
        loop {
            if let Some(job) = jobs.pop_front() {
                return job;
            }
            jobs = self.cv.wait(jobs).unwrap();
        }
    }

    /// The worker: waits for the one job, then runs it, or drops it unrun if `drop_it`.
    fn serve(this: &Arc<OneSlot>, drop_it: bool) -> thread::JoinHandle<()> {
        let this = this.clone();
        thread::spawn(move || {
            let job = this.take();
            if drop_it {
                drop(job);
            } else {
                job();
            }
        })
    }

    /// The worker: takes jobs one after another, and runs them (or drops them unrun, if
    /// `drop_them`), until it has taken the one that sets `stop`.
    fn serve_until(
        this: &Arc<OneSlot>,
        stop: &Arc<AtomicBool>,
        drop_them: bool,
    ) -> thread::JoinHandle<()> {
        let (this, stop) = (this.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let job = this.take();
                if drop_them {
                    drop(job);
                } else {
                    job();
                }
            }
        })
    }

    /// Queues the job that stops a [`OneSlot::serve_until`] worker, after every job queued:
    /// it sets `stop` when it is dropped, run or not.
    fn stop(&self, stop: &Arc<AtomicBool>) {
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = SetOnDrop(stop.clone());
        self.execute(Box::new(move || drop(flag))).unwrap();
    }

    /// The worker: once `go` is set, runs `jobs` jobs one after another.
    fn serve_after(
        this: &Arc<OneSlot>,
        go: &Arc<AtomicBool>,
        jobs: usize,
    ) -> thread::JoinHandle<()> {
        let (this, go) = (this.clone(), go.clone());
        thread::spawn(move || {
            while !go.load(Ordering::SeqCst) {
                thread::yield_now();
            }
            for _ in 0..jobs {
                this.take()();
            }
        })
    }
}

impl Executor for OneSlot {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        lock(&self.jobs).push_back(job);
        self.cv.notify_one();
        Ok(())
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.execute(job)
    }
    fn workers(&self) -> usize {
        1
    }
    fn resize(&self, _: usize) -> Result<(), ResizeError> {
        Ok(())
    }
    fn shutdown(&self, _: Shutdown) -> ShutdownReport {
        ShutdownReport::default()
    }
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
    fn pool_id(&self) -> Option<shoal_core::PoolId> {
        Some(shoal_core::PoolId::new(ONE_SLOT_ID))
    }
}

/// The owner's take-back races the worker's take: `b` runs exactly once, on one of them, and
/// `join` returns both values after it ran.
#[test]
fn join_reclaim_races_the_take() {
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, false);
        let runs = AtomicU64::new(0);
        let (a, b) = pool.join(
            || 1,
            || {
                runs.fetch_add(1, Ordering::SeqCst);
                2
            },
        );
        assert_eq!((a, b), (1, 2));
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "b ran once, before join returned"
        );
        worker.join().unwrap();
    });
}

/// The executor drops the carrier unrun (a shutdown cancelled it) while the owner runs `a`:
/// the owner runs `b` itself; nothing is lost and nothing hangs.
#[test]
fn join_survives_a_dropped_carrier() {
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, true);
        let runs = AtomicU64::new(0);
        let (a, b) = pool.join(
            || 1,
            || {
                runs.fetch_add(1, Ordering::SeqCst);
                2
            },
        );
        assert_eq!((a, b), (1, 2));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        worker.join().unwrap();
    });
}

/// A panic in either half reaches the owner only after `b` is no longer running anywhere:
/// `a`'s panic waits for a taken `b`; `b`'s panic on the worker is resumed on the owner.
#[test]
fn join_panics_wait_for_the_other_half() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, false);
        let b_done = AtomicBool::new(false);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            pool.join(|| panic!("a"), || b_done.store(true, Ordering::SeqCst))
        }));
        assert!(caught.is_err());
        // `b` either ran (taken by the worker, awaited) or was taken back and dropped.
        let b_ran = b_done.load(Ordering::SeqCst);
        worker.join().unwrap();
        assert_eq!(
            b_ran,
            b_done.load(Ordering::SeqCst),
            "b ran after join unwound"
        );

        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, false);
        let caught = catch_unwind(AssertUnwindSafe(|| pool.join(|| 1, || panic!("b"))));
        let payload = caught.expect_err("b's panic reaches the owner");
        assert_eq!(shoal_core::panic_message(payload.as_ref()), Some("b"));
        worker.join().unwrap();
    });
}

/// The job completes on another thread while the main thread awaits its handle: in every
/// interleaving of `poll` (check, then register the waker) with the completion (fill, then
/// take the waker and wake it), the future ends `Ready` with the value. A lost wake-up would
/// leave `block_on` waiting with no thread left to wake it: loom reports that as a deadlock.
#[test]
fn future_wakes_on_completion() {
    loom::model(|| {
        let (completer, handle) = handle_pair::<u32>();
        let job = thread::spawn(move || completer.run(|| 7));
        let result = loom::future::block_on(handle);
        assert_eq!(result.unwrap(), 7);
        job.join().unwrap();
    });
}

/// The job is dropped unrun (a shutdown cancelled it) while its handle is awaited: the
/// completer's destructor completes with `Cancelled` and wakes the future, in every order.
#[test]
fn future_wakes_on_cancellation() {
    loom::model(|| {
        let (completer, handle) = handle_pair::<u32>();
        let job = thread::spawn(move || drop(completer));
        let result = loom::future::block_on(handle);
        assert!(matches!(result, Err(TaskError::Cancelled)), "{result:?}");
        job.join().unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// `ExecutorExt::scope` (`shoal_core::scope`, `scope_task`): each task is one node that the
// carrier job, the scope's own drain and the task's handle race to claim; the loser waits for
// `DONE` (a Thread stored, then the WAITER bit; the winner sets DONE, then unparks) or, for a
// counted task, the scope waits for `pending` to reach 0. In every interleaving the task runs
// exactly once, and the scope returns only after it ended.

use std::panic::{catch_unwind, AssertUnwindSafe};

use shoal_core::CANCELLED_TASK_MESSAGE;

/// A task whose closure, run or dropped, is seen: the loom `Arc` inside fails the model's leak
/// check if the node that holds it is never freed.
struct Track(Arc<AtomicU64>);

impl Track {
    fn new() -> Track {
        Track(Arc::new(AtomicU64::new(0)))
    }
}

/// The worker runs the carrier while the scope's thread, at the end of the body, drains the
/// same task: it runs once, and the scope returns after it, with its borrow intact.
#[test]
fn scope_drain_races_the_carrier() {
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, false);
        let runs = AtomicU64::new(0);
        let track = Track::new();
        pool.scope(|s| {
            let runs = &runs;
            let track = &track;
            s.spawn(move |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                track.0.fetch_add(1, Ordering::SeqCst);
            });
        });
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "ran once, before the scope returned"
        );
        worker.join().unwrap();
    });
}

/// The handle's `join` races the worker for the task; the loser waits for `DONE`. The value
/// comes back whoever ran it.
#[test]
fn scope_join_races_the_carrier() {
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, false);
        let track = Track::new();
        let value = pool.scope(|s| {
            let track = Track(track.0.clone());
            s.spawn(move |_| {
                drop(track);
                7
            })
            .join()
        });
        assert_eq!(value.unwrap(), 7);
        worker.join().unwrap();
    });
}

/// The worker drops the carrier unrun (as `Shutdown::Now` does) while the scope's thread
/// drains: either the task ran inline, or it is reported as cancelled; never lost, never both.
#[test]
fn scope_reports_a_dropped_carrier() {
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, true);
        let runs = AtomicU64::new(0);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                let runs = &runs;
                s.spawn(move |_| {
                    runs.fetch_add(1, Ordering::SeqCst);
                });
            })
        }));
        worker.join().unwrap();
        match outcome {
            Ok(()) => assert_eq!(runs.load(Ordering::SeqCst), 1, "ran inline"),
            Err(payload) => {
                assert_eq!(runs.load(Ordering::SeqCst), 0, "cancelled: never ran");
                assert_eq!(
                    shoal_core::panic_message(payload.as_ref()),
                    Some(CANCELLED_TASK_MESSAGE)
                );
            }
        }
    });
}

/// No help: the thief alone runs what is queued.
struct NoHelp;

impl shoal_core::worker::Helper for NoHelp {
    fn help_one(&self) -> bool {
        false
    }
}

/// A held task promoted to the executor (its spawner's hand-out was taken) races the scope's
/// own drain at the end of the body: it is counted once, runs once, and the scope returns
/// only after it ended.
#[test]
fn scope_promotion_races_the_drain() {
    loom::model(|| {
        let pool = OneSlot::new();
        let go = Arc::new(AtomicBool::new(false));
        // The first hand-out, then the promoted task's carrier.
        let thief = OneSlot::serve_after(&pool, &go, 2);
        let _worker = shoal_core::worker::enter(ONE_SLOT_ID, std::sync::Arc::new(NoHelp));
        let started = AtomicBool::new(false);
        let runs = AtomicU64::new(0);
        let track = Track::new();
        pool.scope(|s| {
            let (started, runs, track) = (&started, &runs, &track);
            s.spawn(move |_| started.store(true, Ordering::SeqCst)); // handed out
            s.spawn(move |_| {
                // Held, then promoted below.
                runs.fetch_add(1, Ordering::SeqCst);
                track.0.fetch_add(1, Ordering::SeqCst);
            });
            go.store(true, Ordering::SeqCst);
            while !started.load(Ordering::SeqCst) {
                thread::yield_now();
            }
            // The hand-out was taken: this spawn promotes the held task and holds itself.
            s.spawn(|_| ());
        });
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "the promoted task ran once, before the scope returned"
        );
        thief.join().unwrap();
    });
}

// ---------------------------------------------------------------------------------------------
// `ExecutorExt::map` (`shoal_core::map`): the map keeps at most its lanes' worth of jobs live;
// a job loops over the unclaimed chunks and stops, in the same lock, only once it finds none,
// so a chunk pushed without a job always has a live job (or the consumer) to come to it. A
// job dropped unrun cancels the unclaimed chunks.

/// Checks a map's answers to the items `0..n` (each mapped to `x + 10`): one per item, in
/// order, each its value (allowed when `values`) or `Cancelled` (allowed when `cancels`).
fn assert_answers(got: &[Result<u64, TaskError>], n: usize, values: bool, cancels: bool) {
    assert_eq!(got.len(), n);
    for (i, r) in got.iter().enumerate() {
        match r {
            Ok(v) => assert!(values && *v == i as u64 + 10, "{i}: {v}"),
            Err(e) => assert!(cancels && matches!(e, TaskError::Cancelled), "{e:?}"),
        }
    }
}

/// The pool's one job loops over the chunks while the consumer pushes more and runs some
/// itself: every item runs exactly once, results come in order, and the map ends.
#[test]
fn map_job_loops_while_the_consumer_pushes() {
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, false);
        let runs = Arc::new(AtomicU64::new(0));
        let r = runs.clone();
        let got: Vec<u64> = pool
            .map(0..2u64, move |x| {
                r.fetch_add(1, Ordering::SeqCst);
                x + 10
            })
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, [10, 11]);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "every item ran once");
        worker.join().unwrap();
    });
}

/// The pool drops the map's job unrun (a shutdown) while the consumer takes results: each
/// item gets one answer, its value or `Cancelled`, in order, and the map ends.
#[test]
fn map_job_dropped_unrun_cancels_the_unclaimed_chunks() {
    loom::model(|| {
        let pool = OneSlot::new();
        let worker = OneSlot::serve(&pool, true);
        let got: Vec<Result<u64, TaskError>> = pool.map(0..2u64, |x| x + 10).collect();
        assert_answers(&got, 2, true, true);
        worker.join().unwrap();
    });
}

/// A stream never runs chunks itself, so every chunk it hands out must reach a job, which
/// runs it or, dropped unrun, cancels it. The map's one lane loops over the chunks pushed
/// around it and stops only once none is left (a chunk pushed after that gets a job of its
/// own). A job that stopped between finding no chunk and saying so, or a dropped job that
/// cancelled only one chunk, would strand a chunk, and the stream would wait for good (loom
/// reports the deadlock).
#[test]
fn map_stream_strands_no_chunk() {
    use futures_core::Stream;
    use std::pin::Pin;
    for drop_jobs in [false, true] {
        loom::model(move || {
            let pool = OneSlot::new();
            let stop = Arc::new(AtomicBool::new(false));
            let worker = OneSlot::serve_until(&pool, &stop, drop_jobs);
            let mut stream = pool.map(0..3u64, |x| x + 10).into_stream();
            let got = loom::future::block_on(async {
                let mut got = Vec::new();
                while let Some(r) =
                    std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await
                {
                    got.push(r);
                }
                got
            });
            assert_answers(&got, 3, !drop_jobs, drop_jobs);
            pool.stop(&stop);
            worker.join().unwrap();
        });
    }
}
