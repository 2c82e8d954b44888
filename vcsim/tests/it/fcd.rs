//! First-class disks over SOAP: the storage object manager in the service content, a disk's
//! life (create, list, retrieve, snapshot, delete) and its file on the datastore.

use crate::support::{Sim, fault, first, named, ok, task, vim};

const MGR: &str = r#"<_this type="VcenterVStorageObjectManager">VStorageObjectManager</_this>"#;

fn ds_arg(ds: &str) -> String {
    format!(r#"<datastore type="Datastore">{ds}</datastore>"#)
}

fn create_body(ds: &str, name: &str, mb: i64) -> String {
    vim(
        "CreateDisk_Task",
        &format!(
            r#"{MGR}<spec><name>{name}</name><backingSpec xsi:type="VslmCreateSpecDiskFileBackingSpec">{}<provisioningType>thin</provisioningType></backingSpec><capacityInMB>{mb}</capacityInMB></spec>"#,
            ds_arg(ds)
        ),
    )
}

/// The id of the disk a finished CreateDisk_Task made.
fn created_id(sim: &Sim, task_body: &str) -> String {
    let t = first(task_body, "returnval").unwrap().to_owned();
    sim.vc.with(|e| {
        let info = e
            .inv
            .prop(&vcsim::vmodl::MoRef::new("Task", t), "info")
            .unwrap()
            .clone();
        info.field("result")
            .and_then(|r| r.field("config"))
            .and_then(|c| c.field("id"))
            .and_then(|i| i.field("id"))
            .and_then(|v| v.as_str())
            .expect("a VStorageObject result")
            .to_owned()
    })
}

#[tokio::test]
async fn service_content_names_the_manager() {
    let sim = Sim::logged_in().await;
    let body = ok(
        &sim,
        &vim(
            "RetrieveServiceContent",
            r#"<_this type="ServiceInstance">ServiceInstance</_this>"#,
        ),
    )
    .await;
    assert!(
        body.contains(
            r#"<vStorageObjectManager type="VcenterVStorageObjectManager">VStorageObjectManager</vStorageObjectManager>"#
        ),
        "{body}"
    );
}

#[tokio::test]
async fn disk_lifecycle_over_soap() {
    let sim = Sim::logged_in().await;
    let ds = named(&sim, "Datastore", "LocalDS_0");
    let r = ok(&sim, &create_body(&ds, "fcd-1", 100)).await;
    let id = created_id(&sim, &r);
    let ids = ok(
        &sim,
        &vim("ListVStorageObject", &format!("{MGR}{}", ds_arg(&ds))),
    )
    .await;
    assert!(ids.contains(&format!("<id>{id}</id>")), "{ids}");
    let id_ds = format!("<id><id>{id}</id></id>{}", ds_arg(&ds));
    let obj = ok(
        &sim,
        &vim("RetrieveVStorageObject", &format!("{MGR}{id_ds}")),
    )
    .await;
    for want in [
        "<name>fcd-1</name>",
        "<capacityInMB>100</capacityInMB>",
        r#"xsi:type="BaseConfigInfoDiskFileBackingInfo""#,
        "<provisioningType>thin</provisioningType>",
        "<consumptionType>disk</consumptionType>",
    ] {
        assert!(obj.contains(want), "{want}: {obj}");
    }
    let path = first(&obj, "filePath").unwrap().to_owned();
    assert!(path.starts_with("[LocalDS_0] fcd/"), "{path}");
    // The disk is a file on its datastore: a search of `fcd` lists it with its time.
    let browser = crate::support::prop_ref(&sim, "Datastore", &ds, &["browser"]);
    let (state, _) = task(
        &sim,
        &vim(
            "SearchDatastore_Task",
            &format!(
                r#"<_this type="HostDatastoreBrowser">{browser}</_this><datastorePath>[LocalDS_0] fcd</datastorePath><searchSpec><details><fileType>true</fileType><fileSize>true</fileSize><modification>true</modification><fileOwner>false</fileOwner></details></searchSpec>"#
            ),
        ),
    )
    .await;
    assert_eq!(state, "success");
    let state = ok(
        &sim,
        &vim("RetrieveVStorageObjectState", &format!("{MGR}{id_ds}")),
    )
    .await;
    assert!(state.contains("<tentative>false</tentative>"), "{state}");
    let (state, _) = task(
        &sim,
        &vim(
            "VStorageObjectCreateSnapshot_Task",
            &format!("{MGR}{id_ds}<description>s1</description>"),
        ),
    )
    .await;
    assert_eq!(state, "success");
    let snaps = ok(&sim, &vim("RetrieveSnapshotInfo", &format!("{MGR}{id_ds}"))).await;
    assert!(snaps.contains("<description>s1</description>"), "{snaps}");
    let (state, _) = task(
        &sim,
        &vim("DeleteVStorageObject_Task", &format!("{MGR}{id_ds}")),
    )
    .await;
    assert_eq!(state, "success");
    fault(
        &sim,
        &vim("RetrieveVStorageObject", &format!("{MGR}{id_ds}")),
        "NotFound",
    )
    .await;
    let (state, err) = task(
        &sim,
        &vim("DeleteVStorageObject_Task", &format!("{MGR}{id_ds}")),
    )
    .await;
    assert_eq!(
        (state.as_str(), err.as_deref()),
        ("error", Some("NotFound"))
    );
}

#[tokio::test]
async fn faults_for_bad_calls() {
    let mut sim = Sim::logged_in().await;
    let ds = named(&sim, "Datastore", "LocalDS_0");
    // No spec, a missing datastore, a non-positive capacity.
    fault(&sim, &vim("CreateDisk_Task", MGR), "InvalidArgument").await;
    fault(
        &sim,
        &create_body("datastore-404", "x", 1),
        "ManagedObjectNotFound",
    )
    .await;
    fault(&sim, &create_body(&ds, "x", 0), "InvalidArgument").await;
    // The ESXi method on vCenter's manager.
    fault(
        &sim,
        &vim("HostListVStorageObject", &format!("{MGR}{}", ds_arg(&ds))),
        "MethodNotFound",
    )
    .await;
    // An unknown method is still MethodNotFound.
    fault(&sim, &vim("NoSuchMethod", MGR), "MethodNotFound").await;
    let none = ok(
        &sim,
        &vim(
            "ListVStorageObjectsAttachedToTag",
            &format!("{MGR}<category>c</category><tag>t</tag>"),
        ),
    )
    .await;
    assert!(!none.contains("<returnval>"), "{none}");
    sim.cookie = None;
    fault(
        &sim,
        &vim("ListVStorageObject", &format!("{MGR}{}", ds_arg(&ds))),
        "NotAuthenticated",
    )
    .await;
}
