//! The thread that applies a self-sizing pool's policy: every interval it samples the pool,
//! asks [`Control`] for a decision, and applies it through the life cycle's policy resize.
//!
//! ```text
//!   supervisor                                   life cycle (lock)
//!   ──────────                                   ─────────────────
//!   loop:
//!     wait interval (or until told to stop) ◀── shutdown begins / resize by hand: stop
//!       (idle: twice as long each time, up to 10 intervals)
//!     stopped? ─▶ exit
//!     sample = metrics
//!     decision = control.step(now, sample)
//!     policy_starter(to)  ──────────────────▶  None once stopped or switched off: exit
//!     grow or retire through the starter (the same steps as `resize`)
//!     record the decision in the status ───▶  Metrics::sizing
//!     on_decision hook (outside every lock)
//! ```
//!
//! Shutdown stops the supervisor before it waits for the workers, and joins it, so no thread
//! of the pool outlives `shutdown`, and a decision is never applied to a stopping pool
//! (`policy_starter` answers `None` from then on). Under the model checkers no supervisor
//! thread starts (their clocks do not run); their models call `lifecycle::apply_decision`,
//! the step each decision takes here.
#![cfg_attr(any(shoal_loom, shoal_shuttle), allow(dead_code))]

use std::cell::Cell;
use std::time::Instant;

use super::control::{Control, Sample};
use super::Sizing;
use crate::lifecycle::{self, Workers};
use crate::sync::{thread, Arc};
use crate::unwind::drop_quietly;

std::thread_local! {
    /// Set on a supervisor thread: a shutdown called there (from an `on_decision` hook) must
    /// not join the thread it runs on.
    static ON_SUPERVISOR: Cell<bool> = const { Cell::new(false) };
}

/// How many intervals an idle pool's supervisor waits between samples, at most.
pub(crate) const IDLE_PAUSES: u32 = 10;

/// `true` on a supervisor thread.
pub(crate) fn on_supervisor() -> bool {
    ON_SUPERVISOR.with(Cell::get)
}

/// Starts the supervisor of `pool`, which starts with `workers` workers.
pub(crate) fn spawn<R: Workers>(
    pool: &Arc<R>,
    sizing: Sizing,
    workers: usize,
    name: String,
) -> std::io::Result<thread::JoinHandle<()>> {
    let pool = pool.clone();
    thread::Builder::new()
        .name(name)
        .spawn(move || run(&pool, &sizing, workers))
}

fn run<R: Workers>(pool: &Arc<R>, sizing: &Sizing, workers: usize) {
    ON_SUPERVISOR.with(|on| on.set(true));
    let life = pool.life();
    let mut control = Control::new(sizing, workers);
    let start = Instant::now();
    let interval = sizing.interval_time();
    let mut pause = interval;
    while life.supervisor_wait(pause) {
        let workers = life.target();
        let sample = Sample::of(&life.metrics(&**pool), workers);
        // An idle pool is sampled less and less often, down to one sample per `IDLE_PAUSES`
        // intervals: idle, the supervisor costs next to nothing, and the first sample of a
        // burst comes at most that late.
        pause = if sample.queued == 0 && sample.running == 0 {
            (pause * 2).min(interval * IDLE_PAUSES)
        } else {
            interval
        };
        let Some((to, reason)) = control.step(start.elapsed(), sample) else {
            continue;
        };
        let Some(decision) = lifecycle::apply_decision(pool, to, reason, control.limit()) else {
            break;
        };
        if let Some(hook) = sizing.decision_hook() {
            let hook = hook.clone();
            if let Err(payload) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&decision)))
            {
                drop_quietly(payload);
            }
        }
    }
}
