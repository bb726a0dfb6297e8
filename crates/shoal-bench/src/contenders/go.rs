//! The seed's worker pool in Go (`go/` in this crate: goroutines reading jobs from one
//! buffered channel, results on a second channel), as a peer. It runs as its own process:
//! shoal-bench writes the Go sources (compiled into this binary) to a directory under the
//! system's temporary directory, builds them there with the `go` on the PATH (once per source
//! version), and runs one process per cell with the workload's sizes on its command line.
//! The process prints the wall time of each timed run, its checksum (checked here like any
//! other contender's), its CPU time, for wake-latency its latency samples, and for the
//! CPU-bound workloads (hash, map) the wall times of Go's own sequential code for the same
//! work, so that its efficiency is Go's parallel speedup, not a comparison of two languages'
//! SHA-256 or loops (Go before 1.21 hashes without the CPU's SHA extensions).
//!
//! Without `go` on the PATH its cells are skipped, and `compare` says so once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use crate::contender::{Contender, Info};
use crate::workload::{Workload, WorkloadId};

/// The contender's id.
pub const GO_POOL: &str = "go-pool";

/// The workloads the Go program implements.
pub const GO_WORKLOADS: &[WorkloadId] = &[
    WorkloadId::SpawnOutside,
    WorkloadId::Chain,
    WorkloadId::Hash,
    WorkloadId::Io,
    WorkloadId::ResultQueue,
    WorkloadId::WakeLatency,
];

/// The reason its cells are skipped when Go is missing.
pub const GO_MISSING: &str =
    "`go` is not on the PATH: install Go 1.19 or newer to compare with the Go worker pool";

/// The sources of `go/`, compiled into the harness so that it can build them anywhere.
const SOURCES: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../go/go.mod")),
    ("main.go", include_str!("../../go/main.go")),
    ("cpu_unix.go", include_str!("../../go/cpu_unix.go")),
    ("cpu_other.go", include_str!("../../go/cpu_other.go")),
];

/// The Go worker pool as a contender. It has no in-process views: `measure` runs it through
/// [`run`] instead of building it, so [`Contender::build`] only explains that.
#[derive(Debug)]
pub struct GoPool;

impl Contender for GoPool {
    const INFO: Info = Info {
        id: GO_POOL,
        about: "the seed's worker pool in Go (go/): goroutines on a buffered jobs channel, a results channel; its own process, run when `go` is on the PATH",
        family: crate::contender::Family::Peer,
        caps: &[],
    };

    fn build(_workers: usize) -> Result<Self, String> {
        Err("the Go worker pool runs as its own process (shoal-bench runs it per cell)".into())
    }
}

/// Why a run of the Go pool produced no measurement.
#[derive(Debug)]
pub enum GoError {
    /// `go` is not installed: the cell is skipped.
    Missing,
    /// The build or the run failed.
    Failed(String),
}

/// What one run of the Go program measured.
#[derive(Debug)]
pub struct GoRun {
    /// Wall seconds of each timed run.
    pub walls: Vec<f64>,
    /// The checksum its runs returned.
    pub checksum: u64,
    /// CPU seconds of the Go process over the timed runs, if the platform reports them.
    pub cpu: Option<f64>,
    /// Latency samples (seconds), for wake-latency.
    pub latencies: Vec<f64>,
    /// Wall seconds of each run of Go's own sequential code for the same work (hash, map),
    /// timed after the pool's runs: the pool's efficiency is measured against it.
    pub sequential: Vec<f64>,
}

/// The size parameter the Go program takes for `workload` (jobs, hops, buffers, items,
/// samples), read from the workload's answer.
fn count<W: Workload>(workload: &W) -> usize {
    let units = workload.answer().units;
    match W::ID {
        WorkloadId::Hash => {
            (units * 1024.0 * 1024.0 / crate::workloads::HASH_BUFFER as f64).round() as usize
        }
        _ => units.round() as usize,
    }
}

/// Runs `workload` on the Go pool with `workers` goroutines: builds the program if needed,
/// then runs it with `budget` seconds of timed runs, killing it after `timeout`.
pub fn run<W: Workload>(
    workload: &W,
    workers: usize,
    budget: f64,
    timeout: Duration,
) -> Result<GoRun, GoError> {
    let binary = binary()?;
    let args = [
        "-workload".to_owned(),
        W::ID.name().to_owned(),
        "-workers".to_owned(),
        workers.to_string(),
        "-n".to_owned(),
        count(workload).to_string(),
        "-budget".to_owned(),
        budget.to_string(),
        "-max-runs".to_owned(),
        crate::measure::MAX_RUNS.to_string(),
    ];
    let child = Command::new(binary)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| GoError::Failed(format!("cannot start {}: {e}", binary.display())))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(timeout) {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(GoError::Failed(format!("waiting for the Go pool: {e}"))),
        Err(_) => {
            kill(pid);
            return Err(GoError::Failed(format!(
                "the Go pool ran past the {} s timeout and was killed",
                timeout.as_secs()
            )));
        }
    };
    if !output.status.success() {
        return Err(GoError::Failed(format!(
            "the Go pool failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    parse(&output.stdout).map_err(GoError::Failed)
}

/// Reads the JSON object the Go program prints.
fn parse(stdout: &[u8]) -> Result<GoRun, String> {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|e| format!("the Go pool printed no JSON ({e})"))?;
    let floats = |key: &str| -> Vec<f64> {
        v.get(key)
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    };
    let walls = floats("runs");
    if walls.is_empty() {
        return Err("the Go pool reported no timed run".into());
    }
    let checksum = v
        .get("checksum")
        .and_then(serde_json::Value::as_str)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or("the Go pool reported no checksum")?;
    let cpu = v
        .get("cpu_secs")
        .and_then(serde_json::Value::as_f64)
        .filter(|c| *c >= 0.0);
    Ok(GoRun {
        walls,
        checksum,
        cpu,
        latencies: floats("latencies"),
        sequential: floats("seq_runs"),
    })
}

/// Kills the process `pid` (the Go pool this harness started, past its timeout).
fn kill(pid: u32) {
    #[cfg(unix)]
    // SAFETY: kill(2) with a pid we spawned and have not reaped (its waiting thread still
    // holds the child), and a valid signal number; it touches no memory of ours.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// The built program, built once per process (and once per source version on disk).
fn binary() -> Result<&'static Path, GoError> {
    static BINARY: OnceLock<Result<PathBuf, Option<String>>> = OnceLock::new();
    match BINARY.get_or_init(build) {
        Ok(path) => Ok(path.as_path()),
        Err(None) => Err(GoError::Missing),
        Err(Some(e)) => Err(GoError::Failed(e.clone())),
    }
}

/// Writes the sources to a directory named after their hash and builds them there. `None`
/// as the error: `go` is not installed.
fn build() -> Result<PathBuf, Option<String>> {
    match Command::new("go").arg("version").output() {
        Ok(out) if out.status.success() => {}
        Ok(_) => {
            return Err(Some(
                "`go version` failed: is the Go install broken?".into(),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(e) => return Err(Some(format!("cannot run `go`: {e}"))),
    }
    // FNV-1a over the sources: a new version builds into a new directory.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, text) in SOURCES {
        for b in name.bytes().chain(text.bytes()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let dir = std::env::temp_dir().join(format!("shoal-bench-go-{hash:016x}"));
    let exe = dir.join(format!("gopool{}", std::env::consts::EXE_SUFFIX));
    if exe.is_file() {
        return Ok(exe);
    }
    let fail = |what: &str, e: &dyn std::fmt::Display| Some(format!("{what}: {e}"));
    std::fs::create_dir_all(&dir)
        .map_err(|e| fail(&format!("cannot create {}", dir.display()), &e))?;
    for (name, text) in SOURCES {
        std::fs::write(dir.join(name), text).map_err(|e| {
            fail(
                &format!("cannot write the Go sources to {}", dir.display()),
                &e,
            )
        })?;
    }
    // Build under a name of our own, then rename: a concurrent harness never runs a
    // half-written program.
    let partial = dir.join(format!("gopool-{}.partial", std::process::id()));
    let mut go = Command::new("go");
    go.args(["build", "-o"])
        .arg(&partial)
        .arg(".")
        .current_dir(&dir)
        // Use the installed toolchain as it is: never download another one.
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-buildvcs=false");
    let no_cache_home = ["GOCACHE", "XDG_CACHE_HOME", "HOME"]
        .iter()
        .all(|k| std::env::var_os(k).is_none());
    if no_cache_home {
        go.env("GOCACHE", dir.join("cache"));
    }
    let out = go.output().map_err(|e| fail("cannot run `go build`", &e))?;
    if !out.status.success() {
        let mut log = String::new();
        let _ = out.stderr.as_slice().read_to_string(&mut log);
        return Err(Some(format!(
            "`go build` of the Go worker pool failed in {}: {}",
            dir.display(),
            log.trim()
        )));
    }
    std::fs::rename(&partial, &exe).map_err(|e| {
        fail(
            &format!("cannot move the Go pool into {}", exe.display()),
            &e,
        )
    })?;
    Ok(exe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_go_program_prints() {
        let out = br#"{"runs":[0.5,0.25],"checksum":"18446744073709551615","cpu_secs":0.9,"latencies":[1e-5,2e-5],"seq_runs":[0.75],"go_version":"go1.22.1"}
"#;
        let run = parse(out).unwrap();
        assert_eq!(run.walls, [0.5, 0.25]);
        assert_eq!(run.checksum, u64::MAX);
        assert_eq!(run.cpu, Some(0.9));
        assert_eq!(run.latencies, [1e-5, 2e-5]);
        assert_eq!(run.sequential, [0.75]);
        let unknown_cpu = parse(br#"{"runs":[1.0],"checksum":"7","cpu_secs":-1}"#).unwrap();
        assert_eq!(unknown_cpu.cpu, None);
        assert!(unknown_cpu.latencies.is_empty());
        assert!(unknown_cpu.sequential.is_empty());
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"runs":[],"checksum":"7"}"#).is_err());
        assert!(parse(br#"{"runs":[1.0]}"#).is_err());
    }

    #[test]
    fn sizes_come_from_the_workload() {
        let hash = crate::workloads::Hash::prepare(crate::Size::TINY, 2);
        assert_eq!(count(&hash), 41);
        let chain = crate::workloads::Chain::prepare(crate::Size::TINY, 2);
        assert_eq!(count(&chain), 200);
    }
}
