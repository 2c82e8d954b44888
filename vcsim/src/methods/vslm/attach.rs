//! The VirtualMachine side of first-class disks: `AttachDisk_Task(diskId, datastore,
//! controllerKey?, unitNumber?)` adds the disk as a `VirtualDisk` device (with `vDiskId`),
//! `DetachDisk_Task(diskId)` removes the device and keeps the disk, as vCenter does.
//!
//! Both run through the VM reconfiguration, so the VM's devices, events and guest see the
//! change as they do for `ReconfigVM_Task`.

use super::{datastore_arg, id_arg, live_disk, not_found_id};
use crate::emulator::Emulator;
use crate::methods::{Args, CallContext, run_task, user_of};
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// The VM operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VmOp {
    Attach,
    Detach,
}

/// The VM operation a method name asks for.
/// The VM methods this module serves.
pub(super) const METHODS: &[&str] = &["AttachDisk_Task", "DetachDisk_Task"];

pub(super) fn op_of(method: &str) -> Option<VmOp> {
    match method {
        "AttachDisk_Task" => Some(VmOp::Attach),
        "DetachDisk_Task" => Some(VmOp::Detach),
        _ => None,
    }
}

/// The SCSI unit a controller keeps for itself.
const SCSI_CONTROLLER_UNIT: i64 = 7;

/// Units on a SCSI bus (0–15, the controller's 7 excluded).
const SCSI_UNITS: i64 = 16;

pub(super) fn run(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    op: VmOp,
) -> Result<Option<Value>, Fault> {
    let vm = call.this.clone();
    let id = id_arg(args, "diskId")?;
    let user = user_of(emu, ctx);
    match op {
        VmOp::Attach => {
            let ds = datastore_arg(emu, args)?;
            let controller = args.opt_i64("controllerKey")?;
            let unit = args.opt_i64("unitNumber")?;
            run_task(emu, ctx, call, &vm.clone(), move |emu| {
                attach(emu, &user, &vm, &id, &ds, controller, unit)
            })
        }
        VmOp::Detach => run_task(emu, ctx, call, &vm.clone(), move |emu| {
            detach(emu, &user, &vm, &id)
        }),
    }
}

/// The VM's devices.
fn devices(emu: &Emulator, vm: &MoRef) -> Result<Vec<Value>, Fault> {
    Ok(emu
        .inv
        .get(vm)?
        .get("config")
        .and_then(|c| c.field("hardware"))
        .and_then(|h| h.field("device"))
        .map(|d| d.items().to_vec())
        .unwrap_or_default())
}

fn is_scsi_controller(d: &Value) -> bool {
    d.field("scsiCtlrUnitNumber").is_some() || d.xsi_type().ends_with("SCSIController")
}

/// The controller and unit for the new disk: the ones asked for, else the first SCSI
/// controller's first free unit.
fn slot(devs: &[Value], controller: Option<i64>, unit: Option<i64>) -> Result<(i64, i64), Fault> {
    let key_of = |d: &Value| d.field("key").and_then(Value::as_i64);
    let ctl = match controller {
        Some(k) => {
            if !devs
                .iter()
                .any(|d| key_of(d) == Some(k) && is_scsi_controller(d))
            {
                return Err(Fault::invalid_argument("controllerKey"));
            }
            k
        }
        None => devs
            .iter()
            .find(|d| is_scsi_controller(d))
            .and_then(key_of)
            .ok_or_else(|| {
                Fault::invalid_state("The virtual machine has no SCSI controller for the disk")
            })?,
    };
    let used: Vec<i64> = devs
        .iter()
        .filter(|d| d.field("controllerKey").and_then(Value::as_i64) == Some(ctl))
        .filter_map(|d| d.field("unitNumber").and_then(Value::as_i64))
        .collect();
    let unit = match unit {
        Some(u) => {
            if !(0..SCSI_UNITS).contains(&u) || u == SCSI_CONTROLLER_UNIT || used.contains(&u) {
                return Err(Fault::invalid_argument("unitNumber"));
            }
            u
        }
        None => (0..SCSI_UNITS)
            .find(|u| *u != SCSI_CONTROLLER_UNIT && !used.contains(u))
            .ok_or_else(|| Fault::invalid_state("The SCSI controller has no free unit"))?,
    };
    Ok((ctl, unit))
}

fn attach(
    emu: &mut Emulator,
    user: &str,
    vm: &MoRef,
    id: &str,
    ds: &MoRef,
    controller: Option<i64>,
    unit: Option<i64>,
) -> Result<Option<Value>, Fault> {
    let disk = live_disk(emu, id, ds)?.clone();
    if let Some(owner) = &disk.consumer {
        return Err(Fault::invalid_state(format!(
            "The disk {id} is already attached to virtual machine {}",
            owner.value
        )));
    }
    let devs = devices(emu, vm)?;
    let (ctl, unit) = slot(&devs, controller, unit)?;
    let kb = disk.capacity_mb.saturating_mul(1024);
    let device = DataObject::new("VirtualDisk")
        .with("key", Value::Int(-1))
        .with(
            "backing",
            DataObject::new("VirtualDiskFlatVer2BackingInfo")
                .with("fileName", Value::str(disk.file_path()))
                .with("datastore", Value::moref(&disk.datastore))
                .with("diskMode", Value::str("persistent"))
                .with("thinProvisioned", Value::Bool(disk.provisioning == "thin"))
                .into_value(),
        )
        .with("controllerKey", Value::Int(ctl as i32))
        .with("unitNumber", Value::Int(unit as i32))
        .with("capacityInKB", Value::Long(kb))
        .with("capacityInBytes", Value::Long(kb.saturating_mul(1024)))
        .with(
            "vDiskId",
            DataObject::new("ID")
                .with("id", Value::str(id))
                .into_value(),
        )
        .into_value();
    let mut with_new: Vec<Value> = devs;
    with_new.push(device.clone());
    crate::inventory::fill_device_info(&mut with_new);
    let device = with_new.pop().unwrap_or(device);
    let change = DataObject::new("VirtualDeviceConfigSpec")
        .with(
            "operation",
            Value::enumv("VirtualDeviceConfigSpecOperation", "add"),
        )
        .with("device", device)
        .into_value();
    let spec = DataObject::new("VirtualMachineConfigSpec")
        .with("deviceChange", change)
        .into_value();
    emu.reconfigure_vm(user, vm, &spec)?;
    if let Some(d) = emu.fcd.disks.get_mut(id) {
        d.consumer = Some(vm.clone());
    }
    Ok(None)
}

fn detach(emu: &mut Emulator, user: &str, vm: &MoRef, id: &str) -> Result<Option<Value>, Fault> {
    let devs = devices(emu, vm)?;
    let device = devs
        .iter()
        .find(|d| {
            d.field("vDiskId")
                .and_then(|v| v.field("id"))
                .and_then(Value::as_str)
                == Some(id)
        })
        .cloned()
        .ok_or_else(|| not_found_id(id))?;
    let change = DataObject::new("VirtualDeviceConfigSpec")
        .with(
            "operation",
            Value::enumv("VirtualDeviceConfigSpecOperation", "remove"),
        )
        .with("device", device)
        .into_value();
    let spec = DataObject::new("VirtualMachineConfigSpec")
        .with("deviceChange", change)
        .into_value();
    emu.reconfigure_vm(user, vm, &spec)?;
    if let Some(d) = emu.fcd.disks.get_mut(id) {
        d.consumer = None;
    }
    Ok(None)
}
