//! Host state and cluster HA/DRS over SOAP: ReconfigureComputeResource_Task,
//! ReconfigureCluster_Task, CreateClusterEx specs, EnterMaintenanceMode_Task (DRS
//! evacuation, a task that waits), Disconnect/ReconnectHost_Task, Shutdown/RebootHost_Task,
//! and a host failure with vSphere HA — then everything the emulator holds is checked
//! against the vim25 schema.

use crate::support::{Sim, named, prop, returnval, task, vim};
use vcsim::vmodl::{MoRef, Value};

fn this_host(h: &str) -> String {
    format!(r#"<_this type="HostSystem">{h}</_this>"#)
}

async fn task_state(sim: &Sim, body: &str) -> (String, MoRef) {
    let t = MoRef::new("Task", returnval(sim, body).await);
    let state = sim.vc.with(|e| {
        e.inv
            .prop(&t, "info")
            .and_then(|i| i.field("state"))
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    });
    (state, t)
}

fn state_of(sim: &Sim, t: &MoRef) -> String {
    sim.vc.with(|e| {
        e.inv
            .prop(t, "info")
            .and_then(|i| i.field("state"))
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    })
}

fn text(sim: &Sim, ty: &str, v: &str, path: &[&str]) -> String {
    prop(sim, ty, v, path)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn events(sim: &Sim, ty: &str) -> usize {
    sim.vc
        .with(|e| e.events.iter().filter(|x| x.ty == ty).count())
}

/// One interval later, with the per-interval host work done (idempotent: the emulator's step
/// may run it too).
fn interval(sim: &Sim) {
    sim.vc.with(|e| {
        e.advance(20_000);
        e.host_states_on_interval();
    });
}

fn hosts(sim: &Sim, cluster: &str) -> Vec<String> {
    sim.vc.with(|e| {
        e.inv
            .refs(&MoRef::new("ClusterComputeResource", cluster), "host")
            .into_iter()
            .map(|h| h.value)
            .collect()
    })
}

const HA_AND_MANUAL_DRS: &str = r#"<spec xsi:type="ClusterConfigSpecEx">
  <dasConfig><enabled>true</enabled>
    <admissionControlPolicy xsi:type="ClusterFailoverLevelAdmissionControlPolicy"><failoverLevel>1</failoverLevel></admissionControlPolicy>
    <admissionControlEnabled>true</admissionControlEnabled></dasConfig>
  <drsConfig><enabled>true</enabled><defaultVmBehavior>manual</defaultVmBehavior></drsConfig>
</spec><modify>true</modify>"#;

#[tokio::test]
async fn reconfigure_and_create_cluster_store_ha_and_drs() {
    let sim = Sim::logged_in().await;
    let c = named(&sim, "ClusterComputeResource", "DC0_C0");
    let this = format!(r#"<_this type="ClusterComputeResource">{c}</_this>"#);
    let (state, _) = task(
        &sim,
        &vim(
            "ReconfigureComputeResource_Task",
            &format!("{this}{HA_AND_MANUAL_DRS}"),
        ),
    )
    .await;
    assert_eq!(state, "success");
    let cfg = |path: &[&str]| prop(&sim, "ClusterComputeResource", &c, path);
    assert_eq!(
        cfg(&["configurationEx", "dasConfig", "enabled"]),
        Some(Value::Bool(true))
    );
    assert_eq!(
        cfg(&["configurationEx", "dasConfig", "admissionControlPolicy"])
            .unwrap()
            .xsi_type(),
        "ClusterFailoverLevelAdmissionControlPolicy"
    );
    assert_eq!(
        text(
            &sim,
            "ClusterComputeResource",
            &c,
            &["configurationEx", "drsConfig", "defaultVmBehavior"]
        ),
        "manual"
    );
    assert_eq!(
        cfg(&["configuration", "dasConfig", "enabled"]),
        Some(Value::Bool(true))
    );
    assert_eq!(events(&sim, "DasEnabledEvent"), 1);
    // The older method on the same settings; a bad enum is refused with the field named.
    let bad = format!(
        r#"{this}<spec><drsConfig><defaultVmBehavior>often</defaultVmBehavior></drsConfig></spec><modify>true</modify>"#
    );
    let (state, err) = task(&sim, &vim("ReconfigureCluster_Task", &bad)).await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("InvalidArgument"))
    );
    let off = format!(
        r#"{this}<spec><dasConfig><enabled>false</enabled></dasConfig></spec><modify>true</modify>"#
    );
    assert_eq!(
        task(&sim, &vim("ReconfigureCluster_Task", &off)).await.0,
        "success"
    );
    assert_eq!(
        cfg(&["configurationEx", "dasConfig", "enabled"]),
        Some(Value::Bool(false))
    );
    assert_eq!(events(&sim, "DasDisabledEvent"), 1);

    // CreateClusterEx: the spec's settings, or both off.
    let hf = sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "Folder" && o.name() == "host")
            .unwrap()
            .moref
            .value
            .clone()
    });
    let create = |name: &str, spec: &str| {
        format!(
            r#"<CreateClusterEx xmlns="urn:vim25"><_this type="Folder">{hf}</_this><name>{name}</name><spec>{spec}</spec></CreateClusterEx>"#
        )
    };
    let plain = returnval(&sim, &create("plain", "")).await;
    assert_eq!(
        prop(
            &sim,
            "ClusterComputeResource",
            &plain,
            &["configurationEx", "drsConfig", "enabled"]
        ),
        Some(Value::Bool(false))
    );
    let ha = returnval(
        &sim,
        &create(
            "ha",
            "<dasConfig><enabled>true</enabled></dasConfig><drsConfig><enabled>true</enabled></drsConfig>",
        ),
    )
    .await;
    for part in ["dasConfig", "drsConfig"] {
        assert_eq!(
            prop(
                &sim,
                "ClusterComputeResource",
                &ha,
                &["configurationEx", part, "enabled"]
            ),
            Some(Value::Bool(true)),
            "{part}"
        );
    }
    // A bad spec creates nothing.
    let r = sim
        .call(&create(
            "broken",
            "<drsConfig><vmotionRate>9</vmotionRate></drsConfig>",
        ))
        .await;
    assert!(r.body.contains("InvalidArgument"), "{}", r.body);
    assert!(sim.vc.with(|e| e.inv.iter().all(|o| o.name() != "broken")));
}

#[tokio::test]
async fn maintenance_tasks_with_and_without_drs() {
    let sim = Sim::logged_in().await;
    let c = named(&sim, "ClusterComputeResource", "DC0_C0");
    let hs = hosts(&sim, &c);
    let enter = |h: &str, timeout: i64| {
        vim(
            "EnterMaintenanceMode_Task",
            &format!("{}<timeout>{timeout}</timeout>", this_host(h)),
        )
    };
    // DRS fully automated (the default cluster): the VMs move and the task succeeds.
    assert_eq!(task(&sim, &enter(&hs[0], 0)).await.0, "success");
    assert_eq!(
        prop(
            &sim,
            "HostSystem",
            &hs[0],
            &["runtime", "inMaintenanceMode"]
        ),
        Some(Value::Bool(true))
    );
    assert_eq!(events(&sim, "DrsVmMigratedEvent"), 2);
    assert_eq!(
        prop(
            &sim,
            "ClusterComputeResource",
            &c,
            &["summary", "numEffectiveHosts"]
        ),
        Some(Value::Int(2))
    );
    let exit = vim(
        "ExitMaintenanceMode_Task",
        &format!("{}<timeout>0</timeout>", this_host(&hs[0])),
    );
    assert_eq!(task(&sim, &exit).await.0, "success");

    // Manual DRS: the task waits for the VMs; powering them off ends it.
    let this_c = format!(r#"<_this type="ClusterComputeResource">{c}</_this>"#);
    task(
        &sim,
        &vim(
            "ReconfigureComputeResource_Task",
            &format!("{this_c}{HA_AND_MANUAL_DRS}"),
        ),
    )
    .await;
    let (state, t) = task_state(&sim, &enter(&hs[1], 600)).await;
    assert_eq!(state, "running");
    interval(&sim);
    assert_eq!(state_of(&sim, &t), "running");
    let vms: Vec<String> = sim.vc.with(|e| {
        e.inv
            .refs(&MoRef::new("HostSystem", hs[1].clone()), "vm")
            .into_iter()
            .map(|v| v.value)
            .collect()
    });
    assert!(!vms.is_empty());
    for vm in &vms {
        let this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);
        assert_eq!(
            task(&sim, &vim("PowerOffVM_Task", &this)).await.0,
            "success"
        );
    }
    interval(&sim);
    assert_eq!(state_of(&sim, &t), "success");
    // Powering a VM on there is refused now.
    let this = format!(r#"<_this type="VirtualMachine">{}</_this>"#, vms[0]);
    let (state, err) = task(&sim, &vim("PowerOnVM_Task", &this)).await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("InvalidState"))
    );
}

#[tokio::test]
async fn connection_and_power_tasks() {
    let sim = Sim::logged_in().await;
    let c = named(&sim, "ClusterComputeResource", "DC0_C0");
    let hs = hosts(&sim, &c);
    let h = &hs[2];
    let call = |m: &str, extra: &str| vim(m, &format!("{}{extra}", this_host(h)));
    assert_eq!(
        task(&sim, &call("DisconnectHost_Task", "")).await.0,
        "success"
    );
    assert_eq!(
        text(&sim, "HostSystem", h, &["runtime", "connectionState"]),
        "disconnected"
    );
    assert_eq!(
        text(&sim, "HostSystem", h, &["runtime", "powerState"]),
        "unknown"
    );
    assert_eq!(
        task(&sim, &call("ReconnectHost_Task", "")).await.0,
        "success"
    );
    assert_eq!(
        text(&sim, "HostSystem", h, &["runtime", "connectionState"]),
        "connected"
    );
    // Not in maintenance mode: shutdown and reboot need force.
    for m in ["ShutdownHost_Task", "RebootHost_Task"] {
        let (state, err) = task(&sim, &call(m, "<force>false</force>")).await;
        assert_eq!(
            (state.as_str(), err.as_deref()),
            ("error", Some("InvalidState")),
            "{m}"
        );
    }
    let r = sim.call(&call("ShutdownHost_Task", "")).await;
    assert!(
        r.body.contains("InvalidArgument"),
        "force is required: {}",
        r.body
    );
    assert_eq!(
        task(&sim, &call("RebootHost_Task", "<force>true</force>"))
            .await
            .0,
        "success"
    );
    assert_eq!(
        text(&sim, "HostSystem", h, &["runtime", "connectionState"]),
        "notResponding"
    );
    for _ in 0..(vcsim::emulator::REBOOT_MS / 20_000) {
        interval(&sim);
    }
    assert_eq!(
        text(&sim, "HostSystem", h, &["runtime", "connectionState"]),
        "connected"
    );
}

#[tokio::test]
async fn host_failure_with_ha_leaves_schema_valid_state() {
    let sim = Sim::logged_in().await;
    let c = named(&sim, "ClusterComputeResource", "DC0_C0");
    let this_c = format!(r#"<_this type="ClusterComputeResource">{c}</_this>"#);
    task(
        &sim,
        &vim(
            "ReconfigureComputeResource_Task",
            &format!("{this_c}{HA_AND_MANUAL_DRS}"),
        ),
    )
    .await;
    let h0 = hosts(&sim, &c)[0].clone();
    let on_h0: Vec<String> = sim.vc.with(|e| {
        e.inv
            .refs(&MoRef::new("HostSystem", h0.clone()), "vm")
            .into_iter()
            .map(|v| v.value)
            .collect()
    });
    sim.vc
        .with(|e| e.fail_host(&MoRef::new("HostSystem", h0.clone())))
        .unwrap();
    interval(&sim);
    assert_eq!(events(&sim, "DasHostFailedEvent"), 1);
    assert_eq!(events(&sim, "VmRestartedOnAlternateHostEvent"), on_h0.len());
    for vm in &on_h0 {
        assert_ne!(
            prop(&sim, "VirtualMachine", vm, &["runtime", "host"])
                .and_then(|v| v.as_moref().map(|m| m.value.clone())),
            Some(h0.clone())
        );
    }
    // The events read back over SOAP like any other.
    let body = sim
        .call(r#"<QueryEvents xmlns="urn:vim25"><_this type="EventManager">EventManager</_this><filter><eventTypeId>VmRestartedOnAlternateHostEvent</eventTypeId></filter></QueryEvents>"#)
        .await
        .body;
    assert_eq!(body.matches("<sourceHost ").count(), on_h0.len(), "{body}");
    sim.vc
        .with(|e| e.recover_host(&MoRef::new("HostSystem", h0.clone())))
        .unwrap();
    sim.vc.with(|e| {
        let found = crate::schema::problems(e);
        assert!(found.is_empty(), "{}", found.join("\n"));
    });
}
