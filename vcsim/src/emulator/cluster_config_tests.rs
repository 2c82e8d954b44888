//! Cluster HA/DRS settings: reading, reconfiguring, per-VM overrides.

use super::*;
use crate::config::Config;

fn cluster(emu: &Emulator) -> MoRef {
    emu.inv
        .iter()
        .find(|o| o.moref.ty == "ClusterComputeResource")
        .unwrap()
        .moref
        .clone()
}

fn spec(fields: Vec<(&'static str, Value)>) -> Value {
    let mut d = DataObject::new("ClusterConfigSpecEx");
    for (n, v) in fields {
        d = d.with(n, v);
    }
    d.into_value()
}

#[test]
fn the_default_cluster_has_drs_and_no_ha() {
    let emu = Emulator::new(Config::default()).unwrap();
    let s = emu.cluster_settings(&cluster(&emu));
    assert!(s.drs.enabled && s.drs.behavior == "fullyAutomated");
    assert!(!s.ha.enabled);
}

#[test]
fn reconfigure_stores_ha_and_drs_and_checks_values() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let c = cluster(&emu);
    let policy = DataObject::new("ClusterFailoverLevelAdmissionControlPolicy")
        .with("failoverLevel", Value::Int(1))
        .into_value();
    let das = DataObject::new("ClusterDasConfigInfo")
        .with("enabled", Value::Bool(true))
        .with("admissionControlPolicy", policy)
        .into_value();
    let drs = DataObject::new("ClusterDrsConfigInfo")
        .with("defaultVmBehavior", Value::enumv("DrsBehavior", "manual"))
        .into_value();
    emu.reconfigure_cluster(
        "u",
        &c,
        &spec(vec![("dasConfig", das), ("drsConfig", drs)]),
        true,
    )
    .unwrap();
    let s = emu.cluster_settings(&c);
    assert!(s.ha.enabled);
    assert_eq!(
        s.ha.policy,
        Some(HaPolicy::FailoverLevel {
            level: 1,
            fixed_slot: None
        })
    );
    // modify = true kept DRS on and changed only its behaviour.
    assert!(s.drs.enabled);
    assert_eq!(s.drs.behavior, "manual");
    assert!(!emu.drs_moves(&c, &MoRef::new("VirtualMachine", "vm-x")));
    let types: Vec<&str> = emu.events.iter().map(|e| e.ty).collect();
    assert!(types.contains(&"DasEnabledEvent") && types.contains(&"ClusterReconfiguredEvent"));
    // The legacy property mirrors it.
    let legacy = emu.inv.prop(&c, "configuration").unwrap();
    assert_eq!(
        legacy
            .field("dasConfig")
            .and_then(|d| d.field("enabled"))
            .and_then(Value::as_bool),
        Some(true)
    );
    // modify = false: what the spec leaves out goes back to the defaults (off).
    emu.reconfigure_cluster("u", &c, &spec(vec![]), false)
        .unwrap();
    let s = emu.cluster_settings(&c);
    assert!(!s.ha.enabled && !s.drs.enabled);
    // Bad values name the field.
    let bad_drs = DataObject::new("ClusterDrsConfigInfo")
        .with("defaultVmBehavior", Value::str("sometimes"))
        .into_value();
    let e = emu
        .reconfigure_cluster("u", &c, &spec(vec![("drsConfig", bad_drs)]), true)
        .unwrap_err();
    assert_eq!(e.ty, "InvalidArgument");
    assert!(
        e.msg.contains("spec.drsConfig.defaultVmBehavior"),
        "{}",
        e.msg
    );
    let bad_pct = DataObject::new("ClusterDasConfigInfo")
        .with(
            "admissionControlPolicy",
            DataObject::new("ClusterFailoverResourcesAdmissionControlPolicy")
                .with("cpuFailoverResourcesPercent", Value::Int(150))
                .with("memoryFailoverResourcesPercent", Value::Int(10))
                .into_value(),
        )
        .into_value();
    let e = emu
        .reconfigure_cluster("u", &c, &spec(vec![("dasConfig", bad_pct)]), true)
        .unwrap_err();
    assert!(e.msg.contains("cpuFailoverResourcesPercent"), "{}", e.msg);
}

#[test]
fn per_vm_overrides_add_edit_remove() {
    let mut emu = Emulator::new(Config::default()).unwrap();
    let c = cluster(&emu);
    let h = emu.inv.refs(&c, "host")[0].clone();
    let vm = emu.inv.refs(&h, "vm")[0].clone();
    let das_vm = |op: &str, prio: &str| {
        DataObject::new("ClusterDasVmConfigSpec")
            .with(
                "operation",
                Value::enumv("ArrayUpdateOperation", op.to_owned()),
            )
            .with(
                "info",
                DataObject::new("ClusterDasVmConfigInfo")
                    .with("key", Value::moref(&vm))
                    .with(
                        "dasSettings",
                        DataObject::new("ClusterDasVmSettings")
                            .with("restartPriority", Value::str(prio.to_owned()))
                            .into_value(),
                    )
                    .into_value(),
            )
            .into_value()
    };
    emu.reconfigure_cluster(
        "u",
        &c,
        &spec(vec![("dasVmConfigSpec", das_vm("add", "high"))]),
        true,
    )
    .unwrap();
    assert_eq!(
        emu.cluster_settings(&c)
            .ha_vms
            .get(&vm.value)
            .map(String::as_str),
        Some("high")
    );
    // Adding twice is refused; editing works.
    assert!(
        emu.reconfigure_cluster(
            "u",
            &c,
            &spec(vec![("dasVmConfigSpec", das_vm("add", "low"))]),
            true
        )
        .is_err()
    );
    emu.reconfigure_cluster(
        "u",
        &c,
        &spec(vec![("dasVmConfigSpec", das_vm("edit", "disabled"))]),
        true,
    )
    .unwrap();
    assert_eq!(
        emu.cluster_settings(&c)
            .ha_vms
            .get(&vm.value)
            .map(String::as_str),
        Some("disabled")
    );
    let drs_vm = DataObject::new("ClusterDrsVmConfigSpec")
        .with("operation", Value::enumv("ArrayUpdateOperation", "add"))
        .with(
            "info",
            DataObject::new("ClusterDrsVmConfigInfo")
                .with("key", Value::moref(&vm))
                .with("enabled", Value::Bool(false))
                .into_value(),
        )
        .into_value();
    assert!(emu.drs_moves(&c, &vm));
    emu.reconfigure_cluster("u", &c, &spec(vec![("drsVmConfigSpec", drs_vm)]), true)
        .unwrap();
    assert!(!emu.drs_moves(&c, &vm));
    let remove = DataObject::new("ClusterDasVmConfigSpec")
        .with("operation", Value::enumv("ArrayUpdateOperation", "remove"))
        .with("removeKey", Value::moref(&vm))
        .into_value();
    emu.reconfigure_cluster(
        "u",
        &c,
        &spec(vec![("dasVmConfigSpec", remove.clone())]),
        true,
    )
    .unwrap();
    assert!(emu.cluster_settings(&c).ha_vms.is_empty());
    assert!(
        emu.reconfigure_cluster("u", &c, &spec(vec![("dasVmConfigSpec", remove)]), true)
            .is_err()
    );
}
