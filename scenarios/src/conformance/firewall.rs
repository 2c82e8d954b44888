//! The firewall suite (vic.md §3): every trust level × traffic kind, the create-time
//! rejections with VIC's messages, the rule sets' iptables-restore rendering, and the
//! `--container-network-firewall` flag's own errors.
//!
//! Where the observations come from:
//!
//! 1. **Rule sets** (mode `tether`): one VCH from `vic-machine create` on the in-process
//!    emulator with a container network per level — `fw-<level>` with a gateway and an
//!    ip-range (so the endpoint is static and peers have pools), and `fwd-<level>` without
//!    either (a dynamic, "DHCP" endpoint) — then `docker create` + `start` on each through the
//!    VCH's Docker endpoint, and the rule set the containerVM's tether applied. Without the
//!    testbed (or when it fails) the rule sets are built with `vic::firewall::rules`, the
//!    function the tether calls, from the endpoint the tether would configure (mode `model`).
//! 2. **Create-time rejections** (mode `engine`): `docker create -p 80` and `-p 8443:443`
//!    alone on each level, and a few bad bindings, answered by the Docker endpoint; in model
//!    mode `vic::firewall::check_bindings`/`check_ports`, which the endpoint calls.
//! 3. **Verdicts**: each traffic kind is one or more flows judged by `vic::firewall::evaluate`
//!    on the level's rule set, and — when the machine allows it — real packets in network
//!    namespaces with the same rule set loaded (mode `+netns`, see [`super::netns`]).
//!
//! Expectations are vic.md §3.4's matrix, written out here independently of the `vic` crate
//! (the rejection messages are typed in from vic.md §3.2).

use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;
use vic::firewall::{
    ConnState, Direction, Endpoint, Flow, FlowProto, IcmpType, Interface, IpRange, PortMapping,
    RuleSet, TrustLevel, check_bindings, check_ports, evaluate,
};

use super::bed::Bed;
use super::netns::{self, Addresses, LabRun, Probe, Seen};
use super::{Artifact, CaseResult, NetnsPolicy, Suite, SuiteContext, SuiteResult};

/// A column of the matrix: a level as given to `--container-network-firewall` (`None`: the
/// flag is not given, i.e. Unspecified).
#[derive(Debug, Clone, Copy)]
struct Level {
    /// Used in case ids and network names.
    key: &'static str,
    /// The `--cnf` value; `Open` is capitalised on purpose (levels parse case-insensitively).
    flag: Option<&'static str>,
    /// The level the model uses.
    trust: Option<TrustLevel>,
}

const LEVELS: [Level; 6] = [
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
const DIRECT: u16 = 80;
const HOST: u16 = 8443;
const MAPPED: u16 = 443;
const UNPUBLISHED: u16 = 5432;
const EXPOSED: u16 = 6379;
const DNS: u16 = 53;
const DISCARD: u16 = 9;

impl Level {
    fn static_net(&self) -> String {
        format!("fw-{}", self.key)
    }

    fn dynamic_net(&self) -> String {
        format!("fwd-{}", self.key)
    }
}

/// The addresses of level `i`: subnet `10.231.(20+i).0/24`, gateway `.1`, ip-range
/// `.16/28` (the containerVM gets `.16`, the first address), a peer at `.20` and an outside
/// host at `.100`; the host beyond the containerVM is `10.232.(20+i).2`.
fn addresses(i: usize) -> Addresses {
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

fn ip_range(i: usize) -> String {
    format!("{}/28", addresses(i).container)
}

/// What vic.md says happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Allow,
    /// Allowed after a REDIRECT to the container port.
    Redirected,
    Deny,
    /// `docker create` refuses the binding the kind needs.
    Reject,
}
use Want::{Allow as A, Deny as D, Redirected as H, Reject as R};

/// Which `-p` binding a kind's traffic needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    /// `-p 80`.
    Direct,
    /// `-p 8443:443`.
    Mapped,
}

/// Which rule set a kind runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// The static endpoint on `fw-<level>`.
    Static,
    /// The dynamic endpoint on `fwd-<level>`.
    Dynamic,
}

/// A row of the matrix.
struct Kind {
    id: &'static str,
    description: &'static str,
    needs: Needs,
    on: On,
    /// vic.md §3.4, in [`LEVELS`] order.
    want: [Want; 6],
}

const KINDS: [Kind; 14] = [
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
fn refused_msg(net: &str) -> String {
    format!(
        "ports cannot be published via container network {net} (firewall configured as either \"closed\" or \"outbound\")"
    )
}

/// VIC's message for `-p C` on peers (vic.md §3.2).
fn peers_msg(net: &str) -> String {
    format!(
        "ports published via container network {net} must specify a mapping (firewall configured for \"peers\" - no need for publishing unless redirecting)"
    )
}

/// The expected text of a cell.
fn expected_text(want: Want, level: &Level, needs: Needs) -> String {
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

/// A create attempt's outcome as case text.
fn created_text(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "created".into(),
        Err(m) => format!("rejected: {m}"),
    }
}

/// Extra create-time checks (vic.md §3.2), all on the published network.
struct BadBinding {
    id: &'static str,
    description: &'static str,
    /// `HostConfig.PortBindings`.
    bindings: serde_json::Value,
    /// The `-p` form, for the model.
    spec: &'static str,
    /// VIC's message.
    message: &'static str,
}

fn bad_bindings() -> [BadBinding; 3] {
    [
        BadBinding {
            id: "reject-redirect-with-range",
            description: "-p 8000:80-81 (a redirect of a range) on a published network",
            bindings: json!({"80-81/tcp": [{"HostPort": "8000"}]}),
            spec: "8000:80-81",
            message: "ports published on external networks cannot include both a redirect and a range (8000:80-81/tcp)",
        },
        BadBinding {
            id: "reject-host-ip",
            description: "-p 10.1.1.1:80:80 (a host IP other than 0.0.0.0 or the public one)",
            bindings: json!({"80/tcp": [{"HostIp": "10.1.1.1", "HostPort": "80"}]}),
            spec: "10.1.1.1:80:80",
            message: "host IP for port bindings is only supported for 0.0.0.0 and the public interface IP address",
        },
        BadBinding {
            id: "reject-host-port-range",
            description: "-p 8000-8001:80 (a host port range)",
            bindings: json!({"80/tcp": [{"HostPort": "8000-8001"}]}),
            spec: "8000-8001:80",
            message: "host port ranges are not supported for port bindings",
        },
    ]
}

/// What the real path (or the model) gave for one level.
struct LevelObs {
    /// `docker create -p 80` alone.
    direct: Result<(), String>,
    /// `docker create -p 8443:443` alone.
    mapped: Result<(), String>,
    /// The rules applied for the static endpoint.
    rules: Result<RuleSet, String>,
    /// The rules applied for the dynamic endpoint.
    dynamic: Result<RuleSet, String>,
}

/// Everything observed before the verdicts.
struct Observed {
    /// `tether` or `model`.
    rules_mode: &'static str,
    /// `engine` or `model`.
    create_mode: &'static str,
    levels: Vec<LevelObs>,
    /// One per [`bad_bindings`].
    bad: Vec<Result<(), String>>,
    /// The rules of a container on the bridge network.
    bridge: Result<RuleSet, String>,
}

/// Runs the suite.
pub(super) async fn run(ctx: &SuiteContext) -> SuiteResult {
    let mut result = SuiteResult::new(Suite::Firewall);
    let observed = if ctx.testbed {
        match observe_real().await {
            Ok(o) => o,
            Err(e) => {
                result.cases.push(CaseResult::check(
                    "fw-testbed",
                    "vic-machine create with a container network per level, and docker run on each",
                    "ok",
                    format!("error: {e}"),
                    "vic-machine+engine",
                ));
                result.notes.push(format!(
                    "the real path failed ({e}); the rule sets come from the model"
                ));
                observe_model()
            }
        }
    } else {
        result
            .notes
            .push("testbed disabled: rule sets and create-time checks come from the model".into());
        observe_model()
    };
    let labs = match ctx.netns {
        NetnsPolicy::Off => {
            result
                .notes
                .push("network namespaces disabled: no real packets".into());
            None
        }
        NetnsPolicy::Auto => match netns::tools() {
            Err(why) => {
                result.notes.push(format!(
                    "network namespaces unavailable ({why}): verdicts come from the evaluator only"
                ));
                None
            }
            Ok(tools) => Some(run_labs(tools, &observed).await),
        },
    };
    matrix_cases(&mut result, &observed, labs.as_deref());
    render_cases(&mut result, &observed, labs.as_deref());
    extra_cases(&mut result, &observed).await;
    result
}

/// A level's static and dynamic lab runs: `None` where the rule set is missing.
type LabLevel = (
    Option<Result<LabRun, String>>,
    Option<Result<LabRun, String>>,
);
/// Every level's labs.
type Labs = Vec<LabLevel>;
/// Labs run concurrently.
const LABS_AT_ONCE: usize = 3;

/// The probes of the static lab of `level`, with the kinds they belong to.
fn static_probes(i: usize, obs: &LevelObs) -> Vec<(&'static str, Probe)> {
    let a = addresses(i);
    KINDS
        .iter()
        .filter(|k| k.on == On::Static && binding_ok(obs, k.needs))
        .filter_map(|k| probe_of(k.id, &a).map(|p| (k.id, p)))
        .collect()
}

fn binding_ok(obs: &LevelObs, needs: Needs) -> bool {
    match needs {
        Needs::Nothing => true,
        Needs::Direct => obs.direct.is_ok(),
        Needs::Mapped => obs.mapped.is_ok(),
    }
}

fn probe_of(kind: &str, a: &Addresses) -> Option<Probe> {
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

/// Runs every lab (blocking work, off the async threads).
async fn run_labs(tools: netns::Tools, observed: &Observed) -> Labs {
    let jobs: Vec<(Option<String>, Option<String>, Vec<Probe>)> = observed
        .levels
        .iter()
        .enumerate()
        .map(|(i, obs)| {
            let probes = static_probes(i, obs).into_iter().map(|(_, p)| p).collect();
            (
                obs.rules.as_ref().ok().map(RuleSet::to_iptables_restore),
                obs.dynamic.as_ref().ok().map(RuleSet::to_iptables_restore),
                probes,
            )
        })
        .collect();
    let n = jobs.len();
    tokio::task::spawn_blocking(move || {
        // Labs are independent (namespaces of their own): a few run at once, which mostly
        // overlaps the probes' timeouts.
        let mut labs: Labs = Vec::new();
        let jobs: Vec<_> = jobs.into_iter().enumerate().collect();
        for chunk in jobs.chunks(LABS_AT_ONCE) {
            let tools = &tools;
            let done: Vec<LabLevel> = std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|(i, (rules, dynamic, probes))| {
                        scope.spawn(move || {
                            let a = addresses(*i);
                            let listen = [DIRECT, MAPPED, UNPUBLISHED, EXPOSED];
                            let s = rules
                                .as_ref()
                                .map(|r| netns::run_lab(tools, &a, r, &listen, probes));
                            let d = dynamic
                                .as_ref()
                                .map(|r| netns::run_lab(tools, &a, r, &[], &[Probe::Dhcp]));
                            (s, d)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            let e = Err("a lab thread panicked".to_owned());
                            (Some(e.clone()), Some(e))
                        })
                    })
                    .collect()
            });
            labs.extend(done);
        }
        labs
    })
    .await
    .unwrap_or_else(|e| {
        let err = format!("the namespace runner failed: {e}");
        (0..n)
            .map(|_| (Some(Err(err.clone())), Some(Err(err.clone()))))
            .collect()
    })
}

/// The flows of a kind on level `i` (all must pass for "allow").
fn flows(kind: &str, i: usize) -> Vec<Flow> {
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

/// The evaluator's answer for a kind, in the suite's wording.
fn evaluated(rules: &RuleSet, kind: &str, i: usize) -> String {
    let flows = flows(kind, i);
    if flows.is_empty() {
        return format!("no flows for {kind}");
    }
    let verdicts: Vec<_> = flows.iter().map(|f| evaluate(rules, f)).collect();
    if verdicts.iter().all(|v| v.allowed()) {
        match verdicts.iter().find_map(|v| v.redirected_to) {
            Some(port) => format!("allow (redirected to {port})"),
            None => "allow".into(),
        }
    } else {
        "deny".into()
    }
}

/// The matrix: every level × kind.
fn matrix_cases(result: &mut SuiteResult, observed: &Observed, labs: Option<&[LabLevel]>) {
    for (i, level) in LEVELS.iter().enumerate() {
        let Some(obs) = observed.levels.get(i) else {
            continue;
        };
        let probes = static_probes(i, obs);
        let lab = labs.and_then(|l| l.get(i));
        for kind in &KINDS {
            let want = kind.want[i];
            let id = format!("fw-{}-{}", level.key, kind.id);
            let description = format!("{} on {}", kind.description, level_label(level));
            let expected = expected_text(want, level, kind.needs);
            let attempt = match kind.needs {
                Needs::Nothing => None,
                Needs::Direct => Some(&obs.direct),
                Needs::Mapped => Some(&obs.mapped),
            };
            if let Some(Err(msg)) = attempt {
                result.cases.push(CaseResult::check(
                    id,
                    description,
                    expected,
                    format!("rejected: {msg}"),
                    observed.create_mode,
                ));
                continue;
            }
            let rules = match kind.on {
                On::Static => &obs.rules,
                On::Dynamic => &obs.dynamic,
            };
            let model = match rules {
                Ok(r) => evaluated(r, kind.id, i),
                Err(e) => format!("error: {e}"),
            };
            // The lab run for this kind, if one ran.
            let real = lab.and_then(|(s, d)| match kind.on {
                On::Static => s.as_ref().map(|run| {
                    run.as_ref().map(|run| {
                        probes
                            .iter()
                            .position(|(k, _)| *k == kind.id)
                            .and_then(|p| run.seen.get(p).cloned())
                    })
                }),
                On::Dynamic => d
                    .as_ref()
                    .map(|run| run.as_ref().map(|run| run.seen.first().cloned())),
            });
            let mut mode = observed.rules_mode.to_owned();
            let observed_text = match real {
                None | Some(Ok(None)) => model,
                Some(Ok(Some(seen))) => {
                    mode.push_str("+netns");
                    combine(&model, &seen)
                }
                Some(Err(e)) => {
                    mode.push_str("+netns");
                    format!("{model}; netns error: {e}")
                }
            };
            result.cases.push(CaseResult::check(
                id,
                description,
                expected,
                observed_text,
                mode,
            ));
        }
    }
}

/// One observation from the evaluator and the packets: the common answer, or both when they
/// disagree (which fails the case).
fn combine(model: &str, seen: &Seen) -> String {
    let real = seen.text();
    if real == model {
        real
    } else {
        format!("evaluator: {model}; packets: {real}")
    }
}

fn level_label(level: &Level) -> String {
    match level.flag {
        Some(f) => format!("{} (--cnf {}:{f})", level.static_net(), level.static_net()),
        None => format!("{} (no --cnf: unspecified)", level.static_net()),
    }
}

/// What vic.md §3.3 says the loaded filter table looks like, per level.
fn expected_shape(level: &Level) -> String {
    let redirect = match level.trust {
        Some(TrustLevel::Closed | TrustLevel::Outbound) => "none".to_owned(),
        _ => format!("tcp {HOST}->{MAPPED}"),
    };
    let forward = match level.trust {
        Some(TrustLevel::Open) => "eth0",
        _ => "none",
    };
    format!(
        "INPUT=DROP OUTPUT=DROP FORWARD=DROP; INPUT,OUTPUT -> VIC; lo accepted; VIC ends with RETURN; forward: {forward}; nat: {redirect}"
    )
}

/// Reads the same features from iptables-restore or iptables-save text.
fn shape(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let policy = |chain: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!(":{chain} ")))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("missing")
            .to_owned()
    };
    let has = |rule: &str| lines.contains(&rule);
    let jumps = if has("-A INPUT -j VIC") && has("-A OUTPUT -j VIC") {
        "INPUT,OUTPUT -> VIC"
    } else {
        "no jumps to VIC"
    };
    let lo = if has("-A INPUT -i lo -j ACCEPT") && has("-A OUTPUT -o lo -j ACCEPT") {
        "lo accepted"
    } else {
        "lo not accepted"
    };
    let ret = if lines.iter().rfind(|l| l.starts_with("-A VIC ")) == Some(&"-A VIC -j RETURN") {
        "VIC ends with RETURN"
    } else {
        "VIC does not end with RETURN"
    };
    let forward: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("-A FORWARD ") && l.ends_with("-j ACCEPT"))
        .filter_map(|l| word_after(l, "-i"))
        .filter(|i| *i != "lo")
        .collect();
    let redirects: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("-j REDIRECT"))
        .map(|l| {
            format!(
                "{} {}->{}",
                word_after(l, "-p").unwrap_or("?"),
                word_after(l, "--dport").unwrap_or("?"),
                word_after(l, "--to-ports")
                    .or_else(|| word_after(l, "--to-port"))
                    .unwrap_or("?")
            )
        })
        .collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(",")
        }
    };
    format!(
        "INPUT={} OUTPUT={} FORWARD={}; {jumps}; {lo}; {ret}; forward: {}; nat: {}",
        policy("INPUT"),
        policy("OUTPUT"),
        policy("FORWARD"),
        list(&forward.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        list(&redirects)
    )
}

fn word_after<'a>(line: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == flag)?;
    words.next()
}

/// One case per level: the rule set rendered as iptables-restore text (and, with
/// namespaces, as `iptables-save` prints it after `iptables-restore` loaded it).
fn render_cases(result: &mut SuiteResult, observed: &Observed, labs: Option<&[LabLevel]>) {
    for (i, level) in LEVELS.iter().enumerate() {
        let Some(obs) = observed.levels.get(i) else {
            continue;
        };
        let id = format!("fw-{}-rules", level.key);
        let description = format!(
            "the rules applied on {} rendered as iptables-restore text",
            level.static_net()
        );
        let mut mode = observed.rules_mode.to_owned();
        let observed_text = match &obs.rules {
            Err(e) => format!("error: {e}"),
            Ok(rules) => {
                let text = rules.to_iptables_restore();
                result.artifacts.push(Artifact {
                    name: format!("firewall-{}.rules", level.key),
                    content: text.clone(),
                });
                let rendered = shape(&text);
                match labs.and_then(|l| l.get(i)).and_then(|(s, _)| s.as_ref()) {
                    Some(Ok(run)) if !run.saved.is_empty() => {
                        mode.push_str("+netns");
                        let loaded = shape(&run.saved);
                        if loaded == rendered {
                            loaded
                        } else {
                            format!("rendered: {rendered}; loaded: {loaded}")
                        }
                    }
                    Some(Err(e)) => {
                        mode.push_str("+netns");
                        format!("{rendered}; netns error: {e}")
                    }
                    _ => rendered,
                }
            }
        };
        result.cases.push(CaseResult::check(
            id,
            description,
            expected_shape(level),
            observed_text,
            mode,
        ));
    }
}

/// The bad bindings, the bridge, unspecified = published, and the `--cnf` flag's errors.
async fn extra_cases(result: &mut SuiteResult, observed: &Observed) {
    for (bad, got) in bad_bindings().iter().zip(&observed.bad) {
        result.cases.push(CaseResult::check(
            format!("fw-{}", bad.id),
            bad.description,
            format!("rejected: {}", bad.message),
            created_text(got),
            observed.create_mode,
        ));
    }
    let bridge_flow = |src: &str| {
        let src: IpAddr = src.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Flow::new(
            Direction::Inbound,
            FlowProto::Tcp,
            src,
            IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2)),
            UNPUBLISHED,
        )
    };
    for (id, what, src, want) in [
        (
            "fw-bridge-peer",
            "inbound tcp/5432 on the bridge network from another container on the bridge",
            "172.16.0.3",
            "allow",
        ),
        (
            "fw-bridge-outside",
            "inbound tcp/5432 on the bridge network from outside the bridge range",
            "192.168.50.7",
            "deny",
        ),
    ] {
        let got = match &observed.bridge {
            Ok(rules) => {
                if evaluate(rules, &bridge_flow(src)).allowed() {
                    "allow".to_owned()
                } else {
                    "deny".to_owned()
                }
            }
            Err(e) => format!("error: {e}"),
        };
        result
            .cases
            .push(CaseResult::check(id, what, want, got, observed.rules_mode));
    }
    let published = observed.levels.get(2).map(|l| &l.rules);
    let unspecified = observed.levels.get(3).map(|l| &l.rules);
    let same = match (published, unspecified) {
        (Some(Ok(p)), Some(Ok(u))) => {
            if p.to_iptables_restore() == u.to_iptables_restore() {
                "identical rule sets".to_owned()
            } else {
                "different rule sets".to_owned()
            }
        }
        _ => "error: a rule set is missing".to_owned(),
    };
    result.cases.push(CaseResult::check(
        "fw-unspecified-is-published",
        "a container network without --cnf gets the same rules as published (same bindings)",
        "identical rule sets",
        same,
        observed.rules_mode,
    ));
    for (id, what, value, want) in [
        (
            "fw-cnf-unknown-level",
            "vic-machine create --cnf with a level that does not exist",
            "fw-published:trusted",
            "failed: Unrecognized container trust level trusted.",
        ),
        (
            "fw-cnf-orphan",
            "vic-machine create --cnf keyed by a port group that no --cn names",
            "nosuch:open",
            "failed: Inconsistent container network configuration.",
        ),
    ] {
        result.cases.push(CaseResult::check(
            id,
            what,
            want,
            machine_failure(value).await,
            "vic-machine",
        ));
    }
}

/// `vic-machine create --cn fw-published --cnf VALUE` against an unreachable target: the
/// flag errors come from ProcessParams, before any connection.
async fn machine_failure(cnf: &str) -> String {
    let args = [
        "create",
        "--target",
        "http://user:pass@127.0.0.1:1/sdk",
        "--name",
        "vicbed-fw-flags",
        "--no-tls",
        "--container-network",
        "fw-published",
        "--container-network-firewall",
        cnf,
    ];
    match vic::machine::run_captured(&args).await {
        (_, Ok(())) => "created".into(),
        (_, Err(f)) => format!("failed: {}", f.message),
    }
}

/// The endpoint the tether configures for level `i` (static: `fw-<level>`; dynamic:
/// `fwd-<level>`), for the model.
fn model_endpoint(i: usize, level: &Level, on: On, bindings: Vec<PortMapping>) -> Endpoint {
    let a = addresses(i);
    let mut ep = match on {
        On::Static => Endpoint::container_network(&level.static_net(), "eth0", level.trust),
        On::Dynamic => Endpoint::container_network(&level.dynamic_net(), "eth0", level.trust),
    };
    if on == On::Static {
        ep.ip = Some(IpAddr::V4(a.container));
        ep.pools = IpRange::cidr(IpAddr::V4(a.container), 28)
            .into_iter()
            .collect();
        ep.published = bindings;
        ep.exposed_only = format!("{EXPOSED}/tcp").parse().into_iter().collect();
    }
    ep
}

fn mapping(spec: &str) -> Result<PortMapping, String> {
    spec.parse::<PortMapping>().map_err(|e| e.to_string())
}

/// The model's create check of `-p spec` on `net` at `trust`.
fn model_create(net: &str, trust: Option<TrustLevel>, spec: &str) -> Result<(), String> {
    let p = mapping(spec)?;
    check_bindings(std::slice::from_ref(&p), None).map_err(|e| e.to_string())?;
    check_ports(net, trust, &[p]).map_err(|e| e.to_string())
}

/// Observations without the emulator.
fn observe_model() -> Observed {
    let levels = LEVELS
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let net = level.static_net();
            let direct = model_create(&net, level.trust, &DIRECT.to_string());
            let mapped = model_create(&net, level.trust, &format!("{HOST}:{MAPPED}"));
            let mut bindings = Vec::new();
            for (ok, spec) in [
                (&direct, DIRECT.to_string()),
                (&mapped, format!("{HOST}:{MAPPED}")),
            ] {
                if ok.is_ok() {
                    bindings.extend(mapping(&spec));
                }
            }
            LevelObs {
                direct,
                mapped,
                rules: vic::firewall::rules(&model_endpoint(i, level, On::Static, bindings))
                    .map_err(|e| e.to_string()),
                dynamic: vic::firewall::rules(&model_endpoint(i, level, On::Dynamic, Vec::new()))
                    .map_err(|e| e.to_string()),
            }
        })
        .collect();
    let bad = bad_bindings()
        .iter()
        .map(|b| model_create("fw-published", Some(TrustLevel::Published), b.spec))
        .collect();
    let bridge = IpRange::cidr(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 0)), 16)
        .ok_or_else(|| "bridge range".to_owned())
        .and_then(|pool| {
            vic::firewall::rules(&Endpoint::bridge(
                "eth0",
                Some(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2))),
                vec![pool],
            ))
            .map_err(|e| e.to_string())
        });
    Observed {
        rules_mode: "model",
        create_mode: "model",
        levels,
        bad,
        bridge,
    }
}

/// The `HostConfig.PortBindings` of `-p 80` / `-p 8443:443`.
fn binding_json(needs: Needs) -> serde_json::Value {
    match needs {
        Needs::Direct => json!({format!("{DIRECT}/tcp"): [{"HostPort": ""}]}),
        Needs::Mapped => json!({format!("{MAPPED}/tcp"): [{"HostPort": HOST.to_string()}]}),
        Needs::Nothing => json!({}),
    }
}

/// A `docker create` body on network `net` with `bindings`; EXPOSE 6379 and `-P` ride along
/// (VIC ignores both).
fn create_body(net: &str, bindings: serde_json::Value) -> serde_json::Value {
    json!({
        "Image": "nginx",
        "ExposedPorts": {format!("{EXPOSED}/tcp"): {}},
        "HostConfig": {
            "NetworkMode": net,
            "PortBindings": bindings,
            "PublishAllPorts": true,
        },
    })
}

/// Observations through vic-machine, the Docker endpoint and the tether.
async fn observe_real() -> Result<Observed, String> {
    let bed = Bed::start().await?;
    let r = observe_on(&bed).await;
    bed.shutdown().await;
    r
}

async fn observe_on(bed: &Bed) -> Result<Observed, String> {
    let mut portgroups = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut arg = |flag: &str, value: String| {
        args.push(flag.to_owned());
        args.push(value);
    };
    for (i, level) in LEVELS.iter().enumerate() {
        let a = addresses(i);
        for net in [level.static_net(), level.dynamic_net()] {
            portgroups.push(net.clone());
            arg("--container-network", net.clone());
            if let Some(flag) = level.flag {
                arg("--container-network-firewall", format!("{net}:{flag}"));
            }
        }
        let net = level.static_net();
        arg(
            "--container-network-gateway",
            format!("{net}:{}/{}", a.gateway, a.prefix),
        );
        arg(
            "--container-network-ip-range",
            format!("{net}:{}", ip_range(i)),
        );
    }
    bed.add_portgroups(&portgroups).await?;
    let vch = bed.create_vch("vicbed-fw", &args).await?;
    let docker = &vch.docker;
    docker.pull("nginx", "latest").await?;

    // Runs a container and reads the rules its tether applied.
    let run = |name: String, body: serde_json::Value| async move {
        let id = docker
            .create(Some(&name), &body)
            .await?
            .map_err(|m| format!("create {name}: {m}"))?;
        docker.start(&id).await?;
        let (vm, _) = bed.vm_of(&id).await?;
        bed.rules_of(&vm)
            .ok_or_else(|| format!("the tether applied no rules in {vm} ({name})"))
    };
    let attempt = |name: String, body: serde_json::Value| async move {
        docker
            .create(Some(&name), &body)
            .await
            .map(|r| r.map(|_| ()))
    };

    let mut levels = Vec::new();
    for level in &LEVELS {
        let net = level.static_net();
        let direct = attempt(
            format!("{net}-p{DIRECT}"),
            create_body(&net, binding_json(Needs::Direct)),
        )
        .await?;
        let mapped = attempt(
            format!("{net}-p{HOST}"),
            create_body(&net, binding_json(Needs::Mapped)),
        )
        .await?;
        // The level's container: with every binding the endpoint accepted.
        let mut bindings = serde_json::Map::new();
        for (ok, needs) in [(&direct, Needs::Direct), (&mapped, Needs::Mapped)] {
            if let (Ok(()), serde_json::Value::Object(m)) = (ok, binding_json(needs)) {
                bindings.extend(m);
            }
        }
        let rules = run(
            format!("{net}-c"),
            create_body(&net, serde_json::Value::Object(bindings)),
        )
        .await;
        let dnet = level.dynamic_net();
        let dynamic = run(format!("{dnet}-c"), create_body(&dnet, json!({}))).await;
        levels.push(LevelObs {
            direct,
            mapped,
            rules,
            dynamic,
        });
    }
    let mut bad = Vec::new();
    for (n, b) in bad_bindings().iter().enumerate() {
        bad.push(
            attempt(
                format!("fw-bad-{n}"),
                create_body("fw-published", b.bindings.clone()),
            )
            .await?,
        );
    }
    let bridge = run("fw-bridge-c".into(), create_body("bridge", json!({}))).await;
    Ok(Observed {
        rules_mode: "tether",
        create_mode: "engine",
        levels,
        bad,
        bridge,
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

    #[test]
    fn shape_reads_restore_and_save_forms() {
        let text = "*filter\n:INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:VIC - [0:0]\n-A INPUT -j VIC\n-A OUTPUT -j VIC\n-A INPUT -i lo -j ACCEPT\n-A OUTPUT -o lo -j ACCEPT\n-A FORWARD -i lo -o lo -j ACCEPT\n-A FORWARD -i eth0 -j ACCEPT\n-A VIC -j RETURN\nCOMMIT\n*nat\n-A PREROUTING -i eth0 -p tcp -m tcp --dport 8443 -j REDIRECT --to-ports 443\nCOMMIT\n";
        assert_eq!(shape(text), expected_shape(&LEVELS[5]));
        assert!(shape("").contains("INPUT=missing"));
    }
}
