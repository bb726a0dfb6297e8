//! Choosing a strategy at run time: [`Strategy`], its builder and its error.
//!
//! `shoal::Pool` fixes the strategy when the program is compiled. [`Strategy`] picks one when it
//! runs, from a command-line flag or an environment variable, and builds it as a
//! `Box<dyn Executor>`. Only the strategies whose cargo features are on can be built; asking
//! for another one is an error that names the feature to enable.

use std::fmt;
use std::str::FromStr;

use shoal_core::{BuildError, Executor, PoolConfig};

/// A scheduling strategy: which pool to build.
///
/// Every variant exists in every build, so `match`es and configuration files do not depend on
/// cargo features; [`Strategy::is_enabled`] says whether this build can run it, and
/// [`Strategy::build`] refuses one that it cannot.
///
/// Parse one from text with [`str::parse`] (names are case-insensitive; see
/// [`Strategy::from_str`] for the aliases). Parsing refuses a strategy this build does not
/// have, so a typo or a missing feature shows up where the name is read, not later:
///
/// ```
/// use shoal::{Strategy, StrategyErrorKind};
///
/// for strategy in Strategy::enabled() {
///     assert_eq!(strategy.name().parse::<Strategy>().unwrap(), *strategy);
/// }
/// let err = "fifo".parse::<Strategy>().unwrap_err();
/// assert_eq!(err.kind(), StrategyErrorKind::Unknown);
/// assert!(err.to_string().contains("expected one of queue, steal, scope"));
///
/// for strategy in Strategy::ALL.into_iter().filter(|s| !s.is_enabled()) {
///     let err = strategy.name().parse::<Strategy>().unwrap_err();
///     assert_eq!(err.kind(), StrategyErrorKind::Disabled(strategy));
///     assert!(err.to_string().contains("enable shoal's cargo feature"));
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Strategy {
    /// `SharedQueuePool`: N workers pulling from one shared FIFO queue.
    /// Cargo feature `queue`.
    Queue,
    /// `WorkStealingPool`: a deque per worker plus a global injector; idle workers steal.
    /// Cargo feature `steal`.
    Steal,
    /// `ScopedPool`: fork-join (`join`, `scope`, parallel slices). Each worker keeps the
    /// second halves of its joins on a private stack and moves one to a shared injector only
    /// when another thread is idle and hungry for work.
    /// Cargo feature `scope`.
    Scope,
}

/// The strategies compiled into this build, in precedence order (the first is the one
/// `shoal::Pool` is).
const ENABLED: &[Strategy] = &[
    #[cfg(feature = "steal")]
    Strategy::Steal,
    #[cfg(feature = "queue")]
    Strategy::Queue,
    #[cfg(feature = "scope")]
    Strategy::Scope,
];

impl Strategy {
    /// Every strategy shoal has, enabled in this build or not.
    pub const ALL: [Strategy; 3] = [Strategy::Queue, Strategy::Steal, Strategy::Scope];

    /// The strategies this build can run, in the precedence order that picks `shoal::Pool`
    /// (`steal`, then `queue`, then `scope`).
    ///
    /// ```
    /// for s in shoal::Strategy::enabled() {
    ///     assert!(s.is_enabled());
    /// }
    /// assert_eq!(shoal::Strategy::enabled()[0], shoal::Strategy::default());
    /// ```
    pub fn enabled() -> &'static [Strategy] {
        ENABLED
    }

    /// `true` when this build has the strategy's cargo feature on.
    pub fn is_enabled(self) -> bool {
        ENABLED.contains(&self)
    }

    /// The short name, which is also the cargo feature: `"queue"`, `"steal"` or `"scope"`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Queue => "queue",
            Strategy::Steal => "steal",
            Strategy::Scope => "scope",
        }
    }

    /// The cargo feature of shoal that compiles this strategy in.
    pub fn feature(self) -> &'static str {
        self.name()
    }

    /// The name of the pool type this strategy builds.
    pub fn pool_name(self) -> &'static str {
        match self {
            Strategy::Queue => "SharedQueuePool",
            Strategy::Steal => "WorkStealingPool",
            Strategy::Scope => "ScopedPool",
        }
    }

    /// Reads the strategy from the environment variable `var` (e.g. `"SHOAL_STRATEGY"`).
    ///
    /// Unset or empty gives [`Strategy::default`] (the strategy of `shoal::Pool`); a value that
    /// names no strategy, or one not compiled into this build, is an error saying so.
    ///
    /// ```
    /// let strategy = shoal::Strategy::from_env("SHOAL_EXAMPLE_UNSET_VARIABLE").unwrap();
    /// assert_eq!(strategy, shoal::Strategy::default());
    /// ```
    pub fn from_env(var: &str) -> Result<Strategy, StrategyError> {
        match std::env::var(var) {
            Err(std::env::VarError::NotPresent) => Ok(Strategy::default()),
            Err(std::env::VarError::NotUnicode(value)) => Err(StrategyError::new(
                StrategyErrorKind::Unknown,
                format!(
                    "{var}={value:?} is not valid UTF-8; expected one of {}",
                    names(Strategy::ALL.iter().copied())
                ),
            )),
            Ok(value) if value.trim().is_empty() => Ok(Strategy::default()),
            Ok(value) => value.parse().map_err(|e: StrategyError| StrategyError {
                detail: format!("{var}: {}", e.detail),
                ..e
            }),
        }
    }

    /// Builds this strategy's pool with `workers` threads and every other setting at its
    /// default. Shorthand for `self.builder().workers(workers).build()`.
    ///
    /// ```
    /// use shoal::{ExecutorExt, Strategy};
    ///
    /// for strategy in Strategy::enabled() {
    ///     let pool = strategy.build(2)?;
    ///     assert_eq!(pool.spawn(|| 6 * 7)?.join().unwrap(), 42);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self, workers: usize) -> Result<Box<dyn Executor>, StrategyError> {
        self.builder().workers(workers).build()
    }

    /// A builder with the settings every shoal pool shares.
    pub fn builder(self) -> StrategyBuilder {
        StrategyBuilder {
            strategy: self,
            config: PoolConfig::new(),
            lifo_slot: false,
        }
    }

    /// Checks that this build has the strategy; the error names the feature to enable.
    pub fn check_enabled(self) -> Result<Strategy, StrategyError> {
        if self.is_enabled() {
            Ok(self)
        } else {
            Err(StrategyError::new(
                StrategyErrorKind::Disabled(self),
                format!(
                    "strategy `{}` ({}) is not compiled into this build: enable shoal's cargo \
                     feature `{}` (this build has: {})",
                    self.name(),
                    self.pool_name(),
                    self.feature(),
                    names(ENABLED.iter().copied()),
                ),
            ))
        }
    }
}

impl Default for Strategy {
    /// The strategy `shoal::Pool` is: the first enabled one of `steal`, `queue`, `scope`.
    fn default() -> Strategy {
        ENABLED[0]
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = StrategyError;

    /// Parses a strategy name, ignoring case, surrounding spaces, and `-`/`_`/spaces inside.
    ///
    /// | strategy | accepted names |
    /// |---|---|
    /// | `Queue` | `queue`, `shared-queue`, `shared_queue`, `SharedQueuePool`, `fifo-queue` |
    /// | `Steal` | `steal`, `stealing`, `work-stealing`, `WorkStealingPool` |
    /// | `Scope` | `scope`, `scoped`, `fork-join`, `ScopedPool` |
    ///
    /// An unknown name is [`StrategyErrorKind::Unknown`]; a strategy this build does not have
    /// is [`StrategyErrorKind::Disabled`]. Both errors list what is valid.
    fn from_str(s: &str) -> Result<Strategy, StrategyError> {
        let key: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        let strategy = match key.as_str() {
            "queue" | "sharedqueue" | "sharedqueuepool" | "fifoqueue" => Strategy::Queue,
            "steal" | "stealing" | "workstealing" | "workstealingpool" => Strategy::Steal,
            "scope" | "scoped" | "forkjoin" | "scopedpool" => Strategy::Scope,
            _ => {
                return Err(StrategyError::new(
                    StrategyErrorKind::Unknown,
                    format!(
                        "unknown strategy {s:?}: expected one of {} (this build has: {})",
                        names(Strategy::ALL.iter().copied()),
                        names(ENABLED.iter().copied()),
                    ),
                ))
            }
        };
        strategy.check_enabled()
    }
}

fn names(strategies: impl Iterator<Item = Strategy>) -> String {
    strategies
        .map(Strategy::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Settings every shoal pool shares, for a strategy chosen at run time.
///
/// Mirrors each pool's own builder: `workers`, `queue_capacity`, `thread_name`,
/// `stack_size`, `panic_handler`.
///
/// ```
/// use shoal::{Executor, ExecutorExt, Shutdown, Strategy};
///
/// let pool = Strategy::default()
///     .builder()
///     .workers(2)
///     .queue_capacity(16)
///     .thread_name("demo")
///     .build()?;
/// let sum: u64 = pool.map(1..=10u64, |x| x * x).map(Result::unwrap).sum();
/// assert_eq!(sum, 385);
/// assert!(pool.shutdown(Shutdown::Graceful).adds_up());
/// # Ok::<(), shoal::StrategyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct StrategyBuilder {
    strategy: Strategy,
    config: PoolConfig,
    lifo_slot: bool,
}

impl StrategyBuilder {
    shoal_core::pool_settings!();

    /// The work-stealing pool's LIFO slot (see `shoal_steal::Builder::lifo_slot`). The other
    /// strategies have no such slot and ignore the setting.
    pub fn lifo_slot(mut self, enabled: bool) -> Self {
        self.lifo_slot = enabled;
        self
    }

    /// Builds the pool, or says why not: the strategy is not compiled in
    /// ([`StrategyErrorKind::Disabled`]) or the settings are invalid
    /// ([`StrategyErrorKind::Build`], with the pool's [`BuildError`] as the source).
    pub fn build(self) -> Result<Box<dyn Executor>, StrategyError> {
        let strategy = self.strategy.check_enabled()?;
        build_enabled(strategy, self.config, self.lifo_slot).map_err(|err| StrategyError {
            kind: StrategyErrorKind::Build,
            detail: format!(
                "cannot build the `{}` strategy's pool ({})",
                strategy.name(),
                strategy.pool_name()
            ),
            source: Some(err),
        })
    }
}

/// Builds an enabled strategy's pool from one configuration: every pool's builder takes the
/// same [`PoolConfig`]. `shoal::Pool` builds through here too.
pub(crate) fn build_enabled(
    strategy: Strategy,
    config: PoolConfig,
    lifo_slot: bool,
) -> Result<Box<dyn Executor>, BuildError> {
    // Unused only in a build with no strategy, which lib.rs's compile_error! stops anyway.
    let _ = (&config, lifo_slot);
    Ok(match strategy {
        #[cfg(feature = "queue")]
        Strategy::Queue => Box::new(
            shoal_queue::SharedQueuePool::builder()
                .config(config)
                .build()?,
        ),
        #[cfg(feature = "steal")]
        Strategy::Steal => Box::new(
            shoal_steal::WorkStealingPool::builder()
                .config(config)
                .lifo_slot(lifo_slot)
                .build()?,
        ),
        #[cfg(feature = "scope")]
        Strategy::Scope => Box::new(shoal_scope::ScopedPool::builder().config(config).build()?),
        #[allow(unreachable_patterns)]
        other => unreachable!("a disabled strategy reached the builder: {other}"),
    })
}

/// What kind of problem a [`StrategyError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StrategyErrorKind {
    /// The text names no strategy.
    Unknown,
    /// The strategy exists but its cargo feature is off in this build.
    Disabled(Strategy),
    /// The pool refused its settings (zero workers, `queue_capacity(0)`, ...) or the OS
    /// refused a thread; the [`BuildError`] is the error's `source()`.
    Build,
}

/// A strategy could not be parsed or built. Opaque, with a [`kind`](StrategyError::kind);
/// its `Display` says what is valid and what to do.
///
/// A build failure keeps the pool's [`BuildError`] as its `source()` and does not repeat it in
/// its own text, so error-chain printers show each cause once. `Debug` prints the message and
/// its causes, which is what `fn main() -> Result<(), StrategyError>` shows on failure
/// (`{:#?}` gives the fields):
///
/// ```
/// let err = shoal::Strategy::default().build(0).err().unwrap();
/// assert_eq!(
///     format!("{err:?}"),
///     format!(
///         "cannot build the `{}` strategy's pool ({})\n\nCaused by:\n    \
///          cannot build the pool: workers(0): a pool needs at least one worker",
///         shoal::Strategy::default(),
///         shoal::Strategy::default().pool_name(),
///     ),
/// );
/// ```
pub struct StrategyError {
    kind: StrategyErrorKind,
    detail: String,
    source: Option<BuildError>,
}

impl StrategyError {
    fn new(kind: StrategyErrorKind, detail: String) -> StrategyError {
        StrategyError {
            kind,
            detail,
            source: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> StrategyErrorKind {
        self.kind
    }

    /// The pool's own error, for [`StrategyErrorKind::Build`].
    pub fn build_error(&self) -> Option<&BuildError> {
        self.source.as_ref()
    }
}

impl From<BuildError> for StrategyError {
    /// A [`StrategyErrorKind::Build`] error whose source is `err`.
    fn from(err: BuildError) -> StrategyError {
        StrategyError {
            kind: StrategyErrorKind::Build,
            detail: "cannot build the strategy's pool".to_owned(),
            source: Some(err),
        }
    }
}

impl fmt::Display for StrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl fmt::Debug for StrategyError {
    /// The message and its chain of causes, one per paragraph (the shape `anyhow` prints);
    /// `{:#?}` gives the fields instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("StrategyError")
                .field("kind", &self.kind)
                .field("detail", &self.detail)
                .field("source", &self.source)
                .finish();
        }
        f.write_str(&self.detail)?;
        let mut cause = std::error::Error::source(self);
        if cause.is_some() {
            f.write_str("\n\nCaused by:")?;
        }
        while let Some(err) = cause {
            write!(f, "\n    {err}")?;
            cause = err.source();
        }
        Ok(())
    }
}

impl std::error::Error for StrategyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

// `?` takes it into `Box<dyn Error + Send + Sync>` and `anyhow::Error`. Checked when the crate
// compiles.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<StrategyError>();
    assert_send_sync::<StrategyErrorKind>();
};
