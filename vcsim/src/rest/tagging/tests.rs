//! Tagging tests over the full router.

use crate::rest::test_support::{login, send, sim};
use axum::http::StatusCode;
use serde_json::json;

const CAT: &str = "/rest/com/vmware/cis/tagging/category";
const TAG: &str = "/rest/com/vmware/cis/tagging/tag";
const ASSOC: &str = "/rest/com/vmware/cis/tagging/tag-association";

#[tokio::test]
async fn category_tag_attach_and_cardinality() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let spec = |name: &str, card: &str| {
        json!({"create_spec": {"name": name, "description": "d", "cardinality": card,
            "associable_types": ["VirtualMachine"]}})
    };
    let a = send(&vc, "POST", CAT, s, None, Some(spec("env", "SINGLE"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let cat = a.json["value"].as_str().expect("id").to_owned();
    assert!(cat.starts_with("urn:vmomi:InventoryServiceCategory:"));
    assert!(cat.ends_with(":GLOBAL"));
    let dup = send(&vc, "POST", CAT, s, None, Some(spec("env", "SINGLE"))).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        dup.json["type"],
        "com.vmware.vapi.std.errors.already_exists"
    );
    let mut tags = Vec::new();
    for name in ["prod", "dev"] {
        let body = json!({"create_spec": {"name": name, "description": "", "category_id": cat}});
        let a = send(&vc, "POST", TAG, s, None, Some(body)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        tags.push(a.json["value"].as_str().expect("id").to_owned());
    }
    let vm = vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "VirtualMachine")
            .expect("a VM")
            .moref
            .value
            .clone()
    });
    let obj = json!({"object_id": {"type": "VirtualMachine", "id": vm}});
    let attach = |t: &str| format!("{ASSOC}/id:{t}?~action=attach");
    let a = send(&vc, "POST", &attach(&tags[0]), s, None, Some(obj.clone())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = send(&vc, "POST", &attach(&tags[1]), s, None, Some(obj.clone())).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "SINGLE cardinality");
    let missing = json!({"object_id": {"type": "VirtualMachine", "id": "vm-404"}});
    let a = send(&vc, "POST", &attach(&tags[1]), s, None, Some(missing)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let host = json!({"object_id": {"type": "HostSystem", "id": "host-1"}});
    let a = send(&vc, "POST", &attach(&tags[1]), s, None, Some(host)).await;
    assert!(a.status.is_client_error());
    let url = format!("{ASSOC}?~action=list-attached-tags");
    let a = send(&vc, "POST", &url, s, None, Some(obj.clone())).await;
    assert_eq!(a.json["value"], json!([tags[0]]));
    let url = format!("{ASSOC}/id:{}?~action=list-attached-objects", tags[0]);
    let a = send(&vc, "POST", &url, s, None, None).await;
    assert_eq!(
        a.json["value"],
        json!([{"type": "VirtualMachine", "id": vm}])
    );
    // The /api form sees the same state, bare.
    let a = send(&vc, "GET", "/api/cis/tagging/tag", s, None, None).await;
    assert_eq!(a.json.as_array().map(Vec::len), Some(2));
    let a = send(
        &vc,
        "DELETE",
        &format!("/api/cis/tagging/category/{cat}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = send(&vc, "GET", TAG, s, None, None).await;
    assert_eq!(a.json["value"], json!([]));
}

/// vCenter drops a deleted object's associations: no list names it or its tags after.
#[tokio::test]
async fn removed_objects_lose_their_tags() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let body = json!({"name": "c", "cardinality": "MULTIPLE", "associable_types": []});
    let a = send(
        &vc,
        "POST",
        "/api/cis/tagging/category",
        s,
        None,
        Some(body),
    )
    .await;
    let cat = a.json.as_str().expect("id").to_owned();
    let body = json!({"name": "t", "category_id": cat});
    let a = send(&vc, "POST", "/api/cis/tagging/tag", s, None, Some(body)).await;
    let tag = a.json.as_str().expect("id").to_owned();
    let vm = vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "VirtualMachine")
            .expect("a VM")
            .moref
            .clone()
    });
    let obj = json!({"type": "VirtualMachine", "id": vm.value});
    let url = format!("/api/cis/tagging/tag-association/{tag}?action=attach");
    let a = send(&vc, "POST", &url, s, None, Some(json!({"object_id": obj}))).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    vc.with(|e| e.inv.remove(&vm)).expect("the VM was there");
    let url = "/api/cis/tagging/tag-association?action=list-attached-tags";
    let a = send(&vc, "POST", url, s, None, Some(json!({"object_id": obj}))).await;
    assert_eq!(a.json, json!([]), "{}", a.text);
    let url = "/api/cis/tagging/tag-association?action=list-attached-tags-on-objects";
    let a = send(
        &vc,
        "POST",
        url,
        s,
        None,
        Some(json!({"object_ids": [obj]})),
    )
    .await;
    assert_eq!(a.json[0]["tag_ids"], json!([]), "{}", a.text);
    let url = format!("/api/cis/tagging/tag-association/{tag}?action=list-attached-objects");
    let a = send(&vc, "POST", &url, s, None, None).await;
    assert_eq!(a.json, json!([]), "{}", a.text);
    vc.with(|e| e.vapi.tagging.prune_removed(&e.inv));
    assert_eq!(vc.with(|e| e.vapi.tagging.attachment_count()), 0);
}

#[tokio::test]
async fn api_form_takes_bare_specs_and_widens_only() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let body = json!({"name": "c", "cardinality": "MULTIPLE", "associable_types": []});
    let a = send(
        &vc,
        "POST",
        "/api/cis/tagging/category",
        s,
        None,
        Some(body),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let id = a.json.as_str().expect("id").to_owned();
    let url = format!("/api/cis/tagging/category/{id}");
    let a = send(
        &vc,
        "PATCH",
        &url,
        s,
        None,
        Some(json!({"cardinality": "SINGLE"})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json["error_type"], "INVALID_ARGUMENT");
    let a = send(&vc, "PATCH", &url, s, None, Some(json!({"name": "c2"}))).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = send(&vc, "GET", &url, s, None, None).await;
    assert_eq!(a.json["name"], "c2");
    let bad = json!({"name": "x", "cardinality": "SOME"});
    let a = send(&vc, "POST", "/api/cis/tagging/category", s, None, Some(bad)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}
