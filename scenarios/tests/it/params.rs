//! Parametric scenarios (`[vars]`, `${…}`, `count`/`every`), bounds in display units and the
//! parse-time checks against the catalogues, through the public API a sweep uses.

use std::collections::BTreeMap;
use std::time::Duration;

use scenarios::{Action, Scenario, VarValue, parse_scenario, scenario_hash};

const HEAD: &str = r#"[scenario]
name = "p"
seed = 1
duration = "5m"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{ name = "esx", cores = 8, mhz = 1800, memory_mb = 65536 }]
"#;

fn with(body: &str) -> String {
    format!("{HEAD}\n{body}")
}

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn errors(text: &str, overrides: &[(&str, &str)]) -> String {
    Scenario::parse_with("p.toml", text, &set(overrides))
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

const PARAMETRIC: &str = r#"[vars]
cpu = 4000
containers = 3
image = "progrium/stress"
window = "1m"

[[vch]]
name = "web"
args = ["--name", "vch-web", "--compute-resource", "Cluster", "--bridge-network", "DC0_DVPG0", "--cpu", "${cpu}"]

[[step]]
at = "30s"
count = ${containers}
every = "${window}"
vch = "web"
docker = "run -d --name web${i} ${image} --cpu 1"

[[expect]]
entity = "vch-web"
kind = "pool"
counter = "cpu.usagemhz.average"
stat = "max"
max = ${cpu}
from = "${window}"
"#;

#[test]
fn overrides_reach_every_use_and_the_hash() {
    let text = with(PARAMETRIC);
    let (s, hash) = Scenario::parse_with("p.toml", &text, &BTreeMap::new()).expect("valid");
    assert_eq!(s.vars["cpu"], VarValue::Integer(4000));
    assert!(s.vchs[0].args.contains(&"4000".to_owned()));
    assert_eq!(s.expectations[0].max, Some(4000.0));
    assert_eq!(s.expectations[0].from, Some(Duration::from_secs(60)));
    let (t, other) = Scenario::parse_with(
        "p.toml",
        &text,
        &set(&[("cpu", "5200"), ("containers", "5"), ("window", "20s")]),
    )
    .expect("valid");
    assert_eq!(t.vars["cpu"], VarValue::Integer(5200));
    assert!(t.vchs[0].args.contains(&"5200".to_owned()));
    assert_eq!(t.expectations[0].max, Some(5200.0));
    assert_eq!(t.steps.len(), 5);
    assert_eq!(t.steps[4].at, Duration::from_secs(30 + 4 * 20));
    assert_ne!(hash, other, "points that differ in a value differ in hash");
    // A file without `${…}` hashes as it always did.
    let plain = with("");
    let (_, h) = Scenario::parse_with("p.toml", &plain, &BTreeMap::new()).expect("valid");
    assert_eq!(h, scenario_hash(&plain));
    // The defaults are what parse_scenario sees.
    assert_eq!(parse_scenario("p.toml", &text).expect("valid"), s);
}

#[test]
fn count_and_every_repeat_a_step_with_its_number() {
    let s = parse_scenario("p.toml", &with(PARAMETRIC)).expect("valid");
    let names: Vec<(Option<u32>, u64, String)> = s
        .steps
        .iter()
        .map(|st| {
            let Action::Docker(d) = &st.action else {
                panic!("{st:?}")
            };
            (st.repetition, st.at.as_secs(), d.argv.join(" "))
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (
                Some(1),
                30,
                "run -d --name web1 progrium/stress --cpu 1".to_owned()
            ),
            (
                Some(2),
                90,
                "run -d --name web2 progrium/stress --cpu 1".to_owned()
            ),
            (
                Some(3),
                150,
                "run -d --name web3 progrium/stress --cpu 1".to_owned()
            ),
        ]
    );
    assert!(s.steps.iter().all(|st| st.index == 1));
}

#[test]
fn problems_with_vars_and_repetitions_are_located_in_the_file() {
    let text = with(
        r#"[vars]
n = 2

[[vch]]
name = "web"
args = ["--name", "vch-web", "--compute-resource", "Cluster", "--bridge-network", "DC0_DVPG0"]

[[step]]
at = "1m"
count = ${n}
every = "3m"
vch = "web"
docker = "run -d --name a${i} busybox"

[[step]]
at = "0s"
vch = "web"
docker = "run -d --name b${i} busybox"

[[step]]
at = "0s"
every = "1m"
count = 0
vch = "web"
docker = "ps"

[[expect]]
entity = "${nope}"
kind = "container"
counter = "cpu.ready.summation"
stat = "max"
max = 1
"#,
    );
    let e = errors(&text, &[("n", "3")]);
    let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for want in [
        format!(
            "p.toml:{}:9: step 1: repetition 3 would run at 7m, after the scenario's duration 5m",
            line("every = \"3m\"")
        ),
        format!(
            "p.toml:{}:10: step 2: ${{i}} is the repetition number of a step with `count`: give the step `count`",
            line("name b${i}")
        ),
        format!(
            "p.toml:{}:9: step 3: count 0 must be from 1 to",
            line("count = 0")
        ),
        format!(
            "p.toml:{}:11: unknown variable `nope` (declared: n)",
            line("${nope}")
        ),
    ] {
        assert!(e.contains(&want), "{want}\n{e}");
    }
}

#[test]
fn parse_time_checks_against_the_catalogues() {
    let text = with(
        r#"[[vch]]
name = "web"
args = ["--name", "vch-web", "--compute-resource", "Silver", "--bridge-network", "DC0_DVPG0"]

[[step]]
at = "0s"
vch = "web"
docker = "run -d --name a ngnix"

[[step]]
at = "0s"
vch = "web"
docker = "run -d --name b ngnix"
expect_error = "not found"

[[step]]
at = "6m"
vch = "web"
docker = "pull ngnix"

[[expect]]
entity = "a"
kind = "container"
counter = "cpu.ready.average"
stat = "max"
max = 1

[[expect]]
entity = "vch-web"
kind = "pool"
counter = "cpu.ready.summation"
stat = "max"
max = 1
to = "7m"

[[expect]]
entity = "a"
kind = "container"
counter = "mem.vmmemctl.average"
stat = "max"
max = "2XB"
from = "6m"
"#,
    );
    let e = errors(&text, &[]);
    let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for want in [
        format!(
            "p.toml:{}:52: vch 1: --compute-resource \"Silver\" is not in the inventory (clusters Cluster; pools vch-web)",
            line("Silver")
        ),
        format!(
            "p.toml:{}:10: step 1: image \"ngnix\" is not in the testbed's image catalogue",
            line("name a ngnix")
        ),
        format!(
            "p.toml:{}:6: step 3: at 6m is after the scenario's duration 5m",
            line("at = \"6m\"")
        ),
        format!("p.toml:{}:10: step 3: image \"ngnix\"", line("pull ngnix")),
        format!(
            "p.toml:{}:11: expect 1: counter \"cpu.ready.average\" is not in vCenter's counter catalogue (did you mean cpu.ready.summation?)",
            line("cpu.ready.average")
        ),
        format!(
            "p.toml:{}:11: expect 2: counter \"cpu.ready.summation\" is not reported for a pool",
            line("counter = \"cpu.ready.summation\"")
        ),
        format!(
            "p.toml:{}:6: expect 2: to 7m is after the scenario's duration 5m",
            line("to = \"7m\"")
        ),
        format!(
            "p.toml:{}:7: expect 3: bound \"2XB\": unit \"XB\" is not one of KB",
            line("2XB")
        ),
        format!(
            "p.toml:{}:8: expect 3: from 6m is after",
            line("from = \"6m\"")
        ),
    ] {
        assert!(e.contains(&want), "{want}\n{e}");
    }
    // An image a step expects to be refused is not a mistake.
    assert!(!e.contains("step 2"), "{e}");
}

#[test]
fn bounds_are_read_in_display_units() {
    let text = with(
        r#"[[expect]]
id = "ready-pct"
entity = "*"
kind = "container"
counter = "cpu.readiness.average"
stat = "p95"
max = 5

[[expect]]
id = "balloon"
entity = "*"
kind = "container"
counter = "mem.vmmemctl.average"
stat = "max"
min = "512MB"
max = "2GB"

[[expect]]
id = "latency"
entity = "*"
kind = "container"
counter = "mem.latency.average"
stat = "avg"
max = "30%"
"#,
    );
    let s = parse_scenario("p.toml", &text).expect("valid");
    let e = |id: &str| s.expectations.iter().find(|e| e.id == id).unwrap();
    assert_eq!(
        (e("ready-pct").max, e("ready-pct").unit.symbol),
        (Some(5.0), "%")
    );
    assert_eq!(e("ready-pct").unit.from_raw(540.0), 5.4);
    assert_eq!(
        (e("balloon").min, e("balloon").max),
        (Some(512.0), Some(2048.0))
    );
    assert_eq!(e("balloon").unit.from_raw(524_288.0), 512.0);
    assert_eq!(e("latency").max, Some(30.0));
    assert_eq!(
        scenarios::evaluate::statement(e("balloon")),
        "max mem.vmmemctl.average of container * in [512 MB, 2048 MB]"
    );
}
