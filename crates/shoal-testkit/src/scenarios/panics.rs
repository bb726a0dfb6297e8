//! A job panics: the worker survives, the handle carries the message, the metrics count it,
//! the panic handler sees it.

use std::sync::Arc;

use shoal_core::{Executor, ExecutorExt, PanicHandler, Shutdown, TaskError};

use crate::tools::{panic_recorder, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    build, check_report, execute_counting, panicking_job, run_together, scenario, submit_mixed,
    wait_metrics, ACCEPT,
};
use super::Counts;

/// The message of [`run_together`] after panics.
const ALIVE: &str = "jobs that need every worker at once (did a panic kill a worker?)";

/// Submits `n` jobs that panic, numbered from 0.
fn execute_panicking<E: Executor + ?Sized>(pool: &E, n: u32) {
    for i in 0..n {
        pool.execute(panicking_job(i)).expect(ACCEPT);
    }
}

/// After 25 panicking jobs (20 executed, 5 spawned) the pool still has its 2 workers: both
/// report it and two jobs that need two live workers at once finish.
pub fn panic_keeps_workers<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("panic_keeps_workers", pool, move |pool| {
        execute_panicking(&pool, 20);
        let handles: Vec<_> = (0..5)
            .map(|i| {
                pool.spawn(move || -> u32 { panic!("conformance: deliberate spawn panic {i}") })
                    .expect(ACCEPT)
            })
            .collect();
        for handle in handles {
            assert!(handle.join().expect_err("the job panicked").is_panic());
        }
        wait_metrics(&pool, "all 25 panics to be counted", |m| m.panicked == 25);
        assert_eq!(pool.workers(), 2, "a panic must not change workers()");
        assert_eq!(pool.metrics().workers, 2, "a panic must not kill a worker");
        run_together(&pool, 2, ALIVE);
    });
}

/// The handle of a panicking job gives `TaskError::Panicked` whose `panic_message` reads a
/// `&str` or a formatted `String` payload, and whose `into_panic` returns any other payload.
pub fn panic_message_via_handle<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("panic_message_via_handle", pool, move |pool| {
        let literal = pool
            .spawn(|| -> u32 { panic!("static boom") })
            .expect(ACCEPT);
        let formatted = pool
            .spawn(|| -> u32 {
                let n = 7;
                panic!("formatted boom {n}")
            })
            .expect(ACCEPT);
        let other = pool
            .spawn(|| -> u32 { std::panic::panic_any(42u64) })
            .expect(ACCEPT);

        let err = literal.join().expect_err("the job panicked");
        assert!(err.is_panic() && !err.is_cancelled(), "{err:?}");
        assert_eq!(err.panic_message(), Some("static boom"));
        assert!(err.to_string().contains("static boom"), "Display: {err}");

        let err = formatted.join().expect_err("the job panicked");
        assert_eq!(err.panic_message(), Some("formatted boom 7"));

        let err = other.join().expect_err("the job panicked");
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), None, "a u64 payload is not text");
        match err.into_panic() {
            Ok(payload) => assert_eq!(payload.downcast_ref::<u64>(), Some(&42)),
            Err(err) => panic!("into_panic of a panic gave {err:?}"),
        }
    });
}

/// `metrics().panicked` and the shutdown report count each panic exactly once, apart from the
/// jobs that completed.
pub fn panic_counted_in_metrics<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("panic_counted_in_metrics", pool, move |pool| {
        submit_mixed(&pool, 20, 3, &Tally::new());
        let m = wait_metrics(&pool, "7 panics and 13 completions", |m| {
            m.panicked + m.completed == 20
        });
        assert_eq!((m.submitted, m.panicked, m.completed), (20, 7, 13), "{m:?}");
        let report = pool.shutdown(Shutdown::Graceful);
        let want = Counts {
            submitted: 20,
            completed: 13,
            panicked: 7,
            ..Counts::default()
        };
        check_report("panic_counted_in_metrics", &report, want);
    });
}

/// The panic handler is called once per panicking `execute`d job, on its payload (a `&str` or
/// a `String`), and never for a job that completes.
pub fn panic_handler_sees_execute_payload<F: Factory>(f: &F) {
    let (handler, recorder) = panic_recorder();
    let pool = build(
        f,
        PoolConfig::new()
            .workers(2)
            .panic_handler(move |payload| handler(payload)),
    );
    scenario("panic_handler_sees_execute_payload", pool, move |pool| {
        let ran = Tally::new();
        pool.execute(Box::new(|| panic!("raw boom"))).expect(ACCEPT);
        pool.execute(Box::new(|| panic!("{} boom", "formatted")))
            .expect(ACCEPT);
        execute_counting(&pool, 5, &ran);
        let mut messages: Vec<_> = recorder
            .wait_for(2)
            .into_iter()
            .map(|seen| seen.message)
            .collect();
        messages.sort();
        assert_eq!(
            messages,
            [
                Some("formatted boom".to_owned()),
                Some("raw boom".to_owned())
            ]
        );
        wait_metrics(&pool, "7 jobs to end", |m| {
            m.completed == 5 && m.panicked == 2
        });
        assert_eq!(recorder.seen().len(), 2, "one handler call per panic");
    });
}

/// For a `spawn`ed job the handler sees a `String` copy of the panic message, while the
/// handle keeps the original payload.
pub fn panic_handler_sees_spawn_message_copy<F: Factory>(f: &F) {
    let (handler, recorder) = panic_recorder();
    let pool = build(
        f,
        PoolConfig::new()
            .workers(1)
            .panic_handler(move |payload| handler(payload)),
    );
    scenario("panic_handler_sees_spawn_message_copy", pool, move |pool| {
        let handle = pool
            .spawn(|| -> u32 { panic!("spawned boom") })
            .expect(ACCEPT);
        let err = handle.join().expect_err("the job panicked");
        assert_eq!(err.panic_message(), Some("spawned boom"));
        let payload = err.into_panic().expect("a panic");
        assert!(
            payload.is::<&'static str>(),
            "the handle keeps the original payload"
        );
        let seen = recorder.wait_for(1);
        assert_eq!(seen[0].message.as_deref(), Some("spawned boom"));
        assert!(
            seen[0].is_string,
            "for spawn, the handler sees a String copy"
        );
        wait_metrics(&pool, "the panic to be counted", |m| m.panicked == 1);
        assert_eq!(recorder.seen().len(), 1, "one handler call per panic");
    });
}

/// A panic handler that itself panics cannot take a worker down: panics are still counted
/// and both workers still run jobs.
pub fn panicking_panic_handler_is_contained<F: Factory>(f: &F) {
    let calls = Tally::new();
    let counted = calls.clone();
    let handler: PanicHandler = Arc::new(move |_payload| {
        counted.add();
        panic!("conformance: the panic handler itself panics");
    });
    let pool = build(
        f,
        PoolConfig::new()
            .workers(2)
            .panic_handler(move |payload| handler(payload)),
    );
    scenario("panicking_panic_handler_is_contained", pool, move |pool| {
        execute_panicking(&pool, 10);
        calls.wait_for(10, "the panic handler to see all 10 panics");
        wait_metrics(&pool, "10 panics to be counted", |m| m.panicked == 10);
        assert_eq!(pool.workers(), 2);
        run_together(&pool, 2, ALIVE);
        let value = pool.spawn(|| 5).expect(ACCEPT).join();
        assert_eq!(value.expect("no panic"), 5);
    });
}

/// In `map` a panicking item gives `Err(Panicked)` with its message in its own place while
/// every other item gives its value; `map_unordered` likewise yields exactly one error.
pub fn panic_in_map_item<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("panic_in_map_item", pool, move |pool| {
        let work = |i: u32| {
            if i == 7 {
                panic!("item {i} failed");
            }
            i * 2
        };
        let results: Vec<Result<u32, TaskError>> = pool.map(0..20u32, work).collect();
        assert_eq!(results.len(), 20);
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(v) => assert_eq!(v, i as u32 * 2, "item {i}"),
                Err(err) if i == 7 => assert_eq!(err.panic_message(), Some("item 7 failed")),
                Err(err) => panic!("item {i} failed unexpectedly: {err}"),
            }
        }
        let (errors, values): (Vec<_>, Vec<_>) =
            pool.map_unordered(0..20u32, work).partition(Result::is_err);
        assert_eq!(errors.len(), 1, "exactly the one panicking item fails");
        let message = errors[0].as_ref().err().and_then(TaskError::panic_message);
        assert_eq!(message, Some("item 7 failed"));
        let mut values: Vec<u32> = values
            .into_iter()
            .map(|r| r.expect("only item 7 fails"))
            .collect();
        values.sort_unstable();
        let want: Vec<u32> = (0..20).filter(|&i| i != 7).map(|i| i * 2).collect();
        assert_eq!(values, want);
        wait_metrics(&pool, "both panics to be counted", |m| m.panicked == 2);
    });
}
