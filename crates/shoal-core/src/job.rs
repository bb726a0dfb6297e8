//! The unit of work.

use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::ptr;

/// A job: a boxed closure that runs once on some worker thread.
///
/// Everything a pool schedules is a `Job`; typed results ride inside it
/// (see [`ExecutorExt::spawn`](crate::ExecutorExt::spawn)).
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Called with the payload of every job that panics, on the worker that ran it.
///
/// For jobs started with `spawn`, the payload the handler sees is a `String` copy of the panic
/// message (the original payload goes to the job's `JoinHandle`). A panicking handler is caught
/// and ignored: it cannot take a worker down.
pub type PanicHandler = std::sync::Arc<dyn Fn(&(dyn std::any::Any + Send)) + Send + Sync>;

/// Called on a worker thread when it starts (before its first job) or stops (after its last);
/// see [`PoolConfig::on_thread_start`](crate::PoolConfig::on_thread_start). Inside it,
/// [`current_worker`](crate::current_worker) names the worker.
pub type ThreadHook = std::sync::Arc<dyn Fn() + Send + Sync>;

/// A job as the pools queue it: a closure stored *in place* when it is small (up to three
/// words, at most word-aligned: an `Arc` and an index, say), or a [`Job`] box otherwise.
///
/// A tiny job made with [`ExecutorExt::execute_fn`](crate::ExecutorExt::execute_fn) then
/// costs no allocation: the closure travels inside the queue's slot, and the worker that runs
/// it frees nothing. That matters because a box made by one thread and freed by another is
/// the allocator's worst case (its per-thread caches fill on the freeing side and drain on the
/// allocating side), which made up about a quarter of what a tiny job cost.
///
/// A `Task` is four words: three of storage and a pointer to a table of functions (run, drop,
/// box) made once per closure type. A `Job` fits in place too, so a task made from a `Job`
/// ([`Task::from`]) is that same box, not a second one.
pub struct Task {
    data: MaybeUninit<Storage>,
    vtable: &'static TaskVTable,
}

/// The in-place storage: three words, word-aligned.
type Storage = [usize; 3];

struct TaskVTable {
    /// Moves the closure out of the storage and calls it.
    run: unsafe fn(*mut Storage),
    /// Drops the closure in the storage unrun.
    drop: unsafe fn(*mut Storage),
    /// Moves the closure out of the storage into a [`Job`].
    into_job: unsafe fn(*mut Storage) -> Job,
    /// The job's identity (`worker::job_address`): a `Job`'s box address; 0 for a closure
    /// stored in place, which nothing looks up by address.
    address: unsafe fn(*const Storage) -> usize,
    /// The closure is a `Job` (for `Debug`).
    boxed: bool,
}

// SAFETY: a `Task` only ever holds an `F: Send` (see `Task::new`), or a `Job` (also `Send`).
unsafe impl Send for Task {}

/// The table for a closure of type `F` stored in place.
struct InPlace<F>(PhantomData<F>);

impl<F: FnOnce() + Send + 'static> InPlace<F> {
    const VTABLE: TaskVTable = TaskVTable {
        run: Self::run,
        drop: Self::drop,
        into_job: Self::into_job,
        address: Self::address,
        boxed: false,
    };

    /// # Safety
    /// `data` holds a live `F`, which the caller gives up.
    unsafe fn run(data: *mut Storage) {
        // SAFETY: the caller's promise: a live `F`, read out once.
        let f = unsafe { ptr::read(data.cast::<F>()) };
        f();
    }

    /// # Safety
    /// As for `run`.
    unsafe fn drop(data: *mut Storage) {
        // SAFETY: the caller's promise: a live `F`, dropped once.
        unsafe { ptr::drop_in_place(data.cast::<F>()) };
    }

    /// # Safety
    /// As for `run`.
    unsafe fn into_job(data: *mut Storage) -> Job {
        // SAFETY: the caller's promise: a live `F`, read out once.
        let f = unsafe { ptr::read(data.cast::<F>()) };
        Box::new(f)
    }

    unsafe fn address(_: *const Storage) -> usize {
        0
    }
}

/// The table for a [`Job`] stored in place: the box keeps its own address as identity.
const BOXED: TaskVTable = TaskVTable {
    run: InPlace::<Job>::run,
    drop: InPlace::<Job>::drop,
    into_job: boxed_into_job,
    address: boxed_address,
    boxed: true,
};

/// # Safety
/// `data` holds a live `Job`, which the caller gives up.
unsafe fn boxed_into_job(data: *mut Storage) -> Job {
    // SAFETY: the caller's promise: a live `Job`, read out once.
    unsafe { ptr::read(data.cast::<Job>()) }
}

/// # Safety
/// `data` holds a live `Job`.
unsafe fn boxed_address(data: *const Storage) -> usize {
    // SAFETY: the caller's promise: a live `Job`, only borrowed here.
    address_of(unsafe { &*data.cast::<Job>() })
}

/// The identity of a job: the address of its closure (see `worker::job_address`).
#[inline]
pub(crate) fn address_of(job: &Job) -> usize {
    (&**job as *const (dyn FnOnce() + Send)).cast::<u8>() as usize
}

/// `true` when an `F` fits the in-place storage.
const fn fits<F>() -> bool {
    mem::size_of::<F>() <= mem::size_of::<Storage>()
        && mem::align_of::<F>() <= mem::align_of::<Storage>()
}

impl Task {
    /// Stores `f` in place if it fits (three words, word-aligned), in a [`Job`] box if not.
    #[inline]
    pub fn new<F: FnOnce() + Send + 'static>(f: F) -> Task {
        if fits::<F>() {
            let mut data = MaybeUninit::<Storage>::uninit();
            // SAFETY: `fits` checked that an `F` fits the storage's size and alignment; the
            // table's functions read it back as an `F`, exactly once (run, drop or into_job).
            unsafe { data.as_mut_ptr().cast::<F>().write(f) };
            Task {
                data,
                vtable: &InPlace::<F>::VTABLE,
            }
        } else {
            Task::from(Box::new(f) as Job)
        }
    }

    /// Runs the closure (its panic unwinds to the caller, as a `Job`'s does).
    #[inline]
    pub fn run(self) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the storage holds the live closure this table was made for; `this` is not
        // dropped, so the closure is read out exactly once, here.
        unsafe { (this.vtable.run)(this.data.as_mut_ptr()) }
    }

    /// The closure as a [`Job`]: the box it already was, or a new one. For giving a refused
    /// task back ([`Rejected`](crate::Rejected) holds a `Job`).
    pub fn into_job(self) -> Job {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: as in `run`.
        unsafe { (this.vtable.into_job)(this.data.as_mut_ptr()) }
    }

    /// Its identity for `worker::job_address`: a `Job`'s box
    /// address, 0 for a closure stored in place.
    #[inline]
    pub fn address(&self) -> usize {
        // SAFETY: the storage holds the live closure this table was made for.
        unsafe { (self.vtable.address)(self.data.as_ptr()) }
    }
}

impl From<Job> for Task {
    /// The box itself, stored in place (two words): no second allocation.
    #[inline]
    fn from(job: Job) -> Task {
        const { assert!(fits::<Job>()) };
        let mut data = MaybeUninit::<Storage>::uninit();
        // SAFETY: a `Job` fits (checked above); `BOXED` reads it back as a `Job`, once.
        unsafe { data.as_mut_ptr().cast::<Job>().write(job) };
        Task {
            data,
            vtable: &BOXED,
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: the storage holds the live closure, dropped exactly once, here (`run` and
        // `into_job` take the task out of this path with `ManuallyDrop`).
        unsafe { (self.vtable.drop)(self.data.as_mut_ptr()) }
    }
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("boxed", &self.vtable.boxed)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn is_boxed(task: &Task) -> bool {
        task.vtable.boxed
    }

    #[test]
    fn a_small_closure_runs_in_place_and_drops_its_captures_once() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let task = Task::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!is_boxed(&task), "an Arc's closure fits in place");
        assert_eq!(task.address(), 0);
        assert_eq!(Arc::strong_count(&hits), 2);
        task.run();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(
            Arc::strong_count(&hits),
            1,
            "the capture was dropped after the run"
        );
    }

    #[test]
    fn a_dropped_task_drops_its_closure_unrun() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let small = Task::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let h = hits.clone();
        let big = [7u64; 8];
        let large = Task::new(move || {
            h.fetch_add(big.len(), Ordering::SeqCst);
        });
        assert!(is_boxed(&large), "64 bytes of captures do not fit in place");
        assert_eq!(Arc::strong_count(&hits), 3);
        drop(small);
        drop(large);
        assert_eq!(Arc::strong_count(&hits), 1);
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing ran");
    }

    #[test]
    fn three_words_fit_and_an_over_aligned_closure_is_boxed() {
        let (a, b, c) = (1usize, 2usize, Arc::new(AtomicUsize::new(0)));
        let out = c.clone();
        let three = Task::new(move || {
            c.fetch_add(a + b, Ordering::SeqCst);
        });
        assert!(!is_boxed(&three));
        three.run();
        assert_eq!(out.load(Ordering::SeqCst), 3);

        #[repr(align(32))]
        struct Aligned(u8);
        let aligned = Aligned(5);
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        let task = Task::new(move || {
            // The whole value, not just its field (closures capture fields precisely).
            let whole = aligned;
            s.fetch_add(usize::from(whole.0), Ordering::SeqCst);
        });
        assert!(is_boxed(&task), "a closure aligned above a word is boxed");
        task.run();
        assert_eq!(seen.load(Ordering::SeqCst), 5);

        let zst = Task::new(|| {});
        assert!(!is_boxed(&zst));
        zst.run();
    }

    #[test]
    fn a_job_keeps_its_box_and_its_address() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let job: Job = Box::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let address = address_of(&job);
        let task = Task::from(job);
        assert!(is_boxed(&task));
        assert_eq!(task.address(), address);
        let back = task.into_job();
        assert_eq!(
            address_of(&back),
            address,
            "the same box comes back, not a second one"
        );
        back();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn into_job_boxes_a_small_closure_that_still_runs() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let job = Task::new(move || {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .into_job();
        assert_eq!(Arc::strong_count(&hits), 2);
        job();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(Arc::strong_count(&hits), 1);
    }

    #[test]
    fn a_panicking_closure_unwinds_and_drops_its_captures_once() {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let task = Task::new(move || {
            let _keep = &h;
            panic!("inside a task");
        });
        let result = catch_unwind(AssertUnwindSafe(|| task.run()));
        assert!(result.is_err());
        assert_eq!(Arc::strong_count(&hits), 1, "dropped once, by the unwind");
    }

    #[test]
    fn a_task_is_four_words() {
        assert_eq!(mem::size_of::<Task>(), 4 * mem::size_of::<usize>());
    }
}
