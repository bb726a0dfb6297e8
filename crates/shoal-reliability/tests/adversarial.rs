//! Adversarial unwind safety: panicking destructors wherever a pool touches a user's value.
//!
//! A panic can start in more places than a job's body: in the destructor of a **panic
//! payload** (`panic_any(PanicOnDrop(..))`), of a value a closure **captured**, of a value a
//! job **returned**, and of a job a shutdown **cancels**. Each such panic lands in one of the
//! pools' own frames, between user code and the bookkeeping that keeps borrowed stack memory
//! alive (a scope's pending count, a join's latch, a worker's exit). The tests below put one
//! in every such place, on every path (join, native scope, the contract scope, spawn, map,
//! slices, install, shutdown) and check what the pools promise:
//!
//! - nothing hangs, aborts or crashes, and nothing is misreported (a task that ran is never
//!   reported cancelled; the first panic in time is the one resumed);
//! - a scope or a join never returns while a task or half that borrows its frame still runs;
//! - the pool is healthy afterwards: same `workers()`, joins, scopes and jobs still run, and
//!   every shutdown report adds up.
//!
//! A broken path may abort the process or touch freed memory, so every test runs its body in
//! a child process of its own ([`shoal_reliability::isolated`]): a crash fails that one test
//! with its signal and the child's stderr, and the others still report. Each body also runs
//! under the crate's watchdog, so a hang fails with the test's name.
//!
//! Every payload whose drop panics that comes back to a test (from `catch_unwind`, a handle,
//! a `map` result) is disposed of inside `catch_unwind`, and the test checks that disposing it
//! did panic: it really was the live bomb, and no test drops one bare.
#![cfg(not(any(shoal_shuttle, shoal_loom)))]

use std::any::Any;
use std::panic::{catch_unwind, panic_any, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use shoal_core::{
    panic_message, Executor, ExecutorExt, Scope as ContractScope, Shutdown, ShutdownReport,
    TaskError, CANCELLED_TASK_MESSAGE,
};
use shoal_reliability::{
    eventually, expected_panic, isolated, quiet_expected_panics, Gate, Opener, PanicOnDrop,
    PoolConfig, Strategy, EXPECTED,
};
use shoal_scope::{ForkScope as NativeScope, ScopedPool};

/// The watchdog limit of most tests (the parent allows a grace period on top).
const LIMIT: Duration = Duration::from_secs(20);
/// For tests that loop over every strategy, size and mode.
const LONG: Duration = Duration::from_secs(30);
/// The longest any single wait inside a test may take before it fails with a message.
const WAIT: Duration = Duration::from_secs(10);
/// How long a task that must come second waits after the first one's flag, so that the first
/// one's panic is surely recorded by then.
const MARGIN: Duration = Duration::from_millis(100);
/// How long a slow task takes: long enough that a scope returning early would see it unfinished.
const SLOW: Duration = Duration::from_millis(100);
/// How long the first half of a join waits for the second to start on another worker.
const STEAL_WAIT: Duration = Duration::from_secs(2);
/// How many times a join meant to run `b` on another worker is tried until it did.
const ELSEWHERE_TRIES: usize = 3;
/// The pause before each of those tries, for the other workers to go idle.
const SETTLE: Duration = Duration::from_millis(5);
/// Every shutdown mode.
const MODES: [Shutdown; 3] = [
    Shutdown::Graceful,
    Shutdown::Now,
    Shutdown::Deadline(Duration::from_millis(50)),
];

/// Declares an isolated test: `#[test] fn name()` runs `body` in a child process through
/// [`isolated`], under a watchdog of `LIMIT` (or the limit given first), with the quiet panic
/// hook installed. The test is declared once, so its name and the child's filter agree.
macro_rules! adversarial {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        adversarial!(LIMIT; $(#[$meta])* fn $name() $body);
    };
    ($limit:expr; $(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            fn body() {
                quiet_expected_panics();
                $body
            }
            isolated(stringify!($name), $limit, body);
        }
    };
}

/// Declares isolated tests (under [`LONG`]) that each run one scenario on every strategy:
/// `name => scenario(args);` runs `scenario(kind, args)` for every `kind`.
macro_rules! on_every_strategy {
    ($($(#[$meta:meta])* $name:ident => $scenario:ident($($arg:expr),*);)*) => {
        $(
            adversarial!(LONG;
                $(#[$meta])*
                fn $name() {
                    for &kind in Strategy::all() {
                        $scenario(kind, $($arg),*);
                    }
                }
            );
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

type Payload = Box<dyn Any + Send>;

/// `catch_unwind` for closures that borrow.
fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    catch_unwind(AssertUnwindSafe(f))
}

/// Panics with a payload whose destructor panics: the bomb labelled `label`.
fn bomb(label: &'static str) -> ! {
    panic_any(PanicOnDrop(label))
}

/// Makes a closure capture `value` (by move, in a `move` closure): the capture is dropped when
/// the closure is consumed, so a captured [`PanicOnDrop`] panics at the closure's end.
fn touch<T>(_: &T) {}

/// What a payload is, for messages.
fn describe(payload: &(dyn Any + Send)) -> String {
    if let Some(b) = payload.downcast_ref::<PanicOnDrop>() {
        format!("the bomb payload PanicOnDrop({:?})", b.0)
    } else if let Some(m) = panic_message(payload) {
        // Without the marker: a failure message quoting it would be silenced as expected.
        format!("the message {:?}", m.replace(EXPECTED, "<expected>"))
    } else {
        "a payload that is neither a string nor a bomb".into()
    }
}

/// Drops a payload of unknown kind; a panic of its destructor is caught (and its own payload,
/// a message, dropped).
fn drop_quietly<T>(value: T) {
    let _ = catch(move || drop(value));
}

/// Disposes of `payload`, which must be the bomb `label`: dropping it (inside `catch_unwind`)
/// must panic with that label's message.
#[track_caller]
fn dispose_bomb(ctx: &str, payload: Payload, label: &str) {
    let got = payload.downcast_ref::<PanicOnDrop>().map(|b| b.0);
    if got != Some(label) {
        let what = describe(&*payload);
        drop_quietly(payload);
        panic!("{ctx}: expected the bomb payload PanicOnDrop({label:?}), got {what}");
    }
    expect_explodes(ctx, payload, label);
}

/// Drops `value` inside `catch_unwind` and checks that its destructor panicked with `label`.
#[track_caller]
fn expect_explodes<T>(ctx: &str, value: T, label: &str) {
    match catch(move || drop(value)) {
        Ok(()) => panic!("{ctx}: dropping the bomb {label:?} did not panic: it was not live"),
        Err(p) => {
            let m = panic_message(&*p).unwrap_or_default();
            assert!(
                m.contains(label),
                "{ctx}: the bomb's drop panicked with {m:?}"
            );
        }
    }
}

/// Checks that `payload` is a message containing `needle` (a captured bomb's drop panics with
/// a `String` naming its label); a bomb payload instead is disposed of, then reported.
#[track_caller]
fn expect_message(ctx: &str, payload: Payload, needle: &str) {
    let ok = panic_message(&*payload).is_some_and(|m| m.contains(needle));
    if !ok {
        let what = describe(&*payload);
        drop_quietly(payload);
        panic!("{ctx}: expected a panic whose message contains {needle:?}, got {what}");
    }
}

/// Like [`expect_message`], for a message that must be exactly `text`.
#[track_caller]
fn expect_exact(ctx: &str, payload: Payload, text: &str) {
    if panic_message(&*payload) != Some(text) {
        let what = describe(&*payload);
        drop_quietly(payload);
        panic!("{ctx}: expected the panic {text:?}, got {what}");
    }
}

/// Runs `f`, which must panic; returns the payload. A value returned instead is leaked (it
/// may be a bomb) and the test fails.
#[track_caller]
fn must_panic<R>(ctx: &str, f: impl FnOnce() -> R) -> Payload {
    match catch(f) {
        Ok(value) => {
            std::mem::forget(value);
            panic!("{ctx}: expected a panic, but the call returned normally")
        }
        Err(payload) => payload,
    }
}

/// Waits (polling) for `flag`, up to `limit`; `false` if it never came.
fn wait_flag(flag: &AtomicBool, limit: Duration) -> bool {
    let start = Instant::now();
    while !flag.load(SeqCst) {
        if start.elapsed() > limit {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
    true
}

/// Sets its flag when dropped: declared right before a panic, it raises the flag during the
/// unwind, after the panic hook ran (which may take long: it prints a backtrace for an
/// unexpected panic such as "first"), so only microseconds remain until the panic is caught
/// and recorded.
struct RaiseOnDrop<'a>(&'a AtomicBool);

impl Drop for RaiseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// Called by a task that must panic *after* the one that set `first`: waits for the flag, then
/// for [`MARGIN`], so that the first panic is surely recorded before this one starts.
fn after(first: &AtomicBool) {
    assert!(
        wait_flag(first, WAIT),
        "the task that panics first never ran (a worker is stuck?)"
    );
    thread::sleep(MARGIN);
}

/// A slow task's end as the scope saw it. If the scope returned early, waits for the task to
/// finish before failing, so that the failure is a message rather than a use after free.
#[track_caller]
fn assert_finished_at_return(ctx: &str, finished_at_return: bool, finished: &AtomicBool) {
    if !finished_at_return {
        let _ = wait_flag(finished, WAIT);
        panic!(
            "{ctx}: the scope returned while one of its tasks was still running (that task \
             borrows the caller's stack: a use after free)"
        );
    }
}

fn build(kind: Strategy, workers: usize) -> Box<dyn Executor> {
    kind.build(&PoolConfig::new().workers(workers))
        .unwrap_or_else(|e| panic!("{kind}: build: {e}"))
}

fn shared(kind: Strategy, workers: usize) -> Arc<dyn Executor> {
    Arc::from(build(kind, workers))
}

/// A native pool still works after the adversity: same size, every worker alive, and a join,
/// a scope, an install and a spawned job run.
#[track_caller]
fn scoped_pool_healthy(ctx: &str, pool: &ScopedPool, workers: usize) {
    assert_eq!(pool.workers(), workers, "{ctx}: workers() changed");
    assert_eq!(pool.join(|| 1, || 2), (1, 2), "{ctx}: a join afterwards");
    let hits = AtomicUsize::new(0);
    pool.fork_scope(|s| {
        for _ in 0..8 {
            s.spawn(|_| {
                hits.fetch_add(1, SeqCst);
            });
        }
    });
    assert_eq!(hits.load(SeqCst), 8, "{ctx}: a scope afterwards");
    assert_eq!(pool.install(|| pool.join(|| 3, || 4)), (3, 4), "{ctx}");
    let spawned = pool.spawn(|| 5).expect("running").join();
    assert_eq!(spawned.ok(), Some(5), "{ctx}: a spawned job afterwards");
    eventually(&format!("{ctx}: {workers} live workers"), WAIT, || {
        pool.metrics().workers == workers
    });
}

/// A contract pool still works after the adversity: same size, live workers, a spawned job
/// and a scope run.
#[track_caller]
fn executor_healthy(ctx: &str, pool: &dyn Executor, workers: usize) {
    assert_eq!(pool.workers(), workers, "{ctx}: workers() changed");
    let spawned = pool.spawn(|| 5).expect("running").join();
    assert_eq!(spawned.ok(), Some(5), "{ctx}: a spawned job afterwards");
    let hits = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..8 {
            s.spawn(|_| hits.fetch_add(1, SeqCst));
        }
    });
    assert_eq!(hits.load(SeqCst), 8, "{ctx}: a scope afterwards");
    eventually(&format!("{ctx}: {workers} live workers"), WAIT, || {
        pool.metrics().workers == workers
    });
}

/// A shutdown report that adds up.
#[track_caller]
fn adds_up(ctx: &str, report: &ShutdownReport) {
    assert!(
        report.adds_up(),
        "{ctx}: the report does not add up: {report:?}"
    );
}

/// A final report: adds up and nothing still running.
#[track_caller]
fn final_report(ctx: &str, report: &ShutdownReport) {
    adds_up(ctx, report);
    assert_eq!(report.still_running, 0, "{ctx}: not final: {report:?}");
}

/// Shuts `pool` down gracefully and checks that the report is final ([`final_report`]).
#[track_caller]
fn shut_down_final(ctx: &str, pool: &(impl Executor + ?Sized)) -> ShutdownReport {
    let report = pool.shutdown(Shutdown::Graceful);
    final_report(ctx, &report);
    report
}

/// Every item of `it`, each `next()` inside `catch_unwind`: a `next()` that panics fails the
/// test with what it panicked with.
fn drain_results<T>(
    ctx: &str,
    it: &mut impl Iterator<Item = Result<T, TaskError>>,
    max: usize,
) -> Vec<Result<T, TaskError>> {
    let mut out = Vec::new();
    loop {
        match catch(|| it.next()) {
            Ok(Some(result)) => out.push(result),
            Ok(None) => return out,
            Err(p) => {
                let what = describe(&*p);
                drop_quietly(p);
                panic!(
                    "{ctx}: next() panicked after {} results, with {what}",
                    out.len()
                );
            }
        }
        assert!(out.len() <= max, "{ctx}: more than {max} results");
    }
}

/// A 1-worker contract pool whose worker is held at a gate by a plain job, and the gate's
/// opener.
fn blocked_pool(kind: Strategy) -> (Arc<dyn Executor>, Opener) {
    let pool = shared(kind, 1);
    let opener = Gate::new().hold(&*pool, 1, WAIT);
    (pool, opener)
}

/// Calls `pool.shutdown(mode)` on a helper thread while `k` jobs wait behind the worker held by
/// `opener`; once `k` are cancelled, drops the opener (releasing the worker) and returns the
/// report.
fn cancel_behind(
    ctx: &str,
    pool: &Arc<dyn Executor>,
    mode: Shutdown,
    k: usize,
    opener: Opener,
) -> ShutdownReport {
    let p = pool.clone();
    let stopper = thread::spawn(move || p.shutdown(mode));
    eventually(&format!("{ctx}: {k} jobs cancelled"), WAIT, || {
        pool.metrics().cancelled >= k as u64
    });
    drop(opener);
    stopper.join().unwrap_or_else(|p| resume_unwind(p))
}

/// Runs `f` with a fresh ScopedPool of each size in `sizes`, then checks that the pool is
/// healthy ([`scoped_pool_healthy`]).
fn on_scoped_pools(what: &str, sizes: &[usize], mut f: impl FnMut(&ScopedPool, usize)) {
    for &workers in sizes {
        let pool = ScopedPool::new(workers).expect("build");
        f(&pool, workers);
        scoped_pool_healthy(&format!("{what}, ScopedPool({workers})"), &pool, workers);
    }
}

/// Runs `f` with a fresh pool of every strategy and each size in `sizes` (and a name for
/// messages), then checks that the pool is healthy ([`executor_healthy`]) and that a graceful
/// shutdown gives a final report.
fn on_every_pool(what: &str, sizes: &[usize], mut f: impl FnMut(&str, &dyn Executor)) {
    for &kind in Strategy::all() {
        for &workers in sizes {
            let ctx = format!("{what} on {kind}({workers})");
            let pool = build(kind, workers);
            f(&ctx, &*pool);
            executor_healthy(&ctx, &*pool, workers);
            shut_down_final(&ctx, &*pool);
        }
    }
}

/// A task for a scope of either kind ([`On`]), borrowing for `'a`.
type Task<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Makes a [`Task`].
fn task<'a>(f: impl FnOnce() + Send + 'a) -> Task<'a> {
    Box::new(f)
}

/// A task that panics first, with `panic`: `first` is raised during its unwind.
fn panics_first(first: &AtomicBool, panic: fn()) -> Task<'_> {
    task(move || {
        let _raise = RaiseOnDrop(first);
        panic();
    })
}

/// A task that panics second, with `panic`, once the one that raises `first` surely has.
fn panics_second(first: &AtomicBool, panic: fn()) -> Task<'_> {
    task(move || {
        after(first);
        panic();
    })
}

/// A task that sleeps for `how_long`, does `work`, then raises `finished`: the scope holding
/// it must not return before (the task borrows the scope's caller).
fn slow_task<'a>(
    finished: &'a AtomicBool,
    how_long: Duration,
    work: impl FnOnce() + Send + 'a,
) -> Task<'a> {
    task(move || {
        thread::sleep(how_long);
        work();
        finished.store(true, SeqCst);
    })
}

/// Runs `scope`, which holds a [`slow_task`] raising `finished`: it must panic, and only
/// after the slow task ended. Returns the payload.
#[track_caller]
fn panics_after_slow_task(ctx: &str, finished: &AtomicBool, scope: impl FnOnce()) -> Payload {
    let result = catch(scope);
    let finished_at_return = finished.load(SeqCst);
    assert_finished_at_return(ctx, finished_at_return, finished);
    result
        .err()
        .unwrap_or_else(|| panic!("{ctx}: returned normally although a task panicked"))
}

/// Where a scope runs: a ScopedPool's own `fork_scope` (the native scope), or `ExecutorExt::scope`
/// (the contract scope) on any pool.
#[derive(Clone, Copy)]
enum On<'p> {
    Native(&'p ScopedPool),
    Contract(&'p dyn Executor),
}

impl On<'_> {
    /// Runs one scope that spawns `tasks`, in order, then runs `body`.
    fn scope<'a>(self, tasks: Vec<Task<'a>>, body: impl FnOnce() + Send) {
        match self {
            On::Native(pool) => pool.fork_scope(|s| {
                for t in tasks {
                    s.spawn(move |_| t());
                }
                body();
            }),
            On::Contract(pool) => pool.scope(|s| {
                for t in tasks {
                    s.spawn(move |_| t());
                }
                body();
            }),
        }
    }
}

/// The scope [`held_scope`] hands its body: a contract scope on a `dyn Executor`.
type HeldScope<'s, 'e> = ContractScope<'s, 'e, dyn Executor>;

/// On a fresh 1-worker pool of `kind`, runs a contract scope whose first task holds the
/// pool's only worker at a gate, so the tasks `body` spawns queue behind it; `body` gets the
/// scope, the pool and the gate's opener (dropping it releases the worker). Returns the pool
/// and how the scope ended.
fn held_scope<R>(
    kind: Strategy,
    body: impl for<'s, 'e> FnOnce(&'s HeldScope<'s, 'e>, &'e Arc<dyn Executor>, Opener) -> R,
) -> (Arc<dyn Executor>, Result<R, Payload>) {
    let pool = shared(kind, 1);
    let result = catch(|| {
        pool.as_ref().scope(|s| {
            let gate = Gate::new();
            let (opener, held) = (gate.opener(), gate.clone());
            s.spawn(move |_| held.wait());
            gate.wait_arrived(1, WAIT);
            body(s, &pool, opener)
        })
    });
    (pool, result)
}

// =============================================================================================
// The reproduction: a second panic's payload whose drop panics, inside a scope.
//
// Proves: the scope resumes the first panic ("first"), drops the second payload quietly, and
// returns only after every task ended (the slow task's flag is set the moment it returns);
// the pool keeps its workers and runs joins and scopes afterwards; dropping it returns.

/// The reproduction's scope, on `on`: a task panics ("first"), then a second one panics with
/// a bomb payload, while a slow task reads borrowed data.
fn reproduction(ctx: &str, on: On<'_>) {
    let data: Vec<u64> = (1..=100).collect();
    let (first, finished) = (AtomicBool::new(false), AtomicBool::new(false));
    let sum = AtomicU64::new(0);
    let tasks = vec![
        panics_first(&first, || panic!("first")),
        panics_second(&first, || bomb("second panic's payload")),
        slow_task(&finished, SLOW, || sum.store(data.iter().sum(), SeqCst)),
    ];
    let payload = panics_after_slow_task(ctx, &finished, || on.scope(tasks, || ()));
    expect_exact(ctx, payload, "first");
    assert_eq!(sum.load(SeqCst), 5050, "{ctx}: the slow task read the data");
}

fn native_reproduction(workers: usize) {
    let ctx = format!("ScopedPool({workers})::scope");
    let pool = ScopedPool::new(workers).expect("build");
    reproduction(&ctx, On::Native(&pool));
    scoped_pool_healthy(&ctx, &pool, workers);
    drop(pool);
}

fn contract_reproduction(kind: Strategy, workers: usize) {
    let ctx = format!("ExecutorExt::scope on {kind}({workers})");
    let pool = build(kind, workers);
    reproduction(&ctx, On::Contract(&*pool));
    executor_healthy(&ctx, &*pool, workers);
    adds_up(&ctx, &pool.shutdown(Shutdown::Graceful));
    drop(pool);
}

adversarial!(
    /// The reported bug, on one worker: a task's second panic payload panics when the scope
    /// drops it.
    fn scope_second_payload_bomb_scope_pool() {
        native_reproduction(1);
    }
);

adversarial!(
    /// The same with two workers, so that the tasks run on different threads.
    fn scope_second_payload_bomb_scope_pool_2_workers() {
        native_reproduction(2);
    }
);

adversarial!(LONG;
    /// The same scenario through `ExecutorExt::scope`, on every strategy, 1 and 2 workers.
    fn scope_second_payload_bomb_contract_scope() {
        for &kind in Strategy::all() {
            for workers in [1, 2] {
                contract_reproduction(kind, workers);
            }
        }
    }
);

// =============================================================================================
// join (ScopedPool, and every strategy through `ExecutorExt::join`): halves that panic with a bomb
// payload, capture a bomb, nested 20 deep.
//
// Proves: join panics with a's payload if a panicked, else with b's (rayon's rule); the other
// half's payload is dropped quietly; called from outside or inside the pool, with b run inline
// or on another worker, on ScopedPool's native join and on every strategy's `ExecutorExt::join`;
// the pool stays healthy.

/// What a join matrix runs on: `ScopedPool`'s native join, or any executor's
/// `ExecutorExt::join` (the contract's hook).
trait Joiner: Sync {
    fn join2<RA: Send, RB: Send>(
        &self,
        a: impl FnOnce() -> RA + Send,
        b: impl FnOnce() -> RB + Send,
    ) -> (RA, RB);
    /// Runs `f` on a worker of the pool.
    fn inside<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R;
}

impl Joiner for ScopedPool {
    fn join2<RA: Send, RB: Send>(
        &self,
        a: impl FnOnce() -> RA + Send,
        b: impl FnOnce() -> RB + Send,
    ) -> (RA, RB) {
        self.join(a, b)
    }
    fn inside<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.install(f)
    }
}

impl Joiner for dyn Executor + '_ {
    fn join2<RA: Send, RB: Send>(
        &self,
        a: impl FnOnce() -> RA + Send,
        b: impl FnOnce() -> RB + Send,
    ) -> (RA, RB) {
        ExecutorExt::join(self, a, b)
    }
    fn inside<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        // A join from outside moves onto a worker. `f` is its second half: usually taken back
        // and run by the worker that offered it, after its offer ended (`f` in the first
        // half would run while the offer of the second is outstanding, and a thread offers
        // one half at a time, so no join in `f` could offer its own).
        ExecutorExt::join(self, || (), f).1
    }
}

/// Runs one join: `a` and `b` return 1 and 2, or panic with a bomb. `elsewhere`: `a` first
/// waits (up to [`STEAL_WAIT`]) until `b` started, so `b` runs on another worker. Also says
/// whether `b` ran on another thread than `a`.
fn bomb_join<J: Joiner + ?Sized>(
    pool: &J,
    inside: bool,
    elsewhere: bool,
    a_bomb: bool,
    b_bomb: bool,
) -> (Result<(u32, u32), Payload>, bool) {
    let b_started = AtomicBool::new(false);
    let threads = Mutex::new((None, None));
    let a = || {
        threads.lock().unwrap().0 = Some(thread::current().id());
        if elsewhere {
            let _ = wait_flag(&b_started, STEAL_WAIT);
        }
        if a_bomb {
            bomb("first half");
        }
        1u32
    };
    let b = || {
        threads.lock().unwrap().1 = Some(thread::current().id());
        b_started.store(true, SeqCst);
        if b_bomb {
            bomb("second half");
        }
        2u32
    };
    let result = catch(|| {
        if inside {
            pool.inside(|| pool.join2(a, b))
        } else {
            pool.join2(a, b)
        }
    });
    let (ta, tb) = *threads.lock().unwrap();
    (result, tb.is_some() && ta != tb)
}

/// One cell of the matrix on `pool`: every placement; counts the joins whose `b` ran
/// elsewhere.
fn join_cells<J: Joiner + ?Sized>(
    what: &str,
    pool: &J,
    workers: usize,
    (a_bomb, b_bomb): (bool, bool),
    label: &str,
) -> usize {
    let mut stolen = 0;
    for inside in [false, true] {
        for elsewhere in [false, true] {
            if elsewhere && workers == 1 {
                continue;
            }
            let ctx = format!("{what}, inside: {inside}, b on another worker: {elsewhere}");
            // A join offers `b` only while another worker is idle, and the one that just ran
            // the last join's leftovers may not be yet: up to three tries, each after a pause
            // that lets it go idle, for `b` to run elsewhere.
            for _ in 0..if elsewhere { ELSEWHERE_TRIES } else { 1 } {
                if elsewhere {
                    thread::sleep(SETTLE);
                }
                let (result, b_elsewhere) = bomb_join(pool, inside, elsewhere, a_bomb, b_bomb);
                match result {
                    Ok(v) => panic!("{ctx}: returned {v:?} although a half panicked"),
                    Err(payload) => dispose_bomb(&ctx, payload, label),
                }
                if elsewhere && b_elsewhere {
                    stolen += 1;
                    break;
                }
            }
        }
    }
    stolen
}

/// Every size, outside and inside, inline and elsewhere, on ScopedPool's native join and on
/// every strategy through the contract: the join panics with `label`.
fn join_matrix(a_bomb: bool, b_bomb: bool, label: &str) {
    let mut stolen = 0;
    on_scoped_pools("join", &[1, 2, 4], |pool, workers| {
        let what = format!("join on ScopedPool({workers})");
        stolen += join_cells(&what, pool, workers, (a_bomb, b_bomb), label);
    });
    assert!(
        stolen > 0,
        "b never ran on another worker: the variants meant to test that tested nothing"
    );
    let mut stolen = 0;
    for workers in [1, 2] {
        on_every_pool("ExecutorExt::join", &[workers], |ctx, pool| {
            stolen += join_cells(ctx, pool, workers, (a_bomb, b_bomb), label);
        });
    }
    assert!(
        stolen > 0,
        "through the contract, b never ran on another worker: the variants tested nothing"
    );
}

adversarial!(LONG;
    /// `a` panics with a bomb payload; `b` is fine.
    fn join_first_half_bomb() {
        join_matrix(true, false, "first half");
    }
);

adversarial!(LONG;
    /// `b` panics with a bomb payload; `a` is fine: b's payload is resumed.
    fn join_second_half_bomb() {
        join_matrix(false, true, "second half");
    }
);

adversarial!(LONG;
    /// Both halves panic with bomb payloads: a's wins, b's is dropped quietly.
    fn join_both_halves_bomb() {
        join_matrix(true, true, "first half");
    }
);

/// A join 20 levels deep whose every level's second half panics with a bomb.
fn nested_second_halves(pool: &ScopedPool, depth: usize) -> u32 {
    if depth == 0 {
        return 0;
    }
    let (x, _) = pool.join(
        || nested_second_halves(pool, depth - 1),
        || -> u32 { bomb("nested second half") },
    );
    x
}

/// A join 20 levels deep whose every level's first half panics with a bomb.
fn nested_first_halves(pool: &ScopedPool, depth: usize) -> u32 {
    if depth == 0 {
        return 0;
    }
    let (_, y) = pool.join(
        || -> u32 { bomb("nested first half") },
        || nested_first_halves(pool, depth - 1),
    );
    y
}

/// A call that must panic with a bomb: what it is (for messages), the call, the bomb's label.
type BombCall<'a> = (&'a str, &'a dyn Fn(&ScopedPool), &'a str);

/// Runs each of `calls` three times on ScopedPools of 1, 2 and 4 workers: each must panic
/// with its bomb, nothing hangs, and the pools stay healthy.
fn deep_bombs(what: &str, calls: &[BombCall<'_>]) {
    on_scoped_pools(what, &[1, 2, 4], |pool, workers| {
        for round in 0..3 {
            for &(name, call, label) in calls {
                let ctx = format!("{name}, ScopedPool({workers}) round {round}");
                let p = must_panic(&ctx, || call(pool));
                dispose_bomb(&ctx, p, label);
            }
        }
    });
}

adversarial!(LONG;
    /// Recursive joins 20 deep, every level's second half (then every level's first half)
    /// panicking with a bomb: the outer call panics with a bomb, nothing hangs.
    fn nested_join_20_deep_bombs() {
        deep_bombs(
            "nested joins",
            &[
                (
                    "nested second halves",
                    &|pool| {
                        nested_second_halves(pool, 20);
                    },
                    "nested second half",
                ),
                (
                    "nested first halves",
                    &|pool| {
                        nested_first_halves(pool, 20);
                    },
                    "nested first half",
                ),
                (
                    "nested, from inside",
                    &|pool| {
                        pool.install(|| nested_first_halves(pool, 20));
                    },
                    "nested first half",
                ),
            ],
        );
    }
);

adversarial!(LONG;
    /// Halves that capture a bomb by move panic at their end: the join panics with the
    /// capture's message (a's when both do), as for any panic of that half.
    fn join_captured_bombs() {
        on_scoped_pools("join captures", &[1, 2], |pool, workers| {
            for inside in [false, true] {
                for (a_has, b_has) in [(true, false), (false, true), (true, true)] {
                    let ctx = format!(
                        "join on ScopedPool({workers}), inside: {inside}, captures: a {a_has}, \
                         b {b_has}"
                    );
                    let ca = a_has.then(|| PanicOnDrop("first half's capture"));
                    let cb = b_has.then(|| PanicOnDrop("second half's capture"));
                    let a = move || {
                        touch(&ca);
                        1
                    };
                    let b = move || {
                        touch(&cb);
                        2
                    };
                    let p = must_panic(&ctx, || {
                        if inside {
                            pool.install(move || pool.join(a, b))
                        } else {
                            pool.join(a, b)
                        }
                    });
                    let label = if a_has {
                        "first half's capture"
                    } else {
                        "second half's capture"
                    };
                    expect_message(&ctx, p, label);
                }
            }
        });
    }
);

// =============================================================================================
// Native scope (ScopedPool::fork_scope): bomb payloads from several tasks and the body, captured
// bombs, nesting 20 deep.
//
// Proves: the scope resumes the first panic, drops the others quietly, returns only after
// every task ended, and leaves the pool healthy.

adversarial!(LONG;
    /// Two tasks panic with bomb payloads, one after the other: the first one's is resumed.
    fn scope_two_task_bombs() {
        on_scoped_pools("two bombs", &[1, 2, 4], |pool, workers| {
            let ctx = format!("ScopedPool({workers})::scope, two bombs");
            let (first, finished) = (AtomicBool::new(false), AtomicBool::new(false));
            let tasks = vec![
                panics_first(&first, || bomb("first task")),
                panics_second(&first, || bomb("second task")),
                slow_task(&finished, SLOW, || ()),
            ];
            let scope = || On::Native(pool).scope(tasks, || ());
            let p = panics_after_slow_task(&ctx, &finished, scope);
            dispose_bomb(&ctx, p, "first task");
        });
    }
);

adversarial!(LONG;
    /// A task panics ("first"), then the body panics with a bomb payload: "first" is resumed,
    /// the body's bomb is dropped quietly.
    fn scope_body_bomb_after_task_panic() {
        on_scoped_pools("body bomb second", &[2, 4], |pool, workers| {
            let ctx = format!("ScopedPool({workers})::scope, body bomb second");
            let first = AtomicBool::new(false);
            let tasks = vec![panics_first(&first, || panic!("first"))];
            let p = must_panic(&ctx, || {
                On::Native(pool).scope(tasks, || {
                    after(&first);
                    bomb("the body's payload");
                })
            });
            expect_exact(&ctx, p, "first");
        });
    }
);

adversarial!(LONG;
    /// The body and many tasks all panic with bomb payloads at once: the scope panics with
    /// one of them, after every task ended.
    fn scope_body_and_tasks_bombs() {
        on_scoped_pools("body and tasks", &[1, 2, 4], |pool, workers| {
            for round in 0..5 {
                let ctx = format!("ScopedPool({workers})::scope, body and tasks, round {round}");
                let finished = AtomicBool::new(false);
                let mut tasks = vec![slow_task(&finished, SLOW / 2, || ())];
                tasks.extend((0..8).map(|_| task(|| bomb("one of many"))));
                let scope = || On::Native(pool).scope(tasks, || bomb("one of many"));
                let p = panics_after_slow_task(&ctx, &finished, scope);
                dispose_bomb(&ctx, p, "one of many");
            }
        });
    }
);

adversarial!(
    /// A task that captures a bomb panics at its end: the scope resumes that panic (the
    /// capture's message) after the other tasks ended.
    fn scope_captured_bomb_task() {
        on_scoped_pools("captured bomb", &[1, 2], |pool, workers| {
            let ctx = format!("ScopedPool({workers})::scope, captured bomb");
            let finished = AtomicBool::new(false);
            let capture = PanicOnDrop("a scope task's capture");
            let tasks = vec![
                slow_task(&finished, SLOW, || ()),
                task(move || touch(&capture)),
            ];
            let scope = || On::Native(pool).scope(tasks, || ());
            let p = panics_after_slow_task(&ctx, &finished, scope);
            expect_message(&ctx, p, "a scope task's capture");
        });
    }
);

/// `pool.fork_scope` nested `depth` deep in the bodies; every level spawns a bomb-payload task.
fn nested_scopes(pool: &ScopedPool, depth: usize) {
    pool.fork_scope(|s| {
        s.spawn(|_| bomb("nested scope task"));
        if depth > 0 {
            nested_scopes(pool, depth - 1);
        }
    });
}

/// Tasks spawning tasks `depth` deep; every task panics with a bomb after spawning.
fn nested_tasks(s: &NativeScope<'_>, depth: usize) {
    s.spawn(move |s| {
        if depth > 0 {
            nested_tasks(s, depth - 1);
        }
        bomb("nested scope task");
    });
}

adversarial!(LONG;
    /// Scopes nested 20 deep (in bodies, and in tasks), every level panicking with a bomb:
    /// the outer scope panics with a bomb, nothing hangs, the pool is healthy.
    fn nested_scope_20_deep_bombs() {
        deep_bombs(
            "nested scopes",
            &[
                ("scopes in bodies", &|pool| nested_scopes(pool, 20), "nested scope task"),
                (
                    "scopes in tasks",
                    &|pool| pool.fork_scope(|s| nested_tasks(s, 20)),
                    "nested scope task",
                ),
            ],
        );
    }
);

// =============================================================================================
// ExecutorExt::scope on every strategy: captured bombs, results whose drop panics, cancelled
// tasks that capture bombs, forgotten handles, nesting, and a contract scope waiting inside a
// ScopedPool worker.
//
// Proves: a task's capture or result that panics on drop is that task's panic (never
// "cancelled"); cancelled tasks are reported as cancelled and the scope ends; a forgotten
// handle detaches its task without letting the scope return early.

adversarial!(LONG;
    /// A task capturing a bomb: unjoined, the scope resumes the capture's panic; joined, the
    /// handle gives `Panicked` with that message and the scope returns normally.
    fn contract_scope_captured_bomb_task() {
        on_every_pool("ExecutorExt::scope, captured bomb", &[1, 2], |ctx, pool| {
            let capture = PanicOnDrop("a contract task's capture");
            let p = must_panic(ctx, || {
                pool.scope(|s| {
                    s.spawn(move |_| touch(&capture));
                })
            });
            expect_message(ctx, p, "a contract task's capture");
            let capture = PanicOnDrop("a joined contract task's capture");
            let joined = pool.scope(|s| s.spawn(move |_| touch(&capture)).join());
            match joined {
                Err(TaskError::Panicked(p)) => {
                    expect_message(ctx, p.into_inner(), "a joined contract task's capture")
                }
                other => panic!("{ctx}: the joined handle gave {other:?}"),
            }
        });
    }
);

adversarial!(LONG;
    /// A task returns a bomb and its handle is dropped before it runs: the result's drop
    /// panics; the scope must resume that panic (the bomb's message) after every task ended,
    /// never report the task as cancelled.
    fn contract_scope_unjoined_bomb_result() {
        for &kind in Strategy::all() {
            let ctx = format!("ExecutorExt::scope on {kind}(1), unjoined bomb result");
            let (pool, result) = held_scope(kind, |s, pool, opener| {
                let handle = s.spawn(|_| PanicOnDrop("an unjoined task's result"));
                drop(handle);
                drop(opener);
                // The worker, not this scope's waiter, runs the task.
                eventually("both tasks ran", WAIT, || {
                    let m = pool.metrics();
                    m.completed + m.panicked + m.cancelled >= 2
                });
            });
            let p = result
                .err()
                .unwrap_or_else(|| panic!("{ctx}: returned normally; the result's panic is lost"));
            if panic_message(&*p) == Some(CANCELLED_TASK_MESSAGE) {
                panic!("{ctx}: the task ran, but the scope reported it as cancelled");
            }
            expect_message(&ctx, p, "an unjoined task's result");
            adds_up(&ctx, &pool.shutdown(Shutdown::Graceful));
        }
    }
);

adversarial!(LONG;
    /// A joined handle hands a bomb result (and a bomb payload) to the caller, who disposes of
    /// it; the scope returns normally.
    fn contract_scope_joined_bombs() {
        on_every_pool("ExecutorExt::scope, joined bombs", &[1, 2], |ctx, pool| {
            let (value, payload) = pool.scope(|s| {
                let v = s.spawn(|_| PanicOnDrop("a joined task's result"));
                let p = s.spawn(|_| -> u32 { bomb("a joined task's payload") });
                (v.join(), p.join())
            });
            match value {
                Ok(b) => expect_explodes(ctx, b, "a joined task's result"),
                Err(e) => panic!("{ctx}: the value handle gave {e:?}"),
            }
            match payload {
                Err(TaskError::Panicked(p)) => dispose_bomb(ctx, p.into_inner(), "a joined task's payload"),
                other => panic!("{ctx}: the panicking handle gave {other:?}"),
            }
        });
    }
);

/// Tasks queued behind a gated one, each capturing a bomb, are cancelled by `mode` from a
/// helper thread. `join`: the body joins their handles (each must give `Cancelled`, and the
/// scope returns); otherwise the scope must panic with `CANCELLED_TASK_MESSAGE`.
fn contract_cancelled(kind: Strategy, mode: Shutdown, join: bool) {
    const K: usize = 8;
    let ctx = format!("ExecutorExt::scope on {kind}(1), {mode:?}, handles joined: {join}");
    let (pool, result) = held_scope(kind, |s, pool, opener| {
        let handles: Vec<_> = (0..K)
            .map(|_| {
                let capture = PanicOnDrop("a cancelled task's capture");
                s.spawn(move |_| touch(&capture))
            })
            .collect();
        let report = cancel_behind(&ctx, pool, mode, K, opener);
        if join {
            for h in handles {
                match h.join() {
                    Err(TaskError::Cancelled) => {}
                    other => panic!("{ctx}: a cancelled task's handle gave {other:?}"),
                }
            }
        }
        report
    });
    let report = match (result, join) {
        (Ok(report), true) => report,
        (Ok(_), false) => panic!("{ctx}: the scope returned as if the cancelled tasks had run"),
        (Err(p), true) => panic!("{ctx}: the scope panicked with {}", describe(&*p)),
        (Err(p), false) => {
            expect_exact(&ctx, p, CANCELLED_TASK_MESSAGE);
            pool.shutdown(Shutdown::Graceful)
        }
    };
    adds_up(&ctx, &report);
    assert_eq!(report.cancelled, K as u64, "{ctx}: {report:?}");
    check_later_report(&ctx, &*pool, mode, K as u64);
}

/// A later `shutdown(Graceful)` after `mode` cancelled `cancelled` jobs: it adds up and counts
/// them. After `Now` it is final; after a deadline it may repeat the deadline's report (the
/// first call finished at the deadline), so the pool's counters must settle instead.
#[track_caller]
fn check_later_report(ctx: &str, pool: &dyn Executor, mode: Shutdown, cancelled: u64) {
    let last = pool.shutdown(Shutdown::Graceful);
    adds_up(ctx, &last);
    assert_eq!(last.cancelled, cancelled, "{ctx}: {last:?}");
    if let Shutdown::Deadline(_) = mode {
        eventually(&format!("{ctx}: every job settled"), WAIT, || {
            let m = pool.metrics();
            m.completed + m.panicked + m.cancelled == m.submitted
        });
    } else {
        final_report(ctx, &last);
    }
}

on_every_strategy! {
    /// `Shutdown::Now` cancels queued scope tasks that capture bombs; nobody joins them: the
    /// scope ends with `CANCELLED_TASK_MESSAGE`.
    contract_scope_cancelled_bomb_captures_now => contract_cancelled(Shutdown::Now, false);
    /// As above with a short `Shutdown::Deadline`.
    contract_scope_cancelled_bomb_captures_deadline =>
        contract_cancelled(Shutdown::Deadline(Duration::from_millis(20)), false);
    /// As above, `Shutdown::Now`, with every handle joined: each gives `Cancelled`, the scope
    /// returns normally.
    contract_scope_cancelled_bomb_captures_joined => contract_cancelled(Shutdown::Now, true);
}

/// A forgotten handle of a slow task (the scope still waits for it) and of a panicking task
/// (the scope resumes its panic), on `exec`.
fn forgotten_scoped_handles(ctx: &str, exec: &(impl Executor + ?Sized)) {
    let data: Vec<u64> = (1..=100).collect();
    let finished = AtomicBool::new(false);
    let sum = AtomicU64::new(0);
    exec.scope(|s| {
        let slow = slow_task(&finished, SLOW, || sum.store(data.iter().sum(), SeqCst));
        std::mem::forget(s.spawn(move |_| slow()));
    });
    let finished_at_return = finished.load(SeqCst);
    assert_finished_at_return(ctx, finished_at_return, &finished);
    assert_eq!(sum.load(SeqCst), 5050, "{ctx}");
    let p = must_panic(ctx, || {
        exec.scope(|s| {
            let h = s.spawn(|_| -> u32 {
                thread::sleep(SLOW / 2);
                expected_panic("a forgotten handle's task");
            });
            std::mem::forget(h);
        })
    });
    expect_message(ctx, p, "a forgotten handle's task");
}

adversarial!(LONG;
    /// `mem::forget` on a `ScopedJoinHandle`, in a contract scope on every strategy and in one
    /// waiting inside a ScopedPool worker (the native scope has no handles): the scope waits
    /// for the task, and resumes its panic.
    fn contract_scope_forgotten_handles() {
        on_every_pool("ExecutorExt::scope, forgotten handles", &[2], |ctx, pool| {
            forgotten_scoped_handles(ctx, pool);
        });
        on_scoped_pools("forgotten handles", &[1, 2], |pool, workers| {
            let ctx = format!("ExecutorExt::scope inside ScopedPool({workers}), forgotten handles");
            pool.install(|| forgotten_scoped_handles(&ctx, pool));
        });
    }
);

/// Contract scopes nested `depth` deep in their bodies; every level spawns a bomb task.
fn nested_contract_scopes(exec: &dyn Executor, depth: usize) {
    exec.scope(|s| {
        s.spawn(|_| bomb("nested contract task"));
        if depth > 0 {
            nested_contract_scopes(exec, depth - 1);
        }
    });
}

adversarial!(LONG;
    /// `ExecutorExt::scope` nested 20 deep, every level with a bomb task: the outer call
    /// panics with a bomb, nothing hangs.
    fn nested_contract_scope_20_deep_bombs() {
        on_every_pool("nested ExecutorExt::scope", &[2], |ctx, pool| {
            let p = must_panic(ctx, || nested_contract_scopes(pool, 20));
            dispose_bomb(ctx, p, "nested contract task");
        });
    }
);

adversarial!(LONG;
    /// A contract scope waiting inside a ScopedPool worker, while another thread runs native
    /// scopes full of bomb payloads (which the waiter may help run): it returns only after its
    /// own task ended.
    fn contract_scope_in_scoped_worker_amid_bomb_scopes() {
        on_scoped_pools("amid bomb scopes", &[2, 4], |pool, workers| {
            let ctx = format!("ExecutorExt::scope inside ScopedPool({workers}) amid bomb scopes");
            let stop = AtomicBool::new(false);
            let data: Vec<u64> = (1..=100).collect();
            thread::scope(|threads| {
                let bomber = threads.spawn(|| {
                    let mut rounds = 0;
                    while !stop.load(SeqCst) && rounds < 500 {
                        rounds += 1;
                        let p = must_panic(&ctx, || {
                            pool.fork_scope(|s| {
                                for _ in 0..4 {
                                    s.spawn(|_| bomb("a bomb scope's task"));
                                }
                            })
                        });
                        dispose_bomb(&ctx, p, "a bomb scope's task");
                    }
                });
                for round in 0..5 {
                    let started = AtomicBool::new(false);
                    let finished = AtomicBool::new(false);
                    let sum = AtomicU64::new(0);
                    pool.install(|| {
                        ExecutorExt::scope(pool, |s| {
                            let slow = slow_task(&finished, SLOW / 2, || {
                                sum.store(data.iter().sum(), SeqCst);
                            });
                            s.spawn(|_| {
                                started.store(true, SeqCst);
                                slow();
                            });
                            // Started elsewhere, so the waiter helps instead of running it.
                            let _ = wait_flag(&started, WAIT);
                        })
                    });
                    let finished_at_return = finished.load(SeqCst);
                    let ctx = format!("{ctx}, round {round}");
                    assert_finished_at_return(&ctx, finished_at_return, &finished);
                    assert_eq!(sum.load(SeqCst), 5050, "{ctx}");
                }
                stop.store(true, SeqCst);
                if let Err(p) = bomber.join() {
                    resume_unwind(p);
                }
            });
        });
    }
);

// =============================================================================================
// spawn (every strategy): bomb payloads, captured bombs, bomb results with and without their
// handle, cancelled jobs that capture bombs, forgotten handles.
//
// Proves: every such job is counted exactly once and as what it was (a result whose drop
// panicked on the pool's thread is *panicked*, never cancelled); handles report `Panicked` or
// `Cancelled` as they should; the accounting adds up.

adversarial!(LONG;
    /// A job panics with a bomb: its handle gives the bomb (disposed of); a second one whose
    /// handle was dropped first leaves its bomb to the pool, which drops it quietly.
    fn spawn_bomb_payload() {
        for &kind in Strategy::all() {
            let ctx = format!("spawn on {kind}(1), bomb payload");
            let (pool, opener) = blocked_pool(kind);
            let joined = pool.spawn(|| -> u32 { bomb("a joined job's payload") }).unwrap();
            let detached = pool.spawn(|| -> u32 { bomb("a detached job's payload") }).unwrap();
            drop(detached);
            drop(opener);
            match joined.join() {
                Err(TaskError::Panicked(p)) => dispose_bomb(&ctx, p.into_inner(), "a joined job's payload"),
                other => panic!("{ctx}: the handle gave {other:?}"),
            }
            executor_healthy(&ctx, &*pool, 1);
            let report = shut_down_final(&ctx, &*pool);
            assert_eq!(report.panicked, 2, "{ctx}: {report:?}");
        }
    }
);

adversarial!(LONG;
    /// A job capturing a bomb panics at its end: its handle gives `Panicked` with the
    /// capture's message, and the pool counts it as panicked.
    fn spawn_captured_bomb() {
        for &kind in Strategy::all() {
            for workers in [1, 2] {
                let ctx = format!("spawn on {kind}({workers}), captured bomb");
                let pool = build(kind, workers);
                let capture = PanicOnDrop("a spawned job's capture");
                let r = pool
                    .spawn(move || {
                        touch(&capture);
                        7
                    })
                    .unwrap()
                    .join();
                match r {
                    Err(TaskError::Panicked(p)) => expect_message(&ctx, p.into_inner(), "a spawned job's capture"),
                    other => panic!("{ctx}: the handle gave {other:?}"),
                }
                let report = shut_down_final(&ctx, &*pool);
                assert_eq!(
                    (report.completed, report.panicked, report.cancelled),
                    (0, 1, 0),
                    "{ctx}: {report:?}"
                );
            }
        }
    }
);

adversarial!(LONG;
    /// A job returns a bomb and its handle is dropped before it runs: the job ran, its
    /// result's destructor panicked on the pool's thread, so it counts as panicked (never
    /// cancelled), and the report adds up.
    fn spawn_bomb_result_handle_dropped() {
        for &kind in Strategy::all() {
            let ctx = format!("spawn on {kind}(1), bomb result, handle dropped");
            let (pool, opener) = blocked_pool(kind);
            let handle = pool.spawn(|| PanicOnDrop("a result nobody takes")).unwrap();
            drop(handle);
            drop(opener);
            let report = shut_down_final(&ctx, &*pool);
            assert_eq!(
                (report.submitted, report.completed, report.panicked, report.cancelled),
                (2, 1, 1, 0),
                "{ctx}: the job ran and its result's drop panicked: {report:?}"
            );
        }
    }
);

adversarial!(LONG;
    /// A joined handle returns the bomb result to the caller, who disposes of it.
    fn spawn_bomb_result_joined() {
        for &kind in Strategy::all() {
            let ctx = format!("spawn on {kind}(2), bomb result joined");
            let pool = build(kind, 2);
            match pool.spawn(|| PanicOnDrop("a joined result")).unwrap().join() {
                Ok(b) => expect_explodes(&ctx, b, "a joined result"),
                Err(e) => panic!("{ctx}: the handle gave {e:?}"),
            }
            let report = shut_down_final(&ctx, &*pool);
            assert_eq!((report.completed, report.panicked), (1, 0), "{ctx}: {report:?}");
        }
    }
);

/// K spawned jobs capturing bombs queue behind a gated job; `mode` from another thread
/// cancels them.
fn spawn_cancelled(kind: Strategy, mode: Shutdown) {
    const K: usize = 8;
    let ctx = format!("spawn on {kind}(1), cancelled by {mode:?}");
    let (pool, opener) = blocked_pool(kind);
    let handles: Vec<_> = (0..K)
        .map(|i| {
            let capture = PanicOnDrop("a cancelled job's capture");
            pool.spawn(move || {
                touch(&capture);
                i
            })
            .unwrap()
        })
        .collect();
    let report = cancel_behind(&ctx, &pool, mode, K, opener);
    for h in handles {
        match h.join() {
            Err(TaskError::Cancelled) => {}
            other => panic!("{ctx}: a cancelled job's handle gave {other:?}"),
        }
    }
    adds_up(&ctx, &report);
    assert_eq!(report.cancelled, K as u64, "{ctx}: {report:?}");
    check_later_report(&ctx, &*pool, mode, K as u64);
    let m = pool.metrics();
    assert_eq!(
        (m.submitted, m.completed, m.panicked, m.cancelled),
        (K as u64 + 1, 1, 0, K as u64),
        "{ctx}: {m:?}"
    );
}

on_every_strategy! {
    /// `Shutdown::Now` cancels queued jobs that capture bombs: every handle says `Cancelled`,
    /// the report counts them, nothing hangs.
    spawn_cancelled_bomb_captures_now => spawn_cancelled(Shutdown::Now);
    /// As above with a short `Shutdown::Deadline`.
    spawn_cancelled_bomb_captures_deadline =>
        spawn_cancelled(Shutdown::Deadline(Duration::from_millis(20)));
}

adversarial!(LONG;
    /// `mem::forget` on a `JoinHandle` (of a job that completes, and of one that panics with
    /// a bomb): the jobs run and are counted, the shutdown is final and adds up.
    fn spawn_forgotten_handles() {
        for &kind in Strategy::all() {
            let ctx = format!("spawn on {kind}(2), forgotten handles");
            let pool = build(kind, 2);
            let done = Arc::new(AtomicBool::new(false));
            let d = done.clone();
            std::mem::forget(pool.spawn(move || d.store(true, SeqCst)).unwrap());
            std::mem::forget(pool.spawn(|| -> u32 { bomb("a forgotten handle's payload") }).unwrap());
            assert!(wait_flag(&done, WAIT), "{ctx}: the job never ran");
            let report = shut_down_final(&ctx, &*pool);
            assert_eq!(
                (report.submitted, report.completed, report.panicked),
                (2, 1, 1),
                "{ctx}: {report:?}"
            );
        }
    }
);

// =============================================================================================
// map / map_unordered (every strategy): bomb payloads per item, bomb items the pool refuses,
// an `f` that captures a bomb, iterators forgotten or dropped mid-way.
//
// Proves: one result per item (in order for `map`), panicking items are `Panicked(bomb)`,
// refused items are `Cancelled` and `next()` never panics; abandoning an iterator leaves a
// pool that shuts down with a report that adds up.

/// Takes one result of `item_or_bomb`: a value, or a bomb payload to dispose of.
#[track_caller]
fn take_result(ctx: &str, result: Option<Result<u32, TaskError>>) {
    match result {
        Some(Ok(_)) => {}
        Some(Err(TaskError::Panicked(p))) => {
            dispose_bomb(ctx, p.into_inner(), "a map item's payload")
        }
        other => panic!("{ctx}: {other:?}"),
    }
}

fn item_or_bomb(i: u32) -> u32 {
    if i.is_multiple_of(3) {
        bomb("a map item's payload");
    }
    i
}

/// The results of `pool.map(items, f)`, or of `map_unordered` when `unordered`, with
/// `window` when set, as one iterator type.
fn mapped<'p, I, F, T>(
    pool: &'p dyn Executor,
    unordered: bool,
    window: Option<usize>,
    items: I,
    f: F,
) -> Box<dyn Iterator<Item = Result<T, TaskError>> + 'p>
where
    I: IntoIterator,
    I::IntoIter: 'p,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    match (unordered, window) {
        (false, None) => Box::new(pool.map(items, f)),
        (false, Some(w)) => Box::new(pool.map(items, f).window(w)),
        (true, None) => Box::new(pool.map_unordered(items, f)),
        (true, Some(w)) => Box::new(pool.map_unordered(items, f).window(w)),
    }
}

/// `f` panics with a bomb for every third of 30 items, through `map` or (`unordered`)
/// `map_unordered`, on every strategy with 1, 2 and 4 workers: one result per item (for
/// `map`, in input order), those items `Panicked(bomb)`; the pool counts 20 completed and 10
/// panicked.
fn every_third_bombs(unordered: bool) {
    let name = if unordered { "map_unordered" } else { "map" };
    for &kind in Strategy::all() {
        for workers in [1, 2, 4] {
            let ctx = format!("{name} on {kind}({workers}), bomb payloads");
            let pool = build(kind, workers);
            let mut results = mapped(&*pool, unordered, None, 0..30u32, item_or_bomb);
            let results = drain_results(&ctx, &mut results, 30);
            assert_eq!(results.len(), 30, "{ctx}: one result per item");
            let (mut values, mut bombs) = (Vec::new(), 0);
            for (i, r) in (0u32..).zip(results) {
                match r {
                    Ok(v) if unordered || (i % 3 != 0 && v == i) => values.push(v),
                    Err(TaskError::Panicked(p)) if unordered || i % 3 == 0 => {
                        dispose_bomb(
                            &format!("{ctx}, result {i}"),
                            p.into_inner(),
                            "a map item's payload",
                        );
                        bombs += 1;
                    }
                    other => panic!("{ctx}: result {i} gave {other:?}"),
                }
            }
            values.sort_unstable();
            let expected: Vec<u32> = (0..30).filter(|i| i % 3 != 0).collect();
            assert_eq!((values, bombs), (expected, 10), "{ctx}");
            let report = shut_down_final(&ctx, &*pool);
            // `map` runs items in chunks, so the pool's jobs are not its items; what it must
            // count is each of the 10 panicking items once (see `map`'s "Panics").
            assert_eq!(report.panicked, 10, "{ctx}: {report:?}");
            assert_eq!(report.cancelled, 0, "{ctx}: {report:?}");
        }
    }
}

adversarial!(LONG;
    /// `f` panics with a bomb for every third item: `map` yields one result per item in input
    /// order, those items `Panicked(bomb)`, and the pool counts one panic per such item.
    fn map_bomb_payloads_every_third() {
        every_third_bombs(false);
    }
);

adversarial!(LONG;
    /// The same through `map_unordered`: 20 values and 10 bombs, in any order.
    fn map_unordered_bomb_payloads_every_third() {
        every_third_bombs(true);
    }
);

adversarial!(LONG;
    /// Items that are bombs, mapped after the pool shut down: the pool refuses every job, so
    /// every result is `Cancelled`, one per item, and `next()` never panics (through `map`
    /// and `map_unordered`).
    fn map_bomb_items_after_shutdown() {
        for &kind in Strategy::all() {
            let pool = build(kind, 2);
            adds_up(&format!("{kind}"), &pool.shutdown(Shutdown::Graceful));
            for unordered in [false, true] {
                let ctx = format!("map (unordered: {unordered}) on {kind}(2) after shutdown");
                let items: Vec<PanicOnDrop> =
                    (0..5).map(|_| PanicOnDrop("a refused item")).collect();
                let f = |b: PanicOnDrop| {
                    std::mem::forget(b);
                    0u8
                };
                let mut results = mapped(&*pool, unordered, None, items, f);
                let results = drain_results(&ctx, &mut results, 5);
                assert_eq!(results.len(), 5, "{ctx}: one result per item");
                for r in results {
                    assert!(matches!(r, Err(TaskError::Cancelled)), "{ctx}: {r:?}");
                }
            }
        }
    }
);

adversarial!(LONG;
    /// `f` captures a bomb (shared by every job): wherever the last copy of `f` is dropped,
    /// nothing hangs or crashes, and the pool is healthy after.
    fn map_f_captures_bomb() {
        for unordered in [false, true] {
            let what = format!("map (unordered: {unordered}), f captures a bomb");
            on_every_pool(&what, &[2], |ctx, pool| {
                let capture = PanicOnDrop("map's f capture");
                let f = move |i: u32| {
                    touch(&capture);
                    i
                };
                let outcome = catch(|| -> Vec<Result<u32, TaskError>> {
                    mapped(pool, unordered, None, 0..10, f).collect()
                });
                match outcome {
                    Ok(results) => {
                        assert_eq!(results.len(), 10, "{ctx}");
                        // A job that dropped the last `f` reports that panic as its own.
                        results.into_iter().for_each(drop_quietly);
                    }
                    Err(p) => expect_message(ctx, p, "map's f capture"),
                }
            });
        }
    }
);

adversarial!(LONG;
    /// A `Map` and a `MapUnordered` forgotten (`mem::forget`) mid-way, with bomb payloads in
    /// flight: the shutdown returns a final report that adds up.
    fn map_forgotten_midway() {
        for &kind in Strategy::all() {
            for workers in [1, 2] {
                for unordered in [false, true] {
                    let ctx =
                        format!("map (unordered: {unordered}) on {kind}({workers}), forgotten");
                    let pool = build(kind, workers);
                    let f = |i: u32| {
                        thread::sleep(Duration::from_millis(1));
                        item_or_bomb(i)
                    };
                    let mut m = mapped(&*pool, unordered, Some(4), 0..40u32, f);
                    (0..3).for_each(|_| take_result(&ctx, m.next()));
                    std::mem::forget(m);
                    let report = shut_down_final(&ctx, &*pool);
                    assert_eq!(report.cancelled, 0, "{ctx}: {report:?}");
                }
            }
        }
    }
);

adversarial!(LONG;
    /// The same with the iterators dropped mid-way. A bomb payload still held by a dropped
    /// handle may panic on the caller's thread (its owner's business); the pool must not
    /// care: the shutdown returns a final report that adds up.
    fn map_dropped_midway() {
        for &kind in Strategy::all() {
            for unordered in [false, true] {
                let ctx = format!("map (unordered: {unordered}) on {kind}(2), dropped");
                let pool = build(kind, 2);
                let f = |i: u32| {
                    thread::sleep(Duration::from_millis(1));
                    item_or_bomb(i)
                };
                let mut m = mapped(&*pool, unordered, Some(4), 0..40u32, f);
                take_result(&ctx, m.next());
                if let Err(p) = catch(move || drop(m)) {
                    expect_message(&ctx, p, "a map item's payload");
                }
                shut_down_final(&ctx, &*pool);
            }
        }
    }
);

// =============================================================================================
// Slices (ScopedPool::par_for_each / par_map / par_reduce), 1, 2 and 4 workers.
//
// Proves: `f` panicking with bomb payloads makes the call panic with one of them, nothing
// hangs, the pool is healthy; results whose drop panics are leaked or dropped once, never
// twice, and nothing crashes.

const ITEMS: u32 = 3000;

fn bomb_some(x: u32) {
    if x % 500 == 7 {
        bomb("a slice item's payload");
    }
}

/// Runs `call`, a slice loop over the items `0..ITEMS` whose `f` calls [`bomb_some`], three
/// times on ScopedPools of 1, 2 and 4 workers: each call panics with a slice item's bomb, and
/// the pools stay healthy.
fn slice_bombs(name: &str, call: impl Fn(&ScopedPool, &[u32])) {
    let items: Vec<u32> = (0..ITEMS).collect();
    on_scoped_pools(name, &[1, 2, 4], |pool, workers| {
        let ctx = format!("{name} on ScopedPool({workers})");
        for _ in 0..3 {
            let p = must_panic(&ctx, || call(pool, &items));
            dispose_bomb(&ctx, p, "a slice item's payload");
        }
    });
}

adversarial!(LONG;
    /// `par_for_each` whose `f` panics with bombs on some items.
    fn par_for_each_bomb_payloads() {
        slice_bombs("par_for_each", |pool, items| {
            pool.par_for_each(items, |&x| bomb_some(x));
        });
    }
);

adversarial!(LONG;
    /// `par_map` whose `f` panics with bombs on some items.
    fn par_map_bomb_payloads() {
        slice_bombs("par_map", |pool, items| {
            pool.par_map(items, |&x| {
                bomb_some(x);
                x * 2
            });
        });
    }
);

adversarial!(LONG;
    /// `par_reduce` whose fold panics with bombs on some items.
    fn par_reduce_bomb_payloads() {
        slice_bombs("par_reduce", |pool, items| {
            let fold = |acc: u64, &x: &u32| {
                bomb_some(x);
                acc + u64::from(x)
            };
            pool.par_reduce(items, || 0u64, fold, |a, b| a + b);
        });
    }
);

/// A `par_map` result whose drop panics (when not already panicking) and counts its drops.
struct CountedBomb<'a> {
    index: usize,
    drops: &'a [AtomicU32],
}

impl Drop for CountedBomb<'_> {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, SeqCst);
        if !thread::panicking() {
            expected_panic("a par_map result");
        }
    }
}

adversarial!(LONG;
    /// `par_map` whose results are bombs, when an item panics (with a message, or with a bomb
    /// payload) after many results were made: the call panics, no result is dropped twice,
    /// nothing crashes or hangs.
    fn par_map_bomb_results() {
        let items: Vec<u32> = (0..ITEMS).collect();
        for workers in [1, 2, 4] {
            let pool = ScopedPool::new(workers).expect("build");
            for (failing, bomb_payload) in [(ITEMS - 1, false), (ITEMS / 2, true), (0, true)] {
                let ctx = format!(
                    "par_map of bombs on ScopedPool({workers}), item {failing} panics (bomb \
                     payload: {bomb_payload})"
                );
                let drops: Vec<AtomicU32> = (0..ITEMS).map(|_| AtomicU32::new(0)).collect();
                let p = must_panic(&ctx, || {
                    pool.par_map(&items, |&x| {
                        if x == failing {
                            if bomb_payload {
                                bomb("a par_map item's payload");
                            }
                            expected_panic("a par_map item");
                        }
                        CountedBomb {
                            index: x as usize,
                            drops: &drops,
                        }
                    })
                });
                if bomb_payload {
                    // The first panic is the item's; a result's drop panic would be a message.
                    if p.is::<PanicOnDrop>() {
                        dispose_bomb(&ctx, p, "a par_map item's payload");
                    } else {
                        drop_quietly(p);
                    }
                } else {
                    drop_quietly(p);
                }
                let twice: Vec<usize> = (0..ITEMS as usize)
                    .filter(|&i| drops[i].load(SeqCst) > 1)
                    .collect();
                assert!(twice.is_empty(), "{ctx}: results dropped twice: {twice:?}");
                assert_eq!(drops[failing as usize].load(SeqCst), 0, "{ctx}");
            }
            scoped_pool_healthy(&format!("par_map of bombs, ScopedPool({workers})"), &pool, workers);
        }
    }
);

// =============================================================================================
// install (ScopedPool): a bomb payload and a captured bomb, from outside, from inside, and
// from a worker of another ScopedPool.
//
// Proves: the caller gets the bomb payload (or the capture's panic), the pools are healthy.

/// Runs `f` with a ScopedPool of 1, then 2 workers, and another of 2 (and a name for
/// messages); then both pools must be healthy.
fn with_another_pool(what: &str, f: impl Fn(&str, &ScopedPool, &ScopedPool)) {
    on_scoped_pools(what, &[1, 2], |pool, workers| {
        let other = ScopedPool::new(2).expect("build");
        f(&format!("{what} on ScopedPool({workers})"), pool, &other);
        scoped_pool_healthy(&format!("{what}, the other pool"), &other, 2);
    });
}

adversarial!(LONG;
    /// `install(|| panic_any(bomb))` from outside, from inside (caught there, and propagated
    /// through the outer install), and from another pool's worker.
    fn install_bomb_payload() {
        with_another_pool("install", |ctx, pool, other| {
            let p = must_panic(ctx, || pool.install(|| bomb("an installed payload")));
            dispose_bomb(&format!("{ctx}, from outside"), p, "an installed payload");

            let inner = pool.install(|| catch(|| pool.install(|| bomb("an installed payload"))));
            let p = inner.expect_err("the inner install panics");
            dispose_bomb(&format!("{ctx}, from inside"), p, "an installed payload");
            let p = must_panic(ctx, || pool.install(|| pool.install(|| bomb("an installed payload"))));
            dispose_bomb(&format!("{ctx}, through two"), p, "an installed payload");

            let inner = other.install(|| catch(|| pool.install(|| bomb("an installed payload"))));
            let p = inner.expect_err("the install panics");
            dispose_bomb(&format!("{ctx}, from another pool"), p, "an installed payload");
            let p = must_panic(ctx, || other.install(|| pool.install(|| bomb("an installed payload"))));
            dispose_bomb(&format!("{ctx}, through another pool"), p, "an installed payload");
        });
    }
);

adversarial!(LONG;
    /// An install closure that captures a bomb panics at its end: the caller gets that panic,
    /// from outside, inside and another pool's worker.
    fn install_captured_bomb() {
        with_another_pool("install, captured bomb", |ctx, pool, other| {
            for from in ["outside", "inside", "another pool"] {
                let ctx = format!("{ctx}, from {from}");
                let capture = PanicOnDrop("an install closure's capture");
                let op = move || {
                    touch(&capture);
                    1
                };
                let p = must_panic(&ctx, || match from {
                    "outside" => pool.install(op),
                    "inside" => pool.install(|| pool.install(op)),
                    _ => other.install(|| pool.install(op)),
                });
                expect_message(&ctx, p, "an install closure's capture");
            }
        });
    }
);

// =============================================================================================
// Shutdown from inside: a job, an install, a contract-scope task; across two pools' nested
// installs; across two pools through handles.
//
// Proves: a shutdown called on behalf of a worker of the pool it stops returns (it cannot wait
// for that worker) with a report that adds up; the pool then rejects jobs, a later shutdown
// from outside returns, and the drop returns.

/// A job (queued behind `workers` gated ones, with 5 more queued behind it) calls its own
/// pool's `shutdown(mode)`.
fn shutdown_inside_job(kind: Strategy, mode: Shutdown) {
    for workers in [1, 2] {
        let ctx = format!("{kind}({workers}): {mode:?} from inside a job");
        let gate = Gate::new();
        let opener = gate.opener();
        let pool = shared(kind, workers);
        for _ in 0..workers {
            let g = gate.clone();
            pool.execute(Box::new(move || g.wait())).unwrap();
        }
        gate.wait_arrived(workers, WAIT);
        let p = pool.clone();
        let handle = pool.spawn(move || p.shutdown(mode)).unwrap();
        for _ in 0..5 {
            pool.execute(Box::new(|| thread::sleep(Duration::from_millis(1))))
                .unwrap();
        }
        drop(opener);
        let inner = handle
            .join()
            .unwrap_or_else(|e| panic!("{ctx}: the job calling shutdown gave {e:?}"));
        adds_up(&ctx, &inner);
        assert!(
            inner.still_running >= 1,
            "{ctx}: the calling job is still running: {inner:?}"
        );
        let last = pool.shutdown(Shutdown::Graceful);
        final_report(&ctx, &last);
        assert_eq!(last.submitted, workers as u64 + 6, "{ctx}: {last:?}");
        let refused = pool.execute(Box::new(|| ())).expect_err("shut down");
        assert!(refused.is_shutdown(), "{ctx}");
        drop(pool);
    }
}

on_every_strategy! {
    /// `shutdown(Graceful)` from inside one of the pool's own jobs, every strategy.
    shutdown_graceful_from_inside_job => shutdown_inside_job(Shutdown::Graceful);
    /// `shutdown(Now)` from inside one of the pool's own jobs, every strategy.
    shutdown_now_from_inside_job => shutdown_inside_job(Shutdown::Now);
    /// `shutdown(Deadline(50ms))` from inside one of the pool's own jobs, every strategy.
    shutdown_deadline_from_inside_job =>
        shutdown_inside_job(Shutdown::Deadline(Duration::from_millis(50)));
}

adversarial!(LONG;
    /// `pool.install(|| pool.shutdown(mode))` on a ScopedPool, every mode.
    fn shutdown_from_inside_install() {
        for mode in MODES {
            for workers in [1, 2] {
                let ctx = format!("ScopedPool({workers}): {mode:?} inside install");
                let pool = ScopedPool::new(workers).expect("build");
                let inner = pool.install(|| pool.shutdown(mode));
                adds_up(&ctx, &inner);
                assert!(pool.execute(Box::new(|| ())).is_err(), "{ctx}: accepted a job");
                assert_eq!(pool.install(|| 7), 7, "{ctx}: install after shutdown");
                let last = pool.shutdown(Shutdown::Graceful);
                final_report(&ctx, &last);
                drop(pool);
            }
        }
    }
);

adversarial!(LONG;
    /// A contract-scope task calls `shutdown(Now)` while other tasks (capturing bombs) are
    /// queued behind it: they are cancelled, the scope ends with `CANCELLED_TASK_MESSAGE`,
    /// nothing hangs.
    fn shutdown_now_from_contract_scope_task() {
        const K: usize = 6;
        for &kind in Strategy::all() {
            let ctx = format!("{kind}(1): Now from a contract-scope task");
            let (pool, result) = held_scope(kind, |s, pool, opener| {
                let stopper = s.spawn(move |_| pool.shutdown(Shutdown::Now));
                for _ in 0..K {
                    let capture = PanicOnDrop("a task queued behind the shutdown");
                    s.spawn(move |_| touch(&capture));
                }
                drop(opener);
                stopper.join()
            });
            let p = match result {
                Ok(r) => panic!("{ctx}: the scope returned normally ({r:?}) although tasks were cancelled"),
                Err(p) => p,
            };
            expect_exact(&ctx, p, CANCELLED_TASK_MESSAGE);
            let last = pool.shutdown(Shutdown::Graceful);
            final_report(&ctx, &last);
            assert_eq!(last.cancelled, K as u64, "{ctx}: {last:?}");
        }
    }
);

/// Which pool `a.install(|| b.install(..))` shuts down from inside.
#[derive(Clone, Copy, Debug)]
enum Target {
    Outer,
    Inner,
    Both,
}

/// `a.install(|| b.install(|| shutdown of the target(s)))`, every mode and size pair.
fn nested_install_shutdown(target: Target) {
    for mode in MODES {
        for (wa, wb) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            let ctx = format!("a({wa}).install(b({wb}).install({target:?} {mode:?}))");
            let a = ScopedPool::new(wa).expect("build");
            let b = ScopedPool::new(wb).expect("build");
            let (ra, rb) = a.install(|| {
                b.install(|| match target {
                    Target::Outer => (Some(a.shutdown(mode)), None),
                    Target::Inner => (None, Some(b.shutdown(mode))),
                    Target::Both => (Some(a.shutdown(mode)), Some(b.shutdown(mode))),
                })
            });
            for (name, pool, report, workers) in [("a", &a, ra, wa), ("b", &b, rb, wb)] {
                let ctx = format!("{ctx}, pool {name}");
                match report {
                    Some(report) => {
                        adds_up(&ctx, &report);
                        let refused = pool.execute(Box::new(|| ())).expect_err("shut down");
                        assert!(refused.is_shutdown(), "{ctx}");
                        adds_up(&ctx, &pool.shutdown(Shutdown::Graceful));
                    }
                    None => scoped_pool_healthy(&ctx, pool, workers),
                }
            }
            drop(a);
            drop(b);
        }
    }
}

adversarial!(LONG;
    /// `a.install(|| b.install(|| a.shutdown(mode)))`: the call is made on behalf of a
    /// waiting worker of `a`; it returns, `a` rejects jobs, shuts down again and drops.
    fn nested_install_shutdown_outer_pool() {
        nested_install_shutdown(Target::Outer);
    }
);

adversarial!(LONG;
    /// `a.install(|| b.install(|| b.shutdown(mode)))`: from inside `b`'s worker.
    fn nested_install_shutdown_inner_pool() {
        nested_install_shutdown(Target::Inner);
    }
);

adversarial!(LONG;
    /// Both pools shut down from inside the nested installs.
    fn nested_install_shutdown_both_pools() {
        nested_install_shutdown(Target::Both);
    }
);

adversarial!(LONG;
    /// A job on pool `a` waits for a job on pool `b` that calls
    /// `a.shutdown(Deadline(100ms))` (through a `JoinHandle`, and through a channel so that
    /// `b`'s worker surely runs it): the call returns in about the deadline, with the waiting
    /// job in `still_running`.
    fn cross_pool_shutdown_deadline() {
        const DEADLINE: Duration = Duration::from_millis(100);
        const ABOUT: Duration = Duration::from_secs(3);
        for &kind in Strategy::all() {
            for via_handle in [true, false] {
                let ctx = format!("{kind}: a job of a waits on b, which shuts a down (handle: {via_handle})");
                let a = shared(kind, 1);
                let b = shared(kind, 1);
                let (a2, b2) = (a.clone(), b.clone());
                let waiting = a
                    .spawn(move || {
                        let a3 = a2.clone();
                        let start = Instant::now();
                        let report = if via_handle {
                            b2.spawn(move || a3.shutdown(Shutdown::Deadline(DEADLINE)))
                                .expect("b is running")
                                .join()
                                .ok()
                        } else {
                            let (tx, rx) = mpsc::channel();
                            b2.execute(Box::new(move || {
                                let _ = tx.send(a3.shutdown(Shutdown::Deadline(DEADLINE)));
                            }))
                            .expect("b is running");
                            rx.recv_timeout(WAIT).ok()
                        };
                        (report, start.elapsed())
                    })
                    .unwrap();
                let (report, took) = waiting
                    .join()
                    .unwrap_or_else(|e| panic!("{ctx}: the waiting job gave {e:?}"));
                let report = report.unwrap_or_else(|| panic!("{ctx}: no report within {WAIT:?}"));
                adds_up(&ctx, &report);
                assert!(report.still_running >= 1, "{ctx}: the waiting job is running: {report:?}");
                assert!(took < ABOUT, "{ctx}: the shutdown took {took:?} (deadline {DEADLINE:?})");
                // `a`'s first shutdown ended at its deadline: a later call may repeat it.
                adds_up(&ctx, &a.shutdown(Shutdown::Graceful));
                final_report(&ctx, &b.shutdown(Shutdown::Graceful));
            }
        }
    }
);

// ---- the pools' own worker code ---------------------------------------------------------------

adversarial!(
    LONG;
    /// A panic in a pool's own worker code, between two jobs (injected through
    /// `shoal_core::lifecycle::faults`), kills that worker thread. Its exit guard still reports the
    /// exit, so `shutdown` returns instead of waiting for a worker that is gone, every pool's report
    /// adds up, and the jobs nobody could run any more are reported cancelled, not lost.
    fn worker_loop_fault_cannot_hang_shutdown() {
    use shoal_core::lifecycle::faults;
    for &kind in Strategy::all() {
        for workers in [1, 2] {
            let pool = build(kind, workers);
            faults::arm(1);
            let first = pool.spawn(|| 7).unwrap_or_else(|_| panic!("{kind}: spawn"));
            assert_eq!(first.join().ok(), Some(7), "{kind}: the job ran");
            eventually(&format!("{kind}: the faulty worker exited"), WAIT, || {
                pool.metrics().workers == workers - 1
            });
            for _ in 0..3 {
                pool.execute(Box::new(|| ()))
                    .unwrap_or_else(|_| panic!("{kind}: execute"));
            }
            let report = pool.shutdown(Shutdown::Graceful);
            assert!(report.adds_up(), "{kind}/{workers}: {report:?}");
            assert_eq!(report.still_running, 0, "{kind}/{workers}: {report:?}");
            assert_eq!(report.submitted, 4, "{kind}/{workers}: {report:?}");
            drop(pool);
        }
    }
}
);
