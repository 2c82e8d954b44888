//! `reports`: renders a vicbed run's [`RunOutcome`] as files people and CI can read.
//!
//! [`render`] writes, into one directory, byte-identical for equal outcomes (no wall clock,
//! no hash-map order, no absolute paths):
//!
//! - `report.html` ([`report_html`]): a self-contained page — facts, verdicts, VCHs, steps,
//!   the charts inline as SVG in a grid with one column per VCH, key numbers;
//! - `report.md` ([`report_markdown`]): the same in Markdown, charts as `charts/<stem>.png`;
//! - `charts/<stem>.svg` and `charts/<stem>.png` ([`chart_svg`], [`chart_png`]): vCenter-style
//!   CPU and memory charts per container and per VCH pool, as [`chart_specs`] lays them out;
//! - `metrics.csv` ([`metrics_csv`]): every sample;
//! - `summary.json` ([`summary_json`]): the run with per-counter statistics;
//! - `junit.xml` ([`junit_xml`]): one test case per expectation.
//!
//! Core types: [`Written`] (what [`render`] wrote), [`ReportError`], [`ChartSpec`] and
//! [`ChartFile`] (a chart's data and its SVG). Modules: [`stats`] (avg, min, max, p95, last),
//! [`conformance`] (conformance suites as text, Markdown, HTML and JUnit), [`clock`]
//! (timestamps from virtual time), [`names`] (shared formatting), [`junit`] (XML escaping).
//!
//! Charts are drawn with plotters using the bundled DejaVu Sans (no system fonts needed);
//! PNGs are encoded by a small built-in encoder so they are byte-stable too.

pub mod charts;
pub mod clock;
pub mod conformance;
mod csv;
mod error;
mod font;
mod html;
pub mod junit;
mod markdown;
pub mod names;
mod output;
mod png;
pub mod stats;
mod summary;
mod tables;

use std::path::{Path, PathBuf};

pub use charts::{
    Axis, ChartFile, ChartKind, ChartSpec, Line, chart_png, chart_specs, chart_svg, render_charts,
};
pub use csv::{HEADER as METRICS_CSV_HEADER, metrics_csv};
pub use error::ReportError;
pub use html::report_html;
pub use junit::junit_xml;
pub use markdown::report_markdown;
pub use png::SIGNATURE as PNG_SIGNATURE;
pub use scenarios::RunOutcome;
pub use summary::{stats_key, summary_json};

/// The files [`render`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Every file written (`out_dir` joined with its relative name), sorted.
    pub files: Vec<PathBuf>,
}

/// Renders `outcome` into `out_dir` (created if missing): `report.html`, `report.md`,
/// `metrics.csv`, `summary.json`, `junit.xml` and `charts/<stem>.{svg,png}`. Each file is
/// written to `<name>.tmp` and renamed into place, so a failure leaves no partial file (files
/// written before it stay). Files of earlier renders that this one does not produce are left
/// alone.
pub fn render(outcome: &RunOutcome, out_dir: &Path) -> Result<Written, ReportError> {
    let charts_dir = out_dir.join("charts");
    output::create_dir(out_dir)?;
    let charts = render_charts(outcome)?;
    if !charts.is_empty() {
        output::create_dir(&charts_dir)?;
    }

    let mut files = Vec::new();
    let mut write = |path: PathBuf, bytes: &[u8]| -> Result<(), ReportError> {
        output::write_atomic(&path, bytes)?;
        files.push(path);
        Ok(())
    };
    for chart in &charts {
        let stem = &chart.spec.stem;
        write(charts_dir.join(format!("{stem}.svg")), chart.svg.as_bytes())?;
        write(
            charts_dir.join(format!("{stem}.png")),
            &chart_png(&chart.spec)?,
        )?;
    }
    write(out_dir.join("metrics.csv"), metrics_csv(outcome).as_bytes())?;
    write(
        out_dir.join("summary.json"),
        summary::try_summary_json(outcome)?.as_bytes(),
    )?;
    write(out_dir.join("junit.xml"), junit_xml(outcome).as_bytes())?;
    write(
        out_dir.join("report.md"),
        report_markdown(outcome, &charts).as_bytes(),
    )?;
    write(
        out_dir.join("report.html"),
        report_html(outcome, &charts).as_bytes(),
    )?;
    files.sort();
    Ok(Written { files })
}
