//! Inventory management methods: Folder.CreateDatacenter, CreateClusterEx,
//! AddStandaloneHost_Task, RegisterVM_Task, MoveIntoFolder_Task, CreateDVS_Task;
//! ClusterComputeResource.AddHost_Task; HostSystem.EnterMaintenanceMode_Task /
//! ExitMaintenanceMode_Task; VirtualMachine.MarkAsTemplate / MarkAsVirtualMachine.

use super::{Args, CallContext, run_task, user_of};
use crate::emulator::{Emulator, VmPlacement};
use crate::soap::Call;
use crate::vmodl::{Fault, MoRef, Value};

fn on(call: &Call, ty: &str) -> Result<(), Fault> {
    if call.this.ty == ty {
        Ok(())
    } else {
        Err(Fault::method_not_found(&call.this, &call.method))
    }
}

/// What an inventory operation returns, as a method's (or task's) result: a new object's
/// reference, or nothing.
trait TaskValue {
    /// The result value.
    fn into_result(self) -> Option<Value>;
}

impl TaskValue for MoRef {
    fn into_result(self) -> Option<Value> {
        Some(Value::moref(&self))
    }
}

impl TaskValue for () {
    fn into_result(self) -> Option<Value> {
        None
    }
}

/// The shape of every task method here: the receiver must be a `ty` (else
/// `MethodNotFound`), `read` takes what the task needs from the call before it starts (its
/// faults are the call's), and `op` runs as a task on the receiver with that.
fn task_on<A, R: TaskValue>(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    ty: &str,
    read: impl FnOnce(&Emulator) -> Result<A, Fault>,
    op: impl FnOnce(&mut Emulator, &MoRef, A) -> Result<R, Fault>,
) -> Result<Option<Value>, Fault> {
    on(call, ty)?;
    let input = read(emu)?;
    let this = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        op(emu, &this, input).map(TaskValue::into_result)
    })
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
        .map(TaskValue::into_result)
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
        .map(TaskValue::into_result)
}

/// AddStandaloneHost_Task and AddHost_Task: `add` makes the host the spec names on the
/// receiver (a `ty`).
fn host_adding_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    ty: &str,
    add: fn(&mut Emulator, &MoRef, &str) -> Result<MoRef, Fault>,
) -> Result<Option<Value>, Fault> {
    let name = |_: &Emulator| {
        args.element("spec")
            .and_then(|s| s.child_text("hostName"))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Fault::invalid_argument("spec.hostName"))
    };
    task_on(emu, ctx, call, ty, name, |emu, on, name| {
        add(emu, on, &name)
    })
}

/// `AddStandaloneHost_Task(spec, compResSpec?, addConnected, license?)`: the task's result
/// is the new ComputeResource.
pub fn add_standalone_host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let add = Emulator::add_standalone_host;
    host_adding_task(emu, ctx, call, args, "Folder", add)
}

/// `AddHost_Task(spec, asConnected, resourcePool?, license?)` on a cluster: the task's
/// result is the new HostSystem.
pub fn add_host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let cluster = "ClusterComputeResource";
    host_adding_task(emu, ctx, call, args, cluster, Emulator::add_host_to_cluster)
}

/// `MoveIntoFolder_Task(list)`.
pub fn move_into_folder_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let list = |_: &Emulator| Ok(args.morefs("list"));
    task_on(emu, ctx, call, "Folder", list, |emu, folder, list| {
        emu.move_into_folder(folder, &list)
    })
}

/// `CreateDVS_Task(spec)`: the task's result is the new switch.
pub fn create_dvs_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = |_: &Emulator| {
        args.element("spec")
            .and_then(|s| s.child("configSpec"))
            .and_then(|c| c.child_text("name"))
            .map(str::to_owned)
            .ok_or_else(|| Fault::invalid_argument("spec.configSpec.name"))
    };
    task_on(emu, ctx, call, "Folder", name, |emu, folder, name| {
        emu.create_dvs(folder, &name)
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
    let read = |emu: &Emulator| {
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
        let place = VmPlacement { folder, pool, host };
        Ok((path, name, as_template, place, user_of(emu, ctx)))
    };
    task_on(
        emu,
        ctx,
        call,
        "Folder",
        read,
        |emu, _, (path, name, tpl, place, user)| {
            emu.register_vm(&user, &path, name.as_deref(), tpl, place)
        },
    )
}

/// EnterMaintenanceMode_Task and ExitMaintenanceMode_Task: `op` runs on the host as the
/// caller.
fn maintenance_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    op: fn(&mut Emulator, &str, &MoRef) -> Result<(), Fault>,
) -> Result<Option<Value>, Fault> {
    let user = |emu: &Emulator| Ok(user_of(emu, ctx));
    task_on(emu, ctx, call, "HostSystem", user, |emu, host, user| {
        op(emu, &user, host)
    })
}

/// `EnterMaintenanceMode_Task(timeout, evacuatePoweredOffVms?, maintenanceSpec?)`.
pub fn enter_maintenance_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    maintenance_task(emu, ctx, call, Emulator::enter_maintenance)
}

/// `ExitMaintenanceMode_Task(timeout)`.
pub fn exit_maintenance_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    maintenance_task(emu, ctx, call, Emulator::exit_maintenance)
}

/// `MarkAsTemplate`.
pub fn mark_as_template(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    on(call, "VirtualMachine")?;
    emu.mark_as_template(&call.this).map(TaskValue::into_result)
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
        .map(TaskValue::into_result)
}
