//! `ScopedPool::scope` and the core `ExecutorExt::scope` running on a ScopedPool.
#![cfg(not(shoal_loom))]

mod common;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use shoal_core::{Executor, ExecutorExt, Shutdown};
use shoal_scope::{ForkScope, ScopedPool};

#[test]
fn smoke() {
    watchdog("smoke", || {
        let pool = ScopedPool::new(2).unwrap();
        let mut v = vec![0u32; 64];
        pool.fork_scope(|s| {
            for (i, x) in v.iter_mut().enumerate() {
                s.spawn(move |_| *x = i as u32 * 2);
            }
        });
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as u32 * 2));
    });
}

fn spawn_tree<'scope>(s: &ForkScope<'scope>, depth: u32, count: &'scope AtomicUsize) {
    count.fetch_add(1, Ordering::SeqCst);
    if depth > 0 {
        s.spawn(move |s| spawn_tree(s, depth - 1, count));
        s.spawn(move |s| spawn_tree(s, depth - 1, count));
    }
}

#[test]
fn tasks_spawned_by_tasks_complete_before_return() {
    watchdog("tasks_spawned_by_tasks_complete_before_return", || {
        for workers in [1, 2, 3] {
            let pool = ScopedPool::new(workers).unwrap();
            let count = AtomicUsize::new(0);
            pool.fork_scope(|s| spawn_tree(s, 10, &count));
            assert_eq!(count.load(Ordering::SeqCst), (1 << 11) - 1);
        }
    });
}

/// Where the panic of [`panicking_scope`] starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PanicIn {
    /// A task spawned before the slow ones.
    Task,
    /// The body, after spawning the slow tasks.
    Body,
}

/// A scope on `pool` with `slow` slow tasks (a millisecond each) that panics where `at` says:
/// the scope must panic, and only after every slow task ended. Returns the payload.
fn panicking_scope(pool: &ScopedPool, slow: usize, at: PanicIn) -> Box<dyn Any + Send> {
    let finished = AtomicUsize::new(0);
    let r = catch_unwind(AssertUnwindSafe(|| {
        pool.fork_scope(|s| {
            if at == PanicIn::Task {
                s.spawn(|_| panic!("task failed"));
            }
            for _ in 0..slow {
                s.spawn(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            if at == PanicIn::Body {
                panic!("body failed");
            }
        })
    }));
    assert_eq!(finished.load(Ordering::SeqCst), slow);
    r.expect_err("a panicking scope panics")
}

#[test]
fn first_panic_resumed_after_every_task() {
    watchdog("first_panic_resumed_after_every_task", || {
        let pool = ScopedPool::new(2).unwrap();
        let payload = panicking_scope(&pool, 20, PanicIn::Task);
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"task failed"));
        // The pool survives.
        assert_eq!(pool.install(|| 5), 5);
    });
}

#[test]
fn body_panic_still_waits_for_tasks() {
    watchdog("body_panic_still_waits_for_tasks", || {
        panicking_scope(&ScopedPool::new(2).unwrap(), 10, PanicIn::Body);
    });
}

#[test]
fn scope_returns_the_body_value_and_nests_with_join() {
    watchdog("scope_returns_the_body_value_and_nests_with_join", || {
        let pool = ScopedPool::new(2).unwrap();
        let total = AtomicUsize::new(0);
        let r = pool.fork_scope(|s| {
            s.spawn(|_| {
                let (a, b) = shoal_scope::join(|| 1, || 2);
                total.fetch_add(a + b, Ordering::SeqCst);
            });
            "body"
        });
        assert_eq!(r, "body");
        assert_eq!(total.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn free_scope_outside_uses_default_pool() {
    watchdog("free_scope_outside_uses_default_pool", || {
        let hits = AtomicUsize::new(0);
        shoal_scope::fork_scope(|s| {
            for _ in 0..8 {
                s.spawn(|_| {
                    hits.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(hits.load(Ordering::SeqCst), 8);
    });
}

#[test]
fn core_scope_on_scoped_pool_from_outside() {
    watchdog("core_scope_on_scoped_pool_from_outside", || {
        let pool = ScopedPool::new(2).unwrap();
        let data = [1u64, 2, 3, 4];
        let sum = ExecutorExt::scope(&pool, |s| {
            let handles: Vec<_> = data.iter().map(|x| s.spawn(move |_| x * 10)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(sum, 100);
    });
}

#[test]
fn core_scope_inside_the_only_worker_helps() {
    watchdog("core_scope_inside_the_only_worker_helps", || {
        // One worker: the scope's tasks can only run if the waiting worker runs them itself.
        let pool = std::sync::Arc::new(ScopedPool::new(1).unwrap());
        let inner = pool.clone();
        let handle = pool
            .spawn(move || {
                let local = [1, 2, 3];
                ExecutorExt::scope(&*inner, |s| {
                    let h = s.spawn(|_| local.iter().sum::<i32>());
                    s.spawn(|s| s.spawn(|_| ()).join().unwrap());
                    h.join().unwrap()
                })
            })
            .unwrap();
        assert_eq!(handle.join().unwrap(), 6);
    });
}

#[test]
fn core_scope_task_panic_reaches_its_handle_and_the_pool() {
    watchdog(
        "core_scope_task_panic_reaches_its_handle_and_the_pool",
        || {
            let pool = ScopedPool::new(2).unwrap();
            ExecutorExt::scope(&pool, |s| {
                let err = s.spawn(|_| -> () { panic!("boom") }).join().unwrap_err();
                assert_eq!(err.panic_message(), Some("boom"));
            });
            let report = pool.shutdown(Shutdown::Graceful);
            assert_eq!(report.panicked, 1, "the pool counted the task's panic");
        },
    );
}

#[test]
fn core_scope_after_shutdown_runs_tasks_inline() {
    watchdog("core_scope_after_shutdown_runs_tasks_inline", || {
        let pool = ScopedPool::new(2).unwrap();
        pool.shutdown(Shutdown::Graceful);
        let here = std::thread::current().id();
        let ran_on = ExecutorExt::scope(&pool, |s| s.spawn(|_| std::thread::current().id()).join());
        assert_eq!(ran_on.unwrap(), here);
    });
}

/// A panic payload whose destructor panics (unless already unwinding).
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("bomb");
        }
    }
}

/// Regression: a second task's panic payload used to be dropped outside any `catch_unwind`,
/// before its count was returned; the unwind then escaped the internal job and the scope
/// returned while a third task still read the borrowed vector (a use after free).
#[test]
fn payload_that_panics_on_drop_keeps_the_scope_waiting() {
    watchdog(
        "payload_that_panics_on_drop_keeps_the_scope_waiting",
        || {
            for workers in [1, 2] {
                let pool = ScopedPool::new(workers).unwrap();
                let data = vec![7usize; 4096];
                let finished = AtomicUsize::new(0);
                let r = catch_unwind(AssertUnwindSafe(|| {
                    pool.fork_scope(|s| {
                        s.spawn(|_| panic!("first"));
                        s.spawn(|_| std::panic::panic_any(Bomb));
                        s.spawn(|_| {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            finished.fetch_add(data.iter().sum::<usize>(), Ordering::SeqCst);
                        });
                    })
                }));
                assert_eq!(
                    finished.load(Ordering::SeqCst),
                    7 * 4096,
                    "the scope returned before its last task ended ({workers} workers)"
                );
                let payload = r.expect_err("the scope resumes a task's panic");
                let message = shoal_core::panic_message(payload.as_ref()).map(str::to_owned);
                // The payload may be the bomb (2 workers: whichever panicked first): drop it quietly.
                shoal_core::worker::drop_quietly(payload);
                if workers == 1 {
                    assert_eq!(message.as_deref(), Some("first"));
                }
                // The pool still works, with every worker.
                assert_eq!(pool.join(|| 1, || 2), (1, 2));
                assert_eq!(pool.workers(), workers);
                drop(data);
            }
        },
    );
}
