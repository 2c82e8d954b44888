//! Firewall trust levels: the vic.md §3.4 behaviour matrix as a flow table, create-time
//! rejections with VIC's messages (§3.2), and iptables-restore snapshots per level (§3.3).

use std::net::IpAddr;

use vic::firewall::{
    ConnState, ContainerPort, Direction, Endpoint, FirewallError, Flow, FlowProto, IcmpType,
    Interface, IpRange, PortMapping, RuleSet, TrustLevel, check_bindings, check_ports, evaluate,
    rules, rules_for,
};

/// The containerVM's address on the container network.
const CONTAINER: &str = "10.0.0.5";
/// A host off the network and outside the ip-range.
const OUTSIDE: &str = "192.168.50.7";
/// A peer inside `--container-network-ip-range`.
const PEER: &str = "10.0.0.9";
/// The ip-range of the container network (peers pools).
const POOL: &str = "10.0.0.0/24";
const NET: &str = "routable";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn port(s: &str) -> PortMapping {
    s.parse().expect("port mapping")
}

/// Columns of the matrix: vic.md §3.4 plus "unspecified" (no `--cnf`).
const LEVELS: [Option<TrustLevel>; 6] = [
    Some(TrustLevel::Closed),
    Some(TrustLevel::Outbound),
    Some(TrustLevel::Published),
    None,
    Some(TrustLevel::Peers),
    Some(TrustLevel::Open),
];

fn level_name(level: Option<TrustLevel>) -> &'static str {
    level.map_or("unspecified", TrustLevel::as_str)
}

/// The `-p` bindings a container on `level` is created with: every binding the level accepts
/// out of `-p 80` (direct) and `-p 8443:443` (mapped). Closed/outbound accept none, peers only
/// the mapped one (vic.md §3.2).
fn bindings(level: Option<TrustLevel>) -> Vec<PortMapping> {
    [port("80"), port("8443:443")]
        .into_iter()
        .filter(|p| check_ports(NET, level, std::slice::from_ref(p)).is_ok())
        .collect()
}

/// A dynamic endpoint on `level`, with EXPOSE 6379 (ignored by VIC) and the pool.
fn endpoint(level: Option<TrustLevel>) -> Endpoint {
    Endpoint {
        pools: vec![POOL.parse().expect("pool")],
        published: bindings(level),
        exposed_only: vec!["6379/tcp".parse().expect("expose")],
        ..Endpoint::container_network(NET, "eth0", level)
    }
}

fn inbound(proto: FlowProto, src: &str, dport: u16) -> Flow {
    Flow::new(Direction::Inbound, proto, ip(src), ip(CONTAINER), dport)
}

fn outbound(proto: FlowProto, dst: &str, dport: u16) -> Flow {
    Flow::new(Direction::Outbound, proto, ip(CONTAINER), ip(dst), dport)
}

/// Expected outcome per cell: allow, deny, or the create is rejected (the flow's port cannot be
/// published on that level, so the container never exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    A,
    D,
    R,
}
use Want::{A, D, R};

struct Row {
    kind: &'static str,
    flow: Flow,
    /// The binding the row is about, for `R` cells.
    binding: Option<&'static str>,
    want: [Want; 6],
}

fn matrix() -> Vec<Row> {
    use FlowProto::{Icmp, Tcp, Udp};
    let row = |kind, flow, want| Row {
        kind,
        flow,
        binding: None,
        want,
    };
    vec![
        row(
            "new outbound tcp/443",
            outbound(Tcp, "93.184.216.34", 443),
            [D, A, A, A, A, A],
        ),
        row(
            "new outbound dns udp/53",
            outbound(Udp, "8.8.8.8", 53),
            [D, A, A, A, A, A],
        ),
        row(
            "reply to outbound (ESTABLISHED)",
            inbound(Tcp, "93.184.216.34", 40000)
                .from_port(443)
                .with_state(ConnState::Established),
            [D, A, A, A, A, A],
        ),
        row(
            "related icmp (RELATED)",
            inbound(Icmp(IcmpType::Other(3)), "93.184.216.34", 0).with_state(ConnState::Related),
            [D, A, A, A, A, A],
        ),
        Row {
            kind: "inbound to -p 80 (C)",
            flow: inbound(Tcp, OUTSIDE, 80),
            binding: Some("80"),
            want: [R, R, A, A, R, A],
        },
        Row {
            kind: "inbound to -p 8443:443 on H, outside the range",
            flow: inbound(Tcp, OUTSIDE, 8443),
            binding: Some("8443:443"),
            want: [R, R, A, A, D, A],
        },
        Row {
            kind: "inbound to -p 8443:443 on H, peer in the range",
            flow: inbound(Tcp, PEER, 8443),
            binding: Some("8443:443"),
            want: [R, R, A, A, A, A],
        },
        Row {
            kind: "inbound to -p 8443:443 on C, outside the range",
            flow: inbound(Tcp, OUTSIDE, 443),
            binding: Some("8443:443"),
            want: [R, R, A, A, D, A],
        },
        Row {
            kind: "inbound to -p 8443:443 on C, peer in the range",
            flow: inbound(Tcp, PEER, 443),
            binding: Some("8443:443"),
            want: [R, R, A, A, A, A],
        },
        row(
            "inbound to unpublished tcp/5432, outside",
            inbound(Tcp, OUTSIDE, 5432),
            [D, D, D, D, D, A],
        ),
        row(
            "inbound to unpublished tcp/5432, peer",
            inbound(Tcp, PEER, 5432),
            [D, D, D, D, A, A],
        ),
        row(
            "inbound to unpublished udp/161, peer",
            inbound(Udp, PEER, 161),
            [D, D, D, D, A, A],
        ),
        row(
            "inbound to EXPOSE/-P-only tcp/6379, outside",
            inbound(Tcp, OUTSIDE, 6379),
            [D, D, D, D, D, A],
        ),
        row(
            "inbound to EXPOSE/-P-only tcp/6379, peer",
            inbound(Tcp, PEER, 6379),
            [D, D, D, D, A, A],
        ),
        row(
            "icmp echo-request, outside",
            inbound(Icmp(IcmpType::EchoRequest), OUTSIDE, 0),
            [D, D, A, A, D, A],
        ),
        row(
            "icmp echo-request, peer",
            inbound(Icmp(IcmpType::EchoRequest), PEER, 0),
            [D, D, A, A, A, A],
        ),
        row(
            "icmp echo-reply out",
            outbound(Icmp(IcmpType::EchoReply), OUTSIDE, 0),
            [D, A, A, A, A, A],
        ),
        row(
            "dhcp request out (dynamic)",
            outbound(Udp, "255.255.255.255", 67).from_port(68),
            [A; 6],
        ),
        row(
            "dhcp offer in (dynamic)",
            inbound(Udp, "10.0.0.1", 68).from_port(67),
            [A; 6],
        ),
        row(
            "loopback inbound tcp/5432",
            inbound(Tcp, "127.0.0.1", 5432).on(Interface::Loopback),
            [A; 6],
        ),
        row(
            "loopback ping",
            inbound(Icmp(IcmpType::EchoRequest), "127.0.0.1", 0).on(Interface::Loopback),
            [A; 6],
        ),
        row(
            "loopback outbound tcp/5432",
            outbound(Tcp, "127.0.0.1", 5432).on(Interface::Loopback),
            [A; 6],
        ),
        row(
            "forward through the container, outside",
            Flow::new(Direction::Forward, Tcp, ip(OUTSIDE), ip("10.9.9.9"), 22),
            [D, D, D, D, D, A],
        ),
        row(
            "forward through the container, peer",
            Flow::new(Direction::Forward, Tcp, ip(PEER), ip("10.9.9.9"), 22),
            [D, D, D, D, D, A],
        ),
    ]
}

/// vic.md §3.4, every trust level × traffic kind: 24 kinds × 6 levels = 144 cells.
#[test]
fn behaviour_matrix() {
    let rows = matrix();
    let mut cells = 0;
    let mut failures = Vec::new();
    for (col, level) in LEVELS.into_iter().enumerate() {
        let rs = rules(&endpoint(level)).expect("rules");
        for row in &rows {
            cells += 1;
            let want = row.want[col];
            let rejected = row
                .binding
                .and_then(|b| check_ports(NET, level, &[port(b)]).err());
            let got = match rejected {
                Some(_) => R,
                None if evaluate(&rs, &row.flow).allowed() => A,
                None => D,
            };
            if got != want {
                let verdict = evaluate(&rs, &row.flow);
                failures.push(format!(
                    "{} on {}: want {want:?}, got {got:?} ({verdict})",
                    row.kind,
                    level_name(level)
                ));
            }
        }
    }
    assert!(cells >= 40, "only {cells} cells");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn published_redirect_reports_the_container_port() {
    let rs = rules(&endpoint(None)).expect("rules");
    let v = evaluate(&rs, &inbound(FlowProto::Tcp, OUTSIDE, 8443));
    assert!(v.allowed());
    assert_eq!(v.redirected_to, Some(443));
    assert_eq!(
        v.to_string(),
        "allow (redirected to 443) by `-A VIC -p tcp --dport 443 -i eth0 -j ACCEPT`"
    );
    let open = rules(&endpoint(Some(TrustLevel::Open))).expect("rules");
    assert_eq!(
        evaluate(&open, &inbound(FlowProto::Tcp, OUTSIDE, 8443)).redirected_to,
        Some(443)
    );
}

#[test]
fn verdicts_name_the_deciding_rule_or_policy() {
    let closed = rules(&endpoint(Some(TrustLevel::Closed))).expect("rules");
    assert_eq!(
        evaluate(&closed, &inbound(FlowProto::Tcp, OUTSIDE, 22)).to_string(),
        "drop by the INPUT policy"
    );
    let lo =
        inbound(FlowProto::Icmp(IcmpType::EchoRequest), "127.0.0.1", 0).on(Interface::Loopback);
    assert_eq!(
        evaluate(&closed, &lo).to_string(),
        "allow by `-A INPUT -i lo -j ACCEPT`"
    );
}

#[test]
fn unspecified_renders_exactly_as_published() {
    let published = rules(&endpoint(Some(TrustLevel::Published))).expect("rules");
    let unspecified = rules(&endpoint(None)).expect("rules");
    assert_eq!(published, unspecified);
}

#[test]
fn expose_and_publish_all_open_nothing() {
    // -P / EXPOSE / --expose are ignored (vic.md §3.2): the rule set is the same without them.
    for level in LEVELS {
        let with = endpoint(level);
        let without = Endpoint {
            exposed_only: Vec::<ContainerPort>::new(),
            ..with.clone()
        };
        assert_eq!(
            rules(&with).expect("rules"),
            rules(&without).expect("rules"),
            "{}",
            level_name(level)
        );
    }
}

#[test]
fn static_endpoints_get_no_dhcp_rules() {
    let dhcp_in = inbound(FlowProto::Udp, "10.0.0.1", 68).from_port(67);
    let dhcp_out = outbound(FlowProto::Udp, "255.255.255.255", 67).from_port(68);
    let want: [(Option<TrustLevel>, bool, bool); 6] = [
        (Some(TrustLevel::Closed), false, false),
        (Some(TrustLevel::Outbound), false, true),
        (Some(TrustLevel::Published), false, true),
        (None, false, true),
        // The DHCP server (10.0.0.1) is inside the ip-range, so the peers rule still admits it.
        (Some(TrustLevel::Peers), true, true),
        (Some(TrustLevel::Open), true, true),
    ];
    for (level, inbound_ok, outbound_ok) in want {
        let rs = rules(&Endpoint {
            ip: Some(ip(CONTAINER)),
            ..endpoint(level)
        })
        .expect("rules");
        assert_eq!(
            evaluate(&rs, &dhcp_in).allowed(),
            inbound_ok,
            "in {}",
            level_name(level)
        );
        assert_eq!(
            evaluate(&rs, &dhcp_out).allowed(),
            outbound_ok,
            "out {}",
            level_name(level)
        );
        assert!(
            !rs.to_iptables_restore()
                .contains("--dport 67:68 --sport 67:68")
        );
    }
}

#[test]
fn peers_without_ip_range_accept_every_source() {
    // vic.md §3.3 edge case (a): no pools, so `-s` is omitted.
    let ep = Endpoint {
        pools: Vec::new(),
        ..endpoint(Some(TrustLevel::Peers))
    };
    let rs = rules(&ep).expect("rules");
    assert!(evaluate(&rs, &inbound(FlowProto::Tcp, OUTSIDE, 5432)).allowed());
    assert!(
        rs.to_iptables_restore()
            .contains("-A VIC -i eth0 -j ACCEPT\n")
    );
}

#[test]
fn non_cidr_pools_are_rendered_verbatim_and_flagged() {
    // vic.md §3.3 edge case (b): `a-b` goes to `-s` as is, which iptables refuses.
    let ep = Endpoint {
        pools: vec!["10.0.0.10-20".parse().expect("range")],
        ..endpoint(Some(TrustLevel::Peers))
    };
    let rs = rules(&ep).expect("rules");
    assert!(
        rs.to_iptables_restore()
            .contains("-A VIC -s 10.0.0.10-10.0.0.20 -i eth0 -j ACCEPT")
    );
    assert_eq!(rs.unloadable_rules().len(), 3);
    assert!(evaluate(&rs, &inbound(FlowProto::Tcp, "10.0.0.15", 5432)).allowed());
    assert!(!evaluate(&rs, &inbound(FlowProto::Tcp, "10.0.0.21", 5432)).allowed());
    let cidr = rules(&endpoint(Some(TrustLevel::Peers))).expect("rules");
    assert!(cidr.unloadable_rules().is_empty());
}

#[test]
fn bridge_is_outbound_plus_bridge_peers_whatever_the_level() {
    let pools: Vec<IpRange> = vec!["172.16.0.0/16".parse().expect("pool")];
    let bridge = Endpoint {
        trust: Some(TrustLevel::Closed),
        ..Endpoint::bridge("eth0", Some(ip("172.16.0.2")), pools)
    };
    let rs = rules(&bridge).expect("rules");
    let peer = Flow::new(
        Direction::Inbound,
        FlowProto::Tcp,
        ip("172.16.0.3"),
        ip("172.16.0.2"),
        5432,
    );
    let stranger = Flow {
        src: ip(OUTSIDE),
        ..peer.clone()
    };
    assert!(evaluate(&rs, &peer).allowed());
    assert!(!evaluate(&rs, &stranger).allowed());
    assert!(evaluate(&rs, &outbound(FlowProto::Tcp, "93.184.216.34", 443)).allowed());
    insta::assert_snapshot!("bridge", rs.to_iptables_restore());
}

#[test]
fn bridge_and_container_network_together() {
    let bridge = Endpoint::bridge(
        "eth0",
        Some(ip("172.16.0.2")),
        vec!["172.16.0.0/16".parse().expect("pool")],
    );
    let ext = Endpoint {
        iface: "eth1".into(),
        ..endpoint(Some(TrustLevel::Closed))
    };
    let rs = rules_for(&[bridge, ext]).expect("rules");
    assert_eq!(rs.external(), Some("eth1"));
    // Closed on eth1 even though the bridge accepts its own peers on eth0.
    assert!(!evaluate(&rs, &inbound(FlowProto::Tcp, PEER, 5432)).allowed());
    let on_bridge = inbound(FlowProto::Tcp, "172.16.0.3", 5432).on(Interface::Named("eth0".into()));
    assert!(evaluate(&rs, &on_bridge).allowed());
}

#[test]
fn create_time_rejections_use_vics_messages() {
    let cases: [(Option<TrustLevel>, &str, &str); 6] = [
        (
            Some(TrustLevel::Closed),
            "80",
            "ports cannot be published via container network routable (firewall configured as either \"closed\" or \"outbound\")",
        ),
        (
            Some(TrustLevel::Outbound),
            "8443:443",
            "ports cannot be published via container network routable (firewall configured as either \"closed\" or \"outbound\")",
        ),
        (
            Some(TrustLevel::Peers),
            "80",
            "ports published via container network routable must specify a mapping (firewall configured for \"peers\" - no need for publishing unless redirecting)",
        ),
        (
            Some(TrustLevel::Published),
            "8000:80-81",
            "ports published on external networks cannot include both a redirect and a range (8000:80-81/tcp)",
        ),
        (
            Some(TrustLevel::Open),
            "9000:70-71/udp",
            "ports published on external networks cannot include both a redirect and a range (9000:70-71/udp)",
        ),
        (
            Some(TrustLevel::Peers),
            "8000:80-81",
            "ports published on external networks cannot include both a redirect and a range (8000:80-81/tcp)",
        ),
    ];
    for (level, binding, message) in cases {
        let err = check_ports(NET, level, &[port(binding)]).expect_err(binding);
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(
        check_bindings(&[port("10.1.1.1:80:80")], Some(ip("192.168.1.10")))
            .expect_err("host ip")
            .to_string(),
        "host IP for port bindings is only supported for 0.0.0.0 and the public interface IP address"
    );
    assert_eq!(
        check_bindings(&[port("8000-8001:80")], None)
            .expect_err("range")
            .to_string(),
        "host port ranges are not supported for port bindings"
    );
    assert_eq!(
        vic::firewall::FirewallFlag::parse("vm-net:trusted")
            .expect_err("level")
            .to_string(),
        "Unrecognized container trust level trusted."
    );
    // The tether's own guard, should a bad binding get past the port layer.
    let bad = Endpoint {
        published: vec![port("8000:80-81")],
        ..endpoint(Some(TrustLevel::Published))
    };
    assert_eq!(rules(&bad), Err(FirewallError::CannotForwardRange));
}

fn snapshot_text(level: Option<TrustLevel>) -> String {
    rules(&endpoint(level))
        .expect("rules")
        .to_iptables_restore()
}

#[test]
fn iptables_restore_closed() {
    insta::assert_snapshot!("closed", snapshot_text(Some(TrustLevel::Closed)));
}

#[test]
fn iptables_restore_outbound() {
    insta::assert_snapshot!("outbound", snapshot_text(Some(TrustLevel::Outbound)));
}

#[test]
fn iptables_restore_published() {
    insta::assert_snapshot!("published", snapshot_text(Some(TrustLevel::Published)));
}

#[test]
fn iptables_restore_peers() {
    insta::assert_snapshot!("peers", snapshot_text(Some(TrustLevel::Peers)));
}

#[test]
fn iptables_restore_open() {
    insta::assert_snapshot!("open", snapshot_text(Some(TrustLevel::Open)));
}

#[test]
fn iptables_commands_in_vics_order() {
    let rs: RuleSet = rules(&endpoint(Some(TrustLevel::Published))).expect("rules");
    insta::assert_snapshot!("published_commands", rs.to_iptables_commands().join("\n"));
}
