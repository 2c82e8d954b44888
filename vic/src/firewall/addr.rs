//! Address ranges: `--container-network-ip-range` pools and bridge pools (vic.md §1.2, §3.3).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::FirewallError;

/// An inclusive range of addresses of one family.
///
/// Rendered the way VIC's `ip.Range.String()` does (vic.md §3.3): CIDR form when the range is
/// exactly a CIDR block, `first-last` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    first: IpAddr,
    last: IpAddr,
}

impl IpRange {
    /// A range from `first` to `last`; `None` when the families differ or `last < first`.
    pub fn new(first: IpAddr, last: IpAddr) -> Option<Self> {
        match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => Some(Self { first, last }),
            (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => Some(Self { first, last }),
            _ => None,
        }
    }

    /// The CIDR block `addr/prefix` (host bits are ignored, as `net.ParseCIDR` does).
    pub fn cidr(addr: IpAddr, prefix: u8) -> Option<Self> {
        let bits = family_bits(addr);
        if u32::from(prefix) > bits {
            return None;
        }
        let host_bits = bits - u32::from(prefix);
        let host_mask = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let base = to_u128(addr) & !host_mask;
        Some(Self {
            first: from_u128(addr, base),
            last: from_u128(addr, base | host_mask),
        })
    }

    /// The first address.
    pub fn first(&self) -> IpAddr {
        self.first
    }

    /// The last address (inclusive).
    pub fn last(&self) -> IpAddr {
        self.last
    }

    /// Whether `ip` lies in the range. IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        family_bits(ip) == family_bits(self.first)
            && to_u128(self.first) <= to_u128(ip)
            && to_u128(ip) <= to_u128(self.last)
    }

    /// The prefix length when the range is exactly one CIDR block.
    pub fn prefix_len(&self) -> Option<u8> {
        let (a, b) = (to_u128(self.first), to_u128(self.last));
        let size_minus_one = b - a;
        // A block has a size that is a power of two and a first address aligned to it.
        if size_minus_one
            .checked_add(1)
            .is_some_and(|n| !n.is_power_of_two())
            || a & size_minus_one != 0
        {
            return None;
        }
        let host_bits = 128 - size_minus_one.leading_zeros();
        u8::try_from(family_bits(self.first) - host_bits).ok()
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix_len() {
            Some(p) => write!(f, "{}/{}", self.first, p),
            None => write!(f, "{}-{}", self.first, self.last),
        }
    }
}

impl FromStr for IpRange {
    type Err = FirewallError;

    /// Parses the `--container-network-ip-range` forms (vic.md §1.2): `cidr`,
    /// `a.b.c.d-e.f.g.h`, and `a.b.c.d-N`, where N replaces the last octet.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FirewallError::InvalidRange(s.to_owned());
        if let Some((addr, prefix)) = s.split_once('/') {
            let addr: IpAddr = addr.parse().map_err(|_| bad())?;
            let prefix: u8 = prefix.parse().map_err(|_| bad())?;
            return Self::cidr(addr, prefix).ok_or_else(bad);
        }
        let (first, last) = s.split_once('-').ok_or_else(bad)?;
        let first: IpAddr = first.parse().map_err(|_| bad())?;
        let last = match (last.parse::<IpAddr>(), first, last.parse::<u8>()) {
            (Ok(ip), _, _) => ip,
            (Err(_), IpAddr::V4(v4), Ok(octet)) => {
                let [a, b, c, _] = v4.octets();
                IpAddr::V4(Ipv4Addr::new(a, b, c, octet))
            }
            _ => return Err(bad()),
        };
        Self::new(first, last).ok_or_else(bad)
    }
}

fn family_bits(ip: IpAddr) -> u32 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Converts back in the family of `like`; the value always fits because it came from one.
fn from_u128(like: IpAddr, n: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX))),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> IpRange {
        s.parse().expect("range")
    }

    #[test]
    fn cidr_blocks_render_as_cidr() {
        assert_eq!(r("10.0.0.0/24").to_string(), "10.0.0.0/24");
        assert_eq!(r("10.0.0.7/24").to_string(), "10.0.0.0/24");
        assert_eq!(r("10.0.0.0-10.0.0.255").to_string(), "10.0.0.0/24");
        assert_eq!(r("10.0.0.4-7").to_string(), "10.0.0.4/30");
        assert_eq!(r("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(r("::/0").to_string(), "::/0");
    }

    #[test]
    fn other_ranges_render_with_a_dash() {
        assert_eq!(r("10.0.0.10-10.0.0.20").to_string(), "10.0.0.10-10.0.0.20");
        assert_eq!(r("10.0.0.10-20").to_string(), "10.0.0.10-10.0.0.20");
    }

    #[test]
    fn membership() {
        let pool = r("10.0.0.10-20");
        assert!(pool.contains("10.0.0.10".parse().unwrap()));
        assert!(pool.contains("10.0.0.20".parse().unwrap()));
        assert!(!pool.contains("10.0.0.21".parse().unwrap()));
        assert!(pool.contains("::ffff:10.0.0.15".parse().unwrap()));
        assert!(!pool.contains("::1".parse().unwrap()));
    }

    #[test]
    fn bad_input_is_an_error() {
        for s in [
            "10.0.0.1",
            "10.0.0.1-foo",
            "10.0.0.9-10.0.0.1",
            "10.0.0.0/33",
            "10.0.0.1-::1",
        ] {
            assert!(s.parse::<IpRange>().is_err(), "{s}");
        }
        assert_eq!(
            "10.0.0.1-foo".parse::<IpRange>().unwrap_err().to_string(),
            "parse error: 10.0.0.1-foo"
        );
    }
}
