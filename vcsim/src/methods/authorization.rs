//! AuthorizationManager: DisableMethods / EnableMethods (the internal API vCenter solutions
//! use to protect the VMs they manage: VIC disables `Destroy_Task` on its VMs with source
//! `VIC`) and HasPrivilegeOnEntities.
//!
//! Disabled methods are recorded in `Emulator::disabled_methods` (entity → (method,
//! source)), which `Emulator::check_enabled` consults, and shown in each entity's
//! `disabledMethod` property as vCenter does. The emulator has one user, an administrator,
//! so every privilege is granted.

use super::Args;
use crate::emulator::Emulator;
use crate::soap::Element;
use crate::vmodl::{DataObject, Fault, MoRef, Value, is_a};
use std::collections::BTreeSet;

/// Most (method, source) entries per entity.
pub const DISABLED_PER_ENTITY_MAX: usize = 256;

/// Most entities or privileges in one call.
const MAX_ITEMS: usize = 10_000;

/// Longest method name, source id or privilege id.
const MAX_NAME: usize = 256;

/// Above this many entries, entries of entities that no longer exist are dropped.
const PRUNE_AT: usize = 4096;

/// The entities of a call: present, bounded, all existing (checked before anything
/// changes, so a call either applies to all of them or to none).
fn entities(emu: &Emulator, args: &Args<'_>) -> Result<Vec<MoRef>, Fault> {
    let refs = args.morefs("entity");
    if refs.is_empty() || refs.len() > MAX_ITEMS {
        return Err(Fault::invalid_argument("entity"));
    }
    for r in &refs {
        emu.inv.get(r)?;
    }
    Ok(refs)
}

/// A method name from a `method` element: govmomi sends `DisabledMethodRequest { method,
/// reasonId }` to DisableMethods, plain `MethodName` text to EnableMethods; both are read.
fn method_name(el: &Element) -> &str {
    el.child_text("method").unwrap_or_else(|| el.text.trim())
}

/// The method names of a call, bounded and non-empty.
fn methods(args: &Args<'_>) -> Result<Vec<String>, Fault> {
    let names: Vec<String> = args
        .elements("method")
        .map(|el| method_name(el).to_owned())
        .collect();
    if names.is_empty()
        || names.len() > MAX_ITEMS
        || names.iter().any(|n| n.is_empty() || n.len() > MAX_NAME)
    {
        return Err(Fault::invalid_argument("method"));
    }
    Ok(names)
}

/// The `sourceId` of a call.
fn source(args: &Args<'_>) -> Result<String, Fault> {
    let s = args.opt_text("sourceId").unwrap_or("");
    if s.len() > MAX_NAME {
        return Err(Fault::invalid_argument("sourceId"));
    }
    Ok(s.to_owned())
}

/// Adds or drops `method` in an entity's `disabledMethod` (entities only: the property is
/// `ManagedEntity`'s). Other entries, such as ones the inventory starts with, stay.
fn show(emu: &mut Emulator, entity: &MoRef, method: &str, disabled: bool) -> Result<(), Fault> {
    let ty = emu.inv.get(entity)?.moref.ty.clone();
    if !is_a(&ty, "ManagedEntity") {
        return Ok(());
    }
    emu.inv.update(entity, |o| {
        let mut list: Vec<String> = o
            .get("disabledMethod")
            .map(|v| {
                v.items()
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let present = list.iter().any(|m| m == method);
        if disabled && !present {
            list.push(method.to_owned());
        } else if !disabled && present {
            list.retain(|m| m != method);
        }
        if list.is_empty() {
            o.props.remove("disabledMethod");
        } else {
            o.props
                .insert("disabledMethod".into(), Value::strings(list));
        }
    })
}

/// Drops entries of entities that no longer exist, once the map has grown.
fn prune(emu: &mut Emulator) {
    if emu.disabled_methods.len() <= PRUNE_AT {
        return;
    }
    let live: BTreeSet<&str> = emu.inv.iter().map(|o| o.moref.value.as_str()).collect();
    let gone: Vec<String> = emu
        .disabled_methods
        .keys()
        .filter(|k| !live.contains(k.as_str()))
        .cloned()
        .collect();
    for k in gone {
        emu.disabled_methods.remove(&k);
    }
}

/// `DisableMethods(entity[], method[], sourceId, sessionScope?)`: the methods fail with
/// `MethodDisabled` on those entities until the same source enables them again.
pub fn disable_methods(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let targets = entities(emu, args)?;
    let methods = methods(args)?;
    let source = source(args)?;
    for e in &targets {
        let have = emu.disabled_methods.get(&e.value);
        let new = methods
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|m| !have.is_some_and(|l| l.iter().any(|(hm, hs)| hm == *m && *hs == source)))
            .count();
        if have.map_or(0, Vec::len) + new > DISABLED_PER_ENTITY_MAX {
            return Err(Fault::invalid_argument("method"));
        }
    }
    for e in &targets {
        for m in &methods {
            let list = emu.disabled_methods.entry(e.value.clone()).or_default();
            if !list.iter().any(|(hm, hs)| hm == m && *hs == source) {
                list.push((m.clone(), source.clone()));
            }
            show(emu, e, m, true)?;
        }
    }
    prune(emu);
    Ok(None)
}

/// `EnableMethods(entity[], method[], sourceId)`: lifts what that source disabled (any
/// source when none is named); a method stays disabled while another source holds it.
pub fn enable_methods(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let targets = entities(emu, args)?;
    let methods = methods(args)?;
    let source = source(args)?;
    for e in &targets {
        for m in &methods {
            let still = match emu.disabled_methods.get_mut(&e.value) {
                Some(list) => {
                    list.retain(|(hm, hs)| !(hm == m && (source.is_empty() || *hs == source)));
                    list.iter().any(|(hm, _)| hm == m)
                }
                None => false,
            };
            if emu
                .disabled_methods
                .get(&e.value)
                .is_some_and(Vec::is_empty)
            {
                emu.disabled_methods.remove(&e.value);
            }
            if !still {
                show(emu, e, m, false)?;
            }
        }
    }
    Ok(None)
}

/// `HasPrivilegeOnEntities(entity[], sessionId, privId[])`: every privilege is granted (the
/// only user is an administrator), one `EntityPrivilege` per entity in request order.
pub fn has_privilege_on_entities(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let targets = entities(emu, args)?;
    args.text("sessionId")?;
    let privs = args.texts("privId");
    if privs.len() > MAX_ITEMS || privs.iter().any(|p| p.len() > MAX_NAME) {
        return Err(Fault::invalid_argument("privId"));
    }
    let result = targets
        .iter()
        .map(|e| {
            let avail = privs
                .iter()
                .map(|p| {
                    DataObject::new("PrivilegeAvailability")
                        .with("privId", Value::str(*p))
                        .with("isGranted", Value::Bool(true))
                        .into_value()
                })
                .collect();
            DataObject::new("EntityPrivilege")
                .with("entity", Value::moref(e))
                .with(
                    "privAvailability",
                    Value::array("PrivilegeAvailability", avail),
                )
                .into_value()
        })
        .collect();
    Ok(Some(Value::array("EntityPrivilege", result)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::parse_document;

    #[test]
    fn method_names_come_in_both_shapes() {
        let el = parse_document("<method><method>Destroy_Task</method><reasonId>Managed by VIC Engine</reasonId></method>")
            .unwrap();
        assert_eq!(method_name(&el), "Destroy_Task");
        let el = parse_document("<method> Destroy_Task </method>").unwrap();
        assert_eq!(method_name(&el), "Destroy_Task");
    }

    use super::super::search_index::harness::{H, mo};
    use crate::config::Flavor;

    #[test]
    fn vic_protects_its_vms_from_destroy() {
        let mut h = H::new(Flavor::VirtualCenter);
        let am = h.emu.refs.authorization_manager.clone();
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        h.task("PowerOffVM_Task", &vm, "").unwrap();
        let body = format!(
            "{}<method><method>Destroy_Task</method><reasonId>Managed by VIC Engine</reasonId></method><sourceId>VIC</sourceId>",
            mo("entity", &vm)
        );
        h.call("DisableMethods", &am, &body).unwrap();
        h.call("DisableMethods", &am, &body).unwrap();
        assert_eq!(h.emu.disabled_methods.get(&vm.value).map(Vec::len), Some(1));
        let shown = h.emu.inv.prop(&vm, "disabledMethod").unwrap();
        assert_eq!(shown.items(), &[Value::str("Destroy_Task")]);
        assert!(
            h.task("Destroy_Task", &vm, "")
                .unwrap_err()
                .starts_with("MethodDisabled")
        );

        // Another source does not lift VIC's disable.
        let other = format!(
            "{}<method>Destroy_Task</method><sourceId>other</sourceId>",
            mo("entity", &vm)
        );
        h.call("EnableMethods", &am, &other).unwrap();
        assert!(
            h.task("Destroy_Task", &vm, "")
                .unwrap_err()
                .starts_with("MethodDisabled")
        );
        let enable = format!(
            "{}<method>Destroy_Task</method><sourceId>VIC</sourceId>",
            mo("entity", &vm)
        );
        h.call("EnableMethods", &am, &enable).unwrap();
        assert!(h.emu.inv.prop(&vm, "disabledMethod").is_none());
        assert!(!h.emu.disabled_methods.contains_key(&vm.value));
        h.task("Destroy_Task", &vm, "").unwrap();

        let gone = format!(
            "{}<method>Destroy_Task</method><sourceId>VIC</sourceId>",
            mo("entity", &vm)
        );
        assert_eq!(
            h.call("DisableMethods", &am, &gone).unwrap_err().ty,
            "ManagedObjectNotFound"
        );
        assert_eq!(
            h.call("DisableMethods", &am, "<sourceId>VIC</sourceId>")
                .unwrap_err()
                .ty,
            "InvalidArgument"
        );
    }

    #[test]
    fn the_administrator_holds_every_privilege() {
        let mut h = H::new(Flavor::VirtualCenter);
        let am = h.emu.refs.authorization_manager.clone();
        let dc = h.find("Datacenter", "DC0");
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let body = format!(
            "{}{}<sessionId>s</sessionId><privId>System.View</privId><privId>VirtualMachine.Interact.PowerOn</privId>",
            mo("entity", &dc),
            mo("entity", &vm)
        );
        let r = h
            .call("HasPrivilegeOnEntities", &am, &body)
            .unwrap()
            .unwrap();
        let items = r.items();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].field("entity").and_then(Value::as_moref),
            Some(&vm)
        );
        let avail = items[0].field("privAvailability").unwrap().items();
        assert_eq!(avail.len(), 2);
        assert!(
            avail
                .iter()
                .all(|a| a.field("isGranted") == Some(&Value::Bool(true)))
        );
        assert_eq!(avail[1].xsi_type(), "PrivilegeAvailability");
    }
}
