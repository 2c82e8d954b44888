//! OVF descriptors: reading an OVF 1.x envelope ([`Envelope::parse`]) into the facts the
//! OvfManager answers with, building the `VirtualMachineImportSpec` of `CreateImportSpec`
//! ([`import_spec`]); writing the descriptor of an exported VM is [`super::descriptor`]'s.
//!
//! Names are matched by local name (any namespace prefix works, as OVF tools differ on
//! them). What a descriptor asks for that the emulator cannot build becomes an
//! `OvfUnsupportedType` in the result's `error` list, as vCenter reports it; only XML that
//! does not parse, or that is no OVF envelope, is a fault.

use crate::soap::{Element, parse_document};
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Largest OVF descriptor accepted, in bytes: real appliance descriptors are tens of KB.
pub const OVF_DESCRIPTOR_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Most hardware items one virtual system may list (bounds the devices built from them).
pub const OVF_ITEMS_MAX: usize = 256;
/// Most file references, disks or networks one descriptor may list.
pub const OVF_REFS_MAX: usize = 256;

/// A file the package references (`References/File`).
#[derive(Clone, Debug, PartialEq)]
pub struct FileRef {
    pub id: String,
    pub href: String,
    pub size: i64,
}

/// A virtual disk (`DiskSection/Disk`).
#[derive(Clone, Debug, PartialEq)]
pub struct DiskDesc {
    pub disk_id: String,
    pub file_ref: Option<String>,
    pub capacity_bytes: i64,
    pub populated_bytes: Option<i64>,
}

/// One `VirtualHardwareSection/Item` (a CIM resource allocation).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    pub instance_id: String,
    pub element_name: String,
    pub resource_type: i64,
    pub sub_type: Option<String>,
    pub quantity: Option<i64>,
    /// `AllocationUnits` (`byte * 2^20` for memory in MB).
    pub units: Option<String>,
    pub parent: Option<String>,
    pub address_on_parent: Option<i64>,
    pub connection: Option<String>,
    pub host_resource: Option<String>,
    pub configuration: Option<String>,
}

/// A deployment option (`DeploymentOptionSection/Configuration`).
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentOption {
    pub id: String,
    pub label: String,
    pub description: String,
    pub default: bool,
}

/// The facts of a descriptor the emulator uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Envelope {
    pub files: Vec<FileRef>,
    pub disks: Vec<DiskDesc>,
    /// Networks as (name, description).
    pub networks: Vec<(String, String)>,
    /// Whether the content is a `VirtualSystemCollection` (a vApp).
    pub virtual_app: bool,
    /// The content's `id` (the default entity name).
    pub name: String,
    pub annotation: String,
    /// Product name, vendor, version, full version.
    pub product: Option<[String; 4]>,
    pub eulas: Vec<String>,
    pub deployment_options: Vec<DeploymentOption>,
    /// The first virtual system's guest OS (`OperatingSystemSection/@osType`).
    pub os_type: Option<String>,
    /// The first virtual system's `VirtualSystemType` (`vmx-13`).
    pub hw_version: Option<String>,
    pub items: Vec<Item>,
}

/// Why a descriptor was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OvfError {
    #[error("the OVF descriptor is larger than {OVF_DESCRIPTOR_MAX_BYTES} bytes")]
    TooLarge,
    #[error("the OVF descriptor is not well-formed XML: {0}")]
    Xml(String),
    #[error("the OVF descriptor's root element is <{0}>, not <Envelope>")]
    NotEnvelope(String),
    #[error("the OVF descriptor has no VirtualSystem or VirtualSystemCollection")]
    NoContent,
    #[error("the OVF descriptor lists more than {0} {1}")]
    TooMany(usize, &'static str),
}

impl OvfError {
    /// The fault vCenter's OvfManager throws for an unreadable descriptor.
    pub fn fault(&self) -> Fault {
        Fault::new("InvalidArgument", self.to_string())
            .with("invalidProperty", Value::str("ovfDescriptor"))
    }
}

fn text_of(el: &Element, name: &str) -> Option<String> {
    el.child_text(name)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn int_of(el: &Element, name: &str) -> Option<i64> {
    el.child_text(name).and_then(|s| s.parse().ok())
}

/// Multiplies `value` by an OVF allocation unit (`byte`, `byte * 2^20`, `MegaBytes`, …);
/// `None` for a unit it cannot read or a product beyond `i64`.
pub fn apply_units(value: i64, units: Option<&str>) -> Option<i64> {
    let Some(u) = units.map(str::trim).filter(|u| !u.is_empty()) else {
        return Some(value);
    };
    let factor: i64 = match u.to_ascii_lowercase().replace(' ', "").as_str() {
        "byte" | "bytes" => 1,
        "kilobytes" | "kb" => 1 << 10,
        "megabytes" | "mb" => 1 << 20,
        "gigabytes" | "gb" => 1 << 30,
        other => {
            let exp = other.strip_prefix("byte*")?;
            let (base, power) = exp.split_once('^').unwrap_or((exp, "1"));
            let base: i64 = base.parse().ok()?;
            let power: u32 = power.parse().ok()?;
            base.checked_pow(power)?
        }
    };
    value.checked_mul(factor)
}

fn bounded<T>(v: Vec<T>, what: &'static str, max: usize) -> Result<Vec<T>, OvfError> {
    if v.len() > max {
        return Err(OvfError::TooMany(max, what));
    }
    Ok(v)
}

impl Envelope {
    /// Reads a descriptor.
    pub fn parse(text: &str) -> Result<Envelope, OvfError> {
        if text.len() > OVF_DESCRIPTOR_MAX_BYTES {
            return Err(OvfError::TooLarge);
        }
        let root = parse_document(text).map_err(|e| OvfError::Xml(e.to_string()))?;
        if root.name != "Envelope" {
            return Err(OvfError::NotEnvelope(root.name));
        }
        let mut env = Envelope::default();
        if let Some(refs) = root.child("References") {
            let files = refs
                .children_named("File")
                .map(|f| FileRef {
                    id: f.attr("id").unwrap_or("").to_owned(),
                    href: f.attr("href").unwrap_or("").to_owned(),
                    size: f.attr("size").and_then(|s| s.parse().ok()).unwrap_or(0),
                })
                .collect();
            env.files = bounded(files, "files", OVF_REFS_MAX)?;
        }
        if let Some(ds) = root.child("DiskSection") {
            let disks = ds
                .children_named("Disk")
                .map(|d| {
                    let cap: i64 = d.attr("capacity").and_then(|c| c.parse().ok()).unwrap_or(0);
                    DiskDesc {
                        disk_id: d.attr("diskId").unwrap_or("").to_owned(),
                        file_ref: d.attr("fileRef").map(str::to_owned),
                        capacity_bytes: apply_units(cap, d.attr("capacityAllocationUnits"))
                            .unwrap_or(0),
                        populated_bytes: d.attr("populatedSize").and_then(|s| s.parse().ok()),
                    }
                })
                .collect();
            env.disks = bounded(disks, "disks", OVF_REFS_MAX)?;
        }
        if let Some(ns) = root.child("NetworkSection") {
            let nets = ns
                .children_named("Network")
                .map(|n| {
                    (
                        n.attr("name").unwrap_or("").to_owned(),
                        n.child_text("Description").unwrap_or("").to_owned(),
                    )
                })
                .collect();
            env.networks = bounded(nets, "networks", OVF_REFS_MAX)?;
        }
        if let Some(d) = root.child("DeploymentOptionSection") {
            env.deployment_options = d
                .children_named("Configuration")
                .take(OVF_REFS_MAX)
                .map(|c| DeploymentOption {
                    id: c.attr("id").unwrap_or("").to_owned(),
                    label: c.child_text("Label").unwrap_or("").to_owned(),
                    description: c.child_text("Description").unwrap_or("").to_owned(),
                    default: c.attr("default").is_some_and(|v| v == "true" || v == "1"),
                })
                .collect();
        }
        let (content, system) = match (
            root.child("VirtualSystem"),
            root.child("VirtualSystemCollection"),
        ) {
            (Some(vs), _) => (vs, vs),
            (None, Some(c)) => {
                env.virtual_app = true;
                // The collection's first system gives the hardware; nested collections are
                // searched one level down.
                let vs = c
                    .child("VirtualSystem")
                    .or_else(|| {
                        c.child("VirtualSystemCollection")
                            .and_then(|n| n.child("VirtualSystem"))
                    })
                    .ok_or(OvfError::NoContent)?;
                (c, vs)
            }
            (None, None) => return Err(OvfError::NoContent),
        };
        env.name = content
            .attr("id")
            .map(str::to_owned)
            .or_else(|| text_of(content, "Name"))
            .unwrap_or_default();
        env.annotation = content
            .child("AnnotationSection")
            .and_then(|a| text_of(a, "Annotation"))
            .unwrap_or_default();
        if let Some(p) = content
            .child("ProductSection")
            .or_else(|| system.child("ProductSection"))
        {
            env.product = Some([
                text_of(p, "Product").unwrap_or_default(),
                text_of(p, "Vendor").unwrap_or_default(),
                text_of(p, "Version").unwrap_or_default(),
                text_of(p, "FullVersion").unwrap_or_default(),
            ]);
        }
        env.eulas = content
            .children_named("EulaSection")
            .chain(system.children_named("EulaSection"))
            .take(OVF_REFS_MAX)
            .filter_map(|e| text_of(e, "License"))
            .collect();
        env.os_type = system
            .child("OperatingSystemSection")
            .and_then(|o| o.attr("osType"))
            .map(str::to_owned);
        if let Some(hw) = system.child("VirtualHardwareSection") {
            env.hw_version = hw
                .child("System")
                .and_then(|s| text_of(s, "VirtualSystemType"))
                .map(|t| t.split_whitespace().next().unwrap_or("").to_owned());
            let items: Vec<Item> = hw.children_named("Item").map(item_of).collect();
            env.items = bounded(items, "hardware items", OVF_ITEMS_MAX)?;
        }
        Ok(env)
    }

    /// The deployment option used when the client names none: the one marked default,
    /// else the first.
    pub fn default_option(&self) -> String {
        self.deployment_options
            .iter()
            .find(|o| o.default)
            .or_else(|| self.deployment_options.first())
            .map(|o| o.id.clone())
            .unwrap_or_default()
    }

    /// Bytes of all referenced files (the download size).
    pub fn download_bytes(&self) -> i64 {
        self.files
            .iter()
            .map(|f| f.size.max(0))
            .fold(0, i64::saturating_add)
    }

    /// Bytes of all disks at full capacity (the flat deployment size).
    pub fn flat_bytes(&self) -> i64 {
        self.disks
            .iter()
            .map(|d| d.capacity_bytes.max(0))
            .fold(0, i64::saturating_add)
    }

    /// Bytes of all disks as populated (the sparse deployment size).
    pub fn sparse_bytes(&self) -> i64 {
        self.disks
            .iter()
            .map(|d| d.populated_bytes.unwrap_or(d.capacity_bytes).max(0))
            .fold(0, i64::saturating_add)
    }

    /// The disk a `HostResource` (`ovf:/disk/vmdisk1`) names.
    pub fn disk_for(&self, host_resource: &str) -> Option<&DiskDesc> {
        let id = host_resource.rsplit('/').next().unwrap_or(host_resource);
        self.disks.iter().find(|d| d.disk_id == id)
    }

    /// The file a disk's `fileRef` or a `HostResource` (`ovf:/file/file1`) names.
    pub fn file(&self, id: &str) -> Option<&FileRef> {
        let id = id.rsplit('/').next().unwrap_or(id);
        self.files.iter().find(|f| f.id == id)
    }
}

fn item_of(el: &Element) -> Item {
    Item {
        instance_id: text_of(el, "InstanceID").unwrap_or_default(),
        element_name: text_of(el, "ElementName").unwrap_or_default(),
        resource_type: int_of(el, "ResourceType").unwrap_or(0),
        sub_type: text_of(el, "ResourceSubType"),
        quantity: int_of(el, "VirtualQuantity"),
        units: text_of(el, "AllocationUnits"),
        parent: text_of(el, "Parent"),
        address_on_parent: int_of(el, "AddressOnParent"),
        connection: text_of(el, "Connection"),
        host_resource: text_of(el, "HostResource"),
        configuration: el.attr("configuration").map(str::to_owned),
    }
}

/// Memory in MB from a memory item, honouring `AllocationUnits` (`byte * 2^20` is MB;
/// without units the quantity is MB, as vSphere writes it).
fn memory_mb(item: &Item) -> i64 {
    let q = item.quantity.unwrap_or(32);
    match item.units.as_deref() {
        Some(u) => apply_units(q, Some(u)).map_or(q, |bytes| bytes >> 20),
        None => q,
    }
}

/// An `OvfUnsupportedType` entry for `item`, with vCenter's message.
fn unsupported(item: &Item, what: &str) -> Value {
    Fault::new(
        "OvfUnsupportedType",
        format!(
            "Unsupported hardware family or device type '{what}' for element '{}' (instance {}).",
            item.element_name, item.instance_id
        ),
    )
    .with("name", Value::str(item.element_name.clone()))
    .with("instanceId", Value::str(item.instance_id.clone()))
    .with(
        "deviceType",
        Value::Int(item.resource_type.clamp(0, i64::from(i32::MAX)) as i32),
    )
    .to_data()
    .into_value()
}

/// A network an OVF network maps to: its reference, its name, and the switch's uuid when it
/// is a distributed port group.
pub type MappedNetwork = (MoRef, String, Option<String>);

/// What `CreateImportSpec` is asked: the target datastore's name and reference, the entity
/// name, the network mapping (OVF name → network) and the default network.
pub struct ImportTarget<'a> {
    pub entity_name: &'a str,
    pub ds_name: &'a str,
    pub datastore: &'a MoRef,
    pub pool: &'a MoRef,
    pub deployment_option: &'a str,
    /// OVF network name → (network, its name, DVS uuid when a distributed port group).
    pub network_for: &'a dyn Fn(&str) -> Option<MappedNetwork>,
    pub thin: bool,
    pub property_mapping: &'a [(String, String)],
}

/// The import spec's parts: the spec, its file items, and errors/warnings (`MethodFault`s).
pub struct ImportResult {
    pub spec: Value,
    pub file_items: Vec<Value>,
    pub errors: Vec<Value>,
    pub warnings: Vec<Value>,
}

/// The vim25 controller type for a SCSI `ResourceSubType`.
fn scsi_type(sub: &str) -> Option<&'static str> {
    Some(match sub.to_ascii_lowercase().as_str() {
        "lsilogic" | "" => "VirtualLsiLogicController",
        "lsilogicsas" => "VirtualLsiLogicSASController",
        "buslogic" => "VirtualBusLogicController",
        "virtualscsi" | "pvscsi" | "paravirtual" => "ParaVirtualSCSIController",
        _ => return None,
    })
}

/// The vim25 NIC type for an ethernet `ResourceSubType`.
fn nic_type(sub: &str) -> Option<&'static str> {
    Some(match sub.to_ascii_lowercase().as_str() {
        "e1000" | "" => "VirtualE1000",
        "e1000e" => "VirtualE1000e",
        "vmxnet3" => "VirtualVmxnet3",
        "vmxnet2" => "VirtualVmxnet2",
        "pcnet32" => "VirtualPCNet32",
        _ => return None,
    })
}

/// The `/<entity>/<kind>:<n>` device id vCenter gives file items and lease URLs.
pub fn device_id(entity: &str, kind: &str, n: usize) -> String {
    format!("/{entity}/{kind}:{n}")
}

/// Builds `CreateImportSpec`'s result for `env`.
pub fn import_spec(env: &Envelope, t: &ImportTarget<'_>) -> ImportResult {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut file_items = Vec::new();
    let mut devices: Vec<Value> = Vec::new();
    // Controller keys by OVF instance id, with the units already used on them.
    let mut controllers: std::collections::BTreeMap<String, (i32, Vec<i64>, bool)> =
        Default::default();
    let (mut cpus, mut mem) = (1i64, 32i64);
    let (mut scsi_bus, mut ide_bus, mut ndisk, mut nnic, mut ncd) = (0, 0, 0usize, 0usize, 0usize);
    let option = if t.deployment_option.is_empty() {
        env.default_option()
    } else {
        t.deployment_option.to_owned()
    };
    let ds_root = format!("[{}]", t.ds_name);
    for item in &env.items {
        if let Some(c) = &item.configuration
            && !option.is_empty()
            && !c.split_whitespace().any(|x| x == option)
        {
            continue;
        }
        let sub = item.sub_type.as_deref().unwrap_or("");
        let mut unit_on = |parent: &Option<String>, want: Option<i64>| {
            let (key, used, scsi) = controllers.get_mut(parent.as_deref().unwrap_or(""))?;
            let mut u = want.unwrap_or(0);
            while used.contains(&u) || (*scsi && u == 7) {
                u += 1;
            }
            used.push(u);
            Some((*key, u))
        };
        match item.resource_type {
            3 => cpus = item.quantity.unwrap_or(1),
            4 => mem = memory_mb(item),
            5 | 6 => {
                let (ty, key, bus) = if item.resource_type == 5 {
                    let k = 200 + ide_bus;
                    ide_bus += 1;
                    ("VirtualIDEController", k, k - 200)
                } else {
                    let Some(ty) = scsi_type(sub) else {
                        errors.push(unsupported(item, sub));
                        continue;
                    };
                    let k = 1000 + scsi_bus;
                    scsi_bus += 1;
                    (ty, k, k - 1000)
                };
                let mut d = DataObject::new(ty)
                    .with("key", Value::Int(key))
                    .with("busNumber", Value::Int(bus));
                if item.resource_type == 6 {
                    d = d.with("sharedBus", Value::enumv("VirtualSCSISharing", "noSharing"));
                }
                controllers.insert(
                    item.instance_id.clone(),
                    (key, Vec::new(), item.resource_type == 6),
                );
                devices.push(d.into_value());
            }
            10 => {
                let ovf_net = item.connection.clone().unwrap_or_default();
                let Some(ty) = nic_type(sub) else {
                    errors.push(unsupported(item, sub));
                    continue;
                };
                let Some((net, net_name, dvs)) = (t.network_for)(&ovf_net) else {
                    warnings.push(
                        Fault::new(
                            "OvfNetworkMappingNotSupported",
                            format!("No network is mapped to the OVF network '{ovf_net}'."),
                        )
                        .to_data()
                        .into_value(),
                    );
                    continue;
                };
                let backing = match dvs {
                    Some(uuid) => {
                        DataObject::new("VirtualEthernetCardDistributedVirtualPortBackingInfo")
                            .with(
                                "port",
                                DataObject::new("DistributedVirtualSwitchPortConnection")
                                    .with("switchUuid", Value::str(uuid))
                                    .with("portgroupKey", Value::str(net.value.clone()))
                                    .into_value(),
                            )
                    }
                    None => DataObject::new("VirtualEthernetCardNetworkBackingInfo")
                        .with("deviceName", Value::str(net_name))
                        .with("network", Value::moref(&net)),
                };
                devices.push(
                    DataObject::new(ty)
                        .with("key", Value::Int(4000 + nnic as i32))
                        .with("backing", backing.into_value())
                        .with(
                            "connectable",
                            DataObject::new("VirtualDeviceConnectInfo")
                                .with("startConnected", Value::Bool(true))
                                .with("allowGuestControl", Value::Bool(true))
                                .with("connected", Value::Bool(false))
                                .into_value(),
                        )
                        .with("addressType", Value::str("generated"))
                        .into_value(),
                );
                nnic += 1;
            }
            15 | 16 => {
                let Some((ckey, unit)) = unit_on(&item.parent, item.address_on_parent) else {
                    errors.push(unsupported(item, "cdrom without a controller"));
                    continue;
                };
                let mut backing = DataObject::new("VirtualCdromRemotePassthroughBackingInfo")
                    .with("deviceName", Value::str(""))
                    .with("exclusive", Value::Bool(false));
                if let Some(f) = item.host_resource.as_deref().and_then(|h| env.file(h)) {
                    let path = format!("{ds_root} {}/_deviceImage{ncd}.iso", t.entity_name);
                    backing = DataObject::new("VirtualCdromIsoBackingInfo")
                        .with("fileName", Value::str(path))
                        .with("datastore", Value::moref(t.datastore));
                    file_items.push(file_item(
                        &device_id(t.entity_name, "cdrom", ncd),
                        &f.href,
                        f.size,
                        item.resource_type,
                        true,
                    ));
                }
                devices.push(
                    DataObject::new("VirtualCdrom")
                        .with("key", Value::Int(3000 + ncd as i32))
                        .with("backing", backing.into_value())
                        .with("controllerKey", Value::Int(ckey))
                        .with("unitNumber", Value::Int(unit as i32))
                        .into_value(),
                );
                ncd += 1;
            }
            17 => {
                let Some((ckey, unit)) = unit_on(&item.parent, item.address_on_parent) else {
                    errors.push(unsupported(item, "disk without a controller"));
                    continue;
                };
                let disk = item.host_resource.as_deref().and_then(|h| env.disk_for(h));
                let capacity = disk.map(|d| d.capacity_bytes).unwrap_or(0).max(0);
                if let Some(f) = disk
                    .and_then(|d| d.file_ref.as_deref())
                    .and_then(|r| env.file(r))
                {
                    file_items.push(file_item(
                        &device_id(t.entity_name, "disk", ndisk),
                        &f.href,
                        f.size,
                        17,
                        false,
                    ));
                }
                devices.push(
                    DataObject::new("VirtualDisk")
                        .with("key", Value::Int(2000 + ndisk as i32))
                        .with(
                            "deviceInfo",
                            DataObject::new("Description")
                                .with("label", Value::str(item.element_name.clone()))
                                .with("summary", Value::str(format!("{} KB", capacity / 1024)))
                                .into_value(),
                        )
                        .with(
                            "backing",
                            DataObject::new("VirtualDiskFlatVer2BackingInfo")
                                .with("fileName", Value::str(ds_root.clone()))
                                .with("datastore", Value::moref(t.datastore))
                                .with("diskMode", Value::str("persistent"))
                                .with("thinProvisioned", Value::Bool(t.thin))
                                .into_value(),
                        )
                        .with("controllerKey", Value::Int(ckey))
                        .with("unitNumber", Value::Int(unit as i32))
                        .with("capacityInKB", Value::Long(capacity / 1024))
                        .with("capacityInBytes", Value::Long(capacity))
                        .into_value(),
                );
                ndisk += 1;
            }
            // VMCI, floppy, parallel/serial, USB, sound and video: vCenter adds its own or
            // leaves them out; nothing to build.
            1 | 14 | 20 | 21 | 23 | 24 | 35 => {}
            _ => errors.push(unsupported(
                item,
                &format!("resource type {}", item.resource_type),
            )),
        }
    }
    let version = env
        .hw_version
        .clone()
        .filter(|v| v.starts_with("vmx-"))
        .unwrap_or_else(|| "vmx-13".into());
    let mut config = DataObject::new("VirtualMachineConfigSpec")
        .with("name", Value::str(t.entity_name))
        .with("version", Value::str(version))
        .with(
            "guestId",
            Value::str(guest_id(env.os_type.as_deref()).to_owned()),
        );
    if !env.annotation.is_empty() {
        config = config.with("annotation", Value::str(env.annotation.clone()));
    }
    config = config
        .with(
            "files",
            DataObject::new("VirtualMachineFileInfo")
                .with("vmPathName", Value::str(ds_root.clone()))
                .into_value(),
        )
        .with("numCPUs", Value::Int(cpus.clamp(1, 768) as i32))
        .with("numCoresPerSocket", Value::Int(1))
        .with("memoryMB", Value::Long(mem.max(4)));
    let changes: Vec<Value> = devices
        .into_iter()
        .map(|d| {
            let is_disk = d.xsi_type() == "VirtualDisk";
            let mut c = DataObject::new("VirtualDeviceConfigSpec").with(
                "operation",
                Value::enumv("VirtualDeviceConfigSpecOperation", "add"),
            );
            if is_disk {
                c = c.with(
                    "fileOperation",
                    Value::enumv("VirtualDeviceConfigSpecFileOperation", "create"),
                );
            }
            c.with("device", d).into_value()
        })
        .collect();
    if !changes.is_empty() {
        config = config.with(
            "deviceChange",
            Value::array("VirtualDeviceConfigSpec", changes),
        );
    }
    if !t.property_mapping.is_empty() {
        let opts = t
            .property_mapping
            .iter()
            .map(|(k, v)| {
                DataObject::new("OptionValue")
                    .with("key", Value::str(k.clone()))
                    .with("value", Value::any(Value::str(v.clone())))
                    .into_value()
            })
            .collect();
        config = config.with("extraConfig", Value::array("OptionValue", opts));
    }
    let spec = DataObject::new("VirtualMachineImportSpec")
        .with("configSpec", config.into_value())
        .with("resPoolEntity", Value::moref(t.pool))
        .into_value();
    ImportResult {
        spec,
        file_items,
        errors,
        warnings,
    }
}

/// An `OvfFileItem`.
fn file_item(device: &str, path: &str, size: i64, cim: i64, create: bool) -> Value {
    let mut d = DataObject::new("OvfFileItem")
        .with("deviceId", Value::str(device))
        .with("path", Value::str(path));
    if size > 0 {
        d = d.with("size", Value::Long(size));
    }
    d.with("cimType", Value::Int(cim as i32))
        .with("create", Value::Bool(create))
        .into_value()
}

/// The vim25 guest id for an OVF `osType` (vSphere writes its own ids there, which pass
/// through; CIM's numeric ids are not).
fn guest_id(os_type: Option<&str>) -> &str {
    match os_type {
        Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => t,
        _ => "otherGuest",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SMALL: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="tiny-disk1.vmdk" ovf:id="file1" ovf:size="1024"/></References>
  <DiskSection><Info>d</Info>
    <Disk ovf:capacity="16" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"/>
  </DiskSection>
  <NetworkSection><Info>n</Info><Network ovf:name="VM Network"><Description>x</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="tiny">
    <Info>vm</Info>
    <OperatingSystemSection ovf:id="101"><Info>os</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>hw</Info>
      <System><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-10</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>2 CPUs</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>64</rasd:VirtualQuantity></Item>
      <Item><rasd:ElementName>SCSI</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>eth0</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
      <Item><rasd:ElementName>weird</rasd:ElementName><rasd:InstanceID>6</rasd:InstanceID><rasd:ResourceType>99</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>"#;

    #[test]
    fn parses_a_small_descriptor() {
        let env = Envelope::parse(SMALL).unwrap();
        assert_eq!(env.name, "tiny");
        assert_eq!(env.files[0].href, "tiny-disk1.vmdk");
        assert_eq!(env.disks[0].capacity_bytes, 16 << 20);
        assert_eq!(env.networks[0].0, "VM Network");
        assert_eq!(env.hw_version.as_deref(), Some("vmx-10"));
        assert_eq!(env.items.len(), 6);
        assert!(!env.virtual_app);
    }

    #[test]
    fn builds_an_import_spec_with_one_disk_and_an_error() {
        let env = Envelope::parse(SMALL).unwrap();
        let ds = MoRef::new("Datastore", "datastore-1");
        let pool = MoRef::new("ResourcePool", "resgroup-1");
        let net = |n: &str| {
            (n == "VM Network").then(|| (MoRef::new("Network", "network-1"), n.to_owned(), None))
        };
        let r = import_spec(
            &env,
            &ImportTarget {
                entity_name: "imported",
                ds_name: "LocalDS_0",
                datastore: &ds,
                pool: &pool,
                deployment_option: "",
                network_for: &net,
                thin: true,
                property_mapping: &[],
            },
        );
        assert_eq!(r.file_items.len(), 1);
        let fi = &r.file_items[0];
        assert_eq!(
            fi.field("deviceId").and_then(Value::as_str),
            Some("/imported/disk:0")
        );
        assert_eq!(r.errors.len(), 1, "resource type 99 is unsupported");
        let cfg = r.spec.field("configSpec").unwrap();
        assert_eq!(cfg.field("numCPUs").and_then(Value::as_i64), Some(2));
        assert_eq!(cfg.field("memoryMB").and_then(Value::as_i64), Some(64));
        let n = cfg.field("deviceChange").map(|d| d.items().len());
        assert_eq!(n, Some(3));
    }

    #[test]
    fn refuses_what_is_no_ovf() {
        assert!(matches!(
            Envelope::parse("<Envelope"),
            Err(OvfError::Xml(_))
        ));
        assert!(matches!(
            Envelope::parse("<a/>"),
            Err(OvfError::NotEnvelope(_))
        ));
        assert_eq!(Envelope::parse("<Envelope/>"), Err(OvfError::NoContent));
        assert_eq!(apply_units(2, Some("byte * 2^10")), Some(2048));
        assert_eq!(apply_units(2, Some("furlongs")), None);
    }
}
