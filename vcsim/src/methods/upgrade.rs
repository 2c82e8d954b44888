//! `VirtualMachine.UpgradeVM_Task(version?)`: raises a VM's virtual hardware version
//! (`config.version`, `vmx-N`).
//!
//! As vCenter documents it: the VM must be powered off (`InvalidPowerState`, an
//! `InvalidState`); without `version` the VM goes to the newest version its host supports;
//! a VM already at (or past) the target is `AlreadyUpgraded`. The hosts support the versions
//! the environment browser lists ([`super::environment_browser::HW_VERSIONS`]); a newer or
//! malformed version is `InvalidArgument` (vCenter's exact fault for it is not documented).
//! The task posts `VmUpgradingEvent` and `VmUpgradeCompleteEvent`.

use super::clone::post_vm_event;
use super::{Args, CallContext, run_task};
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{Fault, MoRef, Value};

/// The number of a `vmx-N` version (`None` for anything else).
fn version_number(v: &str) -> Option<i32> {
    v.trim()
        .strip_prefix("vmx-")
        .filter(|d| !d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
}

/// The newest hardware version the hosts support.
fn host_max() -> i32 {
    super::environment_browser::HW_VERSIONS
        .last()
        .map(|(n, _)| *n)
        .unwrap_or(13)
}

/// The version a request asks for: the one named, else the host's newest.
fn target(args: &Args<'_>) -> Result<i32, Fault> {
    let Some(v) = args.opt_text("version").filter(|v| !v.trim().is_empty()) else {
        return Ok(host_max());
    };
    match version_number(v) {
        Some(n) if n <= host_max() => Ok(n),
        _ => Err(Fault::new(
            "InvalidArgument",
            format!(
                "A specified parameter was not correct: version ({v} is not supported by the host)"
            ),
        )
        .with("invalidProperty", Value::str("version"))),
    }
}

fn current(emu: &Emulator, vm: &MoRef) -> Option<i32> {
    emu.inv
        .prop(vm, "config")
        .and_then(|c| c.field("version"))
        .and_then(Value::as_str)
        .and_then(version_number)
}

/// `UpgradeVM_Task(version?)`.
pub fn upgrade_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let wanted = target(args)?;
    let vm = call.this.clone();
    let user = super::user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        let state = emu.power_state(&vm)?;
        if state != "poweredOff" {
            return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
        }
        if current(emu, &vm).is_some_and(|c| c >= wanted) {
            return Err(Fault::new(
                "AlreadyUpgraded",
                "The virtual machine is already up-to-date",
            ));
        }
        let version = format!("vmx-{wanted}");
        let name = super::clone::name_of(emu, &vm);
        post_vm_event(
            emu,
            "VmUpgradingEvent",
            &user,
            &vm,
            format!("Upgrading virtual hardware on {name} to {version}"),
            vec![("version", Value::str(version.clone()))],
        );
        emu.inv.update(&vm, |o| {
            if let Some(c) = o.props.get_mut("config").and_then(Value::as_data_mut) {
                c.set("version", Value::str(version.clone()));
            }
        })?;
        post_vm_event(
            emu,
            "VmUpgradeCompleteEvent",
            &user,
            &vm,
            format!("Virtual machine compatibility upgraded to {version}"),
            vec![("version", Value::str(version))],
        );
        Ok(None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_vmx_numbers() {
        assert_eq!(version_number("vmx-13"), Some(13));
        assert_eq!(version_number(" vmx-21 "), Some(21));
        for bad in ["13", "vmx-", "vmx-1x", "vmx-123456", "VMX-13"] {
            assert_eq!(version_number(bad), None, "{bad}");
        }
        assert!(host_max() >= 13);
    }
}
