//! EnvironmentBrowser: QueryConfigOption, QueryConfigOptionEx, QueryConfigOptionDescriptor
//! and QueryConfigTarget, which govc, terraform and ansible call before creating VMs.
//!
//! Each compute resource has a browser (`environmentBrowser`, shared by its VMs). The
//! answers are minimal but valid: hardware versions vmx-13 to vmx-21, a few guest OS
//! descriptors (`otherGuest64` first, the default), CPU and memory bounds, and the
//! datastores and networks of the compute resource (or of one of its hosts).

use super::Args;
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Hardware versions offered, oldest first (the last is the default).
pub const HW_VERSIONS: &[(i32, &str)] = &[
    (13, "ESXi 6.5"),
    (14, "ESXi 6.7"),
    (15, "ESXi 6.7 U2"),
    (17, "ESXi 7.0"),
    (18, "ESXi 7.0 U1"),
    (19, "ESXi 7.0 U2"),
    (20, "ESXi 8.0"),
    (21, "ESXi 8.0 U2"),
];

/// Guest OS descriptors offered: (id, family, full name).
const GUESTS: &[(&str, &str, &str)] = &[
    ("otherGuest64", "otherGuestFamily", "Other (64-bit)"),
    ("otherGuest", "otherGuestFamily", "Other (32-bit)"),
    (
        "other3xLinux64Guest",
        "linuxGuest",
        "Other 3.x or later Linux (64-bit)",
    ),
    ("ubuntu64Guest", "linuxGuest", "Ubuntu Linux (64-bit)"),
    (
        "vmwarePhoton64Guest",
        "linuxGuest",
        "VMware Photon OS (64-bit)",
    ),
    (
        "windows2019srv_64Guest",
        "windowsGuest",
        "Microsoft Windows Server 2019 (64-bit)",
    ),
];

/// Most vCPUs and memory (MB) a VM may have (vmx-13 limits).
const MAX_CPUS: i32 = 128;
const MAX_MEM_MB: i64 = 6 * 1024 * 1024;

/// The compute resource whose browser `browser` is.
fn owner(emu: &Emulator, browser: &MoRef) -> Result<MoRef, Fault> {
    emu.inv
        .iter()
        .find(|o| {
            crate::vmodl::is_a(&o.moref.ty, "ComputeResource")
                && o.get("environmentBrowser").and_then(Value::as_moref) == Some(browser)
        })
        .map(|o| o.moref.clone())
        .ok_or_else(|| Fault::not_found(browser))
}

fn browser(call: &Call) -> Result<(), Fault> {
    if call.this.ty == "EnvironmentBrowser" {
        Ok(())
    } else {
        Err(Fault::method_not_found(&call.this, &call.method))
    }
}

/// The hosts a query concerns: `host` when given (it must belong to the compute
/// resource), all of the compute resource's otherwise.
///
/// vCenter's behaviour is followed, not vcsim's: the API reference
/// (EnvironmentBrowser.QueryConfigOption) defines `host` as one of the environment's hosts
/// ("the default ConfigOption for that host"), and a host of another compute resource is
/// answered with `InvalidArgument` (`govc vm.option.info -host` outside the VM's cluster),
/// where vcsim ignores the host in QueryConfigOption(Ex) and answers for it anyway.
fn hosts(emu: &Emulator, cr: &MoRef, host: Option<MoRef>) -> Result<Vec<MoRef>, Fault> {
    let all = emu.inv.refs(cr, "host");
    match host {
        Some(h) => {
            emu.inv.get(&h)?;
            if !all.contains(&h) {
                return Err(Fault::invalid_argument("host"));
            }
            Ok(vec![h])
        }
        None => Ok(all),
    }
}

fn int_option(min: i32, max: i32, default: i32) -> Value {
    DataObject::new("IntOption")
        .with("min", Value::Int(min))
        .with("max", Value::Int(max))
        .with("defaultValue", Value::Int(default))
        .into_value()
}

fn long_option(min: i64, max: i64, default: i64) -> Value {
    DataObject::new("LongOption")
        .with("min", Value::Long(min))
        .with("max", Value::Long(max))
        .with("defaultValue", Value::Long(default))
        .into_value()
}

fn allocation_option(default_shares: i32) -> Value {
    DataObject::new("ResourceAllocationOption")
        .with(
            "sharesOption",
            DataObject::new("SharesOption")
                .with("sharesOption", int_option(0, 1_000_000, default_shares))
                .with("defaultLevel", Value::enumv("SharesLevel", "normal"))
                .into_value(),
        )
        .into_value()
}

fn guest_descriptor(id: &str, family: &str, full: &str) -> Value {
    let types = |v: &[&str]| {
        Value::Array(crate::vmodl::Array {
            item: "string".into(),
            items: v.iter().map(|s| Value::str(*s)).collect(),
        })
    };
    DataObject::new("GuestOsDescriptor")
        .with("id", Value::str(id))
        .with("family", Value::str(family))
        .with("fullName", Value::str(full))
        .with("supportedMaxCPUs", Value::Int(MAX_CPUS))
        .with("numSupportedPhysicalSockets", Value::Int(MAX_CPUS))
        .with("numSupportedCoresPerSocket", Value::Int(MAX_CPUS))
        .with("supportedMinMemMB", Value::Int(4))
        .with("supportedMaxMemMB", Value::Int(MAX_MEM_MB as i32))
        .with("recommendedMemMB", Value::Int(2048))
        .with("recommendedColorDepth", Value::Int(24))
        .with(
            "supportedDiskControllerList",
            types(&[
                "VirtualLsiLogicController",
                "ParaVirtualSCSIController",
                "VirtualIDEController",
            ]),
        )
        .with(
            "recommendedSCSIController",
            Value::str("ParaVirtualSCSIController"),
        )
        .with(
            "recommendedDiskController",
            Value::str("ParaVirtualSCSIController"),
        )
        .with("supportedNumDisks", Value::Int(60))
        .with("recommendedDiskSizeMB", Value::Int(16_384))
        .with(
            "recommendedCdromController",
            Value::str("VirtualIDEController"),
        )
        .with(
            "supportedEthernetCard",
            types(&["VirtualVmxnet3", "VirtualE1000", "VirtualE1000e"]),
        )
        .with("recommendedEthernetCard", Value::str("VirtualVmxnet3"))
        .with("smcRequired", Value::Bool(false))
        .with("supportsWakeOnLan", Value::Bool(true))
        .with("supportsVMI", Value::Bool(false))
        .with("supportsMemoryHotAdd", Value::Bool(true))
        .with("supportsCpuHotAdd", Value::Bool(true))
        .with("supportsCpuHotRemove", Value::Bool(false))
        .with("supportedFirmware", Value::strings(["bios", "efi"]))
        .with("recommendedFirmware", Value::str("bios"))
        .with("supports3D", Value::Bool(false))
        .with("recommended3D", Value::Bool(false))
        .with("smcRecommended", Value::Bool(false))
        .with("ich7mRecommended", Value::Bool(false))
        .with("usbRecommended", Value::Bool(false))
        .with("supportLevel", Value::str("supported"))
        .with("supportedForCreate", Value::Bool(true))
        .with("vRAMSizeInKB", int_option(1024, 262_144, 4096))
        .with("numSupportedFloppyDevices", Value::Int(2))
        .with("supportsPvscsiControllerForBoot", Value::Bool(true))
        .with("diskUuidEnabled", Value::Bool(true))
        .with("supportsHotPlugPCI", Value::Bool(true))
        .into_value()
}

/// The hardware version a `key` names (`vmx-13`); the newest when absent, `InvalidArgument`
/// when unknown.
fn version_of(key: Option<&str>) -> Result<(i32, &'static str), Fault> {
    match key.filter(|k| !k.is_empty()) {
        None => Ok(*HW_VERSIONS.last().unwrap_or(&(13, "ESXi 6.5"))),
        Some(k) => HW_VERSIONS
            .iter()
            .find(|(v, _)| format!("vmx-{v}") == k)
            .copied()
            .ok_or_else(|| Fault::invalid_argument("key")),
    }
}

/// A `VirtualMachineConfigOption` for hardware version `key`, listing the guests in
/// `guest_ids` (all when empty).
pub fn config_option(key: Option<&str>, guest_ids: &[&str]) -> Result<Value, Fault> {
    let (hw, product) = version_of(key)?;
    let guests: Vec<Value> = GUESTS
        .iter()
        .filter(|(id, _, _)| guest_ids.is_empty() || guest_ids.contains(id))
        .map(|(id, fam, full)| guest_descriptor(id, fam, full))
        .collect();
    let hardware = DataObject::new("VirtualHardwareOption")
        .with("hwVersion", Value::Int(hw))
        .with(
            "virtualDeviceOption",
            Value::array("VirtualDeviceOption", vec![]),
        )
        .with("deviceListReadonly", Value::Bool(false))
        .with(
            "numCPU",
            Value::array(
                "int",
                (1..=MAX_CPUS)
                    .filter(|n| *n == 1 || n % 2 == 0)
                    .map(Value::Int)
                    .collect(),
            ),
        )
        .with("numCoresPerSocket", int_option(1, MAX_CPUS, 1))
        .with("numCpuReadonly", Value::Bool(false))
        .with("memoryMB", long_option(4, MAX_MEM_MB, 1024))
        .with("numPCIControllers", int_option(1, 1, 1))
        .with("numIDEControllers", int_option(2, 2, 2))
        .with("numUSBControllers", int_option(0, 1, 0))
        .with("numUSBXHCIControllers", int_option(0, 1, 0))
        .with("numSIOControllers", int_option(1, 1, 1))
        .with("numPS2Controllers", int_option(1, 1, 1))
        .with(
            "resourceConfigOption",
            DataObject::new("ResourceConfigOption")
                .with("cpuAllocationOption", allocation_option(1000))
                .with("memoryAllocationOption", allocation_option(10_240))
                .into_value(),
        )
        .into_value();
    let capabilities = DataObject::new("VirtualMachineCapability")
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
        .into_value();
    Ok(DataObject::new("VirtualMachineConfigOption")
        .with("version", Value::str(format!("vmx-{hw}")))
        .with(
            "description",
            Value::str(format!("Hardware version {hw} ({product} and later)")),
        )
        .with(
            "guestOSDescriptor",
            Value::array("GuestOsDescriptor", guests),
        )
        .with("guestOSDefaultIndex", Value::Int(0))
        .with("hardwareOptions", hardware)
        .with("capabilities", capabilities)
        .with("datastore", DataObject::new("DatastoreOption").into_value())
        .with(
            "supportedMonitorType",
            Value::strings(["release", "debug", "stats"]),
        )
        .with(
            "supportedOvfEnvironmentTransport",
            Value::strings(["com.vmware.guestInfo", "iso"]),
        )
        .with(
            "supportedOvfInstallTransport",
            Value::strings(["com.vmware.guestInfo"]),
        )
        .into_value())
}

/// `QueryConfigOption(key?, host?)`.
pub fn query_config_option(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    browser(call)?;
    let cr = owner(emu, &call.this)?;
    hosts(emu, &cr, args.opt_moref("host"))?;
    config_option(args.opt_text("key"), &[]).map(Some)
}

/// `QueryConfigOptionEx(spec?)`: `spec.guestId` narrows the guest descriptors.
pub fn query_config_option_ex(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    browser(call)?;
    let cr = owner(emu, &call.this)?;
    let spec = args.element("spec");
    let host = spec
        .and_then(|s| s.child("host"))
        .and_then(crate::soap::decode::moref);
    hosts(emu, &cr, host)?;
    let key = spec.and_then(|s| s.child_text("key"));
    let guests: Vec<&str> = spec
        .map(|s| s.child_texts("guestId").take(256).collect())
        .unwrap_or_default();
    config_option(key, &guests).map(Some)
}

/// `QueryConfigOptionDescriptor`: one descriptor per hardware version.
pub fn query_config_option_descriptor(
    emu: &mut Emulator,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    browser(call)?;
    let cr = owner(emu, &call.this)?;
    let host_refs = emu.inv.refs(&cr, "host");
    let newest = HW_VERSIONS.last().map(|(v, _)| *v);
    let out = HW_VERSIONS
        .iter()
        .map(|(v, product)| {
            DataObject::new("VirtualMachineConfigOptionDescriptor")
                .with("key", Value::str(format!("vmx-{v}")))
                .with(
                    "description",
                    Value::str(format!("{product} virtual machine")),
                )
                .with("host", Value::morefs(&host_refs))
                .with("createSupported", Value::Bool(true))
                .with("defaultConfigOption", Value::Bool(Some(*v) == newest))
                .with("runSupported", Value::Bool(true))
                .with("upgradeSupported", Value::Bool(true))
                .into_value()
        })
        .collect();
    Ok(Some(Value::array(
        "VirtualMachineConfigOptionDescriptor",
        out,
    )))
}

/// `QueryConfigTarget(host?)`: CPUs and memory (of the largest host), and the datastores,
/// networks, port groups and switches the hosts see.
pub fn query_config_target(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    browser(call)?;
    let cr = owner(emu, &call.this)?;
    let hosts = hosts(emu, &cr, args.opt_moref("host"))?;
    let hw = |h: &MoRef, f: &str| {
        emu.inv
            .prop(h, "summary")
            .and_then(|s| s.field("hardware"))
            .and_then(|hw| hw.field(f))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let threads = hosts
        .iter()
        .map(|h| hw(h, "numCpuThreads"))
        .max()
        .unwrap_or(0);
    let cores = hosts
        .iter()
        .map(|h| hw(h, "numCpuCores"))
        .max()
        .unwrap_or(0);
    let mem_mb = hosts.iter().map(|h| hw(h, "memorySize")).max().unwrap_or(0) / (1024 * 1024);
    let mut datastores = Vec::new();
    let mut networks = Vec::new();
    let mut portgroups = Vec::new();
    let mut switches: Vec<MoRef> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for h in &hosts {
        for ds in emu.inv.refs(h, "datastore") {
            if !seen.insert(ds.value.clone()) {
                continue;
            }
            let Some(o) = emu.inv.lookup(&ds) else {
                continue;
            };
            let (Some(summary), Some(capability)) = (o.get("summary"), o.get("capability")) else {
                continue;
            };
            let max_file = o
                .get("info")
                .and_then(|i| i.field("maxFileSize"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            datastores.push(
                DataObject::new("VirtualMachineDatastoreInfo")
                    .with("name", Value::str(o.name()))
                    .with("datastore", summary.clone())
                    .with("capability", capability.clone())
                    .with("maxFileSize", Value::Long(max_file))
                    .with("maxVirtualDiskCapacity", Value::Long(max_file))
                    .with("mode", Value::str("readWrite"))
                    .into_value(),
            );
        }
        for n in emu.inv.refs(h, "network") {
            if !seen.insert(n.value.clone()) {
                continue;
            }
            let Some(o) = emu.inv.lookup(&n) else {
                continue;
            };
            if n.ty == "DistributedVirtualPortgroup" {
                let Some(sw) = o
                    .get("config")
                    .and_then(|c| c.field("distributedVirtualSwitch"))
                    .and_then(Value::as_moref)
                    .cloned()
                else {
                    continue;
                };
                let sw_obj = emu.inv.lookup(&sw);
                let sw_name = sw_obj.map(|s| s.name().to_owned()).unwrap_or_default();
                let sw_uuid = sw_obj
                    .and_then(|s| s.get("uuid"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let uplink = o
                    .get("config")
                    .and_then(|c| c.field("uplink"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                portgroups.push(
                    DataObject::new("DistributedVirtualPortgroupInfo")
                        .with("switchName", Value::str(sw_name.clone()))
                        .with("switchUuid", Value::str(sw_uuid.clone()))
                        .with("portgroupName", Value::str(o.name()))
                        .with("portgroupKey", Value::str(n.value.clone()))
                        .with("portgroupType", Value::str("earlyBinding"))
                        .with("uplinkPortgroup", Value::Bool(uplink))
                        .with("portgroup", Value::moref(&n))
                        .into_value(),
                );
                if !switches.contains(&sw) {
                    switches.push(sw);
                }
            } else if let Some(summary) = o.get("summary") {
                networks.push(
                    DataObject::new("VirtualMachineNetworkInfo")
                        .with("name", Value::str(o.name()))
                        .with("network", summary.clone())
                        .into_value(),
                );
            }
        }
    }
    let switch_infos: Vec<Value> = switches
        .iter()
        .filter_map(|sw| {
            let o = emu.inv.lookup(sw)?;
            Some(
                DataObject::new("DistributedVirtualSwitchInfo")
                    .with("switchName", Value::str(o.name()))
                    .with(
                        "switchUuid",
                        Value::str(o.get("uuid").and_then(Value::as_str).unwrap_or("")),
                    )
                    .with("distributedVirtualSwitch", Value::moref(sw))
                    .into_value(),
            )
        })
        .collect();
    let mut t = DataObject::new("ConfigTarget")
        .with("numCpus", Value::Int(threads as i32))
        .with("numCpuCores", Value::Int(cores as i32))
        .with("numNumaNodes", Value::Int(1))
        .with("maxCpusPerHost", Value::Int(threads as i32))
        .with("smcPresent", Value::Bool(false))
        .with(
            "datastore",
            Value::array("VirtualMachineDatastoreInfo", datastores),
        )
        .with(
            "network",
            Value::array("VirtualMachineNetworkInfo", networks),
        );
    if !portgroups.is_empty() {
        t = t.with(
            "distributedVirtualPortgroup",
            Value::array("DistributedVirtualPortgroupInfo", portgroups),
        );
    }
    if !switch_infos.is_empty() {
        t = t.with(
            "distributedVirtualSwitch",
            Value::array("DistributedVirtualSwitchInfo", switch_infos),
        );
    }
    let t = t
        .with(
            "maxMemMBOptimalPerf",
            Value::Int(mem_mb.min(i64::from(i32::MAX)) as i32),
        )
        .with(
            "supportedMaxMemMB",
            Value::Int(mem_mb.min(i64::from(i32::MAX)) as i32),
        );
    Ok(Some(t.into_value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmodl::check_value;

    #[test]
    fn config_options_match_the_schema_and_filter_guests() {
        let all = config_option(Some("vmx-13"), &[]).unwrap();
        assert!(
            check_value(Some("VirtualMachineConfigOption"), &all).is_empty(),
            "{:?}",
            check_value(Some("VirtualMachineConfigOption"), &all)
        );
        assert_eq!(all.field("version").and_then(Value::as_str), Some("vmx-13"));
        let guests = all.field("guestOSDescriptor").unwrap().items();
        assert_eq!(
            guests[0].field("id").and_then(Value::as_str),
            Some("otherGuest64")
        );
        let one = config_option(None, &["ubuntu64Guest"]).unwrap();
        assert_eq!(one.field("guestOSDescriptor").unwrap().items().len(), 1);
        assert_eq!(one.field("version").and_then(Value::as_str), Some("vmx-21"));
        assert_eq!(
            config_option(Some("vmx-99"), &[]).unwrap_err().ty,
            "InvalidArgument"
        );
        let mem = all
            .field("hardwareOptions")
            .and_then(|h| h.field("memoryMB"))
            .unwrap();
        assert_eq!(mem.field("min").and_then(Value::as_i64), Some(4));
    }
}
