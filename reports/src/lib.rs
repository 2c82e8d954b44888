//! `reports`: renders a vicbed run's [`RunOutcome`] as files people and CI can read.
//!
//! [`render`] writes, into one directory, byte-identical for equal outcomes (no wall clock,
//! no hash-map order, no absolute paths):
//!
//! - `report.html` ([`report_html`]): a self-contained page — findings in plain words
//!   ([`findings`]), facts, verdicts, VCHs, steps, the charts inline as SVG in a grid with one
//!   column per VCH (pool, appliance and the worst containers, see [`top`]), the top
//!   containers in esxtop order, pools and appliances;
//! - `report.md` ([`report_markdown`]): the same in Markdown, charts as `charts/<stem>.png`;
//! - `charts/<stem>.svg` and `charts/<stem>.png` ([`chart_svg`], [`chart_png`]): vCenter-style
//!   CPU and memory charts per container and per VCH pool, as [`chart_specs`] lays them out;
//! - `metrics.parquet` ([`write_metrics_parquet`]): every sample, Snappy-compressed columns
//!   that pandas, DuckDB and Polars read directly;
//! - `metrics.csv` ([`metrics_csv`], streamed by [`write_metrics_csv`]): every sample, for runs
//!   of up to [`CSV_MAX_ROWS`] samples;
//! - `summary.json` ([`summary_json`]): the run with per-counter statistics;
//! - `junit.xml` ([`junit_xml`]): one test case per expectation.
//!
//! Core types: [`Written`] (what [`render`] wrote), [`ReportError`], [`ChartSpec`] and
//! [`ChartFile`] (a chart's data and its SVG). Modules: [`stats`] (avg, min, max, p95, last),
//! [`conformance`] (conformance suites as text, Markdown, HTML and JUnit), [`clock`]
//! (timestamps from virtual time), [`names`] (shared formatting), [`junit`] (XML escaping),
//! [`output`] (the report directory replaced whole, never left half-written).
//!
//! Charts draw each series' overview ([`scenarios::Points::overview`]): every sample for runs
//! of up to 1000 samples (5 h 33 min), else means of consecutive samples, so a chart of a
//! week-long run stays small; `metrics.csv` and the statistics always use every sample.
//!
//! Charts are drawn with plotters using the bundled DejaVu Sans (no system fonts needed);
//! PNGs are encoded by a small built-in encoder so they are byte-stable too.

pub mod charts;
pub mod clock;
pub mod conformance;
mod csv;
pub mod diff;
mod draw;
mod error;
pub mod findings;
mod font;
mod html;
pub mod junit;
mod markdown;
pub mod names;
pub mod output;
mod parquet_out;
mod png;
mod runs;
pub mod stats;
mod summary;
pub mod sweep;
mod tables;
pub mod top;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use charts::{
    Axis, ChartFile, ChartKind, ChartSpec, Line, chart_png, chart_specs, chart_svg, render_charts,
};
pub use csv::{
    CSV_MAX_ROWS, HEADER as METRICS_CSV_HEADER, metrics_csv, total_rows, write_metrics_csv,
    writes_csv,
};
pub use error::ReportError;
pub use findings::findings;
pub use html::{MIN_CHART_PX, report_html};
pub use junit::junit_xml;
pub use markdown::report_markdown;
pub use parquet_out::write_metrics_parquet;
pub use png::SIGNATURE as PNG_SIGNATURE;
pub use scenarios::RunOutcome;
pub use summary::{stats_key, summary_json};

/// The files [`render`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Every file written (`out_dir` joined with its relative name), sorted.
    pub files: Vec<PathBuf>,
}

/// Renders `outcome` as the report directory `out_dir`: `report.html`, `report.md`,
/// `metrics.parquet`, `metrics.csv` (runs of up to [`CSV_MAX_ROWS`] samples), `summary.json`,
/// `junit.xml` and `charts/<stem>.{svg,png}`.
///
/// The files are written into a temporary sibling directory that replaces `out_dir` only once
/// complete (see [`output`]): a failure, or a process killed mid-way, leaves the previous
/// report as it was (or no directory, if there was none), never a partial one. An existing
/// `out_dir` holding anything a report does not is refused rather than replaced.
pub fn render(outcome: &RunOutcome, out_dir: &Path) -> Result<Written, ReportError> {
    render_until(outcome, out_dir, &AtomicBool::new(false))
}

/// [`render`], giving up with [`ReportError::Interrupted`] between two files once `stop` is
/// set (a signal handler sets it): the temporary directory is removed and the previous
/// report stays.
pub fn render_until(
    outcome: &RunOutcome,
    out_dir: &Path,
    stop: &AtomicBool,
) -> Result<Written, ReportError> {
    let relative = output::replace_dir(out_dir, |dir| write_report(outcome, dir, stop))?;
    let mut files: Vec<PathBuf> = relative.into_iter().map(|r| out_dir.join(r)).collect();
    files.sort();
    Ok(Written { files })
}

/// Writes every file of the report into `dir`; returns their names relative to it.
fn write_report(
    outcome: &RunOutcome,
    dir: &Path,
    stop: &AtomicBool,
) -> Result<Vec<PathBuf>, ReportError> {
    let check = || {
        if stop.load(Ordering::SeqCst) {
            Err(ReportError::Interrupted)
        } else {
            Ok(())
        }
    };
    let charts = render_charts(outcome)?;
    check()?;
    if !charts.is_empty() {
        output::create_dir(&dir.join("charts"))?;
    }
    let mut files = Vec::new();
    // Each file is produced straight into its place in `dir`, which nobody else reads.
    let mut write = |name: PathBuf,
                     produce: &dyn Fn(&Path) -> Result<(), ReportError>|
     -> Result<(), ReportError> {
        check()?;
        produce(&dir.join(&name))?;
        files.push(name);
        Ok(())
    };
    for chart in &charts {
        let stem = &chart.spec.stem;
        write(Path::new("charts").join(format!("{stem}.svg")), &|p| {
            output::write_file(p, chart.svg.as_bytes())
        })?;
        write(Path::new("charts").join(format!("{stem}.png")), &|p| {
            output::write_file(p, &chart_png(&chart.spec)?)
        })?;
    }
    write(PathBuf::from("metrics.parquet"), &|p| {
        write_parquet(outcome, p)
    })?;
    // Streamed: every sample of a long run would not fit in one string.
    if writes_csv(outcome) {
        write(PathBuf::from("metrics.csv"), &|p| write_csv(outcome, p))?;
    }
    write(PathBuf::from("summary.json"), &|p| {
        output::write_file(p, summary::try_summary_json(outcome)?.as_bytes())
    })?;
    write(PathBuf::from("junit.xml"), &|p| {
        output::write_file(p, junit_xml(outcome).as_bytes())
    })?;
    write(PathBuf::from("report.md"), &|p| {
        output::write_file(p, report_markdown(outcome, &charts).as_bytes())
    })?;
    write(PathBuf::from("report.html"), &|p| {
        output::write_file(p, report_html(outcome, &charts).as_bytes())
    })?;
    Ok(files)
}

/// `metrics.csv`, written as it is produced.
fn write_csv(outcome: &RunOutcome, path: &Path) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    csv::write_metrics_csv(outcome, &mut w).map_err(io)?;
    w.into_inner().map_err(|e| io(e.into_error()))?;
    Ok(())
}

/// `metrics.parquet`, written one row group at a time.
fn write_parquet(outcome: &RunOutcome, path: &Path) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    parquet_out::write_metrics_parquet(outcome, std::io::BufWriter::new(file)).map_err(|e| {
        ReportError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}
