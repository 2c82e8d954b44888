//! Building a containerVM's [`RuleSet`] from its endpoints, per trust level (vic.md §3.3).

use std::net::IpAddr;

use super::ruleset::{ConnState, IcmpType, Policy, Protocol, Rule, RuleSet, Table, Target};
use super::{ContainerPort, FirewallError, IpRange, PortMapping, PortRange, Transport, TrustLevel};

/// The user chain both INPUT and OUTPUT jump to (vic.md §3.3).
const VIC: &str = "VIC";
/// The loopback interface.
const LO: &str = "lo";

/// The kind of network scope an endpoint joins (vic.md §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// A container network (`--container-network`): the trust level applies.
    External,
    /// The bridge network: always "outbound + peers(bridge pools)", whatever the level.
    Bridge,
}

/// One network endpoint of a containerVM, as the tether sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Network name (the alias); used in port-check messages.
    pub network: String,
    /// Interface name inside the containerVM.
    pub iface: String,
    /// Container network or bridge.
    pub scope: ScopeKind,
    /// Static address; `None` means dynamic (DHCP), which adds the DHCP rules (vic.md §3.3).
    pub ip: Option<IpAddr>,
    /// The scope's pools: `--container-network-ip-range` for peers, the bridge range for the
    /// bridge (vic.md §3.3 "Peers pools").
    pub pools: Vec<IpRange>,
    /// Trust level; `None` is Unspecified, which behaves as published.
    pub trust: Option<TrustLevel>,
    /// `-p` bindings.
    pub published: Vec<PortMapping>,
    /// `EXPOSE`/`--expose`/`-P` ports: VIC ignores them (vic.md §3.2), so no rule uses them.
    pub exposed_only: Vec<ContainerPort>,
}

impl Endpoint {
    /// A dynamic endpoint on container network `network` at `trust`, on interface `iface`.
    pub fn container_network(network: &str, iface: &str, trust: Option<TrustLevel>) -> Self {
        Self {
            network: network.to_owned(),
            iface: iface.to_owned(),
            scope: ScopeKind::External,
            ip: None,
            pools: Vec::new(),
            trust,
            published: Vec::new(),
            exposed_only: Vec::new(),
        }
    }

    /// A bridge endpoint on `iface` with the bridge scope's `pools` (e.g. `172.16.0.0/16`).
    pub fn bridge(iface: &str, ip: Option<IpAddr>, pools: Vec<IpRange>) -> Self {
        Self {
            network: "bridge".to_owned(),
            scope: ScopeKind::Bridge,
            ip,
            pools,
            ..Self::container_network("bridge", iface, None)
        }
    }
}

/// The rule set for a containerVM with a single endpoint.
///
/// Fails only with `cannot port forward a range`, which the tether reports for a redirect of a
/// range (vic.md §3.3); [`crate::firewall::check_ports`] refuses such bindings at create.
pub fn rules(ep: &Endpoint) -> Result<RuleSet, FirewallError> {
    rules_for(std::slice::from_ref(ep))
}

/// The rule set for a containerVM with several endpoints, applied in the given order.
///
/// VIC walks its endpoints in Go map order, i.e. unordered (vic.md §3.3); callers choose one.
/// [`crate::firewall::Interface::External`] stands for the first container-network endpoint's
/// interface, or the first endpoint's if there is none.
pub fn rules_for(endpoints: &[Endpoint]) -> Result<RuleSet, FirewallError> {
    let mut rs = RuleSet::new();
    bootstrap(&mut rs);
    // SetupFirewall (vic.md §3.3 "Rebuild"): `iptables -F VIC`, the endpoint rules, then
    // `-A VIC -j RETURN`. This is the state after the first set-up: a reload flushes only VIC,
    // so VIC's FORWARD and PREROUTING appends would repeat (harmless, not modelled).
    for ep in endpoints {
        endpoint_rules(&mut rs, ep)?;
    }
    rs.append(Rule::new(Table::Filter, VIC, Target::Return));
    if rs.rules().iter().any(|r| r.table == Table::Nat) {
        for chain in ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] {
            rs.declare(Table::Nat, chain, Some(Policy::Accept));
        }
    }
    let external = endpoints
        .iter()
        .find(|e| e.scope == ScopeKind::External)
        .or(endpoints.first());
    if let Some(ep) = external {
        rs.set_external(&ep.iface);
    }
    Ok(rs)
}

/// The bootstrap's set-up, before the tether runs (vic.md §3.3 "Bootstrap").
fn bootstrap(rs: &mut RuleSet) {
    rs.declare(Table::Filter, VIC, None);
    for chain in ["INPUT", "OUTPUT", "FORWARD"] {
        rs.declare(Table::Filter, chain, Some(Policy::Drop));
    }
    rs.append(Rule::new(
        Table::Filter,
        "INPUT",
        Target::Jump(VIC.to_owned()),
    ));
    rs.append(Rule::new(
        Table::Filter,
        "OUTPUT",
        Target::Jump(VIC.to_owned()),
    ));
    // After the jumps, so traffic falling through VIC reaches them: `lo` is always allowed.
    rs.append(Rule {
        in_iface: Some(LO.into()),
        ..Rule::new(Table::Filter, "INPUT", Target::Accept)
    });
    rs.append(Rule {
        out_iface: Some(LO.into()),
        ..Rule::new(Table::Filter, "OUTPUT", Target::Accept)
    });
    rs.append(Rule {
        in_iface: Some(LO.into()),
        out_iface: Some(LO.into()),
        ..Rule::new(Table::Filter, "FORWARD", Target::Accept)
    });
}

/// The per-endpoint rules of the level table in vic.md §3.3.
fn endpoint_rules(rs: &mut RuleSet, ep: &Endpoint) -> Result<(), FirewallError> {
    let dynamic = ep.ip.is_none();
    if ep.scope == ScopeKind::Bridge {
        outbound(rs, ep);
        rs.append(Rule {
            sources: ep.pools.clone(),
            ..vic_in(ep, Target::Accept)
        });
        return Ok(());
    }
    match TrustLevel::effective(ep.trust) {
        TrustLevel::Open => {
            ports(rs, ep, true)?;
            rs.append(vic_in(ep, Target::Accept));
            rs.append(vic_out(ep, Target::Accept));
            rs.append(Rule {
                in_iface: Some(ep.iface.clone()),
                ..Rule::new(Table::Filter, "FORWARD", Target::Accept)
            });
        }
        TrustLevel::Closed => dhcp(rs, ep, dynamic),
        TrustLevel::Outbound => {
            dhcp(rs, ep, dynamic);
            outbound(rs, ep);
        }
        TrustLevel::Peers => {
            dhcp(rs, ep, dynamic);
            outbound(rs, ep);
            ports(rs, ep, true)?;
            // With no ip-range the pool list is empty, `-s` disappears and every source is
            // accepted (vic.md §3.3 edge case (a)).
            rs.append(Rule {
                sources: ep.pools.clone(),
                ..vic_in(ep, Target::Accept)
            });
            ping(rs, ep, &ep.pools);
        }
        TrustLevel::Published => {
            dhcp(rs, ep, dynamic);
            outbound(rs, ep);
            ping(rs, ep, &[]);
            ports(rs, ep, false)?;
        }
    }
    Ok(())
}

/// `-A VIC ... -i <if> -j target`.
fn vic_in(ep: &Endpoint, target: Target) -> Rule {
    Rule {
        in_iface: Some(ep.iface.clone()),
        ..Rule::new(Table::Filter, VIC, target)
    }
}

/// `-A VIC ... -o <if> -j target`.
fn vic_out(ep: &Endpoint, target: Target) -> Rule {
    Rule {
        out_iface: Some(ep.iface.clone()),
        ..Rule::new(Table::Filter, VIC, target)
    }
}

/// DHCP in both directions, for dynamic endpoints only.
fn dhcp(rs: &mut RuleSet, ep: &Endpoint, dynamic: bool) {
    if !dynamic {
        return;
    }
    let ports = PortRange { start: 67, end: 68 };
    for base in [vic_in(ep, Target::Accept), vic_out(ep, Target::Accept)] {
        rs.append(Rule {
            proto: Some(Protocol::Udp),
            dport: Some(ports),
            sport: Some(ports),
            ..base
        });
    }
}

/// Replies in, anything out.
fn outbound(rs: &mut RuleSet, ep: &Endpoint) {
    rs.append(Rule {
        states: vec![ConnState::Established, ConnState::Related],
        ..vic_in(ep, Target::Accept)
    });
    rs.append(vic_out(ep, Target::Accept));
}

/// Echo-request in and echo-reply out, optionally limited to `sources`.
fn ping(rs: &mut RuleSet, ep: &Endpoint, sources: &[IpRange]) {
    for (kind, base) in [
        (IcmpType::EchoRequest, vic_in(ep, Target::Accept)),
        (IcmpType::EchoReply, vic_out(ep, Target::Accept)),
    ] {
        rs.append(Rule {
            proto: Some(Protocol::Icmp),
            icmp_type: Some(kind),
            sources: sources.to_vec(),
            ..base
        });
    }
}

/// `portToRule` for every `-p` binding: the expose rule unless `redirect_only`, then the
/// REDIRECT when the host port differs from the container port.
fn ports(rs: &mut RuleSet, ep: &Endpoint, redirect_only: bool) -> Result<(), FirewallError> {
    for p in &ep.published {
        let redirect = p.redirect_from();
        if redirect.is_some_and(|h| h.is_range())
            || (redirect.is_some() && p.container_port.is_range())
        {
            return Err(FirewallError::CannotForwardRange);
        }
        let proto = Some(match p.transport {
            Transport::Tcp => Protocol::Tcp,
            Transport::Udp => Protocol::Udp,
        });
        if !redirect_only {
            rs.append(Rule {
                proto,
                dport: Some(p.container_port),
                ..vic_in(ep, Target::Accept)
            });
        }
        if let Some(host) = redirect {
            rs.append(Rule {
                proto,
                dport: Some(host),
                in_iface: Some(ep.iface.clone()),
                ..Rule::new(
                    Table::Nat,
                    "PREROUTING",
                    Target::Redirect(p.container_port.start),
                )
            });
        }
    }
    Ok(())
}
