//! Scenario runs end to end: emulator over HTTPS, `vic-machine create` (fresh certificates),
//! `docker run` over each VCH's TLS mode, the virtual clock through the model, `QueryPerf`
//! read-back, verdicts, and the whole report (charts as SVG and PNG, CSV, JSON, JUnit).
//!
//! * `scenario/over-the-limits`: the seed experiment — 2 VCHs, 4 containerVMs, 300 s
//!   simulated. Target: ≤ 1 s warm.
//! * `scenario/hundred-containers`: 100 containerVMs started on one VCH, 300 s simulated.
//!
//! Run: `cargo bench --bench scenario -- --warm-up-time 1 --measurement-time 10`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

fn library(name: &str) -> String {
    let path = format!(
        "{}/scenarios/library/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("library scenario")
}

/// One VCH and `n` small containers started at once, for 5 minutes.
fn many_containers(n: usize) -> String {
    let mut s = String::from(
        r#"[scenario]
name = "hundred-containers"
seed = 5
duration = "5m"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{ name = "esx", cores = 32, mhz = 2000, memory_mb = 262144, count = 4 }]

[[vch]]
name = "big"
args = ["--name", "vch-big", "--compute-resource", "Cluster", "--bridge-network", "DC0_DVPG0",
        "--cpu", "64000", "--no-tlsverify"]

[[expect]]
id = "all-running"
entity = "c*"
kind = "container"
counter = "cpu.usagemhz.average"
stat = "max"
min = 1
"#,
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n[[step]]\nat = \"0s\"\nvch = \"big\"\ndocker = \"run -d --name c{i:03} -m 512m --cpuset-cpus 1 progrium/stress --cpu 1 --timeout 600s\"\n"
        ));
    }
    s
}

fn run_and_render(rt: &tokio::runtime::Runtime, text: &str, out: &std::path::Path) {
    let scenario = scenarios::parse_scenario("bench.toml", text).expect("valid");
    let hash = scenarios::scenario_hash(text);
    let outcome = rt
        .block_on(scenarios::run(
            &scenario,
            &hash,
            &scenarios::RunOptions::default(),
        ))
        .expect("run");
    assert!(outcome.passed(), "{:#?}", outcome.verdicts);
    reports::render(&outcome, out).expect("report");
}

fn bench(c: &mut Criterion) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let out = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("scenario");
    g.sample_size(10);
    let seed = library("over-the-limits");
    g.bench_function("over-the-limits", |b| {
        b.iter(|| run_and_render(&rt, &seed, &out.path().join("seed")))
    });
    let hundred = many_containers(100);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("hundred-containers", |b| {
        b.iter(|| run_and_render(&rt, &hundred, &out.path().join("hundred")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
