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
            base_dir: None,
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

/// Runs `short-lived-jobs` with the limited VCH at `cpu_limit_mhz`.
async fn short_lived_jobs(cpu_limit_mhz: u32) -> RunOutcome {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let path = format!(
        "{}/library/short-lived-jobs.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("library scenario");
    let overrides =
        std::collections::BTreeMap::from([("cpu_limit_mhz".to_owned(), cpu_limit_mhz.to_string())]);
    let (s, hash) = scenarios::Scenario::parse_with(&path, &text, &overrides).expect("valid");
    scenarios::run(&s, &hash, &RunOptions::default())
        .await
        .expect("run completes")
}

fn mean_run_s(o: &RunOutcome, vch: &str) -> f64 {
    let ended: Vec<u64> = o
        .runs
        .iter()
        .filter(|r| r.vch == vch)
        .map(|r| r.run_s.expect("every job ended"))
        .collect();
    assert_eq!(ended.len(), 8, "{vch}: {:?}", o.runs);
    ended.iter().sum::<u64>() as f64 / ended.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_jobs_take_longer_under_a_cpu_limit_in_proportion_to_it() {
    let a = short_lived_jobs(2000).await;
    for v in &a.verdicts {
        assert!(
            v.passed,
            "{}: {} — {} {:?}",
            v.id, v.statement, v.reason, v.observed
        );
    }
    assert!(
        a.runs.iter().all(|r| r.exit_code == Some(0)),
        "{:?}",
        a.runs
    );
    // 8 jobs × 60 000 MHz·s: unlimited, each has a 1800 MHz core (about 33 s); limited, they
    // share 2000 MHz (at least 240 s, a little more for what the limit's pool also runs).
    let unlimited = mean_run_s(&a, "unlimited");
    let limited = mean_run_s(&a, "limited");
    assert!((30.0..=40.0).contains(&unlimited), "{unlimited}");
    assert!((240.0..=280.0).contains(&limited), "{limited}");
    // The run time series carries the same numbers for the expectations.
    let s = a
        .series_of(
            EntityKind::Container,
            "limited-job-1",
            "container.runtime.latest",
        )
        .expect("run time series");
    assert_eq!(s.points.last().map(|p| p.value as f64), Some(limited));
    // Deterministic, like every other part of the outcome.
    let b = short_lived_jobs(2000).await;
    assert_eq!(first_difference(&a, &b), None);

    // Twice the limit: the limited jobs take about half as long.
    let c = short_lived_jobs(4000).await;
    let faster = mean_run_s(&c, "limited");
    assert!(
        (limited / faster - 2.0).abs() < 0.2,
        "{limited} s at 2000 MHz against {faster} s at 4000 MHz"
    );
    assert_eq!(mean_run_s(&c, "unlimited"), unlimited);
}
