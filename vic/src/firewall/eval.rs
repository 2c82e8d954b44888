//! A generic netfilter-style evaluator over a [`RuleSet`].
//!
//! It knows nothing about trust levels: it walks the declared chains, follows jumps and returns,
//! applies targets and falls back to policies, so whatever the rendered iptables text says is
//! what it answers. Modelled netfilter behaviour:
//!
//! - inbound packets traverse `nat PREROUTING` (first packet of a connection only, i.e. state
//!   NEW, and not for loopback, which is locally generated) and then `filter INPUT`;
//! - outbound packets traverse `filter OUTPUT`;
//! - forwarded packets traverse `nat PREROUTING` and then `filter FORWARD`, unless a REDIRECT
//!   turned them into local deliveries, which then go through `filter INPUT`;
//! - `-i` never matches in OUTPUT and `-o` never matches in INPUT, which is what lets VIC put
//!   both kinds of rules in the one `VIC` chain (vic.md §3.3).

use std::fmt;
use std::net::IpAddr;

use super::ruleset::{ConnState, IcmpType, Policy, Protocol, Rule, RuleSet, Table, Target};

/// Chain nesting deeper than this is treated as a broken rule set (a jump loop).
const MAX_DEPTH: usize = 16;

/// Which way a packet travels relative to the containerVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To the containerVM (INPUT).
    Inbound,
    /// From the containerVM (OUTPUT).
    Outbound,
    /// Through the containerVM (FORWARD).
    Forward,
}

/// Protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowProto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP of the given type; ports are ignored.
    Icmp(IcmpType),
}

/// The interface a flow uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interface {
    /// The endpoint's interface ([`RuleSet::external`]).
    External,
    /// `lo`.
    Loopback,
    /// A named interface, for rule sets with several endpoints.
    Named(String),
}

/// One packet (the first of a connection for state NEW) to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Direction.
    pub direction: Direction,
    /// Protocol.
    pub proto: FlowProto,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (ignored for ICMP).
    pub sport: u16,
    /// Destination port (ignored for ICMP).
    pub dport: u16,
    /// Connection-tracking state.
    pub state: ConnState,
    /// Interface: ingress for inbound and forward (egress is the same for forward), egress for
    /// outbound.
    pub interface: Interface,
}

impl Flow {
    /// A NEW flow on the external interface with ephemeral source port 40000.
    pub fn new(
        direction: Direction,
        proto: FlowProto,
        src: IpAddr,
        dst: IpAddr,
        dport: u16,
    ) -> Self {
        Self {
            direction,
            proto,
            src,
            dst,
            sport: 40000,
            dport,
            state: ConnState::New,
            interface: Interface::External,
        }
    }

    /// The same flow in another conntrack state.
    pub fn with_state(self, state: ConnState) -> Self {
        Self { state, ..self }
    }

    /// The same flow on another interface.
    pub fn on(self, interface: Interface) -> Self {
        Self { interface, ..self }
    }

    /// The same flow with another source port.
    pub fn from_port(self, sport: u16) -> Self {
        Self { sport, ..self }
    }
}

/// Allow or drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The packet passes.
    Allow,
    /// The packet is dropped.
    Drop,
}

/// What decided a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// A rule with a terminal target; `index` is its position in [`RuleSet::rules`].
    Rule {
        /// Position in [`RuleSet::rules`].
        index: usize,
        /// The rule as iptables text.
        text: String,
    },
    /// The policy of a built-in chain.
    Policy {
        /// Table.
        table: Table,
        /// Chain.
        chain: String,
    },
    /// The rule set cannot be evaluated (jump to an undeclared chain, a loop); dropped.
    Broken(String),
}

/// The evaluator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Allow or drop.
    pub action: Action,
    /// The rule or policy that decided.
    pub decided_by: Decider,
    /// The container port a nat REDIRECT sent the packet to, if one applied.
    pub redirected_to: Option<u16>,
}

impl Verdict {
    /// Whether the packet passes.
    pub fn allowed(&self) -> bool {
        self.action == Action::Allow
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.allowed() { "allow" } else { "drop" })?;
        if let Some(port) = self.redirected_to {
            write!(f, " (redirected to {port})")?;
        }
        match &self.decided_by {
            Decider::Rule { text, .. } => write!(f, " by `{text}`"),
            Decider::Policy { chain, .. } => write!(f, " by the {chain} policy"),
            Decider::Broken(why) => write!(f, " (broken rule set: {why})"),
        }
    }
}

/// The packet as seen at one hook.
struct Packet<'a> {
    proto: FlowProto,
    src: IpAddr,
    sport: u16,
    dport: u16,
    state: ConnState,
    in_iface: Option<&'a str>,
    out_iface: Option<&'a str>,
}

/// Result of walking one chain.
enum Walk {
    /// A terminal target fired.
    Terminal(usize, Target),
    /// The chain returned or ran out of rules.
    Fallthrough,
    /// The rule set is unusable.
    Broken(String),
}

/// Judges `flow` against `rules`.
pub fn evaluate(rules: &RuleSet, flow: &Flow) -> Verdict {
    let iface = match &flow.interface {
        Interface::External => rules.external().unwrap_or(""),
        Interface::Loopback => "lo",
        Interface::Named(name) => name.as_str(),
    };
    let mut pkt = Packet {
        proto: flow.proto,
        src: flow.src,
        sport: flow.sport,
        dport: flow.dport,
        state: flow.state,
        in_iface: None,
        out_iface: None,
    };
    if flow.direction == Direction::Outbound {
        pkt.out_iface = Some(iface);
        return hook(rules, Table::Filter, "OUTPUT", &pkt, None);
    }
    pkt.in_iface = Some(iface);
    let mut redirected_to = None;
    if flow.state == ConnState::New
        && iface != "lo"
        && rules.chain(Table::Nat, "PREROUTING").is_some()
    {
        match walk(rules, Table::Nat, "PREROUTING", &pkt, 0) {
            Walk::Terminal(_, Target::Redirect(port)) => {
                pkt.dport = port;
                redirected_to = Some(port);
            }
            Walk::Terminal(index, Target::Drop) => {
                return rule_verdict(rules, index, Action::Drop, None);
            }
            Walk::Broken(why) => return broken(why),
            _ => {}
        }
    }
    if flow.direction == Direction::Forward && redirected_to.is_none() {
        pkt.out_iface = Some(iface);
        return hook(rules, Table::Filter, "FORWARD", &pkt, None);
    }
    hook(rules, Table::Filter, "INPUT", &pkt, redirected_to)
}

/// Walks a built-in filter chain to a verdict.
fn hook(
    rules: &RuleSet,
    table: Table,
    chain: &str,
    pkt: &Packet<'_>,
    redirected_to: Option<u16>,
) -> Verdict {
    let Some(decl) = rules.chain(table, chain) else {
        return broken(format!("chain {chain} is not declared"));
    };
    match walk(rules, table, chain, pkt, 0) {
        Walk::Terminal(index, Target::Accept) => {
            rule_verdict(rules, index, Action::Allow, redirected_to)
        }
        Walk::Terminal(index, _) => rule_verdict(rules, index, Action::Drop, redirected_to),
        Walk::Broken(why) => broken(why),
        Walk::Fallthrough => Verdict {
            action: match decl.policy {
                Some(Policy::Drop) => Action::Drop,
                _ => Action::Allow,
            },
            decided_by: Decider::Policy {
                table,
                chain: chain.to_owned(),
            },
            redirected_to,
        },
    }
}

fn rule_verdict(
    rules: &RuleSet,
    index: usize,
    action: Action,
    redirected_to: Option<u16>,
) -> Verdict {
    let text = rules
        .rules()
        .get(index)
        .map(ToString::to_string)
        .unwrap_or_default();
    Verdict {
        action,
        decided_by: Decider::Rule { index, text },
        redirected_to,
    }
}

fn broken(why: String) -> Verdict {
    Verdict {
        action: Action::Drop,
        decided_by: Decider::Broken(why),
        redirected_to: None,
    }
}

/// Walks `chain`, following jumps; RETURN and the end of the chain both fall through.
fn walk(rules: &RuleSet, table: Table, chain: &str, pkt: &Packet<'_>, depth: usize) -> Walk {
    if depth > MAX_DEPTH {
        return Walk::Broken(format!("jumps nest deeper than {MAX_DEPTH} at {chain}"));
    }
    for (index, rule) in rules.chain_rules(table, chain) {
        if !matches(rule, pkt) {
            continue;
        }
        match &rule.target {
            Target::Return => return Walk::Fallthrough,
            Target::Jump(next) => {
                if rules.chain(table, next).is_none() {
                    return Walk::Broken(format!("jump to undeclared chain {next}"));
                }
                match walk(rules, table, next, pkt, depth + 1) {
                    Walk::Fallthrough => {}
                    done => return done,
                }
            }
            terminal => return Walk::Terminal(index, terminal.clone()),
        }
    }
    Walk::Fallthrough
}

/// Whether every criterion of `rule` holds for `pkt`.
fn matches(rule: &Rule, pkt: &Packet<'_>) -> bool {
    let ports = match pkt.proto {
        FlowProto::Tcp | FlowProto::Udp => Some((pkt.sport, pkt.dport)),
        FlowProto::Icmp(_) => None,
    };
    let proto_ok = matches!(
        (rule.proto, pkt.proto),
        (None, _)
            | (Some(Protocol::Tcp), FlowProto::Tcp)
            | (Some(Protocol::Udp), FlowProto::Udp)
            | (Some(Protocol::Icmp), FlowProto::Icmp(_))
    );
    let icmp_ok = match (rule.icmp_type, pkt.proto) {
        (None, _) => true,
        (Some(want), FlowProto::Icmp(got)) => want.code() == got.code(),
        _ => false,
    };
    let port_ok = |want: Option<super::PortRange>, pick: fn((u16, u16)) -> u16| match want {
        None => true,
        Some(range) => ports.is_some_and(|p| range.contains(pick(p))),
    };
    proto_ok
        && icmp_ok
        && (rule.sources.is_empty() || rule.sources.iter().any(|r| r.contains(pkt.src)))
        && port_ok(rule.dport, |p| p.1)
        && port_ok(rule.sport, |p| p.0)
        && (rule.states.is_empty() || rule.states.contains(&pkt.state))
        && iface_ok(rule.in_iface.as_deref(), pkt.in_iface)
        && iface_ok(rule.out_iface.as_deref(), pkt.out_iface)
}

/// `-i`/`-o`: a rule's interface matches only the packet's interface at this hook; a hook
/// without one (OUTPUT for `-i`, INPUT for `-o`) never matches.
fn iface_ok(want: Option<&str>, got: Option<&str>) -> bool {
    want.is_none_or(|w| got == Some(w))
}
