//! JUnit XML, written by hand: XML escaping, a small writer for `<testsuites>` documents
//! (shared with [`crate::conformance`]), and the scenario's `junit.xml` ([`junit_xml`]).

use scenarios::RunOutcome;

use crate::names::{bounds_text, fmt_num, observed_text};

/// Escapes `s` for XML character data: `& < > " '` become entities and characters XML 1.0
/// forbids (most C0 controls) become U+FFFD.
pub fn escape_text(s: &str) -> String {
    escape(s, false)
}

/// Escapes `s` for a double-quoted XML attribute: as [`escape_text`], and tabs and line
/// breaks become character references so they survive attribute normalization.
pub fn escape_attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' if attr => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// One `<testsuite>`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Suite {
    pub name: String,
    /// `<property name= value=>` pairs, in order.
    pub properties: Vec<(String, String)>,
    pub cases: Vec<Case>,
}

/// One `<testcase>`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Case {
    pub classname: String,
    pub name: String,
    /// `(message, body)` of the `<failure>`, when it failed.
    pub failure: Option<(String, String)>,
    /// `<system-out>` text, if any.
    pub system_out: Option<String>,
    /// `<property name= value=>` pairs inside the test case (observed values), in order.
    pub properties: Vec<(String, String)>,
}

impl Suite {
    fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }
}

/// The `time=` of every element. Test cases here judge a run after it ended; its wall time
/// would make equal runs' files differ, so it is 0 (the simulated time is a suite property).
const TIME: &str = "0";

/// A `<testsuites name=…>` document holding `suites`.
pub(crate) fn document(name: &str, suites: &[Suite]) -> String {
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" \
         time=\"{TIME}\">\n",
        escape_attr(name)
    ));
    for suite in suites {
        write_suite(&mut out, suite);
    }
    out.push_str("</testsuites>\n");
    out
}

fn write_suite(out: &mut String, suite: &Suite) {
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" \
         time=\"{TIME}\">\n",
        escape_attr(&suite.name),
        suite.cases.len(),
        suite.failures()
    ));
    if !suite.properties.is_empty() {
        out.push_str("    <properties>\n");
        for (k, v) in &suite.properties {
            out.push_str(&format!(
                "      <property name=\"{}\" value=\"{}\"/>\n",
                escape_attr(k),
                escape_attr(v)
            ));
        }
        out.push_str("    </properties>\n");
    }
    for case in &suite.cases {
        let open = format!(
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{TIME}\"",
            escape_attr(&case.classname),
            escape_attr(&case.name)
        );
        if case.failure.is_none() && case.system_out.is_none() && case.properties.is_empty() {
            out.push_str(&open);
            out.push_str("/>\n");
            continue;
        }
        out.push_str(&open);
        out.push_str(">\n");
        if !case.properties.is_empty() {
            out.push_str("      <properties>\n");
            for (k, v) in &case.properties {
                out.push_str(&format!(
                    "        <property name=\"{}\" value=\"{}\"/>\n",
                    escape_attr(k),
                    escape_attr(v)
                ));
            }
            out.push_str("      </properties>\n");
        }
        if let Some((message, body)) = &case.failure {
            out.push_str(&format!(
                "      <failure message=\"{}\" type=\"failure\">{}</failure>\n",
                escape_attr(message),
                escape_text(body)
            ));
        }
        if let Some(text) = &case.system_out {
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                escape_text(text)
            ));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
}

/// `junit.xml`: one `<testsuite>` named after the scenario with one `<testcase>` per
/// verdict (classname = scenario, name = expectation id); a failed verdict carries a
/// `<failure>` whose message is the reason and whose body has the statement, bounds,
/// observations and reason. Each test case's `<properties>` hold its observed values
/// (`observed:<entity>`, as pytest's `record_property` writes them) and bounds; the suite's
/// hold the seed, scenario hash, vicbed version, start and simulated duration. Every `time=`
/// is 0: see [`TIME`].
pub fn junit_xml(outcome: &RunOutcome) -> String {
    let scenario = &outcome.meta.name;
    let cases = outcome
        .verdicts
        .iter()
        .map(|v| {
            let details = format!(
                "{}\nstat: {} of {}\nbounds: {}\nobserved: {}",
                v.statement,
                v.stat.as_str(),
                v.counter,
                bounds_text(v.min, v.max),
                observed_text(&v.observed)
            );
            let failure = (!v.passed).then(|| {
                let message = if v.reason.is_empty() {
                    v.statement.clone()
                } else {
                    v.reason.clone()
                };
                (message, format!("{details}\nreason: {}", v.reason))
            });
            let mut properties: Vec<(String, String)> = v
                .observed
                .iter()
                .map(|(e, x)| (format!("observed:{e}"), fmt_num(*x)))
                .collect();
            properties.push(("bounds".to_owned(), bounds_text(v.min, v.max)));
            Case {
                classname: scenario.clone(),
                name: v.id.clone(),
                system_out: v.passed.then_some(details),
                failure,
                properties,
            }
        })
        .collect();
    let suite = Suite {
        name: scenario.clone(),
        properties: vec![
            ("seed".to_owned(), outcome.meta.seed.to_string()),
            ("scenario_hash".to_owned(), outcome.scenario_hash.clone()),
            ("vicbed_version".to_owned(), outcome.vicbed_version.clone()),
            ("start".to_owned(), outcome.meta.start.rfc3339.clone()),
            (
                "simulated_duration_s".to_owned(),
                outcome.meta.duration.as_secs().to_string(),
            ),
        ],
        cases,
    };
    document(scenario, &[suite])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape_text("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape_text("x\ny\u{1}"), "x\ny\u{FFFD}");
        assert_eq!(escape_attr("x\ny\tz"), "x&#10;y&#9;z");
    }

    #[test]
    fn document_counts_and_shapes() {
        let suite = Suite {
            name: "s<1>".into(),
            properties: vec![("seed".into(), "42".into())],
            cases: vec![
                Case {
                    classname: "s".into(),
                    name: "ok".into(),
                    ..Case::default()
                },
                Case {
                    classname: "s".into(),
                    name: "bad".into(),
                    failure: Some(("why & how".into(), "body <x>".into())),
                    system_out: None,
                    properties: vec![("observed:a".into(), "1".into())],
                },
            ],
        };
        let xml = document("all", &[suite]);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(xml.contains("<testsuites name=\"all\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("<testsuite name=\"s&lt;1&gt;\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("<property name=\"seed\" value=\"42\"/>"));
        assert!(xml.contains("<testcase classname=\"s\" name=\"ok\" time=\"0\"/>"));
        assert!(xml.contains("<property name=\"observed:a\" value=\"1\"/>"));
        assert!(xml.contains(
            "<failure message=\"why &amp; how\" type=\"failure\">body &lt;x&gt;</failure>"
        ));
        assert!(xml.ends_with("</testsuites>\n"));
    }
}
