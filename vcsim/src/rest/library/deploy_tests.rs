//! OVF library items and VM templates over the full router, in both forms.

use crate::rest::test_support::{login, send, sim};
use axum::http::StatusCode;
use serde_json::json;

/// A library on the first datastore, a VM and its pool and network.
async fn setup(vc: &crate::server::Vcsim, s: Option<&str>) -> (String, String, String, String) {
    let (ds, vm, pool, net) = vc.with(|e| {
        let first = |ty: &str| {
            e.inv
                .iter()
                .find(|o| o.moref.ty == ty)
                .map(|o| o.moref.value.clone())
                .expect("object")
        };
        let vm = first("VirtualMachine");
        let pool = e
            .inv
            .prop(
                &crate::vmodl::MoRef::new("VirtualMachine", vm.clone()),
                "resourcePool",
            )
            .and_then(crate::vmodl::Value::as_moref)
            .map(|p| p.value.clone())
            .expect("pool");
        (first("Datastore"), vm, pool, first("Network"))
    });
    let spec = json!({"name": "dlib", "type": "LOCAL",
        "storage_backings": [{"datastore_id": ds, "type": "DATASTORE"}]});
    let a = send(
        vc,
        "POST",
        "/api/content/local-library",
        s,
        None,
        Some(spec),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    (a.json.as_str().expect("id").to_owned(), vm, pool, net)
}

#[tokio::test]
async fn an_ovf_item_made_from_a_vm_deploys_in_both_forms() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let (lib, vm, pool, net) = setup(&vc, s).await;
    let create = json!({"source": {"type": "VirtualMachine", "id": vm},
        "target": {"library_id": lib}, "create_spec": {"name": "pkg"}});
    let a = send(
        &vc,
        "POST",
        "/api/vcenter/ovf/library-item",
        s,
        None,
        Some(create.clone()),
    )
    .await;
    assert_eq!(a.json["succeeded"], true, "{}", a.text);
    let item = a.json["ovf_library_item_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let a = send(
        &vc,
        "POST",
        "/api/vcenter/ovf/library-item",
        s,
        None,
        Some(create),
    )
    .await;
    assert_eq!(a.json["error_type"], "ALREADY_EXISTS", "{}", a.text);

    let url = format!("/rest/com/vmware/vcenter/ovf/library-item/id:{item}?~action=filter");
    let a = send(
        &vc,
        "POST",
        &url,
        s,
        None,
        Some(json!({"target": {"resource_pool_id": pool}})),
    )
    .await;
    assert_eq!(a.json["value"]["name"], "pkg", "{}", a.text);

    let url = format!("/rest/com/vmware/vcenter/ovf/library-item/id:{item}?~action=deploy");
    let body = json!({"target": {"resource_pool_id": pool}, "deployment_spec": {"name": "copy1",
        "network_mappings": [{"key": "VM Network", "value": net}]}});
    let a = send(&vc, "POST", &url, s, None, Some(body)).await;
    assert_eq!(a.json["value"]["succeeded"], true, "{}", a.text);
    assert_eq!(a.json["value"]["resource_id"]["type"], "VirtualMachine");
    let url = format!("/api/vcenter/ovf/library-item/{item}?action=deploy");
    let body = json!({"target": {"resource_pool_id": pool}, "deployment_spec": {"name": "copy2",
        "network_mappings": {"VM Network": net}}});
    let a = send(&vc, "POST", &url, s, None, Some(body.clone())).await;
    assert_eq!(a.json["succeeded"], true, "{}", a.text);
    // Again: the name is taken, a failed deployment (not an HTTP error).
    let a = send(&vc, "POST", &url, s, None, Some(body)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["succeeded"], false, "{}", a.text);
    let a = send(
        &vc,
        "POST",
        &url,
        s,
        None,
        Some(json!({"target": {"resource_pool_id": "resgroup-none"}})),
    )
    .await;
    assert_eq!(a.json["error_type"], "NOT_FOUND", "{}", a.text);
    let a = send(
        &vc,
        "POST",
        "/api/vcenter/ovf/library-item/nope?action=deploy",
        s,
        None,
        Some(json!({"target": {"resource_pool_id": pool}})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn vm_templates_create_get_deploy_and_go_with_their_item() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let (lib, vm, pool, _) = setup(&vc, s).await;
    let base = "/rest/vcenter/vm-template/library-items";
    let spec = json!({"spec": {"name": "t1", "library": lib, "source_vm": vm}});
    let a = send(&vc, "POST", base, s, None, Some(spec.clone())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let item = a.json["value"].as_str().expect("id").to_owned();
    let a = send(&vc, "POST", base, s, None, Some(spec)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "duplicate: {}", a.text);
    let a = send(&vc, "GET", &format!("{base}/{item}"), s, None, None).await;
    let t = a.json["value"]["vm_template"]
        .as_str()
        .expect("template")
        .to_owned();
    assert!(a.json["value"]["disks"].is_array(), "{}", a.text);
    let a = send(
        &vc,
        "GET",
        &format!("/api/vcenter/vm-template/library-items/{item}"),
        s,
        None,
        None,
    )
    .await;
    assert!(a.json["disks"].is_object(), "{}", a.text);
    let deploy = format!("{base}/{item}?action=deploy");
    let a = send(
        &vc,
        "POST",
        &deploy,
        s,
        None,
        Some(json!({"spec": {"name": "d1"}})),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "no placement: {}",
        a.text
    );
    let body = json!({"spec": {"name": "d1", "placement": {"resource_pool": pool}}});
    let a = send(&vc, "POST", &deploy, s, None, Some(body)).await;
    let d1 = a.json["value"].as_str().expect("vm").to_owned();
    vc.with(|e| {
        assert!(e.is_template(&crate::vmodl::MoRef::new("VirtualMachine", t.clone())));
        assert!(!e.is_template(&crate::vmodl::MoRef::new("VirtualMachine", d1.clone())));
    });
    let a = send(
        &vc,
        "DELETE",
        &format!("/rest/com/vmware/content/library/item/id:{item}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    vc.with(|e| {
        assert!(
            !e.inv
                .contains(&crate::vmodl::MoRef::new("VirtualMachine", t.clone()))
        )
    });
}

#[tokio::test]
async fn a_subscribed_library_mirrors_its_publisher() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let (lib, vm, _, _) = setup(&vc, s).await;
    let a = send(
        &vc,
        "GET",
        &format!("/api/content/library/{lib}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.json["publish_info"]["published"], false, "{}", a.text);
    let a = send(
        &vc,
        "PATCH",
        &format!("/api/content/local-library/{lib}"),
        s,
        None,
        Some(json!({"publish_info": {"published": true, "authentication_method": "NONE"}})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let a = send(
        &vc,
        "GET",
        &format!("/api/content/library/{lib}"),
        s,
        None,
        None,
    )
    .await;
    let url = a.json["publish_info"]["publish_url"]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:8989/cls/vcsp/lib/"),
        "{url}"
    );
    let create = json!({"source": {"id": vm}, "target": {"library_id": lib},
        "create_spec": {"name": "pkg"}});
    let a = send(
        &vc,
        "POST",
        "/api/vcenter/ovf/library-item",
        s,
        None,
        Some(create),
    )
    .await;
    assert_eq!(a.json["succeeded"], true, "{}", a.text);
    let ds = vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "Datastore")
            .map(|o| o.moref.value.clone())
    });
    let spec = json!({"create_spec": {"name": "sub", "type": "SUBSCRIBED",
        "storage_backings": [{"datastore_id": ds, "type": "DATASTORE"}],
        "subscription_info": {"subscription_url": url, "authentication_method": "NONE"}}});
    let a = send(
        &vc,
        "POST",
        "/rest/com/vmware/content/subscribed-library",
        s,
        None,
        Some(spec),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let sub = a.json["value"].as_str().expect("id").to_owned();
    let a = send(
        &vc,
        "GET",
        &format!("/rest/com/vmware/content/library/item?library_id={sub}"),
        s,
        None,
        None,
    )
    .await;
    let items = a.json["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", a.text);
    let item = items[0].as_str().expect("id").to_owned();
    let a = send(
        &vc,
        "DELETE",
        &format!("/api/content/library/item/{item}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(
        a.json["error_type"], "INVALID_ELEMENT_TYPE",
        "read-only: {}",
        a.text
    );
    let a = send(&vc, "GET", "/api/content/local-library", s, None, None).await;
    assert_eq!(a.json.as_array().map(Vec::len), Some(1), "{}", a.text);
    // The publisher's item goes; a sync removes the copy.
    let a = send(
        &vc,
        "GET",
        &format!("/api/content/library/item/{item}"),
        s,
        None,
        None,
    )
    .await;
    let source = a.json["source_id"].as_str().expect("source").to_owned();
    send(
        &vc,
        "DELETE",
        &format!("/api/content/library/item/{source}"),
        s,
        None,
        None,
    )
    .await;
    let a = send(
        &vc,
        "POST",
        &format!("/api/content/subscribed-library/{sub}?action=sync"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let a = send(
        &vc,
        "GET",
        &format!("/api/content/library/item?library_id={sub}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.json, json!([]), "{}", a.text);
}
