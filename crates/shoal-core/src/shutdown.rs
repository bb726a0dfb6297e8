//! How a pool stops, and what it says when it has.

use std::time::Duration;

/// How [`Executor::shutdown`](crate::Executor::shutdown) treats jobs still queued.
///
/// Every mode first stops intake: from then on submissions get
/// [`RejectReason::ShutDown`](crate::RejectReason::ShutDown) with the job handed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shutdown {
    /// Run every queued job, then join every worker.
    Graceful,
    /// Drop queued jobs (their handles report [`TaskError::Cancelled`](crate::TaskError)),
    /// wait for the jobs already running, join every worker.
    Now,
    /// Graceful until the duration has passed, then as [`Shutdown::Now`] for the queue. Jobs
    /// still running at the deadline are not waited for: the call returns on time and the report
    /// counts them in [`ShutdownReport::still_running`]; their workers exit when they return.
    Deadline(Duration),
}

/// What dropping a pool does, set with `on_drop` on any pool's builder (or
/// [`PoolConfig::on_drop`](crate::PoolConfig::on_drop)).
///
/// Whatever the choice, a drop from inside one of the pool's own workers begins the shutdown
/// and returns without waiting for itself, as [`Executor::shutdown`](crate::Executor::shutdown)
/// does there.
///
/// ```
/// use shoal_core::{DropBehavior, PoolConfig};
/// // Let a pool that is dropped finish its queue in the background.
/// let config = PoolConfig::new().workers(2).on_drop(DropBehavior::Background);
/// assert_eq!(config.drop_behavior(), DropBehavior::Background);
/// assert_eq!(PoolConfig::new().drop_behavior(), DropBehavior::WaitForQueue);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropBehavior {
    /// A graceful shutdown: intake closes, every queued job runs, the workers are joined, then
    /// `drop` returns. The default: dropping a pool never loses work, and when `drop` returns
    /// no job of the pool runs any more.
    #[default]
    WaitForQueue,
    /// [`Shutdown::Now`]: queued jobs are cancelled (their handles say `Cancelled`), `drop`
    /// waits for the running ones and joins the workers.
    CancelQueued,
    /// A graceful shutdown that `drop` does not wait for (tokio's `shutdown_background`):
    /// intake closes, and the workers run the queued jobs and exit on their own while `drop`
    /// returns at once. Jobs still queued or running when the process exits are lost with it,
    /// so keep the default where they must finish.
    Background,
}

/// What a shutdown did. Accounting always adds up:
/// `completed + panicked + cancelled + still_running == submitted`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Jobs the pool accepted over its whole life.
    pub submitted: u64,
    /// Jobs that ran to completion.
    pub completed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs dropped unrun because of [`Shutdown::Now`] or a passed deadline.
    pub cancelled: u64,
    /// Jobs still running when the call returned: a [`Shutdown::Deadline`] that expired, or a
    /// shutdown called from inside a worker (which cannot wait for its own job).
    pub still_running: u64,
    /// Wall time the first shutdown call took.
    pub elapsed: Duration,
}

impl std::fmt::Display for ShutdownReport {
    /// One line, e.g. `130 jobs: 120 completed, 10 panicked, 0 cancelled, 0 still running;
    /// shut down in 12.5ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.submitted == 1 { "" } else { "s" };
        write!(
            f,
            "{} job{s}: {} completed, {} panicked, {} cancelled, {} still running; shut down in \
             {:.1?}",
            self.submitted,
            self.completed,
            self.panicked,
            self.cancelled,
            self.still_running,
            self.elapsed,
        )
    }
}

impl ShutdownReport {
    /// The report a pool gives from a snapshot of its counters, after `elapsed` of shutdown.
    /// Whatever was accepted and has not ended is `still_running`. Saturating: a snapshot taken
    /// while workers run may see a job's end before its submission count; a final one (every
    /// worker exited) is exact.
    pub fn from_metrics(m: &crate::Metrics, elapsed: Duration) -> ShutdownReport {
        ShutdownReport {
            submitted: m.submitted,
            completed: m.completed,
            panicked: m.panicked,
            cancelled: m.cancelled,
            still_running: m
                .submitted
                .saturating_sub(m.completed + m.panicked + m.cancelled),
            elapsed,
        }
    }

    /// `true` when every accepted job is accounted for as completed, panicked or cancelled,
    /// or is still running.
    pub fn adds_up(&self) -> bool {
        self.completed + self.panicked + self.cancelled + self.still_running == self.submitted
    }
}
