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
use crate::vmodl::{DataObject, Fault, MoRef, Value, is_a};
use std::collections::BTreeSet;

/// Most (method, source) entries per entity.
pub const DISABLED_PER_ENTITY_MAX: usize = 256;

/// Most entities or privileges in one call.
const MAX_ITEMS: usize = 10_000;

/// Longest method name, source id or privilege id.
const MAX_NAME: usize = 256;

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

/// Most permissions and custom roles the manager holds (bounds on what clients can add).
pub const PERMISSIONS_MAX: usize = 10_000;
/// Most roles (system roles included).
pub const ROLES_MAX: usize = 1024;
/// The first id given to a role a client adds.
const FIRST_CUSTOM_ROLE: i64 = 1000;

/// One permission: a principal holding a role on an entity.
#[derive(Clone, Debug, PartialEq)]
pub struct PermissionEntry {
    /// The entity.
    pub entity: MoRef,
    /// User or group name.
    pub principal: String,
    /// Whether `principal` is a group.
    pub group: bool,
    /// The role.
    pub role_id: i64,
    /// Whether it applies to the entity's descendants.
    pub propagate: bool,
}

impl PermissionEntry {
    /// As a `Permission` data object.
    pub fn to_value(&self) -> Value {
        DataObject::new("Permission")
            .with("entity", Value::moref(&self.entity))
            .with("principal", Value::str(self.principal.clone()))
            .with("group", Value::Bool(self.group))
            .with("roleId", Value::Int(self.role_id as i32))
            .with("propagate", Value::Bool(self.propagate))
            .into_value()
    }
}

/// vCenter's system roles: (id, name, privileges).
const SYSTEM_ROLES: &[(i64, &str, &str, &[&str])] = &[
    (-5, "NoAccess", "No access", &[]),
    (-4, "Anonymous", "Anonymous", &["System.Anonymous"]),
    (-3, "View", "View", &["System.Anonymous", "System.View"]),
    (
        -2,
        "ReadOnly",
        "Read-only",
        &["System.Anonymous", "System.Read", "System.View"],
    ),
    (
        -1,
        "Admin",
        "Administrator",
        &[
            "System.Anonymous",
            "System.Read",
            "System.View",
            "Datacenter.Create",
            "Folder.Create",
            "Host.Inventory.AddHostToCluster",
            "Host.Config.Maintenance",
            "Network.Assign",
            "Resource.AssignVMToPool",
            "VirtualMachine.Interact.PowerOn",
            "VirtualMachine.Interact.PowerOff",
            "VirtualMachine.Inventory.Create",
            "VirtualMachine.Inventory.Delete",
            "VirtualMachine.Inventory.Register",
            "VirtualMachine.Config.Settings",
            "Datastore.AllocateSpace",
            "Datastore.FileManagement",
            "Authorization.ModifyPermissions",
            "Authorization.ModifyRoles",
            "Global.SetCustomField",
            "Global.ManageCustomFields",
            "Sessions.TerminateSession",
        ],
    ),
];

fn role_value(id: i64, system: bool, name: &str, label: &str, privs: &[String]) -> Value {
    DataObject::new("AuthorizationRole")
        .with("roleId", Value::Int(id as i32))
        .with("system", Value::Bool(system))
        .with("name", Value::str(name))
        .with(
            "info",
            DataObject::new("Description")
                .with("label", Value::str(label))
                .with("summary", Value::str(label))
                .into_value(),
        )
        .with("privilege", Value::strings(privs.iter().cloned()))
        .into_value()
}

/// Seeds the AuthorizationManager: vCenter's system roles, their privileges, and an Admin
/// permission on the root folder for the configured user.
pub fn seed_permissions(emu: &mut Emulator) {
    let mut privileges = BTreeSet::new();
    let roles: Vec<Value> = SYSTEM_ROLES
        .iter()
        .map(|(id, name, label, privs)| {
            let privs: Vec<String> = privs.iter().map(|p| (*p).to_owned()).collect();
            privileges.extend(privs.iter().cloned());
            role_value(*id, true, name, label, &privs)
        })
        .collect();
    let privilege_list: Vec<Value> = privileges
        .iter()
        .map(|p| {
            let group = p.rsplit_once('.').map(|(g, _)| g).unwrap_or(p);
            DataObject::new("AuthorizationPrivilege")
                .with("privId", Value::str(p.clone()))
                .with("onParent", Value::Bool(false))
                .with("name", Value::str(p.clone()))
                .with("privGroupName", Value::str(group))
                .into_value()
        })
        .collect();
    let am = emu.refs.authorization_manager.clone();
    let _ = emu.inv.update(&am, |o| {
        o.props
            .insert("roleList".into(), Value::array("AuthorizationRole", roles));
        o.props.insert(
            "privilegeList".into(),
            Value::array("AuthorizationPrivilege", privilege_list),
        );
    });
    let root = emu.refs.root_folder.clone();
    emu.permissions.push(PermissionEntry {
        entity: root.clone(),
        principal: emu.config.username.clone(),
        group: false,
        role_id: -1,
        propagate: true,
    });
    show_permissions(emu, &root);
}

/// Keeps an entity's `permission` property in step with the permissions on it.
fn show_permissions(emu: &mut Emulator, entity: &MoRef) {
    let list: Vec<Value> = emu
        .permissions
        .iter()
        .filter(|p| p.entity == *entity)
        .map(PermissionEntry::to_value)
        .collect();
    let _ = emu.inv.update(entity, |o| {
        if list.is_empty() {
            o.props.remove("permission");
        } else {
            o.props
                .insert("permission".into(), Value::array("Permission", list));
        }
    });
}

pub(crate) fn roles(emu: &Emulator) -> Vec<Value> {
    emu.inv
        .prop(&emu.refs.authorization_manager, "roleList")
        .map(|v| v.items().to_vec())
        .unwrap_or_default()
}

pub(crate) fn role_id_of(v: &Value) -> Option<i64> {
    v.field("roleId").and_then(Value::as_i64)
}

fn role_exists(emu: &Emulator, id: i64) -> bool {
    roles(emu).iter().any(|r| role_id_of(r) == Some(id))
}

fn role_not_found(id: i64) -> Fault {
    Fault::not_found_plain(format!("The role {id} was not found"))
}

fn permission_values<'a>(it: impl Iterator<Item = &'a PermissionEntry>) -> Value {
    Value::array("Permission", it.map(PermissionEntry::to_value).collect())
}

/// `RetrieveAllPermissions`.
pub fn retrieve_all_permissions(emu: &mut Emulator) -> Result<Option<Value>, Fault> {
    emu.permissions.retain(|p| emu.inv.contains(&p.entity));
    Ok(Some(permission_values(emu.permissions.iter())))
}

/// `RetrieveEntityPermissions(entity, inherited)`: the entity's own permissions, plus the
/// propagating ones of its ancestors when `inherited`.
pub fn retrieve_entity_permissions(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let entity = args.moref("entity")?;
    emu.inv.get(&entity)?;
    let inherited = args.opt_bool("inherited")?.unwrap_or(false);
    let mut chain = vec![entity.clone()];
    if inherited {
        let mut cur = emu.inv.lookup(&entity).and_then(|o| o.parent().cloned());
        for _ in 0..64 {
            let Some(c) = cur else { break };
            cur = emu.inv.lookup(&c).and_then(|o| o.parent().cloned());
            chain.push(c);
        }
    }
    Ok(Some(permission_values(emu.permissions.iter().filter(
        |p| p.entity == entity || (chain.contains(&p.entity) && p.propagate),
    ))))
}

/// `RetrieveRolePermissions(roleId)`: `NotFound` for an unknown role.
pub fn retrieve_role_permissions(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let id = args
        .opt_i64("roleId")?
        .ok_or_else(|| Fault::invalid_argument("roleId"))?;
    if !role_exists(emu, id) {
        return Err(role_not_found(id));
    }
    Ok(Some(permission_values(
        emu.permissions.iter().filter(|p| p.role_id == id),
    )))
}

/// `SetEntityPermissions(entity, permission[])`: adds or replaces (per principal and
/// group flag) permissions on the entity. `NotFound` for an unknown role.
pub fn set_entity_permissions(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let entity = args.moref("entity")?;
    emu.inv.get(&entity)?;
    let mut new = Vec::new();
    for el in args.elements("permission") {
        let principal = el.child_text("principal").unwrap_or("").trim();
        if principal.is_empty() || principal.len() > MAX_NAME {
            return Err(Fault::invalid_argument("permission.principal"));
        }
        let flag = |n: &str| matches!(el.child_text(n), Some("true" | "1"));
        let role_id: i64 = el
            .child_text("roleId")
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| Fault::invalid_argument("permission.roleId"))?;
        if !role_exists(emu, role_id) {
            return Err(role_not_found(role_id));
        }
        new.push(PermissionEntry {
            entity: entity.clone(),
            principal: principal.to_owned(),
            group: flag("group"),
            role_id,
            propagate: flag("propagate"),
        });
    }
    if emu.permissions.len() + new.len() > PERMISSIONS_MAX {
        return Err(Fault::invalid_argument("permission"));
    }
    for p in new {
        match emu
            .permissions
            .iter_mut()
            .find(|q| q.entity == p.entity && q.principal == p.principal && q.group == p.group)
        {
            Some(q) => *q = p,
            None => emu.permissions.push(p),
        }
    }
    show_permissions(emu, &entity);
    Ok(None)
}

/// `RemoveEntityPermission(entity, user, isGroup)`: `NotFound` when no such permission.
pub fn remove_entity_permission(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let entity = args.moref("entity")?;
    emu.inv.get(&entity)?;
    let user = args.text("user")?;
    let group = args.opt_bool("isGroup")?.unwrap_or(false);
    let before = emu.permissions.len();
    emu.permissions
        .retain(|p| !(p.entity == entity && p.principal == user && p.group == group));
    if emu.permissions.len() == before {
        return Err(Fault::not_found_plain(format!(
            "No permission for {user} on {entity}"
        )));
    }
    show_permissions(emu, &entity);
    Ok(None)
}

/// `AddAuthorizationRole(name, privIds[])`: a custom role (ids from 1000); `AlreadyExists`
/// for a taken name, `InvalidName` for an empty or overlong one.
pub fn add_role(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.opt_text("name").unwrap_or("").trim();
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(
            Fault::new("InvalidName", format!("The name '{name}' is invalid."))
                .with("name", Value::str(name)),
        );
    }
    let privs: Vec<String> = args
        .texts("privIds")
        .into_iter()
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if privs.len() > MAX_ITEMS || privs.iter().any(|p| p.len() > MAX_NAME) {
        return Err(Fault::invalid_argument("privIds"));
    }
    let mut list = roles(emu);
    if list
        .iter()
        .any(|r| r.field("name").and_then(Value::as_str) == Some(name))
    {
        return Err(
            Fault::new("AlreadyExists", format!("The role {name} already exists"))
                .with("name", Value::str(name)),
        );
    }
    if list.len() >= ROLES_MAX {
        return Err(Fault::invalid_argument("name"));
    }
    let id = list
        .iter()
        .filter_map(role_id_of)
        .max()
        .unwrap_or(0)
        .max(FIRST_CUSTOM_ROLE - 1)
        + 1;
    // System.* privileges are implied by every role, as vCenter adds them.
    let mut all: BTreeSet<String> = ["System.Anonymous", "System.Read", "System.View"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    all.extend(privs);
    let all: Vec<String> = all.into_iter().collect();
    list.push(role_value(id, false, name, name, &all));
    let am = emu.refs.authorization_manager.clone();
    emu.inv
        .set(&am, "roleList", Value::array("AuthorizationRole", list))?;
    Ok(Some(Value::Int(id as i32)))
}

/// `UpdateAuthorizationRole(roleId, newName, privIds?)`: renames a custom role and, when
/// `privIds` is given, replaces its privileges (the System.* ones stay implied). `NotFound`
/// for an unknown role, `InvalidArgument` for a system role (vCenter's cannot change),
/// `InvalidName` for an empty or overlong name, `AlreadyExists` for another role's name.
pub fn update_role(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let id = args
        .opt_i64("roleId")?
        .ok_or_else(|| Fault::invalid_argument("roleId"))?;
    let name = args.opt_text("newName").unwrap_or("").trim();
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(
            Fault::new("InvalidName", format!("The name '{name}' is invalid."))
                .with("name", Value::str(name)),
        );
    }
    let privs: Option<Vec<String>> = args.element("privIds").map(|_| {
        args.texts("privIds")
            .into_iter()
            .map(str::to_owned)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    });
    if let Some(p) = &privs
        && (p.len() > MAX_ITEMS || p.iter().any(|p| p.len() > MAX_NAME))
    {
        return Err(Fault::invalid_argument("privIds"));
    }
    let mut list = roles(emu);
    let Some(pos) = list.iter().position(|r| role_id_of(r) == Some(id)) else {
        return Err(role_not_found(id));
    };
    if list[pos].field("system").and_then(Value::as_bool) == Some(true) {
        return Err(Fault::invalid_argument("roleId"));
    }
    if list
        .iter()
        .any(|r| role_id_of(r) != Some(id) && r.field("name").and_then(Value::as_str) == Some(name))
    {
        return Err(
            Fault::new("AlreadyExists", format!("The role {name} already exists"))
                .with("name", Value::str(name)),
        );
    }
    let all: Vec<String> = match privs {
        Some(p) => {
            let mut all: BTreeSet<String> = ["System.Anonymous", "System.Read", "System.View"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            all.extend(p);
            all.into_iter().collect()
        }
        None => list[pos]
            .field("privilege")
            .map(|v| {
                v.items()
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    };
    list[pos] = role_value(id, false, name, name, &all);
    let am = emu.refs.authorization_manager.clone();
    emu.inv
        .set(&am, "roleList", Value::array("AuthorizationRole", list))?;
    Ok(None)
}

/// `RemoveAuthorizationRole(roleId, failIfUsed)`: `NotFound` for an unknown role,
/// `InvalidArgument` for a system role, `RemoveFailed` when in use and `failIfUsed`
/// (otherwise its permissions go with it).
pub fn remove_role(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let id = args
        .opt_i64("roleId")?
        .ok_or_else(|| Fault::invalid_argument("roleId"))?;
    let fail_if_used = args.opt_bool("failIfUsed")?.unwrap_or(false);
    let mut list = roles(emu);
    let Some(pos) = list.iter().position(|r| role_id_of(r) == Some(id)) else {
        return Err(role_not_found(id));
    };
    if list[pos].field("system").and_then(Value::as_bool) == Some(true) {
        return Err(Fault::invalid_argument("roleId"));
    }
    let used: Vec<MoRef> = emu
        .permissions
        .iter()
        .filter(|p| p.role_id == id)
        .map(|p| p.entity.clone())
        .collect();
    if !used.is_empty() && fail_if_used {
        return Err(Fault::new(
            "RemoveFailed",
            format!("The role {id} is used by {} permissions", used.len()),
        ));
    }
    list.remove(pos);
    let am = emu.refs.authorization_manager.clone();
    emu.inv
        .set(&am, "roleList", Value::array("AuthorizationRole", list))?;
    emu.permissions.retain(|p| p.role_id != id);
    for e in used.iter().collect::<BTreeSet<_>>() {
        show_permissions(emu, e);
    }
    Ok(None)
}

/// `UserDirectory.RetrieveUserGroups(domain?, searchStr, belongsToGroup?, belongsToUser?,
/// exactMatch, findUsers, findGroups)`: the configured user and the `Administrators`
/// group it belongs to, matched by name (exactly or as a substring, case-insensitive).
pub fn retrieve_user_groups(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let search = args.opt_text("searchStr").unwrap_or("").to_lowercase();
    if search.len() > MAX_NAME {
        return Err(Fault::invalid_argument("searchStr"));
    }
    let exact = args.opt_bool("exactMatch")?.unwrap_or(false);
    let users = args.opt_bool("findUsers")?.unwrap_or(true);
    let groups = args.opt_bool("findGroups")?.unwrap_or(true);
    let in_group = args.opt_text("belongsToGroup").filter(|g| !g.is_empty());
    let of_user = args.opt_text("belongsToUser").filter(|u| !u.is_empty());
    let user = emu.config.username.clone();
    let matches = |name: &str| {
        let n = name.to_lowercase();
        if exact {
            n == search
        } else {
            n.contains(&search)
        }
    };
    let mut out = Vec::new();
    if users
        && matches(&user)
        && in_group.is_none_or(|g| g.eq_ignore_ascii_case("Administrators"))
        && of_user.is_none()
    {
        out.push(
            DataObject::new("UserSearchResult")
                .with("principal", Value::str(user.clone()))
                .with("fullName", Value::str(user.clone()))
                .with("group", Value::Bool(false))
                .into_value(),
        );
    }
    if groups
        && matches("Administrators")
        && in_group.is_none()
        && of_user.is_none_or(|u| u == user)
    {
        out.push(
            DataObject::new("UserSearchResult")
                .with("principal", Value::str("Administrators"))
                .with("fullName", Value::str("Administrators"))
                .with("group", Value::Bool(true))
                .into_value(),
        );
    }
    Ok(Some(Value::array("UserSearchResult", out)))
}
