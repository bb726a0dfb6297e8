//! Small synchronization tools the scenarios are written with: gates that hold jobs, tallies
//! that count arrivals, a recorder for the panic handler, a tracker of live items, a signal on
//! thread exit, and bounded polling for conditions that settle eventually.
//!
//! They are public so that pool crates and the reliability campaign can write their own tests
//! the same way.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use shoal_core::{panic_message, PanicHandler};

use crate::watchdog::give_up_after;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking scenario may poison a tool's lock; the value inside is still meaningful.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct GateInner {
    open: Mutex<bool>,
    opened: Condvar,
}

/// A one-shot gate: jobs [`wait`](Waiter::wait) on it until the test opens it.
///
/// The `Gate` itself is not `Clone`: it is the test's key. It opens when dropped, so a scenario
/// that fails an assertion releases the jobs it holds and the pool can still shut down.
pub struct Gate {
    inner: Arc<GateInner>,
}

/// The side of a [`Gate`] that jobs hold.
#[derive(Clone)]
pub struct Waiter {
    inner: Arc<GateInner>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate {
            inner: Arc::new(GateInner {
                open: Mutex::new(false),
                opened: Condvar::new(),
            }),
        }
    }

    /// A handle for a job to wait on.
    pub fn waiter(&self) -> Waiter {
        Waiter {
            inner: self.inner.clone(),
        }
    }

    /// Opens the gate: every waiter, now and later, passes.
    pub fn open(&self) {
        *lock(&self.inner.open) = true;
        self.inner.opened.notify_all();
    }

    /// `true` once opened.
    pub fn is_open(&self) -> bool {
        *lock(&self.inner.open)
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate::new()
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("open", &self.is_open())
            .finish()
    }
}

impl Waiter {
    /// Blocks (plainly, without helping any pool) until the gate is open.
    pub fn wait(&self) {
        let mut open = lock(&self.inner.open);
        while !*open {
            open = self
                .inner
                .opened
                .wait(open)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter").finish_non_exhaustive()
    }
}

/// A counter that a test can wait on: jobs [`add`](Tally::add), the test
/// [`wait_for`](Tally::wait_for)s a number.
pub struct Tally {
    count: Mutex<u64>,
    changed: Condvar,
}

impl Tally {
    /// A shared tally at zero.
    pub fn new() -> Arc<Tally> {
        Arc::new(Tally {
            count: Mutex::new(0),
            changed: Condvar::new(),
        })
    }

    /// Counts one.
    pub fn add(&self) {
        *lock(&self.count) += 1;
        self.changed.notify_all();
    }

    /// The count now.
    pub fn get(&self) -> u64 {
        *lock(&self.count)
    }

    /// Waits until the count is at least `n`; panics naming `what` if that takes longer than
    /// most of the watchdog's limit.
    pub fn wait_for(&self, n: u64, what: &str) {
        let give_up = Instant::now() + give_up_after();
        let mut count = lock(&self.count);
        while *count < n {
            let now = Instant::now();
            if now >= give_up {
                panic!("gave up waiting for {what}: the count is {} of {n}", *count);
            }
            count = self
                .changed
                .wait_timeout(count, give_up - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

impl fmt::Debug for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tally").field(&self.get()).finish()
    }
}

/// Polls `probe` until it returns `Ok`, with short naps in between; panics naming `what` (and
/// the last `Err` detail) when that takes longer than most of the watchdog's limit.
///
/// For conditions that settle eventually but signal nothing, such as a metrics snapshot; a
/// condition a job can signal is better waited for with a [`Tally`].
pub fn poll<T>(what: &str, probe: impl FnMut() -> Result<T, String>) -> T {
    poll_within(what, give_up_after(), probe)
}

/// [`poll`] for a plain condition.
pub fn wait_until(what: &str, done: impl FnMut() -> bool) {
    eventually(what, give_up_after(), done);
}

/// [`wait_until`] with an explicit `limit`: polls `cond` until it holds, or panics with
/// `what` after `limit`. For conditions that settle eventually (a thread that exits after a
/// shutdown returned); never a timing assertion.
pub fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    poll_within(what, limit, || {
        if cond() {
            Ok(())
        } else {
            Err("the condition is still false".to_owned())
        }
    });
}

fn poll_within<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let give_up = Instant::now() + limit;
    let mut nap = Duration::from_micros(50);
    loop {
        match probe() {
            Ok(value) => return value,
            Err(detail) => {
                if Instant::now() >= give_up {
                    panic!("gave up after {limit:?} waiting for {what}; last seen: {detail}");
                }
            }
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(5));
    }
}

/// One call of a recording panic handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenPanic {
    /// The payload read as text ([`panic_message`]).
    pub message: Option<String>,
    /// `true` when the payload was a `String` (what the handler sees for `spawn`ed jobs).
    pub is_string: bool,
}

/// Records what a panic handler was shown; see [`panic_recorder`].
pub struct PanicRecorder {
    seen: Mutex<Vec<SeenPanic>>,
    changed: Condvar,
}

/// A panic handler for [`PoolConfig::panic_handler`](crate::PoolConfig::panic_handler) and
/// the recorder it reports to.
pub fn panic_recorder() -> (PanicHandler, Arc<PanicRecorder>) {
    let recorder = Arc::new(PanicRecorder {
        seen: Mutex::new(Vec::new()),
        changed: Condvar::new(),
    });
    let sink = recorder.clone();
    let handler: PanicHandler = Arc::new(move |payload| {
        let seen = SeenPanic {
            message: panic_message(payload).map(str::to_owned),
            is_string: payload.is::<String>(),
        };
        lock(&sink.seen).push(seen);
        sink.changed.notify_all();
    });
    (handler, recorder)
}

impl PanicRecorder {
    /// Everything recorded so far.
    pub fn seen(&self) -> Vec<SeenPanic> {
        lock(&self.seen).clone()
    }

    /// Waits until at least `n` panics were recorded and returns them; panics with a message
    /// if that takes longer than most of the watchdog's limit.
    pub fn wait_for(&self, n: usize) -> Vec<SeenPanic> {
        let give_up = Instant::now() + give_up_after();
        let mut seen = lock(&self.seen);
        while seen.len() < n {
            let now = Instant::now();
            if now >= give_up {
                panic!(
                    "gave up waiting for the panic handler to be called {n} time(s); it saw {:?}",
                    *seen
                );
            }
            seen = self
                .changed
                .wait_timeout(seen, give_up - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        seen.clone()
    }
}

impl fmt::Debug for PanicRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PanicRecorder").field(&self.seen()).finish()
    }
}

/// Counts values alive at once, and the most ever alive: wrap items in [`Alive::track`] to
/// see how many a consumer holds at the same time (how far `map` runs ahead of its caller).
pub struct Alive {
    /// (alive now, most alive at once)
    counts: Mutex<(usize, usize)>,
}

/// A value counted by an [`Alive`] from creation until drop.
pub struct Tracked<T> {
    value: T,
    alive: Arc<Alive>,
}

impl Alive {
    /// A fresh tracker.
    pub fn new() -> Arc<Alive> {
        Arc::new(Alive {
            counts: Mutex::new((0, 0)),
        })
    }

    /// Starts counting `value` as alive.
    pub fn track<T>(self: &Arc<Self>, value: T) -> Tracked<T> {
        let mut counts = lock(&self.counts);
        counts.0 += 1;
        counts.1 = counts.1.max(counts.0);
        Tracked {
            value,
            alive: self.clone(),
        }
    }

    /// Values alive now.
    pub fn now(&self) -> usize {
        lock(&self.counts).0
    }

    /// The most values that were ever alive at once.
    pub fn max(&self) -> usize {
        lock(&self.counts).1
    }
}

impl fmt::Debug for Alive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (now, max) = *lock(&self.counts);
        f.debug_struct("Alive")
            .field("now", &now)
            .field("max", &max)
            .finish()
    }
}

impl<T> Tracked<T> {
    /// The wrapped value.
    pub fn value(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for Tracked<T> {
    fn drop(&mut self) {
        lock(&self.alive.counts).0 -= 1;
    }
}

impl<T: fmt::Debug> fmt::Debug for Tracked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tracked").field(&self.value).finish()
    }
}

struct ExitSignals(Vec<Arc<Tally>>);

impl Drop for ExitSignals {
    fn drop(&mut self) {
        for tally in self.0.drain(..) {
            tally.add();
        }
    }
}

thread_local! {
    static ON_EXIT: RefCell<ExitSignals> = const { RefCell::new(ExitSignals(Vec::new())) };
}

/// Counts one on `tally` when the calling thread exits (from a thread-local destructor). Run
/// it inside a job to learn when that worker thread is gone.
pub fn signal_on_thread_exit(tally: &Arc<Tally>) {
    ON_EXIT.with(|signals| signals.borrow_mut().0.push(tally.clone()));
}
