//! Inventory management, templates, registration, environment browser, task collectors,
//! datastore files and disks, networking, authorization, custom fields and session extras.

use crate::support::{Sim, fault, find, first, named, ok, prop, prop_ref, returnval, task, vim};
use axum::http::StatusCode;
use vcsim::vmodl::{MoRef, Value};

/// Runs a task call and asserts it succeeds.
async fn succeeds(sim: &Sim, body: &str) {
    assert_eq!(task(sim, body).await.0, "success", "{body}");
}

/// Runs a task call and asserts it ends in error with a fault of type `ty`.
async fn task_fails(sim: &Sim, body: &str, ty: &str) {
    let (state, err) = task(sim, body).await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some(ty)),
        "{body}"
    );
}

#[tokio::test]
async fn templates_and_registration_round_trip() {
    let sim = Sim::logged_in().await;
    let vm = named(&sim, "VirtualMachine", "DC0_H0_VM0");
    let vm_prop = |path: &[&str]| prop(&sim, "VirtualMachine", &vm, path);
    let this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);
    // Powered on: InvalidPowerState.
    fault(&sim, &vim("MarkAsTemplate", &this), "InvalidPowerState").await;
    succeeds(&sim, &vim("PowerOffVM_Task", &this)).await;
    ok(&sim, &vim("MarkAsTemplate", &this)).await;
    for path in [
        &["config", "template"][..],
        &["summary", "config", "template"],
    ] {
        assert_eq!(vm_prop(path), Some(Value::Bool(true)), "{path:?}");
    }
    assert!(vm_prop(&["resourcePool"]).is_none());
    fault(&sim, &vim("MarkAsTemplate", &this), "NotSupported").await;
    task_fails(&sim, &vim("PowerOnVM_Task", &this), "NotSupported").await;
    let host = vm_prop(&["runtime", "host"])
        .unwrap()
        .as_moref()
        .unwrap()
        .clone();
    let cr = sim
        .vc
        .with(|e| e.inv.get(&host).unwrap().parent().unwrap().clone());
    let pool = prop_ref(&sim, &cr.ty, &cr.value, &["resourcePool"]);
    let to_vm = vim(
        "MarkAsVirtualMachine",
        &format!(r#"{this}<pool type="ResourcePool">{pool}</pool>"#),
    );
    ok(&sim, &to_vm).await;
    assert_eq!(vm_prop(&["config", "template"]), Some(Value::Bool(false)));
    fault(&sim, &to_vm, "NotSupported").await;
    for method in ["PowerOnVM_Task", "PowerOffVM_Task"] {
        succeeds(&sim, &vim(method, &this)).await;
    }

    // Unregister, then register again from the .vmx path.
    let path = vm_prop(&["config", "files", "vmPathName"])
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    ok(&sim, &vim("UnregisterVM", &this)).await;
    let folder = named(&sim, "Folder", "vm");
    let reg = |p: &str, extra: &str| {
        format!(
            r#"<RegisterVM_Task xmlns="urn:vim25"><_this type="Folder">{folder}</_this><path>{p}</path><asTemplate>false</asTemplate><pool type="ResourcePool">{pool}</pool>{extra}</RegisterVM_Task>"#
        )
    };
    task_fails(&sim, &reg("[LocalDS_0] nope/nope.vmx", ""), "FileNotFound").await;
    let (state, new_vm) = task(&sim, &reg(&path, "<name>back</name>")).await;
    assert_eq!(state, "success");
    let new_vm = new_vm.unwrap();
    let new_prop = |path: &[&str]| prop(&sim, "VirtualMachine", &new_vm, path);
    assert_eq!(
        new_prop(&["name"])
            .and_then(|v| v.as_str().map(str::to_owned))
            .as_deref(),
        Some("back")
    );
    assert_eq!(
        new_prop(&["config", "hardware", "numCPU"]),
        Some(Value::Int(1))
    );
    assert!(new_prop(&["environmentBrowser"]).is_some());
    task_fails(&sim, &reg(&path, ""), "AlreadyExists").await;
    sim.vc.with(|e| assert!(e.unregistered.is_empty()));
}

#[tokio::test]
async fn environment_browser_answers() {
    let sim = Sim::logged_in().await;
    let cr = find(&sim, "ClusterComputeResource");
    let eb = prop_ref(&sim, "ClusterComputeResource", &cr, &["environmentBrowser"]);
    let this = format!(r#"<_this type="EnvironmentBrowser">{eb}</_this>"#);
    let b = ok(
        &sim,
        &vim("QueryConfigOption", &format!("{this}<key>vmx-13</key>")),
    )
    .await;
    assert!(
        b.contains("<version>vmx-13</version>") && b.contains("<id>otherGuest64</id>"),
        "{b}"
    );
    assert!(b.contains("<memoryMB") && b.contains("<numCPU>"), "{b}");
    let b = ok(&sim, &format!(r#"<QueryConfigOptionEx xmlns="urn:vim25">{this}<spec><guestId>ubuntu64Guest</guestId></spec></QueryConfigOptionEx>"#)).await;
    assert!(
        b.contains("ubuntu64Guest") && !b.contains("otherGuest64"),
        "{b}"
    );
    let b = ok(&sim, &vim("QueryConfigOptionDescriptor", &this)).await;
    assert_eq!(b.matches("<createSupported>").count(), 8, "{b}");
    let b = ok(&sim, &vim("QueryConfigTarget", &this)).await;
    assert!(
        b.contains("LocalDS_0") && b.contains("VM Network") && b.contains("DC0_DVPG0"),
        "{b}"
    );
    assert!(
        b.contains("<numCpus>8</numCpus>") && b.contains("<maxMemMBOptimalPerf>65536<"),
        "{b}"
    );
    fault(
        &sim,
        &vim("QueryConfigOption", &format!("{this}<key>vmx-1</key>")),
        "InvalidArgument",
    )
    .await;
}

#[tokio::test]
async fn datacenters_clusters_hosts_and_maintenance() {
    let sim = Sim::logged_in().await;
    let create_dc = r#"<CreateDatacenter xmlns="urn:vim25"><_this type="Folder">group-d1</_this><name>DC9</name></CreateDatacenter>"#;
    let dc = returnval(&sim, create_dc).await;
    fault(&sim, create_dc, "DuplicateName").await;
    let host_folder = prop_ref(&sim, "Datacenter", &dc, &["hostFolder"]);
    let cluster = returnval(&sim, &format!(r#"<CreateClusterEx xmlns="urn:vim25"><_this type="Folder">{host_folder}</_this><name>C9</name><spec></spec></CreateClusterEx>"#)).await;
    let add = |name: &str| {
        format!(
            r#"<AddHost_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">{cluster}</_this><spec><hostName>{name}</hostName><force>true</force></spec><asConnected>true</asConnected></AddHost_Task>"#
        )
    };
    let (state, h1) = task(&sim, &add("esx-a")).await;
    assert_eq!(state, "success");
    let h1 = h1.unwrap();
    task_fails(&sim, &add("esx-a"), "AlreadyConnected").await;
    succeeds(&sim, &add("esx-b")).await;
    assert_eq!(
        prop(
            &sim,
            "ClusterComputeResource",
            &cluster,
            &["summary", "numHosts"]
        ),
        Some(Value::Int(2))
    );
    let (state, cr) = task(&sim, &format!(r#"<AddStandaloneHost_Task xmlns="urn:vim25"><_this type="Folder">{host_folder}</_this><spec><hostName>esx-c</hostName></spec><addConnected>true</addConnected></AddStandaloneHost_Task>"#)).await;
    assert_eq!(state, "success");
    assert!(cr.unwrap().starts_with("domain-s"));

    // A VM in the new cluster, placed on the first host (the model's root pool holds it).
    let pool = prop_ref(&sim, "ClusterComputeResource", &cluster, &["resourcePool"]);
    let vm_folder = prop_ref(&sim, "Datacenter", &dc, &["vmFolder"]);
    let (state, vm) = task(&sim, &format!(r#"<CreateVM_Task xmlns="urn:vim25"><_this type="Folder">{vm_folder}</_this><config><name>v9</name><numCPUs>1</numCPUs><memoryMB>512</memoryMB></config><pool type="ResourcePool">{pool}</pool></CreateVM_Task>"#)).await;
    assert_eq!(state, "success", "{vm:?}");
    let vm = vm.unwrap();
    assert_eq!(
        prop_ref(&sim, "VirtualMachine", &vm, &["runtime", "host"]),
        h1
    );
    let vm_this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);
    succeeds(&sim, &vim("PowerOnVM_Task", &vm_this)).await;
    let enter = format!(
        r#"<EnterMaintenanceMode_Task xmlns="urn:vim25"><_this type="HostSystem">{h1}</_this><timeout>0</timeout></EnterMaintenanceMode_Task>"#
    );
    let exit = format!(
        r#"<ExitMaintenanceMode_Task xmlns="urn:vim25"><_this type="HostSystem">{h1}</_this><timeout>0</timeout></ExitMaintenanceMode_Task>"#
    );
    assert_eq!(task(&sim, &enter).await.1.as_deref(), Some("InvalidState"));
    succeeds(&sim, &vim("PowerOffVM_Task", &vm_this)).await;
    succeeds(&sim, &enter).await;
    for path in [
        &["runtime", "inMaintenanceMode"][..],
        &["summary", "runtime", "inMaintenanceMode"],
    ] {
        assert_eq!(
            prop(&sim, "HostSystem", &h1, path),
            Some(Value::Bool(true)),
            "{path:?}"
        );
    }
    let power_on = vim("PowerOnVM_Task", &vm_this);
    assert_eq!(
        task(&sim, &power_on).await.1.as_deref(),
        Some("InvalidState")
    );
    assert_eq!(task(&sim, &enter).await.1.as_deref(), Some("InvalidState"));
    succeeds(&sim, &exit).await;
    assert_eq!(task(&sim, &exit).await.1.as_deref(), Some("InvalidState"));

    // MoveIntoFolder: a VM into a subfolder; a folder into itself fails.
    let sub = returnval(&sim, &format!(r#"<CreateFolder xmlns="urn:vim25"><_this type="Folder">{vm_folder}</_this><name>sub</name></CreateFolder>"#)).await;
    succeeds(&sim, &format!(r#"<MoveIntoFolder_Task xmlns="urn:vim25"><_this type="Folder">{sub}</_this><list type="VirtualMachine">{vm}</list></MoveIntoFolder_Task>"#)).await;
    assert_eq!(prop_ref(&sim, "VirtualMachine", &vm, &["parent"]), sub);
    assert_eq!(task(&sim, &format!(r#"<MoveIntoFolder_Task xmlns="urn:vim25"><_this type="Folder">{sub}</_this><list type="Folder">{sub}</list></MoveIntoFolder_Task>"#)).await.1.as_deref(), Some("InvalidFolder"));
    let other_vm = named(&sim, "VirtualMachine", "DC0_H0_VM0");
    assert_eq!(task(&sim, &format!(r#"<MoveIntoFolder_Task xmlns="urn:vim25"><_this type="Folder">{sub}</_this><list type="VirtualMachine">{other_vm}</list></MoveIntoFolder_Task>"#)).await.1.as_deref(), Some("NotSupported"));

    // Destroy: a busy datacenter or cluster refuses; an empty cluster goes.
    assert_eq!(task(&sim, &format!(r#"<Destroy_Task xmlns="urn:vim25"><_this type="Datacenter">{dc}</_this></Destroy_Task>"#)).await.1.as_deref(), Some("ResourceInUse"));
    assert_eq!(task(&sim, &format!(r#"<Destroy_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">{cluster}</_this></Destroy_Task>"#)).await.1.as_deref(), Some("ResourceInUse"));
    let empty = returnval(&sim, &format!(r#"<CreateClusterEx xmlns="urn:vim25"><_this type="Folder">{host_folder}</_this><name>empty</name><spec></spec></CreateClusterEx>"#)).await;
    succeeds(&sim, &format!(r#"<Destroy_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">{empty}</_this></Destroy_Task>"#)).await;
    let gone = returnval(&sim, r#"<CreateDatacenter xmlns="urn:vim25"><_this type="Folder">group-d1</_this><name>gone</name></CreateDatacenter>"#).await;
    succeeds(&sim, &format!(r#"<Destroy_Task xmlns="urn:vim25"><_this type="Datacenter">{gone}</_this></Destroy_Task>"#)).await;
    sim.vc
        .with(|e| assert!(!e.inv.contains(&MoRef::new("Datacenter", gone))));
}

#[tokio::test]
async fn task_collectors_page_through_tasks() {
    let sim = Sim::logged_in().await;
    let vm = find(&sim, "VirtualMachine");
    let vm_this = format!(r#"<_this type="VirtualMachine">{vm}</_this>"#);
    for _ in 0..3 {
        ok(&sim, &vim("PowerOffVM_Task", &vm_this)).await;
        ok(&sim, &vim("PowerOnVM_Task", &vm_this)).await;
    }
    let c = returnval(&sim, &format!(r#"<CreateCollectorForTasks xmlns="urn:vim25"><_this type="TaskManager">TaskManager</_this><filter><entity><entity type="VirtualMachine">{vm}</entity><recursion>self</recursion></entity><state>success</state></filter></CreateCollectorForTasks>"#)).await;
    let this = format!(r#"<_this type="TaskHistoryCollector">{c}</_this>"#);
    let page = prop(&sim, "TaskHistoryCollector", &c, &["latestPage"]).unwrap();
    assert_eq!(page.items().len(), 6);
    let name = |v: &Value| v.field("name").and_then(Value::as_str).unwrap().to_owned();
    assert_eq!(name(&page.items()[0]), "PowerOnVM_Task", "newest first");
    let read_next = vim("ReadNextTasks", &format!("{this}<maxCount>4</maxCount>"));
    let b = ok(&sim, &read_next).await;
    assert_eq!(b.matches("<returnval").count(), 4, "{b}");
    assert!(
        first(&b, "name").unwrap() == "PowerOffVM_Task",
        "oldest first: {b}"
    );
    let b = ok(&sim, &read_next).await;
    assert_eq!(b.matches("<returnval").count(), 2, "{b}");
    let b = ok(
        &sim,
        &vim(
            "ReadPreviousTasks",
            &format!("{this}<maxCount>10</maxCount>"),
        ),
    )
    .await;
    assert_eq!(b.matches("<returnval").count(), 6, "{b}");
    ok(&sim, &vim("RewindCollector", &this)).await;
    ok(
        &sim,
        &vim(
            "SetCollectorPageSize",
            &format!("{this}<maxCount>2</maxCount>"),
        ),
    )
    .await;
    assert_eq!(
        prop(&sim, "TaskHistoryCollector", &c, &["latestPage"])
            .unwrap()
            .items()
            .len(),
        2
    );
    ok(&sim, &vim("PowerOffVM_Task", &vm_this)).await;
    let page = prop(&sim, "TaskHistoryCollector", &c, &["latestPage"]).unwrap();
    assert_eq!(
        name(&page.items()[0]),
        "PowerOffVM_Task",
        "refreshed after a new task"
    );
    for method in ["ResetCollector", "DestroyCollector"] {
        ok(&sim, &vim(method, &this)).await;
    }
    fault(
        &sim,
        &vim("ReadNextTasks", &format!("{this}<maxCount>1</maxCount>")),
        "ManagedObjectNotFound",
    )
    .await;
    fault(&sim, r#"<CreateCollectorForTasks xmlns="urn:vim25"><_this type="TaskManager">TaskManager</_this><filter><state>bogus</state></filter></CreateCollectorForTasks>"#, "InvalidArgument").await;
}

#[tokio::test]
async fn datastore_files_and_virtual_disks() {
    let sim = Sim::logged_in().await;
    let dc = find(&sim, "Datacenter");
    let dcx = format!(r#"<datacenter type="Datacenter">{dc}</datacenter>"#);
    ok(&sim, &format!(r#"<MakeDirectory xmlns="urn:vim25"><_this type="FileManager">FileManager</_this><name>[LocalDS_0] disks</name>{dcx}</MakeDirectory>"#)).await;
    let vdm = r#"<_this type="VirtualDiskManager">VirtualDiskManager</_this>"#;
    let create = format!(
        r#"<CreateVirtualDisk_Task xmlns="urn:vim25">{vdm}<name>[LocalDS_0] disks/a.vmdk</name>{dcx}<spec xsi:type="FileBackedVirtualDiskSpec"><diskType>thin</diskType><adapterType>lsiLogic</adapterType><capacityKb>1024</capacityKb></spec></CreateVirtualDisk_Task>"#
    );
    assert_eq!(
        task(&sim, &create).await,
        ("success".into(), Some("[LocalDS_0] disks/a.vmdk".into()))
    );
    assert_eq!(
        task(&sim, &create).await.1.as_deref(),
        Some("FileAlreadyExists")
    );
    let uuid = returnval(&sim, &format!(r#"<QueryVirtualDiskUuid xmlns="urn:vim25">{vdm}<name>[LocalDS_0] disks/a.vmdk</name>{dcx}</QueryVirtualDiskUuid>"#)).await;
    assert_eq!(uuid.len(), 16 * 3 - 1, "{uuid}");
    let fm = r#"<_this type="FileManager">FileManager</_this>"#;
    let copy = format!(
        r#"<CopyDatastoreFile_Task xmlns="urn:vim25">{fm}<sourceName>[LocalDS_0] disks</sourceName><sourceDatacenter type="Datacenter">{dc}</sourceDatacenter><destinationName>[LocalDS_0] copy</destinationName></CopyDatastoreFile_Task>"#
    );
    succeeds(&sim, &copy).await;
    assert_eq!(
        task(&sim, &copy).await.1.as_deref(),
        Some("FileAlreadyExists")
    );
    let copied = returnval(&sim, &format!(r#"<QueryVirtualDiskUuid xmlns="urn:vim25">{vdm}<name>[LocalDS_0] copy/a.vmdk</name>{dcx}</QueryVirtualDiskUuid>"#)).await;
    assert_eq!(copied, uuid);
    let mv = format!(
        r#"<MoveDatastoreFile_Task xmlns="urn:vim25">{fm}<sourceName>[LocalDS_0] copy/a.vmdk</sourceName><sourceDatacenter type="Datacenter">{dc}</sourceDatacenter><destinationName>[LocalDS_0] moved.vmdk</destinationName></MoveDatastoreFile_Task>"#
    );
    succeeds(&sim, &mv).await;
    assert_eq!(task(&sim, &mv).await.1.as_deref(), Some("FileNotFound"));
    let del = format!(
        r#"<DeleteVirtualDisk_Task xmlns="urn:vim25">{vdm}<name>[LocalDS_0] moved.vmdk</name>{dcx}</DeleteVirtualDisk_Task>"#
    );
    succeeds(&sim, &del).await;
    assert_eq!(task(&sim, &del).await.1.as_deref(), Some("FileNotFound"));
    fault(&sim, &format!(r#"<QueryVirtualDiskUuid xmlns="urn:vim25">{vdm}<name>[LocalDS_0] moved.vmdk</name>{dcx}</QueryVirtualDiskUuid>"#), "FileNotFound").await;

    // A .vmx file on a datastore registers as a VM.
    sim.vc.with(|e| {
        e.files.insert("[LocalDS_0] disks/up.vmx".into(), b"displayName = \"uploaded\"\nnumvcpus = \"2\"\nmemsize = \"256\"\nguestOS = \"otherGuest64\"\n".to_vec());
    });
    let pool = find(&sim, "ResourcePool");
    let folder = named(&sim, "Folder", "vm");
    let (state, vm) = task(&sim, &format!(r#"<RegisterVM_Task xmlns="urn:vim25"><_this type="Folder">{folder}</_this><path>[LocalDS_0] disks/up.vmx</path><asTemplate>true</asTemplate><pool type="ResourcePool">{pool}</pool></RegisterVM_Task>"#)).await;
    assert_eq!(state, "success");
    let vm = vm.unwrap();
    for (path, want) in [
        (&["name"][..], Value::str("uploaded")),
        (&["config", "hardware", "numCPU"], Value::Int(2)),
        (&["config", "template"], Value::Bool(true)),
    ] {
        assert_eq!(
            prop(&sim, "VirtualMachine", &vm, path),
            Some(want),
            "{path:?}"
        );
    }
}

#[tokio::test]
async fn networking_extras() {
    let sim = Sim::logged_in().await;
    let net = find(&sim, "HostNetworkSystem");
    let ns = format!(r#"<_this type="HostNetworkSystem">{net}</_this>"#);
    let b = ok(&sim, &vim("QueryNetworkHint", &ns)).await;
    assert_eq!(b.matches("<device>").count(), 2, "{b}");
    fault(
        &sim,
        &vim("QueryNetworkHint", &format!("{ns}<device>vmnic9</device>")),
        "NotFound",
    )
    .await;
    ok(&sim, &format!(r#"<UpdateNetworkConfig xmlns="urn:vim25">{ns}<config><vswitch><changeOperation>add</changeOperation><name>vSwitch1</name><spec><numPorts>64</numPorts></spec></vswitch><portgroup><changeOperation>add</changeOperation><spec><name>pg-upd</name><vlanId>5</vlanId><vswitchName>vSwitch1</vswitchName><policy></policy></spec></portgroup></config><changeMode>modify</changeMode></UpdateNetworkConfig>"#)).await;
    let info = prop(&sim, "HostNetworkSystem", &net, &["networkInfo"]).unwrap();
    assert_eq!(info.field("vswitch").unwrap().items().len(), 2);
    fault(&sim, &format!(r#"<UpdateNetworkConfig xmlns="urn:vim25">{ns}<config><vswitch><changeOperation>add</changeOperation><name>vSwitch1</name></vswitch></config><changeMode>modify</changeMode></UpdateNetworkConfig>"#), "AlreadyExists").await;

    let netfolder = named(&sim, "Folder", "network");
    let create = format!(
        r#"<CreateDVS_Task xmlns="urn:vim25"><_this type="Folder">{netfolder}</_this><spec><configSpec xsi:type="VMwareDVSConfigSpec"><name>DVS9</name></configSpec></spec></CreateDVS_Task>"#
    );
    let (state, sw) = task(&sim, &create).await;
    assert_eq!(state, "success");
    let sw = sw.unwrap();
    assert_eq!(
        task(&sim, &create).await.1.as_deref(),
        Some("DuplicateName")
    );
    let pgs = sim.vc.with(|e| {
        e.inv.refs(
            &MoRef::new("VmwareDistributedVirtualSwitch", sw.clone()),
            "portgroup",
        )
    });
    assert_eq!(pgs.len(), 1, "an uplink port group");
    let this = format!(r#"<_this type="VmwareDistributedVirtualSwitch">{sw}</_this>"#);
    let b = ok(&sim, &vim("FetchDVPorts", &this)).await;
    assert_eq!(b.matches("<dvsUuid>").count(), 4, "uplink ports: {b}");
    let b = ok(&sim, &format!(r#"<FetchDVPorts xmlns="urn:vim25">{this}<criteria><uplinkPort>false</uplinkPort></criteria></FetchDVPorts>"#)).await;
    assert_eq!(b.matches("<dvsUuid>").count(), 0, "{b}");
    succeeds(&sim, &format!(r#"<ReconfigureDvs_Task xmlns="urn:vim25">{this}<spec xsi:type="VMwareDVSConfigSpec"><configVersion>1</configVersion><name>DVS9b</name><maxPorts>100</maxPorts></spec></ReconfigureDvs_Task>"#)).await;
    let sw_prop = |path: &[&str]| prop(&sim, "VmwareDistributedVirtualSwitch", &sw, path);
    assert_eq!(sw_prop(&["name"]), Some(Value::str("DVS9b")));
    assert_eq!(sw_prop(&["config", "configVersion"]), Some(Value::str("2")));
    assert_eq!(task(&sim, &format!(r#"<ReconfigureDvs_Task xmlns="urn:vim25">{this}<spec xsi:type="VMwareDVSConfigSpec"><configVersion>1</configVersion><name>x</name></spec></ReconfigureDvs_Task>"#)).await.1.as_deref(), Some("ConcurrentAccess"));
    let pg = &pgs[0].value;
    let pgx = format!(r#"<_this type="DistributedVirtualPortgroup">{pg}</_this>"#);
    succeeds(&sim, &format!(r#"<ReconfigureDVPortgroup_Task xmlns="urn:vim25">{pgx}<spec><name>uplinks</name><numPorts>8</numPorts></spec></ReconfigureDVPortgroup_Task>"#)).await;
    let pg_prop = |path: &[&str]| prop(&sim, "DistributedVirtualPortgroup", pg, path);
    assert_eq!(pg_prop(&["config", "numPorts"]), Some(Value::Int(8)));
    assert_eq!(pg_prop(&["name"]), Some(Value::str("uplinks")));
    assert_eq!(task(&sim, &format!(r#"<ReconfigureDVPortgroup_Task xmlns="urn:vim25">{pgx}<spec><name>VM Network</name></spec></ReconfigureDVPortgroup_Task>"#)).await.1.as_deref(), Some("DuplicateName"));
}

#[tokio::test]
async fn authorization_and_custom_fields() {
    let sim = Sim::logged_in().await;
    let am = r#"<_this type="AuthorizationManager">AuthorizationManager</_this>"#;
    let b = ok(&sim, &vim("RetrieveAllPermissions", am)).await;
    assert!(
        b.contains("<principal>user</principal>") && b.contains("<roleId>-1</roleId>"),
        "{b}"
    );
    let roles = prop(
        &sim,
        "AuthorizationManager",
        "AuthorizationManager",
        &["roleList"],
    )
    .unwrap();
    let names: Vec<_> = roles
        .items()
        .iter()
        .map(|r| r.field("name").and_then(Value::as_str).unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["NoAccess", "Anonymous", "View", "ReadOnly", "Admin"]
    );
    let role = returnval(&sim, &format!(r#"<AddAuthorizationRole xmlns="urn:vim25">{am}<name>ops</name><privIds>VirtualMachine.Interact.PowerOn</privIds></AddAuthorizationRole>"#)).await;
    assert_eq!(role, "1000");
    fault(
        &sim,
        &vim("AddAuthorizationRole", &format!("{am}<name>ops</name>")),
        "AlreadyExists",
    )
    .await;
    let vm = find(&sim, "VirtualMachine");
    ok(&sim, &format!(r#"<SetEntityPermissions xmlns="urn:vim25">{am}<entity type="VirtualMachine">{vm}</entity><permission><principal>bob</principal><group>false</group><roleId>{role}</roleId><propagate>true</propagate></permission></SetEntityPermissions>"#)).await;
    fault(&sim, &format!(r#"<SetEntityPermissions xmlns="urn:vim25">{am}<entity type="VirtualMachine">{vm}</entity><permission><principal>bob</principal><group>false</group><roleId>77</roleId><propagate>true</propagate></permission></SetEntityPermissions>"#), "NotFound").await;
    let b = ok(&sim, &format!(r#"<RetrieveEntityPermissions xmlns="urn:vim25">{am}<entity type="VirtualMachine">{vm}</entity><inherited>true</inherited></RetrieveEntityPermissions>"#)).await;
    assert!(
        b.contains("<principal>bob</principal>") && b.contains("<principal>user</principal>"),
        "{b}"
    );
    let b = ok(&sim, &format!(r#"<RetrieveEntityPermissions xmlns="urn:vim25">{am}<entity type="VirtualMachine">{vm}</entity><inherited>false</inherited></RetrieveEntityPermissions>"#)).await;
    assert!(!b.contains("<principal>user</principal>"), "{b}");
    let b = ok(&sim, &format!(r#"<RetrieveRolePermissions xmlns="urn:vim25">{am}<roleId>{role}</roleId></RetrieveRolePermissions>"#)).await;
    assert_eq!(b.matches("<principal>").count(), 1, "{b}");
    assert!(prop(&sim, "VirtualMachine", &vm, &["permission"]).is_some());
    fault(&sim, &format!(r#"<RemoveAuthorizationRole xmlns="urn:vim25">{am}<roleId>{role}</roleId><failIfUsed>true</failIfUsed></RemoveAuthorizationRole>"#), "RemoveFailed").await;
    fault(&sim, &format!(r#"<RemoveAuthorizationRole xmlns="urn:vim25">{am}<roleId>-1</roleId><failIfUsed>false</failIfUsed></RemoveAuthorizationRole>"#), "InvalidArgument").await;
    ok(&sim, &format!(r#"<RemoveEntityPermission xmlns="urn:vim25">{am}<entity type="VirtualMachine">{vm}</entity><user>bob</user><isGroup>false</isGroup></RemoveEntityPermission>"#)).await;
    fault(&sim, &format!(r#"<RemoveEntityPermission xmlns="urn:vim25">{am}<entity type="VirtualMachine">{vm}</entity><user>bob</user><isGroup>false</isGroup></RemoveEntityPermission>"#), "NotFound").await;
    ok(&sim, &format!(r#"<RemoveAuthorizationRole xmlns="urn:vim25">{am}<roleId>{role}</roleId><failIfUsed>true</failIfUsed></RemoveAuthorizationRole>"#)).await;
    fault(&sim, &format!(r#"<RetrieveRolePermissions xmlns="urn:vim25">{am}<roleId>{role}</roleId></RetrieveRolePermissions>"#), "NotFound").await;
    let b = ok(&sim, r#"<RetrieveUserGroups xmlns="urn:vim25"><_this type="UserDirectory">UserDirectory</_this><searchStr>us</searchStr><exactMatch>false</exactMatch><findUsers>true</findUsers><findGroups>true</findGroups></RetrieveUserGroups>"#).await;
    assert!(
        b.contains("<principal>user</principal>") && !b.contains("Administrators"),
        "{b}"
    );

    let cfm = r#"<_this type="CustomFieldsManager">CustomFieldsManager</_this>"#;
    let b = ok(&sim, &format!(r#"<AddCustomFieldDef xmlns="urn:vim25">{cfm}<name>owner</name><moType>VirtualMachine</moType></AddCustomFieldDef>"#)).await;
    let key = first(&b, "key").unwrap().to_owned();
    fault(&sim, &format!(r#"<AddCustomFieldDef xmlns="urn:vim25">{cfm}<name>owner</name><moType>VirtualMachine</moType></AddCustomFieldDef>"#), "DuplicateName").await;
    assert_eq!(
        prop(&sim, "VirtualMachine", &vm, &["availableField"])
            .unwrap()
            .items()
            .len(),
        1
    );
    let host = find(&sim, "HostSystem");
    assert!(prop(&sim, "HostSystem", &host, &["availableField"]).is_none());
    ok(&sim, &format!(r#"<SetField xmlns="urn:vim25">{cfm}<entity type="VirtualMachine">{vm}</entity><key>{key}</key><value>alice</value></SetField>"#)).await;
    fault(&sim, &format!(r#"<SetField xmlns="urn:vim25">{cfm}<entity type="HostSystem">{host}</entity><key>{key}</key><value>x</value></SetField>"#), "InvalidArgument").await;
    ok(&sim, &format!(r#"<RenameCustomFieldDef xmlns="urn:vim25">{cfm}<key>{key}</key><name>owner2</name></RenameCustomFieldDef>"#)).await;
    ok(&sim, &format!(r#"<setCustomValue xmlns="urn:vim25"><_this type="HostSystem">{host}</_this><key>rack</key><value>r1</value></setCustomValue>"#)).await;
    let cv = prop(&sim, "HostSystem", &host, &["customValue"]).unwrap();
    assert_eq!(cv.items()[0].field("value"), Some(&Value::str("r1")));
    let cv = prop(&sim, "VirtualMachine", &vm, &["customValue"]).unwrap();
    assert_eq!(cv.items()[0].field("value"), Some(&Value::str("alice")));
    ok(&sim, &format!(r#"<RemoveCustomFieldDef xmlns="urn:vim25">{cfm}<key>{key}</key></RemoveCustomFieldDef>"#)).await;
    assert!(prop(&sim, "VirtualMachine", &vm, &["customValue"]).is_none());
    fault(&sim, &format!(r#"<RemoveCustomFieldDef xmlns="urn:vim25">{cfm}<key>{key}</key></RemoveCustomFieldDef>"#), "InvalidArgument").await;
}

#[tokio::test]
async fn clone_tickets_and_idle_timeout() {
    let sim = Sim::logged_in().await;
    let sm = r#"<_this type="SessionManager">SessionManager</_this>"#;
    let ticket = returnval(&sim, &vim("AcquireCloneTicket", sm)).await;
    let mut other = Sim {
        vc: sim.vc.clone(),
        cookie: None,
    };
    let clone = format!(
        r#"<CloneSession xmlns="urn:vim25">{sm}<cloneTicket>{ticket}</cloneTicket></CloneSession>"#
    );
    let r = other.call(&clone).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<userName>user</userName>"), "{}", r.body);
    other.cookie = r
        .set_cookie
        .and_then(|c| c.split('"').nth(1).map(str::to_owned));
    assert_ne!(other.cookie, sim.cookie);
    ok(&other, r#"<CurrentTime xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></CurrentTime>"#).await;
    ok(&other, r#"<RetrieveAllPermissions xmlns="urn:vim25"><_this type="AuthorizationManager">AuthorizationManager</_this></RetrieveAllPermissions>"#).await;
    let third = Sim {
        vc: sim.vc.clone(),
        cookie: None,
    };
    fault(&third, &clone, "InvalidLogin").await;

    // Idle timeout: 60 s of virtual time.
    ok(&sim, r#"<UpdateOptions xmlns="urn:vim25"><_this type="OptionManager">VpxSettings</_this><changedValue><key>config.vmacore.soap.sessionTimeout</key><value xsi:type="xsd:int">60</value></changedValue></UpdateOptions>"#).await;
    sim.vc.advance(30_000);
    let probe = r#"<RetrieveAllPermissions xmlns="urn:vim25"><_this type="AuthorizationManager">AuthorizationManager</_this></RetrieveAllPermissions>"#;
    ok(&sim, probe).await;
    sim.vc.advance(61_000);
    fault(&sim, probe, "NotAuthenticated").await;
    fault(&other, probe, "NotAuthenticated").await;
    sim.vc.with(|e| assert_eq!(e.sessions.iter().count(), 0));
}
