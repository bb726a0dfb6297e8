//! What decides whether a join runs both halves inline, and how a trait object reads it
//! without a virtual call per join.
//!
//! ## The hint
//!
//! A join inside a worker of a shoal pool offers its second half only while a worker of the
//! pool is idle (see [`fork`]); otherwise `a` and `b` are two plain calls. What
//! the worker reads for that is a [`JoinHint`]: the pool's idle counters, and whether an offer
//! of this thread still waits untaken. [`Executor::join_hint`] hands it out, on a worker of the
//! pool only; [`Executor::join_inline`] reads it.
//!
//! ## Through a trait object: the extent
//!
//! On a concrete pool, `join_inline` is inlined: a thread-local read and two relaxed loads.
//! Through `Box<dyn Executor>` (or `&dyn`, `Arc<dyn>`) it is a call through the vtable on
//! every join, and the recursive join around it stops being a leaf: `fib` with no cutoff
//! took 1.2-1.4x the concrete pool's time. So the first join on a trait object asks for the
//! hint through the vtable and *opens an extent*: until that join returns (or unwinds), this
//! thread remembers the object's address (its [`JoinKey`]) and the hint's counters. A join
//! inside the extent on an object at the same address reads the counters directly.
//!
//! Why that is sound: the extent is closed (the previous one restored, by a guard) before the
//! join that opened it returns or unwinds, and that join borrows the object for as long as it
//! runs. So while the extent is open the object is alive and in place, and so are the
//! counters it lent, whichever join reads them. The key is an address, never dereferenced;
//! the counters are read only while their extent is open.
//!
//! Why the address alone: another object can share it only by overlapping this one at offset
//! 0 (a newtype around it, which is the same pool; a struct whose first field it is; a
//! zero-sized field), or, for zero-sized objects, by being zero-sized too. A join on such an
//! object reads this object's hint, which only decides whether the join runs both halves
//! inline or offers `b` to *its own* object, through that object's vtable: either is a
//! correct join. Comparing the size as well cost a load from the vtable and a compare on
//! every join: 59 instructions per join of `fib` through a `Box<dyn Executor>` instead of 56,
//! where the concrete pool takes 54.

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
use std::cell::Cell;

use crate::executor::Executor;
use crate::fork;
use crate::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// What a worker of a pool reads to decide whether a join runs both halves inline: the pool's
/// count of idle workers (a join offers its second half only while it is above zero), and,
/// for a pool that offers at most one half at a time per thread, whether this thread's last
/// offer still waits untaken. See [`Executor::join_hint`].
#[derive(Clone, Copy, Debug)]
pub struct JoinHint<'a> {
    idle: Idle<'a>,
    one_offer: bool,
}

#[derive(Clone, Copy, Debug)]
enum Idle<'a> {
    /// Idle while either count is above zero.
    Counts([&'a AtomicUsize; 2]),
    /// Idle while the count is above zero.
    Demand(&'a AtomicIsize),
}

impl<'a> JoinHint<'a> {
    /// Offers while `idle[0]` or `idle[1]` is above zero (searching and sleepy workers, say),
    /// and, with `one_offer`, not while this thread's last offer waits untaken.
    pub fn counts(idle: [&'a AtomicUsize; 2], one_offer: bool) -> JoinHint<'a> {
        JoinHint {
            idle: Idle::Counts(idle),
            one_offer,
        }
    }

    /// Offers while `demand` (threads looking for work) is above zero.
    pub fn demand(demand: &'a AtomicIsize) -> JoinHint<'a> {
        JoinHint {
            idle: Idle::Demand(demand),
            one_offer: false,
        }
    }

    /// `true` when a join should run both halves here, as plain calls.
    #[inline]
    pub fn inline(&self) -> bool {
        // ORDERING: Relaxed: a hint; a stale value only delays or adds one offer.
        let idle = match self.idle {
            Idle::Counts([a, b]) => a.load(Ordering::Relaxed) > 0 || b.load(Ordering::Relaxed) > 0,
            Idle::Demand(d) => d.load(Ordering::Relaxed) > 0,
        };
        inline_unless(idle, self.one_offer)
    }
}

/// The rule a hint applies, from a hint or from an open extent: inline unless a worker is
/// idle, and, for a pool that offers one half at a time, also while this thread's last offer
/// waits untaken.
#[inline]
fn inline_unless(idle: bool, one_offer: bool) -> bool {
    !idle || (one_offer && fork::untaken_offer())
}

/// The identity of a trait object for the extent: its address. Not for use outside
/// shoal-core; public only for [`delegate_executor!`](crate::delegate_executor).
#[doc(hidden)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct JoinKey {
    addr: usize,
}

/// The key a join on `exec` uses: `exec`'s own when it is a trait object, what it forwards to
/// otherwise ([`Executor::join_key`]: a pointer to a trait object forwards its pointee's; a
/// concrete pool has none, and reads its hint inlined). Public only for
/// [`delegate_executor!`](crate::delegate_executor).
#[doc(hidden)]
#[inline]
pub fn key_through<T: Executor + ?Sized>(exec: &T) -> Option<JoinKey> {
    if std::mem::size_of::<&T>() == std::mem::size_of::<&u8>() {
        return exec.join_key();
    }
    // The data address only: no load from the vtable (see the module docs).
    Some(JoinKey {
        addr: (exec as *const T).cast::<()>() as usize,
    })
}

/// This thread's open extent: the key of the object its join borrows (address 0: none), and
/// the counters of that object's hint, flattened so that the check is a few loads. Under the
/// model checkers there are no extents (a trait object asks through the vtable every time):
/// their atomics cannot be viewed as one another.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
struct OpenExtent {
    addr: Cell<usize>,
    /// Idle while either, read as signed, is above zero.
    idle: Cell<[*const AtomicUsize; 2]>,
    one_offer: Cell<bool>,
}

/// What an extent restores when it closes.
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
#[derive(Clone, Copy)]
struct Saved {
    addr: usize,
    idle: [*const AtomicUsize; 2],
    one_offer: bool,
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
std::thread_local! {
    static EXTENT: OpenExtent = const {
        OpenExtent {
            addr: Cell::new(0),
            idle: Cell::new([std::ptr::null(); 2]),
            one_offer: Cell::new(false),
        }
    };
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
impl OpenExtent {
    fn swap(&self, new: Saved) -> Saved {
        Saved {
            addr: self.addr.replace(new.addr),
            idle: self.idle.replace(new.idle),
            one_offer: self.one_offer.replace(new.one_offer),
        }
    }
}

#[cfg(not(any(shoal_loom, shoal_shuttle)))]
impl Saved {
    /// The flat form of `hint` for the object with `key`.
    fn of(key: JoinKey, hint: JoinHint<'_>) -> Saved {
        let idle = match hint.idle {
            Idle::Counts([a, b]) => [a as *const AtomicUsize, b as *const AtomicUsize],
            Idle::Demand(d) => {
                // An `AtomicIsize` has the size, alignment and bit validity of an
                // `AtomicUsize`; read through this pointer as usize and compared as isize, it
                // gives the same answer.
                let d = (d as *const AtomicIsize).cast::<AtomicUsize>();
                [d, d]
            }
        };
        Saved {
            addr: key.addr,
            idle,
            one_offer: hint.one_offer,
        }
    }
}

/// Whether a join on the object with `key` runs inline, when this thread's open extent is
/// that object's; `None` when it is not (or none is open).
#[inline]
fn inline_in_extent(key: JoinKey) -> Option<bool> {
    #[cfg(not(any(shoal_loom, shoal_shuttle)))]
    {
        EXTENT
            .try_with(|open| {
                if open.addr.get() != key.addr {
                    return None;
                }
                let [a, b] = open.idle.get();
                // SAFETY: an extent with this key is open further up this thread's stack (a
                // closed one restores the one before it), so its counters are alive, and the
                // object with this key is the one it was opened for (see the module docs).
                // ORDERING: Relaxed: a hint, as in `JoinHint::inline`.
                let idle = unsafe {
                    (*a).load(Ordering::Relaxed) as isize > 0
                        || (*b).load(Ordering::Relaxed) as isize > 0
                };
                Some(inline_unless(idle, open.one_offer.get()))
            })
            .ok()
            .flatten()
    }
    #[cfg(any(shoal_loom, shoal_shuttle))]
    {
        let _ = key;
        None
    }
}

/// Whether a join on `exec` runs both halves here, decided without a call: a concrete pool's
/// [`Executor::join_inline`], inlined; for a trait object, the hint of this thread's open
/// extent if it is that object's. `false` sends the join to [`join_elsewhere`], which asks
/// through the vtable when it has to.
#[inline]
pub(crate) fn inline_here<E: Executor + ?Sized>(exec: &E) -> bool {
    match key_through(exec) {
        None => exec.join_inline(),
        Some(key) => inline_in_extent(key) == Some(true),
    }
}

/// The rest of [`ExecutorExt::join`](crate::ExecutorExt::join), out of line so that the
/// inline case stays two plain calls: offer `b` (a concrete pool, or an open extent, said a
/// worker is idle), or, for a trait object with no extent of its own open on this thread, ask
/// for its hint through the vtable and, on a worker of its pool, open an extent for the joins
/// nested in this one.
#[inline(never)]
pub(crate) fn join_elsewhere<E, A, B, RA, RB>(exec: &E, a: A, b: B) -> (RA, RB)
where
    E: Executor + ?Sized,
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let Some(key) = key_through(exec) else {
        return fork::join(exec, a, b);
    };
    if inline_in_extent(key).is_some() {
        // This object's extent is open and said a worker is idle.
        return fork::join(exec, a, b);
    }
    // Open until this join returns or unwinds (under the model checkers it opens nothing).
    let _open;
    let inline = match exec.join_hint() {
        Some(hint) => {
            _open = Open::new(key, hint);
            hint.inline()
        }
        None => exec.join_inline(),
    };
    if inline {
        (a(), b())
    } else {
        fork::join(exec, a, b)
    }
}

/// Opens an extent until dropped, then restores the one before it (also on unwind).
struct Open {
    #[cfg(not(any(shoal_loom, shoal_shuttle)))]
    saved: Option<Saved>,
}

impl Open {
    fn new(key: JoinKey, hint: JoinHint<'_>) -> Open {
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        {
            let saved = EXTENT.try_with(|open| open.swap(Saved::of(key, hint))).ok();
            Open { saved }
        }
        #[cfg(any(shoal_loom, shoal_shuttle))]
        {
            let _ = (key, hint);
            Open {}
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        #[cfg(not(any(shoal_loom, shoal_shuttle)))]
        if let Some(saved) = self.saved {
            let _ = EXTENT.try_with(|open| open.swap(saved));
        }
    }
}

#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;
    use crate::error::{Rejected, ResizeError};
    use crate::ext::ExecutorExt;
    use crate::fork::JoinHalf;
    use crate::job::Job;
    use crate::metrics::Metrics;
    use crate::shutdown::{Shutdown, ShutdownReport};

    /// The `Executor` methods the test executors share: one worker, jobs run where submitted.
    macro_rules! runs_jobs_inline {
        () => {
            fn execute(&self, job: Job) -> Result<(), Rejected> {
                job();
                Ok(())
            }
            fn try_execute(&self, job: Job) -> Result<(), Rejected> {
                self.execute(job)
            }
            fn workers(&self) -> usize {
                1
            }
            fn resize(&self, _: usize) -> Result<(), ResizeError> {
                Ok(())
            }
            fn shutdown(&self, _: Shutdown) -> ShutdownReport {
                ShutdownReport::default()
            }
            fn metrics(&self) -> Metrics {
                Metrics::default()
            }
        };
    }

    /// Acts as if every thread were one of its workers: hands out a hint over its own idle
    /// counter, and counts how often it was asked and how often a join reached it.
    #[derive(Default)]
    struct Hinted {
        idle: AtomicUsize,
        none: AtomicUsize,
        asked: AtomicUsize,
        joined: AtomicUsize,
    }

    impl Executor for Hinted {
        runs_jobs_inline!();
        fn join_hint(&self) -> Option<JoinHint<'_>> {
            self.asked.fetch_add(1, SeqCst);
            Some(JoinHint::counts([&self.idle, &self.none], false))
        }
        fn join_halves(&self, a: JoinHalf<'_>, b: JoinHalf<'_>) {
            self.joined.fetch_add(1, SeqCst);
            a.run();
            b.run();
        }
    }

    /// `depth` levels of joins on `exec`, `2^depth - 1` in all; returns the leaves.
    fn tree(exec: &dyn Executor, depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let (a, b) = exec.join(|| tree(exec, depth - 1), || tree(exec, depth - 1));
        a + b
    }

    #[test]
    fn a_trait_object_asks_once_per_extent() {
        let pool = Hinted::default();
        assert_eq!(tree(&pool, 10), 1024);
        assert_eq!(
            pool.asked.load(SeqCst),
            1,
            "the nested joins read the open extent"
        );
        assert_eq!(
            pool.joined.load(SeqCst),
            0,
            "nobody idle: every join ran inline"
        );
        // The extent closed with its join: the next one asks again.
        assert_eq!(tree(&pool, 3), 8);
        assert_eq!(pool.asked.load(SeqCst), 2);
        // Through a box, the same.
        let boxed: Box<dyn Executor> = Box::new(Hinted::default());
        assert_eq!(tree(&*boxed, 5), 32);
        let (x, y) = boxed.join(|| boxed.join(|| 1, || 2), || 3);
        assert_eq!((x, y), ((1, 2), 3));
    }

    #[test]
    fn the_extent_reads_the_counters_live() {
        let pool = Hinted::default();
        let joins = AtomicUsize::new(0);
        let (_, ()) = (&pool as &dyn Executor).join(
            || {
                // An idle worker shows up inside the extent: the nested joins offer.
                pool.idle.store(1, SeqCst);
                joins.store(tree(&pool, 4) as usize, SeqCst);
            },
            || (),
        );
        assert_eq!(joins.load(SeqCst), 16);
        assert_eq!(pool.asked.load(SeqCst), 1);
        assert_eq!(
            pool.joined.load(SeqCst),
            15,
            "each nested join went to join_halves"
        );
    }

    #[test]
    fn another_object_gets_its_own_extent() {
        let outer = Hinted::default();
        let inner = Hinted::default();
        let (n, ()) = (&outer as &dyn Executor).join(|| tree(&inner, 6), || ());
        assert_eq!(n, 64);
        assert_eq!(outer.asked.load(SeqCst), 1);
        assert_eq!(
            inner.asked.load(SeqCst),
            1,
            "its own extent, nested in the outer one"
        );
        // The outer extent is open again after the inner one closed.
        let (m, ()) = (&outer as &dyn Executor).join(
            || {
                let _ = tree(&inner, 2);
                tree(&outer, 3)
            },
            || (),
        );
        assert_eq!(m, 8);
        assert_eq!(
            outer.asked.load(SeqCst),
            2,
            "no second ask inside its own extent"
        );
        assert_eq!(inner.asked.load(SeqCst), 2);
    }

    /// Starts where the `Hinted` it holds starts, and joins its own way: it hands out no
    /// hint, and counts the joins that reach it.
    #[repr(C)]
    #[derive(Default)]
    struct Overlapping {
        inner: Hinted,
        joined: AtomicUsize,
    }

    impl Executor for Overlapping {
        runs_jobs_inline!();
        fn join_halves(&self, a: JoinHalf<'_>, b: JoinHalf<'_>) {
            self.joined.fetch_add(1, SeqCst);
            a.run();
            b.run();
        }
    }

    #[test]
    fn an_object_at_the_same_address_still_joins_correctly() {
        let outer = Overlapping::default();
        assert_eq!(
            key_through(&outer as &dyn Executor),
            key_through(&outer.inner as &dyn Executor),
            "one address, one key"
        );
        // Inside the inner object's extent, a join on the outer one reads the inner hint.
        // Nobody idle: both halves inline, the right answer, and no join reaches either.
        let (n, ()) = (&outer.inner as &dyn Executor).join(|| tree(&outer, 4), || ());
        assert_eq!(n, 16);
        assert_eq!(outer.joined.load(SeqCst), 0);
        // An idle worker: the joins offer, each to the object it was called on.
        outer.inner.idle.store(1, SeqCst);
        let (n, ()) = (&outer.inner as &dyn Executor).join(|| tree(&outer, 4), || ());
        assert_eq!(n, 16);
        assert_eq!(
            outer.joined.load(SeqCst),
            15,
            "the outer object's own joins"
        );
        assert_eq!(
            outer.inner.joined.load(SeqCst),
            1,
            "only the one on the inner object"
        );
        // Outside any extent, the outer object's joins go to it every time (it gives no hint).
        assert_eq!(tree(&outer, 3), 8);
        assert_eq!(outer.joined.load(SeqCst), 15 + 7);
    }

    #[test]
    fn an_unwinding_join_closes_its_extent() {
        let pool = Hinted::default();
        let key = key_through(&pool as &dyn Executor).expect("a trait object has a key");
        let unwound = catch_unwind(AssertUnwindSafe(|| {
            (&pool as &dyn Executor).join(
                || {
                    assert_eq!(inline_in_extent(key), Some(true), "open inside");
                    panic!("join_hint test: a panics");
                },
                || (),
            )
        }));
        assert!(unwound.is_err());
        assert_eq!(inline_in_extent(key), None, "closed by the unwind");
    }

    #[test]
    fn concrete_executors_have_no_key() {
        let pool = Hinted::default();
        assert!(key_through(&pool).is_none());
        assert!(
            key_through(&&pool).is_none(),
            "a reference to a concrete pool"
        );
        let boxed: Box<dyn Executor> = Box::new(Hinted::default());
        assert_eq!(
            key_through(&boxed),
            key_through(&*boxed),
            "a box passes its pointee's"
        );
    }
}
