//! StorageResourceManager `RecommendDatastores` and `ConfigureStorageDrsForPod_Task`: Storage
//! DRS's initial placement in a datastore cluster and its configuration.
//!
//! Placement ranks the pod's usable datastores (accessible, not in maintenance, mounted on
//! the requested host) by free space, most first, one `ClusterRecommendation` each, as
//! Storage DRS's space balancing would. The configuration lands in the pod's
//! `podStorageDrsEntry.storageDrsConfig` (`podConfig` and per-VM `vmConfig`); every field is
//! checked before anything changes.

use crate::emulator::Emulator;
use crate::methods::storage_pod::sdrs_entry;
use crate::methods::{Args, CallContext, run_task};
use crate::soap::{Call, Element, decode};
use crate::vmodl::{DataObject, Fault, MoRef, Value};

/// The manager's type (the singleton is in vCenter's service content).
pub(super) const SRM_TYPE: &str = "StorageResourceManager";

/// Most per-VM Storage DRS entries one pod keeps (and one call may send).
pub const POD_VM_CONFIGS_MAX: usize = 4096;

/// Most placements (`initialVmConfig`) in one request.
const PLACEMENTS_MAX: usize = 256;

/// vCenter's bounds on the load-balance interval, in minutes.
const INTERVAL_MIN: i64 = 60;
const INTERVAL_MAX: i64 = 43_200;

/// The manager exists: in the inventory, or as vCenter's singleton (which the service
/// content does not list yet).
pub(super) fn check_manager(emu: &Emulator, this: &MoRef) -> Result<(), Fault> {
    emu.inv.get(this).map(|_| ())
}

/// A storage pod reference that must exist.
fn pod_ref(emu: &Emulator, r: Option<MoRef>, what: &str) -> Result<MoRef, Fault> {
    let pod = r.ok_or_else(|| Fault::invalid_argument(what))?;
    emu.inv.get(&pod)?;
    if pod.ty != "StoragePod" {
        return Err(Fault::invalid_argument(what));
    }
    Ok(pod)
}

/// A required child moref of the placement spec, which must exist.
fn required_ref(emu: &Emulator, spec: &Element, name: &str) -> Result<MoRef, Fault> {
    let r = spec
        .child(name)
        .and_then(decode::moref)
        .ok_or_else(|| Fault::invalid_argument(name))?;
    emu.inv.get(&r)?;
    Ok(r)
}

/// `RecommendDatastores(storageSpec)`: a `StoragePlacementResult` recommending the pods'
/// datastores, the one with the most free space first.
pub(super) fn recommend_datastores(
    emu: &mut Emulator,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let spec = args
        .element("storageSpec")
        .ok_or_else(|| Fault::invalid_argument("storageSpec"))?;
    let has = |n: &str| spec.child(n).is_some();
    let mut vm = None;
    match spec.child_text("type").map(str::trim) {
        Some("create") => {
            required_ref(emu, spec, "resourcePool")?;
            if !has("configSpec") {
                return Err(Fault::invalid_argument("configSpec"));
            }
        }
        Some("clone") => {
            vm = Some(required_ref(emu, spec, "vm")?);
            required_ref(emu, spec, "folder")?;
            if spec
                .child_text("cloneName")
                .is_none_or(|n| n.trim().is_empty())
            {
                return Err(Fault::invalid_argument("cloneName"));
            }
            if !has("cloneSpec") {
                return Err(Fault::invalid_argument("cloneSpec"));
            }
        }
        Some("relocate") => vm = Some(required_ref(emu, spec, "vm")?),
        Some("reconfigure") => {
            vm = Some(required_ref(emu, spec, "vm")?);
            if !has("configSpec") {
                return Err(Fault::invalid_argument("configSpec"));
            }
        }
        _ => return Err(Fault::invalid_argument("type")),
    }
    let host = match spec.child("host").and_then(decode::moref) {
        Some(h) => {
            emu.inv.get(&h)?;
            Some(h)
        }
        None => None,
    };
    let selection = spec
        .child("podSelectionSpec")
        .ok_or_else(|| Fault::invalid_argument("podSelectionSpec"))?;
    let mut pods = Vec::new();
    if let Some(p) = selection.child("storagePod") {
        pods.push(pod_ref(
            emu,
            decode::moref(p),
            "podSelectionSpec.storagePod",
        )?);
    }
    let placements: Vec<&Element> = selection.children_named("initialVmConfig").collect();
    if placements.len() > PLACEMENTS_MAX {
        return Err(Fault::invalid_argument("podSelectionSpec.initialVmConfig"));
    }
    for p in placements {
        let pod = pod_ref(
            emu,
            p.child("storagePod").and_then(decode::moref),
            "podSelectionSpec.initialVmConfig.storagePod",
        )?;
        if !pods.contains(&pod) {
            pods.push(pod);
        }
    }
    if pods.is_empty() {
        return Err(Fault::invalid_argument("podSelectionSpec.storagePod"));
    }
    let now = emu.clock.now_ms();
    let mut recs = Vec::new();
    for pod in &pods {
        for (rank, (ds, util)) in ranked(emu, pod, host.as_ref()).into_iter().enumerate() {
            recs.push(recommendation(
                recs.len() + 1,
                rank,
                now,
                pod,
                &ds,
                vm.as_ref(),
                util,
            ));
        }
    }
    Ok(Some(
        DataObject::new("StoragePlacementResult")
            .with(
                "recommendations",
                Value::array("ClusterRecommendation", recs),
            )
            .into_value(),
    ))
}

/// The pod's usable datastores with their space utilisation (percent), most free first.
fn ranked(emu: &Emulator, pod: &MoRef, host: Option<&MoRef>) -> Vec<(MoRef, f32)> {
    let mut out: Vec<(MoRef, i64, f32)> = emu
        .inv
        .refs(pod, "childEntity")
        .into_iter()
        .filter(|d| d.ty == "Datastore")
        .filter_map(|d| {
            let o = emu.inv.lookup(&d)?;
            let s = o.get("summary")?;
            let field = |f: &str| s.field(f).and_then(Value::as_i64).unwrap_or(0);
            let accessible = s.field("accessible").and_then(Value::as_bool) != Some(false);
            let mode = s.field("maintenanceMode").and_then(Value::as_str);
            let mounted = host.is_none_or(|h| {
                o.get("host").is_some_and(|m| {
                    m.items()
                        .iter()
                        .any(|m| m.field("key").and_then(Value::as_moref) == Some(h))
                })
            });
            if !accessible || !matches!(mode, None | Some("normal")) || !mounted {
                return None;
            }
            let (cap, free) = (field("capacity"), field("freeSpace"));
            let util = if cap > 0 {
                ((cap - free) as f64 * 100.0 / cap as f64) as f32
            } else {
                0.0
            };
            Some((d, free, util))
        })
        .collect();
    // Stable: equal free space keeps the pod's order.
    out.sort_by_key(|d| std::cmp::Reverse(d.1));
    out.into_iter().map(|(d, _, u)| (d, u)).collect()
}

/// One recommendation: place on `ds` (rated 5 for the best, less for the next ones).
fn recommendation(
    key: usize,
    rank: usize,
    now_ms: i64,
    pod: &MoRef,
    ds: &MoRef,
    vm: Option<&MoRef>,
    util: f32,
) -> Value {
    let relocate = DataObject::new("VirtualMachineRelocateSpec")
        .with("datastore", Value::moref(ds))
        .into_value();
    let action = DataObject::new("StoragePlacementAction")
        .with("type", Value::str("StoragePlacementV1"))
        .with_opt("vm", vm.map(Value::moref))
        .with("relocateSpec", relocate)
        .with("destination", Value::moref(ds))
        .with("spaceUtilBefore", Value::Float(util))
        .with("spaceDemandBefore", Value::Float(util))
        .into_value();
    DataObject::new("ClusterRecommendation")
        .with("key", Value::str(key.to_string()))
        .with("type", Value::str("V1"))
        .with("time", Value::DateTime(now_ms))
        .with("rating", Value::Int(5 - rank.min(4) as i32))
        .with("reason", Value::str("storagePlacement"))
        .with(
            "reasonText",
            Value::str("Satisfy storage initial placement requests"),
        )
        .with("action", Value::array("ClusterAction", vec![action]))
        .with("target", Value::moref(pod))
        .into_value()
}

/// A boolean child, when present.
fn opt_bool(el: &Element, name: &str, what: &str) -> Result<Option<bool>, Fault> {
    match el.child_text(name).map(str::trim) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(Fault::invalid_argument(&format!("{what}.{name}"))),
    }
}

/// An integer child, when present, within `lo..=hi`.
fn opt_int(el: &Element, name: &str, what: &str, lo: i64, hi: i64) -> Result<Option<i32>, Fault> {
    match el.child_text(name).map(str::trim) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .and_then(|v| i32::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| Fault::invalid_argument(&format!("{what}.{name}"))),
    }
}

/// A string child, when present, one of `allowed`.
fn opt_choice(
    el: &Element,
    name: &str,
    what: &str,
    allowed: &[&str],
) -> Result<Option<String>, Fault> {
    match el.child_text(name).map(str::trim) {
        None => Ok(None),
        Some(t) if allowed.contains(&t) => Ok(Some(t.to_owned())),
        Some(_) => Err(Fault::invalid_argument(&format!("{what}.{name}"))),
    }
}

/// Merges the integer and choice fields of a load-balance sub-config into `base`.
fn merge_sub(
    base: Option<&Value>,
    el: &Element,
    ty: &'static str,
    what: &str,
    ints: &[(&'static str, i64, i64)],
    choices: &[(&'static str, &[&str])],
) -> Result<Value, Fault> {
    let mut d = base
        .and_then(Value::as_data)
        .cloned()
        .unwrap_or_else(|| DataObject::new(ty));
    for (name, allowed) in choices {
        if let Some(v) = opt_choice(el, name, what, allowed)? {
            d.set(name, Value::str(v));
        }
    }
    for (name, lo, hi) in ints {
        if let Some(v) = opt_int(el, name, what, *lo, *hi)? {
            d.set(name, Value::Int(v));
        }
    }
    Ok(d.into_value())
}

/// `podConfig` with `spec.podConfigSpec` applied.
fn apply_pod_config(mut pc: DataObject, s: &Element) -> Result<DataObject, Fault> {
    const W: &str = "spec.podConfigSpec";
    for f in ["enabled", "ioLoadBalanceEnabled", "defaultIntraVmAffinity"] {
        if let Some(b) = opt_bool(s, f, W)? {
            pc.set(f, Value::Bool(b));
        }
    }
    if let Some(b) = opt_choice(s, "defaultVmBehavior", W, &["manual", "automated"])? {
        pc.set("defaultVmBehavior", Value::str(b));
    }
    if let Some(i) = opt_int(s, "loadBalanceInterval", W, INTERVAL_MIN, INTERVAL_MAX)? {
        pc.set("loadBalanceInterval", Value::Int(i));
    }
    if let Some(el) = s.child("spaceLoadBalanceConfig") {
        let v = merge_sub(
            pc.get("spaceLoadBalanceConfig"),
            el,
            "StorageDrsSpaceLoadBalanceConfig",
            "spec.podConfigSpec.spaceLoadBalanceConfig",
            &[
                ("spaceUtilizationThreshold", 50, 100),
                ("freeSpaceThresholdGB", 1, i64::from(i32::MAX)),
                ("minSpaceUtilizationDifference", 1, 50),
            ],
            &[("spaceThresholdMode", &["utilization", "freeSpace"])],
        )?;
        pc.set("spaceLoadBalanceConfig", v);
    }
    if let Some(el) = s.child("ioLoadBalanceConfig") {
        let v = merge_sub(
            pc.get("ioLoadBalanceConfig"),
            el,
            "StorageDrsIoLoadBalanceConfig",
            "spec.podConfigSpec.ioLoadBalanceConfig",
            &[
                ("reservablePercentThreshold", 30, 100),
                ("reservableIopsThreshold", 50, i64::from(i32::MAX)),
                ("ioLatencyThreshold", 5, 100),
                ("ioLoadImbalanceThreshold", 1, 100),
            ],
            &[("reservableThresholdMode", &["automatic", "manual"])],
        )?;
        pc.set("ioLoadBalanceConfig", v);
    }
    Ok(pc)
}

/// The VM an entry is for.
fn entry_vm(v: &Value) -> Option<&MoRef> {
    v.field("vm").and_then(Value::as_moref)
}

/// `vmConfig` with the `spec.vmConfigSpec[]` changes (add/edit/remove by VM) applied.
fn apply_vm_configs(
    emu: &Emulator,
    mut list: Vec<Value>,
    specs: &[&Element],
) -> Result<Vec<Value>, Fault> {
    const W: &str = "spec.vmConfigSpec";
    for s in specs {
        let op = s.child_text("operation").map(str::trim).unwrap_or("");
        if op == "remove" {
            let vm = s
                .child("removeKey")
                .and_then(decode::moref)
                .ok_or_else(|| Fault::invalid_argument("spec.vmConfigSpec.removeKey"))?;
            let before = list.len();
            list.retain(|e| entry_vm(e) != Some(&vm));
            if list.len() == before {
                return Err(Fault::invalid_argument("spec.vmConfigSpec.removeKey"));
            }
            continue;
        }
        let info = s
            .child("info")
            .ok_or_else(|| Fault::invalid_argument("spec.vmConfigSpec.info"))?;
        let vm = info
            .child("vm")
            .and_then(decode::moref)
            .ok_or_else(|| Fault::invalid_argument("spec.vmConfigSpec.info.vm"))?;
        emu.inv.get(&vm)?;
        let at = list.iter().position(|e| entry_vm(e) == Some(&vm));
        let mut entry = match (op, at) {
            ("add", None) => {
                DataObject::new("StorageDrsVmConfigInfo").with("vm", Value::moref(&vm))
            }
            ("edit", Some(i)) => list[i].as_data().cloned().unwrap_or_default(),
            _ => return Err(Fault::invalid_argument("spec.vmConfigSpec.operation")),
        };
        for f in ["enabled", "intraVmAffinity"] {
            if let Some(b) = opt_bool(info, f, W)? {
                entry.set(f, Value::Bool(b));
            }
        }
        if let Some(b) = opt_choice(info, "behavior", W, &["manual", "automated"])? {
            entry.set("behavior", Value::str(b));
        }
        match at {
            Some(i) => list[i] = entry.into_value(),
            None => list.push(entry.into_value()),
        }
        if list.len() > POD_VM_CONFIGS_MAX {
            return Err(Fault::invalid_argument("spec.vmConfigSpec"));
        }
    }
    Ok(list)
}

/// `ConfigureStorageDrsForPod_Task(pod, spec, modify)`: applies `spec` to the pod's Storage
/// DRS configuration (to its defaults when `modify` is false), in a task on the pod.
pub(super) fn configure_pod_task(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let pod = pod_ref(emu, args.opt_moref("pod"), "pod")?;
    let spec = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let modify = args.opt_bool("modify")?.unwrap_or(true);
    let base = if modify {
        emu.inv
            .prop(&pod, "podStorageDrsEntry")
            .cloned()
            .unwrap_or_else(sdrs_entry)
    } else {
        sdrs_entry()
    };
    let config = base
        .field("storageDrsConfig")
        .and_then(Value::as_data)
        .cloned()
        .unwrap_or_default();
    let pod_config = config
        .get("podConfig")
        .and_then(Value::as_data)
        .cloned()
        .unwrap_or_default();
    let pod_config = match spec.child("podConfigSpec") {
        Some(s) => apply_pod_config(pod_config, s)?,
        None => pod_config,
    };
    let vm_specs: Vec<&Element> = spec.children_named("vmConfigSpec").collect();
    if vm_specs.len() > POD_VM_CONFIGS_MAX {
        return Err(Fault::invalid_argument("spec.vmConfigSpec"));
    }
    let vm_configs = config
        .get("vmConfig")
        .map(|v| v.items().to_vec())
        .unwrap_or_default();
    let vm_configs = apply_vm_configs(emu, vm_configs, &vm_specs)?;
    let mut new_config = config;
    new_config.ty = Some("StorageDrsConfigInfo".into());
    new_config.set("podConfig", pod_config.into_value());
    if vm_configs.is_empty() {
        new_config.remove("vmConfig");
    } else {
        new_config.set(
            "vmConfig",
            Value::array("StorageDrsVmConfigInfo", vm_configs),
        );
    }
    let mut entry = base.as_data().cloned().unwrap_or_default();
    entry.ty = Some("PodStorageDrsEntry".into());
    entry.set("storageDrsConfig", new_config.into_value());
    let entry = entry.into_value();
    let target = pod.clone();
    run_task(emu, ctx, call, &pod, move |emu| {
        emu.inv.set(&target, "podStorageDrsEntry", entry)?;
        Ok(None)
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Flavor;
    use crate::methods::search_index::harness::{H, mo};
    use crate::vmodl::{MoRef, Value};

    /// A pod holding the datacenter's two datastores, the second with less free space.
    fn pod_with_two(h: &mut H) -> (MoRef, MoRef, MoRef) {
        let dc = h.find("Datacenter", "DC0");
        let folder = h
            .emu
            .inv
            .prop(&dc, "datastoreFolder")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let pod = h
            .call("CreateStoragePod", &folder, "<name>pod0</name>")
            .unwrap()
            .unwrap()
            .as_moref()
            .unwrap()
            .clone();
        let host = h.find("HostSystem", "DC0_H0");
        let dss = h
            .emu
            .inv
            .prop(&host, "configManager")
            .and_then(|c| c.field("datastoreSystem"))
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let small = h
            .call(
                "CreateLocalDatastore",
                &dss,
                "<name>small</name><path>/tmp/small</path>",
            )
            .unwrap()
            .unwrap()
            .as_moref()
            .unwrap()
            .clone();
        h.emu
            .inv
            .update(&small, |o| {
                let s = o
                    .props
                    .get_mut("summary")
                    .and_then(Value::as_data_mut)
                    .unwrap();
                s.set("freeSpace", Value::Long(1 << 30));
            })
            .unwrap();
        let big = h.find("Datastore", "LocalDS_0");
        let body = format!("{}{}", mo("list", &small), mo("list", &big));
        h.task("MoveIntoFolder_Task", &pod, &body).unwrap();
        (pod, big, small)
    }

    fn srm() -> MoRef {
        MoRef::new("StorageResourceManager", "StorageResourceManager")
    }

    #[test]
    fn placement_prefers_the_most_free_space() {
        let mut h = H::new(Flavor::VirtualCenter);
        let (pod, big, small) = pod_with_two(&mut h);
        let pool = h.all("ResourcePool")[0].clone();
        let body = format!(
            "<storageSpec><type>create</type><podSelectionSpec>{}</podSelectionSpec>\
             <configSpec><name>new</name></configSpec>{}</storageSpec>",
            mo("storagePod", &pod),
            mo("resourcePool", &pool)
        );
        let r = h
            .call("RecommendDatastores", &srm(), &body)
            .unwrap()
            .unwrap();
        let dest: Vec<Value> = r
            .field("recommendations")
            .unwrap()
            .items()
            .iter()
            .map(|rec| {
                rec.field("action").unwrap().items()[0]
                    .field("destination")
                    .unwrap()
                    .clone()
            })
            .collect();
        assert_eq!(dest, vec![Value::moref(&big), Value::moref(&small)]);
        let bad = "<storageSpec><type>create</type><podSelectionSpec/></storageSpec>";
        assert_eq!(
            h.call("RecommendDatastores", &srm(), bad).unwrap_err().ty,
            "InvalidArgument"
        );
    }

    #[test]
    fn pod_configuration_is_stored() {
        let mut h = H::new(Flavor::VirtualCenter);
        let (pod, _, _) = pod_with_two(&mut h);
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let body = format!(
            "{}<spec><podConfigSpec><enabled>true</enabled><defaultVmBehavior>automated</defaultVmBehavior>\
             <spaceLoadBalanceConfig><spaceUtilizationThreshold>70</spaceUtilizationThreshold>\
             </spaceLoadBalanceConfig></podConfigSpec><vmConfigSpec><operation>add</operation>\
             <info>{}<enabled>false</enabled></info></vmConfigSpec></spec><modify>true</modify>",
            mo("pod", &pod),
            mo("vm", &vm)
        );
        h.task("ConfigureStorageDrsForPod_Task", &srm(), &body)
            .unwrap();
        let cfg = h
            .emu
            .inv
            .prop(&pod, "podStorageDrsEntry")
            .and_then(|e| e.field("storageDrsConfig"))
            .unwrap()
            .clone();
        let pc = cfg.field("podConfig").unwrap();
        assert_eq!(pc.field("enabled"), Some(&Value::Bool(true)));
        assert_eq!(
            pc.field("defaultVmBehavior").and_then(Value::as_str),
            Some("automated")
        );
        assert_eq!(
            pc.field("spaceLoadBalanceConfig")
                .and_then(|s| s.field("spaceUtilizationThreshold")),
            Some(&Value::Int(70))
        );
        assert_eq!(cfg.field("vmConfig").unwrap().items().len(), 1);
        // A bad value changes nothing.
        let bad = format!(
            "{}<spec><podConfigSpec><enabled>false</enabled><loadBalanceInterval>5</loadBalanceInterval>\
             </podConfigSpec></spec><modify>true</modify>",
            mo("pod", &pod)
        );
        let err = h.call("ConfigureStorageDrsForPod_Task", &srm(), &bad);
        assert_eq!(err.unwrap_err().ty, "InvalidArgument");
        let still = h
            .emu
            .inv
            .prop(&pod, "podStorageDrsEntry")
            .and_then(|e| e.field("storageDrsConfig"))
            .unwrap()
            .clone();
        assert_eq!(still, cfg);
    }
}
