//! Stopping without waiting: `shutdown_background` (intake closes at once, queued jobs still
//! run, the call does not wait) and what dropping the pool does (`DropBehavior`).

use std::thread;
use std::time::Duration;

use shoal_core::{DropBehavior, Executor, Shutdown};

use crate::tools::{wait_until, Gate, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    build, check_report, counting_job, execute_counting, join_cancelled, joined, occupy, scenario,
    shared_scenario, spawn_counted, stopper, watch_worker_exits,
};
use super::Counts;

/// `shutdown_background` returns while a worker is still held in a job and ten jobs are
/// queued; intake is closed at once (a submission comes back `ShutDown`), the queued jobs still
/// run once the worker is let go, and a later `shutdown` returns the final report.
pub fn shutdown_background_returns_at_once<F: Factory>(f: &F) {
    let name = "shutdown_background_returns_at_once";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        let held = occupy(&*pool, &gate, 1);
        let ran = Tally::new();
        execute_counting(&*pool, 10, &ran);
        pool.shutdown_background(); // a wait here would hang: the gate is still closed
        let refused = pool
            .execute(counting_job(&ran))
            .expect_err("intake closes at once");
        assert!(refused.is_shutdown(), "{refused}");
        pool.shutdown_background(); // twice: nothing more happens
        assert_eq!(ran.get(), 0, "the worker is still held");
        gate.open();
        ran.wait_for(10, "the queued jobs, run after shutdown_background");
        let report = pool.shutdown(Shutdown::Graceful);
        assert_eq!(held.get(), 1);
        check_report(name, &report, Counts::completed(11));
    });
}

/// `shutdown(Now)` after `shutdown_background` still cancels what is queued (their handles
/// say `Cancelled`) and returns the final report.
pub fn shutdown_now_after_background_cancels<F: Factory>(f: &F) {
    let name = "shutdown_now_after_background_cancels";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        occupy(&*pool, &gate, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&*pool, 10, &ran);
        pool.shutdown_background();
        let now = stopper(&pool, Shutdown::Now);
        wait_until("Now to cancel the queued jobs", || {
            handles.iter().all(|h| h.is_finished()) || now.is_finished()
        });
        gate.open();
        let report = joined(now, "shutdown(Now)");
        assert_eq!(ran.get(), 0, "a cancelled job never runs");
        join_cancelled(handles);
        check_report(name, &report, Counts::cancelled(11, 1));
    });
}

/// `shutdown(Deadline(d))` after `shutdown_background` keeps its own deadline: with the only
/// worker held past `d`, it returns on time, cancels what is still queued and counts the held
/// job in `still_running`; a later call's report adds up too (the held job counted as
/// completed or, in a report kept from the deadline, still running).
pub fn shutdown_deadline_after_background_returns_on_time<F: Factory>(f: &F) {
    let name = "shutdown_deadline_after_background_returns_on_time";
    shared_scenario(f, name, PoolConfig::new().workers(1), move |pool| {
        let gate = Gate::new();
        let held = occupy(&*pool, &gate, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&*pool, 5, &ran);
        pool.shutdown_background();
        let report = pool.shutdown(Shutdown::Deadline(Duration::from_millis(20)));
        assert!(report.adds_up(), "{report:?}");
        assert_eq!(
            (report.cancelled, report.still_running),
            (5, 1),
            "past the deadline the queue is cancelled and the held job still runs: {report:?}"
        );
        join_cancelled(handles);
        gate.open();
        held.wait_for(1, "the held job to end");
        let last = pool.shutdown(Shutdown::Graceful);
        assert_eq!(ran.get(), 0, "a cancelled job never runs");
        assert!(last.adds_up(), "{last:?}");
        assert_eq!((last.submitted, last.cancelled), (6, 5), "{last:?}");
        assert_eq!(last.completed + last.still_running, 1, "{last:?}");
    });
}

/// `on_drop(DropBehavior::Background)`: dropping the pool returns while a worker is held and
/// jobs are queued; the queued jobs still run afterwards, and the worker threads exit on
/// their own once the queue is empty.
pub fn drop_in_background<F: Factory>(f: &F) {
    let config = PoolConfig::new()
        .workers(2)
        .on_drop(DropBehavior::Background);
    let pool = build(f, config);
    scenario("drop_in_background", pool, move |pool| {
        let exited = watch_worker_exits(&pool, 2);
        let gate = Gate::new();
        occupy(&pool, &gate, 2);
        let ran = Tally::new();
        execute_counting(&pool, 10, &ran);
        drop(pool); // a wait here would hang: the gate is still closed
        assert_eq!(ran.get(), 0, "the workers are still held");
        gate.open();
        ran.wait_for(10, "the queued jobs, run after the drop");
        wait_until("both worker threads to exit on their own", || {
            exited.get() == 2
        });
    });
}

/// `on_drop(DropBehavior::CancelQueued)`: dropping the pool cancels the queued jobs (their
/// handles say `Cancelled`, none runs) and waits for the running one.
pub fn drop_cancels_queued<F: Factory>(f: &F) {
    let config = PoolConfig::new()
        .workers(1)
        .on_drop(DropBehavior::CancelQueued);
    let pool = build(f, config);
    scenario("drop_cancels_queued", pool, move |pool| {
        let gate = Gate::new();
        let held = occupy(&pool, &gate, 1);
        let ran = Tally::new();
        let handles = spawn_counted(&pool, 10, &ran);
        let dropper = thread::spawn(move || drop(pool));
        wait_until("the drop to cancel the queued jobs", || {
            handles.iter().all(|h| h.is_finished())
        });
        assert!(!dropper.is_finished(), "the drop waits for the running job");
        gate.open();
        joined(dropper, "the drop");
        assert_eq!((held.get(), ran.get()), (1, 0));
        join_cancelled(handles);
    });
}
