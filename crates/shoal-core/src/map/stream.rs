//! The result queue for async code: a map's results as a [`Stream`] (cargo feature `stream`);
//! [`MapStream`] says how it waits.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::feed::Feed;
use super::{Map, MapUnordered, MapUnorderedIndexed};
use crate::error::TaskError;
use crate::executor::Executor;

/// A map's results as a [`Stream`], in the order of the iterator it came from:
/// [`Map::into_stream`] (input order) or [`MapUnordered::into_stream`] (as they finish).
///
/// The same items, order, window and chunks as the iterator. What changes is how the
/// consumer waits: the iterator blocks its thread and runs pending chunks itself; the stream
/// does neither. Polled while the next results are not there, it leaves the task's waker with
/// the map and returns `Pending`; the job that publishes those results wakes the task. So
/// every item runs on the pool, and the runtime's threads stay free for other tasks. Once it
/// has yielded everything, it ends only after the jobs that delivered the last results have
/// ended and been counted by the pool, as the iterator does.
///
/// Handing a chunk to the pool is still a call to [`Executor::execute`], which waits for
/// room on a pool with a bounded queue that is full: consume streams from pools with an
/// unbounded queue (the default), or give the map a window that fits the queue.
pub struct MapStream<'e, E: ?Sized, I: Iterator, F, T> {
    feed: Feed<'e, E, I, F, T>,
}

/// Results as they finish, each with its item's input position, as a [`Stream`]: see
/// [`MapUnorderedIndexed::into_stream`] and, for how it waits, [`MapStream`].
pub struct MapStreamIndexed<'e, E: ?Sized, I: Iterator, F, T> {
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
    /// The results, in input order, as a [`Stream`] for async code: polling never blocks
    /// and never runs an item on the polling thread (see [`MapStream`]).
    ///
    /// ```
    /// # use shoal_core::*;
    /// # struct Threads;
    /// # impl Executor for Threads {
    /// #     fn execute(&self, job: Job) -> Result<(), Rejected> { std::thread::spawn(job); Ok(()) }
    /// #     fn try_execute(&self, job: Job) -> Result<(), Rejected> { self.execute(job) }
    /// #     fn workers(&self) -> usize { 2 }
    /// #     fn resize(&self, _: usize) -> Result<(), ResizeError> { Ok(()) }
    /// #     fn shutdown(&self, _: Shutdown) -> ShutdownReport { ShutdownReport::default() }
    /// #     fn metrics(&self) -> Metrics { Metrics::default() }
    /// # }
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Wake, Waker};
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl Wake for Unpark { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
    /// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop {
    /// #         match f.as_mut().poll(&mut Context::from_waker(&waker)) {
    /// #             Poll::Ready(v) => return v,
    /// #             Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    /// use futures_core::Stream;
    ///
    /// // `block_on` stands for your runtime's; `StreamExt::next` would do what `poll_fn` does.
    /// let squares = block_on(async {
    ///     let mut results = Threads.map(1..=4u64, |x| x * x).into_stream();
    ///     let mut squares = Vec::new();
    ///     while let Some(result) = poll_fn(|cx| Pin::new(&mut results).poll_next(cx)).await {
    ///         squares.push(result.unwrap());
    ///     }
    ///     squares
    /// });
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// ```
    pub fn into_stream(self) -> MapStream<'e, E, I, F, T> {
        MapStream {
            feed: self.feed.never_help(),
        }
    }
}

impl<'e, E, I, F, T> MapUnordered<'e, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    /// The results, as they finish, as a [`Stream`] for async code: polling never blocks
    /// and never runs an item on the polling thread (see [`MapStream`]).
    pub fn into_stream(self) -> MapStream<'e, E, I, F, T> {
        MapStream {
            feed: self.feed.never_help(),
        }
    }
}

impl<'e, E, I, F, T> MapUnorderedIndexed<'e, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    /// The results, as they finish and with their input positions, as a [`Stream`] for
    /// async code (see [`MapStream`]).
    pub fn into_stream(self) -> MapStreamIndexed<'e, E, I, F, T> {
        MapStreamIndexed {
            feed: self.feed.never_help(),
        }
    }
}

impl<E, I, F, T> Stream for MapStream<'_, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    type Item = Result<T, TaskError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .feed
            .poll_next_indexed(cx)
            .map(|next| next.map(|(_, result)| result))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feed.size_hint()
    }
}

impl<E, I, F, T> Stream for MapStreamIndexed<'_, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    type Item = (usize, Result<T, TaskError>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().feed.poll_next_indexed(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.feed.size_hint()
    }
}

// Nothing in a stream is pinned: it is polled through `&mut`, whatever its input and function.
impl<E: ?Sized, I: Iterator, F, T> Unpin for MapStream<'_, E, I, F, T> {}
impl<E: ?Sized, I: Iterator, F, T> Unpin for MapStreamIndexed<'_, E, I, F, T> {}

macro_rules! debug_stream {
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

debug_stream!(MapStream, MapStreamIndexed);
