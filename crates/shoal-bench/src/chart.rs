//! SVG charts (plotters' SVG backend only: text is written as SVG `<text>`, so no font
//! library or fontconfig is needed to draw or to build).

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::contender::Family;
use crate::measure::Cell;
use crate::report::Row;
use crate::workload::WorkloadId;

const FONT: &str = "sans-serif";

/// The colour of a contender's bars: shoal's strategies in blues and greens, the peers in
/// warm and grey tones, sequential in black.
fn colour(contender: &str, family: Family) -> RGBColor {
    match (contender, family) {
        ("shoal-queue", _) => RGBColor(31, 119, 180),
        ("shoal-steal", _) => RGBColor(23, 190, 207),
        ("shoal-scope", _) => RGBColor(44, 160, 44),
        ("rayon", _) => RGBColor(214, 39, 40),
        ("threadpool", _) => RGBColor(255, 127, 14),
        ("executors-channel", _) => RGBColor(148, 103, 189),
        ("executors-steal", _) => RGBColor(227, 119, 194),
        ("std-scope", _) => RGBColor(140, 86, 75),
        ("tokio-blocking", _) => RGBColor(188, 189, 34),
        (_, Family::Sequential) => RGBColor(60, 60, 60),
        _ => RGBColor(127, 127, 127),
    }
}

fn err(e: impl std::fmt::Display) -> String {
    format!("drawing the chart failed: {e}")
}

/// What a panel shows for a workload: throughput relative to the fastest pool, or, where
/// throughput means nothing, an absolute value where shorter is better.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Throughput,
    /// Idle: CPU % of one core.
    IdleCpu,
    /// Wake latency: p99 in microseconds.
    WakeP99,
}

impl Shown {
    fn of(workload: &str) -> Shown {
        if workload == WorkloadId::Idle.name() {
            Shown::IdleCpu
        } else if workload == WorkloadId::WakeLatency.name() {
            Shown::WakeP99
        } else {
            Shown::Throughput
        }
    }

    fn value(self, c: &Cell) -> f64 {
        match self {
            Shown::Throughput => c.throughput,
            Shown::IdleCpu => c.cpu_cores * 100.0,
            Shown::WakeP99 => c.p99_secs.map_or(f64::NAN, |s| s * 1e6),
        }
    }

    /// The axis title of an absolute panel.
    fn axis(self) -> &'static str {
        match self {
            Shown::Throughput => "",
            Shown::IdleCpu => "CPU % of one core",
            Shown::WakeP99 => "p99 wake latency, us",
        }
    }

    /// A bar's label for an absolute value.
    fn label(self, v: f64) -> String {
        match self {
            Shown::Throughput => format!("{v:.2}"),
            Shown::IdleCpu => format!("{v:.2}%"),
            Shown::WakeP99 => format!("{v:.1} us"),
        }
    }
}

/// One panel per workload: each contender's throughput relative to the fastest in that
/// workload (the idle panel shows CPU % of a core instead, the wake-latency panel the p99 in
/// microseconds; shorter is better in both).
pub fn compare_svg(rows: &[Row], path: &Path, title: &str) -> Result<(), String> {
    let mut workloads: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.cell.is_ok()) {
        if !workloads.contains(&r.cell.workload) {
            workloads.push(r.cell.workload);
        }
    }
    if workloads.is_empty() {
        return Err("nothing was measured, so there is nothing to draw".into());
    }
    let cols = 2usize.min(workloads.len());
    let panel_rows = workloads.len().div_ceil(cols);
    let root = SVGBackend::new(path, (1200, 60 + 300 * panel_rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (head, body) = root.split_vertically(60);
    head.draw(&Text::new(
        title.to_owned(),
        (20, 20),
        (FONT, 22).into_font().color(&BLACK),
    ))
    .map_err(err)?;
    let panels = body.split_evenly((panel_rows, cols));
    for (panel, w) in panels.iter().zip(&workloads) {
        let cells: Vec<&Cell> = rows
            .iter()
            .map(|r| &r.cell)
            .filter(|c| c.workload == *w && c.is_ok())
            .collect();
        let shown = Shown::of(w);
        let idle = shown != Shown::Throughput;
        let value = |c: &Cell| {
            let v = shown.value(c);
            if v.is_finite() {
                v
            } else {
                0.0
            }
        };
        // Throughput is shown relative to the fastest *pool*: the sequential baseline can be
        // many times faster on the spawn workloads (it has nothing to hand off) and would
        // squash every pool's bar; its bar is clipped and its label gives the real ratio.
        let pools_max = cells
            .iter()
            .filter(|c| c.family != Family::Sequential)
            .map(|c| value(c))
            .fold(0.0f64, f64::max);
        let all_max = cells.iter().map(|c| value(c)).fold(0.0f64, f64::max);
        let scale = if idle {
            1.0
        } else if pools_max > 0.0 {
            pools_max
        } else {
            all_max.max(f64::MIN_POSITIVE)
        };
        let x_max = if idle { (all_max * 1.25).max(1.0) } else { 1.3 };
        let caption = if idle {
            format!("{w}: {} (shorter is better)", shown.axis())
        } else {
            let unit = cells.first().map_or("units", |c| c.unit);
            format!("{w}: {unit}/s relative to the fastest pool")
        };
        let n = cells.len();
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, (FONT, 16))
            .margin(10)
            .x_label_area_size(22)
            .y_label_area_size(130)
            .build_cartesian_2d(0.0..x_max, (0..n.saturating_sub(1)).into_segmented())
            .map_err(err)?;
        let names: Vec<&str> = cells.iter().map(|c| c.contender).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n.max(1))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).copied().unwrap_or("").to_owned(),
                _ => String::new(),
            })
            .x_labels(6)
            .label_style((FONT, 12))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(cells.iter().enumerate().map(|(i, c)| {
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        ((value(c) / scale).min(x_max), SegmentValue::Exact(i + 1)),
                    ],
                    colour(c.contender, c.family).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(err)?;
        chart
            .draw_series(cells.iter().enumerate().map(|(i, c)| {
                let v = value(c) / scale;
                let label = if idle {
                    shown.label(v)
                } else if v > x_max {
                    format!("{v:.1}x (clipped)")
                } else {
                    format!("{v:.2}")
                };
                let (at, ink) = if v > x_max {
                    (x_max * 0.72, WHITE)
                } else {
                    (v + x_max * 0.01, BLACK)
                };
                Text::new(
                    label,
                    (at, SegmentValue::CenterOf(i)),
                    (FONT, 11).into_font().color(&ink),
                )
            }))
            .map_err(err)?;
    }
    root.present().map_err(err)
}

/// Throughput against worker count, one line per contender, on a log2 worker axis.
pub fn sweep_svg(cells: &[Cell], path: &Path, title: &str) -> Result<(), String> {
    let ok: Vec<&Cell> = cells.iter().filter(|c| c.is_ok()).collect();
    if ok.is_empty() {
        return Err("nothing was measured, so there is nothing to draw".into());
    }
    let shown = Shown::of(ok[0].workload);
    let value = |c: &Cell| {
        let v = shown.value(c);
        if v.is_finite() {
            v
        } else {
            0.0
        }
    };
    let w_max = ok.iter().map(|c| c.workers).max().unwrap_or(1).max(2) as f64;
    let y_max = ok.iter().map(|c| value(c)).fold(0.0f64, f64::max) * 1.15;
    let unit = ok[0].unit;
    let root = SVGBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d((1.0..w_max).log_scale(), 0.0..y_max.max(f64::MIN_POSITIVE))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc(if shown == Shown::Throughput {
            format!("{unit}/s")
        } else {
            shown.axis().to_owned()
        })
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| crate::report::si(*y))
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    let mut contenders: Vec<(&str, Family)> = Vec::new();
    for c in &ok {
        if !contenders.iter().any(|(n, _)| *n == c.contender) {
            contenders.push((c.contender, c.family));
        }
    }
    for (name, family) in contenders {
        let colour = colour(name, family);
        let mut points: Vec<(f64, f64)> = ok
            .iter()
            .filter(|c| c.contender == name)
            .map(|c| (c.workers as f64, value(c)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, colour.filled())),
            )
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
