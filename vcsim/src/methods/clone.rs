//! `CloneVM_Task`: a new VM from a VM, a template or one of a VM's snapshots.
//!
//! The clone is made through the ordinary VM-creation path (`Emulator::create_vm`) from the
//! source's configuration, so it joins the contention model, its folder, pool, host and
//! datastore like any new VM, with a new BIOS and instance UUID and new generated MACs from
//! the deterministic id generator. Then, as vCenter: the spec's `config` is applied as a
//! reconfiguration, a `template` clone is marked as a template, and `powerOn` powers the clone
//! on. A linked clone (`location.diskMoveType = createNewChildDiskBacking`, which vSphere
//! allows only from a snapshot) gets child disks whose `parent` backing is the snapshot's
//! disk; a full clone gets its own disks in its folder. Guest customization is accepted and
//! ignored (there is no guest OS to customize).

use super::snapshot;
use super::{Args, CallContext, run_task, user_of};
use crate::emulator::{Emulator, VmCreate, VmPlacement};
use crate::events::EventArgs;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// hostd's text for a vCenter-only method called on ESXi.
pub(crate) const HOSTD_NOT_SUPPORTED: &str = "The operation is not supported on the object.";

/// What a clone request asks for, read from `VirtualMachineCloneSpec`.
#[derive(Clone, Debug)]
pub(crate) struct CloneRequest {
    pub folder: MoRef,
    pub name: String,
    pub pool: Option<MoRef>,
    pub host: Option<MoRef>,
    pub datastore: Option<MoRef>,
    pub disk_move_type: Option<String>,
    pub template: bool,
    pub power_on: bool,
    pub snapshot: Option<MoRef>,
    pub config: Option<Value>,
    /// `location.deviceChange` as a config spec (govc's `vm.clone -net` edits the NIC so).
    pub location_changes: Option<Value>,
}

fn moref_field(v: Option<&Value>, name: &str) -> Option<MoRef> {
    v.and_then(|v| v.field(name))
        .and_then(Value::as_moref)
        .cloned()
}

fn bool_field(v: &Value, name: &str, field: &str) -> Result<bool, Fault> {
    match v.field(name) {
        None => Ok(false),
        Some(b) => b.as_bool().ok_or_else(|| Fault::invalid_argument(field)),
    }
}

impl CloneRequest {
    /// A plain full clone of the source's placement into `folder` as `name`.
    pub fn new(folder: MoRef, name: &str) -> CloneRequest {
        CloneRequest {
            folder,
            name: name.to_owned(),
            pool: None,
            host: None,
            datastore: None,
            disk_move_type: None,
            template: false,
            power_on: false,
            snapshot: None,
            config: None,
            location_changes: None,
        }
    }

    /// Reads the request's arguments.
    pub fn from_args(args: &Args<'_>) -> Result<CloneRequest, Fault> {
        let spec = args
            .value("spec")
            .ok_or_else(|| Fault::invalid_argument("spec"))?;
        let location = spec.field("location");
        Ok(CloneRequest {
            pool: moref_field(location, "pool"),
            host: moref_field(location, "host"),
            datastore: moref_field(location, "datastore"),
            disk_move_type: location
                .and_then(|l| l.field("diskMoveType"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            template: bool_field(&spec, "template", "spec.template")?,
            power_on: bool_field(&spec, "powerOn", "spec.powerOn")?,
            snapshot: moref_field(Some(&spec), "snapshot"),
            config: spec.field("config").cloned(),
            location_changes: location
                .and_then(Value::as_data)
                .map(|d| DataObject {
                    ty: Some("VirtualMachineConfigSpec".into()),
                    fields: d
                        .fields
                        .iter()
                        .filter(|(n, _)| n == "deviceChange")
                        .cloned()
                        .collect(),
                })
                .filter(|d| !d.fields.is_empty())
                .map(DataObject::into_value),
            ..CloneRequest::new(args.moref("folder")?, args.text("name")?)
        })
    }
}

/// The source's configuration as what `create_vm` takes. Disks lose their file names (the
/// clone's are made in its own folder) and, for a linked clone, keep the source disk as
/// their parent; generated MACs are cleared so new ones are generated.
fn vm_create_from_config(name: &str, config: &Value, linked: bool, vmx_path: String) -> VmCreate {
    let hw = config.field("hardware");
    let mut devices: Vec<Value> = hw
        .and_then(|h| h.field("device"))
        .map(|d| d.items().to_vec())
        .unwrap_or_default();
    for dev in &mut devices {
        let is_disk = dev.xsi_type() == "VirtualDisk" || dev.field("capacityInKB").is_some();
        let Some(d) = dev.as_data_mut() else { continue };
        if is_disk {
            if let Some(b) = d.get_mut("backing").and_then(Value::as_data_mut) {
                let source = b.clone();
                b.set("fileName", Value::str(""));
                b.remove("datastore");
                b.remove("uuid");
                if linked {
                    b.set("parent", source.into_value());
                } else {
                    b.remove("parent");
                }
            }
        } else if d.get("macAddress").is_some()
            && d.get("addressType").and_then(Value::as_str) != Some("manual")
        {
            d.set("macAddress", Value::str(""));
            d.set("addressType", Value::str("generated"));
        }
    }
    VmCreate::from_config(name, config, Some(devices), vmx_path)
}

pub(crate) fn named_arg(emu: &Emulator, ty: &'static str, field: &'static str, r: &MoRef) -> Value {
    DataObject::new(ty)
        .with("name", Value::str(name_of(emu, r)))
        .with(field, Value::moref(r))
        .into_value()
}

/// Posts a VM event with its type-specific fields (`template` first, as `VmEvent` has it).
pub(crate) fn post_vm_event(
    emu: &mut Emulator,
    ty: &'static str,
    user: &str,
    vm: &MoRef,
    message: String,
    mut extra: Vec<(&'static str, Value)>,
) {
    let args: EventArgs = emu.vm_event_args(vm);
    extra.insert(0, ("template", Value::Bool(emu.is_template(vm))));
    let now = emu.clock.now_ms();
    emu.events.post(ty, now, user, &args, message, extra);
}

pub(crate) fn name_of(emu: &Emulator, r: &MoRef) -> String {
    emu.inv
        .lookup(r)
        .map(|o| o.name().to_owned())
        .unwrap_or_default()
}

/// Clones `source` as `req` says and returns the new VM.
pub(crate) fn clone_vm(
    emu: &mut Emulator,
    user: &str,
    source: &MoRef,
    req: &CloneRequest,
) -> Result<MoRef, Fault> {
    // Cloning is vCenter's: hostd answers NotSupported.
    if emu.flavor == crate::config::Flavor::HostAgent {
        return Err(Fault::not_supported(HOSTD_NOT_SUPPORTED));
    }
    let folder = emu.inv.get(&req.folder)?;
    if folder.moref.ty != "Folder" {
        return Err(Fault::invalid_argument("folder"));
    }
    if let Some(existing) = emu.inv.child_named(&req.folder, &req.name) {
        return Err(Fault::duplicate_name(&req.name, &existing));
    }
    let source_template = emu.is_template(source);
    let config = match &req.snapshot {
        Some(s) => {
            if snapshot::vm_of(emu, s).ok().as_ref() != Some(source) {
                return Err(Fault::invalid_argument("spec.snapshot"));
            }
            emu.inv.prop(s, "config").cloned()
        }
        None => emu.inv.prop(source, "config").cloned(),
    }
    .ok_or_else(|| Fault::invalid_state("the virtual machine has no configuration"))?;
    let linked = match req.disk_move_type.as_deref() {
        None
        | Some(
            "moveAllDiskBackingsAndDisallowSharing"
            | "moveAllDiskBackingsAndAllowSharing"
            | "moveAllDiskBackingsAndConsolidate"
            | "moveChildMostDiskBacking",
        ) => false,
        // vSphere: "for a clone this option is only valid when cloning from a snapshot".
        Some("createNewChildDiskBacking") if req.snapshot.is_some() => true,
        Some(_) => return Err(Fault::invalid_argument("spec.location.diskMoveType")),
    };
    let source_host = emu.host_of(source);
    let pool = match (&req.pool, source_template) {
        (Some(p), _) => p.clone(),
        (None, false) => emu
            .inv
            .prop(source, "resourcePool")
            .and_then(Value::as_moref)
            .cloned()
            .ok_or_else(|| Fault::invalid_argument("spec.location.pool"))?,
        // A template has no pool: a template clone goes to its host's root pool; a VM
        // deployed from a template needs one named (vCenter: InvalidArgument).
        (None, true) if req.template => source_host
            .as_ref()
            .and_then(|h| emu.inv.lookup(h))
            .and_then(|h| h.parent().cloned())
            .and_then(|cr| emu.inv.prop(&cr, "resourcePool").cloned())
            .and_then(|p| p.as_moref().cloned())
            .ok_or_else(|| Fault::invalid_argument("spec.location.pool"))?,
        (None, true) => return Err(Fault::invalid_argument("spec.location.pool")),
    };
    if !crate::vmodl::is_a(&emu.inv.get(&pool)?.moref.ty, "ResourcePool") {
        return Err(Fault::invalid_argument("spec.location.pool"));
    }
    let owner_hosts = emu
        .owner_of_pool(&pool)
        .map(|o| emu.inv.refs(&o, "host"))
        .unwrap_or_default();
    let host = match &req.host {
        Some(h) => {
            emu.inv.get(h)?;
            if !owner_hosts.contains(h) {
                return Err(Fault::invalid_argument("spec.location.host"));
            }
            Some(h.clone())
        }
        None => source_host.filter(|h| owner_hosts.contains(h) && emu.host_accepts_vms(h)),
    };
    let datastore = match &req.datastore {
        Some(d) => {
            if emu.inv.get(d)?.moref.ty != "Datastore" {
                return Err(Fault::invalid_argument("spec.location.datastore"));
            }
            d.clone()
        }
        None => emu
            .inv
            .refs(source, "datastore")
            .into_iter()
            .next()
            .ok_or_else(|| Fault::invalid_argument("spec.location.datastore"))?,
    };
    let ds_name = name_of(emu, &datastore);
    let spec = vm_create_from_config(&req.name, &config, linked, format!("[{ds_name}]"));

    let (being, done) = if source_template {
        ("VmBeingDeployedEvent", "VmDeployedEvent")
    } else {
        ("VmBeingClonedEvent", "VmClonedEvent")
    };
    let source_name = name_of(emu, source);
    let source_arg = named_arg(emu, "VmEventArgument", "vm", source);
    let src_host_name = emu
        .host_of(source)
        .map(|h| name_of(emu, &h))
        .unwrap_or_default();
    let being_extra = if source_template {
        vec![("srcTemplate", source_arg.clone())]
    } else {
        let dest_host = host.clone().or_else(|| emu.host_of(source));
        let mut extra = vec![
            (
                "destFolder",
                named_arg(emu, "FolderEventArgument", "folder", &req.folder),
            ),
            ("destName", Value::str(req.name.clone())),
        ];
        if let Some(h) = dest_host {
            extra.push(("destHost", named_arg(emu, "HostEventArgument", "host", &h)));
        }
        extra
    };
    let message = if source_template {
        format!(
            "Deploying {} on host {src_host_name} from template {source_name}",
            req.name
        )
    } else {
        format!(
            "Cloning {source_name} on host {src_host_name} to {}",
            req.name
        )
    };
    post_vm_event(emu, being, user, source, message, being_extra);

    let vm = emu.create_vm(
        user,
        spec,
        VmPlacement {
            folder: req.folder.clone(),
            pool,
            host,
        },
    )?;
    let finish = |emu: &mut Emulator| -> Result<(), Fault> {
        for c in [&req.location_changes, &req.config].into_iter().flatten() {
            emu.reconfigure_vm(user, &vm, c)?;
        }
        if req.template {
            emu.mark_as_template(&vm)?;
        } else if req.power_on {
            emu.power_on_vm(user, &vm)?;
        }
        Ok(())
    };
    if let Err(e) = finish(emu) {
        // A failed clone leaves no half-made VM behind (nor its place in the model).
        if emu.power_state(&vm).is_ok_and(|s| s == "poweredOn") {
            let _ = emu.power_off_vm(user, &vm);
        }
        let _ = emu.destroy_vm(user, &vm);
        return Err(e);
    }
    let (extra, message) = if source_template {
        let host = emu
            .host_of(&vm)
            .map(|h| name_of(emu, &h))
            .unwrap_or_default();
        (
            vec![("srcTemplate", source_arg)],
            format!("Template {source_name} deployed on host {host}"),
        )
    } else {
        (
            vec![("sourceVm", source_arg)],
            format!("Clone of {source_name} completed"),
        )
    };
    post_vm_event(emu, done, user, &vm, message, extra);
    Ok(vm)
}

/// `CloneVM_Task(folder, name, spec)` on a VM or template; the task's result is the clone.
pub fn clone_vm_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    // `dispatch` has checked the receiver (a VirtualMachine).
    let req = CloneRequest::from_args(args)?;
    let source = call.this.clone();
    let user = user_of(emu, ctx);
    run_task(emu, ctx, call, &call.this, move |emu| {
        clone_vm(emu, &user, &source, &req).map(|vm| Some(Value::moref(&vm)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn first_vm(emu: &Emulator) -> MoRef {
        emu.inv
            .iter()
            .find(|o| o.moref.ty == "VirtualMachine" && !emu.is_template(&o.moref))
            .unwrap()
            .moref
            .clone()
    }

    fn vm_folder_of(emu: &Emulator, vm: &MoRef) -> MoRef {
        emu.inv.get(vm).unwrap().parent().unwrap().clone()
    }

    fn disk_backing(emu: &Emulator, vm: &MoRef) -> Value {
        emu.inv
            .prop(vm, "config")
            .and_then(|c| c.field("hardware"))
            .and_then(|h| h.field("device"))
            .and_then(|d| d.items().iter().find(|d| d.field("capacityInKB").is_some()))
            .and_then(|d| d.field("backing"))
            .cloned()
            .unwrap()
    }

    fn text(v: &Value, f: &str) -> String {
        v.field(f).and_then(Value::as_str).unwrap_or("").to_owned()
    }

    #[test]
    fn full_clone_gets_new_identity_and_disks() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let src = first_vm(&emu);
        let req = CloneRequest {
            ..CloneRequest::new(vm_folder_of(&emu, &src), "copy")
        };
        let vm = clone_vm(&mut emu, "u", &src, &req).unwrap();
        let uuid = |r: &MoRef| text(emu.inv.prop(r, "config").unwrap(), "uuid");
        assert_ne!(uuid(&vm), uuid(&src));
        let file = text(&disk_backing(&emu, &vm), "fileName");
        assert!(file.ends_with("copy/copy.vmdk"), "{file}");
        assert!(disk_backing(&emu, &vm).field("parent").is_none());
        let dup = clone_vm(&mut emu, "u", &src, &req).unwrap_err();
        assert_eq!(dup.ty, "DuplicateName");
        let types: Vec<&str> = emu.events.iter().rev().take(3).map(|e| e.ty).collect();
        assert_eq!(
            types,
            ["VmClonedEvent", "VmCreatedEvent", "VmBeingClonedEvent"]
        );
    }

    #[test]
    fn esxi_does_not_clone() {
        let config = Config {
            flavor: crate::config::Flavor::HostAgent,
            ..Config::default()
        };
        let mut emu = Emulator::new(config).unwrap();
        let src = first_vm(&emu);
        let req = CloneRequest::new(vm_folder_of(&emu, &src), "c");
        assert_eq!(
            clone_vm(&mut emu, "u", &src, &req).unwrap_err().ty,
            "NotSupported"
        );
    }

    #[test]
    fn linked_clone_needs_a_snapshot_and_shares_its_disk() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let src = first_vm(&emu);
        let folder = vm_folder_of(&emu, &src);
        let mut req = CloneRequest {
            disk_move_type: Some("createNewChildDiskBacking".into()),
            ..CloneRequest::new(folder, "linked")
        };
        let f = clone_vm(&mut emu, "u", &src, &req).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        let base = text(&disk_backing(&emu, &src), "fileName");
        let snap = snapshot::create_snapshot(&mut emu, &src, "s", "", false, false).unwrap();
        req.snapshot = Some(snap);
        let vm = clone_vm(&mut emu, "u", &src, &req).unwrap();
        let b = disk_backing(&emu, &vm);
        assert_eq!(text(b.field("parent").unwrap(), "fileName"), base);
        assert!(text(&b, "fileName").ends_with("linked/linked.vmdk"));
        assert_eq!(emu.events.latest().unwrap().ty, "VmClonedEvent");
    }

    #[test]
    fn template_clones_and_deploys() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let src = first_vm(&emu);
        if emu.power_state(&src).unwrap() != "poweredOff" {
            emu.power_off_vm("", &src).unwrap();
        }
        let folder = vm_folder_of(&emu, &src);
        let pool = emu
            .inv
            .prop(&src, "resourcePool")
            .and_then(Value::as_moref)
            .cloned();
        let t = clone_vm(
            &mut emu,
            "u",
            &src,
            &CloneRequest {
                template: true,
                ..CloneRequest::new(folder.clone(), "tmpl")
            },
        )
        .unwrap();
        assert!(emu.is_template(&t));
        let f = clone_vm(
            &mut emu,
            "u",
            &t,
            &CloneRequest {
                ..CloneRequest::new(folder.clone(), "nopool")
            },
        )
        .unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        let vm = clone_vm(
            &mut emu,
            "u",
            &t,
            &CloneRequest {
                pool,
                power_on: true,
                ..CloneRequest::new(folder, "deployed")
            },
        )
        .unwrap();
        assert_eq!(emu.power_state(&vm).unwrap(), "poweredOn");
        assert_eq!(emu.events.latest().unwrap().ty, "VmDeployedEvent");
    }

    /// A clone whose `config` the reconfiguration refuses fails without leaving the clone
    /// in the folder, the pool or the contention model.
    #[test]
    fn failed_clone_leaves_no_vm() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let src = first_vm(&emu);
        let folder = vm_folder_of(&emu, &src);
        let vms_before = emu.ids.vms.len();
        let req = CloneRequest {
            config: Some(
                DataObject::new("VirtualMachineConfigSpec")
                    .with("numCPUs", Value::Int(0))
                    .into_value(),
            ),
            ..CloneRequest::new(folder.clone(), "bad")
        };
        let f = clone_vm(&mut emu, "u", &src, &req).unwrap_err();
        assert_eq!(f.ty, "InvalidArgument");
        assert!(emu.inv.child_named(&folder, "bad").is_none());
        assert!(
            !emu.inv
                .iter()
                .any(|o| o.moref.ty == "VirtualMachine" && o.name() == "bad")
        );
        assert_eq!(emu.ids.vms.len(), vms_before);
    }

    /// A clone onto a datastore its host does not mount is `InvalidDatastore` (from
    /// `create_vm`), and no VM is made.
    #[test]
    fn clone_onto_an_unmounted_datastore_fails() {
        let config = Config {
            vcsim_model: Some(crate::config::VcsimModel {
                datastore: 2,
                ..Default::default()
            }),
            ..Config::default()
        };
        let mut emu = Emulator::new(config).unwrap();
        let src = first_vm(&emu);
        let host = emu.host_of(&src).unwrap();
        let cur = emu.inv.refs(&src, "datastore");
        let other = emu
            .inv
            .refs(&host, "datastore")
            .into_iter()
            .find(|d| !cur.contains(d))
            .expect("a second datastore");
        emu.inv.pull_ref(&host, "datastore", &other).unwrap();
        let folder = vm_folder_of(&emu, &src);
        let req = CloneRequest {
            host: Some(host),
            datastore: Some(other),
            ..CloneRequest::new(folder.clone(), "far")
        };
        let f = clone_vm(&mut emu, "u", &src, &req).unwrap_err();
        assert_eq!(f.ty, "InvalidDatastore");
        assert!(emu.inv.child_named(&folder, "far").is_none());
    }
}
