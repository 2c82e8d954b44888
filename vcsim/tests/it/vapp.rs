//! OVF and NFC fault paths over the wire, in-process: a malformed descriptor, an upload
//! over the cap, an unknown ticket, an aborted import (it leaves nothing), and the vApp
//! power and destroy operations.

use crate::support::{Sim, fault, find, ok, prop, returnval, task, vim};
use axum::http::StatusCode;
use vcsim::vmodl::{MoRef, Value};

fn this(ty: &str, v: &str) -> String {
    format!(r#"<_this type="{ty}">{v}</_this>"#)
}

/// A root resource pool, its datacenter's VM folder and a datastore name.
fn targets(sim: &Sim) -> (String, String, String) {
    let pool = find(sim, "ResourcePool");
    sim.vc.with(|e| {
        let dc = e
            .datacenter_of(&MoRef::new("ResourcePool", pool.clone()))
            .unwrap();
        let folder = e
            .inv
            .prop(&dc, "vmFolder")
            .and_then(Value::as_moref)
            .unwrap()
            .value
            .clone();
        let ds = e
            .inv
            .iter()
            .find(|o| o.moref.ty == "Datastore")
            .unwrap()
            .name()
            .to_owned();
        (pool, folder, ds)
    })
}

/// `ImportVApp` of a one-disk VM named `name`; the lease's value.
async fn import(sim: &Sim, name: &str) -> String {
    let (pool, folder, ds) = targets(sim);
    let spec = format!(
        r#"<spec xsi:type="VirtualMachineImportSpec"><configSpec><name>{name}</name><numCPUs>1</numCPUs><memoryMB>32</memoryMB><files><vmPathName>[{ds}]</vmPathName></files><deviceChange><operation>add</operation><device xsi:type="VirtualLsiLogicController"><key>1000</key><busNumber>0</busNumber><sharedBus>noSharing</sharedBus></device></deviceChange><deviceChange><operation>add</operation><fileOperation>create</fileOperation><device xsi:type="VirtualDisk"><key>2000</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[{ds}]</fileName><diskMode>persistent</diskMode></backing><controllerKey>1000</controllerKey><unitNumber>0</unitNumber><capacityInKB>1024</capacityInKB></device></deviceChange></configSpec></spec>"#
    );
    returnval(
        sim,
        &vim(
            "ImportVApp",
            &format!(
                r#"{}{spec}<folder type="Folder">{folder}</folder>"#,
                this("ResourcePool", &pool)
            ),
        ),
    )
    .await
}

/// The path of the lease's first device URL (`/nfc/<ticket>/<file>`). The in-process
/// router is reached without TLS, so the URL is `http://*…`.
fn upload_path(sim: &Sim, lease: &str) -> String {
    let url = prop(sim, "HttpNfcLease", lease, &["info", "deviceUrl"])
        .unwrap()
        .items()[0]
        .field("url")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    url.strip_prefix("http://*").expect(&url).to_owned()
}

fn vm_named(sim: &Sim, name: &str) -> Option<String> {
    sim.vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "VirtualMachine" && o.name() == name)
            .map(|o| o.moref.value.clone())
    })
}

#[tokio::test]
async fn a_malformed_descriptor_is_a_fault_naming_the_parse_error() {
    let sim = Sim::logged_in().await;
    let (pool, _, _) = targets(&sim);
    let ds = find(&sim, "Datastore");
    let body = vim(
        "CreateImportSpec",
        &format!(
            r#"{}<ovfDescriptor>&lt;Envelope&gt;&lt;VirtualSystem&gt;</ovfDescriptor><resourcePool type="ResourcePool">{pool}</resourcePool><datastore type="Datastore">{ds}</datastore><cisp><locale/><deploymentOption/><entityName>x</entityName></cisp>"#,
            this("OvfManager", "OvfManager")
        ),
    );
    fault(&sim, &body, "InvalidArgument").await;
    let r = sim.call(&body).await;
    assert!(r.body.contains("not well-formed XML"), "{}", r.body);
    assert!(
        r.body
            .contains("<invalidProperty>ovfDescriptor</invalidProperty>"),
        "{}",
        r.body
    );
    // No session, no answer.
    let anon = Sim::new();
    let r = anon.call(&body).await;
    assert!(r.body.contains("NotAuthenticated"), "{}", r.body);
}

#[tokio::test]
async fn uploads_are_capped_and_tickets_checked() {
    let sim = Sim::logged_in().await;
    let lease = import(&sim, "capped").await;
    let path = upload_path(&sim, &lease);
    let big = "x".repeat(vcsim::methods::vapp::NFC_UPLOAD_MAX_BYTES + 1);
    let r = sim.request("POST", &path, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = sim
        .request("POST", "/nfc/not-a-ticket/disk.vmdk", "x".into())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // An import lease's file is not for reading.
    let r = sim.request("GET", &path, String::new()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = sim.request("POST", &path, "small disk".into()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    ok(
        &sim,
        &vim("HttpNfcLeaseComplete", &this("HttpNfcLease", &lease)),
    )
    .await;
    assert!(vm_named(&sim, "capped").is_some());
    // The lease is gone with its URLs.
    let r = sim.request("POST", &path, "again".into()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    fault(
        &sim,
        &vim("HttpNfcLeaseComplete", &this("HttpNfcLease", &lease)),
        "ManagedObjectNotFound",
    )
    .await;
}

#[tokio::test]
async fn an_aborted_import_leaves_nothing() {
    let sim = Sim::logged_in().await;
    let files_before = sim.vc.with(|e| e.files.len());
    let lease = import(&sim, "aborted").await;
    assert!(
        vm_named(&sim, "aborted").is_some(),
        "the VM exists while the lease is open"
    );
    let path = upload_path(&sim, &lease);
    let r = sim.request("PUT", &path, "disk bytes".into()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(sim.vc.with(|e| e.files.len()), files_before + 1);
    ok(
        &sim,
        &vim("HttpNfcLeaseAbort", &this("HttpNfcLease", &lease)),
    )
    .await;
    assert!(vm_named(&sim, "aborted").is_none());
    assert_eq!(sim.vc.with(|e| e.files.len()), files_before);
    assert!(
        sim.vc.with(
            |e| e.nfc.is_empty() && !e.inv.contains(&MoRef::new("HttpNfcLease", lease.clone()))
        )
    );
}

#[tokio::test]
async fn a_lease_not_renewed_times_out_and_its_import_is_undone() {
    let sim = Sim::logged_in().await;
    let lease = import(&sim, "late").await;
    let limit_ms = i64::from(vcsim::methods::vapp::LEASE_TIMEOUT_S) * 1000;
    // Progress renews the lease.
    sim.vc.advance(limit_ms - 1000);
    let progress = vim(
        "HttpNfcLeaseProgress",
        &format!("{}<percent>50</percent>", this("HttpNfcLease", &lease)),
    );
    ok(&sim, &progress).await;
    sim.vc.advance(limit_ms - 1000);
    ok(&sim, &progress).await;
    assert!(vm_named(&sim, "late").is_some());
    sim.vc.advance(limit_ms + 1000);
    fault(&sim, &progress, "ManagedObjectNotFound").await;
    assert!(vm_named(&sim, "late").is_none());
}

#[tokio::test]
async fn export_reads_back_what_import_wrote() {
    let sim = Sim::logged_in().await;
    let lease = import(&sim, "roundtrip").await;
    let path = upload_path(&sim, &lease);
    assert_eq!(
        sim.request("POST", &path, "vmdk-bytes".into()).await.status,
        StatusCode::CREATED
    );
    let manifest = ok(
        &sim,
        &vim("HttpNfcLeaseGetManifest", &this("HttpNfcLease", &lease)),
    )
    .await;
    // SHA-1 of "vmdk-bytes".
    assert!(manifest.contains("<size>10</size>"), "{manifest}");
    let progress = vim(
        "HttpNfcLeaseProgress",
        &format!("{}<percent>101</percent>", this("HttpNfcLease", &lease)),
    );
    ok(&sim, &progress).await;
    let pct = prop(&sim, "HttpNfcLease", &lease, &["transferProgress"]);
    assert_eq!(pct.and_then(|v| v.as_i64()), Some(100), "clamped");
    ok(
        &sim,
        &vim("HttpNfcLeaseComplete", &this("HttpNfcLease", &lease)),
    )
    .await;
    let vm = vm_named(&sim, "roundtrip").unwrap();
    let exp = returnval(&sim, &vim("ExportVm", &this("VirtualMachine", &vm))).await;
    let path = upload_path(&sim, &exp);
    let r = sim.request("GET", &path, String::new()).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "vmdk-bytes"));
    assert_eq!(
        sim.request("PUT", &path, "no".into()).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    ok(
        &sim,
        &vim("HttpNfcLeaseComplete", &this("HttpNfcLease", &exp)),
    )
    .await;
    // A powered-on VM is not exported.
    let (s, _) = task(&sim, &vim("PowerOnVM_Task", &this("VirtualMachine", &vm))).await;
    assert_eq!(s, "success");
    fault(
        &sim,
        &vim("ExportVm", &this("VirtualMachine", &vm)),
        "InvalidPowerState",
    )
    .await;
}

#[tokio::test]
async fn vapps_power_their_vms_and_destroy_with_them() {
    let sim = Sim::logged_in().await;
    let (pool, folder, _) = targets(&sim);
    let vapp = returnval(
        &sim,
        &vim(
            "CreateVApp",
            &format!(
                r#"{}<name>app</name><resSpec><cpuAllocation><reservation>0</reservation><expandableReservation>true</expandableReservation><limit>-1</limit><shares><shares>4000</shares><level>normal</level></shares></cpuAllocation><memoryAllocation><reservation>0</reservation><expandableReservation>true</expandableReservation><limit>-1</limit><shares><shares>163840</shares><level>normal</level></shares></memoryAllocation></resSpec><configSpec><annotation>hello</annotation></configSpec><vmFolder type="Folder">{folder}</vmFolder>"#,
                this("ResourcePool", &pool)
            ),
        ),
    )
    .await;
    let state = |sim: &Sim| {
        prop(sim, "VirtualApp", &vapp, &["summary", "vAppState"])
            .and_then(|v| match v {
                Value::Enum(_, s) => Some(s.into_owned()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(state(&sim), "stopped");
    let (ds_name, _) = sim.vc.with(|e| {
        let ds = e.inv.iter().find(|o| o.moref.ty == "Datastore").unwrap();
        (ds.name().to_owned(), ())
    });
    let (_, vm) = task(
        &sim,
        &vim(
            "CreateChildVM_Task",
            &format!(
                r#"{}<config><name>member</name><numCPUs>1</numCPUs><memoryMB>32</memoryMB><files><vmPathName>[{ds_name}]</vmPathName></files></config>"#,
                this("VirtualApp", &vapp)
            ),
        ),
    )
    .await;
    let vm = vm.unwrap();
    // The vApp lists its VM; the folder does not.
    let member = MoRef::new("VirtualMachine", vm.clone());
    sim.vc.with(|e| {
        let f = MoRef::new("Folder", folder.clone());
        assert!(!e.inv.refs(&f, "childEntity").contains(&member));
        assert!(
            e.inv
                .refs(&MoRef::new("VirtualApp", vapp.clone()), "vm")
                .contains(&member)
        );
        let parent = e.inv.prop(&member, "parentVApp").and_then(Value::as_moref);
        assert_eq!(parent.map(|p| p.value.as_str()), Some(vapp.as_str()));
    });
    let (s, _) = task(&sim, &vim("PowerOnVApp_Task", &this("VirtualApp", &vapp))).await;
    assert_eq!(s, "success");
    assert_eq!(state(&sim), "started");
    let power = |sim: &Sim| prop(sim, "VirtualMachine", &vm, &["runtime", "powerState"]).unwrap();
    assert_eq!(power(&sim).xsi_type(), "VirtualMachinePowerState");
    assert!(matches!(power(&sim), Value::Enum(_, ref s) if s == "poweredOn"));
    // Destroy refuses while a member runs, and changes nothing.
    let user = "user".to_owned();
    let app = MoRef::new("VirtualApp", vapp.clone());
    let refused = sim
        .vc
        .with(|e| vcsim::methods::vapp::destroy_vapp(e, &user, &app));
    assert_eq!(refused.unwrap_err().ty, "InvalidPowerState");
    let (s, _) = task(
        &sim,
        &vim(
            "PowerOffVApp_Task",
            &format!("{}<force>false</force>", this("VirtualApp", &vapp)),
        ),
    )
    .await;
    assert_eq!(s, "success");
    assert_eq!(state(&sim), "stopped");
    sim.vc
        .with(|e| vcsim::methods::vapp::destroy_vapp(e, &user, &app))
        .unwrap();
    sim.vc.with(|e| {
        assert!(!e.inv.contains(&app));
        assert!(!e.inv.contains(&MoRef::new("VirtualMachine", vm.clone())));
        let f = MoRef::new("Folder", folder.clone());
        assert!(!e.inv.refs(&f, "childEntity").contains(&app));
    });
    // Power methods are the vApp's only.
    fault(
        &sim,
        &vim("PowerOnVApp_Task", &this("ResourcePool", &pool)),
        "MethodNotFound",
    )
    .await;
}
