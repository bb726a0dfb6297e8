//! Impossible configurations: a clear `BuildError` of the right kind, never a pool that hangs.

use std::thread;

use shoal_core::{BuildErrorKind, MAX_WORKERS};

use crate::{Factory, PoolConfig};

fn expect_build_error<F: Factory>(f: &F, scenario: &str, config: PoolConfig, want: BuildErrorKind) {
    let shown = format!("{config:?}");
    match f.build(config) {
        Err(err) => {
            assert_eq!(
                err.kind(),
                want,
                "{scenario}: {shown} gave the wrong kind of error: {err}"
            );
            assert!(
                !err.to_string().is_empty(),
                "{scenario}: a BuildError must say what went wrong"
            );
        }
        Ok(pool) => {
            // Dispose of the pool on a thread of its own: its drop may hang, and the scenario
            // has already failed.
            drop(thread::spawn(move || drop(pool)));
            panic!("{scenario}: {shown} built a pool; expected a BuildError of kind {want:?}");
        }
    }
}

/// `workers(0)` is refused with `BuildErrorKind::ZeroWorkers` (a pool with no worker would
/// hang every submitter).
pub fn zero_workers_is_error<F: Factory>(f: &F) {
    expect_build_error(
        f,
        "zero_workers_is_error",
        PoolConfig::new().workers(0),
        BuildErrorKind::ZeroWorkers,
    );
    expect_build_error(
        f,
        "zero_workers_is_error (bounded)",
        PoolConfig::new().workers(0).queue_capacity(4),
        BuildErrorKind::ZeroWorkers,
    );
}

/// More than `MAX_WORKERS` workers is refused with `BuildErrorKind::TooManyWorkers`, before
/// any thread is started.
pub fn too_many_workers_is_error<F: Factory>(f: &F) {
    expect_build_error(
        f,
        "too_many_workers_is_error",
        PoolConfig::new().workers(MAX_WORKERS + 1),
        BuildErrorKind::TooManyWorkers,
    );
}

/// `queue_capacity(0)` is refused with `BuildErrorKind::ZeroCapacity` (a queue with no room
/// would block `execute` forever).
pub fn zero_capacity_is_error<F: Factory>(f: &F) {
    expect_build_error(
        f,
        "zero_capacity_is_error",
        PoolConfig::new().workers(2).queue_capacity(0),
        BuildErrorKind::ZeroCapacity,
    );
}
