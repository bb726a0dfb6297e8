//! A bounded queue: `try_execute` answers `Full` with the job, `execute` waits for room,
//! shutdown releases a blocked submitter, and a worker submitting to its own full queue helps.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use shoal_core::{Executor, ExecutorExt, RejectReason, Rejected, Shutdown};

use crate::tools::{Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    await_intake_closed, blocked, build, check_report, counting_job, graceful_completes, joined,
    scenario, shared_scenario, stampede, stopper, wait_metrics, ACCEPT,
};
use super::Counts;

/// With every worker inside a gated job and the queue filled to its capacity, `try_execute`
/// answers `Full` and hands the job back (it runs when called); the queued jobs all run later.
pub fn bounded_try_execute_full<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2).queue_capacity(4));
    scenario("bounded_try_execute_full", pool, move |pool| {
        let gate = blocked(&pool, 2);
        let ran = Tally::new();
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
        graceful_completes(&pool, "bounded_try_execute_full", 6);
    });
}

/// `try_execute_fn` is `try_execute` without the box: with the queue full it answers `Full`
/// and hands the closure back (it runs when called), the accepted ones all run, and after a
/// shutdown it answers `ShutDown`, again with the closure.
pub fn bounded_try_execute_fn_full<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2).queue_capacity(4));
    scenario("bounded_try_execute_fn_full", pool, move |pool| {
        let gate = blocked(&pool, 2);
        let ran = Tally::new();
        for i in 0..4 {
            let r = ran.clone();
            if let Err(refused) = pool.try_execute_fn(move || r.add()) {
                panic!("closure {i} of a queue of capacity 4 was refused: {refused}");
            }
        }
        let r = ran.clone();
        let refused = pool
            .try_execute_fn(move || r.add())
            .expect_err("a fifth closure does not fit a queue of capacity 4");
        assert_eq!(refused.reason(), RejectReason::Full, "{refused}");
        (refused.into_job())();
        assert_eq!(ran.get(), 1, "the refused closure is handed back whole");
        assert_eq!(pool.metrics().rejected, 1, "a Full refusal is counted");
        gate.open();
        ran.wait_for(5, "the four queued closures to run");
        graceful_completes(&pool, "bounded_try_execute_fn_full", 6);
        let r = ran.clone();
        let refused = pool
            .try_execute_fn(move || r.add())
            .expect_err("the pool is shut down");
        assert_eq!(refused.reason(), RejectReason::ShutDown, "{refused}");
        (refused.into_job())();
        assert_eq!(
            ran.get(),
            6,
            "the closure refused at shutdown is handed back whole"
        );
    });
}

/// `try_spawn` on a full queue answers `Full` with the job handed back; the handles of the
/// queued jobs still give their values.
pub fn bounded_try_spawn_full<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(1).queue_capacity(2));
    scenario("bounded_try_spawn_full", pool, move |pool| {
        let gate = blocked(&pool, 1);
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

/// A pool of one worker and one queue slot, full, with a submitter blocked in `execute`.
struct BlockedSubmit {
    /// Holds the only worker.
    gate: Gate,
    /// Counts the run of the job in the queue slot.
    queued_ran: Arc<Tally>,
    /// Counts the run of the blocked submitter's job.
    blocked_ran: Arc<Tally>,
    /// The submitter thread, giving `execute`'s result.
    submitter: thread::JoinHandle<Result<(), Rejected>>,
}

impl BlockedSubmit {
    /// Fills `pool` (one worker, capacity 1): the worker waits at a closed gate, the slot
    /// holds a counting job. Then a submitter thread calls `execute` with another counting
    /// job, which must wait for room; returns once the submitter has called.
    fn new<E: Executor + 'static>(pool: &Arc<E>) -> BlockedSubmit {
        let gate = blocked(&**pool, 1);
        let (queued_ran, blocked_ran, calling) = (Tally::new(), Tally::new(), Tally::new());
        pool.try_execute(counting_job(&queued_ran))
            .expect("room for one job");
        let submitter = {
            let (pool, blocked_ran, calling) = (pool.clone(), blocked_ran.clone(), calling.clone());
            thread::spawn(move || {
                calling.add();
                pool.execute(counting_job(&blocked_ran))
            })
        };
        calling.wait_for(1, "the submitter to call execute");
        BlockedSubmit {
            gate,
            queued_ran,
            blocked_ran,
            submitter,
        }
    }

    /// Joins the submitter, once shutdown began, and checks what it got: either its job was
    /// queued (then the pool ran it or cancelled it) or it was refused with `ShutDown` and
    /// handed back. Returns 1 if the job was accepted.
    fn settle(submitter: thread::JoinHandle<Result<(), Rejected>>, blocked_ran: &Tally) -> u64 {
        match joined(submitter, "the blocked submitter") {
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
}

/// `execute` on a full queue blocks until there is room, then queues the job: a submitter
/// thread does not return while the queue stays full, and does once the workers drain it.
pub fn bounded_execute_blocks_until_room<F: Factory>(f: &F) {
    let name = "bounded_execute_blocks_until_room";
    shared_scenario(
        f,
        name,
        PoolConfig::new().workers(1).queue_capacity(1),
        move |pool| {
            let full = BlockedSubmit::new(&pool);
            // Give a wrong `execute` the chance to return; a correct one blocks however long.
            thread::sleep(Duration::from_millis(20));
            assert!(
                !full.submitter.is_finished(),
                "execute returned while the queue was full"
            );
            let probe = pool
                .try_execute(Box::new(|| {}))
                .expect_err("the queue is still full");
            assert!(probe.is_full(), "{probe}");
            full.gate.open();
            joined(full.submitter, "the blocked submitter")
                .expect("execute succeeds once there is room");
            full.queued_ran.wait_for(1, "the queued job to run");
            full.blocked_ran
                .wait_for(1, "the blocked submitter's job to run");
            graceful_completes(&*pool, name, 3);
        },
    );
}

/// An `execute` blocked on a full queue when `Graceful` shutdown begins returns (with `Err
/// ShutDown` and the job, or `Ok` and the job runs): it neither hangs nor loses the job.
pub fn bounded_blocked_execute_on_graceful_shutdown<F: Factory>(f: &F) {
    let name = "bounded_blocked_execute_on_graceful_shutdown";
    shared_scenario(
        f,
        name,
        PoolConfig::new().workers(1).queue_capacity(1),
        move |pool| {
            let full = BlockedSubmit::new(&pool);
            let stopper = stopper(&pool, Shutdown::Graceful);
            let probes = await_intake_closed(&*pool);
            full.gate.open();
            let accepted = 2 + probes + BlockedSubmit::settle(full.submitter, &full.blocked_ran);
            let report = joined(stopper, "shutdown(Graceful)");
            check_report(name, &report, Counts::completed(accepted));
            assert_eq!(
                full.blocked_ran.get(),
                1,
                "the blocked job ran exactly once"
            );
        },
    );
}

/// An `execute` blocked on a full queue returns when `Now` shutdown begins, while the
/// running job still blocks; its job is refused and handed back, or accepted and then run or
/// cancelled, never lost; the report adds up.
pub fn bounded_blocked_execute_on_shutdown_now<F: Factory>(f: &F) {
    let config = PoolConfig::new().workers(1).queue_capacity(1);
    shared_scenario(
        f,
        "bounded_blocked_execute_on_shutdown_now",
        config,
        |pool| {
            let full = BlockedSubmit::new(&pool);
            let stopper = stopper(&pool, Shutdown::Now);
            // The gate is still closed: only the shutdown can release the submitter.
            let accepted_blocked = BlockedSubmit::settle(full.submitter, &full.blocked_ran);
            full.gate.open();
            let report = joined(stopper, "shutdown(Now)");
            assert!(report.adds_up(), "{report:?}");
            assert_eq!(report.submitted, 2 + accepted_blocked, "{report:?}");
            assert_eq!(report.still_running, 0, "{report:?}");
            // The gated job completed; the queued one and an accepted blocked one each either
            // ran in the pool or were cancelled.
            let blocked_in_pool = if accepted_blocked == 1 {
                full.blocked_ran.get()
            } else {
                0
            };
            assert_eq!(
                report.completed,
                1 + full.queued_ran.get() + blocked_in_pool,
                "the report's completions are the jobs that ran: {report:?}"
            );
            assert!(
                full.blocked_ran.get() <= 1,
                "the blocked job ran at most once"
            );
        },
    );
}

/// A job that submits to its own pool's full queue (one worker, capacity 1) does not
/// deadlock: `execute` from inside a worker runs queued jobs to make room.
pub fn bounded_execute_from_worker_helps<F: Factory>(f: &F) {
    let name = "bounded_execute_from_worker_helps";
    shared_scenario(
        f,
        name,
        PoolConfig::new().workers(1).queue_capacity(1),
        move |pool| {
            let ran = Tally::new();
            let (inner, counted) = (pool.clone(), ran.clone());
            pool.execute(Box::new(move || {
                for _ in 0..5 {
                    inner.execute(counting_job(&counted)).expect(ACCEPT);
                }
            }))
            .expect(ACCEPT);
            ran.wait_for(5, "the jobs the worker submitted to its own full queue");
            graceful_completes(&*pool, name, 6);
        },
    );
}

/// Four threads pushing 250 jobs each through a queue of capacity 4 with `execute`: all are
/// accepted (backpressure waits, never refuses) and all run.
pub fn bounded_backpressure_stampede<F: Factory>(f: &F) {
    let name = "bounded_backpressure_stampede";
    shared_scenario(
        f,
        name,
        PoolConfig::new().workers(2).queue_capacity(4),
        move |pool| {
            let ran = Tally::new();
            let total = stampede(&pool, 4, 250, &ran);
            ran.wait_for(total, "every job pushed through the bounded queue");
            let m = wait_metrics(&*pool, "the metrics to settle", |m| m.completed == total);
            assert_eq!(m.rejected, 0, "execute never refuses a running pool: {m:?}");
            graceful_completes(&*pool, name, total);
        },
    );
}
