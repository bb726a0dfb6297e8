//! # shoal-scope: the fork-join pool
//!
//! `ScopedPool` runs *divide and conquer*: a job splits its work in two with
//! [`join`](ScopedPool::join), each half may split again, and the results come back up the
//! same call stack. It is shoal's answer to rayon-core, with a different way of sharing work.
//!
//! ## Fork-join in one picture: `join`
//!
//! ```text
//!  time ─────────────────────────────────────────────────────────────────────────▶
//!
//!  W0  join(a, b) ─┬─ run a ─────────────────────────────┬─ pop b: taken → wait ─┬─ return (ra, rb)
//!                  │ push b on W0's private stack        │  (help: run queued    │
//!                  │ W1 is hungry → offer b              │   jobs, or sleep)     │
//!  W1  (idle) ·····└──────────▶ take b ── run b ─────────────── set latch ───────┘
//!
//!  nobody hungry:
//!  W0  join(a, b) ── push b ── run a ── pop b: still ours → run b inline ── return (ra, rb)
//! ```
//!
//! The second half lives on the joining thread's stack (a `StackJob`), so a join allocates
//! nothing. A worker whose offered half was taken waits *helping*: it runs other queued jobs
//! until the half's latch is set, so deep recursion never deadlocks the pool.
//!
//! ## A scope in one picture
//!
//! ```text
//!  time ──────────────────────────────────────────────────────────────────▶
//!
//!  W0  fork_scope(|s| { s.spawn(t1); s.spawn(t2); … }) ─ wait (help: run t2) ─┬─ return
//!  W1                 └─▶ t1 ── s.spawn(t3) ── t1 ends ── t3 ── t3 ends ─────┘ last task
//!                                                                              sets latch
//! ```
//!
//! Tasks borrow from the caller's stack (`'scope`), run on any worker, may spawn more tasks,
//! and the scope returns only after every one of them ended, even when one panicked; the
//! first panic is then resumed on the caller.
//!
//! ## Why the design: lazy offering, measured
//!
//! rayon-core pushes every second half onto a lock-free deque that thieves may steal from at
//! any moment. That needs a fence or CAS on each join, paid even when every core is already
//! busy, which is nearly always the case in a recursive computation. Measured on the 2-core
//! development machine, one rayon join costs about 28 ns more than two plain calls; with no
//! cutoff, `fib(30)` (1.3 million joins of a few nanoseconds of work each) then spends most
//! of its time in the scheduler.
//!
//! shoal-scope keeps second halves on a **private** stack (a plain `Vec`) and moves a job to
//! the shared injector only when a thread is *hungry*: the pool keeps one counter, `demand`
//! (threads looking for work, minus jobs queued for them), and a join reads it with one
//! `Relaxed` load. When it is positive, the joining worker *offers* its oldest pending half,
//! the biggest piece of work it has. This is heartbeat scheduling (Acar, Charguéraud, Rainey,
//! PLDI 2018; the chili and spice libraries) with the timer replaced by the hunger signal
//! itself: work is shared exactly when an idle thread exists, within one join of it becoming
//! idle, no heartbeat thread runs, and an idle pool burns no CPU. A join nobody wants to help
//! with costs a TLS read, a `Vec` push and pop and one load: a few nanoseconds. Two details
//! mattered as much as the design, both found by measuring: the owner runs its un-offered
//! half *in place* (moving the freshly written job out of its slot defeated store-to-load
//! forwarding and made a join 2.5× dearer), and the half's result slot stays
//! uninitialised unless a thief writes it.
//!
//! Measured on the 2-core development machine (a VM shared with other builds; the numbers
//! are the minimum over interleaved rounds, which filters out the other load) with
//! `cargo run --release -p shoal-pool-scope --example ratios -- 20`, 2 threads each:
//!
//! | workload | sequential | ScopedPool | rayon | ScopedPool / rayon | ScopedPool / sequential |
//! |---|---|---|---|---|---|
//! | `fib(30)`, a join per call, no cutoff | 3.81 ms | 5.55 ms | 15.84 ms | 0.35 | 1.46 |
//! | sum of a 2^20-node binary tree, a join per node | 8.81 ms | 7.30 ms | 15.70 ms | 0.46 | 0.83 |
//! | FNV-1a of 4096 × 16 KiB buffers, `par_map` vs `par_iter` | 107.3 ms | 55.3 ms | 56.1 ms | 0.99 | 0.52 (97% efficiency; rayon 96%) |
//!
//! The criterion version (`cargo bench -p shoal-pool-scope --bench forkjoin -- --warm-up-time 1
//! --measurement-time 3`) samples one contender at a time; in its quietest run it gave
//! fib 5.14 / 15.87 ms (0.32× rayon, 1.17× sequential), tree 8.85 / 16.35 ms (0.54×) and
//! hashing 56.97 / 58.32 ms (0.98×, 94.7% efficiency against 108.0 ms sequential), and a
//! tree-only rerun 7.45 / 15.45 ms (0.48×). Over all quiet runs: fib 0.31–0.39× rayon, tree
//! 0.44–0.54×, hashing 0.97–0.99× at 95–98% efficiency. The tree sits at the 0.5 target: its
//! time is mostly cache misses, which no scheduler removes, and it varies by ±15% from run to
//! run for every contender.
//!
//! The far goal, fine-grained fork-join no slower than sequential code, is reached for the
//! tree (memory-bound: 0.83× sequential) but not for `fib` (1.46×), whose calls do 1–2 ns of
//! work each, less than any per-join bookkeeping costs. Give such leaves a sequential cutoff.
//!
//! The trade-off: work is offered only at `join` points. A long stretch of code without a
//! join cannot be split, and the first half of every join always runs on the joining thread.
//! Parallel loops therefore check for hunger between items (see
//! [`par_for_each`](ScopedPool::par_for_each)), and a newly started worker counts as hungry
//! from the moment its thread is requested.
//!
//! ## Costs
//! - `join`, nobody hungry: no atomics written, no allocation.
//! - `join`, someone hungry: one mutex lock to offer, one to take, one latch swap; the waiting
//!   owner helps or parks (mutex + condvar) until the latch wakes it.
//! - `fork_scope` task: one `Box`, one mutex lock to queue it, two atomic counts.
//! - [`Executor`] jobs: one `Box`, and the shared-queue pool's lock-free queue and intake gate
//!   (`shoal_core::queue`): no lock per submit or per take. They wait behind internal jobs.
//!   A submit wakes a sleeping thread only when no thread is searching, and at most half the
//!   cores' worth of threads (at least two) spin in a search (see `sleep.rs`), so a stream of
//!   jobs on many workers costs neither a wake-up per job nor a crowd of spinners. Jobs that
//!   spawn jobs still go through the one shared queue: `shoal-steal` keeps them local.
//!
//! ## When to pick it
//! Recursive divide and conquer (sorting, tree walks, numeric kernels), loops over slices
//! ([`par_for_each`](ScopedPool::par_for_each), [`par_map`](ScopedPool::par_map),
//! [`par_reduce`](ScopedPool::par_reduce)), and tasks that must borrow from the caller's
//! stack ([`fork_scope`](ScopedPool::fork_scope)).
//!
//! ## Example
//! ```
//! use shoal_scope::ScopedPool;
//!
//! fn fib(n: u64) -> u64 {
//!     if n < 2 {
//!         return n;
//!     }
//!     let (a, b) = shoal_scope::join(|| fib(n - 1), || fib(n - 2));
//!     a + b
//! }
//!
//! let pool = ScopedPool::new(2)?;
//! assert_eq!(pool.install(|| fib(20)), 6765);
//!
//! let lengths = pool.par_map(&["a", "bb", "ccc"], |s| s.len());
//! assert_eq!(lengths, [1, 2, 3]);
//! # Ok::<(), shoal_core::BuildError>(())
//! ```
//!
//! ## As an `Executor`
//! `ScopedPool` implements [`Executor`] for `'static` jobs with everything the contract asks
//! (bounded queue, panics per job, the shutdown modes, resize, metrics), on shoal's shared life
//! cycle (`shoal_core::lifecycle`, see docs/strategies.md). What this pool adds to it: *close*
//! refuses new external jobs and outside `install`s (those then run on the caller), and
//! *cancel* drops only external jobs, never join halves or scope tasks: their owners are
//! waiting for them. `wait_idle` counts those external jobs only: a fork-join call blocks its
//! caller until it is done anyway. A broadcast reaches a worker also while it waits in a
//! `join` (the latch wait checks its mailbox).
//!
//! Where an `Executor` job waits: one submitted from outside goes to the shared FIFO queue
//! (the shared-queue pool's lock-free channel and intake gate); one submitted by a job on a
//! worker goes to that worker's own deque (the work-stealing pool's kind), which the worker
//! runs newest first and idle siblings steal from, so a job that spawns its successor hands
//! it to its own thread. With a bounded queue (`queue_capacity`) every job goes to the shared
//! queue, which is what the bound counts.
//!
//! The borrowing scope every executor gets, [`ExecutorExt::scope`], works here too (its tasks
//! are `Executor` jobs, with a handle each that returns the task's value or panic). The
//! lean [`ScopedPool::fork_scope`] is the cheaper one: its tasks skip the external queues, the
//! metrics and the per-task handle. (It has its own name so that `pool.scope(..)` means the
//! same thing, and the same line compiles, on every shoal pool.)
#![deny(missing_docs)]

mod job;
mod join;
mod latch;
mod pool;
mod registry;
mod scope;
mod sleep;
mod worker;

pub use pool::{Builder, ScopedPool};
pub use scope::ForkScope;
pub use shoal_core::{Executor, ExecutorExt};

use worker::WorkerThread;

/// Runs `a` and `b`, potentially in parallel, on the current pool: inside a worker of any
/// [`ScopedPool`] it joins there; elsewhere it uses a default pool (one worker per logical
/// CPU), built on first use. See [`ScopedPool::join`].
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let worker = WorkerThread::current();
    if worker.is_null() {
        default_pool().join(a, b)
    } else {
        // SAFETY: a non-null current worker is alive on this thread's stack.
        join::join_in_worker(unsafe { &*worker }, a, b)
    }
}

/// Runs a [`fork_scope`](ScopedPool::fork_scope) on the current pool (inside a worker) or the
/// default pool (elsewhere).
pub fn fork_scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&ForkScope<'scope>) -> R + Send,
    R: Send,
{
    let worker = WorkerThread::current();
    if worker.is_null() {
        default_pool().fork_scope(op)
    } else {
        // SAFETY: a non-null current worker is alive on this thread's stack.
        scope::scope_in_worker(unsafe { &*worker }, op)
    }
}

/// The pool [`join()`] and [`fork_scope`] use outside every worker.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
pub fn default_pool() -> &'static ScopedPool {
    static POOL: std::sync::OnceLock<ScopedPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        ScopedPool::builder()
            .thread_name("shoal-scope-default")
            .build()
            .expect("the default ScopedPool could not start its workers")
    })
}

/// Under loom (or shuttle) there is no default pool: models build their own.
#[cfg(any(shoal_loom, shoal_shuttle))]
pub fn default_pool() -> &'static ScopedPool {
    panic!("no default pool under loom: call join/fork_scope inside a pool")
}
