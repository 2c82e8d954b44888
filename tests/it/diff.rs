//! `vicbed diff RUN_A RUN_B`: two runs' summaries compared through the binary — equal runs
//! exit 0, a changed observed value or verdict exits 1 and is named, bad input exits 2.

use std::path::Path;

use crate::support::{output_text as text, repo_root, vicbed};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs the seed scenario into `dir`.
fn seed_run(dir: &Path) {
    let file = repo_root().join("scenarios/library/over-the-limits.toml");
    let out = vicbed(&["run", "--quiet", s(&file), "--out", s(dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn equal_runs_exit_0_and_a_changed_value_or_verdict_exits_1_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    seed_run(&a);

    // A run compared with itself (directory and file forms): equal.
    let out = vicbed(&["diff", s(&a), s(&a.join("summary.json"))]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("equal: all "), "{stdout}");
    assert!(
        stdout.contains("A: over-the-limits (seed 20171002"),
        "{stdout}"
    );

    // B: the same run with cpu-limited's ready time changed and that verdict failed.
    let summary = std::fs::read_to_string(a.join("summary.json")).expect("summary");
    let changed = summary
        .replacen("\"value\": 15756.0", "\"value\": 9000.0", 1)
        .replacen("\"passed\": true", "\"passed\": false", 1);
    assert_ne!(
        changed, summary,
        "the summary has the values this test changes"
    );
    let b = tmp.path().join("b.json");
    std::fs::write(&b, &changed).expect("write");
    let out = vicbed(&["diff", s(&a), s(&b)]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let row = |needle: &str| {
        stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row {needle:?} in\n{stdout}"))
            .to_owned()
    };
    let observed = row("limited-ready · cpu-limited");
    assert!(
        observed.contains("15756") && observed.contains("9000") && observed.ends_with('≠'),
        "{observed}"
    );
    let result = row("every expectation held");
    assert!(
        result.contains("PASS") && result.contains("FAIL"),
        "{result}"
    );
    assert!(stdout.contains("different: 2 of "), "{stdout}");
    // Only differing rows by default; --all lists every compared value.
    assert!(!stdout.contains("limited-demand"), "{stdout}");
    let all = text(&vicbed(&["diff", "--all", s(&a), s(&b)]).stdout);
    assert!(all.contains("limited-demand · cpu-limited"), "{all}");
    assert!(all.contains("container cpu-limited · %RDY"), "{all}");
    // Within a 50 % tolerance the numbers are equal, but the verdict still differs.
    let out = vicbed(&["diff", "--tolerance", "50", s(&a), s(&b)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("different: 1 of "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("nowhere");
    let not_json = tmp.path().join("notes.txt");
    std::fs::write(&not_json, "hello").expect("write");
    let not_summary = tmp.path().join("other.json");
    std::fs::write(&not_summary, "{\"scenario\": 3}").expect("write");
    let empty_dir = tmp.path().join("empty");
    std::fs::create_dir(&empty_dir).expect("mkdir");
    for (a, b, says) in [
        (&missing, &not_json, "cannot read"),
        (&not_json, &not_json, "not a vicbed summary.json"),
        (&not_summary, &not_summary, "not a vicbed summary.json"),
        (&empty_dir, &not_summary, "summary.json"),
    ] {
        let out = vicbed(&["diff", s(a), s(b)]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?} {b:?}: {stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(text(&out.stdout).is_empty());
    }
    let out = vicbed(&["diff", "--tolerance", "-1", s(&missing), s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    let out = vicbed(&["diff", s(&missing)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing argument is a usage error"
    );
}
