//! The containerVMs' data plane: network services their processes run, and VIC's port
//! forwarding to them (vic.md §3.4).
//!
//! A real containerVM's server (nginx) listens inside the VM and is reached over the VCH's
//! networks. Here the tether recognises a server among the processes it launches
//! ([`recognise`]) and registers an in-process [`Service`] for the container's addresses in
//! the shared [`Services`] registry (owned by the tether, given to the VCH endpoints the way
//! the tether's [`crate::interaction::Hub`] is). Two paths lead to it:
//!
//! - **Bridge network, `-p H:C`**: VIC's appliance forwards its public address:H to the
//!   container's bridge address:C. The endpoint does the same with a [`Forwards`] table: a
//!   TCP listener on the VCH's client address at H while the container runs, each accepted
//!   connection handed in process to the container's service on C (no second socket).
//! - **Routable container networks**: a container whose address on a `--container-network`
//!   is a loopback address (any 127/8 address is bindable on Linux) gets its service bound
//!   directly on `<container IP>:<port>` by the tether, for as long as its process runs.
//!
//! Either way the containerVM's firewall applies ([`crate::firewall`]): before a connection
//! is served, the VM's rule set is asked about an inbound TCP flow from the peer (for a
//! forward: from the VCH's bridge address, the bridge network's gateway) to that port, and a
//! refused connection is closed without data, as is one for a port no service listens on —
//! what a client sees of a refused or dropped connection on a testbed that has no packets.
//!
//! Every listener is bounded: at most [`MAX_CONNECTIONS`] connections at once (more are
//! closed at accept) and each connection closes after [`IDLE_TIMEOUT_MS`] without traffic.
//!
//! Services: [`nginx`] (port 80) and the Docker engine of `vmware/dch-photon` ([`crate::dch`],
//! port 2375). Adding one is a [`Service`] implementation plus an arm in [`recognise`].

mod forward;
mod listener;
pub mod nginx;
mod registry;

pub use forward::{ForwardError, Forwards, bind_forward};
pub use listener::{Activity, GuestConn, IDLE_TIMEOUT_MS, MAX_CONNECTIONS};
pub use registry::{Admission, EndpointAddr, Registration, Services, inbound_verdict};

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// What serving one connection does, to its end.
pub type Serving = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A network service a container's process provides.
pub trait Service: Send + Sync + 'static {
    /// A short name for logs (`nginx`).
    fn name(&self) -> &'static str;

    /// Serves one accepted connection from `peer` until either side ends it. The caller
    /// enforces the idle timeout and closes the connection when the container stops.
    fn serve(self: Arc<Self>, conn: GuestConn, peer: SocketAddr) -> Serving;
}

/// A server the tether recognised: the service and the TCP ports it listens on.
#[derive(Clone)]
pub struct Recognised {
    /// The service.
    pub service: Arc<dyn Service>,
    /// The ports it listens on inside the containerVM (every interface).
    pub ports: Vec<u16>,
    /// CPU work the service asks its containerVM for on demand (a DCH's builds), which the
    /// tether pays at each tick ([`crate::workload::meter`]).
    pub meter: Option<Arc<crate::workload::meter::WorkMeter>>,
}

impl std::fmt::Debug for Recognised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognised")
            .field("service", &self.service.name())
            .field("ports", &self.ports)
            .finish()
    }
}

/// The service a process runs, from its command line, if it is a server the testbed
/// emulates.
pub fn recognise(
    argv: &[String],
    host: &crate::dch::Host,
    registries: &Arc<crate::registry_hosts::RegistryHosts>,
) -> Option<Recognised> {
    let program = argv.first()?;
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        // `nginx -v/-V/-t/-T/-h/-s …` print or signal and exit: not a server.
        "nginx" if !argv[1..].iter().any(|a| nginx::is_one_shot_flag(a)) => Some(Recognised {
            service: Arc::new(nginx::Nginx),
            ports: vec![nginx::PORT],
            meter: None,
        }),
        // `vmware/dch-photon`'s Docker engine (`dch-entrypoint.sh -H tcp://0.0.0.0:2375`).
        "dch-entrypoint.sh" | "dockerd" => crate::dch::recognise(&argv[1..], host, registries),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn nginx_is_recognised_as_a_server_on_80() {
        for line in [
            &["nginx", "-g", "daemon off;"][..],
            &["/usr/sbin/nginx"][..],
            &["nginx", "-c", "/etc/nginx/nginx.conf"][..],
        ] {
            let r = recognise(&argv(line), &crate::dch::Host::default(), &Arc::default())
                .expect("a server");
            assert_eq!(r.service.name(), "nginx");
            assert_eq!(r.ports, [80]);
        }
        for line in [
            &["nginx", "-v"][..],
            &["nginx", "-t"][..],
            &["nginx", "-s", "reload"][..],
            &["sleep", "10"][..],
            &[][..],
        ] {
            assert!(
                recognise(&argv(line), &crate::dch::Host::default(), &Arc::default()).is_none(),
                "{line:?}"
            );
        }
    }
}
