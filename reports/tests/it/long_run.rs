//! A week-long run's report: charts drawn from at most 1000 points per line (and saying so),
//! every sample still in `metrics.csv`; and the report directory replaced whole or not at all.

use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use scenarios::points::OVERVIEW_POINTS;
use scenarios::{Point, RunOutcome};

use crate::fixture;

/// One week of 20 s samples.
const WEEK: u64 = 30_240;

/// The fixture with every series stretched to a week.
fn week_long() -> RunOutcome {
    let mut o = fixture::outcome();
    o.meta.duration = std::time::Duration::from_secs(WEEK * 20);
    for s in &mut o.series {
        let first = s.points.read().expect("read")[0].value;
        s.points = (1..=WEEK)
            .map(|i| Point {
                offset_s: i * 20,
                value: first + (i % 7) as i64,
            })
            .collect();
    }
    o
}

#[test]
fn charts_of_a_week_are_averaged_and_say_so_while_the_csv_keeps_every_sample() {
    let o = week_long();
    for spec in reports::chart_specs(&o) {
        for line in spec
            .left
            .lines
            .iter()
            .chain(spec.right.iter().flat_map(|a| &a.lines))
        {
            assert!(
                line.points.len() <= OVERVIEW_POINTS,
                "{} {}",
                spec.stem,
                line.points.len()
            );
            assert_eq!(line.points.last().map(|p| p.0), Some(WEEK * 20));
        }
    }
    let charts = reports::render_charts(&o).expect("charts");
    let html = reports::report_html(&o, &charts);
    let md = reports::report_markdown(&o, &charts);
    let note = "means of 31 consecutive 20 s samples (10.3 min) per point";
    assert!(html.contains(note), "the report says how charts were drawn");
    assert!(md.contains(note));
    // The streamed CSV is the whole text, one row per sample.
    let mut streamed = Vec::new();
    reports::write_metrics_csv(&o, &mut streamed).expect("write");
    let csv = String::from_utf8(streamed).expect("utf-8");
    assert_eq!(csv.lines().count() as u64, 1 + WEEK * o.series.len() as u64);
    assert_eq!(csv, reports::metrics_csv(&o));
    // A short run's report has no such note.
    let short = fixture::outcome();
    let charts = reports::render_charts(&short).expect("charts");
    assert!(!reports::report_html(&short, &charts).contains("consecutive 20 s samples"));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn an_interrupted_render_leaves_the_old_report_unchanged_and_nothing_else() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report");
    reports::render(&fixture::outcome(), &out).expect("first render");
    let old = fs::read(out.join("summary.json")).expect("summary");
    let before = names(&out);
    // Stopped from the start: the writer gives up before its first file.
    let stop = AtomicBool::new(true);
    let mut other = fixture::outcome();
    other.meta.seed = 7;
    let err = reports::render_until(&other, &out, &stop).expect_err("interrupted");
    assert!(matches!(err, reports::ReportError::Interrupted), "{err:?}");
    assert_eq!(fs::read(out.join("summary.json")).expect("summary"), old);
    assert_eq!(names(&out), before);
    assert_eq!(names(tmp.path()), ["report"], "no temporary directory left");
    // Rendered again, the old report is replaced whole.
    fs::write(out.join("charts").join("stale.svg.tmp"), "x").expect("write");
    reports::render(&other, &out).expect("second render");
    assert!(!out.join("charts").join("stale.svg.tmp").exists());
    let summary = fs::read_to_string(out.join("summary.json")).expect("summary");
    assert!(summary.contains("\"seed\": 7"), "{summary}");
    assert_eq!(names(tmp.path()), ["report"]);
}

#[test]
fn a_directory_with_other_files_is_not_replaced_by_a_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("notes.txt"), "mine").expect("write");
    let err = reports::render(&fixture::outcome(), tmp.path()).expect_err("refused");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(names(tmp.path()), ["notes.txt"]);
}
