//! The scenario library parses and says what the seed experiment says.

use std::time::Duration;

use scenarios::{Action, DockerVerb, EntityKind, Stat, parse_scenario, scenario_hash};

const OVER_THE_LIMITS: &str = include_str!("../../library/over-the-limits.toml");

#[test]
fn over_the_limits_parses() {
    let s =
        parse_scenario("over-the-limits.toml", OVER_THE_LIMITS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.meta.name, "over-the-limits");
    assert_eq!(s.meta.duration, Duration::from_secs(600));
    assert_eq!(s.meta.sample_interval, Duration::from_secs(20));
    assert_eq!(s.meta.start.rfc3339, "2017-10-02T08:00:00Z");
    assert_eq!(s.inventory.clusters[0].hosts[0].mhz, 1800);

    assert_eq!(s.vchs.len(), 2);
    let limited = &s.vchs[0];
    assert_eq!(limited.vsphere_name(), "vch-limited");
    let args = limited.args.join(" ");
    assert!(args.contains("--cpu 500 --memory 500"), "{args}");
    assert!(
        !s.vchs[1]
            .args
            .iter()
            .any(|a| a == "--cpu" || a == "--memory")
    );

    assert_eq!(s.steps.len(), 4);
    for step in &s.steps {
        let Action::Docker(d) = &step.action else {
            panic!("{step:?}")
        };
        // The CPU test runs first, the memory test after it, as in the post.
        let want_at = if d.argv.iter().any(|a| a == "--vm") {
            300
        } else {
            0
        };
        assert_eq!(step.at, Duration::from_secs(want_at), "{step:?}");
        assert_eq!(d.verb, DockerVerb::Run);
        let line = d.argv.join(" ");
        assert!(
            line.contains("-m 4g --cpuset-cpus 2 progrium/stress"),
            "{line}"
        );
        assert!(line.ends_with("--timeout 300s"), "{line}");
    }
    let Action::Docker(mem) = &s.steps[1].action else {
        unreachable!()
    };
    assert!(mem.argv.join(" ").contains("--vm 1 --vm-bytes 512M"));

    let e = |id: &str| s.expectations.iter().find(|e| e.id == id).unwrap();
    assert_eq!(e("limited-entitlement").max, Some(500.0));
    assert_eq!(e("limited-ready").min, Some(12000.0));
    assert_eq!(e("limited-ready").stat, Stat::Avg);
    let ratio = e("unlimited-entitlement-ratio");
    assert_eq!(ratio.relative_to.as_deref(), Some("limited-entitlement"));
    assert_eq!((ratio.min, ratio.max), (Some(4.0), Some(6.0)));
    assert_eq!(
        (e("limited-mem-latency").min, e("limited-mem-latency").max),
        (Some(30.0), Some(50.0))
    );
    assert!(e("limited-balloon").min.unwrap() > 0.0);
    for id in [
        "unlimited-balloon",
        "unlimited-swap",
        "unlimited-mem-latency",
    ] {
        assert_eq!(e(id).max, Some(0.0), "{id}");
    }
    assert!(
        e("limited-ready")
            .entity
            .matches(EntityKind::Container, "cpu-limited")
    );
    assert!(
        !e("limited-ready")
            .entity
            .matches(EntityKind::Vm, "cpu-limited")
    );
}

#[test]
fn hash_is_stable_and_content_sensitive() {
    let h = scenario_hash(OVER_THE_LIMITS);
    assert_eq!(h.len(), 16);
    assert_eq!(h, scenario_hash(OVER_THE_LIMITS));
    assert_ne!(
        h,
        scenario_hash(&OVER_THE_LIMITS.replace("seed = 20171002", "seed = 1"))
    );
}

#[test]
fn defaults_and_vsphere_steps() {
    let text = r#"
[scenario]
name = "s"
seed = 7
duration = "2m"

[inventory]
[[inventory.cluster]]
name = "C"
hosts = [{ name = "esx" }]
pools = [{ name = "P" }]
vms = [{ name = "web", pool = "P" }]

[[step]]
at = "30s"
pool = { name = "P", cpu_limit_mhz = -1, mem_limit_mb = 1024, cpu_shares = "high" }

[[step]]
at = "1m"
power = { vm = "web", state = "off" }

[[expect]]
entity = "web*"
kind = "vm"
counter = "cpu.usage.average"
instance = "0"
stat = "p95"
min = 0
from = "20s"
to = "2m"
"#;
    let s = parse_scenario("s.toml", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.meta.start.rfc3339, "2017-10-02T08:00:00Z");
    assert_eq!(s.meta.start.unix_seconds, 1_506_931_200);
    let Action::Pool(p) = &s.steps[0].action else {
        panic!()
    };
    assert_eq!((p.cpu_limit_mhz, p.mem_limit_mb), (Some(-1), Some(1024)));
    let Action::Power(p) = &s.steps[1].action else {
        panic!()
    };
    assert!(!p.on);
    assert_eq!(s.steps[1].at, Duration::from_secs(60));
    let x = &s.expectations[0];
    assert_eq!(x.id, "expect-1");
    assert_eq!(
        (x.from, x.to),
        (
            Some(Duration::from_secs(20)),
            Some(Duration::from_secs(120))
        )
    );
    assert_eq!(x.instance, "0");
}

#[test]
fn every_library_scenario_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("library");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("library dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).expect("read");
            let s = scenarios::parse_scenario(&path.display().to_string(), &text)
                .unwrap_or_else(|e| panic!("{e}"));
            names.push(s.meta.name);
        }
    }
    names.sort();
    for want in [
        "capacity-ramp",
        "name-convention",
        "over-the-limits",
        "tls-modes",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}
