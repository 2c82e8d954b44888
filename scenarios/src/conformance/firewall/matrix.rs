//! The matrix of vic.md §3.4: trust levels (columns), traffic kinds (rows), what VIC does
//! in each cell, and each kind as evaluator flows and as a real probe.

use std::net::{IpAddr, Ipv4Addr};

use vic::firewall::{ConnState, Direction, Flow, FlowProto, IcmpType, Interface, TrustLevel};

use crate::conformance::netns::{Addresses, Probe};

/// A column of the matrix: a level as given to `--container-network-firewall` (`None`: the
/// flag is not given, i.e. Unspecified).
#[derive(Debug, Clone, Copy)]
pub(super) struct Level {
    /// Used in case ids and network names.
    pub(super) key: &'static str,
    /// The `--cnf` value; `Open` is capitalised on purpose (levels parse case-insensitively).
    pub(super) flag: Option<&'static str>,
    /// The level the model uses.
    pub(super) trust: Option<TrustLevel>,
}

pub(super) const LEVELS: [Level; 6] = [
    Level {
        key: "closed",
        flag: Some("closed"),
        trust: Some(TrustLevel::Closed),
    },
    Level {
        key: "outbound",
        flag: Some("outbound"),
        trust: Some(TrustLevel::Outbound),
    },
    Level {
        key: "published",
        flag: Some("published"),
        trust: Some(TrustLevel::Published),
    },
    Level {
        key: "unspecified",
        flag: None,
        trust: None,
    },
    Level {
        key: "peers",
        flag: Some("peers"),
        trust: Some(TrustLevel::Peers),
    },
    Level {
        key: "open",
        flag: Some("Open"),
        trust: Some(TrustLevel::Open),
    },
];

/// Ports used by the cases.
pub(super) const DIRECT: u16 = 80;
pub(super) const HOST: u16 = 8443;
pub(super) const MAPPED: u16 = 443;
pub(super) const UNPUBLISHED: u16 = 5432;
pub(super) const EXPOSED: u16 = 6379;
pub(super) const DNS: u16 = 53;
pub(super) const DISCARD: u16 = 9;

impl Level {
    pub(super) fn static_net(&self) -> String {
        format!("fw-{}", self.key)
    }

    pub(super) fn dynamic_net(&self) -> String {
        format!("fwd-{}", self.key)
    }
}

/// The addresses of level `i`: subnet `10.231.(20+i).0/24`, gateway `.1`, ip-range
/// `.16/28` (the containerVM gets `.16`, the first address), a peer at `.20` and an outside
/// host at `.100`; the host beyond the containerVM is `10.232.(20+i).2`.
pub(super) fn addresses(i: usize) -> Addresses {
    let n = 20 + u8::try_from(i).unwrap_or(0);
    Addresses {
        container: Ipv4Addr::new(10, 231, n, 16),
        prefix: 24,
        gateway: Ipv4Addr::new(10, 231, n, 1),
        peer: Ipv4Addr::new(10, 231, n, 20),
        outside: Ipv4Addr::new(10, 231, n, 100),
        inner: Ipv4Addr::new(10, 232, n, 1),
        beyond: Ipv4Addr::new(10, 232, n, 2),
    }
}

pub(super) fn ip_range(i: usize) -> String {
    format!("{}/28", addresses(i).container)
}

/// What vic.md says happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    Allow,
    /// Allowed after a REDIRECT to the container port.
    Redirected,
    Deny,
    /// `docker create` refuses the binding the kind needs.
    Reject,
}
pub(super) use Want::{Allow as A, Deny as D, Redirected as H, Reject as R};

/// Which `-p` binding a kind's traffic needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Needs {
    Nothing,
    /// `-p 80`.
    Direct,
    /// `-p 8443:443`.
    Mapped,
}

impl Needs {
    /// The `-p` value, if any.
    pub(super) fn spec(self) -> Option<String> {
        match self {
            Needs::Nothing => None,
            Needs::Direct => Some(DIRECT.to_string()),
            Needs::Mapped => Some(format!("{HOST}:{MAPPED}")),
        }
    }
}

/// Which rule set a kind runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum On {
    /// The static endpoint on `fw-<level>`.
    Static,
    /// The dynamic endpoint on `fwd-<level>`.
    Dynamic,
}

/// A row of the matrix.
pub(super) struct Kind {
    pub(super) id: &'static str,
    pub(super) description: &'static str,
    pub(super) needs: Needs,
    pub(super) on: On,
    /// vic.md §3.4, in [`LEVELS`] order.
    pub(super) want: [Want; 6],
}

pub(super) const KINDS: [Kind; 14] = [
    Kind {
        id: "outbound-new",
        description: "a new outbound connection (udp/53 to a host off the network)",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, A, A, A, A, A],
    },
    Kind {
        id: "outbound-reply",
        description: "replies to the container's own outbound connection (tcp/443, ESTABLISHED)",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, A, A, A, A, A],
    },
    Kind {
        id: "inbound-published-c",
        description: "inbound tcp/80 from outside the ip-range, published with -p 80",
        needs: Needs::Direct,
        on: On::Static,
        want: [R, R, A, A, R, A],
    },
    Kind {
        id: "inbound-mapped-h-outside",
        description: "inbound tcp/8443 (H) from outside the ip-range, published with -p 8443:443",
        needs: Needs::Mapped,
        on: On::Static,
        want: [R, R, H, H, D, H],
    },
    Kind {
        id: "inbound-mapped-h-peer",
        description: "inbound tcp/8443 (H) from a peer inside the ip-range, published with -p 8443:443",
        needs: Needs::Mapped,
        on: On::Static,
        want: [R, R, H, H, H, H],
    },
    Kind {
        id: "inbound-mapped-c-outside",
        description: "inbound tcp/443 (C) from outside the ip-range, published with -p 8443:443",
        needs: Needs::Mapped,
        on: On::Static,
        want: [R, R, A, A, D, A],
    },
    Kind {
        id: "inbound-unpublished-outside",
        description: "inbound tcp/5432, never published, from outside the ip-range",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, D, D, D, D, A],
    },
    Kind {
        id: "inbound-unpublished-peer",
        description: "inbound tcp/5432, never published, from a peer inside the ip-range",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, D, D, D, A, A],
    },
    Kind {
        id: "inbound-exposed-only",
        description: "inbound tcp/6379 from outside: only EXPOSEd, with -P (PublishAllPorts)",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, D, D, D, D, A],
    },
    Kind {
        id: "icmp-echo-outside",
        description: "ICMP echo (ping) from outside the ip-range",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, D, A, A, D, A],
    },
    Kind {
        id: "icmp-echo-peer",
        description: "ICMP echo (ping) from a peer inside the ip-range",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, D, A, A, A, A],
    },
    Kind {
        id: "dhcp",
        description: "DHCP (udp 68 -> 67 and back) on a dynamic endpoint (no gateway, no ip-range)",
        needs: Needs::Nothing,
        on: On::Dynamic,
        want: [A, A, A, A, A, A],
    },
    Kind {
        id: "loopback",
        description: "tcp/5432 over loopback inside the containerVM",
        needs: Needs::Nothing,
        on: On::Static,
        want: [A, A, A, A, A, A],
    },
    Kind {
        id: "forward",
        description: "forwarding through the containerVM (udp/9 from outside to a host beyond it)",
        needs: Needs::Nothing,
        on: On::Static,
        want: [D, D, D, D, D, A],
    },
];

/// VIC's message for `-p` on closed/outbound (vic.md §3.2).
pub(super) fn refused_msg(net: &str) -> String {
    format!(
        "ports cannot be published via container network {net} (firewall configured as either \"closed\" or \"outbound\")"
    )
}

/// VIC's message for `-p C` on peers (vic.md §3.2).
pub(super) fn peers_msg(net: &str) -> String {
    format!(
        "ports published via container network {net} must specify a mapping (firewall configured for \"peers\" - no need for publishing unless redirecting)"
    )
}

/// The expected text of a cell.
pub(super) fn expected_text(want: Want, level: &Level, needs: Needs) -> String {
    match want {
        A => "allow".into(),
        H => format!("allow (redirected to {MAPPED})"),
        D => "deny".into(),
        R => {
            let net = level.static_net();
            let msg = match (level.trust, needs) {
                (Some(TrustLevel::Peers), _) => peers_msg(&net),
                _ => refused_msg(&net),
            };
            format!("rejected: {msg}")
        }
    }
}

/// Extra create-time checks (vic.md §3.2), all on the published network.
pub(super) struct BadBinding {
    pub(super) id: &'static str,
    pub(super) description: &'static str,
    /// The `-p` value.
    pub(super) spec: &'static str,
    /// VIC's message.
    pub(super) message: &'static str,
}

pub(super) fn bad_bindings() -> [BadBinding; 3] {
    [
        BadBinding {
            id: "reject-redirect-with-range",
            description: "-p 8000:80-81 (a redirect of a range) on a published network",
            spec: "8000:80-81",
            message: "ports published on external networks cannot include both a redirect and a range (8000:80-81/tcp)",
        },
        BadBinding {
            id: "reject-host-ip",
            description: "-p 10.1.1.1:80:80 (a host IP other than 0.0.0.0 or the public one)",
            spec: "10.1.1.1:80:80",
            message: "host IP for port bindings is only supported for 0.0.0.0 and the public interface IP address",
        },
        BadBinding {
            id: "reject-host-port-range",
            description: "-p 8000-8001:80 (a host port range)",
            spec: "8000-8001:80",
            message: "host port ranges are not supported for port bindings",
        },
    ]
}

/// The flows of a kind on level `i` (all must pass for "allow").
pub(super) fn flows(kind: &str, i: usize) -> Vec<Flow> {
    let a = addresses(i);
    let v4 = IpAddr::V4;
    let (c, out, peer) = (v4(a.container), v4(a.outside), v4(a.peer));
    let inbound = |proto, src, dport| Flow::new(Direction::Inbound, proto, src, c, dport);
    let outbound = |proto, dst, dport| Flow::new(Direction::Outbound, proto, c, dst, dport);
    // An inbound TCP connection also needs its SYN-ACK to leave.
    let tcp_in = |src: IpAddr, dport: u16| {
        vec![
            inbound(FlowProto::Tcp, src, dport),
            Flow::new(Direction::Outbound, FlowProto::Tcp, c, src, 40000)
                .from_port(dport)
                .with_state(ConnState::Established),
        ]
    };
    let ping = |src: IpAddr| {
        vec![
            inbound(FlowProto::Icmp(IcmpType::EchoRequest), src, 0),
            outbound(FlowProto::Icmp(IcmpType::EchoReply), src, 0),
        ]
    };
    match kind {
        "outbound-new" => vec![outbound(FlowProto::Udp, out, DNS)],
        "outbound-reply" => vec![
            outbound(FlowProto::Tcp, out, MAPPED),
            Flow::new(Direction::Inbound, FlowProto::Tcp, out, c, 40000)
                .from_port(MAPPED)
                .with_state(ConnState::Established),
        ],
        "inbound-published-c" => tcp_in(out, DIRECT),
        "inbound-mapped-h-outside" => tcp_in(out, HOST),
        "inbound-mapped-h-peer" => tcp_in(peer, HOST),
        "inbound-mapped-c-outside" => tcp_in(out, MAPPED),
        "inbound-unpublished-outside" => tcp_in(out, UNPUBLISHED),
        "inbound-unpublished-peer" => tcp_in(peer, UNPUBLISHED),
        "inbound-exposed-only" => tcp_in(out, EXPOSED),
        "icmp-echo-outside" => ping(out),
        "icmp-echo-peer" => ping(peer),
        "dhcp" => {
            let gw = v4(a.gateway);
            vec![
                outbound(FlowProto::Udp, gw, 67).from_port(68),
                inbound(FlowProto::Udp, gw, 68).from_port(67),
            ]
        }
        "loopback" => {
            let lo = v4(Ipv4Addr::LOCALHOST);
            vec![
                Flow::new(Direction::Outbound, FlowProto::Tcp, lo, lo, UNPUBLISHED)
                    .on(Interface::Loopback),
                Flow::new(Direction::Inbound, FlowProto::Tcp, lo, lo, UNPUBLISHED)
                    .on(Interface::Loopback),
            ]
        }
        "forward" => vec![Flow::new(
            Direction::Forward,
            FlowProto::Udp,
            out,
            v4(a.beyond),
            DISCARD,
        )],
        _ => Vec::new(),
    }
}

/// The real-traffic probe of a kind.
pub(super) fn probe_of(kind: &str, a: &Addresses) -> Option<Probe> {
    Some(match kind {
        "outbound-new" => Probe::UdpOut {
            dst: a.outside,
            port: DNS,
        },
        "outbound-reply" => Probe::TcpOut {
            dst: a.outside,
            port: MAPPED,
        },
        "inbound-published-c" => Probe::TcpIn {
            src: a.outside,
            port: DIRECT,
        },
        "inbound-mapped-h-outside" => Probe::TcpIn {
            src: a.outside,
            port: HOST,
        },
        "inbound-mapped-h-peer" => Probe::TcpIn {
            src: a.peer,
            port: HOST,
        },
        "inbound-mapped-c-outside" => Probe::TcpIn {
            src: a.outside,
            port: MAPPED,
        },
        "inbound-unpublished-outside" => Probe::TcpIn {
            src: a.outside,
            port: UNPUBLISHED,
        },
        "inbound-unpublished-peer" => Probe::TcpIn {
            src: a.peer,
            port: UNPUBLISHED,
        },
        "inbound-exposed-only" => Probe::TcpIn {
            src: a.outside,
            port: EXPOSED,
        },
        "icmp-echo-outside" => Probe::IcmpIn { src: a.outside },
        "icmp-echo-peer" => Probe::IcmpIn { src: a.peer },
        "dhcp" => Probe::Dhcp,
        "loopback" => Probe::Loopback { port: UNPUBLISHED },
        "forward" => Probe::Forward {
            src: a.outside,
            port: DISCARD,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_large_enough_and_ids_are_unique() {
        let ids: std::collections::BTreeSet<String> = LEVELS
            .iter()
            .flat_map(|l| KINDS.iter().map(move |k| format!("fw-{}-{}", l.key, k.id)))
            .collect();
        assert_eq!(ids.len(), LEVELS.len() * KINDS.len());
        assert!(ids.len() >= 40);
        for k in &KINDS {
            assert!(!flows(k.id, 0).is_empty(), "{}", k.id);
            assert!(probe_of(k.id, &addresses(0)).is_some(), "{}", k.id);
        }
    }
}
