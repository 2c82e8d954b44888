//! The registry of the services containers' processes run: (container, address, port) →
//! service, with each containerVM's firewall rule set, and the listeners the tether binds
//! for containers on routable (loopback-addressed) container networks.

use super::listener::{Decide, Lease, accept_loop, bind_listener};
use super::{Recognised, Service};
use crate::firewall::{Direction, Flow, FlowProto, Interface, RuleSet, Verdict, evaluate};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// How often, and how long apart, the tether retries binding an address that is still in
/// use: a container restarted at once finds its previous listener closing, not closed.
const REBIND_ATTEMPTS: u32 = 50;
const REBIND_PAUSE: Duration = Duration::from_millis(20);

/// One network endpoint of a containerVM, as the registry needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointAddr {
    /// The network (`bridge` or the container network's alias).
    pub network: String,
    /// The interface inside the containerVM (`eth0`), the one the firewall rules name.
    pub iface: String,
    /// The container's address on it.
    pub ip: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// `-p H:C` redirects on a container network (host port, container port): the
    /// containerVM's nat REDIRECT takes H to C, so H is listened on as well.
    pub redirects: Vec<(u16, u16)>,
}

/// What the tether registers when it launches a server.
pub struct Registration {
    /// The container id (the owner of everything registered).
    pub owner: String,
    /// The service and its ports.
    pub server: Recognised,
    /// The container's endpoints.
    pub endpoints: Vec<EndpointAddr>,
    /// The firewall rule set the tether applied (None: no firewall, everything admitted).
    pub rules: Option<RuleSet>,
}

/// Whether a connection is served.
#[derive(Clone)]
pub enum Admission {
    /// Served by this service.
    Serve(Arc<dyn Service>),
    /// Nothing listens on that port: closed.
    NoService,
    /// The containerVM's firewall dropped it.
    Refused(Verdict),
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Admission::Serve(s) => write!(f, "Serve({})", s.name()),
            Admission::NoService => f.write_str("NoService"),
            Admission::Refused(v) => write!(f, "Refused({v})"),
        }
    }
}

impl Admission {
    /// The service, if the connection is served.
    pub fn service(self) -> Option<Arc<dyn Service>> {
        match self {
            Admission::Serve(s) => Some(s),
            _ => None,
        }
    }
}

/// One registered (address, port).
struct Entry {
    owner: String,
    network: String,
    iface: String,
    ip: IpAddr,
    prefix: u8,
    port: u16,
    service: Arc<dyn Service>,
    rules: Option<Arc<RuleSet>>,
}

/// The services containers run, shared by the tether (which registers them) and the VCH
/// endpoints (whose forwards reach them).
#[derive(Default)]
pub struct Services {
    entries: Mutex<Vec<Entry>>,
    /// The routable listeners of each owner.
    leases: Mutex<BTreeMap<String, Lease>>,
    /// The container registries the testbed runs (the engines' name resolution).
    registries: Arc<crate::registry_hosts::RegistryHosts>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("registered", &self.len())
            .finish_non_exhaustive()
    }
}

/// The verdict of `rules` on a new inbound TCP connection from `src` to `dst:dport` on the
/// containerVM interface `iface`.
pub fn inbound_verdict(
    rules: &RuleSet,
    iface: &str,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
) -> Verdict {
    let flow = Flow::new(Direction::Inbound, FlowProto::Tcp, src, dst, dport)
        .on(Interface::Named(iface.to_owned()));
    evaluate(rules, &flow)
}

/// The first host address of `ip/prefix`: the network's gateway (on the bridge, the VCH
/// appliance's own address, where forwarded connections come from).
fn gateway_of(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from((u32::from(v4) & mask) | 1))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from((u128::from(v6) & mask) | 1))
        }
    }
}

impl Services {
    /// An empty registry.
    pub fn new() -> Arc<Services> {
        Arc::new(Services::default())
    }

    /// The container registries the testbed runs, by host name.
    pub fn registries(&self) -> &Arc<crate::registry_hosts::RegistryHosts> {
        &self.registries
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn leases(&self) -> MutexGuard<'_, BTreeMap<String, Lease>> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many (address, port) pairs are registered.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses the tether listens on for `owner` (its routable endpoints).
    pub fn listening(&self, owner: &str) -> Vec<SocketAddr> {
        self.leases()
            .get(owner)
            .map(|l| l.addrs.clone())
            .unwrap_or_default()
    }

    /// Registers `reg`'s service on every endpoint address of its container (replacing what
    /// the owner had) and, inside a tokio runtime, listens on each loopback (routable)
    /// endpoint address at the service's ports and redirected ports. Returns what could not
    /// be bound (the service is registered anyway).
    pub fn register(self: &Arc<Self>, reg: Registration) -> Vec<String> {
        self.unregister(&reg.owner);
        let rules = reg.rules.map(Arc::new);
        {
            let mut entries = self.entries();
            for ep in &reg.endpoints {
                for &port in &reg.server.ports {
                    entries.push(Entry {
                        owner: reg.owner.clone(),
                        network: ep.network.clone(),
                        iface: ep.iface.clone(),
                        ip: ep.ip,
                        prefix: ep.prefix,
                        port,
                        service: reg.server.service.clone(),
                        rules: rules.clone(),
                    });
                }
            }
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return Vec::new();
        };
        let _enter = rt.enter();
        let mut lease = Lease::default();
        let mut problems = Vec::new();
        for ep in reg.endpoints.iter().filter(|e| e.ip.is_loopback()) {
            let mut ports = reg.server.ports.clone();
            for &(host, container) in &ep.redirects {
                if reg.server.ports.contains(&container) && !ports.contains(&host) {
                    ports.push(host);
                }
            }
            for port in ports {
                let addr = SocketAddr::new(ep.ip, port);
                let decide = self.decider(&reg.owner);
                match bind_listener(addr) {
                    Ok(l) => lease.accept(l, decide),
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        // Most likely this container's previous run, still closing.
                        let stop = lease.subscribe();
                        lease.addrs.push(addr);
                        lease.spawn(async move {
                            for _ in 0..REBIND_ATTEMPTS {
                                tokio::time::sleep(REBIND_PAUSE).await;
                                if let Ok(l) = bind_listener(addr) {
                                    return accept_loop(l, decide, stop).await;
                                }
                            }
                            tracing::warn!(%addr, "a container service cannot listen: address in use");
                        });
                    }
                    Err(e) => problems.push(format!("bind() to {addr} failed ({e})")),
                }
            }
        }
        self.leases().insert(reg.owner, lease);
        problems
    }

    /// Removes everything `owner` registered and closes its listeners and connections.
    pub fn unregister(&self, owner: &str) {
        self.entries().retain(|e| e.owner != owner);
        // Dropped outside the registry's lock (dropping signals its tasks).
        let lease = self.leases().remove(owner);
        drop(lease);
    }

    /// The service registered at `ip:port`, if any.
    pub fn lookup(&self, ip: IpAddr, port: u16) -> Option<Arc<dyn Service>> {
        self.entries()
            .iter()
            .find(|e| e.ip == ip && e.port == port)
            .map(|e| e.service.clone())
    }

    /// Whether a connection from `peer` to `owner`'s address `ip` at `port` is served: the
    /// containerVM's firewall decides first (a nat REDIRECT may send it to another port),
    /// then a service must listen on the port it arrives at.
    pub fn admit(&self, owner: &str, ip: IpAddr, port: u16, peer: IpAddr) -> Admission {
        let entries = self.entries();
        let mine = || entries.iter().filter(|e| e.owner == owner && e.ip == ip);
        let Some(any) = mine().next() else {
            return Admission::NoService;
        };
        let mut target = port;
        if let Some(rules) = &any.rules {
            let verdict = inbound_verdict(rules, &any.iface, peer, ip, port);
            if !verdict.allowed() {
                return Admission::Refused(verdict);
            }
            target = verdict.redirected_to.unwrap_or(port);
        }
        mine()
            .find(|e| e.port == target)
            .map_or(Admission::NoService, |e| {
                Admission::Serve(e.service.clone())
            })
    }

    /// Whether a connection the VCH endpoint forwards to `owner`'s bridge address at `port`
    /// is served: it arrives from the bridge network's gateway (the appliance), so the
    /// bridge rules (accept from the bridge pools) apply to that source.
    pub fn admit_forwarded(&self, owner: &str, port: u16) -> Admission {
        let bridge = self
            .entries()
            .iter()
            .find(|e| e.owner == owner && e.network == "bridge")
            .map(|e| (e.ip, e.prefix));
        match bridge {
            Some((ip, prefix)) => self.admit(owner, ip, port, gateway_of(ip, prefix)),
            None => Admission::NoService,
        }
    }

    /// The accept-time decision for `owner`'s routable listeners. Holds the registry weakly:
    /// a listener never keeps it alive.
    fn decider(self: &Arc<Self>, owner: &str) -> Decide {
        let weak: Weak<Services> = Arc::downgrade(self);
        let owner = owner.to_owned();
        Arc::new(move |peer: SocketAddr, local: SocketAddr| {
            let services = weak.upgrade()?;
            match services.admit(&owner, local.ip(), local.port(), peer.ip()) {
                Admission::Serve(s) => Some(s),
                Admission::Refused(v) => {
                    tracing::debug!(%peer, %local, verdict = %v, "the containerVM's firewall refused");
                    None
                }
                Admission::NoService => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{
        Endpoint, IpRange, PortMapping, ScopeKind, Transport, TrustLevel, rules_for,
    };
    use crate::guestnet::nginx::Nginx;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nginx() -> Recognised {
        Recognised {
            service: Arc::new(Nginx),
            ports: vec![80],
            meter: None,
        }
    }

    fn bridge_ep(addr: &str) -> (Endpoint, EndpointAddr) {
        let e = Endpoint::bridge(
            "eth0",
            Some(ip(addr)),
            vec!["172.16.0.0/16".parse::<IpRange>().unwrap()],
        );
        let a = EndpointAddr {
            network: "bridge".into(),
            iface: "eth0".into(),
            ip: ip(addr),
            prefix: 16,
            redirects: Vec::new(),
        };
        (e, a)
    }

    fn routable(
        trust: TrustLevel,
        addr: &str,
        published: Vec<PortMapping>,
    ) -> (Endpoint, EndpointAddr) {
        let mut e = Endpoint::container_network("routable", "eth0", Some(trust));
        e.scope = ScopeKind::External;
        e.ip = Some(ip(addr));
        e.pools = vec!["127.77.0.0/24".parse().unwrap()];
        let redirects = published
            .iter()
            .filter_map(|p| p.redirect_from().map(|h| (h.start, p.container_port.start)))
            .collect();
        e.published = published;
        let a = EndpointAddr {
            network: "routable".into(),
            iface: "eth0".into(),
            ip: ip(addr),
            prefix: 24,
            redirects,
        };
        (e, a)
    }

    fn register(s: &Arc<Services>, owner: &str, eps: Vec<(Endpoint, EndpointAddr)>) {
        let rules = rules_for(&eps.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>()).unwrap();
        let problems = s.register(Registration {
            owner: owner.into(),
            server: nginx(),
            endpoints: eps.into_iter().map(|(_, a)| a).collect(),
            rules: Some(rules),
        });
        assert!(problems.is_empty(), "{problems:?}");
    }

    fn served(a: Admission) -> bool {
        matches!(a, Admission::Serve(_))
    }

    #[test]
    fn register_lookup_and_unregister() {
        let s = Services::new();
        assert!(s.is_empty());
        register(&s, "c1", vec![bridge_ep("172.16.0.2")]);
        register(&s, "c2", vec![bridge_ep("172.16.0.3")]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.lookup(ip("172.16.0.2"), 80).unwrap().name(), "nginx");
        assert!(s.lookup(ip("172.16.0.2"), 81).is_none());
        // Registering again replaces, not adds.
        register(&s, "c1", vec![bridge_ep("172.16.0.2")]);
        assert_eq!(s.len(), 2);
        s.unregister("c1");
        assert!(s.lookup(ip("172.16.0.2"), 80).is_none());
        assert!(s.lookup(ip("172.16.0.3"), 80).is_some());
        s.unregister("c2");
        assert!(s.is_empty());
        assert!(s.listening("c2").is_empty());
    }

    #[test]
    fn forwarded_connections_come_from_the_bridge_gateway() {
        assert_eq!(gateway_of(ip("172.16.5.9"), 16), ip("172.16.0.1"));
        assert_eq!(gateway_of(ip("10.1.2.3"), 0), ip("0.0.0.1"));
        let s = Services::new();
        register(&s, "c1", vec![bridge_ep("172.16.0.2")]);
        assert!(served(s.admit_forwarded("c1", 80)));
        assert!(matches!(s.admit_forwarded("c1", 81), Admission::NoService));
        assert!(matches!(
            s.admit_forwarded("nosuch", 80),
            Admission::NoService
        ));
        // The bridge accepts its peers only: an outside source is dropped.
        assert!(matches!(
            s.admit("c1", ip("172.16.0.2"), 80, ip("192.168.1.9")),
            Admission::Refused(_)
        ));
    }

    #[test]
    fn trust_levels_decide_inbound_connections() {
        let c = "127.77.0.5";
        let outside = ip("127.0.0.1");
        let peer = ip("127.77.0.9");
        let direct80 = || vec![PortMapping::direct(Transport::Tcp, 80)];
        let cases: Vec<(TrustLevel, Vec<PortMapping>, IpAddr, u16, bool)> = vec![
            (TrustLevel::Open, Vec::new(), outside, 80, true),
            (TrustLevel::Closed, Vec::new(), outside, 80, false),
            (TrustLevel::Closed, Vec::new(), peer, 80, false),
            (TrustLevel::Outbound, Vec::new(), peer, 80, false),
            (TrustLevel::Published, Vec::new(), outside, 80, false),
            (TrustLevel::Published, direct80(), outside, 80, true),
            (TrustLevel::Peers, Vec::new(), outside, 80, false),
            (TrustLevel::Peers, Vec::new(), peer, 80, true),
        ];
        for (trust, published, src, port, ok) in cases {
            let s = Services::new();
            register(&s, "c", vec![routable(trust, c, published.clone())]);
            let a = s.admit("c", ip(c), port, src);
            assert_eq!(
                served(a.clone()),
                ok,
                "{trust:?} {published:?} from {src}: {a:?}"
            );
        }
    }

    #[test]
    fn a_redirected_port_reaches_the_service_on_its_container_port() {
        let s = Services::new();
        let m = PortMapping::mapped(Transport::Tcp, 8080, 80);
        register(
            &s,
            "c",
            vec![routable(TrustLevel::Published, "127.77.0.6", vec![m])],
        );
        let a = s.admit("c", ip("127.77.0.6"), 8080, ip("127.0.0.1"));
        assert!(served(a), "REDIRECT 8080 → 80");
        // Open but nothing listens on 81.
        let s = Services::new();
        register(
            &s,
            "c",
            vec![routable(TrustLevel::Open, "127.77.0.6", Vec::new())],
        );
        assert!(matches!(
            s.admit("c", ip("127.77.0.6"), 81, ip("127.0.0.1")),
            Admission::NoService
        ));
    }
}
