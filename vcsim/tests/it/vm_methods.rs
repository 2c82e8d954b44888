//! Issue 15's missing SOAP methods over the wire: snapshots, CloneVM_Task, RelocateVM_Task,
//! MigrateVM_Task, UpdateAuthorizationRole, the LicenseManager, CopyVirtualDisk_Task,
//! CreateStoragePod and the login faults.

use crate::support::{Sim, fault, named, ok, prop, prop_ref, returnval, task, vim};
use vcsim::vmodl::MoRef;

const VM: &str = "DC0_C0_RP0_VM0";

fn this(ty: &str, v: &str) -> String {
    format!(r#"<_this type="{ty}">{v}</_this>"#)
}

/// RetrievePropertiesEx of one property of one object: the response body.
async fn retrieve(sim: &Sim, ty: &str, v: &str, path: &str) -> String {
    ok(
        sim,
        &vim(
            "RetrievePropertiesEx",
            &format!(
                r#"{}<specSet><propSet><type>{ty}</type><pathSet>{path}</pathSet></propSet><objectSet><obj type="{ty}">{v}</obj></objectSet></specSet><options/>"#,
                this("PropertyCollector", "propertyCollector")
            ),
        ),
    )
    .await
}

fn snapshot_call(vm: &str, name: &str, memory: bool) -> String {
    vim(
        "CreateSnapshot_Task",
        &format!(
            "{}<name>{name}</name><description>about {name}</description><memory>{memory}</memory><quiesce>false</quiesce>",
            this("VirtualMachine", vm)
        ),
    )
}

fn num_cpu(sim: &Sim, vm: &str) -> i64 {
    prop(sim, "VirtualMachine", vm, &["config", "hardware", "numCPU"])
        .and_then(|v| v.as_i64())
        .unwrap()
}

async fn power_off(sim: &Sim, vm: &str) {
    let state = prop(sim, "VirtualMachine", vm, &["runtime", "powerState"])
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap();
    if state != "poweredOff" {
        let (s, _) = task(sim, &vim("PowerOffVM_Task", &this("VirtualMachine", vm))).await;
        assert_eq!(s, "success");
    }
}

#[tokio::test]
async fn snapshot_tree_revert_remove() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", VM);
    power_off(&sim, &vm).await;
    let (state, s1) = task(&sim, &snapshot_call(&vm, "one", false)).await;
    assert_eq!(state, "success");
    let s1 = s1.unwrap();
    let (_, s2) = task(&sim, &snapshot_call(&vm, "two", false)).await;
    let s2 = s2.unwrap();

    // The tree as clients read it: one root with a child, the child current.
    let body = retrieve(&sim, "VirtualMachine", &vm, "snapshot").await;
    assert!(
        body.contains(r#"xsi:type="VirtualMachineSnapshotInfo""#),
        "{body}"
    );
    assert!(body.contains(&format!(
        r#"<currentSnapshot type="VirtualMachineSnapshot">{s2}</currentSnapshot>"#
    )));
    assert!(body.contains("<childSnapshotList xsi:type="), "{body}");
    assert!(
        body.contains("<name>one</name>") && body.contains("<description>about one</description>")
    );
    let roots = retrieve(&sim, "VirtualMachine", &vm, "rootSnapshot").await;
    assert!(roots.contains(&s1), "{roots}");
    let snap_vm = retrieve(&sim, "VirtualMachineSnapshot", &s1, "vm").await;
    assert!(snap_vm.contains(&vm), "{snap_vm}");
    let snap_cfg = retrieve(
        &sim,
        "VirtualMachineSnapshot",
        &s1,
        "config.hardware.numCPU",
    )
    .await;
    assert!(
        snap_cfg.contains("<val xsi:type=\"xsd:int\">"),
        "{snap_cfg}"
    );

    ok(
        &sim,
        &vim(
            "RenameSnapshot",
            &format!("{}<name>uno</name>", this("VirtualMachineSnapshot", &s1)),
        ),
    )
    .await;
    assert!(
        retrieve(&sim, "VirtualMachine", &vm, "snapshot")
            .await
            .contains("<name>uno</name>")
    );

    // Change the VM, revert to the first snapshot: its hardware comes back.
    let before = num_cpu(&sim, &vm);
    let (s, _) = task(
        &sim,
        &vim(
            "ReconfigVM_Task",
            &format!(
                "{}<spec><numCPUs>{}</numCPUs></spec>",
                this("VirtualMachine", &vm),
                before + 1
            ),
        ),
    )
    .await;
    assert_eq!(s, "success");
    assert_eq!(num_cpu(&sim, &vm), before + 1);
    let (s, _) = task(
        &sim,
        &vim(
            "RevertToSnapshot_Task",
            &this("VirtualMachineSnapshot", &s1),
        ),
    )
    .await;
    assert_eq!(s, "success");
    assert_eq!(num_cpu(&sim, &vm), before);
    assert_eq!(
        prop_ref(
            &sim,
            "VirtualMachine",
            &vm,
            &["snapshot", "currentSnapshot"]
        ),
        s1
    );
    let (s, _) = task(
        &sim,
        &vim("RevertToCurrentSnapshot_Task", &this("VirtualMachine", &vm)),
    )
    .await;
    assert_eq!(s, "success");

    // Remove the child, then everything.
    let (s, _) = task(
        &sim,
        &vim(
            "RemoveSnapshot_Task",
            &format!(
                "{}<removeChildren>false</removeChildren>",
                this("VirtualMachineSnapshot", &s2)
            ),
        ),
    )
    .await;
    assert_eq!(s, "success");
    fault(
        &sim,
        &vim(
            "RenameSnapshot",
            &format!("{}<name>x</name>", this("VirtualMachineSnapshot", &s2)),
        ),
        "ManagedObjectNotFound",
    )
    .await;
    let (s, _) = task(
        &sim,
        &vim("RemoveAllSnapshots_Task", &this("VirtualMachine", &vm)),
    )
    .await;
    assert_eq!(s, "success");
    assert!(prop(&sim, "VirtualMachine", &vm, &["snapshot"]).is_none());
    fault(
        &sim,
        &vim("RevertToCurrentSnapshot_Task", &this("VirtualMachine", &vm)),
        "NotFound",
    )
    .await;
}

#[tokio::test]
async fn destroying_a_vm_removes_its_snapshots() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", VM);
    power_off(&sim, &vm).await;
    let (_, snap) = task(&sim, &snapshot_call(&vm, "s", false)).await;
    let snap = snap.unwrap();
    let (s, _) = task(&sim, &vim("Destroy_Task", &this("VirtualMachine", &vm))).await;
    assert_eq!(s, "success");
    assert!(!sim.vc.with(|e| {
        e.inv
            .contains(&MoRef::new("VirtualMachineSnapshot", snap.clone()))
    }));
}

#[tokio::test]
async fn clone_linked_template_and_faults() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", VM);
    let folder = prop_ref(&sim, "VirtualMachine", &vm, &["parent"]);
    let (_, snap) = task(&sim, &snapshot_call(&vm, "base", true)).await;
    let snap = snap.unwrap();
    let clone = |name: &str, spec: &str| {
        vim(
            "CloneVM_Task",
            &format!(
                r#"{}<folder type="Folder">{folder}</folder><name>{name}</name><spec>{spec}</spec>"#,
                this("VirtualMachine", &vm)
            ),
        )
    };
    let linked = format!(
        r#"<location><diskMoveType>createNewChildDiskBacking</diskMoveType></location><template>false</template><powerOn>true</powerOn><snapshot type="VirtualMachineSnapshot">{snap}</snapshot>"#
    );
    let (s, new_vm) = task(&sim, &clone("linked", &linked)).await;
    assert_eq!(s, "success", "{new_vm:?}");
    let new_vm = new_vm.unwrap();
    assert_eq!(
        prop(&sim, "VirtualMachine", &new_vm, &["runtime", "powerState"])
            .and_then(|v| v.as_str().map(str::to_owned))
            .as_deref(),
        Some("poweredOn")
    );
    let devices = retrieve(&sim, "VirtualMachine", &new_vm, "config.hardware.device").await;
    assert!(
        devices.contains("<parent xsi:type="),
        "linked clone disks have a parent: {devices}"
    );
    let uuid = |v: &str| {
        prop(&sim, "VirtualMachine", v, &["config", "uuid"])
            .and_then(|u| u.as_str().map(str::to_owned))
            .unwrap()
    };
    assert_ne!(uuid(&vm), uuid(&new_vm));

    let (s, err) = task(
        &sim,
        &clone(
            "linked",
            "<location/><template>false</template><powerOn>false</powerOn>",
        ),
    )
    .await;
    assert_eq!(
        (s.as_str(), err.as_deref()),
        ("error", Some("DuplicateName"))
    );
    let (s, err) = task(
        &sim,
        &clone(
            "nosnap",
            "<location><diskMoveType>createNewChildDiskBacking</diskMoveType></location><template>false</template><powerOn>false</powerOn>",
        ),
    )
    .await;
    assert_eq!(
        (s.as_str(), err.as_deref()),
        ("error", Some("InvalidArgument"))
    );

    // govc vm.clone -net: the NIC edited through location.deviceChange.
    let net = r#"<location><deviceChange><operation>edit</operation><device xsi:type="VirtualVmxnet3"><key>4000</key><backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName></backing><addressType>generated</addressType><macAddress>00:50:56:aa:bb:cc</macAddress></device></deviceChange></location><template>false</template><powerOn>false</powerOn>"#;
    let (s, netclone) = task(&sim, &clone("netclone", net)).await;
    assert_eq!(s, "success", "{netclone:?}");
    let devices = retrieve(
        &sim,
        "VirtualMachine",
        &netclone.unwrap(),
        "config.hardware.device",
    )
    .await;
    assert!(devices.contains("00:50:56:aa:bb:cc"), "{devices}");

    // Clone to a template, then deploy from it.
    let (s, tmpl) = task(
        &sim,
        &clone(
            "tmpl",
            "<location/><template>true</template><powerOn>false</powerOn>",
        ),
    )
    .await;
    assert_eq!(s, "success");
    let tmpl = tmpl.unwrap();
    assert_eq!(
        prop(&sim, "VirtualMachine", &tmpl, &["config", "template"]).and_then(|v| v.as_bool()),
        Some(true)
    );
    let pool = prop_ref(&sim, "VirtualMachine", &vm, &["resourcePool"]);
    let (s, deployed) = task(
        &sim,
        &vim(
            "CloneVM_Task",
            &format!(
                r#"{}<folder type="Folder">{folder}</folder><name>deployed</name><spec><location><pool type="ResourcePool">{pool}</pool></location><template>false</template><powerOn>false</powerOn><customization><globalIPSettings/></customization></spec>"#,
                this("VirtualMachine", &tmpl)
            ),
        ),
    )
    .await;
    assert_eq!(s, "success", "{deployed:?}");
    let types: Vec<&str> = sim.vc.with(|e| {
        e.events
            .iter()
            .rev()
            .take(12)
            .map(|ev| ev.ty)
            .collect::<Vec<_>>()
    });
    assert!(types.contains(&"VmDeployedEvent"), "{types:?}");
}

#[tokio::test]
async fn relocate_and_migrate() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", VM);
    let host = prop_ref(&sim, "VirtualMachine", &vm, &["runtime", "host"]);
    let cluster = prop_ref(&sim, "HostSystem", &host, &["parent"]);
    let other = sim.vc.with(|e| {
        e.inv
            .refs(
                &MoRef::new("ClusterComputeResource", cluster.clone()),
                "host",
            )
            .into_iter()
            .find(|h| h.value != host)
            .unwrap()
            .value
    });
    let (s, _) = task(
        &sim,
        &vim(
            "RelocateVM_Task",
            &format!(
                r#"{}<spec><host type="HostSystem">{other}</host></spec>"#,
                this("VirtualMachine", &vm)
            ),
        ),
    )
    .await;
    assert_eq!(s, "success");
    assert_eq!(
        prop_ref(&sim, "VirtualMachine", &vm, &["runtime", "host"]),
        other
    );
    let in_model = sim.vc.with(|e| {
        let id = e.ids.vms[&vm];
        e.world.vm_placement(id).unwrap().1 == e.ids.hosts[&other]
    });
    assert!(in_model, "the contention model sees the VM on its new host");
    let (s, _) = task(
        &sim,
        &vim(
            "MigrateVM_Task",
            &format!(
                r#"{}<host type="HostSystem">{host}</host><priority>defaultPriority</priority>"#,
                this("VirtualMachine", &vm)
            ),
        ),
    )
    .await;
    assert_eq!(s, "success");
    assert_eq!(
        prop_ref(&sim, "VirtualMachine", &vm, &["runtime", "host"]),
        host
    );
    let state = prop(&sim, "VirtualMachine", &vm, &["runtime", "powerState"])
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap();
    let other_state = if state == "poweredOn" {
        "poweredOff"
    } else {
        "poweredOn"
    };
    let (s, err) = task(
        &sim,
        &vim(
            "MigrateVM_Task",
            &format!(
                r#"{}<host type="HostSystem">{other}</host><priority>defaultPriority</priority><state>{other_state}</state>"#,
                this("VirtualMachine", &vm)
            ),
        ),
    )
    .await;
    assert_eq!(
        (s.as_str(), err.as_deref()),
        ("error", Some("InvalidPowerState"))
    );
    let ds = sim.vc.with(|e| {
        e.inv
            .refs(&MoRef::new("VirtualMachine", vm.clone()), "datastore")[0]
            .value
            .clone()
    });
    let (s, err) = task(
        &sim,
        &vim(
            "RelocateVM_Task",
            &format!(
                r#"{}<spec><pool type="ResourcePool">{ds}</pool></spec>"#,
                this("VirtualMachine", &vm)
            ),
        ),
    )
    .await;
    assert_eq!(s, "error");
    assert!(matches!(
        err.as_deref(),
        Some("InvalidArgument" | "ManagedObjectNotFound")
    ));
}

#[tokio::test]
async fn roles_licenses_disks_pods_and_logins() {
    let sim = Sim::logged_in().await;
    let am = this("AuthorizationManager", "AuthorizationManager");
    let id = returnval(
        &sim,
        &vim(
            "AddAuthorizationRole",
            &format!("{am}<name>ops</name><privIds>VirtualMachine.Interact.PowerOn</privIds>"),
        ),
    )
    .await;
    ok(
        &sim,
        &vim(
            "UpdateAuthorizationRole",
            &format!(
                "{am}<roleId>{id}</roleId><newName>ops2</newName><privIds>Folder.Create</privIds>"
            ),
        ),
    )
    .await;
    let roles = retrieve(
        &sim,
        "AuthorizationManager",
        "AuthorizationManager",
        "roleList",
    )
    .await;
    assert!(roles.contains("<name>ops2</name>") && roles.contains("Folder.Create"));

    let lm = this("LicenseManager", "LicenseManager");
    let licenses = retrieve(&sim, "LicenseManager", "LicenseManager", "licenses").await;
    assert!(
        licenses.contains("00000-00000-00000-00000-00000"),
        "{licenses}"
    );
    ok(
        &sim,
        &vim(
            "UpdateLicenseLabel",
            &format!("{lm}<licenseKey>00000-00000-00000-00000-00000</licenseKey><labelKey>team</labelKey><labelValue>ci</labelValue>"),
        ),
    )
    .await;
    let licenses = retrieve(&sim, "LicenseManager", "LicenseManager", "licenses").await;
    assert!(licenses.contains("<key>team</key>"), "{licenses}");
    let assigned = ok(
        &sim,
        &vim(
            "QueryAssignedLicenses",
            &this("LicenseAssignmentManager", "LicenseAssignmentManager"),
        ),
    )
    .await;
    assert!(
        assigned.contains("<assignedLicense xsi:type="),
        "{assigned}"
    );

    // CopyVirtualDisk_Task of a disk made by CreateVirtualDisk_Task.
    let dc = crate::support::find(&sim, "Datacenter");
    let vdm = this("VirtualDiskManager", "VirtualDiskManager");
    let (s, _) = task(
        &sim,
        &vim(
            "CreateVirtualDisk_Task",
            &format!(r#"{vdm}<name>[LocalDS_0] a.vmdk</name><datacenter type="Datacenter">{dc}</datacenter><spec xsi:type="FileBackedVirtualDiskSpec"><diskType>thin</diskType><adapterType>lsiLogic</adapterType><capacityKb>1024</capacityKb></spec>"#),
        ),
    )
    .await;
    assert_eq!(s, "success");
    let copy = format!(
        r#"{vdm}<sourceName>[LocalDS_0] a.vmdk</sourceName><sourceDatacenter type="Datacenter">{dc}</sourceDatacenter><destName>[LocalDS_0] b.vmdk</destName>"#
    );
    let (s, err) = task(&sim, &vim("CopyVirtualDisk_Task", &copy)).await;
    assert_eq!(s, "success", "{err:?}");
    let (s, err) = task(&sim, &vim("CopyVirtualDisk_Task", &copy)).await;
    assert_eq!(
        (s.as_str(), err.as_deref()),
        ("error", Some("FileAlreadyExists"))
    );
    let mut uuids = Vec::new();
    for name in ["[LocalDS_0] a.vmdk", "[LocalDS_0] b.vmdk"] {
        uuids.push(
            returnval(
                &sim,
                &vim(
                    "QueryVirtualDiskUuid",
                    &format!(
                        r#"{vdm}<name>{name}</name><datacenter type="Datacenter">{dc}</datacenter>"#
                    ),
                ),
            )
            .await,
        );
    }
    assert_ne!(uuids[0], uuids[1]);

    // A datastore cluster with a datastore in it.
    let ds_folder = prop_ref(&sim, "Datacenter", &dc, &["datastoreFolder"]);
    let pod = returnval(
        &sim,
        &vim(
            "CreateStoragePod",
            &format!("{}<name>pod0</name>", this("Folder", &ds_folder)),
        ),
    )
    .await;
    let ds = named(&sim, "Datastore", "LocalDS_0");
    let (s, err) = task(
        &sim,
        &vim(
            "MoveIntoFolder_Task",
            &format!(
                r#"{}<list type="Datastore">{ds}</list>"#,
                this("StoragePod", &pod)
            ),
        ),
    )
    .await;
    assert_eq!(s, "success", "{err:?}");
    let cap = prop(&sim, "StoragePod", &pod, &["summary", "capacity"]).and_then(|v| v.as_i64());
    assert!(cap.is_some_and(|c| c > 0), "{cap:?}");

    // Logins: vCenter's fault text; no STS, so tokens are refused.
    let anon = Sim::new();
    let r = anon
        .call(&vim(
            "Login",
            &format!(
                "{}<userName>user</userName><password>wrong</password>",
                this("SessionManager", "SessionManager")
            ),
        ))
        .await;
    assert!(
        r.body
            .contains("Cannot complete login due to an incorrect user name or password."),
        "{}",
        r.body
    );
    fault(
        &anon,
        &vim("LoginByToken", &this("SessionManager", "SessionManager")),
        "InvalidLogin",
    )
    .await;
}
