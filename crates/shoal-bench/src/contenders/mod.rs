//! Every contender, and [`ContenderId`], which turns a name from the command line into a call
//! on the concrete type.
//!
//! | id | library | family |
//! |---|---|---|
//! | `sequential` | none: plain calls on one thread | baseline |
//! | `shoal-queue` | `SharedQueuePool` (feature `queue`) | shoal |
//! | `shoal-steal` | `WorkStealingPool` (feature `steal`) | shoal |
//! | `shoal-scope` | `ScopedPool` (feature `scope`) | shoal |
//! | `shoal-dyn` | `Box<dyn Executor>` holding a `WorkStealingPool`, as `Strategy::build` returns (feature `steal`) | shoal |
//! | `shoal-scope/ext` | `ScopedPool` through the `Executor` contract alone: `ExecutorExt::map`, `ExecutorExt::join` (feature `scope`) | shoal |
//! | `shoal-queue/scope` | `SharedQueuePool`, joins written with `ExecutorExt::scope` (feature `queue`) | shoal |
//! | `shoal-steal/scope` | `WorkStealingPool`, joins written with `ExecutorExt::scope` (feature `steal`) | shoal |
//! | `shoal-dyn/scope` | `Box<dyn Executor>` holding a `WorkStealingPool`, joins written with `ExecutorExt::scope` (feature `steal`) | shoal |
//! | `rayon` | `rayon::ThreadPool` | peer |
//! | `threadpool` | `threadpool::ThreadPool` | peer |
//! | `executors-channel` | `executors::crossbeam_channel_pool` | peer |
//! | `executors-steal` | `executors::crossbeam_workstealing_pool` | peer |
//! | `std-scope` | `std::thread::scope` with static chunks | peer |
//! | `tokio-blocking` | tokio's `spawn_blocking` | peer |
//! | `go-pool` | the seed's worker pool in Go (`go/`), its own process, when `go` is installed | peer |

use std::fmt;
use std::str::FromStr;

use crate::contender::{Contender, Info};

mod executors;
pub mod go;
mod rayon;
mod sequential;
mod std_scope;
mod threadpool;
mod tokio;

#[cfg(any(feature = "queue", feature = "steal", feature = "scope"))]
mod shoal;
#[cfg(any(feature = "queue", feature = "steal", feature = "scope"))]
mod shoal_exec;
#[cfg(feature = "scope")]
mod shoal_scope;
#[cfg(feature = "queue")]
mod shoal_sized;
#[cfg(any(feature = "queue", feature = "steal"))]
mod shoal_via_scope;

pub use self::executors::{ExecutorsChannel, ExecutorsSteal, Handle as ExecutorsHandle};
pub use self::go::{GoPool, GO_POOL};
pub use self::rayon::Rayon;
pub use self::sequential::Sequential;
pub use self::std_scope::StdScope;
pub use self::threadpool::{Handle as ThreadPoolHandle, ThreadPool};
pub use self::tokio::TokioBlocking;
#[cfg(any(feature = "queue", feature = "steal", feature = "scope"))]
pub use shoal::{Shoal, ShoalPool, ThroughContract};
#[cfg(any(feature = "queue", feature = "steal", feature = "scope"))]
pub use shoal_exec::ExecHandle;

/// `SharedQueuePool` through the `Executor` contract.
#[cfg(feature = "queue")]
pub type ShoalQueue = Shoal<shoal_queue::SharedQueuePool>;
/// `WorkStealingPool` through the `Executor` contract.
#[cfg(feature = "steal")]
pub type ShoalSteal = Shoal<shoal_steal::WorkStealingPool>;
/// A `WorkStealingPool` behind `Box<dyn Executor>`: every capability through the trait object.
#[cfg(feature = "steal")]
pub type ShoalDyn = Shoal<Box<dyn shoal_core::Executor>>;
#[cfg(feature = "queue")]
pub use shoal_sized::{Adaptive, Elastic, Policy, SelfSized, SIZED_MAX};
/// The shared-queue pool with `Sizing::elastic`.
#[cfg(feature = "queue")]
pub type ShoalElastic = SelfSized<Elastic>;
/// The shared-queue pool with `Sizing::adaptive`.
#[cfg(feature = "queue")]
pub type ShoalAdaptive = SelfSized<Adaptive>;
#[cfg(feature = "queue")]
pub use shoal_via_scope::ShoalQueueViaScope;
#[cfg(feature = "steal")]
pub use shoal_via_scope::{ShoalDynViaScope, ShoalStealViaScope};

/// `ScopedPool` in its own idiom (`join`, `par_for_each`, `par_map`); spawning through the
/// `Executor` contract.
#[cfg(feature = "scope")]
pub type ShoalScope = Shoal<::shoal_scope::ScopedPool>;

/// `ScopedPool` through the `Executor` contract alone: its result queue and `join` as any
/// strategy's.
#[cfg(feature = "scope")]
pub type ShoalScopeExt = Shoal<ThroughContract<::shoal_scope::ScopedPool>>;

/// Something to do with a concrete contender type, chosen at run time by [`ContenderId`].
pub trait ContenderVisitor {
    /// What the visit returns.
    type Output;
    /// Called with the contender's type.
    fn visit<C: Contender>(self) -> Self::Output;
}

/// A contender chosen by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContenderId {
    /// [`Sequential`].
    Sequential,
    /// [`ShoalQueue`].
    #[cfg(feature = "queue")]
    ShoalQueue,
    /// [`ShoalSteal`].
    #[cfg(feature = "steal")]
    ShoalSteal,
    /// [`ShoalScope`].
    #[cfg(feature = "scope")]
    ShoalScope,
    /// [`ShoalDyn`].
    #[cfg(feature = "steal")]
    ShoalDyn,
    /// [`ShoalScopeExt`].
    #[cfg(feature = "scope")]
    ShoalScopeExt,
    /// [`ShoalQueueViaScope`].
    #[cfg(feature = "queue")]
    ShoalQueueViaScope,
    /// [`ShoalStealViaScope`].
    #[cfg(feature = "steal")]
    ShoalStealViaScope,
    /// [`ShoalDynViaScope`].
    #[cfg(feature = "steal")]
    ShoalDynViaScope,
    /// [`ShoalElastic`].
    #[cfg(feature = "queue")]
    ShoalElastic,
    /// [`ShoalAdaptive`].
    #[cfg(feature = "queue")]
    ShoalAdaptive,
    /// [`Rayon`].
    Rayon,
    /// [`ThreadPool`].
    ThreadPool,
    /// [`ExecutorsChannel`].
    ExecutorsChannel,
    /// [`ExecutorsSteal`].
    ExecutorsSteal,
    /// [`StdScope`].
    StdScope,
    /// [`TokioBlocking`].
    TokioBlocking,
    /// [`GoPool`].
    GoPool,
}

impl ContenderId {
    /// Every contender compiled in, shoal's first.
    pub const ALL: &'static [ContenderId] = &[
        ContenderId::Sequential,
        #[cfg(feature = "queue")]
        ContenderId::ShoalQueue,
        #[cfg(feature = "steal")]
        ContenderId::ShoalSteal,
        #[cfg(feature = "scope")]
        ContenderId::ShoalScope,
        #[cfg(feature = "steal")]
        ContenderId::ShoalDyn,
        #[cfg(feature = "scope")]
        ContenderId::ShoalScopeExt,
        #[cfg(feature = "queue")]
        ContenderId::ShoalQueueViaScope,
        #[cfg(feature = "steal")]
        ContenderId::ShoalStealViaScope,
        #[cfg(feature = "steal")]
        ContenderId::ShoalDynViaScope,
        #[cfg(feature = "queue")]
        ContenderId::ShoalElastic,
        #[cfg(feature = "queue")]
        ContenderId::ShoalAdaptive,
        ContenderId::Rayon,
        ContenderId::ThreadPool,
        ContenderId::ExecutorsChannel,
        ContenderId::ExecutorsSteal,
        ContenderId::StdScope,
        ContenderId::TokioBlocking,
        ContenderId::GoPool,
    ];

    /// Calls `v` with the concrete type.
    pub fn visit<V: ContenderVisitor>(self, v: V) -> V::Output {
        match self {
            ContenderId::Sequential => v.visit::<Sequential>(),
            #[cfg(feature = "queue")]
            ContenderId::ShoalQueue => v.visit::<ShoalQueue>(),
            #[cfg(feature = "steal")]
            ContenderId::ShoalSteal => v.visit::<ShoalSteal>(),
            #[cfg(feature = "scope")]
            ContenderId::ShoalScope => v.visit::<ShoalScope>(),
            #[cfg(feature = "steal")]
            ContenderId::ShoalDyn => v.visit::<ShoalDyn>(),
            #[cfg(feature = "scope")]
            ContenderId::ShoalScopeExt => v.visit::<ShoalScopeExt>(),
            #[cfg(feature = "queue")]
            ContenderId::ShoalQueueViaScope => v.visit::<ShoalQueueViaScope>(),
            #[cfg(feature = "steal")]
            ContenderId::ShoalStealViaScope => v.visit::<ShoalStealViaScope>(),
            #[cfg(feature = "steal")]
            ContenderId::ShoalDynViaScope => v.visit::<ShoalDynViaScope>(),
            #[cfg(feature = "queue")]
            ContenderId::ShoalElastic => v.visit::<ShoalElastic>(),
            #[cfg(feature = "queue")]
            ContenderId::ShoalAdaptive => v.visit::<ShoalAdaptive>(),
            ContenderId::Rayon => v.visit::<Rayon>(),
            ContenderId::ThreadPool => v.visit::<ThreadPool>(),
            ContenderId::ExecutorsChannel => v.visit::<ExecutorsChannel>(),
            ContenderId::ExecutorsSteal => v.visit::<ExecutorsSteal>(),
            ContenderId::StdScope => v.visit::<StdScope>(),
            ContenderId::TokioBlocking => v.visit::<TokioBlocking>(),
            ContenderId::GoPool => v.visit::<GoPool>(),
        }
    }

    /// The contender's [`Info`].
    pub fn info(self) -> Info {
        struct GetInfo;
        impl ContenderVisitor for GetInfo {
            type Output = Info;
            fn visit<C: Contender>(self) -> Info {
                C::INFO
            }
        }
        self.visit(GetInfo)
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        self.info().id
    }
}

impl fmt::Display for ContenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a contender name was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownContender(pub String);

impl fmt::Display for UnknownContender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = ContenderId::ALL.iter().map(|c| c.name()).collect();
        write!(
            f,
            "unknown contender `{}`; choose from: {} (shoal-queue, shoal-steal and shoal-scope \
             need the crate features `queue`, `steal`, `scope`)",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownContender {}

impl FromStr for ContenderId {
    type Err = UnknownContender;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        ContenderId::ALL
            .iter()
            .copied()
            .find(|c| c.name() == wanted)
            .ok_or_else(|| UnknownContender(s.to_owned()))
    }
}
