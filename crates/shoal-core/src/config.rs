//! One configuration for every pool: the settings, their limits, their validation, and how a
//! worker thread is started from them.
//!
//! Every pool's builder is a [`PoolConfig`] plus the settings only that strategy has (the
//! work-stealing pool's `lifo_slot`). The common setters are written once, in
//! [`pool_settings!`](crate::pool_settings), and every pool validates with
//! [`PoolConfig::validate`] and starts its threads with [`PoolConfig::spawn`], so a new setting
//! or a new limit is added in one place and holds for every strategy.
//!
//! ```
//! use shoal_core::{BuildErrorKind, PoolConfig};
//!
//! let config = PoolConfig::new().workers(4).queue_capacity(64).thread_name("io");
//! assert_eq!(config.validate().unwrap(), 4);
//! let err = PoolConfig::new().workers(2).queue_capacity(0).validate().unwrap_err();
//! assert_eq!(err.kind(), BuildErrorKind::ZeroCapacity);
//! ```

use std::fmt;
use std::io;

use crate::error::{check_workers, BuildError, BuildErrorKind};
use crate::job::{PanicHandler, ThreadHook};
use crate::shutdown::DropBehavior;
use crate::sizing::Sizing;
use crate::spawn::{self, SpawnHook, SpawnInfo};
use crate::sync::thread;
use crate::unwind::drop_quietly;

/// The largest `queue_capacity` any pool accepts: 2^20 = 1,048,576 jobs.
///
/// A bounded queue may reserve its slots up front (the shared-queue pool and `ScopedPool`'s
/// `Executor` side do: 40 bytes each), so a bound near `usize::MAX` cannot be honoured, and a larger bound would not bound memory
/// usefully anyway: leave the queue unbounded instead. Above this, `build` returns a
/// [`BuildError`] of kind [`CapacityTooLarge`](BuildErrorKind::CapacityTooLarge).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// The settings every pool has. Build one directly, or through a pool's builder (which holds
/// one); see the [module docs](self).
#[derive(Clone, Default)]
pub struct PoolConfig {
    workers: Option<usize>,
    queue_capacity: Option<usize>,
    thread_name: Option<String>,
    stack_size: Option<usize>,
    panic_handler: Option<PanicHandler>,
    spawn_hook: Option<SpawnHook>,
    hooks: ThreadHooks,
    on_drop: DropBehavior,
    sizing: Sizing,
}

/// The hooks a pool's worker threads run when they start and when they stop; see
/// [`PoolConfig::on_thread_start`] and [`PoolConfig::on_thread_stop`].
#[derive(Clone, Default)]
pub struct ThreadHooks {
    start: Option<ThreadHook>,
    stop: Option<ThreadHook>,
}

impl fmt::Debug for ThreadHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadHooks")
            .field("start", &self.start.is_some())
            .field("stop", &self.stop.is_some())
            .finish()
    }
}

impl ThreadHooks {
    /// Runs the start hook, if any, on the calling worker thread. Its panic is caught and
    /// discarded: the worker goes on to run jobs.
    pub fn started(&self) {
        run_hook(self.start.as_ref());
    }

    /// Runs the stop hook, if any, on the calling worker thread. Its panic is caught and
    /// discarded: the worker still exits cleanly and reports its exit.
    pub fn stopping(&self) {
        run_hook(self.stop.as_ref());
    }
}

fn run_hook(hook: Option<&ThreadHook>) {
    if let Some(hook) = hook {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook())) {
            drop_quietly(payload);
        }
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("thread_name", &self.thread_name)
            .field("stack_size", &self.stack_size)
            .field("panic_handler", &self.panic_handler.is_some())
            .field("spawn_hook", &self.spawn_hook.is_some())
            .field("hooks", &self.hooks)
            .field("on_drop", &self.on_drop)
            .field("sizing", &self.sizing)
            .finish()
    }
}

impl PoolConfig {
    /// Defaults: one worker per logical CPU, an unbounded queue, std's thread settings.
    pub fn new() -> PoolConfig {
        PoolConfig::default()
    }

    /// The number of worker threads (default: the logical CPUs).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Bounds the queue to `capacity` waiting jobs (1 to [`MAX_QUEUE_CAPACITY`]).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity);
        self
    }

    /// Names worker threads `{prefix}-{index}`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = Some(prefix.into());
        self
    }

    /// The stack size of each worker thread, in bytes (at least
    /// [`MIN_STACK_SIZE`](spawn::MIN_STACK_SIZE)).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Called with the payload of every job that panics.
    pub fn panic_handler<H>(mut self, handler: H) -> Self
    where
        H: Fn(&(dyn std::any::Any + Send)) + Send + Sync + 'static,
    {
        self.panic_handler = Some(std::sync::Arc::new(handler));
        self
    }

    /// Asked before every worker-thread start; see the [`spawn`] module.
    pub fn spawn_hook<H>(mut self, hook: H) -> Self
    where
        H: Fn(&SpawnInfo<'_>) -> io::Result<()> + Send + Sync + 'static,
    {
        self.spawn_hook = Some(SpawnHook::new(hook));
        self
    }

    /// Called on each worker thread when it starts, before its first job: at build, when
    /// `resize` grows the pool. [`current_worker`](crate::current_worker) names the worker
    /// inside it. A panic in the hook is caught and discarded (as a panicking `panic_handler`
    /// is): the worker starts anyway. Do not wait in it for jobs of this pool: the worker runs
    /// none until the hook returns.
    ///
    /// ```
    /// use shoal_core::{current_worker, PoolConfig};
    /// let config = PoolConfig::new()
    ///     .on_thread_start(|| println!("up: {:?}", current_worker()))
    ///     .on_thread_stop(|| println!("down: {:?}", current_worker()));
    /// # let _ = config;
    /// ```
    pub fn on_thread_start<H>(mut self, hook: H) -> Self
    where
        H: Fn() + Send + Sync + 'static,
    {
        self.hooks.start = Some(std::sync::Arc::new(hook));
        self
    }

    /// Called on each worker thread when it stops, after its last job: a worker retired by a
    /// shrinking `resize`, and every worker at shutdown (a shutdown that waits returns after
    /// every stop hook returned). [`current_worker`](crate::current_worker) still names the
    /// worker inside it. A panic in the hook is caught and discarded: the worker exits
    /// cleanly all the same.
    pub fn on_thread_stop<H>(mut self, hook: H) -> Self
    where
        H: Fn() + Send + Sync + 'static,
    {
        self.hooks.stop = Some(std::sync::Arc::new(hook));
        self
    }

    /// What dropping the pool does (default: [`DropBehavior::WaitForQueue`], a graceful
    /// shutdown that waits).
    pub fn on_drop(mut self, behavior: DropBehavior) -> Self {
        self.on_drop = behavior;
        self
    }

    /// How the pool sizes itself (default [`Sizing::fixed`]: `workers`, changed only by
    /// `resize`); see [`sizing`](crate::sizing). With an elastic or adaptive policy the pool
    /// starts with `workers` if set (it must lie within the policy's `min..=max`), else with
    /// `min`.
    pub fn sizing(mut self, sizing: Sizing) -> Self {
        self.sizing = sizing;
        self
    }

    /// The sizing policy.
    pub fn sizing_policy(&self) -> &Sizing {
        &self.sizing
    }

    /// The prefix of the worker threads' names, if `thread_name` set one.
    pub fn thread_prefix(&self) -> Option<&str> {
        self.thread_name.as_deref()
    }

    /// The worker threads' start and stop hooks.
    pub fn thread_hooks(&self) -> &ThreadHooks {
        &self.hooks
    }

    /// What dropping the pool does.
    pub fn drop_behavior(&self) -> DropBehavior {
        self.on_drop
    }

    /// The queue bound, if any.
    pub fn capacity(&self) -> Option<usize> {
        self.queue_capacity
    }

    /// The panic handler, if any.
    pub fn handler(&self) -> Option<&PanicHandler> {
        self.panic_handler.as_ref()
    }

    /// Checks every setting against the limits every pool shares, before any thread starts,
    /// and returns the worker count to start (the default resolved).
    ///
    /// | setting | error kind |
    /// |---|---|
    /// | `workers(0)`, above [`MAX_WORKERS`](crate::MAX_WORKERS) | `ZeroWorkers`, `TooManyWorkers` |
    /// | `queue_capacity(0)`, above [`MAX_QUEUE_CAPACITY`] | `ZeroCapacity`, `CapacityTooLarge` |
    /// | `stack_size` below [`MIN_STACK_SIZE`](spawn::MIN_STACK_SIZE), a NUL in `thread_name` | `InvalidThreadConfig` |
    /// | an elastic or adaptive `sizing` with `min` 0, `min > max`, `max` above `MAX_WORKERS`, `workers` outside `min..=max`, an interval outside [`INTERVAL_RANGE`](crate::sizing::INTERVAL_RANGE), a `keep_alive` under the interval | `InvalidSizing` |
    pub fn validate(&self) -> Result<usize, BuildError> {
        let workers = self
            .sizing
            .check(self.workers)?
            .unwrap_or_else(crate::default_workers);
        check_workers(workers)?;
        match self.queue_capacity {
            Some(0) => {
                return Err(BuildError::new(
                    BuildErrorKind::ZeroCapacity,
                    "queue_capacity(0): a bounded queue needs room for at least one job",
                ))
            }
            Some(capacity) if capacity > MAX_QUEUE_CAPACITY => {
                return Err(BuildError::new(
                    BuildErrorKind::CapacityTooLarge,
                    format!(
                        "queue_capacity({capacity}) is above the limit of {MAX_QUEUE_CAPACITY} \
                         jobs (a bounded queue may reserve every slot up front): use a smaller \
                         bound, or leave the queue unbounded"
                    ),
                ))
            }
            _ => {}
        }
        spawn::check_thread_config(self.thread_name.as_deref(), self.stack_size)?;
        Ok(workers)
    }

    /// Starts the thread of worker `index` (see [`identity`](crate::identity) for the numbering)
    /// running `main`: named `{prefix}-{index}` (the pool's `default_prefix` unless
    /// `thread_name` was set), with the configured stack size, after asking the spawn hook.
    /// Every worker thread of every pool starts here.
    pub fn spawn<F>(
        &self,
        default_prefix: &str,
        index: usize,
        main: F,
    ) -> io::Result<thread::JoinHandle<()>>
    where
        F: FnOnce() + Send + 'static,
    {
        let prefix = self.thread_name.as_deref().unwrap_or(default_prefix);
        let name = format!("{prefix}-{index}");
        // The hook may refuse the start as the OS would (`shoal_core::spawn`).
        spawn::before_spawn(self.spawn_hook.as_ref(), &name, index)?;
        // The shim's builder: std's, loom's or shuttle's.
        let mut builder = thread::Builder::new().name(name);
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        builder.spawn(main)
    }
}

/// The setters of [`PoolConfig`] as methods of a pool's builder: expands, inside
/// `impl Builder { .. }`, to `workers`, `queue_capacity`, `thread_name`, `stack_size`,
/// `panic_handler`, `spawn_hook`, `on_thread_start`, `on_thread_stop`, `sizing`, `on_drop`
/// and `config`, each forwarding to the builder's
/// `config: PoolConfig` field. So every pool has the same settings with the same docs, written
/// once.
#[macro_export]
macro_rules! pool_settings {
    () => {
        /// The number of worker threads (default: the logical CPUs). Zero, or more than
        /// [`MAX_WORKERS`]($crate::MAX_WORKERS), is a [`BuildError`]($crate::BuildError).
        pub fn workers(mut self, workers: usize) -> Self {
            self.config = self.config.workers(workers);
            self
        }

        /// Bounds the queue to `capacity` waiting jobs: `execute` then waits for room and
        /// `try_execute` returns `Full`. Default: unbounded. `capacity` must be between 1 and
        /// [`MAX_QUEUE_CAPACITY`]($crate::config::MAX_QUEUE_CAPACITY).
        pub fn queue_capacity(mut self, capacity: usize) -> Self {
            self.config = self.config.queue_capacity(capacity);
            self
        }

        /// Names worker threads `{prefix}-{index}` (default: the pool's own prefix). A prefix
        /// with a NUL byte is a [`BuildError`]($crate::BuildError) (no OS thread name can hold
        /// one).
        pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
            self.config = self.config.thread_name(prefix);
            self
        }

        /// The stack size of each worker thread, in bytes (default: std's). At least
        /// [`MIN_STACK_SIZE`]($crate::spawn::MIN_STACK_SIZE) (64 KiB); less is a
        /// [`BuildError`]($crate::BuildError).
        pub fn stack_size(mut self, bytes: usize) -> Self {
            self.config = self.config.stack_size(bytes);
            self
        }

        /// Called with the payload of every job that panics (its own panic is caught).
        pub fn panic_handler<H>(mut self, handler: H) -> Self
        where
            H: Fn(&(dyn std::any::Any + Send)) + Send + Sync + 'static,
        {
            self.config = self.config.panic_handler(handler);
            self
        }

        /// Asked before every worker-thread start (at build and when `resize` grows the pool):
        /// an `Err` refuses the start exactly as the OS refusing a thread would, so `build`
        /// returns a [`BuildError`]($crate::BuildError) of kind `Spawn` and `resize` a
        /// `ResizeError::Spawn`, and no job is lost. For fault injection, capping threads, or
        /// logging; see [`shoal_core::spawn`]($crate::spawn). It runs with the pool's internal
        /// lock held: keep it quick and do not call into this pool from it.
        pub fn spawn_hook<H>(mut self, hook: H) -> Self
        where
            H: Fn(&$crate::spawn::SpawnInfo<'_>) -> std::io::Result<()> + Send + Sync + 'static,
        {
            self.config = self.config.spawn_hook(hook);
            self
        }

        /// Called on each worker thread when it starts, before its first job (at build, and
        /// when `resize` grows the pool); [`current_worker`]($crate::current_worker) names the
        /// worker inside it. A panic in the hook is caught and discarded: the worker starts
        /// anyway. Do not wait in it for jobs of this pool: the worker runs none until the
        /// hook returns.
        pub fn on_thread_start<H>(mut self, hook: H) -> Self
        where
            H: Fn() + Send + Sync + 'static,
        {
            self.config = self.config.on_thread_start(hook);
            self
        }

        /// Called on each worker thread when it stops, after its last job: a worker retired
        /// by a shrinking `resize`, and every worker at shutdown (a shutdown that waits returns
        /// after every stop hook returned). [`current_worker`]($crate::current_worker) still
        /// names the worker inside it. A panic in the hook is caught and discarded: the worker
        /// exits cleanly all the same.
        pub fn on_thread_stop<H>(mut self, hook: H) -> Self
        where
            H: Fn() + Send + Sync + 'static,
        {
            self.config = self.config.on_thread_stop(hook);
            self
        }

        /// How the pool sizes itself: fixed (the default), elastic or adaptive; see
        /// [`shoal_core::sizing`]($crate::sizing). A self-sizing pool starts with `workers` if
        /// set (within the policy's bounds), else with its `min`.
        pub fn sizing(mut self, sizing: $crate::Sizing) -> Self {
            self.config = self.config.sizing(sizing);
            self
        }

        /// What dropping the pool does: wait for the queue (the default), cancel it, or let
        /// it finish in the background; see [`DropBehavior`]($crate::DropBehavior).
        pub fn on_drop(mut self, behavior: $crate::DropBehavior) -> Self {
            self.config = self.config.on_drop(behavior);
            self
        }

        /// Every shared setting at once, replacing those set before (the strategy's own
        /// settings stay).
        pub fn config(mut self, config: $crate::PoolConfig) -> Self {
            self.config = config;
            self
        }
    };
}
