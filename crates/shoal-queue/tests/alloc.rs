//! What a tiny job allocates on the thread that submits it, counted by a global allocator of
//! this test binary: `execute_fn` and `try_execute_fn` with a small closure allocate nothing
//! per job (the closure travels in the queue's slot), `execute` with a `Box` one allocation
//! per job, and `spawn` and `try_spawn` two (the handle's state and the claim cell).
#![cfg(not(any(shoal_loom, shoal_shuttle)))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use shoal_core::{Executor, ExecutorExt, Shutdown};
use shoal_queue::SharedQueuePool;

/// Counts the allocations made on each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the count is a
// thread-local `Cell` with a const initializer, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const JOBS: usize = 3_100;

/// The channel allocates one block per 31 jobs queued; allow for that, and a little more.
const QUEUE_BLOCKS: usize = JOBS / 31 + 8;

#[test]
fn a_small_closure_costs_no_allocation_per_job() {
    let pool = SharedQueuePool::new(1).expect("build");
    let ran = Arc::new(AtomicUsize::new(0));
    // Warm up: the pool's own first-use allocations (thread-locals, shards) are not per job.
    let r = ran.clone();
    pool.execute_fn(move || {
        r.fetch_add(1, Ordering::Relaxed);
    })
    .expect("running");
    pool.wait_idle().expect("idle");

    let clones: Vec<_> = (0..JOBS).map(|_| ran.clone()).collect();
    let unboxed = allocations_in(|| {
        for r in clones {
            pool.execute_fn(move || {
                r.fetch_add(1, Ordering::Relaxed);
            })
            .expect("running");
        }
    });
    assert!(
        unboxed <= QUEUE_BLOCKS,
        "{unboxed} allocations for {JOBS} small closures through execute_fn"
    );

    let clones: Vec<_> = (0..JOBS).map(|_| ran.clone()).collect();
    let unboxed_try = allocations_in(|| {
        for r in clones {
            pool.try_execute_fn(move || {
                r.fetch_add(1, Ordering::Relaxed);
            })
            .expect("an unbounded queue has room");
        }
    });
    assert!(
        unboxed_try <= QUEUE_BLOCKS,
        "{unboxed_try} allocations for {JOBS} small closures through try_execute_fn"
    );

    let clones: Vec<_> = (0..JOBS).map(|_| ran.clone()).collect();
    let boxed = allocations_in(|| {
        for r in clones {
            pool.execute(Box::new(move || {
                r.fetch_add(1, Ordering::Relaxed);
            }))
            .expect("running");
        }
    });
    assert!(
        boxed >= JOBS,
        "a boxed job is one allocation each: {boxed} for {JOBS}"
    );

    let handles = allocations_in(|| {
        let handles: Vec<_> = (0..JOBS)
            .map(|i| pool.spawn(move || i).expect("running"))
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().expect("no panic"), i);
        }
    });
    // Two per spawn (the handle's state, the claim cell), plus the queue's blocks and the
    // vector of handles.
    assert!(
        handles <= 2 * JOBS + QUEUE_BLOCKS + 32,
        "{handles} allocations for {JOBS} spawns"
    );

    let handles = allocations_in(|| {
        let handles: Vec<_> = (0..JOBS)
            .map(|i| {
                pool.try_spawn(move || i)
                    .expect("an unbounded queue has room")
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().expect("no panic"), i);
        }
    });
    assert!(
        handles <= 2 * JOBS + QUEUE_BLOCKS + 32,
        "{handles} allocations for {JOBS} try_spawns"
    );

    let report = pool.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{report:?}");
    assert_eq!(ran.load(Ordering::Relaxed), 1 + 3 * JOBS);
}
