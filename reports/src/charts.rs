//! Performance charts in the style of vCenter's: white background, light grid, legend strip
//! under the plot, virtual time on the x axis (`mm:ss` since the scenario start, steps marked
//! on it), the unit on each y axis; a second (right) y axis, drawn dashed, for a second unit.
//!
//! [`chart_specs`] decides which charts a run gets (data only, no drawing): for every VCH its
//! resource pool and its appliance VM, and for the [`TOP_CHARTS`] worst containers by the
//! esxtop order of [`crate::top`], a CPU chart (MHz on the left; ready and max-limited time as
//! % of each sample interval on the right) and a memory chart (granted, consumed, active,
//! balloon, swapped in MB on the left; latency in % on the right), each with only the series
//! that exist (aggregate instance). Pool charts add the pool's limit and reservation as
//! reference lines. A line that coincides with an earlier one on its axis is drawn on top of
//! it in another stroke and the legend says so. Charts side by side in one grid row share
//! their y scales. [`chart_svg`] and [`chart_png`] (in `draw`) draw one spec.

use std::collections::{BTreeMap, BTreeSet};

use scenarios::{EntityKind, EntityRecord, RunOutcome, Series};

use crate::names::sanitize;
use crate::top::{TOP_CHARTS, ranked};

pub use crate::draw::{HEIGHT, MIN_FONT_PX, WIDTH, chart_png, chart_svg, render_charts, x_ticks};

/// What a chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChartKind {
    /// CPU: demand, entitlement, usage (MHz); ready, max limited (% of time).
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

/// What the chart's entity is to its VCH (the grid's row groups, in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The VCH's resource pool.
    Pool,
    /// The VCH appliance VM (the Docker endpoint).
    Appliance,
    /// A containerVM.
    Container,
}

/// Which axis a line is drawn against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The left y axis (solid lines).
    Left,
    /// The right y axis (dashed lines).
    Right,
}

/// How a line is stroked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stroke {
    /// A plain line (left axis).
    Solid,
    /// Long dashes (right axis).
    Dashed,
    /// Short dots: a line drawn on top of one it coincides with.
    Dotted,
    /// Long dash and dot: a pool's limit.
    DashDot,
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
    /// How it is stroked.
    pub stroke: Stroke,
    /// Stroke width in pixels (wider when a later line is drawn on top of it).
    pub width: u32,
    /// The earlier line of the same axis this one coincides with, and on what share of its
    /// points (%, rounded); the legend says so.
    pub same_as: Option<(String, u32)>,
    /// Whether the legend lists it (a limit that changes is several lines, listed once).
    pub in_legend: bool,
}

impl Line {
    fn new(label: &str, color: (u8, u8, u8), stroke: Stroke, points: Vec<(u64, f64)>) -> Line {
        Line {
            label: label.to_owned(),
            color,
            points,
            stroke,
            width: 2,
            same_as: None,
            in_legend: true,
        }
    }

    /// The legend text: `Usage (MHz), same as Entitlement`.
    pub fn legend(&self, unit: &str) -> String {
        let mut s = format!("{} ({unit})", self.label);
        if let Some((other, pct)) = &self.same_as {
            s.push_str(&format!(", same as {other}"));
            if *pct < 100 {
                s.push_str(&format!(" {pct} % of the time"));
            }
        }
        s
    }
}

/// One y axis: its unit, lines and range.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Unit label (`MHz`, `MB`, `%`).
    pub unit: String,
    /// The axis description (`MHz`, `ready, % of time (dashed)`).
    pub desc: String,
    /// Lines, in legend order.
    pub lines: Vec<Line>,
    /// The value range drawn, shared by the charts of one grid row.
    pub range: (f64, f64),
}

/// A step's time marked on the x axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// Seconds since the start.
    pub at_s: u64,
    /// The step numbers there (`3`, `4–6`); empty when the chart has too many to label.
    pub label: String,
}

/// Where a chart sits in the report's grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridPos {
    /// Column: the VCH's index in file order (`vchs.len()` for containers of no known VCH).
    pub column: usize,
    /// Row group.
    pub role: Role,
    /// 1-based position of the entity among those of its role in its column.
    pub position: usize,
}

/// Everything needed to draw one chart; built by [`chart_specs`].
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSpec {
    /// File name without extension: `<entity>-cpu` / `<entity>-mem` for containers,
    /// `pool-<entity>-…` for VCH pools, `vch-<entity>-…` for appliances (names sanitized to
    /// `[a-z0-9-]`, with `-2`, `-3`, … appended on a clash).
    pub stem: String,
    /// Caption.
    pub title: String,
    /// The entity's kind.
    pub entity_kind: EntityKind,
    /// The entity's name.
    pub entity: String,
    /// The `[[vch]]` the entity belongs to.
    pub vch: Option<String>,
    /// CPU or memory.
    pub kind: ChartKind,
    /// Its place in the grid.
    pub grid: GridPos,
    /// The scenario start, RFC 3339 (x axis origin).
    pub start: String,
    /// The x axis runs from 0 to this many seconds.
    pub x_max_s: u64,
    /// The left axis (always has at least one line).
    pub left: Axis,
    /// The right axis, when there are lines in a second unit.
    pub right: Option<Axis>,
    /// Steps marked on the time axis.
    pub markers: Vec<Marker>,
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
const LIMIT_: (u8, u8, u8) = (60, 60, 60);
const RESERVATION_: (u8, u8, u8) = (23, 140, 160);

const fn def(
    counter: &'static str,
    label: &'static str,
    side: Side,
    color: (u8, u8, u8),
) -> CounterDef {
    CounterDef {
        counter,
        label,
        side,
        color,
    }
}

const CPU: &[CounterDef] = &[
    def("cpu.demand.average", "Demand", Side::Left, BLUE_),
    def("cpu.entitlement.latest", "Entitlement", Side::Left, GREEN_),
    def("cpu.usagemhz.average", "Usage", Side::Left, ORANGE_),
    def("cpu.ready.summation", "Ready", Side::Right, RED_),
    def(
        "cpu.maxlimited.summation",
        "Max limited",
        Side::Right,
        PURPLE_,
    ),
];

const MEM: &[CounterDef] = &[
    def("mem.granted.average", "Granted", Side::Left, BLUE_),
    def("mem.consumed.average", "Consumed", Side::Left, ORANGE_),
    def("mem.active.average", "Active", Side::Left, GREEN_),
    def("mem.vmmemctl.average", "Balloon", Side::Left, RED_),
    def("mem.swapped.average", "Swapped", Side::Left, BROWN_),
    def("mem.latency.average", "Latency", Side::Right, PURPLE_),
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

/// The unit and scale a chart uses for `series`: time summed over each sample interval
/// (`cpu.ready.summation`, ms) becomes % of that interval, as esxtop's %RDY; the rest as
/// [`display_unit`].
fn chart_unit(series: &Series, interval_ms: f64) -> (String, f64) {
    if series.unit == "millisecond" && series.counter.ends_with(".summation") {
        ("%".to_owned(), 100.0 / interval_ms)
    } else {
        display_unit(&series.unit)
    }
}

/// The containers that get charts: the [`TOP_CHARTS`] worst by the esxtop order.
pub fn charted_containers(outcome: &RunOutcome) -> BTreeSet<String> {
    ranked(outcome)
        .into_iter()
        .take(TOP_CHARTS)
        .map(|r| r.name)
        .collect()
}

/// The charts `outcome` gets, in a fixed order: for each VCH in file order, its pool's CPU and
/// memory charts, its appliance's, then those of its charted containers (entity order); then
/// charted containers with no known VCH. Charts without any data are left out.
pub fn chart_specs(outcome: &RunOutcome) -> Vec<ChartSpec> {
    let charted = charted_containers(outcome);
    let mut subjects: Vec<(&EntityRecord, Role, usize)> = Vec::new();
    for (col, vch) in outcome.vchs.iter().enumerate() {
        let mine = |e: &&EntityRecord| e.vch.as_deref() == Some(vch.name.as_str());
        for role in [Role::Pool, Role::Appliance, Role::Container] {
            for e in outcome.entities.iter().filter(mine) {
                let is = match role {
                    Role::Pool => e.kind == EntityKind::Pool,
                    Role::Appliance => {
                        e.kind == EntityKind::Vm && e.vsphere_name == vch.vsphere_name
                    }
                    Role::Container => e.kind == EntityKind::Container && charted.contains(&e.name),
                };
                if is {
                    subjects.push((e, role, col));
                }
            }
        }
    }
    let known = |v: &Option<String>| {
        v.as_ref()
            .is_some_and(|v| outcome.vchs.iter().any(|r| &r.name == v))
    };
    for e in &outcome.entities {
        if e.kind == EntityKind::Container && !known(&e.vch) && charted.contains(&e.name) {
            subjects.push((e, Role::Container, outcome.vchs.len()));
        }
    }

    let x_max_s = outcome
        .series
        .iter()
        .filter_map(|s| s.points.last())
        .map(|p| p.offset_s)
        .fold(outcome.meta.duration.as_secs(), u64::max)
        .max(1);
    let interval_ms = crate::top::interval_ms(outcome);
    let mut used = BTreeSet::new();
    let mut positions: BTreeMap<(usize, Role), Vec<&str>> = BTreeMap::new();
    let mut specs = Vec::new();
    for (e, role, column) in subjects {
        let names = positions.entry((column, role)).or_default();
        if !names.contains(&e.name.as_str()) {
            names.push(&e.name);
        }
        let position = names.len();
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
            let Some((mut left, right)) = axes(&found, interval_ms) else {
                continue;
            };
            if role == Role::Pool {
                let unit = left.unit.clone();
                left.lines
                    .extend(pool_reference_lines(outcome, e, kind, &unit, x_max_s));
            }
            let (prefix, what) = match role {
                Role::Pool => ("pool-", "Pool"),
                Role::Appliance => ("vch-", "VCH appliance"),
                Role::Container => ("", "Container"),
            };
            let stem = unique(
                &mut used,
                format!("{prefix}{}-{}", sanitize(&e.name), kind.suffix()),
            );
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
                grid: GridPos {
                    column,
                    role,
                    position,
                },
                start: outcome.meta.start.rfc3339.clone(),
                x_max_s,
                left,
                right,
                markers: markers(outcome, e),
            });
        }
    }
    for spec in &mut specs {
        for axis in std::iter::once(&mut spec.left).chain(spec.right.as_mut()) {
            mark_coinciding(axis);
        }
    }
    share_ranges(&mut specs);
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
fn axes(found: &[(&CounterDef, &Series)], interval_ms: f64) -> Option<(Axis, Option<Axis>)> {
    let mut sides: [Option<Axis>; 2] = [None, None];
    for (def, series) in found {
        let (unit, scale) = chart_unit(series, interval_ms);
        // The overview: every sample up to scenarios::points::OVERVIEW_POINTS, else means
        // of consecutive samples, so a chart stays small for a week-long run.
        let points = series
            .points
            .overview()
            .iter()
            .map(|&(offset_s, value)| (offset_s, value * scale))
            .collect();
        let first = usize::from(def.side == Side::Right);
        let fits = |a: &Option<Axis>| a.as_ref().is_none_or(|a| a.unit == unit);
        let Some(slot) = [first, 1 - first].into_iter().find(|&i| fits(&sides[i])) else {
            continue;
        };
        let stroke = if slot == 1 {
            Stroke::Dashed
        } else {
            Stroke::Solid
        };
        sides[slot]
            .get_or_insert_with(|| Axis {
                unit: unit.clone(),
                desc: String::new(),
                lines: Vec::new(),
                range: (0.0, 1.0),
            })
            .lines
            .push(Line::new(def.label, def.color, stroke, points));
    }
    let [left, right] = sides;
    let (mut left, mut right) = match (left, right) {
        (Some(l), r) => (l, r),
        (None, Some(mut r)) => {
            for l in &mut r.lines {
                l.stroke = Stroke::Solid;
            }
            (r, None)
        }
        (None, None) => return None,
    };
    left.desc = axis_desc(&left, false);
    if let Some(r) = &mut right {
        r.desc = axis_desc(r, true);
    }
    Some((left, right))
}

/// `MHz`; `ready, % of time (dashed)` for time shares; `% (dashed)` on the right.
fn axis_desc(axis: &Axis, dashed: bool) -> String {
    let time_share = axis
        .lines
        .iter()
        .any(|l| l.label == "Ready" || l.label == "Max limited");
    let mut s = if time_share {
        "% of time".to_owned()
    } else {
        axis.unit.clone()
    };
    if dashed {
        s.push_str(" (dashed)");
    }
    s
}

/// Points within this share of the axis' largest value count as equal.
const COINCIDE_TOLERANCE: f64 = 0.01;
/// A line coinciding with an earlier one on at least this share of its points is drawn
/// dotted on top of it (less, and the two are told apart by where they differ).
const COINCIDE_SHARE: f64 = 0.8;

/// Marks each line that coincides with an earlier line of `axis` (same value, within
/// [`COINCIDE_TOLERANCE`] of the axis' largest value, on at least [`COINCIDE_SHARE`] of the
/// points): it is drawn dotted over the earlier one, which is drawn wider, and its legend
/// names it — so neither hides the other.
fn mark_coinciding(axis: &mut Axis) {
    let top = axis
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1.abs()))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let tolerance = (top * COINCIDE_TOLERANCE).max(1e-9);
    for i in 1..axis.lines.len() {
        if !axis.lines[i].in_legend || axis.lines[i].stroke == Stroke::DashDot {
            continue;
        }
        let mut best: Option<(usize, f64)> = None;
        for j in 0..i {
            let (a, b) = (&axis.lines[i], &axis.lines[j]);
            if b.same_as.is_some() || b.stroke == Stroke::DashDot || a.points.is_empty() {
                continue;
            }
            let equal = a
                .points
                .iter()
                .zip(&b.points)
                .filter(|(p, q)| p.0 == q.0 && (p.1 - q.1).abs() <= tolerance)
                .count();
            let share = equal as f64 / a.points.len() as f64;
            if share >= COINCIDE_SHARE && best.is_none_or(|(_, s)| share > s) {
                best = Some((j, share));
            }
        }
        if let Some((j, share)) = best {
            let other = axis.lines[j].label.clone();
            axis.lines[j].width = 6;
            let line = &mut axis.lines[i];
            line.stroke = Stroke::Dotted;
            line.width = 3;
            line.same_as = Some((other, (share * 100.0).floor() as u32));
        }
    }
}

/// Gives every chart of one grid row (same role, position and kind) the same range per
/// unit, so side-by-side columns compare at a glance.
fn share_ranges(specs: &mut [ChartSpec]) {
    type RowKey = (Role, usize, ChartKind);
    let mut tops: BTreeMap<(RowKey, String), (f64, f64)> = BTreeMap::new();
    let row = |s: &ChartSpec| (s.grid.role, s.grid.position, s.kind);
    for s in specs.iter() {
        for axis in std::iter::once(&s.left).chain(s.right.as_ref()) {
            let (lo, hi) = y_range(axis);
            let e = tops.entry((row(s), axis.unit.clone())).or_insert((lo, hi));
            *e = (e.0.min(lo), e.1.max(hi));
        }
    }
    for s in specs.iter_mut() {
        let key = row(s);
        for axis in std::iter::once(&mut s.left).chain(s.right.as_mut()) {
            if let Some(r) = tops.get(&(key, axis.unit.clone())) {
                axis.range = *r;
            }
        }
    }
}

/// A pool's limit and reservation over time, as reference lines in `unit` (MHz on CPU
/// charts, MB on memory charts): the VCH's values at creation, changed by each successful
/// `pool` step on this pool. Unlimited stretches have no line; a limit that changes is one
/// line per stretch, listed once in the legend.
fn pool_reference_lines(
    o: &RunOutcome,
    pool: &EntityRecord,
    kind: ChartKind,
    unit: &str,
    x_max_s: u64,
) -> Vec<Line> {
    let (limit_key, reservation_key, want_unit) = match kind {
        ChartKind::Cpu => ("cpu_limit_mhz", "cpu_reservation_mhz", "MHz"),
        ChartKind::Memory => ("mem_limit_mb", "mem_reservation_mb", "MB"),
    };
    if unit != want_unit {
        return Vec::new();
    }
    let vch = pool
        .vch
        .as_ref()
        .and_then(|v| o.vchs.iter().find(|r| &r.name == v));
    let initial_limit = vch.and_then(|v| match kind {
        ChartKind::Cpu => v.cpu_limit_mhz,
        ChartKind::Memory => v.mem_limit_mb,
    });
    let changes = pool_changes(o, &pool.name);
    let mut out = Vec::new();
    for (key, label, color, stroke, initial) in [
        (limit_key, "Limit", LIMIT_, Stroke::DashDot, initial_limit),
        (
            reservation_key,
            "Reservation",
            RESERVATION_,
            Stroke::Dotted,
            None,
        ),
    ] {
        let mut value = initial.filter(|v| *v > 0).map(|v| v as f64);
        let mut from = 0u64;
        let mut stretches: Vec<(u64, u64, f64)> = Vec::new();
        for (at_s, k, v) in &changes {
            if k != key {
                continue;
            }
            if let Some(val) = value {
                stretches.push((from, *at_s, val));
            }
            value = (*v > 0).then_some(*v as f64);
            from = *at_s;
        }
        if let Some(val) = value {
            stretches.push((from, x_max_s, val));
        }
        for (n, (a, b, v)) in stretches.into_iter().enumerate() {
            let mut line = Line::new(label, color, stroke, vec![(a, v), (b.max(a), v)]);
            line.in_legend = n == 0;
            out.push(line);
        }
    }
    out
}

/// `(at_s, key, value)` of every successful `pool NAME key=value …` step on `pool`.
fn pool_changes(o: &RunOutcome, pool: &str) -> Vec<(u64, String, i64)> {
    let prefix = format!("pool {pool} ");
    let mut out = Vec::new();
    for s in o.steps.iter().filter(|s| s.ok) {
        let Some(rest) = s.command.strip_prefix(&prefix) else {
            continue;
        };
        for kv in rest.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=')
                && let Ok(v) = v.parse::<i64>()
            {
                out.push((s.at_s, k.to_owned(), v));
            }
        }
    }
    out
}

/// Most step markers one chart draws; beyond, every k-th instant.
const MAX_MARKERS: usize = 60;
/// Charts with at most this many marked instants label them with step numbers.
const LABELLED_MARKERS: usize = 12;

/// The steps that concern `e` on the time axis: those sent to its VCH (`… (on VCH)`), those
/// naming it (`pool NAME …`, `power NAME …`, a docker line with its name), or, for an entity
/// of no VCH, every step. One marker per instant.
fn markers(o: &RunOutcome, e: &EntityRecord) -> Vec<Marker> {
    let on = e.vch.as_ref().map(|v| format!("(on {v})"));
    let mut at: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for s in &o.steps {
        let concerns = match &on {
            None => true,
            Some(on) => {
                s.command.ends_with(on.as_str())
                    || s.command.split_whitespace().any(|w| w == e.name)
            }
        };
        if concerns {
            at.entry(s.at_s).or_default().push(s.index);
        }
    }
    let every = at.len().div_ceil(MAX_MARKERS).max(1);
    let labelled = at.len() <= LABELLED_MARKERS;
    at.into_iter()
        .step_by(every)
        .map(|(at_s, idx)| Marker {
            at_s,
            label: if !labelled {
                String::new()
            } else if idx.len() == 1 {
                idx[0].to_string()
            } else {
                format!("{}–{}", idx[0], idx[idx.len() - 1])
            },
        })
        .collect()
}

/// The y range of an axis: from 0 (or a rounded minimum below 0) to a rounded maximum
/// with some head room.
pub(crate) fn y_range(axis: &Axis) -> (f64, f64) {
    let values = axis.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // A % axis shows at least 0–1 %: a trace of ready time is not worth a zoomed-in axis.
    let floor = if axis.unit == "%" { 1.0 } else { 0.0 };
    let top = nice_ceil(hi * 1.08).max(floor);
    let bottom = if lo < 0.0 {
        -nice_ceil(-lo * 1.08)
    } else {
        0.0
    };
    (bottom, top)
}

/// The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ that is ≥ `v` (1 for `v ≤ 0`).
pub(crate) fn nice_ceil(v: f64) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_numbers() {
        assert_eq!(nice_ceil(0.0), 1.0);
        assert_eq!(nice_ceil(1800.0), 2000.0);
        assert_eq!(nice_ceil(2100.0), 2500.0);
        assert_eq!(nice_ceil(0.35), 0.4);
        assert_eq!(nice_ceil(540.0), 600.0);
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

    fn axis(lines: &[&[f64]]) -> Axis {
        Axis {
            unit: "MHz".into(),
            desc: "MHz".into(),
            range: (0.0, 1.0),
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let pts = v.iter().enumerate().map(|(t, &y)| (t as u64, y)).collect();
                    Line::new(&format!("L{i}"), (0, 0, 0), Stroke::Solid, pts)
                })
                .collect(),
        }
    }

    #[test]
    fn coinciding_lines_are_marked() {
        let mut a = axis(&[&[1800.0, 1800.0], &[400.0, 400.0], &[400.0, 401.0]]);
        mark_coinciding(&mut a);
        assert_eq!(a.lines[1].width, 6, "the line underneath is drawn wider");
        assert_eq!(a.lines[2].stroke, Stroke::Dotted);
        assert_eq!(a.lines[2].same_as, Some(("L1".into(), 100)));
        assert_eq!(a.lines[2].legend("MHz"), "L2 (MHz), same as L1");
        assert_eq!(a.lines[0].same_as, None);
        let mut b = axis(&[
            &[0.0, 100.0, 100.0, 100.0, 100.0],
            &[0.0, 100.0, 100.0, 100.0, 50.0],
        ]);
        mark_coinciding(&mut b);
        assert_eq!(
            b.lines[1].legend("MHz"),
            "L1 (MHz), same as L0 80 % of the time"
        );
        let mut c = axis(&[&[0.0, 100.0], &[50.0, 10.0]]);
        mark_coinciding(&mut c);
        assert_eq!(c.lines[1].same_as, None);
    }
}
