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

use serde::Deserialize;

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
    /// What its process demands (`idle` or `cpu=<MHz per vCPU>[,mem=<MB>]`); absent: derived
    /// from the command like the built-in images.
    pub workload: Option<String>,
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
    /// Workload for the default guest agent (`idle`, `cpu=<MHz per vCPU>[,mem=<MB>]`).
    pub workload: Option<String>,
    /// How many such VMs.
    #[serde(default = "one")]
    pub count: u32,
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
    /// Parses and validates an inventory file's text.
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
                && crate::guest::parse_workload_key(w).is_none()
            {
                p.push(format!(
                    "vm {:?}: workload {w:?} is not `idle` or `cpu=<MHz>[,mem=<MB>]`",
                    v.name
                ));
            }
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
            if let Some(w) = &img.workload
                && crate::guest::parse_workload_key(w).is_none()
            {
                p.push(format!(
                    "image {:?}: workload {w:?} is not `idle` or `cpu=<MHz>[,mem=<MB>]`",
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
}
