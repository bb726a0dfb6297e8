//! Parallel loops over borrowed slices on every executor:
//! [`ExecutorExt::par_for_each`],
//! [`par_map`](crate::ExecutorExt::par_map) and [`par_reduce`](crate::ExecutorExt::par_reduce),
//! written over [`ExecutorExt::join`] alone.
//!
//! A loop called from outside the pool splits its slice in two at once, and the `join` of the
//! halves moves into the pool (a slice of one item runs on the calling thread). On a worker
//! a loop runs its range front to back and splits **only when a worker is idle**: before each item it asks the executor's
//! [`join_inline`](crate::Executor::join_inline) hint (on shoal's pools, a thread-local read
//! and one relaxed load); when a worker is idle it splits the rest of its range in two with
//! `join`, which offers the second half to that worker. So a loop makes about as many pieces
//! as there were idle moments, never one job per item. Pieces never get smaller than
//! `len / (8 × workers)` items, which bounds the jobs an executor without the hint (one that
//! always says "split") pays for.

use std::mem::MaybeUninit;

use crate::executor::Executor;
use crate::ext::ExecutorExt;

/// The smallest piece a loop over `len` items splits off on `exec`.
fn min_piece<E: Executor + ?Sized>(exec: &E, len: usize) -> usize {
    (len / (8 * exec.workers().max(1))).max(1)
}

/// `true` when the rest of a range (`left` items) should be split now.
#[inline]
fn split<E: Executor + ?Sized>(exec: &E, left: usize, min: usize) -> bool {
    left >= 2 * min && !exec.join_inline()
}

pub(crate) fn for_each<E, T, F>(exec: &E, items: &[T], min: usize, f: &F)
where
    E: Executor + ?Sized,
    T: Sync,
    F: Fn(&T) + Sync,
{
    let mut rest = items;
    while let [first, tail @ ..] = rest {
        if split(exec, rest.len(), min) {
            let (left, right) = rest.split_at(rest.len() / 2);
            exec.join(
                || for_each(exec, left, min, f),
                || for_each(exec, right, min, f),
            );
            return;
        }
        f(first);
        rest = tail;
    }
}

pub(crate) fn map_into<E, T, U, F>(
    exec: &E,
    items: &[T],
    out: &mut [MaybeUninit<U>],
    min: usize,
    f: &F,
) where
    E: Executor + ?Sized,
    T: Sync,
    U: Send,
    F: Fn(&T) -> U + Sync,
{
    assert_eq!(items.len(), out.len());
    let n = items.len();
    let mut i = 0;
    while i < n {
        if split(exec, n - i, min) {
            let mid = (n - i) / 2;
            let (left, right) = items[i..].split_at(mid);
            let (left_out, right_out) = out[i..].split_at_mut(mid);
            exec.join(
                || map_into(exec, left, left_out, min, f),
                || map_into(exec, right, right_out, min, f),
            );
            return;
        }
        out[i].write(f(&items[i]));
        i += 1;
    }
}

pub(crate) fn reduce<E, T, R, ID, FOLD, OP>(
    exec: &E,
    items: &[T],
    min: usize,
    identity: &ID,
    fold: &FOLD,
    combine: &OP,
) -> R
where
    E: Executor + ?Sized,
    T: Sync,
    R: Send,
    ID: Fn() -> R + Sync,
    FOLD: Fn(R, &T) -> R + Sync,
    OP: Fn(R, R) -> R + Sync,
{
    let mut acc = identity();
    let mut rest = items;
    while let [first, tail @ ..] = rest {
        if split(exec, rest.len(), min) {
            let (left, right) = rest.split_at(rest.len() / 2);
            let (l, r) = exec.join(
                || reduce(exec, left, min, identity, fold, combine),
                || reduce(exec, right, min, identity, fold, combine),
            );
            return combine(acc, combine(l, r));
        }
        acc = fold(acc, first);
        rest = tail;
    }
    acc
}

/// `par_for_each`: from outside, the first split moves the loop into the pool.
pub(crate) fn par_for_each<E, T, F>(exec: &E, items: &[T], f: F)
where
    E: Executor + ?Sized,
    T: Sync,
    F: Fn(&T) + Sync + Send,
{
    let min = min_piece(exec, items.len());
    for_each(exec, items, min, &f);
}

/// `par_map`: results in input order.
pub(crate) fn par_map<E, T, U, F>(exec: &E, items: &[T], f: F) -> Vec<U>
where
    E: Executor + ?Sized,
    T: Sync,
    U: Send,
    F: Fn(&T) -> U + Sync + Send,
{
    let n = items.len();
    let min = min_piece(exec, n);
    let mut out: Vec<U> = Vec::with_capacity(n);
    {
        let slots: &mut [MaybeUninit<U>] = &mut out.spare_capacity_mut()[..n];
        map_into(exec, items, slots, min, &f);
    }
    // SAFETY: `map_into` returned normally (a panic would have unwound past this line), so
    // it wrote every one of the first `n` slots.
    unsafe { out.set_len(n) };
    out
}

/// `par_reduce`: pieces folded from `identity()`, combined left to right.
pub(crate) fn par_reduce<E, T, R, ID, FOLD, OP>(
    exec: &E,
    items: &[T],
    identity: ID,
    fold: FOLD,
    combine: OP,
) -> R
where
    E: Executor + ?Sized,
    T: Sync,
    R: Send,
    ID: Fn() -> R + Sync + Send,
    FOLD: Fn(R, &T) -> R + Sync + Send,
    OP: Fn(R, R) -> R + Sync + Send,
{
    let min = min_piece(exec, items.len());
    reduce(exec, items, min, &identity, &fold, &combine)
}
