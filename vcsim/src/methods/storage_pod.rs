//! `Folder.CreateStoragePod`: a datastore cluster under a datacenter's datastore folder.
//!
//! A `StoragePod` is a folder of datastores: datastores join it with `MoveIntoFolder_Task`
//! and its `summary` (`StoragePodSummary`) adds up their capacity and free space, refreshed
//! after every move. Storage DRS is reported configured and disabled (`podStorageDrsEntry`),
//! as vCenter shows a new datastore cluster before SDRS is turned on.

use super::{Args, CallContext, run_task};
use crate::emulator::Emulator;
use crate::inventory::folder as folder_obj;
use crate::soap::Call;
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// Most storage pods in the inventory (each is a folder; bounded like other entities).
pub const STORAGE_PODS_MAX: usize = 1024;

fn summary(emu: &Emulator, pod: &MoRef, name: &str) -> Value {
    let (mut capacity, mut free) = (0i64, 0i64);
    for ds in emu.inv.refs(pod, "childEntity") {
        let s = emu.inv.prop(&ds, "summary");
        let field = |f: &str| {
            s.and_then(|s| s.field(f))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        capacity = capacity.saturating_add(field("capacity"));
        free = free.saturating_add(field("freeSpace"));
    }
    DataObject::new("StoragePodSummary")
        .with("name", Value::str(name))
        .with("capacity", Value::Long(capacity))
        .with("freeSpace", Value::Long(free))
        .into_value()
}

pub(crate) fn sdrs_entry() -> Value {
    let pod_config = DataObject::new("StorageDrsPodConfigInfo")
        .with("enabled", Value::Bool(false))
        .with("ioLoadBalanceEnabled", Value::Bool(false))
        .with("defaultVmBehavior", Value::str("manual"))
        .with("loadBalanceInterval", Value::Int(480))
        .with("defaultIntraVmAffinity", Value::Bool(true))
        .into_value();
    DataObject::new("PodStorageDrsEntry")
        .with(
            "storageDrsConfig",
            DataObject::new("StorageDrsConfigInfo")
                .with("podConfig", pod_config)
                .into_value(),
        )
        .into_value()
}

/// `CreateStoragePod(name)` on a folder that holds datastores (a datacenter's datastore
/// folder or one below it): `NotSupported` elsewhere, `DuplicateName` for a taken name.
pub fn create_storage_pod(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    if call.this.ty != "Folder" {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    let name = crate::inventory::entity_name(args.text("name")?, "name")?;
    let holds_pods = emu
        .inv
        .get(&call.this)?
        .get("childType")
        .is_some_and(|t| t.items().iter().any(|t| t.as_str() == Some("StoragePod")));
    if !holds_pods {
        return Err(Fault::not_supported(
            "A storage pod can only be created in a datastore folder",
        ));
    }
    if let Some(existing) = emu.inv.child_named(&call.this, &name) {
        return Err(Fault::duplicate_name(&name, &existing));
    }
    let pods = emu
        .inv
        .iter()
        .filter(|o| o.moref.ty == "StoragePod")
        .count();
    if pods >= STORAGE_PODS_MAX {
        return Err(Fault::invalid_state(format!(
            "The inventory holds the most storage pods allowed ({STORAGE_PODS_MAX})"
        )));
    }
    let pod = MoRef::new("StoragePod", emu.inv.alloc("group-p"));
    let obj = folder_obj(pod.clone(), &name, Some(&call.this), &["Datastore"])
        .with("summary", summary(emu, &pod, &name))
        .with("podStorageDrsEntry", sdrs_entry());
    emu.inv.insert(obj);
    emu.inv.push_ref(&call.this, "childEntity", &pod)?;
    Ok(Some(Value::moref(&pod)))
}

/// `MoveIntoFolder_Task(list)` on a storage pod: datastores join the datastore cluster
/// (the generic folder handler takes plain folders only).
pub fn move_into_pod_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let list = args.morefs("list");
    let pod = call.this.clone();
    run_task(emu, ctx, call, &call.this, move |emu| {
        emu.move_into_folder(&pod, &list)?;
        refresh_summaries(emu);
        Ok(None)
    })
}

/// Recomputes every storage pod's summary (after datastores moved in or out).
pub fn refresh_summaries(emu: &mut Emulator) {
    let pods: Vec<(MoRef, String)> = emu
        .inv
        .iter()
        .filter(|o| o.moref.ty == "StoragePod")
        .map(|o| (o.moref.clone(), o.name().to_owned()))
        .collect();
    for (pod, name) in pods {
        let s = summary(emu, &pod, &name);
        if emu.inv.prop(&pod, "summary") != Some(&s) {
            let _ = emu.inv.set(&pod, "summary", s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::soap::{Element, parse_document};

    fn call(this: &MoRef) -> Call {
        Call {
            method: "CreateStoragePod".into(),
            this: this.clone(),
            args: Element {
                name: "CreateStoragePod".into(),
                ns: None,
                xsi_type: None,
                xsi_primitive: false,
                attrs: Vec::new(),
                children: Vec::new(),
                text: String::new(),
            },
        }
    }

    #[test]
    fn pods_go_in_datastore_folders_and_add_up_their_datastores() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        let dc = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "Datacenter")
            .unwrap()
            .moref
            .clone();
        let ds_folder = emu
            .inv
            .prop(&dc, "datastoreFolder")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let vm_folder = emu
            .inv
            .prop(&dc, "vmFolder")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let args = parse_document("<r><name>pod1</name></r>").unwrap();
        let pod = create_storage_pod(&mut emu, &call(&ds_folder), &Args::new(&args))
            .unwrap()
            .and_then(|v| v.as_moref().cloned())
            .unwrap();
        let dup = create_storage_pod(&mut emu, &call(&ds_folder), &Args::new(&args));
        assert_eq!(dup.unwrap_err().ty, "DuplicateName");
        let wrong = create_storage_pod(&mut emu, &call(&vm_folder), &Args::new(&args));
        assert_eq!(wrong.unwrap_err().ty, "NotSupported");
        let ds = emu.inv.refs(&dc, "datastore")[0].clone();
        emu.move_into_folder(&pod, std::slice::from_ref(&ds))
            .unwrap();
        refresh_summaries(&mut emu);
        let cap = emu
            .inv
            .prop(&pod, "summary")
            .and_then(|s| s.field("capacity"))
            .and_then(Value::as_i64)
            .unwrap();
        assert!(cap > 0);
        assert_eq!(emu.inv.get(&ds).unwrap().parent(), Some(&pod));
    }
}
