//! DRS: load balancing every 5 virtual minutes (fully automated: vMotions with their system
//! tasks and events; manual: recommendations only), initial placement of new VMs, and
//! `PlaceVm`'s answer.

use crate::support::{Sim, named, task, vim};
use scheduler_model::Workload;
use vcsim::emulator::{VmCreate, VmPlacement};
use vcsim::vmodl::{DataObject, MoRef, Value};

fn cluster_ref(c: &str) -> MoRef {
    MoRef::new("ClusterComputeResource", c)
}

async fn enable_drs(sim: &Sim, c: &str, behavior: &str) {
    let body = vim(
        "ReconfigureComputeResource_Task",
        &format!(
            r#"<_this type="ClusterComputeResource">{c}</_this><spec xsi:type="ClusterConfigSpecEx"><drsConfig><enabled>true</enabled><defaultVmBehavior>{behavior}</defaultVmBehavior></drsConfig></spec><modify>true</modify>"#
        ),
    );
    assert_eq!(task(sim, &body).await.0, "success");
}

/// Six busy single-vCPU VMs created and powered on on the cluster's first host.
fn load_first_host(sim: &Sim, c: &str) -> (Vec<MoRef>, Vec<MoRef>) {
    sim.vc.with(|e| {
        let cluster = cluster_ref(c);
        let hosts = e.inv.refs(&cluster, "host");
        let pool = e
            .inv
            .prop(&cluster, "resourcePool")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let folder = e
            .inv
            .iter()
            .find(|o| o.moref.ty == "Folder" && o.name() == "vm")
            .unwrap()
            .moref
            .clone();
        let mut vms = Vec::new();
        for i in 0..6 {
            let spec = VmCreate {
                name: format!("busy{i}"),
                num_cpu: 1,
                memory_mb: 1024,
                ..VmCreate::default()
            };
            let place = VmPlacement {
                folder: folder.clone(),
                pool: pool.clone(),
                host: Some(hosts[0].clone()),
            };
            let vm = e.create_vm("", spec, place).unwrap();
            e.power_on_vm("", &vm).unwrap();
            let id = e.ids.vms[&vm.value];
            e.world
                .set_workload(id, Workload::stress_cpu(1, None))
                .unwrap();
            vms.push(vm);
        }
        (hosts, vms)
    })
}

/// Advances `minutes` virtual minutes, one realtime interval at a time, with the
/// per-interval DRS work (idempotent if the emulator's step runs it too).
fn minutes(sim: &Sim, minutes: i64) {
    for _ in 0..minutes * 3 {
        sim.vc.with(|e| {
            e.advance(20_000);
            e.drs_on_interval();
        });
    }
}

fn count_events(sim: &Sim, ty: &str) -> usize {
    sim.vc
        .with(|e| e.events.iter().filter(|x| x.ty == ty).count())
}

fn on_host(sim: &Sim, vms: &[MoRef], host: &MoRef) -> usize {
    sim.vc.with(|e| {
        vms.iter()
            .filter(|v| e.host_of(v).as_ref() == Some(host))
            .count()
    })
}

#[tokio::test]
async fn fully_automated_drs_spreads_a_loaded_host() {
    let sim = Sim::logged_in().await;
    let c = named(&sim, "ClusterComputeResource", "DC0_C0");
    enable_drs(&sim, &c, "fullyAutomated").await;
    let (hosts, vms) = load_first_host(&sim, &c);
    // One interval measures the load (no DRS pass without `drs_on_interval`).
    sim.vc.with(|e| e.advance(20_000));
    let before = sim.vc.with(|e| e.drs_imbalance(&cluster_ref(&c)).unwrap());
    assert!(before > 0.1, "imbalance {before}");
    assert_eq!(on_host(&sim, &vms, &hosts[0]), 6);
    minutes(&sim, 6);
    let moved = 6 - on_host(&sim, &vms, &hosts[0]);
    assert!(moved >= 2, "{moved} VMs moved");
    let after = sim.vc.with(|e| e.drs_imbalance(&cluster_ref(&c)).unwrap());
    assert!(after < before / 2.0, "imbalance {before} -> {after}");
    assert!(count_events(&sim, "DrsVmMigratedEvent") >= moved);
    sim.vc.with(|e| {
        // Inventory, model and tasks agree on every move.
        for h in &hosts {
            for vm in e.inv.refs(h, "vm") {
                assert_eq!(e.host_of(&vm).as_ref(), Some(h));
                let id = e.ids.vms[&vm.value];
                let (_, model_host) = e.world.vm_placement(id).unwrap();
                assert_eq!(model_host, e.ids.hosts[&h.value]);
            }
        }
        let drs_tasks = e
            .inv
            .iter()
            .filter(|o| o.moref.ty == "Task")
            .filter(|o| {
                o.get("info")
                    .and_then(|i| i.field("descriptionId"))
                    .and_then(Value::as_str)
                    == Some("Drm.ExecuteVMotionLRO")
            })
            .filter(|o| {
                o.get("info")
                    .and_then(|i| i.field("state"))
                    .and_then(Value::as_str)
                    == Some("success")
            })
            .count();
        assert_eq!(drs_tasks, moved);
        // Nothing left to recommend in a fully automated cluster.
        assert!(
            e.inv
                .prop(&cluster_ref(&c), "recommendation")
                .is_none_or(|r| r.items().is_empty())
        );
    });
    // Balanced: later passes leave it alone.
    let events = count_events(&sim, "DrsVmMigratedEvent");
    minutes(&sim, 10);
    assert_eq!(count_events(&sim, "DrsVmMigratedEvent"), events);
    schema_valid(&sim);
}

fn schema_valid(sim: &Sim) {
    sim.vc.with(|e| {
        let found = crate::schema::problems(e);
        assert!(found.is_empty(), "{}", found.join("\n"));
    });
}

#[tokio::test]
async fn manual_drs_only_recommends() {
    let sim = Sim::logged_in().await;
    let c = named(&sim, "ClusterComputeResource", "DC0_C0");
    enable_drs(&sim, &c, "manual").await;
    let (hosts, vms) = load_first_host(&sim, &c);
    minutes(&sim, 6);
    assert_eq!(on_host(&sim, &vms, &hosts[0]), 6);
    assert_eq!(count_events(&sim, "DrsVmMigratedEvent"), 0);
    let recs = sim.vc.with(|e| {
        e.inv
            .prop(&cluster_ref(&c), "recommendation")
            .map(|r| r.items().to_vec())
            .unwrap_or_default()
    });
    assert!(recs.len() >= 2, "{recs:?}");
    for r in &recs {
        assert_eq!(r.xsi_type(), "ClusterRecommendation");
        let rating = r.field("rating").and_then(Value::as_i64).unwrap();
        assert!((3..=4).contains(&rating), "rating {rating}");
        let action = &r.field("action").unwrap().items()[0];
        assert_eq!(action.xsi_type(), "ClusterMigrationAction");
        let m = action.field("drsMigration").unwrap();
        assert_eq!(m.field("source").and_then(Value::as_moref), Some(&hosts[0]));
        assert_ne!(
            m.field("destination").and_then(Value::as_moref),
            Some(&hosts[0])
        );
    }
    schema_valid(&sim);
}

#[tokio::test]
async fn placement_prefers_the_least_loaded_host() {
    let sim = Sim::logged_in().await;
    let c = named(&sim, "ClusterComputeResource", "DC0_C0");
    enable_drs(&sim, &c, "manual").await;
    let (hosts, _) = load_first_host(&sim, &c);
    sim.vc.with(|e| e.advance(20_000));
    // PlaceVm for a new VM: never the loaded host.
    let spec = DataObject::new("PlacementSpec")
        .with(
            "configSpec",
            DataObject::new("VirtualMachineConfigSpec")
                .with("numCPUs", Value::Int(2))
                .with("memoryMB", Value::Long(2048))
                .into_value(),
        )
        .with("placementType", Value::str("create"))
        .into_value();
    let result = sim
        .vc
        .with(|e| e.place_vm(&cluster_ref(&c), &spec))
        .unwrap();
    let rec = &result.field("recommendations").unwrap().items()[0];
    assert_eq!(
        rec.field("reason").and_then(Value::as_str),
        Some("xvmotionPlacement")
    );
    let action = &rec.field("action").unwrap().items()[0];
    assert_eq!(action.xsi_type(), "PlacementAction");
    let target = action
        .field("targetHost")
        .and_then(Value::as_moref)
        .cloned()
        .unwrap();
    assert_ne!(target, hosts[0]);
    // Restricted to the loaded host, it is the answer; a host of another cluster is refused.
    let only = DataObject::new("PlacementSpec")
        .with("hosts", Value::morefs([&hosts[0]]))
        .into_value();
    let r = sim
        .vc
        .with(|e| e.place_vm(&cluster_ref(&c), &only))
        .unwrap();
    let a = &r.field("recommendations").unwrap().items()[0]
        .field("action")
        .unwrap()
        .items()[0];
    assert_eq!(
        a.field("targetHost").and_then(Value::as_moref),
        Some(&hosts[0])
    );
    let stranger = DataObject::new("PlacementSpec")
        .with(
            "hosts",
            Value::morefs([&MoRef::new("HostSystem", "host-nowhere")]),
        )
        .into_value();
    assert!(
        sim.vc
            .with(|e| e.place_vm(&cluster_ref(&c), &stranger))
            .is_err()
    );
    // CreateVM without a host in a DRS cluster: DRS's choice, not the loaded host.
    let vm = sim.vc.with(|e| {
        let pool = e
            .inv
            .prop(&cluster_ref(&c), "resourcePool")
            .and_then(Value::as_moref)
            .cloned()
            .unwrap();
        let folder = e
            .inv
            .iter()
            .find(|o| o.moref.ty == "Folder" && o.name() == "vm")
            .unwrap()
            .moref
            .clone();
        let spec = VmCreate {
            name: "placed".into(),
            num_cpu: 1,
            memory_mb: 512,
            ..VmCreate::default()
        };
        let place = VmPlacement {
            folder,
            pool,
            host: None,
        };
        e.create_vm("", spec, place).unwrap()
    });
    let host = sim.vc.with(|e| e.host_of(&vm)).unwrap();
    assert_ne!(host, hosts[0]);
}
