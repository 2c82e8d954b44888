//! Folder and entity-generic methods: CreateFolder, CreateVM_Task, Rename_Task, Destroy_Task
//! and Datacenter.PowerOnMultiVM_Task.

use super::{Args, CallContext, run_task, user_of};
use crate::emulator::{Emulator, VmCreate, VmPlacement};
use crate::inventory::folder as folder_obj;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// `CreateFolder(name)`.
pub fn create_folder(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = &crate::inventory::entity_name(args.text("name")?, "name")?;
    let parent = emu.inv.get(&call.this)?;
    if let Some(existing) = emu.inv.child_named(&call.this, name) {
        return Err(Fault::duplicate_name(name, &existing));
    }
    let child_types: Vec<String> = parent
        .get("childType")
        .map(|v| {
            v.items()
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let types: Vec<&str> = child_types.iter().map(String::as_str).collect();
    let f = MoRef::new("Folder", emu.inv.alloc("group-"));
    emu.inv
        .insert(folder_obj(f.clone(), name, Some(&call.this), &types));
    emu.inv.push_ref(&call.this, "childEntity", &f)?;
    Ok(Some(Value::moref(&f)))
}

/// Reads a `VirtualMachineConfigSpec` into what `create_vm` takes.
pub fn vm_create_from_spec(config: &Value) -> Result<VmCreate, Fault> {
    let name = config
        .field("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Fault::invalid_argument("spec.name"))?;
    let num_cpu = match config.field("numCPUs") {
        Some(v) => v
            .as_i64()
            .ok_or_else(|| Fault::invalid_argument("spec.numCPUs"))?,
        None => 1,
    };
    let memory_mb = match config.field("memoryMB") {
        Some(v) => v
            .as_i64()
            .ok_or_else(|| Fault::invalid_argument("spec.memoryMB"))?,
        None => 32,
    };
    let mut devices = Vec::new();
    if let Some(d) = config.as_data() {
        for (n, change) in &d.fields {
            if n != "deviceChange" {
                continue;
            }
            let op = change
                .field("operation")
                .and_then(Value::as_str)
                .unwrap_or("add");
            if op != "add" {
                continue;
            }
            let Some(dev) = change.field("device") else {
                continue;
            };
            if devices.len() >= MAX_NEW_DEVICES {
                return Err(Fault::invalid_argument("spec.deviceChange"));
            }
            devices.push(dev.clone());
        }
    }
    // The keys stay as the client sent them: `create_vm` gives vCenter's keys to the
    // temporary ones and points `controllerKey`s at them (inventory::assign_device_keys).
    mark_temporary_keys(&mut devices);
    let extra_config = option_values(config);
    Ok(VmCreate {
        name: name.to_owned(),
        num_cpu: num_cpu.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        memory_mb: memory_mb.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        guest_id: config
            .field("guestId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        devices: if devices.is_empty() {
            None
        } else {
            Some(devices)
        },
        extra_config,
        cpu_allocation: config.field("cpuAllocation").cloned(),
        memory_allocation: config.field("memoryAllocation").cloned(),
        annotation: config
            .field("annotation")
            .and_then(Value::as_str)
            .map(str::to_owned),
        vmx_path: config
            .field("files")
            .and_then(|f| f.field("vmPathName"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Most devices one CreateVM_Task spec may add (a VM has at most a few hundred: 4 SCSI
/// controllers of 64 targets, 10 NICs, …).
const MAX_NEW_DEVICES: usize = 1024;

/// Keys at or above this are no key vCenter hands out (its device ranges end near 32000).
const DEVICE_KEY_RANGES_END: i64 = 100_000;

/// Turns positive keys that lie beyond vCenter's device ranges into temporary (negative)
/// ones, rewriting the `controllerKey`s that name them. govmomi's `AssignController` draws a
/// random key for a device without one, which is positive half the time; vCenter documents
/// that it may assign a new key to any device being added, and gives such a disk 2000, not
/// the random number. Keys in vCenter's ranges are kept (clients that choose vCenter's own
/// numbers, as pyvmomi scripts often do, see them unchanged).
fn mark_temporary_keys(devices: &mut [Value]) {
    let key_of = |d: &Value| d.field("key").and_then(Value::as_i64);
    let mut next = devices
        .iter()
        .filter_map(key_of)
        .filter(|k| *k < 0)
        .min()
        .unwrap_or(0)
        .min(0);
    let mut renamed = std::collections::BTreeMap::new();
    for dev in devices.iter_mut() {
        let Some(key) = key_of(dev).filter(|k| *k >= DEVICE_KEY_RANGES_END) else {
            continue;
        };
        let Some(d) = dev.as_data_mut() else { continue };
        let temp = *renamed.entry(key).or_insert_with(|| {
            next -= 1;
            next
        });
        // Keys are xsd:int on the wire, so temporaries stay in i32 range (at most
        // MAX_NEW_DEVICES below the smallest negative key).
        d.set("key", Value::Int(temp.max(i64::from(i32::MIN)) as i32));
    }
    for dev in devices.iter_mut() {
        let Some(d) = dev.as_data_mut() else { continue };
        let ctl = d.get("controllerKey").and_then(Value::as_i64);
        if let Some(temp) = ctl.and_then(|c| renamed.get(&c)) {
            d.set(
                "controllerKey",
                Value::Int((*temp).max(i64::from(i32::MIN)) as i32),
            );
        }
    }
}

/// The extraConfig entries of a config spec, as `OptionValue` data objects with typed values.
pub fn option_values(config: &Value) -> Vec<Value> {
    let Some(d) = config.as_data() else {
        return Vec::new();
    };
    d.fields
        .iter()
        .filter(|(n, _)| n == "extraConfig")
        .filter_map(|(_, ov)| {
            let key = ov.field("key").and_then(Value::as_str)?;
            let value = ov.field("value").cloned().unwrap_or(Value::str(""));
            let value = match value {
                Value::Any(v) => *v,
                other => other,
            };
            Some(crate::inventory::option_value(key, value))
        })
        .collect()
}

/// `CreateVM_Task(config, pool, host)` on a VM folder.
pub fn create_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    if call.this.ty != "Folder" {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let config = args
        .value("config")
        .ok_or_else(|| Fault::invalid_argument("config"))?;
    let pool = args.moref("pool")?;
    let host = args.opt_moref("host");
    let folder = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &folder.clone(), move |emu| {
        let version = hardware_version(emu, &config, &pool, host.as_ref())?;
        let spec = vm_create_from_spec(&config)?;
        let vm = emu.create_vm(&user, spec, VmPlacement { folder, pool, host })?;
        if let Some(v) = version {
            emu.inv.update(&vm, |o| {
                if let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) {
                    c.set("version", Value::str(v));
                }
            })?;
        }
        Ok(Some(Value::moref(&vm)))
    })
}

/// Oldest hardware version a VM may be created with (ESXi 8 still creates vmx-4 VMs).
const MIN_CREATE_HW_VERSION: i32 = 4;

/// The hardware version `config.version` asks for (`None`: the default), or the fault
/// CreateVM_Task answers:
/// - a well-formed `vmx-N` the hosts do not support (newer than the newest
///   [`super::environment_browser::HW_VERSIONS`] or older than vmx-4) is
///   `VirtualHardwareVersionNotSupported` naming the host, the `VmConfigFault` vCenter
///   reports for it (vcsim accepts any number here: vCenter's behaviour is followed);
/// - text that is no hardware version at all (`vmx-abc`, `garbage`) is `NotSupported`, as
///   vcsim answers (vCenter's exact fault for it is not documented).
fn hardware_version(
    emu: &Emulator,
    config: &Value,
    pool: &MoRef,
    host: Option<&MoRef>,
) -> Result<Option<String>, Fault> {
    let Some(v) = config.field("version").and_then(Value::as_str) else {
        return Ok(None);
    };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let n: i32 = v
        .strip_prefix("vmx-")
        .filter(|d| !d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| {
            Fault::not_supported(format!("The hardware version {v} is not supported"))
        })?;
    let newest = super::environment_browser::HW_VERSIONS
        .last()
        .map(|(n, _)| *n)
        .unwrap_or(MIN_CREATE_HW_VERSION);
    if (MIN_CREATE_HW_VERSION..=newest).contains(&n) {
        return Ok(Some(format!("vmx-{n}")));
    }
    // The host the VM would run on: the one named, else the first of the pool's owner.
    let host = host.cloned().or_else(|| {
        let owner = emu.inv.prop(pool, "owner").and_then(Value::as_moref)?;
        emu.inv.refs(owner, "host").into_iter().next()
    });
    let host_name = host
        .as_ref()
        .and_then(|h| emu.inv.lookup(h))
        .map(|o| o.name().to_owned())
        .unwrap_or_default();
    let mut f = Fault::new(
        "VirtualHardwareVersionNotSupported",
        format!("The virtual hardware version vmx-{n} is not supported on host {host_name}"),
    )
    .with("hostName", Value::str(host_name));
    if let Some(h) = host {
        f = f.with("host", Value::moref(&h));
    }
    Err(f)
}

/// `Rename_Task(newName)` on any managed entity.
pub fn rename_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let new_name = args.text("newName")?.to_owned();
    let entity = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.rename(&entity, &new_name).map(|_| None)
    })
}

/// `Destroy_Task` on a VM, a resource pool, a vApp (with its VMs), a folder (with its
/// contents), an empty datacenter or a cluster without hosts.
pub fn destroy_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    let entity = call.this.clone();
    let user = user_of(emu, ctx);
    emu.check_enabled(&entity, "Destroy_Task")?;
    run_task(emu, ctx, call, &call.this, move |emu| {
        match entity.ty.as_ref() {
            "VirtualMachine" => emu.destroy_vm(&user, &entity)?,
            "ResourcePool" => emu.destroy_pool(&entity)?,
            "VirtualApp" => crate::methods::vapp::destroy_vapp(emu, &user, &entity)?,
            "DistributedVirtualPortgroup" => emu.destroy_dv_portgroup(&entity)?,
            "Datacenter" => emu.destroy_datacenter(&entity)?,
            "ClusterComputeResource" => emu.destroy_cluster(&entity)?,
            "Folder" => destroy_folder(emu, &user, &entity)?,
            _ => {
                return Err(Fault::not_supported(format!(
                    "Destroy_Task is not supported on {}",
                    entity.ty
                )));
            }
        }
        Ok(None)
    })
}

/// Deepest folder nesting `Destroy_Task` walks (inventories are far shallower; the bound
/// only keeps a malformed tree from costing unbounded stack).
const MAX_DESTROY_DEPTH: usize = 64;

/// `Destroy_Task` of a folder. vCenter's documented behaviour (vSphere API reference,
/// ManagedEntity.Destroy_Task: "Destroys this object, deleting its contents and removing
/// it from its parent folder (if any)") is followed, as vcsim also does: the folder goes
/// with everything in it. Unlike vcsim, which destroys children one by one and stops at
/// the first failure (leaving a half-emptied folder), the whole subtree is checked first,
/// so a powered-on VM (`InvalidPowerState`, as its own Destroy_Task answers) or a content
/// this emulator cannot remove (a cluster with hosts, a standalone host, a datastore, a
/// network, a switch: `ResourceInUse`) leaves the folder untouched.
fn destroy_folder(emu: &mut Emulator, user: &str, folder: &MoRef) -> Result<(), Fault> {
    let obj = emu.inv.get(folder)?;
    if obj.parent().is_none() {
        return Err(Fault::not_supported("The root folder cannot be destroyed"));
    }
    check_destroyable(emu, folder, 0)?;
    destroy_tree(emu, user, folder, 0)
}

/// The children `Destroy_Task` of `entity` removes first.
fn contents(emu: &Emulator, entity: &MoRef) -> Vec<MoRef> {
    match entity.ty.as_ref() {
        "Folder" => emu.inv.refs(entity, "childEntity"),
        "Datacenter" => ["vmFolder", "hostFolder", "datastoreFolder", "networkFolder"]
            .iter()
            .filter_map(|f| emu.inv.prop(entity, f).and_then(Value::as_moref).cloned())
            .flat_map(|f| emu.inv.refs(&f, "childEntity"))
            .collect(),
        _ => Vec::new(),
    }
}

fn check_destroyable(emu: &Emulator, entity: &MoRef, depth: usize) -> Result<(), Fault> {
    if depth > MAX_DESTROY_DEPTH {
        return Err(Fault::not_supported("the folder tree is too deep"));
    }
    let in_use = |what: &str| {
        let name = emu
            .inv
            .lookup(entity)
            .map(|o| o.name().to_owned())
            .unwrap_or_default();
        Fault::new(
            "ResourceInUse",
            format!("The folder is not empty: {what} {name} cannot be destroyed with it"),
        )
        .with("type", Value::str(entity.ty.to_string()))
        .with("name", Value::str(name))
    };
    match entity.ty.as_ref() {
        "VirtualMachine" => {
            let state = emu.power_state(entity)?;
            if state == "poweredOn" {
                return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
            }
            emu.check_enabled(entity, "Destroy_Task")
        }
        "ClusterComputeResource" => {
            let pool = emu
                .inv
                .prop(entity, "resourcePool")
                .and_then(Value::as_moref);
            let busy = !emu.inv.refs(entity, "host").is_empty()
                || pool.is_some_and(|p| !emu.inv.refs(p, "resourcePool").is_empty());
            if busy {
                Err(in_use("the cluster"))
            } else {
                Ok(())
            }
        }
        "DistributedVirtualPortgroup" => Ok(()),
        "Folder" | "Datacenter" => contents(emu, entity)
            .iter()
            .try_for_each(|c| check_destroyable(emu, c, depth + 1)),
        other => Err(in_use(other)),
    }
}

/// Destroys `entity` after its contents (checked by [`check_destroyable`] beforehand).
fn destroy_tree(emu: &mut Emulator, user: &str, entity: &MoRef, depth: usize) -> Result<(), Fault> {
    if depth > MAX_DESTROY_DEPTH {
        return Err(Fault::not_supported("the folder tree is too deep"));
    }
    for child in contents(emu, entity) {
        destroy_tree(emu, user, &child, depth + 1)?;
    }
    match entity.ty.as_ref() {
        "VirtualMachine" => emu.destroy_vm(user, entity),
        "ClusterComputeResource" => emu.destroy_cluster(entity),
        "DistributedVirtualPortgroup" => emu.destroy_dv_portgroup(entity),
        "Datacenter" => emu.destroy_datacenter(entity),
        "Folder" => {
            let parent = emu.inv.get(entity)?.parent().cloned();
            if let Some(p) = parent {
                emu.inv.pull_ref(&p, "childEntity", entity)?;
            }
            emu.inv.remove(entity);
            Ok(())
        }
        other => Err(Fault::not_supported(format!(
            "Destroy_Task is not supported on {other}"
        ))),
    }
}

/// `PowerOnMultiVM_Task(vm[], option)` on a Datacenter: powers on each VM and reports
/// attempted and not-attempted VMs in `ClusterPowerOnVmResult`.
pub fn power_on_multi_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    if call.this.ty != "Datacenter" {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let vms = args.morefs("vm");
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        let mut attempted = Vec::new();
        let mut not_attempted = Vec::new();
        for vm in &vms {
            match emu.power_on_vm(&user, vm) {
                Ok(()) => attempted.push(
                    DataObject::new("ClusterAttemptedVmInfo")
                        .with("vm", Value::moref(vm))
                        .into_value(),
                ),
                Err(f) => not_attempted.push(
                    DataObject::new("ClusterNotAttemptedVmInfo")
                        .with("vm", Value::moref(vm))
                        .with("fault", f.to_localized())
                        .into_value(),
                ),
            }
        }
        let mut r = DataObject::new("ClusterPowerOnVmResult");
        if !attempted.is_empty() {
            r = r.with(
                "attempted",
                Value::array("ClusterAttemptedVmInfo", attempted),
            );
        }
        if !not_attempted.is_empty() {
            r = r.with(
                "notAttempted",
                Value::array("ClusterNotAttemptedVmInfo", not_attempted),
            );
        }
        Ok(Some(r.into_value()))
    })
}

/// `AddDVPortgroup_Task(spec[])` on a distributed switch: one port group per spec.
pub fn add_dv_portgroup_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let names: Vec<(String, i32)> = args
        .elements("spec")
        .map(|s| {
            let name = s
                .child_text("name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Fault::invalid_argument("spec.name"))?;
            let ports = s
                .child_text("numPorts")
                .and_then(|n| n.parse().ok())
                .unwrap_or(128);
            Ok((name.to_owned(), ports))
        })
        .collect::<Result<_, Fault>>()?;
    if names.is_empty() {
        return Err(Fault::invalid_argument("spec"));
    }
    let dvs = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        for (name, ports) in names {
            emu.add_dv_portgroup(&dvs, &name, ports)?;
        }
        Ok(None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn spec(version: &str) -> Value {
        DataObject::new("VirtualMachineConfigSpec")
            .with("version", Value::str(version))
            .into_value()
    }

    fn pool(emu: &Emulator) -> MoRef {
        emu.inv
            .iter()
            .find(|o| o.moref.ty == "ResourcePool")
            .map(|o| o.moref.clone())
            .unwrap()
    }

    #[test]
    fn hardware_versions_known_unknown_and_malformed() {
        let emu = Emulator::new(Config::default()).unwrap();
        let p = pool(&emu);
        assert_eq!(
            hardware_version(&emu, &spec("vmx-13"), &p, None).unwrap(),
            Some("vmx-13".to_owned())
        );
        assert_eq!(hardware_version(&emu, &spec(""), &p, None).unwrap(), None);
        let f = hardware_version(&emu, &spec("vmx-99"), &p, None).unwrap_err();
        assert_eq!(f.ty, "VirtualHardwareVersionNotSupported");
        assert!(f.fields.iter().any(|(n, _)| *n == "host"));
        for bad in ["garbage", "vmx-", "vmx-1x", "vmx-99999999999"] {
            let f = hardware_version(&emu, &spec(bad), &p, None).unwrap_err();
            assert_eq!(f.ty, "NotSupported", "{bad}");
        }
    }

    fn add(dev: Value) -> Value {
        DataObject::new("VirtualDeviceConfigSpec")
            .with("operation", Value::str("add"))
            .with("device", dev)
            .into_value()
    }

    fn device(ty: &'static str, key: i32, controller: Option<i32>) -> Value {
        let mut d = DataObject::new(ty).with("key", Value::Int(key));
        if let Some(c) = controller {
            d = d
                .with("controllerKey", Value::Int(c))
                .with("unitNumber", Value::Int(0));
        }
        if ty == "ParaVirtualSCSIController" {
            d = d.with("busNumber", Value::Int(0));
        }
        d.into_value()
    }

    #[test]
    fn new_devices_get_vcenter_keys_and_disks_keep_their_controller() {
        // As govc sends them: the controller from NewKey, the disk with a random key
        // (positive half the time), the NIC with another temporary one.
        let mut config = DataObject::new("VirtualMachineConfigSpec").with("name", Value::str("vm"));
        for dev in [
            device("ParaVirtualSCSIController", -201, None),
            device("VirtualDisk", 1_500_000_000, Some(-201)),
            device("VirtualVmxnet3", -202, None),
        ] {
            config.fields.push(("deviceChange".into(), add(dev)));
        }
        let config = config.into_value();
        let mut devs = vm_create_from_spec(&config).unwrap().devices.unwrap();
        crate::inventory::assign_device_keys(&mut devs);
        let key = |i: usize, f: &str| devs[i].field(f).and_then(Value::as_i64);
        assert_eq!(key(0, "key"), Some(1000));
        assert_eq!(key(1, "key"), Some(2000));
        assert_eq!(key(1, "controllerKey"), Some(1000));
        assert_eq!(key(2, "key"), Some(4000));
        let children = devs[0].field("device").map(|v| v.items().len());
        assert_eq!(children, Some(1));
    }
}
