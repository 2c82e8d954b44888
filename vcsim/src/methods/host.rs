//! Inventory management methods: Folder.CreateDatacenter, CreateClusterEx,
//! AddStandaloneHost_Task, RegisterVM_Task, MoveIntoFolder_Task, CreateDVS_Task;
//! ClusterComputeResource.AddHost_Task, ReconfigureCluster_Task;
//! ComputeResource.ReconfigureComputeResource_Task; HostSystem.EnterMaintenanceMode_Task /
//! ExitMaintenanceMode_Task, DisconnectHost_Task / ReconnectHost_Task, ShutdownHost_Task /
//! RebootHost_Task; VirtualMachine.MarkAsTemplate / MarkAsVirtualMachine.

use super::{Args, CallContext, run_task, start_running_task, user_of};
use crate::emulator::{Emulator, EnterOutcome, VmPlacement};
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

/// `CreateClusterEx(name, spec)`: the spec's HA and DRS settings become the new cluster's
/// (both off when it leaves them out, as vCenter creates clusters).
pub fn create_cluster_ex(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "Folder")?;
    let name = args.text("name")?;
    let spec = args
        .value("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let cluster = emu.create_cluster(&call.this, name)?;
    if let Err(f) = emu.configure_new_cluster(&cluster, &spec) {
        // Nothing half-made stays: the cluster is new and empty.
        let _ = emu.destroy_cluster(&cluster);
        return Err(f);
    }
    Ok(cluster.into_result())
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

/// Longest `DistributedVirtualSwitchProductSpec` field kept.
const PRODUCT_FIELD_MAX: usize = 256;

/// The `productInfo` of a DVS create spec, when it names one (vCenter keeps what the
/// client says; without one the switch reports the VMware DVS product).
fn product_info(spec: &crate::soap::Element) -> Result<Option<Value>, Fault> {
    let Some(p) = spec.child("productInfo") else {
        return Ok(None);
    };
    let mut d = crate::vmodl::DataObject::new("DistributedVirtualSwitchProductSpec");
    for f in ["name", "vendor", "version", "build", "forwardingClass"] {
        if let Some(v) = p.child_text(f) {
            if v.len() > PRODUCT_FIELD_MAX {
                return Err(Fault::invalid_argument(&format!("spec.productInfo.{f}")));
            }
            d.set(f, Value::str(v));
        }
    }
    Ok(Some(d.into_value()))
}

/// `CreateDVS_Task(spec)`: the task's result is the new switch.
pub fn create_dvs_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let read = |_: &Emulator| {
        let spec = args
            .element("spec")
            .ok_or_else(|| Fault::invalid_argument("spec"))?;
        let name = spec
            .child("configSpec")
            .and_then(|c| c.child_text("name"))
            .map(str::to_owned)
            .ok_or_else(|| Fault::invalid_argument("spec.configSpec.name"))?;
        Ok((name, product_info(spec)?))
    };
    task_on(
        emu,
        ctx,
        call,
        "Folder",
        read,
        |emu, folder, (name, product)| {
            let dvs = emu.create_dvs(folder, &name)?;
            if let Some(p) = product {
                emu.inv.update(&dvs, |o| {
                    for prop in ["summary", "config"] {
                        if let Some(d) = o.props.get_mut(prop).and_then(Value::as_data_mut) {
                            d.set("productInfo", p.clone());
                        }
                    }
                })?;
            }
            Ok(dvs)
        },
    )
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

/// A host task whose operation runs as the caller.
fn host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    op: impl FnOnce(&mut Emulator, &str, &MoRef) -> Result<(), Fault>,
) -> Result<Option<Value>, Fault> {
    let user = |emu: &Emulator| Ok(user_of(emu, ctx));
    task_on(emu, ctx, call, "HostSystem", user, |emu, host, user| {
        op(emu, &user, host)
    })
}

/// `EnterMaintenanceMode_Task(timeout, evacuatePoweredOffVms?, maintenanceSpec?)`: DRS
/// evacuates the host when it can; a task that must wait for VMs (timeout > 0) stays
/// `running` and ends at a later interval (see `Emulator::enter_maintenance`).
pub fn enter_maintenance_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    on(call, "HostSystem")?;
    let timeout_s = args
        .opt_i64("timeout")?
        .ok_or_else(|| Fault::invalid_argument("timeout"))?;
    let evacuate = args.opt_bool("evacuatePoweredOffVms")?.unwrap_or(false);
    let host = call.this.clone();
    let task = start_running_task(emu, ctx, call, &host)?;
    let user = user_of(emu, ctx);
    let outcome = emu.enter_maintenance(&user, &host, timeout_s, evacuate);
    match outcome {
        Ok(EnterOutcome::Waiting) => {
            emu.wait_for_maintenance(&user, &host, &task, timeout_s, evacuate);
        }
        other => {
            let now = emu.clock.now_ms();
            emu.tasks
                .finish(&mut emu.inv, &task, now, &other.map(|_| None));
        }
    }
    Ok(Some(Value::moref(&task)))
}

/// `ExitMaintenanceMode_Task(timeout)`.
pub fn exit_maintenance_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    host_task(emu, ctx, call, Emulator::exit_maintenance)
}

fn vcenter_only(emu: &Emulator, call: &Call) -> Result<(), Fault> {
    if emu.flavor == crate::config::Flavor::HostAgent {
        return Err(Fault::not_supported(format!(
            "{} is not supported on ESXi: a vCenter Server manages the host's connection",
            call.method
        )));
    }
    Ok(())
}

/// `DisconnectHost_Task` (vCenter only).
pub fn disconnect_host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    on(call, "HostSystem")?;
    vcenter_only(emu, call)?;
    host_task(emu, ctx, call, Emulator::disconnect_host)
}

/// `ReconnectHost_Task(cnxSpec?, reconnectSpec?)` (vCenter only; the host keeps its
/// connection settings).
pub fn reconnect_host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    on(call, "HostSystem")?;
    vcenter_only(emu, call)?;
    host_task(emu, ctx, call, Emulator::reconnect_host)
}

/// `ShutdownHost_Task(force)` and, with `reboot`, `RebootHost_Task(force)`: the host must
/// be in maintenance mode unless `force`.
pub fn power_down_host_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    reboot: bool,
) -> Result<Option<Value>, Fault> {
    on(call, "HostSystem")?;
    let force = args
        .opt_bool("force")?
        .ok_or_else(|| Fault::invalid_argument("force"))?;
    host_task(emu, ctx, call, move |emu, user, host| {
        if reboot {
            emu.reboot_host(user, host, force)
        } else {
            emu.shutdown_host(user, host, force)
        }
    })
}

/// `ReconfigureComputeResource_Task(spec, modify)` and `ReconfigureCluster_Task(spec,
/// modify)`: a cluster's HA and DRS settings (see `Emulator::reconfigure_cluster`).
pub fn reconfigure_compute_resource_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let read = |emu: &Emulator| {
        let spec = args
            .value("spec")
            .ok_or_else(|| Fault::invalid_argument("spec"))?;
        let modify = args
            .opt_bool("modify")?
            .ok_or_else(|| Fault::invalid_argument("modify"))?;
        Ok((spec, modify, user_of(emu, ctx)))
    };
    let ty = call.this.ty.to_string();
    task_on(
        emu,
        ctx,
        call,
        &ty,
        read,
        |emu, cr, (spec, modify, user)| emu.reconfigure_cluster(&user, cr, &spec, modify),
    )
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
