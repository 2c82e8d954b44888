//! `vicbed conformance`: every suite through the binary, with JUnit and the report section.

use std::process::Command;

fn conformance(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vicbed"))
        .arg("conformance")
        .args(args)
        .output()
        .expect("vicbed runs")
}

/// `tests="N"` of the `<testsuite name="NAME" …>` line.
fn suite_tests(junit: &str, name: &str) -> usize {
    let line = junit
        .lines()
        .find(|l| l.contains(&format!("<testsuite name=\"{name}\"")))
        .unwrap_or_else(|| panic!("no testsuite {name}\n{junit}"));
    let rest = &line[line.find("tests=\"").expect("tests attr") + 7..];
    rest[..rest.find('"').expect("quote")]
        .parse()
        .expect("number")
}

#[test]
fn every_suite_passes_with_junit_and_a_report_section() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let junit_file = tmp.path().join("conformance.xml");
    let out = tmp.path().join("out");
    let o = conformance(&[
        "--suite",
        "all",
        "--junit",
        junit_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let junit = std::fs::read_to_string(&junit_file).expect("junit written");
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(suite_tests(&junit, "convention") >= 15);
    assert!(suite_tests(&junit, "firewall") >= 40);
    assert!(suite_tests(&junit, "tls") >= 20);
    for f in ["junit.xml", "conformance.md", "conformance.html"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(out.join("conformance.md")).unwrap();
    assert!(md.contains("## firewall") && md.contains("## tls"), "{md}");
    assert!(stdout.contains("conformance: convention:"), "{stdout}");
    assert!(
        std::fs::read_dir(out.join("artifacts"))
            .map(|d| d.count())
            .unwrap_or(0)
            >= 6,
        "the firewall rule sets are written as artefacts"
    );
}

#[test]
fn an_unknown_suite_is_a_usage_error() {
    let o = conformance(&["--suite", "dns"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown conformance suite \"dns\""));
}
