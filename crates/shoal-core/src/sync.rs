//! The one place that names std or loom synchronization types.
//!
//! Every other module of every shoal crate imports `Arc`, `Mutex`, `Condvar`, atomics, threads
//! and thread locals from here. Under the custom cfg `shoal_loom` they are loom's, so a loom
//! model (`tests/loom.rs` in each pool crate) explores every interleaving of the pool's own
//! protocol. Under the custom cfg `shoal_shuttle` they are shuttle's, whose randomized
//! schedules reach more threads and longer runs than loom's exhaustive search can (the
//! scenarios live in `crates/shoal-reliability/tests/shuttle.rs`). The switch is a cfg of our
//! own, not `loom`, so other crates in the build keep their normal shape, and not `test`,
//! because integration tests build the library without `cfg(test)`.

#[cfg(all(shoal_loom, shoal_shuttle))]
compile_error!("choose one model checker: `--cfg shoal_loom` or `--cfg shoal_shuttle`, not both");

// The model checkers are optional dependencies, so a dependent's lock file never lists them;
// their cfg alone cannot bring them in.
#[cfg(all(shoal_loom, not(feature = "loom")))]
compile_error!(
    "`--cfg shoal_loom` needs the `loom` feature of shoal-pool-core: run `cargo xtask loom`, \
     or turn the feature on with the cfg (the pool crates' loom dev-dependencies do)"
);
#[cfg(all(shoal_shuttle, not(feature = "shuttle")))]
compile_error!(
    "`--cfg shoal_shuttle` needs the `shuttle` feature of shoal-pool-core: run \
     `cargo xtask shuttle`, or turn the feature on with the cfg (shoal-reliability does)"
);

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
mod imp {
    pub use std::sync::atomic;
    pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use std::thread;
    pub use std::thread_local;

    /// A spin-loop hint (loom's version yields to the model's scheduler).
    #[inline]
    pub fn spin_loop() {
        std::hint::spin_loop();
    }
}

#[cfg(shoal_loom)]
mod imp {
    pub use loom::sync::atomic;
    pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use loom::thread;
    pub use loom::thread_local;

    /// Under loom a spin must yield, or a model exceeds its branch limit.
    #[inline]
    pub fn spin_loop() {
        loom::thread::yield_now();
    }
}

#[cfg(all(shoal_shuttle, not(shoal_loom)))]
mod imp {
    // shuttle's `Arc` is std's; its `Condvar::wait_timeout` never times out (shuttle does not
    // model time), which is why timed waits take the untimed path under both model checkers.
    pub use shuttle::sync::atomic;
    pub use shuttle::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use shuttle::thread;
    pub use shuttle::thread_local;

    /// Under shuttle a spin must yield, or a schedule never lets the awaited thread run.
    #[inline]
    pub fn spin_loop() {
        shuttle::thread::yield_now();
    }
}

pub use imp::*;

/// Locks `mutex`, ignoring poisoning: shoal runs no job, and drops no user value, while holding
/// one of its locks. The one piece of user code that runs under a lock is the builder's spawn
/// hook (under the life cycle's lock, while workers start), and its panic is caught
/// (`SpawnHook::check`). So a poisoned lock can only come from a bug in shoal itself, and the
/// state it guards is still consistent at every unlock point.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
