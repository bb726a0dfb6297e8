//! `ExecutorExt::scope` over small test executors: tasks borrow and all end before the scope
//! returns, handles return values and panics, refused tasks run inline, cancelled tasks are
//! reported.
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
