//! `ProcessParams` (vic.md §1.1 step 1): the offline checks of `vic-machine create`, in VIC's
//! order and with its messages, turning [`CreateOpts`] into a [`CreateConfig`]. Nothing here
//! talks to vSphere or writes to disk: certificates are generated in memory (step 9) and
//! written by create only after validation (VIC writes them here and leaves them behind when
//! create fails).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use super::opts::{CreateOpts, Shares, TargetOpts};
use super::{Failure, Ui};
use crate::engine::VolumeStore;
use crate::engine::registry_policy::RegistryPolicy;
use crate::firewall::{FirewallFlag, TrustLevel};
use crate::tls::{self, TlsMaterial, TlsRequest};

/// Characters `--name` may not contain (`cmd/vic-machine/common/utils.go:32`, vic.md §1.2).
const NAME_REJECTED: &str = "%&*$#@!\\/:?\"<>;'|";
/// Longest `--name`, in bytes.
const MAX_NAME_BYTES: usize = 31;
/// A GB of `--storage-quota`: VIC multiplies by `units.GiB` and stores bytes.
pub const QUOTA_GB_BYTES: u64 = 1 << 30;
/// The folder of a volume store given as a bare datastore (VIC's `StorageParentDir`).
pub const DEFAULT_VOLUME_STORE_PATH: &str = "VIC";
/// `--volume-store`'s accepted forms, as VIC's messages spell them.
const VS_DS_FORMAT: &str = "<datastore url w/ path>:label";
const VS_NFS_FORMAT: &str = "nfs://<host>/<url-path>?<mount option as query parameters>:<label>";

/// The vSphere target, credentials resolved.
#[derive(Clone, Debug)]
pub struct Target {
    /// The SDK URL without credentials (`https://vc:443/sdk`).
    pub sdk_url: String,
    /// Whether the scheme is https.
    pub https: bool,
    /// The datacenter named in the URL path, if any.
    pub datacenter: Option<String>,
    /// The `/`-containing path VIC refuses in the validator (kept to report it in order).
    pub deep_path: Option<String>,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// `--thumbprint`.
    pub thumbprint: Option<String>,
}

/// Resource allocation flags for one of CPU or memory (vic.md §5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Alloc {
    /// Limit; `None` = -1 (unlimited); a given 0 also becomes -1.
    pub limit: Option<i64>,
    /// Reservation (default 0).
    pub reservation: Option<i64>,
    /// Shares (default normal).
    pub shares: Option<Shares>,
}

impl Alloc {
    /// The limit as sent to vSphere: 0 and unset are -1.
    pub fn limit_value(&self) -> i64 {
        match self.limit {
            None | Some(0) => -1,
            Some(n) => n,
        }
    }
}

/// One `--container-network` with its keyed options (vic.md §1.4).
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerNetworkSpec {
    /// The vSphere port-group name.
    pub portgroup: String,
    /// The alias containers use.
    pub alias: String,
    /// `--cng`: gateway and prefix.
    pub gateway: Option<(IpAddr, u8)>,
    /// `--cnr`: first and last address.
    pub ip_range: Option<(IpAddr, IpAddr)>,
    /// `--cnd`.
    pub dns: Vec<IpAddr>,
    /// `--cnf` (None: unspecified, behaves as published).
    pub trust: Option<TrustLevel>,
}

/// Everything `create` needs once the flags are processed.
#[derive(Clone, Debug)]
pub struct CreateConfig {
    /// vSphere connection.
    pub target: Target,
    /// `--force`.
    pub force: bool,
    /// `--name`.
    pub name: String,
    /// `--compute-resource`.
    pub compute_resource: Option<String>,
    /// `--image-store` as (datastore, path); path empty means the VCH name.
    pub image_store: Option<(String, String)>,
    /// `--bridge-network` (defaults to the name).
    pub bridge_network: String,
    /// Bridge range.
    pub bridge_range: (IpAddr, u8),
    /// Bridge width.
    pub bridge_width: u8,
    /// Public network port group.
    pub public_network: String,
    /// Client network port group.
    pub client_network: String,
    /// Management network port group.
    pub management_network: String,
    /// `--client-network-ip`.
    pub client_ip: Option<(IpAddr, u8)>,
    /// `--dns-server`.
    pub dns: Vec<IpAddr>,
    /// Container networks.
    pub container_networks: Vec<ContainerNetworkSpec>,
    /// `--cnc` as given (validated against vSphere-free rules in the validator, as VIC does).
    pub name_convention: Option<String>,
    /// TLS material (generated or loaded).
    pub tls: TlsMaterial,
    /// Generated certificate files, written only once the target has validated the
    /// configuration (see [`tls::PendingFiles`]).
    pub tls_files: tls::PendingFiles,
    /// CPU pool flags (MHz).
    pub cpu: Alloc,
    /// Memory pool flags (MB).
    pub memory: Alloc,
    /// `--endpoint-cpu`.
    pub endpoint_cpu: i32,
    /// `--endpoint-memory`.
    pub endpoint_memory: i64,
    /// `--containers` (None or 0: unlimited).
    pub containers: Option<u32>,
    /// `--volume-store`s (a label given twice: the last wins, as in VIC's map). An empty
    /// datastore (`/path:label`) means the image store's datastore.
    pub volume_stores: Vec<VolumeStore>,
    /// `--storage-quota` in bytes (None or 0: unlimited); checked against the datastore's
    /// free space once the target is known ([`check_storage_quota`]).
    pub storage_quota_bytes: Option<u64>,
    /// `--registry-ca` file contents (one per file), `--insecure-registry` and
    /// `--whitelist-registry` as given; the validator checks them and merges the whitelist.
    pub registries: RegistryPolicy,
    /// `--debug`.
    pub debug: u8,
    /// `--timeout`.
    pub timeout: Duration,
    /// The create options as VIC records them (`vic_machine_create_options~`), secrets out.
    pub recorded_options: Vec<String>,
}

/// Resolves `--target`/`--user`/`--password` (vic.md §1.2): the credentials check, step 1.1.
/// `prompt` is asked for the password when none is given anywhere.
pub fn target(
    t: &TargetOpts,
    prompt: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<Target, Failure> {
    let raw = t
        .target
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Failure::new("--target argument must be specified"))?;
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("https".to_owned(), raw),
    };
    if scheme != "https" && scheme != "http" {
        return Err(Failure::new(format!(
            "Error parsing --target {raw:?}: the scheme must be https or http"
        )));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(Failure::new(format!(
            "Error parsing --target {:?}: the host is empty",
            redact(raw)
        )));
    }
    let (url_user, url_password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (Some(percent_decode(n)), Some(percent_decode(p))),
            None => (Some(percent_decode(u)), None),
        },
        None => (None, None),
    };
    // The path is the datacenter. A trailing `/sdk` (govc's GOVC_URL form) is taken as the
    // SDK path rather than a datacenter called "sdk": VIC would fail to find that datacenter,
    // which only punishes pasting GOVC_URL.
    let path = path.trim_matches('/');
    let path = if path == "sdk" { "" } else { path };
    let (datacenter, deep_path) = if path.is_empty() {
        (None, None)
    } else if path.contains('/') {
        (None, Some(path.to_owned()))
    } else {
        (Some(percent_decode(path)), None)
    };
    let user = t
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .or(url_user.filter(|u| !u.is_empty()))
        .ok_or_else(|| {
            Failure::new(
                "vSphere user must be specified, either with --user or as part of --target",
            )
        })?;
    let password = match t.password.clone().or(url_password) {
        Some(p) => p,
        None => prompt(&format!("vSphere password for {user}: "))
            .ok_or_else(|| Failure::new(format!("no password given for {user}")))?,
    };
    Ok(Target {
        sdk_url: format!("{scheme}://{host}/sdk"),
        https: scheme == "https",
        datacenter,
        deep_path,
        user,
        password,
        thumbprint: t.thumbprint.clone().filter(|s| !s.is_empty()),
    })
}

/// The name checks of step 1.2: characters first, then the length.
///
/// Two more than VIC's, because the name is also the default cert path `./<name>`: an empty
/// (or blank) name made VIC generate its CA and keys straight into the current directory, and
/// `.`/`..` would do the same to it or its parent. vic.md has no text for these.
pub fn check_name(name: &str) -> Result<(), Failure> {
    if name.trim().is_empty() {
        return Err(Failure::new(
            "--name must not be empty: it names the VCH, its resource pool, folder and certificate path",
        ));
    }
    if name == "." || name == ".." {
        return Err(Failure::new(format!(
            "--name {name:?} is not allowed: the default certificate path ./{name} would not be a directory of its own"
        )));
    }
    if let Some(c) = name.chars().find(|c| NAME_REJECTED.contains(*c)) {
        return Err(Failure::new(format!(
            "--name contains unsupported characters: unsupported character {:?} in {:?} Allowed characters are alphanumeric, space and symbols - _ ( )",
            c.to_string(),
            name
        )));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Failure::new(format!(
            "Display name {name} exceeds the permitted 31 characters limit. Please use a shorter -name parameter"
        )));
    }
    Ok(())
}

/// `--image-store` characters (step 1.10): as `--name`, but `/` and `:` are allowed.
pub fn check_image_store(value: &str) -> Result<(String, String), Failure> {
    if let Some(c) = value
        .chars()
        .find(|c| NAME_REJECTED.contains(*c) && *c != '/' && *c != ':')
    {
        return Err(Failure::new(format!(
            "--image-store contains unsupported characters: unsupported character {:?} in {:?} Allowed characters are alphanumeric, space and symbols - _ ( ) / :",
            c.to_string(),
            value
        )));
    }
    let rest = value.strip_prefix("ds://").unwrap_or(value);
    let (ds, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((ds.to_owned(), path.trim_matches('/').to_owned()))
}

/// Go's `url.getscheme`: the scheme before a `:`, None when the text has none, or Go's
/// error for a `:` first.
fn url_scheme(s: &str) -> Result<Option<&str>, &'static str> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err("missing protocol scheme"),
            ':' => return Ok(Some(&s[..i])),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// One `--volume-store` (step 1.11; VIC's `processVolumeStoreParam` and
/// `ProcessVolumeStores`, then the datastore split of its validator): the label is the text
/// after the last `:`; `ds://` is optional; a bare datastore gets VIC's `VIC` folder. nfs
/// targets are refused: the testbed emulates datastore volume stores only.
pub fn parse_volume_store(value: &str) -> Result<VolumeStore, Failure> {
    let format = || {
        Failure::new(format!(
            "volume store input must be in format {VS_DS_FORMAT} or {VS_NFS_FORMAT}"
        ))
    };
    let (raw, label) = value.rsplit_once(':').ok_or_else(format)?;
    if raw.is_empty() || label.is_empty() || label.chars().any(|c| NAME_REJECTED.contains(c)) {
        return Err(format());
    }
    let target = if raw.starts_with("ds://") {
        raw.replace("ds://", "")
    } else {
        raw.to_owned()
    };
    if target.chars().any(char::is_control) {
        return Err(Failure::new(format!(
            "parsed url for option --volume-store could not be parsed as a url, valid inputs are datastore/path:label or {VS_NFS_FORMAT}. See -h for usage examples."
        )));
    }
    let scheme = url_scheme(&target).map_err(|_| {
        Failure::new(format!(
            "parsed url for option --volume-store could not be parsed as a url, valid inputs are datastore/path:label or {VS_NFS_FORMAT}. See -h for usage examples."
        ))
    })?;
    let path = match scheme.map(str::to_ascii_lowercase).as_deref() {
        None => target.as_str(),
        Some("ds") => &target[3..],
        Some("nfs") => {
            return Err(Failure::new(format!(
                "--volume-store {value}: nfs volume stores are not emulated by the testbed; use a datastore target (datastore/path:label)"
            )));
        }
        Some(_) => {
            return Err(Failure::new(
                "Please specify a datastore or nfs target. See -vs usage for examples.",
            ));
        }
    };
    if let Some(c) = raw
        .chars()
        .find(|c| NAME_REJECTED.contains(*c) && *c != '/' && *c != ':')
    {
        return Err(Failure::new(format!(
            "--volume-store contains unsupported characters for datastore target: unsupported character {:?} in {raw:?} Allowed characters are alphanumeric, space and symbols - _ ( ) / : ,",
            c.to_string()
        )));
    }
    // VIC's validator splits at the first `/`; a leading one leaves the datastore empty,
    // which means the default (here: the image store's) datastore.
    let (datastore, folder) = path.split_once('/').unwrap_or((path, ""));
    let folder = folder.trim_matches('/');
    Ok(VolumeStore {
        label: label.to_owned(),
        datastore: datastore.to_owned(),
        path: if folder.is_empty() {
            DEFAULT_VOLUME_STORE_PATH.to_owned()
        } else {
            folder.to_owned()
        },
    })
}

/// Every `--volume-store`, a repeated label replacing the earlier one.
pub fn volume_stores(values: &[String]) -> Result<Vec<VolumeStore>, Failure> {
    let mut out: Vec<VolumeStore> = Vec::new();
    for v in values {
        let store = parse_volume_store(v)?;
        out.retain(|s| s.label != store.label);
        out.push(store);
    }
    Ok(out)
}

/// Go's `net.ParseCIDR`: `ip/prefix`, with its error text.
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    let bad = || format!("invalid CIDR address: {text}");
    let (ip, prefix) = text.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| *p <= max && !prefix.starts_with('+'))
        .ok_or_else(bad)?;
    Ok((ip, prefix))
}

/// The network address of `ip/prefix`.
pub fn network_of(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// Whether `ip` is inside `net/prefix`.
pub fn in_subnet(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    ip.is_ipv4() == net.is_ipv4() && network_of(ip, prefix) == network_of(net, prefix)
}

/// Splits `PG:value` at the first `:`; a second `:` is VIC's `Invalid value for parameter X`.
fn keyed(value: &str) -> Result<(&str, &str), Failure> {
    let (pg, v) = value.split_once(':').unwrap_or((value, ""));
    if v.contains(':') {
        return Err(Failure::new(format!("Invalid value for parameter {value}")));
    }
    Ok((pg, v))
}

/// Parses an IP range `cidr`, `a-b` or `a-N` (N: last octet) into (first, last).
fn parse_range(text: &str) -> Option<(IpAddr, IpAddr)> {
    if let Ok((ip, prefix)) = parse_cidr(text) {
        let first = network_of(ip, prefix);
        let last = match first {
            IpAddr::V4(v4) => {
                let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) | host))
            }
            IpAddr::V6(v6) => {
                let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(v6) | host).into())
            }
        };
        return Some((first, last));
    }
    let (a, b) = text.split_once('-')?;
    let first: IpAddr = a.trim().parse().ok()?;
    let last = match b.trim().parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match first {
            IpAddr::V4(v4) => {
                let n: u8 = b.trim().parse().ok()?;
                let o = v4.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], n))
            }
            IpAddr::V6(_) => return None,
        },
    };
    (first.is_ipv4() == last.is_ipv4() && first <= last).then_some((first, last))
}

/// Step 1.5: the container-network flags (vic.md §1.4).
pub fn container_networks(
    o: &CreateOpts,
    ui: &mut Ui,
) -> Result<Vec<ContainerNetworkSpec>, Failure> {
    let mut nets: Vec<ContainerNetworkSpec> = Vec::new();
    for value in &o.container_network {
        let (pg, alias) = keyed(value)?;
        if alias.is_empty() && pg.contains(' ') {
            return Err(Failure::new(format!(
                "A network alias must be supplied when network name {pg:?} contains spaces."
            )));
        }
        if alias.contains(' ') {
            return Err(Failure::new(format!(
                "The network alias supplied in {value:?} cannot contain spaces."
            )));
        }
        let alias = if alias.is_empty() { pg } else { alias };
        nets.push(ContainerNetworkSpec {
            portgroup: pg.to_owned(),
            alias: alias.to_owned(),
            gateway: None,
            ip_range: None,
            dns: Vec::new(),
            trust: None,
        });
    }
    let parse_error = |value: &str, why: String| {
        Failure::new(format!(
            "Error parsing container network parameter {value}: {why}"
        ))
    };
    let mut orphans: Vec<(&str, &str, &str)> = Vec::new();
    let find = |nets: &mut Vec<ContainerNetworkSpec>, pg: &str| {
        nets.iter().position(|n| n.portgroup == pg)
    };
    for value in &o.container_network_gateway {
        let (pg, gw) = keyed(value)?;
        let gw = parse_cidr(gw).map_err(|e| parse_error(value, e))?;
        match find(&mut nets, pg) {
            Some(i) => nets[i].gateway = Some(gw),
            None => orphans.push(("gateway", "--container-network-gateway", pg)),
        }
    }
    for value in &o.container_network_ip_range {
        let (pg, range) = keyed(value)?;
        let range = parse_range(range)
            .ok_or_else(|| parse_error(value, format!("parse error: {range}")))?;
        match find(&mut nets, pg) {
            Some(i) => nets[i].ip_range = Some(range),
            None => orphans.push(("ip range", "--container-network-ip-range", pg)),
        }
    }
    for value in &o.container_network_dns {
        let (pg, dns) = keyed(value)?;
        if dns.is_empty() {
            return Err(Failure::new(format!(
                "DNS IP not specified for container network {pg}"
            )));
        }
        let ip: IpAddr = dns
            .parse()
            .map_err(|_| parse_error(value, format!("invalid IP address: {dns}")))?;
        match find(&mut nets, pg) {
            Some(i) => nets[i].dns.push(ip),
            None => orphans.push(("dns", "--container-network-dns", pg)),
        }
    }
    for value in &o.container_network_firewall {
        let flag = FirewallFlag::parse(value).map_err(|e| Failure::new(e.to_string()))?;
        match find(&mut nets, &flag.port_group) {
            Some(i) => nets[i].trust = flag.trust,
            None => orphans.push(("firewall", "--container-network-firewall", "")),
        }
    }
    if !orphans.is_empty() {
        for (kind, flag, _) in &orphans {
            ui.error(format!(
                "The following container network {kind} is set, but CONTAINER-NETWORK cannot be found. Please check the --container-network and {flag} settings"
            ));
        }
        return Err(Failure::new(
            "Inconsistent container network configuration.",
        ));
    }
    Ok(nets)
}

/// Step 1.6: bridge range and width.
fn bridge(o: &CreateOpts) -> Result<((IpAddr, u8), u8), Failure> {
    let range = parse_cidr(&o.bridge_network_range).map_err(|e| {
        Failure::new(format!(
            "Error parsing bridge network ip range: {e}. Range must be in CIDR format, e.g., 172.16.0.0/12"
        ))
    })?;
    let width: u8 = o
        .bridge_network_width
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|w| *w <= 30)
        .ok_or_else(|| {
            Failure::new(format!(
                "Error parsing bridge network width: invalid value {:?}. Width must be an integer less than 31.",
                o.bridge_network_width
            ))
        })?;
    if width < range.1 {
        return Err(Failure::new(format!(
            "Error specifying bridge network width: {width}. Width must be larger than prefix of bridge network ip range."
        )));
    }
    Ok(((network_of(range.0, range.1), range.1), width))
}

/// Runs `ProcessParams` in VIC's order. `now` dates generated certificates; `prompt` reads a
/// password when none is given.
pub fn process(
    o: &CreateOpts,
    ui: &mut Ui,
    now: OffsetDateTime,
    prompt: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<CreateConfig, Failure> {
    // 1. Credentials.
    let target = target(&o.target, prompt)?;
    // 2. Name: characters, then length.
    check_name(&o.name)?;
    // 3. The bridge network defaults to the name.
    let bridge_network = o
        .bridge_network
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| o.name.clone());
    // 4. Operations credentials.
    if o.ops_password.is_some() && o.ops_user.is_none() {
        return Err(Failure::new(
            "Password for operations user specified without operations username",
        ));
    }
    if o.ops_user.is_none() {
        ui.warn("Using administrative user for VCH operation - use --ops-user to improve security (see -x for advanced help)");
    }
    // 5. Container networks.
    let container_networks = container_networks(o, ui)?;
    // 6. Bridge range and width.
    let (bridge_range, bridge_width) = bridge(o)?;
    // 7. Client, public and management addresses.
    let client_ip = match o.client_network_ip.as_deref() {
        Some(text) => Some(parse_cidr(text).map_err(|e| {
            Failure::new(format!(
                "Failed to parse the provided client network IP address {text}: {e}"
            ))
        })?),
        None => None,
    };
    let public_network = o.public_network.clone();
    let client_network = o
        .client_network
        .clone()
        .unwrap_or_else(|| public_network.clone());
    let management_network = o
        .management_network
        .clone()
        .unwrap_or_else(|| client_network.clone());
    // VIC refuses a static IP on a port group shared with the public network unless it comes
    // through the public options. The testbed has no public-network-ip (every role shares the
    // VCH's one loopback address), so --client-network-ip sets it whichever port group carries
    // it.
    // 8. DNS servers.
    let mut dns = Vec::new();
    for d in &o.dns_server {
        let ip: IpAddr = d
            .parse()
            .map_err(|_| Failure::new(format!("Invalid DNS server specified: {d}")))?;
        dns.push(ip);
    }
    if dns.len() > 3 {
        ui.warn(format!(
            "{} DNS servers specified, but only 3 are allowed. Ignoring the rest",
            dns.len()
        ));
        dns.truncate(3);
    }
    // 9. Certificates: decided and generated in memory; the files are written by create
    // after validation, not here as VIC does.
    if o.no_tls {
        let given = [
            ("--organization", !o.organization.is_empty()),
            ("--certificate-key-size", o.certificate_key_size.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
            return Err(Failure::new(
                tls::TlsError::FlagConflict {
                    flag,
                    with: "--no-tls",
                    why: "no certificate is generated without TLS",
                }
                .to_string(),
            ));
        }
    }
    let mut req = TlsRequest::new(o.name.clone(), now);
    req.cname = o.tls_cname.clone();
    req.cert_path = o.tls_cert_path.clone();
    req.server_cert = o.tls_server_cert.clone();
    req.server_key = o.tls_server_key.clone();
    req.ca = o.tls_ca.clone();
    req.no_tls = o.no_tls;
    req.no_tlsverify = o.no_tlsverify;
    req.key_size_bits = o.certificate_key_size.unwrap_or(tls::DEFAULT_KEY_SIZE_BITS);
    if !o.organization.is_empty() {
        req.organization = o.organization.clone();
    }
    req.client_network_ip = client_ip.map(|(ip, _)| ip);
    req.force = o.force;
    let mut log = Vec::new();
    let planned = tls::plan_logged(&req, &mut log);
    for line in &log {
        ui.tls(line);
    }
    let (tls, tls_files) = planned.map_err(|e| Failure::new(e.to_string()))?;
    // 10. Image store characters.
    let image_store = match o.image_store.as_deref().filter(|s| !s.is_empty()) {
        Some(v) => Some(check_image_store(v)?),
        None => None,
    };
    // 11. Volume stores.
    let volume_stores = volume_stores(&o.volume_store)?;
    // 12. Registries: the CA files are read here; their contents and the entries are checked
    // by the validator, as VIC does.
    let registries = registries(o, ui)?;
    Ok(CreateConfig {
        target,
        force: o.force,
        name: o.name.clone(),
        compute_resource: o.compute_resource.clone().filter(|s| !s.is_empty()),
        image_store,
        bridge_network,
        bridge_range,
        bridge_width,
        public_network,
        client_network,
        management_network,
        client_ip,
        dns,
        container_networks,
        name_convention: o.container_name_convention.clone(),
        tls,
        tls_files,
        cpu: Alloc {
            limit: o.cpu,
            reservation: o.cpu_reservation,
            shares: o.cpu_shares,
        },
        memory: Alloc {
            limit: o.memory,
            reservation: o.memory_reservation,
            shares: o.memory_shares,
        },
        endpoint_cpu: o.endpoint_cpu,
        endpoint_memory: o.endpoint_memory,
        containers: o.containers.filter(|n| *n > 0),
        volume_stores,
        storage_quota_bytes: storage_quota_bytes(o.storage_quota),
        registries,
        debug: o.debug,
        timeout: o.target.timeout,
        recorded_options: recorded_options(o),
    })
}

/// Step 12 (VIC's `ProcessRegistries`): every `--registry-ca` file read, in order.
fn registries(o: &CreateOpts, ui: &mut Ui) -> Result<RegistryPolicy, Failure> {
    let mut ca_pems = Vec::new();
    for path in &o.registry_ca {
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::new(format!(
                "Unable to load CA certificates for registry logins: Failed to load authority from file {}: {e}",
                path.display()
            ))
        })?;
        // Not UTF-8 is not PEM: the validator then finds no certificate in it.
        ca_pems.push(String::from_utf8_lossy(&bytes).into_owned());
        ui.info(format!("Loaded registry CA from {}", path.display()));
    }
    Ok(RegistryPolicy {
        ca_pems,
        insecure: o.insecure_registry.clone(),
        whitelist: o.whitelist_registry.clone(),
    })
}

/// `--storage-quota` GB in bytes, as VIC stores it; 0 means unlimited (None).
pub fn storage_quota_bytes(gb: Option<u32>) -> Option<u64> {
    gb.filter(|g| *g > 0).map(|g| u64::from(g) * QUOTA_GB_BYTES)
}

/// VIC's `ValidateStorageQuota` at create (vic.md §1.1 step 6, §1.2): the quota may not be
/// larger than the image datastore's free space (`summary.freeSpace`; a new VCH uses none
/// of it yet).
pub fn check_storage_quota(quota_bytes: u64, datastore_free_bytes: i64) -> Result<(), Failure> {
    let free = u64::try_from(datastore_free_bytes).unwrap_or(0);
    if quota_bytes > free {
        return Err(Failure::new("Storage quota exceeds datastore free space"));
    }
    Ok(())
}

/// The create options as VIC logs and records them: user, password and TLS file paths are
/// left out (vic.md §1.1 step 2).
fn recorded_options(o: &CreateOpts) -> Vec<String> {
    let mut out = vec![format!("--name={}", o.name)];
    let mut push = |flag: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(format!("--{flag}={v}"));
        }
    };
    push("target", o.target.target.as_deref().map(redact));
    push("compute-resource", o.compute_resource.clone());
    push("image-store", o.image_store.clone());
    push("bridge-network", o.bridge_network.clone());
    push("public-network", Some(o.public_network.clone()));
    push("client-network", o.client_network.clone());
    push("client-network-ip", o.client_network_ip.clone());
    push("cpu", o.cpu.map(|v| v.to_string()));
    push("memory", o.memory.map(|v| v.to_string()));
    push("storage-quota", o.storage_quota.map(|v| v.to_string()));
    push("containers", o.containers.map(|v| v.to_string()));
    push("tls-cname", o.tls_cname.clone());
    for cn in &o.container_network {
        out.push(format!("--container-network={cn}"));
    }
    for vs in &o.volume_store {
        out.push(format!("--volume-store={vs}"));
    }
    // `--registry-ca` is a file path: left out, as VIC leaves it out.
    for r in &o.insecure_registry {
        out.push(format!("--insecure-registry={r}"));
    }
    for w in &o.whitelist_registry {
        out.push(format!("--whitelist-registry={w}"));
    }
    if o.no_tls {
        out.push("--no-tls".into());
    }
    if o.no_tlsverify {
        out.push("--no-tlsverify".into());
    }
    out
}

/// A target URL with the password removed.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((u, h)) => format!(
            "{scheme}{}@{h}{}",
            u.split(':').next().unwrap_or(""),
            &rest[end..]
        ),
        None => url.to_owned(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a default cert path would be (`./<name>`), for messages.
pub fn default_cert_path(name: &str) -> PathBuf {
    PathBuf::from(format!("./{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn opts(args: &[&str]) -> CreateOpts {
        let argv = [
            "vic-machine",
            "create",
            "--target",
            "https://vc",
            "-u",
            "u",
            "-p",
            "p",
        ];
        let cli = super::super::Cli::try_parse_from(argv.iter().chain(args.iter()))
            .unwrap_or_else(|e| panic!("{e}"));
        match cli.machine.command {
            super::super::MachineCommand::Create(o) => *o,
            other => panic!("{other:?}"),
        }
    }

    fn process_ok(args: &[&str]) -> CreateConfig {
        let mut args = args.to_vec();
        args.push("--no-tls");
        let o = opts(&args);
        let mut ui = Ui::capture();
        process(&o, &mut ui, OffsetDateTime::UNIX_EPOCH, &mut |_| None)
            .unwrap_or_else(|e| panic!("{e}: {:?}", ui.lines()))
    }

    #[test]
    fn limits_are_carried_and_zero_means_unlimited() {
        let c = process_ok(&["--containers", "3", "--storage-quota", "10"]);
        assert_eq!(c.containers, Some(3));
        assert_eq!(c.storage_quota_bytes, Some(10 * 1024 * 1024 * 1024));
        assert!(c.recorded_options.contains(&"--containers=3".to_owned()));
        assert!(
            c.recorded_options
                .contains(&"--storage-quota=10".to_owned())
        );
        let c = process_ok(&["--containers", "0", "--sq", "0"]);
        assert_eq!((c.containers, c.storage_quota_bytes), (None, None));
        let c = process_ok(&[]);
        assert_eq!((c.containers, c.storage_quota_bytes), (None, None));
    }

    #[test]
    fn the_quota_must_fit_the_datastore_free_space() {
        let gb = QUOTA_GB_BYTES;
        assert_eq!(check_storage_quota(10 * gb, 10 * gb as i64), Ok(()));
        assert_eq!(check_storage_quota(10 * gb, 11 * gb as i64), Ok(()));
        for free in [10 * gb as i64 - 1, 0, -1] {
            assert_eq!(
                check_storage_quota(10 * gb, free).unwrap_err().message,
                "Storage quota exceeds datastore free space"
            );
        }
    }

    #[test]
    fn volume_stores_parse_as_vic_does() {
        let vs = |v: &str| parse_volume_store(v).map(|s| (s.label, s.datastore, s.path));
        let ok = |l: &str, d: &str, p: &str| Ok((l.to_owned(), d.to_owned(), p.to_owned()));
        assert_eq!(
            vs("LocalDS_0/volumes:default"),
            ok("default", "LocalDS_0", "volumes")
        );
        assert_eq!(vs("LocalDS_0:fast"), ok("fast", "LocalDS_0", "VIC"));
        assert_eq!(vs("ds://LocalDS_0/a/b/:x"), ok("x", "LocalDS_0", "a/b"));
        assert_eq!(vs("ds://my ds:lbl"), ok("lbl", "my ds", "VIC"));
        assert_eq!(vs("/vols:default"), ok("default", "", "vols"));
        let format = "volume store input must be in format <datastore url w/ path>:label or nfs://<host>/<url-path>?<mount option as query parameters>:<label>";
        for bad in ["LocalDS_0", "LocalDS_0:", ":default", "ds://LocalDS_0/path"] {
            assert_eq!(vs(bad).unwrap_err().message, format, "{bad}");
        }
        assert_eq!(
            vs("LocalDS_0/v?x=1:default").unwrap_err().message,
            "--volume-store contains unsupported characters for datastore target: unsupported character \"?\" in \"LocalDS_0/v?x=1\" Allowed characters are alphanumeric, space and symbols - _ ( ) / : ,"
        );
        assert!(
            vs("nfs://host/share?uid=1:nfsvol")
                .unwrap_err()
                .message
                .contains("nfs volume stores are not emulated")
        );
        assert_eq!(
            vs("http://x/y:web").unwrap_err().message,
            "Please specify a datastore or nfs target. See -vs usage for examples."
        );
        let c = process_ok(&[
            "--volume-store",
            "LocalDS_0/a:default",
            "--vs",
            "LocalDS_0/b:default",
        ]);
        assert_eq!(c.volume_stores.len(), 1, "the last label wins");
        assert_eq!(c.volume_stores[0].path, "b");
        assert!(
            c.recorded_options
                .contains(&"--volume-store=LocalDS_0/a:default".to_owned())
        );
    }

    #[test]
    fn registry_cas_are_read_and_the_entries_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = tmp.path().join("reg-ca.pem");
        std::fs::write(&ca, "PEM TEXT").unwrap();
        let ca_arg = ca.to_str().unwrap();
        let c = process_ok(&["--rc", ca_arg, "--dir", "reg:5000", "--wr", "*.corp.local"]);
        assert_eq!(c.registries.ca_pems, ["PEM TEXT"]);
        assert_eq!(c.registries.insecure, ["reg:5000"]);
        assert_eq!(c.registries.whitelist, ["*.corp.local"]);
        let recorded = &c.recorded_options;
        assert!(recorded.contains(&"--insecure-registry=reg:5000".to_owned()));
        assert!(recorded.contains(&"--whitelist-registry=*.corp.local".to_owned()));
        assert!(!recorded.iter().any(|o| o.contains("registry-ca")));

        let missing = tmp.path().join("missing.pem");
        let o = opts(&["--no-tls", "--registry-ca", missing.to_str().unwrap()]);
        let mut ui = Ui::capture();
        let e = process(&o, &mut ui, OffsetDateTime::UNIX_EPOCH, &mut |_| None).unwrap_err();
        let want = format!(
            "Unable to load CA certificates for registry logins: Failed to load authority from file {}: ",
            missing.display()
        );
        assert!(e.message.starts_with(&want), "{}", e.message);
    }

    #[test]
    fn negative_limits_are_flag_errors() {
        for flag in ["--containers", "--storage-quota"] {
            let argv = ["vic-machine", "create", flag, "-1"];
            assert!(super::super::Cli::try_parse_from(argv).is_err(), "{flag}");
        }
    }
}
