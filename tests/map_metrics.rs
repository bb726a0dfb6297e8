//! Right after a map's iterator is exhausted, the pool's metrics show none of the map's jobs
//! running: the jobs that delivered the last results have ended and been counted. Checked on
//! every enabled strategy, many times over, where a map's jobs are all needed: one item per
//! job, as through an executor that paces its jobs (a rate limiter, also the real one), so
//! that no job is left queued with nothing to do (see `Map`'s docs for those).

use shoal::{
    Executor, ExecutorExt, Job, Metrics, RateLimit, RateLimited, Rejected, ResizeError, Shutdown,
    ShutdownReport, Strategy,
};

/// A pool whose jobs `map` must keep at one item each: every job it submits runs an item.
struct OnePerJob(Box<dyn Executor>);

impl Executor for OnePerJob {
    fn execute(&self, job: Job) -> Result<(), Rejected> {
        self.0.execute(job)
    }
    fn try_execute(&self, job: Job) -> Result<(), Rejected> {
        self.0.try_execute(job)
    }
    fn workers(&self) -> usize {
        self.0.workers()
    }
    fn resize(&self, workers: usize) -> Result<(), ResizeError> {
        self.0.resize(workers)
    }
    fn shutdown(&self, mode: Shutdown) -> ShutdownReport {
        self.0.shutdown(mode)
    }
    fn metrics(&self) -> Metrics {
        self.0.metrics()
    }
    fn map_in_chunks(&self) -> bool {
        false
    }
}

/// 300 maps in a row on `pool`; after each, nothing of it is queued or running.
fn maps_leave_nothing_running(pool: &dyn Executor, strategy: Strategy) {
    for round in 0..300u64 {
        let n = if round % 2 == 0 {
            pool.map_unordered(0..16u64, |x| x ^ 0x5a).count()
        } else {
            pool.map(0..16u64, |x| x ^ 0x5a).count()
        };
        assert_eq!(n, 16);
        let m = pool.metrics();
        assert_eq!(
            (m.running, m.queued),
            (0, 0),
            "{strategy}, round {round}: {m}"
        );
        assert_eq!(m.submitted, m.completed, "{strategy}, round {round}: {m}");
    }
    assert!(pool.shutdown(Shutdown::Graceful).adds_up());
}

#[test]
fn exhausted_map_leaves_no_job_running_on_every_pool() {
    for strategy in Strategy::enabled() {
        let pool = OnePerJob(strategy.build(2).expect("a pool"));
        maps_leave_nothing_running(&pool, *strategy);
    }
}

/// The same through `RateLimited` (at a rate that never makes a job wait): its jobs wrap the
/// map's, and the map waits for the wrapper's count too.
#[test]
fn exhausted_map_leaves_no_job_running_through_a_rate_limiter() {
    for strategy in Strategy::enabled() {
        let limit = RateLimit::per_second(10_000_000).burst(10_000_000);
        let pool = RateLimited::new(strategy.build(2).expect("a pool"), limit).expect("a limit");
        maps_leave_nothing_running(&pool, *strategy);
    }
}
