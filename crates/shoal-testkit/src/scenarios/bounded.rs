//! A bounded queue: `try_execute` answers `Full` with the job, `execute` waits for room,
//! shutdown releases a blocked submitter, and a worker submitting to its own full queue helps.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use shoal_core::{Executor, ExecutorExt, RejectReason, Shutdown};

use crate::tools::{Gate, Tally};
use crate::{Factory, PoolConfig};

use super::{
    await_intake_closed, build, check_report, counting_job, joined, occupy, scenario, wait_metrics,
    Counts, ACCEPT,
};

/// With every worker inside a gated job and the queue filled to its capacity, `try_execute`
/// answers `Full` and hands the job back (it runs when called); the queued jobs all run later.
pub fn bounded_try_execute_full<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(2).capacity(4));
    scenario("bounded_try_execute_full", pool, move |pool| {
        let gate = Gate::new();
        let ran = Tally::new();
        occupy(&pool, &gate, 2);
        for i in 0..4 {
            if let Err(refused) = pool.try_execute(counting_job(&ran)) {
                panic!("job {i} of a queue of capacity 4 was refused: {refused}");
            }
        }
        let refused = pool
            .try_execute(counting_job(&ran))
            .expect_err("a fifth job does not fit a queue of capacity 4");
        assert_eq!(refused.reason(), RejectReason::Full, "{refused}");
        assert!(refused.is_full() && !refused.is_shutdown());
        assert!(!refused.to_string().is_empty());
        (refused.into_job())();
        assert_eq!(ran.get(), 1, "the refused job is handed back whole");
        assert_eq!(pool.metrics().rejected, 1, "a Full refusal is counted");
        gate.open();
        ran.wait_for(5, "the four queued jobs to run");
        let report = pool.shutdown(Shutdown::Graceful);
        check_report("bounded_try_execute_full", &report, Counts::completed(6));
    });
}

/// `try_spawn` on a full queue answers `Full` with the job handed back; the handles of the
/// queued jobs still give their values.
pub fn bounded_try_spawn_full<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1).capacity(2));
    scenario("bounded_try_spawn_full", pool, move |pool| {
        let gate = Gate::new();
        occupy(&pool, &gate, 1);
        let first = pool.try_spawn(|| 1).expect("room for a first job");
        let second = pool.try_spawn(|| 2).expect("room for a second job");
        let ran = Tally::new();
        let counted = ran.clone();
        let refused = pool
            .try_spawn(move || counted.add())
            .expect_err("a third job does not fit a queue of capacity 2");
        assert!(refused.is_full(), "{refused}");
        (refused.into_job())();
        assert_eq!(ran.get(), 1, "the refused job is handed back whole");
        gate.open();
        assert_eq!(first.join().expect("ran"), 1);
        assert_eq!(second.join().expect("ran"), 2);
    });
}

/// `execute` on a full queue blocks until there is room, then queues the job: a submitter
/// thread does not return while the queue stays full, and does once the workers drain it.
pub fn bounded_execute_blocks_until_room<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1).capacity(1));
    scenario("bounded_execute_blocks_until_room", pool, move |pool| {
        let pool = Arc::new(pool);
        let gate = Gate::new();
        let ran = Tally::new();
        occupy(&*pool, &gate, 1);
        pool.try_execute(counting_job(&ran))
            .expect("room for one job");
        let (calling, returned) = (Tally::new(), Tally::new());
        let submitter = {
            let (pool, ran, calling, returned) =
                (pool.clone(), ran.clone(), calling.clone(), returned.clone());
            thread::spawn(move || {
                calling.add();
                let result = pool.execute(counting_job(&ran));
                returned.add();
                result
            })
        };
        calling.wait_for(1, "the submitter to call execute");
        // Give a wrong `execute` the chance to return; a correct one blocks however long.
        thread::sleep(Duration::from_millis(20));
        assert_eq!(
            returned.get(),
            0,
            "execute returned while the queue was full"
        );
        let probe = pool
            .try_execute(Box::new(|| {}))
            .expect_err("the queue is still full");
        assert!(probe.is_full(), "{probe}");
        gate.open();
        joined(submitter, "the blocked submitter").expect("execute succeeds once there is room");
        ran.wait_for(2, "the queued job and the blocked submitter's job to run");
        let report = pool.shutdown(Shutdown::Graceful);
        check_report(
            "bounded_execute_blocks_until_room",
            &report,
            Counts::completed(3),
        );
    });
}

/// Checks what a submitter blocked on a full queue got when shutdown began: either its job
/// was queued (then the pool ran it or cancelled it) or it was refused with `ShutDown` and
/// handed back. Returns 1 if the job was accepted.
fn settle_blocked_submit(result: Result<(), shoal_core::Rejected>, blocked_ran: &Tally) -> u64 {
    match result {
        Ok(()) => 1,
        Err(refused) => {
            assert_eq!(refused.reason(), RejectReason::ShutDown, "{refused}");
            let before = blocked_ran.get();
            (refused.into_job())();
            assert_eq!(
                blocked_ran.get(),
                before + 1,
                "the refused job is handed back"
            );
            0
        }
    }
}

/// An `execute` blocked on a full queue when `Graceful` shutdown begins returns (with `Err
/// ShutDown` and the job, or `Ok` and the job runs): it neither hangs nor loses the job.
pub fn bounded_blocked_execute_on_graceful_shutdown<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1).capacity(1));
    scenario(
        "bounded_blocked_execute_on_graceful_shutdown",
        pool,
        move |pool| {
            let pool = Arc::new(pool);
            let gate = Gate::new();
            let (ran, blocked_ran, calling) = (Tally::new(), Tally::new(), Tally::new());
            occupy(&*pool, &gate, 1);
            pool.try_execute(counting_job(&ran))
                .expect("room for one job");
            let submitter = {
                let (pool, blocked_ran, calling) =
                    (pool.clone(), blocked_ran.clone(), calling.clone());
                thread::spawn(move || {
                    calling.add();
                    pool.execute(counting_job(&blocked_ran))
                })
            };
            calling.wait_for(1, "the submitter to call execute");
            let stopper = {
                let pool = pool.clone();
                thread::spawn(move || pool.shutdown(Shutdown::Graceful))
            };
            let probes = await_intake_closed(&*pool);
            gate.open();
            let result = joined(submitter, "the blocked submitter");
            let accepted = 2 + probes + settle_blocked_submit(result, &blocked_ran);
            let report = joined(stopper, "shutdown(Graceful)");
            check_report(
                "bounded_blocked_execute_on_graceful_shutdown",
                &report,
                Counts::completed(accepted),
            );
            assert_eq!(blocked_ran.get(), 1, "the blocked job ran exactly once");
        },
    );
}

/// An `execute` blocked on a full queue returns when `Now` shutdown begins, while the
/// running job still blocks; its job is refused and handed back, or accepted and then run or
/// cancelled, never lost; the report adds up.
pub fn bounded_blocked_execute_on_shutdown_now<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1).capacity(1));
    scenario(
        "bounded_blocked_execute_on_shutdown_now",
        pool,
        move |pool| {
            let pool = Arc::new(pool);
            let gate = Gate::new();
            let (ran, blocked_ran, calling) = (Tally::new(), Tally::new(), Tally::new());
            occupy(&*pool, &gate, 1);
            pool.try_execute(counting_job(&ran))
                .expect("room for one job");
            let submitter = {
                let (pool, blocked_ran, calling) =
                    (pool.clone(), blocked_ran.clone(), calling.clone());
                thread::spawn(move || {
                    calling.add();
                    pool.execute(counting_job(&blocked_ran))
                })
            };
            calling.wait_for(1, "the submitter to call execute");
            let stopper = {
                let pool = pool.clone();
                thread::spawn(move || pool.shutdown(Shutdown::Now))
            };
            // The gate is still closed: only the shutdown can release the submitter.
            let result = joined(submitter, "the blocked submitter");
            let accepted_blocked = settle_blocked_submit(result, &blocked_ran);
            gate.open();
            let report = joined(stopper, "shutdown(Now)");
            assert!(report.adds_up(), "{report:?}");
            assert_eq!(report.submitted, 2 + accepted_blocked, "{report:?}");
            assert_eq!(report.still_running, 0, "{report:?}");
            // The gated job completed; the queued one and an accepted blocked one each either
            // ran in the pool or were cancelled.
            let blocked_in_pool = if accepted_blocked == 1 {
                blocked_ran.get()
            } else {
                0
            };
            assert_eq!(
                report.completed,
                1 + ran.get() + blocked_in_pool,
                "the report's completions are the jobs that ran: {report:?}"
            );
            assert!(blocked_ran.get() <= 1, "the blocked job ran at most once");
        },
    );
}

/// A job that submits to its own pool's full queue (one worker, capacity 1) does not
/// deadlock: `execute` from inside a worker runs queued jobs to make room.
pub fn bounded_execute_from_worker_helps<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::workers(1).capacity(1));
    scenario("bounded_execute_from_worker_helps", pool, move |pool| {
        let pool = Arc::new(pool);
        let ran = Tally::new();
        let (inner, counted) = (pool.clone(), ran.clone());
        pool.execute(Box::new(move || {
            for _ in 0..5 {
                inner.execute(counting_job(&counted)).expect(ACCEPT);
            }
        }))
        .expect(ACCEPT);
        ran.wait_for(5, "the jobs the worker submitted to its own full queue");
        let report = pool.shutdown(Shutdown::Graceful);
        check_report(
            "bounded_execute_from_worker_helps",
            &report,
            Counts::completed(6),
        );
    });
}

/// Four threads pushing 250 jobs each through a queue of capacity 4 with `execute`: all are
/// accepted (backpressure waits, never refuses) and all run.
pub fn bounded_backpressure_stampede<F: Factory>(f: &F) {
    const THREADS: usize = 4;
    const EACH: u64 = 250;
    let pool = build(f, PoolConfig::workers(2).capacity(4));
    scenario("bounded_backpressure_stampede", pool, move |pool| {
        let pool = Arc::new(pool);
        let ran = Tally::new();
        let start = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (pool, ran, start) = (pool.clone(), ran.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..EACH {
                        pool.execute(counting_job(&ran)).expect(ACCEPT);
                    }
                })
            })
            .collect();
        for t in threads {
            joined(t, "a submitter on a bounded queue");
        }
        let total = THREADS as u64 * EACH;
        ran.wait_for(total, "every job pushed through the bounded queue");
        let m = wait_metrics(&*pool, "the metrics to settle", |m| m.completed == total);
        assert_eq!(m.rejected, 0, "execute never refuses a running pool: {m:?}");
        let report = pool.shutdown(Shutdown::Graceful);
        check_report(
            "bounded_backpressure_stampede",
            &report,
            Counts::completed(total),
        );
    });
}
