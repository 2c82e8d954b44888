//! `vicbed sweep`: the planner's questions answered from the library, each answer checked
//! against independent `vicbed run --set` runs at the answer and one step beside it; shard
//! outputs merged byte-identical to an unsharded sweep; bad input exits 2.

use std::path::{Path, PathBuf};

use crate::support::{output_text as text, repo_root, vicbed};

fn library(name: &str) -> String {
    repo_root()
        .join("scenarios/library")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

fn sweep_json(dir: &Path) -> serde_json::Value {
    let t = std::fs::read_to_string(dir.join("sweep.json")).expect("sweep.json");
    serde_json::from_str(&t).expect("sweep.json parses")
}

/// Runs a search and returns its answer (asserting exit 0 and the sentence).
fn search(args: &[&str], out: &Path) -> String {
    let mut all = vec!["sweep", "--quiet", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = vicbed(&all);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", text(&o.stderr));
    let j = sweep_json(out);
    let answer = j["answers"][0]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("an answer: {j}"))
        .to_owned();
    assert!(
        stdout.contains(&format!(": {answer} (")),
        "the sentence names the answer: {stdout}"
    );
    answer
}

/// `vicbed run FILE --set NAME=VALUE`'s exit code.
fn run_at(file: &str, name: &str, value: &str, out: &Path) -> i32 {
    let o = vicbed(&[
        "run",
        "--quiet",
        file,
        "--set",
        &format!("{name}={value}"),
        "--out",
        out.to_str().unwrap(),
    ]);
    o.status.code().unwrap_or(-1)
}

#[test]
fn the_lowest_cpu_limit_for_a_workload_set() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = library("web-limit");
    let answer = search(
        &[
            &file,
            "--vary",
            "cpu_limit=4000..8000/400",
            "--minimize",
            "cpu_limit",
        ],
        &tmp.path().join("s"),
    );
    let a: i64 = answer.parse().expect("a number");
    assert_eq!(
        run_at(&file, "cpu_limit", &answer, &tmp.path().join("a")),
        0,
        "passes at {a}"
    );
    let below = (a - 400).to_string();
    assert_eq!(
        run_at(&file, "cpu_limit", &below, &tmp.path().join("b")),
        1,
        "fails at {below}"
    );
}

#[test]
fn the_most_containers_a_vch_holds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = library("vch-fill");
    let answer = search(
        &[
            &file,
            "--vary",
            "containers=1..16/1",
            "--maximize",
            "containers",
        ],
        &tmp.path().join("s"),
    );
    let n: i64 = answer.parse().expect("a number");
    assert_eq!(
        run_at(&file, "containers", &answer, &tmp.path().join("a")),
        0,
        "passes at {n}"
    );
    let above = (n + 1).to_string();
    assert_eq!(
        run_at(&file, "containers", &above, &tmp.path().join("b")),
        1,
        "fails at {above}"
    );
}

#[test]
fn the_most_containers_a_vch_holds_with_one_host_down() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = library("host-failure");
    let answer = search(
        &[
            &file,
            "--vary",
            "containers=4..24/1",
            "--maximize",
            "containers",
            "--goal",
            "ready-with-one-host-down,all-restarted",
        ],
        &tmp.path().join("s"),
    );
    let n: i64 = answer.parse().expect("a number");
    assert_eq!(
        run_at(&file, "containers", &answer, &tmp.path().join("a")),
        0,
        "every expectation holds at {n}, the host failure and HA restarts included"
    );
    let above = (n + 1).to_string();
    assert_eq!(
        run_at(&file, "containers", &above, &tmp.path().join("b")),
        1,
        "fails at {above}"
    );
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

#[test]
fn shards_merge_into_the_unsharded_sweep_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = library("web-limit");
    let grid = [
        "--vary",
        "cpu_limit=4000,6000,8000",
        "--vary",
        "containers=6,10",
    ];
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = vec!["sweep", "--quiet", "--jobs", "2", &file];
        args.extend_from_slice(&grid);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = vicbed(&args);
        assert!(
            o.status.success(),
            "{}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
    };
    let whole = tmp.path().join("whole");
    sweep(&whole, &[]);
    let (s0, s1) = (tmp.path().join("s0"), tmp.path().join("s1"));
    sweep(&s0, &["--shard", "0/2"]);
    sweep(&s1, &["--shard", "1/2"]);
    assert_eq!(sweep_json(&s0)["points"].as_array().map(Vec::len), Some(3));
    let merged = tmp.path().join("merged");
    let o = vicbed(&[
        "sweep",
        "merge",
        s1.to_str().unwrap(),
        s0.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let names = |d: &Path| {
        files(d)
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&whole), names(&merged));
    for f in files(&whole) {
        let name = f.file_name().unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(merged.join(name)).unwrap(),
            "{name:?} differs"
        );
    }
    // Six points, one row each.
    let csv = std::fs::read_to_string(whole.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
}

#[test]
fn bad_sweeps_exit_2_and_say_why() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = library("web-limit");
    let out = tmp.path().join("o");
    let out = out.to_str().unwrap();
    for (args, says) in [
        (vec!["--vary", "nosuch=1,2"], "nosuch"),
        (vec!["--vary", "cpu_limit=4000..3000/100"], "range"),
        (
            vec!["--vary", "cpu_limit=4000,5000", "--minimize", "containers"],
            "not one of the --vary",
        ),
        (
            vec!["--vary", "cpu_limit=4000,5000", "--shard", "2/2"],
            "--shard",
        ),
        (
            vec!["--vary", "cpu_limit=4000,5000", "--goal", "nosuch-id"],
            "nosuch-id",
        ),
    ] {
        let mut all = vec!["sweep", "--quiet", &file, "--out", out];
        all.extend_from_slice(&args);
        let o = vicbed(&all);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
