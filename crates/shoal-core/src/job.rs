//! The unit of work.

/// A job: a boxed closure that runs once on some worker thread.
///
/// Everything a pool schedules is a `Job`; typed results ride inside it
/// (see [`ExecutorExt::spawn`](crate::ExecutorExt::spawn)).
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Called with the payload of every job that panics, on the worker that ran it.
///
/// For jobs started with `spawn`, the payload the handler sees is a `String` copy of the panic
/// message (the original payload goes to the job's `JoinHandle`). A panicking handler is caught
/// and ignored: it cannot take a worker down.
pub type PanicHandler = std::sync::Arc<dyn Fn(&(dyn std::any::Any + Send)) + Send + Sync>;

/// Called on a worker thread when it starts (before its first job) or stops (after its last);
/// see [`PoolConfig::on_thread_start`](crate::PoolConfig::on_thread_start). Inside it,
/// [`current_worker`](crate::current_worker) names the worker.
pub type ThreadHook = std::sync::Arc<dyn Fn() + Send + Sync>;
