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
        for note in &suite.notes {
            m.push_str(&format!("- {note}\n"));
        }
        if !suite.notes.is_empty() {
            m.push('\n');
        }
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
        for note in &suite.notes {
            h.push_str(&format!(
                "<p class=\"desc\">{}</p>\n",
                junit::escape_text(note)
            ));
        }
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
                    properties: vec![("observed".to_owned(), c.observed.clone())],
                })
                .collect(),
        })
        .collect();
    junit::document("conformance", &suites)
}
