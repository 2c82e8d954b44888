//! Workloads that vary, through a scenario file: a VM of `[inventory]` replays a CSV trace
//! that lies beside the scenario (paths resolve against the scenario's directory), and a
//! trace that is missing is a parse-time problem, not a failed run.

use scenarios::schema::EntityKind;
use scenarios::{RunOptions, Scenario, scenario_hash};

const TRACE_CSV: &str = "Time,Usage in MHz,Active (KB)\n\
2017-10-02T08:00:00Z,300,102400\n\
2017-10-02T08:00:20Z,600,102400\n\
2017-10-02T08:00:40Z,900,102400\n\
2017-10-02T08:01:00Z,1200,102400\n";

const SCENARIO: &str = r#"
[scenario]
name = "trace"
seed = 3
start = "2017-10-02T08:00:00Z"
duration = "2m"

[inventory]
[[inventory.cluster]]
name = "C"
hosts = [{ name = "esx", cores = 4, mhz = 2000, memory_mb = 16384 }]
vms = [{ name = "web", vcpus = 1, memory_mb = 1024, workload = "trace=traces/web.csv" }]

[[expect]]
id = "follows"
entity = "web"
kind = "vm"
counter = "cpu.usagemhz.average"
stat = "max"
min = 1100
max = 1300
"#;

fn parse(dir: &std::path::Path) -> Result<(Scenario, String), String> {
    let path = dir.join("trace.toml");
    std::fs::write(&path, SCENARIO).expect("write scenario");
    Scenario::parse_with(&path.display().to_string(), SCENARIO, &Default::default())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_vm_replays_the_trace_beside_the_file() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("traces")).expect("mkdir");
    std::fs::write(dir.path().join("traces/web.csv"), TRACE_CSV).expect("write trace");
    let (scenario, _) = parse(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let outcome = scenarios::run(&scenario, &scenario_hash(SCENARIO), &RunOptions::default())
        .await
        .expect("run");
    let series = outcome
        .series_of(EntityKind::Vm, "web", "cpu.usagemhz.average")
        .expect("usage of web");
    let mut values = Vec::new();
    series
        .points
        .try_for_each(|p| values.push(p.value))
        .expect("samples");
    // One sample per 20 s trace row, then idle (1 % of a 2 000 MHz core) past its end.
    assert_eq!(&values[..4], &[300, 600, 900, 1200], "{values:?}");
    assert!(values[4..].iter().all(|v| *v <= 25), "{values:?}");
    assert!(outcome.passed(), "{:#?}", outcome.verdicts);
}

#[test]
fn a_missing_trace_is_a_parse_time_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = parse(dir.path()).expect_err("the trace is missing");
    assert!(err.contains("traces/web.csv"), "{err}");
}
