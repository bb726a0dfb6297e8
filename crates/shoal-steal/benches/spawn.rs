//! Spawn throughput of `WorkStealingPool` against its peers, on three workloads.
//!
//! Each workload runs `N` tiny jobs (each one bumps a per-thread counter; the bench thread
//! waits until the counters add up), so what is measured is the pool's own cost per job:
//! submit, hand-off, wake-up, take.
//!
//! - `outside`: the bench thread submits every job. Teaches the injector's batching against a
//!   shared channel (`threadpool`, `SharedQueuePool`) and rayon's global injector.
//! - `inside`: one job submits all `N` from inside a worker. Teaches the local deque: no
//!   shared write per spawn, siblings steal halves.
//! - `chain`: each job submits the next from inside a worker. Teaches the cost of one
//!   spawn-take round trip with nothing to do in parallel (and what a LIFO slot saves).
//!
//! The contenders: `steal` (this crate's default), `steal-lifo` (with the LIFO slot),
//! `shared-queue` (shoal-queue's `SharedQueuePool`), `threadpool` (the crate), `rayon`
//! (`ThreadPool::spawn`); all with one worker per logical CPU. `sequential` runs the same
//! closures inline on the bench thread: the floor.
//!
//! Run (short, the machine is shared):
//! `cargo bench -p shoal-pool-steal --bench spawn -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use crossbeam_utils::CachePadded;
use shoal_core::Executor;
use shoal_queue::SharedQueuePool;
use shoal_steal::WorkStealingPool;

const N: usize = 10_000;

/// One interface over every contender: spawn a `'static` closure.
trait Spawn: Clone + Send + Sync + 'static {
    fn spawn<F: FnOnce() + Send + 'static>(&self, f: F);
}

/// A shoal pool (`WorkStealingPool`, `SharedQueuePool`) through the `Executor` contract.
impl<P: Executor + 'static> Spawn for Arc<P> {
    #[inline]
    fn spawn<F: FnOnce() + Send + 'static>(&self, f: F) {
        self.execute(Box::new(f)).expect("running");
    }
}

impl Spawn for threadpool::ThreadPool {
    #[inline]
    fn spawn<F: FnOnce() + Send + 'static>(&self, f: F) {
        self.execute(f);
    }
}

/// rayon's pool, in a newtype: the impl for `Arc<P: Executor>` leaves no room for one on
/// `Arc<rayon::ThreadPool>`.
#[derive(Clone)]
struct Rayon(Arc<rayon::ThreadPool>);
impl Spawn for Rayon {
    #[inline]
    fn spawn<F: FnOnce() + Send + 'static>(&self, f: F) {
        self.0.spawn(f);
    }
}

/// Runs the closure on the spot: the sequential baseline.
#[derive(Clone)]
struct Inline;
impl Spawn for Inline {
    #[inline]
    fn spawn<F: FnOnce() + Send + 'static>(&self, f: F) {
        f();
    }
}

/// Completed jobs, counted per thread in cache-padded slots, so that counting does not
/// become the shared cache line every contender fights over (which would hide the pools'
/// own costs behind the workload's). The bench thread waits by summing (and yielding).
static DONE: [CachePadded<AtomicUsize>; 64] = [const { CachePadded::new(AtomicUsize::new(0)) }; 64];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % 64;
}

#[inline]
fn tick() {
    SLOT.with(|&i| DONE[i].fetch_add(1, Ordering::Relaxed));
}

fn done() -> usize {
    DONE.iter().map(|c| c.load(Ordering::Relaxed)).sum()
}

/// Waits (yielding the CPU to the workers) until `n` more jobs than `base` have finished.
fn wait_for(base: usize, n: usize) {
    while done() < base + n {
        std::thread::yield_now();
    }
}

fn outside<S: Spawn>(pool: &S) {
    let base = done();
    for i in 0..N {
        pool.spawn(move || {
            black_box(i);
            tick();
        });
    }
    wait_for(base, N);
}

fn inside<S: Spawn>(pool: &S) {
    let base = done();
    let p = pool.clone();
    pool.spawn(move || {
        for i in 0..N {
            p.spawn(move || {
                black_box(i);
                tick();
            });
        }
    });
    wait_for(base, N);
}

fn link<S: Spawn>(pool: S, left: usize) {
    tick();
    if left > 1 {
        let p = pool.clone();
        pool.spawn(move || link(p, left - 1));
    }
}

fn chain<S: Spawn>(pool: &S) {
    let base = done();
    let p = pool.clone();
    pool.spawn(move || link(p, N));
    wait_for(base, N);
}

#[derive(Clone, Copy)]
enum Workload {
    Outside,
    Inside,
    Chain,
}

fn run<S: Spawn>(pool: &S, w: Workload) {
    match w {
        Workload::Outside => outside(pool),
        Workload::Inside => inside(pool),
        Workload::Chain => chain(pool),
    }
}

/// One benchmark: workload `w` on `pool`, named `name` within the workload's group.
fn bench<S: Spawn>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, pool: &S, w: Workload) {
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter(|| run(pool, w))
    });
}

fn spawn_benches(c: &mut Criterion) {
    let workers = shoal_core::default_workers();
    let steal = Arc::new(WorkStealingPool::new(workers).unwrap());
    let steal_lifo = Arc::new(
        WorkStealingPool::builder()
            .workers(workers)
            .lifo_slot(true)
            .build()
            .unwrap(),
    );
    let queue = Arc::new(SharedQueuePool::new(workers).unwrap());
    let tp = threadpool::ThreadPool::new(workers);
    let rayon = Rayon(Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .unwrap(),
    ));

    for (label, w) in [
        ("outside", Workload::Outside),
        ("inside", Workload::Inside),
        ("chain", Workload::Chain),
    ] {
        let mut group = c.benchmark_group(label);
        group.throughput(Throughput::Elements(N as u64));
        bench(&mut group, "steal", &steal, w);
        bench(&mut group, "steal-lifo", &steal_lifo, w);
        bench(&mut group, "shared-queue", &queue, w);
        bench(&mut group, "threadpool", &tp, w);
        bench(&mut group, "rayon", &rayon, w);
        bench(&mut group, "sequential", &Inline, w);
        group.finish();
    }
}

criterion_group!(benches, spawn_benches);
criterion_main!(benches);
