//! Distributed port groups.

use crate::support::{Sim, first};

#[tokio::test]
async fn add_and_destroy_a_distributed_port_group() {
    let sim = Sim::logged_in().await;
    let dvs = sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.name() == "DVS0")
            .unwrap()
            .moref
            .value
            .clone()
    });
    let add = format!(
        r#"<AddDVPortgroup_Task xmlns="urn:vim25"><_this type="VmwareDistributedVirtualSwitch">{dvs}</_this><spec><name>bridge-vch</name><numPorts>256</numPorts><type>earlyBinding</type></spec></AddDVPortgroup_Task>"#
    );
    let r = sim.call(&add).await;
    assert!(first(&r.body, "returnval").is_some(), "{}", r.body);
    let (pg, hosts) = sim.vc.with(|e| {
        let pg = e
            .inv
            .iter()
            .find(|o| o.name() == "bridge-vch")
            .expect("port group created")
            .moref
            .clone();
        (pg.clone(), e.inv.refs(&pg, "host").len())
    });
    assert_eq!(hosts, 4, "every host of DC0 sees the port group");
    let r = sim
        .call(r#"<FindByInventoryPath xmlns="urn:vim25"><_this type="SearchIndex">SearchIndex</_this><inventoryPath>DC0/network/bridge-vch</inventoryPath></FindByInventoryPath>"#)
        .await;
    assert_eq!(
        first(&r.body, "returnval"),
        Some(pg.value.as_str()),
        "{}",
        r.body
    );
    let again = sim.call(&add).await;
    let task = first(&again.body, "returnval").unwrap().to_owned();
    let state = sim.vc.with(|e| {
        e.inv
            .prop(&vcsim::vmodl::MoRef::new("Task", task), "info")
            .unwrap()
            .field("state")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    });
    assert_eq!(
        state, "error",
        "a second port group of the same name is a DuplicateName"
    );
    sim.call(&format!(r#"<Destroy_Task xmlns="urn:vim25"><_this type="DistributedVirtualPortgroup">{}</_this></Destroy_Task>"#, pg.value)).await;
    assert!(sim.vc.with(|e| !e.inv.contains(&pg)));
}
