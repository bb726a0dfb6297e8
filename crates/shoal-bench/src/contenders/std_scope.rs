//! `std::thread::scope`: no pool at all, the work split into one static chunk per thread.

use crate::contender::{offers, Batch, Contender, MapFn, OrderedMap};

/// Scoped threads from the standard library, started per call. Work is split into `workers`
/// contiguous chunks up front (static partitioning): nothing to steal when a chunk runs long.
#[derive(Debug)]
pub struct StdScope {
    workers: usize,
}

/// The `k`-th of `parts` contiguous chunks of `0..n`.
fn chunk(n: usize, parts: usize, k: usize) -> std::ops::Range<usize> {
    (k * n / parts)..((k + 1) * n / parts)
}

impl Batch for StdScope {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F) {
        let parts = self.workers.min(n.max(1));
        let job = &job;
        std::thread::scope(|s| {
            for k in 1..parts {
                s.spawn(move || chunk(n, parts, k).for_each(job));
            }
            chunk(n, parts, 0).for_each(job);
        });
    }
}

impl OrderedMap for StdScope {
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        let n = items.len();
        let parts = self.workers.min(n.max(1));
        // Cut the input into owned chunks, back to front so each split is O(chunk).
        let mut rest = items;
        let mut chunks = Vec::with_capacity(parts);
        for k in (0..parts).rev() {
            chunks.push(rest.split_off(chunk(n, parts, k).start));
        }
        chunks.reverse();
        let f = &f;
        let mut outputs: Vec<Vec<R>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|c| s.spawn(move || c.into_iter().map(f).collect::<Vec<R>>()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut out = Vec::with_capacity(n);
        for o in outputs.iter_mut() {
            out.append(o);
        }
        out
    }
}

impl Contender for StdScope {
    offers! {
        self,
        id: "std-scope",
        about: "std::thread::scope per call, one static chunk of the input per thread",
        family: Peer,
        Batch: self,
        OrderedMap: self,
    }

    fn build(workers: usize) -> Result<Self, String> {
        if workers == 0 {
            return Err("std-scope needs at least one thread".into());
        }
        Ok(StdScope { workers })
    }
}

#[cfg(test)]
mod tests {
    use super::chunk;

    #[test]
    fn chunks_cover_the_range_once() {
        for n in [0, 1, 5, 64, 1001] {
            for parts in 1..9 {
                let mut covered = Vec::new();
                for k in 0..parts {
                    covered.extend(chunk(n, parts, k));
                }
                assert_eq!(covered, (0..n).collect::<Vec<_>>(), "n={n} parts={parts}");
            }
        }
    }
}
