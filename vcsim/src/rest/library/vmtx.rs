//! VM templates in content libraries (`vcenter/vm-template/library-items`): an item of
//! type `vm-template` made from a VM (a template clone of it, as vCenter keeps one), read
//! (`GET …/<item>`), deployed into a VM (`?action=deploy`), and checked out into a VM and
//! back in (`…/<item>/check-outs?action=check-out`, `…/check-outs/<vm>?action=check-in`,
//! which makes the checked-out VM the item's new template).
//!
//! The clones are `methods::clone`'s ([`crate::methods::vapp::vm_template`],
//! [`crate::methods::vapp::deploy_template`]); deleting the item destroys its template.

use super::ovf::{fault_error, new_item, object};
use super::*;
use crate::methods::vapp::{TemplatePlacement, deploy_template, vm_template};
use crate::vmodl::Value as Vmodl;

/// Most VMs checked out of one template item at a time.
pub const MAX_CHECKOUTS: usize = 64;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Placement {
    folder: Option<String>,
    resource_pool: Option<String>,
    host: Option<String>,
    cluster: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Storage {
    datastore: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Spec {
    name: Option<String>,
    description: Option<String>,
    library: Option<String>,
    source_vm: Option<String>,
    placement: Option<Placement>,
    vm_home_storage: Option<Storage>,
    disk_storage: Option<Storage>,
    powered_on: Option<bool>,
}

fn id_of(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// The vSphere placement a vAPI placement and storage name (every reference checked).
fn placement(emu: &Emulator, spec: &Spec) -> Result<TemplatePlacement, VapiError> {
    let p = spec.placement.as_ref();
    let get = |v: Option<&Option<String>>, types: &[&'static str]| {
        v.and_then(id_of)
            .map(|id| object(emu, types, id))
            .transpose()
    };
    let storage = spec
        .disk_storage
        .as_ref()
        .and_then(|s| id_of(&s.datastore))
        .or_else(|| {
            spec.vm_home_storage
                .as_ref()
                .and_then(|s| id_of(&s.datastore))
        });
    Ok(TemplatePlacement {
        folder: get(p.map(|p| &p.folder), &["Folder"])?,
        pool: get(p.map(|p| &p.resource_pool), &["ResourcePool", "VirtualApp"])?,
        host: get(p.map(|p| &p.host), &["HostSystem"])?,
        cluster: get(p.map(|p| &p.cluster), &["ClusterComputeResource"])?,
        datastore: storage
            .map(|d| object(emu, &["Datastore"], d))
            .transpose()?,
    })
}

/// Dispatches `vcenter/vm-template/library-items/<rest>` for `caller`.
pub fn handle(
    emu: &mut Emulator,
    req: &Req<'_>,
    rest: &[&str],
    caller: &Caller,
) -> Result<Reply, VapiError> {
    let user = caller.user.as_str();
    let m = &req.method;
    match (rest, req.action()) {
        ([], None | Some("create")) if m == Method::POST => create(emu, req, user),
        ([id], None) if m == Method::GET => info(emu, req, id),
        ([id], Some("deploy")) if m == Method::POST => {
            let template = template_of(emu, id)?;
            let spec: Spec = req.spec("spec")?;
            let name = check_name(spec.name.as_deref())?;
            let p = spec.placement.as_ref();
            if p.is_none_or(|p| {
                id_of(&p.cluster).is_none()
                    && id_of(&p.host).is_none()
                    && id_of(&p.resource_pool).is_none()
            }) {
                return Err(VapiError::invalid(
                    "spec.placement needs a cluster, host or resource_pool",
                ));
            }
            let place = placement(emu, &spec)?;
            let powered_on = spec.powered_on.unwrap_or(false);
            deploy_template(emu, user, &template, &name, &place, powered_on)
                .map(|vm| Reply::Value(json!(vm.value)))
                .map_err(fault_error)
        }
        ([id, "check-outs"], None) if m == Method::GET => {
            template_of(emu, id)?;
            let item = emu.vapi.library.items.get(*id).ok_or_else(|| no_item(id))?;
            let list: Vec<Value> = item.checkouts.iter().map(|v| json!({"vm": v})).collect();
            Ok(Reply::Value(json!(list)))
        }
        ([id, "check-outs"], Some("check-out")) if m == Method::POST => {
            check_out(emu, req, id, user)
        }
        ([id, "check-outs", vm], Some("check-in")) if m == Method::POST => {
            check_in(emu, id, vm, user)
        }
        ([id, "check-outs", vm], None) if m == Method::GET => {
            template_of(emu, id)?;
            checked_out(emu, id, vm)?;
            let vm = MoRef::new("VirtualMachine", (*vm).to_owned());
            Ok(Reply::Value(json!({
                "user": user,
                "vm_name": emu.inv.get(&vm).map(|o| o.name().to_owned()).unwrap_or_default(),
            })))
        }
        ([id, "check-outs", vm], None) if m == Method::DELETE => {
            template_of(emu, id)?;
            checked_out(emu, id, vm)?;
            let r = MoRef::new("VirtualMachine", (*vm).to_owned());
            emu.destroy_vm(user, &r).map_err(fault_error)?;
            if let Some(i) = emu.vapi.library.items.get_mut(*id) {
                i.checkouts.retain(|v| v != vm);
            }
            Ok(Reply::Empty)
        }
        _ => Err(crate::rest::no_operation(req)),
    }
}

/// The template VM of item `id`, which must be a `vm-template` item.
fn template_of(emu: &Emulator, id: &str) -> Result<MoRef, VapiError> {
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    match (&item.template, item.ty.as_str()) {
        (Some(t), "vm-template") => Ok(MoRef::new("VirtualMachine", t.clone())),
        _ => Err(VapiError::new(
            ErrorKind::InvalidElementType,
            format!("Library item {id} is not a VM template."),
        )),
    }
}

fn checked_out(emu: &Emulator, id: &str, vm: &str) -> Result<(), VapiError> {
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    if !item.checkouts.iter().any(|v| v == vm) {
        return Err(VapiError::not_found(format!(
            "Virtual machine {vm} is not checked out of library item {id}."
        )));
    }
    Ok(())
}

fn create(emu: &mut Emulator, req: &Req<'_>, user: &str) -> Result<Reply, VapiError> {
    let spec: Spec = req.spec("spec")?;
    let name = check_name(spec.name.as_deref())?;
    let lib_id = id_of(&spec.library).unwrap_or_default().to_owned();
    let lib = emu
        .vapi
        .library
        .libs
        .get(&lib_id)
        .ok_or_else(|| no_library(&lib_id))?;
    let lib_ds = lib.datastore_id.clone();
    writable(emu, &lib_id)?;
    if emu
        .vapi
        .library
        .items
        .values()
        .any(|i| i.library_id == lib_id && i.name == name)
    {
        return Err(VapiError::exists(format!(
            "An item with name {name} already exists in library {lib_id}."
        )));
    }
    if emu.vapi.library.items.len() >= MAX_ITEMS {
        return Err(VapiError::full("library items", MAX_ITEMS));
    }
    let source =
        id_of(&spec.source_vm).ok_or_else(|| VapiError::invalid("spec.source_vm is required"))?;
    let source = object(emu, &["VirtualMachine"], source)?;
    let mut place = placement(emu, &spec)?;
    // Without a storage choice the template lives on the library's datastore (as vcsim).
    if place.datastore.is_none() {
        place.datastore = object(emu, &["Datastore"], &lib_ds).ok();
    }
    let vm = vm_template(emu, user, &source, &name, &place).map_err(fault_error)?;
    let id = new_item(emu, &lib_id, &name, spec.description, "vm-template")?;
    if let Some(i) = emu.vapi.library.items.get_mut(&id) {
        i.template = Some(vm.value.clone());
    }
    Ok(Reply::Created(json!(id)))
}

/// A vAPI map in `req`'s form: a list of `{key, value}` on `/rest`, an object on `/api`.
fn map(req: &Req<'_>, pairs: Vec<(String, Value)>) -> Value {
    match req.form {
        crate::rest::json::Form::Rest => json!(
            pairs
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect::<Vec<_>>()
        ),
        crate::rest::json::Form::Api => Value::Object(pairs.into_iter().collect()),
    }
}

fn info(emu: &Emulator, req: &Req<'_>, id: &str) -> Result<Reply, VapiError> {
    let t = template_of(emu, id)?;
    let o = emu.inv.get(&t).map_err(fault_error)?;
    let config = o.get("config");
    let hw = config.and_then(|c| c.field("hardware"));
    let int = |v: Option<&Vmodl>, f: &str| v.and_then(|v| v.field(f)).and_then(Vmodl::as_i64);
    let guest = config
        .and_then(|c| c.field("guestId"))
        .and_then(Vmodl::as_str)
        .unwrap_or("otherGuest");
    let home_ds = emu
        .inv
        .refs(&t, "datastore")
        .first()
        .map(|d| d.value.clone())
        .unwrap_or_default();
    let devices = hw
        .and_then(|h| h.field("device"))
        .map(Vmodl::items)
        .unwrap_or_default();
    let mut disks = Vec::new();
    let mut nics = Vec::new();
    for d in devices {
        let key = int(Some(d), "key").unwrap_or(0).to_string();
        let backing = d.field("backing");
        if d.xsi_type() == "VirtualDisk" {
            let ds = backing
                .and_then(|b| b.field("datastore"))
                .and_then(Vmodl::as_moref)
                .map(|r| r.value.clone())
                .unwrap_or_else(|| home_ds.clone());
            let cap = int(Some(d), "capacityInKB")
                .unwrap_or(0)
                .saturating_mul(1024);
            disks.push((
                key,
                json!({"capacity": cap, "disk_storage": {"datastore": ds}}),
            ));
        } else if d.field("macAddress").is_some() || d.field("addressType").is_some() {
            let net = backing
                .and_then(|b| b.field("network"))
                .and_then(Vmodl::as_moref)
                .map(|r| r.value.clone());
            nics.push((
                key,
                json!({"backing_type": "STANDARD_PORTGROUP", "mac_type": "GENERATED",
                    "network": net}),
            ));
        }
    }
    Ok(Reply::Value(json!({
        "guest_OS": crate::rest::inventory::guest_os(guest),
        "cpu": {"count": int(hw, "numCPU").unwrap_or(1),
            "cores_per_socket": int(hw, "numCoresPerSocket").unwrap_or(1)},
        "memory": {"size_MiB": int(hw, "memoryMB").unwrap_or(0)},
        "vm_home_storage": {"datastore": home_ds},
        "disks": map(req, disks),
        "nics": map(req, nics),
        "vm_template": t.value,
    })))
}

fn check_out(emu: &mut Emulator, req: &Req<'_>, id: &str, user: &str) -> Result<Reply, VapiError> {
    let template = template_of(emu, id)?;
    let spec: Spec = req.spec("spec")?;
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    if item.checkouts.len() >= MAX_CHECKOUTS {
        return Err(VapiError::full("check-outs per template", MAX_CHECKOUTS));
    }
    // vCenter names the VM after the template when the spec names none.
    let name = match spec.name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => check_name(Some(n))?,
        None => format!("{}-checkout", item.name),
    };
    let mut place = placement(emu, &spec)?;
    if place.pool.is_none() && place.cluster.is_none() && place.host.is_none() {
        // The template's own compute resource.
        place.host = emu.host_of(&template);
    }
    let powered_on = spec.powered_on.unwrap_or(false);
    let vm =
        deploy_template(emu, user, &template, &name, &place, powered_on).map_err(fault_error)?;
    if let Some(i) = emu.vapi.library.items.get_mut(id) {
        i.checkouts.push(vm.value.clone());
    }
    Ok(Reply::Value(json!(vm.value)))
}

/// Check-in: the checked-out VM becomes the item's template; the old one goes.
fn check_in(emu: &mut Emulator, id: &str, vm: &str, user: &str) -> Result<Reply, VapiError> {
    let old = template_of(emu, id)?;
    checked_out(emu, id, vm)?;
    let new = MoRef::new("VirtualMachine", vm.to_owned());
    if emu.power_state(&new).is_ok_and(|s| s == "poweredOn") {
        return Err(VapiError::new(
            ErrorKind::NotAllowedInCurrentState,
            format!("Virtual machine {vm} is powered on; power it off to check it in."),
        ));
    }
    emu.mark_as_template(&new).map_err(fault_error)?;
    let _ = emu.destroy_vm(user, &old);
    let now = emu.clock.now_ms();
    let mut version = 0;
    if let Some(i) = emu.vapi.library.items.get_mut(id) {
        i.checkouts.retain(|v| v != vm);
        i.template = Some(vm.to_owned());
        i.content_version += 1;
        i.modified_ms = now;
        version = i.content_version;
    }
    Ok(Reply::Value(json!(version.to_string())))
}
