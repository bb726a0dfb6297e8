//! A thread's spare scope-task nodes, so that a task costs no call into the allocator.
//!
//! A scope task is one small heap node (see `scope_task.rs`), made by the spawning thread and
//! freed by whichever thread drops its last reference, most often the same one a moment later.
//! A recursive scope makes and frees hundreds of thousands of them a second, and the global
//! allocator's `malloc` and `free` were a fifth of that time. So a freed node of up to
//! [`LARGEST`] bytes goes onto the freeing thread's list for its size class (at most
//! [`KEEP`] per class), and the next node of that class is taken from it.
//!
//! Each list is a chain through the spare blocks themselves: taking or giving one is two
//! pointer moves on the thread's own memory. A block freed on another thread than the one that
//! made it joins that thread's list; every block has the same layout as any other of its
//! class, so who allocated it does not matter. A thread's spares go back to the allocator when
//! it exits. Under the model checkers every node comes from the allocator.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// The step between size classes, in bytes; also the blocks' alignment.
const STEP: usize = 32;
/// The largest node kept; larger ones always go through the allocator.
const LARGEST: usize = 256;
/// Size classes: `STEP`, `2 * STEP`, …, `LARGEST`.
#[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
const CLASSES: usize = LARGEST / STEP;
/// Spare blocks kept per class and thread.
#[cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]
const KEEP: u32 = 64;

/// The class of a layout, if blocks of that class can hold it.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    (layout.size() <= LARGEST && layout.align() <= STEP && layout.size() != 0)
        .then(|| (layout.size() - 1) / STEP)
}

/// The layout every block of `class` has.
#[inline]
fn block(class: usize) -> Layout {
    // The size is a non-zero multiple of the alignment, a power of two.
    Layout::from_size_align((class + 1) * STEP, STEP).expect("a valid block layout")
}

/// Memory for a node of `layout` (never zero-sized).
#[inline]
pub(crate) fn take(layout: Layout) -> NonNull<u8> {
    let layout = match class_of(layout) {
        Some(class) => {
            if let Some(spare) = imp::pop(class) {
                return spare;
            }
            block(class)
        }
        None => layout,
    };
    // SAFETY: the layout is not zero-sized (a node holds at least its header).
    NonNull::new(unsafe { alloc(layout) }).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Gives back memory that [`take`] returned for the same `layout`; whatever it held was
/// dropped already.
///
/// # Safety
/// `ptr` came from `take(layout)` and is not used again.
#[inline]
pub(crate) unsafe fn give(ptr: NonNull<u8>, layout: Layout) {
    let layout = match class_of(layout) {
        Some(class) => {
            // SAFETY: the block is of `class` and ours (the caller's contract).
            if unsafe { imp::push(class, ptr) } {
                return;
            }
            block(class)
        }
        None => layout,
    };
    // SAFETY: `take` allocated it with this layout.
    unsafe { dealloc(ptr.as_ptr(), layout) };
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
mod imp {
    use std::cell::Cell;
    use std::ptr::{self, NonNull};

    use super::{block, CLASSES, KEEP};

    /// One thread's spare blocks: per class, the first of a chain (each block's first word
    /// points to the next) and how many the chain holds.
    struct Spares {
        heads: [Cell<*mut u8>; CLASSES],
        counts: [Cell<u32>; CLASSES],
    }

    impl Drop for Spares {
        fn drop(&mut self) {
            for (class, head) in self.heads.iter().enumerate() {
                let mut next = head.replace(ptr::null_mut());
                while !next.is_null() {
                    let current = next;
                    // SAFETY: every block on a chain is a spare of this class, whose first
                    // word holds the next one.
                    next = unsafe { current.cast::<*mut u8>().read() };
                    // SAFETY: allocated with this class's layout, and now off the chain.
                    unsafe { std::alloc::dealloc(current, block(class)) };
                }
            }
        }
    }

    std::thread_local! {
        static SPARES: Spares = const {
            Spares {
                heads: [const { Cell::new(ptr::null_mut()) }; CLASSES],
                counts: [const { Cell::new(0) }; CLASSES],
            }
        };
    }

    /// A spare block of `class`, if this thread has one.
    #[inline]
    pub(super) fn pop(class: usize) -> Option<NonNull<u8>> {
        SPARES
            .try_with(|s| {
                let head = NonNull::new(s.heads[class].get())?;
                // SAFETY: a block on the chain holds the next one in its first word.
                let next = unsafe { head.as_ptr().cast::<*mut u8>().read() };
                s.heads[class].set(next);
                s.counts[class].set(s.counts[class].get() - 1);
                Some(head)
            })
            .ok()
            .flatten()
    }

    /// Keeps `ptr` as a spare of `class`; `false` if this thread keeps no more (or is exiting).
    ///
    /// # Safety
    /// `ptr` is a block of `class`, owned by the caller and not used again.
    #[inline]
    pub(super) unsafe fn push(class: usize, ptr: NonNull<u8>) -> bool {
        SPARES
            .try_with(|s| {
                let count = s.counts[class].get();
                if count >= KEEP {
                    return false;
                }
                // SAFETY: the block is ours and at least a pointer wide and aligned (a class's
                // blocks are multiples of `STEP` bytes, aligned to it).
                unsafe { ptr.as_ptr().cast::<*mut u8>().write(s.heads[class].get()) };
                s.heads[class].set(ptr.as_ptr());
                s.counts[class].set(count + 1);
                true
            })
            .unwrap_or(false)
    }
}

#[cfg(any(shoal_loom, shoal_shuttle))]
mod imp {
    use std::ptr::NonNull;

    #[inline]
    pub(super) fn pop(_class: usize) -> Option<NonNull<u8>> {
        None
    }

    #[inline]
    pub(super) unsafe fn push(_class: usize, _ptr: NonNull<u8>) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_reused_by_class_and_hold_what_they_were_taken_for() {
        let small = Layout::new::<[u64; 5]>();
        let a = take(small);
        // SAFETY: `a` holds 40 bytes, aligned for u64.
        unsafe { a.cast::<[u64; 5]>().write([7; 5]) };
        // SAFETY: taken for `small`, not used again.
        unsafe { give(a, small) };
        let b = take(Layout::new::<[u64; 6]>());
        assert_eq!(a, b, "the spare of the same class comes back");
        // SAFETY: taken for that layout.
        unsafe { give(b, Layout::new::<[u64; 6]>()) };
        let big = Layout::from_size_align(LARGEST + 1, 8).unwrap();
        let c = take(big);
        // SAFETY: taken for `big`.
        unsafe { give(c, big) };
        let aligned = Layout::from_size_align(64, 64).unwrap();
        let d = take(aligned);
        assert_eq!(d.as_ptr() as usize % 64, 0);
        // SAFETY: taken for `aligned`.
        unsafe { give(d, aligned) };
    }

    #[test]
    fn a_thread_keeps_at_most_keep_spares_per_class() {
        let layout = Layout::new::<[u8; 100]>();
        let blocks: Vec<_> = (0..KEEP as usize * 2).map(|_| take(layout)).collect();
        for &b in &blocks {
            // SAFETY: taken for `layout`, not used again.
            unsafe { give(b, layout) };
        }
        // The first KEEP came back; the rest went to the allocator. Taking KEEP again gets
        // spares, in last-in-first-out order.
        let again: Vec<_> = (0..KEEP as usize).map(|_| take(layout)).collect();
        let kept: Vec<_> = blocks[..KEEP as usize].iter().rev().copied().collect();
        assert_eq!(again, kept);
        for b in again {
            // SAFETY: as above.
            unsafe { give(b, layout) };
        }
    }
}
