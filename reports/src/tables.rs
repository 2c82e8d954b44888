//! The report's content as plain tables of text, shared by `report.html` and `report.md` so
//! the two always say the same thing: facts, verdicts, VCHs, steps, key numbers, and the chart
//! grid (one column per VCH, one row per chart kind).

use std::collections::BTreeMap;

use scenarios::{EntityKind, RunOutcome, Stat, VchRecord};

use crate::charts::{ChartFile, ChartKind};
use crate::clock::offset_label;
use crate::names::{bounds_text, fmt_fixed, observed_text, pass_fail};

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

/// Per container and VCH pool: averages and maxima of the headline counters, converted to
/// display units; `–` where the run has no such series.
pub(crate) fn key_numbers(o: &RunOutcome) -> Table {
    // (counter, statistic, scale, decimals)
    let cols: [(&str, Stat, f64, usize); 5] = [
        ("cpu.ready.summation", Stat::Avg, 1.0, 0),
        ("cpu.entitlement.latest", Stat::Avg, 1.0, 0),
        ("cpu.demand.average", Stat::Avg, 1.0, 0),
        ("mem.latency.average", Stat::Avg, 0.01, 2),
        ("mem.vmmemctl.average", Stat::Max, 1.0 / 1024.0, 1),
    ];
    let rows = o
        .entities
        .iter()
        .filter(|e| {
            e.kind == EntityKind::Container || (e.kind == EntityKind::Pool && e.vch.is_some())
        })
        .map(|e| {
            let mut cells = vec![
                e.name.clone(),
                e.kind.as_str().to_owned(),
                e.vch.clone().unwrap_or_else(|| "–".to_owned()),
            ];
            for (counter, stat, scale, decimals) in cols {
                // The run's exact statistics over every sample (no read-back needed).
                let value = o.series_of(e.kind, &e.name, counter).and_then(|s| {
                    let st = s.points.stats();
                    match stat {
                        Stat::Max => st.max.map(|v| v as f64),
                        _ => st.avg,
                    }
                });
                cells.push(
                    value
                        .map(|v| fmt_fixed(v * scale, decimals))
                        .unwrap_or_else(|| "–".to_owned()),
                );
            }
            Row { cells, bad: false }
        })
        .collect();
    Table {
        header: vec![
            "Entity",
            "Kind",
            "VCH",
            "Avg ready (ms)",
            "Avg entitlement (MHz)",
            "Avg demand (MHz)",
            "Avg mem latency (%)",
            "Max balloon (MB)",
        ],
        rows,
    }
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
             metrics.csv and the statistics use every sample.",
            fmt_fixed(k as f64 * 20.0 / 60.0, 1)
        )
    })
}

/// The chart grid: one column per VCH (file order; plus `other` for containers of no known
/// VCH), one row per chart kind — pool CPU, pool memory, then per container position CPU and
/// memory. Cells index into the chart slice.
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
    let column_of = |c: &ChartFile| -> usize {
        c.spec
            .vch
            .as_ref()
            .and_then(|v| o.vchs.iter().position(|r| &r.name == v))
            .unwrap_or(o.vchs.len())
    };
    if charts.iter().any(|c| column_of(c) == o.vchs.len()) {
        columns.push(("other".to_owned(), "containers of no known VCH".to_owned()));
    }
    let n = columns.len();
    // Row key: (containers after pools, position of the entity within its column, memory
    // after CPU).
    let mut rows: BTreeMap<(bool, usize, ChartKind), Vec<Option<usize>>> = BTreeMap::new();
    let mut seen: Vec<Vec<(EntityKind, &str)>> = vec![Vec::new(); n];
    for (i, c) in charts.iter().enumerate() {
        let col = column_of(c);
        let entity = (c.spec.entity_kind, c.spec.entity.as_str());
        let same_kind = seen[col].iter().filter(|e| e.0 == entity.0);
        let pos = match same_kind.clone().position(|e| *e == entity) {
            Some(p) => p + 1,
            None => {
                let p = same_kind.count() + 1;
                seen[col].push(entity);
                p
            }
        };
        let key = (c.spec.entity_kind != EntityKind::Pool, pos, c.spec.kind);
        let cells = rows.entry(key).or_insert_with(|| vec![None; n]);
        if let Some(cell) = cells.get_mut(col) {
            cell.get_or_insert(i);
        }
    }
    let rows = rows
        .into_iter()
        .map(|((container, pos, kind), cells)| {
            let what = match (container, pos) {
                (false, 1) => "VCH pool".to_owned(),
                (false, p) => format!("VCH pool {p}"),
                (true, p) => format!("Container {p}"),
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
