//! Metrics: exact once the pool is quiet, and showing what is queued and running meanwhile.

use shoal_core::{Executor, Shutdown};

use crate::tools::Tally;
use crate::{Factory, PoolConfig};

use super::steps::{
    blocked, build, execute_counting, join_numbered, joined, scenario, shared_scenario,
    spawn_numbered, stopper, submit_mixed, wait_metrics,
};

/// Once every job has ended, the metrics are exact and consistent: `submitted == completed +
/// panicked + cancelled`, `queued == 0`, `running == 0`, the right `workers`, no rejections.
pub fn metrics_consistent_after_quiescence<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(3));
    scenario("metrics_consistent_after_quiescence", pool, move |pool| {
        let ran = Tally::new();
        submit_mixed(&pool, 110, 11, &ran);
        join_numbered(spawn_numbered(&pool, 20), "no panic");
        let m = wait_metrics(&pool, "130 jobs to end", |m| m.submitted == 130);
        assert_eq!(
            (m.completed, m.panicked, m.cancelled, m.rejected),
            (120, 10, 0, 0),
            "{m:?}"
        );
        assert_eq!(m.workers, 3, "{m:?}");
        assert_eq!(ran.get(), 100);
    });
}

/// While two workers sit in gated jobs with five more queued, the metrics settle on
/// `running == 2` and `queued == 5`; once the gate opens they settle on zero and zero.
pub fn metrics_track_running_and_queued<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(2));
    scenario("metrics_track_running_and_queued", pool, move |pool| {
        let gate = blocked(&pool, 2);
        let ran = Tally::new();
        execute_counting(&pool, 5, &ran);
        crate::poll("metrics to show 2 running and 5 queued", || {
            let m = pool.metrics();
            if m.running == 2 && m.queued == 5 && m.submitted == 7 {
                Ok(())
            } else {
                Err(format!("{m:?}"))
            }
        });
        gate.open();
        ran.wait_for(5, "the queued jobs to run");
        wait_metrics(&pool, "the metrics to return to idle", |m| m.completed == 7);
    });
}

/// Refusals are counted in `rejected` and never in `submitted`: three `Full` answers from a
/// bounded queue, then two `ShutDown` answers.
pub fn metrics_count_rejections<F: Factory>(f: &F) {
    let config = PoolConfig::new().workers(1).queue_capacity(1);
    shared_scenario(f, "metrics_count_rejections", config, move |pool| {
        let gate = blocked(&*pool, 1);
        pool.try_execute(Box::new(|| {})).expect("room for one job");
        for _ in 0..3 {
            let refused = pool.try_execute(Box::new(|| {})).expect_err("full");
            assert!(refused.is_full(), "{refused}");
        }
        let stopper = stopper(&pool, Shutdown::Graceful);
        gate.open();
        let report = joined(stopper, "shutdown(Graceful)");
        assert_eq!(report.submitted, 2, "{report:?}");
        for _ in 0..2 {
            let refused = pool.execute(Box::new(|| {})).expect_err("shut down");
            assert!(refused.is_shutdown(), "{refused}");
        }
        let m = pool.metrics();
        assert_eq!((m.rejected, m.submitted), (5, 2), "{m:?}");
    });
}
