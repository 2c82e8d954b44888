//! The inventory file of `vicbed serve --inventory FILE` (TOML): datacenter name, clusters
//! with hosts, resource pools and VMs, and standalone hosts.
//!
//! ```toml
//! datacenter = "DC0"
//! [[cluster]]
//! name = "Cluster"
//! hosts = [{ name = "esx-01", cores = 8, mhz = 1800, memory_mb = 65536, count = 2 }]
//! pools = [{ name = "VCH", parent = "Resources", cpu_limit_mhz = 500, mem_limit_mb = 500 }]
//! vms = [{ name = "web", pool = "VCH", vcpus = 2, memory_mb = 4096, workload = "cpu=900" }]
//! ```

use crate::guest::{TraceLibrary, WorkloadDecl, parse_workload};
use serde::Deserialize;
use std::io::Read as _;
use std::path::Path;

/// Most trace files one inventory may name.
pub const MAX_TRACE_FILES: usize = 64;
/// Most trace samples the inventory's VMs may hold in all (each VM replays its own copy):
/// 4 M samples are 64 MB.
pub const MAX_TRACE_SAMPLES_IN_USE: u64 = 4_000_000;

/// A whole inventory file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InventorySpec {
    /// Datacenter name.
    #[serde(default = "default_dc")]
    pub datacenter: String,
    /// Clusters.
    #[serde(default, rename = "cluster")]
    pub clusters: Vec<ClusterSpec>,
    /// Standalone hosts, each its own compute resource with a root pool.
    #[serde(default, rename = "host")]
    pub standalone_hosts: Vec<HostSpec>,
    /// VMs on standalone hosts (pool `Resources` of the host named in `host`).
    #[serde(default, rename = "vm")]
    pub standalone_vms: Vec<VmSpec>,
    /// Distributed port groups on the datacenter's switch (`DVS0`) besides
    /// `<datacenter>_DVPG0`: the networks a VCH's `--container-network` can name on vCenter.
    #[serde(default)]
    pub port_groups: Vec<String>,
    /// Container images the VCHs of this server can pull besides the built-in ones
    /// (carried for the `vic` crate; the emulator itself does not use them).
    #[serde(default, rename = "image")]
    pub images: Vec<ImageSpec>,
    /// Traces named by VM workloads (`trace=web.csv`), loaded by [`InventorySpec::load`] or
    /// [`InventorySpec::load_traces`] from files beside the inventory; not part of the TOML.
    #[serde(skip)]
    pub traces: TraceLibrary,
}

/// A container image a VCH can pull (`registry.corp.local/justait/nginx:patched`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    /// Reference, `[registry/]repository[:tag]`.
    pub name: String,
    /// Entrypoint.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// Default command.
    #[serde(default)]
    pub cmd: Vec<String>,
    /// Environment (`KEY=value`).
    #[serde(default)]
    pub env: Vec<String>,
    /// Exposed TCP ports.
    #[serde(default)]
    pub exposed_ports: Vec<u16>,
    /// What its process demands (the workload syntax of [`crate::guest::parse_workload`]
    /// without `trace=`); absent: derived from the command like the built-in images.
    pub workload: Option<String>,
    /// Mount points it declares (`VOLUME`): each container gets an anonymous volume there.
    #[serde(default)]
    pub volumes: Vec<String>,
}

fn default_dc() -> String {
    "DC0".into()
}

/// A cluster.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Cluster name.
    pub name: String,
    /// Hosts (each entry may stand for `count` identical hosts, numbered from `-01`).
    pub hosts: Vec<HostSpec>,
    /// Resource pools below the cluster's root pool `Resources`.
    #[serde(default)]
    pub pools: Vec<PoolSpec>,
    /// VMs.
    #[serde(default)]
    pub vms: Vec<VmSpec>,
}

/// A host (or `count` identical hosts).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Host name (with `count` > 1, a `-NN` suffix is added).
    pub name: String,
    /// Physical cores.
    #[serde(default = "default_cores")]
    pub cores: u32,
    /// MHz per core.
    #[serde(default = "default_mhz")]
    pub mhz: u32,
    /// Memory in MB.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// Hyper-threading.
    #[serde(default)]
    pub hyperthreading: bool,
    /// How many such hosts.
    #[serde(default = "one")]
    pub count: u32,
}

fn default_cores() -> u32 {
    8
}
fn default_mhz() -> u32 {
    2200
}
fn default_memory_mb() -> u64 {
    65_536
}
fn one() -> u32 {
    1
}

/// Shares as vSphere names them: a level or a custom count.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SharesSpec {
    /// `low`, `normal` or `high`.
    Level(String),
    /// A custom share count.
    Custom(u32),
}

/// A resource pool.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Pool name.
    pub name: String,
    /// Parent pool name (`Resources` is the cluster's root pool).
    #[serde(default = "root_pool")]
    pub parent: String,
    /// CPU reservation in MHz.
    #[serde(default)]
    pub cpu_reservation_mhz: u64,
    /// CPU limit in MHz (absent: unlimited).
    pub cpu_limit_mhz: Option<u64>,
    /// CPU shares.
    pub cpu_shares: Option<SharesSpec>,
    /// Memory reservation in MB.
    #[serde(default)]
    pub mem_reservation_mb: u64,
    /// Memory limit in MB (absent: unlimited).
    pub mem_limit_mb: Option<u64>,
    /// Memory shares.
    pub mem_shares: Option<SharesSpec>,
    /// Expandable reservations (vSphere's default: true).
    #[serde(default = "yes")]
    pub expandable: bool,
}

fn root_pool() -> String {
    "Resources".into()
}
fn yes() -> bool {
    true
}

/// A VM.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    /// Display name (with `count` > 1, a `-NN` suffix is added).
    pub name: String,
    /// Pool name (`Resources` by default).
    #[serde(default = "root_pool")]
    pub pool: String,
    /// Host name; absent: placed round-robin over the cluster's hosts.
    pub host: Option<String>,
    /// vCPUs.
    #[serde(default = "one")]
    pub vcpus: u32,
    /// Memory in MB.
    #[serde(default = "default_vm_memory_mb")]
    pub memory_mb: u64,
    /// Powered on at start.
    #[serde(default = "yes")]
    pub power_on: bool,
    /// Workload for the default guest agent (the syntax of [`crate::guest::parse_workload`]).
    pub workload: Option<String>,
    /// How many such VMs.
    #[serde(default = "one")]
    pub count: u32,
    /// CPU shares: `low`, `normal` (default), `high` (500/1000/2000 per vCPU) or a number.
    pub cpu_shares: Option<SharesSpec>,
    /// CPU reservation in MHz (admitted at power-on).
    #[serde(default)]
    pub cpu_reservation_mhz: u64,
    /// CPU limit in MHz (absent: unlimited).
    pub cpu_limit_mhz: Option<u64>,
    /// Memory shares: `low`, `normal` (default), `high` (5/10/20 per MB) or a number.
    pub mem_shares: Option<SharesSpec>,
    /// Memory reservation in MB (admitted at power-on; at most `memory_mb`).
    #[serde(default)]
    pub mem_reservation_mb: u64,
    /// Memory limit in MB (absent: unlimited).
    pub mem_limit_mb: Option<u64>,
}

fn default_vm_memory_mb() -> u64 {
    1024
}

/// An inventory file that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not valid TOML for this schema.
    #[error("inventory file: {0}")]
    Toml(String),
    /// Valid TOML with inconsistent content.
    #[error("inventory file:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

impl InventorySpec {
    /// Reads, parses and validates an inventory file, and loads the traces its workloads name
    /// (`trace=web.csv` is `web.csv` beside the file).
    pub fn load(path: &Path) -> Result<InventorySpec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SpecError::Invalid(vec![format!("cannot read {}: {e}", path.display())])
        })?;
        let mut spec = InventorySpec::parse(&text)?;
        spec.load_traces(path.parent().unwrap_or(Path::new(".")))?;
        Ok(spec)
    }

    /// Every VM entry with the trace file its workload names, if any.
    pub(crate) fn vm_traces(&self) -> impl Iterator<Item = (&VmSpec, Option<String>)> {
        self.clusters
            .iter()
            .flat_map(|c| &c.vms)
            .chain(&self.standalone_vms)
            .map(|v| {
                let file = v
                    .workload
                    .as_deref()
                    .and_then(|w| parse_workload(w).ok())
                    .and_then(|d| d.trace_file().map(str::to_owned));
                (v, file)
            })
    }

    /// The trace files the VMs' workloads name, in order of first use.
    pub fn trace_files(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in self.vm_traces().filter_map(|(_, f)| f) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// Loads every trace the VMs' workloads name, resolving relative paths against `base_dir`
    /// (the directory of the file that names them). Every problem is reported at once.
    pub fn load_traces(&mut self, base_dir: &Path) -> Result<(), SpecError> {
        let files = self.trace_files();
        if files.len() > MAX_TRACE_FILES {
            return Err(SpecError::Invalid(vec![format!(
                "{} trace files; an inventory may name at most {MAX_TRACE_FILES}",
                files.len()
            )]));
        }
        let mut problems = Vec::new();
        for name in files {
            let path = base_dir.join(&name);
            match read_trace(&path) {
                Ok(t) => self.traces.insert(name, t),
                Err(e) => problems.push(format!("trace {name:?} ({}): {e}", path.display())),
            }
        }
        let in_use: u64 = self
            .clusters
            .iter()
            .flat_map(|c| &c.vms)
            .chain(&self.standalone_vms)
            .filter_map(|v| {
                let decl = parse_workload(v.workload.as_deref()?).ok()?;
                let rows = self.traces.get(decl.trace_file()?)?.samples.len() as u64;
                Some(rows * u64::from(v.count))
            })
            .sum();
        if in_use > MAX_TRACE_SAMPLES_IN_USE {
            problems.push(format!(
                "the VMs' traces hold {in_use} samples in all (rows × VMs replaying them); at most {MAX_TRACE_SAMPLES_IN_USE}"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SpecError::Invalid(problems))
        }
    }

    /// Parses and validates an inventory file's text (trace files are named, not read: see
    /// [`InventorySpec::load`]).
    pub fn parse(text: &str) -> Result<InventorySpec, SpecError> {
        let spec: InventorySpec =
            toml::from_str(text).map_err(|e| SpecError::Toml(e.to_string()))?;
        let problems = spec.problems();
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(SpecError::Invalid(problems))
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.clusters.is_empty() && self.standalone_hosts.is_empty() {
            p.push("declares no cluster and no host".to_owned());
        }
        let builtin = [
            format!("{}_DVPG0", self.datacenter),
            "VM Network".to_owned(),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for pg in &self.port_groups {
            if pg.trim().is_empty() || pg.len() > 80 || pg.contains('/') {
                p.push(format!(
                    "port group {pg:?}: a name of 1–80 characters without '/'"
                ));
            } else if builtin.contains(pg) || !seen.insert(pg.as_str()) {
                p.push(format!("port group {pg:?} is declared twice"));
            }
        }
        let host_checks = |h: &HostSpec, p: &mut Vec<String>| {
            if h.cores == 0 || h.mhz == 0 || h.memory_mb == 0 || h.count == 0 {
                p.push(format!(
                    "host {:?}: cores, mhz, memory_mb and count must be positive",
                    h.name
                ));
            }
            if h.cores > 4096 || h.mhz > 10_000 || h.count > 10_000 {
                p.push(format!(
                    "host {:?}: cores ≤ 4096, mhz ≤ 10000, count ≤ 10000",
                    h.name
                ));
            }
        };
        let vm_checks = |v: &VmSpec, p: &mut Vec<String>| {
            if v.vcpus == 0 || v.vcpus > 256 || v.memory_mb < 4 || v.count == 0 || v.count > 100_000
            {
                p.push(format!(
                    "vm {:?}: vcpus 1–256, memory_mb ≥ 4, count 1–100000",
                    v.name
                ));
            }
            if let Some(w) = &v.workload
                && let Err(e) = parse_workload(w)
            {
                p.push(format!("vm {:?}: workload {w:?}: {e}", v.name));
            }
            allocation_checks(v, p);
        };
        for c in &self.clusters {
            if c.hosts.is_empty() {
                p.push(format!("cluster {:?} has no hosts", c.name));
            }
            c.hosts.iter().for_each(|h| host_checks(h, &mut p));
            let mut pools = vec!["Resources".to_owned()];
            for pool in &c.pools {
                if !pools.contains(&pool.parent) {
                    p.push(format!(
                        "pool {:?}: parent {:?} is not declared before it",
                        pool.name, pool.parent
                    ));
                }
                if pools.contains(&pool.name) {
                    p.push(format!("pool {:?} is declared twice", pool.name));
                }
                for s in [&pool.cpu_shares, &pool.mem_shares].into_iter().flatten() {
                    if let SharesSpec::Level(l) = s
                        && !matches!(l.as_str(), "low" | "normal" | "high")
                    {
                        p.push(format!(
                            "pool {:?}: shares {l:?} is not low, normal, high or a number",
                            pool.name
                        ));
                    }
                }
                pools.push(pool.name.clone());
            }
            let host_names = expand_names(c.hosts.iter().map(|h| (h.name.as_str(), h.count)));
            for v in &c.vms {
                vm_checks(v, &mut p);
                if !pools.contains(&v.pool) {
                    p.push(format!(
                        "vm {:?}: pool {:?} is not declared",
                        v.name, v.pool
                    ));
                }
                if let Some(h) = &v.host
                    && !host_names.contains(h)
                {
                    p.push(format!(
                        "vm {:?}: host {h:?} is not in cluster {:?}",
                        v.name, c.name
                    ));
                }
            }
        }
        for img in &self.images {
            let name_ok = !img.name.trim().is_empty()
                && !img.name.contains(char::is_whitespace)
                && img.name.len() <= 255;
            if !name_ok {
                p.push(format!(
                    "image {:?}: the name must be a non-empty image reference",
                    img.name
                ));
            }
            match img.workload.as_deref().map(parse_workload) {
                Some(Err(e)) => p.push(format!(
                    "image {:?}: workload {:?}: {e}",
                    img.name,
                    img.workload.as_deref().unwrap_or_default()
                )),
                Some(Ok(WorkloadDecl::Trace { .. })) => p.push(format!(
                    "image {:?}: trace= workloads are for VMs; give the image cpu=/mem= (with a profile)",
                    img.name
                )),
                _ => {}
            }
            if let Some(v) = img
                .volumes
                .iter()
                .find(|v| !v.starts_with('/') || v.contains(char::is_whitespace) || v.contains(':'))
            {
                p.push(format!(
                    "image {:?}: volume {v:?} is not an absolute mount point (`/data`)",
                    img.name
                ));
            }
            if img.entrypoint.is_empty() && img.cmd.is_empty() && img.workload.is_none() {
                p.push(format!(
                    "image {:?}: give a cmd, an entrypoint or a workload",
                    img.name
                ));
            }
        }
        self.standalone_hosts
            .iter()
            .for_each(|h| host_checks(h, &mut p));
        let standalone = expand_names(
            self.standalone_hosts
                .iter()
                .map(|h| (h.name.as_str(), h.count)),
        );
        for v in &self.standalone_vms {
            vm_checks(v, &mut p);
            match &v.host {
                Some(h) if standalone.contains(h) => {}
                _ => p.push(format!(
                    "vm {:?}: standalone VMs need `host` naming a standalone host",
                    v.name
                )),
            }
        }
        p
    }
}

/// Reads a trace file, bounded by [`scheduler_model::MAX_TRACE_BYTES`].
fn read_trace(path: &Path) -> Result<scheduler_model::Trace, String> {
    let limit = scheduler_model::MAX_TRACE_BYTES;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    scheduler_model::parse_trace_csv(&text).map_err(|e| e.to_string())
}

/// Checks a VM's shares, reservations and limits as vSphere would refuse them.
fn allocation_checks(v: &VmSpec, p: &mut Vec<String>) {
    for (what, s) in [("cpu_shares", &v.cpu_shares), ("mem_shares", &v.mem_shares)] {
        if let Some(SharesSpec::Level(l)) = s
            && !matches!(l.as_str(), "low" | "normal" | "high")
        {
            p.push(format!(
                "vm {:?}: {what} {l:?} is not low, normal, high or a number",
                v.name
            ));
        }
    }
    let max = i64::MAX as u64;
    let pairs = [
        ("cpu", "mhz", v.cpu_reservation_mhz, v.cpu_limit_mhz),
        ("mem", "mb", v.mem_reservation_mb, v.mem_limit_mb),
    ];
    for (res, unit, reservation, limit) in pairs {
        if reservation > max || limit.is_some_and(|l| l > max) {
            p.push(format!(
                "vm {:?}: {res}_reservation_{unit} or {res}_limit_{unit} is too large",
                v.name
            ));
        } else if let Some(l) = limit
            && l < reservation
        {
            p.push(format!(
                "vm {:?}: {res}_reservation_{unit} {reservation} exceeds {res}_limit_{unit} {l}",
                v.name
            ));
        }
    }
    if v.mem_reservation_mb > v.memory_mb {
        p.push(format!(
            "vm {:?}: mem_reservation_mb {} exceeds memory_mb {}",
            v.name, v.mem_reservation_mb, v.memory_mb
        ));
    }
}

/// Expands `(name, count)` into names: `count` 1 keeps the name, more adds `-01`, `-02`, ….
pub fn expand_names<'a>(items: impl Iterator<Item = (&'a str, u32)>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, count) in items {
        if count <= 1 {
            out.push(name.to_owned());
        } else {
            out.extend((1..=count).map(|i| format!("{name}-{i:02}")));
        }
    }
    out
}

/// Expands host entries with `count` into named hosts with their hardware.
pub trait SpecHostExpand {
    /// `(name, hardware)` for every host, counts expanded.
    fn expand(&self) -> Vec<(String, super::HostHardware)>;
}

impl SpecHostExpand for Vec<HostSpec> {
    fn expand(&self) -> Vec<(String, super::HostHardware)> {
        let mut out = Vec::new();
        for h in self {
            let hw = super::HostHardware {
                cores: h.cores,
                mhz_per_core: h.mhz,
                hyperthreading: h.hyperthreading,
                memory_mb: h.memory_mb,
            };
            for name in expand_names(std::iter::once((h.name.as_str(), h.count))) {
                out.push((name, hw.clone()));
            }
        }
        out
    }
}

/// The names of a VM entry, its count expanded.
pub fn expand_vm_names(v: &VmSpec) -> Vec<String> {
    expand_names(std::iter::once((v.name.as_str(), v.count)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_small_inventory() {
        let spec = InventorySpec::parse(
            r#"
            [[cluster]]
            name = "C"
            hosts = [{ name = "esx", cores = 4, mhz = 1800, memory_mb = 16384, count = 2 }]
            pools = [{ name = "VCH", cpu_limit_mhz = 500, mem_limit_mb = 500 }]
            vms = [{ name = "a", pool = "VCH", vcpus = 2, memory_mb = 4096, host = "esx-02" }]
            "#,
        )
        .unwrap();
        assert_eq!(spec.clusters[0].hosts[0].count, 2);
        assert_eq!(spec.clusters[0].pools[0].parent, "Resources");
    }

    #[test]
    fn reports_every_problem() {
        let err = InventorySpec::parse(
            r#"
            [[cluster]]
            name = "C"
            hosts = [{ name = "esx", cores = 0 }]
            pools = [{ name = "P", parent = "Nope", cpu_shares = "lots" }]
            vms = [{ name = "a", pool = "Q", host = "x", workload = "fast" }]
            "#,
        )
        .unwrap_err()
        .to_string();
        for needle in ["cores", "Nope", "lots", "pool \"Q\"", "host \"x\"", "fast"] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
        assert!(InventorySpec::parse("bogus = 1").is_err());
        let err = InventorySpec::parse(
            "[[host]]\nname = \"h\"\n[[image]]\nname = \"repo/app\"\nworkload = \"turbo\"\n[[image]]\nname = \"x\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("turbo") && err.contains("give a cmd"), "{err}");
        let err = InventorySpec::parse(
            "[[host]]\nname = \"h\"\n[[image]]\nname = \"db\"\ncmd = [\"db\"]\nvolumes = [\"/ok\", \"data\"]",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("volume \"data\" is not an absolute mount point"),
            "{err}"
        );
    }

    #[test]
    fn port_groups_are_named_once() {
        let ok = InventorySpec::parse(
            "port_groups = [\"net-a\", \"net-b\"]\n[[cluster]]\nname = \"C\"\nhosts = [{ name = \"esx\" }]",
        )
        .unwrap();
        assert_eq!(ok.port_groups, ["net-a", "net-b"]);
        let err = InventorySpec::parse(
            "port_groups = [\"a\", \"a\", \"DC0_DVPG0\", \"x/y\"]\n[[cluster]]\nname = \"C\"\nhosts = [{ name = \"esx\" }]",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("port group \"a\" is declared twice"), "{err}");
        assert!(
            err.contains("port group \"DC0_DVPG0\" is declared twice"),
            "{err}"
        );
        assert!(err.contains("port group \"x/y\": a name"), "{err}");
    }

    #[test]
    fn vm_allocations_and_workloads_are_checked() {
        let ok = InventorySpec::parse(
            r#"
            [[cluster]]
            name = "C"
            hosts = [{ name = "esx" }]
            vms = [{ name = "a", cpu_shares = "high", cpu_reservation_mhz = 500, cpu_limit_mhz = 1000,
                     mem_shares = 12345, mem_reservation_mb = 256, mem_limit_mb = 512,
                     workload = "cpu=900,mem=512,active=10%,profile=burst,on=5m,off=15m,jitter=5%" }]
            "#,
        )
        .unwrap();
        let v = &ok.clusters[0].vms[0];
        assert_eq!(v.cpu_shares, Some(SharesSpec::Level("high".into())));
        assert_eq!((v.mem_reservation_mb, v.mem_limit_mb), (256, Some(512)));
        let err = InventorySpec::parse(
            r#"
            [[cluster]]
            name = "C"
            hosts = [{ name = "esx" }]
            vms = [{ name = "a", memory_mb = 1024, cpu_shares = "lots", cpu_reservation_mhz = 2000,
                     cpu_limit_mhz = 1000, mem_reservation_mb = 2048,
                     workload = "cpu=900,profile=daily,low=20%" }]
            [[image]]
            name = "repo/app"
            workload = "trace=app.csv"
            "#,
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "cpu_shares \"lots\"",
            "cpu_reservation_mhz 2000 exceeds cpu_limit_mhz 1000",
            "mem_reservation_mb 2048 exceeds memory_mb 1024",
            "workload \"cpu=900,profile=daily,low=20%\": key `peak`: profile=daily needs it",
            "image \"repo/app\": trace= workloads are for VMs",
        ] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
    }

    #[test]
    fn traces_load_beside_the_file() {
        let dir = std::env::temp_dir().join(format!("vicbed-spec-traces-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("t.csv"),
            "Time,MHz\n2017-10-02T08:00:00Z,100\n2017-10-02T08:00:20Z,200\n",
        )
        .unwrap();
        let text = "[[host]]\nname = \"h\"\n[[vm]]\nname = \"v\"\nhost = \"h\"\nworkload = \"trace=t.csv\"\n[[vm]]\nname = \"w\"\nhost = \"h\"\nworkload = \"trace=t.csv,repeat=yes\"\n";
        std::fs::write(dir.join("inv.toml"), text).unwrap();
        let spec = InventorySpec::load(&dir.join("inv.toml")).unwrap();
        assert_eq!(spec.trace_files(), vec!["t.csv".to_owned()]);
        assert_eq!(spec.traces.get("t.csv").map(|t| t.samples.len()), Some(2));
        // Parsing the text alone names the trace without reading it.
        assert!(InventorySpec::parse(text).unwrap().traces.is_empty());
        // 41 rows replayed by 100 000 VMs: over the sample budget.
        let rows: String = (0..41)
            .map(|k| format!("2017-10-02T08:{:02}:{:02}Z,1\n", k / 3, (k % 3) * 20))
            .collect();
        std::fs::write(dir.join("big.csv"), rows).unwrap();
        let big = "[[host]]\nname = \"h\"\n[[vm]]\nname = \"v\"\nhost = \"h\"\ncount = 100000\nworkload = \"trace=big.csv\"\n";
        std::fs::write(dir.join("big.toml"), big).unwrap();
        let err = InventorySpec::load(&dir.join("big.toml")).unwrap_err();
        assert!(err.to_string().contains("4100000 samples"), "{err}");
        let missing = InventorySpec::load(&dir.join("nope.toml")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
