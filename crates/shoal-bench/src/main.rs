//! `shoal-bench`: compare shoal's worker-pool strategies with the pools users pick instead.
//!
//! `cargo run --release -p shoal-bench -- compare` is the project's main job; `--help` on each
//! subcommand explains every option.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use shoal_bench::backend::BackendConfig;
use shoal_bench::report;
use shoal_bench::workloads::files_root;
use shoal_bench::{
    chart, measure_rounds, prepare_any, AnyPrepared, Cell, ContenderId, Plan, Setup, Size, Status,
    WorkloadId,
};

#[derive(Parser, Debug)]
#[command(
    name = "shoal-bench",
    version,
    about = "Compare shoal's worker-pool strategies with the pools users pick instead",
    long_about = "Compare shoal's worker-pool strategies (shoal-queue, shoal-steal, shoal-scope) \
                  with rayon, threadpool, the executors crate, std::thread::scope and tokio's \
                  spawn_blocking, on workloads that each teach one trade-off. Every run checks \
                  its answer; results go to a table, JSON and an SVG chart.\n\n\
                  Start with `shoal-bench list` to see the workloads and contenders, then \
                  `shoal-bench compare` (two or three minutes on 2 cores) or `shoal-bench compare \
                  --size tiny` (seconds)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every workload on every contender; print a table, write JSON and an SVG chart.
    ///
    /// Each cell builds the pool, runs the workload once to warm up, then repeats it until
    /// the size's time budget is spent and reports the median. Every workload but io, http,
    /// files and idle is measured in rounds, the contenders in turn, each round with its share
    /// of the budget. Ratios compare throughput with the best peer in the same workload and
    /// with the sequential baseline.
    Compare(CompareArgs),
    /// Run one workload over a range of worker counts; draw throughput against workers.
    ///
    /// Shows the under- and over-utilization knee: too few workers leave cores idle, too many
    /// add scheduling and memory cost (for IO, more workers keep helping until the jobs, not
    /// the workers, are the limit).
    Sweep(SweepArgs),
    /// List the workloads (with what each one teaches) and the contenders.
    List,
    /// Redraw the SVG chart (and reprint the table) of a `compare.json` or `sweep-*.json`
    /// without measuring again.
    Chart(ChartArgs),
}

#[derive(Args, Debug)]
struct ChartArgs {
    /// The JSON file `compare` or `sweep` wrote.
    json: PathBuf,
    /// Where to write the SVG (default: beside the JSON, same name, `.svg`).
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct Common {
    /// Contenders to run, comma-separated (default: every one; see `shoal-bench list`).
    #[arg(long, short = 'c', value_delimiter = ',', value_name = "NAME,...")]
    contenders: Vec<ContenderId>,
    /// Where the JSON and SVG files go.
    #[arg(long, value_name = "DIR", default_value = "target/shoal-bench")]
    out: PathBuf,
    /// Abort the run when one workload on one contender takes longer than this (seconds):
    /// a lost job or a deadlock would otherwise hang forever.
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,
    /// Do not draw a progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// The options of the workloads that do real IO.
#[derive(Args, Debug)]
struct SetupArgs {
    /// The directory tree the `files` workload reads (default: the Rust toolchain's
    /// installation, from `rustc --print sysroot`, or `$RUSTC --print sysroot`).
    #[arg(long, value_name = "DIR")]
    files_root: Option<PathBuf>,
    /// Service time of each request to the `http` workload's loopback backend, in
    /// milliseconds.
    #[arg(long, value_name = "MS", default_value = "2", value_parser = parse_service_ms)]
    http_service_ms: f64,
    /// Requests the `http` workload's backend serves at once; more wait in its queue.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    http_capacity: u16,
}

impl SetupArgs {
    /// The setup, with the files root checked now if a workload will read it, so that a
    /// missing directory fails the run before anything is measured.
    fn resolve(self, workloads: &[WorkloadId]) -> Result<Setup, String> {
        let setup = Setup {
            files_root: self.files_root,
            backend: BackendConfig {
                service: Duration::from_secs_f64(self.http_service_ms / 1e3),
                capacity: usize::from(self.http_capacity),
            },
        };
        if workloads.contains(&WorkloadId::Files) {
            files_root(&setup)?;
        }
        Ok(setup)
    }
}

fn parse_service_ms(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(ms) if (0.0..=10_000.0).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "`{s}` is not a service time: use milliseconds from 0 to 10000, such as 2 or 0.5"
        )),
    }
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// Workloads to run, comma-separated (default: every one; see `shoal-bench list`).
    #[arg(long, short = 'w', value_delimiter = ',', value_name = "NAME,...")]
    workloads: Vec<WorkloadId>,
    /// Problem size: `tiny` (a smoke test: seconds), `small`, `full` (two or three minutes on 2
    /// cores), or a scale factor of `full` such as `0.5`.
    #[arg(long, short = 's', value_name = "SIZE", default_value = "full")]
    size: Size,
    /// Workers for the CPU-bound workloads (default: the number of logical CPUs).
    #[arg(long, value_name = "N", value_parser = parse_workers)]
    workers: Option<usize>,
    /// Workers for the IO-bound workloads, io, http and files (jobs that wait want many more
    /// workers than cores).
    #[arg(long, value_name = "N", default_value = "64", value_parser = parse_workers)]
    io_workers: usize,
    /// Also list the contenders that cannot run a workload (marked n/a).
    #[arg(long)]
    show_skipped: bool,
    /// Run the whole comparison this many times, fresh pools each time, and end with each
    /// goal's verdict over the runs (met in how many, and each run's figure): on a shared
    /// machine one run's ratio can be one noisy stretch.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,
    #[command(flatten)]
    setup: SetupArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct SweepArgs {
    /// The workload to sweep (see `shoal-bench list`).
    #[arg(long, short = 'w', value_name = "NAME")]
    workload: WorkloadId,
    /// Worker counts to try, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "N,...", default_value = "1,2,4,8,16",
          value_parser = parse_workers)]
    workers: Vec<usize>,
    /// Problem size: `tiny`, `small`, `full`, or a scale factor of `full` such as `0.5`.
    #[arg(long, short = 's', value_name = "SIZE", default_value = "small")]
    size: Size,
    #[command(flatten)]
    setup: SetupArgs,
    #[command(flatten)]
    common: Common,
}

fn parse_workers(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a worker count (a whole number from 1 to 4096)"))?;
    if n == 0 || n > shoal_core::MAX_WORKERS {
        return Err(format!(
            "{n} workers is out of range: use 1 to {}",
            shoal_core::MAX_WORKERS
        ));
    }
    Ok(n)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare(args) => compare(args),
        Command::Sweep(args) => sweep(args),
        Command::List => {
            list();
            Ok(())
        }
        Command::Chart(args) => redraw(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shoal-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn list() {
    println!("workloads (--workloads / --workload):");
    for w in WorkloadId::ALL {
        println!("  {:<14} {}", w.name(), w.teaches());
    }
    println!("\ncontenders (--contenders):");
    for c in ContenderId::ALL {
        let info = c.info();
        println!("  {:<18} [{}] {}", info.id, info.family, info.about);
    }
}

fn progress(total: usize, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    if hidden {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:32}] {pos}/{len} {msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
    }
    bar
}

fn or_all<T: Copy>(chosen: Vec<T>, all: &[T]) -> Vec<T> {
    if chosen.is_empty() {
        all.to_vec()
    } else {
        chosen
    }
}

fn compare(args: CompareArgs) -> Result<(), String> {
    let workloads = or_all(args.workloads, WorkloadId::ALL);
    let contenders = or_all(args.common.contenders, ContenderId::ALL);
    let setup = args.setup.resolve(&workloads)?;
    let plan = Plan {
        size: args.size,
        cpu_workers: args.workers.unwrap_or_else(shoal_core::default_workers),
        io_workers: args.io_workers,
        cell_timeout: Duration::from_secs(args.common.timeout),
    };
    let repeat = args.repeat as usize;
    warn_if_loaded();
    let bar = progress(
        steps(&workloads, &contenders) * repeat,
        args.common.no_progress,
    );
    let mut runs: Vec<serde_json::Value> = Vec::new();
    let mut every_target = Vec::new();
    let mut all_cells = Vec::new();
    let mut last = None;
    for run in 1..=repeat {
        let started = Instant::now();
        let of = if repeat > 1 {
            format!(" (run {run} of {repeat})")
        } else {
            String::new()
        };
        let mut cells = Vec::new();
        for &w in &workloads {
            bar.set_message(format!("preparing {w}{of}"));
            let workers = plan.workers_for(w);
            let prepared = prepare_any(w, plan.size, workers, &setup)
                .inspect_err(|_| bar.finish_and_clear())?;
            cells.extend(measure_cells(
                &bar,
                &*prepared,
                w,
                &contenders,
                plan.cell_timeout,
                &of,
            ));
        }
        let elapsed = started.elapsed();
        let rows = report::rows(&cells);
        let targets = report::targets(&rows);
        bar.suspend(|| {
            println!(
                "shoal-bench compare{of}: size {}, {} workers ({} for io, http, files), {} logical CPUs, {:.1} s",
                plan.size,
                plan.cpu_workers,
                plan.io_workers,
                shoal_core::default_workers(),
                elapsed.as_secs_f64()
            );
            print!("{}", report::table(&rows, args.show_skipped));
            print!("{}", report::targets_text(&targets));
            if repeat > 1 {
                println!();
            }
        });
        if repeat > 1 {
            runs.push(serde_json::json!({
                "meta": meta(plan.size),
                "elapsed_secs": elapsed.as_secs_f64(),
                "rows": rows,
                "targets": targets,
            }));
        }
        every_target.push(targets.clone());
        all_cells.extend(cells);
        last = Some((rows, targets, elapsed));
    }
    bar.finish_and_clear();
    let (rows, targets, elapsed) = last.expect("at least one run");
    let over_runs = report::over_runs(&every_target);
    if repeat > 1 {
        print!("{}", report::over_runs_text(&over_runs));
    }
    note_missing_go(&all_cells);

    let mut json = serde_json::json!({
        "tool": "shoal-bench compare",
        "meta": meta(plan.size),
        "cpu_workers": plan.cpu_workers,
        "io_workers": plan.io_workers,
        "elapsed_secs": elapsed.as_secs_f64(),
        "rows": rows,
        "targets": targets,
    });
    if repeat > 1 {
        // The top-level rows and targets are the last run's, which the chart draws.
        json["runs"] = serde_json::Value::Array(runs);
        json["targets_over_runs"] = serde_json::json!(over_runs);
    }
    let title = format!(
        "shoal-bench compare: size {}, {} workers, {} CPUs",
        plan.size,
        plan.cpu_workers,
        shoal_core::default_workers()
    );
    write_results(&args.common.out, "compare", &json, |svg| {
        chart::compare_svg(&rows, svg, &title)
    })?;
    failures(&all_cells)
}

/// Measures `contenders` on the prepared workload `w` (in rounds where the workload asks for
/// them, see [`WorkloadId::rounds`]), saying on `bar` what runs (`what` ends the message) and
/// counting one step per measurement (see [`steps`]).
fn measure_cells(
    bar: &ProgressBar,
    prepared: &dyn AnyPrepared,
    w: WorkloadId,
    contenders: &[ContenderId],
    timeout: Duration,
    what: &str,
) -> Vec<Cell> {
    let rounds = w.rounds();
    measure_rounds(prepared, w, contenders, timeout, |c, round, done| {
        if done {
            bar.inc(1);
        } else if rounds > 1 {
            bar.set_message(format!("{w} on {c}{what}, round {} of {rounds}", round + 1));
        } else {
            bar.set_message(format!("{w} on {c}{what}"));
        }
    })
}

/// The measurements of `workloads` on `contenders`, rounds included: a progress bar's length.
fn steps(workloads: &[WorkloadId], contenders: &[ContenderId]) -> usize {
    workloads.iter().map(|w| w.rounds()).sum::<usize>() * contenders.len()
}

fn sweep(args: SweepArgs) -> Result<(), String> {
    let w = args.workload;
    let contenders = or_all(args.common.contenders, ContenderId::ALL);
    let setup = args.setup.resolve(&[w])?;
    let mut workers = args.workers;
    workers.sort_unstable();
    workers.dedup();
    let timeout = Duration::from_secs(args.common.timeout);
    warn_if_loaded();
    let bar = progress(
        workers.len() * steps(&[w], &contenders),
        args.common.no_progress,
    );
    let started = Instant::now();
    let mut cells: Vec<Cell> = Vec::new();
    for &n in &workers {
        bar.set_message(format!("preparing {w} for {n} workers"));
        let prepared =
            prepare_any(w, args.size, n, &setup).inspect_err(|_| bar.finish_and_clear())?;
        let with = format!(" with {n} workers");
        cells.extend(measure_cells(
            &bar,
            &*prepared,
            w,
            &contenders,
            timeout,
            &with,
        ));
    }
    bar.finish_and_clear();
    note_missing_go(&cells);
    println!(
        "shoal-bench sweep {w}: size {}, {} logical CPUs, {:.1} s ({})",
        args.size,
        shoal_core::default_workers(),
        started.elapsed().as_secs_f64(),
        w.teaches()
    );
    let targets = print_sweep(&cells, &workers);
    let json = serde_json::json!({
        "tool": "shoal-bench sweep",
        "workload": w.name(),
        "meta": meta(args.size),
        "workers": workers,
        "cells": cells,
        "targets": targets,
    });
    let title = format!(
        "{w}: throughput vs workers (size {}, {} CPUs)",
        args.size,
        shoal_core::default_workers()
    );
    write_results(&args.common.out, &format!("sweep-{w}"), &json, |svg| {
        chart::sweep_svg(&cells, svg, &title)
    })?;
    failures(&cells)
}

fn redraw(args: ChartArgs) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.json)
        .map_err(|e| format!("cannot read {}: {e}", args.json.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", args.json.display()))?;
    let svg = args.svg.unwrap_or_else(|| args.json.with_extension("svg"));
    let meta = &json["meta"];
    let size = meta["size"].as_str().unwrap_or("?");
    let cpus = meta["logical_cpus"].as_u64().unwrap_or(0);
    let cells = |key: &str| -> Result<Vec<Cell>, String> {
        json[key]
            .as_array()
            .ok_or_else(|| {
                format!(
                    "{} has no `{key}` list: is it a shoal-bench file?",
                    args.json.display()
                )
            })?
            .iter()
            .map(Cell::from_json)
            .collect()
    };
    match json["tool"].as_str() {
        Some("shoal-bench compare") => {
            let rows = report::rows(&cells("rows")?);
            let workers = json["cpu_workers"].as_u64().unwrap_or(0);
            let title = format!("shoal-bench compare: size {size}, {workers} workers, {cpus} CPUs");
            chart::compare_svg(&rows, &svg, &title)?;
            println!("{title}");
            print!("{}", report::table(&rows, false));
            print!("{}", report::targets_text(&report::targets(&rows)));
        }
        Some("shoal-bench sweep") => {
            let w = json["workload"].as_str().unwrap_or("?");
            let title = format!("{w}: throughput vs workers (size {size}, {cpus} CPUs)");
            let cells = cells("cells")?;
            chart::sweep_svg(&cells, &svg, &title)?;
            let mut workers: Vec<usize> = cells.iter().map(|c| c.workers).collect();
            workers.sort_unstable();
            workers.dedup();
            println!("{title}");
            print_sweep(&cells, &workers);
        }
        _ => {
            return Err(format!(
                "{} was not written by shoal-bench compare or sweep",
                args.json.display()
            ))
        }
    }
    println!("\nwrote {}", svg.display());
    Ok(())
}

/// Prints the sweep's table and the goals it judges (if any); returns those goals.
fn print_sweep(cells: &[Cell], workers: &[usize]) -> Vec<report::Target> {
    print!("{}", sweep_table(cells, workers));
    let targets = report::sweep_targets(cells);
    if !targets.is_empty() {
        print!("{}", report::targets_text(&targets));
    }
    targets
}

/// The sweep as text: one line per contender, one column per worker count; a second block of
/// p99 latencies for a workload that has both a throughput and latencies (http), and the cold
/// pass for a workload that has one (files).
fn sweep_table(cells: &[Cell], workers: &[usize]) -> String {
    let first = cells.first();
    let idle = first.is_some_and(|c| c.workload == WorkloadId::Idle.name());
    let wake = first.is_some_and(|c| c.workload == WorkloadId::WakeLatency.name());
    let unit = first.map_or("", |c| c.unit);
    let mut out = if idle {
        sweep_block(cells, workers, "CPU % of a core", |c| {
            format!("{:.2}%", c.cpu_cores * 100.0)
        })
    } else if wake {
        sweep_block(cells, workers, "p99 wake latency", |c| {
            report::duration(c.p99_secs.unwrap_or(f64::NAN))
        })
    } else {
        sweep_block(cells, workers, unit, |c| {
            format!("{}/s", report::si(c.throughput))
        })
    };
    if !wake && cells.iter().any(|c| c.is_ok() && c.p99_secs.is_some()) {
        out.push('\n');
        out += &sweep_block(cells, workers, "p99 latency", |c| {
            report::duration(c.p99_secs.unwrap_or(f64::NAN))
        });
    }
    if let Some(cold) = cells.iter().find_map(report::cold_line) {
        out += &format!("\n  {cold}\n");
    }
    out
}

fn sweep_block(
    cells: &[Cell],
    workers: &[usize],
    corner: &str,
    value: impl Fn(&Cell) -> String,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = write!(out, "  {corner:<18}");
    for n in workers {
        let _ = write!(out, " {:>12}", format!("{n} wkr"));
    }
    out.push('\n');
    let mut names: Vec<&str> = Vec::new();
    for c in cells {
        if !names.contains(&c.contender) {
            names.push(c.contender);
        }
    }
    for name in names {
        let row: Vec<&Cell> = cells.iter().filter(|c| c.contender == name).collect();
        if row.iter().all(|c| matches!(c.status, Status::Skipped(_))) {
            continue;
        }
        let _ = write!(out, "  {name:<18}");
        for n in workers {
            let text = match row.iter().find(|c| c.workers == *n) {
                Some(c) if c.is_ok() => value(c),
                Some(c) if matches!(c.status, Status::Failed(_)) => "FAILED".into(),
                _ => "-".into(),
            };
            let _ = write!(out, " {text:>12}");
        }
        out.push('\n');
    }
    out
}

/// Says once that the Go worker pool was left out, and why, when `go` is not installed.
fn note_missing_go(cells: &[Cell]) {
    let missing = cells.iter().any(|c| {
        c.contender == shoal_bench::contenders::GO_POOL
            && matches!(&c.status, Status::Skipped(why) if why == shoal_bench::contenders::go::GO_MISSING)
    });
    if missing {
        println!(
            "\nnote: {} was not run: {}",
            shoal_bench::contenders::GO_POOL,
            shoal_bench::contenders::go::GO_MISSING
        );
    }
}

/// Warns when other processes already keep the CPUs busy: parallel numbers then measure the
/// competition as much as the pools.
fn warn_if_loaded() {
    let cpus = shoal_core::default_workers() as f64;
    if let Some(load) = shoal_bench::cpu::load_average() {
        if load > cpus * 0.75 {
            eprintln!(
                "shoal-bench: warning: load average {load:.1} on {cpus} CPUs; other processes \
                 compete for the cores, so parallel speedups will read low (the `cpu` column \
                 shows how many cores the run actually got)"
            );
        }
    }
}

fn meta(size: Size) -> serde_json::Value {
    serde_json::json!({
        "load_average_at_end": shoal_bench::cpu::load_average(),
        "size": size.to_string(),
        "scale": size.scale,
        "logical_cpus": shoal_core::default_workers(),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        "args": std::env::args().skip(1).collect::<Vec<_>>(),
    })
}

/// Writes a run's results into `out`: `json` as `{stem}.json`, and the chart that `draw` makes
/// as `{stem}.svg`; then says where they went.
fn write_results(
    out: &Path,
    stem: &str,
    json: &serde_json::Value,
    draw: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let json_path = out.join(format!("{stem}.json"));
    let svg_path = out.join(format!("{stem}.svg"));
    let text = serde_json::to_string_pretty(json).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, text)
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    draw(&svg_path)?;
    println!("\nwrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}

/// A failed cell (wrong answer, panic, build error) fails the whole run, after the report.
fn failures(cells: &[Cell]) -> Result<(), String> {
    let failed: Vec<String> = cells
        .iter()
        .filter_map(|c| match &c.status {
            Status::Failed(e) => Some(format!("{} on {}: {e}", c.workload, c.contender)),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} cell(s) failed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        ))
    }
}
