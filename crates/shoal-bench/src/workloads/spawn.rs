//! The spawn workloads: what one job costs to submit, to spawn locally, and to hand off.

use crate::contender::{Contender, Spawn};
use crate::latch::Latch;
use crate::workload::{Answer, Size, Workload, WorkloadId};

/// Submit cost: many tiny jobs pushed from a thread outside the pool. Each job only counts
/// down a latch, so what is measured is the queue push, the wake-up and the pop.
#[derive(Debug)]
pub struct SpawnOutside {
    jobs: usize,
}

impl Workload for SpawnOutside {
    const ID: WorkloadId = WorkloadId::SpawnOutside;

    fn prepare(size: Size, _workers: usize) -> Self {
        SpawnOutside {
            jobs: size.count(200_000, 100),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let spawner = c.spawner().expect("admitted contenders can spawn");
        let latch = Latch::new(self.jobs);
        for _ in 0..self.jobs {
            let latch = latch.clone();
            spawner.spawn(move || latch.count_down());
        }
        latch.wait();
        (self.jobs - latch.remaining()) as u64
    }

    fn answer(&self) -> Answer {
        Answer::count(self.jobs)
    }

    fn describe(&self) -> String {
        format!("{} tiny jobs from outside", self.jobs)
    }
}

/// Local queues: one job, running inside a worker, spawns many tiny jobs. A pool with
/// per-worker deques keeps them local; a shared queue sends every one through the contended
/// global queue.
#[derive(Debug)]
pub struct SpawnInside {
    jobs: usize,
}

impl Workload for SpawnInside {
    const ID: WorkloadId = WorkloadId::SpawnInside;

    fn prepare(size: Size, _workers: usize) -> Self {
        SpawnInside {
            jobs: size.count(200_000, 100),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let spawner = c.spawner().expect("admitted contenders can spawn");
        let latch = Latch::new(self.jobs);
        let jobs = self.jobs;
        let inner = spawner.clone();
        let root_latch = latch.clone();
        spawner.spawn(move || {
            for _ in 0..jobs {
                let latch = root_latch.clone();
                inner.spawn(move || latch.count_down());
            }
        });
        latch.wait();
        (self.jobs - latch.remaining()) as u64
    }

    fn answer(&self) -> Answer {
        Answer::count(self.jobs)
    }

    fn describe(&self) -> String {
        format!("1 job spawning {} tiny jobs", self.jobs)
    }
}

/// Hand-off latency: each job spawns the next, so exactly one job is in flight. Throughput
/// here is one over the time from "spawned" to "running" (plus a tiny job).
#[derive(Debug)]
pub struct Chain {
    hops: usize,
}

fn hop<S: Spawn>(spawner: S, left: usize, latch: std::sync::Arc<Latch>) {
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
        let latch = Latch::new(1);
        hop(spawner, self.hops, latch.clone());
        latch.wait();
        self.hops as u64 * (1 - latch.remaining() as u64)
    }

    fn answer(&self) -> Answer {
        Answer::count(self.hops)
    }

    fn describe(&self) -> String {
        format!("a chain of {} jobs, each spawning the next", self.hops)
    }
}
