//! Test sizes from the environment: one knob for stress and soak tests, one for the model.
//!
//! - `STRESS_SCALE` sizes the stress tests as a percentage of their full size: unset means
//!   full size (`cargo xtask stress`), `0` means the smallest size that still exercises every
//!   path (`cargo xtask test`), `200` twice the full size. Anything unreadable is full size.
//! - `SHOAL_MODEL_CASES` sets how many random operation sequences the model-based tests try
//!   per strategy (default [`DEFAULT_MODEL_CASES`]).

/// The environment variable that sizes the stress tests.
pub const STRESS_SCALE_ENV: &str = "STRESS_SCALE";

/// The environment variable that sets the model-based tests' case count.
pub const MODEL_CASES_ENV: &str = "SHOAL_MODEL_CASES";

/// Cases per strategy when [`MODEL_CASES_ENV`] is unset: enough to reach every operation in
/// every pool state on each run, small enough for a 2-core CI machine.
pub const DEFAULT_MODEL_CASES: u32 = 128;

/// `STRESS_SCALE` as a percentage of full size (100 when unset).
pub fn stress_percent() -> u64 {
    std::env::var(STRESS_SCALE_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(100)
}

/// `true` when the stress tests run at their smallest size (`STRESS_SCALE=0`).
pub fn is_short() -> bool {
    stress_percent() == 0
}

/// A size between `smallest` (at `STRESS_SCALE=0`) and `full` (unset, or 100), growing
/// linearly past `full` for scales above 100.
pub fn scaled(full: u64, smallest: u64) -> u64 {
    let pct = stress_percent();
    (full.saturating_mul(pct) / 100).max(smallest)
}

/// [`scaled`] for counts used as `usize`.
pub fn scaled_usize(full: usize, smallest: usize) -> usize {
    usize::try_from(scaled(full as u64, smallest as u64)).unwrap_or(usize::MAX)
}

/// How many random sequences each model-based test tries.
pub fn model_cases() -> u32 {
    std::env::var(MODEL_CASES_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_MODEL_CASES)
}
