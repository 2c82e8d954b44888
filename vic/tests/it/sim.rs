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
    let mut emu = vcsim::Emulator::new(vcsim::Config::default()).expect("inventory builds");
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
