//! Performance charts in the style of vCenter's: white background, light grid, legend strip
//! under the plot, virtual time on the x axis (`mm:ss` since the scenario start), the unit on
//! each y axis; a second (right) y axis, drawn dashed, for a second unit.
//!
//! [`chart_specs`] decides which charts a run gets (data only, no drawing): for every
//! container and every VCH resource pool, a CPU chart (MHz on the left; ready and max-limited
//! time in ms on the right) and a memory chart (granted, consumed, active, balloon, swapped in
//! MB on the left; latency in % on the right), each with only the series that exist (aggregate
//! instance). [`chart_svg`] and [`chart_png`] draw one spec.

use std::collections::BTreeSet;

use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use scenarios::{EntityKind, RunOutcome, Series};

use crate::ReportError;
use crate::clock::offset_label;
use crate::font::{self, FAMILY};
use crate::names::sanitize;

/// Chart width in pixels.
pub const WIDTH: u32 = 900;
/// Chart height in pixels (plot and legend).
pub const HEIGHT: u32 = 360;

/// What a chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChartKind {
    /// CPU: demand, entitlement, usage (MHz); ready, max limited (ms).
    Cpu,
    /// Memory: granted, consumed, active, balloon, swapped (MB); latency (%).
    Memory,
}

impl ChartKind {
    /// `cpu` or `mem`: the file-name suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            ChartKind::Cpu => "cpu",
            ChartKind::Memory => "mem",
        }
    }

    /// `CPU` or `Memory`.
    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Cpu => "CPU",
            ChartKind::Memory => "Memory",
        }
    }
}

/// Which axis a line is drawn against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The left y axis (solid lines).
    Left,
    /// The right y axis (dashed lines).
    Right,
}

/// One line of a chart, values already converted to the axis unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Legend label without the unit (`Ready`).
    pub label: String,
    /// Stroke colour (RGB).
    pub color: (u8, u8, u8),
    /// `(seconds since the start, value)` in time order.
    pub points: Vec<(u64, f64)>,
}

/// One y axis: its unit and lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Unit label (`MHz`, `ms`, `MB`, `%`).
    pub unit: String,
    /// Lines, in legend order.
    pub lines: Vec<Line>,
}

/// Everything needed to draw one chart; built by [`chart_specs`].
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSpec {
    /// File name without extension: `<entity>-cpu` / `<entity>-mem` for containers,
    /// `pool-<entity>-cpu` / `pool-<entity>-mem` for VCH pools (names sanitized to
    /// `[a-z0-9-]`, with `-2`, `-3`, … appended on a clash).
    pub stem: String,
    /// Caption.
    pub title: String,
    /// The entity's kind ([`EntityKind::Container`] or [`EntityKind::Pool`]).
    pub entity_kind: EntityKind,
    /// The entity's name.
    pub entity: String,
    /// The `[[vch]]` the entity belongs to.
    pub vch: Option<String>,
    /// CPU or memory.
    pub kind: ChartKind,
    /// The scenario start, RFC 3339 (x axis origin).
    pub start: String,
    /// The x axis runs from 0 to this many seconds.
    pub x_max_s: u64,
    /// The left axis (always has at least one line).
    pub left: Axis,
    /// The right axis, when there are lines in a second unit.
    pub right: Option<Axis>,
}

/// A drawn chart: its spec and the SVG document (which `report.html` inlines).
#[derive(Clone, Debug, PartialEq)]
pub struct ChartFile {
    /// What was drawn.
    pub spec: ChartSpec,
    /// The SVG document.
    pub svg: String,
}

/// A counter a chart kind draws if the run has it.
struct CounterDef {
    counter: &'static str,
    label: &'static str,
    side: Side,
    color: (u8, u8, u8),
}

const BLUE_: (u8, u8, u8) = (31, 119, 180);
const ORANGE_: (u8, u8, u8) = (255, 127, 14);
const GREEN_: (u8, u8, u8) = (44, 160, 44);
const RED_: (u8, u8, u8) = (214, 39, 40);
const PURPLE_: (u8, u8, u8) = (148, 103, 189);
const BROWN_: (u8, u8, u8) = (140, 86, 75);

const CPU: &[CounterDef] = &[
    CounterDef {
        counter: "cpu.demand.average",
        label: "Demand",
        side: Side::Left,
        color: BLUE_,
    },
    CounterDef {
        counter: "cpu.entitlement.latest",
        label: "Entitlement",
        side: Side::Left,
        color: GREEN_,
    },
    CounterDef {
        counter: "cpu.usagemhz.average",
        label: "Usage",
        side: Side::Left,
        color: ORANGE_,
    },
    CounterDef {
        counter: "cpu.ready.summation",
        label: "Ready",
        side: Side::Right,
        color: RED_,
    },
    CounterDef {
        counter: "cpu.maxlimited.summation",
        label: "Max limited",
        side: Side::Right,
        color: PURPLE_,
    },
];

const MEM: &[CounterDef] = &[
    CounterDef {
        counter: "mem.granted.average",
        label: "Granted",
        side: Side::Left,
        color: BLUE_,
    },
    CounterDef {
        counter: "mem.consumed.average",
        label: "Consumed",
        side: Side::Left,
        color: ORANGE_,
    },
    CounterDef {
        counter: "mem.active.average",
        label: "Active",
        side: Side::Left,
        color: GREEN_,
    },
    CounterDef {
        counter: "mem.vmmemctl.average",
        label: "Balloon",
        side: Side::Left,
        color: RED_,
    },
    CounterDef {
        counter: "mem.swapped.average",
        label: "Swapped",
        side: Side::Left,
        color: BROWN_,
    },
    CounterDef {
        counter: "mem.latency.average",
        label: "Latency",
        side: Side::Right,
        color: PURPLE_,
    },
];

/// The unit label and scale factor that turn a vSphere unit key's raw values into what a
/// chart shows: KB → MB, percent × 100 → %.
pub fn display_unit(unit_key: &str) -> (String, f64) {
    match unit_key {
        "megaHertz" => ("MHz".to_owned(), 1.0),
        "millisecond" => ("ms".to_owned(), 1.0),
        "kiloBytes" => ("MB".to_owned(), 1.0 / 1024.0),
        "megaBytes" => ("MB".to_owned(), 1.0),
        "percent" => ("%".to_owned(), 0.01),
        other => (other.to_owned(), 1.0),
    }
}

/// The charts `outcome` gets, in a fixed order: for each VCH in file order, its pool's CPU and
/// memory charts, then each of its containers' (entity order); then containers with no known
/// VCH. Charts without any data are left out.
pub fn chart_specs(outcome: &RunOutcome) -> Vec<ChartSpec> {
    let mut subjects: Vec<(&scenarios::EntityRecord, bool)> = Vec::new();
    let known = |v: &Option<String>| {
        v.as_ref()
            .is_some_and(|v| outcome.vchs.iter().any(|r| &r.name == v))
    };
    for vch in &outcome.vchs {
        let mine = |e: &&scenarios::EntityRecord| e.vch.as_deref() == Some(vch.name.as_str());
        for e in outcome.entities.iter().filter(mine) {
            if e.kind == EntityKind::Pool {
                subjects.push((e, true));
            }
        }
        for e in outcome.entities.iter().filter(mine) {
            if e.kind == EntityKind::Container {
                subjects.push((e, false));
            }
        }
    }
    for e in &outcome.entities {
        if e.kind == EntityKind::Container && !known(&e.vch) {
            subjects.push((e, false));
        }
    }

    let x_max_s = outcome
        .series
        .iter()
        .filter_map(|s| s.points.last())
        .map(|p| p.offset_s)
        .fold(outcome.meta.duration.as_secs(), u64::max)
        .max(1);
    let mut used = BTreeSet::new();
    let mut specs = Vec::new();
    for (e, is_pool) in subjects {
        for kind in [ChartKind::Cpu, ChartKind::Memory] {
            let defs = match kind {
                ChartKind::Cpu => CPU,
                ChartKind::Memory => MEM,
            };
            let found: Vec<(&CounterDef, &Series)> = defs
                .iter()
                .filter_map(|d| {
                    outcome
                        .series_of(e.kind, &e.name, d.counter)
                        .map(|s| (d, s))
                })
                .filter(|(_, s)| !s.points.is_empty())
                .collect();
            let Some((left, right)) = axes(&found) else {
                continue;
            };
            let base = if is_pool {
                format!("pool-{}-{}", sanitize(&e.name), kind.suffix())
            } else {
                format!("{}-{}", sanitize(&e.name), kind.suffix())
            };
            let stem = unique(&mut used, base);
            let what = if is_pool { "Pool" } else { "Container" };
            let on = e
                .vch
                .as_ref()
                .map(|v| format!(" (VCH {v})"))
                .unwrap_or_default();
            specs.push(ChartSpec {
                stem,
                title: format!("{what} {}{on} · {}", e.name, kind.title()),
                entity_kind: e.kind,
                entity: e.name.clone(),
                vch: e.vch.clone(),
                kind,
                start: outcome.meta.start.rfc3339.clone(),
                x_max_s,
                left,
                right,
            });
        }
    }
    specs
}

/// `base`, or `base-2`, `base-3`, … if taken; records the result as taken.
fn unique(used: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    used.insert(name.clone());
    name
}

/// Splits the found series over two axes by their preferred side and unit: a line whose unit
/// differs from its side's moves to the other side if that one is free or has the same unit,
/// else is left out. A chart with only right-side lines draws them on the left.
fn axes(found: &[(&CounterDef, &Series)]) -> Option<(Axis, Option<Axis>)> {
    let mut sides: [Option<Axis>; 2] = [None, None];
    for (def, series) in found {
        let (unit, scale) = display_unit(&series.unit);
        let line = Line {
            label: def.label.to_owned(),
            color: def.color,
            // The overview: every sample up to scenarios::points::OVERVIEW_POINTS, else means
            // of consecutive samples, so a chart stays small for a week-long run.
            points: series
                .points
                .overview()
                .iter()
                .map(|&(offset_s, value)| (offset_s, value * scale))
                .collect(),
        };
        let first = usize::from(def.side == Side::Right);
        let fits = |a: &Option<Axis>| a.as_ref().is_none_or(|a| a.unit == unit);
        let Some(slot) = [first, 1 - first].into_iter().find(|&i| fits(&sides[i])) else {
            continue;
        };
        sides[slot]
            .get_or_insert_with(|| Axis {
                unit: unit.clone(),
                lines: Vec::new(),
            })
            .lines
            .push(line);
    }
    let [left, right] = sides;
    match (left, right) {
        (Some(l), r) => Some((l, r)),
        (None, Some(r)) => Some((r, None)),
        (None, None) => None,
    }
}

/// Draws `spec` as an SVG document (byte-stable for equal specs).
pub fn chart_svg(spec: &ChartSpec) -> Result<String, ReportError> {
    font::ensure_registered()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, spec).map_err(|e| chart_error(spec, e))?;
        root.present().map_err(|e| chart_error(spec, e))?;
    }
    Ok(svg)
}

/// Draws `spec` as a PNG image (8-bit RGB, byte-stable for equal specs).
pub fn chart_png(spec: &ChartSpec) -> Result<Vec<u8>, ReportError> {
    font::ensure_registered()?;
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (WIDTH, HEIGHT))
            .map_err(|e| chart_error(spec, e))?;
        let root = backend.into_drawing_area();
        draw(&root, spec).map_err(|e| chart_error(spec, e))?;
        root.present().map_err(|e| chart_error(spec, e))?;
    }
    crate::png::encode_rgb(WIDTH, HEIGHT, &rgb).map_err(|message| ReportError::Chart {
        chart: spec.stem.clone(),
        message,
    })
}

/// Builds the spec of every chart of `outcome` and draws each as SVG.
pub fn render_charts(outcome: &RunOutcome) -> Result<Vec<ChartFile>, ReportError> {
    chart_specs(outcome)
        .into_iter()
        .map(|spec| {
            let svg = chart_svg(&spec)?;
            Ok(ChartFile { spec, svg })
        })
        .collect()
}

fn chart_error(spec: &ChartSpec, e: impl std::fmt::Display) -> ReportError {
    ReportError::Chart {
        chart: spec.stem.clone(),
        message: e.to_string(),
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const LEGEND_ROW: u32 = 22;
const LEGEND_FONT: u32 = 14;
const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);
const GRID_BOLD: RGBColor = RGBColor(214, 214, 214);
const AXIS: RGBColor = RGBColor(110, 110, 110);
const TEXT: RGBColor = RGBColor(40, 40, 40);

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// A legend entry: label with unit, colour, dashed (right axis) or not.
fn legend_entries(spec: &ChartSpec) -> Vec<(String, RGBColor, bool)> {
    let mut out: Vec<(String, RGBColor, bool)> = spec
        .left
        .lines
        .iter()
        .map(|l| {
            (
                format!("{} ({})", l.label, spec.left.unit),
                rgb(l.color),
                false,
            )
        })
        .collect();
    if let Some(right) = &spec.right {
        out.extend(
            right
                .lines
                .iter()
                .map(|l| (format!("{} ({})", l.label, right.unit), rgb(l.color), true)),
        );
    }
    out
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &ChartSpec) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let entries = legend_entries(spec);
    let legend_style = TextStyle::from((FAMILY, LEGEND_FONT).into_font()).color(&TEXT);
    // Lay the legend out first (it may wrap) to know how tall its strip is.
    let mut placed: Vec<(i32, i32, &(String, RGBColor, bool))> = Vec::new();
    let (mut x, mut row) = (70i32, 0i32);
    for entry in &entries {
        let (tw, _) = root.estimate_text_size(&entry.0, &legend_style)?;
        let w = 28 + tw as i32 + 22;
        if x + w > WIDTH as i32 - 10 && x > 70 {
            x = 70;
            row += 1;
        }
        placed.push((x, row, entry));
        x += w;
    }
    let legend_h = LEGEND_ROW * (row as u32 + 1) + 8;
    let (plot, legend) = root.split_vertically(HEIGHT.saturating_sub(legend_h));

    let x_ticks = x_ticks(spec.x_max_s);
    let (l0, l1) = y_range(&spec.left);
    let (r0, r1) = spec.right.as_ref().map(y_range).unwrap_or((0.0, 1.0));
    let mut chart = ChartBuilder::on(&plot)
        .caption(&spec.title, (FAMILY, 18).into_font().color(&TEXT))
        .margin_top(6)
        .margin_left(8)
        .margin_right(if spec.right.is_some() { 8 } else { 24 })
        .x_label_area_size(44)
        .y_label_area_size(72)
        .right_y_label_area_size(if spec.right.is_some() { 72 } else { 0 })
        .build_cartesian_2d(
            (0u64..spec.x_max_s).with_key_points(x_ticks.clone()),
            l0..l1,
        )?
        .set_secondary_coord((0u64..spec.x_max_s).with_key_points(x_ticks), r0..r1);

    let fmt_x = |x: &u64| offset_label(*x);
    let fmt_y = |y: &f64| tick_label(*y);
    chart
        .configure_mesh()
        .light_line_style(GRID_LIGHT)
        .bold_line_style(GRID_BOLD)
        .axis_style(AXIS)
        .y_max_light_lines(2)
        .y_labels(8)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .label_style((FAMILY, 13).into_font().color(&TEXT))
        .axis_desc_style((FAMILY, 14).into_font().color(&TEXT))
        .x_desc(format!("Time since {} (mm:ss)", spec.start))
        .y_desc(&spec.left.unit)
        .draw()?;
    if let Some(right) = &spec.right {
        chart
            .configure_secondary_axes()
            .axis_style(AXIS)
            .y_labels(8)
            .y_label_formatter(&fmt_y)
            .label_style((FAMILY, 13).into_font().color(&TEXT))
            .axis_desc_style((FAMILY, 14).into_font().color(&TEXT))
            .y_desc(format!("{} (dashed)", right.unit))
            .draw()?;
    }
    for line in &spec.left.lines {
        let style = rgb(line.color).stroke_width(2);
        chart.draw_series(LineSeries::new(line.points.iter().copied(), style))?;
    }
    if let Some(right) = &spec.right {
        for line in &right.lines {
            let style = rgb(line.color).stroke_width(2);
            chart.draw_secondary_series(DashedLineSeries::new(
                line.points.iter().copied(),
                8,
                5,
                style,
            ))?;
        }
    }

    for (x, row, (label, color, dashed)) in placed {
        let y = 4 + row * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        let style = color.stroke_width(3);
        if *dashed {
            legend.draw(&PathElement::new(vec![(x, y), (x + 9, y)], style))?;
            legend.draw(&PathElement::new(vec![(x + 14, y), (x + 23, y)], style))?;
        } else {
            legend.draw(&PathElement::new(vec![(x, y), (x + 23, y)], style))?;
        }
        let text_style = legend_style.pos(Pos::new(HPos::Left, VPos::Center));
        legend.draw(&Text::new(label.as_str(), (x + 28, y), text_style))?;
    }
    Ok(())
}

/// Tick positions on the time axis: multiples of a "round" step (10 s … 12 h, then whole
/// days) giving at most eight intervals.
pub fn x_ticks(x_max_s: u64) -> Vec<u64> {
    const STEPS: [u64; 16] = [
        10, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10_800, 21_600, 43_200,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|s| x_max_s / s <= 8)
        .unwrap_or_else(|| x_max_s.div_ceil(8).div_ceil(86_400).max(1) * 86_400);
    (0..=x_max_s / step).map(|i| i * step).collect()
}

/// The y range of an axis: from 0 (or a rounded minimum below 0) to a rounded maximum
/// with some head room.
fn y_range(axis: &Axis) -> (f64, f64) {
    let values = axis.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let top = nice_ceil(hi * 1.08);
    let bottom = if lo < 0.0 {
        -nice_ceil(-lo * 1.08)
    } else {
        0.0
    };
    (bottom, top)
}

/// The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ that is ≥ `v` (1 for `v ≤ 0`).
fn nice_ceil(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    if !v.is_finite() {
        return f64::MAX;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * mag)
}

/// A y tick label: no decimals from 10 up, else up to two (trailing zeros dropped).
fn tick_label(v: f64) -> String {
    if v.abs() >= 10.0 {
        crate::names::fmt_fixed(v, 0)
    } else {
        let s = crate::names::fmt_fixed(v, 2);
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(x_ticks(300), vec![0, 60, 120, 180, 240, 300]);
        assert_eq!(x_ticks(100), vec![0, 20, 40, 60, 80, 100]);
        assert_eq!(x_ticks(3600).len(), 7);
        assert_eq!(x_ticks(1), vec![0]);
        assert!(x_ticks(100 * 86_400).len() <= 9);
    }

    #[test]
    fn nice_numbers() {
        assert_eq!(nice_ceil(0.0), 1.0);
        assert_eq!(nice_ceil(1800.0), 2000.0);
        assert_eq!(nice_ceil(2100.0), 2500.0);
        assert_eq!(nice_ceil(0.35), 0.4);
        assert_eq!(nice_ceil(540.0), 600.0);
        assert_eq!(tick_label(2500.0), "2500");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(1.0), "1");
    }

    #[test]
    fn units() {
        assert_eq!(display_unit("kiloBytes"), ("MB".to_owned(), 1.0 / 1024.0));
        assert_eq!(display_unit("percent"), ("%".to_owned(), 0.01));
        assert_eq!(display_unit("number"), ("number".to_owned(), 1.0));
    }

    #[test]
    fn unique_names() {
        let mut used = BTreeSet::new();
        assert_eq!(unique(&mut used, "a".into()), "a");
        assert_eq!(unique(&mut used, "a".into()), "a-2");
        assert_eq!(unique(&mut used, "a".into()), "a-3");
    }
}
