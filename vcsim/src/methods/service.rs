//! ServiceInstance: RetrieveServiceContent, and `Fetch`, pyvmomi's property accessor, which
//! must work on every managed object for any property path.

use super::{Args, CallContext};
use crate::emulator::Emulator;
use crate::property::collect::select;
use crate::soap::Call;
use crate::vmodl::{Fault, PropertyPath, Value};

/// `RetrieveServiceContent`.
pub fn retrieve_service_content(emu: &Emulator) -> Result<Option<Value>, Fault> {
    Ok(emu.inv.prop(&emu.refs.service_instance, "content").cloned())
}

/// `Fetch(prop)` on `_this`: the property's value with its type (an `anyType` result).
/// An unset property answers with no return value, as vCenter does.
pub fn fetch(
    emu: &Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let prop = args.text("prop")?;
    if ctx.session.is_none() && !(call.this.ty == "ServiceInstance" && prop == "content") {
        return Err(Fault::not_authenticated(&call.this));
    }
    emu.inv.get(&call.this)?;
    let path = PropertyPath::parse(prop).ok_or_else(|| Fault::invalid_property(prop))?;
    Ok(select(emu, ctx.session.as_deref(), &call.this, &path).map(Value::any))
}
