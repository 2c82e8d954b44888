//! VM lifecycle over SOAP, with the model behind it.

use crate::support::{Sim, first};

fn create_vm(name: &str, workload: &str) -> String {
    format!(
        r#"<CreateVM_Task xmlns="urn:vim25"><_this type="Folder">group-v3</_this><config><name>{name}</name><numCPUs>2</numCPUs><memoryMB>4096</memoryMB><files><vmPathName>[LocalDS_0]</vmPathName></files><extraConfig><key>guestinfo.vicbed.workload</key><value xsi:type="xsd:string">{workload}</value></extraConfig></config><pool type="ResourcePool">POOL</pool></CreateVM_Task>"#
    )
}

fn task_state(sim: &Sim, task: &str) -> (String, Option<String>) {
    sim.vc.with(|e| {
        let info = e
            .inv
            .prop(&vcsim::vmodl::MoRef::new("Task", task), "info")
            .unwrap()
            .clone();
        let state = info
            .field("state")
            .and_then(|v| v.as_str())
            .unwrap()
            .to_owned();
        let result = info
            .field("result")
            .and_then(|v| v.as_moref())
            .map(|m| m.value.clone());
        let error = info
            .field("error")
            .and_then(|e| e.field("localizedMessage"))
            .and_then(|m| m.as_str())
            .map(str::to_owned);
        (state, result.or(error))
    })
}

#[tokio::test]
async fn create_power_reconfigure_destroy() {
    let sim = Sim::logged_in().await;
    let pool = sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| {
                o.moref.ty == "ResourcePool"
                    && o.parent().is_some_and(|p| p.ty == "ClusterComputeResource")
            })
            .unwrap()
            .moref
            .value
            .clone()
    });
    let r = sim
        .call(&create_vm("busy", "cpu=1800").replace("POOL", &pool))
        .await;
    let task = first(&r.body, "returnval").expect(&r.body).to_owned();
    let (state, vm) = task_state(&sim, &task);
    assert_eq!(state, "success");
    let vm = vm.unwrap();
    let dup = sim
        .call(&create_vm("busy", "idle").replace("POOL", &pool))
        .await;
    let dup_task = first(&dup.body, "returnval").unwrap().to_owned();
    assert_eq!(
        task_state(&sim, &dup_task).0,
        "error",
        "duplicate names fail the task"
    );

    let power_on = format!(
        r#"<PowerOnVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">{vm}</_this></PowerOnVM_Task>"#
    );
    let r = sim.call(&power_on).await;
    assert_eq!(
        task_state(&sim, first(&r.body, "returnval").unwrap()).0,
        "success"
    );
    let r = sim.call(&power_on).await;
    let again = first(&r.body, "returnval").unwrap().to_owned();
    assert_eq!(
        task_state(&sim, &again).0,
        "error",
        "powering on twice is InvalidPowerState"
    );

    // Two minutes of virtual time: six realtime samples from the model.
    assert_eq!(sim.vc.advance(120_000), 6);
    let usage = sim.vc.with(|e| {
        let vm = vcsim::vmodl::MoRef::new("VirtualMachine", vm.clone());
        e.inv
            .prop(&vm, "summary")
            .unwrap()
            .field("quickStats")
            .unwrap()
            .field("overallCpuUsage")
            .unwrap()
            .as_i64()
            .unwrap()
    });
    assert!(
        usage > 1000,
        "a vCPU busy at 1800 MHz on an idle 2.2 GHz host uses most of it: {usage}"
    );

    let reconfig = |spec: &str| {
        format!(
            r#"<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">{vm}</_this><spec>{spec}</spec></ReconfigVM_Task>"#
        )
    };
    let r = sim.call(&reconfig("<memoryMB>8192</memoryMB>")).await;
    let state = task_state(&sim, first(&r.body, "returnval").unwrap());
    assert_eq!(
        state.0, "error",
        "no memory hot-add while powered on: {state:?}"
    );
    let r = sim
        .call(&reconfig(r#"<extraConfig><key>guestinfo.vicbed.workload</key><value xsi:type="xsd:string">idle</value></extraConfig>"#))
        .await;
    assert_eq!(
        task_state(&sim, first(&r.body, "returnval").unwrap()).0,
        "success"
    );
    sim.vc.advance(40_000);
    let usage = sim.vc.with(|e| {
        let vm = vcsim::vmodl::MoRef::new("VirtualMachine", vm.clone());
        e.inv
            .prop(&vm, "summary")
            .unwrap()
            .field("quickStats")
            .unwrap()
            .field("overallCpuUsage")
            .unwrap()
            .as_i64()
            .unwrap()
    });
    assert!(
        usage < 200,
        "the guest's new idle workload is what the model runs: {usage}"
    );
    let destroy = format!(
        r#"<Destroy_Task xmlns="urn:vim25"><_this type="VirtualMachine">{vm}</_this></Destroy_Task>"#
    );
    let r = sim.call(&destroy).await;
    assert_eq!(
        task_state(&sim, first(&r.body, "returnval").unwrap()).0,
        "error",
        "a powered-on VM is not destroyed"
    );
    sim.call(&format!(r#"<PowerOffVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">{vm}</_this></PowerOffVM_Task>"#)).await;
    let r = sim.call(&reconfig("<memoryMB>8192</memoryMB>")).await;
    assert_eq!(
        task_state(&sim, first(&r.body, "returnval").unwrap()).0,
        "success"
    );
    let r = sim
        .call(&format!(r#"<Fetch xmlns="urn:vim25"><_this type="VirtualMachine">{vm}</_this><prop>config.hardware.memoryMB</prop></Fetch>"#))
        .await;
    assert!(
        r.body
            .contains(r#"<returnval xsi:type="xsd:int">8192</returnval>"#),
        "{}",
        r.body
    );
    let r = sim.call(&destroy).await;
    assert_eq!(
        task_state(&sim, first(&r.body, "returnval").unwrap()).0,
        "success"
    );
    let r = sim
        .call(&format!(r#"<Fetch xmlns="urn:vim25"><_this type="VirtualMachine">{vm}</_this><prop>name</prop></Fetch>"#))
        .await;
    assert!(r.body.contains("ManagedObjectNotFound"), "{}", r.body);
}
