//! A host's configuration managers (`configManager.networkSystem`, `datastoreSystem`,
//! `storageSystem`, `firewallSystem`) with the properties govc reads from them.

use crate::inventory::ManagedObject;
use crate::vmodl::{DataObject, MoRef, Value};

/// A host's HostNetworkSystem: `vSwitch0` with `VM Network` and `Management Network`, and
/// `vmk0` on the management network with address `ip`, as a fresh ESXi host has.
pub fn host_network_system(moref: MoRef, ip: &str, mac: &str) -> ManagedObject {
    let mut info = crate::methods::seed_network_info(&["VM Network", "Management Network"]);
    if let Some(d) = info.as_data_mut() {
        d.set("vnic", Value::array("HostVirtualNic", vec![vmk0(ip, mac)]));
    }
    ManagedObject::new(moref).with("networkInfo", info)
}

/// The management VMkernel NIC.
fn vmk0(ip: &str, mac: &str) -> Value {
    let ip_config = DataObject::new("HostIpConfig")
        .with("dhcp", Value::Bool(false))
        .with("ipAddress", Value::str(ip))
        .with("subnetMask", Value::str("255.0.0.0"))
        .into_value();
    let spec = DataObject::new("HostVirtualNicSpec")
        .with("ip", ip_config)
        .with("mac", Value::str(mac))
        .with("portgroup", Value::str("Management Network"))
        .with("mtu", Value::Int(1500))
        .with("tsoEnabled", Value::Bool(true))
        .with("netStackInstanceKey", Value::str("defaultTcpipStack"))
        .into_value();
    DataObject::new("HostVirtualNic")
        .with("device", Value::str("vmk0"))
        .with("key", Value::str("key-vim.host.VirtualNic-vmk0"))
        .with("portgroup", Value::str("Management Network"))
        .with("spec", spec)
        .with("port", Value::str("key-vim.host.PortGroup.Port-33554436"))
        .into_value()
}

/// The management address of a host named `name`: the name when it is an IPv4 address (a
/// host added by address), else the loopback address, as vcsim reports.
pub fn host_management_ip(name: &str) -> String {
    match name.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => "127.0.0.1".into(),
    }
}

/// A host's HostDatastoreSystem (its `datastore` list is the host's, computed on read).
pub fn host_datastore_system(moref: MoRef) -> ManagedObject {
    ManagedObject::new(moref).with(
        "capabilities",
        DataObject::new("HostDatastoreSystemCapabilities")
            .with("nfsMountCreationRequired", Value::Bool(true))
            .with("nfsMountCreationSupported", Value::Bool(true))
            .with("localDatastoreSupported", Value::Bool(false))
            .with("vmfsExtentExpansionSupported", Value::Bool(true))
            .into_value(),
    )
}

/// A host's HostStorageSystem: one local HBA and disk (`vmhba0`, `mpx.vmhba0:C0:T0:L0`)
/// with its path, and the VMFS volume of datastore `ds_name` (`capacity_bytes`, `url`).
pub fn host_storage_system(
    moref: MoRef,
    ds_name: &str,
    capacity_bytes: i64,
    url: &str,
) -> ManagedObject {
    const LUN: &str = "mpx.vmhba0:C0:T0:L0";
    const LUN_KEY: &str = "key-vim.host.ScsiDisk-0000000000766d686261303a303a30";
    let hba = DataObject::new("HostBlockHba")
        .with("key", Value::str("key-vim.host.BlockHba-vmhba0"))
        .with("device", Value::str("vmhba0"))
        .with("bus", Value::Int(0))
        .with("status", Value::str("unknown"))
        .with("model", Value::str("PVSCSI SCSI Controller"))
        .with("driver", Value::str("pvscsi"))
        .with("pci", Value::str("0000:03:00.0"))
        .into_value();
    let block_size = 512i64;
    let disk = DataObject::new("HostScsiDisk")
        .with(
            "deviceName",
            Value::str(format!("/vmfs/devices/disks/{LUN}")),
        )
        .with("deviceType", Value::str("disk"))
        .with("key", Value::str(LUN_KEY))
        .with("uuid", Value::str("0000000000766d686261303a303a30"))
        .with("canonicalName", Value::str(LUN))
        .with(
            "displayName",
            Value::str(format!("Local VMware Disk ({LUN})")),
        )
        .with("lunType", Value::str("disk"))
        .with("vendor", Value::str("VMware  "))
        .with("model", Value::str("Virtual disk    "))
        .with("operationalState", Value::strings(["ok"]))
        .with(
            "capacity",
            DataObject::new("HostDiskDimensionsLba")
                .with("blockSize", Value::Int(block_size as i32))
                .with("block", Value::Long(capacity_bytes / block_size))
                .into_value(),
        )
        .with(
            "devicePath",
            Value::str(format!("/vmfs/devices/disks/{LUN}")),
        )
        .with("ssd", Value::Bool(true))
        .with("localDisk", Value::Bool(true))
        .into_value();
    let path_name = "vmhba0:C0:T0:L0".to_owned();
    let path = DataObject::new("HostMultipathInfoPath")
        .with(
            "key",
            Value::str(format!("key-vim.host.MultipathInfo.Path-{path_name}")),
        )
        .with("name", Value::str(path_name.clone()))
        .with("pathState", Value::str("active"))
        .with("state", Value::str("active"))
        .with("isWorkingPath", Value::Bool(true))
        .with("adapter", Value::str("key-vim.host.BlockHba-vmhba0"))
        .with(
            "lun",
            Value::str(format!("key-vim.host.MultipathInfo.LogicalUnit-{LUN}")),
        )
        .into_value();
    let lun = DataObject::new("HostMultipathInfoLogicalUnit")
        .with(
            "key",
            Value::str(format!("key-vim.host.MultipathInfo.LogicalUnit-{LUN}")),
        )
        .with("id", Value::str("0000000000766d686261303a303a30"))
        .with("lun", Value::str(LUN_KEY))
        .with("path", Value::array("HostMultipathInfoPath", vec![path]))
        .with(
            "policy",
            DataObject::new("HostMultipathInfoFixedLogicalUnitPolicy")
                .with("policy", Value::str("VMW_PSP_FIXED"))
                .with("prefer", Value::str(path_name))
                .into_value(),
        )
        .into_value();
    let device_info = DataObject::new("HostStorageDeviceInfo")
        .with(
            "hostBusAdapter",
            Value::array("HostHostBusAdapter", vec![hba]),
        )
        .with("scsiLun", Value::array("ScsiLun", vec![disk]))
        .with(
            "multipathInfo",
            DataObject::new("HostMultipathInfo")
                .with(
                    "lun",
                    Value::array("HostMultipathInfoLogicalUnit", vec![lun]),
                )
                .into_value(),
        )
        .with("softwareInternetScsiEnabled", Value::Bool(false))
        .into_value();
    let path = url.trim_start_matches("ds://").trim_end_matches('/');
    let volume = DataObject::new("HostVmfsVolume")
        .with("type", Value::str("VMFS"))
        .with("name", Value::str(ds_name))
        .with("capacity", Value::Long(capacity_bytes))
        .with("blockSizeMb", Value::Int(1))
        .with("maxBlocks", Value::Int(63_963_136))
        .with("majorVersion", Value::Int(6))
        .with("version", Value::str("6.82"))
        .with("uuid", Value::str(path.rsplit('/').next().unwrap_or("")))
        .with(
            "extent",
            Value::array(
                "HostScsiDiskPartition",
                vec![
                    DataObject::new("HostScsiDiskPartition")
                        .with("diskName", Value::str(LUN))
                        .with("partition", Value::Int(3))
                        .into_value(),
                ],
            ),
        )
        .with("vmfsUpgradable", Value::Bool(false))
        .with("ssd", Value::Bool(true))
        .with("local", Value::Bool(true))
        .into_value();
    let mount = DataObject::new("HostFileSystemMountInfo")
        .with("mountInfo", super::host_mount_info(path))
        .with("volume", volume)
        .into_value();
    ManagedObject::new(moref)
        .with("storageDeviceInfo", device_info)
        .with(
            "fileSystemVolumeInfo",
            DataObject::new("HostFileSystemVolumeInfo")
                .with(
                    "volumeTypeList",
                    Value::strings([
                        "VMFS", "NFS", "NFS41", "vsan", "VVOL", "VFFS", "OTHER", "PMEM",
                    ]),
                )
                .with(
                    "mountInfo",
                    Value::array("HostFileSystemMountInfo", vec![mount]),
                )
                .into_value(),
        )
        .with("systemFile", Value::strings(Vec::<String>::new()))
}

/// A host's HostFirewallSystem: ESXi's default policy (both directions blocked) and the
/// rulesets a fresh host has enabled.
pub fn host_firewall_system(moref: MoRef) -> ManagedObject {
    let rule = |port: i32, direction: &str, protocol: &str| {
        DataObject::new("HostFirewallRule")
            .with("port", Value::Int(port))
            .with(
                "direction",
                Value::enumv("HostFirewallRuleDirection", direction.to_owned()),
            )
            .with("portType", Value::enumv("HostFirewallRulePortType", "dst"))
            .with("protocol", Value::str(protocol))
            .into_value()
    };
    let ruleset = |key: &str, label: &str, required: bool, rules: Vec<Value>| {
        DataObject::new("HostFirewallRuleset")
            .with("key", Value::str(key))
            .with("label", Value::str(label))
            .with("required", Value::Bool(required))
            .with("rule", Value::array("HostFirewallRule", rules))
            .with("enabled", Value::Bool(true))
            .with(
                "allowedHosts",
                DataObject::new("HostFirewallRulesetIpList")
                    .with("allIp", Value::Bool(true))
                    .into_value(),
            )
            .into_value()
    };
    let rulesets = vec![
        ruleset(
            "CIMHttpServer",
            "CIM Server",
            false,
            vec![rule(5988, "inbound", "tcp")],
        ),
        ruleset(
            "dhcp",
            "DHCP Client",
            false,
            vec![rule(68, "inbound", "udp"), rule(68, "outbound", "udp")],
        ),
        ruleset(
            "dns",
            "DNS Client",
            false,
            vec![
                rule(53, "inbound", "udp"),
                rule(53, "outbound", "udp"),
                rule(53, "outbound", "tcp"),
            ],
        ),
        ruleset(
            "httpClient",
            "httpClient",
            false,
            vec![rule(80, "outbound", "tcp"), rule(443, "outbound", "tcp")],
        ),
        ruleset(
            "nfsClient",
            "NFS Client",
            false,
            vec![rule(2049, "outbound", "tcp")],
        ),
        ruleset(
            "sshServer",
            "SSH Server",
            true,
            vec![rule(22, "inbound", "tcp")],
        ),
        ruleset(
            "vSphereClient",
            "vSphere Web Client",
            true,
            vec![rule(902, "inbound", "tcp"), rule(443, "inbound", "tcp")],
        ),
        ruleset(
            "webAccess",
            "vSphere Web Access",
            false,
            vec![rule(80, "inbound", "tcp")],
        ),
    ];
    ManagedObject::new(moref).with(
        "firewallInfo",
        DataObject::new("HostFirewallInfo")
            .with(
                "defaultPolicy",
                DataObject::new("HostFirewallDefaultPolicy")
                    .with("incomingBlocked", Value::Bool(true))
                    .with("outgoingBlocked", Value::Bool(true))
                    .into_value(),
            )
            .with("ruleset", Value::array("HostFirewallRuleset", rulesets))
            .into_value(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_ip_is_the_name_when_it_is_an_address() {
        assert_eq!(host_management_ip("10.1.2.3"), "10.1.2.3");
        assert_eq!(host_management_ip("DC0_H0"), "127.0.0.1");
        assert_eq!(host_management_ip("999.1.1.1"), "127.0.0.1");
    }

    #[test]
    fn network_system_has_vmk0() {
        let o = host_network_system(
            MoRef::new("HostNetworkSystem", "n"),
            "10.0.0.9",
            "00:50:56:aa:bb:cc",
        );
        let vnic = o.get("networkInfo").unwrap().field("vnic").unwrap().items()[0].clone();
        assert_eq!(vnic.field("device").and_then(Value::as_str), Some("vmk0"));
        let ip = vnic
            .field("spec")
            .and_then(|s| s.field("ip"))
            .and_then(|i| i.field("ipAddress"))
            .and_then(Value::as_str);
        assert_eq!(ip, Some("10.0.0.9"));
    }
}
