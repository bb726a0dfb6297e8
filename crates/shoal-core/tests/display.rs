//! `Metrics` and `ShutdownReport` print as one readable line each.

use std::time::Duration;

use shoal_core::sizing::{Decision, Mode, Reason};
use shoal_core::{Metrics, ShutdownReport, SizingStatus};

#[test]
fn metrics_print_one_line() {
    let mut m = Metrics::default();
    m.workers = 4;
    m.queued = 5;
    m.running = 2;
    m.submitted = 130;
    m.completed = 113;
    m.panicked = 10;
    m.rejected = 1;
    m.steals = 3;
    m.parks = 7;
    assert_eq!(
        m.to_string(),
        "4 workers, 5 queued, 2 running; 130 submitted: 113 completed, 10 panicked, \
         0 cancelled; 1 rejected, 3 steals, 7 parks"
    );
    m.workers = 1;
    assert!(m.to_string().starts_with("1 worker, "), "{m}");
    assert!(!m.to_string().contains('\n'));
}

#[test]
fn a_self_sizing_pools_metrics_print_its_policy() {
    let mut m = Metrics::default();
    m.workers = 8;
    let mut sizing = SizingStatus {
        mode: Mode::Elastic,
        active: true,
        target: 8,
        min: 1,
        max: 64,
        limit: 64,
        ..SizingStatus::default()
    };
    sizing.record(
        Decision {
            from: 4,
            to: 8,
            reason: Reason::Backlog {
                queued: 12,
                per_sec: 900,
            },
            failed: false,
        },
        64,
    );
    m.sizing = Some(sizing);
    let line = m.to_string();
    assert!(
        line.ends_with(
            " | sizing: elastic 1..=64, target 8, 1 grown, 0 shrunk; last: 4 -> 8 workers: \
             12 jobs waited with every worker busy, ending at 900/s"
        ),
        "{line}"
    );
    sizing.mode = Mode::Adaptive;
    sizing.limit = 11;
    sizing.active = false;
    sizing.last = None;
    assert_eq!(
        sizing.to_string(),
        "adaptive 1..=64 (off), target 8, limit 11, 1 grown, 0 shrunk"
    );
    assert!(!line.contains('\n'));
}

#[test]
fn shutdown_report_prints_one_line() {
    let mut report = ShutdownReport::default();
    report.submitted = 130;
    report.completed = 117;
    report.panicked = 10;
    report.cancelled = 2;
    report.still_running = 1;
    report.elapsed = Duration::from_micros(12_345);
    assert!(report.adds_up());
    assert_eq!(
        report.to_string(),
        "130 jobs: 117 completed, 10 panicked, 2 cancelled, 1 still running; shut down in 12.3ms"
    );
    report.submitted = 1;
    report.completed = 1;
    report.panicked = 0;
    report.cancelled = 0;
    report.still_running = 0;
    report.elapsed = Duration::ZERO;
    assert_eq!(
        report.to_string(),
        "1 job: 1 completed, 0 panicked, 0 cancelled, 0 still running; shut down in 0.0ns"
    );
}
