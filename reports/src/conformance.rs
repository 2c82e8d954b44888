//! Conformance results (VIC's documented behaviour checked case by case by
//! `scenarios::conformance`) as a plain text table, Markdown, a self-contained HTML page (the
//! report section) and JUnit XML.

use crate::html;
use crate::junit::{self, Case, Suite};
use crate::markdown;
use crate::names::pass_fail;
use crate::tables::{Row, Table};

pub use scenarios::conformance::{CaseResult, SuiteResult};

/// `N cases: P passed, F failed`.
fn count_line(cases: &[CaseResult]) -> String {
    let failed = cases.iter().filter(|c| !c.passed).count();
    format!(
        "{} case{}: {} passed, {failed} failed",
        cases.len(),
        if cases.len() == 1 { "" } else { "s" },
        cases.len() - failed
    )
}

/// One line per field: tabs and line breaks become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An aligned plain-text table per suite (`CASE`, `EXPECTED`, `OBSERVED`, `MODE`,
/// `VERDICT`), each followed by its count line; a total line closes several suites.
pub fn table_text(suites: &[SuiteResult]) -> String {
    let mut out = String::new();
    for (i, suite) in suites.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}\n", one_line(&suite.name)));
        let header = ["CASE", "EXPECTED", "OBSERVED", "MODE", "VERDICT"].map(str::to_owned);
        let rows: Vec<[String; 5]> = suite
            .cases
            .iter()
            .map(|c| {
                [
                    one_line(&c.id),
                    one_line(&c.expected),
                    one_line(&c.observed),
                    one_line(&c.mode),
                    pass_fail(c.passed).to_owned(),
                ]
            })
            .collect();
        let mut widths = [0usize; 5];
        for r in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for r in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (k, (cell, w)) in r.iter().zip(widths).enumerate() {
                line.push_str(cell);
                if k + 1 < r.len() {
                    let pad = w - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(&count_line(&suite.cases));
        out.push('\n');
    }
    if suites.len() > 1 {
        let all: Vec<CaseResult> = suites.iter().flat_map(|s| s.cases.clone()).collect();
        out.push_str(&format!("\ntotal: {}\n", count_line(&all)));
    }
    out
}

fn table(suite: &SuiteResult) -> Table {
    Table {
        header: vec![
            "Case",
            "Description",
            "Expected",
            "Observed",
            "Mode",
            "Verdict",
        ],
        rows: suite
            .cases
            .iter()
            .map(|c| Row {
                cells: vec![
                    c.id.clone(),
                    c.description.clone(),
                    c.expected.clone(),
                    c.observed.clone(),
                    c.mode.clone(),
                    pass_fail(c.passed).to_owned(),
                ],
                bad: !c.passed,
            })
            .collect(),
    }
}

/// Markdown: `## <suite>`, a table of the cases and the count line per suite.
pub fn markdown(suites: &[SuiteResult]) -> String {
    let mut m = String::from("# Conformance\n\n");
    for suite in suites {
        markdown::section(&mut m, &suite.name, &table(suite), "No cases.");
        m.push_str(&format!("{}\n\n", count_line(&suite.cases)));
    }
    m
}

/// A self-contained HTML page (inline CSS, no external resources) with a table per suite.
pub fn html(suites: &[SuiteResult]) -> String {
    let all: Vec<CaseResult> = suites.iter().flat_map(|s| s.cases.clone()).collect();
    let passed = all.iter().all(|c| c.passed);
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>vicbed conformance</title>\n",
    );
    h.push_str(&format!("<style>{}</style>\n</head>\n<body>\n", html::CSS));
    let class = if passed { "pass" } else { "fail" };
    h.push_str(&format!(
        "<h1>Conformance <span class=\"badge {class}\">{}</span></h1>\n<p class=\"desc\">{}</p>\n",
        pass_fail(passed),
        junit::escape_text(&count_line(&all))
    ));
    for suite in suites {
        html::section(&mut h, &suite.name, &table(suite), "No cases.");
        h.push_str(&format!(
            "<p>{}</p>\n",
            junit::escape_text(&count_line(&suite.cases))
        ));
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// JUnit XML: one `<testsuite>` per suite, one `<testcase>` per case (classname = suite,
/// name = case id); a failed case has `<failure message="expected …, observed …">`, and every
/// case's `<system-out>` gives its description and mode.
pub fn junit_xml(suites: &[SuiteResult]) -> String {
    let suites: Vec<Suite> = suites
        .iter()
        .map(|s| Suite {
            name: s.name.clone(),
            properties: Vec::new(),
            cases: s
                .cases
                .iter()
                .map(|c| Case {
                    classname: s.name.clone(),
                    name: c.id.clone(),
                    failure: (!c.passed).then(|| {
                        (
                            format!("expected {}, observed {}", c.expected, c.observed),
                            format!(
                                "{}\nexpected: {}\nobserved: {}\nmode: {}",
                                c.description, c.expected, c.observed, c.mode
                            ),
                        )
                    }),
                    system_out: Some(format!("{}\nmode: {}", c.description, c.mode)),
                })
                .collect(),
        })
        .collect();
    junit::document("conformance", &suites)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, expected: &str, observed: &str, mode: &str, passed: bool) -> CaseResult {
        CaseResult {
            id: id.into(),
            description: format!("checks {id}"),
            expected: expected.into(),
            observed: observed.into(),
            mode: mode.into(),
            passed,
        }
    }

    #[test]
    fn aligned_text() {
        let s = SuiteResult {
            name: "ports".into(),
            cases: vec![
                case("p-1", "published", "published", "model", true),
                case("p-22", "refused", "open", "netns", false),
            ],
            ..SuiteResult::default()
        };
        let t = table_text(&[s]);
        assert_eq!(
            t,
            "ports\n\
             CASE  EXPECTED   OBSERVED   MODE   VERDICT\n\
             p-1   published  published  model  PASS\n\
             p-22  refused    open       netns  FAIL\n\
             2 cases: 1 passed, 1 failed\n"
        );
    }

    #[test]
    fn totals_for_several_suites() {
        let a = SuiteResult {
            name: "a".into(),
            cases: vec![case("1", "x", "x", "model", true)],
            ..SuiteResult::default()
        };
        let b = SuiteResult {
            name: "b".into(),
            cases: vec![],
            ..SuiteResult::default()
        };
        let t = table_text(&[a, b]);
        assert!(t.contains("1 case: 1 passed, 0 failed"), "{t}");
        assert!(t.contains("0 cases: 0 passed, 0 failed"), "{t}");
        assert!(t.ends_with("total: 1 case: 1 passed, 0 failed\n"), "{t}");
    }
}
