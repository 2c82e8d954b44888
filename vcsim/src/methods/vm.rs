//! VirtualMachine: power operations, guest shutdown and reboot, ReconfigVM_Task, UnregisterVM.

use super::{Args, CallContext, run_task, user_of};
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{Fault, Value};

/// A power operation.
#[derive(Clone, Copy, Debug)]
pub enum Power {
    /// PowerOnVM_Task
    On,
    /// PowerOffVM_Task
    Off,
    /// ResetVM_Task
    Reset,
    /// SuspendVM_Task
    Suspend,
}

fn vm_only(call: &Call) -> Result<(), Fault> {
    if call.this.ty == "VirtualMachine" {
        Ok(())
    } else {
        Err(Fault::method_not_found(&call.this, &call.method))
    }
}

/// PowerOn/PowerOff/Reset/Suspend as tasks.
pub fn power_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    op: Power,
) -> Result<Option<Value>, Fault> {
    vm_only(call)?;
    let vm = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        match op {
            Power::On => emu.power_on_vm(&user, &vm),
            Power::Off => emu.power_off_vm(&user, &vm),
            Power::Reset => emu.reset_vm(&user, &vm),
            Power::Suspend => emu.suspend_vm(&user, &vm),
        }
        .map(|_| None)
    })
}

/// `ShutdownGuest` (not a task: it returns once the guest was asked).
pub fn shutdown_guest(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    vm_only(call)?;
    let user = user_of(emu, ctx);
    emu.shutdown_guest(&user, &call.this).map(|_| None)
}

/// `RebootGuest`: the guest restarts (tools must be running).
pub fn reboot_guest(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    vm_only(call)?;
    let user = user_of(emu, ctx);
    emu.shutdown_guest(&user, &call.this)?;
    emu.power_on_vm(&user, &call.this).map(|_| None)
}

/// `ReconfigVM_Task(spec)`.
pub fn reconfig_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    vm_only(call)?;
    let spec = args
        .value("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let vm = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.reconfigure_vm(&user, &vm, &spec).map(|_| None)
    })
}

/// `UnregisterVM`.
pub fn unregister(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    vm_only(call)?;
    let user = user_of(emu, ctx);
    emu.unregister_vm(&user, &call.this).map(|_| None)
}
