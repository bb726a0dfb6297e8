//! The facade's errors work with `?` into `Box<dyn Error + Send + Sync>` and `anyhow::Error`,
//! print readably from `main`, and name each cause once in an error chain.

use std::error::Error;

use shoal::{
    BuildError, BuildErrorKind, PanicPayload, RateLimit, RateLimitError, RateLimitErrorKind,
    Rejected, ResizeError, Strategy, StrategyError, StrategyErrorKind, TaskError,
};

fn assert_send_sync<T: Send + Sync + 'static>() {}

#[test]
fn every_public_error_is_send_sync_static() {
    assert_send_sync::<StrategyError>();
    assert_send_sync::<RateLimitError>();
    assert_send_sync::<TaskError>();
    assert_send_sync::<PanicPayload>();
    assert_send_sync::<Rejected>();
    assert_send_sync::<BuildError>();
    assert_send_sync::<ResizeError>();
}

fn build_boxed(strategy: Strategy) -> Result<(), Box<dyn Error + Send + Sync>> {
    strategy.build(0)?;
    Ok(())
}

fn build_anyhow(strategy: Strategy) -> anyhow::Result<()> {
    strategy.build(0)?;
    Ok(())
}

fn rate_anyhow() -> anyhow::Result<()> {
    RateLimit::per_second(0).validate()?;
    Ok(())
}

fn parse_boxed(text: &str) -> Result<Strategy, Box<dyn Error + Send + Sync>> {
    Ok(text.parse::<Strategy>()?)
}

#[test]
fn question_mark_into_box_and_anyhow() {
    let strategy = Strategy::default();
    let err = build_boxed(strategy).unwrap_err();
    let err = err.downcast::<StrategyError>().expect("a StrategyError");
    assert_eq!(err.kind(), StrategyErrorKind::Build);
    assert_eq!(
        err.build_error().map(BuildError::kind),
        Some(BuildErrorKind::ZeroWorkers)
    );

    let err = build_anyhow(strategy).unwrap_err();
    // anyhow's `{:#}` prints the chain on one line: each cause once.
    assert_eq!(
        format!("{err:#}"),
        format!(
            "cannot build the `{}` strategy's pool ({}): cannot build the pool: workers(0): a \
             pool needs at least one worker",
            strategy.name(),
            strategy.pool_name()
        )
    );
    assert!(err.downcast_ref::<StrategyError>().is_some());

    let err = rate_anyhow().unwrap_err();
    let rate = err
        .downcast_ref::<RateLimitError>()
        .expect("a RateLimitError");
    assert_eq!(rate.kind(), RateLimitErrorKind::ZeroRate);

    let err = parse_boxed("fifo").unwrap_err();
    assert!(err.to_string().contains("unknown strategy"), "{err}");
}

/// Each message of `err`'s chain, outermost first.
fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
    let mut out = vec![err.to_string()];
    let mut next = err.source();
    while let Some(cause) = next {
        out.push(cause.to_string());
        next = cause.source();
    }
    out
}

#[test]
fn a_build_error_is_named_once_in_the_chain() {
    for strategy in Strategy::enabled() {
        let err = strategy
            .builder()
            .workers(1)
            .queue_capacity(0)
            .build()
            .err()
            .expect("queue_capacity(0) must not build");
        let links = chain(&err);
        assert_eq!(links.len(), 2, "{strategy}: {links:?}");
        assert_eq!(
            links[0],
            format!(
                "cannot build the `{}` strategy's pool ({})",
                strategy.name(),
                strategy.pool_name()
            )
        );
        assert!(links[1].contains("queue_capacity(0)"), "{links:?}");
        assert!(!links[0].contains("queue_capacity"), "repeated: {links:?}");
    }
    // A `BuildError` turned into a `StrategyError` with `?` (the `From` impl) also keeps it as
    // the source only.
    let from: StrategyError = BuildError::new(BuildErrorKind::ZeroWorkers, "workers(0)").into();
    let links = chain(&from);
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(!links[0].contains("workers(0)"), "repeated: {links:?}");
}

/// What `fn main() -> Result<(), StrategyError>` prints is `Error: ` and the `Debug` form:
/// the message and its causes, not the struct's fields.
#[test]
fn main_prints_a_readable_error() {
    let err = "fifo".parse::<Strategy>().unwrap_err();
    assert_eq!(format!("{err:?}"), err.to_string());
    assert!(!format!("{err:?}").contains("detail"), "{err:?}");
    // The fields are still there for whoever asks.
    assert!(format!("{err:#?}").contains("kind: Unknown"), "{err:#?}");

    let strategy = Strategy::default();
    let err = strategy.build(0).err().expect("workers(0) must not build");
    assert_eq!(
        format!("{err:?}"),
        format!(
            "cannot build the `{}` strategy's pool ({})\n\nCaused by:\n    cannot build the \
             pool: workers(0): a pool needs at least one worker",
            strategy.name(),
            strategy.pool_name()
        )
    );
}
