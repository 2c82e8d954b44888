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
    let mut emu = vcsim::Emulator::new(config).expect("inventory builds");
    for agent in agents {
        emu.add_agent(agent);
    }
    let vc = vcsim::Vcsim::new(emu);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = vc.clone();
    let clock = vc.spawn_clock(1.0);
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
