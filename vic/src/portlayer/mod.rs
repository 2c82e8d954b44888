//! The port layer: containerVM lifecycle over SOAP in the VCH's pool (vic.md §6.2).
//!
//! - [`PortLayer::create`]: `CreateVM_Task` in the VCH folder with the containerVM spec of
//!   vic.md §5.3 (size, PVSCSI 100 + IDE 200 + bootstrap CD-ROM, one vmxnet3 per network, the
//!   fixed ExtraConfig entries) and the container's guestinfo keys (vic.md §6.4), display name
//!   from the name convention (vic.md §2); on vCenter `DisableMethods(Destroy_Task)`.
//! - [`PortLayer::start`]: binds the endpoint (an address from the bridge range or the
//!   container network's range), `ReconfigVM_Task` with the static-IP keys, power-on
//!   (`PowerOnMultiVM_Task` on vCenter, `PowerOnVM_Task` on ESXi), then waits for
//!   `guestinfo.vice..sessions|<id>.started`: `true` is success, anything else the error.
//! - [`PortLayer::signal`] / [`PortLayer::stop`]: `StartProgramInGuest("kill", signal)` (the
//!   tether's built-in), then `PowerOffVM_Task` if still on.
//! - [`PortLayer::remove`]: `EnableMethods`, `Destroy_Task`, `DeleteDatastoreFile_Task`.
//! - [`PortLayer::rename`]: `ReconfigVM_Task` with the re-applied display name.
//! - [`PortLayer::states`] / [`PortLayer::state`]: power state, boot time and the tether's
//!   write-back keys, read through a container view of the pool or the VM itself.
//!
//! Differences from VIC, on purpose:
//! - The emulated guest runs no processes, so after `kill` the port layer does not wait VIC's
//!   10 s for the process to die: it checks the power state once, and powers the VM off when a
//!   signal whose default action terminates was sent (what the tether does when its process
//!   dies). A signal the process would ignore (`WINCH`, `CHLD`, `CONT`, `URG`) changes nothing.
//! - NICs use `VirtualEthernetCardNetworkBackingInfo` with the port group's MoRef for every
//!   kind of port group (a real vCenter wants a DVPort backing for a distributed port group).

mod exec;
mod metrics;
pub mod volumes;

pub use exec::{ExecSpec, MAX_EXECS};
pub use metrics::{VmMetrics, VmSample};

use crate::engine::{ContainerNetwork, EngineConfig};
use crate::firewall::{IpRange, PortMapping, TrustLevel};
use crate::guestinfo::{self, Keys, container as ck};
use crate::vsphere::{self, Client, ConnectOptions, ObjectContent, option_value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vcsim::vmodl::{DataObject, MoRef, Value};

/// How long start waits for the tether's `started` key (VIC: 3 minutes).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);
/// The extraConfig key the emulator's guests read a declared workload from (testbed-only; set
/// only when the image declares one).
pub const WORKLOAD_KEY: &str = vcsim::guest::WORKLOAD_KEY;
/// Most labels a container may carry (each becomes an ExtraConfig annotation).
pub const MAX_LABELS: usize = 256;
/// The `sourceId` VIC disables methods with.
const VIC_SOURCE: &str = "VIC";
/// The PCI slot of a containerVM's first NIC (VIC assigns explicit slots from 0xC0 for
/// containers; the slot is the endpoint id the tether matches interfaces by).
const FIRST_NIC_SLOT: i32 = 192;

/// The fixed ExtraConfig entries of every containerVM (vic.md §5.3).
pub const FIXED_EXTRA_CONFIG: [(&str, &str); 10] = [
    ("disk.EnableUUID", "true"),
    ("answer.msg.disk.duplicateUUID", "Yes"),
    ("answer.msg.serial.file.open", "Append"),
    ("sched.mem.lpage.maxSharedPages", "256"),
    ("vmotion.checkpointSVGAPrimarySize", "4194304"),
    ("serial0.hardwareFlowControl", "TRUE"),
    ("memory.noHotAddOver4GB", "FALSE"),
    ("memory.maxGrow", "512"),
    ("tools.remindInstall", "FALSE"),
    ("tools.upgrade.policy", "manual"),
];

/// Errors of port-layer operations.
#[derive(Debug, thiserror::Error)]
pub enum PortLayerError {
    /// A vSphere call failed.
    #[error(transparent)]
    Vsphere(#[from] vsphere::Error),
    /// The tether reported a launch error (the `started` key's text), or the VM powered off
    /// before it reported anything.
    #[error("{0}")]
    Launch(String),
    /// No address is left in the network's range.
    #[error("no available IP addresses in network {0}")]
    AddressesExhausted(String),
    /// The container's network is not one the VCH has.
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    /// Power-on was refused (`PowerOnMultiVM_Task` did not attempt the VM).
    #[error("power on failed: {0}")]
    PowerOn(String),
    /// Bad input (too many labels, …).
    #[error("{0}")]
    Invalid(String),
}

impl PortLayerError {
    /// True when the VM no longer exists.
    pub fn is_gone(&self) -> bool {
        matches!(self, PortLayerError::Vsphere(e) if e.is_fault("ManagedObjectNotFound"))
            || matches!(self, PortLayerError::Vsphere(vsphere::Error::Deleted(_)))
    }
}

/// Which network a container joins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attachment {
    /// The VCH's bridge network.
    Bridge,
    /// A container network, by alias (`--net <alias>`).
    Container(String),
}

impl Attachment {
    /// The endpoint's network name (`bridge` or the alias), the key of `networks|<net>`.
    pub fn name(&self) -> &str {
        match self {
            Attachment::Bridge => "bridge",
            Attachment::Container(a) => a,
        }
    }
}

/// Everything the port layer needs to create a containerVM.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerSpec {
    /// The 64-hex container id.
    pub id: String,
    /// The docker name (no leading `/`).
    pub name: String,
    /// vCPUs.
    pub num_cpus: u32,
    /// Memory in MB.
    pub memory_mb: u64,
    /// The program (argv\[0\]).
    pub path: String,
    /// The full argv, argv\[0\] included (Go's `exec.Cmd.Args`, as VIC stores it).
    pub args: Vec<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// `-t`.
    pub tty: bool,
    /// Attached at start (`docker run` without `-d`).
    pub attach: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// The signal `docker stop` sends first (`SIGTERM` by default).
    pub stop_signal: String,
    /// Guest host name.
    pub hostname: String,
    /// Image repository as given (`progrium/stress`).
    pub repo: String,
    /// Image id (`sha256:…`).
    pub image_id: String,
    /// Workload the image declares (`guestinfo.vicbed.workload`), if any.
    pub workload: Option<String>,
    /// The network joined.
    pub network: Attachment,
    /// `-p` bindings.
    pub ports: Vec<PortMapping>,
    /// Labels (`annotations|<k>`, hidden from the guest).
    pub labels: BTreeMap<String, String>,
    /// Creation time, Unix seconds (virtual clock).
    pub created_s: i64,
}

/// The power state of a VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    /// Running.
    On,
    /// Off.
    Off,
    /// Suspended.
    Suspended,
}

/// What the port layer reads back about a containerVM.
#[derive(Clone, Debug, PartialEq)]
pub struct VmState {
    /// The VM.
    pub vm: MoRef,
    /// The container id (`guestinfo.vice./common/id`).
    pub id: String,
    /// The display name.
    pub display_name: String,
    /// Power state.
    pub power: Power,
    /// `sessions|<id>.started`: `true` or the launch error; `None` before the first start.
    pub started: Option<String>,
    /// `sessions|<id>.status`: exit status, once the process exited by itself.
    pub status: Option<i32>,
    /// `detail.starttime`, Unix seconds.
    pub start_s: Option<i64>,
    /// `detail.stoptime`, Unix seconds.
    pub stop_s: Option<i64>,
    /// `runtime.bootTime`, ms.
    pub boot_ms: Option<i64>,
    /// The address the tether reports (`networks|<net>.assigned.IP`, else `guest.ipAddress`).
    pub ip: Option<IpAddr>,
    /// vCPUs.
    pub num_cpu: u32,
    /// Memory in MB.
    pub memory_mb: u64,
    /// The VM's resource pool.
    pub pool: Option<MoRef>,
    /// The raw extraConfig (for callers that need more keys).
    pub extra: Keys,
}

/// The VCH pool's figures `docker info` reports (vic.md §5.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// CPU limit in MHz (resolved through parents while unlimited).
    pub cpu_limit_mhz: i64,
    /// Memory limit in MB (resolved likewise).
    pub mem_limit_mb: i64,
    /// CPU usage in MHz.
    pub cpu_usage_mhz: i64,
    /// Memory usage in MB.
    pub mem_usage_mb: i64,
}

/// An address bound to a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The address (None: dynamic, the guest gets one by DHCP).
    pub ip: Option<IpAddr>,
    /// Prefix length.
    pub prefix: u8,
    /// Gateway.
    pub gateway: Option<IpAddr>,
}

/// The port layer of one VCH.
pub struct PortLayer {
    client: Client,
    config: Arc<EngineConfig>,
    process_manager: Option<MoRef>,
    /// Addresses in use: network name → address → container id.
    ips: Mutex<BTreeMap<String, BTreeMap<IpAddr, String>>>,
    /// The perf counter ids `docker stats` reads, once known.
    counter_ids: Mutex<Option<[i32; 4]>>,
}

impl std::fmt::Debug for PortLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortLayer")
            .field("vch", &self.config.vch_name)
            .finish_non_exhaustive()
    }
}

fn ov(key: &str, value: &str) -> Value {
    DataObject::new("OptionValue")
        .with("key", Value::str(key))
        .with("value", Value::any(Value::str(value)))
        .into_value()
}

fn device_add(device: Value) -> Value {
    DataObject::new("VirtualDeviceConfigSpec")
        .with(
            "operation",
            Value::enumv("VirtualDeviceConfigSpecOperation", "add"),
        )
        .with("device", device)
        .into_value()
}

/// The address range and prefix of the VCH's first bridge network: the first
/// `bridge_width`-wide network of the bridge range (172.16.0.0/16 for 172.16.0.0/12 and 16).
pub fn bridge_network(range: (IpAddr, u8), width: u8) -> (IpAddr, u8) {
    let prefix = width.max(range.1);
    match range.0 {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            (IpAddr::V4(Ipv4Addr::from(bits & mask)), prefix.min(32))
        }
        v6 => (v6, prefix),
    }
}

fn v4_add(base: IpAddr, n: u32) -> Option<IpAddr> {
    match base {
        IpAddr::V4(a) => u32::from(a)
            .checked_add(n)
            .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        IpAddr::V6(_) => None,
    }
}

/// An address pool: (first, last, prefix, gateway).
type AddressPool = (IpAddr, IpAddr, u8, Option<IpAddr>);

/// The pool a network allocates container addresses from.
fn pool_of(
    attachment: &Attachment,
    config: &EngineConfig,
) -> Result<Option<AddressPool>, PortLayerError> {
    match attachment {
        Attachment::Bridge => {
            let (net, prefix) = bridge_network(config.bridge_range, config.bridge_width);
            let size = 1u32.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            // .0 is the network, .1 the VCH's bridge interface (the containers' gateway), the
            // last the broadcast address.
            let first = v4_add(net, 2);
            let last = size.checked_sub(2).and_then(|n| v4_add(net, n));
            Ok(match (first, last) {
                (Some(f), Some(l)) => Some((f, l, prefix, v4_add(net, 1))),
                _ => None,
            })
        }
        Attachment::Container(alias) => {
            let net = container_network(config, alias)?;
            let gateway = net.gateway.map(|(g, _)| g);
            let prefix = net.gateway.map(|(_, p)| p).unwrap_or(24);
            if let Some((first, last)) = net.ip_range {
                return Ok(Some((first, last, prefix, gateway)));
            }
            if let Some((g, p)) = net.gateway
                && let Some(range) = IpRange::cidr(g, p)
            {
                let size = 1u32.checked_shl(32 - u32::from(p.min(32))).unwrap_or(0);
                let first = v4_add(range.first(), 1);
                let last = size.checked_sub(2).and_then(|n| v4_add(range.first(), n));
                if let (Some(f), Some(l)) = (first, last) {
                    return Ok(Some((f, l, p, Some(g))));
                }
            }
            // No range and no gateway: the guest gets its address by DHCP.
            Ok(None)
        }
    }
}

/// A VCH container network by alias.
pub fn container_network<'a>(
    config: &'a EngineConfig,
    alias: &str,
) -> Result<&'a ContainerNetwork, PortLayerError> {
    config
        .container_networks
        .iter()
        .find(|n| n.alias == alias)
        .ok_or_else(|| PortLayerError::NoSuchNetwork(alias.to_owned()))
}

fn range_text(first: IpAddr, last: IpAddr) -> String {
    match IpRange::new(first, last) {
        Some(r) => match r.prefix_len() {
            Some(p) => format!("{}/{}", r.first(), p),
            None => format!("{first}-{last}"),
        },
        None => format!("{first}-{last}"),
    }
}

fn parse_i64(v: Option<&str>) -> Option<i64> {
    v.and_then(|s| s.trim().parse().ok())
}

impl PortLayer {
    /// Connects and logs in to the VCH's vSphere target.
    pub async fn connect(config: Arc<EngineConfig>) -> Result<PortLayer, PortLayerError> {
        let opts = ConnectOptions {
            thumbprint: config.target.thumbprint.clone(),
            insecure: config.target.insecure,
            user_agent: format!("vic-port-layer/{}", config.vic_version),
            ..ConnectOptions::default()
        };
        let client = Client::connect(&config.target.url, opts).await?;
        client
            .login(&config.target.username, &config.target.password)
            .await?;
        PortLayer::new(client, config).await
    }

    /// A port layer over an already logged-in client.
    pub async fn new(
        client: Client,
        config: Arc<EngineConfig>,
    ) -> Result<PortLayer, PortLayerError> {
        let gom = client
            .service_content()
            .raw
            .field("guestOperationsManager")
            .and_then(Value::as_moref)
            .cloned();
        let process_manager = match gom {
            Some(g) => client
                .get_property(&g, "processManager")
                .await?
                .and_then(|v| v.as_moref().cloned()),
            None => None,
        };
        Ok(PortLayer {
            client,
            config,
            process_manager,
            ips: Mutex::new(BTreeMap::new()),
            counter_ids: Mutex::new(None),
        })
    }

    /// The vSphere client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The display name of container `name`/`id` under the VCH's convention.
    pub fn display_name(&self, name: &str, id: &str) -> String {
        self.config.name_convention.display_name(name, id)
    }

    /// vSphere's clock (`ServiceInstance.CurrentTime`), ms: the virtual clock on the emulator.
    pub async fn now_ms(&self) -> Result<i64, PortLayerError> {
        let si = MoRef::new("ServiceInstance", "ServiceInstance");
        match self.client.call("CurrentTime", &si, &[]).await? {
            Some(Value::DateTime(ms)) => Ok(ms),
            Some(v) => v
                .as_str()
                .and_then(vcsim::vmodl::parse_datetime)
                .ok_or_else(|| {
                    PortLayerError::Vsphere(vsphere::Error::Protocol(
                        "CurrentTime returned no dateTime".into(),
                    ))
                }),
            None => Err(PortLayerError::Vsphere(vsphere::Error::Protocol(
                "CurrentTime returned nothing".into(),
            ))),
        }
    }

    /// The guestinfo keys of a new containerVM (vic.md §6.4), fixed entries excluded.
    pub fn container_keys(&self, spec: &ContainerSpec) -> Result<Keys, PortLayerError> {
        if spec.labels.len() > MAX_LABELS {
            return Err(PortLayerError::Invalid(format!(
                "too many labels ({}, at most {MAX_LABELS})",
                spec.labels.len()
            )));
        }
        let id = spec.id.as_str();
        let args: Vec<&str> = spec.args.iter().map(String::as_str).collect();
        let env: Vec<&str> = spec.env.iter().map(String::as_str).collect();
        let net = spec.network.name();
        let mut keys = Keys::new()
            .put(ck::ID, id)
            .hidden(ck::NAME, spec.name.as_str())
            .map_keys(&guestinfo::ro_key("sessions"), &[id])
            .put(ck::session_key(id, "common/id"), id)
            .put(ck::session_key(id, "common/name"), spec.name.as_str())
            .put(ck::session_key(id, "cmd/Path"), spec.path.as_str())
            .strings(&ck::session_key(id, "cmd/Args"), &args)
            .strings(&ck::session_key(id, "cmd/Env"), &env)
            .put(ck::session_key(id, "cmd/Dir"), spec.working_dir.as_str())
            .put(ck::session_key(id, "tty"), spec.tty)
            .put(ck::session_key(id, "attach"), spec.attach)
            .put(ck::session_key(id, "openstdin"), spec.open_stdin)
            .put(ck::session_key(id, "restart"), false)
            .put(ck::session_key(id, "stopSignal"), spec.stop_signal.as_str())
            .put(
                ck::session_state_key(id, "detail.createtime"),
                spec.created_s,
            )
            .map_keys(&guestinfo::ro_key("networks"), &[net])
            .put(ck::endpoint_key(net, "Common/id"), FIRST_NIC_SLOT)
            .put(ck::endpoint_key(net, "network/Common/name"), net)
            .put(ck::endpoint_key(net, "static"), false)
            .put(ck::version_key("Version"), self.config.vic_version.as_str())
            .put(ck::version_key("BuildNumber"), "0")
            .put(ck::version_key("GitCommit"), "vicbed")
            .put(ck::REPO, spec.repo.as_str())
            .put(ck::IMAGE_ID, spec.image_id.as_str())
            .put(ck::LAYER_ID, spec.image_id.trim_start_matches("sha256:"))
            .put(ck::HOSTNAME, spec.hostname.as_str())
            .put(ck::CREATETIME, spec.created_s);
        let ports: Vec<String> = spec.ports.iter().map(ToString::to_string).collect();
        let ports: Vec<&str> = ports.iter().map(String::as_str).collect();
        keys = keys.strings(&ck::endpoint_key(net, "ports"), &ports);
        match &spec.network {
            Attachment::Bridge => {
                let (base, prefix) =
                    bridge_network(self.config.bridge_range, self.config.bridge_width);
                keys = keys
                    .put(ck::endpoint_key(net, "network/type"), "bridge")
                    .put(ck::endpoint_key(net, "network/TrustLevel"), 0u8)
                    .strings(
                        &ck::endpoint_key(net, "network/pools"),
                        &[format!("{base}/{prefix}").as_str()],
                    );
            }
            Attachment::Container(alias) => {
                let cn = container_network(&self.config, alias)?;
                let pools: Vec<String> = cn
                    .ip_range
                    .map(|(f, l)| vec![range_text(f, l)])
                    .unwrap_or_default();
                let pools: Vec<&str> = pools.iter().map(String::as_str).collect();
                keys = keys
                    .put(ck::endpoint_key(net, "network/type"), "external")
                    .put(
                        ck::endpoint_key(net, "network/TrustLevel"),
                        TrustLevel::to_config(cn.trust),
                    )
                    .strings(&ck::endpoint_key(net, "network/pools"), &pools);
            }
        }
        if let Some(w) = &spec.workload {
            keys = keys.put(WORKLOAD_KEY, w.as_str());
        }
        for (k, v) in &spec.labels {
            keys = keys.put(ck::annotation_key(k), v.as_str());
        }
        Ok(keys)
    }

    fn nic(&self, network: &Attachment) -> Result<Value, PortLayerError> {
        let (pg_name, pg) = match network {
            Attachment::Bridge => (
                self.config.bridge_network.0.clone(),
                self.config.bridge_network.1.clone(),
            ),
            Attachment::Container(alias) => {
                let cn = container_network(&self.config, alias)?;
                (cn.portgroup_name.clone(), cn.portgroup.clone())
            }
        };
        let backing = DataObject::new("VirtualEthernetCardNetworkBackingInfo")
            .with("deviceName", Value::str(pg_name))
            .with("network", Value::moref(&pg));
        let connectable = DataObject::new("VirtualDeviceConnectInfo")
            .with("startConnected", Value::Bool(true))
            .with("allowGuestControl", Value::Bool(true))
            .with("connected", Value::Bool(false));
        let slot = DataObject::new("VirtualDevicePciBusSlotInfo")
            .with("pciSlotNumber", Value::Int(FIRST_NIC_SLOT));
        Ok(DataObject::new("VirtualVmxnet3")
            .with("key", Value::Int(-1))
            .with("backing", backing.into_value())
            .with("connectable", connectable.into_value())
            .with("slotInfo", slot.into_value())
            .with("addressType", Value::str("generated"))
            .into_value())
    }

    /// The `VirtualMachineConfigSpec` of a new containerVM.
    pub fn config_spec(&self, spec: &ContainerSpec) -> Result<Value, PortLayerError> {
        let (ds, path) = &self.config.image_store;
        let display = self.display_name(&spec.name, &spec.id);
        let devices = vec![
            device_add(
                DataObject::new("ParaVirtualSCSIController")
                    .with("key", Value::Int(100))
                    .with("busNumber", Value::Int(0))
                    .with("sharedBus", Value::enumv("VirtualSCSISharing", "noSharing"))
                    .into_value(),
            ),
            device_add(
                DataObject::new("VirtualIDEController")
                    .with("key", Value::Int(200))
                    .with("busNumber", Value::Int(0))
                    .into_value(),
            ),
            device_add(
                DataObject::new("VirtualCdrom")
                    .with("key", Value::Int(-2))
                    .with(
                        "backing",
                        DataObject::new("VirtualCdromIsoBackingInfo")
                            .with(
                                "fileName",
                                Value::str(format!("[{ds}] {path}/bootstrap.iso")),
                            )
                            .into_value(),
                    )
                    .with("controllerKey", Value::Int(200))
                    .with("unitNumber", Value::Int(0))
                    .into_value(),
            ),
            device_add(self.nic(&spec.network)?),
        ];
        let mut extra: Vec<Value> = FIXED_EXTRA_CONFIG.iter().map(|(k, v)| ov(k, v)).collect();
        for (k, v) in self.container_keys(spec)?.iter() {
            extra.push(ov(k, v));
        }
        let num_cpus = i32::try_from(spec.num_cpus.max(1)).unwrap_or(i32::MAX);
        let memory_mb = i64::try_from(spec.memory_mb).unwrap_or(i64::MAX);
        Ok(DataObject::new("VirtualMachineConfigSpec")
            .with("name", Value::str(display))
            .with("guestId", Value::str("otherGuest64"))
            .with(
                "alternateGuestName",
                Value::str(format!("Photon - Container v{}", self.config.vic_version)),
            )
            .with(
                "uuid",
                Value::str(bios_uuid(&self.config.vch_name, &spec.id)),
            )
            .with(
                "files",
                DataObject::new("VirtualMachineFileInfo")
                    .with(
                        "vmPathName",
                        Value::str(format!("[{ds}] {0}/{0}.vmx", spec.id)),
                    )
                    .into_value(),
            )
            .with("numCPUs", Value::Int(num_cpus))
            .with("memoryMB", Value::Long(memory_mb))
            .with("cpuHotAddEnabled", Value::Bool(false))
            .with("memoryHotAddEnabled", Value::Bool(false))
            .with(
                "deviceChange",
                Value::array("VirtualDeviceConfigSpec", devices),
            )
            .with("extraConfig", Value::array("OptionValue", extra))
            .into_value())
    }

    fn authorization_manager(&self) -> Option<MoRef> {
        self.client
            .service_content()
            .raw
            .field("authorizationManager")
            .and_then(Value::as_moref)
            .cloned()
    }

    /// Creates the containerVM (powered off) and returns it.
    pub async fn create(&self, spec: &ContainerSpec) -> Result<MoRef, PortLayerError> {
        let config = self.config_spec(spec)?;
        let vm = self
            .client
            .run_task(
                "CreateVM_Task",
                &self.config.vm_folder,
                &[
                    ("config", config),
                    ("pool", Value::moref(&self.config.pool)),
                ],
            )
            .await?
            .and_then(|v| v.as_moref().cloned())
            .ok_or_else(|| vsphere::Error::Protocol("CreateVM_Task returned no VM".into()))?;
        if self.client.is_vc()
            && let Some(am) = self.authorization_manager()
        {
            let req = DataObject::new("DisabledMethodRequest")
                .with("method", Value::str("Destroy_Task"))
                .with("reasonId", Value::str("Managed by VIC Engine"))
                .into_value();
            if let Err(e) = self
                .client
                .call(
                    "DisableMethods",
                    &am,
                    &[
                        ("entity", Value::morefs([&vm])),
                        ("method", Value::array("DisabledMethodRequest", vec![req])),
                        ("sourceId", Value::str(VIC_SOURCE)),
                    ],
                )
                .await
            {
                // No half-made container: the VM goes with the failed create.
                if let Err(d) = self.remove(&vm, &spec.id).await {
                    tracing::warn!(%vm, "removing the VM of a failed create: {d}");
                }
                return Err(e.into());
            }
        }
        Ok(vm)
    }

    /// Removes every containerVM in the VCH pool that carries container id `id` (best
    /// effort): the clean-up after a create that failed, possibly after vSphere made the VM.
    pub async fn discard(&self, id: &str) {
        let states = match self.states().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("listing the pool to clean up container {id}: {e}");
                return;
            }
        };
        for st in states.values().filter(|s| s.id == id) {
            if st.power == Power::On
                && let Err(e) = self.power_off(&st.vm).await
            {
                tracing::warn!(vm = %st.vm, "powering off the VM of a failed create: {e}");
            }
            if let Err(e) = self.remove(&st.vm, id).await {
                tracing::warn!(vm = %st.vm, "removing the VM of a failed create: {e}");
            }
        }
    }

    /// Binds an address for container `id` on `network` (its previous one, if any, is
    /// released first).
    pub fn bind(&self, id: &str, network: &Attachment) -> Result<Binding, PortLayerError> {
        let pool = pool_of(network, &self.config)?;
        let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
        for used in ips.values_mut() {
            used.retain(|_, owner| owner != id);
        }
        let Some((first, last, prefix, gateway)) = pool else {
            return Ok(Binding {
                ip: None,
                prefix: 24,
                gateway: None,
            });
        };
        let used = ips.entry(network.name().to_owned()).or_default();
        let (IpAddr::V4(f), IpAddr::V4(l)) = (first, last) else {
            return Err(PortLayerError::AddressesExhausted(
                network.name().to_owned(),
            ));
        };
        // Bounded by the range's size, which the network's prefix bounds.
        for n in u32::from(f)..=u32::from(l) {
            let ip = IpAddr::V4(Ipv4Addr::from(n));
            if Some(ip) == gateway || used.contains_key(&ip) {
                continue;
            }
            used.insert(ip, id.to_owned());
            return Ok(Binding {
                ip: Some(ip),
                prefix,
                gateway,
            });
        }
        Err(PortLayerError::AddressesExhausted(
            network.name().to_owned(),
        ))
    }

    /// Releases container `id`'s addresses.
    pub fn unbind(&self, id: &str) {
        let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
        for used in ips.values_mut() {
            used.retain(|_, owner| owner != id);
        }
    }

    /// Marks addresses as in use (when the engine finds running containers at start-up).
    pub fn reserve(&self, id: &str, network: &Attachment, ip: IpAddr) {
        let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
        ips.entry(network.name().to_owned())
            .or_default()
            .insert(ip, id.to_owned());
    }

    /// Starts container `id` in `vm` on `network`: bind, reconfigure, power on, wait for the
    /// tether. Returns the bound address.
    pub async fn start(
        &self,
        vm: &MoRef,
        id: &str,
        network: &Attachment,
    ) -> Result<Binding, PortLayerError> {
        let binding = self.bind(id, network)?;
        let result = self.start_bound(vm, id, network, &binding).await;
        if result.is_err() {
            // A failed start leaves the container stopped: a VM still on (the tether did
            // not report in time) would run with an address it no longer holds.
            if matches!(self.power_state(vm).await, Ok(Power::On))
                && let Err(e) = self.power_off(vm).await
            {
                tracing::warn!(%vm, "powering off after a failed start: {e}");
            }
            self.unbind(id);
        }
        result.map(|()| binding)
    }

    async fn start_bound(
        &self,
        vm: &MoRef,
        id: &str,
        network: &Attachment,
        binding: &Binding,
    ) -> Result<(), PortLayerError> {
        let net = network.name();
        let mut extra = vec![
            ov(
                &ck::endpoint_key(net, "static"),
                if binding.ip.is_some() {
                    "true"
                } else {
                    "false"
                },
            ),
            // A new run: the tether writes these again.
            ov(&ck::container_started_key(id), ""),
            ov(&ck::session_state_key(id, "status"), ""),
            ov(&ck::session_state_key(id, "detail.starttime"), ""),
            ov(&ck::session_state_key(id, "detail.stoptime"), ""),
        ];
        if let Some(ip) = binding.ip {
            let v4 = ip.is_ipv4();
            extra.push(ov(
                &ck::endpoint_key(net, "ip/IP"),
                &guestinfo::encode_ip(ip),
            ));
            extra.push(ov(
                &ck::endpoint_key(net, "ip/Mask"),
                &guestinfo::encode_mask(binding.prefix, v4),
            ));
        }
        if let Some(g) = binding.gateway {
            extra.push(ov(
                &ck::endpoint_key(net, "network/gateway/IP"),
                &guestinfo::encode_ip(g),
            ));
            extra.push(ov(
                &ck::endpoint_key(net, "network/gateway/Mask"),
                &guestinfo::encode_mask(binding.prefix, g.is_ipv4()),
            ));
        }
        let spec = DataObject::new("VirtualMachineConfigSpec")
            .with("extraConfig", Value::array("OptionValue", extra))
            .into_value();
        self.client
            .run_task("ReconfigVM_Task", vm, &[("spec", spec)])
            .await?;
        self.power_on(vm).await?;
        let key = ck::container_started_key(id);
        let values = self
            .client
            .wait_for_properties(
                vm,
                &["config.extraConfig", "runtime.powerState"],
                START_TIMEOUT,
                |m| {
                    let started = m
                        .get("config.extraConfig")
                        .and_then(|ec| option_value(ec, &key))
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty());
                    let off =
                        m.get("runtime.powerState").and_then(Value::as_str) == Some("poweredOff");
                    started || off
                },
            )
            .await?;
        let started = values
            .get("config.extraConfig")
            .and_then(|ec| option_value(ec, &key))
            .and_then(Value::as_str)
            .unwrap_or("");
        match started {
            guestinfo::STARTED_OK => Ok(()),
            "" => Err(PortLayerError::Launch(
                "container VM has unexpectedly powered off".into(),
            )),
            text => Err(PortLayerError::Launch(text.to_owned())),
        }
    }

    async fn power_on(&self, vm: &MoRef) -> Result<(), PortLayerError> {
        if !self.client.is_vc() {
            self.client.run_task("PowerOnVM_Task", vm, &[]).await?;
            return Ok(());
        }
        let result = self
            .client
            .run_task(
                "PowerOnMultiVM_Task",
                &self.config.datacenter,
                &[
                    ("vm", Value::morefs([vm])),
                    (
                        "option",
                        Value::array(
                            "OptionValue",
                            vec![ov("OverrideAutomationLevel", "fullyAutomated")],
                        ),
                    ),
                ],
            )
            .await?;
        let not_attempted = result
            .as_ref()
            .map(|r| vsphere_list(r, "notAttempted"))
            .unwrap_or_default();
        if let Some(na) = not_attempted.first() {
            let msg = na
                .field("fault")
                .map(|f| vsphere::localized_fault(f).msg)
                .unwrap_or_else(|| "not attempted".into());
            return Err(PortLayerError::PowerOn(msg));
        }
        Ok(())
    }

    async fn power_state(&self, vm: &MoRef) -> Result<Power, PortLayerError> {
        let v = self.client.get_property(vm, "runtime.powerState").await?;
        Ok(power_of(v.as_ref().and_then(Value::as_str)))
    }

    async fn guest_kill(&self, vm: &MoRef, id: &str, program: &str, signal: &str) {
        let Some(pm) = &self.process_manager else {
            return;
        };
        let auth = DataObject::new("NamePasswordAuthentication")
            .with("interactiveSession", Value::Bool(false))
            .with("username", Value::str(id))
            .with("password", Value::str(""))
            .into_value();
        let spec = DataObject::new("GuestProgramSpec")
            .with("programPath", Value::str(program))
            .with("arguments", Value::str(signal))
            .into_value();
        // Tools may be gone already (the process exited); the power-off below covers it.
        if let Err(e) = self
            .client
            .call(
                "StartProgramInGuest",
                pm,
                &[("vm", Value::moref(vm)), ("auth", auth), ("spec", spec)],
            )
            .await
        {
            tracing::debug!(%vm, "StartProgramInGuest {program} {signal}: {e}");
        }
    }

    async fn power_off(&self, vm: &MoRef) -> Result<(), PortLayerError> {
        match self.client.run_task("PowerOffVM_Task", vm, &[]).await {
            Ok(_) => Ok(()),
            // Powered off meanwhile.
            Err(e) if e.is_fault("InvalidPowerState") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `docker kill`: delivers `signal` through the tether's `kill`; a signal whose default
    /// action terminates the process ends the container, so the VM powers off.
    pub async fn signal(&self, vm: &MoRef, id: &str, signal: &str) -> Result<(), PortLayerError> {
        if self.power_state(vm).await? != Power::On {
            return Ok(());
        }
        self.guest_kill(vm, id, "kill", signal).await;
        if signal_terminates(signal) && self.power_state(vm).await? == Power::On {
            self.power_off(vm).await?;
        }
        Ok(())
    }

    /// `docker stop`: `kill <stop signal>`, then `group-kill SIGKILL`, then `PowerOffVM_Task`
    /// (vic.md §6.2), each step only while the VM is still on.
    pub async fn stop(
        &self,
        vm: &MoRef,
        id: &str,
        stop_signal: &str,
    ) -> Result<(), PortLayerError> {
        if self.power_state(vm).await? != Power::On {
            return Ok(());
        }
        self.guest_kill(vm, id, "kill", stop_signal).await;
        if self.power_state(vm).await? != Power::On {
            return Ok(());
        }
        self.guest_kill(vm, id, "group-kill", "SIGKILL").await;
        if self.power_state(vm).await? != Power::On {
            return Ok(());
        }
        self.power_off(vm).await
    }

    /// `docker rm`: `EnableMethods(Destroy_Task)`, `Destroy_Task`, then the VM's folder on the
    /// datastore. The VM must be off.
    pub async fn remove(&self, vm: &MoRef, id: &str) -> Result<(), PortLayerError> {
        if self.client.is_vc()
            && let Some(am) = self.authorization_manager()
        {
            self.client
                .call(
                    "EnableMethods",
                    &am,
                    &[
                        ("entity", Value::morefs([vm])),
                        ("method", Value::strings(["Destroy_Task"])),
                        ("sourceId", Value::str(VIC_SOURCE)),
                    ],
                )
                .await?;
        }
        self.client.run_task("Destroy_Task", vm, &[]).await?;
        self.unbind(id);
        if let Some(fm) = self.client.service_content().file_manager.clone() {
            let name = format!("[{}] {id}", self.config.image_store.0);
            if let Err(e) = self
                .client
                .run_task(
                    "DeleteDatastoreFile_Task",
                    &fm,
                    &[
                        ("name", Value::str(name.clone())),
                        ("datacenter", Value::moref(&self.config.datacenter)),
                    ],
                )
                .await
                && !e.is_fault("FileNotFound")
            {
                tracing::warn!("deleting {name}: {e}");
            }
        }
        Ok(())
    }

    /// `docker rename`: re-applies the name convention (vic.md §2) and the hidden name key.
    /// Returns the new display name.
    pub async fn rename(
        &self,
        vm: &MoRef,
        id: &str,
        new_name: &str,
    ) -> Result<String, PortLayerError> {
        let display = self.display_name(new_name, id);
        let spec = DataObject::new("VirtualMachineConfigSpec")
            .with("name", Value::str(display.clone()))
            .with(
                "extraConfig",
                Value::array(
                    "OptionValue",
                    vec![
                        ov(ck::NAME, new_name),
                        ov(&ck::session_key(id, "common/name"), new_name),
                    ],
                ),
            )
            .into_value();
        self.client
            .run_task("ReconfigVM_Task", vm, &[("spec", spec)])
            .await?;
        Ok(display)
    }

    const STATE_PATHS: [&'static str; 7] = [
        "name",
        "runtime.powerState",
        "runtime.bootTime",
        "config.extraConfig",
        "config.hardware.numCPU",
        "config.hardware.memoryMB",
        "resourcePool",
    ];

    /// The state of one containerVM.
    pub async fn state(&self, vm: &MoRef) -> Result<VmState, PortLayerError> {
        let found = self
            .client
            .retrieve_properties(
                std::slice::from_ref(vm),
                "VirtualMachine",
                &Self::STATE_PATHS,
            )
            .await?;
        found
            .first()
            .and_then(state_of)
            .ok_or_else(|| PortLayerError::Vsphere(vsphere::Error::Deleted(vm.clone())))
    }

    /// Every containerVM in the VCH pool (VMs without the container keys are skipped), by
    /// container id.
    pub async fn states(&self) -> Result<BTreeMap<String, VmState>, PortLayerError> {
        let found = self
            .client
            .view_contents(
                &self.config.pool,
                &["VirtualMachine"],
                true,
                &Self::STATE_PATHS,
            )
            .await?;
        Ok(found
            .iter()
            .filter_map(state_of)
            .map(|s| (s.id.clone(), s))
            .collect())
    }

    /// The VCH pool's limits and usage for `docker info`.
    ///
    /// VIC queries the *parent* pool for all four figures when any one of them is -1, which
    /// misreports the memory limit when only the CPU is unlimited (vic.md §5.3, issue #6626).
    /// Here each figure is resolved on its own, walking up while that figure is unlimited.
    pub async fn pool_info(&self) -> Result<PoolInfo, PortLayerError> {
        let mut pool = Some(self.config.pool.clone());
        let mut cpu_limit = None;
        let mut mem_limit = None;
        let mut usage = None;
        let mut top: Option<(i64, i64)> = None;
        // Bounded by the depth of the pool tree (vSphere allows at most 8 levels).
        for _ in 0..16 {
            let Some(p) = pool.take() else { break };
            let oc = self
                .client
                .retrieve_properties(
                    std::slice::from_ref(&p),
                    "ResourcePool",
                    &["config", "runtime", "parent"],
                )
                .await?;
            let Some(oc) = oc.first() else { break };
            let num = |path: &[&str], from: &str| -> Option<i64> {
                let mut v = oc.get(from)?;
                for f in path {
                    v = v.field(f)?;
                }
                v.as_i64()
            };
            let cl = num(&["cpuAllocation", "limit"], "config").unwrap_or(-1);
            let ml = num(&["memoryAllocation", "limit"], "config").unwrap_or(-1);
            if usage.is_none() {
                usage = Some((
                    num(&["cpu", "overallUsage"], "runtime").unwrap_or(0),
                    num(&["memory", "overallUsage"], "runtime").unwrap_or(0) / (1024 * 1024),
                ));
            }
            top = Some((
                num(&["cpu", "maxUsage"], "runtime").unwrap_or(0),
                num(&["memory", "maxUsage"], "runtime").unwrap_or(0) / (1024 * 1024),
            ));
            if cpu_limit.is_none() && cl >= 0 {
                cpu_limit = Some(cl);
            }
            if mem_limit.is_none() && ml >= 0 {
                mem_limit = Some(ml);
            }
            if cpu_limit.is_some() && mem_limit.is_some() {
                break;
            }
            pool = oc
                .get("parent")
                .and_then(Value::as_moref)
                .filter(|m| m.ty == "ResourcePool")
                .cloned();
        }
        let (cpu_top, mem_top) = top.unwrap_or((0, 0));
        let (cpu_usage, mem_usage) = usage.unwrap_or((0, 0));
        Ok(PoolInfo {
            cpu_limit_mhz: cpu_limit.unwrap_or(cpu_top),
            mem_limit_mb: mem_limit.unwrap_or(mem_top),
            cpu_usage_mhz: cpu_usage,
            mem_usage_mb: mem_usage,
        })
    }
}

fn vsphere_list<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    let Some(d) = v.as_data() else {
        return Vec::new();
    };
    d.fields
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, f)| match f {
            Value::Array(a) => a.items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect()
}

fn power_of(s: Option<&str>) -> Power {
    match s {
        Some("poweredOn") => Power::On,
        Some("suspended") => Power::Suspended,
        _ => Power::Off,
    }
}

/// Whether a signal's default action ends a process (those a process would ignore by default,
/// or that only stop it, do not).
pub fn signal_terminates(signal: &str) -> bool {
    let s = signal.trim().to_ascii_uppercase();
    let s = s.strip_prefix("SIG").unwrap_or(&s);
    !matches!(
        s,
        "WINCH"
            | "CHLD"
            | "CONT"
            | "URG"
            | "STOP"
            | "TSTP"
            | "TTIN"
            | "TTOU"
            | "28"
            | "17"
            | "18"
            | "23"
            | "19"
            | "20"
            | "21"
            | "22"
    )
}

/// A signal's number (`SIGTERM`, `TERM`, `15`); None for names this does not know.
pub fn signal_number(signal: &str) -> Option<i32> {
    let s = signal.trim().to_ascii_uppercase();
    let s = s.strip_prefix("SIG").unwrap_or(&s);
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    Some(match s {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "CHLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        "URG" => 23,
        "WINCH" => 28,
        _ => return None,
    })
}

fn state_of(oc: &ObjectContent) -> Option<VmState> {
    let ec = oc.get("config.extraConfig")?;
    let pairs: Vec<(String, String)> = ec
        .items()
        .iter()
        .filter_map(|o| {
            let k = o.field("key")?.as_str()?.to_owned();
            let v = o
                .field("value")
                .map(|v| match v {
                    Value::Any(inner) => inner.as_str().map(str::to_owned).unwrap_or_default(),
                    other => other.as_str().map(str::to_owned).unwrap_or_default(),
                })
                .unwrap_or_default();
            Some((k, v))
        })
        .collect();
    let extra = Keys::from_pairs(pairs);
    let id = extra.get(ck::ID)?.to_owned();
    // The presence of a version key marks a containerVM (vic.md §6.4).
    extra.get(&ck::version_key("Version"))?;
    let started = extra
        .get(&ck::container_started_key(&id))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let status = parse_i64(extra.get(&ck::session_state_key(&id, "status")))
        .and_then(|n| i32::try_from(n).ok());
    let start_s = parse_i64(extra.get(&ck::session_state_key(&id, "detail.starttime")));
    let stop_s = parse_i64(extra.get(&ck::session_state_key(&id, "detail.stoptime")));
    let ip = extra
        .get_map_keys(&guestinfo::ro_key("networks"))
        .and_then(|nets| {
            nets.iter().find_map(|n| {
                extra
                    .get_ip(&ck::endpoint_assigned_key(n, "IP"))
                    .ok()
                    .flatten()
            })
        });
    let boot_ms = match oc.get("runtime.bootTime") {
        Some(Value::DateTime(ms)) => Some(*ms),
        Some(v) => v.as_str().and_then(vcsim::vmodl::parse_datetime),
        None => None,
    };
    Some(VmState {
        vm: oc.obj.clone(),
        id,
        display_name: oc.text("name").unwrap_or("").to_owned(),
        power: power_of(oc.text("runtime.powerState")),
        started,
        status,
        start_s,
        stop_s,
        boot_ms,
        ip,
        num_cpu: oc
            .get("config.hardware.numCPU")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .max(0) as u32,
        memory_mb: oc
            .get("config.hardware.memoryMB")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .max(0) as u64,
        pool: oc.get("resourcePool").and_then(Value::as_moref).cloned(),
        extra,
    })
}

/// The containerVM's BIOS UUID: a SHA-1 name-based UUID (version 5 layout) of the VCH and
/// the container id (VIC uses the VCH's UUID as namespace; the testbed uses its name).
pub fn bios_uuid(vch: &str, id: &str) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(vch.as_bytes());
    h.update([0]);
    h.update(id.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Unused-address bookkeeping is per network; this lists the networks with bound addresses
/// (for diagnostics and tests).
impl PortLayer {
    /// Addresses currently bound, by network.
    pub fn bound(&self) -> BTreeMap<String, BTreeSet<IpAddr>> {
        let ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
        ips.iter()
            .map(|(n, m)| (n.clone(), m.keys().copied().collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bridge_network_is_the_first_width_block() {
        let (net, p) = bridge_network(("172.16.0.0".parse().unwrap(), 12), 16);
        assert_eq!((net.to_string(), p), ("172.16.0.0".to_owned(), 16));
        let (net, p) = bridge_network(("10.3.7.9".parse().unwrap(), 8), 24);
        assert_eq!((net.to_string(), p), ("10.3.7.0".to_owned(), 24));
    }

    #[test]
    fn signals() {
        assert_eq!(signal_number("SIGTERM"), Some(15));
        assert_eq!(signal_number("kill"), Some(9));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("SIGBOGUS"), None);
        assert!(signal_terminates("SIGKILL"));
        assert!(signal_terminates("TERM"));
        assert!(!signal_terminates("SIGWINCH"));
        assert!(!signal_terminates("28"));
    }

    #[test]
    fn bios_uuids_are_stable_v5_layout() {
        let u = bios_uuid("vch", "abc");
        assert_eq!(u, bios_uuid("vch", "abc"));
        assert_ne!(u, bios_uuid("vch", "abd"));
        assert_eq!(&u[14..15], "5");
        assert_eq!(u.len(), 36);
    }
}
