//! The VCH appliance as a vcsim guest agent (issue 4 item 4): what runs inside the VM that
//! `vic-machine create` deploys.
//!
//! On power-on it reads the VCH configuration from its guestinfo
//! ([`crate::machine::VchConfig`]), picks its client address — the static
//! `--client-network-ip`, or the next free `127.0.1.N` as DHCP would hand one out — binds the
//! Docker endpoint there (2376 with TLS, 2375 with `--no-tls`), starts the engine on that
//! listener through its [`Launcher`], and writes back what the real appliance writes:
//! `guestinfo.vice..init.networks|client.assigned.IP` and each component's
//! `guestinfo.vice..init.sessions|<c>.started` (`true`, or the error text), plus the guest IP.
//! vic-machine's readiness wait (vic.md §6.1 step 6) watches exactly those keys. On
//! power-off the engine is told to stop.
//!
//! The testbed has one process per VCH component role: `docker-personality` is the engine,
//! `port-layer` lives inside it, and there is no `vicadmin`; all three `started` keys are
//! written because VIC's readiness wait requires all three.
//!
//! The appliance's own load on its host is a modest constant (the seed's "VCH appliance VM …
//! modest constant demand"): [`APPLIANCE_WORKLOAD`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use scheduler_model::Workload;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use vcsim::guest::{GuestAgent, GuestEffects, GuestEvent, GuestHandle, GuestView};
use vcsim::vmodl::MoRef;

use crate::engine::EngineConfig;
use crate::guestinfo::{Keys, STARTED_OK, encode_ip, vch};
use crate::machine::VchConfig;

/// The appliance's demand on its host: 100 MHz per vCPU and 256 MB active.
pub const APPLIANCE_WORKLOAD: Workload = Workload::Constant {
    mhz_per_vcpu: 100,
    active_mb: 256,
};

/// The first and last DHCP-style loopback addresses handed out (`127.0.1.N`).
const DHCP_FIRST: u8 = 2;
const DHCP_LAST: u8 = 254;

/// A future that resolves when the engine must stop.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Starts a VCH's Docker endpoint on an already bound listener, inside the current tokio
/// runtime (it must spawn and return at once). The real one runs `vic::engine::serve`; tests
/// may pass a peer-component double.
pub type Launcher = Arc<dyn Fn(EngineConfig, TcpListener, Shutdown) + Send + Sync>;

/// Addresses in use by appliances of this process (static or handed out).
fn leases() -> &'static Mutex<BTreeSet<IpAddr>> {
    static LEASES: std::sync::OnceLock<Mutex<BTreeSet<IpAddr>>> = std::sync::OnceLock::new();
    LEASES.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// A running appliance.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    ip: Option<IpAddr>,
    addr: Option<SocketAddr>,
}

/// The VCH appliance agent.
pub struct ApplianceAgent {
    launch: Launcher,
    port: Option<u16>,
    images: crate::images::Catalogue,
    interaction: Option<Arc<crate::interaction::Hub>>,
    services: Option<Arc<crate::guestnet::Services>>,
    running: Arc<Mutex<BTreeMap<String, Running>>>,
}

impl std::fmt::Debug for ApplianceAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplianceAgent")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// An agent goes away with its emulator (a scenario run ends without powering its VCHs
/// off): stop its endpoints and give their addresses back, or a process running many
/// scenarios (`vicbed sweep`) would run out of the 253 addresses after ~126 two-VCH runs.
impl Drop for ApplianceAgent {
    fn drop(&mut self) {
        let entries = match self.running.lock() {
            Ok(mut r) => std::mem::take(&mut *r),
            Err(_) => return,
        };
        let Ok(mut l) = leases().lock() else { return };
        for (_, mut entry) in entries {
            if let Some(stop) = entry.stop.take() {
                let _ = stop.send(());
            }
            if let Some(ip) = entry.ip {
                l.remove(&ip);
            }
        }
    }
}

impl ApplianceAgent {
    /// An agent that starts endpoints with `launch`.
    pub fn new(launch: Launcher) -> ApplianceAgent {
        ApplianceAgent {
            launch,
            port: None,
            images: crate::images::Catalogue::builtin(),
            interaction: None,
            services: None,
            running: Arc::default(),
        }
    }

    /// The containerVMs' attach and log link the endpoints read (the tether's hub).
    pub fn with_interaction(mut self, hub: Arc<crate::interaction::Hub>) -> ApplianceAgent {
        self.interaction = Some(hub);
        self
    }

    /// The containerVMs' network services the endpoints' port forwards reach (the tether's
    /// [`crate::tether::TetherAgent::services`]).
    pub fn with_services(mut self, services: Arc<crate::guestnet::Services>) -> ApplianceAgent {
        self.services = Some(services);
        self
    }

    /// The images the VCHs' endpoints can pull (default: the built-in catalogue).
    pub fn with_images(mut self, images: crate::images::Catalogue) -> ApplianceAgent {
        self.images = images;
        self
    }

    /// Listens on `port` instead of 2376/2375 (tests: 0 picks a free port; see
    /// [`ApplianceAgent::endpoint`]).
    pub fn with_port(mut self, port: u16) -> ApplianceAgent {
        self.port = Some(port);
        self
    }

    /// Where `vm`'s endpoint listens, once bound.
    pub fn endpoint(&self, vm: &MoRef) -> Option<SocketAddr> {
        self.running
            .lock()
            .ok()?
            .get(&vm.value)
            .and_then(|r| r.addr)
    }

    fn start(&self, vm: &GuestView, handle: &GuestHandle) -> Result<(), String> {
        let keys = Keys::from_pairs(vm.extra_config.iter().cloned());
        let cfg = VchConfig::from_keys(&keys)?;
        let port = self.port.unwrap_or(cfg.tls_mode().port());
        let rt = tokio::runtime::Handle::try_current().map_err(|_| {
            "no async runtime in the emulator process: the VCH endpoint cannot start".to_owned()
        })?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        if let Ok(mut r) = self.running.lock() {
            // A power cycle replaces the previous run (its stop sender drops, stopping it).
            r.insert(
                vm.vm.value.clone(),
                Running {
                    stop: Some(stop_tx),
                    ip: None,
                    addr: None,
                },
            );
        }
        let static_ip = cfg.client_ip.map(|(ip, _)| ip);
        let launch = self.launch.clone();
        let images = self.images.clone();
        let interaction = self.interaction.clone();
        let services = self.services.clone();
        let running = self.running.clone();
        let handle = handle.clone();
        let vm_ref = vm.vm.clone();
        rt.spawn(async move {
            let bound = bind(static_ip, port).await;
            let mut effects = GuestEffects::default();
            match bound {
                Ok((listener, ip)) => {
                    let addr = listener.local_addr().ok();
                    if let Ok(mut r) = running.lock()
                        && let Some(entry) = r.get_mut(&vm_ref.value)
                    {
                        entry.ip = Some(ip);
                        entry.addr = addr;
                    }
                    let listen = addr.unwrap_or_else(|| SocketAddr::new(ip, port));
                    effects
                        .extra_config
                        .push((vch::CLIENT_ASSIGNED_IP.to_owned(), encode_ip(ip)));
                    effects.ip_address = Some(ip.to_string());
                    match cfg.engine_config(&vm_ref, listen) {
                        Ok(mut engine) => {
                            engine.images = images;
                            engine.interaction = interaction;
                            engine.services = services;
                            let shutdown: Shutdown = Box::pin(async move {
                                let _ = stop_rx.await;
                            });
                            launch(engine, listener, shutdown);
                            for c in vch::COMPONENTS {
                                effects
                                    .extra_config
                                    .push((vch::session_started_key(c), STARTED_OK.to_owned()));
                            }
                        }
                        Err(e) => started_error(&mut effects, &e),
                    }
                }
                Err(e) => {
                    // A static address is the appliance's whatever the endpoint does (a real
                    // appliance has its IP even when its daemon cannot listen): report it, so
                    // vic-machine moves on to the components' status and prints this error
                    // instead of waiting out --timeout for an IP.
                    if let Some(ip) = static_ip {
                        effects
                            .extra_config
                            .push((vch::CLIENT_ASSIGNED_IP.to_owned(), encode_ip(ip)));
                        effects.ip_address = Some(ip.to_string());
                    }
                    started_error(&mut effects, &e);
                }
            }
            handle.post(vm_ref, effects);
        });
        Ok(())
    }

    fn stop(&self, vm: &MoRef) {
        let entry = self
            .running
            .lock()
            .ok()
            .and_then(|mut r| r.remove(&vm.value));
        if let Some(mut entry) = entry {
            if let Some(stop) = entry.stop.take() {
                let _ = stop.send(());
            }
            if let Some(ip) = entry.ip
                && let Ok(mut l) = leases().lock()
            {
                l.remove(&ip);
            }
        }
    }
}

/// The docker personality failed: its `started` key carries the error; the others are up.
fn started_error(effects: &mut GuestEffects, error: &str) {
    for c in vch::COMPONENTS {
        let value = if c == vch::DOCKER_PERSONALITY {
            error.to_owned()
        } else {
            STARTED_OK.to_owned()
        };
        effects
            .extra_config
            .push((vch::session_started_key(c), value));
    }
}

/// Binds the endpoint: on the static address, or on the next free `127.0.1.N` (skipping
/// addresses leased in this process and ones another process already listens on).
async fn bind(static_ip: Option<IpAddr>, port: u16) -> Result<(TcpListener, IpAddr), String> {
    if let Some(ip) = static_ip {
        let l = TcpListener::bind((ip, port))
            .await
            .map_err(|e| format!("listen tcp {}: {e}", SocketAddr::new(ip, port)))?;
        if let Ok(mut leases) = leases().lock() {
            leases.insert(ip);
        }
        return Ok((l, ip));
    }
    for n in DHCP_FIRST..=DHCP_LAST {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 1, n));
        {
            let Ok(mut leases) = leases().lock() else {
                break;
            };
            if !leases.insert(ip) {
                continue;
            }
        }
        match TcpListener::bind((ip, port)).await {
            Ok(l) => return Ok((l, ip)),
            Err(_) => {
                // Taken by someone else: keep it leased so nobody here retries it.
                continue;
            }
        }
    }
    Err("no free client address in 127.0.1.0/24".into())
}

impl GuestAgent for ApplianceAgent {
    fn claims(&self, vm: &GuestView) -> bool {
        vm.extra(vch::ID).is_some()
    }

    fn on_event(&self, event: GuestEvent, vm: &GuestView, handle: &GuestHandle) -> GuestEffects {
        match event {
            GuestEvent::PowerOn => {
                let mut effects = GuestEffects {
                    tools_running: Some(true),
                    workload: Some(APPLIANCE_WORKLOAD),
                    ..GuestEffects::default()
                };
                if let Err(e) = self.start(vm, handle) {
                    tracing::warn!(vm = %vm.vm, error = %e, "the VCH appliance cannot start");
                    started_error(&mut effects, &e);
                }
                effects
            }
            GuestEvent::PowerOff => {
                self.stop(&vm.vm);
                GuestEffects {
                    tools_running: Some(false),
                    ..GuestEffects::default()
                }
            }
            GuestEvent::Reconfigure | GuestEvent::Tick => GuestEffects::default(),
        }
    }
}

/// The real launcher: runs the VCH's Docker endpoint ([`crate::engine::serve`]) on the
/// listener until the appliance powers off. A failure to serve (e.g. the engine cannot log in
/// to vSphere) is logged; vic-machine then sees no healthy `/info` and times out.
pub fn engine_launcher() -> Launcher {
    Arc::new(
        |config: EngineConfig, listener: TcpListener, shutdown: Shutdown| {
            let vch = config.vch_name.clone();
            let listen = config.listen;
            tokio::spawn(async move {
                if let Err(e) = crate::engine::serve(config, listener, shutdown).await {
                    tracing::error!(%vch, %listen, error = %e, "the VCH Docker endpoint stopped");
                }
            });
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_agent_gives_its_addresses_back() {
        // Outside the handed-out range, so no other test in this binary leases it.
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 2, 77));
        let launch: Launcher = Arc::new(|_, _, _| {});
        let agent = ApplianceAgent::new(launch);
        let (stop, stopped) = oneshot::channel();
        leases().lock().unwrap().insert(ip);
        agent.running.lock().unwrap().insert(
            "vm-1".into(),
            Running {
                stop: Some(stop),
                ip: Some(ip),
                addr: None,
            },
        );
        drop(agent);
        assert!(!leases().lock().unwrap().contains(&ip));
        assert!(
            stopped.blocking_recv().is_ok(),
            "the endpoint was told to stop"
        );
    }
}
