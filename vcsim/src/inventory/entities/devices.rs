//! Virtual devices: the default devices of a model VM, and the `deviceInfo` labels vCenter
//! gives devices that a client adds without one.

use crate::vmodl::{DataObject, MoRef, Value};

/// The default devices of a model VM: IDE and paravirtual SCSI controllers, a 10 GB thin
/// disk and one vmxnet3 NIC on `network`.
pub fn default_devices(
    vm_dir: &str,
    datastore: &MoRef,
    network: &MoRef,
    network_name: &str,
    mac: &str,
) -> Vec<Value> {
    let connect = |connected: bool| {
        DataObject::new("VirtualDeviceConnectInfo")
            .with("startConnected", Value::Bool(true))
            .with("allowGuestControl", Value::Bool(true))
            .with("connected", Value::Bool(connected))
            .with("status", Value::str("untried"))
            .into_value()
    };
    let describe = |label: &str, summary: &str| {
        DataObject::new("Description")
            .with("label", Value::str(label))
            .with("summary", Value::str(summary))
            .into_value()
    };
    vec![
        DataObject::new("VirtualIDEController")
            .with("key", Value::Int(200))
            .with("deviceInfo", describe("IDE 0", "IDE 0"))
            .with("busNumber", Value::Int(0))
            .into_value(),
        DataObject::new("ParaVirtualSCSIController")
            .with("key", Value::Int(1000))
            .with(
                "deviceInfo",
                describe("SCSI controller 0", "VMware paravirtual SCSI"),
            )
            .with("controllerKey", Value::Int(100))
            .with("unitNumber", Value::Int(3))
            .with("busNumber", Value::Int(0))
            .with("device", Value::array("int", vec![Value::Int(2000)]))
            .with("hotAddRemove", Value::Bool(true))
            .with("sharedBus", Value::enumv("VirtualSCSISharing", "noSharing"))
            .with("scsiCtlrUnitNumber", Value::Int(7))
            .into_value(),
        DataObject::new("VirtualDisk")
            .with("key", Value::Int(2000))
            .with("deviceInfo", describe("Hard disk 1", "10,485,760 KB"))
            .with(
                "backing",
                DataObject::new("VirtualDiskFlatVer2BackingInfo")
                    .with("fileName", Value::str(format!("{vm_dir}disk.vmdk")))
                    .with("datastore", Value::moref(datastore))
                    .with("diskMode", Value::str("persistent"))
                    .with("thinProvisioned", Value::Bool(true))
                    .into_value(),
            )
            .with("controllerKey", Value::Int(1000))
            .with("unitNumber", Value::Int(0))
            .with("capacityInKB", Value::Long(10 * 1024 * 1024))
            .with("capacityInBytes", Value::Long(10 * 1024 * 1024 * 1024))
            .into_value(),
        DataObject::new("VirtualVmxnet3")
            .with("key", Value::Int(4000))
            .with("deviceInfo", describe("Network adapter 1", network_name))
            .with(
                "backing",
                DataObject::new("VirtualEthernetCardNetworkBackingInfo")
                    .with("deviceName", Value::str(network_name))
                    .with("useAutoDetect", Value::Bool(false))
                    .with("network", Value::moref(network))
                    .into_value(),
            )
            .with("connectable", connect(false))
            .with("controllerKey", Value::Int(100))
            .with("unitNumber", Value::Int(7))
            .with("addressType", Value::str("generated"))
            .with("macAddress", Value::str(mac))
            .with("wakeOnLanEnabled", Value::Bool(true))
            .into_value(),
    ]
}

/// `n` with thousands separators, as vCenter writes capacities in device summaries.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The label stem, whether it is numbered by bus (controllers) or by count from 1, and the
/// summary vCenter shows for a device of WSDL type `ty`.
fn device_kind(ty: &str, dev: &Value) -> (&'static str, bool, String) {
    let backing_name = || {
        dev.field("backing")
            .and_then(|b| b.field("deviceName").or_else(|| b.field("fileName")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match ty {
        "VirtualDisk" => {
            let kb = dev
                .field("capacityInKB")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            ("Hard disk", false, format!("{} KB", grouped(kb)))
        }
        "ParaVirtualSCSIController" => ("SCSI controller", true, "VMware paravirtual SCSI".into()),
        "VirtualLsiLogicController" => ("SCSI controller", true, "LSI Logic".into()),
        "VirtualLsiLogicSASController" => ("SCSI controller", true, "LSI Logic SAS".into()),
        "VirtualBusLogicController" => ("SCSI controller", true, "BusLogic".into()),
        "VirtualIDEController" => ("IDE", true, String::new()),
        "VirtualAHCIController" | "VirtualSATAController" => {
            ("SATA controller", true, "AHCI".into())
        }
        "VirtualNVMEController" => ("NVME controller", true, String::new()),
        "VirtualPCIController" => ("PCI controller", true, String::new()),
        "VirtualPS2Controller" => ("PS2 controller", true, String::new()),
        "VirtualSIOController" => ("SIO controller", true, String::new()),
        "VirtualUSBController" => ("USB controller", false, "Auto connect Disabled".into()),
        "VirtualUSBXHCIController" => ("USB xHCI controller", false, "Auto connect Disabled".into()),
        "VirtualE1000" | "VirtualE1000e" | "VirtualVmxnet" | "VirtualVmxnet2"
        | "VirtualVmxnet3" | "VirtualVmxnet3Vrdma" | "VirtualPCNet32"
        | "VirtualSriovEthernetCard" => (
            "Network adapter",
            false,
            backing_name()
                .or_else(|| {
                    dev.field("backing")
                        .and_then(|b| b.field("port"))
                        .and_then(|p| p.field("switchUuid"))
                        .and_then(Value::as_str)
                        .map(|u| format!("DVSwitch: {u}"))
                })
                .unwrap_or_default(),
        ),
        "VirtualCdrom" => (
            "CD/DVD drive",
            false,
            match dev.field("backing").map(Value::xsi_type).as_deref() {
                Some("VirtualCdromIsoBackingInfo") => {
                    format!("ISO {}", backing_name().unwrap_or_default())
                }
                _ => "Remote device".into(),
            },
        ),
        "VirtualFloppy" => ("Floppy drive", false, "Remote".into()),
        "VirtualSerialPort" => ("Serial port", false, "Remote".into()),
        "VirtualParallelPort" => ("Parallel port", false, "Remote".into()),
        "VirtualKeyboard" => ("Keyboard", false, "Keyboard".into()),
        "VirtualPointingDevice" => ("Pointing device", false, "Pointing device; Device".into()),
        "VirtualMachineVideoCard" => ("Video card", false, "Video card".into()),
        "VirtualMachineVMCIDevice" => (
            "VMCI device",
            false,
            "Device on the virtual machine PCI bus that provides support for the virtual machine communication interface".into(),
        ),
        _ => ("", false, String::new()),
    }
}

/// Fills `deviceInfo` (label and summary, as vCenter writes them: "Hard disk 2", "SCSI
/// controller 0", "Network adapter 1") on every device that lacks one, as vCenter does for
/// devices a client adds without: govc's `device.ls`/`vm.info` dereference it. Numbering
/// counts every device of a kind in list order (controllers go by bus number).
pub fn fill_device_info(devices: &mut [Value]) {
    let mut counts: std::collections::BTreeMap<&'static str, i64> = Default::default();
    for dev in devices.iter_mut() {
        let ty = dev.xsi_type().into_owned();
        let (stem, by_bus, summary) = device_kind(&ty, dev);
        let n = if by_bus {
            dev.field("busNumber").and_then(Value::as_i64).unwrap_or(0)
        } else {
            let c = counts.entry(stem).or_insert(0);
            *c += 1;
            *c
        };
        let Some(d) = dev.as_data_mut() else { continue };
        if d.get("deviceInfo").is_some() {
            continue;
        }
        let label = match stem {
            "" => ty.clone(),
            "VMCI device" | "Keyboard" | "Pointing device" | "Video card" => stem.to_owned(),
            s => format!("{s} {n}"),
        };
        let summary = if summary.is_empty() {
            label.clone()
        } else {
            summary
        };
        let info = DataObject::new("Description")
            .with("label", Value::str(label))
            .with("summary", Value::str(summary))
            .into_value();
        // Right after `key`, where the WSDL puts it.
        let at = d
            .fields
            .iter()
            .position(|(n, _)| n == "key")
            .map_or(0, |i| i + 1);
        d.fields
            .insert(at, (std::borrow::Cow::Borrowed("deviceInfo"), info));
    }
}

/// Whether `ty` is a SCSI controller type.
fn is_scsi(ty: &str) -> bool {
    matches!(
        ty,
        "ParaVirtualSCSIController"
            | "VirtualLsiLogicController"
            | "VirtualLsiLogicSASController"
            | "VirtualBusLogicController"
    )
}

/// Whether `ty` is a network adapter type.
fn is_nic(ty: &str) -> bool {
    matches!(
        ty,
        "VirtualE1000"
            | "VirtualE1000e"
            | "VirtualVmxnet"
            | "VirtualVmxnet2"
            | "VirtualVmxnet3"
            | "VirtualVmxnet3Vrdma"
            | "VirtualPCNet32"
            | "VirtualSriovEthernetCard"
    )
}

/// The first key vCenter gives a device of WSDL type `ty` (keys of a kind count up from it),
/// and whether controllers of the kind take `base + busNumber`.
fn key_base(ty: &str) -> (i64, bool) {
    match ty {
        "VirtualPCIController" => (100, true),
        "VirtualIDEController" => (200, true),
        "VirtualPS2Controller" => (300, true),
        "VirtualSIOController" => (400, true),
        "VirtualMachineVideoCard" => (500, false),
        "VirtualKeyboard" => (600, false),
        "VirtualPointingDevice" => (700, false),
        t if is_scsi(t) => (1000, true),
        "VirtualDisk" => (2000, false),
        "VirtualCdrom" => (3000, false),
        t if is_nic(t) => (4000, false),
        "VirtualUSBController" => (7000, false),
        "VirtualFloppy" => (8000, false),
        "VirtualSerialPort" => (9000, false),
        "VirtualParallelPort" => (10000, false),
        "VirtualMachineVMCIDevice" => (12000, false),
        "VirtualUSBXHCIController" => (14000, false),
        "VirtualAHCIController" | "VirtualSATAController" => (15000, true),
        "VirtualNVMEController" => (31000, true),
        _ => (13000, false),
    }
}

/// Gives the devices of a new VM the keys vCenter gives them (SCSI controller 0 is 1000, the
/// first disk 2000, the first NIC 4000, …) in place of the client's temporary ones (zero or
/// negative), and points `controllerKey`s and the controllers' `device` lists at the new
/// keys: govc names devices after them (`disk-1000-0`).
pub fn assign_device_keys(devices: &mut [Value]) {
    let key_of = |d: &Value| d.field("key").and_then(Value::as_i64);
    let mut used: std::collections::BTreeSet<i64> = devices
        .iter()
        .filter_map(key_of)
        .filter(|k| *k > 0)
        .collect();
    let mut renamed: std::collections::BTreeMap<i64, i64> = Default::default();
    for dev in devices.iter_mut() {
        let old = key_of(dev).unwrap_or(0);
        if old > 0 {
            continue;
        }
        let ty = dev.xsi_type().into_owned();
        let (base, by_bus) = key_base(&ty);
        // Real bus numbers are single digits; the bound keeps a client's absurd one from
        // pushing the key past `xsd:int` (it would wrap to a negative key).
        let bus = dev
            .field("busNumber")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .clamp(0, i64::from(u16::MAX));
        let mut key = if by_bus { base + bus } else { base };
        while used.contains(&key) {
            key += 1;
        }
        used.insert(key);
        if old < 0 {
            renamed.insert(old, key);
        }
        if let Some(d) = dev.as_data_mut() {
            d.set("key", Value::Int(key as i32));
        }
    }
    for dev in devices.iter_mut() {
        let Some(d) = dev.as_data_mut() else { continue };
        let ctl = d.get("controllerKey").and_then(Value::as_i64);
        if let Some(new) = ctl.and_then(|c| renamed.get(&c)) {
            d.set("controllerKey", Value::Int(*new as i32));
        }
    }
    let children: Vec<(i64, i64)> = devices
        .iter()
        .filter_map(|d| Some((d.field("controllerKey")?.as_i64()?, key_of(d)?)))
        .collect();
    for dev in devices.iter_mut() {
        let Some(key) = key_of(dev) else { continue };
        let is_controller = dev.field("busNumber").is_some();
        let Some(d) = dev.as_data_mut() else { continue };
        if !is_controller || d.get("device").is_some() {
            continue;
        }
        let mine: Vec<Value> = children
            .iter()
            .filter(|(c, _)| *c == key)
            .map(|(_, k)| Value::Int(*k as i32))
            .collect();
        if !mine.is_empty() {
            d.set("device", Value::array("int", mine));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_group_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(10_485_760), "10,485,760");
        assert_eq!(grouped(-1_234), "-1,234");
    }

    #[test]
    fn labels_count_by_kind_and_keep_existing_ones() {
        let dev = |ty: &'static str| DataObject::new(ty).with("key", Value::Int(-1));
        let mut devs = vec![
            dev("VirtualLsiLogicController")
                .with("busNumber", Value::Int(1))
                .into_value(),
            dev("VirtualDisk")
                .with("capacityInKB", Value::Long(2048))
                .into_value(),
            dev("VirtualDisk")
                .with(
                    "deviceInfo",
                    DataObject::new("Description")
                        .with("label", Value::str("mine"))
                        .with("summary", Value::str("mine"))
                        .into_value(),
                )
                .into_value(),
            dev("VirtualDisk").into_value(),
            dev("VirtualCdrom").into_value(),
            dev("VirtualMachineVMCIDevice").into_value(),
            dev("SomethingNew").into_value(),
        ];
        fill_device_info(&mut devs);
        let label = |d: &Value| {
            d.field("deviceInfo")
                .and_then(|i| i.field("label"))
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        };
        let labels: Vec<String> = devs.iter().map(label).collect();
        assert_eq!(
            labels,
            [
                "SCSI controller 1",
                "Hard disk 1",
                "mine",
                "Hard disk 3",
                "CD/DVD drive 1",
                "VMCI device",
                "SomethingNew"
            ]
        );
        // deviceInfo follows key, as in the WSDL.
        let d = devs[1].as_data().unwrap();
        assert_eq!(d.fields[1].0, "deviceInfo");
        assert_eq!(
            devs[1]
                .field("deviceInfo")
                .and_then(|i| i.field("summary"))
                .and_then(Value::as_str),
            Some("2,048 KB")
        );
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn temporary_keys_become_vcenters_and_references_follow() {
        let mut devs = vec![
            DataObject::new("VirtualLsiLogicController")
                .with("key", Value::Int(-100))
                .with("busNumber", Value::Int(0))
                .into_value(),
            DataObject::new("VirtualDisk")
                .with("key", Value::Int(-101))
                .with("controllerKey", Value::Int(-100))
                .with("unitNumber", Value::Int(0))
                .into_value(),
            DataObject::new("VirtualDisk")
                .with("key", Value::Int(0))
                .with("controllerKey", Value::Int(-100))
                .with("unitNumber", Value::Int(1))
                .into_value(),
            DataObject::new("VirtualE1000")
                .with("key", Value::Int(-1))
                .into_value(),
            DataObject::new("VirtualE1000")
                .with("key", Value::Int(4000))
                .into_value(),
        ];
        assign_device_keys(&mut devs);
        let keys: Vec<i64> = devs
            .iter()
            .map(|d| d.field("key").and_then(Value::as_i64).unwrap())
            .collect();
        assert_eq!(keys, [1000, 2000, 2001, 4001, 4000]);
        assert_eq!(
            devs[1].field("controllerKey").and_then(Value::as_i64),
            Some(1000)
        );
        let children: Vec<i64> = devs[0]
            .field("device")
            .unwrap()
            .items()
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        assert_eq!(children, [2000, 2001]);
    }

    /// A client's out-of-range bus number still gives a positive `xsd:int` key.
    #[test]
    fn huge_bus_numbers_keep_keys_positive() {
        let mut devs = vec![
            DataObject::new("VirtualLsiLogicController")
                .with("key", Value::Int(-1))
                .with("busNumber", Value::Int(i32::MAX))
                .into_value(),
        ];
        assign_device_keys(&mut devs);
        let key = devs[0].field("key").and_then(Value::as_i64).unwrap();
        assert!(key > 0, "{key}");
    }
}
