//! The scenario file schema: what `parse_scenario` returns, as plain data.
//!
//! ```toml
//! [vars]                       # named values; ${name} anywhere below (see crate::vars)
//! cpu_limit = 500
//!
//! [scenario]
//! name = "over-the-limits"
//! seed = 42
//! duration = "5m"              # s, m, h suffixes; start defaults to 2017-10-02T08:00:00Z
//!
//! [inventory]                  # vcsim's inventory file shape
//! [[inventory.cluster]]
//! name = "Cluster"
//! hosts = [{ name = "esx", cores = 8, mhz = 1800, count = 3 }]
//! ha = true                    # vSphere HA (default off); scenario-only keys, see ClusterServices
//! drs = "fullyAutomated"       # or "partiallyAutomated", "manual", "off" (default: fullyAutomated)
//! ha_host_failures_tolerated = 1
//!
//! [[vch]]
//! name = "limited"
//! args = ["--name", "vch-limited", "--cpu", "${cpu_limit}", "--memory", "500"]
//!
//! [[step]]
//! at = "0s"
//! count = 2                    # repetition k at at + (k-1) × every; ${i} is k
//! every = "1m"
//! vch = "limited"
//! docker = "run -d --name stress${i} -m 4g --cpuset-cpus 2 progrium/stress --cpu 1 --timeout 300s"
//!
//! [[step]]
//! at = "10m"
//! host = { name = "esx-02", state = "failed" }   # or "maintenance", "disconnected", "connected"
//!
//! [[expect]]
//! id = "ready"
//! entity = "stress*"
//! kind = "container"
//! counter = "cpu.ready.summation"
//! stat = "avg"
//! min = 12000                  # in the counter's display unit (ms; % and MB elsewhere)
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use vcsim::inventory::{InventorySpec, SharesSpec};

use crate::errors::ScenarioErrors;
use crate::units::DisplayUnit;
use crate::vars::VarValue;

/// A whole, validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `[scenario]`.
    pub meta: Metadata,
    /// `[inventory]`: the emulator's inventory before any VCH exists.
    pub inventory: InventorySpec,
    /// `[[vch]]`, in file order.
    pub vchs: Vec<Vch>,
    /// `[[step]]`, in file order (not sorted by `at`).
    pub steps: Vec<Step>,
    /// `[[expect]]`, in file order.
    pub expectations: Vec<Expectation>,
    /// `[vars]`: every declared variable with the value in effect (its default, or the
    /// override the scenario was parsed with; see [`Scenario::parse_with`]).
    pub vars: BTreeMap<String, VarValue>,
    /// vSphere HA and DRS of the inventory's clusters that set `ha`, `drs` or
    /// `ha_host_failures_tolerated`, in file order.
    pub cluster_services: Vec<ClusterServices>,
    /// `[[registry]]`: container registries the run starts (Harbor-shaped, TLS from a CA
    /// of their own), which the engines reach by name.
    pub registries: Vec<RegistrySpec>,
}

/// `[[registry]]`: a registry the run starts on loopback, by host name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySpec {
    /// The host name image references use (`registry.corp.local`).
    pub name: String,
    /// Users (`user:password`) who may log in; none: anyone may push and pull.
    pub users: Vec<(String, String)>,
    /// Projects (`justait`), and whether each is public (anonymous pulls).
    pub projects: Vec<(String, bool)>,
}

/// The scenario-only keys of an `[[inventory.cluster]]`: vSphere HA and DRS, set on the
/// cluster (`ReconfigureComputeResource_Task`) before any VCH exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterServices {
    /// The cluster's name.
    pub cluster: String,
    /// `ha = true`: vSphere HA restarts the VMs of failed hosts.
    pub ha: bool,
    /// `drs = "…"`; `None` keeps the emulator's default (fully automated).
    pub drs: Option<DrsMode>,
    /// `ha_host_failures_tolerated = N` (with `ha`): HA admission control keeps the capacity
    /// of the N largest hosts for restarts (vSphere's "cluster resource percentage" policy,
    /// computed from N); 1 when HA is on and this is absent, as vSphere's default.
    pub ha_host_failures_tolerated: Option<u32>,
}

/// DRS automation of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrsMode {
    /// DRS disabled.
    Off,
    /// `manual`.
    Manual,
    /// `partiallyAutomated`.
    PartiallyAutomated,
    /// `fullyAutomated`: DRS evacuates hosts entering maintenance mode by itself.
    FullyAutomated,
}

impl DrsMode {
    /// The scenario word (`DrsBehavior` names, and `off`).
    pub fn as_str(self) -> &'static str {
        match self {
            DrsMode::Off => "off",
            DrsMode::Manual => "manual",
            DrsMode::PartiallyAutomated => "partiallyAutomated",
            DrsMode::FullyAutomated => "fullyAutomated",
        }
    }

    /// Parses a scenario word.
    pub fn parse(s: &str) -> Option<DrsMode> {
        [
            DrsMode::Off,
            DrsMode::Manual,
            DrsMode::PartiallyAutomated,
            DrsMode::FullyAutomated,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// `[scenario]`: metadata and the virtual clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// Scenario name (reports go to `out/<name>/`).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Seed of every random choice (overridable with `--seed`).
    pub seed: u64,
    /// Virtual start time.
    pub start: StartTime,
    /// How long the run lasts in virtual time.
    pub duration: Duration,
    /// Sampling interval; always 20 s (vSphere's realtime interval).
    pub sample_interval: Duration,
}

/// The virtual start time (RFC 3339).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartTime {
    /// Seconds since the Unix epoch (UTC).
    pub unix_seconds: i64,
    /// The time in UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub rfc3339: String,
}

/// `[[vch]]`: a VCH created with `vic-machine create` and these arguments. The runner adds
/// the target, credentials and thumbprint of the in-process emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vch {
    /// Name steps use in `vch = "…"`.
    pub name: String,
    /// `vic-machine create` arguments.
    pub args: Vec<String>,
    /// `registry_ca = ["registry.corp.local"]`: the `[[registry]]`s whose CA the runner
    /// passes as `--registry-ca`.
    pub registry_ca: Vec<String>,
}

impl Vch {
    /// The VCH's vSphere name: the value of `--name`/`-n`, else vic-machine's default
    /// `virtual-container-host`.
    pub fn vsphere_name(&self) -> &str {
        flag_value(&self.args, &["--name", "-n"]).unwrap_or("virtual-container-host")
    }
}

/// The value of the first of `flags` in `args` (`--flag value` or `--flag=value`).
pub fn flag_value<'a>(args: &'a [String], flags: &[&str]) -> Option<&'a str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for f in flags {
            if a == f {
                return it.next().map(String::as_str);
            }
            if let Some(v) = a.strip_prefix(f).and_then(|r| r.strip_prefix('=')) {
                return Some(v);
            }
        }
    }
    None
}

/// `[[step]]`: an action at an offset from the start. A step with `count = N` (and
/// `every = "D"`) becomes N steps with the same index, repetition k at `at + (k-1)×D`, with
/// `${i}` in its strings replaced by k.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 1-based position in the file (messages say `step N`).
    pub index: usize,
    /// The repetition's number (1-based) when the step has `count`.
    pub repetition: Option<u32>,
    /// Offset from the start.
    pub at: Duration,
    /// What happens.
    pub action: Action,
    /// What the step must do, when the file says (`expect = "ok"`, `expect = "fail"`,
    /// `expect_error = "…"`); it becomes a verdict.
    pub expect: Option<StepExpect>,
    /// More it must show (`expect_output`, `expect_duration_min/max`); each a verdict.
    pub checks: StepChecks,
}

/// What a step's output and duration must be, beyond success.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StepChecks {
    /// `expect_output = "…"`: text its output contains.
    pub output: Option<String>,
    /// `expect_duration_min = "5m"`: the least virtual time it took (a build on a DCH).
    pub duration_min: Option<Duration>,
    /// `expect_duration_max = "2m"`: the most virtual time it took.
    pub duration_max: Option<Duration>,
}

/// `http = "web:80"` with `vch` and `network`: an HTTP GET of `/` at the container's
/// address on a container network, from outside it (as a client on that network would).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpProbe {
    /// The `[[vch]]` name.
    pub vch: String,
    /// The container's name.
    pub container: String,
    /// The port.
    pub port: u16,
    /// The container network (`routable`).
    pub network: String,
}

/// A step's expected outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepExpect {
    /// It must succeed.
    Succeeds,
    /// It must fail, with a message containing this text when given.
    Fails(Option<String>),
}

/// A step's action.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A docker CLI command against a VCH.
    Docker(DockerCommand),
    /// Change a resource pool's allocation.
    Pool(PoolChange),
    /// Power a VM on or off.
    Power(PowerChange),
    /// Change a host's state.
    Host(HostChange),
    /// Ask a container's service over HTTP.
    Http(HttpProbe),
}

/// A host's new state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostChange {
    /// Host name, as the inventory names it (`count` expanded: `esx-01`, …).
    pub name: String,
    /// What happens to it.
    pub state: HostTarget,
}

/// What a host step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostTarget {
    /// The host fails (crash, power loss): its VMs stop, vSphere HA restarts them elsewhere
    /// when the cluster has it. The testbed's own operation (vSphere has no method for it).
    Failed,
    /// `EnterMaintenanceMode_Task` (DRS evacuates the host when fully automated; otherwise
    /// the step fails while VMs run there).
    Maintenance,
    /// `DisconnectHost_Task`: its VMs keep running, unmanaged.
    Disconnected,
    /// Back to normal: a failed host recovers, a disconnected one is reconnected
    /// (`ReconnectHost_Task`), one in maintenance mode exits it (`ExitMaintenanceMode_Task`).
    Connected,
}

impl HostTarget {
    /// Every state, in the order messages list them.
    pub const ALL: [HostTarget; 4] = [
        HostTarget::Failed,
        HostTarget::Maintenance,
        HostTarget::Disconnected,
        HostTarget::Connected,
    ];

    /// The scenario word.
    pub fn as_str(self) -> &'static str {
        match self {
            HostTarget::Failed => "failed",
            HostTarget::Maintenance => "maintenance",
            HostTarget::Disconnected => "disconnected",
            HostTarget::Connected => "connected",
        }
    }

    /// Parses a scenario word.
    pub fn parse(s: &str) -> Option<HostTarget> {
        HostTarget::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A docker CLI command line (`docker` itself omitted) sent to a VCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerCommand {
    /// The `[[vch]]` name.
    pub vch: String,
    /// `dch = "<container>"`: the command goes to the Docker Container Host that container
    /// of the VCH runs (its published port 2375), not to the VCH's endpoint.
    pub dch: Option<String>,
    /// The command's verb.
    pub verb: DockerVerb,
    /// The words, verb first.
    pub argv: Vec<String>,
}

/// The docker commands a step may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum DockerVerb {
    Run,
    Stop,
    Rm,
    Kill,
    Start,
    Restart,
    Rename,
    Pull,
    Ps,
    Inspect,
    Logs,
    Wait,
    Create,
    Exec,
    Volume,
    Build,
    Push,
    Login,
    Tag,
    Images,
}

impl DockerVerb {
    /// Every verb, in the order messages list them.
    pub const ALL: [DockerVerb; 20] = [
        DockerVerb::Run,
        DockerVerb::Stop,
        DockerVerb::Rm,
        DockerVerb::Kill,
        DockerVerb::Start,
        DockerVerb::Restart,
        DockerVerb::Rename,
        DockerVerb::Pull,
        DockerVerb::Ps,
        DockerVerb::Inspect,
        DockerVerb::Logs,
        DockerVerb::Wait,
        DockerVerb::Create,
        DockerVerb::Exec,
        DockerVerb::Volume,
        DockerVerb::Build,
        DockerVerb::Push,
        DockerVerb::Login,
        DockerVerb::Tag,
        DockerVerb::Images,
    ];

    /// The CLI word.
    pub fn as_str(self) -> &'static str {
        match self {
            DockerVerb::Run => "run",
            DockerVerb::Stop => "stop",
            DockerVerb::Rm => "rm",
            DockerVerb::Kill => "kill",
            DockerVerb::Start => "start",
            DockerVerb::Restart => "restart",
            DockerVerb::Rename => "rename",
            DockerVerb::Pull => "pull",
            DockerVerb::Ps => "ps",
            DockerVerb::Inspect => "inspect",
            DockerVerb::Logs => "logs",
            DockerVerb::Wait => "wait",
            DockerVerb::Create => "create",
            DockerVerb::Exec => "exec",
            DockerVerb::Volume => "volume",
            DockerVerb::Build => "build",
            DockerVerb::Push => "push",
            DockerVerb::Login => "login",
            DockerVerb::Tag => "tag",
            DockerVerb::Images => "images",
        }
    }

    /// The verb named `word`, if supported.
    pub fn parse(word: &str) -> Option<DockerVerb> {
        DockerVerb::ALL.into_iter().find(|v| v.as_str() == word)
    }
}

/// Changes to a resource pool's allocation; `None` leaves a setting as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolChange {
    /// Pool name (an inventory pool, `Resources`, or a VCH's pool).
    pub name: String,
    /// CPU limit in MHz; -1 removes the limit (vSphere's "unlimited").
    pub cpu_limit_mhz: Option<i64>,
    /// Memory limit in MB; -1 removes the limit.
    pub mem_limit_mb: Option<i64>,
    /// CPU reservation in MHz.
    pub cpu_reservation_mhz: Option<u64>,
    /// Memory reservation in MB.
    pub mem_reservation_mb: Option<u64>,
    /// CPU shares.
    pub cpu_shares: Option<SharesSpec>,
    /// Memory shares.
    pub mem_shares: Option<SharesSpec>,
    /// Expandable reservations.
    pub expandable: Option<bool>,
}

/// Power a VM on or off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PowerChange {
    /// VM name.
    pub vm: String,
    /// `true` for on.
    pub on: bool,
}

/// `[[expect]]`: a bound on a statistic of a counter, which becomes a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// Identifier (given, or `expect-N`).
    pub id: String,
    /// Which entities.
    pub entity: EntityPattern,
    /// vSphere dotted counter name (`cpu.ready.summation`).
    pub counter: String,
    /// Counter instance; empty is the aggregate.
    pub instance: String,
    /// Statistic over the samples.
    pub stat: Stat,
    /// Lower bound (inclusive).
    pub min: Option<f64>,
    /// Upper bound (inclusive).
    pub max: Option<f64>,
    /// The counter's display unit: observed values are shown in it, and `min`/`max` are in
    /// it (with `relative_to`, they are plain ratios of displayed values).
    pub unit: DisplayUnit,
    /// Window start (default: the start).
    pub from: Option<Duration>,
    /// Window end (default: the end).
    pub to: Option<Duration>,
    /// With it, the bounds apply to this statistic divided by that expectation's.
    pub relative_to: Option<String>,
}

/// Which entities an expectation looks at: a kind and a name or glob (`*`, `?`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityPattern {
    /// Entity kind.
    pub kind: EntityKind,
    /// Exact name or glob.
    pub pattern: String,
}

impl EntityPattern {
    /// Whether an entity of `kind` named `name` matches.
    pub fn matches(&self, kind: EntityKind, name: &str) -> bool {
        kind == self.kind && glob_match(&self.pattern, name)
    }
}

/// Glob matching with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Entity kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EntityKind {
    Vm,
    Pool,
    Host,
    /// A containerVM, matched by its container name.
    Container,
}

impl EntityKind {
    /// `vm`, `pool`, `host` or `container` (the scenario file's words).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Vm => "vm",
            EntityKind::Pool => "pool",
            EntityKind::Host => "host",
            EntityKind::Container => "container",
        }
    }

    /// Parses `vm`, `pool`, `host` or `container`.
    pub fn parse(s: &str) -> Option<EntityKind> {
        Some(match s {
            "vm" => EntityKind::Vm,
            "pool" => EntityKind::Pool,
            "host" => EntityKind::Host,
            "container" => EntityKind::Container,
            _ => return None,
        })
    }
}

/// Statistics over an expectation's samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Stat {
    Avg,
    Max,
    Min,
    P95,
    Last,
    Sum,
}

impl Stat {
    /// `avg`, `max`, `min`, `p95`, `last` or `sum` (the scenario file's words).
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Avg => "avg",
            Stat::Max => "max",
            Stat::Min => "min",
            Stat::P95 => "p95",
            Stat::Last => "last",
            Stat::Sum => "sum",
        }
    }

    /// Parses `avg`, `max`, `min`, `p95`, `last` or `sum`.
    pub fn parse(s: &str) -> Option<Stat> {
        Some(match s {
            "avg" => Stat::Avg,
            "max" => Stat::Max,
            "min" => Stat::Min,
            "p95" => Stat::P95,
            "last" => Stat::Last,
            "sum" => Stat::Sum,
            _ => return None,
        })
    }
}

/// Parses and validates a scenario, its `[vars]` at their defaults; `path_for_messages`
/// prefixes every problem. [`Scenario::parse_with`] also takes overrides and returns the
/// hash.
pub fn parse_scenario(path_for_messages: &str, text: &str) -> Result<Scenario, ScenarioErrors> {
    crate::validate::parse(path_for_messages, text, &BTreeMap::new()).map(|(s, _)| s)
}

/// A stable content hash of a scenario file: FNV-1a 64 of its bytes, 16 lowercase hex digits.
pub fn scenario_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

// ---- raw, spanned forms as deserialized (validate.rs turns them into the types above) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMeta {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub seed: Spanned<u64>,
    pub start: Option<Spanned<toml::Value>>,
    pub duration: Spanned<String>,
    pub sample_interval: Option<Spanned<String>>,
}

impl RawMeta {
    pub(crate) const FIELDS: &[&str] = &[
        "name",
        "description",
        "seed",
        "start",
        "duration",
        "sample_interval",
    ];
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVch {
    pub name: Spanned<String>,
    pub args: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub registry_ca: Vec<Spanned<String>>,
}

impl RawVch {
    pub(crate) const FIELDS: &[&str] = &["name", "args", "registry_ca"];
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub at: Spanned<String>,
    pub count: Option<Spanned<i64>>,
    pub every: Option<Spanned<String>>,
    pub docker: Option<Spanned<String>>,
    pub vch: Option<Spanned<String>>,
    pub pool: Option<Spanned<RawPool>>,
    pub power: Option<Spanned<RawPower>>,
    pub host: Option<Spanned<RawHost>>,
    pub expect: Option<Spanned<String>>,
    pub expect_error: Option<Spanned<String>>,
    pub dch: Option<Spanned<String>>,
    pub http: Option<Spanned<String>>,
    pub network: Option<Spanned<String>>,
    pub expect_output: Option<Spanned<String>>,
    pub expect_duration_min: Option<Spanned<String>>,
    pub expect_duration_max: Option<Spanned<String>>,
}

impl RawStep {
    pub(crate) const FIELDS: &[&str] = &[
        "at",
        "count",
        "every",
        "docker",
        "vch",
        "pool",
        "power",
        "host",
        "expect",
        "expect_error",
        "dch",
        "http",
        "network",
        "expect_output",
        "expect_duration_min",
        "expect_duration_max",
    ];
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegistry {
    pub name: Spanned<String>,
    #[serde(default)]
    pub users: Vec<Spanned<String>>,
    #[serde(default)]
    pub projects: Vec<RawProject>,
}

impl RawRegistry {
    pub(crate) const FIELDS: &[&str] = &["name", "users", "projects"];
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProject {
    pub name: String,
    #[serde(default)]
    pub public: bool,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPool {
    pub name: Spanned<String>,
    pub cpu_limit_mhz: Option<Spanned<i64>>,
    pub mem_limit_mb: Option<Spanned<i64>>,
    pub cpu_reservation_mhz: Option<u64>,
    pub mem_reservation_mb: Option<u64>,
    pub cpu_shares: Option<Spanned<SharesSpec>>,
    pub mem_shares: Option<Spanned<SharesSpec>>,
    pub expandable: Option<bool>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPower {
    pub vm: Spanned<String>,
    pub state: Spanned<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHost {
    pub name: Spanned<String>,
    pub state: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    pub id: Option<Spanned<String>>,
    pub entity: Spanned<String>,
    pub kind: Spanned<String>,
    pub counter: Spanned<String>,
    #[serde(default)]
    pub instance: String,
    pub stat: Spanned<String>,
    pub min: Option<Spanned<toml::Value>>,
    pub max: Option<Spanned<toml::Value>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    pub relative_to: Option<Spanned<String>>,
}

impl RawExpect {
    pub(crate) const FIELDS: &[&str] = &[
        "id",
        "entity",
        "kind",
        "counter",
        "instance",
        "stat",
        "min",
        "max",
        "from",
        "to",
        "relative_to",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("stress-*", "stress-cpu"));
        assert!(glob_match("*-cpu", "stress-cpu"));
        assert!(glob_match("s?ress*u", "stress-cpu"));
        assert!(!glob_match("stress", "stress-cpu"));
        assert!(!glob_match("*x*", "stress"));
    }

    #[test]
    fn hash_is_fnv1a64() {
        assert_eq!(scenario_hash(""), "cbf29ce484222325");
        assert_eq!(scenario_hash("a"), "af63dc4c8601ec8c");
    }

    #[test]
    fn flag_values() {
        let args: Vec<String> = ["--cpu", "500", "--name=vch-1"].map(String::from).to_vec();
        assert_eq!(flag_value(&args, &["--cpu"]), Some("500"));
        let v = Vch {
            name: "x".into(),
            args,
            registry_ca: Vec::new(),
        };
        assert_eq!(v.vsphere_name(), "vch-1");
    }
}
