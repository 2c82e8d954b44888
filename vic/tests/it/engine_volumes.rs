//! Docker volumes at the VCH endpoint: `/volumes` create, list (with VIC's filters),
//! inspect and remove on datastore volume stores, VIC's messages for what it refuses, the
//! VMDK and metadata each volume is on the datastore (checked over SOAP), `-v` on create
//! (the disk and `mounts|…` keys on the containerVM, `Mounts` in inspect, the in-use
//! refusal, `rm -v`), a restarted endpoint finding the volumes, and a VCH without stores.

use super::engine::{
    Vch, get, http, post, post_json, second_endpoint_with_volumes, start_vch,
    start_vch_with_volumes, vms_in_pool,
};
use serde_json::{Value as Json, json};
use vcsim::vmodl::Value;
use vic::engine::VolumeStore;
use vic::vsphere::option_value;

fn stores() -> Vec<VolumeStore> {
    vec![
        VolumeStore {
            label: "default".into(),
            datastore: "LocalDS_0".into(),
            path: "vols-a".into(),
        },
        VolumeStore {
            label: "fast".into(),
            datastore: "LocalDS_0".into(),
            path: "vols-b".into(),
        },
    ]
}

async fn delete(vch: &Vch, path: &str) -> (u16, Json, String) {
    http(vch, "DELETE", path, None).await
}

/// The names of the entries of datastore folder `path` matching `query`, over SOAP
/// (`HostDatastoreBrowser.SearchDatastore_Task`); None when the folder is missing.
async fn datastore_ls(vch: &Vch, path: &str, query: &'static str) -> Option<Vec<String>> {
    let ds = vch
        .client
        .find_by_inventory_path("DC0/datastore/LocalDS_0")
        .await
        .unwrap()
        .expect("LocalDS_0");
    let browser = vch
        .client
        .get_property(&ds, "browser")
        .await
        .unwrap()
        .and_then(|b| b.as_moref().cloned())
        .expect("browser");
    vch.client
        .datastore_files(&browser, path, Some(query))
        .await
        .unwrap_or_else(|e| panic!("SearchDatastore_Task {path}: {e}"))
}

fn names(v: &Json) -> Vec<String> {
    let mut n: Vec<String> = v["Volumes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["Name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

/// `GET /volumes?filters=<json>`.
async fn ls(vch: &Vch, filters: &str) -> (u16, Json, String) {
    let q: String = filters
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    get(vch, &format!("/v1.25/volumes?filters={q}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_on_datastore_stores() {
    let vch = start_vch_with_volumes("vch-vol", 40, stores()).await;

    // docker info: the vsphere plugin and VIC's VolumeStores status.
    let (status, info, _) = get(&vch, "/info").await;
    assert_eq!(status, 200);
    assert_eq!(info["Plugins"]["Volume"], json!(["vsphere"]));
    let pairs = info["SystemStatus"].as_array().unwrap();
    assert!(
        pairs.contains(&json!(["VolumeStores", "default fast"])),
        "{pairs:?}"
    );
    let (status, v, text) = get(&vch, "/v1.25/volumes").await;
    assert_eq!(
        (status, &v),
        (200, &json!({"Volumes": null, "Warnings": null})),
        "{text}"
    );

    // Create: the CLI's default driver `local` is vsphere; Capacity in decimal units.
    let (status, v, text) = post_json(
        &vch,
        "/v1.25/volumes/create",
        r#"{"Name":"v1","Driver":"local","DriverOpts":{"Capacity":"2G"},"Labels":{"env":"test"}}"#,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(
        (
            &v["Name"],
            &v["Driver"],
            &v["Mountpoint"],
            &v["Labels"]["env"]
        ),
        (
            &json!("v1"),
            &json!("vsphere"),
            &json!("6654c734ccab8f44"),
            &json!("test")
        )
    );
    // The volume is a folder with its disk and metadata, visible to any SOAP client.
    let files = datastore_ls(&vch, "[LocalDS_0] vols-a/volumes/v1", "VmDiskFileQuery").await;
    assert_eq!(files, Some(vec!["v1.vmdk".to_owned()]));
    let meta = datastore_ls(
        &vch,
        "[LocalDS_0] vols-a/volumes/v1/imageMetadata",
        "FileQuery",
    )
    .await;
    assert_eq!(meta, Some(vec!["DockerMetaData".to_owned()]));
    let descriptor = vch
        .vc
        .with(|e| {
            e.files
                .get("[LocalDS_0] vols-a/volumes/v1/v1.vmdk")
                .cloned()
        })
        .expect("the descriptor");
    assert!(
        String::from_utf8_lossy(&descriptor).contains("ddb.capacityKB = \"2048000\""),
        "2G is 2000 MB of 1024 KB"
    );

    // An unnamed volume gets a UUID; VolumeStore picks the store; the default size is 1 GB.
    let (status, v, text) = post_json(
        &vch,
        "/volumes/create",
        r#"{"Driver":"vsphere","DriverOpts":{"VolumeStore":"fast"}}"#,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let unnamed = v["Name"].as_str().unwrap().to_owned();
    assert_eq!(unnamed.len(), 36, "{unnamed}");
    let folder = format!("[LocalDS_0] vols-b/volumes/{unnamed}");
    assert!(
        datastore_ls(&vch, &folder, "VmDiskFileQuery")
            .await
            .is_some()
    );

    // VIC's refusals (500, as VIC wraps them).
    for (body, msg) in [
        (
            r#"{"Name":"v1"}"#,
            "A volume named v1 already exists. Choose a different volume name.",
        ),
        (
            r#"{"Name":"v3","DriverOpts":{"VolumeStore":"fakeStore"}}"#,
            "No volume store named (fakeStore) exists",
        ),
        (
            r#"{"Name":"v3","DriverOpts":{"bogus":"foo"}}"#,
            "bad driver value - bogus is not a supported option",
        ),
        (
            r#"{"Name":"v3","DriverOpts":{"Capacity":"0"}}"#,
            "bad driver value - Invalid size: 0",
        ),
        (
            r#"{"Name":"v3","Driver":"fakeDriver"}"#,
            "error looking up volume plugin fakeDriver: plugin not found",
        ),
        (
            r#"{"Name":"test???"}"#,
            r#"volume name "test???" includes invalid characters, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed"#,
        ),
    ] {
        let (status, v, text) = post_json(&vch, "/volumes/create", body).await;
        assert_eq!(
            (status, v["message"].as_str()),
            (500, Some(msg)),
            "{body}: {text}"
        );
    }
    assert!(
        datastore_ls(&vch, "[LocalDS_0] vols-a/volumes/v3", "FileQuery")
            .await
            .is_none()
    );

    // List and filters.
    let (status, v, _) = get(&vch, "/volumes").await;
    assert_eq!(status, 200);
    let mut want = vec!["v1".to_owned(), unnamed.clone()];
    want.sort();
    assert_eq!(names(&v), want);
    assert_eq!(names(&ls(&vch, r#"{"name":{"v1":true}}"#).await.1), ["v1"]);
    assert_eq!(
        names(&ls(&vch, r#"{"label":{"env=test":true}}"#).await.1),
        ["v1"]
    );
    assert_eq!(
        names(&ls(&vch, r#"{"driver":{"vsphere":true}}"#).await.1),
        want
    );
    assert!(names(&ls(&vch, r#"{"driver":{"vsph":true}}"#).await.1).is_empty());
    let (status, v, _) = ls(&vch, r#"{"bogusfilter":{"x":true}}"#).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (500, Some("Invalid filter 'bogusfilter'"))
    );

    // Inspect.
    let (status, v, _) = get(&vch, "/volumes/v1").await;
    assert_eq!(status, 200);
    assert_eq!(v["Options"]["Capacity"], "2G");
    assert_eq!(v["Labels"]["env"], "test");
    let (status, v, _) = get(&vch, "/volumes/nope").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("No such volume: nope"))
    );

    // `-v`: a named volume and an anonymous one on a new container.
    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;
    let (status, v, text) = post_json(
        &vch,
        "/v1.25/containers/create?name=user",
        r#"{"Image":"busybox","Cmd":["true"],"Volumes":{"/anon":{}},"HostConfig":{"Binds":["v1:/data"]}}"#,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let id = v["Id"].as_str().unwrap().to_owned();
    let (_, c, _) = get(&vch, "/containers/user/json").await;
    let mounts = c["Mounts"].as_array().expect("Mounts");
    assert_eq!(mounts.len(), 2, "{mounts:?}");
    let named = mounts.iter().find(|m| m["Destination"] == "/data").unwrap();
    assert_eq!(
        (
            &named["Name"],
            &named["Type"],
            &named["Driver"],
            &named["RW"]
        ),
        (
            &json!("v1"),
            &json!("volume"),
            &json!("vsphere"),
            &json!(true)
        )
    );
    let anon = mounts.iter().find(|m| m["Destination"] == "/anon").unwrap();
    let anon = anon["Name"].as_str().unwrap().to_owned();
    assert_eq!(anon.len(), 36);
    // The containerVM has the volume disks and VIC's mounts keys.
    let vm = vch
        .client
        .view_contents(&vch.pool, &["VirtualMachine"], true, &["config"])
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("the containerVM");
    let config = vm.get("config").unwrap();
    let disks: Vec<String> = config
        .field("hardware")
        .and_then(|h| h.field("device"))
        .map(|d| d.items().to_vec())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            d.field("backing")?
                .field("fileName")?
                .as_str()
                .map(str::to_owned)
        })
        .filter(|f| f.ends_with(".vmdk"))
        .collect();
    assert!(
        disks.contains(&"[LocalDS_0] vols-a/volumes/v1/v1.vmdk".to_owned()),
        "{disks:?}"
    );
    let ec = config.field("extraConfig").unwrap();
    let key = |k: &str| {
        option_value(ec, k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(
        key("guestinfo.vice./mounts|v1/dest").as_deref(),
        Some("/data")
    );
    assert_eq!(
        key("guestinfo.vice./mounts|v1/source/Path").as_deref(),
        Some("6654c734ccab8f44")
    );

    // In use: refused (409) while the container exists, running or not.
    let (status, v, _) = delete(&vch, "/volumes/v1").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (409, Some(format!("volume v1 in use by {id}").as_str()))
    );
    let (_, v, _) = ls(&vch, r#"{"dangling":{"true":true}}"#).await;
    assert_eq!(names(&v), vec![unnamed.clone()]);
    let (_, v, _) = ls(&vch, r#"{"dangling":{"false":true}}"#).await;
    let mut joined = vec![anon.clone(), "v1".to_owned()];
    joined.sort();
    assert_eq!(names(&v), joined);
    // It runs with its volumes.
    assert_eq!(post(&vch, "/containers/user/start").await.0, 204);
    let (status, v, _) = post(&vch, "/containers/user/wait").await;
    assert_eq!((status, v["StatusCode"].as_i64()), (200, Some(0)));

    // Host directories stay refused; a bad -v is a 400; nothing is created for either.
    let before = vms_in_pool(&vch).await.len();
    for (binds, code, msg) in [
        (
            r#"["/tmp:/data"]"#,
            500,
            "mounting directories as a data volume is not supported.",
        ),
        (
            r#"["a:b:c:d"]"#,
            400,
            "volume bind input is invalid: -v a:b:c:d",
        ),
    ] {
        let body =
            format!(r#"{{"Image":"busybox","Cmd":["true"],"HostConfig":{{"Binds":{binds}}}}}"#);
        let (status, v, _) = post_json(&vch, "/containers/create", &body).await;
        assert_eq!((status, v["message"].as_str()), (code, Some(msg)));
    }
    assert_eq!(vms_in_pool(&vch).await.len(), before);

    // `rm -v`: the anonymous volume goes, the named one stays and is free again.
    let (status, _, text) = delete(&vch, "/containers/user?v=1").await;
    assert_eq!(status, 204, "{text}");
    assert_eq!(get(&vch, &format!("/volumes/{anon}")).await.0, 404);
    assert_eq!(get(&vch, "/volumes/v1").await.0, 200);

    // A restarted endpoint rebuilds everything from the datastore, metadata included.
    let addr =
        second_endpoint_with_volumes(&vch, "vch-vol", 41, vch.client.endpoint().url(), stores())
            .await;
    let (status, _, body) =
        super::engine::http_raw(addr, "GET", "/volumes/v1", &addr.to_string(), None).await;
    let v: Json = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, &v["Labels"]["env"]), (200, &json!("test")));

    let (status, _, text) = delete(&vch, "/volumes/v1").await;
    assert_eq!(status, 204, "{text}");
    assert!(
        datastore_ls(&vch, "[LocalDS_0] vols-a/volumes/v1", "FileQuery")
            .await
            .is_none()
    );
    let (status, v, _) = delete(&vch, "/volumes/v1").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("Get v1: no such volume"))
    );
    // Prune stays VIC's refusal.
    let (status, v, _) = post(&vch, "/volumes/prune").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (
            500,
            Some("vSphere Integrated Containers does not yet implement VolumesPrune")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_volume_store_volumes_are_refused() {
    let vch = start_vch("vch-novol", 42).await;
    let (_, info, _) = get(&vch, "/info").await;
    assert_eq!(info["Plugins"]["Volume"], json!([]));
    assert!(
        info["SystemStatus"]
            .as_array()
            .unwrap()
            .contains(&json!(["VolumeStores", ""]))
    );
    let (status, v, _) = post_json(&vch, "/volumes/create", r#"{"Name":"x"}"#).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (500, Some("No volume store named (default) exists"))
    );
    let (status, v, _) = get(&vch, "/volumes").await;
    assert_eq!((status, &v["Volumes"]), (200, &Json::Null));
    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;
    for body in [
        r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["x:/data"]}}"#,
        r#"{"Image":"busybox","Cmd":["true"],"Volumes":{"/data":{}}}"#,
    ] {
        let (status, v, _) = post_json(&vch, "/containers/create?name=nov", body).await;
        assert_eq!(
            (status, v["message"].as_str()),
            (500, Some("No volume store named (default) exists")),
            "{body}"
        );
    }
    // Nothing was made and the name is free.
    assert!(vms_in_pool(&vch).await.is_empty());
    let (status, _, _) = post_json(
        &vch,
        "/containers/create?name=nov",
        r#"{"Image":"busybox","Cmd":["true"]}"#,
    )
    .await;
    assert_eq!(status, 201);
}
