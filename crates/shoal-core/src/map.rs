//! The result queue: `map` and `map_unordered`.
//!
//! The worker-pool pattern sends jobs in on one queue and takes results out of another. Here
//! the input is any iterator and the output is an iterator of `Result<T, TaskError>`, one per
//! input item. At most `window` jobs are in flight at once (default: twice the worker count),
//! so mapping over a million items never queues a million closures: the iterator submits more
//! only as the caller consumes results.

use std::collections::VecDeque;
use std::fmt;

use crate::error::TaskError;
use crate::executor::{Executor, ExecutorExt};
use crate::handle::JoinHandle;
use crate::sync::Arc;
use crate::unwind::drop_quietly;
use crate::wait::Waitable;

fn default_window<E: Executor + ?Sized>(exec: &E) -> usize {
    exec.workers().max(1) * 2
}

/// Results in input order; see [`ExecutorExt::map`].
pub struct Map<'e, E: ?Sized, I: Iterator, F, T> {
    exec: &'e E,
    input: I,
    f: Arc<F>,
    window: usize,
    in_flight: VecDeque<Option<JoinHandle<T>>>,
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
            window: default_window(exec),
            exec,
            input,
            f: Arc::new(f),
            in_flight: VecDeque::new(),
        }
    }

    /// Sets how many jobs may be in flight at once (at least 1).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window.max(1);
        self
    }

    fn fill(&mut self) {
        while self.in_flight.len() < self.window {
            let Some(item) = self.input.next() else { break };
            let f = self.f.clone();
            // A refused job (the pool is shutting down) is recorded as `None` and reported
            // as Cancelled in its place, so the output keeps one entry per input. The refused
            // job goes quietly: the item's destructor may panic, and that must not cost the
            // item its place in the output.
            let handle = match self.exec.spawn(move || f(item)) {
                Ok(handle) => Some(handle),
                Err(rejected) => {
                    drop_quietly(rejected);
                    None
                }
            };
            self.in_flight.push_back(handle);
        }
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
        self.fill();
        // The window is full here; the job joined below still counts against it until it ends.
        let next = self.in_flight.pop_front()?;
        Some(match next {
            Some(handle) => handle.join(),
            None => Err(TaskError::Cancelled),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.input.size_hint();
        let n = self.in_flight.len();
        (lo.saturating_add(n), hi.and_then(|h| h.checked_add(n)))
    }
}

impl<E: ?Sized, I: Iterator, F, T> fmt::Debug for Map<'_, E, I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("window", &self.window)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

/// Finished results in the order they finish, paired with nothing else (use `map` with an
/// index in the item if you need positions).
struct Done<T> {
    results: VecDeque<Result<T, TaskError>>,
}

/// Pushes its job's result into the shared queue exactly once, `Cancelled` if dropped unrun.
struct Sink<T> {
    done: Option<Arc<Waitable<Done<T>>>>,
}

impl<T> Sink<T> {
    fn send(&mut self, result: Result<T, TaskError>) {
        if let Some(done) = self.done.take() {
            done.update(|d| d.results.push_back(result));
        }
    }
}

impl<T> Drop for Sink<T> {
    fn drop(&mut self) {
        self.send(Err(TaskError::Cancelled));
    }
}

/// Results as they finish; see [`ExecutorExt::map_unordered`].
pub struct MapUnordered<'e, E: ?Sized, I: Iterator, F, T> {
    exec: &'e E,
    input: I,
    f: Arc<F>,
    window: usize,
    in_flight: usize,
    refused: usize,
    done: Arc<Waitable<Done<T>>>,
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
            window: default_window(exec),
            exec,
            input,
            f: Arc::new(f),
            in_flight: 0,
            refused: 0,
            done: Arc::new(Waitable::new(Done {
                results: VecDeque::new(),
            })),
        }
    }

    /// Sets how many jobs may be in flight at once (at least 1).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window.max(1);
        self
    }

    fn fill(&mut self) {
        while self.in_flight < self.window {
            let Some(item) = self.input.next() else { break };
            let f = self.f.clone();
            let mut sink = Sink {
                done: Some(self.done.clone()),
            };
            let job = move || {
                // Catch the panic here so this item's result carries the payload; resume it
                // (as a message) so the pool counts the panic too.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
                match result {
                    Ok(v) => sink.send(Ok(v)),
                    Err(payload) => {
                        let message = crate::error::panic_message(payload.as_ref())
                            .unwrap_or("<non-string panic payload>")
                            .to_owned();
                        sink.send(Err(TaskError::Panicked(payload)));
                        std::panic::resume_unwind(Box::new(message));
                    }
                }
            };
            self.in_flight += 1;
            if let Err(rejected) = self.exec.execute(Box::new(job)) {
                // Dropping the refused job drops its sink, which queues a Cancelled result
                // (also when the item's destructor panics: quietly, the sink still drops).
                drop_quietly(rejected);
                self.refused += 1;
            }
        }
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
        self.fill();
        if self.in_flight == 0 {
            return None;
        }
        let result = self.done.wait_until(|d| d.results.pop_front());
        self.in_flight -= 1;
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.input.size_hint();
        (
            lo.saturating_add(self.in_flight),
            hi.and_then(|h| h.checked_add(self.in_flight)),
        )
    }
}

impl<E: ?Sized, I: Iterator, F, T> fmt::Debug for MapUnordered<'_, E, I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnordered")
            .field("window", &self.window)
            .field("in_flight", &self.in_flight)
            .field("refused", &self.refused)
            .finish_non_exhaustive()
    }
}
