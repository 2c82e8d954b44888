//! Making first-class disks: `CreateDisk_Task` (a new descriptor on the spec's datastore)
//! and `RegisterDisk` (an existing `.vmdk`, named by datastore path or datastore URL).

use super::super::datastore::{descriptor_facts, file_exists, new_disk_uuid};
use super::super::datastore::{parse_datastore_path, write_descriptor};
use super::super::virtual_disk::file_already_exists;
use super::{CAPACITY_MB_MAX, Disk, FCD_DIR, FCD_MAX, FCD_TEXT_MAX, datastore_ref, disk_value};
use crate::emulator::Emulator;
use crate::methods::{Args, CallContext, run_task};
use crate::soap::{Call, Element};
use crate::vmodl::{Fault, MoRef, Value};

/// The provisioning types `BaseConfigInfoDiskFileBackingInfoProvisioningType` allows.
const PROVISIONING: &[&str] = &["thin", "eagerZeroedThick", "lazyZeroedThick"];

/// A parsed `VslmCreateSpec`.
struct CreateSpec {
    id: Option<String>,
    name: String,
    keep_after_delete_vm: Option<bool>,
    datastore: MoRef,
    ds_name: String,
    /// The folder (or, as vcsim takes it, the `.vmdk` file) the spec names.
    path: Option<String>,
    provisioning: String,
    capacity_mb: i64,
}

fn bool_child(el: &Element, name: &str, what: &str) -> Result<Option<bool>, Fault> {
    match el.child_text(name) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(Fault::invalid_argument(what)),
    }
}

fn parse_spec(emu: &Emulator, args: &Args<'_>) -> Result<CreateSpec, Fault> {
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let name = spec
        .child_text("name")
        .filter(|n| !n.trim().is_empty() && n.len() <= FCD_TEXT_MAX)
        .ok_or_else(|| Fault::invalid_argument("spec.name"))?
        .to_owned();
    let id = spec
        .child("id")
        .map(|e| {
            e.child_text("id")
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= FCD_TEXT_MAX)
                // The id names the disk's file: no path separators (an id of
                // `../../x` would put the disk outside its folder) or control characters.
                .filter(|s| !s.chars().any(|c| matches!(c, '/' | '\\') || c.is_control()))
                .map(str::to_owned)
                .ok_or_else(|| Fault::invalid_argument("spec.id"))
        })
        .transpose()?;
    let keep_after_delete_vm = bool_child(spec, "keepAfterDeleteVm", "spec.keepAfterDeleteVm")?;
    let capacity_mb: i64 = spec
        .child_text("capacityInMB")
        .and_then(|t| t.trim().parse().ok())
        .filter(|c| (1..=CAPACITY_MB_MAX).contains(c))
        .ok_or_else(|| Fault::invalid_argument("spec.capacityInMB"))?;
    let backing = spec
        .child("backingSpec")
        .ok_or_else(|| Fault::invalid_argument("spec.backingSpec"))?;
    let datastore = backing
        .child("datastore")
        .and_then(crate::soap::decode::moref)
        .ok_or_else(|| Fault::invalid_argument("spec.backingSpec.datastore"))?;
    let ds_name = datastore_ref(emu, &datastore)?;
    let path = match backing.child_text("path").map(str::trim) {
        None | Some("") => None,
        Some(p) if p.len() > FCD_TEXT_MAX || p.split('/').any(|s| s == "..") => {
            return Err(Fault::invalid_argument("spec.backingSpec.path"));
        }
        Some(p) => Some(p.trim_matches('/').to_owned()),
    };
    let provisioning = backing
        .child_text("provisioningType")
        .unwrap_or("thin")
        .to_owned();
    if !PROVISIONING.contains(&provisioning.as_str()) {
        return Err(Fault::invalid_argument("spec.backingSpec.provisioningType"));
    }
    Ok(CreateSpec {
        id,
        name,
        keep_after_delete_vm,
        datastore,
        ds_name,
        path,
        provisioning,
        capacity_mb,
    })
}

/// Stores a new disk under `id` and answers its `VStorageObject`.
fn add_disk(emu: &mut Emulator, id: String, disk: Disk) -> Value {
    let v = disk_value(&id, &disk);
    emu.fcd.disks.insert(id, disk);
    v
}

/// `AlreadyExists` naming what exists.
pub(super) fn already_exists(what: &str) -> Fault {
    Fault::new(
        "AlreadyExists",
        format!("The specified key, name, or identifier '{what}' already exists."),
    )
    .with("name", Value::str(what))
}

/// Room for one more disk.
fn check_room(emu: &Emulator) -> Result<(), Fault> {
    if emu.fcd.disks.len() >= FCD_MAX {
        return Err(Fault::insufficient_resources(format!(
            "The emulator keeps at most {FCD_MAX} first-class disks"
        )));
    }
    Ok(())
}

/// `CreateDisk_Task(spec)`: a new disk file on the spec's datastore; the task's result is the
/// `VStorageObject`. `backingSpec.path` is, as vSphere documents it, the folder for the disk
/// (default `fcd`); a path ending in `.vmdk` names the file itself, as vcsim takes it.
pub(super) fn create_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let spec = parse_spec(emu, args)?;
    let ds = spec.datastore.clone();
    run_task(emu, ctx, call, &ds, move |emu| {
        check_room(emu)?;
        let id = match spec.id {
            Some(id) if emu.fcd.disks.contains_key(&id) => return Err(already_exists(&id)),
            Some(id) => id,
            None => emu.idgen.uuid(),
        };
        let file = format!("{}.vmdk", id.replace('-', ""));
        let rel = match spec.path {
            Some(p) if p.ends_with(".vmdk") => p,
            Some(p) => format!("{p}/{file}"),
            None => format!("{FCD_DIR}/{file}"),
        };
        let display = format!("[{}] {rel}", spec.ds_name);
        if file_exists(emu, &spec.ds_name, &rel) {
            return Err(file_already_exists(&display));
        }
        let uuid = new_disk_uuid(emu);
        write_descriptor(
            emu,
            &spec.ds_name,
            &rel,
            spec.capacity_mb.saturating_mul(1024),
            &spec.provisioning,
            &uuid,
        )?;
        let disk = Disk {
            keep_after_delete_vm: spec.keep_after_delete_vm,
            provisioning: spec.provisioning,
            ..Disk::new(
                emu,
                spec.name,
                spec.datastore,
                spec.ds_name,
                rel,
                spec.capacity_mb,
            )
        };
        Ok(Some(add_disk(emu, id, disk)))
    })
}

/// Decodes `%XX` escapes (invalid ones stay as they are).
pub(super) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The datastore name and path a `RegisterDisk` path names: a datastore URL
/// (`https://host/folder/dir/disk.vmdk?dcPath=DC0&dsName=ds`, what govc sends) or a
/// datastore path (`[ds] dir/disk.vmdk`).
pub(super) fn register_path(path: &str) -> Option<(String, String)> {
    if path.trim_start().starts_with('[') {
        return parse_datastore_path(path);
    }
    let after = path.split_once("/folder/")?.1;
    let (file, query) = after.split_once('?').unwrap_or((after, ""));
    let ds = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("dsName="))
        .map(percent_decode)?;
    parse_datastore_path(&format!("[{ds}] {}", percent_decode(file)))
}

/// `RegisterDisk(path, name?)`: makes an existing `.vmdk` a first-class disk.
/// `FileNotFound` when no file is there, `AlreadyExists` when it is registered already,
/// `InvalidArgument` for a path that names no disk.
pub(super) fn register(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let path = args.text("path")?;
    if path.len() > FCD_TEXT_MAX {
        return Err(Fault::invalid_argument("path"));
    }
    let (ds_name, rel) = register_path(path).ok_or_else(|| Fault::invalid_argument("path"))?;
    if rel.is_empty() || !rel.ends_with(".vmdk") {
        return Err(Fault::invalid_argument("path"));
    }
    let datastore = emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "Datastore" && o.name() == ds_name)
        .map(|o| o.moref.clone())
        .ok_or_else(|| {
            Fault::new(
                "InvalidDatastore",
                format!("Invalid datastore '{ds_name}'."),
            )
            .with("name", Value::str(ds_name.clone()))
        })?;
    let display = format!("[{ds_name}] {rel}");
    if !file_exists(emu, &ds_name, &rel) {
        return Err(Fault::file_not_found(&display));
    }
    if emu
        .fcd
        .disks
        .values()
        .any(|d| d.ds_name == ds_name && d.rel == rel)
    {
        return Err(already_exists(&display));
    }
    check_room(emu)?;
    let name = match args.opt_text("name").map(str::trim) {
        Some(n) if !n.is_empty() => {
            if n.len() > FCD_TEXT_MAX {
                return Err(Fault::invalid_argument("name"));
            }
            n.to_owned()
        }
        _ => rel
            .rsplit('/')
            .next()
            .unwrap_or(&rel)
            .trim_end_matches(".vmdk")
            .to_owned(),
    };
    let (capacity_kb, _) = descriptor_facts(emu, &ds_name, &rel);
    let id = emu.idgen.uuid();
    let capacity_mb = capacity_kb.unwrap_or(0) / 1024;
    let disk = Disk::new(emu, name, datastore, ds_name, rel, capacity_mb);
    Ok(Some(add_disk(emu, id, disk)))
}
