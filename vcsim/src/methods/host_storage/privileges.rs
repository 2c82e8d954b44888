//! AuthorizationManager `FetchUserPrivilegeOnEntities`, `HasPrivilegeOnEntity` and
//! `HasUserPrivilegeOnEntities`, and the SessionManager's `LoginExtensionByCertificate` and
//! `AcquireGenericServiceTicket`.
//!
//! Privileges are evaluated from the permissions `SetEntityPermissions` keeps
//! (`Emulator::permissions`) and the roles of `roleList`, as vCenter does: the permissions
//! nearest the entity decide (on the entity itself, or propagating from the closest ancestor
//! that has any for the user), a user's own permission there beats its groups', and the
//! privileges are those of the roles granted. The Admin role holds every privilege. The
//! configured user belongs to the `Administrators` group (as `RetrieveUserGroups` reports).

use crate::emulator::Emulator;
use crate::methods::Args;
use crate::methods::authorization::entities;
use crate::methods::permissions::{role_id_of, roles};
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeSet;

/// Most entities or privilege ids in one call.
const ITEMS_MAX: usize = 10_000;

/// Longest user name or privilege id.
const NAME_MAX: usize = 256;

/// Deepest ancestor chain walked (inventories are a handful of levels deep).
const DEPTH_MAX: usize = 64;

/// The Admin system role's id.
const ADMIN_ROLE: i64 = -1;

/// A principal without its domain (`VSPHERE.LOCAL\user`, `user@vsphere.local` → `user`).
fn bare(principal: &str) -> &str {
    let p = principal.rsplit('\\').next().unwrap_or(principal);
    p.split('@').next().unwrap_or(p)
}

/// Whether `principal` names `user`: exactly, or without the domains (case-insensitive).
fn same_principal(principal: &str, user: &str) -> bool {
    principal.eq_ignore_ascii_case(user) || bare(principal).eq_ignore_ascii_case(bare(user))
}

/// The entity and its ancestors, nearest first, ending at the root folder (objects outside
/// the tree, such as managers, are judged by the root folder's permissions).
fn chain(emu: &Emulator, entity: &MoRef) -> Vec<MoRef> {
    let mut out = vec![entity.clone()];
    let mut cur = entity.clone();
    for _ in 0..DEPTH_MAX {
        match emu.inv.lookup(&cur).and_then(|o| o.parent()) {
            Some(p) => {
                out.push(p.clone());
                cur = p.clone();
            }
            None => break,
        }
    }
    let root = emu.root_folder().clone();
    if !out.contains(&root) {
        out.push(root);
    }
    out
}

/// The privileges `user` holds on `entity`.
pub(crate) fn effective_privileges(emu: &Emulator, user: &str, entity: &MoRef) -> BTreeSet<String> {
    // The configured user is an administrator; so is anyone who logs in where any login is
    // accepted (vcsim's default), as vcsim authorizes every call.
    let in_group = |g: &str| {
        bare(g).eq_ignore_ascii_case("Administrators")
            && (emu.config.any_login || same_principal(&emu.config.username, user))
    };
    for (depth, level) in chain(emu, entity).iter().enumerate() {
        let here: Vec<_> = emu
            .permissions
            .iter()
            .filter(|p| &p.entity == level && (depth == 0 || p.propagate))
            .collect();
        let own: Vec<i64> = here
            .iter()
            .filter(|p| !p.group && same_principal(&p.principal, user))
            .map(|p| p.role_id)
            .collect();
        let granted = if own.is_empty() {
            here.iter()
                .filter(|p| p.group && in_group(&p.principal))
                .map(|p| p.role_id)
                .collect()
        } else {
            own
        };
        if !granted.is_empty() {
            return role_privileges(emu, &granted);
        }
    }
    BTreeSet::new()
}

/// The union of the privileges of roles `ids` (every known privilege for Admin).
fn role_privileges(emu: &Emulator, ids: &[i64]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if ids.contains(&ADMIN_ROLE) {
        let all = emu
            .inv
            .prop(&emu.refs.authorization_manager, "privilegeList")
            .map(|v| v.items().to_vec())
            .unwrap_or_default();
        out.extend(
            all.iter()
                .filter_map(|p| p.field("privId").and_then(Value::as_str))
                .map(str::to_owned),
        );
    }
    for role in roles(emu) {
        if role_id_of(&role).is_some_and(|id| ids.contains(&id))
            && let Some(privs) = role.field("privilege")
        {
            out.extend(
                privs
                    .items()
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned),
            );
        }
    }
    out
}

/// A bounded, non-empty user name.
fn user_name(args: &Args<'_>) -> Result<String, Fault> {
    let u = args.text("userName")?.trim();
    if u.is_empty() || u.len() > NAME_MAX {
        return Err(Fault::invalid_argument("userName"));
    }
    Ok(u.to_owned())
}

/// The `privId` list, bounded.
fn priv_ids<'a>(args: &Args<'a>) -> Result<Vec<&'a str>, Fault> {
    let ids = args.texts("privId");
    if ids.len() > ITEMS_MAX || ids.iter().any(|p| p.len() > NAME_MAX) {
        return Err(Fault::invalid_argument("privId"));
    }
    Ok(ids)
}

/// `FetchUserPrivilegeOnEntities(entities[], userName)`: one `UserPrivilegeResult` per
/// entity, in request order.
pub(super) fn fetch_user_privileges(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let targets = entities(emu, args, "entities")?;
    let user = user_name(args)?;
    let out = targets
        .iter()
        .map(|e| {
            DataObject::new("UserPrivilegeResult")
                .with("entity", Value::moref(e))
                .with(
                    "privileges",
                    Value::strings(effective_privileges(emu, &user, e)),
                )
                .into_value()
        })
        .collect();
    Ok(Some(Value::array("UserPrivilegeResult", out)))
}

/// `HasUserPrivilegeOnEntities(entities[], userName, privId[])`: one `EntityPrivilege` per
/// entity with each privilege's availability.
pub(super) fn has_user_privilege(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let targets = entities(emu, args, "entities")?;
    let user = user_name(args)?;
    let ids = priv_ids(args)?;
    Ok(Some(entity_privileges(emu, Some(&user), &targets, &ids)))
}

/// `HasPrivilegeOnEntities(entity[], sessionId, privId[])`: per entity, whether the
/// session's user holds each privilege; a session that does not exist holds none.
pub(crate) fn has_privilege_on_entities(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let targets = entities(emu, args, "entity")?;
    let session = args.text("sessionId")?;
    let ids = priv_ids(args)?;
    let user = emu.sessions.get(session.trim()).map(|s| s.user.clone());
    Ok(Some(entity_privileges(
        emu,
        user.as_deref(),
        &targets,
        &ids,
    )))
}

/// The `EntityPrivilege` array: for each of `targets`, whether `user` (none: nobody) holds
/// each of `ids`.
fn entity_privileges(emu: &Emulator, user: Option<&str>, targets: &[MoRef], ids: &[&str]) -> Value {
    let out = targets
        .iter()
        .map(|e| {
            let held = user
                .map(|u| effective_privileges(emu, u, e))
                .unwrap_or_default();
            let avail = ids
                .iter()
                .map(|p| {
                    DataObject::new("PrivilegeAvailability")
                        .with("privId", Value::str(*p))
                        .with("isGranted", Value::Bool(held.contains(*p)))
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
    Value::array("EntityPrivilege", out)
}

/// `HasPrivilegeOnEntity(entity, sessionId, privId[])`: whether the session's user holds
/// each privilege; a session that does not exist holds none.
pub(super) fn has_privilege_on_entity(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let entity = entities(emu, args, "entity")?
        .into_iter()
        .next()
        .ok_or_else(|| Fault::invalid_argument("entity"))?;
    let session = args.text("sessionId")?;
    let ids = priv_ids(args)?;
    let held = match emu.sessions.get(session.trim()) {
        Some(s) => effective_privileges(emu, &s.user, &entity),
        None => BTreeSet::new(),
    };
    let out = ids.iter().map(|p| Value::Bool(held.contains(*p))).collect();
    Ok(Some(Value::array("boolean", out)))
}

/// `LoginExtensionByCertificate`'s answer: the certificate a client presents during the TLS
/// handshake does not reach the SOAP layer, so every call is answered as one made without a
/// certificate (vCenter's and vcsim's `NoClientCertificate`).
pub(super) fn no_client_certificate() -> Fault {
    Fault::new(
        "NoClientCertificate",
        "A client certificate is required for this operation.",
    )
}

/// Longest URL a generic service ticket may be asked for.
const URL_MAX: usize = 8192;

/// `AcquireGenericServiceTicket(spec)`: a one-off ticket for an HTTP service of the server
/// (`SessionManagerHttpServiceRequestSpec { method?, url }`), with the URL's host name.
pub(super) fn generic_service_ticket(args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let url = spec.child_text("url").map(str::trim).unwrap_or("");
    if url.len() > URL_MAX {
        return Err(Fault::invalid_argument("spec.url"));
    }
    let is_http = spec.xsi_type.as_deref() == Some("SessionManagerHttpServiceRequestSpec");
    if is_http && url.is_empty() {
        return Err(Fault::invalid_argument("spec.url"));
    }
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.split(['/', '?']).next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority))
        .map(|hp| match hp.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => hp.split(':').next().unwrap_or(hp),
        })
        .filter(|h| !h.is_empty());
    let id = crate::secret::clone_ticket().map_err(|e| Fault::new("SystemError", e.to_string()))?;
    let ticket = DataObject::new("SessionManagerGenericServiceTicket")
        .with("id", Value::str(id))
        .with_opt("hostName", host.map(Value::str));
    Ok(Some(ticket.into_value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Flavor;
    use crate::methods::search_index::harness::{H, mo};

    #[test]
    fn principals_match_with_or_without_domains() {
        assert!(same_principal(
            "VSPHERE.LOCAL\\alice",
            "alice@vsphere.local"
        ));
        assert!(same_principal("Alice", "alice"));
        assert!(!same_principal("bob", "alice"));
    }

    #[test]
    fn nearest_permission_decides() {
        let mut h = H::new(Flavor::VirtualCenter);
        let am = h.emu.refs.authorization_manager.clone();
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let dc = h.find("Datacenter", "DC0");
        let user = h.emu.config.username.clone();
        // The configured user is an administrator everywhere.
        let body = format!("{}<userName>{user}</userName>", mo("entities", &vm));
        let r = h
            .call("FetchUserPrivilegeOnEntities", &am, &body)
            .unwrap()
            .unwrap();
        let privs = r.items()[0].field("privileges").unwrap().items().to_vec();
        assert!(privs.contains(&Value::str("VirtualMachine.Interact.PowerOn")));
        // A read-only user on the datacenter reads the VM below it but cannot power it on.
        let set = format!(
            "{}<permission><principal>carol</principal><group>false</group><roleId>-2</roleId>\
             <propagate>true</propagate></permission>",
            mo("entity", &dc)
        );
        h.call("SetEntityPermissions", &am, &set).unwrap();
        let body = format!(
            "{}<userName>carol</userName><privId>System.Read</privId>\
             <privId>VirtualMachine.Interact.PowerOn</privId>",
            mo("entities", &vm)
        );
        let r = h
            .call("HasUserPrivilegeOnEntities", &am, &body)
            .unwrap()
            .unwrap();
        let avail: Vec<Option<bool>> = r.items()[0]
            .field("privAvailability")
            .unwrap()
            .items()
            .iter()
            .map(|a| a.field("isGranted").and_then(Value::as_bool))
            .collect();
        assert_eq!(avail, [Some(true), Some(false)]);
        // Nobody else holds anything.
        let body = format!("{}<userName>mallory</userName>", mo("entities", &vm));
        let r = h
            .call("FetchUserPrivilegeOnEntities", &am, &body)
            .unwrap()
            .unwrap();
        assert!(r.items()[0].field("privileges").unwrap().items().is_empty());
        let gone = MoRef::new("VirtualMachine", "vm-99999");
        let body = format!("{}<userName>carol</userName>", mo("entities", &gone));
        let err = h
            .call("FetchUserPrivilegeOnEntities", &am, &body)
            .unwrap_err();
        assert_eq!(err.ty, "ManagedObjectNotFound");
    }

    #[test]
    fn session_privileges_and_tickets() {
        let mut h = H::new(Flavor::VirtualCenter);
        let am = h.emu.refs.authorization_manager.clone();
        let sm = h.emu.refs.session_manager.clone();
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let key = h.emu.sessions.iter().next().unwrap().key.clone();
        let body = |k: &str| {
            format!(
                "{}<sessionId>{k}</sessionId><privId>System.View</privId><privId>No.Such</privId>",
                mo("entity", &vm)
            )
        };
        let r = h
            .call("HasPrivilegeOnEntity", &am, &body(&key))
            .unwrap()
            .unwrap();
        assert_eq!(r.items(), &[Value::Bool(true), Value::Bool(false)]);
        let r = h
            .call("HasPrivilegeOnEntity", &am, &body("nope"))
            .unwrap()
            .unwrap();
        assert_eq!(r.items(), &[Value::Bool(false), Value::Bool(false)]);
        let spec = "<spec xsi:type=\"SessionManagerHttpServiceRequestSpec\">\
                    <method>httpGet</method><url>https://vc.example.com:443/folder</url></spec>";
        let t = h
            .call("AcquireGenericServiceTicket", &sm, spec)
            .unwrap()
            .unwrap();
        assert_eq!(
            t.field("hostName").and_then(Value::as_str),
            Some("vc.example.com")
        );
        assert!(
            t.field("id")
                .and_then(Value::as_str)
                .is_some_and(|i| i.len() > 30)
        );
        let err = h.call(
            "LoginExtensionByCertificate",
            &sm,
            "<extensionKey>x</extensionKey>",
        );
        assert_eq!(err.unwrap_err().ty, "NoClientCertificate");
    }
}
