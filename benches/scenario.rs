//! Scenario runs end to end: emulator over HTTPS, `vic-machine create` (fresh certificates),
//! `docker run` over each VCH's TLS mode, the virtual clock through the model, `QueryPerf`
//! read-back, verdicts, and the whole report (charts as SVG and PNG, CSV, JSON, JUnit).
//!
//! * `scenario/over-the-limits`: the seed experiment — 2 VCHs, 4 containerVMs, 300 s
//!   simulated. Target: ≤ 1 s warm.
//! * `scenario/hundred-containers`: 100 containerVMs started on one VCH, 300 s simulated.
//!
//! * `scale/run/{100,1000}x1h` and `scale/run/5000x12m`: the runner alone (no report), on
//!   one core: `n` single-vCPU stress containers on one VCH, started one after another over
//!   the first sixth of the simulated time. The cost is linear in the work, with two terms:
//!   each container's `docker run` (TLS connection, create, power-on, the port layer's SOAP
//!   calls) and each container-hour of stepping and read-back. 5 000 × 12 min has the
//!   container-hours of 1 000 × 1 h and five times the creations (kept short so an
//!   iteration stays bounded); the three sizes fit cost ≈ 6.5 ms × containers + 3.8 ms ×
//!   container-hours (0.99 s, 10.3 s, 36.1 s measured with other builds running on the 2
//!   cores). Target: 1 000 × 1 h ≤ 10 s.
//!
//! * `sweep/over-the-limits/10-points`: `vicbed sweep`'s engine on the seed scenario, ten
//!   values of `cpu_limit_mhz` on two jobs, with the sweep command's key reuse (one RSA key
//!   per process, see `vic::tls::reuse_private_keys_in_this_process`). Criterion's
//!   throughput line gives points/s. Target: ≥ 10 points/s on this 2-core machine.
//!
//! Run: `cargo bench --bench scenario -- --warm-up-time 1 --measurement-time 10`
//! (`-- scale` for the scale group alone).

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

/// One VCH on enough 32-core hosts (at most 100), `n` single-vCPU CPU stress containers
/// started one after another over the first sixth of `duration_s`, which is simulated. Over
/// the scenario limit of containers the file could not be parsed, so the file has one
/// `docker run` and the others are copies of it with their own name and time.
fn ramp(n: usize, duration_s: usize) -> (scenarios::Scenario, String) {
    let hosts = n.div_ceil(32).clamp(2, 100);
    let text = format!(
        r#"[scenario]
name = "ramp-{n}"
seed = 11
duration = "{duration_s}s"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{{ name = "esx", cores = 32, mhz = 2000, memory_mb = 262144, count = {hosts} }}]

[[vch]]
name = "big"
args = ["--name", "vch-big", "--compute-resource", "Cluster", "--bridge-network", "DC0_DVPG0",
        "--no-tlsverify"]

[[step]]
at = "0s"
vch = "big"
docker = "run -d --name c0 -m 512m --cpuset-cpus 1 progrium/stress --cpu 1 --timeout 7200s"
"#
    );
    let mut scenario = scenarios::parse_scenario("bench.toml", &text).expect("valid");
    let first = scenario.steps[0].clone();
    for i in 1..n {
        let mut step = first.clone();
        step.index = i + 1;
        step.at = Duration::from_secs(u64::try_from(i * duration_s / 6 / n).expect("small"));
        if let scenarios::schema::Action::Docker(d) = &mut step.action {
            d.argv[3] = format!("c{i}");
        }
        scenario.steps.push(step);
    }
    let hash = scenarios::scenario_hash(&text);
    (scenario, hash)
}

/// Runs `scenario` (no report); the number of series read back.
fn run_only(rt: &tokio::runtime::Runtime, scenario: &scenarios::Scenario, hash: &str) -> usize {
    let outcome = rt
        .block_on(scenarios::run(
            scenario,
            hash,
            &scenarios::RunOptions::default(),
        ))
        .expect("run");
    assert!(
        outcome.steps.iter().all(|s| s.ok),
        "a container did not start"
    );
    outcome.series.len()
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

    // One core, as the target says; the emulator and the runner share it.
    let one = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    for (n, duration_s, label) in [(100, 3600, "1h"), (1000, 3600, "1h"), (5000, 720, "12m")] {
        let (scenario, hash) = ramp(n, duration_s);
        g.measurement_time(Duration::from_secs(if n > 100 { 60 } else { 10 }));
        g.bench_function(format!("run/{n}x{label}"), |b| {
            b.iter(|| run_only(&one, &scenario, &hash))
        });
    }
    g.finish();
}

/// Last, because it turns on the process-wide key reuse the runs above must not have.
fn bench_sweep(c: &mut Criterion) {
    vic::tls::reuse_private_keys_in_this_process();
    let text = library("over-the-limits");
    let shown = "over-the-limits.toml";
    let plan = scenarios::sweep::SweepPlan {
        axes: vec![scenarios::sweep::Axis::parse("cpu_limit_mhz=300..1200/100").expect("axis")],
        goal: scenarios::sweep::Goal::default(),
        search: None,
        shard: None,
        jobs: 2,
    };
    let load = |values: &[(String, String)]| {
        let all: std::collections::BTreeMap<String, String> = values.iter().cloned().collect();
        scenarios::Scenario::parse_with(shown, &text, &all).map_err(|e| e.to_string())
    };
    let runner = |scenario: &scenarios::Scenario, hash: &str| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(scenarios::run(
            scenario,
            hash,
            &scenarios::RunOptions::default(),
        ))
        .map_err(|e| e.to_string())
    };
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Elements(10));
    g.bench_function("over-the-limits/10-points", |b| {
        b.iter(|| {
            let (points, _) =
                scenarios::sweep::sweep(&plan, &load, &runner, &|_| {}).expect("sweep");
            assert_eq!(points.len(), 10);
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bench_sweep);
criterion_main!(benches);
