//! Every workload on every contender at the tiny size: each admitted cell must produce the
//! right checksum, and each contender must offer exactly the capabilities it declares.

use std::time::Duration;

use shoal_bench::contenders::go::{GO_MISSING, GO_POOL};
use shoal_bench::{
    measure_rounds, prepare_any, Batch, Capability, Cell, Contender, ContenderId, ContenderVisitor,
    ForkJoin, OrderedMap, Setup, Size, Spawn, Status, WorkerKind, WorkloadId,
};

#[test]
fn every_cell_is_correct_at_tiny_size() {
    let mut measured = 0;
    for &w in WorkloadId::ALL {
        let workers = match w.worker_kind() {
            WorkerKind::Io => 8,
            WorkerKind::Cpu => 2,
        };
        let prepared = prepare_any(w, Size::TINY, workers, &Setup::default())
            .unwrap_or_else(|e| panic!("{w}: {e}"));
        for &c in ContenderId::ALL {
            // The runner's own watchdog aborts the test with a message if a cell hangs.
            let cell = prepared.measure(c, Duration::from_secs(120));
            if c == ContenderId::GoPool
                && matches!(&cell.status, Status::Skipped(why) if why == GO_MISSING)
            {
                // No Go toolchain here: the Go pool is skipped, with the reason.
                continue;
            }
            if w.admits(&c.info()) {
                assert_eq!(cell.status, Status::Ok, "{w} on {c}");
                assert!(cell.runs >= 1, "{w} on {c}: no timed run");
                assert!(cell.throughput > 0.0, "{w} on {c}: {}", cell.throughput);
                assert!(cell.min_secs <= cell.median_secs && cell.median_secs <= cell.max_secs);
                measured += 1;
            } else {
                assert!(
                    matches!(cell.status, Status::Skipped(_)),
                    "{w} on {c}: {:?}",
                    cell.status
                );
            }
        }
    }
    assert!(measured >= 40, "only {measured} cells ran");
}

#[test]
fn capabilities_match_what_contenders_offer() {
    struct Check;
    impl ContenderVisitor for Check {
        type Output = ();
        fn visit<C: Contender>(self) {
            if C::INFO.id == GO_POOL {
                // Its own process: no in-process view, and nothing to build here.
                assert!(C::INFO.caps.is_empty());
                assert!(C::build(2).is_err());
                return;
            }
            let c = C::build(2).unwrap_or_else(|e| panic!("{}: {e}", C::INFO.id));
            let info = C::INFO;
            let spawner = c.spawner();
            assert_eq!(
                spawner.is_some(),
                info.has(Capability::Spawn),
                "{}",
                info.id
            );
            if let Some(s) = spawner {
                let (tx, rx) = std::sync::mpsc::channel();
                s.spawn(move || tx.send(7).unwrap());
                assert_eq!(
                    rx.recv_timeout(Duration::from_secs(30)),
                    Ok(7),
                    "{}",
                    info.id
                );
            }
            if let Some(fj) = c.fork_join() {
                assert!(info.has(Capability::ForkJoin), "{}", info.id);
                assert_eq!(fj.install(|| fj.join(|| 1, || 2)), (1, 2), "{}", info.id);
            } else {
                assert!(!info.has(Capability::ForkJoin), "{}", info.id);
            }
            if let Some(b) = c.batch() {
                assert!(info.has(Capability::Batch), "{}", info.id);
                let hits = std::sync::Arc::new(
                    (0..50)
                        .map(|_| std::sync::atomic::AtomicUsize::new(0))
                        .collect::<Vec<_>>(),
                );
                let h = hits.clone();
                b.for_each_index(50, move |i| {
                    h[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                });
                assert!(
                    hits.iter()
                        .all(|x| x.load(std::sync::atomic::Ordering::Relaxed) == 1),
                    "{}: a batch must run every index exactly once",
                    info.id
                );
            } else {
                assert!(!info.has(Capability::Batch), "{}", info.id);
            }
            if let Some(m) = c.mapper() {
                assert!(info.has(Capability::OrderedMap), "{}", info.id);
                let out = m.map_ordered((0..100u32).collect(), |x| x * 2);
                assert_eq!(
                    out,
                    (0..100u32).map(|x| x * 2).collect::<Vec<_>>(),
                    "{}",
                    info.id
                );
            } else {
                assert!(!info.has(Capability::OrderedMap), "{}", info.id);
            }
            c.close();
        }
    }
    for &c in ContenderId::ALL {
        c.visit(Check);
    }
}

#[test]
fn names_round_trip_and_unknown_names_say_what_exists() {
    for &c in ContenderId::ALL {
        assert_eq!(c.name().parse::<ContenderId>(), Ok(c));
    }
    for &w in WorkloadId::ALL {
        assert_eq!(w.name().parse::<WorkloadId>(), Ok(w));
        assert!(!w.teaches().is_empty());
    }
    let err = "nope".parse::<ContenderId>().unwrap_err().to_string();
    assert!(err.contains("rayon") && err.contains("nope"), "{err}");
    let err = "nope".parse::<WorkloadId>().unwrap_err();
    assert!(err.contains("fib") && err.contains("nope"), "{err}");
    assert!("0".parse::<Size>().is_err());
    assert!("-1".parse::<Size>().is_err());
    assert!("NaN".parse::<Size>().is_err());
    assert_eq!("tiny".parse::<Size>(), Ok(Size::TINY));
    assert_eq!("0.5".parse::<Size>().map(|s| s.scale), Ok(0.5));
}

#[test]
fn latency_cells_pool_their_rounds() {
    let w = WorkloadId::WakeLatency;
    assert!(w.rounds() > 1, "wake-latency is measured in rounds");
    assert!(
        WorkloadId::Fib.rounds() > 1,
        "fib is compared with ScopedPool run for run"
    );
    assert_eq!(WorkloadId::Io.rounds(), 1);
    assert!(
        WorkloadId::Idle.rounds() > 1,
        "idle is judged on a fraction of a percent of a core"
    );
    let prepared = prepare_any(w, Size::TINY, 2, &Setup::default()).expect("prepares");
    let contenders = [ContenderId::ShoalQueue, ContenderId::ThreadPool];
    let mut order = Vec::new();
    let cells = measure_rounds(
        &*prepared,
        w,
        &contenders,
        Duration::from_secs(120),
        |c, round, done| {
            if !done {
                order.push((round, c));
            }
        },
    );
    // Every contender once per round, the round's first contender moving down the list.
    let expected: Vec<(usize, ContenderId)> = (0..w.rounds())
        .flat_map(|round| {
            (0..contenders.len()).map(move |k| (round, contenders[(k + round) % contenders.len()]))
        })
        .collect();
    assert_eq!(order, expected);
    assert_eq!(cells.len(), contenders.len());
    for (cell, c) in cells.iter().zip(contenders) {
        assert_eq!(cell.contender, c.name());
        assert_eq!(cell.status, Status::Ok, "{c}");
        // One run per round, and every round's samples pooled behind the percentiles.
        assert_eq!(cell.runs, w.rounds(), "{c}");
        let per_round = cell.units as usize;
        assert_eq!(cell.latencies.len(), per_round * w.rounds(), "{c}");
        let (p50, p99) = (cell.p50_secs.unwrap(), cell.p99_secs.unwrap());
        assert!(0.0 < p50 && p50 <= p99, "{c}: p50 {p50}, p99 {p99}");
        assert!(cell.min_secs <= cell.median_secs && cell.median_secs <= cell.max_secs);
        assert!(cell.cpu_cores.is_finite() && cell.cpu_cores > 0.0, "{c}");
    }
}

#[test]
fn intake_cells_pool_the_runs_of_their_rounds() {
    let w = WorkloadId::Chain;
    assert!(w.rounds() > 1, "chain is measured in rounds");
    let prepared = prepare_any(w, Size::TINY, 2, &Setup::default()).expect("prepares");
    let contenders = [ContenderId::ShoalSteal, ContenderId::Rayon];
    let cells = measure_rounds(
        &*prepared,
        w,
        &contenders,
        Duration::from_secs(120),
        |_, _, _| {},
    );
    for (cell, c) in cells.iter().zip(contenders) {
        assert_eq!(cell.status, Status::Ok, "{c}");
        assert_eq!(
            cell.runs,
            cell.walls.len(),
            "{c}: every timed run of every round"
        );
        assert!(cell.runs >= w.rounds(), "{c}: at least one run per round");
        let mut walls = cell.walls.clone();
        walls.sort_by(f64::total_cmp);
        assert_eq!(cell.min_secs, walls[0], "{c}");
        assert_eq!(cell.max_secs, walls[walls.len() - 1], "{c}");
        assert!(cell.min_secs <= cell.median_secs && cell.median_secs <= cell.max_secs);
        assert!((cell.throughput - cell.units / cell.median_secs).abs() < 1e-6 * cell.throughput);
    }
}

#[test]
fn a_failed_round_fails_the_cell() {
    let prepared = prepare_any(WorkloadId::Fib, Size::TINY, 2, &Setup::default()).unwrap();
    let ok = prepared.measure(ContenderId::ShoalQueue, Duration::from_secs(120));
    assert_eq!(ok.status, Status::Ok);
    let mut failed = ok.clone();
    failed.status = Status::Failed("lost a job".into());
    let merged = Cell::merge(vec![ok.clone(), failed, ok.clone()]);
    assert_eq!(merged.status, Status::Failed("lost a job".into()));
    let merged = Cell::merge(vec![ok.clone(), ok.clone()]);
    assert_eq!(merged.runs, 2 * ok.runs);
    assert_eq!(merged.median_secs, ok.median_secs);
}
