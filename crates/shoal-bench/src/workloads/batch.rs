//! Batches of independent jobs: coarse CPU work, blocking IO, and unbalanced work.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{burn, sum_batch};
use crate::contender::{Contender, OrderedMap};
use crate::workload::{Answer, Size, Workload, WorkloadId};

/// The bytes of a SHA-256 digest that the checksum keeps.
fn digest_word(buf: &[u8]) -> u64 {
    let d = Sha256::digest(buf);
    u64::from_le_bytes(d[..8].try_into().expect("a digest has 32 bytes"))
}

/// The size of each buffer the hash workload digests.
pub const HASH_BUFFER: usize = 16 * 1024;

/// Parallel efficiency: SHA-256 of many 16 KiB buffers, one coarse job per buffer. A pool
/// should reach `workers ×` the sequential rate; what it falls short is its overhead.
#[derive(Debug)]
pub struct Hash {
    buffers: Arc<Vec<Vec<u8>>>,
    expected: u64,
}

impl Hash {
    /// The buffers and their expected checksum.
    fn buffers(size: Size) -> (Arc<Vec<Vec<u8>>>, u64) {
        let n = size.count(4096, 16);
        let buffers: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let mut x = i as u64 + 1;
                (0..HASH_BUFFER)
                    .map(|_| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        (x >> 56) as u8
                    })
                    .collect()
            })
            .collect();
        let expected = buffers
            .iter()
            .map(|b| digest_word(b))
            .fold(0u64, u64::wrapping_add);
        (Arc::new(buffers), expected)
    }
}

impl Workload for Hash {
    const ID: WorkloadId = WorkloadId::Hash;

    fn prepare(size: Size, _workers: usize) -> Self {
        let (buffers, expected) = Hash::buffers(size);
        Hash { buffers, expected }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let b = c.batch().expect("admitted contenders run batches");
        let buffers = self.buffers.clone();
        sum_batch(b, self.buffers.len(), move |i| digest_word(&buffers[i]))
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.expected,
            units: (self.buffers.len() * HASH_BUFFER) as f64 / (1024.0 * 1024.0),
        }
    }

    fn describe(&self) -> String {
        format!("SHA-256 of {} buffers of 16 KiB", self.buffers.len())
    }
}

/// Parallel efficiency through the result queue: the buffers of [`Hash`](struct@Hash), hashed by each
/// library's ordered map (`ExecutorExt::map` on shoal's pools, rayon's
/// `par_iter().map().collect()`, `ScopedPool::par_map`, one job per item elsewhere).
#[derive(Debug)]
pub struct HashMap {
    buffers: Arc<Vec<Vec<u8>>>,
    expected: u64,
}

impl Workload for HashMap {
    const ID: WorkloadId = WorkloadId::HashMap;

    fn prepare(size: Size, _workers: usize) -> Self {
        let (buffers, expected) = Hash::buffers(size);
        HashMap { buffers, expected }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let m = c.mapper().expect("admitted contenders map");
        let buffers = self.buffers.clone();
        let input: Vec<usize> = (0..self.buffers.len()).collect();
        m.map_ordered(input, move |i| digest_word(&buffers[i]))
            .into_iter()
            .fold(0u64, u64::wrapping_add)
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.expected,
            units: (self.buffers.len() * HASH_BUFFER) as f64 / (1024.0 * 1024.0),
        }
    }

    fn describe(&self) -> String {
        format!(
            "SHA-256 of {} buffers of 16 KiB, through map",
            self.buffers.len()
        )
    }
}

/// How long each IO job sleeps.
pub const IO_SLEEP: Duration = Duration::from_millis(10);

/// Blocking IO: jobs that sleep 10 ms (a stand-in for a disk or network wait) on many more
/// workers than cores. The ideal is `waves × 10 ms` with `workers` jobs per wave.
#[derive(Debug)]
pub struct Io {
    jobs: usize,
    workers: usize,
}

impl Workload for Io {
    const ID: WorkloadId = WorkloadId::Io;

    fn prepare(size: Size, workers: usize) -> Self {
        let waves = size.count(10, 1);
        Io {
            jobs: waves * workers.max(1),
            workers: workers.max(1),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let b = c.batch().expect("admitted contenders run batches");
        sum_batch(b, self.jobs, |_| {
            std::thread::sleep(IO_SLEEP);
            1
        })
    }

    fn answer(&self) -> Answer {
        Answer::count(self.jobs)
    }

    fn describe(&self) -> String {
        format!(
            "{} jobs sleeping {} ms on {} workers",
            self.jobs,
            IO_SLEEP.as_millis(),
            self.workers
        )
    }

    fn ideal_secs(&self) -> Option<f64> {
        Some(self.jobs.div_ceil(self.workers) as f64 * IO_SLEEP.as_secs_f64())
    }
}

/// Rounds of [`burn`] in one unit of unbalanced work (tens of microseconds).
const UNIT: u32 = 20_000;

/// Load balance: 1% of the jobs are 100× bigger than the rest and hold half the work, all at
/// the front of the input. Splitting the input into one fixed chunk per thread gives one
/// thread all the big jobs; a shared queue or stealing evens it out.
#[derive(Debug)]
pub struct Unbalanced {
    jobs: usize,
    huge: usize,
    expected: u64,
}

impl Unbalanced {
    fn cost(huge: usize, i: usize) -> u32 {
        if i < huge {
            100 * UNIT
        } else {
            UNIT
        }
    }
}

impl Workload for Unbalanced {
    const ID: WorkloadId = WorkloadId::Unbalanced;

    fn prepare(size: Size, _workers: usize) -> Self {
        let jobs = size.count(2000, 100);
        let huge = (jobs / 100).max(1);
        let expected = (0..jobs)
            .map(|i| burn(i as u64, Self::cost(huge, i)))
            .fold(0u64, u64::wrapping_add);
        Unbalanced {
            jobs,
            huge,
            expected,
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let b = c.batch().expect("admitted contenders run batches");
        let huge = self.huge;
        sum_batch(b, self.jobs, move |i| burn(i as u64, Self::cost(huge, i)))
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.expected,
            units: self.jobs as f64,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} jobs, the first {} of them 100x bigger",
            self.jobs, self.huge
        )
    }
}
