//! Host steps and cluster HA/DRS in scenarios: parse-time checks, and the host-failure
//! library scenario end to end (a host fails, vSphere HA restarts its containerVMs on the
//! surviving hosts, the VCH's containers wait more for CPU).

use scenarios::schema::{Action, DrsMode, EntityKind, HostTarget};
use scenarios::{RunOptions, RunOutcome, parse_scenario, scenario_hash};

const BASE: &str = r#"[scenario]
name = "hosts"
seed = 1
duration = "5m"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{ name = "esx", count = 3 }]
ha = true
drs = "manual"
ha_host_failures_tolerated = 2

[[inventory.host]]
name = "edge"

[[step]]
at = "1m"
host = { name = "esx-02", state = "failed" }

[[step]]
at = "2m"
host = { name = "edge", state = "maintenance" }

[[step]]
at = "3m"
host = { name = "esx-02", state = "connected" }
"#;

#[test]
fn host_steps_and_cluster_services_parse() {
    let s = parse_scenario("hosts.toml", BASE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cluster_services.len(), 1);
    let c = &s.cluster_services[0];
    assert_eq!(c.cluster, "Cluster");
    assert!(c.ha);
    assert_eq!(c.drs, Some(DrsMode::Manual));
    assert_eq!(c.ha_host_failures_tolerated, Some(2));
    // The scenario-only keys do not reach the emulator's inventory.
    assert_eq!(s.inventory.clusters[0].hosts[0].count, 3);
    let states: Vec<(String, HostTarget)> = s
        .steps
        .iter()
        .map(|st| match &st.action {
            Action::Host(h) => (h.name.clone(), h.state),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("esx-02".into(), HostTarget::Failed),
            ("edge".into(), HostTarget::Maintenance),
            ("esx-02".into(), HostTarget::Connected),
        ]
    );
}

#[test]
fn bad_hosts_and_cluster_services_are_refused_at_their_place() {
    let text = BASE
        .replace(
            r#"name = "esx-02", state = "failed""#,
            r#"name = "esx-9", state = "failed""#,
        )
        .replace(
            r#"name = "edge", state = "maintenance""#,
            r#"name = "edge", state = "asleep""#,
        )
        .replace(r#"drs = "manual""#, r#"drs = "sometimes""#)
        .replace(
            "ha_host_failures_tolerated = 2",
            "ha_host_failures_tolerated = 3",
        );
    let e = parse_scenario("hosts.toml", &text).unwrap_err().to_string();
    for want in [
        "hosts.toml:19:",
        r#"unknown host "esx-9" (the inventory's hosts: "esx-01", "esx-02", "esx-03", "edge")"#,
        r#"host state "asleep" is not one of "failed", "maintenance", "disconnected", "connected""#,
        r#"drs "sometimes" is not"#,
        "ha_host_failures_tolerated 3 must be from 0 to 2",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
    let no_ha = BASE.replace("ha = true\n", "");
    let e = parse_scenario("hosts.toml", &no_ha)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ha_host_failures_tolerated needs ha = true"),
        "{e}"
    );
    let both = BASE.replace(
        r#"host = { name = "edge", state = "maintenance" }"#,
        r#"host = { name = "edge", state = "maintenance" }
power = { vm = "x", state = "on" }"#,
    );
    let e = parse_scenario("hosts.toml", &both).unwrap_err().to_string();
    assert!(e.contains("exactly one of"), "{e}");
    let wrong_type = BASE.replace("ha = true", "ha = \"yes\"");
    let e = parse_scenario("hosts.toml", &wrong_type)
        .unwrap_err()
        .to_string();
    assert!(e.contains("inventory cluster 1: ha"), "{e}");
}

async fn run_library(name: &str) -> RunOutcome {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let path = format!("{}/library/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("library scenario");
    let s = parse_scenario(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    scenarios::run(
        &s,
        &scenario_hash(&text),
        &RunOptions {
            seed: None,
            progress: false,
            base_dir: None,
        },
    )
    .await
    .expect("run completes")
}

/// Mean of a counter over the containers, between two offsets (s, inclusive).
fn mean(o: &RunOutcome, counter: &str, from_s: u64, to_s: u64) -> f64 {
    let mut values = Vec::new();
    for s in o.series.iter().filter(|s| {
        s.kind == EntityKind::Container && s.counter == counter && s.instance.is_empty()
    }) {
        for p in s.points.read().expect("samples") {
            if (from_s..=to_s).contains(&p.offset_s) {
                values.push(p.value as f64);
            }
        }
    }
    assert!(
        !values.is_empty(),
        "no {counter} samples in {from_s}..{to_s}"
    );
    values.iter().sum::<f64>() / values.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_failure_restarts_containers_and_raises_their_ready_time() {
    let o = run_library("host-failure").await;
    for v in &o.verdicts {
        assert!(
            v.passed,
            "{}: {} — {} {:?}",
            v.id, v.statement, v.reason, v.observed
        );
    }
    assert!(o.steps.iter().all(|s| s.ok), "{:#?}", o.steps);
    let failure = o
        .steps
        .iter()
        .find(|s| s.command.starts_with("host esx-02"))
        .expect("the failure step");
    assert_eq!(failure.at_s, 600);
    // Ready time before (3–10 min) and after (11–20 min) the failure.
    let before = mean(&o, "cpu.ready.summation", 180, 600);
    let after = mean(&o, "cpu.ready.summation", 660, 1200);
    assert!(
        after > 5.0 * before.max(1.0),
        "ready {before} ms → {after} ms"
    );
    // Every container runs again after the failure: none is left at zero usage.
    let apps = o
        .series
        .iter()
        .filter(|s| {
            s.kind == EntityKind::Container
                && s.counter == "cpu.usagemhz.average"
                && s.instance.is_empty()
        })
        .count();
    assert_eq!(apps, 10);
    for s in o.series.iter().filter(|s| {
        s.kind == EntityKind::Container
            && s.counter == "cpu.usagemhz.average"
            && s.instance.is_empty()
    }) {
        let points = s.points.read().expect("samples");
        let last = points.last().expect("a sample");
        assert_eq!(last.offset_s, 1200, "{}", s.entity);
        assert!(
            last.value > 1000,
            "{} at the end: {} MHz",
            s.entity,
            last.value
        );
    }
    // Some containers were on the failed host: their usage fell to 0 for the restart interval.
    let stopped = o
        .series
        .iter()
        .filter(|s| {
            s.kind == EntityKind::Container
                && s.counter == "cpu.usagemhz.average"
                && s.instance.is_empty()
        })
        .filter(|s| {
            // A powered-off VM has no sample for the interval.
            !s.points
                .read()
                .expect("samples")
                .iter()
                .any(|p| p.offset_s == 620 && p.value > 0)
        })
        .count();
    assert!(
        (1..10).contains(&stopped),
        "{stopped} containers stopped at 10:20"
    );
}

const HOST_STEPS: &str = r#"[scenario]
name = "host-steps"
seed = 3
duration = "3m"

[inventory]
[[inventory.cluster]]
name = "Auto"
hosts = [{ name = "auto", count = 2 }]
vms = [{ name = "a", count = 2, workload = "cpu=500" }]

[[inventory.cluster]]
name = "Manual"
hosts = [{ name = "man", count = 2 }]
vms = [{ name = "m", count = 2, workload = "cpu=500" }]
drs = "manual"

[[step]]
at = "20s"
host = { name = "auto-01", state = "maintenance" }
expect = "ok"

[[step]]
at = "40s"
host = { name = "man-01", state = "maintenance" }
expect_error = "must move or power off"

[[step]]
at = "1m"
host = { name = "auto-01", state = "connected" }
expect = "ok"

[[step]]
at = "80s"
host = { name = "man-02", state = "disconnected" }
expect = "ok"

[[step]]
at = "100s"
host = { name = "man-02", state = "connected" }
expect = "ok"

[[step]]
at = "2m"
host = { name = "auto-02", state = "failed" }
expect = "ok"

[[step]]
at = "140s"
host = { name = "auto-02", state = "connected" }
expect = "ok"

[[step]]
at = "160s"
host = { name = "auto-02", state = "connected" }
expect = "ok"

[[expect]]
id = "vms-ran"
entity = "m-*"
kind = "vm"
counter = "cpu.usagemhz.average"
stat = "min"
min = 400
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_steps_drive_vsphere_tasks_and_the_testbed() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let s = parse_scenario("host-steps.toml", HOST_STEPS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cluster_services.len(), 1);
    let o = scenarios::run(
        &s,
        &scenario_hash(HOST_STEPS),
        &RunOptions {
            seed: None,
            progress: false,
            base_dir: None,
        },
    )
    .await
    .expect("run completes");
    for v in &o.verdicts {
        assert!(
            v.passed,
            "{}: {} — {} {:?}",
            v.id, v.statement, v.reason, v.observed
        );
    }
    let results: Vec<(&str, &str)> = o
        .steps
        .iter()
        .map(|st| (st.command.as_str(), st.result.as_str()))
        .collect();
    assert_eq!(results[0].0, "host auto-01 maintenance");
    assert!(
        results[1].1.contains("DRS did not move them"),
        "{results:?}"
    );
    assert_eq!(results[2].1, "auto-01 out of maintenance mode");
    assert_eq!(results[4].1, "man-02 reconnected");
    assert_eq!(results[6].1, "auto-02 recovered");
    assert_eq!(results[7].1, "auto-02 already connected");
}
