//! Parking idle workers without lost wake-ups and without idle burn.
//!
//! # The problem
//!
//! A worker that finds no job anywhere should stop using the CPU. A submitter that pushes a
//! job should wake a sleeping worker, but only when one sleeps: when every worker is busy the
//! push must not touch a lock or make a syscall. Between "I found nothing" and "I am asleep"
//! there is a window in which a job can arrive; if the submitter decides nobody sleeps and
//! the worker then sleeps, the job waits (or, if its submitter waits for it, the pool hangs).
//! That is the *lost wake-up*.
//!
//! # States
//!
//! Every worker is in one of four states. Two of them are counted in one atomic word,
//! [`Sleep::state`]: `searching` in the low half, `sleepy` in the high half.
//!
//! ```text
//!            found a job                     found a job
//!   BUSY ◀─────────────────── SEARCHING ◀─────────────────────┐
//!    │  └──────────────────────▶  │   (spins, scans queues)   │
//!    │    own deque, injector     │ nothing after the spin    │ re-check found work,
//!    │    and siblings all empty  ▼ (step 2: announce)        │ a token, or a flag
//!    │                          SLEEPY ──────────────────────▶┘
//!    │                            │ (step 3: re-check, nothing)
//!    │                            ▼
//!    │                         ASLEEP (condvar wait; counted as sleepy)
//! ```
//!
//! A *token* (under [`Sleep::lock`]) is a wake-up already paid for: whoever issues one has
//! moved one worker from `sleepy` to `searching` in the state word on that worker's behalf,
//! and the next sleepy worker to look takes it and goes searching. So at every moment,
//! `workers between step 2 and their return to searching == sleepy + tokens` (plus a claim
//! in progress while its issuer holds the lock). Tokens never pile up.
//!
//! # The protocol
//!
//! Worker, when a scan of its own deque, the injector and every sibling found nothing:
//!
//! 1. **Search.** `searching += 1`; spin a little (a few rounds of spin hints, then yields),
//!    scanning every queue between rounds. Found a job: go to 5.
//! 2. **Announce.** `searching -= 1, sleepy += 1` in one SeqCst read-modify-write, then a
//!    SeqCst fence.
//! 3. **Re-check.** Scan every queue once more, and the pool's flags (shutdown draining, a
//!    pending retirement). Found something: leave `sleepy` ([`Sleep::cancel_sleepy`]: take
//!    back our own `sleepy` count, or, if a waker already converted it, take the token it
//!    left), and go to 5 (or back to 1 for a flag).
//! 4. **Park.** Lock; if a token is there, take it (the waker already counted us as
//!    searching) and go back to 1; if a flag is set, leave `sleepy` and go back to 1;
//!    otherwise wait on the condvar (the lock is released atomically) and repeat 4 on waking.
//! 5. **Leave searching** to run the job. If we were the last searcher and some worker is
//!    sleepy, wake one (so that more queued jobs, for which submitters did not wake anyone
//!    because they saw us searching, get a worker in parallel).
//!
//! Submitter, after pushing a job to the injector or to its own deque:
//!
//! A. SeqCst fence, then read the state word (a plain load: no write, no lock).
//! B. If `searching > 0` or `sleepy == 0`: done. This is the hot path when the pool is busy.
//! C. Otherwise lock, and while `searching == 0 && sleepy > 0` move one worker from sleepy to
//!    searching (a CAS), add a token, unlock, `notify_one`.
//!
//! Flags (shutdown, shrink) are stored first, then [`Sleep::wake_all`] locks, unlocks and
//! `notify_all`s; a worker checks the flags under the lock before it waits (step 4), so it
//! either sees the flag or is already waiting when the notification comes.
//!
//! # Why no wake-up is lost (proof sketch)
//!
//! Suppose a job J stays queued while every worker waits forever. Let v be the state value
//! J's submitter read in step A. Take any worker W and its *last* announcement (step 2).
//!
//! - If W's step 2 comes after v in the state word's modification order, then W's fence is
//!   after the submitter's fence in the single total order of SeqCst fences (otherwise the
//!   submitter's load, after its fence, would have read W's write or a later one). The push of
//!   J precedes the submitter's fence, so W's re-check in step 3 sees J (or sees it already
//!   taken). Then W does not park after that announcement, which contradicts "last".
//! - So every worker's last announcement precedes v: at v no worker is searching and at
//!   least one is sleepy (a busy worker would finish its job and announce after v; a
//!   searcher would find J or announce after v; a worker holding a token is counted as
//!   searching). So in step B the submitter sees `searching == 0 && sleepy > 0`, takes the
//!   lock, and (re-reading a state that is at least as late, to which the same argument
//!   applies) converts one sleepy worker and leaves a token. A sleepy worker either finds the
//!   token at step 4 or is waiting and receives `notify_one`; once the token is taken that
//!   worker searches again, and its next announcement comes after v. Contradiction. ∎
//!
//! The same argument covers jobs a retiring worker moves to the injector (it acts as their
//! submitter after the move) and wake-ups for flags (set before the lock that step 4 takes).
//!
//! # Costs
//!
//! - Submit while every worker is busy: one SeqCst fence and one load of a read-mostly word.
//! - Submit while a worker searches: the same; the searcher finds the job.
//! - Submit while workers sleep and none searches: a lock, a CAS and a futex wake.
//! - Going to sleep: two RMWs, a fence, one more scan, a lock and a futex wait.
//!
//! The submitter's "don't wake if someone searches" rule (tokio's) means a worker that
//! just went idle and spins absorbs bursts of submissions without any syscall; rayon-core's
//! sleep module (`sleep/README.md`) uses the same announce-then-recheck shape with a jobs
//! counter in place of the searching count.

use shoal_core::sync::atomic::{fence, AtomicUsize, Ordering};
use shoal_core::sync::{lock, Condvar, Mutex};
use shoal_core::{Counters, Event};

const SHIFT: u32 = usize::BITS / 2;
const ONE_SEARCHING: usize = 1;
const ONE_SLEEPY: usize = 1 << SHIFT;

#[inline]
fn searching(state: usize) -> usize {
    state & (ONE_SLEEPY - 1)
}

#[inline]
fn sleepy(state: usize) -> usize {
    state >> SHIFT
}

struct Tokens {
    /// Wake-ups issued and not yet taken (see the module docs).
    tokens: usize,
}

/// The parking lot of one pool; see the module docs for the protocol.
pub(crate) struct Sleep {
    /// `searching` (low half) and `sleepy` (high half) workers.
    state: AtomicUsize,
    lock: Mutex<Tokens>,
    cvar: Condvar,
}

impl Sleep {
    pub(crate) fn new() -> Sleep {
        Sleep {
            state: AtomicUsize::new(0),
            lock: Mutex::new(Tokens { tokens: 0 }),
            cvar: Condvar::new(),
        }
    }

    /// Step 1: an idle worker starts searching.
    #[inline]
    pub(crate) fn start_searching(&self) {
        // ORDERING: SeqCst keeps this RMW in the one order the proof reasons about; a
        // submitter that reads it (step A) leaves the job to this searcher.
        self.state.fetch_add(ONE_SEARCHING, Ordering::SeqCst);
    }

    /// Step 5: a searcher stops searching (it found a job, or it exits). If it was the last
    /// searcher and some worker is sleepy, one is woken to keep looking.
    #[inline]
    pub(crate) fn stop_searching(&self) {
        // ORDERING: SeqCst, paired with the submitters' step-A fence: a submitter that saw us
        // searching relies on this worker, so the pass-on below must see every sleepy worker
        // counted before it.
        let prev = self.state.fetch_sub(ONE_SEARCHING, Ordering::SeqCst);
        debug_assert!(searching(prev) > 0, "stop_searching without start_searching");
        if searching(prev) == 1 && sleepy(prev) > 0 {
            self.wake_one();
        }
    }

    /// Step 2: a searcher that found nothing announces that it is going to sleep. The caller
    /// must re-check every queue and flag after this returns (step 3).
    pub(crate) fn announce_sleepy(&self) {
        // ORDERING: SeqCst RMW, then a SeqCst fence: the fence pairs with the submitters'
        // step-A fence. Either their load sees this announcement, or the re-check after our
        // fence sees their push (see the proof in the module docs).
        self.state
            .fetch_add(ONE_SLEEPY - ONE_SEARCHING, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Step 3, something found: a sleepy worker goes back to searching without parking.
    pub(crate) fn cancel_sleepy(&self) {
        // ORDERING: SeqCst CAS in the state word's single order; the wakers' conversions are
        // CASes on the same word, so exactly one of us moves this worker's count.
        let converted = self
            .state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                (sleepy(s) > 0).then(|| s - ONE_SLEEPY + ONE_SEARCHING)
            })
            .is_ok();
        if !converted {
            // Every sleepy count was converted by wakers: one of their tokens is ours. The
            // waker holds the lock from its CAS until the token exists, so it is there now.
            let mut t = lock(&self.lock);
            debug_assert!(t.tokens > 0, "a converted sleepy worker must find a token");
            t.tokens -= 1;
        }
    }

    /// Step 4: parks until a token arrives or `attention()` (checked under the lock) says the
    /// pool's flags changed. Returns with the worker counted as searching again.
    pub(crate) fn park(&self, counters: &Counters, attention: impl Fn() -> bool) {
        let mut t = lock(&self.lock);
        loop {
            if t.tokens > 0 {
                t.tokens -= 1;
                return;
            }
            if attention() {
                // ORDERING: as in `cancel_sleepy`. Under the lock no claim is in progress, and
                // no token is left, so our own sleepy count is still there to take back.
                let prev = self
                    .state
                    .fetch_sub(ONE_SLEEPY - ONE_SEARCHING, Ordering::SeqCst);
                debug_assert!(sleepy(prev) > 0);
                return;
            }
            counters.add(Event::Park, 1);
            t = self.cvar.wait(t).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Steps A-C: called after a job was pushed where any worker can find it.
    #[inline]
    pub(crate) fn notify_new_job(&self) {
        // ORDERING: the SeqCst fence pairs with the fence in `announce_sleepy`: either this load
        // sees the announcement, or the announcing worker's re-check sees the job we pushed.
        fence(Ordering::SeqCst);
        let s = self.state.load(Ordering::Relaxed);
        if searching(s) == 0 && sleepy(s) > 0 {
            self.wake_one();
        }
    }

    /// Step C: converts one sleepy worker into a searcher and hands it a token, unless a
    /// worker is searching already or none is sleepy.
    fn wake_one(&self) {
        let mut t = lock(&self.lock);
        // ORDERING: SeqCst CAS; see `cancel_sleepy`. Holding the lock until the token exists
        // is what lets a converted worker find its token.
        let claimed = self
            .state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                (searching(s) == 0 && sleepy(s) > 0).then(|| s - ONE_SLEEPY + ONE_SEARCHING)
            })
            .is_ok();
        if claimed {
            t.tokens += 1;
            drop(t);
            self.cvar.notify_one();
        }
    }

    /// Wakes every parked worker to look at flags the caller stored before this call.
    pub(crate) fn wake_all(&self) {
        drop(lock(&self.lock));
        self.cvar.notify_all();
    }

    /// `(searching, sleepy)` now; for metrics and tests.
    #[allow(dead_code)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        // ORDERING: a snapshot for display only.
        let s = self.state.load(Ordering::Relaxed);
        (searching(s), sleepy(s))
    }
}
