//! # shoal-steal: the work-stealing pool
//!
//! `WorkStealingPool` gives every worker its **own deque** and adds one global **injector**
//! for jobs that come from outside. Idle workers **steal** from busy siblings. It is the
//! design of rayon-core, tokio's multi-threaded scheduler and Go's runtime, on
//! [crossbeam-deque](https://docs.rs/crossbeam-deque).
//!
//! ## The roles
//! - **Injector**: one FIFO queue, shared by everyone. `execute` from a thread that is not one
//!   of this pool's workers pushes here.
//! - **Worker deque**: one per worker. A job submitted *from inside* a worker (a job that
//!   spawns jobs) goes onto that worker's own deque, which its owner uses LIFO: the newest job
//!   is the one whose data is still in this core's cache.
//! - **Stealer**: the other end of a deque. An idle worker takes the *oldest* jobs of a busy
//!   sibling (in a recursive computation, the biggest pieces), about half of them at once.
//!
//! ## How a job travels
//! ```text
//!   outside thread                 injector (FIFO)
//!   execute(job) ──push──▶ [ j | j | j | j | j ] ─────── batch (≤ 32) ──────┐
//!                                                                           ▼
//!                    worker 0                      worker 1           worker 2 (idle)
//!                  ┌──────────┐                  ┌──────────┐        ┌──────────┐
//!   job spawns ──▶ │ deque  ▼ │ ◀── pop (LIFO)   │ deque    │        │ deque    │
//!   a child        │ j j j j  │     by the owner │ j j      │        │ (empty)  │
//!                  └──────────┘                  └──────────┘        └────┬─────┘
//!                     ▲ oldest half ◀──────────── steal ──────────────────┘
//!                                                 (random first victim)
//!
//!   A worker looks, in order: its own deque → the injector (a batch into its deque)
//!   → its siblings, from a random start. Nothing anywhere: spin a little, then park
//!   (see `shoal_core::sleep` for the protocol that makes parking safe).
//! ```
//!
//! ## What it costs
//! | operation | cost |
//! |---|---|
//! | submit from outside | an in-flight mark on a per-thread shard (two stores and a fence on a shard the thread owns, RMWs on a shared one past the owned shards, so that shutdown never loses a racing submit), a push on the injector (one CAS on its tail), one SeqCst fence + one load of the read-mostly `sleepy` word. No lock, no syscall unless a worker sleeps and none searches |
//! | submit from inside | a thread-local lookup, a push on the own deque (plain stores and a release), the same fence + load. No shared write at all |
//! | take own job | a pop at the back: one SeqCst fence, no RMW unless the deque is about to empty |
//! | take from injector | one CAS per batch of up to 32 jobs |
//! | steal | one CAS on the victim's front per batch (half of the victim's jobs) |
//! | wake | only when a worker sleeps and none searches: a lock, a CAS and a futex wake |
//! | park | after a short spin: three RMWs, a fence, a last scan of every queue, a lock and a futex wait |
//!
//! A bounded queue (`queue_capacity`) adds a shared counter: one CAS per submit and one
//! decrement per job start. Counters for [`Metrics`](shoal_core::Metrics) are sharded per
//! thread and cost a load and a store each (an uncontended add on a shared shard).
//!
//! ## When it beats the shared queue, and when it loses
//! - **Jobs that spawn jobs** (recursive splits, graph walks, pipelines whose stages submit the
//!   next stage): every spawn stays on the spawning worker's own deque, with no shared write,
//!   while a shared queue makes every worker contend on one queue for every spawn.
//! - **Unbalanced trees**: a worker whose subtree turns out big has its oldest (biggest)
//!   pieces stolen; nobody waits for the unlucky one.
//! - **Chains** (each job submits the next): the job stays on the core that made it.
//!
//! It loses, or gains nothing, when:
//! - **many tiny jobs come from one outside thread** and there are as many workers as cores:
//!   every worker that runs dry searches the injector, so the workers take CPU time and the
//!   injector's cache lines from the one thread that produces the work. `threadpool`'s
//!   workers instead take turns on one mutex-guarded receiver, and the sleeping ones leave the
//!   producer a core. The per-job floor (one allocation, freed on another core) is the same
//!   for both, so neither gets far from it;
//! - jobs are long (milliseconds) and come from outside: the queue is not the bottleneck and
//!   the shared queue is simpler;
//! - you need **strict FIFO start order**: a worker runs its own newest job first, and
//!   batches move several jobs onto one worker at once;
//! - jobs block on each other by means other than `JoinHandle`/`map`/scope waits (which
//!   help): a job waiting on its own child through a plain channel relies on a sibling to
//!   steal that child.
//!
//! Measured with `benches/spawn.rs` (10 000 tiny jobs per iteration, criterion medians, two
//! CPUs of an otherwise idle machine via `taskset -c 0,1`, so two workers per pool):
//!
//! | workload | WorkStealingPool | with LIFO slot | SharedQueuePool | threadpool | rayon `spawn` |
//! |---|---|---|---|---|---|
//! | from outside | 4.03 ms | 3.82 ms | 6.92 ms | 3.21 ms | 5.04 ms |
//! | from inside a worker | 1.20 ms | 1.19 ms | 2.02 ms | 2.51 ms | 1.47 ms |
//! | chain | 1.26 ms | 0.87 ms | 1.73 ms | 1.71 ms | 1.32 ms |
//!
//! On the shared 2-core development machine (other builds running) the ratios move around
//! from run to run; one calm run of the current code gave: from outside, 1.99 ms against
//! threadpool's 2.05 ms and rayon's 2.81 ms; from inside, 1.75 ms against SharedQueuePool's
//! 4.22 ms. Compare ratios within one run only.
//!
//! ## The LIFO slot
//! [`Builder::lifo_slot`] keeps the job spawned last from inside a worker in a one-job slot
//! that only its owner takes, as tokio does. In the table above it makes the chain 31 %
//! faster (the job never touches the deque, and nobody is woken for it) and changes nothing
//! measurable elsewhere. It stays off by default: a slotted job cannot be stolen while its
//! spawner keeps running, so a job that spawns a child and then blocks on it by any means
//! other than a helping wait would deadlock, and shutdown from inside a worker has to flush it.
//!
//! ## Example
//! ```
//! use shoal_core::{Executor, ExecutorExt, Shutdown};
//! use shoal_steal::WorkStealingPool;
//! use std::sync::Arc;
//!
//! let pool = Arc::new(WorkStealingPool::new(4)?);
//!
//! // A job that spawns jobs: the children go to this worker's own deque; idle workers steal.
//! fn sum(pool: Arc<WorkStealingPool>, lo: u64, hi: u64) -> u64 {
//!     if hi - lo <= 1_000 {
//!         return (lo..hi).sum();
//!     }
//!     let mid = (lo + hi) / 2;
//!     let p = pool.clone();
//!     let left = pool.spawn(move || sum(p, lo, mid)).expect("running");
//!     let right = sum(pool, mid, hi);
//!     // Joining inside a worker runs queued jobs meanwhile: no deadlock.
//!     left.join().unwrap() + right
//! }
//! let p = pool.clone();
//! let total = pool.spawn(move || sum(p, 0, 100_000)).unwrap().join().unwrap();
//! assert_eq!(total, (0..100_000u64).sum());
//!
//! let report = pool.shutdown(Shutdown::Graceful);
//! assert!(report.adds_up());
//! # Ok::<(), shoal_core::BuildError>(())
//! ```
//!
//! ## Shutdown, resize and nesting
//! The life cycle (phases, worker threads, the three shutdown modes, the report) is shoal's
//! shared one (`shoal_core::lifecycle`, see docs/strategies.md); this pool adds its queues'
//! steps. *Close* waits until no submission is in flight, then sets *draining*: a
//! worker that then finds every queue (its own deque included) empty exits. `Graceful` runs
//! everything still queued, `Now` cancels the injector and every deque (a busy worker cancels
//! its own LIFO slot when its job returns), `Deadline` is graceful until the deadline and then
//! as `Now`, returning without waiting for jobs still running. From inside a worker, shutdown
//! (and dropping the pool) begins the shutdown and returns at once. `resize` grows by starting
//! workers whose stealers siblings see at their next steal; it shrinks by letting the workers
//! whose index is at or above the new size retire between jobs, each moving its queued jobs
//! back to the injector first. Broadcasts reach a worker between jobs, while it searches or
//! waits, and wake it when parked (its mailbox is one of the flags it checks before sleeping).
#![deny(missing_docs)]

mod intake;
mod pool;
mod registry;
mod worker;

pub use pool::{Builder, WorkStealingPool};
pub use shoal_core::{Executor, ExecutorExt};
