//! Inventory management methods: Folder.CreateDatacenter, CreateClusterEx,
//! AddStandaloneHost_Task, RegisterVM_Task, MoveIntoFolder_Task, CreateDVS_Task;
//! ClusterComputeResource.AddHost_Task; HostSystem.EnterMaintenanceMode_Task /
//! ExitMaintenanceMode_Task; VirtualMachine.MarkAsTemplate / MarkAsVirtualMachine.

use super::{Args, CallContext, run_task, user_of};
use crate::emulator::{Emulator, VmPlacement};
use crate::soap::Call;
use crate::vmodl::{Fault, Value};

fn on(call: &Call, ty: &str) -> Result<(), Fault> {
    if call.this.ty == ty {
        Ok(())
    } else {
        Err(Fault::method_not_found(&call.this, &call.method))
    }
}

/// `CreateDatacenter(name)`.
pub fn create_datacenter(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "Folder")?;
    let name = args.text("name")?;
    emu.create_datacenter(&call.this, name)
        .map(|r| Some(Value::moref(&r)))
}

/// `CreateClusterEx(name, spec)` (the spec's DRS/HA settings are not modelled).
pub fn create_cluster_ex(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "Folder")?;
    let name = args.text("name")?;
    if args.element("spec").is_none() {
        return Err(Fault::invalid_argument("spec"));
    }
    emu.create_cluster(&call.this, name)
        .map(|r| Some(Value::moref(&r)))
}

fn host_name(args: &Args<'_>) -> Result<String, Fault> {
    args.element("spec")
        .and_then(|s| s.child_text("hostName"))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Fault::invalid_argument("spec.hostName"))
}

/// `AddStandaloneHost_Task(spec, compResSpec?, addConnected, license?)`: the task's result
/// is the new ComputeResource.
pub fn add_standalone_host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "Folder")?;
    let name = host_name(args)?;
    let folder = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.add_standalone_host(&folder, &name)
            .map(|r| Some(Value::moref(&r)))
    })
}

/// `AddHost_Task(spec, asConnected, resourcePool?, license?)` on a cluster: the task's
/// result is the new HostSystem.
pub fn add_host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "ClusterComputeResource")?;
    let name = host_name(args)?;
    let cluster = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.add_host_to_cluster(&cluster, &name)
            .map(|r| Some(Value::moref(&r)))
    })
}

/// `MoveIntoFolder_Task(list)`.
pub fn move_into_folder_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "Folder")?;
    let list = args.morefs("list");
    let folder = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.move_into_folder(&folder, &list).map(|_| None)
    })
}

/// `CreateDVS_Task(spec)`: the task's result is the new switch.
pub fn create_dvs_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "Folder")?;
    let name = args
        .element("spec")
        .and_then(|s| s.child("configSpec"))
        .and_then(|c| c.child_text("name"))
        .map(str::to_owned)
        .ok_or_else(|| Fault::invalid_argument("spec.configSpec.name"))?;
    let folder = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.create_dvs(&folder, &name)
            .map(|r| Some(Value::moref(&r)))
    })
}

/// `RegisterVM_Task(path, name?, asTemplate, pool?, host?)` on a VM folder: the task's
/// result is the VM. The pool defaults to the root pool of `host`'s compute resource.
pub fn register_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "Folder")?;
    let path = args.text("path")?.to_owned();
    let name = args.opt_text("name").map(str::to_owned);
    let as_template = args.opt_bool("asTemplate")?.unwrap_or(false);
    let host = args.opt_moref("host");
    let pool = match args.opt_moref("pool") {
        Some(p) => p,
        None => {
            let h = host
                .clone()
                .ok_or_else(|| Fault::invalid_argument("pool"))?;
            let cr = emu
                .inv
                .get(&h)?
                .parent()
                .cloned()
                .ok_or_else(|| Fault::invalid_argument("host"))?;
            emu.inv
                .prop(&cr, "resourcePool")
                .and_then(Value::as_moref)
                .cloned()
                .ok_or_else(|| Fault::invalid_argument("host"))?
        }
    };
    let folder = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.register_vm(
            &user,
            &path,
            name.as_deref(),
            as_template,
            VmPlacement { folder, pool, host },
        )
        .map(|vm| Some(Value::moref(&vm)))
    })
}

/// `EnterMaintenanceMode_Task(timeout, evacuatePoweredOffVms?, maintenanceSpec?)`.
pub fn enter_maintenance_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    on(call, "HostSystem")?;
    let host = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.enter_maintenance(&user, &host).map(|_| None)
    })
}

/// `ExitMaintenanceMode_Task(timeout)`.
pub fn exit_maintenance_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    on(call, "HostSystem")?;
    let host = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.exit_maintenance(&user, &host).map(|_| None)
    })
}

/// `MarkAsTemplate`.
pub fn mark_as_template(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    on(call, "VirtualMachine")?;
    emu.mark_as_template(&call.this).map(|_| None)
}

/// `MarkAsVirtualMachine(pool, host?)`.
pub fn mark_as_virtual_machine(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "VirtualMachine")?;
    let pool = args.moref("pool")?;
    let host = args.opt_moref("host");
    emu.mark_as_vm(&call.this, &pool, host.as_ref())
        .map(|_| None)
}
