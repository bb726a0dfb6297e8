//! The synchronization primitives and thread local the limiter uses: std's, always.
//!
//! The pool crates take theirs from `shoal_core::sync`, which turns into loom's or shuttle's
//! under the model checkers' cfgs. The limiter is in no model, and it needs `Weak` and unsized
//! `Arc` coercions (`Arc<dyn Clock>`, `Arc<dyn Fn()>`) that loom's types lack, so it names std
//! here, once, like `shoal_core::worker` does for its helper pointer.

pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
pub(crate) use std::thread_local;

/// Locks a mutex, ignoring poisoning: no user code runs under the limiter's locks.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
