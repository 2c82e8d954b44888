//! AuthorizationManager's permissions and roles: the system roles vCenter ships, the
//! permissions on entities (retrieve, set, remove), custom roles (add, update, remove) and
//! the user directory's groups. Privilege checks are in `host_storage::privileges`.

use super::Args;
use super::authorization::{MAX_ITEMS, MAX_NAME};
use crate::emulator::Emulator;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeSet;

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
