//! Starting worker threads: the settings check every builder runs, and the hook that can
//! refuse a start.
//!
//! Every shoal pool starts all of its worker threads in **one** function (`spawn_worker` in
//! each pool's `worker.rs`), at build time and when `resize` grows the pool. Before it asks the
//! OS for a thread, that function calls [`before_spawn`] with the pool's [`SpawnHook`], if the
//! builder was given one (`.spawn_hook(...)`). A hook that returns `Err` is treated exactly like
//! the OS refusing the thread:
//!
//! | where | what the caller gets | what happens to jobs |
//! |---|---|---|
//! | `build()` | `BuildError` of kind [`Spawn`](crate::BuildErrorKind::Spawn) | none were accepted yet; the threads that did start are stopped and joined |
//! | `resize(n)` growing | [`ResizeError::Spawn`](crate::ResizeError::Spawn) `{ started, .. }` | none is touched: the pool keeps its workers plus the `started` new ones, and `workers()` says so |
//!
//! That is how the reliability campaign injects thread-spawn failures (with `SpawnFaults`, a
//! switchboard in the shoal-testkit crate, `shoal_testkit::faults`), and it has uses beyond
//! tests: capping the threads a process starts, logging, or pinning bookkeeping. A hook runs on
//! the thread that builds or resizes the pool, with the pool's internal lock held, so it must be
//! quick and must not call back into that pool. A hook that panics is caught; its panic counts
//! as a refusal.
//!
//! ```
//! use std::io;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use shoal_core::spawn::{before_spawn, SpawnHook, SpawnInfo};
//!
//! // Allow two threads, then refuse every start as the OS does when it is out of threads.
//! let starts = AtomicUsize::new(0);
//! let cap = SpawnHook::new(move |info: &SpawnInfo<'_>| {
//!     // ORDERING: a counter that publishes nothing; Relaxed suffices.
//!     if starts.fetch_add(1, Ordering::Relaxed) < 2 {
//!         Ok(())
//!     } else {
//!         let detail = format!("no thread for {}", info.name());
//!         Err(io::Error::new(io::ErrorKind::WouldBlock, detail))
//!     }
//! });
//! assert!(before_spawn(Some(&cap), "pool-0", 0).is_ok());
//! assert!(before_spawn(Some(&cap), "pool-1", 1).is_ok());
//! let err = before_spawn(Some(&cap), "pool-2", 2).unwrap_err();
//! assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
//!
//! // Any closure is a hook; this one sees each thread's name and index.
//! let named = SpawnHook::new(|info: &SpawnInfo<'_>| {
//!     assert!(info.name().starts_with("pool-"));
//!     Ok(())
//! });
//! assert!(before_spawn(Some(&named), "pool-7", 7).is_ok());
//! ```

use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
// Plain std, even under loom or shuttle: the hook is not part of any modelled protocol, and
// std's `Arc` coerces to `Arc<dyn Fn>` where the models' `Arc`s cannot.
use std::sync::Arc;

use crate::error::{panic_message, BuildError, BuildErrorKind};

/// What a [`SpawnHook`] is told about the thread about to start.
#[derive(Clone, Copy, Debug)]
pub struct SpawnInfo<'a> {
    name: &'a str,
    index: usize,
}

impl<'a> SpawnInfo<'a> {
    /// The thread of worker `index` (see [`identity`](crate::identity) for the numbering),
    /// named `name`.
    pub fn new(name: &'a str, index: usize) -> SpawnInfo<'a> {
        SpawnInfo { name, index }
    }

    /// The thread's name (`{prefix}-{index}`).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The index the worker will have: the lowest that no live worker holds (a worker started
    /// by a resize may take the index of one that retired).
    pub fn index(&self) -> usize {
        self.index
    }
}

type HookFn = dyn Fn(&SpawnInfo<'_>) -> io::Result<()> + Send + Sync;

/// Asked before every worker-thread start; an `Err` refuses the start as the OS would.
/// See the [module docs](self).
#[derive(Clone)]
pub struct SpawnHook {
    hook: Arc<HookFn>,
}

impl fmt::Debug for SpawnHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnHook").finish_non_exhaustive()
    }
}

impl SpawnHook {
    /// Wraps a closure as a hook.
    pub fn new<H>(hook: H) -> SpawnHook
    where
        H: Fn(&SpawnInfo<'_>) -> io::Result<()> + Send + Sync + 'static,
    {
        SpawnHook {
            hook: Arc::new(hook),
        }
    }

    /// Asks the hook about one start. A panicking hook is caught and counts as a refusal
    /// (`io::ErrorKind::Other`, with the panic message), so it cannot take down the thread
    /// that builds or resizes the pool.
    pub fn check(&self, info: &SpawnInfo<'_>) -> io::Result<()> {
        match catch_unwind(AssertUnwindSafe(|| (self.hook)(info))) {
            Ok(result) => result,
            Err(payload) => Err(io::Error::other(format!(
                "the spawn hook panicked before starting `{}`: {}",
                info.name,
                panic_message(payload.as_ref()).unwrap_or("<non-string panic payload>")
            ))),
        }
    }
}

/// What each pool's thread-starting function calls first: asks `hook`, if there is one, about
/// the thread `name` of worker `index`.
pub fn before_spawn(hook: Option<&SpawnHook>, name: &str, index: usize) -> io::Result<()> {
    match hook {
        Some(hook) => hook.check(&SpawnInfo::new(name, index)),
        None => Ok(()),
    }
}

/// The smallest `stack_size` a builder accepts: 64 KiB.
///
/// A worker runs the pool's own loop, its waits and the job's first frames on its stack; below
/// about 32 KiB the work-stealing worker overflows it in a debug build before it runs a single
/// job, and a stack overflow aborts the whole process. The OS would round a tiny request up to
/// its own minimum (16 KiB on Linux), which is not enough either. The limit keeps a margin of
/// two over what the pools need; what a job needs on top is the caller's to size.
pub const MIN_STACK_SIZE: usize = 64 * 1024;

/// Checks the thread settings every builder collects, before any thread starts.
///
/// - `stack_size(0)`: a thread needs a stack ([`BuildErrorKind::InvalidThreadConfig`]).
/// - `stack_size` below [`MIN_STACK_SIZE`]: the worker would overflow it and abort the
///   process ([`BuildErrorKind::InvalidThreadConfig`]).
/// - a thread-name prefix containing a NUL byte: the OS cannot take such a name, and std would
///   panic inside `spawn` ([`BuildErrorKind::InvalidThreadConfig`]).
///
/// A stack too large for the OS is not caught here: the OS refuses the thread and `build`
/// returns a [`BuildErrorKind::Spawn`] error carrying its message.
pub fn check_thread_config(
    name_prefix: Option<&str>,
    stack_size: Option<usize>,
) -> Result<(), BuildError> {
    match stack_size {
        Some(0) => {
            return Err(BuildError::new(
                BuildErrorKind::InvalidThreadConfig,
                "stack_size(0): a thread needs a stack",
            ))
        }
        Some(bytes) if bytes < MIN_STACK_SIZE => {
            return Err(BuildError::new(
                BuildErrorKind::InvalidThreadConfig,
                format!(
                    "stack_size({bytes}) is below the minimum of {MIN_STACK_SIZE} bytes a \
                     worker needs for its own frames (a stack overflow aborts the process): \
                     use at least {MIN_STACK_SIZE}, or leave the default"
                ),
            ))
        }
        _ => {}
    }
    if let Some(prefix) = name_prefix {
        if prefix.contains('\0') {
            return Err(BuildError::new(
                BuildErrorKind::InvalidThreadConfig,
                format!(
                    "thread_name({prefix:?}) contains a NUL byte, which no OS thread name can \
                     hold: remove it"
                ),
            ));
        }
    }
    Ok(())
}
