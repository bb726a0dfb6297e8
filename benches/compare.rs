//! Every shoal strategy and every peer on the same workloads, under criterion.
//!
//! One benchmark group per workload (named as in `shoal-bench list`), one benchmark per
//! contender that can run it, so `cargo bench --bench compare` gives criterion's HTML report
//! (`target/criterion/report/index.html`) with its plots. Filter as usual:
//! `cargo bench --bench compare -- fib/`.
//!
//! The size is `small` unless `SHOAL_BENCH_SIZE` says otherwise (`tiny`, `small`, `full` or a
//! scale factor; `cargo test --bench compare` runs each benchmark once at `tiny`); CPU-bound workloads use one worker per logical CPU, the IO workload 64.
//! The idle workload measures CPU burn over a fixed window, and wake-latency the percentiles
//! of single wake-ups, which criterion's wall-clock samples cannot show: run them with
//! `shoal-bench compare --workloads idle,wake-latency`. The Go worker pool runs as its own
//! process, so it is only in `shoal-bench compare` too.
//!
//! Every iteration checks the workload's checksum, so a contender that loses work fails the
//! benchmark instead of looking fast.

#[cfg(not(shoal_loom))]
mod harness {
    use std::time::Duration;

    use criterion::measurement::WallTime;
    use criterion::{BenchmarkGroup, Criterion, Throughput};
    use shoal_bench::{
        Contender, ContenderId, ContenderVisitor, Size, WorkerKind, Workload, WorkloadId,
        WorkloadVisitor,
    };

    /// `SHOAL_BENCH_SIZE`, else `small` under `cargo bench` and `tiny` under `cargo test`
    /// (which runs each benchmark once, without `--bench`, as a smoke test).
    fn size() -> Size {
        match std::env::var("SHOAL_BENCH_SIZE") {
            Ok(s) => s
                .parse()
                .unwrap_or_else(|e| panic!("SHOAL_BENCH_SIZE: {e}")),
            Err(_) if std::env::args().any(|a| a == "--bench") => Size::SMALL,
            Err(_) => Size::TINY,
        }
    }

    /// Benchmarks one prepared workload on one contender.
    struct OnContender<'g, 'c, W> {
        group: &'g mut BenchmarkGroup<'c, WallTime>,
        workload: &'g W,
        workers: usize,
    }

    impl<W: Workload> ContenderVisitor for OnContender<'_, '_, W> {
        type Output = ();

        fn visit<C: Contender>(self) {
            let pool = match C::build(self.workers) {
                Ok(pool) => pool,
                Err(e) => panic!("{} failed to build: {e}", C::INFO.id),
            };
            let workload = self.workload;
            let expected = workload.answer().checksum;
            self.group.bench_function(C::INFO.id, |b| {
                b.iter(|| {
                    let got = workload.run(&pool);
                    assert_eq!(got, expected, "{} on {}: wrong checksum", W::ID, C::INFO.id);
                    got
                })
            });
            pool.close();
        }
    }

    /// One group for a workload, with every admitted contender.
    struct Group<'g, 'c> {
        group: &'g mut BenchmarkGroup<'c, WallTime>,
        size: Size,
    }

    impl WorkloadVisitor for Group<'_, '_> {
        type Output = ();

        fn visit<W: Workload>(self) {
            let workers = match W::ID.worker_kind() {
                WorkerKind::Cpu => shoal_core::default_workers(),
                WorkerKind::Io => 64,
            };
            let workload = W::prepare(self.size, workers);
            self.group
                .throughput(Throughput::Elements(workload.answer().units.round() as u64));
            for &c in ContenderId::ALL {
                if W::ID.admits(&c.info()) && c != ContenderId::GoPool {
                    c.visit(OnContender {
                        group: &mut *self.group,
                        workload: &workload,
                        workers,
                    });
                }
            }
        }
    }

    pub fn compare(c: &mut Criterion) {
        let size = size();
        for &w in WorkloadId::ALL {
            if w == WorkloadId::Idle || w == WorkloadId::WakeLatency {
                continue;
            }
            let mut group = c.benchmark_group(w.name());
            group
                .sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
            w.visit(Group {
                group: &mut group,
                size,
            });
            group.finish();
        }
    }
}

#[cfg(not(shoal_loom))]
criterion::criterion_group!(benches, harness::compare);
#[cfg(not(shoal_loom))]
criterion::criterion_main!(benches);

#[cfg(shoal_loom)]
fn main() {}
