//! A counting global allocator, for measuring what a pool costs in heap bytes.
//!
//! A test binary installs it with `#[global_allocator]`; it forwards to the system allocator
//! and keeps the bytes currently allocated and the peak since the last [`reset_peak`]. It
//! counts the bytes *requested* (the allocator's own rounding and headers are not included),
//! for every thread of the process, so measurements must run one at a time.
//!
//! [`reset_peak`]: CountingAlloc::reset_peak

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Forwards to [`System`] and counts bytes in use.
#[derive(Debug)]
pub struct CountingAlloc {
    current: AtomicIsize,
    peak: AtomicIsize,
    /// Bytes ever allocated: only grows, so frees by other threads cannot hide an allocation.
    total: AtomicUsize,
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

impl CountingAlloc {
    /// A counter at zero; `const` so it can be a `static`.
    pub const fn new() -> CountingAlloc {
        CountingAlloc {
            current: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
            total: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated and not yet freed.
    pub fn current(&self) -> isize {
        // ORDERING: a statistic; Relaxed is enough.
        self.current.load(Ordering::Relaxed)
    }

    /// Bytes allocated since the process started, frees not subtracted.
    pub fn total(&self) -> usize {
        // ORDERING: a statistic; Relaxed is enough.
        self.total.load(Ordering::Relaxed)
    }

    /// The highest `current` since the last reset.
    pub fn peak(&self) -> isize {
        // ORDERING: a statistic; Relaxed is enough.
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new peak measurement at the current level.
    pub fn reset_peak(&self) {
        // ORDERING: a statistic; Relaxed is enough.
        self.peak.store(self.current(), Ordering::Relaxed);
    }

    fn added(&self, bytes: usize) {
        // ORDERING: statistics only; Relaxed adds never lose a count.
        let now = self.current.fetch_add(bytes as isize, Ordering::Relaxed) + bytes as isize;
        self.peak.fetch_max(now, Ordering::Relaxed);
        self.total.fetch_add(bytes, Ordering::Relaxed);
    }

    fn removed(&self, bytes: usize) {
        // ORDERING: as in `added`.
        self.current.fetch_sub(bytes as isize, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; the counting touches only
// atomics and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.added(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.added(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        self.removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.removed(layout.size());
            self.added(new_size);
        }
        new
    }
}
