//! The result queue: `map` and `map_unordered`.
//!
//! The worker-pool pattern sends jobs in on one queue and takes results out of another. Here
//! the input is any iterator and the output is an iterator of `Result<T, TaskError>`, one per
//! input item: in input order ([`Map`]), or as they finish ([`MapUnordered`], and
//! [`MapUnorderedIndexed`] with each result's input position). The input is pulled lazily, and
//! at most a *window* of items is in flight, so mapping over an endless input holds a bounded
//! number of items.
//!
//! ## How items travel
//!
//! One job per item would cost a job, a handle and a wake-up per item: more than the item
//! itself when items are small. So items travel in **chunks**, and the map's jobs loop over
//! them:
//!
//! ```text
//!  consumer (next())                     shared state (one mutex)               pool
//!  ─────────────────                     ────────────────────────               ────
//!  pull `len` items ──push chunk────────▶ pending: [c4 c5]          ◀──claim── job (a lane):
//!  a lane free? submit one job ─────────────────────────────────────────────▶ runs c3, then
//!  waiting? claim a pending chunk, run it here                                claims c4, …
//!  take slot[0] ◀──── one wake per chunk ─ slots: [c2 ✓][c3 …][c4 …][c5]  ◀──publish┘
//!  yield its results one by one
//! ```
//!
//! 1. The consumer pulls `len` items into a chunk and pushes it on the shared `pending`
//!    queue (with an empty in-order slot for its results). `len` adapts (see `sizing.rs`):
//!    each chunk should run for tens of microseconds, enough to hide the hand-off; slow items
//!    (milliseconds) go one per chunk.
//! 2. The map keeps at most a few jobs **live** on the pool (queued or running): its
//!    *lanes*. A chunk pushed while a lane is free comes with a job; otherwise the live jobs
//!    take it. A job claims the **oldest unclaimed** chunk, runs its items, publishes the
//!    results in one step (waking the consumer only if it waits), and claims the next; it
//!    stops once it finds none, in the same lock, so a chunk pushed after that finds the
//!    lane free and comes with a job of its own.
//! 3. The consumer, when the results it needs next are not there, **claims a pending chunk
//!    and runs it itself** instead of sleeping; it sleeps only when every chunk in flight is
//!    claimed. So a map finishes even on a pool with no free worker.
//! 4. How many lanes: as many threads should run chunks as there are cores, and no more (a
//!    third busy thread on two cores time-shares them, and every thread it preempts holds up
//!    the chunks behind it). When the pool's workers alone fill the cores, or the consumer
//!    is one of them (inside a worker), the consumer takes a lane and the pool gets
//!    `workers - 1` (at least one). With a core to spare the pool gets a lane per worker, and
//!    a consumer outside the pool first gives it a moment (`HELP_GRACE`, 50 µs after the
//!    chunk was handed out) to take a chunk, sleeping meanwhile; it stops waiting while none
//!    of the map's jobs start (the pool has no free worker). Items that mostly wait (IO)
//!    leave the cores free: the consumer reads its thread's CPU clock around some of the
//!    chunks it runs, and while they spend less than half their time on the CPU the pool
//!    gets a lane per worker, as with a core to spare. A stream never runs chunks: it leaves
//!    every lane to the pool.
//! 5. A job that never runs (the pool refused it, or a shutdown dropped it) cancels every
//!    unclaimed chunk: their items are dropped unrun, each gets `Err(Cancelled)`.
//!
//! Every chunk is claimed exactly once (claiming takes it off `pending` under the lock) by a
//! job, by the consumer, or by a cancelling job. Nothing is lost and nothing hangs: while a
//! chunk is unclaimed, a live job will come to it (a job stops only when none is unclaimed,
//! and one dropped unrun cancels them all), and the consumer never waits for good while a
//! chunk is unclaimed (at most the grace). Results go to preallocated slots: a ring
//! of one slot per chunk in flight, and result and item buffers that are handed back and
//! reused, so after the first chunks handing items over allocates only the job's box.
//!
//! ## The end
//!
//! The last results reach the consumer from inside a job, before that job returns and its
//! pool counts it. So before `next()` returns `None`, the consumer waits until every job of
//! the map that has started has ended *and been counted*: a job hands its end to the pool
//! through [`worker::after_counted`](crate::worker::after_counted), which runs it right
//! after the count. Right after the iterator is exhausted, `metrics()` shows none of those
//! jobs running. Jobs that never started (the consumer ran their chunk itself) are not
//! waited for, since the pool may not get to them for a long time; they may still be queued,
//! and when they run they return at once. Through an executor that runs the map's jobs inside
//! jobs of its own (a rate limiter, a wrapper), the end is reported when the map's job
//! returns, which may be just before the outer job is counted.
//!
//! ## The window
//!
//! The window counts **items**: those pulled from the input and not yet yielded. By default
//! it holds `4 × workers` chunks (so `4 × workers` items while items are slow, up to
//! `4 × workers × 1024` for tiny ones), enough that the workers still have chunks queued
//! while the consumer, asleep, wakes up to hand out more; [`Map::window`] sets it in items,
//! and chunks then shrink so that `4 × workers` of them fit (one item each in a window
//! smaller than that).
//! For a self-sizing pool `workers` is its `max`: a window sized by the current count would
//! hide the backlog the pool grows for.
//! Taking 10 results pulls at most `10 + window` items.
//!
//! An executor whose jobs are what it paces or caps (a rate limiter) says so through
//! [`Executor::map_in_chunks`]: `map` then keeps one item per job and runs no item on the
//! calling thread.
//!
//! ## Panics
//!
//! Each item runs under its own `catch_unwind`; a panic becomes `Err(TaskError::Panicked)`
//! with the original payload, in that item's place, and the chunk goes on. The pool learns
//! of each panicking item as of a panicking job (`metrics().panicked`, the shutdown report,
//! the `panic_handler`, which gets a `String` copy of the message):
//!
//! - a job whose chunk had panicking items panics itself, at its end, with the first one's
//!   message;
//! - the other panicking items of that chunk, and every panicking item the consumer ran
//!   itself, are reported by the consumer: one small job per item that panics with the
//!   message. The consumer submits them the next time it takes results (a job publishes its
//!   messages with its results), or at once for a chunk it ran.
//!
//! So while the iterator is driven to its end, the pool counts exactly one panic per
//! panicking item. Not counted: extra messages still waiting when the iterator is dropped
//! (or published after that), and reports the pool refuses because it is shutting down. The pool's job counts (`submitted`, `completed`) count jobs,
//! which are chunks and reports, not items.
//!
//! ## Unwind safety
//!
//! Everything a job touches lives in one `Arc`: dropping or `mem::forget`-ting the iterator
//! leaves the jobs running on valid memory, and the chunks in flight still run (their results
//! are dropped by the last job). Item and result destructors run where a panic cannot skip
//! bookkeeping: unrun items and unwanted results are dropped with
//! [`drop_quietly`](crate::unwind::drop_quietly). The last share of the state drops `f`: in a
//! job, a panic of `f`'s destructor becomes that job's panic; on the consumer's side it is
//! dropped quietly. `next()` panics only if the input iterator does; the items it had already
//! pulled for the next chunk are kept and handed out on the next call.

mod chunk;
mod feed;
mod sizing;
#[cfg(feature = "stream")]
pub(crate) mod stream;
#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests;

use std::fmt;

use self::feed::Feed;
use crate::error::TaskError;
use crate::executor::Executor;

/// Results in input order; see [`ExecutorExt::map`](crate::ExecutorExt::map).
///
/// # What the pool sees
///
/// Items travel in chunks, and the calling thread runs some of them itself while it waits, so
/// the pool's job counts (`submitted`, `completed`) count neither items nor chunks: a map
/// keeps at most one job per worker live, and each job runs chunks until none is left (see
/// "How items travel" in the module docs), plus one small job per panic reported as below. Each item runs under its own `catch_unwind`: a panic becomes
/// `Err(TaskError::Panicked)` with the original payload in that item's place, and the pool
/// counts it as a panicked job and shows its message (a `String` copy) to its
/// `panic_handler`, once per panicking item:
///
/// - a job whose chunk had panicking items panics itself, at its end, with the first message;
/// - the other panicking items of that chunk, and every panicking item the calling thread ran,
///   are reported by the iterator the next time it takes results: one job per item that
///   panics with the message.
///
/// Not counted: such extra panics still unreported when the iterator is dropped, and reports
/// the pool refuses because it is shutting down.
///
/// When `next()` returns `None`, every job of the map that started has ended and been counted
/// (none shows as `running`); jobs whose chunk the calling thread ran may still be queued and
/// return at once when they run.
///
/// Dropping or forgetting the iterator is safe at any point: the chunks already handed out
/// still run on the pool, which owns everything they touch, and their results are dropped.
/// [`MapUnordered`] behaves the same.
pub struct Map<'e, E: ?Sized, I: Iterator, F, T> {
    feed: Feed<'e, E, I, F, T>,
}

impl<'e, E, I, F, T> Map<'e, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    pub(crate) fn new(exec: &'e E, input: I, f: F) -> Self {
        Map {
            feed: Feed::new(exec, input, f, true),
        }
    }

    /// Sets how many items may be in flight at once: pulled from the input and not yet
    /// yielded (at least 1). The default holds `4 × workers` chunks.
    pub fn window(mut self, window: usize) -> Self {
        self.feed.set_window(window);
        self
    }
}

impl<E, I, F, T> Iterator for Map<'_, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    type Item = Result<T, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.feed.next_indexed().map(|(_, result)| result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feed.size_hint()
    }
}

/// Results as they finish; see [`ExecutorExt::map_unordered`](crate::ExecutorExt::map_unordered).
/// [`indexed`](MapUnordered::indexed) pairs each with its input position.
pub struct MapUnordered<'e, E: ?Sized, I: Iterator, F, T> {
    feed: Feed<'e, E, I, F, T>,
}

impl<'e, E, I, F, T> MapUnordered<'e, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    pub(crate) fn new(exec: &'e E, input: I, f: F) -> Self {
        MapUnordered {
            feed: Feed::new(exec, input, f, false),
        }
    }

    /// Sets how many items may be in flight at once: pulled from the input and not yet
    /// yielded (at least 1). The default holds `4 × workers` chunks.
    pub fn window(mut self, window: usize) -> Self {
        self.feed.set_window(window);
        self
    }

    /// Yields `(position, result)`: each result with the position of its item in the input
    /// (0 for the first), so that a panic or a cancellation can be traced to its item.
    ///
    /// ```
    /// # use shoal_core::*;
    /// # /// Runs each job on the caller's thread, catching its panic as a pool would.
    /// # struct Inline;
    /// # impl Executor for Inline {
    /// #     fn execute(&self, job: Job) -> Result<(), Rejected> {
    /// #         let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    /// #         Ok(())
    /// #     }
    /// #     fn try_execute(&self, job: Job) -> Result<(), Rejected> { self.execute(job) }
    /// #     fn workers(&self) -> usize { 1 }
    /// #     fn resize(&self, _: usize) -> Result<(), ResizeError> { Ok(()) }
    /// #     fn shutdown(&self, _: Shutdown) -> ShutdownReport { ShutdownReport::default() }
    /// #     fn metrics(&self) -> Metrics { Metrics::default() }
    /// # }
    /// # let pool = Inline;
    /// # let hook = std::panic::take_hook();
    /// # std::panic::set_hook(Box::new(|_| {}));
    /// let inputs = vec![4, 0, 2];
    /// let failed: Vec<usize> = pool
    ///     .map_unordered(inputs, |x: u32| 8 / x)
    ///     .indexed()
    ///     .filter(|(_, result)| result.is_err())
    ///     .map(|(position, _)| position)
    ///     .collect();
    /// # std::panic::set_hook(hook);
    /// assert_eq!(failed, [1], "8 / 0 panicked, at input position 1");
    /// ```
    pub fn indexed(self) -> MapUnorderedIndexed<'e, E, I, F, T> {
        MapUnorderedIndexed { feed: self.feed }
    }
}

impl<E, I, F, T> Iterator for MapUnordered<'_, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    type Item = Result<T, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.feed.next_indexed().map(|(_, result)| result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feed.size_hint()
    }
}

/// Results as they finish, each with its item's input position; see
/// [`MapUnordered::indexed`].
pub struct MapUnorderedIndexed<'e, E: ?Sized, I: Iterator, F, T> {
    feed: Feed<'e, E, I, F, T>,
}

impl<E, I, F, T> MapUnorderedIndexed<'_, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    /// Sets how many items may be in flight at once (at least 1); see [`MapUnordered::window`].
    pub fn window(mut self, window: usize) -> Self {
        self.feed.set_window(window);
        self
    }
}

impl<E, I, F, T> Iterator for MapUnorderedIndexed<'_, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    type Item = (usize, Result<T, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        self.feed.next_indexed()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feed.size_hint()
    }
}

macro_rules! debug_map {
    ($($ty:ident),*) => {$(
        impl<E: ?Sized, I: Iterator, F, T> fmt::Debug for $ty<'_, E, I, F, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("window", &self.feed.window())
                    .field("in_flight", &self.feed.in_flight())
                    .finish_non_exhaustive()
            }
        }
    )*};
}

debug_map!(Map, MapUnordered, MapUnorderedIndexed);
