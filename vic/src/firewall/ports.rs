//! Ports: `-p` bindings, EXPOSE'd ports, and the create-time checks (vic.md §3.2).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use super::{FirewallError, TrustLevel};

/// Transport protocol of a port; VIC's port rules handle tcp and udp only (vic.md §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Transport {
    /// `tcp` / `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// A port or an inclusive port range (`8000-8010` in docker syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (equal to `start` for a single port).
    pub end: u16,
}

impl PortRange {
    /// A single port.
    pub fn single(port: u16) -> Self {
        Self {
            start: port,
            end: port,
        }
    }

    /// Whether this is a range of more than one port.
    pub fn is_range(&self) -> bool {
        self.start != self.end
    }

    /// Whether `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }

    /// iptables form: docker's `a-b` becomes `a:b` (vic.md §3.3 `portToRule`).
    pub fn iptables(&self) -> String {
        if self.is_range() {
            format!("{}:{}", self.start, self.end)
        } else {
            self.start.to_string()
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_range() {
            write!(f, "{}-{}", self.start, self.end)
        } else {
            write!(f, "{}", self.start)
        }
    }
}

impl FromStr for PortRange {
    type Err = FirewallError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FirewallError::InvalidPort(s.to_owned());
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let (start, end) = (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        );
        if start == 0 || end < start {
            return Err(bad());
        }
        Ok(Self { start, end })
    }
}

/// Splits an optional `/proto` suffix (default tcp).
fn split_proto(s: &str) -> Result<(&str, Transport), FirewallError> {
    match s.rsplit_once('/') {
        None => Ok((s, Transport::Tcp)),
        Some((p, "tcp")) => Ok((p, Transport::Tcp)),
        Some((p, "udp")) => Ok((p, Transport::Udp)),
        Some(_) => Err(FirewallError::InvalidPort(s.to_owned())),
    }
}

/// A container port declared by `EXPOSE`, `--expose` or reached through `-P`.
///
/// VIC ignores all three (vic.md §3.2): such ports are modelled so a conformance table can show
/// they stay closed, but no rule is ever built from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContainerPort {
    /// Protocol.
    pub transport: Transport,
    /// Port or range.
    pub port: PortRange,
}

impl fmt::Display for ContainerPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.transport.as_str())
    }
}

impl FromStr for ContainerPort {
    type Err = FirewallError;

    /// `80`, `80/udp`, `8000-8010/tcp`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (port, transport) = split_proto(s)?;
        Ok(Self {
            transport,
            port: port.parse()?,
        })
    }
}

/// One `-p` binding (`HostConfig.PortBindings` entry, vic.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortMapping {
    /// Protocol.
    pub transport: Transport,
    /// Host IP, when given (`-p 1.2.3.4:80:80`).
    pub host_ip: Option<IpAddr>,
    /// Host port; `None` for `-p C`.
    pub host_port: Option<PortRange>,
    /// Container port.
    pub container_port: PortRange,
}

impl PortMapping {
    /// `-p C` on `proto`.
    pub fn direct(transport: Transport, port: u16) -> Self {
        Self {
            transport,
            host_ip: None,
            host_port: None,
            container_port: PortRange::single(port),
        }
    }

    /// `-p H:C` on `proto`.
    pub fn mapped(transport: Transport, host: u16, container: u16) -> Self {
        Self {
            transport,
            host_ip: None,
            host_port: Some(PortRange::single(host)),
            container_port: PortRange::single(container),
        }
    }

    /// The host port when it differs from the container port: the tether then adds a
    /// `REDIRECT` from it to the container port (vic.md §3.3 `portToRule`).
    pub fn redirect_from(&self) -> Option<PortRange> {
        self.host_port.filter(|h| *h != self.container_port)
    }

    /// The `-p` form as a docker user writes it.
    pub fn docker_spec(&self) -> String {
        let mut s = String::new();
        if let Some(ip) = self.host_ip {
            s.push_str(&format!("{ip}:"));
            if self.host_port.is_none() {
                s.push(':');
            }
        }
        if let Some(h) = self.host_port {
            s.push_str(&format!("{h}:"));
        }
        s.push_str(&format!(
            "{}/{}",
            self.container_port,
            self.transport.as_str()
        ));
        s
    }
}

impl fmt::Display for PortMapping {
    /// The port-layer form of `fromPortbinding`: `host:container/proto`, or `container/proto`
    /// when the host port is empty (vic.md §3.2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_port {
            Some(h) => write!(f, "{h}:{}/{}", self.container_port, self.transport.as_str()),
            None => write!(f, "{}/{}", self.container_port, self.transport.as_str()),
        }
    }
}

impl FromStr for PortMapping {
    type Err = FirewallError;

    /// docker's `-p` syntax: `C`, `H:C`, `IP:H:C`, `IP::C`, each with an optional `/proto`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FirewallError::InvalidPort(s.to_owned());
        let (spec, transport) = split_proto(s)?;
        let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [c] => (None, None, *c),
            [c, h] => (None, Some(*h), *c),
            [c, h, ip] => (
                Some(ip.trim_start_matches('[').trim_end_matches(']')),
                Some(*h),
                *c,
            ),
            _ => return Err(bad()),
        };
        let host_ip = ip
            .map(|ip| ip.parse::<IpAddr>().map_err(|_| bad()))
            .transpose()?;
        let host_port = host.filter(|h| !h.is_empty()).map(str::parse).transpose()?;
        Ok(Self {
            transport,
            host_ip,
            host_port,
            container_port: container.parse()?,
        })
    }
}

/// The personality's port checks for any network (`validateCreateConfig`, vic.md §3.2).
///
/// They run at `docker create`, before the port layer sees the container; both fail with
/// HTTP 500 in VIC. `public_ip` is the VCH's public interface address, the only host IP
/// besides `0.0.0.0` that VIC accepts.
pub fn check_bindings(
    ports: &[PortMapping],
    public_ip: Option<IpAddr>,
) -> Result<(), FirewallError> {
    for p in ports {
        if let Some(ip) = p.host_ip
            && ip != IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            && Some(ip) != public_ip
        {
            return Err(FirewallError::HostIpNotSupported);
        }
        if p.host_port.is_some_and(|h| h.is_range()) {
            return Err(FirewallError::HostPortRange);
        }
    }
    Ok(())
}

/// The port layer's checks when a container with `-p` bindings joins container network
/// `network` at trust level `trust` (`None` = Unspecified, i.e. published) (vic.md §3.2).
///
/// In VIC's order: closed and outbound refuse any `-p`; then, per binding, a redirect may not be
/// combined with a range (any level), and peers needs a host port for every binding.
/// `-P`/`EXPOSE` are not bindings and never reach this check.
pub fn check_ports(
    network: &str,
    trust: Option<TrustLevel>,
    ports: &[PortMapping],
) -> Result<(), FirewallError> {
    let level = TrustLevel::effective(trust);
    if !ports.is_empty() && matches!(level, TrustLevel::Closed | TrustLevel::Outbound) {
        return Err(FirewallError::PublishingRefused(network.to_owned()));
    }
    for p in ports {
        if p.host_port.is_some()
            && (p.container_port.is_range() || p.host_port.is_some_and(|h| h.is_range()))
        {
            return Err(FirewallError::RedirectWithRange(p.to_string()));
        }
        if level == TrustLevel::Peers && p.host_port.is_none() {
            return Err(FirewallError::PeersNeedMapping(network.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PortMapping {
        s.parse().expect("port mapping")
    }

    #[test]
    fn parses_docker_forms() {
        assert_eq!(p("80"), PortMapping::direct(Transport::Tcp, 80));
        assert_eq!(
            p("8080:80/tcp"),
            PortMapping::mapped(Transport::Tcp, 8080, 80)
        );
        assert_eq!(p("53:53/udp").transport, Transport::Udp);
        let with_ip = p("0.0.0.0::80");
        assert_eq!(
            (with_ip.host_ip, with_ip.host_port),
            (Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), None)
        );
        assert_eq!(p("1.2.3.4:8080:80").docker_spec(), "1.2.3.4:8080:80/tcp");
        assert_eq!(p("8000-8010").container_port.iptables(), "8000:8010");
        for bad in ["", "x", "80/sctp", "0", "90-80", "a:b:c:d"] {
            assert!(bad.parse::<PortMapping>().is_err(), "{bad}");
        }
    }

    #[test]
    fn port_layer_form() {
        assert_eq!(p("8080:80").to_string(), "8080:80/tcp");
        assert_eq!(p("80/udp").to_string(), "80/udp");
        assert_eq!(
            "80-90/udp".parse::<ContainerPort>().unwrap().to_string(),
            "80-90/udp"
        );
    }

    #[test]
    fn redirects() {
        assert_eq!(p("8080:80").redirect_from(), Some(PortRange::single(8080)));
        assert_eq!(p("80:80").redirect_from(), None);
        assert_eq!(p("80").redirect_from(), None);
    }

    #[test]
    fn personality_checks() {
        let public: IpAddr = "192.168.1.10".parse().unwrap();
        assert!(
            check_bindings(&[p("0.0.0.0:80:80"), p("192.168.1.10:81:81")], Some(public)).is_ok()
        );
        assert_eq!(
            check_bindings(&[p("10.0.0.1:80:80")], Some(public)),
            Err(FirewallError::HostIpNotSupported)
        );
        assert_eq!(
            check_bindings(&[p("8000-8001:80")], None),
            Err(FirewallError::HostPortRange)
        );
    }

    #[test]
    fn trust_checks() {
        use TrustLevel::*;
        let direct = [p("80")];
        assert!(check_ports("n", None, &direct).is_ok());
        assert!(check_ports("n", Some(Open), &direct).is_ok());
        assert!(check_ports("n", Some(Closed), &[]).is_ok());
        for level in [Closed, Outbound] {
            assert_eq!(
                check_ports("n", Some(level), &[p("8080:80")]),
                Err(FirewallError::PublishingRefused("n".into()))
            );
        }
        assert_eq!(
            check_ports("n", Some(Peers), &direct),
            Err(FirewallError::PeersNeedMapping("n".into()))
        );
        assert!(check_ports("n", Some(Peers), &[p("8080:80")]).is_ok());
        assert_eq!(
            check_ports("n", Some(Open), &[p("8080:80-81")])
                .unwrap_err()
                .to_string(),
            "ports published on external networks cannot include both a redirect and a range (8080:80-81/tcp)"
        );
        assert!(check_ports("n", Some(Published), &[p("80-81")]).is_ok());
    }
}
