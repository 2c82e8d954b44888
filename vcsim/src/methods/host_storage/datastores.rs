//! HostDatastoreSystem's `CreateLocalDatastore`, `CreateNasDatastore` and `RemoveDatastore`,
//! and the refreshes `RefreshDatastore` (Datastore) and `RefreshStorageInfo` (VM).
//!
//! A new datastore is an inventory entity like the model's own: in its datacenter's
//! datastore folder and `datastore` list, in the host's and the compute resource's
//! `datastore` lists, with a `DatastoreHostMount` for the host and a browser. Its files live
//! in `Emulator::files` under its name, as every datastore's do. An NFS export already known
//! to the datacenter under the same name is mounted, not created again (vCenter's answer
//! when `govc datastore.create -type nfs` runs for a second host); `RemoveDatastore`
//! unmounts from one host and drops the datastore with its last mount.

use super::{connected, manager_host};
use crate::emulator::Emulator;
use crate::inventory::{datastore, datastore_host_mount, entity_name};
use crate::methods::Args;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Most datastores the inventory holds; far above what CI scenarios create (vSphere's own
/// limit is 1024 per host), and a bound on what requests can add.
pub const DATASTORES_MAX: usize = 4096;

/// Longest local path, remote host or remote path accepted (Linux's `PATH_MAX`).
const PATH_MAX: usize = 4096;

/// Capacity of a new datastore: the model's datastore size (1 TiB), as nothing in the
/// request says how large the backing is.
const NEW_DATASTORE_BYTES: i64 = 1 << 40;

/// What kind of datastore to create.
enum Kind {
    /// A directory on the host (`CreateLocalDatastore`).
    Local { path: String },
    /// An NFS/CIFS export (`CreateNasDatastore`).
    Nas {
        remote_host: String,
        remote_path: String,
        fs_type: String,
        access_mode: String,
    },
}

/// `CreateLocalDatastore(name, path)`: a datastore on a local directory of the host. The
/// path must be absolute (`HostConfigFault` otherwise, as ESXi refuses a relative one); a
/// name the datacenter already has is `DuplicateName`.
pub(super) fn create_local(
    emu: &mut Emulator,
    dss: &MoRef,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let name = entity_name(args.text("name")?, "name")?;
    let path = args.text("path")?.trim();
    if path.is_empty() || path.len() > PATH_MAX {
        return Err(Fault::invalid_argument("path"));
    }
    if !path.starts_with('/') || path.split('/').any(|s| s == "..") {
        return Err(Fault::new(
            "HostConfigFault",
            format!("The path {path} is not an absolute path on the host"),
        ));
    }
    let host = manager_host(emu, "datastoreSystem", dss)?;
    let dc = datacenter(emu, &host)?;
    if let Some(existing) = named_in(emu, &dc, &name) {
        return Err(Fault::duplicate_name(&name, &existing));
    }
    let kind = Kind::Local {
        path: path.to_owned(),
    };
    let ds = add(emu, &host, &dc, &name, &kind)?;
    Ok(Some(Value::moref(&ds)))
}

/// `CreateNasDatastore(spec)`: an NFS (or NFS 4.1, CIFS) export mounted on the host, named
/// `spec.localPath`. The same export under the same name, known from another host, is
/// mounted on this one; any other use of the name is `DuplicateName`.
pub(super) fn create_nas(
    emu: &mut Emulator,
    dss: &MoRef,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let text = |f: &str| spec.child_text(f).map(str::trim).unwrap_or("");
    let bounded = |f: &str| {
        let t = text(f);
        if t.is_empty() || t.len() > PATH_MAX {
            Err(Fault::invalid_argument(&format!("spec.{f}")))
        } else {
            Ok(t.to_owned())
        }
    };
    let remote_host = bounded("remoteHost")?;
    let remote_path = bounded("remotePath")?;
    let name = entity_name(text("localPath"), "spec.localPath")?;
    let access_mode = match text("accessMode") {
        "" | "readWrite" => "readWrite",
        "readOnly" => "readOnly",
        _ => return Err(Fault::invalid_argument("spec.accessMode")),
    };
    let fs_type = match text("type") {
        "" | "NFS" | "nfs" => "NFS",
        "NFS41" | "nfs41" => "NFS41",
        "CIFS" | "cifs" => "CIFS",
        _ => return Err(Fault::invalid_argument("spec.type")),
    };
    let host = manager_host(emu, "datastoreSystem", dss)?;
    let dc = datacenter(emu, &host)?;
    if let Some(existing) = named_in(emu, &dc, &name) {
        let same_export = nas_export(emu, &existing)
            == Some((remote_host.clone(), remote_path.clone()))
            && !mounts(emu, &existing).contains(&host);
        if !same_export {
            return Err(Fault::duplicate_name(&name, &existing));
        }
        mount(
            emu,
            &existing,
            &host,
            &nas_mount_path(emu, &existing),
            access_mode,
        )?;
        return Ok(Some(Value::moref(&existing)));
    }
    let kind = Kind::Nas {
        remote_host,
        remote_path,
        fs_type: fs_type.to_owned(),
        access_mode: access_mode.to_owned(),
    };
    let ds = add(emu, &host, &dc, &name, &kind)?;
    Ok(Some(Value::moref(&ds)))
}

/// `RemoveDatastore(datastore)`: unmounts the datastore from the host; with its last mount
/// gone it leaves the inventory. `NotFound` when the host does not mount it,
/// `ResourceInUse` while VMs of the host use it.
pub(super) fn remove(
    emu: &mut Emulator,
    dss: &MoRef,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let ds = args.moref("datastore")?;
    let name = emu.inv.get(&ds)?.name().to_owned();
    if ds.ty != "Datastore" {
        return Err(Fault::invalid_argument("datastore"));
    }
    let host = manager_host(emu, "datastoreSystem", dss)?;
    if !mounts(emu, &ds).contains(&host) {
        return Err(Fault::not_found_plain(format!(
            "The datastore {name} is not mounted on host {}",
            emu.inv.get(&host)?.name()
        )));
    }
    let busy = emu.inv.refs(&ds, "vm").into_iter().find(|vm| {
        emu.inv
            .prop(vm, "runtime")
            .and_then(|r| r.field("host"))
            .and_then(Value::as_moref)
            == Some(&host)
    });
    if let Some(vm) = busy {
        let vm_name = emu.inv.get(&vm)?.name().to_owned();
        return Err(Fault::new(
            "ResourceInUse",
            format!("The datastore {name} is in use by virtual machine {vm_name}"),
        )
        .with("type", Value::str("Datastore"))
        .with("name", Value::str(name)));
    }
    // Unmount from this host, and from its compute resource when no other host there has it.
    emu.inv.update(&ds, |o| {
        if let Some(items) = o.props.get_mut("host").and_then(Value::items_mut) {
            items.retain(|m| m.field("key").and_then(Value::as_moref) != Some(&host));
        }
    })?;
    emu.inv.pull_ref(&host, "datastore", &ds)?;
    let left = mounts(emu, &ds);
    if let Some(cr) = emu.inv.get(&host)?.parent().cloned() {
        let shared = emu.inv.refs(&cr, "host").iter().any(|h| left.contains(h));
        if !shared {
            emu.inv.pull_ref(&cr, "datastore", &ds)?;
        }
    }
    if left.is_empty() {
        drop_datastore(emu, &ds)?;
    }
    Ok(None)
}

/// Takes an unmounted datastore out of the inventory: its folder (or datastore cluster),
/// its datacenter's list, and its browser when no other datastore shares it.
fn drop_datastore(emu: &mut Emulator, ds: &MoRef) -> Result<(), Fault> {
    let dc = emu.datacenter_of(ds);
    let obj = emu.inv.get(ds)?.clone();
    let in_pod = obj.parent().is_some_and(|p| p.ty == "StoragePod");
    if let Some(parent) = obj.parent() {
        emu.inv.pull_ref(parent, "childEntity", ds)?;
    }
    if let Some(dc) = dc {
        emu.inv.pull_ref(&dc, "datastore", ds)?;
    }
    if let Some(browser) = obj.get("browser").and_then(Value::as_moref) {
        if emu.inv.contains(browser) {
            emu.inv.pull_ref(browser, "datastore", ds)?;
        }
        let host_browser = emu.inv.iter().any(|o| {
            o.moref.ty == "HostSystem"
                && o.get("datastoreBrowser").and_then(Value::as_moref) == Some(browser)
        });
        if !host_browser && emu.inv.refs(browser, "datastore").is_empty() {
            emu.inv.remove(browser);
        }
    }
    emu.inv.remove(ds);
    if in_pod {
        crate::methods::storage_pod::refresh_summaries(emu);
    }
    Ok(())
}

/// `RefreshDatastore`: re-reads the datastore's space (`info.timestamp` moves to now);
/// `HostNotConnected` when no host that mounts it is reachable.
pub(super) fn refresh_datastore(emu: &mut Emulator, ds: &MoRef) -> Result<Option<Value>, Fault> {
    let hosts = mounts(emu, ds);
    if let Some(first) = hosts.first()
        && !hosts
            .iter()
            .any(|h| emu.host_connected(h) && !emu.host_down(h))
    {
        connected(emu, first)?;
    }
    let now = emu.clock.now_ms();
    emu.inv.update(ds, |o| {
        if let Some(info) = o.props.get_mut("info").and_then(Value::as_data_mut) {
            info.set("timestamp", Value::DateTime(now));
        }
    })?;
    Ok(None)
}

/// `RefreshStorageInfo`: the VM's storage usage is recomputed whenever its disks change, so
/// there is nothing to re-read; the call answers as vCenter does.
pub(super) fn refresh_storage_info(emu: &mut Emulator, vm: &MoRef) -> Result<Option<Value>, Fault> {
    emu.inv.get(vm)?;
    Ok(None)
}

/// The datacenter `host` belongs to.
fn datacenter(emu: &Emulator, host: &MoRef) -> Result<MoRef, Fault> {
    emu.datacenter_of(host)
        .ok_or_else(|| Fault::invalid_state("The host is not in a datacenter"))
}

/// The datastore of datacenter `dc` named `name`.
fn named_in(emu: &Emulator, dc: &MoRef, name: &str) -> Option<MoRef> {
    emu.inv
        .refs(dc, "datastore")
        .into_iter()
        .find(|d| emu.inv.lookup(d).is_some_and(|o| o.name() == name))
}

/// The hosts that mount `ds`.
fn mounts(emu: &Emulator, ds: &MoRef) -> Vec<MoRef> {
    emu.inv
        .prop(ds, "host")
        .map(|v| {
            v.items()
                .iter()
                .filter_map(|m| m.field("key").and_then(Value::as_moref).cloned())
                .collect()
        })
        .unwrap_or_default()
}

/// The (remote host, remote path) of an NFS datastore.
fn nas_export(emu: &Emulator, ds: &MoRef) -> Option<(String, String)> {
    let nas = emu.inv.prop(ds, "info")?.field("nas")?;
    let f = |n: &str| nas.field(n).and_then(Value::as_str).map(str::to_owned);
    Some((f("remoteHost")?, f("remotePath")?))
}

/// Where an NFS datastore is mounted on its hosts (`/vmfs/volumes/<id>`, from its URL).
fn nas_mount_path(emu: &Emulator, ds: &MoRef) -> String {
    let url = emu
        .inv
        .prop(ds, "summary")
        .and_then(|s| s.field("url"))
        .and_then(Value::as_str)
        .unwrap_or("");
    url.strip_prefix("ds://")
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_owned()
}

/// Mounts `ds` on `host`: the mount entry and the host's and compute resource's lists.
fn mount(
    emu: &mut Emulator,
    ds: &MoRef,
    host: &MoRef,
    path: &str,
    access_mode: &str,
) -> Result<(), Fault> {
    let mut m = datastore_host_mount(host, path);
    if let Some(info) = m
        .as_data_mut()
        .and_then(|d| d.get_mut("mountInfo"))
        .and_then(Value::as_data_mut)
    {
        info.set("accessMode", Value::str(access_mode));
    }
    emu.inv.update(ds, |o| {
        let slot = o
            .props
            .entry("host".to_owned())
            .or_insert_with(|| Value::array("DatastoreHostMount", vec![]));
        if let Some(items) = slot.items_mut() {
            items.push(m);
        }
    })?;
    emu.inv.push_ref(host, "datastore", ds)?;
    if let Some(cr) = emu.inv.get(host)?.parent().cloned() {
        emu.inv.push_ref(&cr, "datastore", ds)?;
    }
    Ok(())
}

/// Creates a datastore entity of `kind` named `name` in datacenter `dc`, mounted on `host`.
fn add(
    emu: &mut Emulator,
    host: &MoRef,
    dc: &MoRef,
    name: &str,
    kind: &Kind,
) -> Result<MoRef, Fault> {
    let count = emu.inv.count_of_type("Datastore");
    if count >= DATASTORES_MAX {
        return Err(Fault::new(
            "HostConfigFault",
            format!("The inventory holds the most datastores allowed ({DATASTORES_MAX})"),
        ));
    }
    let folder = emu
        .inv
        .prop(dc, "datastoreFolder")
        .and_then(Value::as_moref)
        .cloned()
        .ok_or_else(|| Fault::invalid_state("The datacenter has no datastore folder"))?;
    let esx = emu.flavor == crate::config::Flavor::HostAgent;
    let ds = if esx {
        // ESXi's ids are `datastoreN`; N past every id in use.
        let n = (1..=count + 1)
            .find(|n| {
                !emu.inv
                    .contains(&MoRef::new("Datastore", format!("datastore{n}")))
            })
            .unwrap_or(count + 1);
        MoRef::new("Datastore", format!("datastore{n}"))
    } else {
        MoRef::new("Datastore", emu.inv.alloc("datastore-"))
    };
    // vCenter gives each datastore its own browser; ESXi has one for the host.
    let browser = match emu
        .inv
        .prop(host, "datastoreBrowser")
        .and_then(Value::as_moref)
    {
        Some(b) if esx => b.clone(),
        _ => {
            let b = MoRef::new("HostDatastoreBrowser", emu.inv.alloc("datastoreBrowser-"));
            emu.inv.insert(
                crate::inventory::ManagedObject::new(b.clone())
                    .with("datastore", Value::morefs([])),
            );
            b
        }
    };
    let volume_id = emu.idgen.uuid();
    let url = format!("ds:///vmfs/volumes/{volume_id}/");
    let mut obj = datastore(
        ds.clone(),
        name,
        &folder,
        &url,
        NEW_DATASTORE_BYTES,
        &browser,
    );
    let (fs_type, multi_host, mount_path, access_mode) = match kind {
        Kind::Local { path } => ("OTHER", false, path.clone(), "readWrite".to_owned()),
        Kind::Nas {
            fs_type,
            access_mode,
            ..
        } => (
            fs_type.as_str(),
            true,
            format!("/vmfs/volumes/{volume_id}"),
            access_mode.clone(),
        ),
    };
    if let Some(s) = obj.props.get_mut("summary").and_then(Value::as_data_mut) {
        s.set("type", Value::str(fs_type));
        s.set("multipleHostAccess", Value::Bool(multi_host));
    }
    if let Some(info) = obj.props.get_mut("info").and_then(Value::as_data_mut) {
        match kind {
            Kind::Local { path } => {
                info.ty = Some("LocalDatastoreInfo".into());
                info.set("path", Value::str(path.clone()));
            }
            Kind::Nas {
                remote_host,
                remote_path,
                fs_type,
                ..
            } => {
                info.ty = Some("NasDatastoreInfo".into());
                let nas = DataObject::new("HostNasVolume")
                    .with("type", Value::str(fs_type.clone()))
                    .with("name", Value::str(name))
                    .with("capacity", Value::Long(NEW_DATASTORE_BYTES))
                    .with("remoteHost", Value::str(remote_host.clone()))
                    .with("remotePath", Value::str(remote_path.clone()))
                    .with("remoteHostNames", Value::strings([remote_host.clone()]))
                    .into_value();
                info.set("nas", nas);
            }
        }
        info.set("timestamp", Value::DateTime(emu.clock.now_ms()));
    }
    emu.inv.insert(obj);
    emu.inv.push_new_ref(&folder, "childEntity", &ds)?;
    emu.inv.push_new_ref(dc, "datastore", &ds)?;
    emu.inv.push_new_ref(&browser, "datastore", &ds)?;
    mount(emu, &ds, host, &mount_path, &access_mode)?;
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use crate::config::Flavor;
    use crate::methods::search_index::harness::{H, mo};
    use crate::vmodl::{MoRef, Value};

    fn dss(h: &H, host: &MoRef) -> MoRef {
        h.emu
            .inv
            .prop(host, "configManager")
            .and_then(|c| c.field("datastoreSystem"))
            .and_then(Value::as_moref)
            .cloned()
            .unwrap()
    }

    fn nas(local: &str, remote: &str) -> String {
        format!(
            "<spec><remoteHost>nfs.example.com</remoteHost><remotePath>{remote}</remotePath>\
             <localPath>{local}</localPath><accessMode>readWrite</accessMode><type>NFS</type></spec>"
        )
    }

    #[test]
    fn local_datastores_join_the_inventory_and_leave_with_their_last_mount() {
        let mut h = H::new(Flavor::VirtualCenter);
        let host = h.find("HostSystem", "DC0_H0");
        let d = dss(&h, &host);
        let body = "<name>scratch</name><path>/var/tmp/scratch</path>";
        let ds = h.call("CreateLocalDatastore", &d, body).unwrap().unwrap();
        let ds = ds.as_moref().unwrap().clone();
        assert!(h.emu.inv.refs(&host, "datastore").contains(&ds));
        let dc = h.find("Datacenter", "DC0");
        assert!(h.emu.inv.refs(&dc, "datastore").contains(&ds));
        let info = h.emu.inv.prop(&ds, "info").unwrap();
        assert_eq!(info.xsi_type(), "LocalDatastoreInfo");
        assert_eq!(
            h.call("CreateLocalDatastore", &d, body).unwrap_err().ty,
            "DuplicateName"
        );
        let rel = "<name>other</name><path>var/tmp</path>";
        assert_eq!(
            h.call("CreateLocalDatastore", &d, rel).unwrap_err().ty,
            "HostConfigFault"
        );
        h.call("RemoveDatastore", &d, &mo("datastore", &ds))
            .unwrap();
        assert!(!h.emu.inv.contains(&ds));
        assert!(!h.emu.inv.refs(&host, "datastore").contains(&ds));
        assert_eq!(
            h.call("RemoveDatastore", &d, &mo("datastore", &ds))
                .unwrap_err()
                .ty,
            "ManagedObjectNotFound"
        );
    }

    #[test]
    fn one_nfs_export_is_one_datastore_mounted_on_each_host() {
        let mut h = H::new(Flavor::VirtualCenter);
        let h0 = h.find("HostSystem", "DC0_C0_H0");
        let h1 = h.find("HostSystem", "DC0_C0_H1");
        let (d0, d1) = (dss(&h, &h0), dss(&h, &h1));
        let a = h
            .call("CreateNasDatastore", &d0, &nas("nfs1", "/export/a"))
            .unwrap();
        let b = h
            .call("CreateNasDatastore", &d1, &nas("nfs1", "/export/a"))
            .unwrap();
        assert_eq!(a, b);
        let ds = a.unwrap().as_moref().unwrap().clone();
        assert_eq!(h.emu.inv.prop(&ds, "host").unwrap().items().len(), 2);
        // The same name for another export, or a second mount on one host, is taken.
        let other = h.call("CreateNasDatastore", &d0, &nas("nfs1", "/export/b"));
        assert_eq!(other.unwrap_err().ty, "DuplicateName");
        let again = h.call("CreateNasDatastore", &d0, &nas("nfs1", "/export/a"));
        assert_eq!(again.unwrap_err().ty, "DuplicateName");
        // Unmounting from one host keeps it for the other.
        h.call("RemoveDatastore", &d0, &mo("datastore", &ds))
            .unwrap();
        assert!(h.emu.inv.contains(&ds));
        let cr = h.emu.inv.get(&h0).unwrap().parent().unwrap().clone();
        assert!(h.emu.inv.refs(&cr, "datastore").contains(&ds));
        assert_eq!(
            h.call("RemoveDatastore", &d0, &mo("datastore", &ds))
                .unwrap_err()
                .ty,
            "NotFound"
        );
        h.call("RemoveDatastore", &d1, &mo("datastore", &ds))
            .unwrap();
        assert!(!h.emu.inv.contains(&ds));
        assert!(!h.emu.inv.refs(&cr, "datastore").contains(&ds));
    }

    #[test]
    fn a_datastore_in_use_by_the_hosts_vms_stays() {
        let mut h = H::new(Flavor::VirtualCenter);
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let host = h
            .emu
            .inv
            .prop(&vm, "runtime")
            .and_then(|r| r.field("host"))
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let ds = h.emu.inv.refs(&vm, "datastore")[0].clone();
        let d = dss(&h, &host);
        let r = h.call("RemoveDatastore", &d, &mo("datastore", &ds));
        assert_eq!(r.unwrap_err().ty, "ResourceInUse");
        assert!(h.emu.inv.refs(&host, "datastore").contains(&ds));
    }

    #[test]
    fn refresh_moves_the_timestamp() {
        let mut h = H::new(Flavor::VirtualCenter);
        let ds = h.find("Datastore", "LocalDS_0");
        h.emu.clock.advance(5_000);
        h.call("RefreshDatastore", &ds, "").unwrap();
        let ts = h
            .emu
            .inv
            .prop(&ds, "info")
            .unwrap()
            .field("timestamp")
            .cloned();
        assert_eq!(ts, Some(Value::DateTime(h.emu.clock.now_ms())));
    }
}
