//! tokio's blocking pool: `spawn_blocking`, what async code uses for blocking IO.

use crate::contender::{offers, spawn_batch, Batch, Contender, Spawn};

/// A current-thread tokio runtime used only for its blocking pool, capped at `workers`
/// threads (`max_blocking_threads`). Jobs go through `Handle::spawn_blocking`; the returned
/// `JoinHandle` is dropped (the job still runs).
#[derive(Debug)]
pub struct TokioBlocking {
    runtime: tokio::runtime::Runtime,
}

impl Spawn for tokio::runtime::Handle {
    fn spawn<F: FnOnce() + Send + 'static>(&self, job: F) {
        drop(self.spawn_blocking(job));
    }
}

impl Batch for TokioBlocking {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        spawn_batch(self.runtime.handle(), n, job);
    }
}

impl Contender for TokioBlocking {
    offers! {
        self,
        id: "tokio-blocking",
        about: "tokio runtime's blocking pool (max_blocking_threads = workers): spawn_blocking + latch",
        family: Peer,
        Spawn: self.runtime.handle().clone(),
        Batch: self,
    }

    fn build(workers: usize) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(workers.max(1))
            .thread_name("tokio-blocking")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(TokioBlocking { runtime })
    }

    fn close(self) {
        // Dropping a runtime waits for its blocking threads to finish their jobs.
        drop(self.runtime);
    }
}
