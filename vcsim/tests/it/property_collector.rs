//! RetrievePropertiesEx paging, container views and WaitForUpdatesEx.

use crate::support::{Sim, first};

const VMS_IN_VIEW: &str = r#"<_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="ContainerView">VIEW</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>tv</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet>"#;

async fn vm_view(sim: &Sim) -> String {
    let r = sim
        .call(r#"<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>"#)
        .await;
    first(&r.body, "returnval").expect("a view").to_owned()
}

#[tokio::test]
async fn paging_returns_every_vm_once() {
    let sim = Sim::logged_in().await;
    let view = vm_view(&sim).await;
    let spec = VMS_IN_VIEW.replace("VIEW", &view);
    let r = sim
        .call(&format!(r#"<RetrievePropertiesEx xmlns="urn:vim25">{spec}<options><maxObjects>3</maxObjects></options></RetrievePropertiesEx>"#))
        .await;
    let mut names: Vec<String> = Vec::new();
    let mut body = r.body;
    // Default model: 3 cluster hosts × 2 + 1 standalone × 2 = 8 VMs, so 3 pages of ≤ 3.
    for _ in 0..10 {
        names.extend(
            body.match_indices("xsi:type=\"xsd:string\">")
                .map(|(i, m)| {
                    let rest = &body[i + m.len()..];
                    rest[..rest.find('<').unwrap()].to_owned()
                }),
        );
        let Some(token) = first(&body, "token").map(str::to_owned) else {
            break;
        };
        body = sim
            .call(&format!(r#"<ContinueRetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><token>{token}</token></ContinueRetrievePropertiesEx>"#))
            .await
            .body;
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(sorted.len(), 8, "each VM exactly once: {names:?}");
    assert!(names.contains(&"DC0_C0_RP0_VM0".to_owned()));
    assert!(names.contains(&"DC0_H0_VM1".to_owned()));
}

#[tokio::test]
async fn wait_for_updates_reports_initial_state_then_changes() {
    let sim = Sim::logged_in().await;
    let view = vm_view(&sim).await;
    let spec = VMS_IN_VIEW
        .replace("VIEW", &view)
        .replace(
            "<_this type=\"PropertyCollector\">propertyCollector</_this><specSet>",
            "<_this type=\"PropertyCollector\">propertyCollector</_this><spec>",
        )
        .replace("</specSet>", "</spec>")
        .replace(
            "<pathSet>name</pathSet>",
            "<pathSet>runtime.powerState</pathSet>",
        );
    let r = sim.call(&format!(r#"<CreateFilter xmlns="urn:vim25">{spec}<partialUpdates>false</partialUpdates></CreateFilter>"#)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let wait = |v: &str| {
        format!(
            r#"<WaitForUpdatesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><version>{v}</version><options><maxWaitSeconds>0</maxWaitSeconds></options></WaitForUpdatesEx>"#
        )
    };
    let r = sim.call(&wait("")).await;
    assert_eq!(
        r.body.matches("<kind>enter</kind>").count(),
        8,
        "{}",
        r.body
    );
    let version = first(&r.body, "version").unwrap().to_owned();
    let r = sim.call(&wait(&version)).await;
    assert!(
        !r.body.contains("<returnval"),
        "no change, no update set: {}",
        r.body
    );
    let vm = sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.name() == "DC0_H0_VM0")
            .unwrap()
            .moref
            .clone()
    });
    sim.vc.with(|e| e.power_off_vm("test", &vm)).unwrap();
    let r = sim.call(&wait(&version)).await;
    assert!(r.body.contains("<kind>modify</kind>"), "{}", r.body);
    assert!(
        r.body
            .contains(r#"xsi:type="VirtualMachinePowerState">poweredOff<"#),
        "{}",
        r.body
    );
    let r = sim.call(&wait("999")).await;
    assert!(r.body.contains("InvalidCollectorVersion"), "{}", r.body);
}
