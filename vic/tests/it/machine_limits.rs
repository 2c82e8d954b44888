//! `vic-machine create --containers N --storage-quota GB` end to end, in process: the
//! emulator with the VCH appliance agent running the real engine. The limits land in the
//! appliance's guestinfo under VIC's keys, `inspect config` prints them, the endpoint's
//! `/info` reports them and its create enforces them; a quota larger than the datastore's
//! free space fails create before anything is made.
//!
//! The VCH's client address is a free one of 127.0.4.0/24 ([`sim::free_client_ip`]).

use crate::engine::http_raw;
use crate::sim::{self, client, has};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use vcsim::vmodl::Value;
use vic::appliance::{ApplianceAgent, engine_launcher};
use vic::guestinfo::vch;
use vic::machine::run_captured;
use vic::vsphere::option_value;

/// A request to the VCH endpoint: (status, JSON body).
async fn endpoint(
    ip: IpAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let addr = SocketAddr::new(ip, 2375);
    let (status, _, raw) = http_raw(addr, method, path, &addr.to_string(), body).await;
    (
        status,
        serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_travel_from_create_to_the_endpoint() {
    let sim = sim::start(vec![Arc::new(ApplianceAgent::new(engine_launcher()))]).await;
    let tmp = tempfile::tempdir().unwrap();
    let target = format!("--target={}", sim.url);
    let ip = sim::free_client_ip();
    let cnip = format!("{ip}/8");
    let certs = tmp.path().join("vchL");
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchL",
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--no-tls",
        "--client-network-ip",
        &cnip,
        "--tls-cert-path",
        certs.to_str().unwrap(),
        "--containers",
        "2",
        "--sq",
        "30",
        "--timeout",
        "60s",
    ])
    .await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    assert!(has(&lines, "Validating storage quota"), "{lines:?}");

    // VIC's keys: the count as is, the quota in bytes.
    let c = client(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.unwrap();
    let vm = f.virtual_machine("vchL").await.unwrap().moref;
    let ec = c
        .get_property(&vm, "config.extraConfig")
        .await
        .unwrap()
        .unwrap();
    let text = |k: &str| {
        option_value(&ec, k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(text(vch::CONTAINER_COUNT).as_deref(), Some("2"));
    assert_eq!(text(vch::STORAGE_QUOTA), Some((30u64 << 30).to_string()));

    // inspect config, verbose and raw.
    let (lines, r) = run_captured(&["inspect", "config", &target, "--name", "vchL"]).await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    assert!(
        has(
            &lines,
            "The target VCH is configured with the following options:"
        ),
        "{lines:?}"
    );
    for want in [
        "\t--containers=2",
        "\t--storage-quota=30",
        "\t--no-tls",
        "\t--name=vchL",
    ] {
        assert!(has(&lines, want), "{want}: {lines:?}");
    }
    let (lines, r) = run_captured(&[
        "inspect", "config", &target, "--name", "vchL", "--format", "raw",
    ])
    .await;
    assert!(r.is_ok(), "{r:?}");
    assert!(
        has(&lines, "--storage-quota=30 --containers=2 --no-tls"),
        "{lines:?}"
    );

    // The endpoint reports and enforces them.
    let (status, info) = endpoint(ip, "GET", "/info", None).await;
    assert_eq!(status, 200);
    let pairs = info["SystemStatus"].as_array().unwrap();
    assert!(
        pairs.contains(&serde_json::json!([" VCH container limit", "2"])),
        "{info}"
    );
    assert!(
        pairs.contains(&serde_json::json!([" VCH storage limit", "30 GiB"])),
        "{info}"
    );
    endpoint(
        ip,
        "POST",
        "/images/create?fromImage=busybox&tag=latest",
        None,
    )
    .await;
    let body = r#"{"Image":"busybox","Cmd":["sleep","1000"]}"#;
    for _ in 0..2 {
        let (status, v) = endpoint(ip, "POST", "/v1.25/containers/create", Some(body)).await;
        assert_eq!(status, 201, "{v}");
    }
    let (status, v) = endpoint(ip, "POST", "/v1.25/containers/create", Some(body)).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (
            500,
            Some("Container count exceeds limit 2. containers: 2, reservation: 1")
        )
    );

    let (lines, r) = run_captured(&["delete", &target, "--name", "vchL", "--force"]).await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_beyond_the_datastore_free_space_fails_create() {
    let sim = sim::start(vec![Arc::new(ApplianceAgent::new(engine_launcher()))]).await;
    let tmp = tempfile::tempdir().unwrap();
    let target = format!("--target={}", sim.url);
    let certs = tmp.path().join("vchQ");
    // The emulator's datastores have 1 TiB free.
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchQ",
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--no-tls",
        "--tls-cert-path",
        certs.to_str().unwrap(),
        "--storage-quota",
        "1025",
    ])
    .await;
    assert_eq!(
        r.unwrap_err().message,
        "Storage quota exceeds datastore free space",
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            "Configuring cannot continue: storage quota validation failed"
        ),
        "{lines:?}"
    );
    let c = client(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.unwrap();
    assert!(f.virtual_machine("vchQ").await.is_err(), "no appliance");
    assert!(
        f.resource_pool(Some("DC0_C0/Resources/vchQ"))
            .await
            .is_err(),
        "no pool"
    );
    assert!(!certs.exists(), "no certificates written");
}
