//! The decisions of a self-sizing pool, as a pure function of its samples.
//!
//! [`Control::step`] takes one [`Sample`] of the pool (its size, backlog, busy workers and
//! the jobs ended so far) with the time it was taken, and answers the size the pool should
//! have now, with a [`Reason`], or nothing. It keeps no clock and starts no thread, so tests
//! drive it with simulated time and a simulated resource (see the tests below, and the
//! supervisor in `supervisor.rs` for the thread that feeds it).
//!
//! Three rules, in this order (module docs of [`sizing`](super) for the why):
//!
//! 1. **Adaptive limit** (adaptive only): over windows of samples taken with a backlog, at
//!    the limit, one interval after the last (not after an idle pause), measure throughput
//!    `X` and the mean busy workers `L`; the time per job is `W = L / X`, the base `W_min`
//!    the least of the last [`HISTORY`] windows, and `waiting = L × (1 − W_min / W)` the
//!    workers that only wait inside the resource. Raise the limit while `waiting < α`
//!    (doubling until the first back-off, then by an eighth), lower it by the excess (at
//!    most a quarter per window) when `waiting > β`, hold in between ([`ALPHA`], [`BETA`]).
//!    After [`PROBE_EVERY`] windows at rest (half the history, so the base is refreshed
//!    before it expires), probe lower by `β` for one window (at rest the limit is at most
//!    `1 / (1 − β)` times the knee, so the probe measures the resource uncongested): if that
//!    keeps the throughput ([`PROBE_KEEPS`]), stay there; else return. A raise by a quarter
//!    or more that does not bring half the throughput a linear resource would
//!    ([`GAIN_SHARE`]) is taken back. The limit starts at the core count.
//! 2. **Grow on a backlog**: jobs wait beyond the idle workers, and at the rate jobs ended
//!    over the last interval the backlog would not drain within one interval. Grow to at
//!    most twice the size, never past the backlog (`busy + queued`), never past the limit.
//! 3. **Retire the idle**: when no sample since `keep_alive` ago had a backlog, retire the
//!    fewest idle workers any of those samples saw, down to `min`; when none had a job
//!    waiting or running, retire down to `min` (a retirement restarts the first watch, not
//!    this one, so the pool is back at `min` `keep_alive` after its last job).

use std::collections::VecDeque;
use std::time::Duration;

use super::{Mode, Reason, Sizing, Window};

/// Windows of the adaptive policy remembered for the base time per job.
pub const HISTORY: usize = 32;

/// Windows at rest after which the adaptive policy probes a quarter lower.
pub const PROBE_EVERY: u32 = 16;

/// A probe that keeps this share of the throughput measured before it stays at the lower
/// limit: the knee is lower than the base time per job said (a base measured past the knee,
/// e.g. when the pool started above it, makes every count look uncongested).
pub const PROBE_KEEPS: f64 = 0.97;

/// A raise of the limit by a quarter or more (slow start's doublings, and steps at small
/// counts) must bring at least this share of the throughput gain a resource without a knee
/// would give (a raise by a quarter: an eighth more jobs per second), or it is taken back and
/// not tried again for [`PROBE_EVERY`] windows. Smaller raises are within one window's noise.
pub const GAIN_SHARE: f64 = 0.5;

/// The adaptive policy raises its limit while fewer than `ALPHA × limit` workers (at least
/// one) wait inside the resource, and lowers it when more than `BETA × limit` (at least two)
/// do: it holds between about 1.3 and 2 times the knee of the resource's own capacity, where
/// some queueing in the resource hides each request's own overhead (connecting, parsing,
/// everything a job does outside the resource), so throughput still grows there, at a
/// bounded cost in latency (at most about twice the resource's service time).
pub const ALPHA: f64 = 0.25;
/// See [`ALPHA`].
pub const BETA: f64 = 0.5;

/// One look at the pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// The worker count the pool is sized to now.
    pub workers: usize,
    /// Jobs accepted and not started.
    pub queued: u64,
    /// Jobs running.
    pub running: u64,
    /// Jobs ended (completed, panicked or cancelled) over the pool's life.
    pub ended: u64,
}

impl Sample {
    /// The sample a pool's metrics give.
    pub fn of(m: &crate::Metrics, workers: usize) -> Sample {
        Sample {
            workers,
            queued: m.queued,
            running: m.running,
            ended: m.completed + m.panicked + m.cancelled,
        }
    }
}

/// The state of one pool's policy; see the [module docs](self).
#[derive(Debug)]
pub struct Control {
    mode: Mode,
    min: usize,
    max: usize,
    keep_alive: Duration,
    interval: Duration,
    /// Adaptive: the knee; else `max`.
    limit: usize,
    /// The previous sample's time and ended count.
    last: Option<(Duration, u64)>,
    /// Since when no sample had a backlog, and the fewest idle workers seen since.
    quiet_since: Duration,
    fewest_idle: usize,
    /// Since when no sample saw a job waiting or running.
    all_idle_since: Option<Duration>,
    knee: Knee,
}

impl Control {
    /// The policy of `sizing` for a pool that starts with `workers`.
    pub fn new(sizing: &Sizing, workers: usize) -> Control {
        let adaptive = sizing.mode() == Mode::Adaptive;
        Control {
            mode: sizing.mode(),
            min: sizing.min().max(1),
            max: sizing.max().max(1),
            keep_alive: sizing.keep_alive_time(),
            interval: sizing.interval_time(),
            // The adaptive limit starts at the cores (or the starting count, if higher): a knee
            // below that is found by the first window, one above by doubling from there.
            limit: if adaptive {
                workers
                    .max(crate::default_workers())
                    .clamp(sizing.min().max(1), sizing.max().max(1))
            } else {
                sizing.max().max(1)
            },
            last: None,
            quiet_since: Duration::ZERO,
            fewest_idle: usize::MAX,
            all_idle_since: None,
            knee: Knee::default(),
        }
    }

    /// The adaptive limit (`max` for an elastic pool).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Takes the sample `s`, taken at `now` (time since any fixed point, increasing), and
    /// answers the size the pool should have now, if it should change.
    pub fn step(&mut self, now: Duration, s: Sample) -> Option<(usize, Reason)> {
        let Some((then, ended_before)) = self.last.replace((now, s.ended)) else {
            self.quiet_since = now;
            return None;
        };
        let dt = now.saturating_sub(then).as_secs_f64().max(1e-6);
        let ended = s.ended.saturating_sub(ended_before);
        let workers = s.workers.max(1);
        let busy = usize::try_from(s.running)
            .unwrap_or(usize::MAX)
            .min(workers);
        let idle = workers - busy;

        if self.mode == Mode::Adaptive {
            let at_limit = workers == self.limit;
            // A sample that ends a longer pause (the supervisor samples an idle pool less
            // often) spans idle time too: its throughput would read low. It starts a window.
            let on_time = dt <= 1.5 * self.interval.as_secs_f64();
            if let Some((limit, reason)) = self.knee.observe(
                s.queued > 0 && at_limit && on_time,
                dt,
                ended,
                s.running,
                self.limit,
                self.max,
            ) {
                let limit = limit.clamp(self.min, self.max);
                if limit != self.limit {
                    self.limit = limit;
                    // Lowering applies at once; raising while jobs wait applies at once too
                    // (the next window measures the new limit); else rule 2 grows later.
                    if limit < workers || s.queued > 0 {
                        return self.change(now, workers, limit, reason);
                    }
                }
            }
        }

        if s.queued > idle as u64 && workers < self.limit {
            let per_sec = ended as f64 / dt;
            let drain = if per_sec > 0.0 {
                s.queued as f64 / per_sec
            } else {
                f64::INFINITY
            };
            if drain > self.interval.as_secs_f64() {
                let need = busy.saturating_add(usize::try_from(s.queued).unwrap_or(usize::MAX));
                let to = workers
                    .saturating_mul(2)
                    .min(need)
                    .max(workers + 1)
                    .min(self.limit);
                if to > workers {
                    let reason = Reason::Backlog {
                        queued: s.queued,
                        per_sec: per_sec as u64,
                    };
                    return self.change(now, workers, to, reason);
                }
            }
        }

        if s.queued > 0 || busy > 0 {
            self.all_idle_since = None;
        } else {
            let since = *self.all_idle_since.get_or_insert(now);
            // Nothing ran for `keep_alive`: every worker above `min` retires, however the
            // watch below (which a partial retirement restarts) stands.
            let idle_for = now.saturating_sub(since);
            if idle_for >= self.keep_alive && workers > self.min {
                let reason = Reason::Idle {
                    idle: workers - self.min,
                    for_time: idle_for,
                };
                return self.change(now, workers, self.min, reason);
            }
        }
        if s.queued > 0 {
            self.quiet_since = now;
            self.fewest_idle = usize::MAX;
        } else {
            self.fewest_idle = self.fewest_idle.min(idle);
            let quiet = now.saturating_sub(self.quiet_since);
            if quiet >= self.keep_alive {
                let retire = self.fewest_idle.min(workers.saturating_sub(self.min));
                self.quiet_since = now;
                self.fewest_idle = usize::MAX;
                if retire > 0 {
                    let reason = Reason::Idle {
                        idle: retire,
                        for_time: quiet,
                    };
                    return self.change(now, workers, workers - retire, reason);
                }
            }
        }
        None
    }

    fn change(
        &mut self,
        now: Duration,
        from: usize,
        to: usize,
        reason: Reason,
    ) -> Option<(usize, Reason)> {
        // The idle watch starts over at the new size, and the next sample straddles the
        // change: the adaptive window skips it.
        self.quiet_since = now;
        self.fewest_idle = usize::MAX;
        self.knee.settle();
        (to != from).then_some((to, reason))
    }
}

/// The adaptive policy's measurements; see the [module docs](self).
#[derive(Debug, Default)]
struct Knee {
    /// Doubling until the first back-off, as TCP's slow start.
    past_slow_start: bool,
    /// Samples to skip after a change.
    settle: u32,
    /// The window being measured.
    samples: u32,
    secs: f64,
    ended: u64,
    busy_sum: u64,
    /// Time per job of the last windows (seconds), newest last.
    history: VecDeque<f64>,
    /// Windows held since the last change.
    rest: u32,
    /// During a probe: the limit to return to, and the throughput measured there.
    probe_from: Option<(usize, f64)>,
    /// The throughput of the last window.
    last_per_sec: f64,
    /// After a raise: the limit before it and the throughput there, to check that it paid.
    grew_from: Option<(usize, f64)>,
    /// A raise to this limit did not pay: stay below it for so many more windows.
    ceiling: Option<(usize, u32)>,
}

impl Knee {
    fn settle(&mut self) {
        self.settle = 1;
        self.samples = 0;
        self.secs = 0.0;
        self.ended = 0;
        self.busy_sum = 0;
    }

    /// Adds a sample (`saturated`: jobs waited and the pool was at the limit) and, when a
    /// window is complete, answers the new limit.
    fn observe(
        &mut self,
        saturated: bool,
        dt: f64,
        ended: u64,
        running: u64,
        limit: usize,
        max: usize,
    ) -> Option<(usize, Reason)> {
        if !saturated {
            // A window measures the limit under load only.
            self.settle();
            self.settle = 0;
            return None;
        }
        if self.settle > 0 {
            self.settle -= 1;
            return None;
        }
        self.samples += 1;
        self.secs += dt;
        self.ended += ended;
        self.busy_sum += running;
        let enough =
            (self.samples >= 3 && self.ended >= 20) || (self.samples >= 100 && self.ended >= 2);
        if !enough {
            return None;
        }
        let per_sec = self.ended as f64 / self.secs;
        let busy = (self.busy_sum as f64 / f64::from(self.samples)).max(1.0);
        let latency = busy / per_sec;
        self.settle();
        self.settle = 0;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(latency);
        let base = self.history.iter().copied().fold(f64::INFINITY, f64::min);
        let window = Window {
            per_sec: per_sec as u64,
            latency: Duration::from_secs_f64(latency),
            base_latency: Duration::from_secs_f64(base),
            busy: busy.round() as u32,
        };
        let before = std::mem::replace(&mut self.last_per_sec, per_sec);
        if let Some((from, per_sec_there)) = self.probe_from.take() {
            self.rest = 0;
            if per_sec >= PROBE_KEEPS * per_sec_there {
                // As many jobs per second with fewer workers: the knee is lower than the
                // base time per job said (it was measured past the knee); stay.
                return None;
            }
            return Some((from, Reason::ProbeEnd(window)));
        }
        if let Some((from, per_sec_there)) = self.grew_from.take() {
            // Did the last raise pay? Half the gain a linear resource would give, at least.
            // Only a raise by a quarter or more is checked: a smaller gain is within the
            // noise of one window.
            let gain = (limit as f64 - from as f64) / from as f64;
            if gain >= 0.25 && per_sec < per_sec_there * (1.0 + GAIN_SHARE * gain) {
                self.past_slow_start = true;
                self.rest = 0;
                self.ceiling = Some((limit, PROBE_EVERY));
                return Some((from, Reason::PastKnee(window)));
            }
        }
        if let Some((_, windows)) = &mut self.ceiling {
            *windows = windows.saturating_sub(1);
        }
        if self.ceiling.is_some_and(|(_, windows)| windows == 0) {
            self.ceiling = None;
        }
        let n = limit as f64;
        let waiting = (busy * (1.0 - base / latency)).max(0.0);
        let alpha = (ALPHA * n).max(1.0);
        let beta = (BETA * n).max(2.0);
        if waiting < alpha {
            let to = if self.past_slow_start {
                limit + (limit / 8).max(1)
            } else {
                limit * 2
            };
            let to = to
                .min(max)
                .min(self.ceiling.map_or(usize::MAX, |(c, _)| c - 1));
            if to > limit {
                self.rest = 0;
                self.grew_from = Some((limit, per_sec));
                return Some((to, Reason::BelowKnee(window)));
            }
            self.hold(limit, before, window)
        } else if waiting > beta {
            self.past_slow_start = true;
            self.rest = 0;
            // Down by the excess, but by at most a quarter per window: one window slowed by
            // something else (a stall of the machine) must not halve the pool.
            let excess = ((waiting - alpha).round() as usize).clamp(1, (limit / 4).max(1));
            Some((limit - excess, Reason::PastKnee(window)))
        } else {
            // Slow start ends on a back-off only: one quiet window near the knee is no proof
            // that the knee is here.
            self.hold(limit, before, window)
        }
    }

    /// No change, unless it is time for a probe.
    fn hold(&mut self, limit: usize, per_sec: f64, window: Window) -> Option<(usize, Reason)> {
        self.rest += 1;
        if self.rest >= PROBE_EVERY && limit > 1 {
            self.rest = 0;
            self.probe_from = Some((limit, per_sec));
            // Down by `BETA`: at rest the limit is at most `1 / (1 − BETA)` times the knee, so
            // the probe lands at or below it and measures the resource uncongested.
            let down = ((limit as f64 * BETA).ceil() as usize).clamp(1, limit - 1);
            Some((limit - down, Reason::Probe(window)))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(10);

    /// A pool in front of a resource that serves `capacity` requests at once in `service`
    /// seconds each; past capacity every request slows in proportion (a backend that
    /// degrades when overloaded), as the `http` workload's server does.
    struct Sim {
        capacity: f64,
        service: f64,
        workers: usize,
        queued: u64,
        ended: f64,
    }

    impl Sim {
        /// Runs one tick with an endless backlog; returns the sample after it.
        fn tick(&mut self) -> Sample {
            let n = self.workers as f64;
            let latency = self.service * (n / self.capacity).max(1.0);
            self.ended += n / latency * TICK.as_secs_f64();
            Sample {
                workers: self.workers,
                queued: self.queued,
                running: self.workers as u64,
                ended: self.ended as u64,
            }
        }

        fn throughput(&self, workers: usize) -> f64 {
            let n = workers as f64;
            n / (self.service * (n / self.capacity).max(1.0))
        }
    }

    fn run(control: &mut Control, sim: &mut Sim, ticks: u32, now: &mut Duration) -> Vec<usize> {
        let mut sizes = Vec::new();
        for _ in 0..ticks {
            *now += TICK;
            let s = sim.tick();
            if let Some((to, r)) = control.step(*now, s) {
                if std::env::var("SIZING_TRACE").is_ok() {
                    eprintln!("{:?} {} -> {to}: {r}", now, sim.workers);
                }
                sim.workers = to;
            }
            sizes.push(sim.workers);
        }
        sizes
    }

    #[test]
    fn adaptive_settles_at_the_knee_of_a_limited_resource() {
        for capacity in [1.0, 3.0, 8.0, 20.0, 50.0] {
            let sizing = Sizing::adaptive(1, 256).interval(TICK);
            let mut control = Control::new(&sizing, 1);
            let mut sim = Sim {
                capacity,
                service: 0.002,
                workers: 1,
                queued: 1_000_000,
                ended: 0.0,
            };
            let mut now = Duration::ZERO;
            let sizes = run(&mut control, &mut sim, 3000, &mut now);
            // Over the last half, the time spent at each size: throughput at least 95% of
            // the best and the mean size within 2× of the knee (so is the latency).
            let tail = &sizes[sizes.len() / 2..];
            let mean_x: f64 =
                tail.iter().map(|&w| sim.throughput(w)).sum::<f64>() / tail.len() as f64;
            let best = sim.throughput(capacity as usize);
            assert!(
                mean_x >= 0.95 * best,
                "capacity {capacity}: {mean_x:.0}/s vs {best:.0}/s; sizes {tail:?}"
            );
            let mean_w = tail.iter().sum::<usize>() as f64 / tail.len() as f64;
            assert!(
                mean_w <= 2.0 * capacity.max(2.0),
                "capacity {capacity}: mean {mean_w} workers"
            );
        }
    }

    #[test]
    fn adaptive_follows_a_resource_that_slows_down() {
        let sizing = Sizing::adaptive(1, 256).interval(TICK);
        let mut control = Control::new(&sizing, 1);
        let mut sim = Sim {
            capacity: 8.0,
            service: 0.002,
            workers: 1,
            queued: 1_000_000,
            ended: 0.0,
        };
        let mut now = Duration::ZERO;
        run(&mut control, &mut sim, 2000, &mut now);
        // Every request now takes three times as long; the knee stays at 8 workers.
        sim.service *= 3.0;
        let sizes = run(&mut control, &mut sim, 4000, &mut now);
        let tail = &sizes[sizes.len() / 2..];
        let mean_x: f64 = tail.iter().map(|&w| sim.throughput(w)).sum::<f64>() / tail.len() as f64;
        assert!(mean_x >= 0.95 * sim.throughput(8), "sizes {tail:?}");
        // And the capacity doubles: the limit climbs to the new knee.
        sim.capacity = 16.0;
        let sizes = run(&mut control, &mut sim, 4000, &mut now);
        let tail = &sizes[sizes.len() / 2..];
        let mean_x: f64 = tail.iter().map(|&w| sim.throughput(w)).sum::<f64>() / tail.len() as f64;
        assert!(mean_x >= 0.95 * sim.throughput(16), "sizes {tail:?}");
    }

    #[test]
    fn adaptive_without_a_limit_grows_to_max() {
        let sizing = Sizing::adaptive(2, 64).interval(TICK);
        let mut control = Control::new(&sizing, 2);
        let mut sim = Sim {
            capacity: 1e9,
            service: 0.001,
            workers: 2,
            queued: 1_000_000,
            ended: 0.0,
        };
        let mut now = Duration::ZERO;
        let sizes = run(&mut control, &mut sim, 500, &mut now);
        assert_eq!(*sizes.last().unwrap(), 64);
    }

    fn sample(workers: usize, queued: u64, running: u64, ended: u64) -> Sample {
        Sample {
            workers,
            queued,
            running,
            ended,
        }
    }

    #[test]
    fn elastic_grows_with_a_slow_backlog_at_most_doubling() {
        let sizing = Sizing::elastic(1, 16).interval(TICK);
        let mut c = Control::new(&sizing, 1);
        assert_eq!(
            c.step(TICK, sample(1, 100, 1, 0)),
            None,
            "the first sample sets the base"
        );
        let (to, reason) = c.step(2 * TICK, sample(1, 100, 1, 1)).unwrap();
        assert_eq!(to, 2);
        assert!(
            matches!(reason, Reason::Backlog { queued: 100, .. }),
            "{reason}"
        );
        assert_eq!(c.step(3 * TICK, sample(2, 98, 2, 3)).unwrap().0, 4);
        assert_eq!(c.step(4 * TICK, sample(4, 94, 4, 7)).unwrap().0, 8);
        assert_eq!(c.step(5 * TICK, sample(8, 86, 8, 15)).unwrap().0, 16);
        assert_eq!(
            c.step(6 * TICK, sample(16, 70, 16, 31)),
            None,
            "max reached"
        );
    }

    #[test]
    fn elastic_grows_no_further_than_the_backlog_needs() {
        let sizing = Sizing::elastic(1, 64).interval(TICK);
        let mut c = Control::new(&sizing, 4);
        c.step(TICK, sample(4, 3, 4, 0));
        // Four busy, three waiting, nothing ended: seven workers are all it could use.
        assert_eq!(c.step(2 * TICK, sample(4, 3, 4, 0)).unwrap().0, 7);
    }

    #[test]
    fn elastic_does_not_grow_for_a_backlog_that_drains_within_an_interval() {
        let sizing = Sizing::elastic(1, 64).interval(TICK);
        let mut c = Control::new(&sizing, 2);
        c.step(TICK, sample(2, 0, 0, 0));
        // 10,000 tiny jobs: 200,000 ended in the last 10 ms, 5,000 left: 0.25 ms to drain.
        assert_eq!(c.step(2 * TICK, sample(2, 5_000, 2, 200_000)), None);
        // Nor for a job that an idle worker is about to take.
        assert_eq!(c.step(3 * TICK, sample(2, 1, 1, 200_000)), None);
    }

    #[test]
    fn elastic_retires_workers_idle_for_keep_alive() {
        let keep_alive = Duration::from_millis(100);
        let sizing = Sizing::elastic(2, 64).interval(TICK).keep_alive(keep_alive);
        let mut c = Control::new(&sizing, 10);
        let mut now = Duration::ZERO;
        let mut decision = None;
        // Three of ten busy at every sample, nothing queued.
        for _ in 0..=11 {
            now += TICK;
            if let Some(d) = c.step(now, sample(10, 0, 3, 0)) {
                decision = Some((now, d));
                break;
            }
        }
        let (at, (to, reason)) = decision.expect("idle workers retire");
        assert!(at <= keep_alive + 2 * TICK, "after {at:?}");
        assert_eq!(to, 3);
        assert!(matches!(reason, Reason::Idle { idle: 7, .. }), "{reason}");
        // All idle now: down to min, not below.
        let mut to_min = None;
        for _ in 0..=11 {
            now += TICK;
            if let Some((to, _)) = c.step(now, sample(3, 0, 0, 0)) {
                to_min = Some(to);
                break;
            }
        }
        assert_eq!(to_min, Some(2));
    }

    #[test]
    fn back_at_min_keep_alive_after_the_last_job() {
        let keep_alive = Duration::from_millis(100);
        let sizing = Sizing::elastic(1, 64).interval(TICK).keep_alive(keep_alive);
        let mut c = Control::new(&sizing, 64);
        let mut now = Duration::ZERO;
        let mut workers = 64;
        // The queue is empty, but the last jobs run on for 80 ms, fewer and fewer.
        for running in [64, 60, 50, 40, 30, 20, 10, 5] {
            now += TICK;
            if let Some((to, _)) = c.step(now, sample(workers, 0, running, 0)) {
                workers = to;
            }
        }
        let last_job = now;
        while workers > 1 {
            now += TICK;
            if let Some((to, _)) = c.step(now, sample(workers, 0, 0, 0)) {
                workers = to;
            }
            assert!(
                now <= last_job + keep_alive + 2 * TICK,
                "still {workers} at {now:?}"
            );
        }
    }

    #[test]
    fn a_backlog_restarts_the_idle_watch() {
        let sizing = Sizing::elastic(1, 4)
            .interval(TICK)
            .keep_alive(Duration::from_millis(50));
        let mut c = Control::new(&sizing, 4);
        let mut now = Duration::ZERO;
        for i in 0..20 {
            now += TICK;
            // A sample with a backlog every fourth tick: never quiet for 50 ms.
            let queued = u64::from(i % 4 == 0);
            assert_eq!(c.step(now, sample(4, queued, 2, 0)), None, "tick {i}");
        }
    }
}
