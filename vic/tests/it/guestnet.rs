//! Containers' network services end to end: VCHs deployed by `vic-machine create` on the
//! emulator with the tether and the appliance (running the real engine, given the tether's
//! services), docker driven through `vic::engine::client`, and the nginx container fetched
//! with reqwest — through the VCH's port forward on the bridge network (`-p`), and directly
//! on its address on a routable container network (a 127/8 ip-range), where the
//! containerVM's firewall decides.
//!
//! Addresses and ports are picked at run time: client addresses from
//! [`sim::free_client_ip`], host ports free on them, container ranges in 127.99.0.0/16.

use crate::sim::{self, Sim};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use vic::appliance::{ApplianceAgent, engine_launcher};
use vic::engine::client::{CliOutput, DockerClient, parse_command, split_words};
use vic::tether::TetherAgent;

/// The distributed port group the routable container networks use.
pub(crate) const ROUTABLE_PG: &str = "routable-pg";

/// The emulator (cluster `DC0_C0`, port groups `DC0_DVPG0` and [`ROUTABLE_PG`]) with the
/// appliance and the tether, the endpoints given the tether's links and services.
async fn start_sim() -> (Sim, Arc<TetherAgent>) {
    let tether = Arc::new(TetherAgent::new());
    let appliance = ApplianceAgent::new(engine_launcher())
        .with_interaction(tether.hub())
        .with_services(tether.services());
    let inventory = vcsim::InventorySpec::parse(&format!(
        "port_groups = [\"{ROUTABLE_PG}\"]\n[[cluster]]\nname = \"DC0_C0\"\nhosts = [{{ name = \"esx0\" }}]"
    ))
    .unwrap();
    let config = vcsim::Config {
        inventory: Some(inventory),
        ..vcsim::Config::default()
    };
    let agents: Vec<Arc<dyn vcsim::GuestAgent>> = vec![Arc::new(appliance), tether.clone()];
    (sim::start_with(config, agents).await, tether)
}

/// Runs `line` (a docker command line without `docker`).
async fn docker(client: &DockerClient, line: &str) -> CliOutput {
    let argv = split_words(line).unwrap();
    let cmd = parse_command(&argv).unwrap_or_else(|e| panic!("{line}: {e}"));
    client.execute_cli(&cmd).await
}

/// `docker` that must succeed; its stdout.
async fn ok(client: &DockerClient, line: &str) -> String {
    let out = docker(client, line).await;
    assert_eq!(out.exit_code, 0, "{line}: {out:?}");
    out.stdout
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `GET url`: status, Server header and body, or the error text.
pub(crate) async fn get(url: &str) -> Result<(u16, String, String), String> {
    let r = http().get(url).send().await.map_err(|e| format!("{e:?}"))?;
    let status = r.status().as_u16();
    let server = r
        .headers()
        .get("server")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = r.text().await.map_err(|e| format!("{e:?}"))?;
    Ok((status, server, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_bridge_port_reaches_nginx_while_it_runs() {
    let (sim, _tether) = start_sim().await;
    let ip = sim::free_client_ip();
    let client = sim::plain_vch(&sim, "vchfw", ip, &[]).await;
    let port = sim::free_port(ip);
    ok(&client, &format!("run -d --name web -p {port}:80 nginx")).await;
    let base = format!("http://{ip}:{port}");
    let (status, server, body) = get(&format!("{base}/")).await.unwrap();
    assert_eq!((status, server.as_str()), (200, "nginx/1.13.5"), "{body}");
    assert!(body.contains("<title>Welcome to nginx!</title>"), "{body}");
    let (status, _, body) = get(&format!("{base}/missing")).await.unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("404 Not Found"), "{body}");

    // `-p 80` gets a host port; ps shows the one that is listened on.
    ok(&client, "run -d --name auto -p 80 nginx").await;
    let ps = ok(&client, "ps --filter name=auto").await;
    let host_port: u16 = ps
        .split("0.0.0.0:")
        .nth(1)
        .and_then(|rest| rest.split("->80/tcp").next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no mapping in\n{ps}"));
    let (status, _, _) = get(&format!("http://{ip}:{host_port}/")).await.unwrap();
    assert_eq!(status, 200);

    // A host port another process listens on: the start fails, nothing is left listening.
    let taken = TcpListener::bind((ip, 0)).unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let other = sim::free_port(ip);
    let out = docker(
        &client,
        &format!("run -d --name clash -p {other}:80 -p {taken_port}:81 nginx"),
    )
    .await;
    assert_ne!(out.exit_code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("driver failed programming external connectivity on endpoint clash")
            && out.stderr.contains(&format!(
                "listen tcp {ip}:{taken_port}: bind: address already in use"
            )),
        "{out:?}"
    );
    drop(taken);
    assert!(
        std::net::TcpStream::connect(SocketAddr::new(ip, other)).is_err(),
        "the clash's other port is not listened on"
    );

    // Stopped: the forward is gone.
    ok(&client, "stop web").await;
    let e = get(&format!("{base}/")).await.unwrap_err();
    assert!(e.contains("Connect") || e.contains("onnection"), "{e}");
    // Started again: served again on the same port.
    ok(&client, "start web").await;
    let (status, _, _) = get(&format!("{base}/")).await.unwrap();
    assert_eq!(status, 200);
    ok(&client, "rm -f web auto clash").await;
    assert!(std::net::TcpStream::connect(SocketAddr::new(ip, port)).is_err());
    sim::delete_vch(&sim, "vchfw").await;
}

/// Why a routable test cannot run: nginx serves port 80 on the container's address.
pub(crate) const NEEDS_PORT_80: &str = "this process may not listen on port 80 (nginx's port on a routable \
     network): run the tests as root, or with net.ipv4.ip_unprivileged_port_start=0";

/// A /24 in 127.99.0.0/16 whose first addresses can listen on port 80 (None: this process
/// may not bind port 80, so the routable tests have nothing to show).
pub(crate) fn free_routable_range() -> Option<String> {
    static NEXT: std::sync::Mutex<u8> = std::sync::Mutex::new(0);
    let mut next = NEXT.lock().unwrap_or_else(|p| p.into_inner());
    let salt = (std::process::id() % 200) as u8;
    while *next < 50 {
        let third = salt.wrapping_add(*next);
        *next += 1;
        let ok = (0..4u8).all(|host| {
            TcpListener::bind((std::net::Ipv4Addr::new(127, 99, third, host), 80)).is_ok()
        });
        if ok {
            return Some(format!("127.99.{third}"));
        }
        if TcpListener::bind((std::net::Ipv4Addr::new(127, 99, third, 250), 80))
            .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
        {
            return None;
        }
    }
    panic!("no free 127.99.x.0/24 range")
}

/// A VCH whose container network `routable` (on [`ROUTABLE_PG`]) has the range
/// `<net>.0/24` at `trust`.
async fn routable_vch(sim: &Sim, name: &str, net: &str, trust: &str) -> DockerClient {
    let range = format!("{ROUTABLE_PG}:{net}.0/24");
    let gateway = format!("{ROUTABLE_PG}:{net}.1/24");
    let firewall = format!("{ROUTABLE_PG}:{trust}");
    let network = format!("{ROUTABLE_PG}:routable");
    sim::plain_vch(
        sim,
        name,
        sim::free_client_ip(),
        &[
            "--container-network",
            &network,
            "--container-network-ip-range",
            &range,
            "--container-network-gateway",
            &gateway,
            "--container-network-firewall",
            &firewall,
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_routable_network_serves_nginx_on_its_address() {
    let net = free_routable_range().expect(NEEDS_PORT_80);
    let (sim, tether) = start_sim().await;
    let client = routable_vch(&sim, "vchrt", &net, "open").await;
    let id = ok(&client, "run -d --name web --net routable nginx")
        .await
        .trim()
        .to_owned();
    let d = client.inspect_container("web").await.unwrap();
    let addr: IpAddr = d.ip_address.parse().unwrap_or_else(|_| panic!("{d:?}"));
    assert!(addr.to_string().starts_with(&net), "{addr} in {net}.0/24");
    assert_eq!(
        tether.services().listening(&id),
        [SocketAddr::new(addr, 80)]
    );
    let (status, server, body) = get(&format!("http://{addr}/")).await.unwrap();
    assert_eq!((status, server.as_str()), (200, "nginx/1.13.5"), "{body}");
    assert!(body.contains("Welcome to nginx!"), "{body}");
    ok(&client, "stop web").await;
    assert!(tether.services().listening(&id).is_empty());
    ok(&client, "rm web").await;
    sim::delete_vch(&sim, "vchrt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_routable_network_refuses_connections() {
    let net = free_routable_range().expect(NEEDS_PORT_80);
    let (sim, tether) = start_sim().await;
    let client = routable_vch(&sim, "vchcl", &net, "closed").await;
    let id = ok(&client, "run -d --name web --net routable nginx")
        .await
        .trim()
        .to_owned();
    let d = client.inspect_container("web").await.unwrap();
    let addr: IpAddr = d.ip_address.parse().unwrap_or_else(|_| panic!("{d:?}"));
    // nginx listens, but the containerVM's firewall drops everything inbound.
    assert_eq!(
        tether.services().listening(&id),
        [SocketAddr::new(addr, 80)]
    );
    let e = get(&format!("http://{addr}/")).await.unwrap_err();
    assert!(!e.is_empty());
    ok(&client, "rm -f web").await;
    sim::delete_vch(&sim, "vchcl").await;
}
