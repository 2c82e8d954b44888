//! The VCH Docker endpoint end to end, in process: the emulator with the tether agent, a VCH
//! pool created over SOAP, `vic::engine::serve` on a loopback address, driven with raw HTTP
//! requests and (when present) the real docker CLI; every containerVM is checked over SOAP.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use vcsim::vmodl::{DataObject, MoRef, Value};
use vic::engine::{ContainerNetwork, EngineConfig, VolumeStore, VsphereTarget};
use vic::firewall::TrustLevel;
use vic::tether::TetherAgent;
use vic::vsphere::{Client, ConnectOptions};

/// An emulator, a VCH pool and an endpoint serving it.
pub(crate) struct Vch {
    pub(crate) vc: vcsim::Vcsim,
    pub(crate) client: Client,
    pub(crate) pool: MoRef,
    pub(crate) addr: SocketAddr,
    tether: Arc<TetherAgent>,
    _stops: Vec<oneshot::Sender<()>>,
}

fn alloc(limit: i64) -> Value {
    DataObject::new("ResourceAllocationInfo")
        .with("reservation", Value::Long(0))
        .with("expandableReservation", Value::Bool(true))
        .with("limit", Value::Long(limit))
        .with(
            "shares",
            DataObject::new("SharesInfo")
                .with("shares", Value::Int(0))
                .with("level", Value::enumv("SharesLevel", "normal"))
                .into_value(),
        )
        .into_value()
}

/// Binds a free port on a 127.0.1.x loopback address (falls back to 127.0.0.1 where the
/// host has no 127.0.1.0/24 route).
pub(crate) async fn bind_loopback(n: u8) -> tokio::net::TcpListener {
    match tokio::net::TcpListener::bind(("127.0.1.".to_owned() + &n.to_string(), 0)).await {
        Ok(l) => l,
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    }
}

/// Serves a second endpoint for `vch`'s pool (as after an appliance restart), reaching vSphere
/// at `sdk_url`, on a free port of 127.0.1.`n`; returns its address once `/_ping` answers.
/// The endpoint lives as long as the test's runtime.
pub(crate) async fn second_endpoint(vch: &Vch, name: &str, n: u8, sdk_url: String) -> SocketAddr {
    second_endpoint_with_volumes(vch, name, n, sdk_url, Vec::new()).await
}

/// [`second_endpoint`] with volume stores.
pub(crate) async fn second_endpoint_with_volumes(
    vch: &Vch,
    name: &str,
    n: u8,
    sdk_url: String,
    volume_stores: Vec<VolumeStore>,
) -> SocketAddr {
    let listener = bind_loopback(n).await;
    let addr = listener.local_addr().unwrap();
    let net = vch
        .client
        .find_by_inventory_path("DC0/network/VM Network")
        .await
        .unwrap()
        .unwrap();
    let dc = vch.client.finder().datacenter(Some("DC0")).await.unwrap();
    let config = EngineConfig {
        vch_name: name.into(),
        appliance: MoRef::new("VirtualMachine", "vm-appliance"),
        listen: addr,
        tls: None,
        target: VsphereTarget {
            url: sdk_url,
            username: "user".into(),
            password: "pass".into(),
            thumbprint: None,
            insecure: false,
        },
        pool: vch.pool.clone(),
        vm_folder: dc.vm_folder.clone(),
        datacenter: dc.entity.moref.clone(),
        image_store: ("LocalDS_0".into(), name.into()),
        bridge_network: ("VM Network".into(), net),
        bridge_range: (IpAddr::from([172, 16, 0, 0]), 12),
        bridge_width: 16,
        container_networks: Vec::new(),
        name_convention: vic::convention::NameConvention::default(),
        container_limit: None,
        storage_quota_bytes: None,
        volume_stores,
        images: vic::images::Catalogue::builtin(),
        registries: Default::default(),
        debug: 0,
        vic_version: "1.2.1".into(),
        interaction: Some(vch.tether.hub()),
        services: Some(vch.tether.services()),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = vic::engine::serve(config, listener, async {
            let _ = stopped.await;
        })
        .await;
    });
    std::mem::forget(stop);
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok()
            && http_raw(addr, "GET", "/_ping", &addr.to_string(), None)
                .await
                .0
                == 200
        {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the second endpoint did not come up");
}

pub(crate) async fn start_vch(name: &str, n: u8) -> Vch {
    start_vch_with(name, n, &[]).await
}

/// A VCH with container networks on `DC0_DVPG0`: (alias, gateway/prefix, range, trust).
pub(crate) type NetDecl<'a> = (
    &'a str,
    Option<(&'a str, u8)>,
    Option<(&'a str, &'a str)>,
    Option<TrustLevel>,
);

async fn start_vch_with(name: &str, n: u8, nets: &[NetDecl<'_>]) -> Vch {
    start_vch_limited(name, n, nets, None, None).await
}

/// A VCH with `--containers` and `--storage-quota` (bytes) limits as its endpoint config.
pub(crate) async fn start_vch_limited(
    name: &str,
    n: u8,
    nets: &[NetDecl<'_>],
    container_limit: Option<u32>,
    storage_quota_bytes: Option<u64>,
) -> Vch {
    start_vch_full(
        name,
        n,
        nets,
        container_limit,
        storage_quota_bytes,
        Vec::new(),
    )
    .await
}

/// A VCH with volume stores (`--volume-store`) as its endpoint config.
pub(crate) async fn start_vch_with_volumes(
    name: &str,
    n: u8,
    volume_stores: Vec<VolumeStore>,
) -> Vch {
    start_vch_full(name, n, &[], None, None, volume_stores).await
}

async fn start_vch_full(
    name: &str,
    n: u8,
    nets: &[NetDecl<'_>],
    container_limit: Option<u32>,
    storage_quota_bytes: Option<u64>,
    volume_stores: Vec<VolumeStore>,
) -> Vch {
    let emu = vcsim::Emulator::new(vcsim::Config::default()).expect("inventory");
    let vc = vcsim::Vcsim::new(emu);
    let tether = Arc::new(TetherAgent::new());
    let agent = tether.clone();
    vc.with(|e| e.add_agent(agent));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sdk = listener.local_addr().unwrap();
    let (stop_vc, stopped_vc) = oneshot::channel::<()>();
    let server = vc.clone();
    tokio::spawn(async move {
        let _ = server
            .serve(listener, None, async {
                let _ = stopped_vc.await;
            })
            .await;
    });
    let url = format!("http://{sdk}/sdk");
    let opts = ConnectOptions {
        timeout: Duration::from_secs(20),
        wait_timeout: Duration::from_secs(20),
        ..ConnectOptions::default()
    };
    let client = Client::connect(&url, opts).await.expect("connect");
    client.login("user", "pass").await.expect("login");
    let mut finder = client.finder();
    let dc = finder.use_datacenter(Some("DC0")).await.expect("DC0");
    let root = client
        .find_by_inventory_path("DC0/host/DC0_C0/Resources")
        .await
        .unwrap()
        .expect("cluster root pool");
    let spec = DataObject::new("ResourceConfigSpec")
        .with("cpuAllocation", alloc(500))
        .with("memoryAllocation", alloc(500))
        .into_value();
    let pool = client
        .call(
            "CreateResourcePool",
            &root,
            &[("name", Value::str(name)), ("spec", spec)],
        )
        .await
        .unwrap()
        .and_then(|v| v.as_moref().cloned())
        .expect("pool");
    let net = client
        .find_by_inventory_path("DC0/network/VM Network")
        .await
        .unwrap()
        .expect("VM Network");
    let pg = client
        .find_by_inventory_path("DC0/network/DC0_DVPG0")
        .await
        .unwrap()
        .expect("DC0_DVPG0");
    let container_networks = nets
        .iter()
        .map(|(alias, gw, range, trust)| ContainerNetwork {
            alias: (*alias).into(),
            portgroup_name: "DC0_DVPG0".into(),
            portgroup: pg.clone(),
            gateway: gw.map(|(g, p)| (g.parse().unwrap(), p)),
            ip_range: range.map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap())),
            dns: Vec::new(),
            trust: *trust,
        })
        .collect();
    let listener = bind_loopback(n).await;
    let addr = listener.local_addr().unwrap();
    let config = EngineConfig {
        vch_name: name.into(),
        appliance: MoRef::new("VirtualMachine", "vm-appliance"),
        listen: addr,
        tls: None,
        target: VsphereTarget {
            url,
            username: "user".into(),
            password: "pass".into(),
            thumbprint: None,
            insecure: false,
        },
        pool: pool.clone(),
        vm_folder: dc.vm_folder.clone(),
        datacenter: dc.entity.moref.clone(),
        image_store: ("LocalDS_0".into(), name.into()),
        bridge_network: ("VM Network".into(), net),
        bridge_range: ("172.16.0.0".parse().unwrap(), 12),
        bridge_width: 16,
        container_networks,
        name_convention: vic::convention::NameConvention::default(),
        container_limit,
        storage_quota_bytes,
        volume_stores,
        images: vic::images::Catalogue::builtin(),
        registries: Default::default(),
        debug: 0,
        vic_version: "1.2.1".into(),
        interaction: Some(tether.hub()),
        services: Some(tether.services()),
    };
    let (stop_engine, stopped_engine) = oneshot::channel::<()>();
    tokio::spawn(async move {
        if let Err(e) = vic::engine::serve(config, listener, async {
            let _ = stopped_engine.await;
        })
        .await
        {
            eprintln!("engine: {e}");
        }
    });
    let vch = Vch {
        vc,
        client,
        pool,
        addr,
        tether,
        _stops: vec![stop_vc, stop_engine],
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() && get(&vch, "/_ping").await.0 == 200
        {
            return vch;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the endpoint did not come up");
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let Some(end) = body.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let size = usize::from_str_radix(
            std::str::from_utf8(&body[..end])
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        body = &body[end + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
    out
}

/// One request over a fresh connection: (status, headers lower-cased, body bytes).
pub(crate) async fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .expect("response in time")
        .unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let raw = buf[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    (status, headers, if chunked { dechunk(&raw) } else { raw })
}

pub(crate) async fn http(
    vch: &Vch,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value, String) {
    let (status, _, raw) = http_raw(vch.addr, method, path, &vch.addr.to_string(), body).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, json, text)
}

/// `GET path` on the VCH endpoint: (status, JSON body or null, body text).
pub(crate) async fn get(vch: &Vch, path: &str) -> (u16, serde_json::Value, String) {
    http(vch, "GET", path, None).await
}

/// `POST path` without a body on the VCH endpoint.
pub(crate) async fn post(vch: &Vch, path: &str) -> (u16, serde_json::Value, String) {
    http(vch, "POST", path, None).await
}

/// `POST path` with a JSON body on the VCH endpoint.
pub(crate) async fn post_json(
    vch: &Vch,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value, String) {
    http(vch, "POST", path, Some(body)).await
}

/// A bodiless request to the VCH endpoint with its own address as the Host header:
/// (status, headers lower-cased, body bytes).
async fn raw(vch: &Vch, method: &str, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http_raw(vch.addr, method, path, &vch.addr.to_string(), None).await
}

/// Bodiless requests made in turn, each answered with the given status.
async fn statuses(vch: &Vch, calls: &[(&str, &str, u16)]) {
    for (method, path, want) in calls {
        let (status, _, text) = http(vch, method, path, None).await;
        assert_eq!(status, *want, "{method} {path}: {text}");
    }
}

/// (display name, vCPUs, memory MB, pool, power state) of every VM in the VCH pool, over SOAP.
pub(crate) async fn vms_in_pool(vch: &Vch) -> Vec<(String, i64, i64, MoRef, String)> {
    let found = vch
        .client
        .view_contents(
            &vch.pool,
            &["VirtualMachine"],
            true,
            &[
                "name",
                "config.hardware.numCPU",
                "config.hardware.memoryMB",
                "resourcePool",
                "runtime.powerState",
            ],
        )
        .await
        .unwrap();
    found
        .iter()
        .map(|o| {
            (
                o.text("name").unwrap_or("").to_owned(),
                o.get("config.hardware.numCPU")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                o.get("config.hardware.memoryMB")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                o.get("resourcePool")
                    .and_then(Value::as_moref)
                    .cloned()
                    .unwrap(),
                o.text("runtime.powerState").unwrap_or("").to_owned(),
            )
        })
        .collect()
}

const STRESS: &str = r#"{"Image":"progrium/stress","Cmd":["--cpu","1","--timeout","300s"],"HostConfig":{"Memory":4294967296,"CpusetCpus":"2"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_routes_versions_and_refusals() {
    let vch = start_vch("vch-sys", 1).await;
    let (status, headers, body) = raw(&vch, "GET", "/_ping").await;
    assert_eq!((status, body.as_slice()), (200, b"OK".as_slice()));
    let h = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(h("api-version").as_deref(), Some("1.25"));
    assert_eq!(h("server").as_deref(), Some("Docker/1.25 (linux)"));
    assert_eq!(h("docker-experimental").as_deref(), Some("true"));

    // /events: nothing has happened yet, so the stream is empty. With `until` in the past it
    // ends at once; without, the head is sent at once and the body stays open.
    let (status, headers, body) = raw(&vch, "GET", "/v1.25/events?until=1").await;
    assert_eq!((status, body.len()), (200, 0));
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/json")
    );
    let mut s = tokio::net::TcpStream::connect(vch.addr).await.unwrap();
    s.write_all(
        format!(
            "GET /v1.25/events?filters=%7B%22type%22%3A%7B%22container%22%3Atrue%7D%7D HTTP/1.1\r\nHost: {}\r\n\r\n",
            vch.addr
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("the event stream's head comes at once")
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
    assert!(buf.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let more = tokio::time::timeout(Duration::from_millis(300), s.read(&mut chunk)).await;
    assert!(more.is_err(), "the event stream stays open: {more:?}");
    drop(s);
    let (status, _, body) = raw(&vch, "GET", "/events?until=abc").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // A newer client is told the maximum (the header lets it negotiate down).
    let (status, headers, _) = raw(&vch, "HEAD", "/v1.41/_ping").await;
    assert_eq!(status, 400);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "api-version" && v == "1.25")
    );

    let (status, v, _) = get(&vch, "/v1.18/version").await;
    assert_eq!(status, 400);
    assert_eq!(
        v["message"],
        "client version 1.18 is too old. Minimum supported API version is 1.19, please upgrade your client to a newer version"
    );
    let (status, v, _) = get(&vch, "/v1.25/version").await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["ApiVersion"].as_str(), v["MinAPIVersion"].as_str()),
        (Some("1.25"), Some("1.19"))
    );
    assert_eq!(
        (v["Version"].as_str(), v["KernelVersion"].as_str()),
        (Some("1.2.1"), Some("-"))
    );
    assert_eq!(v["Experimental"], true);

    let (status, v, _) = get(&vch, "/info").await;
    assert_eq!(status, 200);
    assert_eq!(v["NCPU"], 500, "NCPU is the pool's CPU limit in MHz");
    assert_eq!(v["MemTotal"], 500i64 * 1024 * 1024);
    assert_eq!(v["Name"], "vch-sys");
    assert_eq!(v["ID"], "vSphere Integrated Containers");
    let driver = v["Driver"].as_str().unwrap().to_owned();
    assert_eq!(
        driver,
        "vSphere Integrated Containers v1.2.1 Backend Engine"
    );
    let status_pairs = v["SystemStatus"].as_array().unwrap();
    assert!(status_pairs.contains(&serde_json::json!([" VCH CPU limit", "500 MHz"])));
    assert!(status_pairs.contains(&serde_json::json!([driver, "RUNNING"])));

    for (method, path, code, msg) in [
        (
            "POST",
            "/v1.25/containers/abc/pause",
            500,
            "vSphere Integrated Containers does not yet implement ContainerPause",
        ),
        (
            "POST",
            "/build",
            500,
            "vSphere Integrated Containers does not yet implement BuildFromContext",
        ),
        (
            "POST",
            "/v1.25/images/busybox/push",
            500,
            "vSphere Integrated Containers does not yet implement PushImage",
        ),
        (
            "GET",
            "/v1.25/swarm",
            404,
            "Docker Swarm is not yet supported",
        ),
        ("GET", "/services", 404, "Docker Swarm is not yet supported"),
        ("GET", "/v1.25/no/such/route", 404, "page not found"),
        (
            "GET",
            "/v1.25/containers/nope/json",
            404,
            "No such container: nope",
        ),
        (
            "POST",
            "/v1.25/containers/nope/start",
            404,
            "No such container: nope",
        ),
        (
            "DELETE",
            "/v1.25/containers/nope",
            404,
            "No such container: nope",
        ),
    ] {
        let (status, v, text) = http(&vch, method, path, None).await;
        assert_eq!(
            (status, v["message"].as_str()),
            (code, Some(msg)),
            "{method} {path}: {text}"
        );
    }

    // The plain-HTTP endpoint checks the Host header (vic.md §4.1).
    let (status, _, body) = http_raw(vch.addr, "GET", "/_ping", "evil.example.com", None).await;
    assert_eq!(status, 500);
    assert!(String::from_utf8_lossy(&body).contains("invalid host header from"));

    // Pulls stream progress; an unknown image is docker's not-found stream error.
    let (status, _, text) = post(
        &vch,
        "/images/create?fromImage=progrium%2Fstress&tag=latest",
    )
    .await;
    assert_eq!(status, 200);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["status"], "Pulling from progrium/stress");
    assert_eq!(
        lines.last().unwrap()["status"],
        "Status: Downloaded newer image for progrium/stress:latest"
    );
    let (_, _, text) = post(
        &vch,
        "/images/create?fromImage=progrium%2Fstress&tag=latest",
    )
    .await;
    assert!(text.contains("Image is up to date for progrium/stress:latest"));
    let (status, _, text) = post(&vch, "/images/create?fromImage=nosuch&tag=latest").await;
    assert_eq!(status, 200);
    let err: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        err["error"],
        "repository nosuch not found: does not exist or no pull access"
    );
    assert_eq!(err["errorDetail"]["message"], err["error"]);
    let (status, v, _) = get(&vch, "/images/json").await;
    assert_eq!(status, 200);
    assert_eq!(v[0]["RepoTags"][0], "progrium/stress:latest");
    let (status, v, _) = get(&vch, "/images/progrium/stress/json").await;
    assert_eq!(status, 200);
    assert_eq!(v["Config"]["Entrypoint"][0], "/usr/bin/stress");
    statuses(
        &vch,
        &[
            (
                "POST",
                "/images/progrium/stress/tag?repo=local%2Fstress&tag=v1",
                201,
            ),
            ("GET", "/images/local/stress:v1/json", 200),
        ],
    )
    .await;

    let (status, v, _) = get(&vch, "/networks").await;
    assert_eq!(status, 200);
    assert_eq!(v[0]["Name"], "bridge");
    assert_eq!(v[0]["IPAM"]["Config"][0]["Subnet"], "172.16.0.0/16");
    let (status, v, _) = get(&vch, "/networks/bridge").await;
    assert_eq!((status, v["Driver"].as_str()), (200, Some("bridge")));
    let (status, v, _) = get(&vch, "/networks/nope").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("network nope not found"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_lifecycle_over_raw_http() {
    let vch = start_vch("vch-raw", 2).await;
    // Not pulled yet: docker's not-found, which makes the CLI pull.
    let (status, v, _) = post_json(&vch, "/v1.25/containers/create?name=stress1", STRESS).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("No such image: progrium/stress:latest"))
    );
    post(
        &vch,
        "/images/create?fromImage=progrium%2Fstress&tag=latest",
    )
    .await;
    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;

    let (status, v, text) = post_json(&vch, "/v1.25/containers/create?name=stress1", STRESS).await;
    assert_eq!(status, 201, "{text}");
    let id = v["Id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 64);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(
        v["Warnings"].is_null(),
        "no warning for exceeding the VCH limits"
    );

    // The containerVM: display name per convention, 2 vCPUs, 4096 MB, in the VCH pool.
    let display = format!("stress1-{}", &id[..12]);
    let vms = vms_in_pool(&vch).await;
    let vm = vms
        .iter()
        .find(|v| v.0 == display)
        .expect("containerVM in the pool");
    assert_eq!(
        (vm.1, vm.2, &vm.3, vm.4.as_str()),
        (2, 4096, &vch.pool, "poweredOff")
    );

    // Name conflicts, sizing.
    let (status, v, _) = post_json(&vch, "/containers/create?name=stress1", STRESS).await;
    assert_eq!(status, 409);
    assert_eq!(
        v["message"].as_str().unwrap(),
        format!(
            "conflict. The name \"stress1\" is already in use by container {id}. You have to remove (or rename) that container to be able to re use that name."
        )
    );
    let (status, v, _) = post_json(
        &vch,
        "/containers/create",
        r#"{"Image":"busybox","HostConfig":{"CpusetCpus":"0-3"}}"#,
    )
    .await;
    assert_eq!(status, 400, "bad input is a 400");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Error parsing CPU count: ")
    );
    let (status, v, _) = post_json(
        &vch,
        "/containers/create?name=small",
        r#"{"Image":"busybox","Cmd":["sleep","1000"],"HostConfig":{"Memory":104857600}}"#,
    )
    .await;
    assert_eq!(status, 201);
    let small = v["Id"].as_str().unwrap().to_owned();
    let vms = vms_in_pool(&vch).await;
    let vm = vms
        .iter()
        .find(|v| v.0 == format!("small-{}", &small[..12]))
        .unwrap();
    assert_eq!(
        (vm.1, vm.2),
        (2, 512),
        "defaults to 2 vCPUs, -m below 512 MB gives 512"
    );
    let (status, v, _) = post_json(
        &vch,
        "/containers/create",
        r#"{"Image":"busybox","Entrypoint":[],"Cmd":[]}"#,
    )
    .await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("No command specified"))
    );

    // Start: the tether reports started, ps and inspect show it running.
    let start = format!("/v1.25/containers/{id}/start");
    statuses(&vch, &[("POST", &start, 204), ("POST", &start, 304)]).await;
    let (_, ps, _) = get(&vch, "/v1.25/containers/json").await;
    let ps = ps.as_array().unwrap();
    assert_eq!(ps.len(), 1, "only running containers without all");
    assert_eq!(ps[0]["Names"][0], "/stress1");
    assert_eq!(ps[0]["State"], "running");
    assert!(ps[0]["Status"].as_str().unwrap().starts_with("Up "));
    assert_eq!(ps[0]["Image"], "progrium/stress");
    assert_eq!(
        ps[0]["Command"],
        "/usr/bin/stress --verbose --cpu 1 --timeout 300s"
    );
    let (_, ins, _) = get(&vch, "/v1.25/containers/stress1/json").await;
    assert_eq!(ins["Id"], id.as_str());
    assert_eq!(ins["State"]["Running"], true);
    assert_eq!(ins["Path"], "/usr/bin/stress");
    assert_eq!(
        ins["Args"],
        serde_json::json!(["--verbose", "--cpu", "1", "--timeout", "300s"])
    );
    assert_eq!(ins["HostConfig"]["Memory"], 4096i64 * 1024 * 1024);
    assert_eq!(ins["HostConfig"]["CpusetCpus"], "2");
    assert_eq!(ins["NetworkSettings"]["IPAddress"], "172.16.0.2");
    assert_eq!(
        ins["NetworkSettings"]["Networks"]["bridge"]["Gateway"],
        "172.16.0.1"
    );
    let vm_ref = vch
        .client
        .view_contents(&vch.pool, &["VirtualMachine"], true, &["name"])
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.text("name") == Some(display.as_str()))
        .unwrap()
        .obj;
    assert!(
        vch.tether.rules_of(&vm_ref).is_some(),
        "the tether applied a rule set"
    );
    let ip = vch
        .client
        .get_property(&vm_ref, "guest.ipAddress")
        .await
        .unwrap()
        .and_then(|v| v.as_str().map(str::to_owned));
    assert_eq!(ip.as_deref(), Some("172.16.0.2"));

    let (status, _, text) = get(
        &vch,
        &format!("/containers/{}/logs?stdout=1&stderr=1", &id[..12]),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        text.contains("stress: info: [1] dispatching hogs: 1 cpu, 0 io, 0 vm, 0 hdd"),
        "{text}"
    );

    // Prefix and name filters.
    let (_, v, _) = get(
        &vch,
        "/containers/json?all=1&filters=%7B%22name%22%3A%7B%22small%22%3Atrue%7D%7D",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["State"], "created");
    assert_eq!(v[0]["Status"], "Created");

    // The stress run ends by itself after 300 s: it is busy through the sample ending at
    // 300 s and gone at the next one (Exited (0)).
    vch.vc.advance(320_000);
    let (_, v, _) = get(
        &vch,
        "/containers/json?all=1&filters=%7B%22status%22%3A%5B%22exited%22%5D%7D",
    )
    .await;
    let v = v.as_array().unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["Id"], id.as_str());
    assert!(
        v[0]["Status"].as_str().unwrap().starts_with("Exited (0) "),
        "{}",
        v[0]["Status"]
    );
    let (_, ins, _) = get(&vch, &format!("/containers/{id}/json")).await;
    assert_eq!(
        (
            ins["State"]["Status"].as_str(),
            ins["State"]["ExitCode"].as_i64()
        ),
        (Some("exited"), Some(0))
    );
    let (status, v, _) = post(&vch, &format!("/containers/{id}/wait")).await;
    assert_eq!((status, v["StatusCode"].as_i64()), (200, Some(0)));
    let (_, _, text) = get(&vch, &format!("/containers/{id}/logs?stdout=1&stderr=1")).await;
    assert!(
        text.contains("stress: info: [1] successful run completed in 300s"),
        "{text}"
    );
    let vms = vms_in_pool(&vch).await;
    assert_eq!(vms.iter().find(|v| v.0 == display).unwrap().4, "poweredOff");

    // Stop and kill a long-running container; restart; rename re-applies the convention.
    statuses(&vch, &[("POST", "/containers/small/start", 204)]).await;
    let (_, ins, _) = get(&vch, "/containers/small/json").await;
    // A container whose process ended keeps its address until it starts again or is removed.
    assert_eq!(ins["NetworkSettings"]["IPAddress"], "172.16.0.3");
    statuses(
        &vch,
        &[
            ("POST", "/containers/small/stop", 204),
            ("POST", "/containers/small/stop", 304),
        ],
    )
    .await;
    let (_, ins, _) = get(&vch, "/containers/small/json").await;
    assert_eq!(
        (
            ins["State"]["Status"].as_str(),
            ins["State"]["ExitCode"].as_i64()
        ),
        (Some("exited"), Some(143))
    );
    statuses(
        &vch,
        &[
            ("POST", "/containers/small/kill", 409),
            ("POST", "/containers/small/restart", 204),
            ("POST", "/containers/small/kill", 204),
        ],
    )
    .await;
    let (_, ins, _) = get(&vch, "/containers/small/json").await;
    assert_eq!(ins["State"]["ExitCode"], 137);
    statuses(
        &vch,
        &[
            ("POST", "/containers/small/rename?name=big", 204),
            ("POST", "/containers/big/rename?name=stress1", 409),
        ],
    )
    .await;
    let (status, v, _) = post(&vch, "/containers/big/rename?name=a%20b").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (
            400,
            Some("Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        )
    );
    let vms = vms_in_pool(&vch).await;
    assert!(
        vms.iter().any(|v| v.0 == format!("big-{}", &small[..12])),
        "{vms:?}"
    );

    // rm: a running container needs force; afterwards the VM is gone.
    post(&vch, "/containers/big/start").await;
    let (status, v, _) = http(&vch, "DELETE", "/containers/big", None).await;
    assert_eq!(status, 409);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("You cannot remove a running container")
    );
    statuses(
        &vch,
        &[
            ("DELETE", "/containers/big?force=1", 204),
            ("DELETE", &format!("/containers/{id}"), 204),
        ],
    )
    .await;
    assert!(vms_in_pool(&vch).await.is_empty());
    let (status, _, _) = get(&vch, "/containers/stress1/json").await;
    assert_eq!(status, 404);
    // The name is free again.
    let (status, _, _) = post_json(&vch, "/containers/create?name=stress1", STRESS).await;
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_endpoint_finds_its_containers() {
    let vch = start_vch("vch-sync", 3).await;
    post(&vch, "/images/create?fromImage=busybox&tag=latest").await;
    let (_, v, _) = post_json(
        &vch,
        "/containers/create?name=keep",
        r#"{"Image":"busybox","Cmd":["sleep","1000"],"Labels":{"tier":"web"}}"#,
    )
    .await;
    let id = v["Id"].as_str().unwrap().to_owned();
    assert_eq!(post(&vch, "/containers/keep/start").await.0, 204);
    // A second endpoint for the same VCH (as after an appliance restart) rebuilds its cache.
    let addr = second_endpoint(&vch, "vch-sync", 4, vch.client.endpoint().url()).await;
    let (status, _, body) = http_raw(
        addr,
        "GET",
        "/containers/json?filters=%7B%22label%22%3A%5B%22tier%3Dweb%22%5D%7D",
        &addr.to_string(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v[0]["Id"], id.as_str(), "{v}");
    assert_eq!(v[0]["Names"][0], "/keep");
    assert_eq!(v[0]["State"], "running");
    assert_eq!(v[0]["Command"], "sleep 1000");
}

/// Runs the docker CLI against `addr` with a private config directory: (exit ok, stdout,
/// stderr).
pub(crate) async fn docker(
    addr: SocketAddr,
    config_dir: &std::path::Path,
    args: &[&str],
) -> (bool, String, String) {
    docker_env(addr, config_dir, &[], args).await
}

/// Runs the docker CLI against `addr` with `env` set: (exit ok, stdout, stderr).
pub(crate) async fn docker_env(
    addr: SocketAddr,
    config_dir: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = std::process::Command::new("docker");
    cmd.arg("-H")
        .arg(format!("tcp://{addr}"))
        .args(args)
        .env("DOCKER_CONFIG", config_dir)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_API_VERSION")
        .envs(env.iter().copied());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("docker runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn have_docker_cli() -> bool {
    std::process::Command::new("docker")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docker_cli_drives_the_endpoint() {
    // The real client is part of the test, never skipped: scripts/test.sh installs it.
    assert!(
        have_docker_cli(),
        "no docker CLI on PATH: run `bash scripts/test.sh` (it installs Debian's docker.io client) or install one"
    );
    let vch = start_vch("vch-cli", 5).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path();
    let a = vch.addr;

    let (ok, out, err) = docker(
        a,
        cfg,
        &[
            "version",
            "--format",
            "{{.Server.APIVersion}} {{.Server.Version}}",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "1.25 1.2.1");
    let (ok, out, err) = docker(
        a,
        cfg,
        &[
            "info",
            "--format",
            "{{.NCPU}} {{.MemTotal}} {{.Name}} {{.Driver}}",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "500 524288000 vch-cli vSphere Integrated Containers v1.2.1 Backend Engine"
    );
    let (ok, out, err) = docker(a, cfg, &["info"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("Name: vch-cli"), "{out}");

    let (ok, out, err) = docker(
        a,
        cfg,
        &[
            "run",
            "-d",
            "-m",
            "4g",
            "--cpuset-cpus",
            "2",
            "progrium/stress",
            "--cpu",
            "1",
            "--timeout",
            "300s",
        ],
    )
    .await;
    assert!(ok, "run failed: {err}");
    assert!(
        err.contains("Unable to find image 'progrium/stress:latest' locally"),
        "{err}"
    );
    let id = out.lines().last().unwrap().trim().to_owned();
    assert_eq!(id.len(), 64, "{out}");

    let (ok, out, err) = docker(a, cfg, &["ps"]).await;
    assert!(ok, "{err}");
    assert!(out.contains(&id[..12]) && out.contains("Up "), "{out}");
    let (ok, out, err) = docker(
        a,
        cfg,
        &[
            "inspect",
            "-f",
            "{{.Name}} {{.State.Running}} {{.HostConfig.Memory}}",
            &id,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(&fields[1..], ["true", "4294967296"], "{out}");
    let name = fields[0].trim_start_matches('/').to_owned();
    let (ok, out, err) = docker(a, cfg, &["logs", &id]).await;
    assert!(ok, "{err}");
    assert!(out.contains("dispatching hogs: 1 cpu"), "{out}");

    // Over SOAP: display name per convention, 2 vCPUs, 4096 MB, in the VCH pool.
    let vms = vms_in_pool(&vch).await;
    let display = format!("{name}-{}", &id[..12]);
    let vm = vms
        .iter()
        .find(|v| v.0 == display)
        .unwrap_or_else(|| panic!("{display} in {vms:?}"));
    assert_eq!(
        (vm.1, vm.2, &vm.3, vm.4.as_str()),
        (2, 4096, &vch.pool, "poweredOn")
    );

    // Busy through the sample ending at 300 s, exited at the next one.
    vch.vc.advance(320_000);
    let (ok, out, err) = docker(a, cfg, &["ps", "-a", "--format", "{{.ID}} {{.Status}}"]).await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!("{} Exited (0) ", &id[..12])),
        "{out}"
    );
    let (ok, out, _) = docker(a, cfg, &["ps", "-q"]).await;
    assert!(ok && out.trim().is_empty(), "{out}");
    let (ok, out, _) = docker(a, cfg, &["wait", &id]).await;
    assert!(ok);
    assert_eq!(out.trim(), "0");

    // A second run, stopped and removed.
    let (ok, out, err) = docker(a, cfg, &["run", "-d", "--name", "web", "nginx"]).await;
    assert!(ok, "{err}");
    let web = out.lines().last().unwrap().trim().to_owned();
    let (ok, _, err) = docker(a, cfg, &["stop", "web"]).await;
    assert!(ok, "{err}");
    let (ok, out, _) = docker(
        a,
        cfg,
        &[
            "ps",
            "-a",
            "--filter",
            "name=web",
            "--format",
            "{{.Status}}",
        ],
    )
    .await;
    assert!(ok && out.starts_with("Exited (143)"), "{out}");
    let (ok, _, err) = docker(a, cfg, &["rename", "web", "web2"]).await;
    assert!(ok, "{err}");
    assert!(
        vms_in_pool(&vch)
            .await
            .iter()
            .any(|v| v.0 == format!("web2-{}", &web[..12]))
    );
    let (ok, _, err) = docker(a, cfg, &["rm", "web2", &id]).await;
    assert!(ok, "{err}");
    assert!(vms_in_pool(&vch).await.is_empty());

    // Refusals as the user sees them.
    let (ok, _, err) = docker(a, cfg, &["run", "-d", "nosuch/image"]).await;
    assert!(!ok);
    assert!(
        err.contains("repository nosuch/image not found: does not exist or no pull access"),
        "{err}"
    );
    let (ok, _, err) = docker(a, cfg, &["pause", "nope"]).await;
    assert!(
        !ok && err.contains("No such container: nope") || err.contains("does not yet implement"),
        "{err}"
    );
    let (ok, _, err) = docker(a, cfg, &["node", "ls"]).await;
    assert!(
        !ok && err.contains("Docker Swarm is not yet supported"),
        "{err}"
    );
    let (ok, out, _) = docker(a, cfg, &["network", "ls", "--format", "{{.Name}}"]).await;
    assert!(ok);
    assert_eq!(out.trim(), "bridge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_networks_apply_trust_levels() {
    let vch = start_vch_with(
        "vch-net",
        6,
        &[
            (
                "routable",
                Some(("10.10.0.1", 24)),
                Some(("10.10.0.10", "10.10.0.20")),
                None,
            ),
            ("sealed", None, None, Some(TrustLevel::Closed)),
            (
                "friends",
                Some(("10.20.0.1", 24)),
                Some(("10.20.0.8", "10.20.0.15")),
                Some(TrustLevel::Peers),
            ),
        ],
    )
    .await;
    post(&vch, "/images/create?fromImage=nginx&tag=latest").await;
    let body = |net: &str, ports: &str| {
        format!(
            r#"{{"Image":"nginx","HostConfig":{{"NetworkMode":"{net}","PortBindings":{ports}}}}}"#
        )
    };
    // Port checks per trust level, with VIC's messages (vic.md §3.2).
    let publish_80 = r#"{"80/tcp":[{"HostPort":""}]}"#;
    for (spec, code, msg) in [
        (
            body("sealed", publish_80),
            500,
            "ports cannot be published via container network sealed (firewall configured as either \"closed\" or \"outbound\")",
        ),
        (
            body("friends", publish_80),
            500,
            "ports published via container network friends must specify a mapping (firewall configured for \"peers\" - no need for publishing unless redirecting)",
        ),
        (body("nowhere", "{}"), 404, "network nowhere not found"),
        (
            r#"{"Image":"nginx","NetworkingConfig":{"EndpointsConfig":{"routable":{},"bridge":{}}}}"#
                .to_owned(),
            400,
            "NetworkMode error: Container can be connected to one vicnetwork endpoint only",
        ),
    ] {
        let (status, v, text) = post_json(&vch, "/containers/create", &spec).await;
        assert_eq!(
            (status, v["message"].as_str()),
            (code, Some(msg)),
            "{spec}: {text}"
        );
    }

    // Published (the default) on a static range: the first address of the range; ps shows
    // the direct port on the container's address.
    let (status, v, text) = post_json(
        &vch,
        "/containers/create?name=web",
        &body("routable", publish_80),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let id = v["Id"].as_str().unwrap().to_owned();
    assert_eq!(post(&vch, "/containers/web/start").await.0, 204);
    let (_, ins, _) = get(&vch, "/containers/web/json").await;
    assert_eq!(
        ins["NetworkSettings"]["Networks"]["routable"]["IPAddress"],
        "10.10.0.10"
    );
    assert_eq!(
        ins["NetworkSettings"]["Networks"]["routable"]["Gateway"],
        "10.10.0.1"
    );
    let (_, ps, _) = get(&vch, "/containers/json").await;
    assert_eq!(
        ps[0]["Ports"],
        serde_json::json!([{"IP": "10.10.0.10", "PrivatePort": 80, "PublicPort": 80, "Type": "tcp"}])
    );
    let vm = vch
        .client
        .view_contents(&vch.pool, &["VirtualMachine"], true, &["name"])
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.text("name") == Some(format!("web-{}", &id[..12]).as_str()))
        .unwrap()
        .obj;
    let rules = vch.tether.rules_of(&vm).expect("rules");
    let text = rules.to_iptables_restore();
    assert!(text.contains("--dport 80"), "{text}");

    // Closed without a range: a dynamic address; no ports.
    let (status, _, _) =
        post_json(&vch, "/containers/create?name=quiet", &body("sealed", "{}")).await;
    assert_eq!(status, 201);
    assert_eq!(post(&vch, "/containers/quiet/start").await.0, 204);
    let (_, ins, _) = get(&vch, "/containers/quiet/json").await;
    assert!(
        ins["NetworkSettings"]["IPAddress"]
            .as_str()
            .unwrap()
            .starts_with("10."),
        "{}",
        ins["NetworkSettings"]
    );
    let (_, v, _) = get(&vch, "/networks/routable").await;
    assert_eq!(v["Driver"], "external");
    assert_eq!(v["Containers"][id.as_str()]["IPv4Address"], "10.10.0.10/24");

    // -p H:C on the bridge is mapped on the endpoint; a second claim of H is refused.
    for name in ["b1", "b2"] {
        let (status, _, text) = post_json(
            &vch,
            &format!("/containers/create?name={name}"),
            &body("bridge", r#"{"80/tcp":[{"HostPort":"8080"}]}"#),
        )
        .await;
        assert_eq!(status, 201, "{name}: {text}");
    }
    assert_eq!(post(&vch, "/containers/b1/start").await.0, 204);
    let (status, v, _) = post(&vch, "/containers/b2/start").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (
            500,
            Some("Bind for 0.0.0.0:8080 failed: port is already allocated")
        )
    );
    let (_, ps, _) = get(
        &vch,
        "/containers/json?filters=%7B%22name%22%3A%5B%22b1%22%5D%7D",
    )
    .await;
    assert_eq!(
        ps[0]["Ports"],
        serde_json::json!([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}])
    );
    assert_eq!(post(&vch, "/containers/b1/stop").await.0, 204);
    assert_eq!(
        post(&vch, "/containers/b2/start").await.0,
        204,
        "the port is free once b1 stopped"
    );
}
