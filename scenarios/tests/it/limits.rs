//! Scenario bounds: what could not finish (or would grow memory without end) is refused at
//! validation, located like every other problem, with the limit in the message.

use scenarios::limits::{
    MAX_CONTAINERS, MAX_EXPECTATIONS, MAX_FILE_BYTES, MAX_INVENTORY_HOSTS, MAX_INVENTORY_VMS,
    MAX_STEPS, MAX_VCHS,
};
use scenarios::parse_scenario;

const HEAD: &str = r#"[scenario]
name = "big"
seed = 1
duration = "DURATION"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{ name = "esx", count = HOSTS }]
vms = [{ name = "web", count = VMS }]

[[vch]]
name = "v"
args = ["--name", "vch-v", "--compute-resource", "Cluster", "--bridge-network", "DC0_DVPG0"]
"#;

fn head(duration: &str, hosts: u64, vms: u64) -> String {
    HEAD.replace("DURATION", duration)
        .replace("HOSTS", &hosts.to_string())
        .replace("VMS", &vms.to_string())
}

fn steps(text: &mut String, n: usize, docker: &str) {
    for _ in 0..n {
        text.push_str(&format!(
            "\n[[step]]\nat = \"0s\"\nvch = \"v\"\ndocker = \"{docker}\"\n"
        ));
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse_scenario("big.toml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(str::to_owned).collect(),
    }
}

#[test]
fn the_largest_scenario_within_every_bound_is_accepted() {
    let mut text = head("168h", MAX_INVENTORY_HOSTS, MAX_INVENTORY_VMS);
    steps(&mut text, MAX_CONTAINERS, "run -d busybox");
    steps(&mut text, MAX_STEPS - MAX_CONTAINERS, "ps");
    for i in 0..MAX_EXPECTATIONS {
        text.push_str(&format!(
            "\n[[expect]]\nid = \"e{i}\"\nentity = \"*\"\nkind = \"container\"\ncounter = \"cpu.ready.summation\"\nstat = \"avg\"\nmax = 1\n"
        ));
    }
    for i in 1..MAX_VCHS {
        text.push_str(&format!(
            "\n[[vch]]\nname = \"v{i}\"\nargs = [\"--name\", \"vch-{i}\"]\n"
        ));
    }
    assert!(text.len() <= MAX_FILE_BYTES);
    assert_eq!(errors(&text), Vec::<String>::new());
}

#[test]
fn a_duration_over_one_week_is_refused_at_its_place() {
    let e = errors(&head("876000h", 1, 1));
    assert_eq!(
        e,
        [
            "big.toml:4:12: [scenario]: duration 876000h is longer than the limit of 168h (7 days: 30240 samples of 20s per series)"
        ]
    );
    assert_eq!(errors(&head("168h20s", 1, 1)).len(), 1);
}

#[test]
fn too_many_steps_and_containers_are_refused_once_each() {
    // 1 000 000 steps would parse for minutes; one over the bound is enough to show it.
    let mut text = head("5m", 1, 1);
    steps(&mut text, MAX_CONTAINERS + 1, "run -d busybox");
    steps(&mut text, MAX_STEPS - MAX_CONTAINERS, "docker ps");
    let e = errors(&text);
    // Step n's first key (`at`): after the head, 5 lines per step (blank, header, 3 keys).
    let at_line = |n: usize| HEAD.lines().count() + 2 + 5 * (n - 1);
    assert_eq!(
        e,
        [
            format!(
                "big.toml:{}:1: step {}: a scenario may start at most {MAX_CONTAINERS} containers (`docker run` steps); this is run number {}",
                at_line(MAX_CONTAINERS + 1),
                MAX_CONTAINERS + 1,
                MAX_CONTAINERS + 1
            ),
            format!(
                "big.toml:{}:1: step {}: a scenario may have at most {MAX_STEPS} steps",
                at_line(MAX_STEPS + 1),
                MAX_STEPS + 1
            ),
        ]
    );
}

#[test]
fn too_many_vchs_expectations_hosts_and_vms_are_refused() {
    let mut text = head("5m", MAX_INVENTORY_HOSTS + 1, MAX_INVENTORY_VMS + 1);
    for i in 1..=MAX_VCHS {
        text.push_str(&format!(
            "\n[[vch]]\nname = \"v{i}\"\nargs = [\"--name\", \"vch-{i}\"]\n"
        ));
    }
    for i in 0..=MAX_EXPECTATIONS {
        text.push_str(&format!(
            "\n[[expect]]\nid = \"e{i}\"\nentity = \"*\"\nkind = \"host\"\ncounter = \"cpu.usagemhz.average\"\nstat = \"max\"\nmax = 1\n"
        ));
    }
    let e = errors(&text).join("\n");
    for want in [
        format!(
            "big.toml:6:2: inventory: {} hosts; a scenario may have at most {MAX_INVENTORY_HOSTS}",
            MAX_INVENTORY_HOSTS + 1
        ),
        format!(
            "big.toml:6:2: inventory: {} VMs; a scenario may have at most {MAX_INVENTORY_VMS}",
            MAX_INVENTORY_VMS + 1
        ),
        format!(
            "vch {}: a scenario may create at most {MAX_VCHS} VCHs",
            MAX_VCHS + 1
        ),
        format!(
            "expect {}: a scenario may have at most {MAX_EXPECTATIONS} expectations",
            MAX_EXPECTATIONS + 1
        ),
    ] {
        assert!(e.contains(&want), "{want}\nnot in\n{e}");
    }
    assert_eq!(e.lines().count(), 4, "{e}");
}

#[test]
fn a_file_over_4_mib_is_refused_before_parsing() {
    let mut text = head("5m", 1, 1);
    text.push_str(&format!("# {}\n", "x".repeat(MAX_FILE_BYTES)));
    let e = errors(&text);
    assert_eq!(
        e,
        [format!(
            "big.toml:1:1: the file is {} bytes; a scenario file may be at most {MAX_FILE_BYTES} bytes (4 MiB)",
            text.len()
        )]
    );
}
