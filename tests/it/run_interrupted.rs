//! `vicbed run` stopped while it writes its report (SIGKILL, SIGTERM): the report directory
//! holds the previous complete report or the new complete one, never a mix or a part.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::repo_root;

fn start(scenario: &Path, out: &Path, seed: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vicbed"))
        .args(["run", "--quiet"])
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(["--seed", &seed.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vicbed starts")
}

/// Every path under `dir` (relative), directories included.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if let Ok(rel) = p.strip_prefix(dir) {
                out.insert(rel.to_path_buf());
            }
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// The seed of a complete report in `out`, or why it is not one. Complete: every file a
/// report has, each whole, all from the same run (one seed), every chart the Markdown links.
fn complete_report_seed(out: &Path) -> Result<u64, String> {
    let read =
        |name: &str| std::fs::read_to_string(out.join(name)).map_err(|e| format!("{name}: {e}"));
    let summary = read("summary.json")?;
    let html = read("report.html")?;
    let md = read("report.md")?;
    let junit = read("junit.xml")?;
    let csv = read("metrics.csv")?;
    if !summary.starts_with('{') || !summary.ends_with("}\n") {
        return Err("summary.json is cut".into());
    }
    if !html.trim_end().ends_with("</html>") || !junit.trim_end().ends_with("</testsuites>") {
        return Err("report.html or junit.xml is cut".into());
    }
    if !csv.ends_with('\n') || !csv.starts_with("entity_kind,") {
        return Err("metrics.csv is cut".into());
    }
    let seed: u64 = summary
        .split("\"seed\": ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|s| s.trim().parse().ok())
        .ok_or("no seed in summary.json")?;
    if !html.contains(&format!("seed {seed} ·")) {
        return Err(format!("report.html is not from the run with seed {seed}"));
    }
    for link in md.split("](charts/").skip(1) {
        let name = link.split(')').next().unwrap_or_default();
        if !out.join("charts").join(name).is_file() {
            return Err(format!("charts/{name} is missing"));
        }
    }
    Ok(seed)
}

/// The seed scenario over 3 hours: its report (1 080 samples per series, 12 charts) takes
/// long enough to write that a stop lands in the middle.
fn scenario(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("scenarios/library/over-the-limits.toml"))
        .expect("library scenario");
    let longer: String = text
        .lines()
        .map(|l| {
            if l.starts_with("duration = ") {
                "duration = \"3h\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        text.trim_end(),
        longer,
        "the library scenario has a duration line"
    );
    let path = dir.join("three-hours.toml");
    std::fs::write(&path, longer).expect("write scenario");
    path
}

#[test]
fn a_run_stopped_while_writing_leaves_no_report_the_old_one_or_the_new_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenario = scenario(tmp.path());
    let out = tmp.path().join("report");
    let mut seed = 1000;
    // Each run is stopped a little later after it starts writing (at once, then after 5, 20
    // and 40 ms), by SIGKILL, which nothing can clean up after, and by SIGTERM, after which
    // the run removes what it was writing; once with no report before, once over a complete
    // one. Where the cut lands varies; what is left must be whole either way.
    for delay_ms in [0u64, 5, 20, 40] {
        for signal in ["KILL", "TERM"] {
            for replacing in [false, true] {
                let _ = std::fs::remove_dir_all(&out);
                let current = if replacing {
                    seed += 1;
                    let first = start(&scenario, &out, seed)
                        .wait_with_output()
                        .expect("run");
                    assert!(first.status.code().is_some_and(|c| c <= 1), "{first:?}");
                    Some(complete_report_seed(&out).expect("a complete report"))
                } else {
                    None
                };
                seed += 1;
                stop_while_writing(&scenario, tmp.path(), &out, seed, current, delay_ms, signal);
            }
        }
    }
}

/// Runs with `seed`, sends SIG`signal` `delay_ms` after the report starts being written, and
/// checks what is left in `out` (`current`: the seed of the report there before).
fn stop_while_writing(
    scenario: &Path,
    dir: &Path,
    out: &Path,
    seed: u64,
    current: Option<u64>,
    delay_ms: u64,
    signal: &str,
) {
    let before = tree(dir);
    let mut child = start(scenario, out, seed);
    // The run writes nothing before its report, so the first new path under `dir` is the
    // report being written.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline
        && child.try_wait().expect("try_wait").is_none()
        && tree(dir) == before
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(delay_ms));
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!(
        "SIG{signal} {delay_ms} ms into writing over {current:?}: {:?} {stderr}",
        output.status
    );
    if out.exists() {
        let s = complete_report_seed(out)
            .unwrap_or_else(|why| panic!("partial report ({why}); {context}"));
        assert!(
            Some(s) == current || s == seed,
            "seed {s} is neither the old report's nor this run's ({seed}); {context}"
        );
    } else {
        // Only possible with no report before, or when killed between moving the old report
        // aside and moving the new one in.
        let old_aside = tree(dir)
            .iter()
            .any(|p| p.to_string_lossy().starts_with(".report.old-"));
        assert!(
            current.is_none() || old_aside,
            "the report vanished; {context}"
        );
    }
    if output.status.code() == Some(143) {
        // SIGTERM caught while writing: the run cleaned up after itself.
        assert!(
            stderr.contains("previous report (if any) is unchanged"),
            "{context}"
        );
        let leftovers: Vec<PathBuf> = tree(dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().starts_with(".report.tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}; {context}");
    }
}
