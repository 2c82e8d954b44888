//! Container-network firewall trust levels (vic.md §3), as data.
//!
//! VIC configures a containerVM's firewall with iptables commands issued by the bootstrap and the
//! tether (vic.md §3.3). Here that set-up is a [`RuleSet`]: chains with policies and an ordered
//! list of rules (match criteria and a target). The same value is
//!
//! - rendered as `iptables-restore` input ([`RuleSet::to_iptables_restore`]) or as the iptables
//!   commands VIC issues ([`RuleSet::to_iptables_commands`]), and
//! - interpreted by a generic evaluator ([`evaluate`]) that walks chains, jumps and targets the
//!   way netfilter does,
//!
//! so the rendered text and the allow/deny answers cannot disagree.
//!
//! Create-time checks live in [`check_bindings`] (the personality, any network) and
//! [`check_ports`] (the port layer, per trust level), with VIC's messages (vic.md §3.2).

mod addr;
mod build;
mod eval;
mod ports;
mod ruleset;
mod trust;

pub use addr::IpRange;
pub use build::{Endpoint, ScopeKind, rules, rules_for};
pub use eval::{Action, Decider, Direction, Flow, FlowProto, Interface, Verdict, evaluate};
pub use ports::{ContainerPort, PortMapping, PortRange, Transport, check_bindings, check_ports};
pub use ruleset::{ChainDecl, ConnState, IcmpType, Policy, Protocol, Rule, RuleSet, Table, Target};
pub use trust::{FirewallFlag, TrustLevel};

/// Errors of firewall configuration: flag parsing, port checks and rule building.
///
/// Messages marked "VIC" are verbatim from vic.md; the others are ours (VIC never sees that
/// input because the docker CLI or vic-machine rejects it first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FirewallError {
    /// VIC (vic.md §1.2, §9 item 8): a `--cnf` level that is not one of the five.
    #[error("Unrecognized container trust level {0}.")]
    UnrecognizedTrustLevel(String),
    /// VIC (vic.md §1.4): a container-network flag value with more than one `:`.
    #[error("Invalid value for parameter {0}")]
    InvalidParameter(String),
    /// VIC (vic.md §3.2, test 6-07): `-p` on a closed or outbound network.
    #[error(
        "ports cannot be published via container network {0} (firewall configured as either \"closed\" or \"outbound\")"
    )]
    PublishingRefused(String),
    /// VIC (vic.md §3.2): `host:container` combined with a range, on any level.
    #[error(
        "ports published on external networks cannot include both a redirect and a range ({0})"
    )]
    RedirectWithRange(String),
    /// VIC (vic.md §3.2, test 6-07): `-p C` without a host port on a peers network.
    #[error(
        "ports published via container network {0} must specify a mapping (firewall configured for \"peers\" - no need for publishing unless redirecting)"
    )]
    PeersNeedMapping(String),
    /// VIC (vic.md §3.2): personality check, any network.
    #[error(
        "host IP for port bindings is only supported for 0.0.0.0 and the public interface IP address"
    )]
    HostIpNotSupported,
    /// VIC (vic.md §3.2): personality check, any network.
    #[error("host port ranges are not supported for port bindings")]
    HostPortRange,
    /// VIC (vic.md §3.3, `portToRule`): the tether cannot REDIRECT a range.
    #[error("cannot port forward a range")]
    CannotForwardRange,
    /// Ours: a port specification that does not parse.
    #[error("invalid port specification: {0}")]
    InvalidPort(String),
    /// Ours (VIC's text is only partly known, vic.md §1.4): an ip range that does not parse.
    #[error("parse error: {0}")]
    InvalidRange(String),
}
