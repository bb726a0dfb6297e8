//! What a map shares with its jobs: chunks waiting for a runner, results waiting for the
//! consumer, and the job that claims and runs one chunk.
//!
//! Everything here sits behind one mutex (a [`Waitable`]): a chunk of tens of microseconds
//! takes it four times (pushed, claimed, published, taken), so there is nothing to gain from
//! anything finer, and one lock makes every step of the protocol below atomic.

use std::collections::{HashMap, VecDeque};
use std::mem;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::task::Waker;
#[cfg(feature = "stream")]
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::{panic_message, TaskError};
use crate::sync::Arc;
use crate::unwind::{drop_quietly, try_drop};
use crate::wait::Waitable;
use crate::worker;

/// One item's result.
pub(crate) type Output<T> = Result<T, TaskError>;

/// Items handed out together: `items[k]` is input item number `start + k`.
pub(crate) struct Chunk<In> {
    /// The chunk's place in the order the consumer created chunks.
    seq: u64,
    start: usize,
    items: Vec<In>,
    /// When the consumer handed it out: a consumer outside the pool runs it itself only once
    /// the pool had [`HELP_GRACE`] to start it.
    pushed: Instant,
}

impl<In> Chunk<In> {
    pub(crate) fn new(seq: u64, start: usize, items: Vec<In>) -> Chunk<In> {
        Chunk {
            seq,
            start,
            items,
            pushed: Instant::now(),
        }
    }
}

/// How long a chunk waits for the pool's workers before a consumer outside the pool runs it
/// itself.
///
/// A consumer that ran every unclaimed chunk at once, whenever the results it needed were not
/// there, made three busy threads of two workers and itself. On a machine with as many cores
/// as workers, the worker it had just woken often waited behind it on its core, found its chunk
/// taken when it got to run, and went back to sleep; runs fell into a state where the consumer
/// ran 95% of the chunks at 1.1 cores (0.5x rayon's time on two cores). Waiting this long
/// first lets the woken workers take the chunks (they need tens of microseconds to wake), and
/// the consumer, asleep meanwhile, leaves them its core. When the pool has no free worker the
/// chunk is still run here, after the grace: the feed drops the grace for as long as no job
/// of the map starts (see `Feed::grace`). Inside a worker there is no grace: the
/// consumer's thread is the pool's.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
pub(crate) const HELP_GRACE: Duration = Duration::from_micros(50);
/// The model checkers do not run the clock: the consumer helps at once.
#[cfg(any(shoal_loom, shoal_shuttle))]
pub(crate) const HELP_GRACE: Duration = Duration::ZERO;

/// A chunk's results, in item order.
pub(crate) struct Finished<T> {
    seq: u64,
    /// The input position of `results[0]`.
    pub(crate) start: usize,
    pub(crate) results: VecDeque<Output<T>>,
    /// How many items ran (0 when the chunk was cancelled) and how long they took.
    pub(crate) ran: usize,
    pub(crate) nanos: u64,
}

/// A chunk just run: its results, its emptied item buffer, and a `String` copy of each
/// panic's message, for the pool (see "Panics" in the module docs of `map`).
pub(crate) struct Ran<In, T> {
    finished: Finished<T>,
    items: Vec<In>,
    pub(crate) panics: Vec<String>,
}

impl<In, T> Ran<In, T> {
    /// How long the chunk's items took, wall-clock.
    pub(crate) fn nanos(&self) -> u64 {
        self.finished.nanos
    }
}

/// What the consumer does next.
pub(crate) enum Step<In, T> {
    /// Yield these results; report these panics to the pool first.
    Take(Finished<T>, Vec<String>),
    /// Nothing to yield yet, but a chunk nobody claimed: run it here.
    Run(Chunk<In>, VecDeque<Output<T>>),
}

struct State<In, T> {
    /// Chunks pushed and not yet claimed, oldest first.
    pending: VecDeque<Chunk<In>>,
    ordered: bool,
    /// In-order slots (ordered maps): one per chunk pushed and not yet taken by the consumer,
    /// `slots[0]` belongs to chunk `base`. The consumer takes only `slots[0]`.
    slots: VecDeque<Option<Finished<T>>>,
    base: u64,
    /// Finished chunks in the order they finished (unordered maps).
    done: VecDeque<Finished<T>>,
    /// Emptied buffers, handed back for reuse: after the first few chunks, handing chunks
    /// over allocates nothing.
    spare_items: Vec<Vec<In>>,
    spare_results: Vec<VecDeque<Output<T>>>,
    /// Panic messages a job could not report itself (it reports one; see `map`'s "Panics").
    unreported: Vec<String>,
    /// The task consuming the map as a stream, waiting for results.
    waker: Option<Waker>,
    /// Jobs of the map that started so far, whether they found a chunk or not: while it
    /// moves, the pool has free workers.
    jobs_started: u64,
    /// Jobs handed to the pool that have not stopped yet (queued or running): the map's
    /// *lanes* on the pool. A looping job stops only once it finds no unclaimed chunk, in
    /// the same lock, so every unclaimed chunk has a live job that will come to it, or the
    /// consumer.
    jobs_live: usize,
}

impl<In, T> State<In, T> {
    /// Takes the oldest unclaimed chunk (and a buffer for its results).
    fn claim(&mut self) -> Option<(Chunk<In>, VecDeque<Output<T>>)> {
        let chunk = self.pending.pop_front()?;
        Some((chunk, self.spare_results.pop().unwrap_or_default()))
    }

    /// The next results the consumer may yield: the oldest chunk's (ordered) or any finished
    /// chunk's (unordered).
    fn take_finished(&mut self) -> Option<Finished<T>> {
        if !self.ordered {
            return self.done.pop_front();
        }
        if !matches!(self.slots.front(), Some(Some(_))) {
            return None;
        }
        self.base += 1;
        self.slots.pop_front().flatten()
    }

    fn put(&mut self, finished: Finished<T>) {
        if self.ordered {
            // The chunk's slot exists until the consumer takes it, and it takes it only once
            // it is filled: `seq >= base`, and `seq - base < slots.len()`.
            let slot = (finished.seq - self.base) as usize;
            self.slots[slot] = Some(finished);
        } else {
            self.done.push_back(finished);
        }
    }
}

/// The state a map shares with every job it submitted: all that a job touches lives here,
/// behind an `Arc`, so a map iterator that is dropped or forgotten leaves nothing dangling.
pub(crate) struct Shared<In, T, F> {
    f: F,
    state: Waitable<State<In, T>>,
    /// Which jobs are queued and which run; its own `Arc`, so that a job can report its end
    /// after it let go of everything else (see [`Jobs`]).
    pub(crate) jobs: Arc<Jobs>,
}

/// The map's jobs from the moment they are handed to the pool to the moment the pool has
/// counted their end.
///
/// The last results of a map reach the consumer from inside a job, before that job returns
/// and its pool counts it as completed. A consumer that returned `None` then, and a caller
/// that read `metrics()` right after, saw the job still `running`. So the consumer, once it
/// has yielded everything, waits here until no job that has started is still running, and
/// a job reports its end *after* its pool counted it ([`worker::after_counted`]).
///
/// A job learns whether its pool runs it directly (then the pool's count comes before the
/// report) by comparing the address of the job the pool runs now ([`worker::running_job`])
/// with its own, which the consumer noted when it handed the job over. Run some other way (a
/// wrapping executor, a pool that counts its own way), it reports its end when it returns.
///
/// Jobs that never started are not waited for: a job whose chunk the consumer ran itself may
/// sit queued behind other work for as long as the pool is busy, and the map must finish
/// without it (a map finishes even on a pool with no free worker). When it runs, it finds
/// nothing to do and returns at once.
pub(crate) struct Jobs {
    state: Waitable<JobsState>,
}

struct JobsState {
    /// The address of each job handed to the pool and neither started nor dropped yet, by
    /// the sequence number of the chunk it was submitted with.
    queued: HashMap<u64, usize>,
    /// Jobs that started and whose end is not counted yet.
    running: usize,
    /// The task consuming the map as a stream, waiting for `running` to reach zero.
    waker: Option<Waker>,
}

impl Jobs {
    fn new() -> Jobs {
        Jobs {
            state: Waitable::new(JobsState {
                queued: HashMap::new(),
                running: 0,
                waker: None,
            }),
        }
    }

    /// The consumer is about to hand the job at `address` to the pool.
    pub(crate) fn submitted(&self, seq: u64, address: usize) {
        self.state.with(|s| s.queued.insert(seq, address));
    }

    /// The job starts; returns its address (0 if unknown).
    fn started(&self, seq: u64) -> usize {
        self.state.with(|s| {
            s.running += 1;
            s.queued.remove(&seq).unwrap_or(0)
        })
    }

    /// The job was dropped unrun (refused, or cancelled by a shutdown).
    fn dropped(&self, seq: u64) {
        self.state.with(|s| s.queued.remove(&seq));
    }

    /// A job that started has ended, and its pool counted it.
    fn ended(&self) {
        let waker = self.state.update(|s| {
            s.running -= 1;
            if s.running == 0 {
                s.waker.take()
            } else {
                None
            }
        });
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Waits until every job that started has ended and been counted (inside a worker,
    /// helping meanwhile).
    pub(crate) fn wait_idle(&self) {
        self.state
            .wait_until(|s| if s.running == 0 { Some(()) } else { None });
    }

    /// [`Jobs::wait_idle`] for a stream: `Pending` with the task's waker left here.
    #[cfg(feature = "stream")]
    pub(crate) fn poll_idle(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.state.with(|s| {
            if s.running == 0 {
                return Poll::Ready(());
            }
            register(&mut s.waker, cx);
            Poll::Pending
        })
    }
}

/// Leaves the task's waker in `slot`, unless the one there wakes the same task.
#[cfg(feature = "stream")]
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// Reports a job's end when dropped: after the job's pool counted it, when the pool runs the
/// job directly (see [`Jobs`]); at once otherwise. A guard, so that a job ending in a panic
/// reports too.
struct JobEnd {
    jobs: Arc<Jobs>,
    /// The job's address, when its pool runs it directly; 0 otherwise.
    counted_after: usize,
}

impl Drop for JobEnd {
    fn drop(&mut self) {
        let jobs = self.jobs.clone();
        worker::after_counted(self.counted_after, move || jobs.ended());
    }
}

impl<In, T, F> Shared<In, T, F> {
    /// `lanes`: the most chunks in flight at once, to size the slot ring.
    pub(crate) fn new(f: F, ordered: bool, lanes: usize) -> Shared<In, T, F> {
        Shared {
            f,
            state: Waitable::new(State {
                pending: VecDeque::with_capacity(lanes),
                ordered,
                slots: VecDeque::with_capacity(if ordered { lanes } else { 0 }),
                base: 0,
                done: VecDeque::with_capacity(if ordered { 0 } else { lanes }),
                spare_items: Vec::new(),
                spare_results: Vec::new(),
                unreported: Vec::new(),
                jobs_started: 0,
                jobs_live: 0,
                waker: None,
            }),
            jobs: Arc::new(Jobs::new()),
        }
    }

    /// The consumer hands a chunk out; in the same lock it returns the result buffers it
    /// emptied (`spent`) and takes the item buffers runners emptied (into `spare`). Returns
    /// whether to submit a job with it: `true` (and the job counted live) while fewer than
    /// `max_jobs` of the map's jobs are live.
    pub(crate) fn push(
        &self,
        chunk: Chunk<In>,
        spent: &mut Vec<VecDeque<Output<T>>>,
        spare: &mut Vec<Vec<In>>,
        max_jobs: usize,
    ) -> bool {
        self.state.with(|s| {
            if s.ordered {
                s.slots.push_back(None);
            }
            s.pending.push_back(chunk);
            s.spare_results.append(spent);
            spare.append(&mut s.spare_items);
            let submit = s.jobs_live < max_jobs;
            s.jobs_live += usize::from(submit);
            submit
        })
    }

    /// Waits until the consumer has something to do: results to yield, or (with `help`) an
    /// unclaimed chunk to run itself, once it waited `grace` for the pool (see [`HELP_GRACE`]).
    /// Inside a worker the wait runs other jobs of its pool.
    pub(crate) fn next_step(&self, help: bool, grace: Duration) -> Step<In, T> {
        loop {
            // Wake up when the oldest unclaimed chunk is due, if nothing comes first.
            let due = if help && !grace.is_zero() {
                self.state
                    .with(|s| s.pending.front().map(|chunk| chunk.pushed + grace))
            } else {
                None
            };
            let step = self.state.wait_until_deadline(
                |s| {
                    if let Some(finished) = s.take_finished() {
                        return Some(Step::Take(finished, mem::take(&mut s.unreported)));
                    }
                    let due = s
                        .pending
                        .front()
                        .is_some_and(|chunk| grace.is_zero() || chunk.pushed.elapsed() >= grace);
                    if help && due {
                        if let Some((chunk, results)) = s.claim() {
                            return Some(Step::Run(chunk, results));
                        }
                    }
                    None
                },
                due,
            );
            if let Some(step) = step {
                return step;
            }
        }
    }

    /// Jobs of the map that started so far.
    pub(crate) fn jobs_started(&self) -> u64 {
        self.state.with(|s| s.jobs_started)
    }

    /// [`Shared::next_step`] for a stream: never runs a chunk here (that would run user code
    /// on the runtime's thread), and leaves the task's waker for the next publish instead of
    /// blocking.
    #[cfg(feature = "stream")]
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<(Finished<T>, Vec<String>)> {
        self.state.with(|s| {
            if let Some(finished) = s.take_finished() {
                return Poll::Ready((finished, mem::take(&mut s.unreported)));
            }
            register(&mut s.waker, cx);
            Poll::Pending
        })
    }

    /// Gives the results of a chunk that ran (or was cancelled) to the consumer, waking it if
    /// it waits (blocked, or as a stream), and keeps `unreported` panic messages for it to
    /// report.
    pub(crate) fn publish(&self, ran: Ran<In, T>, mut unreported: Vec<String>) {
        let Ran {
            finished, items, ..
        } = ran;
        let waker = self.state.update(|s| {
            s.spare_items.push(items);
            s.unreported.append(&mut unreported);
            s.put(finished);
            s.waker.take()
        });
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A job that will never run (refused, or dropped by a shutdown) stops, and cancels
    /// every unclaimed chunk: their items are dropped unrun and each gets `Err(Cancelled)`.
    /// The pool will not run the map's jobs any more, and a chunk left unclaimed could wait
    /// for good on a consumer that never runs chunks itself (a stream).
    pub(crate) fn cancel_pending(&self) {
        // Each chunk with a result buffer to reuse, all taken in one lock.
        let claimed: Vec<_> = self.state.with(|s| {
            s.jobs_live -= 1;
            let pending = mem::take(&mut s.pending);
            pending
                .into_iter()
                .map(|chunk| (chunk, s.spare_results.pop().unwrap_or_default()))
                .collect()
        });
        for (chunk, results) in claimed {
            self.cancel(chunk, results);
        }
    }

    /// Drops a chunk's items unrun (quietly) and publishes an `Err(Cancelled)` for each.
    fn cancel(&self, mut chunk: Chunk<In>, mut results: VecDeque<Output<T>>) {
        // Outside the lock: an item's destructor is user code, and may panic (quietly here).
        for item in chunk.items.drain(..) {
            drop_quietly(item);
            results.push_back(Err(TaskError::Cancelled));
        }
        let finished = Finished {
            seq: chunk.seq,
            start: chunk.start,
            results,
            ran: 0,
            nanos: 0,
        };
        let ran = Ran {
            finished,
            items: chunk.items,
            panics: Vec::new(),
        };
        self.publish(ran, Vec::new());
    }

    /// The oldest unclaimed chunk, for a job that `started` now or runs on; `None` when there
    /// is none, and then the job stops (in the same lock). A job that must stop after this
    /// one chunk (`last`) stops here too.
    fn claim_for_job(&self, started: bool, last: bool) -> Option<(Chunk<In>, VecDeque<Output<T>>)> {
        self.state.with(|s| {
            s.jobs_started += u64::from(started);
            let claimed = s.claim();
            if claimed.is_none() || last {
                s.jobs_live -= 1;
            }
            claimed
        })
    }
}

impl<In, T, F: Fn(In) -> T> Shared<In, T, F> {
    /// Runs every item of `chunk` on the calling thread, each under its own `catch_unwind`:
    /// a panic becomes that item's `Err(Panicked(payload))` and the chunk goes on.
    pub(crate) fn run(&self, mut chunk: Chunk<In>, mut results: VecDeque<Output<T>>) -> Ran<In, T> {
        let started = Instant::now();
        let ran = chunk.items.len();
        let mut panics = Vec::new();
        for item in chunk.items.drain(..) {
            match catch_unwind(AssertUnwindSafe(|| (self.f)(item))) {
                Ok(value) => results.push_back(Ok(value)),
                Err(payload) => {
                    let message = panic_message(payload.as_ref())
                        .unwrap_or("<non-string panic payload>")
                        .to_owned();
                    panics.push(message);
                    results.push_back(Err(TaskError::Panicked(payload.into())));
                }
            }
        }
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Ran {
            finished: Finished {
                seq: chunk.seq,
                start: chunk.start,
                results,
                ran,
                nanos,
            },
            items: chunk.items,
            panics,
        }
    }
}

impl<In, T, F> Drop for Shared<In, T, F> {
    /// The last share is gone: every job ended. What is left are results nobody will take
    /// (the iterator was dropped early) and, only if a pool lost a job, unclaimed items. They
    /// are user values whose destructors may panic: dropped one by one, quietly. `f` drops
    /// after, normally: whoever drops the last share decides what its panic means.
    fn drop(&mut self) {
        let (pending, slots, done) = self.state.with(|s| {
            (
                mem::take(&mut s.pending),
                mem::take(&mut s.slots),
                mem::take(&mut s.done),
            )
        });
        for chunk in pending {
            chunk.items.into_iter().for_each(drop_quietly);
        }
        for finished in slots.into_iter().flatten().chain(done) {
            finished.results.into_iter().for_each(drop_quietly);
        }
    }
}

/// The job a map submits with a chunk while it has fewer than its lanes' worth of jobs live
/// (see `Feed`). It claims the oldest unclaimed chunk (not necessarily the one it was
/// submitted with: the caller or another job may have taken that one), runs it, publishes
/// the results, and, when it `loops`, claims the next one, until none is left; then it stops.
/// A job that does not loop (an executor that paces jobs, see
/// [`Executor::map_in_chunks`](crate::Executor::map_in_chunks)) runs one chunk. Dropped unrun,
/// it cancels the unclaimed chunks instead.
pub(crate) struct ChunkJob<In, T, F> {
    shared: Option<Arc<Shared<In, T, F>>>,
    /// The sequence number of the chunk it was submitted with: its name in [`Jobs`].
    seq: u64,
    loops: bool,
}

impl<In, T, F: Fn(In) -> T> ChunkJob<In, T, F> {
    pub(crate) fn new(shared: Arc<Shared<In, T, F>>, seq: u64, loops: bool) -> ChunkJob<In, T, F> {
        ChunkJob {
            shared: Some(shared),
            seq,
            loops,
        }
    }

    /// Runs chunks while there are unclaimed ones (one, unless it `loops`). If items
    /// panicked, the job panics too, at its end, with a `String` copy of the first message
    /// (after its share of the map is released), so the pool counts it and shows it to its
    /// `panic_handler`; the other messages go to the consumer. Its end is reported to
    /// [`Jobs`] last, after its pool counted it when it can.
    pub(crate) fn run(mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let address = shared.jobs.started(self.seq);
        let _end = JobEnd {
            jobs: shared.jobs.clone(),
            counted_after: if address != 0 && address == worker::running_job() {
                address
            } else {
                0
            },
        };
        let mut own_panic = None;
        let mut started = true;
        while let Some((chunk, results)) = shared.claim_for_job(started, !self.loops) {
            started = false;
            let mut ran = shared.run(chunk, results);
            let mut others = mem::take(&mut ran.panics);
            if own_panic.is_none() && !others.is_empty() {
                own_panic = Some(others.remove(0));
            }
            shared.publish(ran, others);
            if !self.loops {
                break;
            }
        }
        // The last share drops `f`: a panic in its destructor becomes this job's panic
        // (counted by the pool) unless the job already has one to report.
        if let Err(payload) = try_drop(shared) {
            match own_panic {
                None => resume_unwind(payload),
                Some(_) => drop_quietly(payload),
            }
        }
        if let Some(message) = own_panic {
            resume_unwind(Box::new(message));
        }
    }
}

impl<In, T, F> Drop for ChunkJob<In, T, F> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.jobs.dropped(self.seq);
            shared.cancel_pending();
            drop_quietly(shared);
        }
    }
}
