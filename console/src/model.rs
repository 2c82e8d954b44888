//! What the console shows, as the JSON its page reads (`GET /api/state`, the `state` event):
//! plain data, built from SOAP reads by [`crate::inventory`] and from the scenario.

use serde::Serialize;

/// The virtual clock as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClockView {
    /// Virtual now, ms since the epoch.
    pub now_ms: i64,
    /// Where the clock started.
    pub start_ms: i64,
    /// Virtual ms per wall ms.
    pub speed: f64,
    /// True while it stands.
    pub paused: bool,
    /// The realtime sample interval.
    pub interval_s: u32,
}

/// One resource's allocation (`ResourceAllocationInfo`), in MHz or MB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alloc {
    /// -1: unlimited.
    pub limit: i64,
    /// Guaranteed.
    pub reservation: i64,
    /// `low`, `normal`, `high` or `custom`.
    pub shares_level: String,
    /// The share count.
    pub shares: i64,
    /// Whether the reservation may borrow from the parent.
    pub expandable: bool,
}

/// A pool's CPU and memory allocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolConfig {
    /// CPU, MHz.
    pub cpu: Alloc,
    /// Memory, MB.
    pub mem: Alloc,
}

/// A VCH: its pool and how to reach its Docker endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VchView {
    /// The scenario's `[[vch]]` name.
    pub name: String,
    /// The VCH's vSphere name (`--name`).
    pub vsphere_name: String,
    /// The pool's MoRef value.
    pub pool: String,
    /// `docker -H … --tls…`: what the room types.
    pub docker_command: String,
    /// The pool's allocation as vSphere reports it.
    pub config: PoolConfig,
}

/// A VM in a VCH's pool: a containerVM or the VCH appliance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VmView {
    /// MoRef value.
    pub moref: String,
    /// The container name (the appliance: its vSphere name).
    pub name: String,
    /// vSphere name.
    pub vsphere_name: String,
    /// The scenario's name of the VCH whose pool holds it.
    pub vch: String,
    /// `container` or `appliance`.
    pub kind: &'static str,
    /// `poweredOn`, `poweredOff` or `suspended`.
    pub power: String,
    /// vCPUs.
    pub vcpus: i64,
    /// Configured memory, MB.
    pub memory_mb: i64,
}

/// A docker command the page offers as a button (the scenario's docker steps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionView {
    /// Stable id (the step's number in the scenario).
    pub id: String,
    /// The VCH it runs on.
    pub vch: String,
    /// What it does, in words.
    pub title: String,
    /// The full docker command line, for the room to copy.
    pub command: String,
}

/// Whether a story step's observation has appeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Not yet.
    Waiting,
    /// The observation holds in the latest samples.
    Seen,
}

/// One step of the guided story.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoryStepView {
    /// Stable id.
    pub id: String,
    /// Headline.
    pub title: String,
    /// What to do.
    pub action: String,
    /// What to look at.
    pub look_at: String,
    /// Live verdict.
    pub verdict: Verdict,
    /// What was observed (display units), once anything was.
    pub observed: Option<String>,
}

/// A counter the charts draw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CounterView {
    /// vSphere dotted name.
    pub name: &'static str,
    /// Label.
    pub label: &'static str,
    /// Display unit of the values in samples.
    pub unit: &'static str,
}

/// The counter sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Read for VCH pools.
    pub pool: Vec<CounterView>,
    /// Read for VMs in them.
    pub vm: Vec<CounterView>,
}

/// The server's bounds, so the page can follow them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitsView {
    /// Event-stream subscribers at once.
    pub max_browsers: usize,
    /// Samples kept per entity.
    pub window_samples: usize,
}

/// Everything `GET /api/state` answers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateView {
    /// Scenario name.
    pub scenario: String,
    /// Clock.
    pub clock: ClockView,
    /// VCHs in scenario order.
    pub vchs: Vec<VchView>,
    /// VMs in VCH pools, by VCH then name.
    pub vms: Vec<VmView>,
    /// Docker buttons.
    pub actions: Vec<ActionView>,
    /// The guided story.
    pub story: Vec<StoryStepView>,
    /// Counter sets.
    pub counters: Counters,
    /// Bounds.
    pub limits: LimitsView,
}
