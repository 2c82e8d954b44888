//! The developer-workflow library scenario: the seed post's six steps (a DCH, a build, a
//! push to a registry the run starts, the VCH pulling and running the image on a routable
//! network, nginx answering there) pass, the same build takes longer in virtual time on the
//! tight VCH — longer still when it is tighter — and two runs give the same outcome.

use std::collections::BTreeMap;

use scenarios::{RunOptions, RunOutcome, parse_scenario};

/// Runs the library scenario with `overrides`.
async fn developer_workflow(overrides: &[(&str, &str)]) -> RunOutcome {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = format!("{}/library", env!("CARGO_MANIFEST_DIR"));
    let path = format!("{dir}/developer-workflow.toml");
    let text = std::fs::read_to_string(&path).expect("library scenario");
    let overrides: BTreeMap<String, String> = overrides
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let (s, hash) = scenarios::Scenario::parse_with(&path, &text, &overrides).expect("valid");
    let options = RunOptions {
        base_dir: Some(dir.into()),
        ..RunOptions::default()
    };
    scenarios::run(&s, &hash, &options)
        .await
        .expect("run completes")
}

/// The tight VCH's build: its virtual duration in ms.
fn tight_build_ms(o: &RunOutcome) -> i64 {
    o.steps
        .iter()
        .find(|s| s.command.contains("build") && s.command.contains("of tight"))
        .and_then(|s| s.virtual_ms)
        .unwrap_or_else(|| panic!("{:#?}", o.steps))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_six_steps_pass_and_the_tight_build_takes_longer() {
    let a = developer_workflow(&[]).await;
    for v in &a.verdicts {
        assert!(
            v.passed,
            "{}: {} — {} {:?}",
            v.id, v.statement, v.reason, v.observed
        );
    }
    let unlimited_ms = a
        .steps
        .iter()
        .find(|s| s.command.contains("build") && s.command.contains("of dev"))
        .and_then(|s| s.virtual_ms)
        .expect("the dev build was measured");
    let tight_ms = tight_build_ms(&a);
    assert!(tight_ms > 4 * unlimited_ms, "{tight_ms} vs {unlimited_ms}");
    // The probe reached nginx on the container's own routable address.
    let probe = a
        .steps
        .iter()
        .find(|s| s.command.starts_with("http"))
        .expect("probe");
    assert!(probe.ok && probe.result.starts_with("200"), "{probe:?}");

    // Deterministic: the same outcome again.
    let b = developer_workflow(&[]).await;
    assert_eq!(a.steps, b.steps);
    assert_eq!(a.verdicts, b.verdicts);
    assert_eq!(a.series, b.series);

    // Half the limit: the build's CPU takes about twice as long.
    let c = developer_workflow(&[("tight_cpu_mhz", "150")]).await;
    let slower_ms = tight_build_ms(&c);
    assert!(
        slower_ms as f64 > 1.6 * tight_ms as f64,
        "{slower_ms} at 150 MHz vs {tight_ms} at 300 MHz"
    );
}

#[test]
fn devflow_mistakes_are_found_at_parse_time() {
    let base = r#"
[scenario]
name = "x"
seed = 1
duration = "5m"
[inventory]
datacenter = "DC0"
[[inventory.cluster]]
name = "C"
hosts = [{ name = "esx" }]
[[registry]]
name = "registry.corp.local"
users = ["dev"]
[[vch]]
name = "v"
registry_ca = ["harbor.other.local"]
args = ["--name", "v", "--compute-resource", "C", "--bridge-network", "DC0_DVPG0", "--no-tlsverify"]
[[step]]
at = "0s"
vch = "v"
http = "web"
[[step]]
at = "0s"
vch = "v"
http = "web:80"
[[step]]
at = "0s"
vch = "v"
dch = "dch"
docker = "build -t x:1 ctx"
expect_duration_max = "soon"
[[step]]
at = "0s"
pool = { name = "v", cpu_limit_mhz = 100 }
dch = "dch"
[[step]]
at = "0s"
vch = "v"
docker = "ps"
expect_duration_max = "1m"
[[step]]
at = "0s"
vch = "v"
dch = "dch"
docker = "build -t x:1 ctx"
expect_duration_min = "2m"
expect_duration_max = "1m"
"#;
    let e = parse_scenario("x.toml", base)
        .expect_err("refused")
        .to_string();
    for text in [
        "user \"dev\" must be written user:password",
        "registry_ca names \"harbor.other.local\", which no [[registry]] declares",
        "http must be \"<container>:<port>\"",
        "an `http` step needs `network",
        "expect_duration_max",
        "`dch` only goes with `docker`",
        "expect_duration_min/max only go with a `docker build` sent to a DCH",
        "expect_duration_max is below expect_duration_min",
    ] {
        assert!(e.contains(text), "{text:?} in\n{e}");
    }
}
