//! Fork-join written with `ExecutorExt::scope` instead of `ExecutorExt::join`: spawn `b` as a
//! scope task, run `a`, wait for the scope. This is how a user of the contract joins when
//! the second half is a task of its own (a scope task can itself spawn, be joined through a
//! handle, or outlive `a`), so its cost is measured next to `join`'s.

use std::sync::Arc;

use shoal_core::{Executor, ExecutorExt, PoolConfig, Shutdown, TaskError};

use crate::contender::{offers, Branch, Contender, ForkJoin};

/// A scope task's result, or its panic resumed here.
fn take<T>(result: Result<T, TaskError>) -> T {
    match result {
        Ok(value) => value,
        Err(TaskError::Panicked(payload)) => std::panic::resume_unwind(payload.into_inner()),
        Err(TaskError::Cancelled) => panic!("a running pool cancelled a scope task"),
    }
}

/// A shoal pool whose fork-join view is `ExecutorExt::scope`.
#[derive(Debug)]
pub struct ViaScope<P>(Arc<P>);

impl<P: Executor + 'static> ForkJoin for ViaScope<P> {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        // The whole computation runs on a worker, as rayon's `install` does.
        self.0.join(f, || ()).0
    }

    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB) {
        self.0.scope(|s| {
            let b = s.spawn(move |_| b());
            let ra = a();
            (ra, take(b.join()))
        })
    }
}

macro_rules! via_scope {
    ($(#[$meta:meta])* $name:ident, $feature:literal, $pool:ty, $id:literal, $about:literal) => {
        $(#[$meta])*
        #[cfg(feature = $feature)]
        #[derive(Debug)]
        pub struct $name(ViaScope<$pool>);

        #[cfg(feature = $feature)]
        impl Contender for $name {
            offers! {
                self,
                id: $id,
                about: $about,
                family: Shoal,
                ForkJoin: &self.0,
            }

            fn build(workers: usize) -> Result<Self, String> {
                let config = PoolConfig::new().workers(workers).thread_name($id);
                let pool = <$pool>::builder()
                    .config(config)
                    .build()
                    .map_err(|e| e.to_string())?;
                Ok($name(ViaScope(Arc::new(pool))))
            }

            fn close(self) {
                self.0 .0.shutdown(Shutdown::Graceful);
            }
        }
    };
}

via_scope!(
    /// `SharedQueuePool`, joins written with `ExecutorExt::scope`.
    ShoalQueueViaScope,
    "queue",
    shoal_queue::SharedQueuePool,
    "shoal-queue/scope",
    "SharedQueuePool: join = ExecutorExt::scope (spawn b as a scope task, run a, wait)"
);

via_scope!(
    /// `WorkStealingPool`, joins written with `ExecutorExt::scope`.
    ShoalStealViaScope,
    "steal",
    shoal_steal::WorkStealingPool,
    "shoal-steal/scope",
    "WorkStealingPool: join = ExecutorExt::scope (spawn b as a scope task, run a, wait)"
);

/// `Box<dyn Executor>` holding a `WorkStealingPool`, joins written with `ExecutorExt::scope`:
/// every scope call through the trait object.
#[cfg(feature = "steal")]
pub struct ShoalDynViaScope(ViaScope<Box<dyn Executor>>);

#[cfg(feature = "steal")]
impl std::fmt::Debug for ShoalDynViaScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShoalDynViaScope").finish_non_exhaustive()
    }
}

#[cfg(feature = "steal")]
impl Contender for ShoalDynViaScope {
    offers! {
        self,
        id: "shoal-dyn/scope",
        about: "Box<dyn Executor> holding a WorkStealingPool: join = ExecutorExt::scope through the trait object",
        family: Shoal,
        ForkJoin: &self.0,
    }

    fn build(workers: usize) -> Result<Self, String> {
        let config = PoolConfig::new()
            .workers(workers)
            .thread_name("shoal-dyn/scope");
        let pool = shoal_steal::WorkStealingPool::builder()
            .config(config)
            .build()
            .map_err(|e| e.to_string())?;
        let pool: Box<dyn Executor> = Box::new(pool);
        Ok(ShoalDynViaScope(ViaScope(Arc::new(pool))))
    }

    fn close(self) {
        self.0 .0.shutdown(Shutdown::Graceful);
    }
}
