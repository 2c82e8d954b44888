//! The rule-set data model and its iptables renderings (vic.md §3.3).

use std::fmt;

use super::{IpRange, PortRange};

/// An iptables table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// `filter`: INPUT, OUTPUT, FORWARD and VIC.
    Filter,
    /// `nat`: PREROUTING, for the port REDIRECTs.
    Nat,
}

impl Table {
    /// The table's iptables name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Filter => "filter",
            Self::Nat => "nat",
        }
    }
}

/// A built-in chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// ACCEPT.
    Accept,
    /// DROP.
    Drop,
}

/// A chain and, for built-in chains, its policy (`None` for user chains such as `VIC`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainDecl {
    /// Table the chain lives in.
    pub table: Table,
    /// Chain name.
    pub name: String,
    /// Policy of a built-in chain.
    pub policy: Option<Policy>,
}

/// `-p` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `-p tcp`.
    Tcp,
    /// `-p udp`.
    Udp,
    /// `-p icmp`.
    Icmp,
}

impl Protocol {
    /// The iptables name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Icmp => "icmp",
        }
    }
}

/// ICMP types that VIC matches on (`--icmp-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpType {
    /// Type 8.
    EchoRequest,
    /// Type 0.
    EchoReply,
    /// Any other type, by number.
    Other(u8),
}

impl IcmpType {
    /// The numeric ICMP type.
    pub fn code(self) -> u8 {
        match self {
            Self::EchoRequest => 8,
            Self::EchoReply => 0,
            Self::Other(n) => n,
        }
    }
}

impl fmt::Display for IcmpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EchoRequest => f.write_str("echo-request"),
            Self::EchoReply => f.write_str("echo-reply"),
            Self::Other(n) => write!(f, "{n}"),
        }
    }
}

/// Connection-tracking state, for `-m state --state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// First packet of a connection.
    New,
    /// Part of a connection already seen in both directions.
    Established,
    /// Related to an existing connection (ICMP errors, FTP data, ...).
    Related,
}

impl ConnState {
    fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Established => "ESTABLISHED",
            Self::Related => "RELATED",
        }
    }
}

/// A rule's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `-j ACCEPT`.
    Accept,
    /// `-j DROP`.
    Drop,
    /// `-j RETURN`.
    Return,
    /// `-j <chain>`.
    Jump(String),
    /// `-j REDIRECT --to-port <n>` (nat only).
    Redirect(u16),
}

/// One appended rule: `-A <chain>` plus match criteria and a target.
///
/// Fields left at their default match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Table.
    pub table: Table,
    /// Chain the rule is appended to.
    pub chain: String,
    /// `-p`.
    pub proto: Option<Protocol>,
    /// `--icmp-type`.
    pub icmp_type: Option<IcmpType>,
    /// `-s a,b`; empty matches any source.
    pub sources: Vec<IpRange>,
    /// `--dport`.
    pub dport: Option<PortRange>,
    /// `--sport`.
    pub sport: Option<PortRange>,
    /// `-m state --state`; empty means no state match.
    pub states: Vec<ConnState>,
    /// `-i`.
    pub in_iface: Option<String>,
    /// `-o`.
    pub out_iface: Option<String>,
    /// `-j`.
    pub target: Target,
}

impl Rule {
    /// A match-everything rule in `table`/`chain` with `target`.
    pub fn new(table: Table, chain: &str, target: Target) -> Self {
        Self {
            table,
            chain: chain.to_owned(),
            proto: None,
            icmp_type: None,
            sources: Vec::new(),
            dport: None,
            sport: None,
            states: Vec::new(),
            in_iface: None,
            out_iface: None,
            target,
        }
    }
}

impl fmt::Display for Rule {
    /// The rule in VIC's argument order (vic.md §3.3):
    /// `-A <chain> [-p proto] [--icmp-type t] [-s a,b] [--dport x] [--sport y]
    /// [-m state --state S] (-i|-o) <if> -j <target> [--to-port n]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-A {}", self.chain)?;
        if let Some(p) = self.proto {
            write!(f, " -p {}", p.as_str())?;
        }
        if let Some(t) = self.icmp_type {
            write!(f, " --icmp-type {t}")?;
        }
        if !self.sources.is_empty() {
            let list: Vec<String> = self.sources.iter().map(ToString::to_string).collect();
            write!(f, " -s {}", list.join(","))?;
        }
        if let Some(d) = self.dport {
            write!(f, " --dport {}", d.iptables())?;
        }
        if let Some(s) = self.sport {
            write!(f, " --sport {}", s.iptables())?;
        }
        if !self.states.is_empty() {
            let list: Vec<&str> = self.states.iter().map(|s| s.as_str()).collect();
            write!(f, " -m state --state {}", list.join(","))?;
        }
        if let Some(i) = &self.in_iface {
            write!(f, " -i {i}")?;
        }
        if let Some(o) = &self.out_iface {
            write!(f, " -o {o}")?;
        }
        match &self.target {
            Target::Accept => f.write_str(" -j ACCEPT"),
            Target::Drop => f.write_str(" -j DROP"),
            Target::Return => f.write_str(" -j RETURN"),
            Target::Jump(c) => write!(f, " -j {c}"),
            Target::Redirect(port) => write!(f, " -j REDIRECT --to-port {port}"),
        }
    }
}

/// A containerVM's complete firewall: chain declarations and rules in the order VIC issues them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSet {
    pub(super) chains: Vec<ChainDecl>,
    pub(super) rules: Vec<Rule>,
    /// Interface that [`crate::firewall::Interface::External`] stands for in flows.
    pub(super) external: Option<String>,
}

impl RuleSet {
    /// An empty rule set (no chains, no rules). [`crate::firewall::rules`] builds VIC's.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a chain; a built-in chain gets a policy, a user chain `None`.
    pub fn declare(&mut self, table: Table, name: &str, policy: Option<Policy>) {
        self.chains.push(ChainDecl {
            table,
            name: name.to_owned(),
            policy,
        });
    }

    /// Appends a rule (`-A`).
    pub fn append(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    /// Sets the interface that flows on [`crate::firewall::Interface::External`] arrive on.
    pub fn set_external(&mut self, iface: &str) {
        self.external = Some(iface.to_owned());
    }

    /// The external interface, if any.
    pub fn external(&self) -> Option<&str> {
        self.external.as_deref()
    }

    /// Declared chains.
    pub fn chains(&self) -> &[ChainDecl] {
        &self.chains
    }

    /// All rules, in emission order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rules of one chain, in order, with their index in [`RuleSet::rules`].
    pub fn chain_rules<'a>(
        &'a self,
        table: Table,
        chain: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Rule)> + 'a {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.table == table && r.chain == chain)
    }

    /// The declaration of a chain.
    pub fn chain(&self, table: Table, name: &str) -> Option<&ChainDecl> {
        self.chains
            .iter()
            .find(|c| c.table == table && c.name == name)
    }

    /// Rules that iptables itself would refuse to load: `-s` with a `first-last` range, which VIC
    /// passes verbatim for non-CIDR pools (vic.md §3.3 edge case (b)). The evaluator still
    /// treats them as range matches, i.e. as VIC intends.
    pub fn unloadable_rules(&self) -> Vec<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.sources.iter().any(|s| s.prefix_len().is_none()))
            .collect()
    }

    /// `iptables-restore` input: one section per table, chains declared with their policies,
    /// rules in emission order (chain-relative order is what iptables keeps).
    pub fn to_iptables_restore(&self) -> String {
        let mut out = String::new();
        for table in [Table::Filter, Table::Nat] {
            if !self.chains.iter().any(|c| c.table == table) {
                continue;
            }
            out.push_str(&format!("*{}\n", table.as_str()));
            // Built-in chains first, as iptables-save lists them; then user chains.
            let builtin = self
                .chains
                .iter()
                .filter(|c| c.table == table && c.policy.is_some());
            let user = self
                .chains
                .iter()
                .filter(|c| c.table == table && c.policy.is_none());
            for c in builtin.chain(user) {
                let policy = match c.policy {
                    Some(Policy::Accept) => "ACCEPT",
                    Some(Policy::Drop) => "DROP",
                    None => "-",
                };
                out.push_str(&format!(":{} {} [0:0]\n", c.name, policy));
            }
            for r in self.rules.iter().filter(|r| r.table == table) {
                out.push_str(&format!("{r}\n"));
            }
            out.push_str("COMMIT\n");
        }
        out
    }

    /// The iptables commands in the order VIC runs them: chain creation and policies (the
    /// bootstrap), then every rule, `-t nat` where needed (vic.md §3.3).
    pub fn to_iptables_commands(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.chains {
            let t = table_flag(c.table);
            match c.policy {
                None => out.push(format!("iptables{t} -N {}", c.name)),
                Some(Policy::Drop) => out.push(format!("iptables{t} -P {} DROP", c.name)),
                // Built-in ACCEPT chains are iptables' default: nothing to run.
                Some(Policy::Accept) => {}
            }
        }
        out.extend(
            self.rules
                .iter()
                .map(|r| format!("iptables{} {r}", table_flag(r.table))),
        );
        out
    }
}

fn table_flag(table: Table) -> &'static str {
    match table {
        Table::Filter => "",
        Table::Nat => " -t nat",
    }
}
