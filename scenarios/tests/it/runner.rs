//! The runner end to end on the seed scenario: in-process emulator over HTTPS, two VCHs by
//! `vic-machine create`, `docker run` over each VCH's TLS mode, 5 virtual minutes, QueryPerf.

use scenarios::outcome::first_difference;
use scenarios::schema::EntityKind;
use scenarios::{RunOptions, RunOutcome, parse_scenario, scenario_hash};

fn library(name: &str) -> (scenarios::Scenario, String) {
    let path = format!("{}/library/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("library scenario");
    let s = parse_scenario(&path, &text).expect("valid scenario");
    (s, scenario_hash(&text))
}

async fn run(name: &str, seed: Option<u64>) -> RunOutcome {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (s, hash) = library(name);
    scenarios::run(
        &s,
        &hash,
        &RunOptions {
            seed,
            progress: false,
        },
    )
    .await
    .expect("run completes")
}

fn avg(o: &RunOutcome, entity: &str, counter: &str) -> f64 {
    let s = o
        .series_of(EntityKind::Container, entity, counter)
        .unwrap_or_else(|| panic!("no {counter} for {entity}"));
    s.points.stats().avg.expect("samples")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_limits_meets_the_seed_observations_and_is_deterministic() {
    let a = run("over-the-limits", None).await;
    for v in &a.verdicts {
        assert!(
            v.passed,
            "{}: {} — {} {:?}",
            v.id, v.statement, v.reason, v.observed
        );
    }
    assert!(a.steps.iter().all(|s| s.ok), "{:#?}", a.steps);
    // 5 minutes of 20 s samples for each container.
    let ready = a
        .series_of(EntityKind::Container, "cpu-limited", "cpu.ready.summation")
        .expect("ready series");
    assert_eq!(ready.points.len(), 15, "{ready:?}");
    let points = ready.points.read().expect("read back");
    assert_eq!(points[0].offset_s, 20);
    assert_eq!(points[14].offset_s, 300);
    let limited = avg(&a, "cpu-limited", "cpu.entitlement.latest");
    let unlimited = avg(&a, "cpu-unlimited", "cpu.entitlement.latest");
    assert!(
        limited <= 500.0 && unlimited / limited > 4.0,
        "{limited} {unlimited}"
    );
    // Entities carry their VCH; the VCH pools are there with their limits.
    let pool = a
        .entities
        .iter()
        .find(|e| e.kind == EntityKind::Pool && e.name == "vch-limited")
        .expect("VCH pool");
    assert_eq!(pool.vch.as_deref(), Some("limited"));
    assert_eq!(a.vchs[0].cpu_limit_mhz, Some(500));
    assert_eq!(a.vchs[1].cpu_limit_mhz, None);
    assert_eq!(a.vchs[0].tls_mode, "server-only");

    let b = run("over-the-limits", None).await;
    assert_eq!(first_difference(&a, &b), None);
    assert_eq!(a, b);

    // Another seed still satisfies the bands (the seed-dependent parts are ids and names).
    let c = run("over-the-limits", Some(7)).await;
    assert!(c.passed());
    assert_eq!(c.meta.seed, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_library_scenarios_hold() {
    for name in ["name-convention", "tls-modes", "capacity-ramp"] {
        let o = run(name, None).await;
        for v in &o.verdicts {
            assert!(
                v.passed,
                "{name} {}: {} — {} {:?}",
                v.id, v.statement, v.reason, v.observed
            );
        }
        assert!(o.steps.iter().all(|s| s.ok), "{name}: {:#?}", o.steps);
    }
}
