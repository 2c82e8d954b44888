//! Content library tests over the full router.

use crate::rest::test_support::{login, send, send_raw, sim};
use axum::http::StatusCode;
use serde_json::json;

const LIB: &str = "/rest/com/vmware/content/library";

#[tokio::test]
async fn library_item_upload_complete_download() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let (ds, ds_name) = vc.with(|e| {
        let o = e
            .inv
            .iter()
            .find(|o| o.moref.ty == "Datastore")
            .expect("ds");
        (o.moref.value.clone(), o.name().to_owned())
    });
    let spec = json!({"create_spec": {"name": "lib", "type": "LOCAL",
        "storage_backings": [{"datastore_id": ds, "type": "DATASTORE"}]}});
    let a = send(
        &vc,
        "POST",
        "/rest/com/vmware/content/local-library",
        s,
        None,
        Some(spec.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let lib = a.json["value"].as_str().expect("id").to_owned();
    let a = send(
        &vc,
        "POST",
        "/rest/com/vmware/content/local-library",
        s,
        None,
        Some(spec),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "duplicate name");
    let item = json!({"create_spec": {"name": "item", "library_id": lib, "type": "iso"}});
    let a = send(&vc, "POST", &format!("{LIB}/item"), s, None, Some(item)).await;
    let item = a.json["value"].as_str().expect("id").to_owned();
    let body = json!({"create_spec": {"library_item_id": item}});
    let a = send(
        &vc,
        "POST",
        &format!("{LIB}/item/update-session"),
        s,
        None,
        Some(body),
    )
    .await;
    let up = a.json["value"].as_str().expect("id").to_owned();
    let add = json!({"file_spec": {"name": "a.iso", "source_type": "PUSH", "size": 5}});
    let url = format!("{LIB}/item/updatesession/file/id:{up}?~action=add");
    let a = send(&vc, "POST", &url, s, None, Some(add)).await;
    assert_eq!(
        a.json["value"]["status"], "WAITING_FOR_TRANSFER",
        "{}",
        a.text
    );
    let uri = a.json["value"]["upload_endpoint"]["uri"]
        .as_str()
        .expect("uri");
    let path = uri.strip_prefix("http://127.0.0.1:8989").expect("our host");
    let a = send(
        &vc,
        "POST",
        &format!("{LIB}/item/update-session/id:{up}?~action=complete"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "not uploaded yet");
    let a = send_raw(&vc, "PUT", path, s, None, b"hello".to_vec()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = send(
        &vc,
        "POST",
        &format!("{LIB}/item/update-session/id:{up}?~action=complete"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = send(
        &vc,
        "GET",
        &format!("{LIB}/item/update-session/id:{up}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.json["value"]["state"], "DONE");
    let a = send(
        &vc,
        "GET",
        &format!("{LIB}/item/file?library_item_id={item}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.json["value"][0]["name"], "a.iso");
    assert_eq!(a.json["value"][0]["size"], 5);
    let key = format!("[{ds_name}] contentlib-{lib}/{item}/a.iso");
    assert_eq!(
        vc.with(|e| e.files.get(&key).cloned()),
        Some(b"hello".to_vec())
    );
    // Download.
    let body = json!({"create_spec": {"library_item_id": item}});
    let a = send(
        &vc,
        "POST",
        &format!("{LIB}/item/download-session"),
        s,
        None,
        Some(body),
    )
    .await;
    let dl = a.json["value"].as_str().expect("id").to_owned();
    let url = format!("{LIB}/item/downloadsession/file/id:{dl}?~action=prepare");
    let a = send(
        &vc,
        "POST",
        &url,
        s,
        None,
        Some(json!({"file_name": "a.iso"})),
    )
    .await;
    let uri = a.json["value"]["download_endpoint"]["uri"]
        .as_str()
        .expect("uri");
    let path = uri.strip_prefix("http://127.0.0.1:8989").expect("our host");
    let a = send_raw(&vc, "GET", path, s, None, Vec::new()).await;
    assert_eq!(a.text, "hello");
    // /api listing and delete.
    let a = send(
        &vc,
        "GET",
        &format!("/api/content/library/item?library_id={lib}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.json, json!([item]));
    let a = send(
        &vc,
        "DELETE",
        &format!("/api/content/local-library/{lib}"),
        s,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(vc.with(|e| !e.files.keys().any(|k| k.contains("contentlib-"))));
    let a = send_raw(&vc, "PUT", path, None, None, b"x".to_vec()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

/// The transfer endpoint takes files beyond the SOAP body bound, up to its own.
#[tokio::test]
async fn uploads_may_exceed_the_soap_body_bound() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let ds = vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "Datastore")
            .expect("ds")
            .moref
            .value
            .clone()
    });
    let spec =
        json!({"name": "big", "storage_backings": [{"datastore_id": ds, "type": "DATASTORE"}]});
    let a = send(
        &vc,
        "POST",
        "/api/content/local-library",
        s,
        None,
        Some(spec),
    )
    .await;
    let lib = a.json.as_str().expect("id").to_owned();
    let item = json!({"name": "i", "library_id": lib, "type": "file"});
    let a = send(
        &vc,
        "POST",
        "/api/content/library/item",
        s,
        None,
        Some(item),
    )
    .await;
    let item = a.json.as_str().expect("id").to_owned();
    let body = json!({"create_spec": {"library_item_id": item}});
    let a = send(
        &vc,
        "POST",
        "/api/content/library/item/update-session",
        s,
        None,
        Some(body),
    )
    .await;
    let up = a.json.as_str().expect("id").to_owned();
    let add = json!({"file_spec": {"name": "big.bin", "source_type": "PUSH"}});
    let url = format!("/api/content/library/item/updatesession/file/{up}?action=add");
    let a = send(&vc, "POST", &url, s, None, Some(add)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let path = format!("/cls/data/{up}/big.bin");
    let size = crate::server::MAX_SOAP_BODY_BYTES + 1;
    let a = send_raw(&vc, "PUT", &path, s, None, vec![7u8; size]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = send_raw(
        &vc,
        "PUT",
        &path,
        s,
        None,
        vec![7u8; super::MAX_FILE_BYTES + 1],
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A local library on the first datastore with one item; the item's id.
async fn new_item(vc: &crate::server::Vcsim, s: Option<&str>) -> String {
    let ds = vc.with(|e| {
        e.inv
            .iter()
            .find(|o| o.moref.ty == "Datastore")
            .expect("ds")
            .moref
            .value
            .clone()
    });
    let spec =
        json!({"name": "l", "storage_backings": [{"datastore_id": ds, "type": "DATASTORE"}]});
    let a = send(
        vc,
        "POST",
        "/api/content/local-library",
        s,
        None,
        Some(spec),
    )
    .await;
    let lib = a.json.as_str().expect("library id").to_owned();
    let item = json!({"name": "i", "library_id": lib, "type": "file"});
    let a = send(vc, "POST", "/api/content/library/item", s, None, Some(item)).await;
    a.json.as_str().expect("item id").to_owned()
}

/// Logs in with Basic credentials `basic` (base64 of `user:password`).
async fn login_as(vc: &crate::server::Vcsim, basic: &str) -> String {
    let a = send(vc, "POST", "/api/session", None, Some(basic), None).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.json.as_str().expect("session id").to_owned()
}

/// Transfer sessions belong to their creator: another user can neither see, list nor feed
/// them (their ids come from the seed, so they are guessable).
#[tokio::test]
async fn transfer_sessions_belong_to_their_user() {
    let vc = crate::server::Vcsim::new(
        crate::Emulator::new(crate::Config {
            any_login: true,
            ..crate::Config::default()
        })
        .expect("default inventory builds"),
    );
    let alice = login_as(&vc, "YWxpY2U6cHc=").await; // alice:pw
    let bob = login_as(&vc, "Ym9iOnB3").await; // bob:pw
    let (a_s, b_s) = (Some(alice.as_str()), Some(bob.as_str()));
    let item = new_item(&vc, a_s).await;
    let body = json!({"create_spec": {"library_item_id": item}});
    let base = "/api/content/library/item";
    let a = send(
        &vc,
        "POST",
        &format!("{base}/update-session"),
        a_s,
        None,
        Some(body),
    )
    .await;
    let up = a.json.as_str().expect("id").to_owned();
    let add = json!({"file_spec": {"name": "f.bin", "source_type": "PUSH"}});
    let url = format!("{base}/updatesession/file/{up}?action=add");
    let a = send(&vc, "POST", &url, a_s, None, Some(add.clone())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // Bob: not found everywhere, and nothing listed.
    let a = send(
        &vc,
        "GET",
        &format!("{base}/update-session/{up}"),
        b_s,
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    let a = send(
        &vc,
        "GET",
        &format!("{base}/update-session"),
        b_s,
        None,
        None,
    )
    .await;
    assert_eq!(a.json, json!([]));
    let a = send(&vc, "POST", &url, b_s, None, Some(add)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    let path = format!("/cls/data/{up}/f.bin");
    let a = send_raw(&vc, "PUT", &path, b_s, None, b"evil".to_vec()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    let url = format!("{base}/update-session/{up}?action=cancel");
    let a = send(&vc, "POST", &url, b_s, None, None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    // Alice: her own session works.
    let a = send(
        &vc,
        "GET",
        &format!("{base}/update-session"),
        a_s,
        None,
        None,
    )
    .await;
    assert_eq!(a.json, json!([up]));
    let a = send_raw(&vc, "PUT", &path, a_s, None, b"good".to_vec()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

/// Abandoned sessions stop holding the session bound once past their expiry time.
#[tokio::test]
async fn expired_sessions_make_room_at_the_bound() {
    let vc = sim();
    let s = login(&vc).await;
    let s = Some(s.as_str());
    let item = new_item(&vc, s).await;
    let url = "/api/content/library/item/update-session";
    let body = json!({"create_spec": {"library_item_id": item}});
    for _ in 0..super::MAX_TRANSFER_SESSIONS {
        let a = send(&vc, "POST", url, s, None, Some(body.clone())).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
    let a = send(&vc, "POST", url, s, None, Some(body.clone())).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "all active: full");
    vc.with(|e| {
        let _ = e.clock.advance(super::SESSION_LIFETIME_MS + 1);
    });
    let a = send(&vc, "POST", url, s, None, Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}
