//! Property trees for each managed entity type, named and typed as the vim25 WSDL has them
//! (pyvmomi rejects any field the WSDL lacks; see vcsim/data/wsdl_notes.md).

mod devices;
mod host_managers;

pub use devices::{assign_device_keys, default_devices, fill_device_info};
pub use host_managers::{
    host_datastore_system, host_firewall_system, host_management_ip, host_network_system,
    host_storage_system,
};

use super::ManagedObject;
use crate::vmodl::{DataObject, MoRef, Value};

/// `ManagedEntityStatus.green`.
pub fn green() -> Value {
    Value::enumv("ManagedEntityStatus", "green")
}

fn entity(moref: MoRef, name: &str, parent: Option<&MoRef>) -> ManagedObject {
    let mut o = ManagedObject::new(moref)
        .with("name", Value::str(name))
        .with("overallStatus", green())
        .with("configStatus", green())
        .with("effectiveRole", Value::array("int", vec![Value::Int(-1)]));
    if let Some(p) = parent {
        o = o.with("parent", Value::moref(p));
    }
    o
}

/// A folder with the child types it may hold.
pub fn folder(
    moref: MoRef,
    name: &str,
    parent: Option<&MoRef>,
    child_types: &[&str],
) -> ManagedObject {
    entity(moref, name, parent)
        .with("childType", Value::strings(child_types.iter().copied()))
        .with("childEntity", Value::morefs([]))
}

/// The four folders of a datacenter.
#[derive(Clone, Debug)]
pub struct DatacenterFolders {
    /// `vmFolder`
    pub vm: MoRef,
    /// `hostFolder`
    pub host: MoRef,
    /// `datastoreFolder`
    pub datastore: MoRef,
    /// `networkFolder`
    pub network: MoRef,
}

/// A datacenter.
pub fn datacenter(
    moref: MoRef,
    name: &str,
    parent: &MoRef,
    f: &DatacenterFolders,
) -> ManagedObject {
    entity(moref, name, Some(parent))
        .with("vmFolder", Value::moref(&f.vm))
        .with("hostFolder", Value::moref(&f.host))
        .with("datastoreFolder", Value::moref(&f.datastore))
        .with("networkFolder", Value::moref(&f.network))
        .with("datastore", Value::morefs([]))
        .with("network", Value::morefs([]))
        .with(
            "configuration",
            DataObject::new("DatacenterConfigInfo").into_value(),
        )
}

/// `SharesInfo` for a level, with the share count vSphere assigns.
pub fn shares_info(level: &str, shares: i32) -> Value {
    DataObject::new("SharesInfo")
        .with("shares", Value::Int(shares))
        .with("level", Value::enumv("SharesLevel", level.to_owned()))
        .into_value()
}

/// `ResourceAllocationInfo` (MHz or MB; limit −1 means unlimited).
pub fn allocation_info(reservation: i64, limit: i64, shares: Value, expandable: bool) -> Value {
    DataObject::new("ResourceAllocationInfo")
        .with("reservation", Value::Long(reservation))
        .with("expandableReservation", Value::Bool(expandable))
        .with("limit", Value::Long(limit))
        .with("shares", shares)
        .with("overheadLimit", Value::Long(-1))
        .into_value()
}

/// `ResourceConfigSpec` from CPU and memory allocations.
pub fn resource_config(entity: &MoRef, cpu: Value, memory: Value) -> Value {
    DataObject::new("ResourceConfigSpec")
        .with("entity", Value::moref(entity))
        .with("cpuAllocation", cpu)
        .with("memoryAllocation", memory)
        .into_value()
}

/// `ResourcePoolResourceUsage` with every figure given.
pub fn pool_usage(reservation_used: i64, unreserved: i64, overall: i64, max: i64) -> Value {
    DataObject::new("ResourcePoolResourceUsage")
        .with("reservationUsed", Value::Long(reservation_used))
        .with("reservationUsedForVm", Value::Long(0))
        .with("unreservedForPool", Value::Long(unreserved))
        .with("unreservedForVm", Value::Long(unreserved))
        .with("overallUsage", Value::Long(overall))
        .with("maxUsage", Value::Long(max))
        .into_value()
}

/// A resource pool (its runtime and summary are refreshed from the model each step).
pub fn resource_pool(
    moref: MoRef,
    name: &str,
    parent: &MoRef,
    owner: &MoRef,
    config: Value,
    cpu_max_mhz: i64,
    mem_max_bytes: i64,
) -> ManagedObject {
    let runtime = DataObject::new("ResourcePoolRuntimeInfo")
        .with("memory", pool_usage(0, mem_max_bytes, 0, mem_max_bytes))
        .with("cpu", pool_usage(0, cpu_max_mhz, 0, cpu_max_mhz))
        .with("overallStatus", green())
        .into_value();
    let summary = DataObject::new("ResourcePoolSummary")
        .with("name", Value::str(name))
        .with("config", config.clone())
        .with("runtime", runtime.clone())
        .into_value();
    entity(moref, name, Some(parent))
        .with("owner", Value::moref(owner))
        .with("resourcePool", Value::morefs([]))
        .with("vm", Value::morefs([]))
        .with("config", config)
        .with("runtime", runtime)
        .with("summary", summary)
}

/// Host hardware as the model sees it.
#[derive(Clone, Debug)]
pub struct HostHardware {
    /// Physical cores.
    pub cores: u32,
    /// Core frequency in MHz.
    pub mhz_per_core: u32,
    /// Whether hyper-threading doubles the threads.
    pub hyperthreading: bool,
    /// Memory in MB.
    pub memory_mb: u64,
}

impl HostHardware {
    fn threads(&self) -> u32 {
        if self.hyperthreading {
            self.cores * 2
        } else {
            self.cores
        }
    }
}

/// Managed objects a host refers to from `configManager` and `datastoreBrowser`, and its
/// identity.
#[derive(Clone, Debug)]
pub struct HostManagers {
    /// HostNetworkSystem
    pub network_system: MoRef,
    /// HostDatastoreBrowser
    pub datastore_browser: MoRef,
    /// HostDatastoreSystem
    pub datastore_system: MoRef,
    /// HostStorageSystem
    pub storage_system: MoRef,
    /// HostFirewallSystem
    pub firewall_system: MoRef,
    /// Hardware UUID.
    pub uuid: String,
    /// Boot time (virtual clock).
    pub boot_time_ms: i64,
    /// The host's `AboutInfo` (ESXi product).
    pub product: Value,
}

/// A host system.
pub fn host_system(
    moref: MoRef,
    name: &str,
    parent: &MoRef,
    hw: &HostHardware,
    managers: &HostManagers,
) -> ManagedObject {
    let (uuid, boot_time_ms, product) = (
        managers.uuid.as_str(),
        managers.boot_time_ms,
        managers.product.clone(),
    );
    let threads = hw.threads();
    let memory_bytes = (hw.memory_mb as i64) * 1024 * 1024;
    let hardware_summary = DataObject::new("HostHardwareSummary")
        .with("vendor", Value::str("VMware, Inc. (vicbed)"))
        .with("model", Value::str("vicbed simulated host"))
        .with("uuid", Value::str(uuid))
        .with("memorySize", Value::Long(memory_bytes))
        .with(
            "cpuModel",
            Value::str("Intel(R) Xeon(R) CPU E5-2650 v4 @ simulated"),
        )
        .with("cpuMhz", Value::Int(hw.mhz_per_core as i32))
        .with("numCpuPkgs", Value::Short(2.min(hw.cores as i16).max(1)))
        .with("numCpuCores", Value::Short(hw.cores as i16))
        .with("numCpuThreads", Value::Short(threads as i16))
        .with("numNics", Value::Int(2))
        .with("numHBAs", Value::Int(2))
        .into_value();
    let runtime = DataObject::new("HostRuntimeInfo")
        .with(
            "connectionState",
            Value::enumv("HostSystemConnectionState", "connected"),
        )
        .with(
            "powerState",
            Value::enumv("HostSystemPowerState", "poweredOn"),
        )
        .with("inMaintenanceMode", Value::Bool(false))
        .with("inQuarantineMode", Value::Bool(false))
        .with("bootTime", Value::DateTime(boot_time_ms))
        .into_value();
    let config_summary = DataObject::new("HostConfigSummary")
        .with("name", Value::str(name))
        .with("port", Value::Int(443))
        .with("product", product)
        .with("vmotionEnabled", Value::Bool(false))
        .with("faultToleranceEnabled", Value::Bool(false))
        .into_value();
    let quick = DataObject::new("HostListSummaryQuickStats")
        .with("overallCpuUsage", Value::Int(0))
        .with("overallMemoryUsage", Value::Int(0))
        .with("uptime", Value::Int(0))
        .into_value();
    let summary = DataObject::new("HostListSummary")
        .with("host", Value::moref(&moref))
        .with("hardware", hardware_summary)
        .with("runtime", runtime.clone())
        .with("config", config_summary)
        .with("quickStats", quick)
        .with("overallStatus", green())
        .with("rebootRequired", Value::Bool(false))
        .into_value();
    let hardware = DataObject::new("HostHardwareInfo")
        .with(
            "systemInfo",
            DataObject::new("HostSystemInfo")
                .with("vendor", Value::str("VMware, Inc. (vicbed)"))
                .with("model", Value::str("vicbed simulated host"))
                .with("uuid", Value::str(uuid))
                .into_value(),
        )
        .with(
            "cpuInfo",
            DataObject::new("HostCpuInfo")
                .with(
                    "numCpuPackages",
                    Value::Short(2.min(hw.cores as i16).max(1)),
                )
                .with("numCpuCores", Value::Short(hw.cores as i16))
                .with("numCpuThreads", Value::Short(threads as i16))
                .with("hz", Value::Long(i64::from(hw.mhz_per_core) * 1_000_000))
                .into_value(),
        )
        .with("memorySize", Value::Long(memory_bytes))
        .into_value();
    let config_manager = DataObject::new("HostConfigManager")
        .with("datastoreSystem", Value::moref(&managers.datastore_system))
        .with("storageSystem", Value::moref(&managers.storage_system))
        .with("networkSystem", Value::moref(&managers.network_system))
        .with("firewallSystem", Value::moref(&managers.firewall_system))
        .into_value();
    entity(moref, name, Some(parent))
        .with("runtime", runtime)
        .with("summary", summary)
        .with("hardware", hardware)
        .with("configManager", config_manager)
        .with(
            "licensableResource",
            DataObject::new("HostLicensableResourceInfo")
                .with("resource", Value::array("KeyAnyValue", vec![]))
                .into_value(),
        )
        .with("vm", Value::morefs([]))
        .with("datastore", Value::morefs([]))
        .with("network", Value::morefs([]))
        .with(
            "datastoreBrowser",
            Value::moref(&managers.datastore_browser),
        )
}

/// A compute resource (`ClusterComputeResource` when `cluster`).
pub fn compute_resource(
    moref: MoRef,
    name: &str,
    parent: &MoRef,
    root_pool: &MoRef,
    summary: Value,
    cluster: bool,
) -> ManagedObject {
    let mut o = entity(moref, name, Some(parent))
        .with("resourcePool", Value::moref(root_pool))
        .with("host", Value::morefs([]))
        .with("datastore", Value::morefs([]))
        .with("network", Value::morefs([]))
        .with("summary", summary);
    if cluster {
        let drs = DataObject::new("ClusterDrsConfigInfo")
            .with("enabled", Value::Bool(true))
            .with("enableVmBehaviorOverrides", Value::Bool(true))
            .with(
                "defaultVmBehavior",
                Value::enumv("DrsBehavior", "fullyAutomated"),
            )
            .with("vmotionRate", Value::Int(3))
            .into_value();
        o = o
            .with(
                "configuration",
                DataObject::new("ClusterConfigInfo")
                    .with(
                        "dasConfig",
                        DataObject::new("ClusterDasConfigInfo").into_value(),
                    )
                    .with("drsConfig", drs.clone())
                    .into_value(),
            )
            .with(
                "configurationEx",
                DataObject::new("ClusterConfigInfoEx")
                    .with(
                        "dasConfig",
                        DataObject::new("ClusterDasConfigInfo").into_value(),
                    )
                    .with("drsConfig", drs)
                    .into_value(),
            );
    } else {
        o = o.with(
            "configurationEx",
            DataObject::new("ComputeResourceConfigInfo")
                .with("vmSwapPlacement", Value::str("vmDirectory"))
                .into_value(),
        );
    }
    o
}

/// `ComputeResourceSummary` (or the cluster flavour) totals for a set of hosts.
pub fn compute_summary(hosts: &[HostHardware], cluster: bool) -> Value {
    let total_cpu: u64 = hosts
        .iter()
        .map(|h| u64::from(h.cores) * u64::from(h.mhz_per_core))
        .sum();
    let total_mem: u64 = hosts.iter().map(|h| h.memory_mb * 1024 * 1024).sum();
    let cores: u32 = hosts.iter().map(|h| h.cores).sum();
    let threads: u32 = hosts.iter().map(HostHardware::threads).sum();
    let ty = if cluster {
        "ClusterComputeResourceSummary"
    } else {
        "ComputeResourceSummary"
    };
    let mut d = DataObject::new(ty)
        .with("totalCpu", Value::Int(total_cpu as i32))
        .with("totalMemory", Value::Long(total_mem as i64))
        .with("numCpuCores", Value::Short(cores as i16))
        .with("numCpuThreads", Value::Short(threads as i16))
        .with("effectiveCpu", Value::Int(total_cpu as i32))
        .with(
            "effectiveMemory",
            Value::Long((total_mem / (1024 * 1024)) as i64),
        )
        .with("numHosts", Value::Int(hosts.len() as i32))
        .with("numEffectiveHosts", Value::Int(hosts.len() as i32))
        .with("overallStatus", green());
    if cluster {
        d = d
            .with("currentFailoverLevel", Value::Int(0))
            .with("numVmotions", Value::Int(0));
    }
    d.into_value()
}

/// A datastore.
pub fn datastore(
    moref: MoRef,
    name: &str,
    parent: &MoRef,
    url: &str,
    capacity_bytes: i64,
    browser: &MoRef,
) -> ManagedObject {
    let summary = DataObject::new("DatastoreSummary")
        .with("datastore", Value::moref(&moref))
        .with("name", Value::str(name))
        .with("url", Value::str(url))
        .with("capacity", Value::Long(capacity_bytes))
        .with("freeSpace", Value::Long(capacity_bytes))
        .with("uncommitted", Value::Long(0))
        .with("accessible", Value::Bool(true))
        .with("multipleHostAccess", Value::Bool(true))
        .with("type", Value::str("VMFS"))
        .with("maintenanceMode", Value::str("normal"))
        .into_value();
    let info = DataObject::new("DatastoreInfo")
        .with("name", Value::str(name))
        .with("url", Value::str(url))
        .with("freeSpace", Value::Long(capacity_bytes))
        .with("maxFileSize", Value::Long(62 * 1024 * 1024 * 1024 * 1024))
        .with(
            "maxMemoryFileSize",
            Value::Long(62 * 1024 * 1024 * 1024 * 1024),
        )
        .into_value();
    let capability = DataObject::new("DatastoreCapability")
        .with("directoryHierarchySupported", Value::Bool(true))
        .with("rawDiskMappingsSupported", Value::Bool(false))
        .with("perFileThinProvisioningSupported", Value::Bool(true))
        .with("storageIORMSupported", Value::Bool(false))
        .into_value();
    entity(moref, name, Some(parent))
        .with("summary", summary)
        .with("info", info)
        .with("capability", capability)
        .with("host", Value::array("DatastoreHostMount", vec![]))
        .with("vm", Value::morefs([]))
        .with("browser", Value::moref(browser))
}

/// `DatastoreHostMount` for a host.
pub fn datastore_host_mount(host: &MoRef, path: &str) -> Value {
    DataObject::new("DatastoreHostMount")
        .with("key", Value::moref(host))
        .with("mountInfo", host_mount_info(path))
        .into_value()
}

/// A read-write, mounted and accessible `HostMountInfo` at `path`.
pub fn host_mount_info(path: &str) -> Value {
    DataObject::new("HostMountInfo")
        .with("path", Value::str(path))
        .with("accessMode", Value::str("readWrite"))
        .with("mounted", Value::Bool(true))
        .with("accessible", Value::Bool(true))
        .into_value()
}

/// A standard-switch network (`Network`) or a distributed port group.
pub fn network(moref: MoRef, name: &str, parent: &MoRef) -> ManagedObject {
    let summary = DataObject::new("NetworkSummary")
        .with("network", Value::moref(&moref))
        .with("name", Value::str(name))
        .with("accessible", Value::Bool(true))
        .with("ipPoolName", Value::str(""))
        .into_value();
    entity(moref, name, Some(parent))
        .with("summary", summary)
        .with("host", Value::morefs([]))
        .with("vm", Value::morefs([]))
}

/// A distributed port group of switch `dvs`.
pub fn dv_portgroup(
    moref: MoRef,
    name: &str,
    parent: &MoRef,
    dvs: &MoRef,
    uplink: bool,
) -> ManagedObject {
    let key = moref.value.clone();
    let config = DataObject::new("DVPortgroupConfigInfo")
        .with("key", Value::str(key.clone()))
        .with("name", Value::str(name))
        .with("numPorts", Value::Int(if uplink { 4 } else { 1024 }))
        .with("distributedVirtualSwitch", Value::moref(dvs))
        .with("type", Value::str("earlyBinding"))
        .with("autoExpand", Value::Bool(true))
        .with("uplink", Value::Bool(uplink))
        .into_value();
    // `portKeys` is computed on read (`property::collect`), from [`dv_port_ranges`].
    network(moref, name, parent)
        .with("key", Value::str(key))
        .with("config", config)
}

/// The ports of switch `dvs` by port group, in the switch's port-group order: (port group,
/// first key, count). Keys are consecutive across port groups, so `FetchDVPorts` and each
/// port group's `portKeys` name the same ports.
pub fn dv_port_ranges(inv: &super::Inventory, dvs: &MoRef) -> Vec<(MoRef, i64, i64)> {
    let mut next = 0i64;
    inv.refs(dvs, "portgroup")
        .into_iter()
        .filter_map(|pg| {
            let n = inv
                .prop(&pg, "config")?
                .field("numPorts")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .max(0);
            let first = next;
            next += n;
            Some((pg, first, n))
        })
        .collect()
}

/// The product of the switches the emulator makes, as vCenter reports a VMware DVS.
pub fn dvs_product_info() -> Value {
    DataObject::new("DistributedVirtualSwitchProductSpec")
        .with("name", Value::str("DVS"))
        .with("vendor", Value::str("VMware, Inc."))
        .with("version", Value::str("8.0.0"))
        .with("build", Value::str("20817678"))
        .with("forwardingClass", Value::str("etherswitch"))
        .into_value()
}

/// A VMware distributed virtual switch.
pub fn dvs(moref: MoRef, name: &str, parent: &MoRef, uuid: &str) -> ManagedObject {
    let summary = DataObject::new("DVSSummary")
        .with("name", Value::str(name))
        .with("uuid", Value::str(uuid))
        .with("numPorts", Value::Int(0))
        .with("productInfo", dvs_product_info())
        .into_value();
    let config = DataObject::new("VMwareDVSConfigInfo")
        .with("uuid", Value::str(uuid))
        .with("name", Value::str(name))
        .with("numStandalonePorts", Value::Int(0))
        .with("numPorts", Value::Int(0))
        .with("maxPorts", Value::Int(2_147_483_647))
        .with("configVersion", Value::str("1"))
        .with("productInfo", dvs_product_info())
        .with("createTime", Value::DateTime(0))
        .with("networkResourceManagementEnabled", Value::Bool(false))
        .into_value();
    let capability = DataObject::new("DVSCapability")
        .with("dvsOperationSupported", Value::Bool(true))
        .with("dvPortGroupOperationSupported", Value::Bool(true))
        .with("dvPortOperationSupported", Value::Bool(true))
        .into_value();
    entity(moref, name, Some(parent))
        .with("uuid", Value::str(uuid))
        .with("summary", summary)
        .with("config", config)
        .with("capability", capability)
        .with("portgroup", Value::morefs([]))
}

/// `OptionValue { key, value: anyType }`.
pub fn option_value(key: &str, value: Value) -> Value {
    DataObject::new("OptionValue")
        .with("key", Value::str(key))
        .with("value", Value::any(value))
        .into_value()
}

/// A VM's description, from which [`virtual_machine`] builds its property tree.
#[derive(Clone, Debug)]
pub struct VmDescription {
    /// Display name.
    pub name: String,
    /// vCPUs.
    pub num_cpu: i32,
    /// Memory in MB.
    pub memory_mb: i32,
    /// Guest id (`otherGuest64`).
    pub guest_id: String,
    /// `[LocalDS_0] name/name.vmx`
    pub vmx_path: String,
    /// BIOS UUID.
    pub uuid: String,
    /// vCenter instance UUID.
    pub instance_uuid: String,
    /// `config.hardware.device`
    pub devices: Vec<Value>,
    /// `config.extraConfig`
    pub extra_config: Vec<Value>,
    /// `config.cpuAllocation`
    pub cpu_allocation: Value,
    /// `config.memoryAllocation`
    pub memory_allocation: Value,
    /// `config.annotation`
    pub annotation: Option<String>,
    /// Creation time (virtual clock).
    pub created_ms: i64,
}

/// A virtual machine, powered off.
pub fn virtual_machine(
    moref: MoRef,
    d: &VmDescription,
    parent_folder: &MoRef,
    pool: &MoRef,
    host: &MoRef,
    datastore: &MoRef,
    networks: &[MoRef],
) -> ManagedObject {
    let files = DataObject::new("VirtualMachineFileInfo")
        .with("vmPathName", Value::str(d.vmx_path.clone()))
        .with("snapshotDirectory", Value::str(dir_of(&d.vmx_path)))
        .with("suspendDirectory", Value::str(dir_of(&d.vmx_path)))
        .with("logDirectory", Value::str(dir_of(&d.vmx_path)))
        .into_value();
    let hardware = DataObject::new("VirtualHardware")
        .with("numCPU", Value::Int(d.num_cpu))
        .with("numCoresPerSocket", Value::Int(1))
        .with("memoryMB", Value::Int(d.memory_mb))
        .with("device", Value::array("VirtualDevice", d.devices.clone()))
        .into_value();
    let mut config = DataObject::new("VirtualMachineConfigInfo")
        .with("changeVersion", Value::str(format!("{}", d.created_ms)))
        .with("modified", Value::DateTime(d.created_ms))
        .with("name", Value::str(d.name.clone()))
        .with("guestFullName", Value::str(guest_full_name(&d.guest_id)))
        .with("version", Value::str("vmx-13"))
        .with("uuid", Value::str(d.uuid.clone()))
        .with("createDate", Value::DateTime(d.created_ms))
        .with("instanceUuid", Value::str(d.instance_uuid.clone()))
        .with("template", Value::Bool(false))
        .with("guestId", Value::str(d.guest_id.clone()))
        .with("alternateGuestName", Value::str(""))
        .with("files", files)
        .with(
            "flags",
            DataObject::new("VirtualMachineFlagInfo")
                .with("snapshotLocked", Value::Bool(false))
                .into_value(),
        )
        .with(
            "defaultPowerOps",
            DataObject::new("VirtualMachineDefaultPowerOpInfo")
                .with("powerOffType", Value::str("soft"))
                .with("suspendType", Value::str("hard"))
                .with("resetType", Value::str("soft"))
                .with("defaultPowerOffType", Value::str("soft"))
                .with("defaultSuspendType", Value::str("hard"))
                .with("defaultResetType", Value::str("soft"))
                .into_value(),
        )
        .with("hardware", hardware)
        .with("cpuAllocation", d.cpu_allocation.clone())
        .with("memoryAllocation", d.memory_allocation.clone())
        // vCenter reports the default level on every VM; govc's vm.info reads it.
        .with(
            "latencySensitivity",
            DataObject::new("LatencySensitivity")
                .with(
                    "level",
                    Value::enumv("LatencySensitivitySensitivityLevel", "normal"),
                )
                .into_value(),
        )
        .with(
            "extraConfig",
            Value::array("OptionValue", d.extra_config.clone()),
        );
    if let Some(a) = &d.annotation {
        config.set("annotation", Value::str(a.clone()));
    }
    let runtime = DataObject::new("VirtualMachineRuntimeInfo")
        .with("host", Value::moref(host))
        .with(
            "connectionState",
            Value::enumv("VirtualMachineConnectionState", "connected"),
        )
        .with(
            "powerState",
            Value::enumv("VirtualMachinePowerState", "poweredOff"),
        )
        .with(
            "faultToleranceState",
            Value::enumv("VirtualMachineFaultToleranceState", "notConfigured"),
        )
        .with("toolsInstallerMounted", Value::Bool(false))
        .with("maxCpuUsage", Value::Int(0))
        .with("maxMemoryUsage", Value::Int(d.memory_mb))
        .with("numMksConnections", Value::Int(0))
        .with(
            "recordReplayState",
            Value::enumv("VirtualMachineRecordReplayState", "inactive"),
        )
        .with("onlineStandby", Value::Bool(false))
        .with("consolidationNeeded", Value::Bool(false))
        .into_value();
    let guest = DataObject::new("GuestInfo")
        .with(
            "toolsStatus",
            Value::enumv("VirtualMachineToolsStatus", "toolsNotRunning"),
        )
        .with("toolsRunningStatus", Value::str("guestToolsNotRunning"))
        .with("guestId", Value::str(d.guest_id.clone()))
        .with("guestFullName", Value::str(guest_full_name(&d.guest_id)))
        .with("guestState", Value::str("notRunning"))
        .into_value();
    let n_eth = d
        .devices
        .iter()
        .filter(|v| v.field("macAddress").is_some())
        .count();
    let n_disk = d
        .devices
        .iter()
        .filter(|v| v.field("capacityInKB").is_some())
        .count();
    let config_summary = DataObject::new("VirtualMachineConfigSummary")
        .with("name", Value::str(d.name.clone()))
        .with("template", Value::Bool(false))
        .with("vmPathName", Value::str(d.vmx_path.clone()))
        .with("memorySizeMB", Value::Int(d.memory_mb))
        .with(
            "cpuReservation",
            Value::Int(reservation_of(&d.cpu_allocation) as i32),
        )
        .with(
            "memoryReservation",
            Value::Int(reservation_of(&d.memory_allocation) as i32),
        )
        .with("numCpu", Value::Int(d.num_cpu))
        .with("numEthernetCards", Value::Int(n_eth as i32))
        .with("numVirtualDisks", Value::Int(n_disk as i32))
        .with("uuid", Value::str(d.uuid.clone()))
        .with("instanceUuid", Value::str(d.instance_uuid.clone()))
        .with("guestId", Value::str(d.guest_id.clone()))
        .with("guestFullName", Value::str(guest_full_name(&d.guest_id)))
        .into_value();
    let summary = DataObject::new("VirtualMachineSummary")
        .with("vm", Value::moref(&moref))
        .with("runtime", runtime.clone())
        .with(
            "guest",
            DataObject::new("VirtualMachineGuestSummary")
                .with("guestId", Value::str(d.guest_id.clone()))
                .with("guestFullName", Value::str(guest_full_name(&d.guest_id)))
                .with(
                    "toolsStatus",
                    Value::enumv("VirtualMachineToolsStatus", "toolsNotRunning"),
                )
                .into_value(),
        )
        .with("config", config_summary)
        .with("quickStats", vm_quick_stats_idle())
        .with("overallStatus", green())
        .into_value();
    entity(moref.clone(), &d.name, Some(parent_folder))
        .with(
            "capability",
            DataObject::new("VirtualMachineCapability")
                .with("snapshotOperationsSupported", Value::Bool(true))
                .with("multipleSnapshotsSupported", Value::Bool(true))
                .with("snapshotConfigSupported", Value::Bool(true))
                .with("poweredOffSnapshotsSupported", Value::Bool(true))
                .with("memorySnapshotsSupported", Value::Bool(true))
                .with("revertToSnapshotSupported", Value::Bool(true))
                .with("quiescedSnapshotsSupported", Value::Bool(true))
                .with("disableSnapshotsSupported", Value::Bool(false))
                .with("lockSnapshotsSupported", Value::Bool(true))
                .with("consolePreferencesSupported", Value::Bool(false))
                .with("cpuFeatureMaskSupported", Value::Bool(true))
                .with("s1AcpiManagementSupported", Value::Bool(true))
                .with("settingScreenResolutionSupported", Value::Bool(false))
                .with("toolsAutoUpdateSupported", Value::Bool(false))
                .with("vmNpivWwnSupported", Value::Bool(true))
                .with("npivWwnOnNonRdmVmSupported", Value::Bool(true))
                .with("swapPlacementSupported", Value::Bool(true))
                .with("toolsSyncTimeSupported", Value::Bool(true))
                .with("virtualMmuUsageSupported", Value::Bool(true))
                .with("diskSharesSupported", Value::Bool(true))
                .with("bootOptionsSupported", Value::Bool(true))
                .with("settingVideoRamSizeSupported", Value::Bool(true))
                .into_value(),
        )
        .with("config", config.into_value())
        .with("resourcePool", Value::moref(pool))
        .with("runtime", runtime)
        .with("guest", guest)
        .with("summary", summary)
        .with("datastore", Value::morefs([datastore]))
        .with("network", Value::morefs(networks))
        .with(
            "guestHeartbeatStatus",
            Value::enumv("ManagedEntityStatus", "gray"),
        )
}

/// Quick stats of a VM that is not running.
pub fn vm_quick_stats_idle() -> Value {
    DataObject::new("VirtualMachineQuickStats")
        .with("overallCpuUsage", Value::Int(0))
        .with("overallCpuDemand", Value::Int(0))
        .with("guestMemoryUsage", Value::Int(0))
        .with("hostMemoryUsage", Value::Int(0))
        .with(
            "guestHeartbeatStatus",
            Value::enumv("ManagedEntityStatus", "gray"),
        )
        .with("distributedCpuEntitlement", Value::Int(0))
        .with("distributedMemoryEntitlement", Value::Int(0))
        .with("staticCpuEntitlement", Value::Int(0))
        .with("staticMemoryEntitlement", Value::Int(0))
        .with("privateMemory", Value::Int(0))
        .with("sharedMemory", Value::Int(0))
        .with("swappedMemory", Value::Int(0))
        .with("balloonedMemory", Value::Int(0))
        .with("consumedOverheadMemory", Value::Int(0))
        .with("ftLogBandwidth", Value::Int(-1))
        .with("ftSecondaryLatency", Value::Int(-1))
        .with("compressedMemory", Value::Long(0))
        .with("uptimeSeconds", Value::Int(0))
        .into_value()
}

/// The reservation of a `ResourceAllocationInfo` value (0 when unset).
pub fn reservation_of(alloc: &Value) -> i64 {
    alloc
        .field("reservation")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn dir_of(vmx_path: &str) -> String {
    match vmx_path.rfind('/') {
        Some(i) => vmx_path[..=i].to_owned(),
        None => vmx_path.to_owned(),
    }
}

/// A readable guest name for the common guest ids.
pub fn guest_full_name(guest_id: &str) -> String {
    match guest_id {
        "otherGuest" => "Other (32-bit)".into(),
        "otherGuest64" => "Other (64-bit)".into(),
        "other3xLinux64Guest" => "Other 3.x Linux (64-bit)".into(),
        "vmwarePhoton64Guest" => "VMware Photon OS (64-bit)".into(),
        "ubuntu64Guest" => "Ubuntu Linux (64-bit)".into(),
        other => other.to_owned(),
    }
}
