//! Wake latency: what an idle server feels when a request arrives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::contender::{Contender, Spawn};
use crate::latch::Latch;
use crate::workload::{Answer, Size, Workload, WorkloadId};

/// The pause before each sample: long enough for every pool's idle workers to stop spinning
/// and go to sleep, so that each sample measures a wake-up from sleep.
pub const WAKE_GAP: Duration = Duration::from_millis(2);

/// The rounds a wake-latency measurement is split into (see [`WorkloadId::rounds`]): each
/// contender takes its samples in this many parts, the contenders in turn. Many short rounds
/// (about 0.2 s of samples each at the full size) rather than a few long ones: a noisy
/// stretch of a second or more on a shared machine then slows every contender's samples
/// alike, instead of filling one contender's tail (the goal compares tails).
///
/// [`WorkloadId::rounds`]: crate::WorkloadId::rounds
pub const WAKE_ROUNDS: usize = 20;

/// Wake latency: on a pool left idle for [`WAKE_GAP`], the time from the call that submits a
/// job to the moment that job starts running on a worker, one job at a time. It adds up the
/// submit call, the wake-up of a sleeping worker (a futex call and the OS scheduler putting
/// the thread on a core) and the worker's pop. The report gives the median (p50) and the
/// 99th percentile (p99) of the samples; throughput means nothing here.
///
/// One run takes one round's samples; the runner runs [`WAKE_ROUNDS`] rounds on every
/// contender, the contenders in turn, and pools the samples.
#[derive(Debug)]
pub struct WakeLatency {
    /// Samples per run (one round).
    samples: usize,
    /// The latencies of the last run, in seconds (see [`Workload::take_latencies`]).
    recorded: Mutex<Vec<f64>>,
}

impl Workload for WakeLatency {
    const ID: WorkloadId = WorkloadId::WakeLatency;

    fn prepare(size: Size, _workers: usize) -> Self {
        // Scale 1 is about 5 seconds per contender: 2000 samples in all, each after a 2 ms
        // pause. A p99 of 2000 samples is the 20th slowest, not one outlier, and the goal's
        // tail test (`report::heavier_tail`) sees the slowest 40 of a pool and a peer together.
        let total = size.count(2000, 50).min(20_000);
        WakeLatency {
            samples: total.div_ceil(WAKE_ROUNDS),
            recorded: Mutex::new(Vec::new()),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let spawner = c.spawner().expect("admitted contenders can spawn");
        let started_after = Arc::new(AtomicU64::new(0));
        let mut latencies = Vec::with_capacity(self.samples);
        for _ in 0..self.samples {
            std::thread::sleep(WAKE_GAP);
            let latch = Latch::new(1);
            let (done, out) = (latch.clone(), started_after.clone());
            let submitted = Instant::now();
            spawner.spawn(move || {
                let nanos = submitted.elapsed().as_nanos();
                // ORDERING: Relaxed; the latch's count-down (Release) and wait (Acquire)
                // order this store before the load below.
                out.store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
                done.count_down();
            });
            latch.wait();
            // ORDERING: Relaxed, ordered after the store by the latch (see above).
            latencies.push(started_after.load(Ordering::Relaxed) as f64 * 1e-9);
        }
        let ran = latencies.len() as u64;
        *self.recorded.lock().unwrap_or_else(|p| p.into_inner()) = latencies;
        ran
    }

    fn answer(&self) -> Answer {
        Answer::count(self.samples)
    }

    fn describe(&self) -> String {
        format!(
            "{} jobs in {} rounds, each after {} ms idle",
            self.samples * WAKE_ROUNDS,
            WAKE_ROUNDS,
            WAKE_GAP.as_millis()
        )
    }

    fn take_latencies(&self) -> Vec<f64> {
        std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The `q`-quantile (0.5 for the median, 0.99 for p99) of `samples`, by the nearest-rank
/// method; `None` when there are none.
pub fn percentile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.5), Some(50.0));
        assert_eq!(percentile(&samples, 0.99), Some(99.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
