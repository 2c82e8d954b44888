//! The first-class disk (FCD) manager, `VcenterVStorageObjectManager`: disks that live on
//! a datastore independently of any VM (create, list, register, snapshot, tags).
//!
//! Core types: [`FcdStore`] (the disks) and [`dispatch`] (its methods, tried before
//! `MethodNotFound`). Each disk is a descriptor file on its datastore (`[ds] fcd/<hex>.vmdk`
//! in `Emulator::files`, written with the datastore model's helpers), so `datastore.ls`,
//! the `/folder` handler and `ReconcileDatastoreInventory_Task` see the same files.
//!
//! The ESXi flavour's `HostVStorageObjectManager` answers the same operations under their
//! `Host…` names. `AttachDisk_Task`/`DetachDisk_Task`, the VirtualMachine side, are in
//! [`attach`]. Ids are the emulator's deterministic UUIDs.

mod attach;
mod create;
mod tags;

use super::datastore::write_descriptor;
use super::datastore::{descriptor_facts, file_exists, new_disk_uuid, remove_disk_files};
use super::{Args, CallContext, Outcome, run_task};
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use create::{create_task, register};
use std::collections::BTreeMap;
#[cfg(test)]
use {
    super::datastore::parse_datastore_path,
    create::{percent_decode, register_path},
};

/// Most first-class disks the emulator keeps (over all datastores); a bound on what
/// requests can make it store, far above what CI scenarios create.
pub const FCD_MAX: usize = 1024;

/// Most snapshots of one disk: vSphere's limit for a first-class disk's snapshot chain.
pub const FCD_SNAPSHOTS_MAX: usize = 32;

/// Longest disk name or snapshot description accepted (a bound, not a vCenter rule).
pub const FCD_TEXT_MAX: usize = 1024;

/// Largest disk the emulator creates (62 TB, VMFS's limit), in MB.
const CAPACITY_MB_MAX: i64 = 62 * 1024 * 1024;

/// The folder vCenter puts first-class disks in when the create spec names none.
const FCD_DIR: &str = "fcd";

/// One snapshot of a disk.
#[derive(Clone, Debug)]
struct Snapshot {
    id: String,
    backing_object_id: String,
    create_ms: i64,
    description: String,
}

/// One first-class disk.
#[derive(Clone, Debug)]
struct Disk {
    name: String,
    datastore: MoRef,
    /// The datastore's name and the descriptor's path on it.
    ds_name: String,
    rel: String,
    capacity_mb: i64,
    create_ms: i64,
    keep_after_delete_vm: Option<bool>,
    provisioning: String,
    backing_object_id: String,
    snapshots: Vec<Snapshot>,
    /// Attached tags as (category name, tag name).
    tags: Vec<(String, String)>,
    /// The VM the disk is attached to, if any.
    consumer: Option<MoRef>,
}

impl Disk {
    /// A new, unattached thin disk without snapshots or tags, created now.
    fn new(
        emu: &mut Emulator,
        name: String,
        datastore: MoRef,
        ds_name: String,
        rel: String,
        capacity_mb: i64,
    ) -> Disk {
        Disk {
            name,
            datastore,
            ds_name,
            rel,
            capacity_mb,
            create_ms: emu.clock.now_ms(),
            keep_after_delete_vm: None,
            provisioning: "thin".into(),
            backing_object_id: emu.idgen.uuid(),
            snapshots: Vec::new(),
            tags: Vec::new(),
            consumer: None,
        }
    }

    fn file_path(&self) -> String {
        format!("[{}] {}", self.ds_name, self.rel)
    }
}

/// The first-class disks, by id.
#[derive(Debug, Default)]
pub struct FcdStore {
    disks: BTreeMap<String, Disk>,
}

impl FcdStore {
    /// How many disks are registered.
    pub fn len(&self) -> usize {
        self.disks.len()
    }

    /// Whether no disk is registered.
    pub fn is_empty(&self) -> bool {
        self.disks.is_empty()
    }

    /// The ids of the disks on `datastore`, in id order.
    pub fn ids_on(&self, datastore: &MoRef) -> Vec<String> {
        self.disks
            .iter()
            .filter(|(_, d)| &d.datastore == datastore)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// What becomes of the disks attached to a VM that leaves the inventory: they are detached;
/// when the VM was destroyed (not merely unregistered), those not marked
/// `keepAfterDeleteVm` are deleted with it, files included, as vCenter does.
pub(crate) fn vm_removed(emu: &mut Emulator, vm: &MoRef, destroyed: bool) {
    let attached: Vec<String> = emu
        .fcd
        .disks
        .iter()
        .filter(|(_, d)| d.consumer.as_ref() == Some(vm))
        .map(|(id, _)| id.clone())
        .collect();
    for id in attached {
        let Some(d) = emu.fcd.disks.get_mut(&id) else {
            continue;
        };
        d.consumer = None;
        if destroyed && d.keep_after_delete_vm != Some(true) {
            let (ds, rel) = (d.ds_name.clone(), d.rel.clone());
            remove_disk_files(emu, &ds, &rel);
            emu.fcd.disks.remove(&id);
        }
    }
}

/// The operations, whatever the manager flavour calls them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Create,
    Register,
    List,
    Retrieve,
    State,
    Delete,
    Rename,
    Extend,
    Inflate,
    CreateSnapshot,
    SnapshotInfo,
    DeleteSnapshot,
    AttachTag,
    DetachTag,
    ListByTag,
    ListTags,
    Reconcile,
}

const VC: &str = "VcenterVStorageObjectManager";
const HOST: &str = "HostVStorageObjectManager";

const V: &[&str] = &[VC];
const H: &[&str] = &[HOST];
// govmomi 0.24's `vslm.ObjectManager.ExtendDisk`/`InflateDisk` send the `Host…` names to
// whichever manager the client has, vCenter's included (vCenter itself would answer
// MethodNotFound); both managers take them so those library calls work.
const BOTH: &[&str] = &[VC, HOST];

/// Each method name, the operation it asks for, and the manager types that have it.
const OPS: &[(&str, Op, &[&str])] = &[
    ("CreateDisk_Task", Op::Create, V),
    ("HostCreateDisk_Task", Op::Create, H),
    ("RegisterDisk", Op::Register, V),
    ("HostRegisterDisk", Op::Register, H),
    ("ListVStorageObject", Op::List, V),
    ("HostListVStorageObject", Op::List, H),
    ("RetrieveVStorageObject", Op::Retrieve, V),
    ("HostRetrieveVStorageObject", Op::Retrieve, H),
    ("RetrieveVStorageObjectState", Op::State, V),
    ("HostRetrieveVStorageObjectState", Op::State, H),
    ("DeleteVStorageObject_Task", Op::Delete, V),
    ("HostDeleteVStorageObject_Task", Op::Delete, H),
    ("RenameVStorageObject", Op::Rename, V),
    ("HostRenameVStorageObject", Op::Rename, H),
    ("ExtendDisk_Task", Op::Extend, V),
    ("HostExtendDisk_Task", Op::Extend, BOTH),
    ("InflateDisk_Task", Op::Inflate, V),
    ("HostInflateDisk_Task", Op::Inflate, BOTH),
    ("VStorageObjectCreateSnapshot_Task", Op::CreateSnapshot, V),
    (
        "HostVStorageObjectCreateSnapshot_Task",
        Op::CreateSnapshot,
        H,
    ),
    ("RetrieveSnapshotInfo", Op::SnapshotInfo, V),
    (
        "HostVStorageObjectRetrieveSnapshotInfo",
        Op::SnapshotInfo,
        H,
    ),
    ("DeleteSnapshot_Task", Op::DeleteSnapshot, V),
    (
        "HostVStorageObjectDeleteSnapshot_Task",
        Op::DeleteSnapshot,
        H,
    ),
    ("AttachTagToVStorageObject", Op::AttachTag, V),
    ("DetachTagFromVStorageObject", Op::DetachTag, V),
    ("ListVStorageObjectsAttachedToTag", Op::ListByTag, V),
    ("ListTagsAttachedToVStorageObject", Op::ListTags, V),
    ("ReconcileDatastoreInventory_Task", Op::Reconcile, V),
    ("HostReconcileDatastoreInventory_Task", Op::Reconcile, H),
];

/// The operation a method name asks for, and the manager types that have it.
fn op_of(method: &str) -> Option<(Op, &'static [&'static str])> {
    OPS.iter()
        .find(|(name, _, _)| *name == method)
        .map(|(_, op, receivers)| (*op, *receivers))
}

/// Every method name this module serves (the managers' and the VMs' disk attach/detach),
/// for the server's method list (`/about`).
pub fn method_names() -> impl Iterator<Item = &'static str> {
    OPS.iter()
        .map(|(name, _, _)| *name)
        .chain(attach::METHODS.iter().copied())
}

/// Handles a call to the storage object manager; `None` when `call` is not one of its methods.
pub(crate) fn dispatch(emu: &mut Emulator, ctx: &mut CallContext, call: &Call) -> Option<Outcome> {
    let vm_op = attach::op_of(&call.method);
    let (op, receivers) = match (op_of(&call.method), vm_op) {
        (Some(o), _) => (Some(o.0), o.1),
        (None, Some(_)) => (None, &["VirtualMachine"][..]),
        (None, None) => return None,
    };
    Some(Outcome::Done(checked(emu, ctx, call, receivers).and_then(
        |()| {
            let args = Args::new(&call.args);
            match (op, vm_op) {
                (Some(op), _) => run(emu, ctx, call, &args, op),
                (None, Some(vm_op)) => attach::run(emu, ctx, call, &args, vm_op),
                (None, None) => Err(Fault::method_not_found(&call.this, &call.method)),
            }
        },
    )))
}

/// What `methods::dispatch` checks for the methods of its table: the receiver's type, the
/// session (and its activity), the receiver's existence.
pub(crate) fn checked(
    emu: &mut Emulator,
    ctx: &mut CallContext,
    call: &Call,
    receivers: &[&str],
) -> Result<(), Fault> {
    if !receivers.contains(&call.this.ty.as_ref()) {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    super::session::expire_idle_sessions(emu, ctx);
    if ctx.session.is_none() {
        return Err(Fault::not_authenticated(&call.this));
    }
    if let Some(s) = ctx.session.as_deref().and_then(|k| emu.sessions.get_mut(k)) {
        s.call_count += 1;
        s.last_active_ms = emu.clock.now_ms();
        s.last_active_at = std::time::Instant::now();
    }
    emu.inv.get(&call.this)?;
    Ok(())
}

fn run(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    op: Op,
) -> Result<Option<Value>, Fault> {
    match op {
        Op::Create => create_task(emu, ctx, call, args),
        Op::Register => register(emu, args),
        Op::List => {
            let ds = datastore_arg(emu, args)?;
            let ids = emu.fcd.ids_on(&ds).into_iter().map(id_value).collect();
            Ok(Some(Value::array("ID", ids)))
        }
        Op::Retrieve => {
            let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
            let disk = live_disk(emu, &id, &ds)?;
            Ok(Some(disk_value(&id, disk)))
        }
        Op::State => {
            let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
            live_disk(emu, &id, &ds)?;
            Ok(Some(
                DataObject::new("VStorageObjectStateInfo")
                    .with("tentative", Value::Bool(false))
                    .into_value(),
            ))
        }
        Op::Delete => delete_task(emu, ctx, call, args),
        Op::Rename => {
            let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
            let name = text_arg(args, "name")?;
            disk_mut(emu, &id, &ds)?.name = name;
            Ok(None)
        }
        Op::Extend => extend_task(emu, ctx, call, args),
        Op::Inflate => {
            let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
            run_task(emu, ctx, call, &ds.clone(), move |emu| {
                disk_mut(emu, &id, &ds)?.provisioning = "eagerZeroedThick".into();
                Ok(None)
            })
        }
        Op::CreateSnapshot => create_snapshot_task(emu, ctx, call, args),
        Op::SnapshotInfo => {
            let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
            let disk = live_disk(emu, &id, &ds)?;
            Ok(Some(snapshot_info(disk)))
        }
        Op::DeleteSnapshot => {
            let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
            let sid = id_arg(args, "snapshotId")?;
            run_task(emu, ctx, call, &ds.clone(), move |emu| {
                let disk = disk_mut(emu, &id, &ds)?;
                let before = disk.snapshots.len();
                disk.snapshots.retain(|s| s.id != sid);
                if disk.snapshots.len() == before {
                    return Err(not_found_id(&sid));
                }
                Ok(None)
            })
        }
        Op::AttachTag => tags::attach(emu, args),
        Op::DetachTag => tags::detach(emu, args),
        Op::ListByTag => tags::list_by_tag(emu, args),
        Op::ListTags => tags::list_tags(emu, args),
        Op::Reconcile => {
            let ds = datastore_arg(emu, args)?;
            run_task(emu, ctx, call, &ds.clone(), move |emu| {
                let gone: Vec<String> = emu
                    .fcd
                    .disks
                    .iter()
                    .filter(|(_, d)| d.datastore == ds && !file_exists(emu, &d.ds_name, &d.rel))
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in gone {
                    emu.fcd.disks.remove(&id);
                }
                Ok(None)
            })
        }
    }
}

/// `NotFound` for a disk or snapshot id, with vCenter's text.
fn not_found_id(id: &str) -> Fault {
    Fault::not_found_plain(format!(
        "The object or item referred to could not be found: {id}"
    ))
}

/// An `ID` data object.
fn id_value(id: String) -> Value {
    DataObject::new("ID")
        .with("id", Value::str(id))
        .into_value()
}

/// An `ID` parameter (`<id><id>…</id></id>`).
fn id_arg(args: &Args<'_>, name: &str) -> Result<String, Fault> {
    args.element(name)
        .and_then(|e| e.child_text("id"))
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= FCD_TEXT_MAX)
        .map(str::to_owned)
        .ok_or_else(|| Fault::invalid_argument(name))
}

/// A bounded, non-empty text parameter.
fn text_arg(args: &Args<'_>, name: &str) -> Result<String, Fault> {
    let t = args.text(name)?;
    if t.trim().is_empty() || t.len() > FCD_TEXT_MAX {
        return Err(Fault::invalid_argument(name));
    }
    Ok(t.to_owned())
}

/// The `datastore` parameter, which must name a datastore.
fn datastore_arg(emu: &Emulator, args: &Args<'_>) -> Result<MoRef, Fault> {
    let ds = args.moref("datastore")?;
    datastore_ref(emu, &ds)?;
    Ok(ds)
}

/// Checks that `ds` is a datastore and answers its name.
fn datastore_ref(emu: &Emulator, ds: &MoRef) -> Result<String, Fault> {
    let o = emu.inv.get(ds)?;
    if ds.ty != "Datastore" {
        return Err(Fault::invalid_argument("datastore"));
    }
    Ok(o.name().to_owned())
}

/// The disk `id` on `ds` whose file is still there (`NotFound` otherwise, as vCenter answers
/// for a disk whose backing was deleted behind its back).
fn live_disk<'a>(emu: &'a Emulator, id: &str, ds: &MoRef) -> Result<&'a Disk, Fault> {
    let disk = emu
        .fcd
        .disks
        .get(id)
        .filter(|d| &d.datastore == ds)
        .ok_or_else(|| not_found_id(id))?;
    if !file_exists(emu, &disk.ds_name, &disk.rel) {
        return Err(Fault::not_found_plain(format!(
            "The object or item referred to could not be found: {} ({} is missing)",
            id,
            disk.file_path()
        )));
    }
    Ok(disk)
}

/// The disk `id` on `ds`, for a change.
fn disk_mut<'a>(emu: &'a mut Emulator, id: &str, ds: &MoRef) -> Result<&'a mut Disk, Fault> {
    emu.fcd
        .disks
        .get_mut(id)
        .filter(|d| &d.datastore == ds)
        .ok_or_else(|| not_found_id(id))
}

/// The `VStorageObject` of a disk, fields in WSDL order.
fn disk_value(id: &str, d: &Disk) -> Value {
    let backing = DataObject::new("BaseConfigInfoDiskFileBackingInfo")
        .with("datastore", Value::moref(&d.datastore))
        .with("filePath", Value::str(d.file_path()))
        .with("backingObjectId", Value::str(d.backing_object_id.clone()))
        .with("provisioningType", Value::str(d.provisioning.clone()));
    let config = DataObject::new("VStorageObjectConfigInfo")
        .with("id", id_value(id.to_owned()))
        .with("name", Value::str(d.name.clone()))
        .with("createTime", Value::DateTime(d.create_ms))
        .with_opt("keepAfterDeleteVm", d.keep_after_delete_vm.map(Value::Bool))
        .with("relocationDisabled", Value::Bool(false))
        .with("nativeSnapshotSupported", Value::Bool(false))
        .with("changedBlockTrackingEnabled", Value::Bool(false))
        .with("backing", backing.into_value())
        .with("capacityInMB", Value::Long(d.capacity_mb))
        .with("consumptionType", Value::strings(["disk"]))
        .with(
            "consumerId",
            Value::array(
                "ID",
                d.consumer
                    .iter()
                    .map(|vm| id_value(vm.value.clone()))
                    .collect(),
            ),
        );
    DataObject::new("VStorageObject")
        .with("config", config.into_value())
        .into_value()
}

fn snapshot_info(d: &Disk) -> Value {
    let snaps = d
        .snapshots
        .iter()
        .map(|s| {
            DataObject::new("VStorageObjectSnapshotInfoVStorageObjectSnapshot")
                .with("id", id_value(s.id.clone()))
                .with("backingObjectId", Value::str(s.backing_object_id.clone()))
                .with("createTime", Value::DateTime(s.create_ms))
                .with("description", Value::str(s.description.clone()))
                .into_value()
        })
        .collect();
    DataObject::new("VStorageObjectSnapshotInfo")
        .with(
            "snapshots",
            Value::array("VStorageObjectSnapshotInfoVStorageObjectSnapshot", snaps),
        )
        .into_value()
}

/// `DeleteVStorageObject_Task(id, datastore)`: removes the disk and its file. A disk attached
/// to a VM cannot be deleted (vCenter fails the task; it names the consumer).
fn delete_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
    run_task(emu, ctx, call, &ds.clone(), move |emu| {
        let disk = disk_mut(emu, &id, &ds)?.clone();
        if let Some(vm) = &disk.consumer {
            return Err(Fault::invalid_state(format!(
                "The disk {id} is in use by virtual machine {}",
                vm.value
            )));
        }
        remove_disk_files(emu, &disk.ds_name, &disk.rel);
        emu.fcd.disks.remove(&id);
        Ok(None)
    })
}

/// `ExtendDisk_Task(id, datastore, newCapacityInMB)`: grows the disk; shrinking is refused
/// (`InvalidArgument`), as VMFS cannot shrink a disk.
fn extend_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
    let mb = args
        .opt_i64("newCapacityInMB")?
        .filter(|c| (1..=CAPACITY_MB_MAX).contains(c))
        .ok_or_else(|| Fault::invalid_argument("newCapacityInMB"))?;
    run_task(emu, ctx, call, &ds.clone(), move |emu| {
        let disk = live_disk(emu, &id, &ds)?.clone();
        if mb < disk.capacity_mb {
            return Err(Fault::invalid_argument("newCapacityInMB"));
        }
        let (_, uuid) = descriptor_facts(emu, &disk.ds_name, &disk.rel);
        let uuid = uuid.unwrap_or_else(|| new_disk_uuid(emu));
        write_descriptor(
            emu,
            &disk.ds_name,
            &disk.rel,
            mb.saturating_mul(1024),
            &disk.provisioning,
            &uuid,
        )?;
        disk_mut(emu, &id, &ds)?.capacity_mb = mb;
        Ok(None)
    })
}

/// `VStorageObjectCreateSnapshot_Task(id, datastore, description)`: the task's result is the
/// new snapshot's `ID`.
fn create_snapshot_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let (id, ds) = (id_arg(args, "id")?, datastore_arg(emu, args)?);
    let description = args.opt_text("description").unwrap_or("").to_owned();
    if description.len() > FCD_TEXT_MAX {
        return Err(Fault::invalid_argument("description"));
    }
    run_task(emu, ctx, call, &ds.clone(), move |emu| {
        live_disk(emu, &id, &ds)?;
        if emu.fcd.disks[&id].snapshots.len() >= FCD_SNAPSHOTS_MAX {
            return Err(Fault::new(
                "SnapshotFault",
                format!("The disk {id} has the maximum of {FCD_SNAPSHOTS_MAX} snapshots"),
            ));
        }
        let snap = Snapshot {
            id: emu.idgen.uuid(),
            backing_object_id: emu.idgen.uuid(),
            create_ms: emu.clock.now_ms(),
            description,
        };
        let sid = snap.id.clone();
        disk_mut(emu, &id, &ds)?.snapshots.push(snap);
        Ok(Some(id_value(sid)))
    })
}

#[cfg(test)]
mod tests;
