//! A sweep's files: `sweep.csv` and `sweep.json` (one row per point: the values, each goal
//! expectation's deciding observation and verdict; the answers) and `sweep.html` (the answers
//! as sentences, the goal metrics against the varied value — a heat map of pass/fail for two
//! variables — with the frontier marked, and the table). All byte-identical for equal results:
//! points are in index order and nothing reads a clock.

use crate::junit::{escape_attr, escape_text};
use scenarios::sweep::{PointResult, SweepResult, failure_text};
use std::fmt::Write as _;
use std::path::Path;

/// The goal expectation ids as columns: those of the first point that has verdicts.
fn verdict_ids(r: &SweepResult) -> Vec<String> {
    r.points
        .iter()
        .find(|p| !p.verdicts.is_empty())
        .map(|p| p.verdicts.iter().map(|v| v.id.clone()).collect())
        .unwrap_or_default()
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn number(x: Option<f64>) -> String {
    x.map(scenarios::evaluate::fmt_value).unwrap_or_default()
}

/// `sweep.csv`: `index`, one column per axis, `passed`, `error`, then per goal expectation its
/// deciding observed value (`<id>`), the entity (`<id>.entity`) and verdict (`<id>.passed`).
pub fn sweep_csv(r: &SweepResult) -> String {
    let ids = verdict_ids(r);
    let mut head: Vec<String> = vec!["index".into()];
    head.extend(r.axes.iter().map(|(n, _)| n.clone()));
    head.extend(["passed".into(), "error".into()]);
    for id in &ids {
        head.extend([id.clone(), format!("{id}.entity"), format!("{id}.passed")]);
    }
    let mut out = head
        .iter()
        .map(|h| csv_cell(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for p in &r.points {
        let mut row = vec![p.index.to_string()];
        row.extend(p.values.iter().map(|(_, v)| csv_cell(v)));
        row.push(p.passed.to_string());
        row.push(csv_cell(p.error.as_deref().unwrap_or("")));
        for id in &ids {
            match p.verdicts.iter().find(|v| &v.id == id) {
                Some(v) => row.extend([
                    number(v.observed),
                    csv_cell(v.entity.as_deref().unwrap_or("")),
                    v.passed.to_string(),
                ]),
                None => row.extend([String::new(), String::new(), String::new()]),
            }
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `sweep.json`: the whole [`SweepResult`], pretty-printed.
pub fn sweep_json(r: &SweepResult) -> String {
    let mut s =
        serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// Reads a `sweep.json` back (for `vicbed sweep merge`).
pub fn read_sweep_json(text: &str) -> Result<SweepResult, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

const CELL_W: f64 = 64.0;
const CELL_H: f64 = 28.0;

/// A heat map for two axes: a cell per point, green when it passed, red when it failed,
/// with a heavy border on each passing cell next to a failing one (the frontier).
fn heat_map(r: &SweepResult) -> String {
    let (xa, ya) = (&r.axes[1], &r.axes[0]);
    let (nx, ny) = (xa.1.len(), ya.1.len());
    let left = 90.0;
    let top = 30.0;
    let w = left + CELL_W * nx as f64 + 20.0;
    let h = top + CELL_H * ny as f64 + 50.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="DejaVu Sans, sans-serif" font-size="12">"#
    );
    let at = |yi: usize, xi: usize| r.points.iter().find(|p| p.index == yi * nx + xi);
    for yi in 0..ny {
        for xi in 0..nx {
            let x = left + CELL_W * xi as f64;
            let y = top + CELL_H * yi as f64;
            let (fill, label, frontier) = match at(yi, xi) {
                None => ("#eeeeee", "—".to_owned(), false),
                Some(p) => {
                    let neighbour_fails = [
                        (yi.wrapping_sub(1), xi),
                        (yi + 1, xi),
                        (yi, xi.wrapping_sub(1)),
                        (yi, xi + 1),
                    ]
                    .iter()
                    .filter(|(a, b)| *a < ny && *b < nx)
                    .any(|(a, b)| at(*a, *b).is_some_and(|q| !q.passed));
                    let label = p
                        .verdicts
                        .iter()
                        .find(|v| !v.passed)
                        .or(p.verdicts.first())
                        .map(|v| number(v.observed))
                        .unwrap_or_default();
                    (
                        if p.passed { "#b7e1b0" } else { "#f2b8b5" },
                        label,
                        p.passed && neighbour_fails,
                    )
                }
            };
            let stroke = if frontier {
                r##" stroke="#1b5e20" stroke-width="3""##
            } else {
                r##" stroke="#ffffff""##
            };
            let _ = write!(
                s,
                r#"<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" fill="{fill}"{stroke}/><text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                x + CELL_W / 2.0,
                y + CELL_H / 2.0 + 4.0,
                escape_text(&label)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 6.0,
            top + CELL_H * yi as f64 + CELL_H / 2.0 + 4.0,
            escape_text(&ya.1[yi])
        );
    }
    for (xi, v) in xa.1.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            left + CELL_W * xi as f64 + CELL_W / 2.0,
            top + CELL_H * ny as f64 + 16.0,
            escape_text(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text><text x="12" y="18">{} ↓</text></svg>"#,
        left + CELL_W * nx as f64 / 2.0,
        top + CELL_H * ny as f64 + 38.0,
        escape_text(&xa.0),
        escape_text(&ya.0)
    );
    s
}

/// One goal metric against one axis: the deciding observation per point, a marker green or
/// red by verdict, the points in axis order joined by a line.
fn metric_chart(r: &SweepResult, id: &str) -> String {
    let axis = &r.axes[0];
    let pts: Vec<(usize, f64, bool)> = r
        .points
        .iter()
        .filter_map(|p| {
            let v = p.verdicts.iter().find(|v| v.id == id)?;
            let xi = axis.1.iter().position(|x| x == &p.values[0].1)?;
            Some((xi, v.observed?, v.passed))
        })
        .collect();
    let (w, h, left, right, top, bottom) = (720.0, 260.0, 70.0, 20.0, 20.0, 50.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="DejaVu Sans, sans-serif" font-size="12">"#
    );
    if pts.is_empty() {
        s.push_str(r#"<text x="20" y="40">no observations</text></svg>"#);
        return s;
    }
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let n = axis.1.len().max(2) - 1;
    let px = |xi: usize| left + (w - left - right) * xi as f64 / n as f64;
    let py = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let path: Vec<String> = pts
        .iter()
        .map(|(xi, v, _)| format!("{:.1},{:.1}", px(*xi), py(*v)))
        .collect();
    let _ = write!(
        s,
        r##"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#444"/><line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="#444"/><polyline fill="none" stroke="#1565c0" stroke-width="2" points="{}"/>"##,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom,
        path.join(" ")
    );
    for (xi, v, passed) in &pts {
        let _ = write!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}"><title>{} = {}: {}</title></circle>"#,
            px(*xi),
            py(*v),
            if *passed { "#2e7d32" } else { "#c62828" },
            escape_attr(&axis.0),
            escape_attr(&axis.1[*xi]),
            number(Some(*v))
        );
    }
    for (xi, label) in axis.1.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            px(xi),
            h - bottom + 16.0,
            escape_text(label)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text><text x="{}" y="{:.1}" text-anchor="end">{}</text><text x="{}" y="{:.1}" text-anchor="end">{}</text></svg>"#,
        left + (w - left - right) / 2.0,
        h - 10.0,
        escape_text(&axis.0),
        left - 6.0,
        py(hi) + 4.0,
        number(Some(hi)),
        left - 6.0,
        py(lo) + 4.0,
        number(Some(lo))
    );
    s
}

fn row(p: &PointResult, ids: &[String]) -> String {
    let mut s = format!("<tr><td>{}</td>", p.index);
    for (_, v) in &p.values {
        let _ = write!(s, "<td>{}</td>", escape_text(v));
    }
    let _ = write!(
        s,
        "<td class=\"{}\">{}</td>",
        if p.passed { "pass" } else { "fail" },
        if p.passed { "PASS" } else { "FAIL" }
    );
    for id in ids {
        match p.verdicts.iter().find(|v| &v.id == id) {
            Some(v) => {
                let _ = write!(
                    s,
                    "<td class=\"{}\">{}</td>",
                    if v.passed { "pass" } else { "fail" },
                    escape_text(&number(v.observed))
                );
            }
            None => s.push_str("<td></td>"),
        }
    }
    let why = if p.passed {
        String::new()
    } else {
        failure_text(p)
    };
    let _ = write!(s, "<td>{}</td></tr>", escape_text(&why));
    s
}

/// `sweep.html`: a self-contained page.
pub fn sweep_html(r: &SweepResult) -> String {
    let ids = verdict_ids(r);
    let mut s = String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
    let _ = write!(s, "sweep of {}</title>", escape_text(&r.scenario));
    s.push_str("<style>body{font-family:'DejaVu Sans',sans-serif;margin:24px;max-width:1400px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td.pass{background:#e8f5e9}td.fail{background:#ffebee}.answer{font-size:17px;margin:8px 0}</style></head><body>");
    let _ = write!(
        s,
        "<h1>Sweep of {}</h1><p>{} point(s), seed {} for every point (common random numbers), goal: {}; scenario hash {}, vicbed {}.</p>",
        escape_text(&r.scenario),
        r.points.len(),
        r.seed,
        escape_text(&r.goal.describe()),
        escape_text(&r.scenario_hash),
        escape_text(&r.vicbed_version)
    );
    for a in &r.answers {
        let _ = write!(s, "<p class=\"answer\">{}</p>", escape_text(&a.sentence));
    }
    match r.axes.len() {
        1 => {
            for id in &ids {
                let _ = write!(s, "<h2>{}</h2>{}", escape_text(id), metric_chart(r, id));
            }
        }
        2 => {
            let _ = write!(
                s,
                "<h2>Pass/fail by {} and {}</h2><p>Green passed, red failed; the number is the first failing (else first) goal observation; a heavy border marks the frontier (a passing point next to a failing one).</p>{}",
                escape_text(&r.axes[0].0),
                escape_text(&r.axes[1].0),
                heat_map(r)
            );
        }
        _ => {}
    }
    s.push_str("<h2>Points</h2><table><tr><th>#</th>");
    for (n, _) in &r.axes {
        let _ = write!(s, "<th>{}</th>", escape_text(n));
    }
    s.push_str("<th>verdict</th>");
    for id in &ids {
        let _ = write!(s, "<th>{}</th>", escape_text(id));
    }
    s.push_str("<th>why</th></tr>");
    for p in &r.points {
        s.push_str(&row(p, &ids));
    }
    s.push_str("</table></body></html>\n");
    s
}

/// Writes `sweep.csv`, `sweep.json` and `sweep.html` into `dir` (created if needed); each
/// file is written beside its final name and renamed, so none is ever half-written.
pub fn write_sweep(r: &SweepResult, dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, text) in [
        ("sweep.csv", sweep_csv(r)),
        ("sweep.json", sweep_json(r)),
        ("sweep.html", sweep_html(r)),
    ] {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenarios::sweep::{Goal, PointVerdict};

    fn result(two_axes: bool) -> SweepResult {
        let mut axes = vec![(
            "limit".to_owned(),
            vec!["4000".to_owned(), "5000".into(), "6000".into()],
        )];
        if two_axes {
            axes.push(("n".into(), vec!["5".into(), "10".into()]));
        }
        let per = if two_axes { 2 } else { 1 };
        let points = (0..3 * per)
            .map(|i| {
                let mut values = vec![("limit".to_owned(), axes[0].1[i / per].clone())];
                if two_axes {
                    values.push(("n".into(), axes[1].1[i % per].clone()));
                }
                let passed = i / per >= 1;
                PointResult {
                    index: i,
                    values,
                    passed,
                    error: None,
                    verdicts: vec![PointVerdict {
                        id: "ready".into(),
                        passed,
                        observed: Some(9.0 - i as f64),
                        entity: Some("web, 1".into()),
                        statement: "p95 cpu.readiness.average of container web* ≤ 5".into(),
                    }],
                }
            })
            .collect();
        SweepResult {
            scenario: "s".into(),
            scenario_hash: "h".into(),
            seed: 1,
            vicbed_version: "0".into(),
            axes,
            goal: Goal::default(),
            search: None,
            shard: None,
            points,
            answers: Vec::new(),
        }
    }

    #[test]
    fn csv_has_a_row_per_point_and_quotes_cells() {
        let csv = sweep_csv(&result(false));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "index,limit,passed,error,ready,ready.entity,ready.passed"
        );
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1], "0,4000,false,,9,\"web, 1\",false");
    }

    #[test]
    fn json_round_trips_and_html_draws_the_right_chart() {
        let r = result(true);
        assert_eq!(read_sweep_json(&sweep_json(&r)).unwrap(), r);
        let html = sweep_html(&r);
        assert!(html.contains("Pass/fail by limit and n"));
        // Passing cells next to failing ones are the frontier: limit 5000 (index 2, 3).
        assert_eq!(html.matches("stroke-width=\"3\"").count(), 2);
        let one = sweep_html(&result(false));
        assert!(one.contains("<polyline") && one.matches("<circle").count() == 3);
    }
}
