//! ResourcePool: CreateResourcePool, UpdateConfig, DestroyChildren (Destroy_Task is in
//! folder.rs with the other entity-generic methods).

use super::Args;
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{Fault, Value};

/// `CreateResourcePool(name, spec)`.
pub fn create(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let spec = args
        .value("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let pool = emu.create_pool(
        &call.this,
        name,
        spec.field("cpuAllocation"),
        spec.field("memoryAllocation"),
    )?;
    Ok(Some(Value::moref(&pool)))
}

/// `UpdateConfig(name, config)`.
pub fn update_config(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    if call.this.ty != "ResourcePool" {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let config = args.value("config");
    let cpu = config.as_ref().and_then(|c| c.field("cpuAllocation"));
    let mem = config.as_ref().and_then(|c| c.field("memoryAllocation"));
    emu.update_pool(&call.this, args.opt_text("name"), cpu, mem)
        .map(|_| None)
}

/// `DestroyChildren`: every child pool is destroyed; their VMs move up into this pool.
pub fn destroy_children(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    for child in emu.inv.refs(&call.this, "resourcePool") {
        emu.destroy_pool(&child)?;
    }
    Ok(None)
}
