//! The conformance section helpers.

use reports::conformance::{self, CaseResult, SuiteResult};

fn suites() -> Vec<SuiteResult> {
    let case = |id: &str, expected: &str, observed: &str, mode: &str, passed| CaseResult {
        id: id.into(),
        description: format!("what {id} checks"),
        expected: expected.into(),
        observed: observed.into(),
        mode: mode.into(),
        passed,
    };
    vec![
        SuiteResult {
            name: "container-name".into(),
            cases: vec![
                case("name-1", "web-1-<id>", "web-1-<id>", "model", true),
                case("name-2", "a & b", "a \"b\"", "docker-cli", false),
            ],
            ..SuiteResult::default()
        },
        SuiteResult {
            name: "ports".into(),
            cases: vec![case("port-80", "open", "open", "netns", true)],
            ..SuiteResult::default()
        },
    ]
}

#[test]
fn junit_has_a_suite_per_suite() {
    let xml = conformance::junit_xml(&suites());
    assert!(xml.contains("<testsuites name=\"conformance\" tests=\"3\" failures=\"1\""));
    assert!(xml.contains("<testsuite name=\"container-name\" tests=\"2\" failures=\"1\""));
    assert!(xml.contains("<testsuite name=\"ports\" tests=\"1\" failures=\"0\""));
    assert!(xml.contains("<testcase classname=\"ports\" name=\"port-80\" time=\"0\">"));
    assert!(xml.contains("<property name=\"observed\" value=\"open\"/>"));
    assert!(xml.contains(
        "<failure message=\"expected a &amp; b, observed a &quot;b&quot;\" type=\"failure\">"
    ));
    assert!(xml.contains("mode: docker-cli"));
}

#[test]
fn markdown_and_html() {
    let md = conformance::markdown(&suites());
    assert!(md.contains("## container-name"));
    assert!(
        md.contains(
            "| name-2 | what name-2 checks | a &amp; b | a \"b\" | docker-cli | **FAIL** |"
        ),
        "{md}"
    );
    assert!(md.contains("2 cases: 1 passed, 1 failed"));
    let html = conformance::html(&suites());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("http"));
    assert!(html.contains("<td class=\"fail\">FAIL</td>"));
    assert!(html.contains("web-1-&lt;id&gt;"));
    assert!(html.contains("<span class=\"badge fail\">FAIL</span>"));
}
