//! Broken scenario files: every problem at once, each at its line and column.

use scenarios::parse_scenario;

fn errors(text: &str) -> String {
    parse_scenario("over-the-limits.toml", text)
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

const BROKEN: &str = r#"[scenario]
name = "over-the-limits"
seed = 1
duration = "5m"
sample_interval = "5m"
colour = "red"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{ name = "esx", mhz = 1800 }]

[[vch]]
name = "limited"
args = ["--cpu", "500", ""]

[[vch]]
name = "limited"
args = []

[[step]]
at = "0s"
vch = "vch9"
docker = "run -d progrium/stress --cpu 1"

[[step]]
at = "6m"
vch = "limited"
docker = "commit x snapshot"

[[step]]
at = "10"
vch = "limited"
docker = "run 'unterminated"

[[step]]
at = "1m"
power = { vm = "ghost", state = "standby" }
pool = { name = "Nope" }

[[step]]
at = "1m"
pool = { name = "Nope", cpu_limit_mhz = 500 }

[[step]]
at = "1m"
power = { vm = "ghost", state = "on" }

[[step]]
at = "2m"
docker = "ps"
vch = "limited"
retries = 3

[[expect]]
id = "ready"
entity = "cpu-*"
kind = "container"
counter = "cpu.ready.summation"
stat = "avg"
min = 12000

[[expect]]
id = "ready"
entity = "cpu-*"
kind = "cluster"
counter = "cpu.ready"
stat = "median"
relative_to = "nope"

[[expect]]
entity = "x"
kind = "vm"
counter = "mem.latency.average"
stat = "avg"
min = 5
max = 1
to = "10m"

[surprise]
x = 1
"#;

#[test]
fn every_problem_at_once() {
    insta::assert_snapshot!(errors(BROKEN));
}

#[test]
fn problems_expose_line_and_column() {
    let e = parse_scenario("f.toml", BROKEN).unwrap_err();
    assert!(e.problems.len() >= 15, "{e}");
    let vch9 = e
        .problems
        .iter()
        .find(|p| p.message.contains("vch9"))
        .unwrap();
    assert_eq!((vch9.line, vch9.column), (23, 7));
    assert_eq!(vch9.message, "step 1: unknown vch \"vch9\"");
    assert!(e.to_string().lines().all(|l| l.starts_with("f.toml:")));
}

#[test]
fn syntax_errors_are_located() {
    let e = errors("[scenario]\nname = \"x\"\nseed = = 1\n");
    assert!(e.starts_with("over-the-limits.toml:3:"), "{e}");
    let e = errors("[scenario]\nname = \"x\"\nname = \"y\"\n");
    assert!(e.starts_with("over-the-limits.toml:3:"), "{e}");
}

#[test]
fn missing_sections_and_bad_metadata() {
    insta::assert_snapshot!(errors(
        "[scenario]\nname = \"\"\nseed = 1\nduration = \"90s\"\nstart = \"yesterday\"\n"
    ));
    insta::assert_snapshot!(errors("[[scenario]]\nname = \"x\"\n[vch]\nname = \"v\"\n"));
}

#[test]
fn inventory_problems_come_from_vcsim() {
    let e = errors(
        "[scenario]\nname = \"x\"\nseed = 1\nduration = \"1m\"\n\n[inventory]\n[[inventory.cluster]]\nname = \"C\"\nhosts = [{ name = \"esx\", cores = 0 }]\nvms = [{ name = \"a\", pool = \"Q\" }]\n",
    );
    assert!(e.contains(":6:2: inventory: "), "{e}");
    assert!(
        e.contains("pool \\\"Q\\\"") || e.contains("pool \"Q\""),
        "{e}"
    );
    let e = errors(
        "[scenario]\nname = \"x\"\nseed = 1\nduration = \"1m\"\n\n[inventory]\n[[inventory.cluster]]\nname = \"C\"\nhostz = []\n",
    );
    assert!(
        e.contains(":9:1: [inventory]: unknown field `hostz`"),
        "{e}"
    );
}

#[test]
fn docker_commands_are_checked_by_the_client_parser() {
    let text = r#"[scenario]
name = "x"
seed = 1
duration = "1m"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{ name = "esx", mhz = 1800 }]

[[vch]]
name = "v"
args = ["--name", "v"]

[[step]]
at = "0s"
vch = "v"
docker = "run -i --name attached busybox"

[[step]]
at = "0s"
vch = "v"
docker = "run -d --bogus busybox"

[[step]]
at = "0s"
vch = "v"
docker = "run -d -m lots busybox"
"#;
    let e = errors(text);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(
        lines[0].starts_with("over-the-limits.toml:18:10: step 1: docker run:"),
        "{e}"
    );
    assert!(lines[0].contains("-d"), "{e}");
    assert!(
        lines[1].starts_with("over-the-limits.toml:23:10: step 2: docker run:"),
        "{e}"
    );
    assert!(lines[1].contains("--bogus"), "{e}");
    assert!(
        lines[2].starts_with("over-the-limits.toml:28:10: step 3: docker run:"),
        "{e}"
    );
}

#[test]
fn step_expectations_are_checked() {
    let text = r#"[scenario]
name = "x"
seed = 1
duration = "1m"

[inventory]
[[inventory.cluster]]
name = "Cluster"
hosts = [{ name = "esx", mhz = 1800 }]

[[vch]]
name = "v"
args = ["--name", "v"]

[[step]]
at = "0s"
vch = "v"
docker = "run -d busybox"
expect = "maybe"

[[step]]
at = "0s"
vch = "v"
docker = "run -d busybox"
expect = "ok"
expect_error = "no"
"#;
    let e = errors(text);
    assert!(
        e.contains(":19:10: step 1: expect must be \"ok\" or \"fail\", not \"maybe\""),
        "{e}"
    );
    assert!(
        e.contains(":26:16: step 2: expect_error contradicts expect = \"ok\""),
        "{e}"
    );
}

#[test]
fn the_name_cannot_leave_the_report_directory() {
    let e = errors(
        "[scenario]\nname = \"../../etc\"\nseed = 1\nduration = \"1m\"\n[inventory]\n[[inventory.cluster]]\nname = \"C\"\nhosts = [{ name = \"esx\" }]\n",
    );
    assert!(
        e.contains(":2:8: [scenario]: name \"../../etc\" must be"),
        "{e}"
    );
}

#[test]
fn vch_arguments_are_parsed_by_vic_machines_parser() {
    let head = "[scenario]\nname = \"x\"\nseed = 1\nduration = \"1m\"\n[inventory]\n[[inventory.cluster]]\nname = \"C\"\nhosts = [{ name = \"esx\" }]\n";
    let e = errors(&format!(
        "{head}[[vch]]\nname = \"v\"\nargs = [\"--name\", \"v\", \"--cpu\", \"lots\"]\n"
    ));
    assert!(
        e.contains(":11:8: vch 1: vic-machine create: invalid value 'lots'"),
        "{e}"
    );
    let e = errors(&format!(
        "{head}[[vch]]\nname = \"v\"\nargs = [\"--name\", \"v\", \"500\"]\n"
    ));
    assert!(
        e.contains(":11:8: vch 1: vic-machine create: Unknown argument: 500"),
        "{e}"
    );
    let e = errors(&format!(
        "{head}[[vch]]\nname = \"v\"\nargs = [\"--target\", \"https://vc\"]\n"
    ));
    assert!(e.contains("vch 1: args must not give --target"), "{e}");
}
