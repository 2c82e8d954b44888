//! Host states, maintenance mode with DRS, vSphere HA and cluster status, on the default
//! inventory (DC0_C0: three 17 600 MHz / 64 GB hosts, two powered-on VMs each, DRS fully
//! automated, HA off).

use super::super::Emulator;
use crate::config::Config;
use crate::vmodl::{DataObject, MoRef, Value};
use scheduler_model::HostState;

fn emu() -> Emulator {
    Emulator::new(Config::default()).unwrap()
}

fn cluster(emu: &Emulator) -> MoRef {
    emu.inv
        .iter()
        .find(|o| o.moref.ty == "ClusterComputeResource")
        .unwrap()
        .moref
        .clone()
}

fn hosts(emu: &Emulator) -> Vec<MoRef> {
    emu.inv.refs(&cluster(emu), "host")
}

fn field(emu: &Emulator, r: &MoRef, path: &[&str]) -> Option<Value> {
    let mut cur = emu.inv.prop(r, path[0])?.clone();
    for p in &path[1..] {
        cur = cur.field(p)?.clone();
    }
    Some(cur)
}

fn text(emu: &Emulator, r: &MoRef, path: &[&str]) -> String {
    field(emu, r, path)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn int(emu: &Emulator, r: &MoRef, path: &[&str]) -> i64 {
    field(emu, r, path).and_then(|v| v.as_i64()).unwrap_or(-1)
}

fn events(emu: &Emulator, ty: &str) -> usize {
    emu.events.iter().filter(|e| e.ty == ty).count()
}

fn model_on(emu: &Emulator, vm: &MoRef) -> bool {
    emu.world.is_powered_on(emu.ids.vms[&vm.value]).unwrap()
}

fn model_state(emu: &Emulator, host: &MoRef) -> HostState {
    emu.world.host_state(emu.ids.hosts[&host.value]).unwrap()
}

/// One interval later, with the per-interval work done (the step hook, called directly so
/// these tests do not depend on where the emulator's step calls it; it is idempotent).
fn interval(emu: &mut Emulator) {
    emu.advance(20_000);
    emu.host_states_on_interval();
}

fn reconfigure(emu: &mut Emulator, fields: Vec<(&'static str, Value)>) {
    let c = cluster(emu);
    let mut spec = DataObject::new("ClusterConfigSpecEx");
    for (n, v) in fields {
        spec = spec.with(n, v);
    }
    emu.reconfigure_cluster("u", &c, &spec.into_value(), true)
        .unwrap();
}

fn ha_on(emu: &mut Emulator, policy: Option<Value>) {
    let das = DataObject::new("ClusterDasConfigInfo")
        .with("enabled", Value::Bool(true))
        .with_opt("admissionControlPolicy", policy)
        .into_value();
    reconfigure(emu, vec![("dasConfig", das)]);
}

fn drs_behavior(emu: &mut Emulator, behavior: &'static str) {
    let drs = DataObject::new("ClusterDrsConfigInfo")
        .with("enabled", Value::Bool(true))
        .with("defaultVmBehavior", Value::enumv("DrsBehavior", behavior))
        .into_value();
    reconfigure(emu, vec![("drsConfig", drs)]);
}

#[test]
fn maintenance_with_drs_evacuates_and_takes_the_host_out_of_the_cluster() {
    let mut emu = emu();
    let c = cluster(&emu);
    let [h0, h1, h2] = <[MoRef; 3]>::try_from(hosts(&emu)).unwrap();
    let vms = emu.inv.refs(&h0, "vm");
    assert_eq!(vms.len(), 2);
    let out = emu.enter_maintenance("u", &h0, 0, false).unwrap();
    assert_eq!(out, super::super::EnterOutcome::Entered);
    assert!(emu.in_maintenance(&h0));
    assert!(emu.inv.refs(&h0, "vm").is_empty());
    for vm in &vms {
        let to = emu.host_of(vm).unwrap();
        assert!(to == h1 || to == h2, "{vm} went to {to}");
        assert!(model_on(&emu, vm), "a vMotion keeps {vm} running");
        let id = emu.ids.vms[&vm.value];
        assert_eq!(
            emu.world.vm_placement(id).unwrap().1,
            emu.ids.hosts[&to.value]
        );
    }
    // Spread: one to each remaining host (same unreserved capacity, fewest vCPUs first).
    assert_ne!(emu.host_of(&vms[0]), emu.host_of(&vms[1]));
    assert_eq!(events(&emu, "DrsVmMigratedEvent"), 2);
    assert_eq!(events(&emu, "EnteringMaintenanceModeEvent"), 1);
    assert_eq!(events(&emu, "EnteredMaintenanceModeEvent"), 1);
    let migrated = emu
        .events
        .iter()
        .find(|e| e.ty == "DrsVmMigratedEvent")
        .unwrap();
    assert_eq!(
        migrated
            .value
            .field("sourceHost")
            .and_then(|s| s.field("host"))
            .and_then(Value::as_moref),
        Some(&h0)
    );
    assert_eq!(model_state(&emu, &h0), HostState::Maintenance);
    assert_eq!(int(&emu, &c, &["summary", "numEffectiveHosts"]), 2);
    assert_eq!(int(&emu, &c, &["summary", "effectiveCpu"]), 2 * 17_600);
    assert_eq!(int(&emu, &c, &["summary", "numHosts"]), 3);
    assert_eq!(int(&emu, &c, &["summary", "numVmotions"]), 2);
    // Nothing new goes there; powering on there is refused.
    assert!(!emu.host_accepts_vms(&h0));
    emu.exit_maintenance("u", &h0).unwrap();
    assert_eq!(model_state(&emu, &h0), HostState::Available);
    assert_eq!(int(&emu, &c, &["summary", "numEffectiveHosts"]), 3);
}

#[test]
fn without_full_automation_the_task_waits_then_succeeds_or_times_out() {
    let mut emu = emu();
    drs_behavior(&mut emu, "partiallyAutomated");
    let [h0, h1, _] = <[MoRef; 3]>::try_from(hosts(&emu)).unwrap();
    // timeout 0 would wait forever: refused at once, nothing moved.
    let e = emu.enter_maintenance("u", &h0, 0, false).unwrap_err();
    assert_eq!(e.ty, "InvalidState");
    assert_eq!(emu.inv.refs(&h0, "vm").len(), 2);
    assert!(!emu.in_maintenance(&h0));

    // timeout 60 s: the task runs until the VMs are off.
    let task = start_task(&mut emu);
    assert_eq!(
        emu.enter_maintenance("u", &h0, 60, false).unwrap(),
        super::super::EnterOutcome::Waiting
    );
    emu.wait_for_maintenance("u", &h0, &task, 60, false);
    assert!(
        !emu.host_accepts_vms(&h0),
        "a host entering maintenance takes no VM"
    );
    interval(&mut emu);
    assert_eq!(task_state(&emu, &task), "running");
    for vm in emu.inv.refs(&h0, "vm") {
        emu.power_off_vm("u", &vm).unwrap();
    }
    interval(&mut emu);
    assert_eq!(task_state(&emu, &task), "success");
    assert!(emu.in_maintenance(&h0));

    // On another host: nobody powers off, the timeout passes.
    let task = start_task(&mut emu);
    assert_eq!(
        emu.enter_maintenance("u", &h1, 30, false).unwrap(),
        super::super::EnterOutcome::Waiting
    );
    emu.wait_for_maintenance("u", &h1, &task, 30, false);
    interval(&mut emu);
    assert_eq!(task_state(&emu, &task), "running");
    interval(&mut emu);
    assert_eq!(task_state(&emu, &task), "error");
    let fault = field(&emu, &task, &["info", "error", "fault"]).unwrap();
    assert_eq!(fault.xsi_type(), "Timedout");
    assert!(!emu.in_maintenance(&h1));
    assert!(emu.host_accepts_vms(&h1));
}

fn start_task(emu: &mut Emulator) -> MoRef {
    let start = crate::tasks::TaskStart {
        method: "EnterMaintenanceMode_Task",
        on_type: "HostSystem",
        entity: None,
        user: "u",
        now_ms: emu.clock.now_ms(),
    };
    let t = emu.tasks.start(&mut emu.inv, &start, false);
    let now = emu.clock.now_ms();
    emu.tasks.run(&mut emu.inv, &t, now);
    t
}

fn task_state(emu: &Emulator, task: &MoRef) -> String {
    text(emu, task, &["info", "state"])
}

#[test]
fn disconnected_hosts_keep_their_vms_running_unmanaged() {
    let mut emu = emu();
    let c = cluster(&emu);
    let h0 = hosts(&emu)[0].clone();
    let vm = emu.inv.refs(&h0, "vm")[0].clone();
    emu.disconnect_host("u", &h0).unwrap();
    assert_eq!(
        text(&emu, &h0, &["runtime", "connectionState"]),
        "disconnected"
    );
    assert_eq!(text(&emu, &h0, &["runtime", "powerState"]), "unknown");
    assert_eq!(
        text(&emu, &h0, &["summary", "runtime", "connectionState"]),
        "disconnected"
    );
    assert_eq!(
        text(&emu, &vm, &["runtime", "connectionState"]),
        "disconnected"
    );
    assert_eq!(text(&emu, &vm, &["runtime", "powerState"]), "poweredOn");
    assert!(model_on(&emu, &vm));
    assert_eq!(model_state(&emu, &h0), HostState::Disconnected);
    assert_eq!(int(&emu, &c, &["summary", "numEffectiveHosts"]), 2);
    assert_eq!(events(&emu, "HostDisconnectedEvent"), 1);
    // vCenter cannot operate its VMs.
    let e = emu.power_off_vm("u", &vm).unwrap_err();
    assert_eq!(e.ty, "InvalidHostState");
    emu.reconnect_host("u", &h0).unwrap();
    assert_eq!(
        text(&emu, &vm, &["runtime", "connectionState"]),
        "connected"
    );
    assert_eq!(model_state(&emu, &h0), HostState::Available);
    assert_eq!(events(&emu, "HostConnectedEvent"), 1);
    emu.power_off_vm("u", &vm).unwrap();
}

#[test]
fn shutdown_needs_maintenance_unless_forced_and_reboot_comes_back() {
    let mut emu = emu();
    let [h0, h1, _] = <[MoRef; 3]>::try_from(hosts(&emu)).unwrap();
    let e = emu.shutdown_host("u", &h0, false).unwrap_err();
    assert_eq!(e.ty, "InvalidState");
    assert!(emu.host_connected(&h0));
    // Forced: its VMs are powered off first.
    let vms = emu.inv.refs(&h0, "vm");
    emu.shutdown_host("u", &h0, true).unwrap();
    assert_eq!(text(&emu, &h0, &["runtime", "powerState"]), "poweredOff");
    assert_eq!(
        text(&emu, &h0, &["runtime", "connectionState"]),
        "notResponding"
    );
    for vm in &vms {
        assert_eq!(text(&emu, vm, &["runtime", "powerState"]), "poweredOff");
        assert!(!model_on(&emu, vm));
    }
    assert_eq!(model_state(&emu, &h0), HostState::Failed);
    assert_eq!(events(&emu, "HostShutdownEvent"), 1);
    assert_eq!(
        emu.reconnect_host("u", &h0).unwrap_err().ty,
        "HostConnectFault"
    );
    emu.recover_host(&h0).unwrap();
    assert!(emu.host_connected(&h0));

    // Reboot from maintenance mode: back after REBOOT_MS, still in maintenance mode.
    emu.enter_maintenance("u", &h1, 0, false).unwrap();
    emu.reboot_host("u", &h1, false).unwrap();
    assert_eq!(
        text(&emu, &h1, &["runtime", "connectionState"]),
        "notResponding"
    );
    let boot = field(&emu, &h1, &["runtime", "bootTime"]);
    for _ in 0..(super::REBOOT_MS / 20_000 - 1) {
        interval(&mut emu);
    }
    assert!(!emu.host_connected(&h1));
    interval(&mut emu);
    assert!(emu.host_connected(&h1));
    assert!(emu.in_maintenance(&h1));
    assert_eq!(model_state(&emu, &h1), HostState::Maintenance);
    assert_ne!(field(&emu, &h1, &["runtime", "bootTime"]), boot);
}

#[test]
fn a_failed_host_without_ha_leaves_its_vms_off() {
    let mut emu = emu();
    let h0 = hosts(&emu)[0].clone();
    let vms = emu.inv.refs(&h0, "vm");
    emu.fail_host(&h0).unwrap();
    assert_eq!(
        text(&emu, &h0, &["runtime", "connectionState"]),
        "notResponding"
    );
    assert_eq!(text(&emu, &h0, &["runtime", "powerState"]), "unknown");
    assert_eq!(text(&emu, &h0, &["overallStatus"]), "red");
    for vm in &vms {
        assert!(!model_on(&emu, vm));
        // vCenter does not know: last known state, disconnected.
        assert_eq!(text(&emu, vm, &["runtime", "powerState"]), "poweredOn");
        assert_eq!(
            text(&emu, vm, &["runtime", "connectionState"]),
            "disconnected"
        );
    }
    assert_eq!(events(&emu, "HostConnectionLostEvent"), 1);
    assert!(emu.fail_host(&h0).is_err());
    for _ in 0..3 {
        interval(&mut emu);
    }
    assert_eq!(events(&emu, "DasHostFailedEvent"), 0);
    assert!(vms.iter().all(|vm| emu.host_of(vm).as_ref() == Some(&h0)));
    emu.recover_host(&h0).unwrap();
    for vm in &vms {
        assert_eq!(text(&emu, vm, &["runtime", "powerState"]), "poweredOff");
        assert_eq!(text(&emu, vm, &["runtime", "connectionState"]), "connected");
    }
    assert_eq!(model_state(&emu, &h0), HostState::Available);
}

#[test]
fn ha_restarts_in_priority_order_on_surviving_hosts() {
    let mut emu = emu();
    ha_on(&mut emu, None);
    let c = cluster(&emu);
    let [h0, h1, h2] = <[MoRef; 3]>::try_from(hosts(&emu)).unwrap();
    let vms = emu.inv.refs(&h0, "vm");
    // The second VM is high priority, the first is not to be restarted.
    let per_vm = |vm: &MoRef, prio: &str| {
        DataObject::new("ClusterDasVmConfigSpec")
            .with("operation", Value::enumv("ArrayUpdateOperation", "add"))
            .with(
                "info",
                DataObject::new("ClusterDasVmConfigInfo")
                    .with("key", Value::moref(vm))
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
    reconfigure(
        &mut emu,
        vec![(
            "dasVmConfigSpec",
            Value::array(
                "ClusterDasVmConfigSpec",
                vec![per_vm(&vms[0], "disabled"), per_vm(&vms[1], "high")],
            ),
        )],
    );
    emu.fail_host(&h0).unwrap();
    // Detected only after 15 s: nothing before the next interval.
    assert_eq!(events(&emu, "DasHostFailedEvent"), 0);
    interval(&mut emu);
    assert_eq!(events(&emu, "DasHostFailedEvent"), 1);
    assert_eq!(events(&emu, "VmRestartedOnAlternateHostEvent"), 1);
    let restarted = &vms[1];
    let to = emu.host_of(restarted).unwrap();
    assert!(to == h1 || to == h2);
    assert!(model_on(&emu, restarted));
    assert_eq!(
        text(&emu, restarted, &["runtime", "connectionState"]),
        "connected"
    );
    assert_eq!(
        text(&emu, restarted, &["runtime", "powerState"]),
        "poweredOn"
    );
    assert!(emu.inv.refs(&to, "vm").contains(restarted));
    let e = emu
        .events
        .iter()
        .find(|e| e.ty == "VmRestartedOnAlternateHostEvent")
        .unwrap();
    assert_eq!(
        e.value
            .field("sourceHost")
            .and_then(|s| s.field("host"))
            .and_then(Value::as_moref),
        Some(&h0)
    );
    // Disabled: stays on the failed host, off.
    assert_eq!(emu.host_of(&vms[0]).as_ref(), Some(&h0));
    assert!(!model_on(&emu, &vms[0]));
    // Two hosts left tolerate one more failure: still green.
    assert_eq!(text(&emu, &c, &["overallStatus"]), "green");
    assert_eq!(int(&emu, &c, &["summary", "currentFailoverLevel"]), 1);
    // Nothing more happens on later intervals.
    interval(&mut emu);
    assert_eq!(events(&emu, "VmRestartedOnAlternateHostEvent"), 1);
    assert_eq!(events(&emu, "DasHostFailedEvent"), 1);
}

#[test]
fn ha_restarts_the_highest_priority_first_and_waits_for_capacity() {
    let mut emu = emu();
    ha_on(&mut emu, None);
    let [h0, h1, h2] = <[MoRef; 3]>::try_from(hosts(&emu)).unwrap();
    let reserve = |emu: &mut Emulator, vm: &MoRef, mhz: u64| {
        let id = emu.ids.vms[&vm.value];
        let mut spec = emu.world.vm_spec(id).unwrap().clone();
        spec.cpu.reservation = mhz;
        emu.world.reconfigure_vm(id, spec).unwrap();
    };
    // h1 is full (2 × 8 800 of 17 600 MHz); h2 has 1 000 MHz left.
    for vm in emu.inv.refs(&h1, "vm") {
        reserve(&mut emu, &vm, 8_800);
    }
    let on_h2 = emu.inv.refs(&h2, "vm");
    reserve(&mut emu, &on_h2[0], 8_800);
    reserve(&mut emu, &on_h2[1], 7_800);
    // h0's VMs need 1 000 MHz each: only one fits. The second in line is high priority.
    let vms = emu.inv.refs(&h0, "vm");
    for vm in &vms {
        reserve(&mut emu, vm, 1_000);
    }
    let high = DataObject::new("ClusterDasVmConfigSpec")
        .with("operation", Value::enumv("ArrayUpdateOperation", "add"))
        .with(
            "info",
            DataObject::new("ClusterDasVmConfigInfo")
                .with("key", Value::moref(&vms[1]))
                .with("restartPriority", Value::enumv("DasVmPriority", "high"))
                .into_value(),
        )
        .into_value();
    reconfigure(&mut emu, vec![("dasVmConfigSpec", high)]);
    emu.fail_host(&h0).unwrap();
    interval(&mut emu);
    assert_eq!(events(&emu, "DasHostFailedEvent"), 1);
    assert!(model_on(&emu, &vms[1]), "the high-priority VM got the room");
    assert_eq!(emu.host_of(&vms[1]), Some(h2.clone()));
    assert!(!model_on(&emu, &vms[0]));
    assert_eq!(events(&emu, "VmRestartedOnAlternateHostEvent"), 1);
    assert_eq!(events(&emu, "VmFailoverFailed"), 1);
    interval(&mut emu);
    assert_eq!(events(&emu, "VmFailoverFailed"), 1, "reported once");
    // Capacity comes back with the host: the VM restarts there.
    emu.recover_host(&h0).unwrap();
    assert_eq!(
        text(&emu, &vms[0], &["runtime", "powerState"]),
        "poweredOff"
    );
    interval(&mut emu);
    assert!(model_on(&emu, &vms[0]));
    assert_eq!(text(&emu, &vms[0], &["runtime", "powerState"]), "poweredOn");
    assert_eq!(emu.host_of(&vms[0]), Some(h0));
}

#[test]
fn cluster_status_turns_yellow_when_reservations_outgrow_capacity() {
    let mut emu = emu();
    let c = cluster(&emu);
    let root = emu
        .inv
        .prop(&c, "resourcePool")
        .and_then(Value::as_moref)
        .cloned()
        .unwrap();
    let cpu = DataObject::new("ResourceAllocationInfo")
        .with("reservation", Value::Long(40_000))
        .with("expandableReservation", Value::Bool(false))
        .with("limit", Value::Long(-1))
        .into_value();
    emu.create_pool(&root, "reserved", Some(&cpu), None)
        .unwrap();
    let h0 = hosts(&emu)[0].clone();
    emu.fail_host(&h0).unwrap();
    assert_eq!(text(&emu, &c, &["overallStatus"]), "yellow");
    assert_eq!(text(&emu, &c, &["summary", "overallStatus"]), "yellow");
    assert_eq!(events(&emu, "ClusterOvercommittedEvent"), 1);
    let changed = emu
        .events
        .iter()
        .find(|e| e.ty == "ClusterStatusChangedEvent")
        .unwrap();
    assert_eq!(
        changed.value.field("newStatus").and_then(Value::as_str),
        Some("yellow")
    );
    emu.recover_host(&h0).unwrap();
    assert_eq!(text(&emu, &c, &["overallStatus"]), "green");
    assert_eq!(events(&emu, "ClusterStatusChangedEvent"), 2);
}

#[test]
fn ha_failover_capacity_turns_the_cluster_red_and_refuses_power_ons() {
    let mut emu = emu();
    let c = cluster(&emu);
    let policy = DataObject::new("ClusterFailoverLevelAdmissionControlPolicy")
        .with("failoverLevel", Value::Int(2))
        .into_value();
    ha_on(&mut emu, Some(policy));
    assert_eq!(text(&emu, &c, &["overallStatus"]), "green");
    assert_eq!(int(&emu, &c, &["summary", "currentFailoverLevel"]), 2);
    assert_eq!(
        field(&emu, &c, &["summary", "admissionControlInfo"])
            .unwrap()
            .xsi_type(),
        "ClusterFailoverLevelAdmissionControlInfo"
    );
    let [h0, h1, _] = <[MoRef; 3]>::try_from(hosts(&emu)).unwrap();
    let off = emu.inv.refs(&h1, "vm")[0].clone();
    emu.power_off_vm("u", &off).unwrap();
    emu.fail_host(&h0).unwrap();
    // Two hosts tolerate one failure, not two.
    assert_eq!(text(&emu, &c, &["overallStatus"]), "red");
    assert_eq!(events(&emu, "InsufficientFailoverResourcesEvent"), 1);
    let e = emu.power_on_vm("u", &off).unwrap_err();
    assert_eq!(e.ty, "InsufficientFailoverResourcesFault");
    // Restarts do not go through HA admission control.
    interval(&mut emu);
    assert_eq!(events(&emu, "VmRestartedOnAlternateHostEvent"), 2);
    emu.recover_host(&h0).unwrap();
    assert_eq!(text(&emu, &c, &["overallStatus"]), "green");
    assert_eq!(events(&emu, "FailoverLevelRestored"), 1);
    emu.power_on_vm("u", &off).unwrap();
}

#[test]
fn placement_skips_hosts_that_take_no_vm() {
    let mut emu = emu();
    let [h0, h1, h2] = <[MoRef; 3]>::try_from(hosts(&emu)).unwrap();
    emu.fail_host(&h0).unwrap();
    emu.disconnect_host("u", &h1).unwrap();
    let c = cluster(&emu);
    assert_eq!(emu.ranked_hosts(&c, None), vec![h2.clone()]);
    let pool = emu
        .inv
        .prop(&c, "resourcePool")
        .and_then(Value::as_moref)
        .cloned()
        .unwrap();
    let folder = emu
        .inv
        .iter()
        .find(|o| o.moref.ty == "Folder" && o.name() == "vm")
        .unwrap()
        .moref
        .clone();
    let vm = emu
        .create_vm(
            "u",
            super::super::VmCreate {
                name: "placed".into(),
                num_cpu: 1,
                memory_mb: 256,
                ..Default::default()
            },
            super::super::VmPlacement {
                folder,
                pool,
                host: None,
            },
        )
        .unwrap();
    assert_eq!(emu.host_of(&vm), Some(h2));
}
