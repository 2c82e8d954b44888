//! Trust levels and the `--container-network-firewall` flag (vic.md §3.1, §1.2, §1.4).

use std::fmt;

use super::FirewallError;

/// A container network's firewall trust level (vic.md §3.1).
///
/// "Unspecified" is not a variant: it is `None` in an `Option<TrustLevel>`, and behaves as
/// [`TrustLevel::Published`] everywhere (tether, port checks, `docker ps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrustLevel {
    /// Nothing in or out except DHCP.
    Closed,
    /// Outbound connections and their replies.
    Outbound,
    /// Outbound, ping, and the ports published with `-p` (the default).
    Published,
    /// Outbound, plus everything from the network's `--container-network-ip-range`.
    Peers,
    /// Everything, including forwarding.
    Open,
}

impl TrustLevel {
    /// All levels, in the order of vic.md §3.4's columns.
    pub const ALL: [TrustLevel; 5] = [
        TrustLevel::Closed,
        TrustLevel::Outbound,
        TrustLevel::Published,
        TrustLevel::Peers,
        TrustLevel::Open,
    ];

    /// Parses a level case-insensitively; the empty string is Unspecified (`None`).
    ///
    /// Anything else fails with VIC's `Unrecognized container trust level X.` (vic.md §9 item 8),
    /// quoting the input as given.
    pub fn parse(value: &str) -> Result<Option<Self>, FirewallError> {
        let level = match value.to_ascii_lowercase().as_str() {
            "" => return Ok(None),
            "closed" => Self::Closed,
            "outbound" => Self::Outbound,
            "published" => Self::Published,
            "peers" => Self::Peers,
            "open" => Self::Open,
            _ => return Err(FirewallError::UnrecognizedTrustLevel(value.to_owned())),
        };
        Ok(Some(level))
    }

    /// The lower-case name VIC prints and accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Outbound => "outbound",
            Self::Published => "published",
            Self::Peers => "peers",
            Self::Open => "open",
        }
    }

    /// The level that actually applies: Unspecified behaves as published (vic.md §3.1).
    pub fn effective(level: Option<Self>) -> Self {
        level.unwrap_or(Self::Published)
    }

    /// The integer persisted in guestinfo (`TrustLevel` keys, vic.md §3.1, §6.4):
    /// `Unspecified=0, Published=1, Open=2, Closed=3, Outbound=4, Peers=5`.
    pub fn to_config(level: Option<Self>) -> u8 {
        match level {
            None => 0,
            Some(Self::Published) => 1,
            Some(Self::Open) => 2,
            Some(Self::Closed) => 3,
            Some(Self::Outbound) => 4,
            Some(Self::Peers) => 5,
        }
    }

    /// Reads the persisted integer. Unknown values behave as published, as in the tether
    /// (vic.md §3.1, §3.3 table), so they map to `Some(Published)`.
    pub fn from_config(code: i64) -> Option<Self> {
        match code {
            0 => None,
            2 => Some(Self::Open),
            3 => Some(Self::Closed),
            4 => Some(Self::Outbound),
            5 => Some(Self::Peers),
            _ => Some(Self::Published),
        }
    }
}

impl fmt::Display for TrustLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `--container-network-firewall PG:level` value (vic.md §1.2, §1.4).
///
/// Keyed by the vSphere **port-group name**, not the alias; matching keys to `--cn` entries is
/// vic-machine's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallFlag {
    /// The port group the level applies to.
    pub port_group: String,
    /// The level; `None` is Unspecified.
    pub trust: Option<TrustLevel>,
}

impl FirewallFlag {
    /// Parses `PG:level`.
    ///
    /// Everything after the first `:` is the level; a second `:` fails with VIC's
    /// `Invalid value for parameter X` (vic.md §1.4). A value without `:` has an empty level,
    /// i.e. Unspecified: the shared container-network parser treats the part after `:` as
    /// optional (vic.md §1.4 for `--cn`), and the empty level parses as Unspecified (§3.1).
    pub fn parse(value: &str) -> Result<Self, FirewallError> {
        let (port_group, level) = value.split_once(':').unwrap_or((value, ""));
        if level.contains(':') {
            return Err(FirewallError::InvalidParameter(value.to_owned()));
        }
        Ok(Self {
            port_group: port_group.to_owned(),
            trust: TrustLevel::parse(level)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_case_insensitive() {
        assert_eq!(TrustLevel::parse("OPEN"), Ok(Some(TrustLevel::Open)));
        assert_eq!(TrustLevel::parse("Peers"), Ok(Some(TrustLevel::Peers)));
        assert_eq!(TrustLevel::parse(""), Ok(None));
    }

    #[test]
    fn unknown_level_message_is_verbatim() {
        let err = TrustLevel::parse("foo").unwrap_err();
        assert_eq!(err.to_string(), "Unrecognized container trust level foo.");
    }

    #[test]
    fn config_codes_round_trip() {
        for level in TrustLevel::ALL.into_iter().map(Some).chain([None]) {
            assert_eq!(
                TrustLevel::from_config(i64::from(TrustLevel::to_config(level))),
                level
            );
        }
        assert_eq!(TrustLevel::from_config(42), Some(TrustLevel::Published));
        assert_eq!(TrustLevel::effective(None), TrustLevel::Published);
    }

    #[test]
    fn flag_forms() {
        let f = FirewallFlag::parse("vm-net:Outbound").unwrap();
        assert_eq!(
            (f.port_group.as_str(), f.trust),
            ("vm-net", Some(TrustLevel::Outbound))
        );
        assert_eq!(FirewallFlag::parse("vm-net").unwrap().trust, None);
        assert_eq!(
            FirewallFlag::parse("a:b:c").unwrap_err().to_string(),
            "Invalid value for parameter a:b:c"
        );
        assert_eq!(
            FirewallFlag::parse("net:foo").unwrap_err().to_string(),
            "Unrecognized container trust level foo."
        );
    }
}
