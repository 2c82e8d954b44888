//! The report's content as plain tables of text, shared by `report.html` and `report.md` so
//! the two always say the same thing: facts, verdicts, VCHs, steps, key numbers, and the chart
//! grid (one column per VCH, one row per chart kind), the top containers in esxtop order.

use std::collections::BTreeMap;

use scenarios::{EntityKind, RunOutcome, VchRecord};

use crate::charts::{ChartFile, ChartKind, Role};
use crate::clock::offset_label;
use crate::names::{bounds_text, fmt_fixed, observed_text, pass_fail};
use crate::top;

/// A table: header cells and rows; a row flagged `bad` is highlighted (failed verdict or
/// step).
pub(crate) struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Row>,
}

pub(crate) struct Row {
    pub cells: Vec<String>,
    pub bad: bool,
}

/// `(label, value)` facts about the run, in display order.
pub(crate) fn facts(o: &RunOutcome) -> Vec<(&'static str, String)> {
    let failed = o.verdicts.iter().filter(|v| !v.passed).count();
    vec![
        (
            "Result",
            format!(
                "{} ({} of {} expectations held)",
                pass_fail(o.passed()),
                o.verdicts.len() - failed,
                o.verdicts.len()
            ),
        ),
        ("Seed", o.meta.seed.to_string()),
        ("Scenario hash", o.scenario_hash.clone()),
        ("vicbed version", o.vicbed_version.clone()),
        ("Start", o.meta.start.rfc3339.clone()),
        ("Duration", offset_label(o.meta.duration.as_secs())),
        (
            "Sample interval",
            format!("{} s", o.meta.sample_interval.as_secs()),
        ),
    ]
}

pub(crate) fn verdicts(o: &RunOutcome) -> Table {
    Table {
        header: vec!["ID", "Statement", "Observed", "Bounds", "Verdict", "Reason"],
        rows: o
            .verdicts
            .iter()
            .map(|v| Row {
                cells: vec![
                    v.id.clone(),
                    v.statement.clone(),
                    observed_text(&v.observed),
                    bounds_text(v.min, v.max),
                    pass_fail(v.passed).to_owned(),
                    v.reason.clone(),
                ],
                bad: !v.passed,
            })
            .collect(),
    }
}

/// `500 MHz` or `unlimited` (vSphere's -1 is unlimited too).
fn limit(v: Option<i64>, unit: &str) -> String {
    match v {
        Some(n) if n >= 0 => format!("{n} {unit}"),
        _ => "unlimited".to_owned(),
    }
}

/// A VCH's limits in one line: `CPU 500 MHz, memory unlimited`.
pub(crate) fn limits_line(v: &VchRecord) -> String {
    format!(
        "CPU {}, memory {}",
        limit(v.cpu_limit_mhz, "MHz"),
        limit(v.mem_limit_mb, "MB")
    )
}

pub(crate) fn vchs(o: &RunOutcome) -> Table {
    Table {
        header: vec!["VCH", "vSphere name", "CPU limit", "Memory limit", "TLS"],
        rows: o
            .vchs
            .iter()
            .map(|v| Row {
                cells: vec![
                    v.name.clone(),
                    v.vsphere_name.clone(),
                    limit(v.cpu_limit_mhz, "MHz"),
                    limit(v.mem_limit_mb, "MB"),
                    v.tls_mode.clone(),
                ],
                bad: false,
            })
            .collect(),
    }
}

/// Runs of more steps than this show the failed ones and fold the full list away.
pub(crate) const STEPS_SHOWN: usize = 20;

/// The failed steps only.
pub(crate) fn failed_steps(o: &RunOutcome) -> Table {
    let mut t = steps(o);
    t.rows.retain(|r| r.bad);
    t
}

pub(crate) fn steps(o: &RunOutcome) -> Table {
    Table {
        header: vec!["#", "At", "Command", "Result", "OK"],
        rows: o
            .steps
            .iter()
            .map(|s| Row {
                cells: vec![
                    s.index.to_string(),
                    offset_label(s.at_s),
                    s.command.clone(),
                    s.result.clone(),
                    if s.ok { "ok" } else { "FAILED" }.to_owned(),
                ],
                bad: !s.ok,
            })
            .collect(),
    }
}

/// A number with `decimals`, or `–` when the run has no such series.
fn num(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| fmt_fixed(v, decimals))
        .unwrap_or_else(|| "–".to_owned())
}

/// Per VCH: its pool's and appliance's headline numbers (CPU in MHz, memory in MB).
pub(crate) fn vch_numbers(o: &RunOutcome) -> Table {
    let mut rows = Vec::new();
    for v in &o.vchs {
        let mine = |e: &&scenarios::EntityRecord| e.vch.as_deref() == Some(v.name.as_str());
        for e in o.entities.iter().filter(mine) {
            let what = match e.kind {
                EntityKind::Pool => "pool",
                EntityKind::Vm if e.vsphere_name == v.vsphere_name => "appliance",
                _ => continue,
            };
            let r = top::row_of(o, e.kind, &e.name, e.vch.clone());
            let containers = o
                .entities
                .iter()
                .filter(|c| c.kind == EntityKind::Container && c.vch.as_deref() == Some(&v.name))
                .count();
            rows.push(Row {
                cells: vec![
                    v.name.clone(),
                    what.to_owned(),
                    e.name.clone(),
                    if what == "pool" {
                        containers.to_string()
                    } else {
                        "–".to_owned()
                    },
                    num(r.demand_mhz, 0),
                    num(r.usage_mhz, 0),
                    num(r.got_pct, 1),
                    num(r.rdy_pct, 1),
                    num(r.balloon_mb, 1),
                    num(r.swap_mb, 1),
                ],
                bad: false,
            });
        }
    }
    Table {
        header: vec![
            "VCH",
            "What",
            "Entity",
            "Containers",
            "Avg demand (MHz)",
            "Avg usage (MHz)",
            "Got (% of demand)",
            "%RDY",
            "Max balloon (MB)",
            "Max swapped (MB)",
        ],
        rows,
    }
}

/// The first [`top::TOP_ROWS`] containers in esxtop order (see [`crate::top`]), and how many
/// there are in all.
pub(crate) fn top_containers(o: &RunOutcome) -> (Table, usize) {
    let ranked = top::ranked(o);
    let total = ranked.len();
    let rows = ranked
        .into_iter()
        .take(top::TOP_ROWS)
        .map(|r| Row {
            cells: vec![
                r.name.clone(),
                r.vch.clone().unwrap_or_else(|| "–".to_owned()),
                num(r.rdy_pct, 1),
                num(r.mlmtd_pct, 1),
                num(r.balloon_mb, 1),
                num(r.swap_mb, 1),
                num(r.latency_pct, 2),
                num(r.demand_mhz, 0),
                num(r.usage_mhz, 0),
                num(r.got_pct, 1),
            ],
            bad: false,
        })
        .collect();
    let table = Table {
        header: vec![
            "Container",
            "VCH",
            "%RDY",
            "%MLMTD",
            "Max balloon (MB)",
            "Max swapped (MB)",
            "Avg mem latency (%)",
            "Avg demand (MHz)",
            "Avg usage (MHz)",
            "Got (% of demand)",
        ],
        rows,
    };
    (table, total)
}

/// The sentence under the top-N table: how it is sorted and where the rest is.
pub(crate) fn top_note(o: &RunOutcome, shown: usize, total: usize) -> String {
    let which = if shown < total {
        format!("The {shown} of {total} containers with the most ready time")
    } else {
        format!("All {total} containers")
    };
    format!(
        "{which}, sorted as esxtop sorts: %RDY (ready time as % of each {} s sample, summed \
         over vCPUs), then %MLMTD (the part of it held back by a limit), then balloon and swap. \
         Every container is in summary.json and metrics.parquet.",
        o.meta.sample_interval.as_secs()
    )
}

/// A sentence under the charts' heading when some series were averaged for drawing (runs of
/// over [`scenarios::points::OVERVIEW_POINTS`] samples), saying how.
pub(crate) fn chart_note(o: &RunOutcome) -> Option<String> {
    let longest = o.series.iter().map(|s| s.points.len()).max()?;
    let limit = scenarios::points::OVERVIEW_POINTS;
    (longest > limit).then(|| {
        let k = longest.div_ceil(limit);
        format!(
            "The charts show means of {k} consecutive 20 s samples ({} min) per point, so that a \
             series of {longest} samples fits in at most {limit} points; every sample is in \
             metrics.parquet and the statistics use every sample.",
            fmt_fixed(k as f64 * 20.0 / 60.0, 1)
        )
    })
}

/// The chart grid: one column per VCH (file order; plus `other` for containers of no known
/// VCH), one row per chart kind — pool CPU and memory, appliance CPU and memory, then per
/// charted container position CPU and memory. Cells index into the chart slice.
pub(crate) struct Grid {
    /// Column headings: (VCH name, its limits line or an explanation).
    pub columns: Vec<(String, String)>,
    pub rows: Vec<GridRow>,
}

pub(crate) struct GridRow {
    pub label: String,
    pub cells: Vec<Option<usize>>,
}

pub(crate) fn grid(o: &RunOutcome, charts: &[ChartFile]) -> Grid {
    let mut columns: Vec<(String, String)> = o
        .vchs
        .iter()
        .map(|v| (v.name.clone(), limits_line(v)))
        .collect();
    if charts.iter().any(|c| c.spec.grid.column >= o.vchs.len()) {
        columns.push(("other".to_owned(), "containers of no known VCH".to_owned()));
    }
    let n = columns.len();
    let mut rows: BTreeMap<(Role, usize, ChartKind), Vec<Option<usize>>> = BTreeMap::new();
    for (i, c) in charts.iter().enumerate() {
        let g = c.spec.grid;
        let cells = rows
            .entry((g.role, g.position, c.spec.kind))
            .or_insert_with(|| vec![None; n]);
        if let Some(cell) = cells.get_mut(g.column.min(n.saturating_sub(1))) {
            cell.get_or_insert(i);
        }
    }
    let rows = rows
        .into_iter()
        .map(|((role, pos, kind), cells)| {
            let what = match (role, pos) {
                (Role::Pool, 1) => "VCH pool".to_owned(),
                (Role::Pool, p) => format!("VCH pool {p}"),
                (Role::Appliance, 1) => "VCH appliance".to_owned(),
                (Role::Appliance, p) => format!("VCH appliance {p}"),
                (Role::Container, p) => format!("Container {p}"),
            };
            let kind = match kind {
                ChartKind::Cpu => "CPU",
                ChartKind::Memory => "memory",
            };
            GridRow {
                label: format!("{what} · {kind}"),
                cells,
            }
        })
        .collect();
    Grid { columns, rows }
}

/// The sentence above the grid: which containers have charts, and how to read them.
pub(crate) fn grid_note(o: &RunOutcome, charts: &[ChartFile]) -> String {
    let total = o
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Container)
        .count();
    let charted: std::collections::BTreeSet<&str> = charts
        .iter()
        .filter(|c| c.spec.grid.role == Role::Container)
        .map(|c| c.spec.entity.as_str())
        .collect();
    let which = if charted.len() < total {
        format!(
            "Containers: the {} of {total} with the most ready time (see the table below). ",
            charted.len()
        )
    } else {
        String::new()
    };
    format!(
        "{which}Charts in one row share their y scales. Ready and max-limited time are % of \
         each sample interval (esxtop's %RDY and %MLMTD). A line drawn dotted over a wider one \
         has the same values (the legend says which). Pool charts show the pool's limit \
         (dash-dot) and reservation (dotted). Ticks on the time axis mark steps, numbered as \
         in Steps when there are few."
    )
}

/// The sentence on where every sample is: `metrics.parquet` always, `metrics.csv` too for
/// runs of up to [`crate::CSV_MAX_ROWS`] samples.
pub(crate) fn files_note(o: &RunOutcome) -> String {
    let rows = crate::csv::total_rows(o);
    let csv = if crate::csv::writes_csv(o) {
        "; the same rows are in metrics.csv".to_owned()
    } else {
        format!(
            "; metrics.csv is written only for runs of up to {} samples",
            crate::CSV_MAX_ROWS
        )
    };
    format!(
        "Every sample ({rows} rows) is in metrics.parquet (columns entity_kind, entity, \
         counter, instance, timestamp, offset_s, value, unit; pandas.read_parquet, DuckDB's \
         read_parquet and polars.read_parquet open it as it is){csv}. summary.json has the \
         statistics of every series."
    )
}
