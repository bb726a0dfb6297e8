//! Parallel loops over slices, split adaptively.
//!
//! A loop runs its range front to back on one worker and splits **only when a thread is
//! hungry**: before each element it reads the pool's demand (one `Relaxed` load); when it is
//! positive it splits the rest of its range in two with `join`, which offers the second half
//! to the hungry thread. So a loop creates about as many pieces as there were idle moments,
//! not one job per element, and never fewer pieces than the threads that could help:
//!
//! ```text
//!  items: [0 1 2 3 4 5 6 7 8 9 a b c d e f]
//!  W0:    0 1 | hungry! join( [2 3 4 5 6 7 8] , [9 a b c d e f] -> offered, W1 takes it )
//!  W0:    2 3 4 5 6 7 8          W1: 9 a b c d | hungry (W0 done)! join([e], [f] -> offered)
//!  W0:    (waits on W1's half: takes f)           W1: e
//! ```

use std::mem::MaybeUninit;

use crate::join::join_in_worker;
use crate::worker::WorkerThread;

/// Runs `f` with the calling worker. Every function here runs inside the pool (`install`).
fn with_current<R>(f: impl FnOnce(&WorkerThread) -> R) -> R {
    let worker = WorkerThread::current();
    assert!(!worker.is_null(), "parallel loops run inside the pool");
    // SAFETY: non-null, so it points to the WorkerThread alive on this thread's stack for
    // longer than this call, which runs inside it.
    f(unsafe { &*worker })
}

pub(crate) fn for_each<T, F>(items: &[T], f: &F)
where
    T: Sync,
    F: Fn(&T) + Sync,
{
    with_current(|worker| {
        let mut rest = items;
        while let [first, tail @ ..] = rest {
            if !tail.is_empty() && worker.hungry() {
                let (left, right) = rest.split_at(rest.len() / 2);
                join_in_worker(worker, || for_each(left, f), || for_each(right, f));
                return;
            }
            f(first);
            rest = tail;
        }
    })
}

pub(crate) fn map_into<T, U, F>(items: &[T], out: &mut [MaybeUninit<U>], f: &F)
where
    T: Sync,
    U: Send,
    F: Fn(&T) -> U + Sync,
{
    assert_eq!(items.len(), out.len());
    with_current(|worker| {
        let n = items.len();
        let mut i = 0;
        while i < n {
            if n - i >= 2 && worker.hungry() {
                let mid = (n - i) / 2;
                let (left, right) = items[i..].split_at(mid);
                let (left_out, right_out) = out[i..].split_at_mut(mid);
                join_in_worker(
                    worker,
                    || map_into(left, left_out, f),
                    || map_into(right, right_out, f),
                );
                return;
            }
            out[i].write(f(&items[i]));
            i += 1;
        }
    })
}

pub(crate) fn reduce<T, R, ID, FOLD, OP>(items: &[T], identity: &ID, fold: &FOLD, combine: &OP) -> R
where
    T: Sync,
    R: Send,
    ID: Fn() -> R + Sync,
    FOLD: Fn(R, &T) -> R + Sync,
    OP: Fn(R, R) -> R + Sync,
{
    with_current(|worker| {
        let mut acc = identity();
        let mut rest = items;
        while let [first, tail @ ..] = rest {
            if !tail.is_empty() && worker.hungry() {
                let (left, right) = rest.split_at(rest.len() / 2);
                let (l, r) = join_in_worker(
                    worker,
                    || reduce(left, identity, fold, combine),
                    || reduce(right, identity, fold, combine),
                );
                return combine(acc, combine(l, r));
            }
            acc = fold(acc, first);
            rest = tail;
        }
        acc
    })
}
