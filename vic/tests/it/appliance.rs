//! `vic-machine create/ls/inspect/delete` against the in-process emulator with the VCH
//! appliance agent. The agent's launcher here is a double of the peer component (the Docker
//! engine) that serves only `/info`, enough for vic-machine's readiness wait; the root
//! `vic_machine` tests run the real engine through `vicbed serve`.

use std::net::IpAddr;
use std::sync::Arc;

use crate::sim::{self, Sim, client, has};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use vcsim::vmodl::Value;
use vic::appliance::{ApplianceAgent, Launcher, Shutdown};
use vic::engine::EngineConfig;
use vic::guestinfo::vch;
use vic::machine::run_captured;
use vic::vsphere::option_value;

/// Serves `/info` (and nothing else) on the endpoint's listener, over TLS when configured.
fn info_double() -> Launcher {
    Arc::new(
        |cfg: EngineConfig, listener: TcpListener, shutdown: Shutdown| {
            let acceptor = cfg.tls.clone().map(tokio_rustls::TlsAcceptor::from);
            tokio::spawn(async move {
                let serve = async move {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            return;
                        };
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            match acceptor {
                                Some(a) => {
                                    if let Ok(s) = a.accept(tcp).await {
                                        answer(s).await;
                                    }
                                }
                                None => answer(tcp).await,
                            }
                        });
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = shutdown => {}
                }
            });
        },
    )
}

async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = r#"{"Driver":"vSphere Integrated Containers v1.2.1 Backend Engine","SystemStatus":[["vSphere Integrated Containers v1.2.1 Backend Engine","RUNNING"]]}"#;
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(resp.as_bytes()).await;
    let _ = s.shutdown().await;
}

async fn start() -> Sim {
    sim::start(vec![Arc::new(ApplianceAgent::new(info_double()))]).await
}

/// Asserts that each of `wants` stands in some line of `lines`.
fn assert_has(lines: &[String], wants: &[&str]) {
    for want in wants {
        assert!(has(lines, want), "missing {want:?}:\n{}", lines.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_inspect_ls_delete_server_only_tls() {
    let sim = start().await;
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("vchA");
    let target = format!("--target={}", sim.url);
    // A free address, so parallel runs on one machine do not collide.
    let ip = sim::free_client_ip().to_string();
    let cnip = format!("{ip}/8");
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchA",
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--cpu",
        "500",
        "--memory",
        "500",
        "--no-tlsverify",
        "--client-network-ip",
        &cnip,
        "--tls-cert-path",
        certs.to_str().unwrap(),
        "--timeout",
        "60s",
    ])
    .await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    assert_has(
        &lines,
        &[
            "Waiting for IP information",
            "Waiting for major appliance components to launch",
            "VCH ID: vm-",
            "VCH Default Bridge Network Range: 172.16.0.0/12",
            "VCH Default Bridge Network Width: 16",
            "Docker environment variables:",
            &format!("DOCKER_HOST={ip}:2376 COMPOSE_TLS_VERSION=TLSv1_2"),
            "Environment saved in",
            "Connect to docker:",
            &format!("docker -H {ip}:2376 --tls --tlscacert="),
            "Installer completed successfully",
        ],
    );
    assert!(certs.join("vchA.env").is_file());

    // The pool and the appliance, over SOAP.
    let c = client(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.unwrap();
    let pool = f
        .resource_pool(Some("DC0_C0/Resources/vchA"))
        .await
        .unwrap();
    let cfg = c
        .retrieve_properties(
            std::slice::from_ref(&pool.moref),
            "ResourcePool",
            &["config.cpuAllocation", "config.memoryAllocation"],
        )
        .await
        .unwrap()
        .remove(0);
    for (path, limit) in [
        ("config.cpuAllocation", 500),
        ("config.memoryAllocation", 500),
    ] {
        let a = cfg.get(path).unwrap();
        assert_eq!(
            a.field("limit").and_then(Value::as_i64),
            Some(limit),
            "{a:?}"
        );
        assert_eq!(a.field("reservation").and_then(Value::as_i64), Some(0));
        assert_eq!(
            a.field("expandableReservation").and_then(Value::as_bool),
            Some(true)
        );
    }
    let vm = f.virtual_machine("vchA").await.unwrap().moref;
    let p = c
        .retrieve_properties(
            std::slice::from_ref(&vm),
            "VirtualMachine",
            &[
                "runtime.powerState",
                "config.extraConfig",
                "config.hardware.numCPU",
                "config.hardware.memoryMB",
                "config.guestId",
                "resourcePool",
                "guest.ipAddress",
            ],
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(p.text("runtime.powerState"), Some("poweredOn"));
    assert_eq!(
        p.get("config.hardware.numCPU").and_then(Value::as_i64),
        Some(1)
    );
    assert_eq!(
        p.get("config.hardware.memoryMB").and_then(Value::as_i64),
        Some(2048)
    );
    assert_eq!(p.text("config.guestId"), Some("otherGuest64"));
    assert_eq!(
        p.get("resourcePool").and_then(Value::as_moref),
        Some(&pool.moref)
    );
    assert_eq!(p.text("guest.ipAddress"), Some(ip.as_str()));
    let ec = p.get("config.extraConfig").unwrap();
    let text = |k: &str| {
        option_value(ec, k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(text(vch::ID), Some(vm.to_string()));
    assert_eq!(text("init/common/name").as_deref(), Some("vchA"));
    assert_eq!(
        text(vch::CLIENT_ASSIGNED_IP),
        Some(vic::guestinfo::encode_ip(ip.parse::<IpAddr>().unwrap()))
    );
    for comp in vch::COMPONENTS {
        assert_eq!(
            text(&vch::session_started_key(comp)).as_deref(),
            Some("true")
        );
    }
    assert!(text(vch::HOST_CERTIFICATE).is_some());
    assert!(
        text(vch::CERTIFICATE_AUTHORITIES).is_none(),
        "--no-tlsverify"
    );
    assert_eq!(
        text(&vch::compute_resource_key(0, "Value")),
        Some(pool.moref.value.clone())
    );
    assert_eq!(
        text(&vch::session_key(vch::DOCKER_PERSONALITY, "cmd/Path")).as_deref(),
        Some("/sbin/docker-engine-server")
    );

    // ls and inspect.
    let (lines, r) = run_captured(&["ls", &target]).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(
        has(&lines, "ID") && has(&lines, "UPGRADE STATUS"),
        "{lines:?}"
    );
    let row = lines
        .iter()
        .find(|l| l.contains("vchA"))
        .expect("a vchA row");
    assert!(
        row.contains(&vm.value)
            && row.contains("/DC0/host/DC0_C0/Resources/vchA")
            && row.contains("Up to date"),
        "{row}"
    );
    let (lines, r) = run_captured(&["inspect", &target, "--name", "vchA"]).await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    assert_has(
        &lines,
        &[
            "Installer has same version as VCH",
            &format!("docker -H {ip}:2376 --tls info"),
        ],
    );

    // A second create with the same name is refused, and leaves nothing behind.
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchA",
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--no-tls",
        "--tls-cert-path",
        certs.to_str().unwrap(),
    ])
    .await;
    assert_eq!(
        r.unwrap_err().message,
        "A VCH with the name \"vchA\" already exists. Please choose a different name before attempting another install",
        "{lines:?}"
    );

    // delete removes the VM, the folder and the pool.
    let (lines, r) = run_captured(&["delete", &target, "--name", "vchA"]).await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    assert!(has(&lines, "Completed successfully"));
    assert!(f.virtual_machine("vchA").await.is_err());
    assert!(
        f.resource_pool(Some("DC0_C0/Resources/vchA"))
            .await
            .is_err()
    );
    assert!(f.find(vic::vsphere::Kind::Folder, "vm/vchA").await.is_err());
    // The endpoint is gone with the appliance.
    assert!(
        tokio::net::TcpStream::connect((ip.as_str(), 2376))
            .await
            .is_err(),
        "the endpoint still listens after delete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_and_dhcp_addresses() {
    let sim = start().await;
    let tmp = tempfile::tempdir().unwrap();
    let target = format!("--target={}", sim.url);
    // tlsverify with a static address: the readiness check presents the client certificate.
    let certs = tmp.path().join("vchM");
    let ip = sim::free_client_ip().to_string();
    let cnip = format!("{ip}/8");
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchM",
        "-r",
        "DC0_C0",
        "-b",
        "DC0_DVPG0",
        "--client-network-ip",
        &cnip,
        "--tls-cert-path",
        certs.to_str().unwrap(),
        "--timeout",
        "60s",
    ])
    .await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    assert!(
        has(&lines, "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=")
            && has(&lines, &format!("DOCKER_HOST={ip}:2376"))
            && has(
                &lines,
                &format!("docker -H {ip}:2376 --tlsverify --tlscacert=")
            ),
        "{}",
        lines.join("\n")
    );
    // --no-tls without an address: the appliance hands out the next free 127.0.1.N.
    let certs = tmp.path().join("vchD");
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchD",
        "-r",
        "DC0_C0",
        "-b",
        "DC0_DVPG0",
        "--no-tls",
        "--tls-cert-path",
        certs.to_str().unwrap(),
        "--timeout",
        "60s",
    ])
    .await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    let env = lines
        .iter()
        .find(|l| l.contains("DOCKER_HOST=127.0.1."))
        .unwrap_or_else(|| panic!("no DOCKER_HOST line:\n{}", lines.join("\n")));
    assert!(env.contains(":2375 COMPOSE_TLS_VERSION=TLSv1_2"), "{env}");
    for name in ["vchM", "vchD"] {
        let (lines, r) = run_captured(&["delete", &target, "--name", name]).await;
        assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_collects_issues_and_creates_nothing() {
    let sim = start().await;
    let tmp = tempfile::tempdir().unwrap();
    let target = format!("--target={}", sim.url);
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchV",
        "-r",
        "DC0_C0",
        "--bridge-network",
        "nosuch",
        "--public-network",
        "nosuch-public",
        "--no-tls",
        "--tls-cert-path",
        tmp.path().join("v").to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.unwrap_err().message, "validation of configuration failed");
    assert_has(
        &lines,
        &[
            "An existing distributed port group or opaque network must be specified for bridge network on vCenter:",
            "Error checking network for --public-network: network 'nosuch-public' not found",
            "Create cannot continue: configuration validation failed",
        ],
    );
    let c = client(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.unwrap();
    assert!(
        f.resource_pool(Some("DC0_C0/Resources/vchV"))
            .await
            .is_err()
    );
    // No default compute resource: DC0 has a cluster and a standalone host.
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchV",
        "-b",
        "DC0_DVPG0",
        "--no-tls",
        "--tls-cert-path",
        tmp.path().join("v").to_str().unwrap(),
    ])
    .await;
    assert_eq!(r.unwrap_err().message, "validation of configuration failed");
    assert_has(
        &lines,
        &[
            "No unambiguous default compute resource available: --compute-resource must be specified",
        ],
    );
}

/// A static client address another process already listens on: the appliance still has its
/// IP, the Docker personality cannot start, and vic-machine fails with that error instead of
/// waiting out `--timeout` (which would fail with "exceeded time limit").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_static_address_fails_create_with_the_endpoint_error() {
    let sim = start().await;
    let ip = sim::free_client_ip().to_string();
    let cnip = format!("{ip}/8");
    let taken = TcpListener::bind((ip.as_str(), 2376)).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let target = format!("--target={}", sim.url);
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchTaken",
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--client-network-ip",
        &cnip,
        "--no-tlsverify",
        "--tls-cert-path",
        tmp.path().join("c").to_str().unwrap(),
        "--timeout",
        "60s",
    ])
    .await;
    drop(taken);
    let all = format!("{}\n{r:?}", lines.join("\n"));
    assert!(r.is_err(), "{all}");
    assert!(all.contains(&format!("{ip}:2376")), "{all}");
    // The endpoint's error, not the readiness wait running out.
    assert!(!all.contains("exceeded time limit"), "{all}");
}
