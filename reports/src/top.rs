//! Containers ranked as esxtop sorts its CPU and memory screens: by %RDY (ready time as a
//! share of each sample interval), then %MLMTD (the part of ready spent held back by a
//! limit), then the largest balloon, then the largest swap, then name. The report charts
//! only the first [`TOP_CHARTS`] and tabulates the first [`TOP_ROWS`]; every container stays
//! in `summary.json` and the metrics files.

use std::cmp::Ordering;

use scenarios::outcome::SeriesIndex;
use scenarios::{EntityKind, RunOutcome};

/// Containers that get charts (the worst by the ranking).
pub const TOP_CHARTS: usize = 8;
/// Containers in the report's table.
pub const TOP_ROWS: usize = 20;

/// One container's headline numbers, each over every sample of the run (`None`: the run has
/// no such series).
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerRow {
    /// Container name.
    pub name: String,
    /// Its `[[vch]]`, if known.
    pub vch: Option<String>,
    /// Average ready time as % of the sample interval (esxtop's %RDY; summed over vCPUs).
    pub rdy_pct: Option<f64>,
    /// Average max-limited time as % of the sample interval (esxtop's %MLMTD).
    pub mlmtd_pct: Option<f64>,
    /// Average usage as % of average demand: how much of what it asked for it got.
    pub got_pct: Option<f64>,
    /// Average CPU demand in MHz.
    pub demand_mhz: Option<f64>,
    /// Average CPU usage in MHz.
    pub usage_mhz: Option<f64>,
    /// Largest balloon in MB (esxtop's MCTLSZ).
    pub balloon_mb: Option<f64>,
    /// Largest swapped memory in MB (esxtop's SWCUR).
    pub swap_mb: Option<f64>,
    /// Average memory latency in % (time waiting for swapped-in or decompressed memory).
    pub latency_pct: Option<f64>,
}

/// Milliseconds in one sample interval (20 000 for realtime samples).
pub(crate) fn interval_ms(o: &RunOutcome) -> f64 {
    (o.meta.sample_interval.as_millis() as f64).max(1.0)
}

/// The headline numbers of the entity `name` of `kind` (a container or any VM).
pub fn row_of(o: &RunOutcome, kind: EntityKind, name: &str, vch: Option<String>) -> ContainerRow {
    row_from(
        &SeriesIndex::new(&o.series),
        interval_ms(o),
        kind,
        name,
        vch,
    )
}

/// [`row_of`] over an index of the outcome's series, built once for every container.
fn row_from(
    index: &SeriesIndex<'_>,
    interval_ms: f64,
    kind: EntityKind,
    name: &str,
    vch: Option<String>,
) -> ContainerRow {
    let series = |counter: &str| index.get(kind, name, counter, "");
    let avg = |counter: &str| series(counter).and_then(|s| s.points.stats().avg);
    let max = |counter: &str| {
        series(counter)
            .and_then(|s| s.points.stats().max)
            .map(|v| v as f64)
    };
    let per_interval = 100.0 / interval_ms;
    let demand = avg("cpu.demand.average");
    let usage = avg("cpu.usagemhz.average");
    ContainerRow {
        name: name.to_owned(),
        vch,
        rdy_pct: avg("cpu.ready.summation").map(|v| v * per_interval),
        mlmtd_pct: avg("cpu.maxlimited.summation").map(|v| v * per_interval),
        got_pct: match (usage, demand) {
            (Some(u), Some(d)) if d > 0.0 => Some((u / d * 100.0).min(100.0)),
            _ => None,
        },
        demand_mhz: demand,
        usage_mhz: usage,
        balloon_mb: max("mem.vmmemctl.average").map(|v| v / 1024.0),
        swap_mb: max("mem.swapped.average").map(|v| v / 1024.0),
        latency_pct: avg("mem.latency.average").map(|v| v / 100.0),
    }
}

/// Every container, worst first (see the module doc for the order).
pub fn ranked(o: &RunOutcome) -> Vec<ContainerRow> {
    let index = SeriesIndex::new(&o.series);
    let mut rows: Vec<ContainerRow> = o
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Container)
        .map(|e| row_from(&index, interval_ms(o), e.kind, &e.name, e.vch.clone()))
        .collect();
    rows.sort_by(esxtop_order);
    rows
}

/// Descending by %RDY, %MLMTD, balloon, swap (a missing number counts as 0), then by name.
fn esxtop_order(a: &ContainerRow, b: &ContainerRow) -> Ordering {
    let key = |r: &ContainerRow| {
        [r.rdy_pct, r.mlmtd_pct, r.balloon_mb, r.swap_mb].map(|v| v.unwrap_or(0.0))
    };
    let (ka, kb) = (key(a), key(b));
    for (x, y) in ka.iter().zip(&kb) {
        match y.total_cmp(x) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    a.name.cmp(&b.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, rdy: f64, balloon: f64) -> ContainerRow {
        ContainerRow {
            name: name.into(),
            vch: None,
            rdy_pct: Some(rdy),
            mlmtd_pct: None,
            got_pct: None,
            demand_mhz: None,
            usage_mhz: None,
            balloon_mb: Some(balloon),
            swap_mb: None,
            latency_pct: None,
        }
    }

    #[test]
    fn sorts_like_esxtop() {
        let mut v = [
            row("b", 1.0, 0.0),
            row("a", 1.0, 0.0),
            row("c", 50.0, 0.0),
            row("d", 1.0, 300.0),
        ];
        v.sort_by(esxtop_order);
        let names: Vec<&str> = v.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["c", "d", "a", "b"]);
    }
}
