//! Emulator configuration: the flavour (vCenter or ESXi), inventory counts or an inventory
//! file, credentials, the seed and the start of virtual time.

use crate::clock::DEFAULT_START_MS;
use crate::inventory::InventorySpec;

/// vCenter (VPX) or a standalone ESXi host agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Flavor {
    /// vCenter Server: datacenters, clusters, DRS, `PowerOnMultiVM_Task`.
    #[default]
    VirtualCenter,
    /// ESXi: `ha-datacenter`, `ha-host`, no vCenter-only managers.
    HostAgent,
}

/// How many of each entity the default model builds (the names follow govmomi's vcsim:
/// `DC0`, `DC0_C0`, `DC0_C0_H0`, `DC0_C0_RP0_VM0`, `DC0_H0`, `LocalDS_0`, `DC0_DVPG0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelCounts {
    /// Datacenters.
    pub datacenters: u32,
    /// Clusters per datacenter.
    pub clusters: u32,
    /// Hosts per cluster.
    pub hosts_per_cluster: u32,
    /// VMs per host (in the cluster's or host's root pool).
    pub vms_per_host: u32,
    /// Standalone hosts per datacenter.
    pub standalone_hosts: u32,
}

impl Default for ModelCounts {
    fn default() -> ModelCounts {
        ModelCounts {
            datacenters: 1,
            clusters: 1,
            hosts_per_cluster: 3,
            vms_per_host: 2,
            standalone_hosts: 1,
        }
    }
}

/// Everything that decides an emulator's initial state.
#[derive(Clone, Debug)]
pub struct Config {
    /// vCenter or ESXi.
    pub flavor: Flavor,
    /// Counts for the default model (ignored when `inventory` is given).
    pub counts: ModelCounts,
    /// A declared inventory (hosts, clusters, pools, VMs) instead of the default model.
    pub inventory: Option<InventorySpec>,
    /// The user name Login accepts.
    pub username: String,
    /// The password Login accepts.
    pub password: String,
    /// The seed for UUIDs, MACs and the model's stochastic workloads (never for secrets:
    /// session keys and tickets come from the OS, see [`crate::secret`]).
    pub seed: u64,
    /// How long a login session may stay idle (no call) before it ends, in wall-clock
    /// seconds (vCenter's default: 30 minutes); 0 disables expiry.
    pub session_idle_timeout_s: u64,
    /// Start of virtual time, in milliseconds since the epoch.
    pub start_ms: i64,
    /// Whether model VMs are powered on at start (govmomi's `-autostart`).
    pub autostart: bool,
    /// The product version reported in `about` (`8.0.3`).
    pub product_version: String,
    /// The API version reported in `about` and vimServiceVersions.xml (`8.0.3.0`).
    pub api_version: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            flavor: Flavor::VirtualCenter,
            counts: ModelCounts::default(),
            inventory: None,
            username: "user".into(),
            password: "pass".into(),
            seed: 1,
            session_idle_timeout_s: crate::session::DEFAULT_IDLE_TIMEOUT_S,
            start_ms: DEFAULT_START_MS,
            autostart: true,
            product_version: "8.0.3".into(),
            api_version: "8.0.3.0".into(),
        }
    }
}
