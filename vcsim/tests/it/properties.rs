//! The properties govc dereferences: device labels of created VMs, latency sensitivity,
//! datastore file times, the host's storage/datastore/firewall managers and vmk0, port keys,
//! the switch's product and the session list.

use crate::support::{Sim, find, first, named, ok, prop, prop_ref, task, vim};
use vcsim::vmodl::Value;

/// RetrieveProperties of `paths` on `ty:v`; the response body.
async fn retrieve(sim: &Sim, ty: &str, v: &str, paths: &[&str]) -> String {
    let path_set: String = paths
        .iter()
        .map(|p| format!("<pathSet>{p}</pathSet>"))
        .collect();
    ok(
        sim,
        &vim(
            "RetrieveProperties",
            &format!(
                r#"<_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>{ty}</type>{path_set}</propSet><objectSet><obj type="{ty}">{v}</obj></objectSet></specSet>"#
            ),
        ),
    )
    .await
}

#[tokio::test]
async fn created_vm_devices_have_labels_and_latency_sensitivity() {
    let sim = Sim::logged_in().await;
    let dc = find(&sim, "Datacenter");
    let vm_folder = prop_ref(&sim, "Datacenter", &dc, &["vmFolder"]);
    let pool = find(&sim, "ResourcePool");
    let devices = r#"<deviceChange><operation>add</operation><device xsi:type="VirtualLsiLogicController"><key>-100</key><busNumber>0</busNumber><sharedBus>noSharing</sharedBus></device></deviceChange><deviceChange><operation>add</operation><fileOperation>create</fileOperation><device xsi:type="VirtualDisk"><key>-101</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName></fileName><diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned></backing><controllerKey>-100</controllerKey><unitNumber>0</unitNumber><capacityInKB>1048576</capacityInKB></device></deviceChange><deviceChange><operation>add</operation><device xsi:type="VirtualE1000"><key>-102</key><backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName></backing><addressType>generated</addressType></device></deviceChange>"#;
    let (state, vm) = task(
        &sim,
        &vim(
            "CreateVM_Task",
            &format!(
                r#"<_this type="Folder">{vm_folder}</_this><config><name>labelled</name><numCPUs>1</numCPUs><memoryMB>256</memoryMB><files><vmPathName>[LocalDS_0]</vmPathName></files>{devices}</config><pool type="ResourcePool">{pool}</pool>"#
            ),
        ),
    )
    .await;
    assert_eq!(state, "success", "{vm:?}");
    let vm = vm.unwrap();
    let devs = prop(
        &sim,
        "VirtualMachine",
        &vm,
        &["config", "hardware", "device"],
    )
    .unwrap();
    let labels: Vec<String> = devs
        .items()
        .iter()
        .map(|d| {
            d.field("deviceInfo")
                .and_then(|i| i.field("label"))
                .and_then(Value::as_str)
                .expect("every device has a label")
                .to_owned()
        })
        .collect();
    assert_eq!(
        labels,
        ["SCSI controller 0", "Hard disk 1", "Network adapter 1"]
    );
    let disk_summary = devs.items()[1]
        .field("deviceInfo")
        .and_then(|i| i.field("summary"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    assert_eq!(disk_summary.as_deref(), Some("1,048,576 KB"));
    let body = retrieve(&sim, "VirtualMachine", &vm, &["config.latencySensitivity"]).await;
    assert!(body.contains("<level>normal</level>"), "{body}");
}

#[tokio::test]
async fn datastore_entries_carry_modification_times() {
    let sim = Sim::logged_in().await;
    let dc = find(&sim, "Datacenter");
    let ds = named(&sim, "Datastore", "LocalDS_0");
    ok(
        &sim,
        &vim(
            "MakeDirectory",
            &format!(
                r#"<_this type="FileManager">FileManager</_this><name>[LocalDS_0] made</name><datacenter type="Datacenter">{dc}</datacenter>"#
            ),
        ),
    )
    .await;
    let browser = prop_ref(&sim, "Datastore", &ds, &["browser"]);
    let t = crate::support::returnval(
        &sim,
        &vim(
            "SearchDatastore_Task",
            &format!(
                r#"<_this type="HostDatastoreBrowser">{browser}</_this><datastorePath>[LocalDS_0]</datastorePath><searchSpec><details><fileType>true</fileType><fileSize>true</fileSize><modification>true</modification><fileOwner>true</fileOwner></details></searchSpec>"#
            ),
        ),
    )
    .await;
    let info = sim.vc.with(|e| {
        e.inv
            .prop(&vcsim::vmodl::MoRef::new("Task", t), "info")
            .unwrap()
            .clone()
    });
    let files = info.field("result").unwrap().field("file").unwrap().clone();
    assert!(!files.items().is_empty());
    for f in files.items() {
        assert!(
            matches!(f.field("modification"), Some(Value::DateTime(_))),
            "{f:?}"
        );
    }
}

#[tokio::test]
async fn host_managers_and_vnic() {
    let sim = Sim::logged_in().await;
    let host = find(&sim, "HostSystem");
    let body = retrieve(
        &sim,
        "HostSystem",
        &host,
        &[
            "configManager.datastoreSystem",
            "configManager.storageSystem",
            "configManager.firewallSystem",
            "config.network.vnic",
        ],
    )
    .await;
    assert!(body.contains("<device>vmk0</device>"), "{body}");
    assert!(body.contains("<ipAddress>127.0.0.1</ipAddress>"), "{body}");
    let ds_sys = prop_ref(
        &sim,
        "HostSystem",
        &host,
        &["configManager", "datastoreSystem"],
    );
    let body = retrieve(&sim, "HostDatastoreSystem", &ds_sys, &["datastore"]).await;
    let ds = named(&sim, "Datastore", "LocalDS_0");
    assert!(
        body.contains(&format!(r#"type="Datastore">{ds}<"#)),
        "{body}"
    );
    let st = prop_ref(
        &sim,
        "HostSystem",
        &host,
        &["configManager", "storageSystem"],
    );
    let body = retrieve(&sim, "HostStorageSystem", &st, &["storageDeviceInfo"]).await;
    assert!(
        body.contains("vmhba0") && body.contains("HostScsiDisk"),
        "{body}"
    );
    let fw = prop_ref(
        &sim,
        "HostSystem",
        &host,
        &["configManager", "firewallSystem"],
    );
    let body = retrieve(&sim, "HostFirewallSystem", &fw, &["firewallInfo"]).await;
    assert!(body.contains("<key>sshServer</key>"), "{body}");
    // Only the host's own properties are computed: an unknown path is still refused.
    let body = retrieve(&sim, "HostSystem", &host, &["config.nope"]).await;
    assert!(
        body.contains("missingSet") || body.contains("InvalidProperty"),
        "{body}"
    );
}

#[tokio::test]
async fn port_keys_match_fetched_ports_and_switch_has_product() {
    let sim = Sim::logged_in().await;
    let dvs = find(&sim, "VmwareDistributedVirtualSwitch");
    let body = retrieve(
        &sim,
        "VmwareDistributedVirtualSwitch",
        &dvs,
        &["summary.productInfo", "portgroup"],
    )
    .await;
    assert!(
        body.contains("<forwardingClass>etherswitch</forwardingClass>"),
        "{body}"
    );
    let pgs: Vec<String> = sim.vc.with(|e| {
        e.inv
            .refs(
                &vcsim::vmodl::MoRef::new("VmwareDistributedVirtualSwitch", dvs.clone()),
                "portgroup",
            )
            .into_iter()
            .map(|m| m.value)
            .collect()
    });
    let mut all_keys = Vec::new();
    for pg in &pgs {
        let body = retrieve(&sim, "DistributedVirtualPortgroup", pg, &["portKeys"]).await;
        let n: usize = body.matches("<string>").count();
        let fetched = ok(
            &sim,
            &vim(
                "FetchDVPorts",
                &format!(
                    r#"<_this type="VmwareDistributedVirtualSwitch">{dvs}</_this><criteria><portgroupKey>{pg}</portgroupKey><inside>true</inside></criteria>"#
                ),
            ),
        )
        .await;
        assert_eq!(fetched.matches("<portgroupKey>").count(), n, "{pg}");
        let first_key = first(&fetched, "key").map(str::to_owned);
        if n > 0 {
            assert!(
                body.contains(&format!("<string>{}</string>", first_key.unwrap())),
                "{body}"
            );
        }
        all_keys.push(n);
    }
    assert!(all_keys.iter().any(|n| *n > 0), "{all_keys:?}");
}

#[tokio::test]
async fn session_list_shows_live_sessions() {
    let sim = Sim::logged_in().await;
    let body = retrieve(&sim, "SessionManager", "SessionManager", &["sessionList"]).await;
    for want in [
        "<userName>user</userName>",
        "<loginTime>",
        "<lastActiveTime>",
        "<key>",
        "<ipAddress>",
        "<userAgent>",
    ] {
        assert!(body.contains(want), "{want}: {body}");
    }
}

#[tokio::test]
async fn port_group_name_taken_in_the_network_folder() {
    // vCenter keeps port-group names unique in the network folder that holds the switch
    // (DuplicateName), whichever switch has the other one; a switch in another folder of
    // the datacenter may reuse the name (a port group lives in its switch's folder). vcsim
    // checks the same folder.
    let sim = Sim::logged_in().await;
    let dc = find(&sim, "Datacenter");
    let net_folder = prop_ref(&sim, "Datacenter", &dc, &["networkFolder"]);
    let (state, dvs2) = task(
        &sim,
        &vim(
            "CreateDVS_Task",
            &format!(
                r#"<_this type="Folder">{net_folder}</_this><spec><configSpec xsi:type="VMwareDVSConfigSpec"><name>DVS-two</name></configSpec></spec>"#
            ),
        ),
    )
    .await;
    assert_eq!(state, "success", "{dvs2:?}");
    let dvs2 = dvs2.unwrap();
    let existing = sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "DistributedVirtualPortgroup")
            .unwrap()
            .name()
            .to_owned()
    });
    let (state, err) = task(
        &sim,
        &vim(
            "AddDVPortgroup_Task",
            &format!(
                r#"<_this type="VmwareDistributedVirtualSwitch">{dvs2}</_this><spec><name>{existing}</name><numPorts>8</numPorts><type>earlyBinding</type></spec>"#
            ),
        ),
    )
    .await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("DuplicateName"))
    );
    let sub = crate::support::returnval(
        &sim,
        &vim(
            "CreateFolder",
            &format!(r#"<_this type="Folder">{net_folder}</_this><name>other-switches</name>"#),
        ),
    )
    .await;
    let (state, dvs3) = task(
        &sim,
        &vim(
            "CreateDVS_Task",
            &format!(
                r#"<_this type="Folder">{sub}</_this><spec><configSpec xsi:type="VMwareDVSConfigSpec"><name>DVS-three</name></configSpec><productInfo><name>DVS</name><vendor>VMware, Inc.</vendor><version>7.0.3</version></productInfo></spec>"#
            ),
        ),
    )
    .await;
    assert_eq!(state, "success", "{dvs3:?}");
    let dvs3 = dvs3.unwrap();
    // The product the create spec names.
    assert_eq!(
        prop(
            &sim,
            "VmwareDistributedVirtualSwitch",
            &dvs3,
            &["summary", "productInfo", "version"]
        ),
        Some(Value::str("7.0.3"))
    );
    let (state, err) = task(
        &sim,
        &vim(
            "AddDVPortgroup_Task",
            &format!(
                r#"<_this type="VmwareDistributedVirtualSwitch">{}</_this><spec><name>{existing}</name><numPorts>8</numPorts><type>earlyBinding</type></spec>"#,
                dvs3
            ),
        ),
    )
    .await;
    assert_eq!(state, "success", "{err:?}");
}
