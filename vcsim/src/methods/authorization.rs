//! AuthorizationManager: DisableMethods / EnableMethods (the internal API vCenter solutions
//! use to protect the VMs they manage: VIC disables `Destroy_Task` on its VMs with source
//! `VIC`); HasPrivilegeOnEntities is in `host_storage::privileges` with the other
//! privilege checks.
//!
//! Disabled methods are recorded in `Emulator::disabled_methods` (entity → (method,
//! source)), which `Emulator::check_enabled` consults, and shown in each entity's
//! `disabledMethod` property as vCenter does. The emulator has one user, an administrator,
//! so every privilege is granted.

use super::Args;
use crate::emulator::Emulator;
use crate::soap::Element;
use crate::vmodl::{Fault, MoRef, Value, is_a};
use std::collections::BTreeSet;

/// Most (method, source) entries per entity.
pub const DISABLED_PER_ENTITY_MAX: usize = 256;

/// Most entities or privileges in one call.
pub(super) const MAX_ITEMS: usize = 10_000;

/// Longest method name, source id or privilege id.
pub(super) const MAX_NAME: usize = 256;

/// Above this many entries, entries of entities that no longer exist are dropped.
pub const DISABLED_PRUNE_AT: usize = 4096;

/// The entities of a call: present, bounded, all existing (checked before anything
/// changes, so a call either applies to all of them or to none).
pub(crate) fn entities(
    emu: &Emulator,
    args: &Args<'_>,
    name: &'static str,
) -> Result<Vec<MoRef>, Fault> {
    let refs = args.morefs(name);
    if refs.is_empty() || refs.len() > MAX_ITEMS {
        return Err(Fault::invalid_argument(name));
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
    // Pruning scans the inventory: only when the map has doubled since the last prune left
    // it, so thousands of live containerVMs (VIC disables methods on each) do not make every
    // call a scan.
    if emu.disabled_methods.len() <= emu.disabled_prune_at {
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
    emu.disabled_prune_at = (emu.disabled_methods.len() * 2).max(DISABLED_PRUNE_AT);
}

/// `DisableMethods(entity[], method[], sourceId, sessionScope?)`: the methods fail with
/// `MethodDisabled` on those entities until the same source enables them again.
pub fn disable_methods(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let targets = entities(emu, args, "entity")?;
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
    let targets = entities(emu, args, "entity")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    // The role tests call the permissions module's handlers directly.
    use crate::methods::permissions::{add_role, role_id_of, roles, update_role};
    use crate::soap::parse_document;

    #[test]
    fn method_names_come_in_both_shapes() {
        let el = parse_document("<method><method>Destroy_Task</method><reasonId>Managed by VIC Engine</reasonId></method>")
            .unwrap();
        assert_eq!(method_name(&el), "Destroy_Task");
        let el = parse_document("<method> Destroy_Task </method>").unwrap();
        assert_eq!(method_name(&el), "Destroy_Task");
    }

    #[test]
    fn roles_are_renamed_and_given_new_privileges() {
        let mut emu = Emulator::new(crate::config::Config::default()).unwrap();
        let add = parse_document(
            "<r><name>ops</name><privIds>VirtualMachine.Interact.PowerOn</privIds></r>",
        )
        .unwrap();
        let id = add_role(&mut emu, &Args::new(&add))
            .unwrap()
            .and_then(|v| v.as_i64())
            .unwrap();
        let upd = parse_document(&format!(
            "<r><roleId>{id}</roleId><newName>ops2</newName><privIds>Folder.Create</privIds></r>"
        ))
        .unwrap();
        update_role(&mut emu, &Args::new(&upd)).unwrap();
        let role = roles(&emu)
            .into_iter()
            .find(|r| role_id_of(r) == Some(id))
            .unwrap();
        assert_eq!(role.field("name").and_then(Value::as_str), Some("ops2"));
        let privs: Vec<&str> = role
            .field("privilege")
            .unwrap()
            .items()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(privs.contains(&"Folder.Create"));
        assert!(!privs.contains(&"VirtualMachine.Interact.PowerOn"));
        // Renaming only keeps the privileges; system roles and other roles' names refuse.
        let rename = parse_document(&format!(
            "<r><roleId>{id}</roleId><newName>ops3</newName></r>"
        ))
        .unwrap();
        update_role(&mut emu, &Args::new(&rename)).unwrap();
        let sys = parse_document("<r><roleId>-1</roleId><newName>x</newName></r>").unwrap();
        assert_eq!(
            update_role(&mut emu, &Args::new(&sys)).unwrap_err().ty,
            "InvalidArgument"
        );
        let taken = parse_document(&format!(
            "<r><roleId>{id}</roleId><newName>Admin</newName></r>"
        ))
        .unwrap();
        assert_eq!(
            update_role(&mut emu, &Args::new(&taken)).unwrap_err().ty,
            "AlreadyExists"
        );
        let missing = parse_document("<r><roleId>4242</roleId><newName>x</newName></r>").unwrap();
        assert_eq!(
            update_role(&mut emu, &Args::new(&missing)).unwrap_err().ty,
            "NotFound"
        );
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
    fn the_sessions_user_holds_the_privileges_of_its_roles() {
        let mut h = H::new(Flavor::VirtualCenter);
        let am = h.emu.refs.authorization_manager.clone();
        let dc = h.find("Datacenter", "DC0");
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let query = |session: &str| {
            format!(
                "{}{}<sessionId>{session}</sessionId><privId>System.View</privId><privId>VirtualMachine.Interact.PowerOn</privId>",
                mo("entity", &dc),
                mo("entity", &vm)
            )
        };
        // The logged-in administrator holds every privilege.
        let key = h.ctx.session.clone().expect("logged in");
        let r = h
            .call("HasPrivilegeOnEntities", &am, &query(&key))
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
        // A session that does not exist holds none.
        let r = h
            .call("HasPrivilegeOnEntities", &am, &query("no-such-session"))
            .unwrap()
            .unwrap();
        assert!(r.items().iter().all(|e| {
            e.field("privAvailability")
                .unwrap()
                .items()
                .iter()
                .all(|a| a.field("isGranted") == Some(&Value::Bool(false)))
        }));
    }
}
