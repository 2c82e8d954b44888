//! The VCH configuration as vic-machine writes it into the appliance's ExtraConfig and the
//! appliance reads it back (vic.md §6.4 "VCH keys", §4.4): one struct, [`VchConfig`], with
//! [`VchConfig::to_keys`] and [`VchConfig::from_keys`], and [`VchConfig::engine_config`] for
//! the appliance.
//!
//! Departures from VIC, each forced by the testbed:
//! - `@secret` values (`connect/token@secret`, `cert/HostCertificate/Key@secret`) are framed as
//!   VIC frames them (`base64(nonce(24) || box)`) but **not encrypted**: the nonce is zero and
//!   the "box" is the plaintext, because there is no NaCl secretbox implementation in the
//!   testbed's dependency set. `guestinfo.ovfEnv` (the key) is therefore not written. Anyone
//!   who can read the VM's ExtraConfig can read the vSphere password and the server key.
//! - VIC stores a session token in `connect/token`; the testbed stores the password.
//! - Two keys VIC does not have, because VIC's port layer discovers them over SOAP from its
//!   own VM (parent folder, datacenter) and the testbed's appliance reads no SOAP at power-on:
//!   [`VM_FOLDER_KEY`] and [`DATACENTER_KEY`].
//! - A container network's `Common/name` holds the vSphere port-group name (the alias is the
//!   map key).

use std::net::IpAddr;
use std::sync::Arc;

use vcsim::vmodl::MoRef as VimRef;

use crate::convention::NameConvention;
use crate::engine::registry_policy::RegistryPolicy;
use crate::engine::{ContainerNetwork, EngineConfig, VolumeStore, VsphereTarget};
use crate::firewall::TrustLevel;
use crate::guestinfo::{
    self, Keys, MoRef, SECRET_NONCE_LEN, decode_bytes, decode_ip, encode_bytes, encode_ip,
    encode_mask, encode_secret, ro_key, vch,
};
use crate::images::Catalogue;

/// The VIC release the testbed's control path follows (`init/version/Version`).
pub const VIC_VERSION: &str = "v1.2.1";
/// `init/version/BuildNumber`.
pub const BUILD_NUMBER: &str = "vicbed";
/// `init/version/GitCommit`: the testbed's own version.
pub const GIT_COMMIT: &str = env!("CARGO_PKG_VERSION");
/// The full version string `<Version>-<BuildNumber>-<GitCommit>` (vic.md §1.5 `version`).
pub fn full_version() -> String {
    format!("{VIC_VERSION}-{BUILD_NUMBER}-{GIT_COMMIT}")
}

/// Testbed key: the VM folder containerVMs are created in (see the module docs).
pub const VM_FOLDER_KEY: &str = "guestinfo.vicbed.vch.vm_folder";
/// Testbed key: the datacenter (see the module docs).
pub const DATACENTER_KEY: &str = "guestinfo.vicbed.vch.datacenter";
/// The appliance's first NIC's PCI slot (VIC numbers slots from 0x4A0 in steps of 32).
pub const FIRST_PCI_SLOT: u32 = 0x4A0;

/// The component command lines VIC writes (vic.md §6.4).
const PERSONALITY_PATH: &str = "/sbin/docker-engine-server";
const PORT_LAYER_PATH: &str = "/sbin/port-layer-server";
const VICADMIN_PATH: &str = "/sbin/vicadmin";

/// A port group the appliance is attached to, by role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleNetwork {
    /// `public`, `client`, `management` or `bridge`.
    pub role: String,
    /// The port group's name.
    pub name: String,
    /// The port group.
    pub moref: VimRef,
    /// The NIC's PCI slot (roles sharing a port group share the NIC).
    pub slot: u32,
}

/// A container network as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredContainerNetwork {
    /// The alias (the map key).
    pub alias: String,
    /// The port group's name.
    pub portgroup_name: String,
    /// The port group.
    pub portgroup: VimRef,
    /// Gateway and prefix.
    pub gateway: Option<(IpAddr, u8)>,
    /// Range.
    pub ip_range: Option<(IpAddr, IpAddr)>,
    /// DNS.
    pub dns: Vec<IpAddr>,
    /// Trust level.
    pub trust: Option<TrustLevel>,
}

/// The whole VCH configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct VchConfig {
    /// `init/common/name` (hidden).
    pub name: String,
    /// `init/common/id`: `CreatingVCH` or `VirtualMachine:vm-N`.
    pub id: String,
    /// `connect/target`.
    pub target_url: String,
    /// `connect/username`.
    pub username: String,
    /// `connect/token@secret` (see the module docs: not encrypted).
    pub password: String,
    /// `connect/target_thumbprint`.
    pub thumbprint: Option<String>,
    /// `cert/HostCertificate/Cert` (PEM chain); empty with `--no-tls`.
    pub server_cert_pem: String,
    /// `cert/HostCertificate/Key@secret` (PEM).
    pub server_key_pem: String,
    /// `cert/CertificateAuthorities` (PEM bundle); non-empty means tlsverify.
    pub ca_pem: String,
    /// The client network's static address (`--client-network-ip`), if any.
    pub client_ip: Option<(IpAddr, u8)>,
    /// The appliance's networks by role.
    pub networks: Vec<RoleNetwork>,
    /// The bridge range and width.
    pub bridge_range: (IpAddr, u8),
    /// Bridge width.
    pub bridge_width: u8,
    /// Container networks.
    pub container_networks: Vec<StoredContainerNetwork>,
    /// `container/ContainerNameConvention`.
    pub name_convention: Option<String>,
    /// `container/ComputeResources|0`: the VCH pool.
    pub pool: VimRef,
    /// The VM folder (testbed key).
    pub vm_folder: VimRef,
    /// The datacenter (testbed key).
    pub datacenter: VimRef,
    /// Inventory paths for the port layer's environment (`DC_PATH`, `CS_PATH`, `POOL_PATH`).
    pub paths: InventoryPaths,
    /// `storage/image_stores|0`: datastore and path.
    pub image_store: (String, String),
    /// `storage/VolumeLocations|<label>`: the volume stores.
    pub volume_stores: Vec<VolumeStore>,
    /// `container/container_count` (None: unlimited).
    pub containers: Option<u32>,
    /// `storage/storage_quota` in bytes, as VIC stores it (None: unlimited).
    pub storage_quota_bytes: Option<u64>,
    /// `cert/RegistryCertificateAuthorities` (one PEM bundle), `registry/insecure_registries~`
    /// and `registry/whitelist_registries~` (the whitelist as validation merged it).
    pub registries: RegistryPolicy,
    /// `init/diagnostics/debug`.
    pub debug: u8,
    /// `init/version/*` as `<Version>-<BuildNumber>-<GitCommit>`.
    pub version: String,
    /// `create_bridge_network`: vic-machine created the ESX bridge port group and vSwitch.
    pub create_bridge_network: bool,
    /// `vic_machine_create_options~`.
    pub create_options: Vec<String>,
}

/// Inventory paths the components get in their environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InventoryPaths {
    /// `/DC0`.
    pub datacenter: String,
    /// `/DC0/host/DC0_C0`.
    pub compute: String,
    /// `/DC0/host/DC0_C0/Resources/vch1`.
    pub pool: String,
    /// `/DC0/datastore/LocalDS_0`.
    pub datastore: String,
}

fn gmo(m: &VimRef) -> MoRef {
    MoRef::new(&m.ty, &m.value)
}

fn vim(m: &MoRef) -> VimRef {
    VimRef::new(m.kind.clone(), m.value.clone())
}

/// A `@secret` value, framed but not encrypted (see the module docs).
fn frame_secret(plain: &str) -> String {
    encode_secret(&[0u8; SECRET_NONCE_LEN], plain.as_bytes())
}

fn unframe_secret(value: &str) -> Result<String, String> {
    let s = guestinfo::decode_secret(value).map_err(|e| e.to_string())?;
    String::from_utf8(s.sealed).map_err(|_| "a secret is not UTF-8".to_owned())
}

impl VchConfig {
    /// The bridge role's network.
    pub fn bridge(&self) -> Option<&RoleNetwork> {
        self.networks.iter().find(|n| n.role == vch::ROLE_BRIDGE)
    }

    /// The encoded ExtraConfig entries.
    pub fn to_keys(&self) -> Keys {
        let mut k = Keys::new()
            .put(vch::ID, self.id.as_str())
            .hidden(vch::NAME, self.name.as_str())
            .put(vch::CONNECT_TARGET, self.target_url.as_str())
            .put(vch::CONNECT_USERNAME, self.username.as_str())
            .put(vch::CONNECT_TOKEN, frame_secret(&self.password))
            .put(vch::CONNECT_KEEPALIVE, 0u64)
            .put(vch::DEBUG, self.debug)
            .put(vch::ASYMROUTING, false)
            .put(vch::BRIDGE_NETWORK, vch::ROLE_BRIDGE)
            .put(vch::BRIDGE_IP_RANGE_IP, self.bridge_range.0)
            .put(
                vch::BRIDGE_IP_RANGE_MASK,
                encode_mask(self.bridge_range.1, self.bridge_range.0.is_ipv4()),
            )
            .put(vch::BRIDGE_NET_WIDTH, self.bridge_width)
            .put(vch::CREATE_BRIDGE_NETWORK, self.create_bridge_network)
            .put(vch::GRANT_PERMISSIONS, false)
            .put(VM_FOLDER_KEY, gmo(&self.vm_folder))
            .put(DATACENTER_KEY, gmo(&self.datacenter))
            .put(vch::COMPUTE_RESOURCES, 0u64)
            .put(vch::compute_resource_key(0, "Type"), self.pool.ty.as_ref())
            .put(
                vch::compute_resource_key(0, "Value"),
                self.pool.value.as_str(),
            )
            .put(vch::IMAGE_STORES, 0u64)
            .put(vch::image_store_key(0, "Scheme"), "ds")
            .put(vch::image_store_key(0, "Host"), self.image_store.0.as_str())
            .put(
                vch::image_store_key(0, "Path"),
                format!("/{}", self.image_store.1),
            )
            .put(
                vch::CONTAINER_COUNT,
                i64::from(self.containers.unwrap_or(0)),
            )
            .put(vch::STORAGE_QUOTA, self.storage_quota_bytes.unwrap_or(0))
            // KB; the engine's storage quota counts each containerVM at this size
            // (`engine::quota`'s SCRATCH_SIZE_KB must stay equal).
            .put(vch::SCRATCH_SIZE, 8_000_000u64)
            .put("answer.msg.serial.file.open", "Append");
        if let Some(t) = &self.thumbprint {
            k.insert(vch::CONNECT_TARGET_THUMBPRINT, t.as_str());
        }
        // Volume stores as VIC's dispatcher leaves them: scheme `ds`, the datastore as host
        // and the store's root as a datastore path (`[ds] path`, VIC issue #1301).
        if !self.volume_stores.is_empty() {
            let labels: Vec<&str> = self
                .volume_stores
                .iter()
                .map(|v| v.label.as_str())
                .collect();
            k = k.map_keys(vch::VOLUME_LOCATIONS, &labels);
        }
        for v in &self.volume_stores {
            k.insert(vch::volume_location_key(&v.label, "Scheme"), "ds");
            k.insert(
                vch::volume_location_key(&v.label, "Host"),
                v.datastore.as_str(),
            );
            k.insert(
                vch::volume_location_key(&v.label, "Path"),
                crate::portlayer::volumes::store_root(v),
            );
        }
        if !self.server_cert_pem.is_empty() {
            k.insert(
                vch::HOST_CERTIFICATE,
                encode_bytes(self.server_cert_pem.as_bytes()),
            );
            k.insert(
                vch::HOST_CERTIFICATE_KEY,
                frame_secret(&self.server_key_pem),
            );
        }
        if !self.ca_pem.is_empty() {
            k.insert(
                vch::CERTIFICATE_AUTHORITIES,
                encode_bytes(self.ca_pem.as_bytes()),
            );
        }
        if let Some(cnc) = &self.name_convention {
            k.insert(vch::CONTAINER_NAME_CONVENTION, cnc.as_str());
        }
        // Registries; VIC's encoder skips empty slices and byte arrays.
        let registry_cas = self.registries.ca_bundle();
        if !registry_cas.is_empty() {
            k.insert(
                vch::REGISTRY_CERTIFICATE_AUTHORITIES,
                encode_bytes(registry_cas.as_bytes()),
            );
        }
        for (key, list) in [
            (vch::INSECURE_REGISTRIES, &self.registries.insecure),
            (vch::WHITELIST_REGISTRIES, &self.registries.whitelist),
        ] {
            if !list.is_empty() {
                let values: Vec<&str> = list.iter().map(String::as_str).collect();
                k = k.strings(key, &values);
            }
        }
        // Versions.
        let mut parts = self.version.splitn(3, '-');
        for field in ["Version", "BuildNumber", "GitCommit"] {
            k.insert(vch::version_key(field), parts.next().unwrap_or(""));
        }
        k.insert(vch::version_key("State"), "");
        // Networks by role.
        let roles: Vec<&str> = self.networks.iter().map(|n| n.role.as_str()).collect();
        k = k.map_keys(&ro_key("init/networks"), &roles);
        for n in &self.networks {
            k.insert(vch::network_key(&n.role, "Common/id"), n.slot);
            k.insert(
                vch::network_key(&n.role, "network/Common/id"),
                gmo(&n.moref),
            );
            k.insert(
                vch::network_key(&n.role, "network/Common/name"),
                n.name.as_str(),
            );
            let static_ip = (n.role != vch::ROLE_BRIDGE)
                .then_some(self.client_ip)
                .flatten();
            k.insert(vch::network_key(&n.role, "static"), static_ip.is_some());
            if let Some((ip, prefix)) = static_ip {
                k.insert(vch::network_key(&n.role, "ip/IP"), ip);
                k.insert(
                    vch::network_key(&n.role, "ip/Mask"),
                    encode_mask(prefix, ip.is_ipv4()),
                );
            }
            k.insert(
                vch::network_key(&n.role, "network/default"),
                n.role == vch::ROLE_PUBLIC,
            );
        }
        // Container networks.
        let aliases: Vec<&str> = self
            .container_networks
            .iter()
            .map(|c| c.alias.as_str())
            .collect();
        if !aliases.is_empty() {
            k = k.map_keys(vch::CONTAINER_NETWORKS, &aliases);
        }
        for c in &self.container_networks {
            let f = |field: &str| vch::container_network_key(&c.alias, field);
            k.insert(f("Common/id"), gmo(&c.portgroup));
            k.insert(f("Common/name"), c.portgroup_name.as_str());
            k.insert(f("type"), "external");
            k.insert(f("default"), false);
            k.insert(f("TrustLevel"), TrustLevel::to_config(c.trust));
            if let Some((gw, prefix)) = c.gateway {
                k.insert(f("gateway/IP"), gw);
                k.insert(f("gateway/Mask"), encode_mask(prefix, gw.is_ipv4()));
            }
            if !c.dns.is_empty() {
                k.insert(f("dns"), c.dns.len() as u64 - 1);
                for (i, ip) in c.dns.iter().enumerate() {
                    k.insert(f(&format!("dns|{i}")), *ip);
                }
            }
            if let Some((first, last)) = c.ip_range {
                k.insert(f("pools"), 0u64);
                k.insert(f("pools|0/first"), first);
                k.insert(f("pools|0/last"), last);
            }
        }
        // Components, as VIC writes them.
        let comps = [vch::DOCKER_PERSONALITY, vch::PORT_LAYER, vch::VICADMIN];
        k = k.map_keys(&ro_key("init/sessions"), &comps);
        let port = if self.server_cert_pem.is_empty() {
            crate::tls::DOCKER_PLAIN_PORT
        } else {
            crate::tls::DOCKER_TLS_PORT
        };
        let p = &self.paths;
        let personality_args = [
            PERSONALITY_PATH.to_owned(),
            format!("-port={port}"),
            "-port-layer-port=2377".to_owned(),
        ];
        let port_layer_args = [
            PORT_LAYER_PATH.to_owned(),
            "--host=localhost".to_owned(),
            "--port=2377".to_owned(),
        ];
        let port_layer_env = [
            format!("VC_URL={}", self.target_url),
            format!("DC_PATH={}", p.datacenter),
            format!("CS_PATH={}", p.compute),
            format!("POOL_PATH={}", p.pool),
            format!("DS_PATH={}", p.datastore),
        ];
        let vicadmin_args = [
            VICADMIN_PATH.to_owned(),
            format!("--dc={}", p.datacenter),
            format!("--pool={}", p.pool),
            format!("--cluster={}", p.compute),
        ];
        for (c, path, args, env) in [
            (
                vch::DOCKER_PERSONALITY,
                PERSONALITY_PATH,
                &personality_args[..],
                &[][..],
            ),
            (
                vch::PORT_LAYER,
                PORT_LAYER_PATH,
                &port_layer_args[..],
                &port_layer_env[..],
            ),
            (vch::VICADMIN, VICADMIN_PATH, &vicadmin_args[..], &[][..]),
        ] {
            k.insert(vch::session_key(c, "cmd/Path"), path);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            k = k.strings(&vch::session_key(c, "cmd/Args"), &args);
            let env: Vec<&str> = env.iter().map(String::as_str).collect();
            k = k.strings(&vch::session_key(c, "cmd/Env"), &env);
            k.insert(vch::session_key(c, "restart"), true);
            k.insert(vch::session_key(c, "active"), true);
        }
        let opts: Vec<&str> = self.create_options.iter().map(String::as_str).collect();
        k.strings(vch::VIC_MACHINE_CREATE_OPTIONS, &opts)
    }

    /// Reads the configuration back from ExtraConfig entries.
    pub fn from_keys(k: &Keys) -> Result<VchConfig, String> {
        let need = |key: &str| {
            k.get(key)
                .map(str::to_owned)
                .ok_or_else(|| format!("the VCH configuration has no {key}"))
        };
        let err = |e: guestinfo::GuestinfoError| e.to_string();
        let moref = |key: &str| -> Result<VimRef, String> {
            let m = k
                .get_moref(key)
                .map_err(err)?
                .ok_or_else(|| format!("the VCH configuration has no {key}"))?;
            Ok(vim(&m))
        };
        let mask_prefix = |key: &str| -> Result<Option<u8>, String> {
            Ok(k.get_bytes(key)
                .map_err(err)?
                .map(|b| b.iter().map(|x| x.count_ones() as u8).sum()))
        };
        let server_cert_pem = match k.get_bytes(vch::HOST_CERTIFICATE).map_err(err)? {
            Some(b) => String::from_utf8(b).map_err(|_| "the host certificate is not UTF-8")?,
            None => String::new(),
        };
        let server_key_pem = match k.get(vch::HOST_CERTIFICATE_KEY) {
            Some(v) => unframe_secret(v)?,
            None => String::new(),
        };
        let ca_pem = match k.get_bytes(vch::CERTIFICATE_AUTHORITIES).map_err(err)? {
            Some(b) => String::from_utf8(b).map_err(|_| "the CA bundle is not UTF-8")?,
            None => String::new(),
        };
        let registry_cas = match k
            .get_bytes(vch::REGISTRY_CERTIFICATE_AUTHORITIES)
            .map_err(err)?
        {
            Some(b) => {
                vec![String::from_utf8(b).map_err(|_| "the registry CA bundle is not UTF-8")?]
            }
            None => Vec::new(),
        };
        let strings = |key: &str| -> Result<Vec<String>, String> {
            Ok(k.get_strings(key)
                .map_err(err)?
                .unwrap_or_default()
                .into_iter()
                .map(str::to_owned)
                .collect())
        };
        let registries = RegistryPolicy {
            ca_pems: registry_cas,
            insecure: strings(vch::INSECURE_REGISTRIES)?,
            whitelist: strings(vch::WHITELIST_REGISTRIES)?,
        };
        let mut networks = Vec::new();
        let mut client_ip = None;
        for role in k.get_map_keys(&ro_key("init/networks")).unwrap_or_default() {
            let f = |field: &str| vch::network_key(role, field);
            let slot = k
                .get_int(&f("Common/id"))
                .map_err(err)?
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(FIRST_PCI_SLOT);
            networks.push(RoleNetwork {
                role: role.to_owned(),
                name: k.get(&f("network/Common/name")).unwrap_or("").to_owned(),
                moref: moref(&f("network/Common/id"))?,
                slot,
            });
            if role == vch::ROLE_CLIENT && k.get_bool(&f("static")).map_err(err)? == Some(true) {
                let ip = k
                    .get_ip(&f("ip/IP"))
                    .map_err(err)?
                    .ok_or("the client network is static but has no address")?;
                let prefix = mask_prefix(&f("ip/Mask"))?.unwrap_or(32);
                client_ip = Some((ip, prefix));
            }
        }
        let mut container_networks = Vec::new();
        for alias in k.get_map_keys(vch::CONTAINER_NETWORKS).unwrap_or_default() {
            let f = |field: &str| vch::container_network_key(alias, field);
            let gateway = match k.get_ip(&f("gateway/IP")).map_err(err)? {
                Some(ip) => Some((ip, mask_prefix(&f("gateway/Mask"))?.unwrap_or(32))),
                None => None,
            };
            let ip_range = match (
                k.get_ip(&f("pools|0/first")).map_err(err)?,
                k.get_ip(&f("pools|0/last")).map_err(err)?,
            ) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            };
            let mut dns = Vec::new();
            if let Some(last) = k.get_int(&f("dns")).map_err(err)? {
                for i in 0..=last.clamp(-1, 64) {
                    if let Some(ip) = k.get_ip(&f(&format!("dns|{i}"))).map_err(err)? {
                        dns.push(ip);
                    }
                }
            }
            container_networks.push(StoredContainerNetwork {
                alias: alias.to_owned(),
                portgroup_name: k.get(&f("Common/name")).unwrap_or(alias).to_owned(),
                portgroup: moref(&f("Common/id"))?,
                gateway,
                ip_range,
                dns,
                trust: TrustLevel::from_config(
                    k.get_int(&f("TrustLevel")).map_err(err)?.unwrap_or(0),
                ),
            });
        }
        let mut volume_stores = Vec::new();
        for label in k.get_map_keys(vch::VOLUME_LOCATIONS).unwrap_or_default() {
            let f = |field: &str| k.get(&vch::volume_location_key(label, field));
            if label.is_empty() || f("Scheme") != Some("ds") {
                continue;
            }
            let host = f("Host").unwrap_or("");
            let raw = f("Path").unwrap_or("");
            let (datastore, path) = match raw.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some((ds, rest)) => (ds, rest.trim()),
                None => (host, raw),
            };
            volume_stores.push(VolumeStore {
                label: label.to_owned(),
                datastore: datastore.to_owned(),
                path: path.trim_matches('/').to_owned(),
            });
        }
        let bridge_ip = k
            .get_ip(vch::BRIDGE_IP_RANGE_IP)
            .map_err(err)?
            .ok_or("the VCH configuration has no bridge range")?;
        let bridge_prefix = mask_prefix(vch::BRIDGE_IP_RANGE_MASK)?.unwrap_or(12);
        let version = ["Version", "BuildNumber", "GitCommit"]
            .iter()
            .map(|f| k.get(&vch::version_key(f)).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("-");
        let env = k
            .get_strings(&vch::session_key(vch::PORT_LAYER, "cmd/Env"))
            .map_err(err)?
            .unwrap_or_default();
        let env_of = |name: &str| {
            env.iter()
                .find_map(|e| e.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
                .unwrap_or("")
                .to_owned()
        };
        let pool_ty = need(&vch::compute_resource_key(0, "Type"))?;
        let pool_value = need(&vch::compute_resource_key(0, "Value"))?;
        Ok(VchConfig {
            name: k.get(vch::NAME).unwrap_or("").to_owned(),
            id: need(vch::ID)?,
            target_url: need(vch::CONNECT_TARGET)?,
            username: need(vch::CONNECT_USERNAME)?,
            password: match k.get(vch::CONNECT_TOKEN) {
                Some(v) => unframe_secret(v)?,
                None => String::new(),
            },
            thumbprint: k.get(vch::CONNECT_TARGET_THUMBPRINT).map(str::to_owned),
            server_cert_pem,
            server_key_pem,
            ca_pem,
            client_ip,
            networks,
            bridge_range: (bridge_ip, bridge_prefix),
            bridge_width: k
                .get_int(vch::BRIDGE_NET_WIDTH)
                .map_err(err)?
                .and_then(|w| u8::try_from(w).ok())
                .unwrap_or(16),
            container_networks,
            name_convention: k.get(vch::CONTAINER_NAME_CONVENTION).map(str::to_owned),
            pool: VimRef::new(pool_ty, pool_value),
            vm_folder: moref(VM_FOLDER_KEY)?,
            datacenter: moref(DATACENTER_KEY)?,
            paths: InventoryPaths {
                datacenter: env_of("DC_PATH"),
                compute: env_of("CS_PATH"),
                pool: env_of("POOL_PATH"),
                datastore: env_of("DS_PATH"),
            },
            image_store: (
                k.get(&vch::image_store_key(0, "Host"))
                    .unwrap_or("")
                    .to_owned(),
                k.get(&vch::image_store_key(0, "Path"))
                    .unwrap_or("")
                    .trim_start_matches('/')
                    .to_owned(),
            ),
            volume_stores,
            containers: k
                .get_int(vch::CONTAINER_COUNT)
                .map_err(err)?
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0),
            storage_quota_bytes: k
                .get_int(vch::STORAGE_QUOTA)
                .map_err(err)?
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n > 0),
            registries,
            debug: k
                .get_int(vch::DEBUG)
                .map_err(err)?
                .and_then(|n| u8::try_from(n).ok())
                .unwrap_or(0),
            version,
            create_bridge_network: k
                .get_bool(vch::CREATE_BRIDGE_NETWORK)
                .map_err(err)?
                .unwrap_or(false),
            create_options: k
                .get_strings(vch::VIC_MACHINE_CREATE_OPTIONS)
                .map_err(err)?
                .unwrap_or_default()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The TLS mode the stored material means.
    pub fn tls_mode(&self) -> crate::tls::TlsMode {
        use crate::tls::TlsMode;
        if self.server_cert_pem.is_empty() {
            TlsMode::NoTls
        } else if self.ca_pem.is_empty() {
            TlsMode::ServerOnly
        } else {
            TlsMode::Mutual
        }
    }

    /// The TLS material the endpoint serves, rebuilt from the stored PEMs.
    pub fn tls_material(&self) -> crate::tls::TlsMaterial {
        let mode = self.tls_mode();
        crate::tls::TlsMaterial {
            mode,
            port: mode.port(),
            server_chain_pem: self.server_cert_pem.clone(),
            server_key_pem: self.server_key_pem.clone(),
            client_ca_pems: if self.ca_pem.is_empty() {
                Vec::new()
            } else {
                vec![self.ca_pem.clone()]
            },
            cert_dir: None,
            env_file: std::path::PathBuf::new(),
            cname: None,
            client_cert: None,
            generated: false,
            reused: false,
            log: Vec::new(),
        }
    }

    /// The engine's configuration for the appliance `vm` listening on `listen`.
    pub fn engine_config(
        &self,
        vm: &VimRef,
        listen: std::net::SocketAddr,
    ) -> Result<EngineConfig, String> {
        let tls = match self.tls_mode() {
            crate::tls::TlsMode::NoTls => None,
            _ => Some(crate::tls::server_config(&self.tls_material()).map_err(|e| e.to_string())?),
        };
        let bridge = self
            .bridge()
            .ok_or("the VCH configuration has no bridge network")?;
        Ok(EngineConfig {
            vch_name: self.name.clone(),
            appliance: vm.clone(),
            listen,
            tls,
            target: VsphereTarget {
                url: self.target_url.clone(),
                username: self.username.clone(),
                password: self.password.clone(),
                thumbprint: self.thumbprint.clone(),
                insecure: self.thumbprint.is_none() && self.target_url.starts_with("https:"),
            },
            pool: self.pool.clone(),
            vm_folder: self.vm_folder.clone(),
            datacenter: self.datacenter.clone(),
            image_store: self.image_store.clone(),
            bridge_network: (bridge.name.clone(), bridge.moref.clone()),
            bridge_range: self.bridge_range,
            bridge_width: self.bridge_width,
            container_networks: self
                .container_networks
                .iter()
                .map(|c| ContainerNetwork {
                    alias: c.alias.clone(),
                    portgroup_name: c.portgroup_name.clone(),
                    portgroup: c.portgroup.clone(),
                    gateway: c.gateway,
                    ip_range: c.ip_range,
                    dns: c.dns.clone(),
                    trust: c.trust,
                })
                .collect(),
            name_convention: NameConvention::unchecked(
                self.name_convention.as_deref().unwrap_or(""),
            ),
            container_limit: self.containers,
            storage_quota_bytes: self.storage_quota_bytes,
            volume_stores: self.volume_stores.clone(),
            images: Catalogue::builtin(),
            registries: self.registries.clone(),
            debug: self.debug,
            vic_version: VIC_VERSION.trim_start_matches('v').to_owned(),
            interaction: None,
            services: None,
        })
    }
}

/// Decodes an `encode_ip` value (re-exported for the appliance and inspect).
pub fn decode_assigned_ip(value: &str) -> Option<IpAddr> {
    decode_ip(value).ok()
}

/// Encodes an IP the way the appliance writes `client.assigned.IP`.
pub fn encode_assigned_ip(ip: IpAddr) -> String {
    encode_ip(ip)
}

/// Splits a PEM bundle's bytes from base64 (inspect reads the CA this way).
pub fn decode_pem_value(value: &str) -> Option<String> {
    decode_bytes(value)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// An `Arc`'d engine config, for launchers.
pub type SharedEngineConfig = Arc<EngineConfig>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The fewest keys [`VchConfig::from_keys`] reads a configuration from.
    fn minimal_keys() -> Keys {
        Keys::new()
            .put(vch::ID, "VirtualMachine:vm-1")
            .put(vch::CONNECT_TARGET, "https://vc/sdk")
            .put(vch::CONNECT_USERNAME, "admin")
            .put(vch::compute_resource_key(0, "Type"), "ResourcePool")
            .put(vch::compute_resource_key(0, "Value"), "resgroup-1")
            .put(VM_FOLDER_KEY, MoRef::new("Folder", "group-v1"))
            .put(DATACENTER_KEY, MoRef::new("Datacenter", "datacenter-1"))
            .put(vch::BRIDGE_IP_RANGE_IP, IpAddr::from([172, 16, 0, 0]))
    }

    #[test]
    fn registries_round_trip_through_vics_keys() {
        let mut cfg = VchConfig::from_keys(&minimal_keys()).unwrap();
        assert_eq!(cfg.registries, RegistryPolicy::default());
        let none = cfg.to_keys();
        for key in [
            vch::REGISTRY_CERTIFICATE_AUTHORITIES,
            vch::INSECURE_REGISTRIES,
            vch::WHITELIST_REGISTRIES,
        ] {
            assert!(
                none.get(key).is_none(),
                "empty lists are not written: {key}"
            );
        }
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        cfg.registries = RegistryPolicy {
            ca_pems: vec![pem.to_owned()],
            insecure: vec!["reg.corp.local:5000".into()],
            whitelist: vec!["10.0.0.0/8".into(), "*.corp.local".into()],
        };
        let keys = cfg.to_keys();
        assert_eq!(
            keys.get("guestinfo.vice./registry/whitelist_registries~"),
            Some("10.0.0.0/8|*.corp.local")
        );
        assert_eq!(
            keys.get("guestinfo.vice./registry/whitelist_registries"),
            Some("1")
        );
        assert_eq!(
            keys.get("guestinfo.vice./registry/insecure_registries~"),
            Some("reg.corp.local:5000")
        );
        assert_eq!(
            keys.get("guestinfo.vice./cert/RegistryCertificateAuthorities")
                .and_then(decode_pem_value)
                .as_deref(),
            Some(pem)
        );
        let back = VchConfig::from_keys(&keys).unwrap();
        assert_eq!(back, cfg);
        let listen = "127.0.0.1:2375".parse().unwrap();
        let vm = VimRef::new("VirtualMachine", "vm-1");
        let bridged = VchConfig {
            networks: vec![RoleNetwork {
                role: vch::ROLE_BRIDGE.into(),
                name: "br".into(),
                moref: VimRef::new("Network", "net-1"),
                slot: FIRST_PCI_SLOT,
            }],
            ..back
        };
        let engine = bridged.engine_config(&vm, listen).unwrap();
        assert_eq!(engine.registries, cfg.registries);
    }
}
