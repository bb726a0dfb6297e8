//! The ledger: what really happened to every job, recorded by the job itself.
//!
//! Each job the campaign submits carries a [`Token`]. Running the job records `Completed`
//! (or `Panicked`, just before it panics on purpose); dropping the job unrun, wherever that
//! happens (a shutdown cancels it, a pool drops it by mistake, the caller drops a rejected
//! job), records `Dropped` from the token's destructor. Every record also bumps the job's
//! event count, so "exactly once" is checkable: a job run twice, or run and also dropped, has
//! two events. A pool's own counters and reports are then checked against the ledger, not
//! against themselves.
//!
//! The ledger is a fixed array of atomics (one word per job), so recording never takes a lock
//! and costs one uncontended RMW: it can follow millions of jobs without changing what it
//! measures.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shoal_core::{Executor, Job};

use crate::gate::Gate;
use crate::panics::expected_panic;
use crate::watchdog::eventually;

/// A job's number in its ledger.
pub type JobId = usize;

/// What happened to one job, as far as the ledger knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Nothing yet: queued, running, or lost.
    Pending,
    /// It ran and returned.
    Completed,
    /// It ran and panicked (on purpose).
    Panicked,
    /// It was dropped without running.
    Dropped,
}

const EVENT: u32 = 1 << 8;
const OUTCOME_MASK: u32 = 0xff;

impl Outcome {
    fn code(self) -> u32 {
        match self {
            Outcome::Pending => 0,
            Outcome::Completed => 1,
            Outcome::Panicked => 2,
            Outcome::Dropped => 3,
        }
    }

    fn from_code(code: u32) -> Outcome {
        match code {
            0 => Outcome::Pending,
            1 => Outcome::Completed,
            2 => Outcome::Panicked,
            _ => Outcome::Dropped,
        }
    }
}

struct Inner {
    /// Per job: `events << 8 | outcome`.
    entries: Box<[AtomicU32]>,
    next: AtomicUsize,
}

/// Records every job's fate; clones share one ledger.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("jobs", &self.len())
            .finish_non_exhaustive()
    }
}

/// The children that jobs submitted from inside a pool ([`Ledger::parent_job`]): those the
/// pool accepted, and those it refused (which were dropped). Clones share the lists.
#[derive(Clone, Debug, Default)]
pub struct Children {
    accepted: Arc<Mutex<Vec<JobId>>>,
    refused: Arc<Mutex<Vec<JobId>>>,
}

impl Children {
    /// The children the pool accepted so far.
    pub fn accepted(&self) -> Vec<JobId> {
        lock(&self.accepted).clone()
    }

    /// The children the pool refused so far.
    pub fn refused(&self) -> Vec<JobId> {
        lock(&self.refused).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Counts over a set of jobs; see [`Ledger::tally`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Jobs with no event yet.
    pub pending: u64,
    /// Jobs that ran and returned.
    pub completed: u64,
    /// Jobs that ran and panicked.
    pub panicked: u64,
    /// Jobs dropped unrun.
    pub dropped: u64,
    /// Jobs with more than one event: run twice, or run and dropped. Must be 0.
    pub duplicated: u64,
}

impl Tally {
    /// Jobs with exactly one event.
    pub fn settled(&self) -> u64 {
        self.completed + self.panicked + self.dropped
    }
}

impl Ledger {
    /// A ledger for at most `capacity` jobs.
    pub fn with_capacity(capacity: usize) -> Ledger {
        Ledger {
            inner: Arc::new(Inner {
                entries: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
                next: AtomicUsize::new(0),
            }),
        }
    }

    /// Jobs handed out so far.
    pub fn len(&self) -> usize {
        // ORDERING: a count; the entries themselves are read after a synchronizing join or
        // shutdown.
        self.inner.next.load(Ordering::SeqCst)
    }

    /// `true` before the first token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A new token: a job's identity and its way to record what happened to it.
    pub fn token(&self, panics: bool) -> Token {
        // ORDERING: only uniqueness matters.
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        assert!(
            id < self.inner.entries.len(),
            "ledger full: size it for at least {} jobs",
            id + 1
        );
        Token {
            id,
            panics,
            ledger: Some(self.clone()),
        }
    }

    /// A job that records its run (and panics on purpose when `panics`).
    pub fn job(&self, panics: bool) -> (JobId, Job) {
        let token = self.token(panics);
        (token.id(), Box::new(move || token.run_unit()))
    }

    /// A job that first waits at `gate`, then runs like [`job`](Ledger::job).
    pub fn gated_job(&self, gate: &Gate, panics: bool) -> (JobId, Job) {
        let token = self.token(panics);
        let gate = gate.clone();
        (
            token.id(),
            Box::new(move || {
                gate.wait();
                token.run_unit();
            }),
        )
    }

    /// A job that holds `capture` while it runs like [`job`](Ledger::job) (without panicking)
    /// and drops it at its end; unrun, it drops both its token and `capture`. With a capture
    /// whose destructor panics, the job panics after its run is recorded.
    pub fn job_holding<T: Send + 'static>(&self, capture: T) -> (JobId, Job) {
        let token = self.token(false);
        (
            token.id(),
            Box::new(move || {
                let _capture = capture;
                token.run_unit();
            }),
        )
    }

    /// A job that submits `n` children to `pool` from inside it (each a plain
    /// [`job`](Ledger::job)) and notes in `children` which the pool accepted and which it
    /// refused; a refusal must say `ShutDown`, and the refused child is dropped (the ledger
    /// records it). Then the job lets go of `pool` and runs like [`job`](Ledger::job).
    pub fn parent_job(
        &self,
        pool: Arc<dyn Executor>,
        n: usize,
        children: &Children,
    ) -> (JobId, Job) {
        let token = self.token(false);
        let id = token.id();
        let (ledger, children) = (self.clone(), children.clone());
        let job: Job = Box::new(move || {
            for _ in 0..n {
                let (id, child) = ledger.job(false);
                match pool.execute(child) {
                    Ok(()) => lock(&children.accepted).push(id),
                    Err(refused) => {
                        assert!(
                            refused.is_shutdown(),
                            "a child refused for {:?}",
                            refused.reason()
                        );
                        drop(refused);
                        lock(&children.refused).push(id);
                    }
                }
            }
            drop(pool);
            token.run_unit();
        });
        (id, job)
    }

    fn record(&self, id: JobId, outcome: Outcome) {
        // ORDERING: the event itself publishes nothing; readers look after the pool was shut
        // down or the job's handle joined, which synchronize with the job's thread.
        self.inner.entries[id].fetch_add(EVENT | outcome.code(), Ordering::SeqCst);
    }

    fn raw(&self, id: JobId) -> u32 {
        // ORDERING: see `record`.
        self.inner.entries[id].load(Ordering::SeqCst)
    }

    /// How many times job `id` recorded something (1 when settled; 0 while pending).
    pub fn events(&self, id: JobId) -> u32 {
        self.raw(id) >> 8
    }

    /// What happened to job `id` (meaningless when [`events`](Ledger::events) > 1).
    pub fn outcome(&self, id: JobId) -> Outcome {
        Outcome::from_code(self.raw(id) & OUTCOME_MASK)
    }

    /// Counts over `ids`.
    pub fn tally(&self, ids: impl IntoIterator<Item = JobId>) -> Tally {
        let mut t = Tally::default();
        for id in ids {
            let raw = self.raw(id);
            match raw >> 8 {
                0 => t.pending += 1,
                1 => match Outcome::from_code(raw & OUTCOME_MASK) {
                    Outcome::Completed => t.completed += 1,
                    Outcome::Panicked => t.panicked += 1,
                    Outcome::Dropped => t.dropped += 1,
                    Outcome::Pending => unreachable!("an event always names an outcome"),
                },
                _ => t.duplicated += 1,
            }
        }
        t
    }

    /// Counts over every job handed out.
    pub fn tally_all(&self) -> Tally {
        self.tally(0..self.len())
    }

    /// Waits (polling, up to `limit`) until no job in `ids` is pending. For jobs a
    /// `Shutdown::Deadline` stopped waiting for: they settle when they return.
    pub fn wait_settled(&self, ids: &[JobId], limit: Duration) {
        eventually("every job settled", limit, || {
            ids.iter().all(|&id| self.events(id) > 0)
        });
    }
}

/// A job's identity; records what happened to it, exactly once.
pub struct Token {
    id: JobId,
    panics: bool,
    /// `None` once it recorded.
    ledger: Option<Ledger>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("panics", &self.panics)
            .finish()
    }
}

impl Token {
    /// The job's number.
    pub fn id(&self) -> JobId {
        self.id
    }

    /// `true` when running it panics on purpose.
    pub fn panics(&self) -> bool {
        self.panics
    }

    /// Records the run and returns a value derived from the id (`id * 2`), or records a
    /// panic and panics with an expected-panic message.
    pub fn run(mut self) -> u64 {
        let ledger = self.ledger.take().expect("a token records once");
        if self.panics {
            ledger.record(self.id, Outcome::Panicked);
            expected_panic(&format!("job {}", self.id));
        }
        ledger.record(self.id, Outcome::Completed);
        self.id as u64 * 2
    }

    fn run_unit(self) {
        let _ = self.run();
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if let Some(ledger) = self.ledger.take() {
            ledger.record(self.id, Outcome::Dropped);
        }
    }
}
