//! Joins through `Box<dyn Executor>`, on every strategy: the nested joins of a recursion read
//! the hint of the join they are nested in instead of asking through the vtable each time (see
//! `shoal_core::join_hint`). They must still hand work to idle workers, and must not mistake
//! another pool for the one whose hint they read.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shoal::{current_worker, Executor, ExecutorExt, Strategy};

/// A join tree `depth` deep whose leaves spin for `leaf` and note the worker they ran on.
fn tree(pool: &dyn Executor, depth: u32, leaf: Duration, seen: &Mutex<HashSet<usize>>) -> u64 {
    if depth == 0 {
        let until = Instant::now() + leaf;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        if let Some(worker) = current_worker() {
            seen.lock().unwrap().insert(worker.index());
        }
        return 1;
    }
    let (a, b) = pool.join(
        || tree(pool, depth - 1, leaf, seen),
        || tree(pool, depth - 1, leaf, seen),
    );
    a + b
}

#[test]
fn nested_joins_through_a_trait_object_still_reach_idle_workers() {
    for strategy in Strategy::enabled() {
        let pool: Box<dyn Executor> = strategy.build(2).expect("pool");
        let both = (0..20).any(|_| {
            // Let both workers go idle, then run the whole tree from one of them.
            std::thread::sleep(Duration::from_millis(5));
            let seen = Mutex::new(HashSet::new());
            let pool = &*pool;
            let (leaves, ()) = pool.join(|| tree(pool, 8, Duration::from_micros(40), &seen), || ());
            assert_eq!(leaves, 256);
            let workers = seen.lock().unwrap().len();
            workers == 2
        });
        assert!(
            both,
            "{strategy:?}: in 20 trees of 256 leaves, the second worker never took a half"
        );
    }
}

#[test]
fn a_join_on_another_pool_inside_an_extent_runs_on_that_pool() {
    for strategy in Strategy::enabled() {
        let a: Box<dyn Executor> = strategy.build(2).expect("pool");
        let b: Box<dyn Executor> = strategy.build(2).expect("pool");
        let b_id = b.pool_id().expect("a shoal pool has an id");
        let a = &*a;
        let b = &*b;
        // On a worker of `a`, inside a join on `a` (its extent open), a join on `b`.
        let ((inner, outer), ()) = a.join(
            || {
                let (x, ()) = a.join(|| 1, || ());
                let (pool, ()) = b.join(|| current_worker().map(|w| w.pool()), || ());
                let (y, ()) = a.join(|| 2, || ());
                (pool, x + y)
            },
            || (),
        );
        assert_eq!(outer, 3);
        assert_eq!(
            inner,
            Some(b_id),
            "{strategy:?}: the join on `b` ran off `b`'s workers"
        );
    }
}
