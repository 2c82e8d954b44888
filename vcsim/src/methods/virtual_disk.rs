//! `VirtualDiskManager.CopyVirtualDisk_Task`: a copy of a virtual disk with a new disk UUID;
//! `MoveVirtualDisk_Task` (descriptor and extent move, the UUID stays) and
//! `SetVirtualDiskUuid` (rewrites the descriptor's `ddb.uuid`).
//!
//! The copy is written through the datastore helpers the other VirtualDiskManager methods
//! use (`methods/datastore.rs`), so it is bounded like every datastore write and shows up in
//! datastore browsing. The source may be a disk written by `CreateVirtualDisk_Task` (its
//! descriptor gives the capacity) or a VM's disk known from its configuration (its
//! `capacityInKB`). `destSpec.diskType` chooses the copy's provisioning (default thin).

use super::datastore::{
    descriptor_facts, file_exists, new_disk_uuid, remove_disk_files, touch_file, write_descriptor,
};
use super::{Args, CallContext, datastore_key, parse_datastore_path, run_task};
use crate::emulator::Emulator;
use crate::soap::Call;
use crate::vmodl::{Fault, MoRef, Value};

/// Longest disk type name accepted from `destSpec.diskType`.
const DISK_TYPE_MAX_CHARS: usize = 64;

fn vmdk(name: &str, field: &str) -> Result<(String, String), Fault> {
    let (ds, rel) = parse_datastore_path(name).ok_or_else(|| Fault::invalid_argument(field))?;
    if rel.is_empty() || !rel.ends_with(".vmdk") {
        return Err(Fault::invalid_argument(field));
    }
    Ok((ds, rel))
}

/// The datastore named `name`, in `dc` when given.
fn datastore(emu: &Emulator, dc: Option<&MoRef>, name: &str) -> Result<MoRef, Fault> {
    let found = match dc {
        Some(dc) => emu
            .inv
            .refs(dc, "datastore")
            .into_iter()
            .find(|d| emu.inv.lookup(d).is_some_and(|o| o.name() == name)),
        None => emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "Datastore" && o.name() == name)
            .map(|o| o.moref.clone()),
    };
    found.ok_or_else(|| {
        Fault::new(
            "InvalidDatastore",
            format!("Invalid datastore path '[{name}]'"),
        )
        .with("name", Value::str(name))
    })
}

/// The capacity of a VM disk whose backing file is `path`, from its configuration.
fn vm_disk_capacity_kb(emu: &Emulator, path: &str) -> Option<i64> {
    emu.inv
        .iter()
        .filter(|o| o.moref.ty == "VirtualMachine")
        .filter_map(|o| o.get("config")?.field("hardware")?.field("device"))
        .flat_map(|d| d.items().iter())
        .find(|d| {
            d.field("backing")
                .and_then(|b| b.field("fileName"))
                .and_then(Value::as_str)
                == Some(path)
        })
        .and_then(|d| d.field("capacityInKB"))
        .and_then(Value::as_i64)
}

/// The source and destination of a copy or move: both `.vmdk` datastore paths on
/// datastores of the (optional) datacenters.
struct DiskPair {
    src: String,
    dst: String,
    sds: String,
    srel: String,
    dds: String,
    drel: String,
    /// What the task runs on: the source datacenter, else the source datastore.
    entity: MoRef,
}

/// The datacenter arguments, checked to be datacenters.
fn datacenters(emu: &Emulator, dcs: [&Option<MoRef>; 2]) -> Result<(), Fault> {
    for dc in dcs.into_iter().flatten() {
        if emu.inv.get(dc)?.moref.ty != "Datacenter" {
            return Err(Fault::invalid_argument("datacenter"));
        }
    }
    Ok(())
}

fn disk_pair(emu: &Emulator, args: &Args<'_>) -> Result<DiskPair, Fault> {
    let src = args.text("sourceName")?.to_owned();
    let dst = args.text("destName")?.to_owned();
    let src_dc = args.opt_moref("sourceDatacenter");
    let dst_dc = args.opt_moref("destDatacenter").or_else(|| src_dc.clone());
    datacenters(emu, [&src_dc, &dst_dc])?;
    let (sds, srel) = vmdk(&src, "sourceName")?;
    let (dds, drel) = vmdk(&dst, "destName")?;
    let src_ds = datastore(emu, src_dc.as_ref(), &sds)?;
    datastore(emu, dst_dc.as_ref(), &dds)?;
    Ok(DiskPair {
        src,
        dst,
        sds,
        srel,
        dds,
        drel,
        entity: src_dc.unwrap_or(src_ds),
    })
}

/// `CopyVirtualDisk_Task(sourceName, sourceDatacenter?, destName, destDatacenter?,
/// destSpec?, force?)`: `FileNotFound` for a missing source, `FileAlreadyExists` for an
/// existing destination unless `force`; the task's result is empty, as vCenter's.
pub fn copy_virtual_disk_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let DiskPair {
        src,
        dst,
        sds,
        srel,
        dds,
        drel,
        entity,
    } = disk_pair(emu, args)?;
    let force = args.opt_bool("force")?.unwrap_or(false);
    let disk_type = args
        .element("destSpec")
        .and_then(|s| s.child_text("diskType"))
        .unwrap_or("thin")
        .to_owned();
    if disk_type.chars().count() > DISK_TYPE_MAX_CHARS {
        return Err(Fault::invalid_argument("destSpec.diskType"));
    }
    run_task(emu, ctx, call, &entity, move |emu| {
        if !file_exists(emu, &sds, &srel) {
            return Err(Fault::file_not_found(&src));
        }
        if sds == dds && srel == drel {
            return Err(Fault::invalid_argument("destName"));
        }
        if file_exists(emu, &dds, &drel) && !force {
            return Err(file_already_exists(&dst));
        }
        let capacity_kb = descriptor_facts(emu, &sds, &srel)
            .0
            .or_else(|| vm_disk_capacity_kb(emu, &src))
            .unwrap_or(0);
        let uuid = new_disk_uuid(emu);
        write_descriptor(emu, &dds, &drel, capacity_kb, &disk_type, &uuid)?;
        Ok(None)
    })
}

/// `FileAlreadyExists` for the datastore path `name`.
pub(super) fn file_already_exists(name: &str) -> Fault {
    Fault::new(
        "FileAlreadyExists",
        format!("Cannot complete the operation because the file or folder {name} already exists"),
    )
    .with("file", Value::str(name))
}

/// A powered-on VM whose disk is backed by `path`: ESXi holds a lock on it.
fn disk_locked(emu: &Emulator, path: &str) -> bool {
    emu.inv
        .iter()
        .filter(|o| o.moref.ty == "VirtualMachine")
        .filter(|o| {
            o.get("runtime")
                .and_then(|r| r.field("powerState"))
                .and_then(Value::as_str)
                == Some("poweredOn")
        })
        .filter_map(|o| o.get("config")?.field("hardware")?.field("device"))
        .flat_map(|d| d.items().iter())
        .any(|d| {
            d.field("backing")
                .and_then(|b| b.field("fileName"))
                .and_then(Value::as_str)
                == Some(path)
        })
}

fn file_locked(name: &str) -> Fault {
    Fault::new(
        "FileLocked",
        format!("Unable to access file {name} since it is locked"),
    )
    .with("file", Value::str(name))
}

/// `MoveVirtualDisk_Task(sourceName, sourceDatacenter?, destName, destDatacenter?, force?,
/// profile?)`: moves a disk's descriptor and extent; the disk keeps its UUID.
/// `FileNotFound` for a missing source, `FileAlreadyExists` for an existing destination
/// unless `force`, `FileLocked` when a running VM uses the disk. A disk known only from a
/// registered VM's configuration (no stored descriptor) is that VM's: it moves with the VM
/// (`RelocateVM_Task`), so moving it alone is `FileLocked` too.
pub fn move_virtual_disk_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let DiskPair {
        src,
        dst,
        sds,
        srel,
        dds,
        drel,
        entity,
    } = disk_pair(emu, args)?;
    let force = args.opt_bool("force")?.unwrap_or(false);
    run_task(emu, ctx, call, &entity, move |emu| {
        let skey = datastore_key(&sds, &srel);
        if !emu.files.contains_key(&skey) {
            if file_exists(emu, &sds, &srel) {
                return Err(file_locked(&src));
            }
            return Err(Fault::file_not_found(&src));
        }
        if disk_locked(emu, &src) {
            return Err(file_locked(&src));
        }
        if sds == dds && srel == drel {
            return Ok(None);
        }
        if file_exists(emu, &dds, &drel) {
            if !force || disk_locked(emu, &dst) {
                return Err(file_already_exists(&dst));
            }
            remove_disk_files(emu, &dds, &drel);
        }
        let flat = |k: &str| k.trim_end_matches(".vmdk").to_owned() + "-flat.vmdk";
        let dkey = datastore_key(&dds, &drel);
        for (from, to) in [(skey.clone(), dkey.clone()), (flat(&skey), flat(&dkey))] {
            if let Some(bytes) = emu.files.remove(&from) {
                emu.files.insert(to.clone(), bytes);
                touch_file(emu, &to);
            }
        }
        Ok(None)
    })
}

/// The UUID in vSphere's disk format (`60 00 c2 9b 69 2f 5b 1e-8f 10 00 c0 55 ff 08 a9`)
/// from any spelling with 32 hex digits (spaces and dashes ignored).
fn disk_uuid_format(uuid: &str) -> Option<String> {
    if uuid.len() > 64 {
        return None;
    }
    let hex: Vec<char> = uuid.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if hex.len() != 32 || !hex.iter().all(char::is_ascii_hexdigit) {
        return None;
    }
    let bytes: Vec<String> = hex
        .chunks(2)
        .map(|p| p.iter().collect::<String>().to_ascii_lowercase())
        .collect();
    Some(format!("{}-{}", bytes[..8].join(" "), bytes[8..].join(" ")))
}

/// `SetVirtualDiskUuid(name, datacenter?, uuid)`: rewrites the descriptor's `ddb.uuid`
/// (`QueryVirtualDiskUuid` then answers it). `FileNotFound` for a missing disk,
/// `InvalidArgument` for a UUID that is not 16 hex bytes.
pub fn set_virtual_disk_uuid(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let name = args.text("name")?;
    let dc = args.opt_moref("datacenter");
    datacenters(emu, [&dc, &None])?;
    let uuid =
        disk_uuid_format(args.text("uuid")?).ok_or_else(|| Fault::invalid_argument("uuid"))?;
    let (ds, rel) = vmdk(name, "name")?;
    datastore(emu, dc.as_ref(), &ds)?;
    let key = datastore_key(&ds, &rel);
    let Some(bytes) = emu.files.get(&key) else {
        if file_exists(emu, &ds, &rel) && disk_locked(emu, name) {
            return Err(file_locked(name));
        }
        return Err(Fault::file_not_found(name));
    };
    let text = String::from_utf8_lossy(bytes);
    let mut found = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|l| match l.split_once('=') {
            Some((k, _)) if k.trim() == "ddb.uuid" => {
                found = true;
                format!("ddb.uuid = \"{uuid}\"")
            }
            _ => l.to_owned(),
        })
        .collect();
    if !found {
        if descriptor_facts(emu, &ds, &rel).0.is_none() {
            return Err(
                Fault::new("FileFault", format!("{name} is not a virtual disk"))
                    .with("file", Value::str(name)),
            );
        }
        out.push(format!("ddb.uuid = \"{uuid}\""));
    }
    emu.files
        .insert(key.clone(), (out.join("\n") + "\n").into_bytes());
    touch_file(emu, &key);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_uuids_take_any_spelling_of_16_bytes() {
        let want = "60 00 c2 9b 69 2f 5b 1e-8f 10 00 c0 55 ff 08 a9";
        for ok in [
            want,
            "6000C29B692F5B1E8F1000C055FF08A9",
            "6000c29b-692f-5b1e-8f10-00c055ff08a9",
        ] {
            assert_eq!(disk_uuid_format(ok).as_deref(), Some(want), "{ok}");
        }
        for bad in [
            "",
            "60 00",
            "zz00c29b692f5b1e8f1000c055ff08a9",
            &"0".repeat(80),
        ] {
            assert_eq!(disk_uuid_format(bad), None, "{bad}");
        }
    }
}
