//! `JoinHandle::cancel`: a queued job never runs and is counted once as cancelled; a running
//! or finished job is left alone and the call says so; cancels racing the workers keep every
//! count exact.

use std::sync::{Arc, Mutex};

use shoal_core::{CancelOutcome, Executor, ExecutorExt, Shutdown};

use crate::tools::{wait_until, Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    blocked, build, check_report, join_cancelled, occupy, scenario, spawn_counted, wait_metrics,
    ACCEPT,
};
use super::Counts;

/// A job queued behind a held worker is cancelled: the call says `Cancelled` (twice, too), the
/// handle's `join` gives `Cancelled` at once, the job never runs, and the pool counts it
/// as cancelled, once (in the metrics and in the report), while the next job runs normally.
pub fn cancel_queued_job<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("cancel_queued_job", pool, move |pool| {
        let gate = blocked(&pool, 1);
        let ran = Tally::new();
        let mut handles = spawn_counted(&pool, 2, &ran);
        let kept = handles.pop().expect("two handles");
        let cancelled = handles.pop().expect("two handles");
        assert_eq!(cancelled.cancel(), CancelOutcome::Cancelled);
        assert_eq!(
            cancelled.cancel(),
            CancelOutcome::Cancelled,
            "cancelling again"
        );
        assert!(
            cancelled.is_finished(),
            "a cancelled job is finished at once"
        );
        join_cancelled(vec![cancelled]);
        drop(gate);
        assert_eq!(kept.join().expect("the next job runs"), 1);
        assert_eq!(ran.get(), 1, "the cancelled job never ran");
        let m = wait_metrics(&pool, "the cancelled entry to leave the queue", |m| {
            m.cancelled == 1
        });
        assert_eq!((m.submitted, m.completed, m.cancelled), (3, 2, 1), "{m:?}");
        let report = pool.shutdown(Shutdown::Graceful);
        check_report("cancel_queued_job", &report, Counts::cancelled(3, 2));
    });
}

/// A job that has started is not interrupted (`Running`, and it finishes with its value); one
/// that has ended stays as it ended (`Finished`).
pub fn cancel_running_or_finished_job_is_refused<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario(
        "cancel_running_or_finished_job_is_refused",
        pool,
        move |pool| {
            let (gate, arrived) = (Gate::new(), Tally::new());
            let running = {
                let (waiter, arrived) = (gate.waiter(), arrived.clone());
                pool.spawn(move || {
                    arrived.add();
                    waiter.wait();
                    7
                })
                .expect(ACCEPT)
            };
            arrived.wait_for(1, "the job to start");
            assert_eq!(running.cancel(), CancelOutcome::Running);
            gate.open();
            assert_eq!(running.join().expect("not interrupted"), 7);
            let finished = pool.spawn(|| 8).expect(ACCEPT);
            wait_until("the job to finish", || finished.is_finished());
            assert_eq!(finished.cancel(), CancelOutcome::Finished);
            assert_eq!(finished.join().expect("its value stays"), 8);
            let panicked = pool
                .spawn(|| panic!("conformance: panics before its cancel"))
                .expect(ACCEPT);
            wait_until("the job to panic", || panicked.is_finished());
            assert_eq!(panicked.cancel(), CancelOutcome::Finished);
            assert!(panicked.join().expect_err("it panicked").is_panic());
        },
    );
}

/// 2000 jobs on two workers, every other one cancelled as soon as it is spawned: each cancel
/// that says `Cancelled` is a job that never ran and whose handle says `Cancelled`; every other
/// job ran once and gave its value; the report adds up with exactly those counts.
pub fn cancel_races_workers<F: Factory>(f: &F) {
    const JOBS: u32 = 2000;
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("cancel_races_workers", pool, move |pool| {
        let ran = Arc::new(Mutex::new(vec![false; JOBS as usize]));
        let mut outcomes = Vec::new();
        for i in 0..JOBS {
            let ran = ran.clone();
            let handle = pool
                .spawn(move || {
                    ran.lock().unwrap()[i as usize] = true;
                    i
                })
                .expect(ACCEPT);
            let outcome = (i % 2 == 0).then(|| handle.cancel());
            outcomes.push((i, handle, outcome));
        }
        let mut cancelled = 0u64;
        for (i, handle, outcome) in outcomes {
            let result = handle.join();
            let did_run = ran.lock().unwrap()[i as usize];
            if outcome == Some(CancelOutcome::Cancelled) {
                cancelled += 1;
                assert!(!did_run, "job {i} ran after its cancel said Cancelled");
                assert!(result.expect_err("cancelled").is_cancelled());
            } else {
                assert!(did_run, "job {i} never ran");
                assert_eq!(result.expect("not cancelled"), i);
            }
        }
        let report = pool.shutdown(Shutdown::Graceful);
        let want = Counts::cancelled(u64::from(JOBS), u64::from(JOBS) - cancelled);
        check_report("cancel_races_workers", &report, want);
    });
}

/// A cancelled job's empty entry is counted once whichever way it leaves the queue: run past
/// by a worker (above), or dropped by `Shutdown::Now` (here); either way the report adds up.
pub fn cancel_then_shutdown_now_counts_once<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1));
    scenario("cancel_then_shutdown_now_counts_once", pool, move |pool| {
        let gate = Gate::new();
        let finished = occupy(&pool, &gate, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&pool, 5, &ran);
        for handle in &handles[..2] {
            assert_eq!(handle.cancel(), CancelOutcome::Cancelled);
        }
        let pool = Arc::new(pool);
        let stopper = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown(Shutdown::Now))
        };
        wait_until("Now to cancel the queued jobs", || {
            handles.iter().all(|h| h.is_finished())
        });
        gate.open();
        let report = super::steps::joined(stopper, "shutdown(Now)");
        assert_eq!((finished.get(), ran.get()), (1, 0));
        join_cancelled(handles);
        check_report(
            "cancel_then_shutdown_now_counts_once",
            &report,
            Counts::cancelled(6, 1),
        );
    });
}
