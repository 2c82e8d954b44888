//! The emulator as the integration tests serve it: vcsim with the given guest agents, on
//! loopback over plain HTTP, its clock running at real time; dropping the [`Sim`] stops it.

use std::sync::Arc;
use tokio::sync::oneshot;

/// A running emulator.
pub struct Sim {
    /// `http://user:pass@127.0.0.1:PORT`.
    pub url: String,
    /// The emulator, to drive its clock.
    pub vc: vcsim::Vcsim,
    _stop: oneshot::Sender<()>,
}

/// Starts the default inventory with `agents` (the first added is consulted last).
pub async fn start(agents: Vec<Arc<dyn vcsim::GuestAgent>>) -> Sim {
    start_with(vcsim::Config::default(), agents).await
}

/// [`start`] with the emulator built from `config`.
pub async fn start_with(config: vcsim::Config, agents: Vec<Arc<dyn vcsim::GuestAgent>>) -> Sim {
    start_with_speed(config, agents, 1.0).await
}

/// [`start_with`], the clock running `speed` times real time (a DCH's builds end at the
/// model's 20 s ticks: a faster clock keeps the tests that build short).
pub async fn start_with_speed(
    config: vcsim::Config,
    agents: Vec<Arc<dyn vcsim::GuestAgent>>,
    speed: f64,
) -> Sim {
    let mut emu = vcsim::Emulator::new(config).expect("inventory builds");
    for agent in agents {
        emu.add_agent(agent);
    }
    let vc = vcsim::Vcsim::new(emu);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = vc.clone();
    let clock = vc.spawn_clock(speed);
    tokio::spawn(async move {
        let _ = server
            .serve(listener, None, async {
                let _ = stopped.await;
            })
            .await;
        clock.abort();
    });
    Sim {
        url: format!("http://user:pass@{addr}"),
        vc,
        _stop: stop,
    }
}

/// A logged-in SOAP client of `sim`.
pub async fn client(sim: &Sim) -> vic::vsphere::Client {
    let c = vic::vsphere::Client::connect(
        &sim.url.replace("user:pass@", ""),
        vic::vsphere::ConnectOptions {
            timeout: std::time::Duration::from_secs(20),
            ..vic::vsphere::ConnectOptions::default()
        },
    )
    .await
    .unwrap();
    c.login("user", "pass").await.unwrap();
    c
}

/// Whether some line of `lines` contains `text`.
pub fn has(lines: &[String], text: &str) -> bool {
    lines.iter().any(|l| l.contains(text))
}

/// A loopback address in 127.0.4.0/24 (no other test binary uses it) for a VCH's
/// `--client-network-ip`: never handed out before in this process (tests run in parallel),
/// and with both Docker ports bindable now (another run on the machine is not using it).
pub fn free_client_ip() -> std::net::IpAddr {
    static GIVEN: std::sync::Mutex<u8> = std::sync::Mutex::new(10);
    let mut next = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    while *next < 250 {
        let ip = std::net::IpAddr::from([127, 0, 4, *next]);
        *next += 1;
        if std::net::TcpListener::bind((ip, 2376)).is_ok()
            && std::net::TcpListener::bind((ip, 2375)).is_ok()
        {
            return ip;
        }
    }
    panic!("no free loopback address left in 127.0.4.0/24")
}

/// `vic-machine create` of `name` on client address `ip` with certificates in `certs` and
/// `extra` options (which decide the TLS mode); the captured lines.
pub async fn create_vch(
    sim: &Sim,
    name: &str,
    ip: &str,
    certs: &std::path::Path,
    extra: &[&str],
) -> Vec<String> {
    let target = format!("--target={}", sim.url);
    let cnip = format!("{ip}/8");
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    let (lines, r) = vic::machine::run_captured(&args).await;
    assert!(r.is_ok(), "create {name}: {r:?}\n{}", lines.join("\n"));
    lines
}

/// `vic-machine create --no-tls` of `name` on client address `ip` with `extra` options; a
/// client of its endpoint.
pub async fn plain_vch(
    sim: &Sim,
    name: &str,
    ip: std::net::IpAddr,
    extra: &[&str],
) -> vic::engine::client::DockerClient {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["--no-tls"];
    args.extend_from_slice(extra);
    create_vch(sim, name, &ip.to_string(), &tmp.path().join(name), &args).await;
    let g = vic::engine::client::GlobalOptions::from_args(
        &vic::engine::client::split_words(&format!("-H tcp://{ip}:2375")).unwrap(),
    )
    .unwrap();
    vic::engine::client::DockerClient::new(&g).unwrap()
}

/// `vic-machine delete --force` of `name`.
pub async fn delete_vch(sim: &Sim, name: &str) {
    let target = format!("--target={}", sim.url);
    let (lines, r) =
        vic::machine::run_captured(&["delete", &target, "--name", name, "--force"]).await;
    assert!(r.is_ok(), "delete {name}: {r:?}\n{}", lines.join("\n"));
}

/// A TCP port free on `ip` now.
pub fn free_port(ip: std::net::IpAddr) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
