//! Unwind safety: the rules every shoal frame that runs, drops or waits on user values keeps,
//! and the three tools that enforce them.
//!
//! A panic can start in more places than a job's body: in the destructor of a value a job
//! captured, of the value it returned, or of a **panic payload** (`panic_any(x)` where `x`'s
//! `Drop` panics). A pool's own frames sit between those places and the bookkeeping that keeps
//! borrowed stack memory alive (a scope's pending count, a join's latch, a worker's exit
//! report). So shoal follows four rules:
//!
//! 1. **Counts are returned by drop guards**, never by a call placed after user code: an
//!    unwind cannot skip a guard.
//! 2. **User values are dropped where a panic cannot skip bookkeeping**: either before the
//!    count is returned, through [`try_drop`] (the panic is kept and reported in the value's
//!    place), or through [`drop_quietly`] (the panic, and its payload's own panicking
//!    destructor, are caught and discarded).
//! 3. **Internal jobs and the waits that help run them never unwind.** Where an unwind would
//!    let a frame that other threads still point into return early (a scope while its tasks
//!    borrow its stack, a join while a thief writes its result), the frame holds an
//!    [`AbortOnUnwind`] guard: the process stops with a message naming the broken invariant
//!    instead of continuing with memory in use freed (rayon's `AbortIfPanic`).
//! 4. **Helpers whose soundness rests on a condition are `unsafe fn`**, not a `debug_assert`.
//!
//! ```
//! use shoal_core::unwind::{drop_quietly, try_drop};
//!
//! struct Bomb;
//! impl Drop for Bomb {
//!     fn drop(&mut self) {
//!         if !std::thread::panicking() {
//!             panic!("bomb");
//!         }
//!     }
//! }
//! drop_quietly(Bomb); // no panic escapes
//! let payload = try_drop(Bomb).unwrap_err(); // the panic, kept as a value
//! assert_eq!(shoal_core::panic_message(payload.as_ref()), Some("bomb"));
//! ```

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How many payloads in a row [`drop_quietly`] drops before it leaks the next one: each
/// payload's destructor may panic again with a new payload, without end.
const MAX_NESTED_PAYLOADS: usize = 8;

/// Drops `value`; if its destructor panics, returns the panic's payload instead of unwinding.
///
/// The payload is the caller's to dispose of, for instance with [`drop_quietly`] (its own
/// destructor may panic too).
pub fn try_drop<T>(value: T) -> Result<(), Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(move || drop(value)))
}

/// Drops a value whose destructor may panic (a job's captures, a panic payload) without letting
/// that panic unwind into the caller. A payload whose own destructor panics is dropped the same
/// way, up to a few levels deep; past that, the payload is leaked rather than dropped.
pub fn drop_quietly<T>(value: T) {
    let mut outcome = try_drop(value);
    for _ in 0..MAX_NESTED_PAYLOADS {
        match outcome {
            Ok(()) => return,
            // Dropping a payload inside `try_drop`, so that its panic is caught as well.
            Err(payload) => outcome = try_drop(payload),
        }
    }
    if let Err(payload) = outcome {
        std::mem::forget(payload);
    }
}

/// Aborts the process with a message if dropped: hold it across code that must not unwind,
/// then [`disarm`](AbortOnUnwind::disarm) it. Costs nothing on the normal path.
///
/// ```
/// use shoal_core::unwind::AbortOnUnwind;
///
/// let guard = AbortOnUnwind::new("the example's invariant");
/// let sum = 2 + 2; // code that cannot unwind, or must not
/// guard.disarm();
/// assert_eq!(sum, 4);
/// ```
#[derive(Debug)]
#[must_use = "the guard protects the code until it is disarmed"]
pub struct AbortOnUnwind {
    invariant: &'static str,
}

impl AbortOnUnwind {
    /// Arms a guard for `invariant` (what an unwind here would break, said in a few words).
    #[inline]
    pub fn new(invariant: &'static str) -> AbortOnUnwind {
        AbortOnUnwind { invariant }
    }

    /// The protected code finished normally.
    #[inline]
    pub fn disarm(self) {
        std::mem::forget(self);
    }

    /// Runs `f`; aborts the process if it unwinds.
    #[inline]
    pub fn run<R>(invariant: &'static str, f: impl FnOnce() -> R) -> R {
        let guard = AbortOnUnwind::new(invariant);
        let value = f();
        guard.disarm();
        value
    }
}

impl Drop for AbortOnUnwind {
    #[cold]
    fn drop(&mut self) {
        // Only reached by an unwind: stopping here is the one sound way out.
        eprintln!(
            "shoal: fatal: a panic unwound through code that must not unwind ({}); aborting \
             the process, because continuing could free memory that other threads still use",
            self.invariant
        );
        std::process::abort();
    }
}

#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests {
    use super::*;

    /// Panics on drop with a payload that panics on drop, `depth` times.
    struct Chain(usize);

    impl Drop for Chain {
        fn drop(&mut self) {
            if self.0 > 0 {
                std::panic::panic_any(Chain(self.0 - 1));
            }
        }
    }

    #[test]
    fn drop_quietly_survives_payloads_that_panic_on_drop() {
        drop_quietly(Chain(3));
        // Deeper than the limit: the last payload is leaked, nothing unwinds.
        drop_quietly(Chain(MAX_NESTED_PAYLOADS + 5));
    }

    #[test]
    fn try_drop_hands_the_panic_back() {
        let payload = try_drop(Chain(1)).unwrap_err();
        assert!(payload.is::<Chain>());
        drop_quietly(payload);
        assert!(try_drop(Chain(0)).is_ok());
    }
}
