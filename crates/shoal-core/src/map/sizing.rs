//! How many items one chunk gets.
//!
//! Handing a chunk over costs about the same whatever its size: a job submitted (and maybe a
//! worker woken), the map's lock taken to claim the chunk and again to publish its results,
//! and maybe one wake of the consumer: a few microseconds. A chunk that runs for
//! [`TARGET_CHUNK_NANOS`] hides that. So the consumer measures how long items take (every
//! runner times its chunk) and sizes the next chunk to last about that long: hundreds of
//! sub-microsecond items, one item when items take milliseconds.
//!
//! The estimate is trusted gradually: a chunk is at most twice the largest one handed out so
//! far, so the map starts with chunks of one item (nothing measured yet: the first results
//! come back soonest) and doubles from there. One fast sample cannot make a single job swallow
//! a long stretch of slow items, and items that turn slow shrink the next chunk at once.

/// How long one chunk should run: long enough that the hand-off costs a few percent, short
/// enough that the last chunks of a map still spread over the workers.
pub(crate) const TARGET_CHUNK_NANOS: u64 = 50_000;

/// The most items one chunk holds, whatever the measurement says: it bounds the default
/// window (4 × workers chunks) for very small items.
pub(crate) const MAX_CHUNK: usize = 1024;

/// A measurement smoothed over the chunks: half the weight to the newest `sample`, which
/// follows a change within a few chunks, while one chunk that met a slow stretch (or a
/// preempted runner) does not undo the rest. The first sample is taken as it is.
pub(crate) fn halfway(old: Option<f64>, sample: f64) -> f64 {
    match old {
        None => sample,
        Some(old) => 0.5 * old + 0.5 * sample,
    }
}

/// The consumer's estimate of the time per item, and the chunk length it gives.
#[derive(Debug)]
pub(crate) struct ChunkSizer {
    /// Nanoseconds per item, smoothed over the chunks measured so far.
    nanos_per_item: Option<f64>,
    /// What the estimate asks for, clamped to `1..=MAX_CHUNK`.
    ideal: usize,
    /// The largest chunk handed out so far.
    largest: usize,
}

impl ChunkSizer {
    pub(crate) fn new() -> ChunkSizer {
        ChunkSizer {
            nanos_per_item: None,
            ideal: 1,
            largest: 0,
        }
    }

    /// Takes in one measured chunk: `items` items ran in `nanos` nanoseconds. A chunk that
    /// ran nothing (it was cancelled) says nothing about the items.
    pub(crate) fn record(&mut self, items: usize, nanos: u64) {
        if items == 0 {
            return;
        }
        let estimate = halfway(self.nanos_per_item, nanos as f64 / items as f64);
        self.nanos_per_item = Some(estimate);
        let ideal = TARGET_CHUNK_NANOS as f64 / estimate.max(1.0);
        self.ideal = (ideal as usize).clamp(1, MAX_CHUNK);
    }

    /// The length of the next chunk, before any window clamps it.
    pub(crate) fn len(&self) -> usize {
        self.ideal.min(self.largest.saturating_mul(2).max(1))
    }

    /// A chunk of `len` items was handed out.
    pub(crate) fn handed_out(&mut self, len: usize) {
        self.largest = self.largest.max(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out chunks of `sizer.len()` items that each take `nanos_per_item`, `rounds`
    /// times; returns the lengths handed out.
    fn drive(sizer: &mut ChunkSizer, nanos_per_item: u64, rounds: usize) -> Vec<usize> {
        (0..rounds)
            .map(|_| {
                let len = sizer.len();
                sizer.handed_out(len);
                sizer.record(len, len as u64 * nanos_per_item);
                len
            })
            .collect()
    }

    #[test]
    fn chunk_sizing_starts_at_one_and_doubles() {
        let mut sizer = ChunkSizer::new();
        let lens = drive(&mut sizer, 100, 12);
        assert_eq!(&lens[..8], &[1, 2, 4, 8, 16, 32, 64, 128]);
        // 100 ns per item: the target is 500 items a chunk.
        assert_eq!(sizer.len(), 500);
        assert_eq!(*lens.last().unwrap(), 500);
    }

    #[test]
    fn chunk_sizing_keeps_slow_items_alone() {
        let mut sizer = ChunkSizer::new();
        let lens = drive(&mut sizer, 2_000_000, 10);
        assert!(lens.iter().all(|&l| l == 1), "{lens:?}");
    }

    #[test]
    fn chunk_sizing_is_capped_for_tiny_items() {
        let mut sizer = ChunkSizer::new();
        drive(&mut sizer, 1, 20);
        assert_eq!(sizer.len(), MAX_CHUNK);
        // Zero nanoseconds measured (a coarse clock) is no division by zero.
        sizer.record(10, 0);
        assert_eq!(sizer.len(), MAX_CHUNK);
    }

    #[test]
    fn chunk_sizing_shrinks_when_items_turn_slow() {
        let mut sizer = ChunkSizer::new();
        drive(&mut sizer, 100, 12);
        assert_eq!(sizer.len(), 500);
        // One chunk of slow items halves the estimate's trust at once; a few bring it to 1.
        let lens = drive(&mut sizer, 1_000_000, 4);
        assert!(lens[1] < 10, "{lens:?}");
        assert_eq!(sizer.len(), 1);
        // Cancelled chunks (nothing ran) change nothing.
        sizer.record(0, 0);
        assert_eq!(sizer.len(), 1);
    }
}
