//! Real sockets: requests to a loopback HTTP backend, each job one request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{fnv1a, sum_batch};
use crate::backend::{self, Backend};
use crate::contender::Contender;
use crate::workload::{Answer, Setup, Size, Workload, WorkloadId};

/// Real sockets: `N` `GET` requests to a loopback HTTP/1.1 [`Backend`] that the workload starts
/// when it is prepared (and stops when it is dropped), one request per job. The backend spends
/// a service time on each request (2 ms by default) and serves a fixed number at once (8 by
/// default); requests past that wait in its queue. `N` does not depend on the worker count, so
/// a sweep over worker counts does the same work at every point: throughput climbs with the
/// workers until the backend, not the pool, is the limit (`capacity / service`), and past that
/// knee more workers only lengthen the latency.
///
/// Each job opens its own connection (`Connection: close`), sends `GET /bytes/{len}` for a
/// body length that varies with the job (0.5 to 8 KiB), reads the whole response, checks the
/// status is 200 and the body has the asked length, and returns the body's FNV-1a digest; the
/// digests add up to the checksum computed at preparation. A connection per request, rather
/// than one kept per worker thread, leaves no state in a pool's threads between runs and
/// contenders, so a pool that keeps its threads longer gains nothing over one that starts
/// fresh threads; on loopback a connection costs tens of microseconds, little beside the
/// service time.
///
/// Each request's latency (connect to the last byte read) is recorded; the report gives
/// their median and 99th percentile beside the requests per second.
#[derive(Debug)]
pub struct Http {
    backend: Backend,
    /// The body length each job asks for.
    lens: Arc<[usize]>,
    expected: u64,
    workers: usize,
    /// The latencies of the last run, in seconds (see [`Workload::take_latencies`]).
    recorded: Mutex<Vec<f64>>,
}

impl Http {
    /// The body length job `i` asks for: 512 bytes to 8 KiB, spread by a multiplicative step.
    fn body_len(i: usize) -> usize {
        512 + i.wrapping_mul(2_654_435_761) % (8 * 1024 - 512 + 1)
    }

    /// Job `i`: one request, checked; its body's digest.
    fn fetch(addr: SocketAddr, len: usize) -> Result<u64, String> {
        let path = format!("/bytes/{len}");
        let response = backend::get(addr, &path)?;
        if response.status != 200 {
            return Err(format!(
                "GET {path}: status {}, expected 200",
                response.status
            ));
        }
        if response.body.len() != len {
            return Err(format!(
                "GET {path}: {} bytes of body, expected {len}",
                response.body.len()
            ));
        }
        Ok(fnv1a(&response.body))
    }
}

impl Workload for Http {
    const ID: WorkloadId = WorkloadId::Http;

    fn prepare(size: Size, workers: usize) -> Self {
        Self::prepare_with(size, workers, &Setup::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn prepare_with(size: Size, workers: usize, setup: &Setup) -> Result<Self, String> {
        let backend = Backend::start(setup.backend)
            .map_err(|e| format!("http: cannot start the loopback backend: {e}"))?;
        // Scale 1 is 1000 requests: a quarter of a second at the default backend's 4000/s.
        let requests = size.count(1000, 40);
        let lens: Arc<[usize]> = (0..requests).map(Self::body_len).collect();
        let expected = lens
            .iter()
            .map(|&len| fnv1a(&backend::body(len)))
            .fold(0u64, u64::wrapping_add);
        Ok(Http {
            backend,
            lens,
            expected,
            workers: workers.max(1),
            recorded: Mutex::new(Vec::new()),
        })
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let b = c.batch().expect("admitted contenders run batches");
        let n = self.lens.len();
        let addr = self.backend.addr();
        let lens = self.lens.clone();
        // One slot per request, so the jobs record their latency without sharing a lock.
        let nanos: Arc<[AtomicU64]> = (0..n).map(|_| AtomicU64::new(0)).collect();
        let first_error: Arc<Mutex<Option<String>>> = Arc::default();
        let (slots, errors) = (nanos.clone(), first_error.clone());
        let sum = sum_batch(b, n, move |i| {
            let started = Instant::now();
            match Self::fetch(addr, lens[i]) {
                Ok(digest) => {
                    let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    // ORDERING: Relaxed; the batch's completion orders it before the loads
                    // below.
                    slots[i].store(took, Ordering::Relaxed);
                    digest
                }
                Err(e) => {
                    errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    0
                }
            }
        });
        if let Some(e) = first_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // The runner reports a panic in `run` as this cell's failure, with the message.
            panic!("{e}");
        }
        *self.recorded.lock().unwrap_or_else(|p| p.into_inner()) = nanos
            .iter()
            // ORDERING: Relaxed, ordered after every store by the batch's completion.
            .map(|t| t.load(Ordering::Relaxed) as f64 * 1e-9)
            .collect();
        sum
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.expected,
            units: self.lens.len() as f64,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} GETs of 0.5-8 KiB, a connection each, to a loopback backend ({}), {} workers",
            self.lens.len(),
            self.backend.config(),
            self.workers
        )
    }

    /// Every request takes the service time, and at most `min(workers, capacity)` are served
    /// at once. None without a service time: then there is no floor but the network's.
    fn ideal_secs(&self) -> Option<f64> {
        let config = self.backend.config();
        let at_once = self.workers.min(config.capacity).max(1);
        let secs = self.lens.len().div_ceil(at_once) as f64 * config.service.as_secs_f64();
        (secs > 0.0).then_some(secs)
    }

    fn take_latencies(&self) -> Vec<f64> {
        std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::BackendConfig;
    use crate::contenders::Sequential;

    fn setup(service_ms: u64, capacity: usize) -> Setup {
        Setup {
            backend: BackendConfig {
                service: Duration::from_millis(service_ms),
                capacity,
            },
            ..Setup::default()
        }
    }

    #[test]
    fn a_run_returns_the_answer_and_records_each_latency() {
        let http = Http::prepare_with(Size::TINY, 4, &setup(1, 4)).unwrap();
        let seq = Sequential::build(1).unwrap();
        assert_eq!(http.run(&seq), http.answer().checksum);
        let latencies = http.take_latencies();
        assert_eq!(latencies.len(), 40);
        // Each request took at least the service time.
        assert!(latencies.iter().all(|&l| l >= 1e-3), "{latencies:?}");
        assert!(http.take_latencies().is_empty(), "taken once");
        // 40 requests, 4 at a time, 1 ms each.
        assert_eq!(http.ideal_secs(), Some(0.01));
        seq.close();
    }

    #[test]
    fn body_lengths_stay_in_range() {
        let lens: Vec<usize> = (0..10_000).map(Http::body_len).collect();
        assert!(lens.iter().all(|l| (512..=8192).contains(l)));
        assert!(lens.iter().any(|&l| l < 1024) && lens.iter().any(|&l| l > 7 * 1024));
    }
}
