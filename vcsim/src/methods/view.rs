//! ViewManager, ContainerView and ListView.

use super::{Args, CallContext};
use crate::emulator::Emulator;
use crate::inventory::ManagedObject;
use crate::property::{PER_SESSION_MAX, View, ViewKind};
use crate::soap::Call;
use crate::vmodl::{Fault, MANAGED_TYPES, MoRef, Value};

const CONTAINER_TYPES: &[&str] = &[
    "Folder",
    "Datacenter",
    "ComputeResource",
    "ClusterComputeResource",
    "HostSystem",
    "ResourcePool",
    "VirtualApp",
    "StoragePod",
];

fn new_view(
    emu: &mut Emulator,
    ctx: &CallContext,
    ty: &'static str,
    kind: ViewKind,
    props: Vec<(&str, Value)>,
) -> Result<Option<Value>, Fault> {
    let session = ctx
        .session
        .clone()
        .ok_or_else(|| Fault::not_authenticated(&emu.refs.view_manager))?;
    if emu.collectors.owned_by(&session) >= PER_SESSION_MAX {
        return Err(Fault::invalid_state(
            "too many filters and views in this session",
        ));
    }
    let view = MoRef::new(ty, format!("session[{session}]{}", emu.idgen.uuid()));
    let mut obj = ManagedObject::new(view.clone());
    for (n, v) in props {
        obj = obj.with(n, v);
    }
    emu.inv.insert(obj);
    emu.collectors
        .views
        .insert(view.value.clone(), View { session, kind });
    let vm = emu.refs.view_manager.clone();
    emu.inv.push_ref(&vm, "viewList", &view)?;
    Ok(Some(Value::moref(&view)))
}

/// `CreateContainerView(container, type[], recursive)`.
pub fn create_container_view(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let container = args.moref("container")?;
    emu.inv.get(&container)?;
    if !CONTAINER_TYPES
        .iter()
        .any(|t| crate::vmodl::is_a(&container.ty, t))
    {
        return Err(Fault::invalid_argument("container"));
    }
    let types: Vec<String> = args.texts("type").into_iter().map(str::to_owned).collect();
    if let Some(bad) = types.iter().find(|t| !MANAGED_TYPES.contains(&t.as_str())) {
        return Err(Fault::invalid_argument(&format!("type {bad}")));
    }
    let recursive = args.opt_bool("recursive")?.unwrap_or(false);
    let props = vec![
        ("container", Value::moref(&container)),
        ("type", Value::strings(types.clone())),
        ("recursive", Value::Bool(recursive)),
    ];
    new_view(
        emu,
        ctx,
        "ContainerView",
        ViewKind::Container {
            container,
            types,
            recursive,
        },
        props,
    )
}

/// `CreateListView(obj[])`.
pub fn create_list_view(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let objs = args.morefs("obj");
    new_view(emu, ctx, "ListView", ViewKind::List(objs), Vec::new())
}

fn list_mut<'a>(emu: &'a mut Emulator, call: &Call) -> Result<&'a mut Vec<MoRef>, Fault> {
    match emu
        .collectors
        .views
        .get_mut(&call.this.value)
        .map(|v| &mut v.kind)
    {
        Some(ViewKind::List(items)) => Ok(items),
        _ => Err(Fault::not_found(&call.this)),
    }
}

/// `ModifyListView(add[], remove[])`: returns the objects that could not be added.
pub fn modify_list_view(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let add = args.morefs("add");
    let remove = args.morefs("remove");
    let missing: Vec<MoRef> = add
        .iter()
        .filter(|m| !emu.inv.contains(m))
        .cloned()
        .collect();
    let items = list_mut(emu, call)?;
    items.retain(|m| !remove.contains(m));
    for m in add.into_iter().filter(|m| !missing.contains(m)) {
        if !items.contains(&m) {
            items.push(m);
        }
    }
    // Membership is computed on read: stamping the view, and marking its members as changed
    // references, makes filters on it re-evaluate.
    emu.inv.update(&call.this, |_| ())?;
    emu.inv.mark_refs_changed(&call.this.ty, "view");
    Ok(Some(Value::morefs(&missing)))
}

/// `ResetListView(obj[])`.
pub fn reset_list_view(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let objs = args.morefs("obj");
    let missing: Vec<MoRef> = objs
        .iter()
        .filter(|m| !emu.inv.contains(m))
        .cloned()
        .collect();
    *list_mut(emu, call)? = objs.into_iter().filter(|m| !missing.contains(m)).collect();
    emu.inv.update(&call.this, |_| ())?;
    emu.inv.mark_refs_changed(&call.this.ty, "view");
    Ok(Some(Value::morefs(&missing)))
}

/// `DestroyView`.
pub fn destroy_view(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    emu.collectors
        .views
        .remove(&call.this.value)
        .ok_or_else(|| Fault::not_found(&call.this))?;
    emu.inv.remove(&call.this);
    let vm = emu.refs.view_manager.clone();
    emu.inv.pull_ref(&vm, "viewList", &call.this)?;
    Ok(None)
}
