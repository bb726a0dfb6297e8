//! Every public error travels with `?` into `Box<dyn Error + Send + Sync>` and into
//! `anyhow::Error`, crosses threads, and still hands back what it carries by value: a panic's
//! payload, a refused job. Error chains name each cause once.

use std::any::Any;
use std::error::Error;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use shoal_core::{
    handle_pair, BuildError, BuildErrorKind, PanicPayload, RejectReason, Rejected, ResizeError,
    TaskError,
};

type BoxError = Box<dyn Error + Send + Sync + 'static>;

fn assert_send_sync<T: Send + Sync + 'static>() {}

#[test]
fn every_error_is_send_sync_static() {
    assert_send_sync::<TaskError>();
    assert_send_sync::<PanicPayload>();
    assert_send_sync::<Rejected>();
    assert_send_sync::<BuildError>();
    assert_send_sync::<ResizeError>();
}

/// A payload `panic!` would not produce: neither `&str` nor `String`.
#[derive(Debug, PartialEq)]
struct Code(u32);

fn panicked_with(payload: Box<dyn Any + Send>) -> TaskError {
    let (completer, handle) = handle_pair::<()>();
    let caught = catch_unwind(AssertUnwindSafe(move || {
        completer.run(move || resume_unwind(payload))
    }));
    assert!(caught.is_err(), "Completer::run resumes the job's panic");
    handle.join().expect_err("the job panicked")
}

fn rejected(ran: &Arc<AtomicBool>) -> Rejected {
    let ran = ran.clone();
    Rejected::new(
        RejectReason::Full,
        Box::new(move || ran.store(true, Ordering::SeqCst)),
    )
}

fn into_box(err: impl Error + Send + Sync + 'static) -> Result<(), BoxError> {
    Err(err)?
}

fn into_anyhow(err: impl Error + Send + Sync + 'static) -> anyhow::Result<()> {
    Err(err)?
}

#[test]
fn question_mark_into_box_dyn_error_send_sync() {
    let err = into_box(panicked_with(Box::new("boom"))).unwrap_err();
    assert_eq!(err.to_string(), "the job panicked: boom");
    // The box still holds the TaskError, payload and all.
    let task = err.downcast::<TaskError>().expect("a TaskError");
    assert_eq!(task.panic_message(), Some("boom"));

    let ran = Arc::new(AtomicBool::new(false));
    let err = into_box(rejected(&ran)).unwrap_err();
    let refused = err.downcast::<Rejected>().expect("a Rejected");
    (refused.into_job())();
    assert!(ran.load(Ordering::SeqCst), "the job came back whole");

    let err = into_box(BuildError::new(BuildErrorKind::ZeroWorkers, "workers(0)")).unwrap_err();
    assert!(err.to_string().contains("workers(0)"), "{err}");
    let err = into_box(ResizeError::Zero).unwrap_err();
    assert!(err.to_string().contains("resize to 0"), "{err}");
    let err = into_box(TaskError::Cancelled).unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
}

#[test]
fn question_mark_into_anyhow() {
    let err = into_anyhow(panicked_with(Box::new(String::from("formatted 7")))).unwrap_err();
    assert_eq!(err.to_string(), "the job panicked: formatted 7");
    let task = err.downcast::<TaskError>().expect("a TaskError");
    let payload = task.into_panic().expect("a panic");
    assert_eq!(*payload.downcast::<String>().unwrap(), "formatted 7");

    let ran = Arc::new(AtomicBool::new(false));
    let err = into_anyhow(rejected(&ran)).unwrap_err();
    assert!(err.to_string().contains("queue is full"), "{err}");
    let refused = err.downcast::<Rejected>().expect("a Rejected");
    assert!(refused.is_full());
    (refused.into_job())();
    assert!(ran.load(Ordering::SeqCst), "the job came back whole");

    let err = into_anyhow(BuildError::spawn(io::Error::other("no threads left"))).unwrap_err();
    assert_eq!(
        err.downcast_ref::<BuildError>().map(BuildError::kind),
        Some(BuildErrorKind::Spawn)
    );
    let err = into_anyhow(ResizeError::ShutDown).unwrap_err();
    assert!(err.to_string().contains("shutting down"), "{err}");
}

#[test]
fn payloads_come_back_by_value_of_every_kind() {
    let err = panicked_with(Box::new("static text"));
    assert_eq!(err.panic_message(), Some("static text"));
    assert_eq!(format!("{err:?}"), r#"Panicked("static text")"#);
    let payload = err.into_panic().expect("a panic");
    assert_eq!(*payload.downcast::<&str>().unwrap(), "static text");

    let mut err = panicked_with(Box::new(Code(42)));
    assert_eq!(err.panic_message(), None);
    assert_eq!(format!("{err:?}"), "Panicked(<non-string payload>)");
    assert_eq!(
        err.to_string(),
        "the job panicked (with a payload that is not a string)"
    );
    if let TaskError::Panicked(payload) = &mut err {
        assert_eq!(
            payload.get_mut().downcast_mut::<Code>(),
            Some(&mut Code(42))
        );
    }
    let payload = err.into_panic().expect("a panic");
    assert_eq!(*payload.downcast::<Code>().unwrap(), Code(42));

    assert!(TaskError::Cancelled
        .into_panic()
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn errors_cross_threads_by_reference_and_by_value() {
    let err = Arc::new(panicked_with(Box::new(Code(7))));
    let shared = err.clone();
    let seen = thread::spawn(move || shared.is_panic() && shared.panic_message().is_none())
        .join()
        .unwrap();
    assert!(seen);
    drop(err);

    let ran = Arc::new(AtomicBool::new(false));
    let refused = rejected(&ran);
    thread::scope(|s| {
        s.spawn(|| assert_eq!(refused.reason(), RejectReason::Full));
    });
    let job = thread::spawn(move || refused.into_job()).join().unwrap();
    job();
    assert!(ran.load(Ordering::SeqCst));
}

/// Walks `err`'s chain the way error reporters do: each message once, outermost first.
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
fn os_errors_are_the_source_and_not_repeated() {
    let os = || io::Error::other("no threads left");
    let build = BuildError::spawn(os());
    let links = chain(&build);
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links[1], "no threads left");
    assert!(!links[0].contains("no threads left"), "{links:?}");

    let resize = ResizeError::Spawn {
        started: 2,
        source: os(),
    };
    let links = chain(&resize);
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        links[0].contains("after starting 2 new worker(s)"),
        "{links:?}"
    );
    assert!(!links[0].contains("no threads left"), "{links:?}");
}
