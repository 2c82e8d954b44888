//! `vicbed run`: the README's main command end to end, exit codes, and byte-identical
//! artefacts for one seed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::repo_root;

fn library(name: &str) -> PathBuf {
    repo_root()
        .join("scenarios/library")
        .join(format!("{name}.toml"))
}

fn vicbed_run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vicbed"))
        .arg("run")
        .arg("--quiet")
        .args(args)
        .output()
        .expect("vicbed runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("prefix").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_seed_scenario_passes_and_two_runs_are_byte_identical() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let seed = library("over-the-limits");
    for out in [&a, &b] {
        let o = vicbed_run(&[seed.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let stdout = text(&o.stdout);
        assert!(o.status.success(), "{stdout}\n{}", text(&o.stderr));
        assert!(
            stdout.contains("10 expectation(s), 10 passed, 0 failed"),
            "{stdout}"
        );
        assert!(stdout.contains("PASS limited-ready"), "{stdout}");
    }
    let listed = files(&a);
    for want in [
        "report.html",
        "report.md",
        "metrics.csv",
        "summary.json",
        "junit.xml",
        "charts/cpu-limited-cpu.svg",
        "charts/cpu-limited-cpu.png",
        "charts/mem-limited-mem.svg",
        "charts/pool-vch-limited-cpu.svg",
    ] {
        assert!(
            listed.contains(&PathBuf::from(want)),
            "{want} not in {listed:?}"
        );
    }
    assert_eq!(listed, files(&b));
    for f in &listed {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{} differs between two runs with one seed",
            f.display()
        );
    }
    let summary = std::fs::read_to_string(a.join("summary.json")).unwrap();
    assert!(summary.contains("\"seed\": 20171002"), "{summary}");
    assert!(summary.contains("\"passed\": true"), "{summary}");
    let junit = std::fs::read_to_string(a.join("junit.xml")).unwrap();
    assert!(
        junit.contains("tests=\"10\"") && junit.contains("failures=\"0\""),
        "{junit}"
    );
    let csv = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert!(
        csv.contains(
            "container,cpu-limited,cpu.ready.summation,,2017-10-02T08:00:20Z,20,15756,millisecond"
        ),
        "{}",
        &csv[..csv.len().min(2000)]
    );
}

#[test]
fn check_determinism_runs_twice_and_a_failed_expectation_exits_1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seed = library("over-the-limits");
    let o = vicbed_run(&[
        seed.to_str().unwrap(),
        "--check-determinism",
        "--seed",
        "3",
        "--out",
        tmp.path().join("det").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("deterministic: two runs with seed 3"));

    // The same experiment with a band the model does not reach.
    let strict = std::fs::read_to_string(&seed)
        .unwrap()
        .replace("min = 12000", "min = 19000");
    let file = tmp.path().join("strict.toml");
    std::fs::write(&file, strict).unwrap();
    let out = tmp.path().join("strict");
    let o = vicbed_run(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    assert!(stdout.contains("FAIL limited-ready"), "{stdout}");
    assert!(
        stdout.contains("out of bounds: cpu-limited: 15756"),
        "{stdout}"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("failures=\"1\"") && junit.contains("<failure"),
        "{junit}"
    );
}

#[test]
fn a_bad_scenario_exits_2_with_located_errors_and_runs_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("bad.toml");
    std::fs::write(
        &file,
        "[scenario]\nname = \"bad\"\nseed = -1\nduration = \"5 minutes\"\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = vicbed_run(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:1:1: missing [inventory]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.toml:3:8: [scenario]: invalid value: integer `-1`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert!(!out.exists(), "no report for a bad scenario");

    let o = vicbed_run(&["/nonexistent/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot read /nonexistent/scenario.toml"));
}

#[test]
fn a_scenario_beyond_the_bounds_exits_2_naming_the_limit_and_runs_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seed_text = std::fs::read_to_string(library("over-the-limits")).unwrap();
    let forever = seed_text
        .lines()
        .map(|l| {
            if l.starts_with("duration = ") {
                "duration = \"876000h\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let file = tmp.path().join("forever.toml");
    std::fs::write(&file, &forever).unwrap();
    let out = tmp.path().join("out");
    let o = vicbed_run(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let line = forever
        .lines()
        .position(|l| l.starts_with("duration = "))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!(
            "forever.toml:{line}:12: [scenario]: duration 876000h is longer than the limit of 168h"
        )),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing was run");

    // A file too large to be a scenario is refused before it is read.
    let huge = tmp.path().join("huge.toml");
    std::fs::write(&huge, format!("{seed_text}\n# {}\n", "x".repeat(4 << 20))).unwrap();
    let o = vicbed_run(&[huge.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a scenario file may be at most 4194304 bytes (4 MiB); nothing was run"),
        "{stderr}"
    );
    assert!(!out.exists());
}
