//! Worker threads: the `on_thread_start` / `on_thread_stop` hooks (at build, resize and
//! shutdown; their panics contained) and `current_worker` (who the calling worker is, with
//! indices that stay distinct and below the worker count across resizes).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use shoal_core::{current_worker, Executor, ExecutorExt, PoolId, Shutdown, WorkerId};

use crate::tools::{wait_until, Tally};
use crate::{Factory, PoolConfig};

use super::steps::{
    build, check_report, graceful_completes, join_numbered, on_each_worker, scenario,
    spawn_numbered, wait_metrics,
};
use super::Counts;

thread_local! {
    /// The pool whose start hook ran on this thread (set by [`HookLog::config`]'s hook).
    static STARTED_FOR: Cell<Option<PoolId>> = const { Cell::new(None) };
}

/// What a pool's hooks saw: the worker each start and each stop hook ran on.
struct HookLog {
    started: Mutex<Vec<Option<WorkerId>>>,
    stopped: Mutex<Vec<Option<WorkerId>>>,
    starts: Arc<Tally>,
    stops: Arc<Tally>,
}

impl HookLog {
    fn new() -> Arc<HookLog> {
        Arc::new(HookLog {
            started: Mutex::new(Vec::new()),
            stopped: Mutex::new(Vec::new()),
            starts: Tally::new(),
            stops: Tally::new(),
        })
    }

    /// `config` with hooks that record into this log.
    fn config(self: &Arc<Self>, config: PoolConfig) -> PoolConfig {
        let (on_start, on_stop) = (self.clone(), self.clone());
        config
            .on_thread_start(move || {
                let me = current_worker();
                STARTED_FOR.with(|s| s.set(me.map(|w| w.pool())));
                on_start.started.lock().unwrap().push(me);
                on_start.starts.add();
            })
            .on_thread_stop(move || {
                on_stop.stopped.lock().unwrap().push(current_worker());
                on_stop.stops.add();
            })
    }

    /// The indices the start hooks saw, checking each saw a worker of `pool`.
    fn started(&self, pool: Option<PoolId>) -> Vec<usize> {
        indices(&self.started.lock().unwrap(), pool, "a start hook")
    }

    /// The indices the stop hooks saw, checking each saw a worker of `pool`.
    fn stopped(&self, pool: Option<PoolId>) -> Vec<usize> {
        indices(&self.stopped.lock().unwrap(), pool, "a stop hook")
    }
}

fn indices(seen: &[Option<WorkerId>], pool: Option<PoolId>, what: &str) -> Vec<usize> {
    let mut indices: Vec<usize> = seen
        .iter()
        .map(|w| {
            let w = w.unwrap_or_else(|| panic!("{what} ran where current_worker() is None"));
            assert_eq!(Some(w.pool()), pool, "{what} saw a worker of another pool");
            w.index()
        })
        .collect();
    indices.sort_unstable();
    indices
}

/// Each job's `current_worker()`, checked against `pool`; returns the sorted indices.
fn worker_indices<E: Executor + ?Sized>(pool: &E, n: usize) -> Vec<usize> {
    let seen = on_each_worker(pool, n, current_worker);
    indices(&seen, pool.pool_id(), "a job")
}

/// Three workers each run the start hook once, on their own thread and before their first
/// job (as `current_worker()` says, with indices 0, 1, 2); a graceful shutdown returns after
/// each ran its stop hook once.
pub fn thread_hooks_run_on_every_worker<F: Factory>(f: &F) {
    let log = HookLog::new();
    let pool = build(f, log.config(PoolConfig::new().workers(3)));
    scenario("thread_hooks_run_on_every_worker", pool, move |pool| {
        let id = pool.pool_id();
        let hooked = on_each_worker(&pool, 3, || STARTED_FOR.with(Cell::get));
        assert!(
            hooked.iter().all(|h| *h == id && id.is_some()),
            "every job must run on a thread whose start hook already ran for this pool: {hooked:?}"
        );
        assert_eq!(log.started(id), [0, 1, 2], "one start hook per worker");
        assert_eq!(log.stops.get(), 0, "no worker stopped yet");
        graceful_completes(&pool, "thread_hooks_run_on_every_worker", 3);
        assert_eq!(
            log.stopped(id),
            [0, 1, 2],
            "shutdown returns after every stop hook"
        );
    });
}

/// Growing runs the start hook on each new worker; shrinking runs the stop hook on each
/// retired one (as it leaves, after its job); the rest stop at shutdown.
pub fn thread_hooks_follow_resize<F: Factory>(f: &F) {
    let log = HookLog::new();
    let pool = build(f, log.config(PoolConfig::new().workers(1)));
    scenario("thread_hooks_follow_resize", pool, move |pool| {
        let id = pool.pool_id();
        pool.resize(3).expect("growing a running pool");
        log.starts
            .wait_for(3, "the start hooks of the two new workers");
        assert_eq!(log.started(id), [0, 1, 2]);
        pool.resize(1).expect("shrinking a running pool");
        log.stops
            .wait_for(2, "the stop hooks of the two retired workers");
        join_numbered(spawn_numbered(&pool, 10), "the last worker serves");
        pool.shutdown(Shutdown::Graceful);
        assert_eq!(log.stops.get(), 3, "every worker stopped once");
        assert_eq!(log.starts.get(), 3, "no worker started twice");
        assert_eq!(log.stopped(id).len(), 3);
    });
}

/// Hooks that panic cannot take a worker down: every worker still starts and runs jobs,
/// resizing still works, shutdown still joins everyone, and no job counts as panicked.
pub fn panicking_thread_hooks_are_contained<F: Factory>(f: &F) {
    let config = PoolConfig::new()
        .workers(2)
        .on_thread_start(|| panic!("conformance: start hook panics"))
        .on_thread_stop(|| panic!("conformance: stop hook panics"));
    let pool = build(f, config);
    scenario("panicking_thread_hooks_are_contained", pool, move |pool| {
        on_each_worker(&pool, 2, || ());
        pool.resize(3).expect("growing with a panicking start hook");
        on_each_worker(&pool, 3, || ());
        pool.resize(1)
            .expect("shrinking with a panicking stop hook");
        wait_metrics(&pool, "the pool to settle at one worker", |m| {
            m.workers == 1
        });
        join_numbered(spawn_numbered(&pool, 20), "jobs after panicking hooks");
        let report = pool.shutdown(Shutdown::Graceful);
        check_report(
            "panicking_thread_hooks_are_contained",
            &report,
            Counts::completed(25),
        );
    });
}

/// `current_worker()` is `None` outside the pool and names the worker inside a job: the
/// pool's id (`pool_id()`) and distinct indices `0..workers`; `current_worker_index()` agrees
/// for this pool and says `None` for another.
pub fn current_worker_names_the_worker<F: Factory>(f: &F) {
    let pools = (
        build(f, PoolConfig::new().workers(3)),
        build(f, PoolConfig::new().workers(1)),
    );
    scenario(
        "current_worker_names_the_worker",
        pools,
        move |(pool, other)| {
            assert_eq!(current_worker(), None, "the test thread is no worker");
            assert_eq!(pool.current_worker_index(), None);
            assert!(pool.pool_id().is_some(), "a shoal pool has an id");
            assert_ne!(pool.pool_id(), other.pool_id(), "two pools, two ids");
            assert_eq!(worker_indices(&pool, 3), [0, 1, 2]);
            let other = Arc::new(other);
            let (inner, theirs) = (other.clone(), pool.pool_id());
            let seen = other
                .spawn(move || {
                    let me = current_worker().expect("a job runs on a worker");
                    (
                        Some(me.pool()) == theirs,
                        inner.current_worker_index(),
                        me.index(),
                    )
                })
                .expect("running")
                .join()
                .expect("ran");
            assert_eq!(seen, (false, Some(0), 0), "a job of the other pool");
        },
    );
}

/// Indices stay distinct and below the worker count across resizes: 4 workers shrunk to 2
/// (once the retired ones left) and grown to 4 again are `0..4`, and 2 are `0..2`.
pub fn worker_indices_stay_dense_across_resize<F: Factory>(f: &F) {
    let pool = build(f, PoolConfig::new().workers(4));
    scenario(
        "worker_indices_stay_dense_across_resize",
        pool,
        move |pool| {
            assert_eq!(worker_indices(&pool, 4), [0, 1, 2, 3]);
            pool.resize(2).expect("shrinking");
            wait_until("the two retired workers to leave", || {
                pool.metrics().workers == 2
            });
            let two: BTreeSet<usize> = worker_indices(&pool, 2).into_iter().collect();
            assert!(two.iter().all(|&i| i < 2), "indices below 2: {two:?}");
            pool.resize(4).expect("growing again");
            assert_eq!(
                worker_indices(&pool, 4),
                [0, 1, 2, 3],
                "freed indices are reused"
            );
        },
    );
}
