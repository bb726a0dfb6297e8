//! The spawn workloads: what one job costs to submit, to spawn locally, and to hand off.
//!
//! Every job here only counts down a [`Latch`]; [`counted`] and [`tiny_jobs`] are the loop
//! they share (with the idle workload too).

use std::sync::Arc;

use crate::contender::{Contender, Spawn};
use crate::latch::Latch;
use crate::workload::{Answer, Size, Workload, WorkloadId};

/// Makes a latch for `count` jobs, hands it to `submit`, waits for it, and returns how many
/// jobs counted down: how a spawn workload learns that every job it fired off has run.
pub(super) fn counted(count: usize, submit: impl FnOnce(&Arc<Latch>)) -> u64 {
    let latch = Latch::new(count);
    submit(&latch);
    latch.wait();
    (count - latch.remaining()) as u64
}

/// Spawns one tiny job: it only counts `latch` down.
#[inline]
pub(super) fn tiny_job<S: Spawn>(spawner: &S, latch: &Arc<Latch>) {
    let latch = latch.clone();
    spawner.spawn(move || latch.count_down());
}

/// Spawns `jobs` tiny jobs, back to back.
fn tiny_jobs<S: Spawn>(spawner: &S, latch: &Arc<Latch>, jobs: usize) {
    for _ in 0..jobs {
        tiny_job(spawner, latch);
    }
}

/// A burst of tiny jobs, each only counting down a latch, so what is measured is the queue
/// push, the wake-up and the pop. `FROM_WORKER` says who spawns them: the bench thread
/// ([`SpawnOutside`]) or one job running inside a worker ([`SpawnInside`]).
#[derive(Debug)]
pub struct Burst<const FROM_WORKER: bool> {
    jobs: usize,
}

/// Submit cost: many tiny jobs pushed from a thread outside the pool.
pub type SpawnOutside = Burst<false>;

/// Local queues: one job, running inside a worker, spawns many tiny jobs. A pool with
/// per-worker deques keeps them local; a shared queue sends every one through the contended
/// global queue.
pub type SpawnInside = Burst<true>;

impl<const FROM_WORKER: bool> Workload for Burst<FROM_WORKER> {
    const ID: WorkloadId = if FROM_WORKER {
        WorkloadId::SpawnInside
    } else {
        WorkloadId::SpawnOutside
    };

    fn prepare(size: Size, _workers: usize) -> Self {
        Burst {
            jobs: size.count(200_000, 100),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let spawner = c.spawner().expect("admitted contenders can spawn");
        let jobs = self.jobs;
        counted(jobs, |latch| {
            if FROM_WORKER {
                let (inner, latch) = (spawner.clone(), latch.clone());
                spawner.spawn(move || tiny_jobs(&inner, &latch, jobs));
            } else {
                tiny_jobs(&spawner, latch, jobs);
            }
        })
    }

    fn answer(&self) -> Answer {
        Answer::count(self.jobs)
    }

    fn describe(&self) -> String {
        if FROM_WORKER {
            format!("1 job spawning {} tiny jobs", self.jobs)
        } else {
            format!("{} tiny jobs from outside", self.jobs)
        }
    }
}

/// Hand-off latency: each job spawns the next, so exactly one job is in flight. Throughput
/// here is one over the time from "spawned" to "running" (plus a tiny job).
#[derive(Debug)]
pub struct Chain {
    hops: usize,
}

fn hop<S: Spawn>(spawner: S, left: usize, latch: Arc<Latch>) {
    if left == 0 {
        latch.count_down();
        return;
    }
    let next = spawner.clone();
    spawner.spawn(move || hop(next, left - 1, latch));
}

impl Workload for Chain {
    const ID: WorkloadId = WorkloadId::Chain;

    fn prepare(size: Size, _workers: usize) -> Self {
        Chain {
            hops: size.count(20_000, 100),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let spawner = c.spawner().expect("admitted contenders can spawn");
        // One latch count for the whole chain: the last hop counts it down.
        self.hops as u64 * counted(1, |latch| hop(spawner, self.hops, latch.clone()))
    }

    fn answer(&self) -> Answer {
        Answer::count(self.hops)
    }

    fn describe(&self) -> String {
        format!("a chain of {} jobs, each spawning the next", self.hops)
    }
}
