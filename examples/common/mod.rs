//! Small helpers the examples share: a CPU-burning loop, and what Linux reports about the
//! process (memory, threads, CPU time). Each example uses a few of them.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Burns CPU for `iters` rounds of integer mixing; the result defeats the optimiser.
pub fn spin(iters: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15u64);
    for i in 0..iters {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = x.wrapping_add(i);
    }
    black_box(x)
}

/// How many `spin` rounds take about `target` on this machine (measured once, single thread).
pub fn calibrate(target: Duration) -> u64 {
    let mut iters = 10_000u64;
    loop {
        let start = Instant::now();
        spin(iters);
        let took = start.elapsed();
        if took >= Duration::from_millis(20) {
            let per_iter = took.as_secs_f64() / iters as f64;
            return ((target.as_secs_f64() / per_iter) as u64).max(1);
        }
        iters *= 2;
    }
}

/// Logical CPUs, as the pools count them.
pub fn cores() -> usize {
    shoal::default_workers()
}

/// A field of `/proc/self/status` in KiB (Linux only).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory of this process in MiB (Linux only).
pub fn rss_mib() -> Option<f64> {
    status_kib("VmRSS:").map(|k| k as f64 / 1024.0)
}

/// Virtual memory of this process in MiB: includes every thread's reserved stack.
pub fn virt_mib() -> Option<f64> {
    status_kib("VmSize:").map(|k| k as f64 / 1024.0)
}

/// Threads in this process now (Linux only).
pub fn threads() -> Option<u64> {
    status_kib("Threads:")
}

/// CPU time this process has used, user + system (Linux only; assumes the usual 100 ticks per
/// second).
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may contain spaces; fields resume after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Times `f`.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// Prints "n/a" for a number Linux could not give us.
pub fn or_na(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) => format!("{v:.digits$}"),
        None => "n/a".to_owned(),
    }
}
