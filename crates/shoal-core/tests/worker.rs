//! Running jobs the way every worker does.
#![cfg(not(any(shoal_loom, shoal_shuttle)))]

use std::panic::{catch_unwind, AssertUnwindSafe};

use shoal_core::worker::{run_job, Ran};
use shoal_core::{Counters, Event, Job, PanicHandler};

/// A panic payload whose destructor panics again.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("payload dropped");
        }
    }
}

/// Regression (reliability campaign): a `panic_handler` that panics with a payload whose
/// destructor panics used to unwind out of `run_job` and kill the worker, which then
/// never reported its exit, so the pool's shutdown hung.
#[test]
fn panicking_handler_payload_is_contained() {
    let counters = Counters::new();
    let handler: PanicHandler =
        std::sync::Arc::new(|_: &(dyn std::any::Any + Send)| std::panic::panic_any(PanicOnDrop));
    let job: Job = Box::new(|| std::panic::panic_any(PanicOnDrop));
    let ran = catch_unwind(AssertUnwindSafe(|| run_job(job, &counters, Some(&handler))));
    assert_eq!(
        ran.ok(),
        Some(Ran::Panicked),
        "run_job must return, not unwind"
    );
    assert_eq!(counters.get(Event::Panicked), 1);
}
