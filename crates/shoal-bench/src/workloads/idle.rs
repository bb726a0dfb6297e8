//! Idle burn: what a pool costs when there is almost nothing to do.

use std::time::{Duration, Instant};

use super::spawn::{counted, tiny_job};
use crate::contender::Contender;
use crate::workload::{Answer, Size, Workload, WorkloadId};

/// The gap between two jobs.
pub const IDLE_INTERVAL: Duration = Duration::from_millis(5);

/// Idle burn: a pool fed one tiny job every 5 ms. Workers that spin while waiting burn a
/// core for nothing; the runner reads the process's CPU time over the window (getrusage), and
/// the report shows it as a percentage of one core.
#[derive(Debug)]
pub struct Idle {
    jobs: usize,
}

impl Workload for Idle {
    const ID: WorkloadId = WorkloadId::Idle;

    fn prepare(size: Size, _workers: usize) -> Self {
        // Scale 1 is a one-second window.
        Idle {
            jobs: size.count(200, 20).min(2000),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let spawner = c.spawner().expect("admitted contenders can spawn");
        counted(self.jobs, |latch| {
            let start = Instant::now();
            for k in 0..self.jobs {
                tiny_job(&spawner, latch);
                let next = start + IDLE_INTERVAL * (k as u32 + 1);
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        })
    }

    fn answer(&self) -> Answer {
        Answer::count(self.jobs)
    }

    fn describe(&self) -> String {
        format!(
            "{} jobs, one every {} ms",
            self.jobs,
            IDLE_INTERVAL.as_millis()
        )
    }
}
