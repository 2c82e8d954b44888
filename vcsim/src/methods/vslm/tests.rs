//! Unit tests of the first-class disk manager, through `methods::dispatch`.

use super::*;
use crate::config::{Config, Flavor};
use crate::methods::dispatch as dispatch_call;

fn envelope(body: &str) -> String {
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

struct H {
    emu: Emulator,
    ctx: CallContext,
    ds: MoRef,
    mgr: MoRef,
}

impl H {
    fn new(flavor: Flavor) -> H {
        let config = Config {
            flavor,
            ..Config::default()
        };
        let emu = Emulator::new(config).unwrap();
        let ds = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "Datastore")
            .unwrap()
            .moref
            .clone();
        let mgr = emu.refs.vstorage_object_manager.clone();
        let mut h = H {
            emu,
            ctx: CallContext::default(),
            ds,
            mgr,
        };
        let sm = h.emu.refs.session_manager.clone();
        h.raw(&format!(
            r#"<Login xmlns="urn:vim25"><_this type="SessionManager">{}</_this><userName>user</userName><password>pass</password></Login>"#,
            sm.value
        ))
        .unwrap();
        // Login made the call context's session the new session's key.
        assert!(h.ctx.set_cookie.take().is_some());
        h
    }

    fn raw(&mut self, body: &str) -> Result<Option<Value>, Fault> {
        let call = crate::soap::read_call(&envelope(body)).unwrap();
        match dispatch_call(&mut self.emu, &mut self.ctx, &call) {
            Outcome::Done(r) => r,
            Outcome::Wait(_) => panic!("no waits here"),
        }
    }

    /// Calls `method` on the manager with `inner` parameters.
    fn call(&mut self, method: &str, inner: &str) -> Result<Option<Value>, Fault> {
        let (ty, v) = (self.mgr.ty.to_string(), self.mgr.value.clone());
        self.raw(&format!(
            r#"<{method} xmlns="urn:vim25"><_this type="{ty}">{v}</_this>{inner}</{method}>"#
        ))
    }

    /// Runs a task method and answers its result or its error.
    fn task(&mut self, method: &str, inner: &str) -> Result<Option<Value>, Fault> {
        let t = self.call(method, inner)?.unwrap();
        let info = self.emu.inv.prop(t.as_moref().unwrap(), "info").unwrap();
        match info.field("error") {
            Some(e) => {
                let ty = e.field("fault").unwrap().xsi_type().into_owned();
                Err(Fault::new(
                    if ty == "NotFound" {
                        "NotFound"
                    } else {
                        "Other"
                    },
                    ty,
                ))
            }
            None => Ok(info.field("result").cloned()),
        }
    }

    fn ds_arg(&self) -> String {
        format!(
            r#"<datastore type="Datastore">{}</datastore>"#,
            self.ds.value
        )
    }

    fn create(&mut self, name: &str, mb: i64) -> String {
        let spec = format!(
            r#"<spec><name>{name}</name><backingSpec xsi:type="VslmCreateSpecDiskFileBackingSpec">{}</backingSpec><capacityInMB>{mb}</capacityInMB></spec>"#,
            self.ds_arg()
        );
        let method = if self.mgr.ty == VC {
            "CreateDisk_Task"
        } else {
            "HostCreateDisk_Task"
        };
        let v = self.task(method, &spec).unwrap().unwrap();
        v.field("config")
            .and_then(|c| c.field("id"))
            .and_then(|i| i.field("id"))
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    }

    fn id_ds(&self, id: &str) -> String {
        format!("<id><id>{id}</id></id>{}", self.ds_arg())
    }
}

fn ids(v: Option<Value>) -> Vec<String> {
    v.map(|v| {
        v.items()
            .iter()
            .filter_map(|i| i.field("id").and_then(Value::as_str).map(str::to_owned))
            .collect()
    })
    .unwrap_or_default()
}

#[test]
fn create_list_retrieve_rename_delete() {
    let mut h = H::new(Flavor::VirtualCenter);
    assert_eq!(h.mgr.ty, VC);
    let id = h.create("disk-a", 10);
    let listed = ids(h.call("ListVStorageObject", &h.ds_arg()).unwrap());
    assert_eq!(listed, vec![id.clone()]);
    let obj = h
        .call("RetrieveVStorageObject", &h.id_ds(&id))
        .unwrap()
        .unwrap();
    let config = obj.field("config").unwrap();
    assert_eq!(config.field("name").and_then(Value::as_str), Some("disk-a"));
    assert_eq!(
        config.field("capacityInMB").and_then(Value::as_i64),
        Some(10)
    );
    let path = config
        .field("backing")
        .and_then(|b| b.field("filePath"))
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert!(path.contains("] fcd/") && path.ends_with(".vmdk"), "{path}");
    let (ds_name, rel) = parse_datastore_path(&path).unwrap();
    assert!(file_exists(&h.emu, &ds_name, &rel));
    h.call(
        "RenameVStorageObject",
        &format!("{}<name>disk-b</name>", h.id_ds(&id)),
    )
    .unwrap();
    let obj = h
        .call("RetrieveVStorageObject", &h.id_ds(&id))
        .unwrap()
        .unwrap();
    assert_eq!(
        obj.field("config")
            .and_then(|c| c.field("name"))
            .and_then(Value::as_str),
        Some("disk-b")
    );
    h.task("DeleteVStorageObject_Task", &h.id_ds(&id)).unwrap();
    assert!(!file_exists(&h.emu, &ds_name, &rel));
    assert!(ids(h.call("ListVStorageObject", &h.ds_arg()).unwrap()).is_empty());
    let err = h.call("RetrieveVStorageObject", &h.id_ds(&id)).unwrap_err();
    assert_eq!(err.ty, "NotFound");
    assert_eq!(
        h.task("DeleteVStorageObject_Task", &h.id_ds(&id))
            .unwrap_err()
            .ty,
        "NotFound"
    );
}

#[test]
fn ids_are_deterministic() {
    let a = H::new(Flavor::VirtualCenter).create("d", 1);
    let b = H::new(Flavor::VirtualCenter).create("d", 1);
    assert_eq!(a, b);
}

#[test]
fn extend_and_snapshots() {
    let mut h = H::new(Flavor::VirtualCenter);
    let id = h.create("d", 10);
    h.task(
        "ExtendDisk_Task",
        &format!("{}<newCapacityInMB>20</newCapacityInMB>", h.id_ds(&id)),
    )
    .unwrap();
    // The name govmomi 0.24 sends to either manager.
    h.task(
        "HostExtendDisk_Task",
        &format!("{}<newCapacityInMB>30</newCapacityInMB>", h.id_ds(&id)),
    )
    .unwrap();
    let shrink = h.task(
        "ExtendDisk_Task",
        &format!("{}<newCapacityInMB>5</newCapacityInMB>", h.id_ds(&id)),
    );
    assert!(shrink.is_err());
    let obj = h
        .call("RetrieveVStorageObject", &h.id_ds(&id))
        .unwrap()
        .unwrap();
    assert_eq!(
        obj.field("config")
            .and_then(|c| c.field("capacityInMB"))
            .and_then(Value::as_i64),
        Some(30)
    );
    let sid = h
        .task(
            "VStorageObjectCreateSnapshot_Task",
            &format!("{}<description>first</description>", h.id_ds(&id)),
        )
        .unwrap()
        .unwrap()
        .field("id")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let info = h
        .call("RetrieveSnapshotInfo", &h.id_ds(&id))
        .unwrap()
        .unwrap();
    let snaps = info.field("snapshots").unwrap().items().to_vec();
    assert_eq!(snaps.len(), 1);
    assert_eq!(
        snaps[0].field("description").and_then(Value::as_str),
        Some("first")
    );
    h.task(
        "DeleteSnapshot_Task",
        &format!("{}<snapshotId><id>{sid}</id></snapshotId>", h.id_ds(&id)),
    )
    .unwrap();
    let again = h.task(
        "DeleteSnapshot_Task",
        &format!("{}<snapshotId><id>{sid}</id></snapshotId>", h.id_ds(&id)),
    );
    assert_eq!(again.unwrap_err().ty, "NotFound");
    let info = h
        .call("RetrieveSnapshotInfo", &h.id_ds(&id))
        .unwrap()
        .unwrap();
    assert!(info.field("snapshots").unwrap().items().is_empty());
}

#[test]
fn tags_attach_list_detach() {
    let mut h = H::new(Flavor::VirtualCenter);
    let a = h.create("a", 1);
    let b = h.create("b", 1);
    let tag = "<category>env</category><tag>prod</tag>";
    for id in [&a, &b] {
        h.call(
            "AttachTagToVStorageObject",
            &format!("<id><id>{id}</id></id>{tag}"),
        )
        .unwrap();
    }
    let mut both = ids(h.call("ListVStorageObjectsAttachedToTag", tag).unwrap());
    both.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(both, want);
    let tags = h
        .call(
            "ListTagsAttachedToVStorageObject",
            &format!("<id><id>{a}</id></id>"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        tags.items()[0]
            .field("parentCategoryName")
            .and_then(Value::as_str),
        Some("env")
    );
    h.call(
        "DetachTagFromVStorageObject",
        &format!("<id><id>{a}</id></id>{tag}"),
    )
    .unwrap();
    assert_eq!(
        ids(h.call("ListVStorageObjectsAttachedToTag", tag).unwrap()),
        vec![b]
    );
    let err = h
        .call(
            "DetachTagFromVStorageObject",
            &format!("<id><id>{a}</id></id>{tag}"),
        )
        .unwrap_err();
    assert_eq!(err.ty, "NotFound");
}

#[test]
fn register_reconcile_and_faults() {
    let mut h = H::new(Flavor::VirtualCenter);
    let ds_name = h.emu.inv.get(&h.ds).unwrap().name().to_owned();
    write_descriptor(&mut h.emu, &ds_name, "old/disk.vmdk", 2048, "thin", "u").unwrap();
    let url = format!("https://vc/folder/old/disk.vmdk?dcPath=DC0&amp;dsName={ds_name}");
    let obj = h
        .call("RegisterDisk", &format!("<path>{url}</path>"))
        .unwrap()
        .unwrap();
    let config = obj.field("config").unwrap();
    assert_eq!(config.field("name").and_then(Value::as_str), Some("disk"));
    assert_eq!(
        config.field("capacityInMB").and_then(Value::as_i64),
        Some(2)
    );
    let again = h.call(
        "RegisterDisk",
        &format!("<path>[{ds_name}] old/disk.vmdk</path>"),
    );
    assert_eq!(again.unwrap_err().ty, "AlreadyExists");
    let missing = h.call(
        "RegisterDisk",
        &format!("<path>[{ds_name}] nope.vmdk</path>"),
    );
    assert_eq!(missing.unwrap_err().ty, "FileNotFound");
    // The file goes away behind the manager's back: Reconcile drops the disk.
    remove_disk_files(&mut h.emu, &ds_name, "old/disk.vmdk");
    assert_eq!(h.emu.fcd.len(), 1);
    h.task("ReconcileDatastoreInventory_Task", &h.ds_arg())
        .unwrap();
    assert!(h.emu.fcd.is_empty());
    // Bad input: faults, never panics.
    for bad in [
        "<spec><name>x</name><capacityInMB>1</capacityInMB></spec>",
        "<spec><name>x</name><backingSpec><datastore type=\"Datastore\">nope</datastore></backingSpec><capacityInMB>1</capacityInMB></spec>",
        "<spec><name>x</name><backingSpec><datastore type=\"Datastore\">nope</datastore></backingSpec><capacityInMB>-1</capacityInMB></spec>",
    ] {
        assert!(h.call("CreateDisk_Task", bad).is_err(), "{bad}");
    }
    // An id is a name, not a path: it cannot place the disk's file outside its folder.
    let escape = format!(
        r#"<spec><id><id>../../escape</id></id><name>x</name><backingSpec xsi:type="VslmCreateSpecDiskFileBackingSpec">{}</backingSpec><capacityInMB>1</capacityInMB></spec>"#,
        h.ds_arg()
    );
    assert_eq!(
        h.call("CreateDisk_Task", &escape).unwrap_err().ty,
        "InvalidArgument"
    );
    assert!(!file_exists(&h.emu, &ds_name, "escape.vmdk"));
    assert!(h.call("RetrieveVStorageObject", &h.ds_arg()).is_err());
    assert_eq!(
        h.call("RetrieveVStorageObject", &h.id_ds("nope"))
            .unwrap_err()
            .ty,
        "NotFound"
    );
}

#[test]
fn receiver_and_session_are_checked() {
    let mut h = H::new(Flavor::VirtualCenter);
    // The ESXi name on vCenter's manager.
    let e = h.call("HostListVStorageObject", &h.ds_arg()).unwrap_err();
    assert_eq!(e.ty, "MethodNotFound");
    h.ctx.session = None;
    let e = h.call("ListVStorageObject", &h.ds_arg()).unwrap_err();
    assert_eq!(e.ty, "NotAuthenticated");
}

#[test]
fn esxi_manager_answers_host_names() {
    let mut h = H::new(Flavor::HostAgent);
    assert_eq!(h.mgr.ty, HOST);
    let id = h.create("d", 4);
    let listed = ids(h.call("HostListVStorageObject", &h.ds_arg()).unwrap());
    assert_eq!(listed, vec![id]);
    let content = h
        .emu
        .inv
        .prop(&h.emu.refs.service_instance, "content")
        .unwrap();
    assert_eq!(
        content
            .field("vStorageObjectManager")
            .and_then(Value::as_moref)
            .map(|m| m.value.as_str()),
        Some("ha-vstorage-object-manager")
    );
}

#[test]
fn attach_and_detach_on_a_vm() {
    let mut h = H::new(Flavor::VirtualCenter);
    let id = h.create("d", 8);
    let vm = h
        .emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "VirtualMachine")
        .unwrap()
        .moref
        .clone();
    let vm_call = |h: &mut H, method: &str, inner: &str| {
        let t = h
            .raw(&format!(
                r#"<{method} xmlns="urn:vim25"><_this type="VirtualMachine">{}</_this>{inner}</{method}>"#,
                vm.value
            ))
            .unwrap()
            .unwrap();
        let info = h.emu.inv.prop(t.as_moref().unwrap(), "info").unwrap();
        assert!(info.field("error").is_none(), "{info:?}");
    };
    let disk_of = |h: &H| {
        h.emu
            .inv
            .prop(&vm, "config")
            .and_then(|c| c.field("hardware"))
            .and_then(|hw| hw.field("device"))
            .unwrap()
            .items()
            .iter()
            .find(|d| d.field("vDiskId").is_some())
            .cloned()
    };
    let attach = format!("<diskId><id>{id}</id></diskId>{}", h.ds_arg());
    vm_call(&mut h, "AttachDisk_Task", &attach);
    let dev = disk_of(&h).expect("attached");
    assert!(dev.field("deviceInfo").is_some());
    assert_eq!(dev.field("unitNumber").and_then(Value::as_i64), Some(1));
    let obj = h
        .call("RetrieveVStorageObject", &h.id_ds(&id))
        .unwrap()
        .unwrap();
    assert_eq!(
        ids(obj
            .field("config")
            .and_then(|c| c.field("consumerId"))
            .cloned()),
        vec![vm.value.clone()]
    );
    // An attached disk cannot be deleted.
    assert!(h.task("DeleteVStorageObject_Task", &h.id_ds(&id)).is_err());
    vm_call(
        &mut h,
        "DetachDisk_Task",
        &format!("<diskId><id>{id}</id></diskId>"),
    );
    assert!(disk_of(&h).is_none());
    h.task("DeleteVStorageObject_Task", &h.id_ds(&id)).unwrap();
}

#[test]
fn register_paths_parse() {
    assert_eq!(
        register_path("https://h/folder/a%20b/c.vmdk?dcPath=DC0&dsName=ds%201"),
        Some(("ds 1".into(), "a b/c.vmdk".into()))
    );
    assert_eq!(
        register_path("[ds] x/y.vmdk"),
        Some(("ds".into(), "x/y.vmdk".into()))
    );
    assert_eq!(register_path("https://h/folder/c.vmdk"), None);
    assert_eq!(percent_decode("%zz%4"), "%zz%4");
}

#[test]
fn destroying_a_vm_deletes_its_disks_unless_kept() {
    let mut h = H::new(Flavor::VirtualCenter);
    let gone = h.create("gone", 1);
    let kept = {
        let spec = format!(
            r#"<spec><name>kept</name><keepAfterDeleteVm>true</keepAfterDeleteVm><backingSpec xsi:type="VslmCreateSpecDiskFileBackingSpec">{}</backingSpec><capacityInMB>1</capacityInMB></spec>"#,
            h.ds_arg()
        );
        let v = h.task("CreateDisk_Task", &spec).unwrap().unwrap();
        v.field("config")
            .and_then(|c| c.field("id"))
            .and_then(|i| i.field("id"))
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    };
    let vm = h
        .emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "VirtualMachine")
        .unwrap()
        .moref
        .clone();
    if h.emu.power_state(&vm).unwrap() == "poweredOn" {
        h.emu.power_off_vm("user", &vm).unwrap();
    }
    for id in [&gone, &kept] {
        let attach = format!("<diskId><id>{id}</id></diskId>{}", h.ds_arg());
        let t = h
            .raw(&format!(
                r#"<AttachDisk_Task xmlns="urn:vim25"><_this type="VirtualMachine">{}</_this>{attach}</AttachDisk_Task>"#,
                vm.value
            ))
            .unwrap()
            .unwrap();
        let info = h.emu.inv.prop(t.as_moref().unwrap(), "info").unwrap();
        assert!(info.field("error").is_none(), "{info:?}");
    }
    h.emu.destroy_vm("user", &vm).unwrap();
    assert!(!h.emu.fcd.disks.contains_key(&gone));
    let kept_disk = h.emu.fcd.disks.get(&kept).expect("kept");
    assert!(kept_disk.consumer.is_none());
    h.task("DeleteVStorageObject_Task", &h.id_ds(&kept))
        .unwrap();
}
