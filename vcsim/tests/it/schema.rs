//! What the emulator holds and emits, checked against the vim25 schema generated from pyvmomi
//! (whose deserializer rejects any type, field or enum value the WSDL lacks).

use crate::support::{Sim, find, first, named, ok, returnval, vim};
use vcsim::vmodl::{MoRef, check_field, check_value, field, managed_type};
use vcsim::{Config, Emulator, Flavor};

/// Every property of every inventory object must be a property of the object's managed type
/// holding a value of that property's type; every posted event must be a valid `Event`.
pub(crate) fn problems(emu: &Emulator) -> Vec<String> {
    let mut out = Vec::new();
    for obj in emu.inv.iter() {
        let ty = obj.moref.ty.as_ref();
        if managed_type(ty).is_none() {
            out.push(format!("{}: unknown managed type", obj.moref));
            continue;
        }
        for (name, v) in &obj.props {
            match field(ty, name) {
                None => out.push(format!("{}: `{ty}` has no property `{name}`", obj.moref)),
                Some(f) => out.extend(
                    check_field(f, v)
                        .into_iter()
                        .map(|p| format!("{}.{name}: {p}", obj.moref)),
                ),
            }
        }
    }
    for e in emu.events.iter() {
        out.extend(
            check_value(Some("Event"), &e.value)
                .into_iter()
                .map(|p| format!("event {} ({}): {p}", e.key, e.ty)),
        );
    }
    out
}

fn assert_clean(emu: &Emulator, what: &str) {
    let found = problems(emu);
    assert!(
        found.is_empty(),
        "{what}: {} problems:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn initial_inventories_match_the_schema() {
    for flavor in [Flavor::VirtualCenter, Flavor::HostAgent] {
        let mut emu = Emulator::new(Config {
            flavor,
            ..Config::default()
        })
        .unwrap();
        emu.advance(60_000);
        assert_clean(&emu, &format!("{flavor:?}"));
    }
}

/// Drives a VM and inventory lifecycle (tasks that succeed and fail, events, views,
/// collectors, filters) and checks everything the emulator then holds.
#[tokio::test]
async fn state_after_a_lifecycle_matches_the_schema() {
    let sim = Sim::logged_in().await;
    let pool = find(&sim, "ResourcePool");
    let dc = find(&sim, "Datacenter");
    let browser = find(&sim, "HostDatastoreBrowser");
    let net = find(&sim, "HostNetworkSystem");

    let task = returnval(
        &sim,
        &format!(
            r#"<CreateVM_Task xmlns="urn:vim25"><_this type="Folder">group-v3</_this><config><name>checked</name><numCPUs>2</numCPUs><memoryMB>2048</memoryMB><files><vmPathName>[LocalDS_0]</vmPathName></files><extraConfig><key>guestinfo.vicbed.workload</key><value xsi:type="xsd:string">cpu=500</value></extraConfig></config><pool type="ResourcePool">{pool}</pool></CreateVM_Task>"#
        ),
    )
    .await;
    let vm = sim
        .vc
        .with(|e| {
            e.inv
                .prop(&MoRef::new("Task", task.clone()), "info")
                .and_then(|i| i.field("result"))
                .and_then(|r| r.as_moref())
                .map(|m| m.value.clone())
        })
        .expect("CreateVM_Task succeeds");
    let this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);

    ok(&sim, &vim("PowerOnVM_Task", &this)).await;
    // Powering on twice fails the task with InvalidPowerState.
    ok(&sim, &vim("PowerOnVM_Task", &this)).await;
    sim.vc.advance(60_000);
    ok(&sim, &format!(r#"<ReconfigVM_Task xmlns="urn:vim25">{this}<spec><extraConfig><key>guestinfo.vicbed.workload</key><value xsi:type="xsd:string">idle</value></extraConfig></spec></ReconfigVM_Task>"#)).await;
    // No memory hot-add while powered on: a failed task.
    ok(&sim, &format!(r#"<ReconfigVM_Task xmlns="urn:vim25">{this}<spec><memoryMB>8192</memoryMB></spec></ReconfigVM_Task>"#)).await;
    ok(&sim, &vim("SuspendVM_Task", &this)).await;
    ok(&sim, &format!(r#"<PowerOnMultiVM_Task xmlns="urn:vim25"><_this type="Datacenter">{dc}</_this><vm type="VirtualMachine">{vm}</vm></PowerOnMultiVM_Task>"#)).await;
    sim.vc.advance(60_000);
    ok(&sim, &vim("PowerOffVM_Task", &this)).await;
    ok(
        &sim,
        &vim("Rename_Task", &format!("{this}<newName>renamed</newName>")),
    )
    .await;
    ok(&sim, r#"<CreateFolder xmlns="urn:vim25"><_this type="Folder">group-v3</_this><name>sub</name></CreateFolder>"#).await;
    ok(&sim, &format!(r#"<SearchDatastore_Task xmlns="urn:vim25"><_this type="HostDatastoreBrowser">{browser}</_this><datastorePath>[LocalDS_0]</datastorePath></SearchDatastore_Task>"#)).await;
    ok(&sim, &format!(r#"<AddPortGroup xmlns="urn:vim25"><_this type="HostNetworkSystem">{net}</_this><portgrp><name>checked-pg</name><vlanId>0</vlanId><vswitchName>vSwitch0</vswitchName><policy></policy></portgrp></AddPortGroup>"#)).await;
    ok(&sim, r#"<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>"#).await;
    ok(&sim, r#"<CreateCollectorForEvents xmlns="urn:vim25"><_this type="EventManager">EventManager</_this><filter></filter></CreateCollectorForEvents>"#).await;
    ok(&sim, r#"<CreateFilter xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><spec><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj></objectSet></spec><partialUpdates>false</partialUpdates></CreateFilter>"#).await;
    sim.vc.advance(60_000);
    ok(&sim, &vim("Destroy_Task", &this)).await;

    // Inventory management, templates, registration, collectors, files, networking,
    // authorization and custom fields leave schema-valid state too.
    ok(&sim, r#"<CreateDatacenter xmlns="urn:vim25"><_this type="Folder">group-d1</_this><name>DCx</name></CreateDatacenter>"#).await;
    let hf = sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "Datacenter" && o.name() == "DCx")
            .and_then(|o| o.get("hostFolder").and_then(|v| v.as_moref()).cloned())
            .unwrap()
            .value
    });
    let cx = returnval(&sim, &format!(r#"<CreateClusterEx xmlns="urn:vim25"><_this type="Folder">{hf}</_this><name>Cx</name><spec></spec></CreateClusterEx>"#)).await;
    ok(&sim, &format!(r#"<AddHost_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">{cx}</_this><spec><hostName>hx</hostName></spec><asConnected>true</asConnected></AddHost_Task>"#)).await;
    ok(&sim, &format!(r#"<AddStandaloneHost_Task xmlns="urn:vim25"><_this type="Folder">{hf}</_this><spec><hostName>hy</hostName></spec><addConnected>true</addConnected></AddStandaloneHost_Task>"#)).await;
    let host = find(&sim, "HostSystem");
    ok(&sim, &format!(r#"<EnterMaintenanceMode_Task xmlns="urn:vim25"><_this type="HostSystem">{host}</_this><timeout>0</timeout></EnterMaintenanceMode_Task>"#)).await;
    ok(&sim, &format!(r#"<ExitMaintenanceMode_Task xmlns="urn:vim25"><_this type="HostSystem">{host}</_this><timeout>0</timeout></ExitMaintenanceMode_Task>"#)).await;
    let other = named(&sim, "VirtualMachine", "DC0_H0_VM0");
    let ot = format!(r#"<_this type="VirtualMachine">{other}</_this>"#);
    for method in ["PowerOffVM_Task", "MarkAsTemplate", "UnregisterVM"] {
        ok(&sim, &vim(method, &ot)).await;
    }
    ok(&sim, &format!(r#"<RegisterVM_Task xmlns="urn:vim25"><_this type="Folder">group-v3</_this><path>[LocalDS_0] DC0_H0_VM0/DC0_H0_VM0.vmx</path><asTemplate>true</asTemplate><pool type="ResourcePool">{pool}</pool></RegisterVM_Task>"#)).await;
    ok(&sim, r#"<CreateCollectorForTasks xmlns="urn:vim25"><_this type="TaskManager">TaskManager</_this><filter><state>success</state><userName><systemUser>false</systemUser><userList>user</userList></userName></filter></CreateCollectorForTasks>"#).await;
    ok(&sim, &format!(r#"<CreateVirtualDisk_Task xmlns="urn:vim25"><_this type="VirtualDiskManager">VirtualDiskManager</_this><name>[LocalDS_0] d.vmdk</name><datacenter type="Datacenter">{dc}</datacenter><spec xsi:type="FileBackedVirtualDiskSpec"><diskType>thin</diskType><adapterType>lsiLogic</adapterType><capacityKb>1024</capacityKb></spec></CreateVirtualDisk_Task>"#)).await;
    let nf = named(&sim, "Folder", "network");
    ok(&sim, &format!(r#"<CreateDVS_Task xmlns="urn:vim25"><_this type="Folder">{nf}</_this><spec><configSpec xsi:type="VMwareDVSConfigSpec"><name>DVSx</name></configSpec></spec></CreateDVS_Task>"#)).await;
    let dvs = find(&sim, "VmwareDistributedVirtualSwitch");
    ok(&sim, &format!(r#"<ReconfigureDvs_Task xmlns="urn:vim25"><_this type="VmwareDistributedVirtualSwitch">{dvs}</_this><spec xsi:type="VMwareDVSConfigSpec"><description>d</description></spec></ReconfigureDvs_Task>"#)).await;
    ok(&sim, r#"<AddAuthorizationRole xmlns="urn:vim25"><_this type="AuthorizationManager">AuthorizationManager</_this><name>r</name></AddAuthorizationRole>"#).await;
    ok(&sim, &format!(r#"<SetEntityPermissions xmlns="urn:vim25"><_this type="AuthorizationManager">AuthorizationManager</_this><entity type="Datacenter">{dc}</entity><permission><principal>bob</principal><group>false</group><roleId>1000</roleId><propagate>true</propagate></permission></SetEntityPermissions>"#)).await;
    ok(&sim, &format!(r#"<setCustomValue xmlns="urn:vim25"><_this type="Datacenter">{dc}</_this><key>k</key><value>v</value></setCustomValue>"#)).await;

    let new = sim.vc.with(|e| problems(e));
    assert!(
        new.is_empty(),
        "after the lifecycle: {} problems:\n{}",
        new.len(),
        new.join("\n")
    );
}

/// A path the object's type lacks is a `missingSet` entry with `InvalidProperty`; a valid
/// but unset one is simply absent.
#[tokio::test]
async fn invalid_paths_are_reported_in_the_missing_set() {
    let sim = Sim::logged_in().await;
    let vm = find(&sim, "VirtualMachine");
    let body = ok(
        &sim,
        &format!(
            r#"<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>nope</pathSet><pathSet>runtime.nope</pathSet><pathSet>runtime.question</pathSet><pathSet>config.hardware.device[999999].backing.fileName</pathSet><pathSet>nope</pathSet></propSet><objectSet><obj type="VirtualMachine">{vm}</obj></objectSet></specSet><options></options></RetrievePropertiesEx>"#
        ),
    )
    .await;
    let obj = body.find("<obj ").expect(&body);
    let prop_set = body.find("<propSet").expect(&body);
    let missing = body.find("<missingSet").expect(&body);
    assert!(obj < prop_set && prop_set < missing, "{body}");
    let entries: Vec<&str> = body
        .split("<missingSet")
        .skip(1)
        .map(|s| &s[..s.find("</missingSet>").expect(&body)])
        .collect();
    assert_eq!(entries.len(), 2, "{body}");
    for (entry, path) in entries.iter().zip(["nope", "runtime.nope"]) {
        assert_eq!(first(entry, "path"), Some(path), "{body}");
        assert!(entry.contains(r#"xsi:type="InvalidProperty""#), "{entry}");
        assert!(entry.contains(&format!("<name>{path}</name>")), "{entry}");
        assert!(entry.contains("<localizedMessage>"), "{entry}");
    }
    assert!(!body.contains("runtime.question"), "{body}");
    assert!(!body.contains("fileName"), "{body}");
}
