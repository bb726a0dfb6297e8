//! The facade under whatever strategy features this build has: `Pool` follows the documented
//! precedence, `Strategy` parses, refuses what is not compiled in, and builds working pools.
//! `cargo xtask features` runs this file once per feature set.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use shoal::{
    BuildErrorKind, Executor, ExecutorExt, Pool, Shutdown, Strategy, StrategyErrorKind, TaskError,
};

#[test]
fn pool_is_the_first_enabled_strategy() {
    let expected = if cfg!(feature = "steal") {
        Strategy::Steal
    } else if cfg!(feature = "queue") {
        Strategy::Queue
    } else {
        Strategy::Scope
    };
    assert_eq!(Strategy::default(), expected);
    assert_eq!(Strategy::enabled()[0], expected);
    // One type in every feature set; what runs behind it is the first enabled strategy.
    let pool = Pool::new(1).expect("pool");
    assert_eq!(pool.strategy(), expected);
    assert_eq!(std::any::type_name::<Pool>(), "shoal::pool::Pool");
}

#[test]
fn enabled_lists_exactly_the_features_on() {
    let on = [
        (Strategy::Queue, cfg!(feature = "queue")),
        (Strategy::Steal, cfg!(feature = "steal")),
        (Strategy::Scope, cfg!(feature = "scope")),
    ];
    for (strategy, feature_on) in on {
        assert_eq!(strategy.is_enabled(), feature_on, "{strategy}");
        assert_eq!(Strategy::enabled().contains(&strategy), feature_on);
    }
}

#[test]
fn pool_runs_jobs_and_shuts_down() {
    let pool = Pool::new(2).unwrap();
    let results: Vec<u64> = pool.map(0..100u64, |x| x * 2).map(Result::unwrap).collect();
    assert_eq!(results, (0..100).map(|x| x * 2).collect::<Vec<_>>());
    let report = pool.shutdown(Shutdown::Graceful);
    assert!(report.adds_up(), "{report:?}");
    // `map` hands items to jobs in chunks: every job it submitted completed.
    assert!(report.completed >= 1, "{report:?}");
    assert_eq!(report.completed, report.submitted, "{report:?}");
}

#[test]
fn pool_builder_has_the_shared_shape() {
    let pool = Pool::builder()
        .workers(2)
        .queue_capacity(8)
        .thread_name("facade-test")
        .stack_size(256 * 1024)
        .panic_handler(|_| {})
        .build()
        .unwrap();
    let name = pool
        .spawn(|| std::thread::current().name().map(str::to_owned))
        .unwrap()
        .join()
        .unwrap();
    assert!(name.unwrap().starts_with("facade-test"));
    let _: shoal::PoolBuilder = Pool::builder();
}

#[test]
fn every_enabled_strategy_builds_a_working_executor() {
    for strategy in Strategy::enabled() {
        let panics = Arc::new(AtomicUsize::new(0));
        let seen = panics.clone();
        let pool: Box<dyn Executor> = strategy
            .builder()
            .workers(3)
            .queue_capacity(16)
            .thread_name(format!("rt-{strategy}"))
            .panic_handler(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap_or_else(|e| panic!("{strategy}: {e}"));
        assert_eq!(pool.workers(), 3, "{strategy}");
        let sum: u64 = pool.map(1..=100u64, |x| x).map(Result::unwrap).sum();
        assert_eq!(sum, 5050, "{strategy}");
        let err = pool
            .spawn(|| panic!("on purpose"))
            .unwrap()
            .join()
            .unwrap_err();
        assert!(matches!(err, TaskError::Panicked(_)), "{strategy}");
        assert_eq!(err.panic_message(), Some("on purpose"), "{strategy}");
        let report = pool.shutdown(Shutdown::Graceful);
        assert!(report.adds_up(), "{strategy}: {report:?}");
        assert_eq!(
            panics.load(Ordering::SeqCst),
            1,
            "{strategy}: panic_handler"
        );
    }
}

#[test]
fn disabled_strategies_are_a_clear_error() {
    for strategy in Strategy::ALL.into_iter().filter(|s| !s.is_enabled()) {
        let err = strategy
            .build(2)
            .err()
            .expect("a disabled strategy must not build");
        assert_eq!(err.kind(), StrategyErrorKind::Disabled(strategy));
        let text = err.to_string();
        assert!(
            text.contains(&format!("feature `{}`", strategy.feature())),
            "{text}"
        );
        let err = strategy.name().parse::<Strategy>().unwrap_err();
        assert_eq!(err.kind(), StrategyErrorKind::Disabled(strategy));
    }
}

#[test]
fn parse_accepts_aliases_and_lists_valid_names() {
    let cases = [
        ("queue", Strategy::Queue),
        (" Shared-Queue ", Strategy::Queue),
        ("SharedQueuePool", Strategy::Queue),
        ("steal", Strategy::Steal),
        ("work_stealing", Strategy::Steal),
        ("WorkStealingPool", Strategy::Steal),
        ("scope", Strategy::Scope),
        ("fork-join", Strategy::Scope),
        ("ScopedPool", Strategy::Scope),
    ];
    for (text, strategy) in cases {
        match text.parse::<Strategy>() {
            Ok(parsed) => assert_eq!(parsed, strategy, "{text:?}"),
            Err(e) => {
                assert!(!strategy.is_enabled(), "{text:?}: {e}");
                assert_eq!(e.kind(), StrategyErrorKind::Disabled(strategy));
            }
        }
    }
    for bad in ["", "rayon", "queue2", "steal scope"] {
        let err = bad.parse::<Strategy>().unwrap_err();
        assert_eq!(err.kind(), StrategyErrorKind::Unknown, "{bad:?}");
        let text = err.to_string();
        assert!(
            text.contains("expected one of queue, steal, scope"),
            "{text}"
        );
        assert!(text.contains("this build has:"), "{text}");
    }
    for s in Strategy::ALL {
        assert_eq!(s.to_string(), s.name());
    }
}

#[test]
fn from_env_reads_the_variable() {
    // Each case uses its own variable: tests run in parallel and share the environment.
    assert_eq!(
        Strategy::from_env("SHOAL_TEST_STRATEGY_UNSET").unwrap(),
        Strategy::default()
    );
    std::env::set_var("SHOAL_TEST_STRATEGY_EMPTY", "  ");
    assert_eq!(
        Strategy::from_env("SHOAL_TEST_STRATEGY_EMPTY").unwrap(),
        Strategy::default()
    );
    std::env::set_var("SHOAL_TEST_STRATEGY_BAD", "fifo");
    let err = Strategy::from_env("SHOAL_TEST_STRATEGY_BAD").unwrap_err();
    assert_eq!(err.kind(), StrategyErrorKind::Unknown);
    assert!(
        err.to_string().starts_with("SHOAL_TEST_STRATEGY_BAD: "),
        "{err}"
    );
    let last = *Strategy::enabled().last().unwrap();
    std::env::set_var("SHOAL_TEST_STRATEGY_SET", last.name().to_uppercase());
    assert_eq!(Strategy::from_env("SHOAL_TEST_STRATEGY_SET").unwrap(), last);
}

#[test]
fn bad_settings_are_build_errors() {
    for strategy in Strategy::enabled() {
        let cases = [
            (strategy.builder().workers(0), BuildErrorKind::ZeroWorkers),
            (
                strategy.builder().workers(shoal::MAX_WORKERS + 1),
                BuildErrorKind::TooManyWorkers,
            ),
            (
                strategy.builder().workers(1).queue_capacity(0),
                BuildErrorKind::ZeroCapacity,
            ),
            (
                strategy.builder().workers(1).stack_size(0),
                BuildErrorKind::InvalidThreadConfig,
            ),
        ];
        for (builder, kind) in cases {
            let err = builder
                .build()
                .err()
                .expect("invalid settings must not build");
            assert_eq!(err.kind(), StrategyErrorKind::Build, "{strategy}");
            assert_eq!(err.build_error().unwrap().kind(), kind, "{strategy}");
            assert!(std::error::Error::source(&err).is_some());
        }
    }
}
