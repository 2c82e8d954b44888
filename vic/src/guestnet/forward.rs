//! The VCH endpoint's port forwards (vic.md §3.4: on the bridge network `-p H:C` is served
//! by the VCH, which forwards its public address:H to the container's bridge address:C).
//!
//! The endpoint binds each forward when the container starts ([`bind_forward`], before the
//! containerVM powers on, so a taken port fails the start with nothing left behind), opens
//! it ([`Forwards::open`]) and closes it when the container stops, dies or is removed
//! ([`Forwards::close`], which returns once the port is free again). A connection accepted
//! on H is handed in process to the container's service on C; with none, it is closed.

use super::Services;
use super::listener::{Decide, Lease, bind_listener};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::net::TcpListener;

/// Why a forward cannot be bound.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Something else listens on the host port.
    #[error("listen tcp {addr}: bind: address already in use")]
    InUse {
        /// The address.
        addr: SocketAddr,
    },
    /// Any other failure to listen.
    #[error("listen tcp {addr}: bind: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

impl ForwardError {
    /// Docker's message for a failed start (dockerd's `driver failed programming external
    /// connectivity …` with its userland proxy's error), for container `name` (`id`).
    pub fn docker_message(&self, name: &str, id: &str) -> String {
        format!(
            "driver failed programming external connectivity on endpoint {name} ({id}): Error starting userland proxy: {self}"
        )
    }
}

/// Binds a forward's listener on `ip:port` (inside a tokio runtime). `Ok(None)` when the
/// process may not bind that port (a port below 1024 without the privilege): the mapping
/// then stays recorded but unserved, rather than failing a start the real VCH would do.
pub fn bind_forward(ip: IpAddr, port: u16) -> Result<Option<TcpListener>, ForwardError> {
    let addr = SocketAddr::new(ip, port);
    match bind_listener(addr) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(ForwardError::InUse { addr }),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::warn!(%addr, "a port forward is not served: no permission to listen there");
            Ok(None)
        }
        Err(source) => Err(ForwardError::Listen { addr, source }),
    }
}

/// The forwards of one VCH endpoint, by container id.
#[derive(Default)]
pub struct Forwards {
    open: Mutex<BTreeMap<String, Lease>>,
}

impl std::fmt::Debug for Forwards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwards")
            .field("containers", &self.lock().len())
            .finish()
    }
}

impl Forwards {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Lease>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts forwarding for container `owner`: each (listener, container port) accepts
    /// and hands connections to the container's service on that port, found in `services`
    /// at accept time (None: every connection is closed). Replaces what `owner` had.
    pub fn open(
        &self,
        owner: &str,
        listeners: Vec<(TcpListener, u16)>,
        services: Option<&Arc<Services>>,
    ) {
        let mut lease = Lease::default();
        for (listener, container_port) in listeners {
            let weak = services.map(Arc::downgrade);
            lease.accept(listener, decide(weak, owner.to_owned(), container_port));
        }
        let old = self.lock().insert(owner.to_owned(), lease);
        drop(old);
    }

    /// Stops forwarding for `owner`; returns once its ports are free.
    pub async fn close(&self, owner: &str) {
        let lease = self.lock().remove(owner);
        if let Some(l) = lease {
            l.close().await;
        }
    }

    /// The addresses forwarded for `owner`.
    pub fn addrs(&self, owner: &str) -> Vec<SocketAddr> {
        self.lock()
            .get(owner)
            .map(|l| l.addrs.clone())
            .unwrap_or_default()
    }
}

fn decide(services: Option<Weak<Services>>, owner: String, container_port: u16) -> Decide {
    Arc::new(move |peer: SocketAddr, local: SocketAddr| {
        let services = services.as_ref()?.upgrade()?;
        let a = services.admit_forwarded(&owner, container_port);
        if !matches!(a, super::Admission::Serve(_)) {
            tracing::debug!(%peer, %local, admission = ?a, "a forwarded connection is not served");
        }
        a.service()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guestnet::{EndpointAddr, Recognised, Registration, nginx::Nginx};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    fn bridge(owner: &str) -> Registration {
        Registration {
            owner: owner.into(),
            server: Recognised {
                service: Arc::new(Nginx),
                ports: vec![80],
                meter: None,
            },
            endpoints: vec![EndpointAddr {
                network: "bridge".into(),
                iface: "eth0".into(),
                ip: "172.16.0.2".parse().unwrap(),
                prefix: 16,
                redirects: Vec::new(),
            }],
            rules: None,
        }
    }

    async fn get(addr: SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn a_forward_serves_while_open_and_frees_its_port_when_closed() {
        let services = Services::new();
        let forwards = Forwards::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let l = bind_forward(ip, 0).unwrap().unwrap();
        let addr = l.local_addr().unwrap();
        // Taken: the start fails with Docker's words.
        let e = bind_forward(ip, addr.port()).unwrap_err();
        assert_eq!(
            e.docker_message("web", "abc"),
            format!(
                "driver failed programming external connectivity on endpoint web (abc): Error starting userland proxy: listen tcp {addr}: bind: address already in use"
            )
        );
        forwards.open("c1", vec![(l, 80)], Some(&services));
        assert_eq!(forwards.addrs("c1"), [addr]);
        // No service registered yet: closed without data.
        assert_eq!(get(addr).await, "");
        services.register(bridge("c1"));
        let page = get(addr).await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("Welcome to nginx!"), "{page}");
        // The process ended: closed again.
        services.unregister("c1");
        assert_eq!(get(addr).await, "");
        forwards.close("c1").await;
        assert!(forwards.addrs("c1").is_empty());
        assert!(TcpStream::connect(addr).await.is_err(), "nothing listens");
        let again = bind_forward(ip, addr.port()).unwrap();
        assert!(again.is_some(), "the port is free again");
    }
}
