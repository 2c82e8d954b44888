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
    let mut next_key = 100_000;
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
            let mut dev = dev.clone();
            if let Some(dd) = dev.as_data_mut() {
                // Negative keys are client placeholders; vCenter assigns real ones.
                if dd.get("key").and_then(Value::as_i64).is_none_or(|k| k < 0) {
                    dd.set("key", Value::Int(next_key));
                    next_key += 1;
                }
            }
            devices.push(dev);
        }
    }
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
        let spec = vm_create_from_spec(&config)?;
        let vm = emu.create_vm(&user, spec, VmPlacement { folder, pool, host })?;
        Ok(Some(Value::moref(&vm)))
    })
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

/// `Destroy_Task` on a VM, a resource pool, an empty folder, an empty datacenter or a
/// cluster without hosts.
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
            "DistributedVirtualPortgroup" => emu.destroy_dv_portgroup(&entity)?,
            "Datacenter" => emu.destroy_datacenter(&entity)?,
            "ClusterComputeResource" => emu.destroy_cluster(&entity)?,
            "Folder" => {
                let obj = emu.inv.get(&entity)?.clone();
                if !emu.inv.refs(&entity, "childEntity").is_empty() {
                    return Err(Fault::new("ResourceInUse", "The folder is not empty"));
                }
                let parent = obj
                    .parent()
                    .cloned()
                    .ok_or_else(|| Fault::invalid_argument("root folder"))?;
                emu.inv.pull_ref(&parent, "childEntity", &entity)?;
                emu.inv.remove(&entity);
            }
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
