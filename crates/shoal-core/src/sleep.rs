//! Parking idle workers without lost wake-ups and without idle burn: the protocol the
//! shared-queue and work-stealing pools share.
//!
//! # The problem
//!
//! A worker that finds no job anywhere should stop using the CPU. A submitter that pushes a
//! job should wake a sleeping worker, but only when one sleeps and nobody else will find the
//! job: when every worker is busy, or one is already looking, the push must not touch a lock
//! or make a syscall. Between "I found nothing" and "I am asleep" there is a window in which
//! a job can arrive; if the submitter decides nobody sleeps and the worker then sleeps, the
//! job waits (or, if its submitter waits for it, the pool hangs). That is the *lost wake-up*.
//!
//! # States
//!
//! Every worker is in one of four states. Two of them are counted, each in its own
//! cache-padded atomic: `searching` and `sleepy`. They live apart because they change at very
//! different rates: `searching` moves every time a worker runs dry for a moment, `sleepy`
//! only when one really goes to sleep, and `sleepy` is the word every submitter reads.
//!
//! ```text
//!            found a job                     found a job
//!   BUSY ◀─────────────────── SEARCHING ◀─────────────────────┐
//!    │  └──────────────────────▶  │   (spins, polls queues)   │
//!    │    every queue it polls    │ nothing after the spin    │ re-check found work,
//!    │    was empty               ▼ (step 2: announce)        │ a token, or a flag
//!    │ ── searcher limit reached ▶ SLEEPY ──────────────────▶┘
//!    │                            │ (step 3: re-check, nothing)
//!    │                            ▼
//!    │                         ASLEEP (condvar wait; counted as sleepy)
//! ```
//!
//! A worker is counted as searching from before its thread starts ([`Sleep::starting`]) until
//! that thread runs ([`Sleep::started`]): a search whose spin is the thread's start, ended as
//! step 5 below ends one, before the worker's loop first polls the queues.
//!
//! A *token* (under the sleep lock) is a wake-up already paid for: whoever issues one has
//! moved one worker from `sleepy` to `searching` on that worker's behalf, and the next
//! sleepy worker to look takes it and goes searching. So at every moment,
//! `workers between step 2 and their return to searching == sleepy + tokens` (plus a claim
//! in progress while its issuer holds the lock). Tokens never pile up.
//!
//! `searching + sleepy` is the number of workers waiting for a job ([`Sleep::idle`]); a join
//! offers its second half to the pool only while it is above zero ([`Sleep::hungry`],
//! `shoal_core::fork`).
//!
//! # The protocol
//!
//! Worker, when every queue it polls was empty:
//!
//! 1. **Search**, unless `limit` workers search already ([`Sleep::try_start_searching`]; the
//!    pool picks the limit, see below): `searching += 1`; spin a little (a few rounds of spin
//!    hints, then yields; the worker's [`Spin`] budget: long while its searches find work,
//!    short after one that found nothing), polling every queue between rounds. Found a job:
//!    go to 5. Over the limit: go straight to 2, not counted as searching.
//! 2. **Announce.** `sleepy += 1`, `searching -= 1` (if it was searching), then a SeqCst
//!    fence.
//! 3. **Re-check.** Poll every queue once more, and the pool's flags (shutdown draining, a
//!    pending retirement). Found something: leave `sleepy` ([`Sleep::cancel_sleepy`]: take
//!    back our own `sleepy` count, or, if a waker already converted it, take the token it
//!    left), and go to 5 (or back to 1 for a flag).
//! 4. **Park.** Lock; if a token is there, take it (the waker already counted us as
//!    searching) and go back to 1; if a flag is set, leave `sleepy` and go back to 1;
//!    otherwise wait on the condvar (the lock is released atomically) and repeat 4 on waking.
//! 5. **Leave searching** to run the job. If we were the last searcher, some worker is sleepy
//!    and, after a SeqCst fence, some queue still holds a job, wake one: submitters that saw
//!    us searching woke nobody, and the jobs they pushed deserve a worker in parallel (and,
//!    for the proof, a searcher that will look after their push). When the queues are empty
//!    there is nothing to hand on: a steady trickle of jobs then costs no wake-ups at all.
//!    A burst wakes workers one after another, each woken worker handing the search on as it
//!    finds a job, for as long as jobs are left over.
//!
//! Submitter, after pushing a job where any worker can find it:
//!
//! A. SeqCst fence, then read `sleepy` (a plain load of a read-mostly word: no write, no
//!    lock). Zero: done. This is the hot path when the pool is busy.
//! B. Read `searching`. Non-zero: done; a searcher will find the job.
//! C. Otherwise lock; if still no searcher, move one worker from sleepy to searching (a CAS
//!    that takes `sleepy` down only if it is above zero, then `searching += 1`), add a token,
//!    unlock, `notify_one`.
//!
//! Flags (shutdown, shrink) are stored first, then [`Sleep::wake_all`] locks, unlocks and
//! `notify_all`s; a worker checks the flags under the lock before it waits (step 4), so it
//! either sees the flag or is already waiting when the notification comes.
//!
//! # Why no wake-up is lost (proof sketch)
//!
//! The fence rule used throughout: if a write X is sequenced before fence F, fence G is
//! sequenced before a read Y of the same atomic, and F precedes G in the single total order of
//! SeqCst fences, then Y reads X or a later write. So of two threads that each write, fence,
//! then read what the other wrote, at least one sees the other's write.
//!
//! Suppose a job J stays queued while every worker waits forever. J's submitter pushed J,
//! fenced (F), and read `sleepy`. Take any worker W and its *last* announcement (step 2,
//! then its fence G).
//!
//! - If F precedes G, W's re-check in step 3 (after G) sees J's push (before F), or sees it
//!   already taken. Then W does not park after that announcement: it contradicts "last".
//! - So G precedes F for every worker, and the submitter's reads after F see every last
//!   announcement. `sleepy` cannot read zero then: each of those workers is counted there
//!   until it leaves `sleepy`, and leaving means searching again (then announcing again,
//!   contradicting "last"). So the submitter goes on to B.
//! - In B, `searching` reflects every last announcement's decrement too. If it reads non-zero,
//!   some worker S was searching and had not yet announced for the last time: S either
//!   announces later (its fence then follows F, and its re-check sees J, contradiction), or
//!   stops searching to run a job. If S was the last searcher, its fence follows F, so it sees
//!   the sleepy workers and J (or J is taken, and we are done), and passes the wake on
//!   (step 5); if not, another searcher remains, and the same holds for it. Either way some
//!   worker searches after F: contradiction.
//! - If B reads zero, the submitter locks and, finding no searcher still, converts one sleepy
//!   worker and leaves a token. A sleepy worker either finds the token at step 4 or is waiting
//!   and receives `notify_one`; that worker then searches again, and its next announcement
//!   follows F. Contradiction. ∎
//!
//! The searcher limit changes nothing here: a worker over the limit is one whose search ends
//! before it began. The same argument covers jobs a retiring worker moves to a shared queue
//! (it acts as their submitter after the move) and wake-ups for flags (set before the lock
//! that step 4 takes).
//!
//! # The searcher limit
//!
//! Searchers spin on the same queues, so every searcher past the first makes the others'
//! polls miss in cache, and when a job arrives they all race for it: one wins, the rest paid
//! a cache-line transfer for nothing. On a machine with fewer cores than workers a spinning
//! searcher also takes a core from a worker that has a job. A few searchers absorb a stream
//! of submissions as well as many do (they only have to find each job; the hand-on in step 5
//! brings more workers in while jobs are left over). The shared-queue pool limits searchers
//! to half the cores its workers can use (tokio's rule; Go's scheduler allows no more
//! spinners than busy processors), but at least two: on 2 cores a limit of one made the
//! second idle worker park and be woken again for every burst (twice the futex calls per
//! job on `spawn-outside`, 30 times as many on `spawn-inside`). The work-stealing pool lets
//! every idle worker search, because its searchers poll siblings' deques, which the limit
//! would leave unwatched for longer.
//!
//! # Costs
//!
//! - Submit while no worker sleeps: one SeqCst fence and one load of a read-mostly word.
//! - Submit while one sleeps but another searches: a second load; the searcher finds the job.
//! - Submit while workers sleep and none searches: a lock, a CAS and a futex wake.
//! - Going to sleep: two RMWs, a fence, one more poll, a lock and a futex wait.
//!
//! The submitter's "don't wake if someone searches" rule (tokio's) means a worker that
//! just went idle and spins absorbs bursts of submissions without any syscall; rayon-core's
//! sleep module (`sleep/README.md`) uses the same announce-then-recheck shape with a jobs
//! counter in place of the searching count.

use std::cell::Cell;

use crossbeam_utils::CachePadded;

use crate::join_hint::JoinHint;
use crate::metrics::{Counters, Event};
use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::{lock, thread, Condvar, Mutex};

/// Spin rounds of a search while the thread's searches find work (see [`Spin`]).
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
pub const LONG_SPIN: u32 = 32;
/// Spin rounds of a search after one that found nothing and went to sleep (see [`Spin`]).
#[cfg(not(any(shoal_loom, shoal_shuttle)))]
pub const SHORT_SPIN: u32 = 10;
/// Under a model checker a spin only multiplies interleavings: no spin phase at all.
#[cfg(any(shoal_loom, shoal_shuttle))]
pub const LONG_SPIN: u32 = 0;
/// Under a model checker a spin only multiplies interleavings: no spin phase at all.
#[cfg(any(shoal_loom, shoal_shuttle))]
pub const SHORT_SPIN: u32 = 0;

/// How long one idle thread spins before it announces that it is going to sleep: its own
/// budget of rounds, which adapts to what its searches found.
///
/// - A search that found work before it gave up (a burst is on: fork-join halves offered one
///   after another, a chain of jobs each spawning the next) sets the budget to [`LONG_SPIN`]:
///   a thread still looking takes the next job with no futex call on either side.
/// - A search that spun its whole budget for nothing sets it to [`SHORT_SPIN`]: jobs come
///   now and then, and every round of spinning is CPU burnt for nothing (the `idle`
///   workload). Worse, the late rounds yield the thread, and a searcher the OS has set aside
///   holds the next job, since a submitter wakes nobody while a worker searches: that was
///   the tail of the `wake-latency` workload.
///
/// A job found after the thread slept says nothing about bursts (the wake-up was paid for),
/// so it leaves the budget short. An idle loop starts a [`Spell`] when it runs dry, spins
/// [`Spell::rounds`] rounds of [`backoff`], and tells the spell how it ended.
#[derive(Debug)]
pub struct Spin {
    rounds: Cell<u32>,
}

impl Default for Spin {
    fn default() -> Self {
        Spin::new()
    }
}

impl Spin {
    /// A new thread's budget: long (a new pool is usually about to get work).
    pub const fn new() -> Spin {
        Spin {
            rounds: Cell::new(LONG_SPIN),
        }
    }

    /// The rounds the next spin may take.
    #[inline]
    pub fn rounds(&self) -> u32 {
        self.rounds.get()
    }

    /// One idle spell of the thread: from running dry to finding a job (or leaving for a
    /// flag), through any number of sleeps.
    #[inline]
    pub fn spell(&self) -> Spell<'_> {
        Spell {
            spin: self,
            rounds: self.rounds(),
            slept: false,
        }
    }

    /// A search found work without sleeping: spin long from now on.
    #[inline]
    fn found(&self) {
        self.rounds.set(LONG_SPIN);
    }

    /// A search spun its whole budget for nothing: spin briefly from now on.
    #[inline]
    fn gave_up(&self) {
        self.rounds.set(SHORT_SPIN);
    }
}

/// One idle spell of a thread, holding the rules of [`Spin`] in one place: the rounds this
/// spell spins, shortened once a spin found nothing; a job found before the first sleep
/// makes the thread spin long again, one found after it changes nothing.
#[derive(Debug)]
pub struct Spell<'a> {
    spin: &'a Spin,
    rounds: u32,
    /// The spell went to the sleep protocol (step 2) at least once.
    slept: bool,
}

impl Spell<'_> {
    /// The rounds each spin of this spell may take.
    #[inline]
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// The spell found a job.
    #[inline]
    pub fn found(&self) {
        if !self.slept {
            self.spin.found();
        }
    }

    /// The spell goes to the sleep protocol. `spun`: it spun its rounds first (a thread over
    /// the searcher limit goes without spinning, which says nothing about the work).
    #[inline]
    pub fn sleeps(&mut self, spun: bool) {
        if spun && !self.slept {
            self.spin.gave_up();
            self.rounds = self.spin.rounds();
        }
        self.slept = true;
    }
}

/// One round of an idle thread's spin: `2^round` spin-loop hints for the first six rounds,
/// then a yield of the thread.
#[inline]
pub fn backoff(round: u32) {
    if cfg!(any(shoal_loom, shoal_shuttle)) || round >= 6 {
        thread::yield_now();
    } else {
        for _ in 0..1u32 << round {
            crate::sync::spin_loop();
        }
    }
}

/// After another thread ran a join half we offered: waits a moment (at most [`SHORT_SPIN`]
/// rounds of [`backoff`], a few microseconds) until `hungry()` holds, that is until the pool
/// counts some worker as looking for work again.
///
/// The thread that ran the half reported it just before it went back to its search, and is
/// not counted as idle until it gets there. A join of ours that came first would find nobody
/// idle and keep both halves: in a loop of joins on the stealing pool and `ScopedPool`, up to
/// one join in four, each taking twice as long; and the thief, finding nothing, went to sleep,
/// so the offer after it paid a wake-up. A thread that finds other work
/// instead costs us the whole wait, once per half another thread ran. Under a model checker,
/// no wait.
#[inline]
pub fn settle(hungry: impl Fn() -> bool) {
    #[cfg(not(any(shoal_loom, shoal_shuttle)))]
    for round in 0..SHORT_SPIN {
        if hungry() {
            return;
        }
        backoff(round);
    }
    #[cfg(any(shoal_loom, shoal_shuttle))]
    let _ = hungry;
}

struct Tokens {
    /// Wake-ups issued and not yet taken (see the module docs).
    tokens: usize,
}

/// The parking lot of one pool; see the [module docs](self) for the protocol.
pub struct Sleep {
    /// Workers between step 2 and their return to searching, less the tokens issued for them.
    sleepy: CachePadded<AtomicUsize>,
    /// Workers in step 1 (and those a token has converted).
    searching: CachePadded<AtomicUsize>,
    lock: Mutex<Tokens>,
    cvar: Condvar,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (searching, sleepy) = self.counts();
        f.debug_struct("Sleep")
            .field("searching", &searching)
            .field("sleepy", &sleepy)
            .finish_non_exhaustive()
    }
}

impl Default for Sleep {
    fn default() -> Self {
        Sleep::new()
    }
}

impl Sleep {
    /// No worker searching or sleepy yet.
    pub fn new() -> Sleep {
        Sleep {
            sleepy: CachePadded::new(AtomicUsize::new(0)),
            searching: CachePadded::new(AtomicUsize::new(0)),
            lock: Mutex::new(Tokens { tokens: 0 }),
            cvar: Condvar::new(),
        }
    }

    /// `true` when some worker is searching, about to sleep or asleep: a join offers its
    /// second half only then ([`crate::fork`]). A hint: two relaxed loads.
    #[inline]
    pub fn hungry(&self) -> bool {
        // ORDERING: Relaxed: a stale value only delays or adds one offer.
        self.searching.load(Ordering::Relaxed) > 0 || self.sleepy.load(Ordering::Relaxed) > 0
    }

    /// What a join inside the pool reads for [`Sleep::hungry`], with the rule that a thread
    /// offers one half at a time ([`JoinHint`]).
    pub fn join_hint(&self) -> JoinHint<'_> {
        JoinHint::counts([&self.searching, &self.sleepy], true)
    }

    /// Workers waiting for a job: searching, about to sleep, or asleep. A snapshot.
    pub fn idle(&self) -> usize {
        // ORDERING: a snapshot for hints and display.
        self.searching.load(Ordering::Relaxed) + self.sleepy.load(Ordering::Relaxed)
    }

    /// Step 1: an idle worker starts searching, unless `limit` workers search already (it
    /// then goes straight to step 2, not counted as searching). Returns whether it searches.
    #[inline]
    pub fn try_start_searching(&self, limit: usize) -> bool {
        // ORDERING: a count; what makes a submitter rely on it is the fence pairing described
        // at `stop_searching` and `announce_sleepy`. The limit is a heuristic (two workers
        // may both pass it); the count itself is exact.
        if self.searching.load(Ordering::Relaxed) >= limit {
            return false;
        }
        self.searching.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A worker about to start: counted as searching from now until its thread calls
    /// [`Sleep::started`]. So the pool is [`hungry`](Sleep::hungry) while its new workers
    /// start, and a join inside it offers its second half for them instead of running both
    /// halves on one thread (the first join on a pool built a moment ago did, its other
    /// workers not having reached their idle loop yet); and a submitter leaves its job to the
    /// new worker, whose loop looks at the queues first.
    pub fn starting(&self) {
        // ORDERING: a count; see `try_start_searching`.
        self.searching.fetch_add(1, Ordering::SeqCst);
    }

    /// Ends the count [`Sleep::starting`] made: called first thing on the new worker's thread,
    /// or by the spawner when the thread did not start (with `|| true`: a failed start is
    /// rare, and a sleeper woken for nothing only sleeps again). It is step 5 of a search: if it was
    /// the last searcher, a worker sleeps and `more_work()` sees a job, one is woken.
    pub fn started(&self, more_work: impl FnOnce() -> bool) {
        self.stop_searching(more_work);
    }

    /// Step 5: a searcher stops searching (it found a job, or it exits). If it was the last
    /// searcher, some worker is sleepy and `more_work()` sees a job in some queue, one sleepy
    /// worker is woken to keep looking.
    #[inline]
    pub fn stop_searching(&self, more_work: impl FnOnce() -> bool) {
        // ORDERING: the decrement, then (only when we were the last searcher) a SeqCst fence,
        // the load of `sleepy` and the scan in `more_work`. A submitter that read us as
        // searching (after its fence) left its job to us; our fence follows its fence, so we
        // see every worker it saw sleepy, and its job (unless it was taken).
        let prev = self.searching.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(prev > 0, "stop_searching without a search");
        if prev == 1 {
            fence(Ordering::SeqCst);
            if self.sleepy.load(Ordering::Relaxed) > 0 && more_work() {
                self.wake_one();
            }
        }
    }

    /// Step 2: a searcher that found nothing announces that it is going to sleep. The caller
    /// must re-check every queue and flag after this returns (step 3).
    pub fn announce_sleepy(&self, searching: bool) {
        // ORDERING: both writes, then a SeqCst fence that pairs with the submitters' step-A
        // fence: either their loads see these writes, or the re-check after our fence sees
        // their push (see the proof in the module docs).
        self.sleepy.fetch_add(1, Ordering::SeqCst);
        if searching {
            self.searching.fetch_sub(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
    }

    /// Takes one unit off `sleepy` if there is one. Returns `false` when every sleepy worker
    /// was already converted by a waker.
    #[inline]
    fn take_sleepy(&self) -> bool {
        // ORDERING: a CAS on the one count that wakers also CAS, so each unit is taken once.
        self.sleepy
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Step 3, something found: a sleepy worker goes back to searching without parking.
    pub fn cancel_sleepy(&self) {
        if self.take_sleepy() {
            // ORDERING: a count; see `try_start_searching`.
            self.searching.fetch_add(1, Ordering::SeqCst);
        } else {
            // Every sleepy unit was converted by wakers: one of their tokens is ours (and the
            // waker already counted us as searching). The waker holds the lock from its CAS
            // until the token exists, so it is there once we hold the lock.
            let mut t = lock(&self.lock);
            debug_assert!(t.tokens > 0, "a converted sleepy worker must find a token");
            t.tokens -= 1;
        }
    }

    /// Step 4: parks until a token arrives or `attention()` (checked under the lock) says the
    /// pool's flags changed. Returns with the worker counted as searching again.
    pub fn park(&self, counters: &Counters, attention: impl Fn() -> bool) {
        let mut t = lock(&self.lock);
        loop {
            if t.tokens > 0 {
                t.tokens -= 1;
                return;
            }
            if attention() {
                // Under the lock no claim is in progress and no token is left, so our own
                // sleepy unit is still there to take back.
                let took = self.take_sleepy();
                debug_assert!(took, "a sleepy worker without a token must find its unit");
                // ORDERING: a count; see `try_start_searching`.
                self.searching.fetch_add(1, Ordering::SeqCst);
                return;
            }
            counters.add(Event::Park, 1);
            t = self.cvar.wait(t).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Steps A-C: called after a job was pushed where any worker can find it.
    #[inline]
    pub fn notify_new_job(&self) {
        // ORDERING: the SeqCst fence pairs with the fence in `announce_sleepy` (and the one in
        // `stop_searching`): either these loads see that worker's writes, or that worker's
        // later scan sees the job we pushed.
        fence(Ordering::SeqCst);
        if self.sleepy.load(Ordering::Relaxed) == 0 {
            return;
        }
        if self.searching.load(Ordering::Relaxed) > 0 {
            return;
        }
        self.wake_one();
    }

    /// Step C: converts one sleepy worker into a searcher and hands it a token, unless a
    /// worker is searching already or none is sleepy.
    fn wake_one(&self) {
        let mut t = lock(&self.lock);
        // ORDERING: re-read under the lock; a searcher that appeared since will find the job.
        if self.searching.load(Ordering::SeqCst) > 0 || !self.take_sleepy() {
            return;
        }
        // ORDERING: a count; see `try_start_searching`.
        self.searching.fetch_add(1, Ordering::SeqCst);
        // Holding the lock until the token exists is what lets a converted worker find it.
        t.tokens += 1;
        drop(t);
        self.cvar.notify_one();
    }

    /// Wakes every parked worker to look at flags the caller stored before this call.
    pub fn wake_all(&self) {
        drop(lock(&self.lock));
        self.cvar.notify_all();
    }

    /// `(searching, sleepy)` now, for `Debug` and tests.
    pub fn counts(&self) -> (usize, usize) {
        // ORDERING: a snapshot for display only.
        (
            self.searching.load(Ordering::Relaxed),
            self.sleepy.load(Ordering::Relaxed),
        )
    }
}

#[cfg(all(test, not(any(shoal_loom, shoal_shuttle))))]
mod tests {
    use super::{backoff, Spin, LONG_SPIN, SHORT_SPIN};

    // The short spin is shorter, and still reaches the rounds that yield.
    const _: () = assert!(SHORT_SPIN < LONG_SPIN && SHORT_SPIN > 6);

    #[test]
    fn spin_budget_follows_what_searches_found() {
        let spin = Spin::new();
        assert_eq!(spin.rounds(), LONG_SPIN, "a new worker spins long");
        spin.gave_up();
        assert_eq!(spin.rounds(), SHORT_SPIN);
        spin.gave_up();
        assert_eq!(
            spin.rounds(),
            SHORT_SPIN,
            "stays short while searches find nothing"
        );
        spin.found();
        assert_eq!(spin.rounds(), LONG_SPIN);
        for round in 0..LONG_SPIN {
            backoff(round);
        }
    }
}
