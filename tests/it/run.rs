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

/// A small scenario: one cluster, VCHs and steps as given (`{vchs}`, `{rest}`), 2 minutes.
fn small(vchs: &str, rest: &str) -> String {
    format!(
        r#"[scenario]
name = "small"
seed = 5
duration = "2m"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{{ name = "esx", cores = 8, mhz = 1800, memory_mb = 65536 }}]

{vchs}
{rest}"#
    )
}

const OPEN_VCH: &str = r#"[[vch]]
name = "open"
args = ["--name", "vch-open", "--compute-resource", "Cluster", "--bridge-network", "DC0_DVPG0", "--no-tlsverify"]
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn set_overrides_a_var_and_changes_the_result() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seed = library("over-the-limits");
    let out = tmp.path().join("at-1000");
    let o = vicbed_run(&[
        seed.to_str().unwrap(),
        "--set",
        "cpu_limit_mhz=1000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&o.stdout);
    // At 1000 MHz the limited container gets twice the entitlement, so the unlimited one's
    // is no longer 4–6 times it: the seed's ratio fails, and the bound follows the variable.
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("PASS limited-entitlement          avg cpu.entitlement.latest of container cpu-limited ≤ 1000 MHz"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL unlimited-entitlement-ratio"),
        "{stdout}"
    );
    assert!(!stdout.contains("cpu-limited=400 MHz"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        !csv.contains("container,cpu-limited,cpu.entitlement.latest,,2017-10-02T08:00:20Z,20,400,"),
        "the limit changed what the container got"
    );
}

#[test]
fn unknown_vars_exit_2_with_every_problem_located() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenario = small(
        OPEN_VCH,
        "[vars]\nn = 2\n\n[[step]]\nat = \"0s\"\nvch = \"open\"\ndocker = \"run -d --name ${nope} busybox\"\n\n[[expect]]\nentity = \"*\"\nkind = \"container\"\ncounter = \"cpu.usagemhz.average\"\nstat = \"max\"\nmax = ${also_nope}\n",
    );
    let file = write(tmp.path(), "vars.toml", &scenario);
    let out = tmp.path().join("out");
    let o = vicbed_run(&[
        file.to_str().unwrap(),
        "--set",
        "ghost=1",
        "--set",
        "n=two",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let line_of = |needle: &str| scenario.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for want in [
        format!(
            "vars.toml:{}:1: --set ghost=1: unknown variable `ghost` (declared: n)",
            line_of("[vars]")
        ),
        format!(
            "vars.toml:{}:1: --set n=two: \"two\" is not an integer (the default is 2)",
            line_of("[vars]")
        ),
        format!(
            "vars.toml:{}:25: unknown variable `nope` (declared: n)",
            line_of("${nope}")
        ),
        format!(
            "vars.toml:{}:7: unknown variable `also_nope` (declared: n)",
            line_of("${also_nope}")
        ),
    ] {
        assert!(stderr.contains(&want), "{want}\n{stderr}");
    }
    assert!(stderr.contains("4 problem(s)"), "{stderr}");
    assert!(!out.exists(), "nothing was run");
}

#[test]
fn count_and_every_expand_to_n_containers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenario = small(
        OPEN_VCH,
        "[vars]\nn = 2\n\n[[step]]\nat = \"0s\"\ncount = ${n}\nevery = \"20s\"\nvch = \"open\"\ndocker = \"run -d --name web${i} busybox sleep 3600\"\n\n[[expect]]\nid = \"running\"\nentity = \"web*\"\nkind = \"container\"\ncounter = \"cpu.usagemhz.average\"\nstat = \"max\"\nmin = 0\n",
    );
    let file = write(tmp.path(), "ramp.toml", &scenario);
    let out = tmp.path().join("out");
    let o = vicbed_run(&[
        file.to_str().unwrap(),
        "--set",
        "n=4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("[web1=") && stdout.contains("web4="),
        "{stdout}"
    );
    assert!(!stdout.contains("web5"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    // Repetition k starts at (k-1) × 20 s: web4 at 60 s, so its first sample ends at 80 s.
    let first = |name: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("container,{name},cpu.usagemhz.average,,")))
            .unwrap_or_else(|| panic!("no {name} in metrics.csv"))
            .split(',')
            .nth(5)
            .unwrap()
            .to_owned()
    };
    assert_eq!(first("web1"), "20");
    assert_eq!(first("web4"), "80");
}

#[test]
fn a_failing_vch_create_exits_3_and_the_report_names_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broken = r#"[[vch]]
name = "broken"
args = ["--name", "vch-broken", "--compute-resource", "Cluster", "--bridge-network", "NoSuchPortGroup", "--no-tlsverify"]
"#;
    let scenario = small(
        &format!("{OPEN_VCH}\n{broken}"),
        "[[step]]\nat = \"0s\"\nvch = \"open\"\ndocker = \"run -d --name fine busybox sleep 3600\"\n\n[[expect]]\nid = \"fine-runs\"\nentity = \"fine\"\nkind = \"container\"\ncounter = \"cpu.usagemhz.average\"\nstat = \"max\"\nmin = 0\n",
    );
    let file = write(tmp.path(), "vch.toml", &scenario);
    let out = tmp.path().join("out");
    let o = vicbed_run(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{stdout}{}", text(&o.stderr));
    assert!(stdout.contains("PASS fine-runs"), "{stdout}");
    assert!(
        stdout.contains(
            "FAIL vch-broken                   vic-machine create of vch broken succeeds"
        ),
        "{stdout}"
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"passed\": false"), "{summary}");
    assert!(summary.contains("vch-broken"), "{summary}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("vch-broken") && junit.contains("<failure"),
        "{junit}"
    );
}

#[test]
fn a_docker_step_failing_without_expect_exits_3() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenario = small(
        OPEN_VCH,
        "[[step]]\nat = \"0s\"\nvch = \"open\"\ndocker = \"stop ghost\"\nexpect = \"fail\"\n\n[[step]]\nat = \"20s\"\nvch = \"open\"\ndocker = \"stop ghost\"\n",
    );
    let file = write(tmp.path(), "step.toml", &scenario);
    let out = tmp.path().join("out");
    let o = vicbed_run(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{stdout}{}", text(&o.stderr));
    assert!(stdout.contains("PASS step-1 "), "{stdout}");
    assert!(stdout.contains("FAIL step-2 "), "{stdout}");
    assert!(stdout.contains("No such container: ghost"), "{stdout}");
    assert!(
        out.join("report.html").exists(),
        "the report is still written"
    );

    // With `expect = "fail"` on both, the same run holds: exit 0.
    let both = format!("{scenario}expect = \"fail\"\n");
    let file = write(tmp.path(), "expected.toml", &both);
    let o = vicbed_run(&[
        file.to_str().unwrap(),
        "--out",
        tmp.path().join("ok").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
}

#[test]
fn bounds_are_in_percent_and_megabytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let limited = r#"[[vch]]
name = "limited"
args = ["--name", "vch-limited", "--compute-resource", "Cluster", "--bridge-network", "DC0_DVPG0", "--cpu", "500", "--no-tlsverify"]
"#;
    let rest = r#"[[step]]
at = "0s"
vch = "limited"
docker = "run -d --name busy -m 1g --cpuset-cpus 1 progrium/stress --cpu 1 --timeout 600s"

[[step]]
at = "0s"
vch = "open"
docker = "run -d --name mem -m 2g progrium/stress --vm 1 --vm-bytes 512M --timeout 600s"

[[expect]]
id = "readiness"
entity = "busy"
kind = "container"
counter = "cpu.readiness.average"
stat = "avg"
min = 50
max = 100

[[expect]]
id = "granted"
entity = "mem"
kind = "container"
counter = "mem.granted.average"
stat = "max"
min = "512MB"
max = "1GB"

[[expect]]
id = "granted-under-512"
entity = "mem"
kind = "container"
counter = "mem.granted.average"
stat = "max"
max = 512
"#;
    let file = write(
        tmp.path(),
        "units.toml",
        &small(&format!("{OPEN_VCH}\n{limited}"), rest),
    );
    let out = tmp.path().join("out");
    let o = vicbed_run(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stdout = text(&o.stdout);
    // 500 MHz for a 1 800 MHz demand: ready ~78 % of the time, shown and bounded in %.
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("PASS readiness                    avg cpu.readiness.average of container busy in [50 %, 100 %]  [busy=77.78 %]"),
        "{stdout}"
    );
    // The 512 MB stress: granted between "512MB" and "1GB", shown in MB; not under 512 MB.
    assert!(
        stdout.contains("PASS granted                      max mem.granted.average of container mem in [512 MB, 1024 MB]  [mem=576 MB]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL granted-under-512") && stdout.contains("out of bounds: mem: 576 MB"),
        "{stdout}"
    );
}
