//! Guest customization: the CustomizationSpecManager's stored specs
//! (`CreateCustomizationSpec`, `DoesCustomizationSpecExist`, `GetCustomizationSpec`,
//! `OverwriteCustomizationSpec`, `DeleteCustomizationSpec`, `DuplicateCustomizationSpec`,
//! `RenameCustomizationSpec`, the `info` property) and `VirtualMachine.CustomizeVM_Task`.
//!
//! Specs are kept in [`CustomizationState`] (`Emulator::customization`) in creation order;
//! the manager's `info` property lists their `CustomizationSpecInfo`s. The server assigns
//! `changeVersion` (a counter) and `lastUpdateTime` on every write, and
//! `OverwriteCustomizationSpec` with a stale `changeVersion` is `ConcurrentAccess`, as the
//! API reference describes.
//!
//! Customizing a VM is emulated: vCenter copies a package into the guest, which applies it on
//! the next power-on. Here `CustomizeVM_Task` checks what vCenter checks (the VM is powered
//! off, no customization is pending, one NIC setting per NIC of the VM) and records the spec
//! (`config.tools.pendingCustomization` names it); when the VM is next seen powered on,
//! [`apply_at_power_on`] writes the spec's identity into the guest as vcsim does: the host name
//! into `guest.hostName`, fixed addresses into `guest.ipAddress` and `guest.net`, and posts
//! `CustomizationStartedEvent` and `CustomizationSucceeded`.

use super::conform::{all, checked, text, type_of};
use super::{Args, CallContext, run_task};
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeMap;

/// Most specs the manager holds (vCenter keeps them in its database; a bound keeps a
/// misbehaving client from growing the emulator without limit).
pub const SPECS_MAX: usize = 1024;
/// Longest spec name accepted, in characters.
pub const SPEC_NAME_MAX_CHARS: usize = 255;
/// Longest spec description accepted, in characters.
const DESCRIPTION_MAX_CHARS: usize = 4096;

/// One stored spec.
#[derive(Clone, Debug)]
struct Stored {
    name: String,
    description: String,
    ty: String,
    change_version: u64,
    updated_ms: i64,
    spec: Value,
}

/// The specs and the customizations waiting for their VM's next power-on.
#[derive(Debug, Default)]
pub struct CustomizationState {
    specs: Vec<Stored>,
    /// Last `changeVersion` handed out.
    changes: u64,
    /// Pending customizations by VM reference value (at most one per VM): the VM and the
    /// spec.
    pending: BTreeMap<String, (MoRef, Value)>,
    /// Counter for generated host names (`CustomizationPrefixName`).
    names: u64,
}

impl CustomizationState {
    fn find(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// The index of the spec named `name`; `NotFound` when there is none.
    fn index(&self, name: &str) -> Result<usize, Fault> {
        self.find(name).ok_or_else(|| not_found(name))
    }

    fn next_change(&mut self) -> u64 {
        self.changes += 1;
        self.changes
    }
}

fn info(s: &Stored) -> Value {
    DataObject::new("CustomizationSpecInfo")
        .with("name", Value::str(s.name.clone()))
        .with("description", Value::str(s.description.clone()))
        .with("type", Value::str(s.ty.clone()))
        .with("changeVersion", Value::str(s.change_version.to_string()))
        .with("lastUpdateTime", Value::DateTime(s.updated_ms))
        .into_value()
}

fn item(s: &Stored) -> Value {
    DataObject::new("CustomizationSpecItem")
        .with("info", info(s))
        .with("spec", s.spec.clone())
        .into_value()
}

/// Rewrites the manager's `info` property from the store.
fn publish(emu: &mut Emulator, manager: &MoRef) -> Result<(), Fault> {
    let infos = emu.customization.specs.iter().map(info).collect();
    emu.inv.set(
        manager,
        "info",
        Value::array("CustomizationSpecInfo", infos),
    )
}

fn not_found(name: &str) -> Fault {
    Fault::not_found_plain(format!(
        "The object or item referred to could not be found: customization specification '{name}'"
    ))
}

fn already_exists(name: &str) -> Fault {
    Fault::new(
        "AlreadyExists",
        format!("The specified key, name, or identifier '{name}' already exists."),
    )
    .with("name", Value::str(name))
}

fn customization_fault(msg: impl Into<String>) -> Fault {
    Fault::new("CustomizationFault", msg)
}

fn check_name(name: &str, field: &str) -> Result<(), Fault> {
    let n = name.chars().count();
    if n == 0 || n > SPEC_NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(Fault::invalid_argument(field));
    }
    Ok(())
}

fn room(emu: &Emulator) -> Result<(), Fault> {
    if emu.customization.specs.len() >= SPECS_MAX {
        return Err(customization_fault(format!(
            "The customization specification store is full ({SPECS_MAX} specifications)"
        )));
    }
    Ok(())
}

/// The spec type implied by the identity (`Linux` or `Windows`), as vCenter's client writes
/// `CustomizationSpecInfo.type`.
fn implied_type(spec: &Value) -> &'static str {
    match spec.field("identity").and_then(type_of) {
        Some("CustomizationSysprep" | "CustomizationSysprepText") => "Windows",
        _ => "Linux",
    }
}

/// A checked `CustomizationSpec` (its identity one of the known kinds).
fn check_spec(spec: Value) -> Result<Value, Fault> {
    match spec.field("identity").and_then(type_of) {
        Some(
            "CustomizationLinuxPrep"
            | "CustomizationSysprep"
            | "CustomizationSysprepText"
            | "CustomizationCloudinitPrep",
        ) => Ok(spec),
        Some(other) => Err(customization_fault(format!(
            "Unsupported customization identity {other}"
        ))),
        None => Err(Fault::invalid_argument("spec.identity")),
    }
}

/// The `item` argument as (name, description, type, client's changeVersion, spec).
fn parse_item(args: &Args<'_>) -> Result<(String, String, String, Option<String>, Value), Fault> {
    let el = args
        .element("item")
        .ok_or_else(|| Fault::invalid_argument("item"))?;
    let item = checked(el, "CustomizationSpecItem", |p| {
        customization_fault(format!("Invalid customization specification: {p}"))
    })?;
    let info = item
        .field("info")
        .ok_or_else(|| Fault::invalid_argument("item.info"))?;
    let name = text(info, "name").unwrap_or_default().to_owned();
    check_name(&name, "item.info.name")?;
    let description = text(info, "description").unwrap_or_default().to_owned();
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(Fault::invalid_argument("item.info.description"));
    }
    let version = text(info, "changeVersion")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let spec = item
        .field("spec")
        .cloned()
        .ok_or_else(|| Fault::invalid_argument("item.spec"))?;
    let spec = check_spec(spec)?;
    let ty = match text(info, "type").map(str::trim) {
        Some(t) if !t.is_empty() && t.len() <= 64 => t.to_owned(),
        _ => implied_type(&spec).to_owned(),
    };
    Ok((name, description, ty, version, spec))
}

/// `CreateCustomizationSpec(item)`: `AlreadyExists` for a taken name.
pub fn create(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let (name, description, ty, _, spec) = parse_item(args)?;
    if emu.customization.find(&name).is_some() {
        return Err(already_exists(&name));
    }
    room(emu)?;
    let change_version = emu.customization.next_change();
    let updated_ms = emu.clock.now_ms();
    emu.customization.specs.push(Stored {
        name,
        description,
        ty,
        change_version,
        updated_ms,
        spec,
    });
    publish(emu, &call.this)?;
    Ok(None)
}

/// `OverwriteCustomizationSpec(item)`: `NotFound` for an unknown name, `ConcurrentAccess`
/// when the item's `changeVersion` is not the stored one (the spec changed since the client
/// read it).
pub fn overwrite(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let (name, description, ty, version, spec) = parse_item(args)?;
    let i = emu.customization.index(&name)?;
    let stored = emu.customization.specs[i].change_version.to_string();
    if version.is_some_and(|v| v != stored) {
        return Err(Fault::new(
            "ConcurrentAccess",
            format!("The customization specification '{name}' was changed by another client"),
        ));
    }
    let change_version = emu.customization.next_change();
    let updated_ms = emu.clock.now_ms();
    emu.customization.specs[i] = Stored {
        name,
        description,
        ty,
        change_version,
        updated_ms,
        spec,
    };
    publish(emu, &call.this)?;
    Ok(None)
}

/// `DoesCustomizationSpecExist(name)`.
pub fn exists(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    Ok(Some(Value::Bool(emu.customization.find(name).is_some())))
}

/// `GetCustomizationSpec(name)`: the item; `NotFound` for an unknown name.
pub fn get(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let i = emu.customization.index(name)?;
    Ok(Some(item(&emu.customization.specs[i])))
}

/// `DeleteCustomizationSpec(name)`: `NotFound` for an unknown name.
pub fn delete(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let i = emu.customization.index(name)?;
    emu.customization.specs.remove(i);
    publish(emu, &call.this)?;
    Ok(None)
}

/// `DuplicateCustomizationSpec(name, newName)`: a copy under a new name; `NotFound` for an
/// unknown source, `AlreadyExists` for a taken new name.
pub fn duplicate(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let new_name = args.text("newName")?;
    let i = emu.customization.index(name)?;
    check_name(new_name, "newName")?;
    if emu.customization.find(new_name).is_some() {
        return Err(already_exists(new_name));
    }
    room(emu)?;
    let mut copy = emu.customization.specs[i].clone();
    copy.name = new_name.to_owned();
    copy.change_version = emu.customization.next_change();
    copy.updated_ms = emu.clock.now_ms();
    emu.customization.specs.push(copy);
    publish(emu, &call.this)?;
    Ok(None)
}

/// `RenameCustomizationSpec(name, newName)`: `NotFound` for an unknown name,
/// `AlreadyExists` for a taken new name.
pub fn rename(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let new_name = args.text("newName")?;
    let i = emu.customization.index(name)?;
    check_name(new_name, "newName")?;
    if name == new_name {
        return Ok(None);
    }
    if emu.customization.find(new_name).is_some() {
        return Err(already_exists(new_name));
    }
    let change_version = emu.customization.next_change();
    let updated_ms = emu.clock.now_ms();
    let s = &mut emu.customization.specs[i];
    s.name = new_name.to_owned();
    s.change_version = change_version;
    s.updated_ms = updated_ms;
    publish(emu, &call.this)?;
    Ok(None)
}

/// vcsim's default Linux spec (`vcsim-linux`: DHCP, the VM's name as host name, or
/// `vcsim-linux-static`: a `vcsim-N` host name, the address left to the guest).
fn vcsim_spec(static_ip: bool) -> Value {
    let host_name = if static_ip {
        DataObject::new("CustomizationPrefixName").with("base", Value::str("vcsim"))
    } else {
        DataObject::new("CustomizationVirtualMachineName")
    };
    let ip = if static_ip {
        "CustomizationUnknownIpGenerator"
    } else {
        "CustomizationDhcpIpGenerator"
    };
    let mut adapter =
        DataObject::new("CustomizationIPSettings").with("ip", DataObject::new(ip).into_value());
    if static_ip {
        adapter = adapter
            .with("subnetMask", Value::str("255.255.255.0"))
            .with("gateway", Value::strings(["10.0.0.1"]));
    }
    DataObject::new("CustomizationSpec")
        .with(
            "options",
            DataObject::new("CustomizationLinuxOptions").into_value(),
        )
        .with(
            "identity",
            DataObject::new("CustomizationLinuxPrep")
                .with("hostName", host_name.into_value())
                .with("domain", Value::str("eng.vmware.com"))
                .with(
                    "timeZone",
                    Value::str(if static_ip {
                        "Africa/Cairo"
                    } else {
                        "Pacific/Apia"
                    }),
                )
                .with("hwClockUTC", Value::Bool(true))
                .into_value(),
        )
        .with(
            "globalIPSettings",
            DataObject::new("CustomizationGlobalIPSettings")
                .with("dnsServerList", Value::strings(["127.0.1.1"]))
                .into_value(),
        )
        .with(
            "nicSettingMap",
            Value::array(
                "CustomizationAdapterMapping",
                vec![
                    DataObject::new("CustomizationAdapterMapping")
                        .with("adapter", adapter.into_value())
                        .into_value(),
                ],
            ),
        )
        .into_value()
}

/// Under vcsim's model (`vicbed vcsim`), the specs vcsim starts with (its Linux ones), so
/// scripts written against vcsim find them; vCenter itself starts with none. Runs once.
pub fn seed_vcsim_defaults(emu: &mut Emulator) {
    let Some(manager) = emu.refs.customization_spec_manager.clone() else {
        return;
    };
    if emu.config.vcsim_model.is_none() {
        return;
    }
    let now = emu.clock.now_ms();
    for (name, static_ip) in [("vcsim-linux", false), ("vcsim-linux-static", true)] {
        let change_version = emu.customization.next_change();
        emu.customization.specs.push(Stored {
            name: name.to_owned(),
            description: String::new(),
            ty: "Linux".to_owned(),
            change_version,
            updated_ms: now,
            spec: vcsim_spec(static_ip),
        });
    }
    let _ = publish(emu, &manager);
}

/// The VM's network adapters (devices with a MAC address), in device order.
fn nics(emu: &Emulator, vm: &MoRef) -> Vec<Value> {
    emu.inv
        .prop(vm, "config")
        .and_then(|c| c.field("hardware"))
        .and_then(|h| h.field("device"))
        .map(|d| {
            d.items()
                .iter()
                .filter(|x| x.field("macAddress").is_some())
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Sets (or, with `None`, clears) `config.tools.pendingCustomization`.
fn set_pending_marker(emu: &mut Emulator, vm: &MoRef, marker: Option<String>) -> Result<(), Fault> {
    emu.inv.update(vm, |o| {
        let Some(config) = o.props.get_mut("config").and_then(Value::as_data_mut) else {
            return;
        };
        if config.get("tools").is_none() {
            if marker.is_none() {
                return;
            }
            config.set("tools", DataObject::new("ToolsConfigInfo").into_value());
        }
        if let Some(tools) = config.get_mut("tools").and_then(Value::as_data_mut) {
            match marker {
                Some(m) => tools.set("pendingCustomization", Value::str(m)),
                None => {
                    tools.remove("pendingCustomization");
                }
            }
        }
    })
}

/// `CustomizeVM_Task(spec)`: records the spec for the VM's next power-on. The task fails
/// with `InvalidPowerState` unless the VM is powered off (as vCenter), with
/// `CustomizationPending` while an earlier customization waits, and with
/// `NicSettingMismatch` unless the spec has one NIC setting per network adapter.
pub fn customize_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    // Guest customization is a vCenter service: a host agent does not offer it.
    if emu.flavor == crate::config::Flavor::HostAgent {
        return Err(Fault::not_supported(
            "Guest customization requires vCenter Server",
        ));
    }
    let el = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let spec = checked(el, "CustomizationSpec", |p| {
        customization_fault(format!("Invalid customization specification: {p}"))
    })
    .and_then(check_spec);
    let vm = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        let spec = spec?;
        let state = emu.power_state(&vm)?;
        if state != "poweredOff" {
            return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
        }
        if emu.is_template(&vm) {
            return Err(Fault::not_supported(
                "The operation is not supported on a template",
            ));
        }
        if emu.customization.pending.contains_key(&vm.value) {
            return Err(Fault::new(
                "CustomizationPending",
                "Customization of the guest operating system is already pending",
            ));
        }
        let in_spec = all(&spec, "nicSettingMap").len();
        let in_vm = nics(emu, &vm).len();
        if in_spec != in_vm {
            return Err(Fault::new(
                "NicSettingMismatch",
                format!(
                    "The number of network adapter settings in the customization specification ({in_spec}) does not match the number of network adapters present in the virtual machine ({in_vm})"
                ),
            )
            .with("numberOfNicsInSpec", Value::Int(in_spec as i32))
            .with("numberOfNicsInVM", Value::Int(in_vm as i32)));
        }
        let marker = format!("imcf-{}", emu.idgen.uuid());
        set_pending_marker(emu, &vm, Some(marker))?;
        // Customizations of VMs destroyed before they powered on are dropped here, so the
        // map holds at most one entry per existing VM.
        let Emulator {
            customization, inv, ..
        } = emu;
        customization.pending.retain(|_, (v, _)| inv.contains(v));
        customization
            .pending
            .insert(vm.value.clone(), (vm.clone(), spec));
        Ok(None)
    })
}

/// The host name a `CustomizationName` yields (`None` for `CustomizationUnknownName`, which
/// leaves the choice to the guest). `CustomizationCustomName` asks a vCenter extension for
/// the name; here its argument is the name.
fn host_name(state: &mut CustomizationState, vm_name: &str, name: &Value) -> Option<String> {
    match type_of(name)? {
        "CustomizationFixedName" => text(name, "name").map(str::to_owned),
        "CustomizationPrefixName" => {
            state.names += 1;
            Some(format!("{}-{}", text(name, "base")?, state.names))
        }
        "CustomizationVirtualMachineName" => Some(vm_name.to_owned()),
        "CustomizationCustomName" => text(name, "argument").map(str::to_owned),
        _ => None,
    }
    .filter(|h| !h.is_empty())
}

/// A dotted netmask's prefix length (`255.255.255.0` → 24); 0 when it is not one.
fn prefix_length(mask: &str) -> i32 {
    mask.parse::<std::net::Ipv4Addr>()
        .map(|m| u32::from(m).count_ones() as i32)
        .unwrap_or(0)
}

/// The guest's view of one adapter after customization.
fn nic_info(
    device: &Value,
    mapping: &Value,
    spec: &Value,
    hostname: Option<&str>,
    domain: &str,
) -> (Value, Option<String>) {
    let adapter = mapping
        .field("adapter")
        .cloned()
        .unwrap_or(Value::Bool(false));
    let ip = adapter.field("ip");
    let fixed = ip
        .filter(|ip| type_of(ip) == Some("CustomizationFixedIp"))
        .and_then(|ip| text(ip, "ipAddress"))
        .map(str::to_owned);
    let prefix = text(&adapter, "subnetMask").map(prefix_length).unwrap_or(0);
    let mut addresses: Vec<(String, i32)> = fixed.iter().map(|a| (a.clone(), prefix)).collect();
    if let Some(v6) = adapter.field("ipV6Spec") {
        for g in all(v6, "ip") {
            if type_of(g) == Some("CustomizationFixedIpV6")
                && let Some(a) = text(g, "ipAddress")
            {
                // An IPv6 prefix length is 0..=128; anything else reads as the default.
                let len = g
                    .field("subnetMask")
                    .and_then(Value::as_i64)
                    .and_then(|n| i32::try_from(n).ok())
                    .filter(|n| (0..=128).contains(n))
                    .unwrap_or(64);
                addresses.push((a.to_owned(), len));
            }
        }
    }
    let dhcp = fixed.is_none();
    let mac = text(mapping, "macAddress")
        .filter(|m| !m.is_empty())
        .or_else(|| text(device, "macAddress"))
        .unwrap_or_default();
    let network = device
        .field("deviceInfo")
        .and_then(|d| text(d, "summary"))
        .or_else(|| device.field("backing").and_then(|b| text(b, "deviceName")))
        .unwrap_or_default();
    let dns_servers: Vec<String> = all(&adapter, "dnsServerList")
        .into_iter()
        .chain(
            spec.field("globalIPSettings")
                .map(|g| all(g, "dnsServerList"))
                .unwrap_or_default(),
        )
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let search: Vec<String> = spec
        .field("globalIPSettings")
        .map(|g| all(g, "dnsSuffixList"))
        .unwrap_or_default()
        .into_iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let domain = text(&adapter, "dnsDomain")
        .filter(|d| !d.is_empty())
        .unwrap_or(domain);
    let ip_config = addresses
        .iter()
        .map(|(a, len)| {
            DataObject::new("NetIpConfigInfoIpAddress")
                .with("ipAddress", Value::str(a.clone()))
                .with("prefixLength", Value::Int(*len))
                .with("state", Value::str("preferred"))
                .into_value()
        })
        .collect();
    let nic = DataObject::new("GuestNicInfo")
        .with("network", Value::str(network))
        .with(
            "ipAddress",
            Value::strings(addresses.iter().map(|(a, _)| a.clone())),
        )
        .with("macAddress", Value::str(mac))
        .with("connected", Value::Bool(true))
        .with(
            "deviceConfigId",
            Value::Int(device.field("key").and_then(Value::as_i64).unwrap_or(0) as i32),
        )
        .with(
            "dnsConfig",
            DataObject::new("NetDnsConfigInfo")
                .with("dhcp", Value::Bool(dhcp))
                .with("hostName", Value::str(hostname.unwrap_or_default()))
                .with("domainName", Value::str(domain))
                .with("ipAddress", Value::strings(dns_servers))
                .with("searchDomain", Value::strings(search))
                .into_value(),
        )
        .with(
            "ipConfig",
            DataObject::new("NetIpConfigInfo")
                .with(
                    "ipAddress",
                    Value::array("NetIpConfigInfoIpAddress", ip_config),
                )
                .into_value(),
        )
        .into_value();
    (nic, fixed)
}

/// Applies the customization pending on `vm`, if any, as it powers on (whatever powered it
/// on: a call, a vApp, HA). Called by `Emulator::power_on_vm`.
pub fn apply_at_power_on(emu: &mut Emulator, vm: &MoRef) {
    let Some((_, spec)) = emu.customization.pending.remove(&vm.value) else {
        return;
    };
    // The VM exists (it is powering on), so applying cannot fail on a missing object.
    let _ = apply(emu, vm, &spec);
}

fn apply(emu: &mut Emulator, vm: &MoRef, spec: &Value) -> Result<(), Fault> {
    let vm_name = emu.inv.get(vm)?.name().to_owned();
    let identity = spec.field("identity");
    let name_value = match identity.and_then(type_of) {
        Some("CustomizationLinuxPrep") => identity.and_then(|i| i.field("hostName")),
        Some("CustomizationSysprep") => identity
            .and_then(|i| i.field("userData"))
            .and_then(|u| u.field("computerName")),
        _ => None,
    };
    let hostname = name_value.and_then(|n| host_name(&mut emu.customization, &vm_name, n));
    let domain = identity
        .and_then(|i| text(i, "domain"))
        .unwrap_or_default()
        .to_owned();
    let devices = nics(emu, vm);
    let mut net = Vec::new();
    let mut address = None;
    for (device, mapping) in devices.iter().zip(all(spec, "nicSettingMap")) {
        let (nic, fixed) = nic_info(device, mapping, spec, hostname.as_deref(), &domain);
        if address.is_none() {
            address = fixed;
        }
        net.push(nic);
    }
    let args = emu.vm_event_args(vm);
    let user = "vpxuser";
    let now = emu.clock.now_ms();
    let log = Value::str(format!(
        "/var/log/vmware-imc/toolsDeployPkg.log ({vm_name})"
    ));
    for (ty, verb) in [
        ("CustomizationStartedEvent", "Started customization"),
        ("CustomizationSucceeded", "Customization succeeded"),
    ] {
        emu.events.post(
            ty,
            now,
            user,
            &args,
            format!("{verb} of VM {vm_name}"),
            vec![
                ("template", Value::Bool(false)),
                ("logLocation", log.clone()),
            ],
        );
    }
    set_pending_marker(emu, vm, None)?;
    emu.inv.update(vm, |o| {
        let mut summary_fields = Vec::new();
        if let Some(g) = o.props.get_mut("guest").and_then(Value::as_data_mut) {
            if !net.is_empty() {
                g.set("net", Value::array("GuestNicInfo", net));
            }
            if let Some(h) = &hostname {
                g.set("hostName", Value::str(h.clone()));
                summary_fields.push(("hostName", h.clone()));
            }
            if let Some(a) = &address {
                g.set("ipAddress", Value::str(a.clone()));
                summary_fields.push(("ipAddress", a.clone()));
            }
        }
        if let Some(gs) = o
            .props
            .get_mut("summary")
            .and_then(Value::as_data_mut)
            .and_then(|s| s.get_mut("guest"))
            .and_then(Value::as_data_mut)
        {
            for (f, v) in summary_fields {
                gs.set(f, Value::str(v));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcsim_specs_match_the_schema() {
        for static_ip in [false, true] {
            let problems =
                crate::vmodl::check_value(Some("CustomizationSpec"), &vcsim_spec(static_ip));
            assert!(problems.is_empty(), "{problems:?}");
        }
    }

    #[test]
    fn netmasks_give_prefix_lengths() {
        assert_eq!(prefix_length("255.255.255.0"), 24);
        assert_eq!(prefix_length("255.255.0.0"), 16);
        assert_eq!(prefix_length("nonsense"), 0);
    }

    #[test]
    fn names_follow_their_generator() {
        let mut st = CustomizationState::default();
        let fixed = DataObject::new("CustomizationFixedName")
            .with("name", Value::str("web"))
            .into_value();
        assert_eq!(host_name(&mut st, "vm", &fixed).as_deref(), Some("web"));
        let prefix = DataObject::new("CustomizationPrefixName")
            .with("base", Value::str("node"))
            .into_value();
        assert_eq!(host_name(&mut st, "vm", &prefix).as_deref(), Some("node-1"));
        assert_eq!(host_name(&mut st, "vm", &prefix).as_deref(), Some("node-2"));
        let vm_name = DataObject::new("CustomizationVirtualMachineName").into_value();
        assert_eq!(host_name(&mut st, "vm7", &vm_name).as_deref(), Some("vm7"));
        let unknown = DataObject::new("CustomizationUnknownName").into_value();
        assert_eq!(host_name(&mut st, "vm", &unknown), None);
    }
}
