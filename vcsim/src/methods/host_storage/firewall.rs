//! HostFirewallSystem `EnableRuleset`/`DisableRuleset`: a ruleset's `enabled` flag in the
//! manager's `firewallInfo`, which is what `govc host.esxcli network firewall` and
//! `object.HostFirewallSystem.Info` read back.

use super::manager_host;
use crate::emulator::Emulator;
use crate::methods::Args;
use crate::vmodl::{Fault, MoRef, Value};

/// Longest ruleset id accepted (ESXi's are short names such as `sshServer`).
const RULESET_ID_MAX: usize = 256;

/// Sets ruleset `id`'s `enabled` flag on a connected host's firewall; `NotFound` for an id
/// the host has no ruleset for, as ESXi answers.
pub(super) fn set_enabled(
    emu: &mut Emulator,
    fw: &MoRef,
    args: &Args<'_>,
    enabled: bool,
) -> Result<Option<Value>, Fault> {
    let id = args.text("id")?.trim();
    if id.is_empty() || id.len() > RULESET_ID_MAX {
        return Err(Fault::invalid_argument("id"));
    }
    manager_host(emu, "firewallSystem", fw)?;
    let known = emu
        .inv
        .prop(fw, "firewallInfo")
        .and_then(|i| i.field("ruleset"))
        .is_some_and(|r| {
            r.items()
                .iter()
                .any(|s| s.field("key").and_then(Value::as_str) == Some(id))
        });
    if !known {
        return Err(Fault::not_found_plain(format!(
            "The object or item referred to could not be found: ruleset {id}"
        )));
    }
    emu.inv.update(fw, |o| {
        let rulesets = o
            .props
            .get_mut("firewallInfo")
            .and_then(Value::as_data_mut)
            .and_then(|i| i.get_mut("ruleset"))
            .and_then(Value::items_mut);
        for s in rulesets.into_iter().flatten() {
            if let Some(d) = s.as_data_mut()
                && d.get("key").and_then(Value::as_str) == Some(id)
            {
                d.set("enabled", Value::Bool(enabled));
            }
        }
    })?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use crate::config::Flavor;
    use crate::methods::search_index::harness::H;
    use crate::vmodl::{MoRef, Value};

    fn enabled(h: &H, fw: &MoRef, id: &str) -> Option<bool> {
        h.emu
            .inv
            .prop(fw, "firewallInfo")?
            .field("ruleset")?
            .items()
            .iter()
            .find(|s| s.field("key").and_then(Value::as_str) == Some(id))?
            .field("enabled")?
            .as_bool()
    }

    #[test]
    fn rulesets_turn_off_and_on() {
        let mut h = H::new(Flavor::VirtualCenter);
        let host = h.find("HostSystem", "DC0_H0");
        let fw = h
            .emu
            .inv
            .prop(&host, "configManager")
            .and_then(|c| c.field("firewallSystem"))
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        h.call("DisableRuleset", &fw, "<id>nfsClient</id>").unwrap();
        assert_eq!(enabled(&h, &fw, "nfsClient"), Some(false));
        assert_eq!(enabled(&h, &fw, "dns"), Some(true));
        h.call("EnableRuleset", &fw, "<id>nfsClient</id>").unwrap();
        assert_eq!(enabled(&h, &fw, "nfsClient"), Some(true));
        let err = h.call("EnableRuleset", &fw, "<id>noSuchRuleset</id>");
        assert_eq!(err.unwrap_err().ty, "NotFound");
        assert_eq!(
            h.call("EnableRuleset", &fw, "").unwrap_err().ty,
            "InvalidArgument"
        );
        h.call("RefreshFirewall", &fw, "").unwrap();
    }
}
