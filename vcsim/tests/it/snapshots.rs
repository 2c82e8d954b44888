//! Golden wire responses: representative answers as pyvmomi and govc receive them.

use crate::support::Sim;

#[tokio::test]
async fn service_content() {
    let sim = Sim::new();
    let r = sim
        .call(r#"<RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent>"#)
        .await;
    insta::assert_snapshot!(r.body);
}

#[tokio::test]
async fn invalid_login_fault() {
    let sim = Sim::new();
    let r = sim
        .call(r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>user</userName><password>wrong</password></Login>"#)
        .await;
    assert_eq!(r.status.as_u16(), 500);
    insta::assert_snapshot!(r.body);
}

#[tokio::test]
async fn retrieve_vm_properties() {
    let sim = Sim::logged_in().await;
    let r = sim
        .call(r#"<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet><pathSet>config.hardware.numCPU</pathSet><pathSet>summary.config.memorySizeMB</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>f</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet><name>f</name></selectSet><selectSet><name>d</name></selectSet></selectSet><selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path><skip>false</skip><selectSet><name>f</name></selectSet></selectSet></objectSet></specSet><options><maxObjects>2</maxObjects></options></RetrievePropertiesEx>"#)
        .await;
    insta::assert_snapshot!(r.body);
}

#[tokio::test]
async fn service_versions() {
    let sim = Sim::new();
    let r = sim
        .request("GET", "/sdk/vimServiceVersions.xml", String::new())
        .await;
    assert!(r.body.contains("<version>8.0.3.0</version>"));
    insta::assert_snapshot!(r.body);
}
