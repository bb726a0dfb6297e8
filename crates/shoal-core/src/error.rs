//! Errors. Each one hands back what it could not take (a rejected job comes back whole) and says
//! in its `Display` what to do about it.

use std::any::Any;
use std::fmt;
use std::io;

use crate::job::Job;

/// Why a job did not produce a value.
pub enum TaskError {
    /// The job panicked; the payload is the one the job panicked with.
    /// [`TaskError::panic_message`] reads it as text.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The job never ran: the pool was shut down with [`Shutdown::Now`](crate::Shutdown::Now)
    /// (or its deadline passed) while the job was still queued, or the pool refused it.
    Cancelled,
}

impl TaskError {
    /// The panic message, when the job panicked with a `&str` or a `String` (what `panic!`
    /// produces). `None` for a cancelled job or a payload of another type.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(payload) => panic_message(payload.as_ref()),
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
            TaskError::Panicked(payload) => Ok(payload),
            other => Err(other),
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
            TaskError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
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
pub struct Rejected {
    reason: RejectReason,
    job: Job,
}

impl Rejected {
    /// Wraps a refused job with the reason it was refused.
    pub fn new(reason: RejectReason, job: Job) -> Rejected {
        Rejected { reason, job }
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
        self.job
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

    /// The OS refused a thread; carries its error.
    pub fn spawn(err: io::Error) -> BuildError {
        BuildError {
            kind: BuildErrorKind::Spawn,
            detail: format!("the operating system refused to start a worker thread: {err}"),
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
    /// started before the failure (`started`); no job is affected.
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
            ResizeError::Spawn { started, source } => write!(
                f,
                "resize stopped after starting {started} new worker(s): the operating system \
                 refused another thread: {source}"
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
