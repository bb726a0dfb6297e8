//! `ExecutorExt::scope` over small test executors: tasks borrow and all end before the scope
//! returns, handles return values and panics, refused tasks run inline, cancelled tasks are
//! reported, tasks held inside a worker run depth-first and may be claimed from elsewhere.
#![cfg(not(shoal_loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use shoal_core::{
    Executor, ExecutorExt, Job, Metrics, RejectReason, Rejected, ResizeError, Shutdown,
    ShutdownReport, TaskError, CANCELLED_TASK_MESSAGE,
};

/// What the test executor does with a job.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Runs it on a new thread.
    Thread,
    /// Refuses it (as a pool that is shutting down).
    Refuse,
    /// Accepts it and keeps it; `cancel_all` drops them unrun (as `Shutdown::Now`).
    Hold,
}

struct TestExec {
    mode: Mode,
    held: Mutex<Vec<Job>>,
}

impl TestExec {
    fn new(mode: Mode) -> TestExec {
        TestExec {
            mode,
            held: Mutex::new(Vec::new()),
        }
    }
    fn cancel_all(&self) {
        let jobs = std::mem::take(&mut *self.held.lock().unwrap());
        drop(jobs);
    }
}

impl Executor for TestExec {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        match self.mode {
            Mode::Thread => {
                std::thread::spawn(move || {
                    // As a pool does: a panicking job does not take the worker down.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                });
                Ok(())
            }
            Mode::Refuse => Err(Rejected::new(RejectReason::ShutDown, job)),
            Mode::Hold => {
                self.held.lock().unwrap().push(job);
                Ok(())
            }
        }
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
}

#[test]
fn tasks_borrow_and_all_end_before_return() {
    let exec = TestExec::new(Mode::Thread);
    let hits = AtomicUsize::new(0);
    let mut data = vec![1, 2, 3];
    exec.scope(|s| {
        for x in data.iter_mut() {
            let hits = &hits;
            s.spawn(move |s| {
                *x *= 10;
                s.spawn(move |_| {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    hits.fetch_add(1, Ordering::SeqCst);
                });
            });
        }
    });
    assert_eq!(data, [10, 20, 30]);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "tasks spawned by tasks ended too"
    );
}

#[test]
fn handle_returns_value_and_its_panic() {
    let exec = TestExec::new(Mode::Thread);
    exec.scope(|s| {
        let ok = s.spawn(|_| 41 + 1);
        let bad = s.spawn(|_| -> u8 { panic!("task failed") });
        assert_eq!(ok.join().unwrap(), 42);
        let err = bad.join().unwrap_err();
        assert_eq!(err.panic_message(), Some("task failed"));
    });
    // The panic was taken by its handle, so the scope returned normally.
}

#[test]
fn unjoined_panic_is_resumed_after_all_tasks() {
    let exec = TestExec::new(Mode::Thread);
    let finished = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        exec.scope(|s| {
            s.spawn(|_| panic!("first"));
            s.spawn(|_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                finished.fetch_add(1, Ordering::SeqCst);
            });
        })
    }));
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    let payload = r.unwrap_err();
    assert_eq!(shoal_core::panic_message(payload.as_ref()), Some("first"));
}

#[test]
fn body_panic_waits_for_tasks() {
    let exec = TestExec::new(Mode::Thread);
    let finished = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        exec.scope(|s| {
            s.spawn(|_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                finished.fetch_add(1, Ordering::SeqCst);
            });
            panic!("body");
        })
    }));
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert_eq!(
        shoal_core::panic_message(r.unwrap_err().as_ref()),
        Some("body")
    );
}

#[test]
fn refused_task_runs_inline() {
    let exec = TestExec::new(Mode::Refuse);
    let here = std::thread::current().id();
    let ran_on = exec.scope(|s| s.spawn(|_| std::thread::current().id()).join().unwrap());
    assert_eq!(ran_on, here);
    // A refused task's panic still reaches the scope.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        exec.scope(|s| {
            s.spawn(|_| panic!("inline"));
        })
    }));
    assert_eq!(
        shoal_core::panic_message(r.unwrap_err().as_ref()),
        Some("inline")
    );
}

#[test]
fn cancelled_task_is_reported() {
    let exec = TestExec::new(Mode::Hold);
    // Joined: the handle says Cancelled, the scope returns.
    let dropped = AtomicUsize::new(0);
    exec.scope(|s| {
        struct Probe<'a>(&'a AtomicUsize);
        impl Drop for Probe<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let probe = Probe(&dropped);
        let h = s.spawn(move |_| drop(probe));
        exec.cancel_all();
        assert!(matches!(h.join(), Err(TaskError::Cancelled)));
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the closure was dropped");
    // Not joined: the scope reports it instead of returning as if done.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        exec.scope(|s| {
            s.spawn(|_| ());
            exec.cancel_all();
        })
    }));
    assert_eq!(
        shoal_core::panic_message(r.unwrap_err().as_ref()),
        Some(CANCELLED_TASK_MESSAGE)
    );
}

/// An executor with one worker thread of its own: it registers as a worker (so a scope inside
/// it holds tasks on its stack while its last hand-out waits untaken), and helps by running
/// queued jobs.
struct OneWorker {
    queue: std::sync::Arc<Mutex<std::collections::VecDeque<Job>>>,
    id: usize,
}

struct Queue(std::sync::Arc<Mutex<std::collections::VecDeque<Job>>>);

impl shoal_core::worker::Helper for Queue {
    fn help_one(&self) -> bool {
        let job = self.0.lock().unwrap().pop_front();
        match job {
            Some(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                true
            }
            None => false,
        }
    }
}

impl OneWorker {
    /// Runs `f` on the worker, with `self` registered as its pool, and returns its value.
    fn run_inside<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|t| {
            t.spawn(|| {
                let _guard = shoal_core::worker::enter(
                    self.id,
                    std::sync::Arc::new(Queue(self.queue.clone())),
                );
                let r = f();
                // Whatever a scope handed out and then ran itself is still queued, empty.
                use shoal_core::worker::Helper;
                while Queue(self.queue.clone()).help_one() {}
                r
            })
            .join()
            .unwrap()
        })
    }
}

impl Executor for OneWorker {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.queue.lock().unwrap().push_back(job);
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
        Some(shoal_core::PoolId::new(self.id))
    }
}

fn one_worker() -> OneWorker {
    static NEXT: AtomicUsize = AtomicUsize::new(1 << 20);
    OneWorker {
        queue: Default::default(),
        id: NEXT.fetch_add(1, Ordering::Relaxed),
    }
}

/// Sums `data` by splitting it in scope tasks down to single items.
fn tree_sum<E: Executor + ?Sized>(exec: &E, data: &[u64]) -> u64 {
    if data.len() <= 1 {
        return data.iter().sum();
    }
    let (left, right) = data.split_at(data.len() / 2);
    exec.scope(|s| {
        let r = s.spawn(|_| tree_sum(exec, right));
        tree_sum(exec, left) + r.join().unwrap()
    })
}

#[test]
fn held_tasks_inside_a_worker_run_depth_first() {
    let exec = one_worker();
    let data: Vec<u64> = (1..=1000).collect();
    let sum = exec.run_inside(|| tree_sum(&exec, &data));
    assert_eq!(sum, 500_500);
    // Detached tasks, some spawning more, some panicking: all end before the scope returns,
    // and the first unjoined panic is resumed.
    let ran = AtomicUsize::new(0);
    let r = exec.run_inside(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            exec.scope(|s| {
                for i in 0..8 {
                    let ran = &ran;
                    s.spawn(move |s| {
                        s.spawn(move |_| ran.fetch_add(1, Ordering::SeqCst));
                        ran.fetch_add(1, Ordering::SeqCst);
                        if i == 5 {
                            panic!("task 5");
                        }
                    });
                }
            })
        }))
    });
    assert_eq!(ran.load(Ordering::SeqCst), 16);
    assert_eq!(
        shoal_core::panic_message(r.unwrap_err().as_ref()),
        Some("task 5")
    );
    // A handle joined on another thread claims a held task; the scope waits for it.
    let value = exec.run_inside(|| {
        exec.scope(|s| {
            let _first = s.spawn(|_| 0); // handed out, stays untaken
            let held = s.spawn(|_| 7); // held on this thread
            std::thread::scope(|t| t.spawn(move || held.join().unwrap()).join().unwrap())
        })
    });
    assert_eq!(value, 7);
}

/// Once the task a worker handed out was taken, the next spawn hands out the *oldest* task the
/// worker still holds (the biggest piece of work it has to give), and holds the new one.
#[test]
fn a_taken_hand_out_promotes_the_oldest_held_task() {
    let exec = one_worker();
    let queued = || exec.queue.lock().unwrap().len();
    let ran: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
    exec.run_inside(|| {
        exec.scope(|s| {
            let ran = &ran;
            let task = |i: usize| move |_: &_| ran[i].fetch_add(1, Ordering::SeqCst);
            s.spawn(task(0)); // handed out
            s.spawn(task(1)); // held: the hand-out waits untaken
            s.spawn(task(2)); // held
            assert_eq!(queued(), 1, "one hand-out while it waits untaken");
            // A thief takes the hand-out (here, on this thread).
            let job = exec.queue.lock().unwrap().pop_front().unwrap();
            job();
            assert_eq!(ran[0].load(Ordering::SeqCst), 1);
            s.spawn(task(3)); // held; the oldest held one, task 1, is handed out instead
            assert_eq!(queued(), 1, "the oldest held task was handed out");
            let job = exec.queue.lock().unwrap().pop_front().unwrap();
            job();
            assert_eq!(ran[1].load(Ordering::SeqCst), 1, "the hand-out was task 1");
            assert_eq!(ran[2].load(Ordering::SeqCst), 0, "task 2 is still held");
            assert_eq!(ran[3].load(Ordering::SeqCst), 0, "task 3 is still held");
        });
    });
    // Every task ran once: the held ones when the scope's body ended.
    for (i, count) in ran.iter().enumerate() {
        assert_eq!(count.load(Ordering::SeqCst), 1, "task {i}");
    }
    // A promoted task that nobody takes is run by the scope's end, and its handle works.
    let value = exec.run_inside(|| {
        exec.scope(|s| {
            let first = s.spawn(|_| 1);
            let second = s.spawn(|_| 2); // held
            let job = exec.queue.lock().unwrap().pop_front().unwrap();
            job(); // `first` taken
            let third = s.spawn(|_| 3); // promotes `second`: its carrier waits in the queue
            assert_eq!(queued(), 1);
            third.join().unwrap() + second.join().unwrap() + first.join().unwrap()
        })
    });
    assert_eq!(value, 6);
}

/// A handle crosses threads like the value it hands over; a scope is shared by its tasks.
#[test]
fn handles_and_scopes_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<shoal_core::ScopedJoinHandle<'static, u32>>();
    send_sync::<shoal_core::ScopedJoinHandle<'static, std::cell::Cell<u32>>>();
    send_sync::<shoal_core::Scope<'static, 'static, TestExec>>();
}
