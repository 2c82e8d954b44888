//! Virtual apps: `CreateVApp` (a resource pool that also carries a `vAppConfig` and powers
//! its VMs as one), `CreateChildVM_Task`, `PowerOnVApp_Task`, `PowerOffVApp_Task` and what
//! `Destroy_Task` does to one ([`destroy_vapp`]).
//!
//! A vApp is built by the resource pool path (`Emulator::create_pool`, so it has its twin
//! in the contention model and VMs can be placed in it) and then retyped `VirtualApp`,
//! keeping its reference value.

use super::super::{Args, CallContext, run_task, user_of};
use crate::config::Flavor;
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Deepest vApp nesting the power operations follow (vCenter nests a few levels; the bound
/// guards against a malformed tree).
const VAPP_DEPTH_MAX: usize = 8;

/// `CreateVApp(name, resSpec, configSpec, vmFolder?)` on a resource pool or vApp.
pub(crate) fn create_vapp(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    if emu.flavor == Flavor::HostAgent {
        // vApps are a vCenter feature: a host agent has no CreateVApp.
        return Err(Fault::not_supported("vApps need vCenter Server"));
    }
    let name = args.text("name")?.to_owned();
    let res = args
        .value("resSpec")
        .ok_or_else(|| Fault::invalid_argument("resSpec"))?;
    // Kept (its products) and read back later: checked against the schema first, so strict
    // clients can read what is stored.
    let config = args
        .element("configSpec")
        .map(|el| {
            super::super::conform::checked(el, "VAppConfigSpec", |p| {
                Fault::new("InvalidArgument", format!("configSpec: {p}"))
                    .with("invalidProperty", Value::str("configSpec"))
            })
        })
        .transpose()?;
    let parent = call.this.clone();
    let folder = match args.opt_moref("vmFolder") {
        Some(f) => {
            if f.ty != "Folder" {
                return Err(Fault::invalid_argument("vmFolder"));
            }
            emu.inv.get(&f)?;
            f
        }
        None => {
            let dc = emu
                .datacenter_of(&parent)
                .ok_or_else(|| Fault::invalid_argument("_this"))?;
            emu.inv
                .prop(&dc, "vmFolder")
                .and_then(Value::as_moref)
                .cloned()
                .ok_or_else(|| Fault::invalid_argument("_this"))?
        }
    };
    // A vApp's name is unique in its folder as well as in its parent pool.
    if let Some(existing) = emu.inv.child_named(&folder, &name) {
        return Err(Fault::duplicate_name(&name, &existing));
    }
    let products: Vec<Value> = config
        .as_ref()
        .and_then(|c| c.as_data())
        .map(|d| {
            d.fields
                .iter()
                .filter(|(n, _)| n == "product")
                .flat_map(|(_, v)| match v {
                    Value::Array(a) => a.items.clone(),
                    other => vec![other.clone()],
                })
                .filter_map(|p| p.field("info").cloned())
                .collect()
        })
        .unwrap_or_default();
    let annotation = config
        .as_ref()
        .and_then(|c| c.field("annotation"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let vapp = new_vapp(
        emu,
        &parent,
        &folder,
        VAppSpec {
            name: &name,
            cpu_allocation: res.field("cpuAllocation"),
            memory_allocation: res.field("memoryAllocation"),
            products,
            annotation,
        },
    )?;
    Ok(Some(Value::moref(&vapp)))
}

/// What a new vApp is made of.
pub(crate) struct VAppSpec<'a> {
    /// Its name (unique in the parent pool and the folder).
    pub name: &'a str,
    /// `ResourceAllocationInfo` for CPU (None: a pool's defaults).
    pub cpu_allocation: Option<&'a Value>,
    /// `ResourceAllocationInfo` for memory (None: a pool's defaults).
    pub memory_allocation: Option<&'a Value>,
    /// `VAppProductInfo`s.
    pub products: Vec<Value>,
    /// `vAppConfig.annotation`.
    pub annotation: &'a str,
}

/// A new vApp under pool (or vApp) `parent`, listed in VM folder `folder`: a resource pool
/// with the spec's allocations retyped `VirtualApp`, with its `vAppConfig` (products,
/// annotation) and a stopped summary. Shared by `CreateVApp` and the vcsim model (`-app`).
pub(crate) fn new_vapp(
    emu: &mut Emulator,
    parent: &MoRef,
    folder: &MoRef,
    spec: VAppSpec<'_>,
) -> Result<MoRef, Fault> {
    let VAppSpec {
        name,
        cpu_allocation,
        memory_allocation,
        products,
        annotation,
    } = spec;
    let pool = emu.create_pool(parent, name, cpu_allocation, memory_allocation)?;
    let instance_uuid = emu.idgen.uuid();
    let mut vapp_config = DataObject::new("VAppConfigInfo");
    if !products.is_empty() {
        vapp_config =
            vapp_config.with("product", Value::array("VAppProductInfo", products.clone()));
    }
    let vapp_config = vapp_config
        .with(
            "ipAssignment",
            DataObject::new("VAppIPAssignmentInfo").into_value(),
        )
        .with("installBootRequired", Value::Bool(false))
        .with("installBootStopDelay", Value::Int(0))
        .with("annotation", Value::str(annotation))
        .with("instanceUuid", Value::str(instance_uuid.clone()))
        .into_value();
    let Some(mut obj) = emu.inv.lookup(&pool).cloned() else {
        return Err(Fault::not_found(&pool));
    };
    let vapp = MoRef::new("VirtualApp", pool.value.clone());
    obj.moref = vapp.clone();
    obj.props
        .insert("parentFolder".into(), Value::moref(folder));
    obj.props.insert("datastore".into(), Value::morefs([]));
    obj.props.insert("network".into(), Value::morefs([]));
    obj.props.insert("vAppConfig".into(), vapp_config);
    obj.props.insert(
        "childLink".into(),
        Value::array("VirtualAppLinkInfo", vec![]),
    );
    if parent.ty == "VirtualApp" {
        obj.props.insert("parentVApp".into(), Value::moref(parent));
    }
    if let Some(Value::Data(s)) = obj.props.get("summary").cloned() {
        let mut s = std::sync::Arc::unwrap_or_clone(s);
        s.ty = Some("VirtualAppSummary".into());
        if let Some(p) = products.first() {
            s.set("product", p.clone());
        }
        s.set("vAppState", Value::enumv("VirtualAppVAppState", "stopped"));
        s.set("suspended", Value::Bool(false));
        s.set("installBootRequired", Value::Bool(false));
        s.set("instanceUuid", Value::str(instance_uuid));
        obj.props.insert("summary".into(), s.into_value());
    }
    // Same reference value, new type: the pool object is replaced, not removed.
    emu.inv.insert(obj);
    emu.inv.pull_ref(parent, "resourcePool", &pool)?;
    emu.inv.push_ref(parent, "resourcePool", &vapp)?;
    // vCenter lists a vApp in its VM folder too, which is how inventory paths
    // (`/DC0/vm/<vapp>`) and govc's finder reach it.
    emu.inv.push_ref(folder, "childEntity", &vapp)?;
    Ok(vapp)
}

/// Makes `vm`, just created in `vapp`'s pool, the vApp's: `parentVApp` names it, and the
/// folder no longer lists it (vCenter lists a vApp's VMs under the vApp only; a second
/// listing would make inventory paths ambiguous).
pub(crate) fn adopt(emu: &mut Emulator, vapp: &MoRef, vm: &MoRef) -> Result<(), Fault> {
    emu.inv.set(vm, "parentVApp", Value::moref(vapp))?;
    if let Some(f) = emu
        .inv
        .prop(vm, "parent")
        .and_then(Value::as_moref)
        .cloned()
    {
        emu.inv.pull_ref(&f, "childEntity", vm)?;
    }
    Ok(())
}

/// `CreateChildVM_Task(config, host?)`: a VM in the vApp (what `vm.create` does when its
/// pool is a vApp), in the vApp's folder.
pub(crate) fn create_child_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let config = args
        .value("config")
        .ok_or_else(|| Fault::invalid_argument("config"))?;
    let host = args.opt_moref("host");
    let vapp = call.this.clone();
    let folder = emu
        .inv
        .prop(&vapp, "parentFolder")
        .and_then(Value::as_moref)
        .cloned()
        .ok_or_else(|| Fault::invalid_state("the vApp has no folder"))?;
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        let spec = super::super::folder::vm_create_from_spec(&config)?;
        let place = crate::emulator::VmPlacement {
            folder,
            pool: vapp.clone(),
            host,
        };
        let vm = emu.create_vm(&user, spec, place)?;
        adopt(emu, &vapp, &vm)?;
        Ok(Some(Value::moref(&vm)))
    })
}

/// The VMs of a vApp and of the vApps nested in it.
fn vms_of(emu: &Emulator, vapp: &MoRef, depth: usize) -> Vec<MoRef> {
    let mut out = emu.inv.refs(vapp, "vm");
    if depth < VAPP_DEPTH_MAX {
        for child in emu.inv.refs(vapp, "resourcePool") {
            if child.ty == "VirtualApp" {
                out.extend(vms_of(emu, &child, depth + 1));
            }
        }
    }
    out
}

fn set_state(emu: &mut Emulator, vapp: &MoRef, state: &'static str) -> Result<(), Fault> {
    emu.inv.update(vapp, |o| {
        if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut) {
            s.set("vAppState", Value::enumv("VirtualAppVAppState", state));
        }
    })
}

/// `PowerOnVApp_Task`: powers on the vApp's VMs that are off, then marks it `started`.
pub(crate) fn power_on_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    let vapp = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        for vm in vms_of(emu, &vapp, 0) {
            if emu.power_state(&vm)? != "poweredOn" {
                emu.power_on_vm(&user, &vm)?;
            }
        }
        set_state(emu, &vapp, "started")?;
        Ok(None)
    })
}

/// `PowerOffVApp_Task(force)`: powers off the vApp's running VMs, then marks it `stopped`.
pub(crate) fn power_off_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    args.opt_bool("force")?;
    let vapp = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        for vm in vms_of(emu, &vapp, 0) {
            if emu.power_state(&vm)? != "poweredOff" {
                emu.power_off_vm(&user, &vm)?;
            }
        }
        set_state(emu, &vapp, "stopped")?;
        Ok(None)
    })
}

/// What `Destroy_Task` does to a vApp, as vCenter documents for ManagedEntity.Destroy
/// ("destroys this object, deleting its contents"): every VM in it (nested vApps included)
/// is destroyed, then the vApp itself goes. A powered-on VM refuses (`InvalidPowerState`)
/// before anything is removed. Called from the entity-generic `Destroy_Task`.
pub fn destroy_vapp(emu: &mut Emulator, user: &str, vapp: &MoRef) -> Result<(), Fault> {
    let vms = vms_of(emu, vapp, 0);
    for vm in &vms {
        let state = emu.power_state(vm)?;
        if state == "poweredOn" {
            return Err(Fault::invalid_power_state(Some("poweredOff"), &state));
        }
    }
    for vm in &vms {
        emu.destroy_vm(user, vm)?;
    }
    destroy_tree(emu, vapp, 0)
}

/// Removes a vApp's nested vApps, then the vApp (its pool twin with it).
fn destroy_tree(emu: &mut Emulator, vapp: &MoRef, depth: usize) -> Result<(), Fault> {
    if depth < VAPP_DEPTH_MAX {
        for child in emu.inv.refs(vapp, "resourcePool") {
            if child.ty == "VirtualApp" {
                destroy_tree(emu, &child, depth + 1)?;
            }
        }
    }
    let folder = emu
        .inv
        .prop(vapp, "parentFolder")
        .and_then(Value::as_moref)
        .cloned();
    emu.destroy_pool(vapp)?;
    if let Some(f) = folder {
        emu.inv.pull_ref(&f, "childEntity", vapp)?;
    }
    Ok(())
}
