//! # shoal-queue: the classic worker pool
//!
//! `SharedQueuePool` is the worker-pool pattern as most people first meet it: N worker
//! threads pull jobs from **one shared queue** (a crossbeam MPMC channel) and run them.
//!
//! ```text
//!  submitters                 shared queue (FIFO)               workers
//!  ─────────                  ───────────────────               ───────
//!  execute(job) ──push──▶ [ job | job | job | job ] ──pop──▶ worker 0 ─ run ─ result via handle
//!  spawn(f)     ──push──▶                           ──pop──▶ worker 1 ─ run
//!                                                   ──pop──▶ worker N-1
//! ```
//!
//! ## How a job travels, and what it costs
//! - **Submit**: one `Box` for the job (plus one `Arc` slot for `spawn`'s handle); an
//!   in-flight mark on the submitting thread's own cache line (a store and a fence on a shard
//!   the thread owns, so that shutdown can seal the queue without losing a racing submit;
//!   threads past the owned shards add atomically); one channel
//!   push (a few atomics); then a fence and one load of the sleep word. A wake-up (a lock and
//!   a futex call) happens only when workers sleep *and none is searching*.
//! - **Take**: a worker pops without blocking while the queue has jobs. When it runs dry it
//!   *searches*: it spins briefly on the queue, but only while fewer than half the cores'
//!   worth of workers (at least two) search already; the rest, and searchers whose spin found nothing, park
//!   in the pool's sleep protocol (`shoal_core::sleep`), so **idle workers burn no CPU** and
//!   a burst of jobs is absorbed by the searchers without a syscall.
//! - **Hand-on**: the last searcher to find a job wakes one more worker if jobs are left over,
//!   and that one does the same, so a backlog brings workers in one after another and a
//!   trickle of jobs wakes nobody twice.
//! - **Complete**: panics are caught per job, counted, shown to the `panic_handler`, and the
//!   worker goes on; counters are sharded per thread so counting never contends.
//!
//! Before this protocol, a worker waited in a channel `Select` over the jobs and a second
//! channel of wake tokens, spun 50 µs with yields, and every submit bumped one shared
//! in-flight counter twice: on 16 cores the pool ran tiny jobs 6x slower than `threadpool`.
//! docs/benchmarks.md has the numbers before and after.
//!
//! ## When to pick it
//! - Jobs come **from outside** the pool (a request loop, a file list, a channel of work) and
//!   are of similar size: the single FIFO queue is fair, simple and fast.
//! - IO-bound jobs with many more workers than cores: workers block in IO, not in the queue.
//! - You want strict FIFO start order.
//!
//! Prefer the work-stealing pool when jobs spawn jobs (every spawn from a worker goes back
//! through the one shared queue here, which all workers contend on), and the fork-join pool for
//! recursive divide-and-conquer.
//!
//! ## Example
//! ```
//! use shoal_core::{Executor, ExecutorExt, Shutdown};
//! use shoal_queue::SharedQueuePool;
//!
//! let pool = SharedQueuePool::builder().workers(4).queue_capacity(64).build()?;
//! let handle = pool.spawn(|| 6 * 7).expect("running");
//! assert_eq!(handle.join().unwrap(), 42);
//!
//! // The result queue: in input order, at most 4 × workers chunks in flight.
//! let lengths: Vec<usize> = pool
//!     .map(vec!["a", "bb", "ccc"], |s| s.len())
//!     .collect::<Result<_, _>>()
//!     .unwrap();
//! assert_eq!(lengths, [1, 2, 3]);
//!
//! let report = pool.shutdown(Shutdown::Graceful);
//! assert!(report.adds_up());
//! # Ok::<(), shoal_core::BuildError>(())
//! ```
//!
//! ## Shutdown, resize and nesting
//! The life cycle (phases, worker threads, the three shutdown modes, the report) is shoal's
//! shared one (`shoal_core::lifecycle`, see docs/strategies.md); this pool adds its queue's
//! steps. *Close* waits until no submission is in flight (so a racing submit is either refused
//! with its job handed back, or queued and then run or cancelled), then *seals* the queue;
//! workers exit only when the sealed queue is empty. *Cancel* drains the queue, counting each
//! job cancelled. *Wake* wakes every parked worker (`Sleep::wake_all`); each checks its own
//! flags under the sleep lock (the seal, a target below its index, a broadcast job in its
//! mailbox), so none misses its wake-up and none takes another's. `resize` is the shared one
//! (`shoal_core::lifecycle`): it grows by starting threads and shrinks by letting the workers
//! with the highest indices retire after their current job (parked ones are woken to look).
//! A worker that waits on a handle, a `map` or a scope runs queued jobs meanwhile, and a worker
//! that submits to its own full queue runs a queued job to make room, so nested waits cannot
//! deadlock the pool.
#![deny(missing_docs)]

mod pool;
mod registry;
mod worker;

pub use pool::{Builder, SharedQueuePool};
pub use shoal_core::config::MAX_QUEUE_CAPACITY;
pub use shoal_core::{Executor, ExecutorExt};
