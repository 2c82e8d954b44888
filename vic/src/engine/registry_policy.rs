//! A VCH's registry policy (VIC 1.2: `vic-machine create --registry-ca`, `--insecure-registry`,
//! `--whitelist-registry`; vic.md §1.2, §5.3 `docker info`, §7.3 pull step 2): which
//! registries the endpoint may reach, which of them it reaches without certificate checks,
//! and the extra CAs it trusts.
//!
//! Entries follow VIC's `pkg/registry` (`ParseEntry`, `Match`):
//! - a CIDR (`10.2.2.0/24`) admits any registry whose host is an IP address inside it, with or
//!   without a port;
//! - anything else is read as a URL (`https://` is assumed when no scheme is given; the scheme
//!   plays no part when a registry host is checked): an exact host (`registry.corp.local`), an
//!   IP (`10.0.0.5`), with a port (`10.0.0.5:5000`), or a glob (`*.corp.local`, where `*`
//!   matches any run of characters, dots included, but not the empty parent `corp.local`).
//!   An entry without a port admits the host on any port; one with a port admits that port.
//!
//! Two departures from VIC's code, both on the user's side of VIC's own documentation
//! (`doc/design/registries/whitelist-registry.md`): host names compare case-insensitively (DNS
//! names are), and an entry with port 443 also admits the bare host (a registry named without
//! a port is reached over HTTPS on 443; VIC's design document says `10.2.40.40:443` admits
//! `10.2.40.40`, which its 1.2 code did not do).
//!
//! Docker Hub: VIC checks Hub images (`docker.io`) under the registry it pulls them from,
//! `registry.hub.docker.com`, and names that host in its denial; so whitelisting Hub means an
//! entry for `registry.hub.docker.com` (or `*.docker.com`), not `docker.io`.
//!
//! vic-machine's side is [`RegistryPolicy::validated`]: the checks of VIC's validator (the CA
//! bundle must hold a certificate, every entry must parse, an insecure entry may not be a
//! CIDR) and the whitelist as VIC stores it — the whitelist plus every insecure registry, an
//! insecure entry replacing a whitelisted one it covers. VIC also probes each registry over
//! HTTP and only warns when one does not answer; the testbed does not probe.

use std::fmt;
use std::net::IpAddr;

use rustls::pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The registry VIC pulls Docker Hub images from, and checks them under (`imagec.DefaultDockerURL`).
pub const HUB_REGISTRY: &str = "registry.hub.docker.com";
/// The names an image reference gives Docker Hub.
const HUB_NAMES: [&str; 2] = ["docker.io", "index.docker.io"];
/// `docker info`'s whitelist-mode value when no whitelist is set (two spaces, as VIC's).
pub const WHITELIST_DISABLED: &str = "disabled.  All registry access allowed.";

/// The registry configuration of a VCH as its guestinfo stores it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryPolicy {
    /// CA bundles (PEM) for registry TLS, on top of the well-known CAs.
    pub ca_pems: Vec<String>,
    /// `--insecure-registry` entries as given: reached without certificate verification (or
    /// over plain HTTP).
    pub insecure: Vec<String>,
    /// The whitelist (empty: every registry is allowed).
    pub whitelist: Vec<String>,
}

/// How to talk to an allowed registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// HTTPS with certificate verification (the well-known CAs and [`RegistryPolicy::ca_certificates`]).
    Secure,
    /// An insecure registry: HTTPS without verification, or plain HTTP.
    Insecure,
}

/// Why vic-machine's validator refuses a registry configuration (VIC's messages).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// `--registry-ca` files hold no certificate.
    #[error("Unable to load certificate authority data for registry")]
    CaData,
    /// An entry is neither a CIDR nor a host.
    #[error("could not parse entry {0}")]
    Unparsable(String),
    /// An `--insecure-registry` entry is a CIDR.
    #[error("invalid insecure registry entry: {0}")]
    InsecureCidr(String),
}

/// One whitelist or insecure-registry entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `ip/prefix`, the address masked to its network.
    Cidr {
        /// The network address.
        network: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
    /// A host, possibly a glob, with optional scheme, port and path.
    Url(UrlEntry),
}

/// The URL form of an [`Entry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlEntry {
    /// The scheme, lower-cased, when one was written.
    scheme: Option<String>,
    /// The host name or address (an IPv6 address without its brackets).
    hostname: String,
    /// Whether the host was written in brackets (IPv6).
    bracketed: bool,
    /// The port, when one was written.
    port: Option<u16>,
    /// The path after the host (`/project`), usually empty.
    path: String,
}

impl UrlEntry {
    fn host(&self) -> String {
        let name = if self.bracketed {
            format!("[{}]", self.hostname)
        } else {
            self.hostname.clone()
        };
        match self.port {
            Some(p) => format!("{name}:{p}"),
            None => name,
        }
    }

    /// VIC's `urlEntry.Match` for a parsed query: a scheme on one side only is ignored; the
    /// query's path must start with the entry's; an entry without a port takes any port.
    fn admits(&self, q: &UrlEntry) -> bool {
        let scheme = match (&self.scheme, &q.scheme) {
            (Some(a), Some(b)) if a != b => return false,
            (Some(a), Some(_)) => Some(a.as_str()),
            _ => None,
        };
        let default_port = match scheme {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        };
        let (entry_port, query_port) = (self.port.or(default_port), q.port.or(default_port));
        let port_ok = match (entry_port, query_port) {
            (None, _) => true,
            (Some(e), Some(p)) => e == p,
            // A bare host is reached on 443 (see the module docs).
            (Some(e), None) => e == 443,
        };
        port_ok && q.path.starts_with(&self.path) && glob(&self.hostname, &q.hostname)
    }
}

/// go-glob's semantics, ASCII case-insensitive: `*` matches any run of characters; without a
/// `*` the texts must be equal.
fn glob(pattern: &str, subject: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let subject = subject.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some((last, init)) = parts.split_last() else {
        return subject.is_empty();
    };
    if init.is_empty() {
        return subject == pattern;
    }
    let mut rest = subject.as_str();
    for (i, part) in init.iter().enumerate() {
        let Some(at) = rest.find(part) else {
            return false;
        };
        // The first part is anchored at the start (it is empty when the pattern starts
        // with `*`).
        if i == 0 && at != 0 {
            return false;
        }
        rest = &rest[at + part.len()..];
    }
    rest.ends_with(last)
}

/// `ip` masked to its first `prefix` bits; None when the prefix is too long for the family.
fn masked(ip: IpAddr, prefix: u8) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            Some(IpAddr::V4((u32::from(v4) & mask).into()))
        }
        IpAddr::V6(v6) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            Some(IpAddr::V6((u128::from(v6) & mask).into()))
        }
        _ => None,
    }
}

/// Go's `net.ParseCIDR` (the address masked).
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, prefix) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    Some((masked(ip, prefix)?, prefix))
}

/// A character Go's URL parser accepts in a host (`shouldEscape` in host mode, `%` aside).
fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || !c.is_ascii() || "-_.~!$&'()*+,;=<>\"".contains(c)
}

impl Entry {
    /// VIC's `ParseEntry`: a CIDR, else a URL with a host (`https://` assumed).
    pub fn parse(text: &str) -> Result<Entry, RegistryError> {
        if let Some((network, prefix)) = parse_cidr(text) {
            return Ok(Entry::Cidr { network, prefix });
        }
        Self::parse_url(text)
            .map(Entry::Url)
            .ok_or_else(|| RegistryError::Unparsable(text.to_owned()))
    }

    fn parse_url(text: &str) -> Option<UrlEntry> {
        let (scheme, rest) = match text.split_once("://") {
            Some((s, r)) => {
                let mut chars = s.chars();
                let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
                if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
                    return None;
                }
                (Some(s.to_ascii_lowercase()), r)
            }
            None => (None, text.strip_prefix("//").unwrap_or(text)),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (hostname, bracketed, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (addr, after) = inner.split_once(']')?;
            addr.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?),
            };
            (addr, true, port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, false, Some(p)),
                None => (authority, false, None),
            }
        };
        if hostname.is_empty() || (!bracketed && !hostname.chars().all(host_char)) {
            return None;
        }
        let port = match port {
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse::<u16>().ok()?),
            Some(_) => return None,
            None => None,
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        Some(UrlEntry {
            scheme,
            hostname: hostname.to_owned(),
            bracketed,
            port,
            path: path.to_owned(),
        })
    }

    /// Whether this is a CIDR entry.
    pub fn is_cidr(&self) -> bool {
        matches!(self, Entry::Cidr { .. })
    }

    /// VIC's `Entry.Match`: whether `query` (a registry host such as `reg.corp.local:5000`,
    /// or another entry's text) falls under this entry.
    pub fn matches(&self, query: &str) -> bool {
        let Ok(q) = Entry::parse(query) else {
            return false;
        };
        match (self, &q) {
            (Entry::Cidr { network, prefix }, Entry::Url(u)) => u
                .hostname
                .parse::<IpAddr>()
                .is_ok_and(|ip| in_network(ip, *network, *prefix)),
            (Entry::Cidr { network, prefix }, Entry::Cidr { network: n, .. }) => {
                in_network(*n, *network, *prefix)
            }
            (Entry::Url(e), Entry::Url(u)) => e.admits(u),
            (Entry::Url(_), Entry::Cidr { .. }) => false,
        }
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    ip.is_ipv4() == network.is_ipv4() && masked(ip, prefix) == Some(network)
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Cidr { network, prefix } => write!(f, "{network}/{prefix}"),
            Entry::Url(u) => {
                if let Some(s) = &u.scheme {
                    write!(f, "{s}://")?;
                }
                write!(f, "{}{}", u.host(), u.path)
            }
        }
    }
}

/// The entries of `list` that parse (a stored list was validated when it was written).
fn parsed(list: &[String]) -> Vec<Entry> {
    list.iter().filter_map(|s| Entry::parse(s).ok()).collect()
}

/// An entry's normalised text, or the text itself when it does not parse.
fn normalised(s: &str) -> String {
    Entry::parse(s).map_or_else(|_| s.to_owned(), |e| e.to_string())
}

impl RegistryPolicy {
    /// Whether the VCH is in whitelist mode (a whitelist is set).
    pub fn whitelist_mode(&self) -> bool {
        !self.whitelist.is_empty()
    }

    /// Whether `registry_host` (as in an image reference: `registry.corp.local`,
    /// `10.0.0.5:5000`, `docker.io` for Hub images) may be used, and how. A refusal is VIC's
    /// message, which the pull writes as a JSON stream error.
    pub fn check(&self, registry_host: &str) -> Result<Access, String> {
        let host = if HUB_NAMES.contains(&registry_host.to_ascii_lowercase().as_str()) {
            HUB_REGISTRY
        } else {
            registry_host
        };
        // Fail closed: a whitelist none of whose entries parses admits nothing.
        if self.whitelist_mode() && !parsed(&self.whitelist).iter().any(|e| e.matches(host)) {
            return Err(format!(
                "Access denied to unauthorized registry ({host}) while VCH is in whitelist mode"
            ));
        }
        if parsed(&self.insecure).iter().any(|e| e.matches(host)) {
            Ok(Access::Insecure)
        } else {
            Ok(Access::Secure)
        }
    }

    /// The certificates of [`RegistryPolicy::ca_pems`] (blocks that are not X.509
    /// certificates are skipped, as Go's `AppendCertsFromPEM` skips them).
    pub fn ca_certificates(&self) -> Vec<CertificateDer<'static>> {
        self.ca_pems
            .iter()
            .flat_map(|pem| crate::tls::pem::certificates(pem.as_bytes()))
            .filter(|der| X509Certificate::from_der(der).is_ok())
            .map(CertificateDer::from)
            .collect()
    }

    /// The CA bundles as one PEM text (VIC stores the `--registry-ca` files concatenated).
    pub fn ca_bundle(&self) -> String {
        let mut out = String::new();
        for pem in self.ca_pems.iter().filter(|p| !p.is_empty()) {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(pem);
        }
        out
    }

    /// `docker info`'s registry `SystemStatus` pairs, after `" VMware OS version"` (VIC's
    /// `system.go`): the insecure registries when there are any, then the whitelist mode and,
    /// when on, the whitelist; lists are comma-joined entries in normalised form.
    pub fn info_status(&self) -> Vec<[String; 2]> {
        let join = |list: &[String]| {
            list.iter()
                .map(|s| normalised(s))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = Vec::new();
        if !self.insecure.is_empty() {
            out.push([" Insecure Registries".to_owned(), join(&self.insecure)]);
        }
        if self.whitelist_mode() {
            out.push([" Registry Whitelist Mode".to_owned(), "enabled".to_owned()]);
            out.push([" Whitelisted Registries".to_owned(), join(&self.whitelist)]);
        } else {
            out.push([
                " Registry Whitelist Mode".to_owned(),
                WHITELIST_DISABLED.to_owned(),
            ]);
        }
        out
    }

    /// vic-machine's validator (`validator.go` `registries`) on the flags as given: the policy
    /// as the VCH stores it — the CA files as one bundle, the insecure entries as given, and
    /// the whitelist (when one is given) merged with the insecure registries in normalised
    /// form; or the first issue, in VIC's order.
    pub fn validated(&self) -> Result<RegistryPolicy, RegistryError> {
        let ca_bundle = self.ca_bundle();
        let stored_cas = RegistryPolicy {
            ca_pems: vec![ca_bundle.clone()],
            ..RegistryPolicy::default()
        };
        if !ca_bundle.is_empty() && stored_cas.ca_certificates().is_empty() {
            return Err(RegistryError::CaData);
        }
        let whitelist = self
            .whitelist
            .iter()
            .map(|s| Entry::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let insecure = self
            .insecure
            .iter()
            .map(|s| Entry::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(cidr) = insecure.iter().find(|e| e.is_cidr()) {
            return Err(RegistryError::InsecureCidr(cidr.to_string()));
        }
        let merged = if whitelist.is_empty() {
            Vec::new()
        } else {
            merge_whitelist(whitelist, &insecure)
        };
        Ok(RegistryPolicy {
            ca_pems: if ca_bundle.is_empty() {
                Vec::new()
            } else {
                vec![ca_bundle]
            },
            insecure: self.insecure.clone(),
            whitelist: merged.iter().map(Entry::to_string).collect(),
        })
    }
}

/// VIC's whitelist as stored: each insecure entry first drops the first whitelisted host
/// entry it covers, then the insecure entries are added (one equal to a remaining entry
/// replaces it in place).
fn merge_whitelist(mut whitelist: Vec<Entry>, insecure: &[Entry]) -> Vec<Entry> {
    for r in insecure {
        if let Some(i) = whitelist
            .iter()
            .position(|s| !s.is_cidr() && r.matches(&s.to_string()))
        {
            whitelist.remove(i);
        }
    }
    let kept = whitelist.len();
    let mut adds = Vec::new();
    for o in insecure {
        let text = o.to_string();
        match whitelist[..kept].iter().position(|e| e.to_string() == text) {
            Some(i) => whitelist[i] = o.clone(),
            None => adds.push(o.clone()),
        }
    }
    whitelist.extend(adds);
    whitelist
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &str) -> Entry {
        Entry::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn admits(e: &str, host: &str) -> bool {
        entry(e).matches(host)
    }

    fn policy(whitelist: &[&str], insecure: &[&str]) -> RegistryPolicy {
        RegistryPolicy {
            ca_pems: Vec::new(),
            insecure: insecure.iter().map(|s| s.to_string()).collect(),
            whitelist: whitelist.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        rcgen::CertificateParams::new(vec!["registry.corp.local".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert")
            .pem()
    }

    #[test]
    fn entries_parse_and_print_as_vic_normalises_them() {
        for (text, shown) in [
            ("10.2.2.1/24", "10.2.2.0/24"),
            ("fd00::1/8", "fd00::/8"),
            ("registry.corp.local", "registry.corp.local"),
            ("10.0.0.5:5000", "10.0.0.5:5000"),
            ("*.corp.local", "*.corp.local"),
            ("HTTP://reg:5000", "http://reg:5000"),
            ("//reg", "reg"),
            ("[::1]:5000", "[::1]:5000"),
            ("reg/project", "reg/project"),
        ] {
            assert_eq!(entry(text).to_string(), shown, "{text}");
        }
        assert!(entry("10.0.0.0/8").is_cidr() && !entry("10.0.0.1").is_cidr());
        for bad in [
            "foo bar",
            "",
            "reg:abc",
            "reg:",
            "a:b:c",
            "ht tp://x",
            "http://",
            "[zz]:1",
        ] {
            assert_eq!(
                Entry::parse(bad),
                Err(RegistryError::Unparsable(bad.to_owned()))
            );
            assert_eq!(
                RegistryError::Unparsable(bad.to_owned()).to_string(),
                format!("could not parse entry {bad}")
            );
        }
    }

    #[test]
    fn an_exact_host_admits_it_on_any_port_and_nothing_else() {
        let e = "registry.corp.local";
        assert!(admits(e, "registry.corp.local"));
        assert!(admits(e, "registry.corp.local:5000"));
        assert!(
            admits(e, "Registry.Corp.Local"),
            "DNS names are case-insensitive"
        );
        for other in ["other.corp.local", "registry.corp.local.evil", "corp.local"] {
            assert!(!admits(e, other), "{other}");
        }
    }

    #[test]
    fn a_host_with_a_port_admits_that_port_and_443_the_bare_host() {
        assert!(admits("10.0.0.5:5000", "10.0.0.5:5000"));
        assert!(!admits("10.0.0.5:5000", "10.0.0.5:5001"));
        assert!(!admits("10.0.0.5:5000", "10.0.0.5"));
        assert!(admits("reg:443", "reg"));
        assert!(admits("reg:443", "reg:443"));
        assert!(!admits("reg:443", "reg:5000"));
    }

    #[test]
    fn an_ip_matches_as_text_and_a_cidr_by_address() {
        assert!(admits("10.0.0.5", "10.0.0.5"));
        assert!(admits("10.0.0.5", "10.0.0.5:5000"));
        assert!(!admits("10.0.0.5", "10.0.0.50"));
        let cidr = "10.0.0.0/8";
        assert!(admits(cidr, "10.1.2.3"));
        assert!(admits(cidr, "10.1.2.3:5000"));
        assert!(!admits(cidr, "11.0.0.1"));
        assert!(!admits(cidr, "ten.corp.local"), "names are not resolved");
        assert!(admits(cidr, "10.4.0.0/16"));
        assert!(admits("fd00::/8", "[fd00::1]:5000"));
        assert!(!admits("fd00::/8", "10.0.0.1"));
    }

    #[test]
    fn a_wildcard_domain_admits_subdomains_but_not_the_domain() {
        let e = "*.corp.local";
        assert!(admits(e, "reg.corp.local"));
        assert!(admits(e, "a.b.corp.local:5000"));
        for other in ["corp.local", "reg.corp.local.evil", "regcorp.local"] {
            assert!(!admits(e, other), "{other}");
        }
        assert!(admits("*", "anything:1"));
        assert!(admits("reg-*.corp.local", "reg-7.corp.local"));
        assert!(!admits("*.corp.local:5000", "reg.corp.local"));
        assert!(admits("*.corp.local:5000", "reg.corp.local:5000"));
    }

    #[test]
    fn schemes_play_no_part_and_paths_never_match_a_host() {
        assert!(admits("http://reg", "reg"));
        assert!(admits("https://reg:5000", "reg:5000"));
        assert!(!admits("reg/project", "reg"));
        // Between entries a scheme on both sides must agree.
        assert!(!admits("http://reg", "https://reg"));
    }

    #[test]
    fn without_a_whitelist_everything_is_allowed_and_insecure_entries_say_how() {
        let p = policy(&[], &["reg.corp.local:5000", "*.lab.local"]);
        assert!(!p.whitelist_mode());
        assert_eq!(p.check("docker.io"), Ok(Access::Secure));
        assert_eq!(p.check("other.corp.local"), Ok(Access::Secure));
        assert_eq!(p.check("reg.corp.local:5000"), Ok(Access::Insecure));
        assert_eq!(p.check("reg.corp.local"), Ok(Access::Secure));
        assert_eq!(p.check("x.lab.local:5000"), Ok(Access::Insecure));
    }

    #[test]
    fn whitelist_mode_denies_the_rest_with_vics_message() {
        let p = policy(
            &["10.0.0.0/8", "*.corp.local", "reg.corp.local"],
            &["reg.corp.local"],
        );
        assert!(p.whitelist_mode());
        assert_eq!(p.check("10.0.0.5:5000"), Ok(Access::Secure));
        assert_eq!(p.check("x.corp.local"), Ok(Access::Secure));
        assert_eq!(p.check("reg.corp.local"), Ok(Access::Insecure));
        assert_eq!(
            p.check("evil.example.com"),
            Err("Access denied to unauthorized registry (evil.example.com) while VCH is in whitelist mode".to_owned())
        );
    }

    #[test]
    fn docker_hub_is_checked_as_registry_hub_docker_com() {
        let denied = Err(
            "Access denied to unauthorized registry (registry.hub.docker.com) while VCH is in whitelist mode"
                .to_owned(),
        );
        assert_eq!(policy(&["reg.corp.local"], &[]).check("docker.io"), denied);
        assert_eq!(policy(&["docker.io"], &[]).check("docker.io"), denied);
        assert_eq!(
            policy(&["reg.corp.local"], &[]).check("index.docker.io"),
            denied
        );
        for allows in ["registry.hub.docker.com", "*.docker.com"] {
            assert_eq!(
                policy(&[allows], &[]).check("docker.io"),
                Ok(Access::Secure),
                "{allows}"
            );
        }
        // A whitelist of nothing usable admits nothing.
        assert!(policy(&["not a host"], &[]).check("reg").is_err());
    }

    #[test]
    fn the_stored_whitelist_adds_the_insecure_registries() {
        // VIC's design document's example.
        let p = policy(
            &["10.2.40.40:443", "10.2.2.1/24", "*.mycompany.com"],
            &["192.168.100.207"],
        )
        .validated()
        .unwrap();
        assert_eq!(
            p.whitelist,
            [
                "10.2.40.40:443",
                "10.2.2.0/24",
                "*.mycompany.com",
                "192.168.100.207"
            ]
        );
        assert_eq!(p.insecure, ["192.168.100.207"]);
        // An insecure entry replaces a whitelisted one it covers; an equal one is not doubled.
        let p = policy(&["reg:5000", "a.corp.local", "b"], &["reg", "b"])
            .validated()
            .unwrap();
        assert_eq!(p.whitelist, ["a.corp.local", "reg", "b"]);
        // No whitelist: no whitelist mode, whatever is insecure.
        let p = policy(&[], &["reg"]).validated().unwrap();
        assert!(p.whitelist.is_empty() && !p.whitelist_mode());
    }

    #[test]
    fn validation_refuses_as_vic_does_in_its_order() {
        let mut p = policy(&["foo bar"], &["10.0.0.0/8"]);
        p.ca_pems = vec!["not a certificate".into()];
        assert_eq!(p.validated(), Err(RegistryError::CaData));
        assert_eq!(
            RegistryError::CaData.to_string(),
            "Unable to load certificate authority data for registry"
        );
        p.ca_pems.clear();
        assert_eq!(
            p.validated(),
            Err(RegistryError::Unparsable("foo bar".into()))
        );
        p.whitelist.clear();
        assert_eq!(
            p.validated().unwrap_err().to_string(),
            "invalid insecure registry entry: 10.0.0.0/8"
        );
        p.insecure = vec!["ok:1".into(), "no good".into()];
        assert_eq!(
            p.validated(),
            Err(RegistryError::Unparsable("no good".into()))
        );
    }

    #[test]
    fn ca_files_become_one_bundle_of_certificates() {
        let (a, b) = (ca_pem(), ca_pem());
        let mut p = policy(&[], &[]);
        p.ca_pems = vec![a.trim_end().to_owned(), String::new(), b.clone()];
        let stored = p.validated().unwrap();
        assert_eq!(stored.ca_pems.len(), 1);
        assert_eq!(stored.ca_certificates().len(), 2);
        // Non-certificate blocks and prose are skipped.
        let junk = crate::tls::pem::encode("CERTIFICATE", b"not der");
        p.ca_pems = vec![format!("prose\n{junk}{a}")];
        assert_eq!(p.ca_certificates().len(), 1);
        // No files: nothing stored.
        assert!(policy(&[], &[]).validated().unwrap().ca_pems.is_empty());
    }

    #[test]
    fn docker_info_lines_follow_vics_labels_and_order() {
        let pair = |a: &str, b: &str| [a.to_owned(), b.to_owned()];
        assert_eq!(
            policy(&[], &[]).info_status(),
            [pair(" Registry Whitelist Mode", WHITELIST_DISABLED)]
        );
        assert_eq!(
            policy(&["10.2.2.1/24", "reg"], &["reg", "HTTP://x:1"]).info_status(),
            [
                pair(" Insecure Registries", "reg,http://x:1"),
                pair(" Registry Whitelist Mode", "enabled"),
                pair(" Whitelisted Registries", "10.2.2.0/24,reg"),
            ]
        );
    }
}
