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

/// govmomi vcsim's `simulator.Model` counts, as its command line sets them (`vicbed vcsim`).
///
/// The counting differs from [`ModelCounts`]: VMs are per resource pool (the root pool of
/// each cluster and standalone host, each vApp), datastores, port groups and storage pods
/// are per datacenter, and model VMs carry a CD-ROM. Names follow vcsim: `DC0_H0_VM0`,
/// `DC0_C0_RP0_VM0`, `DC0_C0_RP1`, `LocalDS_0` (per datacenter), `DC0_POD0`, `DC0_NSX0`,
/// `F0` folders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcsimModel {
    /// Datacenters (`-dc`; 0: an empty root folder).
    pub datacenter: u32,
    /// Clusters per datacenter (`-cluster`).
    pub cluster: u32,
    /// Hosts per cluster (`-host`).
    pub cluster_host: u32,
    /// Standalone hosts per datacenter (`-standalone-host`).
    pub host: u32,
    /// VMs per resource pool (`-vm`): each cluster's root pool, each standalone host's
    /// pool and each vApp; child pools start empty, as in vcsim.
    pub machine: u32,
    /// Child resource pools per cluster, `<cluster>_RP1..` (`-pool`).
    pub pool: u32,
    /// vApps per cluster (`-app`).
    pub app: u32,
    /// Storage pods per datacenter, `<dc>_POD0..` (`-pod`).
    pub pod: u32,
    /// Local datastores per datacenter, `LocalDS_0..`, mounted on all its hosts (`-ds`).
    pub datastore: u32,
    /// Distributed port groups per datacenter, `<dc>_DVPG0..` on `DVS0` (`-pg`; 0: no
    /// switch).
    pub portgroup: u32,
    /// NSX-backed distributed port groups per datacenter, `<dc>_NSXPG0..` (`-pg-nsx`).
    pub portgroup_nsx: u32,
    /// NSX opaque networks per datacenter, `<dc>_NSX0..` (`-nsx`).
    pub opaque_network: u32,
    /// How many of the last datacenters sit in a folder `F<n>` (with `F<n>` sub-folders
    /// holding their hosts, VMs, datastores and networks) (`-folder`).
    pub folder: u32,
}

impl VcsimModel {
    /// vcsim's vCenter model (`simulator.VPX()`): 1 datacenter, 1 cluster of 3 hosts, 1
    /// standalone host, 2 VMs per pool, 1 datastore, 1 port group.
    pub fn vpx() -> VcsimModel {
        VcsimModel {
            datacenter: 1,
            cluster: 1,
            cluster_host: 3,
            host: 1,
            machine: 2,
            pool: 0,
            app: 0,
            pod: 0,
            datastore: 1,
            portgroup: 1,
            portgroup_nsx: 0,
            opaque_network: 0,
            folder: 0,
        }
    }

    /// vcsim's ESXi model (`simulator.ESX()`): 2 VMs and 1 datastore on `ha-host`.
    pub fn esx() -> VcsimModel {
        VcsimModel {
            datacenter: 0,
            cluster: 0,
            cluster_host: 0,
            host: 0,
            portgroup: 0,
            ..VcsimModel::vpx()
        }
    }
}

impl Default for VcsimModel {
    fn default() -> VcsimModel {
        VcsimModel::vpx()
    }
}

/// Everything that decides an emulator's initial state.
#[derive(Clone, Debug)]
pub struct Config {
    /// vCenter or ESXi.
    pub flavor: Flavor,
    /// Counts for the default model (ignored when `inventory` or `vcsim_model` is given).
    pub counts: ModelCounts,
    /// govmomi vcsim's model and counting instead of `counts` (ignored when `inventory` is
    /// given); `vicbed vcsim` sets it.
    pub vcsim_model: Option<VcsimModel>,
    /// A declared inventory (hosts, clusters, pools, VMs) instead of the default model.
    pub inventory: Option<InventorySpec>,
    /// The user name Login accepts.
    pub username: String,
    /// The password Login accepts.
    pub password: String,
    /// Whether Login (and the vAPI session) accepts any non-empty user name and password, as
    /// govmomi's vcsim does when started without `-username`/`-password`.
    pub any_login: bool,
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

impl Config {
    /// Whether `user`/`password` may log in: the configured pair, or with
    /// [`Config::any_login`] any non-empty pair.
    pub fn accepts_login(&self, user: &str, password: &str) -> bool {
        if self.any_login {
            !user.is_empty() && !password.is_empty()
        } else {
            user == self.username && password == self.password
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            flavor: Flavor::VirtualCenter,
            counts: ModelCounts::default(),
            vcsim_model: None,
            inventory: None,
            username: "user".into(),
            password: "pass".into(),
            any_login: false,
            seed: 1,
            session_idle_timeout_s: crate::session::DEFAULT_IDLE_TIMEOUT_S,
            start_ms: DEFAULT_START_MS,
            autostart: true,
            product_version: "8.0.3".into(),
            api_version: "8.0.3.0".into(),
        }
    }
}
