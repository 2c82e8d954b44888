//! `docker run -d` over mutual TLS and `vic-machine create`, end to end, in process.
//!
//! Set-up: the emulator with the VCH appliance agent (running the real engine) and the
//! containerVM tether, served over SOAP on loopback with its clock running; a VCH deployed by
//! `vic-machine create` through the library (default mode: generated CA, server and client
//! certificates, mutual TLS on 127.0.1.N:2376).
//!
//! * `docker_run/create_start_mtls`: what `docker run -d -m 4g --cpuset-cpus 2
//!   progrium/stress --cpu 1 --timeout 300s` asks of the endpoint once the image is pulled:
//!   a new TLS connection with the generated client certificate (verified against the
//!   generated CA, as `docker --tlsverify` does), `POST /containers/create` and
//!   `POST /containers/{id}/start`, which answers once the containerVM is powered on and its
//!   tether reported `started`. The container is removed outside the timed part.
//! * `docker_run/run_rm_foreground_mtls`: `docker run --rm busybox true` as the docker CLI
//!   does it at API 1.25, each request on its own mTLS connection: create (with
//!   `AutoRemove`), the hijacked attach (101), the event stream filtered to the container,
//!   start, then the attach stream's end and the `destroy` event that ends the CLI's wait.
//!   The clock is from the create to that event.
//! * `vic_machine/create`: `vic-machine create` from argument parsing to `Installer completed
//!   successfully`, fresh certificates each time (RSA 2048 generation included); the VCH is
//!   deleted outside the timed part.
//!
//! Besides criterion's estimates, each benchmark prints p50/p90/max of the iterations it
//! timed. Run: `cargo bench -p vic --bench docker_run -- --warm-up-time 1 --measurement-time 5`.
//! On this 2-core machine (2026-12-06): `create_start_mtls` p50 8.2 ms, p90 10.3 ms;
//! `run_rm_foreground_mtls` p50 13.0 ms, p90 16.8 ms (n = 527 each). The real docker CLI's
//! `docker --tlsverify … run --rm busybox true` against `vicbed serve` takes 46 ms wall
//! (median of 20 runs; `docker version` alone, the CLI's floor, 23 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use vic::appliance::{ApplianceAgent, engine_launcher};
use vic::tether::TetherAgent;

/// The seed command's create body as docker 1.13+ sends it (image already pulled).
const STRESS: &str = r#"{"Image":"progrium/stress","Cmd":["--cpu","1","--timeout","300s"],"HostConfig":{"Memory":4294967296,"CpusetCpus":"2"}}"#;

struct Sim {
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start_sim() -> Sim {
    let mut emu = vcsim::Emulator::new(vcsim::Config::default()).expect("inventory");
    let tether = TetherAgent::new();
    emu.add_agent(Arc::new(
        ApplianceAgent::new(engine_launcher()).with_interaction(tether.hub()),
    ));
    emu.add_agent(Arc::new(tether));
    let vc = vcsim::Vcsim::new(emu);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let clock = vc.spawn_clock(1.0);
    tokio::spawn(async move {
        let _ = vc
            .serve(listener, None, async {
                let _ = stopped.await;
            })
            .await;
        clock.abort();
    });
    Sim {
        url: format!("http://user:pass@{addr}"),
        _stop: stop,
    }
}

/// `vic-machine create` of `name` on `ip` with certificates in `certs`.
async fn create_vch(sim: &Sim, name: &str, ip: Ipv4Addr, certs: &Path) {
    let target = format!("--target={}", sim.url);
    let cnip = format!("{ip}/8");
    let (lines, r) = vic::machine::run_captured(&[
        "create",
        &target,
        "--name",
        name,
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--client-network-ip",
        &cnip,
        "--tls-cert-path",
        certs.to_str().unwrap(),
        "--timeout",
        "60s",
    ])
    .await;
    assert!(r.is_ok(), "create {name}: {r:?}\n{}", lines.join("\n"));
}

async fn delete_vch(sim: &Sim, name: &str) {
    let target = format!("--target={}", sim.url);
    let (lines, r) = vic::machine::run_captured(&["delete", &target, "--name", name]).await;
    assert!(r.is_ok(), "delete {name}: {r:?}\n{}", lines.join("\n"));
}

/// What `docker --tlsverify --tlscacert=ca.pem --tlscert=cert.pem --tlskey=key.pem` uses.
fn client_config(certs: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(certs.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certs.join("cert.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(certs.join("key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap(),
    )
}

type Conn = TlsStream<TcpStream>;

async fn connect(tls: &Arc<rustls::ClientConfig>, ip: Ipv4Addr) -> Conn {
    let tcp = TcpStream::connect((ip, 2376)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    TlsConnector::from(tls.clone())
        .connect(ServerName::IpAddress(IpAddr::V4(ip).into()), tcp)
        .await
        .unwrap()
}

/// One keep-alive request: (status, body).
async fn request(conn: &mut Conn, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-response");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head[9..12].parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let mut rest = buf[head_end..].to_vec();
    if let Some(len) = header("content-length:") {
        let len: usize = len.parse().unwrap();
        while rest.len() < len {
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        (status, rest)
    } else if header("transfer-encoding:").is_some_and(|t| t.contains("chunked")) {
        while !rest.ends_with(b"0\r\n\r\n") {
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            rest.extend_from_slice(&chunk[..n]);
        }
        (status, rest)
    } else {
        (status, rest)
    }
}

/// `docker run -d` after the pull: create and start over a new mTLS connection; the id.
async fn run_detached(tls: &Arc<rustls::ClientConfig>, ip: Ipv4Addr) -> (Conn, String) {
    let mut conn = connect(tls, ip).await;
    let (st, body) = request(&mut conn, "POST", "/v1.25/containers/create", STRESS).await;
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let id = v["Id"].as_str().unwrap().to_owned();
    let (st, body) = request(
        &mut conn,
        "POST",
        &format!("/v1.25/containers/{id}/start"),
        "",
    )
    .await;
    assert_eq!(st, 204, "{}", String::from_utf8_lossy(&body));
    (conn, id)
}

/// Sends a bodiless request and reads the response head; the connection stays open.
async fn open_stream(conn: &mut Conn, method: &str, path: &str, extra: &str) -> String {
    let req =
        format!("{method} {path} HTTP/1.1\r\nHost: docker\r\n{extra}Content-Length: 0\r\n\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut b).await.unwrap();
        assert!(n == 1, "closed in the head");
        head.push(b[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// `docker run --rm busybox true` (image pulled) as the CLI does it; returns once the
/// `destroy` event arrives.
async fn run_rm_foreground(tls: &Arc<rustls::ClientConfig>, ip: Ipv4Addr) {
    let mut api = connect(tls, ip).await;
    let (st, body) = request(
        &mut api,
        "POST",
        "/v1.25/containers/create",
        r#"{"Image":"busybox","Cmd":["true"],"AttachStdout":true,"AttachStderr":true,"HostConfig":{"AutoRemove":true}}"#,
    )
    .await;
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let id = v["Id"].as_str().unwrap().to_owned();
    let mut attach = connect(tls, ip).await;
    let head = open_stream(
        &mut attach,
        "POST",
        &format!("/v1.25/containers/{id}/attach?stream=1&stdout=1&stderr=1"),
        "Connection: Upgrade\r\nUpgrade: tcp\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut events = connect(tls, ip).await;
    let filters = format!("%7B%22container%22%3A%7B%22{id}%22%3Atrue%7D%7D");
    let head = open_stream(
        &mut events,
        "GET",
        &format!("/v1.25/events?filters={filters}"),
        "",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (st, _) = request(
        &mut api,
        "POST",
        &format!("/v1.25/containers/{id}/start"),
        "",
    )
    .await;
    assert_eq!(st, 204);
    let mut sink = Vec::new();
    attach.read_to_end(&mut sink).await.unwrap();
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !seen.windows(9).any(|w| w == b"\"destroy\"") {
        let n = events.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the event stream ended before destroy");
        seen.extend_from_slice(&chunk[..n]);
    }
}

fn percentiles(label: &str, mut d: Vec<Duration>) {
    if d.is_empty() {
        return;
    }
    d.sort();
    let at = |q: f64| d[((d.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: n={} p50={:.2?} p90={:.2?} max={:.2?}",
        d.len(),
        at(0.5),
        at(0.9),
        d[d.len() - 1]
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sim = rt.block_on(start_sim());

    // --- docker run -d over mTLS ---
    let ip = Ipv4Addr::new(127, 0, 1, 230);
    let certs = tmp.path().join("vchbench");
    rt.block_on(create_vch(&sim, "vchbench", ip, &certs));
    let tls = client_config(&certs);
    // Once, untimed: the pull, and proof that start returns with the containerVM running.
    rt.block_on(async {
        let mut conn = connect(&tls, ip).await;
        let (st, _) = request(
            &mut conn,
            "POST",
            "/v1.25/images/create?fromImage=progrium%2Fstress&tag=latest",
            "",
        )
        .await;
        assert_eq!(st, 200);
        let (mut conn, id) = run_detached(&tls, ip).await;
        let (st, body) = request(
            &mut conn,
            "GET",
            &format!("/v1.25/containers/{id}/json"),
            "",
        )
        .await;
        assert_eq!(st, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["State"]["Running"], true, "{v}");
        assert_eq!(v["HostConfig"]["Memory"], 4294967296_i64, "{v}");
        let (st, _) = request(
            &mut conn,
            "DELETE",
            &format!("/v1.25/containers/{id}?force=1"),
            "",
        )
        .await;
        assert_eq!(st, 204);
    });
    let mut runs = Vec::new();
    let mut g = c.benchmark_group("docker_run");
    g.bench_function("create_start_mtls", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let (mut conn, id) = run_detached(&tls, ip).await;
                    let took = t0.elapsed();
                    total += took;
                    runs.push(took);
                    let (st, _) = request(
                        &mut conn,
                        "DELETE",
                        &format!("/v1.25/containers/{id}?force=1"),
                        "",
                    )
                    .await;
                    assert_eq!(st, 204);
                }
                total
            })
        });
    });
    let mut foreground = Vec::new();
    rt.block_on(async {
        let mut conn = connect(&tls, ip).await;
        let (st, _) = request(
            &mut conn,
            "POST",
            "/v1.25/images/create?fromImage=busybox&tag=latest",
            "",
        )
        .await;
        assert_eq!(st, 200);
    });
    g.bench_function("run_rm_foreground_mtls", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    run_rm_foreground(&tls, ip).await;
                    let took = t0.elapsed();
                    total += took;
                    foreground.push(took);
                }
                total
            })
        });
    });
    g.finish();
    percentiles("docker_run/create_start_mtls", runs);
    percentiles("docker_run/run_rm_foreground_mtls", foreground);
    rt.block_on(delete_vch(&sim, "vchbench"));

    // --- vic-machine create end to end ---
    let mut creates = Vec::new();
    let mut n = 0u32;
    let mut g = c.benchmark_group("vic_machine");
    g.sample_size(10);
    g.bench_function("create", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    let name = format!("vchc{n}");
                    // Rotate client IPs so a just-deleted VCH's listener never matters.
                    let ip = Ipv4Addr::new(127, 0, 1, 231 + (n % 20) as u8);
                    let certs = tmp.path().join(&name);
                    let t0 = Instant::now();
                    create_vch(&sim, &name, ip, &certs).await;
                    let took = t0.elapsed();
                    total += took;
                    creates.push(took);
                    delete_vch(&sim, &name).await;
                }
                total
            })
        });
    });
    g.finish();
    percentiles("vic_machine/create", creates);
}

criterion_group!(benches, bench);
criterion_main!(benches);
