//! The one trait every contender implements, and the capabilities workloads ask for.
//!
//! Workloads need different things from a pool: the spawn workloads need fire-and-forget
//! spawning from anywhere, fork-join needs `join`, the data-parallel ones need "run these `n`
//! jobs and wait", the result queue needs an ordered `map`. A contender offers the
//! capabilities its library really has, in that library's own idiom (rayon's `par_iter`,
//! `ScopedPool::par_map`, the classic channel-of-results for `threadpool`), and says in
//! [`Info::caps`] which ones; a workload whose capability a contender lacks is reported as
//! "n/a", never emulated behind its back.
//!
//! The capability methods are generic (no boxing that a library would not do itself), so the
//! traits are not object-safe; [`crate::contenders::ContenderId`] dispatches to the concrete
//! types with a visitor instead.

use std::fmt;
use std::sync::mpsc;
use std::sync::Arc;

use crate::latch::Latch;

/// Who a contender belongs to; the report compares shoal against the best peer and against
/// the sequential baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// One of shoal's strategies.
    Shoal,
    /// A library a user would pick instead.
    Peer,
    /// The same work on one thread, no pool at all.
    Sequential,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Shoal => "shoal",
            Family::Peer => "peer",
            Family::Sequential => "sequential",
        })
    }
}

/// What a workload asks of a contender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// [`Spawn`]: fire-and-forget jobs, from outside the pool or from inside a worker.
    Spawn,
    /// [`ForkJoin`]: `join(a, b)` callable recursively inside the pool.
    ForkJoin,
    /// [`Batch`]: run `n` independent jobs and wait for all of them.
    Batch,
    /// [`OrderedMap`]: map a vector to a vector of results, in input order.
    OrderedMap,
}

/// A contender's name, family and what it offers.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// The id used on the command line and in the JSON (`shoal-queue`, `rayon`, ...).
    pub id: &'static str,
    /// One line: which API each capability maps to.
    pub about: &'static str,
    /// Shoal, peer or the sequential baseline.
    pub family: Family,
    /// The capabilities the contender implements.
    pub caps: &'static [Capability],
}

impl Info {
    /// `true` if the contender offers `cap`.
    pub fn has(&self, cap: Capability) -> bool {
        self.caps.contains(&cap)
    }
}

/// Fire-and-forget spawning. The spawner is a cheap handle that jobs carry along, so a job can
/// spawn more jobs from inside a worker.
pub trait Spawn: Clone + Send + 'static {
    /// Runs `job` on the pool some time later.
    fn spawn<F: FnOnce() + Send + 'static>(&self, job: F);
}

/// One side of a [`ForkJoin::join`]: runs once, possibly on another thread, and may borrow
/// from the caller's stack.
pub trait Branch<R>: FnOnce() -> R + Send {}

impl<R, F: FnOnce() -> R + Send> Branch<R> for F {}

/// Fork-join: `join` runs two closures, potentially in parallel, and returns both results.
pub trait ForkJoin: Sync {
    /// Runs `f` inside the pool (on one of its workers) and returns its result.
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R;

    /// Runs `a` and `b`, potentially in parallel. Called from inside [`install`](ForkJoin::install).
    fn join<RA: Send, RB: Send>(&self, a: impl Branch<RA>, b: impl Branch<RB>) -> (RA, RB);
}

/// A batch of independent jobs: `job(i)` for each `i` in `0..n`, returning when all ran.
pub trait Batch: Sync {
    /// Runs the batch; how it is split into pool jobs is the library's idiom.
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, n: usize, job: F);
}

/// The function of an [`OrderedMap`]: shared by every job of the map, so `Sync` and `'static`.
pub trait MapFn<T, R>: Fn(T) -> R + Send + Sync + 'static {}

impl<T, R, F: Fn(T) -> R + Send + Sync + 'static> MapFn<T, R> for F {}

/// The result queue: `f` over every item, results in input order.
pub trait OrderedMap: Sync {
    /// Maps `items` through `f` on the pool.
    fn map_ordered<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static;

    /// The same map with its results in any order: the library's unordered result queue
    /// where it has one (shoal's `ExecutorExt::map_unordered`), its ordered map otherwise.
    fn map_any_order<T, R>(&self, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        self.map_ordered(items, f)
    }
}

/// A pool (or the sequential baseline) under test.
///
/// `build` happens outside the timed region; `close` joins the pool's threads where the
/// library allows it, so one contender's threads never steal time from the next. The
/// contenders of this crate write `INFO` and the views with one `offers!` list.
pub trait Contender: Sized + Send + Sync + 'static {
    /// Name, family and capabilities.
    const INFO: Info;

    /// Builds the pool with `workers` threads.
    fn build(workers: usize) -> Result<Self, String>;

    /// The [`Spawn`] handle, if [`Capability::Spawn`] is offered.
    fn spawner(&self) -> Option<impl Spawn> {
        None::<Unsupported>
    }

    /// The [`ForkJoin`] view, if [`Capability::ForkJoin`] is offered.
    fn fork_join(&self) -> Option<&impl ForkJoin> {
        None::<&Unsupported>
    }

    /// The [`Batch`] view, if [`Capability::Batch`] is offered.
    fn batch(&self) -> Option<&impl Batch> {
        None::<&Unsupported>
    }

    /// The [`OrderedMap`] view, if [`Capability::OrderedMap`] is offered.
    fn mapper(&self) -> Option<&impl OrderedMap> {
        None::<&Unsupported>
    }

    /// Shuts the pool down and waits for its threads where the library can.
    fn close(self) {}
}

/// Writes, inside `impl Contender for ...`, the contender's `INFO` and one view method per
/// capability it offers, from one list: so the capabilities a contender claims in
/// [`Info::caps`] are exactly the views it has. `self` comes first because a macro can only use
/// the `self` it is handed; each capability names the value its view returns.
///
/// ```text
/// offers! {
///     self,
///     id: "rayon",
///     about: "rayon::ThreadPool: spawn, join, par_iter().for_each, par_iter().map().collect()",
///     family: Peer,
///     Spawn: self.pool.clone(),
///     ForkJoin: self,
///     Batch: self,
///     OrderedMap: self,
/// }
/// ```
macro_rules! offers {
    (
        $this:ident,
        id: $id:expr,
        about: $about:expr,
        family: $family:ident,
        $($cap:ident: $view:expr),+ $(,)?
    ) => {
        const INFO: $crate::contender::Info = $crate::contender::Info {
            id: $id,
            about: $about,
            family: $crate::contender::Family::$family,
            caps: &[$($crate::contender::Capability::$cap),+],
        };
        $($crate::contender::offers!(@view $this, $cap, $view);)+
    };
    (@view $this:ident, Spawn, $view:expr) => {
        fn spawner(&$this) -> Option<impl $crate::contender::Spawn> {
            Some($view)
        }
    };
    (@view $this:ident, ForkJoin, $view:expr) => {
        fn fork_join(&$this) -> Option<&impl $crate::contender::ForkJoin> {
            Some($view)
        }
    };
    (@view $this:ident, Batch, $view:expr) => {
        fn batch(&$this) -> Option<&impl $crate::contender::Batch> {
            Some($view)
        }
    };
    (@view $this:ident, OrderedMap, $view:expr) => {
        fn mapper(&$this) -> Option<&impl $crate::contender::OrderedMap> {
            Some($view)
        }
    };
}
pub(crate) use offers;

/// The type behind a capability a contender does not have. It has no values, so its methods
/// can never run.
#[derive(Debug, Clone, Copy)]
pub enum Unsupported {}

impl Spawn for Unsupported {
    fn spawn<F: FnOnce() + Send + 'static>(&self, _: F) {
        match *self {}
    }
}

impl ForkJoin for Unsupported {
    fn install<R: Send, F: FnOnce() -> R + Send>(&self, _: F) -> R {
        match *self {}
    }
    fn join<RA: Send, RB: Send>(&self, _: impl Branch<RA>, _: impl Branch<RB>) -> (RA, RB) {
        match *self {}
    }
}

impl Batch for Unsupported {
    fn for_each_index<F: Fn(usize) + Send + Sync + 'static>(&self, _: usize, _: F) {
        match *self {}
    }
}

impl OrderedMap for Unsupported {
    fn map_ordered<T, R>(&self, _: Vec<T>, _: impl MapFn<T, R>) -> Vec<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
    {
        match *self {}
    }
}

/// [`Batch`] for a pool that only spawns: one job per index, and a [`Latch`] to wait on.
/// This is what a user of such a pool writes by hand.
pub fn spawn_batch<S, F>(spawner: &S, n: usize, job: F)
where
    S: Spawn,
    F: Fn(usize) + Send + Sync + 'static,
{
    let job = Arc::new(job);
    let latch = Latch::new(n);
    for i in 0..n {
        let job = job.clone();
        let latch = latch.clone();
        spawner.spawn(move || {
            job(i);
            latch.count_down();
        });
    }
    latch.wait();
}

/// [`OrderedMap`] for a pool that only spawns: the classic worker-pool pattern, one job per
/// item sending `(index, result)` back on a channel, and the caller putting results in place.
pub fn channel_map<S, T, R>(spawner: &S, items: Vec<T>, f: impl MapFn<T, R>) -> Vec<R>
where
    S: Spawn,
    T: Send + 'static,
    R: Send + 'static,
{
    let n = items.len();
    let f = Arc::new(f);
    let (tx, rx) = mpsc::channel();
    for (i, item) in items.into_iter().enumerate() {
        let f = f.clone();
        let tx = tx.clone();
        spawner.spawn(move || {
            // The receiver lives until every result arrived; a send cannot fail.
            let _ = tx.send((i, f(item)));
        });
    }
    drop(tx);
    let mut slots: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for (i, r) in rx.iter().take(n) {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.expect("every job sends exactly one result"))
        .collect()
}
