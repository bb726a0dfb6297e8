//! The consumer's side of a map: pulls the input in chunks, hands them out, yields results,
//! and runs chunks itself while it waits. `Map` and `MapUnordered` are thin wrappers.

use std::collections::VecDeque;
use std::mem;
use std::panic::resume_unwind;
use std::sync::PoisonError;
#[cfg(feature = "stream")]
use std::task::{Context, Poll};
use std::time::Duration;

use super::chunk::{Chunk, ChunkJob, Finished, Output, Shared, Step, HELP_GRACE};
use super::sizing::{halfway, ChunkSizer};
use crate::executor::Executor;
use crate::job::Job;
use crate::sync::{Arc, Mutex};
use crate::unwind::drop_quietly;
use crate::worker;

/// The results being yielded: the chunk the consumer took last.
struct Current<T> {
    /// The input position of `results[0]`.
    index: usize,
    results: VecDeque<Output<T>>,
}

/// What the consumer can do next.
enum Ready<T> {
    /// Yield this result, of the input item at this position.
    Item(usize, Output<T>),
    /// Wait for the next chunk's results.
    NeedResults,
    /// Every result was yielded and the input is exhausted.
    End,
}

/// The consumer's own buffers.
struct Local<In, T> {
    /// Items pulled for the next chunk. Kept here, not on the stack, so that an input whose
    /// `next` panics loses nothing: the items wait for the next call (or the drop).
    building: Vec<In>,
    current: Option<Current<T>>,
    /// Emptied buffers on their way back to the shared state, and from it.
    spent: Vec<VecDeque<Output<T>>>,
    spare: Vec<Vec<In>>,
}

/// The consumer's buffers, through `&mut` only: the mutex is never locked (`get_mut` needs
/// no lock). It keeps the iterators `Sync` whenever their input is, as they were when they
/// held only handles: items and results need not be `Sync`.
fn local<In, T>(local: &mut Mutex<Local<In, T>>) -> &mut Local<In, T> {
    local.get_mut().unwrap_or_else(PoisonError::into_inner)
}

/// Chunks in flight per worker, by default.
pub(super) const LANES_PER_WORKER: usize = 4;

pub(crate) struct Feed<'e, E: ?Sized, I: Iterator, F, T> {
    exec: &'e E,
    input: I,
    /// `None` only while the feed is dropped.
    shared: Option<Arc<Shared<I::Item, T, F>>>,
    /// Items in flight, when set with `window`; by default `lanes` chunks' worth.
    window: Option<usize>,
    /// Chunks in flight at most: four per worker (at least 4), or per worker of a self-sizing
    /// pool's `max`. Enough that the workers still have chunks queued while the consumer,
    /// asleep, needs tens of microseconds to wake and hand out more.
    lanes: usize,
    /// How many of the map's jobs had started when the consumer last ran a chunk itself after
    /// the grace (see [`HELP_GRACE`]): while no other job starts, the pool has no free
    /// worker, and the consumer stops waiting for it.
    jobs_seen: Option<u64>,
    /// Chunks the consumer ran after waiting the grace for them (tests).
    #[cfg(test)]
    pub(super) graced_runs: usize,
    /// `Executor::map_in_chunks`: chunks longer than one item, jobs that loop, and the caller
    /// running chunks.
    chunked: bool,
    /// What the map's lanes are sized from (see [`Feed::job_lanes`]): the pool's most
    /// workers, the cores, whether the consumer is a worker, and what the consumer's `probe`
    /// says of the items.
    workers: usize,
    cores: usize,
    in_worker: bool,
    probe: CpuProbe,
    sizer: ChunkSizer,
    next_seq: u64,
    next_index: usize,
    /// Chunks pushed whose results the consumer has not taken yet.
    chunks_out: usize,
    /// Items pulled from the input and not yet yielded: for the next chunk, in chunks, or
    /// in `current`. The window bounds it.
    items_out: usize,
    local: Mutex<Local<I::Item, T>>,
}

impl<'e, E, I, F, T> Feed<'e, E, I, F, T>
where
    E: Executor + ?Sized,
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    pub(crate) fn new(exec: &'e E, input: I, f: F, ordered: bool) -> Self {
        // A self-sizing pool may grow to its `max`: the window makes room for that many, or
        // the pool would never see the backlog it grows for.
        let workers = exec.max_workers().max(1);
        let lanes = workers.saturating_mul(LANES_PER_WORKER);
        let chunked = exec.map_in_chunks();
        let (cores, in_worker) = (cores(), worker::in_worker());
        Feed {
            exec,
            input,
            shared: Some(Arc::new(Shared::new(f, ordered, lanes))),
            window: None,
            lanes,
            jobs_seen: None,
            #[cfg(test)]
            graced_runs: 0,
            chunked,
            workers,
            cores,
            in_worker,
            probe: CpuProbe::new(),
            sizer: ChunkSizer::new(),
            next_seq: 0,
            next_index: 0,
            chunks_out: 0,
            items_out: 0,
            local: Mutex::new(Local {
                building: Vec::new(),
                current: None,
                spent: Vec::new(),
                spare: Vec::new(),
            }),
        }
    }

    /// The consumer will never run chunks itself (a stream): the pool gets every lane, as
    /// for a consumer with a core of its own.
    #[cfg(feature = "stream")]
    pub(crate) fn never_help(mut self) -> Self {
        self.cores = usize::MAX;
        self.in_worker = false;
        self
    }

    /// Chunks handed out so far (tests).
    #[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
    pub(super) fn chunks_handed_out(&self) -> u64 {
        self.next_seq
    }

    /// Sizes the lanes as on a machine with `cores` cores, whatever the items' CPU time
    /// says (tests).
    #[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
    pub(super) fn set_cores(&mut self, cores: usize) {
        self.cores = cores;
        self.probe.off = true;
    }

    /// The map's lanes now (tests).
    #[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
    pub(super) fn lanes_now(&self) -> JobLanes {
        self.job_lanes()
    }

    /// The most jobs of the map live at once, and whether the consumer takes a lane of its
    /// own, for what the feed knows now (see [`job_lanes`]).
    fn job_lanes(&self) -> JobLanes {
        job_lanes(
            self.workers,
            self.cores,
            self.chunked,
            self.in_worker,
            self.probe.items_wait(),
        )
    }

    /// The next result and its input position.
    pub(crate) fn next_indexed(&mut self) -> Option<(usize, Output<T>)> {
        // First hand out what the window has room for (the results yielded since the last
        // call made it), so the pool works while the caller handles this result. Before any
        // result is taken: if the input panics here, nothing is lost.
        self.fill();
        loop {
            match self.ready() {
                Ready::Item(index, result) => return Some((index, result)),
                Ready::End => {
                    // Before saying so, let the jobs that delivered the last results finish
                    // and be counted, so that none of them still shows as running in the
                    // pool's metrics (see `Jobs`).
                    self.shared().jobs.wait_idle();
                    return None;
                }
                Ready::NeedResults => {
                    let finished = self.next_finished();
                    self.take(finished);
                }
            }
        }
    }

    /// [`Feed::next_indexed`] for a stream: never blocks (but for `execute` on a full bounded
    /// queue), never runs items here; `Pending` leaves the task's waker with the map.
    #[cfg(feature = "stream")]
    pub(crate) fn poll_next_indexed(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(usize, Output<T>)>> {
        self.fill();
        loop {
            match self.ready() {
                Ready::Item(index, result) => return Poll::Ready(Some((index, result))),
                Ready::End => return self.shared().jobs.poll_idle(cx).map(|()| None),
                Ready::NeedResults => match self.shared().poll_finished(cx) {
                    Poll::Ready((finished, unreported)) => {
                        report_panics(self.exec, unreported);
                        self.take(finished);
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// The next result of the chunk being yielded, or what to do when there is none.
    fn ready(&mut self) -> Ready<T> {
        let buffers = local(&mut self.local);
        if let Some(current) = &mut buffers.current {
            if let Some(result) = current.results.pop_front() {
                let index = current.index;
                current.index += 1;
                self.items_out -= 1;
                return Ready::Item(index, result);
            }
            if let Some(done) = buffers.current.take() {
                buffers.spent.push(done.results);
            }
        }
        if self.chunks_out == 0 {
            // `fill` handed out nothing more: the input is exhausted.
            Ready::End
        } else {
            Ready::NeedResults
        }
    }

    /// Makes `finished` the chunk whose results are yielded next.
    fn take(&mut self, finished: Finished<T>) {
        self.chunks_out -= 1;
        self.sizer.record(finished.ran, finished.nanos);
        local(&mut self.local).current = Some(Current {
            index: finished.start,
            results: finished.results,
        });
    }

    /// Waits for the next results to yield, running unclaimed chunks meanwhile.
    fn next_finished(&mut self) -> Finished<T> {
        let shared = self.shared.as_ref().expect("the feed is alive");
        loop {
            let grace = self.grace();
            match shared.next_step(self.chunked, grace) {
                Step::Take(finished, unreported) => {
                    report_panics(self.exec, unreported);
                    return finished;
                }
                Step::Run(chunk, results) => {
                    if !grace.is_zero() {
                        self.jobs_seen = Some(shared.jobs_started());
                        #[cfg(test)]
                        {
                            self.graced_runs += 1;
                        }
                    }
                    let cpu_before = self.probe.start();
                    let mut ran = shared.run(chunk, results);
                    if let Some(before) = cpu_before {
                        self.probe.record(before, ran.nanos());
                    }
                    let panics = mem::take(&mut ran.panics);
                    shared.publish(ran, Vec::new());
                    report_panics(self.exec, panics);
                }
            }
        }
    }

    /// How long a chunk waits for the pool before the consumer runs it (see [`HELP_GRACE`]):
    /// none inside a worker, nor while no job of the map started since the consumer last ran a
    /// chunk after waiting (the pool has no free worker: waiting again would only slow the
    /// map).
    fn grace(&self) -> Duration {
        if self.job_lanes().consumer_runs || worker::in_worker() {
            return Duration::ZERO;
        }
        match self.jobs_seen {
            Some(seen) if seen == self.shared().jobs_started() => Duration::ZERO,
            _ => HELP_GRACE,
        }
    }

    fn lanes(&self) -> usize {
        self.window.map_or(self.lanes, |w| w.min(self.lanes))
    }

    fn chunk_len(&self, lanes: usize) -> usize {
        if !self.chunked {
            return 1;
        }
        let len = self.sizer.len();
        match self.window {
            // Room for `lanes` chunks in the window.
            Some(window) => len.min((window / lanes).max(1)),
            None => len,
        }
    }

    /// Hands out chunks while the window has room for a whole one (a shorter one only at the
    /// end of the input) and fewer than `lanes` are in flight.
    fn fill(&mut self) {
        loop {
            let lanes = self.lanes();
            if self.chunks_out >= lanes {
                return;
            }
            let len = self.chunk_len(lanes);
            let window = self.window.unwrap_or(lanes.saturating_mul(len));
            let building = &mut local(&mut self.local).building;
            let missing = len.saturating_sub(building.len());
            if self.items_out.saturating_add(missing) > window {
                return;
            }
            for _ in 0..missing {
                let Some(item) = self.input.next() else { break };
                building.push(item);
                self.items_out += 1;
            }
            if building.is_empty() {
                return;
            }
            let whole = building.len() >= len;
            self.hand_out();
            if !whole {
                return;
            }
        }
    }

    /// Pushes the items pulled as a chunk and submits a job for it.
    fn hand_out(&mut self) {
        let max_jobs = self.job_lanes().max;
        let shared = self.shared.as_ref().expect("the feed is alive");
        let buffers = local(&mut self.local);
        let buffer = buffers.spare.pop().unwrap_or_default();
        let items = mem::replace(&mut buffers.building, buffer);
        let len = items.len();
        let seq = self.next_seq;
        let submit = shared.push(
            Chunk::new(seq, self.next_index, items),
            &mut buffers.spent,
            &mut buffers.spare,
            max_jobs,
        );
        self.next_seq += 1;
        self.next_index += len;
        self.chunks_out += 1;
        self.sizer.handed_out(len);
        if !submit {
            // Every lane has a live job, which takes this chunk before it stops.
            return;
        }
        let chunk_job = ChunkJob::new(shared.clone(), seq, self.chunked);
        let job: Job = Box::new(move || chunk_job.run());
        shared.jobs.submitted(seq, worker::job_address(&job));
        if let Err(refused) = self.exec.execute(job) {
            // The pool is shutting down. Dropping the refused job cancels one unclaimed chunk
            // (this one, unless a running job took it), quietly: the items' destructors may
            // panic, and `next()` must not.
            drop_quietly(refused);
        }
    }
}

impl<E: ?Sized, I: Iterator, F, T> Feed<'_, E, I, F, T> {
    fn shared(&self) -> &Shared<I::Item, T, F> {
        self.shared.as_ref().expect("the feed is alive")
    }

    pub(crate) fn set_window(&mut self, window: usize) {
        self.window = Some(window.max(1));
    }

    pub(crate) fn window(&self) -> Option<usize> {
        self.window
    }

    /// Items pulled and not yet yielded.
    pub(crate) fn in_flight(&self) -> usize {
        self.items_out
    }

    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.input.size_hint();
        let n = self.items_out;
        (lo.saturating_add(n), hi.and_then(|h| h.checked_add(n)))
    }
}

/// How many of a map's jobs may be live at once, and who else runs chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct JobLanes {
    /// The most jobs of the map queued or running at once.
    pub(super) max: usize,
    /// The consumer runs chunks as soon as it waits, as one of the lanes: no grace.
    pub(super) consumer_runs: bool,
}

/// The map's lanes on a pool of `workers` on a machine with `cores` cores.
///
/// As many threads should run the map's chunks as there are cores, and no more: a third
/// busy thread on two cores time-shares them with the workers, and every thread it preempts
/// holds up the chunks behind it. The consumer runs chunks while it waits for results, so
/// when the workers alone fill the cores (or the consumer is one of them, inside a worker),
/// it takes a lane and the pool gets one job fewer: `workers - 1` (at least one, so that the
/// pool runs the map while the caller is busy elsewhere). With a core to spare it is an
/// extra thread, and waits its grace before it helps. An executor that paces its jobs
/// (`chunked` false) gets a job for every chunk.
///
/// Items that mostly wait (IO: the consumer's own runs of them take less than half their
/// time on the CPU, `items_wait`) leave the cores free: the consumer is then an extra thread
/// outside the pool, as with a core to spare, and the pool gets a lane per worker.
pub(super) fn job_lanes(
    workers: usize,
    cores: usize,
    chunked: bool,
    in_worker: bool,
    items_wait: bool,
) -> JobLanes {
    if !chunked {
        return JobLanes {
            max: usize::MAX,
            consumer_runs: false,
        };
    }
    if in_worker || (workers >= cores && !items_wait) {
        JobLanes {
            max: workers.saturating_sub(1).max(1),
            consumer_runs: true,
        }
    } else {
        JobLanes {
            max: workers,
            consumer_runs: false,
        }
    }
}

/// What the consumer learns of the items from the chunks it runs itself: how much of their
/// time was CPU time. It reads the thread's CPU clock around the first
/// [`CpuProbe::FIRST`] chunks it runs and every [`CpuProbe::EVERY`]th after (a system call
/// each side, a fraction of a microsecond), and keeps a moving average of CPU time over
/// wall-clock time.
#[derive(Debug)]
struct CpuProbe {
    /// Chunks the consumer ran.
    runs: u64,
    /// CPU time over wall-clock time, smoothed; `None` until measured.
    share: Option<f64>,
    /// Never measure (tests that size the lanes themselves).
    off: bool,
}

impl CpuProbe {
    const FIRST: u64 = 8;
    const EVERY: u64 = 16;
    /// Chunks shorter than this say little (the clocks' own cost and granularity).
    const SHORTEST_NANOS: u64 = 20_000;
    /// Below this share of CPU time, the items wait more than they compute.
    const WAITING: f64 = 0.5;

    fn new() -> CpuProbe {
        CpuProbe {
            runs: 0,
            share: None,
            off: false,
        }
    }

    /// Before the consumer runs a chunk: the thread's CPU time, if this run is measured.
    fn start(&mut self) -> Option<u64> {
        self.runs += 1;
        let measured = self.runs <= Self::FIRST || self.runs % Self::EVERY == 0;
        if self.off || !measured {
            return None;
        }
        thread_cpu_nanos()
    }

    /// After the run that [`start`](CpuProbe::start) measured: takes in its CPU time and
    /// its wall-clock time.
    fn record(&mut self, cpu_before: u64, wall_nanos: u64) {
        let Some(cpu_after) = thread_cpu_nanos() else {
            return;
        };
        if wall_nanos < Self::SHORTEST_NANOS {
            return;
        }
        let sample = cpu_after.saturating_sub(cpu_before) as f64 / wall_nanos as f64;
        self.share = Some(halfway(self.share, sample));
    }

    /// The items measured so far spend most of their time waiting.
    fn items_wait(&self) -> bool {
        self.share.is_some_and(|share| share < Self::WAITING)
    }
}

/// Items for where `$cond` holds, and items for where it does not: the condition is written
/// once.
macro_rules! cfg_either {
    ($cond:meta; with: { $($with:item)* } without: { $($without:item)* }) => {
        $( #[cfg($cond)] $with )*
        $( #[cfg(not($cond))] $without )*
    };
}

// The platforms with a per-thread CPU clock that `libc` reaches, not under the model checkers.
cfg_either! {
    all(
        not(any(shoal_loom, shoal_shuttle)),
        any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd"
        )
    );
    with: {
        /// The calling thread's CPU time in nanoseconds.
        fn thread_cpu_nanos() -> Option<u64> {
            let mut now = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `now` is a valid, writable timespec; the call writes nothing else.
            let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
            if status != 0 {
                return None;
            }
            let secs = u64::try_from(now.tv_sec).ok()?;
            let nanos = u64::try_from(now.tv_nsec).ok()?;
            Some(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
        }
    }
    without: {
        /// No per-thread CPU clock here (or under the model checkers): the items are taken to
        /// compute.
        fn thread_cpu_nanos() -> Option<u64> {
            None
        }
    }
}

/// The cores this process may run on, read once.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(crate::default_workers)
}

/// Reports panics of items to the pool, one job per message that panics with it, so that the
/// pool counts each one and shows it to its `panic_handler` (see "Panics" in `map`). A
/// refused report (the pool is shutting down) is dropped.
fn report_panics<E: Executor + ?Sized>(exec: &E, messages: Vec<String>) {
    for message in messages {
        let report = Box::new(move || resume_unwind(Box::new(message)));
        if let Err(refused) = exec.execute(report) {
            drop_quietly(refused);
        }
    }
}

impl<E: ?Sized, I: Iterator, F, T> Drop for Feed<'_, E, I, F, T> {
    /// Results not yielded and items not handed out are user values whose destructors may
    /// panic: dropped quietly. Chunks in flight still run on the pool (their jobs hold the
    /// shared state); their results are dropped when the last job ends.
    fn drop(&mut self) {
        let buffers = local(&mut self.local);
        if let Some(current) = buffers.current.take() {
            current.results.into_iter().for_each(drop_quietly);
        }
        buffers.building.drain(..).for_each(drop_quietly);
        if let Some(shared) = self.shared.take() {
            drop_quietly(shared);
        }
    }
}
