//! Who a worker thread is: its pool and its index ([`current_worker`]), and its mailbox, the
//! one queue that reaches exactly that thread (how a broadcast runs once on every worker).
//!
//! ## Numbering
//!
//! A worker's index is the lowest one that no live worker of its pool holds when it starts, so
//! the first `n` workers are `0..n`. Shrinking to `n` retires the workers whose index is `n` or
//! more, each after its current job, and growing to `n` starts a worker for every free index
//! below `n`; so once the retiring workers of a shrink have left, the live workers are exactly
//! `0..workers()`, and an array of `workers()` slots indexed by
//! [`WorkerId::index`] fits them. At every moment the live workers' indices are distinct. The
//! thread name `{prefix}-{index}` carries the same number. A retired worker keeps its index
//! until its stop hook returned, and a new worker may already have been given that index.
//!
//! ## Mailboxes
//!
//! A pool's shared queues hand a job to *some* worker. A broadcast needs each worker once, so
//! every live worker also has a mailbox, keyed by its index: [`Mailboxes::post`] puts a job in
//! one, the pool wakes every worker, and each one empties its own mailbox between jobs, when it
//! wakes up idle, while it waits inside a job (every helping wait does), and before it exits.
//! A worker that retires or exits takes its index out of the live set first (under the life
//! cycle's lock, which posting takes too), so no job is posted to a worker that is gone.

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
// The mailbox pointer is plain std even under loom, like the helper pointer in `worker`: it is
// not part of any modelled protocol (the mutex and the counter inside are).
use std::sync::Arc;

use crate::job::Job;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{lock, thread_local, Mutex};
use crate::unwind::drop_quietly;

/// Identifies one pool while it lives (shoal uses the address of the pool's shared state).
/// Compare it with [`Executor::pool_id`](crate::Executor::pool_id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolId(usize);

impl PoolId {
    /// The id of the pool whose shared state lives at `raw` (any number unique to the pool
    /// while it lives).
    pub fn new(raw: usize) -> PoolId {
        PoolId(raw)
    }

    /// The number inside.
    pub fn get(self) -> usize {
        self.0
    }
}

/// A worker thread: its pool and its index in that pool (see the [module docs](self) for the
/// numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkerId {
    pool: PoolId,
    index: usize,
}

impl WorkerId {
    /// Worker `index` of pool `pool`.
    pub fn new(pool: PoolId, index: usize) -> WorkerId {
        WorkerId { pool, index }
    }

    /// The pool the worker belongs to.
    pub fn pool(&self) -> PoolId {
        self.pool
    }

    /// The worker's index: distinct among the pool's live workers, and below `workers()` once
    /// a shrink's retiring workers have left (see the [module docs](self)).
    pub fn index(&self) -> usize {
        self.index
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker {} of pool {:#x}", self.index, self.pool.0)
    }
}

struct Current {
    id: WorkerId,
    mail: Option<Arc<Mailboxes>>,
    /// The worker retired (a shrinking resize): its index may already belong to a new worker,
    /// so its mailbox is no longer its own.
    retired: bool,
    /// The broadcast jobs posted to it before it retired, to run on its way out.
    leftover: Vec<Job>,
}

#[cfg(not(shoal_loom))]
thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

// loom's `thread_local!` takes no `const` initializer.
#[cfg(shoal_loom)]
thread_local! {
    static CURRENT: RefCell<Option<Current>> = RefCell::new(None);
}

/// The worker the calling thread is, if it is a worker thread of a shoal pool: the pool's id
/// and the worker's index (rayon's `current_thread_index`). `None` on any other thread.
///
/// It answers inside every job, in the pool's `on_thread_start` and `on_thread_stop` hooks,
/// and in a broadcast; [`ExecutorExt::current_worker_index`](crate::ExecutorExt::current_worker_index)
/// asks it for one pool.
///
/// ```
/// use shoal_core::current_worker;
/// assert_eq!(current_worker(), None); // not a worker thread
/// ```
pub fn current_worker() -> Option<WorkerId> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|c| c.id))
        .ok()
        .flatten()
}

/// Marks the calling thread as worker `id`, whose broadcasts arrive in `mail`, until the guard
/// drops. Every pool's worker thread calls it first thing (the shared life cycle does, in
/// [`Lifecycle::exit_guard`](crate::lifecycle::Lifecycle::exit_guard)).
pub fn enter(id: WorkerId, mail: Option<Arc<Mailboxes>>) -> IdentityGuard {
    let current = Current {
        id,
        mail,
        retired: false,
        leftover: Vec::new(),
    };
    let previous = CURRENT.with(|c| c.borrow_mut().replace(current));
    IdentityGuard { previous }
}

/// Restores the thread's previous identity on drop.
pub struct IdentityGuard {
    previous: Option<Current>,
}

impl fmt::Debug for IdentityGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityGuard").finish_non_exhaustive()
    }
}

impl Drop for IdentityGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // try_with: the guard may drop while thread locals are being torn down.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// The calling worker's index and mailbox, if it has one (a retired worker has none).
fn own_mailbox() -> Option<(usize, Arc<Mailboxes>)> {
    CURRENT
        .try_with(|c| {
            c.borrow()
                .as_ref()
                .filter(|c| !c.retired)
                .and_then(|c| c.mail.clone().map(|mail| (c.id.index, mail)))
        })
        .ok()
        .flatten()
}

/// Runs every job waiting in the calling worker's mailbox, if it is a worker with one and
/// something was posted. Returns `true` if a job ran. Costs a thread-local read and one load
/// when nothing waits (no reference count is touched then: every helping wait calls this).
pub fn run_own_mail() -> bool {
    let posted = CURRENT
        .try_with(|c| {
            let c = c.borrow();
            let c = c.as_ref().filter(|c| !c.retired)?;
            let mail = c.mail.as_ref().filter(|mail| mail.any_pending())?;
            Some((c.id.index, mail.clone()))
        })
        .ok()
        .flatten();
    match posted {
        Some((index, mail)) => mail.run(index),
        None => false,
    }
}

/// Marks the calling worker as retired, with the broadcast jobs posted to it until then.
pub(crate) fn retire(jobs: Vec<Job>) {
    let _ = CURRENT.try_with(|c| {
        if let Some(current) = c.borrow_mut().as_mut() {
            current.retired = true;
            current.leftover = jobs;
        }
    });
}

/// If the calling worker retired, the jobs [`retire`] kept for it (`None` if it did not).
pub(crate) fn take_retired() -> Option<Vec<Job>> {
    CURRENT
        .try_with(|c| {
            c.borrow_mut()
                .as_mut()
                .filter(|c| c.retired)
                .map(|c| std::mem::take(&mut c.leftover))
        })
        .ok()
        .flatten()
}

/// `true` when the calling thread has a worker identity (it is a worker thread, possibly in
/// its start or stop hook).
pub fn has_identity() -> bool {
    current_worker().is_some()
}

/// One pool's mailboxes, one per worker index; see the [module docs](self).
pub struct Mailboxes {
    /// Jobs posted and not yet taken, over all mailboxes: the one load a worker's check costs
    /// while no broadcast is in progress.
    pending: AtomicUsize,
    boxes: Mutex<Vec<Vec<Job>>>,
}

impl fmt::Debug for Mailboxes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailboxes")
            // ORDERING: a snapshot for display only.
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Mailboxes {
    fn default() -> Self {
        Mailboxes::new()
    }
}

impl Mailboxes {
    /// Empty mailboxes.
    pub fn new() -> Mailboxes {
        Mailboxes {
            pending: AtomicUsize::new(0),
            boxes: Mutex::new(Vec::new()),
        }
    }

    /// Puts `job` in worker `index`'s mailbox. The caller then wakes the worker (every pool
    /// does it with its `wake_all`), and must make sure the worker has not left: the shared
    /// life cycle posts and closes under one lock.
    pub fn post(&self, index: usize, job: Job) {
        let mut boxes = lock(&self.boxes);
        if boxes.len() <= index {
            boxes.resize_with(index + 1, Vec::new);
        }
        boxes[index].push(job);
        // ORDERING: under the lock; the hint only lets a worker skip the lock. A worker that
        // must not miss this post reads it after a wake-up that the poster sends later (a
        // lock, a channel), which orders the two.
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    /// `true` when some job waits in some mailbox: a hint, for a worker's check between jobs.
    #[inline]
    pub fn any_pending(&self) -> bool {
        // ORDERING: a hint; see `post`.
        self.pending.load(Ordering::Relaxed) != 0
    }

    /// `true` when a job waits in worker `index`'s mailbox.
    pub fn has(&self, index: usize) -> bool {
        self.any_pending() && lock(&self.boxes).get(index).is_some_and(|b| !b.is_empty())
    }

    /// Takes every job waiting for worker `index`.
    pub fn take(&self, index: usize) -> Vec<Job> {
        if !self.any_pending() {
            return Vec::new();
        }
        let mut boxes = lock(&self.boxes);
        let jobs = match boxes.get_mut(index) {
            Some(jobs) => std::mem::take(jobs),
            None => Vec::new(),
        };
        // ORDERING: under the lock, as in `post`.
        self.pending.fetch_sub(jobs.len(), Ordering::Relaxed);
        jobs
    }

    /// Runs every job waiting for worker `index` on the calling thread. A panic is caught (a
    /// broadcast's jobs catch their own, this is the backstop). Returns `true` if a job ran.
    pub fn run(&self, index: usize) -> bool {
        let jobs = self.take(index);
        let ran = !jobs.is_empty();
        run_all(jobs);
        ran
    }

    /// `true` when `mail` is this very set of mailboxes.
    pub(crate) fn is(&self, mail: &Arc<Mailboxes>) -> bool {
        std::ptr::eq(self, Arc::as_ptr(mail))
    }
}

/// Runs broadcast jobs taken from a mailbox, each under `catch_unwind` (a broadcast's jobs
/// catch their own panics; this is the backstop).
pub(crate) fn run_all(jobs: Vec<Job>) {
    for job in jobs {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(job)) {
            drop_quietly(payload);
        }
    }
}

/// Runs the jobs waiting in the calling worker's mailbox if that mailbox is in `mail` (the
/// calling thread is a worker of the pool that owns `mail`). The check a worker loop makes
/// between jobs: one load while nothing waits.
#[inline]
pub(crate) fn run_mail_in(mail: &Mailboxes) -> bool {
    mail.any_pending() && run_own_mail_in(mail)
}

#[cold]
fn run_own_mail_in(mail: &Mailboxes) -> bool {
    match own_mailbox() {
        Some((index, own)) if mail.is(&own) => mail.run(index),
        _ => false,
    }
}

/// `true` when a job waits in the calling worker's mailbox in `mail`.
#[inline]
pub(crate) fn has_mail_in(mail: &Mailboxes) -> bool {
    mail.any_pending() && has_own_mail_in(mail)
}

#[cold]
fn has_own_mail_in(mail: &Mailboxes) -> bool {
    match own_mailbox() {
        Some((index, own)) if mail.is(&own) => mail.has(index),
        _ => false,
    }
}
