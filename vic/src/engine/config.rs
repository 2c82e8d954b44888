//! What a VCH's Docker endpoint needs to run: the seam between the VCH appliance agent (which
//! reads it from the appliance's guestinfo) and the engine (which serves the Docker API and
//! drives containerVMs over SOAP).

use super::registry_policy::RegistryPolicy;
use crate::convention::NameConvention;
use crate::firewall::TrustLevel;
use crate::images::Catalogue;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use vcsim::vmodl::MoRef;

/// How the engine reaches vSphere (the `connect/*` guestinfo keys).
#[derive(Clone, Debug)]
pub struct VsphereTarget {
    /// SDK URL, `https://host[:port]/sdk` or `http://…`.
    pub url: String,
    /// User name.
    pub username: String,
    /// Password (VIC stores a session token `@secret`; see the appliance for how the testbed
    /// carries it).
    pub password: String,
    /// SHA-1 thumbprint of the target's certificate (`AA:BB:…`), if pinned.
    pub thumbprint: Option<String>,
    /// Accept any certificate (vic-machine `--force`).
    pub insecure: bool,
}

/// A container network (`--container-network PG:alias` and its keyed options).
#[derive(Clone, Debug)]
pub struct ContainerNetwork {
    /// The alias containers use with `--net`.
    pub alias: String,
    /// The vSphere port group's name.
    pub portgroup_name: String,
    /// The port group.
    pub portgroup: MoRef,
    /// Gateway and prefix length, when static.
    pub gateway: Option<(IpAddr, u8)>,
    /// Address range containers get, when static (inclusive).
    pub ip_range: Option<(IpAddr, IpAddr)>,
    /// DNS servers.
    pub dns: Vec<IpAddr>,
    /// Firewall trust level (None: unspecified, behaves as published).
    pub trust: Option<TrustLevel>,
}

/// A volume store (`--volume-store datastore/path:label`, vic.md §1.2): a folder on a
/// datastore whose `volumes/` sub-folder holds the VCH's volumes, one folder each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeStore {
    /// The label (`docker volume create --opt VolumeStore=<label>`); `default` takes
    /// anonymous volumes.
    pub label: String,
    /// The datastore's name.
    pub datastore: String,
    /// The store's folder on the datastore, without brackets or leading `/` (`VIC` when the
    /// flag named only the datastore, as VIC does).
    pub path: String,
}

/// Everything a VCH's Docker endpoint is configured with.
#[derive(Clone)]
pub struct EngineConfig {
    /// VCH name.
    pub vch_name: String,
    /// The appliance VM.
    pub appliance: MoRef,
    /// Where the Docker API listens (client IP and 2375 or 2376).
    pub listen: SocketAddr,
    /// TLS server config (None: `--no-tls`, plain HTTP with the Host-header check).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// vSphere connection.
    pub target: VsphereTarget,
    /// The VCH resource pool (containerVMs go here).
    pub pool: MoRef,
    /// The VM folder for containerVMs (vCenter: the VCH folder; ESXi: the datacenter's).
    pub vm_folder: MoRef,
    /// The datacenter.
    pub datacenter: MoRef,
    /// Image store datastore name (`LocalDS_0`) and path (`<vch>` by default).
    pub image_store: (String, String),
    /// The bridge port group (name, MoRef).
    pub bridge_network: (String, MoRef),
    /// Bridge range (`172.16.0.0/12`) and width (16).
    pub bridge_range: (IpAddr, u8),
    /// Bridge network width (prefix length of each bridge network).
    pub bridge_width: u8,
    /// Container networks.
    pub container_networks: Vec<ContainerNetwork>,
    /// The containerVM name convention.
    pub name_convention: NameConvention,
    /// `--containers` (None: unlimited).
    pub container_limit: Option<u32>,
    /// `--storage-quota` in bytes (None: unlimited): images plus containerVMs (see
    /// `engine::quota`).
    pub storage_quota_bytes: Option<u64>,
    /// Volume stores (none: volumes are refused).
    pub volume_stores: Vec<VolumeStore>,
    /// Images the VCH can pull.
    pub images: Catalogue,
    /// The registries it may pull from, how, and the extra CAs it trusts
    /// (`--whitelist-registry`, `--insecure-registry`, `--registry-ca`).
    pub registries: RegistryPolicy,
    /// `--debug` level.
    pub debug: u8,
    /// VIC version reported by `/version` and `/info` (`1.2.1`).
    pub vic_version: String,
    /// The containerVMs' attach and log link ([`crate::interaction`]); None when the
    /// containerVMs run no tether of this process (attach then streams nothing).
    pub interaction: Option<Arc<crate::interaction::Hub>>,
    /// The containers' network services ([`crate::guestnet`]), which the endpoint's port
    /// forwards hand connections to; None when no tether of this process runs them
    /// (forwarded connections are then closed).
    pub services: Option<Arc<crate::guestnet::Services>>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("vch_name", &self.vch_name)
            .field("listen", &self.listen)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}
