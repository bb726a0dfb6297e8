//! Errors. Each one hands back what it could not take (a rejected job comes back whole) and says
//! in its `Display` what to do about it.
//!
//! Every error here is `Send + Sync + 'static`, so it travels with `?` into
//! `Box<dyn Error + Send + Sync>` or `anyhow::Error`. The two that carry a value which is not
//! `Sync` (a panic's payload, a refused job) keep it in a [`SyncWrapper`]: a wrapper that hands
//! its value out only by `&mut` or by value, never through `&`, so sharing the error between
//! threads shares nothing of the value (tokio's `JoinError` does the same).

use std::any::Any;
use std::fmt;
use std::io;

use sync_wrapper::SyncWrapper;

use crate::job::Job;

/// Why a job did not produce a value.
pub enum TaskError {
    /// The job panicked; the payload is the one the job panicked with.
    /// [`TaskError::panic_message`] reads it as text, [`TaskError::into_panic`] hands it back.
    Panicked(PanicPayload),
    /// The job never ran: the pool was shut down with [`Shutdown::Now`](crate::Shutdown::Now)
    /// (or its deadline passed) while the job was still queued, or the pool refused it.
    Cancelled,
}

impl TaskError {
    /// The panic message, when the job panicked with a `&str` or a `String` (what `panic!`
    /// produces). `None` for a cancelled job or a payload of another type.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(payload) => payload.message(),
            TaskError::Cancelled => None,
        }
    }

    /// `true` if the job panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// `true` if the job was cancelled before it ran.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// The panic payload, to re-raise it with [`std::panic::resume_unwind`].
    /// Returns `self` back when the job was cancelled.
    pub fn into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self {
            TaskError::Panicked(payload) => Ok(payload.into_inner()),
            other => Err(other),
        }
    }
}

/// The payload a job panicked with, handed back by value with [`PanicPayload::into_inner`].
///
/// A panic payload is `Send` but not `Sync` (`Box<dyn Any + Send>`). This wrapper is `Sync`
/// all the same, so [`TaskError`] is: the two payloads `panic!` produces (`&'static str` and
/// `String`) are kept as what they are, readable through `&` as [`message`](Self::message);
/// any other payload sits in a [`SyncWrapper`], reachable only through `&mut self` or by
/// value, never shared.
pub struct PanicPayload(Repr);

// The boxes are the payload's own allocation, kept as `catch_unwind` made it, so that
// `into_inner` hands back the very box without allocating again.
#[allow(clippy::redundant_allocation, clippy::box_collection)]
enum Repr {
    Str(Box<&'static str>),
    String(Box<String>),
    Other(SyncWrapper<Box<dyn Any + Send + 'static>>),
}

impl PanicPayload {
    /// Wraps a payload, as [`std::panic::catch_unwind`] returns it.
    pub fn new(payload: Box<dyn Any + Send + 'static>) -> PanicPayload {
        let payload = match payload.downcast::<&'static str>() {
            Ok(s) => return PanicPayload(Repr::Str(s)),
            Err(payload) => payload,
        };
        match payload.downcast::<String>() {
            Ok(s) => PanicPayload(Repr::String(s)),
            Err(payload) => PanicPayload(Repr::Other(SyncWrapper::new(payload))),
        }
    }

    /// The message, when the payload is a `&str` or a `String` (what `panic!` produces).
    pub fn message(&self) -> Option<&str> {
        match &self.0 {
            Repr::Str(s) => Some(s),
            Repr::String(s) => Some(s),
            Repr::Other(_) => None,
        }
    }

    /// The payload, to inspect it (`downcast_mut`) in place.
    pub fn get_mut(&mut self) -> &mut (dyn Any + Send + 'static) {
        match &mut self.0 {
            Repr::Str(s) => &mut **s,
            Repr::String(s) => &mut **s,
            Repr::Other(other) => &mut **other.get_mut(),
        }
    }

    /// The payload itself, to re-raise it with [`std::panic::resume_unwind`] or to
    /// `downcast` it.
    pub fn into_inner(self) -> Box<dyn Any + Send + 'static> {
        match self.0 {
            Repr::Str(s) => s,
            Repr::String(s) => s,
            Repr::Other(other) => other.into_inner(),
        }
    }
}

impl From<Box<dyn Any + Send + 'static>> for PanicPayload {
    fn from(payload: Box<dyn Any + Send + 'static>) -> PanicPayload {
        PanicPayload::new(payload)
    }
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => fmt::Debug::fmt(message, f),
            None => f.write_str("<non-string payload>"),
        }
    }
}

/// Reads a panic payload as text, when it is a `&'static str` or a `String`.
pub fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => f.debug_tuple("Panicked").field(payload).finish(),
            TaskError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(_) => match self.panic_message() {
                Some(msg) => write!(f, "the job panicked: {msg}"),
                None => f.write_str("the job panicked (with a payload that is not a string)"),
            },
            TaskError::Cancelled => f.write_str(
                "the job was cancelled before it ran (the pool shut down without draining it)",
            ),
        }
    }
}

impl std::error::Error for TaskError {}

/// Why a pool refused a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Shutdown has begun; the pool takes no new jobs.
    ShutDown,
    /// The bounded queue is full (only from `try_execute`; `execute` waits for room).
    Full,
}

/// A job the pool did not take, handed back with the reason. Nothing is dropped silently:
/// [`Rejected::into_job`] returns the job so the caller can run it elsewhere, retry, or drop it
/// knowingly.
///
/// `Sync` although a [`Job`] is not: the job sits in a [`SyncWrapper`] and leaves only by value.
pub struct Rejected {
    reason: RejectReason,
    job: SyncWrapper<Job>,
}

impl Rejected {
    /// Wraps a refused job with the reason it was refused.
    pub fn new(reason: RejectReason, job: Job) -> Rejected {
        Rejected {
            reason,
            job: SyncWrapper::new(job),
        }
    }

    /// Why the job was refused.
    pub fn reason(&self) -> RejectReason {
        self.reason
    }

    /// `true` when the queue was full, so retrying later may succeed.
    pub fn is_full(&self) -> bool {
        self.reason == RejectReason::Full
    }

    /// `true` when the pool is shutting down, so no retry will succeed.
    pub fn is_shutdown(&self) -> bool {
        self.reason == RejectReason::ShutDown
    }

    /// The job itself, unrun.
    pub fn into_job(self) -> Job {
        self.job.into_inner()
    }
}

impl fmt::Debug for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            RejectReason::ShutDown => f.write_str(
                "job rejected: the pool is shutting down (the job is handed back by into_job)",
            ),
            RejectReason::Full => f.write_str(
                "job rejected: the bounded queue is full; retry later, use execute() to wait \
                 for room, or raise queue_capacity (the job is handed back by into_job)",
            ),
        }
    }
}

impl std::error::Error for Rejected {}

/// What kind of mistake a [`BuildError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// `workers(0)`: a pool needs at least one worker.
    ZeroWorkers,
    /// More workers than [`MAX_WORKERS`](crate::MAX_WORKERS).
    TooManyWorkers,
    /// `queue_capacity(0)`: a bounded queue needs room for at least one job.
    ZeroCapacity,
    /// `stack_size(0)` or another impossible thread setting.
    InvalidThreadConfig,
    /// The operating system refused to start a worker thread.
    Spawn,
    /// `queue_capacity(n)` above what the pool can bound: its queue would reserve memory for
    /// `n` jobs up front. The pool's docs give its limit.
    CapacityTooLarge,
    /// An elastic or adaptive [`Sizing`](crate::Sizing) whose bounds or times cannot hold
    /// (see [`PoolConfig::validate`](crate::PoolConfig::validate)).
    InvalidSizing,
}

/// A pool could not be built. Opaque, with a [`kind`](BuildError::kind) to match on.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
    detail: String,
    source: Option<io::Error>,
}

impl BuildError {
    /// A build error of `kind`, with a sentence of detail for the user.
    pub fn new(kind: BuildErrorKind, detail: impl Into<String>) -> BuildError {
        BuildError {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    /// The OS refused a thread; carries its error as the [`source`](std::error::Error::source)
    /// (the `Display` does not repeat it, so error-chain printers show it once).
    pub fn spawn(err: io::Error) -> BuildError {
        BuildError {
            kind: BuildErrorKind::Spawn,
            detail: "the operating system refused to start a worker thread".to_owned(),
            source: Some(err),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build the pool: {}", self.detail)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Why [`Executor::resize`](crate::Executor::resize) refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResizeError {
    /// `resize(0)`: a pool keeps at least one worker; use `shutdown` to stop it.
    Zero,
    /// More than [`MAX_WORKERS`](crate::MAX_WORKERS) requested.
    TooMany {
        /// What was asked for.
        requested: usize,
        /// The limit.
        max: usize,
    },
    /// The pool is shutting down.
    ShutDown,
    /// The OS refused to start a new worker. The pool keeps the workers it had plus those
    /// started before the failure (`started`); no job is affected. The OS error is the
    /// error's [`source`](std::error::Error::source).
    Spawn {
        /// Workers started before the failure.
        started: usize,
        /// The OS error.
        source: io::Error,
    },
}

impl fmt::Display for ResizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResizeError::Zero => f.write_str(
                "cannot resize to 0 workers: a pool needs at least one; call shutdown() to stop it",
            ),
            ResizeError::TooMany { requested, max } => write!(
                f,
                "cannot resize to {requested} workers: the limit is {max}"
            ),
            ResizeError::ShutDown => f.write_str("cannot resize: the pool is shutting down"),
            // The OS error is the `source()`, not repeated here.
            ResizeError::Spawn { started, .. } => write!(
                f,
                "resize stopped after starting {started} new worker(s): the operating system \
                 refused another thread"
            ),
        }
    }
}

impl std::error::Error for ResizeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResizeError::Spawn { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Checks a requested worker count against the contract's limits; every builder calls it.
pub fn check_workers(n: usize) -> Result<(), BuildError> {
    if n == 0 {
        Err(BuildError::new(
            BuildErrorKind::ZeroWorkers,
            "workers(0): a pool needs at least one worker",
        ))
    } else if n > crate::MAX_WORKERS {
        Err(BuildError::new(
            BuildErrorKind::TooManyWorkers,
            format!(
                "workers({n}) is above the limit of {} threads",
                crate::MAX_WORKERS
            ),
        ))
    } else {
        Ok(())
    }
}

/// Checks a resize request against the contract's limits; every pool calls it.
pub fn check_resize(n: usize) -> Result<(), ResizeError> {
    if n == 0 {
        Err(ResizeError::Zero)
    } else if n > crate::MAX_WORKERS {
        Err(ResizeError::TooMany {
            requested: n,
            max: crate::MAX_WORKERS,
        })
    } else {
        Ok(())
    }
}

// Every public error crosses threads and boxes: `?` into `Box<dyn Error + Send + Sync>` or
// `anyhow::Error` needs `Send + Sync + 'static`. Checked when the crate compiles.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<TaskError>();
    assert_send_sync::<PanicPayload>();
    assert_send_sync::<Rejected>();
    assert_send_sync::<RejectReason>();
    assert_send_sync::<BuildError>();
    assert_send_sync::<BuildErrorKind>();
    assert_send_sync::<ResizeError>();
};
