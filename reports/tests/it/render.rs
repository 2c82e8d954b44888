//! `render` and the pieces it writes, on the synthetic run of `fixture`.

use std::fs;
use std::path::Path;

use reports::{ReportError, Written};

use crate::fixture::{self, POINTS};

fn render_to(dir: &Path) -> Written {
    reports::render(&fixture::outcome(), dir).expect("render")
}

fn rel(w: &Written, base: &Path) -> Vec<String> {
    w.files
        .iter()
        .map(|f| {
            f.strip_prefix(base)
                .expect("under out_dir")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn writes_every_file_and_nothing_else() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out").join("over-the-limits");
    let w = render_to(&out);
    let names = rel(&w, &out);
    let mut expected: Vec<String> = [
        "report.html",
        "report.md",
        "metrics.csv",
        "metrics.parquet",
        "summary.json",
        "junit.xml",
    ]
    .map(String::from)
    .to_vec();
    for stem in [
        "pool-vch-limited-cpu",
        "pool-vch-limited-mem",
        "pool-vch-unlimited-cpu",
        "pool-vch-unlimited-mem",
        "cpu-limited-cpu",
        "cpu-limited-mem",
        "cpu-unlimited-cpu",
        "cpu-unlimited-mem",
    ] {
        expected.push(format!("charts/{stem}.svg"));
        expected.push(format!("charts/{stem}.png"));
    }
    expected.sort();
    assert_eq!(names, expected);
    let mut sorted = w.files.clone();
    sorted.sort();
    assert_eq!(w.files, sorted, "sorted");
    for f in &w.files {
        assert!(f.is_file(), "{}", f.display());
        assert!(fs::metadata(f).expect("meta").len() > 0, "{}", f.display());
    }
    // No temporary files are left behind, nothing else is written.
    let mut on_disk = Vec::new();
    for dir in [out.clone(), out.join("charts")] {
        for e in fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_file() {
                on_disk.push(p);
            }
        }
    }
    on_disk.sort();
    assert_eq!(on_disk, w.files);
}

#[test]
fn two_renders_are_byte_identical() {
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let (wa, wb) = (render_to(a.path()), render_to(b.path()));
    assert_eq!(rel(&wa, a.path()), rel(&wb, b.path()));
    for (fa, fb) in wa.files.iter().zip(&wb.files) {
        assert!(
            fs::read(fa).expect("a") == fs::read(fb).expect("b"),
            "{} differs",
            fa.display()
        );
    }
    // No absolute path leaks into any file.
    for f in &wa.files {
        let bytes = fs::read(f).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&*a.path().to_string_lossy()),
            "{}",
            f.display()
        );
    }
}

#[test]
fn metrics_csv_has_one_row_per_point() {
    let o = fixture::outcome();
    let csv = reports::metrics_csv(&o);
    let total: usize = o.series.iter().map(|s| s.points.len()).sum();
    assert_eq!(total, o.series.len() * POINTS as usize);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), total + 1);
    assert_eq!(
        lines[0],
        "entity_kind,entity,counter,instance,timestamp,offset_s,value,unit"
    );
    assert!(
        lines.contains(
            &"container,cpu-limited,cpu.ready.summation,,2017-10-02T08:00:20Z,20,14010,millisecond"
        ),
        "{csv}"
    );
    assert!(lines.contains(
        &"container,cpu-limited,cpu.ready.summation,0,2017-10-02T08:05:00Z,300,14000,millisecond"
    ));
    assert!(csv.ends_with('\n'));
}

#[test]
fn summary_json_parses_with_stats_and_verdicts() {
    let o = fixture::outcome();
    let text = reports::summary_json(&o);
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["scenario"], "over-the-limits");
    assert_eq!(v["seed"], 42);
    assert_eq!(v["passed"], false);
    assert_eq!(v["duration_s"], 300);
    assert_eq!(v["verdicts"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["verdicts"][0]["passed"], true);
    assert_eq!(v["verdicts"][1]["observed"][0]["entity"], "cpu-limited");
    assert_eq!(v["verdicts"][1]["stat"], "max");
    assert_eq!(v["vchs"][1]["cpu_limit_mhz"], serde_json::Value::Null);
    let limited = &v["entities"][2];
    assert_eq!(limited["name"], "cpu-limited");
    assert_eq!(limited["kind"], "container");
    let ready = &limited["stats"]["cpu.ready.summation"];
    assert_eq!(ready["count"], 15);
    assert_eq!(ready["min"], 14_010);
    assert_eq!(ready["max"], 14_150);
    assert_eq!(ready["p95"], 14_150);
    assert_eq!(ready["last"], 14_150);
    assert_eq!(ready["avg"], 14_080.0);
    assert_eq!(ready["unit"], "millisecond");
    assert_eq!(limited["stats"]["cpu.ready.summation:0"]["count"], 15);
    // Key order is the documented one.
    let keys = [
        "\"scenario\"",
        "\"description\"",
        "\"seed\"",
        "\"scenario_hash\"",
        "\"vicbed_version\"",
        "\"start\"",
        "\"duration_s\"",
        "\"sample_interval_s\"",
        "\"passed\"",
        "\"vchs\"",
        "\"entities\"",
        "\"verdicts\"",
        "\"steps\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).expect(k)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

#[test]
fn junit_counts_and_escapes() {
    let xml = reports::junit_xml(&fixture::outcome());
    assert!(
        xml.contains("<testsuite name=\"over-the-limits\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("<testcase classname=\"over-the-limits\" name=\"ready\" time=\"0\">"));
    assert!(xml.contains("<testsuite name=\"over-the-limits\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0\">"));
    // Observed values as test-case properties, as pytest's record_property writes them.
    assert!(
        xml.contains("<property name=\"observed:cpu-limited\" value=\"14080\"/>"),
        "{xml}"
    );
    assert!(xml.contains("<property name=\"observed:cpu-unlimited\" value=\"0\"/>"));
    assert!(xml.contains("<property name=\"bounds\" value=\"≥ 12000\"/>"));
    assert!(xml.contains("<property name=\"simulated_duration_s\" value=\"300\"/>"));
    assert!(xml.contains("name=\"balloon&lt;&amp;&quot;&gt;\""), "{xml}");
    assert!(xml.contains("<failure message=\"cpu-limited: 307200 &gt; 1000 &lt;&amp;&quot;&gt;\""));
    assert!(xml.contains("<property name=\"seed\" value=\"42\"/>"));
    assert!(xml.contains("<property name=\"scenario_hash\" value=\"0123456789abcdef\"/>"));
    assert!(xml.contains("<property name=\"vicbed_version\" value=\"0.1.0\"/>"));
    assert_eq!(xml.matches("<testcase ").count(), 2);
    assert_eq!(xml.matches("<failure ").count(), 1);
    // Nothing unescaped from the fixture's tricky strings.
    assert!(!xml.contains("<&"));
}

#[test]
fn charts_have_legends_units_and_png_signature() {
    let o = fixture::outcome();
    let specs = reports::chart_specs(&o);
    let cpu = specs
        .iter()
        .find(|s| s.stem == "cpu-limited-cpu")
        .expect("container CPU chart");
    let svg = reports::chart_svg(cpu).expect("svg");
    for label in [
        "Demand (MHz)",
        "Entitlement (MHz)",
        "Usage (MHz)",
        "Ready (%)",
        "Max limited (%)",
        "% of time (dashed)",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("Time since 2017-10-02T08:00:00Z"));
    assert!(svg.contains("\n05:00\n"), "x tick labels are mm:ss");
    // Ready as % of each 20 s sample: 14 010 ms is 70.05 %.
    let ready = &cpu.right.as_ref().expect("ready axis").lines[0];
    assert_eq!(ready.label, "Ready");
    assert_eq!(ready.points[0], (20, 70.05));

    let mem = specs
        .iter()
        .find(|s| s.stem == "cpu-limited-mem")
        .expect("container memory chart");
    let svg = reports::chart_svg(mem).expect("svg");
    for label in [
        "Granted (MB)",
        "Balloon (MB)",
        "Swapped (MB)",
        "Latency (%)",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
    // Values are converted: 500 MB granted, latency up to 2.5 %.
    assert_eq!(mem.left.unit, "MB");
    let granted = &mem.left.lines[0];
    assert_eq!(granted.label, "Granted");
    assert_eq!(granted.points[0], (20, 500.0));
    let right = mem.right.as_ref().expect("latency axis");
    assert_eq!(right.unit, "%");
    assert_eq!(right.lines[0].points.last(), Some(&(300, 2.5)));

    // Pools have no ready/latency: single-axis charts with what exists, plus the limit.
    let pool = specs
        .iter()
        .find(|s| s.stem == "pool-vch-limited-cpu")
        .expect("pool CPU chart");
    assert!(pool.right.is_none());
    let labels: Vec<&str> = pool.left.lines.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["Entitlement", "Usage", "Limit"]);

    let png = reports::chart_png(cpu).expect("png");
    assert!(png.len() > 1000);
    assert_eq!(&png[..8], &reports::PNG_SIGNATURE);
    assert_eq!(png, reports::chart_png(cpu).expect("png again"));
}

#[test]
fn charts_skip_missing_data() {
    let mut o = fixture::outcome();
    // Only memory series for cpu-unlimited; nothing at all for the unlimited pool.
    o.series.retain(|s| {
        !(s.entity == "vch-unlimited"
            || (s.entity == "cpu-unlimited" && s.counter.starts_with("cpu.")))
    });
    let stems: Vec<String> = reports::chart_specs(&o)
        .into_iter()
        .map(|s| s.stem)
        .collect();
    assert_eq!(
        stems,
        [
            "pool-vch-limited-cpu",
            "pool-vch-limited-mem",
            "cpu-limited-cpu",
            "cpu-limited-mem",
            "cpu-unlimited-mem",
        ]
    );
    o.series.clear();
    assert!(reports::chart_specs(&o).is_empty());
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = reports::render(&o, tmp.path()).expect("render without series");
    assert_eq!(w.files.len(), 6);
    let html = fs::read_to_string(tmp.path().join("report.html")).expect("html");
    assert!(html.contains("No chart data."));
}

#[test]
fn html_is_self_contained_and_shows_failures() {
    let o = fixture::outcome();
    let charts = reports::render_charts(&o).expect("charts");
    let html = reports::report_html(&o, &charts);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no URLs"
    );
    assert!(!html.contains("<?xml"));
    assert!(html.contains("FAIL"));
    assert!(html.contains("<td class=\"fail\">FAIL</td>"));
    assert!(html.contains("balloon&lt;&amp;&quot;&gt;"));
    assert!(!html.contains("balloon<&"));
    assert!(html.contains("&lt;vs&gt;"), "description escaped");
    assert_eq!(html.matches("<svg").count(), charts.len());
    // One column per VCH in file order, pool rows before containers.
    let limited = html.find("<th>VCH limited<br>").expect("limited column");
    let unlimited = html
        .find("<th>VCH unlimited<br>")
        .expect("unlimited column");
    assert!(limited < unlimited);
    assert!(html.contains("CPU 500 MHz, memory 500 MB"));
    assert!(html.contains("CPU unlimited, memory unlimited"));
    let pool_row = html.find("VCH pool · CPU").expect("pool row");
    assert!(
        html.find("id=\"findings\"").expect("findings")
            < html.find("<h2>Expectations").expect("verdicts")
    );
    let container_row = html.find("Container 1 · CPU").expect("container row");
    assert!(pool_row < container_row);
    // Top containers: %RDY 70.4 (14 080 ms of 20 s), max balloon 300 MB for the limited one.
    assert!(html.contains("<td class=\"num\">70.4</td>"), "{html}");
    assert!(html.contains("<td class=\"num\">300.0</td>"));
    assert!(html.contains("0123456789abcdef") && html.contains("seed 42"));
    assert!(html.contains("server-only") && html.contains("unlimited"));
    assert!(html.contains("FAILED"), "failed step");
}

#[test]
fn markdown_mirrors_the_report() {
    let o = fixture::outcome();
    let charts = reports::render_charts(&o).expect("charts");
    let md = reports::report_markdown(&o, &charts);
    assert!(md.starts_with("# vicbed report: over-the-limits — FAIL\n"));
    assert!(md.contains("| **FAIL** |"));
    assert!(md.contains("balloon&lt;&amp;\"&gt;"));
    assert!(
        md.contains("![Container cpu-limited (VCH limited) · CPU](charts/cpu-limited-cpu.png)")
    );
    assert!(md.contains("error: pool \\| not found"), "pipes escaped");
    for c in &charts {
        assert!(md.contains(&format!("(charts/{}.png)", c.spec.stem)));
    }
    assert!(md.contains("| 70.4 |"));
    assert!(md.contains("## Findings"));
}

#[test]
fn container_run_times_by_vch_in_both_reports() {
    let o = fixture::outcome();
    let charts = reports::render_charts(&o).expect("charts");
    let md = reports::report_markdown(&o, &charts);
    // limited: one job ended after 240 s, one still running; unlimited: one ended at 60 s.
    assert!(
        md.contains(
            "| limited | CPU 500 MHz, memory 500 MB | 1 | 1 | 0 | 240 s | 240 s | 240 s | 4.00× |"
        ),
        "{md}"
    );
    assert!(md.contains(
        "| unlimited | CPU unlimited, memory unlimited | 1 | 0 | 0 | 60 s | 60 s | 60 s | 1.00× |"
    ));
    assert!(md.contains(
        "| limited | job-2 | stress-ng --cpu 1 --cpu-ops 2000 | 00:00 | – | – | running |"
    ));
    assert!(md.contains(
        "Containers that ran to their end took 4.00× as long on VCH limited as on VCH unlimited (mean 240 s against 60 s)."
    ));
    let html = reports::report_html(&o, &charts);
    assert!(html.contains("<h2>Container run times by VCH</h2>"));
    assert!(html.contains("<td>4.00×</td>"), "the ratio cell");
    // Without runs there are no such sections.
    let mut none = o.clone();
    none.runs.clear();
    let md = reports::report_markdown(&none, &charts);
    assert!(!md.contains("Container run"));
}

#[test]
fn io_errors_name_the_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let blocker = tmp.path().join("file");
    fs::write(&blocker, b"not a directory").expect("write");
    let err = reports::render(&fixture::outcome(), &blocker.join("out")).expect_err("must fail");
    assert!(matches!(err, ReportError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("file"), "{err}");
}
