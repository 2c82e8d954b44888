//! VIC's guestinfo/ExtraConfig key encoding (vic.md §6.4) and the keys VIC uses.
//!
//! VIC stores a VCH's and a containerVM's whole configuration as flat `key = value` strings in
//! the VM's ExtraConfig. The key says who may see it (vic.md §6.4):
//!
//! - **read-only** for the guest: `guestinfo.vice.` + `/`-separated path,
//!   e.g. `guestinfo.vice./init/common/id` ([`ro_key`]);
//! - **read-write** (the guest writes back): `guestinfo.vice.` + `.` + `.`-separated path,
//!   e.g. `guestinfo.vice..init.sessions|docker-personality.started` ([`rw_key`]);
//! - **hidden** from the guest: no prefix, e.g. `init/common/name` ([`hidden_key`]).
//!
//! Maps and slices flatten with `|`: a map's own key holds its `|`-joined keys and each entry is
//! `<path>|<key>/<field>`; a slice's own key holds its last index, string slices add `<path>~`
//! with the values `|`-joined, and struct slices use `<path>|<i>/...`. Values are decimal
//! numbers, `true`/`false`, base64 for bytes and (16-byte) IPs, and `Type:Value` morefs.
//!
//! [`Keys`] is both the encoder (a builder) and the decoder (typed getters) over such a map.
//! [`vch`] and [`container`] name the keys of vic.md §6.4's tables.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

pub use container::container_started_key;
pub use vch::{CLIENT_ASSIGNED_IP, session_started_key};

/// The prefix of every guest-visible VIC key.
pub const PREFIX: &str = "guestinfo.vice.";
/// Suffix of keys whose value is encrypted (vic.md §6.4 `@secret`).
pub const SECRET_SUFFIX: &str = "@secret";
/// Suffix of keys dropped on power-off (vic.md §6.4 `@non-persistent`, used for execs).
pub const NON_PERSISTENT_SUFFIX: &str = "@non-persistent";
/// Where the 32-byte secret key lives, base64 (vic.md §6.4, §9 item 15).
pub const OVF_ENV_KEY: &str = "guestinfo.ovfEnv";
/// The value of a `started` key that means success; anything else is the error text
/// (vic.md §6.1 step 6, §9 items 16–17).
pub const STARTED_OK: &str = "true";
/// Length of the nonce that prefixes a sealed `@secret` value.
pub const SECRET_NONCE_LEN: usize = 24;

/// Errors decoding guestinfo values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestinfoError {
    /// A value is not valid standard base64.
    #[error("invalid base64 value {0:?}")]
    Base64(String),
    /// Decoded IP bytes are neither 4 nor 16 long.
    #[error("invalid IP encoding: {0} bytes")]
    IpLength(usize),
    /// A value is not a decimal number.
    #[error("invalid number {0:?}")]
    Number(String),
    /// A value is not a boolean.
    #[error("invalid boolean {0:?}")]
    Bool(String),
    /// A moref is not `Type:Value`.
    #[error("invalid managed object reference {0:?}")]
    MoRef(String),
    /// A sealed secret is shorter than its nonce.
    #[error("sealed secret too short: {0} bytes")]
    SecretLength(usize),
    /// A string slice's `~` value disagrees with its last-index key.
    #[error("slice {key} holds {found} values but its last index says {expected}")]
    SliceLength {
        /// The slice key (without `~`).
        key: String,
        /// Values announced by the last index.
        expected: usize,
        /// Values in the `~` key.
        found: usize,
    },
}

/// Who can see a key (vic.md §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `guestinfo.vice./a/b`: the guest reads it.
    ReadOnly,
    /// `guestinfo.vice..a.b`: the guest writes it back.
    ReadWrite,
    /// `a/b`: invisible to the guest.
    Hidden,
}

/// The read-only key for `path` (`/`-separated, leading `/` optional).
pub fn ro_key(path: &str) -> String {
    format!("{PREFIX}/{}", path.trim_start_matches('/'))
}

/// The read-write key for `path` (`.`-separated, as VIC writes it: `init.networks|client.assigned.IP`).
pub fn rw_key(path: &str) -> String {
    format!("{PREFIX}.{}", path.trim_start_matches('.'))
}

/// The hidden key for `path`: the path itself, without prefix.
pub fn hidden_key(path: &str) -> String {
    path.trim_start_matches('/').to_owned()
}

/// The key for `path` in `scope`.
pub fn key(scope: Scope, path: &str) -> String {
    match scope {
        Scope::ReadOnly => ro_key(path),
        Scope::ReadWrite => rw_key(path),
        Scope::Hidden => hidden_key(path),
    }
}

/// `<path>|<entry>`: a map entry or a struct-slice element (vic.md §6.4).
pub fn entry(path: &str, entry: impl fmt::Display) -> String {
    format!("{path}|{entry}")
}

/// What a raw ExtraConfig key says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo<'a> {
    /// Visibility.
    pub scope: Scope,
    /// The path after the prefix (no leading separator), without suffixes.
    pub path: &'a str,
    /// `@secret`.
    pub secret: bool,
    /// `@non-persistent`.
    pub non_persistent: bool,
}

/// Classifies a raw key. Other `guestinfo.` keys (such as [`OVF_ENV_KEY`]) are not VIC-encoded
/// and give `None`; keys without the `guestinfo.` prefix are taken as hidden VIC keys.
pub fn parse_key(raw: &str) -> Option<KeyInfo<'_>> {
    let (scope, mut path) = if let Some(rest) = raw.strip_prefix(PREFIX) {
        if let Some(p) = rest.strip_prefix('.') {
            (Scope::ReadWrite, p)
        } else {
            (Scope::ReadOnly, rest.strip_prefix('/')?)
        }
    } else if raw.starts_with("guestinfo.") {
        return None;
    } else {
        (Scope::Hidden, raw)
    };
    let secret = path.ends_with(SECRET_SUFFIX);
    path = path.strip_suffix(SECRET_SUFFIX).unwrap_or(path);
    let non_persistent = path.ends_with(NON_PERSISTENT_SUFFIX);
    path = path.strip_suffix(NON_PERSISTENT_SUFFIX).unwrap_or(path);
    Some(KeyInfo {
        scope,
        path,
        secret,
        non_persistent,
    })
}

/// Encodes an IP the way VIC does: the 16-byte form, base64 (`10.10.10.1` →
/// `AAAAAAAAAAAAAP//CgoKAQ==`, vic.md §6.4).
pub fn encode_ip(ip: IpAddr) -> String {
    let v6 = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    B64.encode(v6.octets())
}

/// Decodes [`encode_ip`]'s output. IPv4-mapped addresses come back as IPv4, as Go's `net.IP`
/// treats them; 4-byte encodings are accepted too.
pub fn decode_ip(value: &str) -> Result<IpAddr, GuestinfoError> {
    let bytes = decode_bytes(value)?;
    if let Ok(b) = <[u8; 16]>::try_from(bytes.as_slice()) {
        return Ok(IpAddr::V6(Ipv6Addr::from(b)).to_canonical());
    }
    if let Ok(b) = <[u8; 4]>::try_from(bytes.as_slice()) {
        return Ok(IpAddr::V4(Ipv4Addr::from(b)));
    }
    Err(GuestinfoError::IpLength(bytes.len()))
}

/// Standard base64 with padding, as Go's `base64.StdEncoding`.
pub fn encode_bytes(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Inverse of [`encode_bytes`].
pub fn decode_bytes(value: &str) -> Result<Vec<u8>, GuestinfoError> {
    B64.decode(value)
        .map_err(|_| GuestinfoError::Base64(value.to_owned()))
}

/// An IP mask (`net.IPMask`) of `prefix` bits, base64: 4 bytes for IPv4, 16 for IPv6.
pub fn encode_mask(prefix: u8, ipv4: bool) -> String {
    let len = if ipv4 { 4 } else { 16 };
    let bits = u32::from(prefix).min(len * 8);
    let mask: Vec<u8> = (0..len)
        .map(|i| {
            let on = bits.saturating_sub(i * 8).min(8);
            // `on` is at most 8, so the shifted value fits a byte.
            u8::try_from((0xff_u32 << (8 - on)) & 0xff).unwrap_or(0)
        })
        .collect();
    B64.encode(mask)
}

/// Combines a nonce and a NaCl secretbox into VIC's `@secret` value:
/// `base64(nonce(24) || box)` (vic.md §6.4). The cipher itself is the caller's.
pub fn encode_secret(nonce: &[u8; SECRET_NONCE_LEN], sealed: &[u8]) -> String {
    let mut all = nonce.to_vec();
    all.extend_from_slice(sealed);
    B64.encode(all)
}

/// An `@secret` value taken apart: the nonce and the NaCl secretbox sealed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// The 24-byte nonce.
    pub nonce: [u8; SECRET_NONCE_LEN],
    /// The sealed box (ciphertext and tag).
    pub sealed: Vec<u8>,
}

/// Splits an `@secret` value into its nonce and sealed box.
pub fn decode_secret(value: &str) -> Result<SealedSecret, GuestinfoError> {
    let bytes = decode_bytes(value)?;
    if bytes.len() < SECRET_NONCE_LEN {
        return Err(GuestinfoError::SecretLength(bytes.len()));
    }
    let (nonce, sealed) = bytes.split_at(SECRET_NONCE_LEN);
    let nonce = <[u8; SECRET_NONCE_LEN]>::try_from(nonce)
        .map_err(|_| GuestinfoError::SecretLength(bytes.len()))?;
    Ok(SealedSecret {
        nonce,
        sealed: sealed.to_vec(),
    })
}

/// Parses a boolean like Go's `strconv.ParseBool`.
pub fn decode_bool(value: &str) -> Result<bool, GuestinfoError> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(GuestinfoError::Bool(value.to_owned())),
    }
}

/// A vSphere managed object reference, encoded `Type:Value` (e.g. `VirtualMachine:vm-42`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MoRef {
    /// Type, e.g. `VirtualMachine`.
    pub kind: String,
    /// Value, e.g. `vm-42`.
    pub value: String,
}

impl MoRef {
    /// A moref of `kind` and `value`.
    pub fn new(kind: &str, value: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            value: value.to_owned(),
        }
    }
}

impl fmt::Display for MoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

impl FromStr for MoRef {
    type Err = GuestinfoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((kind, value)) if !kind.is_empty() && !value.is_empty() => {
                Ok(Self::new(kind, value))
            }
            _ => Err(GuestinfoError::MoRef(s.to_owned())),
        }
    }
}

/// A value to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string, verbatim.
    Str(String),
    /// `true`/`false`.
    Bool(bool),
    /// A signed decimal.
    Int(i64),
    /// An unsigned decimal.
    Uint(u64),
    /// Bytes, base64.
    Bytes(Vec<u8>),
    /// An IP, 16-byte base64.
    Ip(IpAddr),
    /// A moref, `Type:Value`.
    MoRef(MoRef),
}

impl Value {
    /// The encoded string.
    pub fn encode(&self) -> String {
        match self {
            Self::Str(s) => s.clone(),
            Self::Bool(b) => b.to_string(),
            Self::Int(n) => n.to_string(),
            Self::Uint(n) => n.to_string(),
            Self::Bytes(b) => encode_bytes(b),
            Self::Ip(ip) => encode_ip(*ip),
            Self::MoRef(m) => m.to_string(),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident $(as $c:ty)?),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Self {
                Value::$v(x $(as $c)?.into())
            }
        }
    )*};
}

value_from! {
    &str => Str, String => Str, bool => Bool, i64 => Int, i32 => Int, u64 => Uint, u32 => Uint,
    u16 => Uint, u8 => Uint, IpAddr => Ip, Ipv4Addr => Ip, Ipv6Addr => Ip, MoRef => MoRef,
    Vec<u8> => Bytes,
}

/// A set of encoded ExtraConfig entries: build them, or load and decode them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    map: BTreeMap<String, String>,
}

impl Keys {
    /// No entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads raw entries (e.g. a VM's `config.extraConfig`). Later duplicates win.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Sets a raw key (already encoded) to an encoded value.
    pub fn put(mut self, raw_key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(raw_key, value);
        self
    }

    /// In-place [`Keys::put`].
    pub fn insert(&mut self, raw_key: impl Into<String>, value: impl Into<Value>) {
        self.map.insert(raw_key.into(), value.into().encode());
    }

    /// A read-only field at `path` (`init/common/id`).
    pub fn ro(self, path: &str, value: impl Into<Value>) -> Self {
        self.put(ro_key(path), value)
    }

    /// A read-write field at `path` (`init.networks|client.assigned.IP`).
    pub fn rw(self, path: &str, value: impl Into<Value>) -> Self {
        self.put(rw_key(path), value)
    }

    /// A hidden field at `path` (`init/common/name`).
    pub fn hidden(self, path: &str, value: impl Into<Value>) -> Self {
        self.put(hidden_key(path), value)
    }

    /// A read-only `@secret` field: `value` is the already-sealed box for `nonce`
    /// (NaCl secretbox under the key in [`OVF_ENV_KEY`]; the cipher is the caller's).
    pub fn secret(self, path: &str, nonce: &[u8; SECRET_NONCE_LEN], sealed: &[u8]) -> Self {
        self.put(
            format!("{}{SECRET_SUFFIX}", ro_key(path)),
            encode_secret(nonce, sealed),
        )
    }

    /// A read-only `@non-persistent` field (dropped on power-off).
    pub fn non_persistent(self, path: &str, value: impl Into<Value>) -> Self {
        self.put(format!("{}{NON_PERSISTENT_SUFFIX}", ro_key(path)), value)
    }

    /// A map's own key: its keys `|`-joined, in the order given. Entries go under
    /// [`entry`]`(path, key)`.
    pub fn map_keys(self, raw_key: &str, keys: &[&str]) -> Self {
        self.put(raw_key, keys.join("|"))
    }

    /// A struct slice's own key: its last index (`len - 1`). Elements go under
    /// [`entry`]`(path, i)`.
    pub fn slice_len(self, raw_key: &str, len: usize) -> Self {
        let last = i64::try_from(len).map_or(i64::MAX, |n| n - 1);
        self.put(raw_key, last)
    }

    /// A string slice: `<key>` holds the last index and `<key>~` the values `|`-joined.
    /// `raw_key` may be given with or without the `~`. VIC escapes nothing, so a value that
    /// itself contains `|` does not survive the trip (the last index then disagrees and
    /// [`Keys::get_strings`] reports it).
    pub fn strings(self, raw_key: &str, values: &[&str]) -> Self {
        let base = raw_key.strip_suffix('~').unwrap_or(raw_key);
        self.slice_len(base, values.len())
            .put(format!("{base}~"), values.join("|"))
    }

    /// All entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The entries as owned pairs, sorted by key (e.g. for an `OptionValue[]`).
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.map.into_iter().collect()
    }

    /// The raw value of a raw key.
    pub fn get(&self, raw_key: &str) -> Option<&str> {
        self.map.get(raw_key).map(String::as_str)
    }

    /// The raw value of the read-only field at `path`.
    pub fn get_ro(&self, path: &str) -> Option<&str> {
        self.get(&ro_key(path))
    }

    /// The raw value of the read-write field at `path`.
    pub fn get_rw(&self, path: &str) -> Option<&str> {
        self.get(&rw_key(path))
    }

    /// A boolean value.
    pub fn get_bool(&self, raw_key: &str) -> Result<Option<bool>, GuestinfoError> {
        self.get(raw_key).map(decode_bool).transpose()
    }

    /// A signed decimal value.
    pub fn get_int(&self, raw_key: &str) -> Result<Option<i64>, GuestinfoError> {
        self.get(raw_key)
            .map(|v| v.parse().map_err(|_| GuestinfoError::Number(v.to_owned())))
            .transpose()
    }

    /// An IP value.
    pub fn get_ip(&self, raw_key: &str) -> Result<Option<IpAddr>, GuestinfoError> {
        self.get(raw_key).map(decode_ip).transpose()
    }

    /// A bytes value.
    pub fn get_bytes(&self, raw_key: &str) -> Result<Option<Vec<u8>>, GuestinfoError> {
        self.get(raw_key).map(decode_bytes).transpose()
    }

    /// A moref value.
    pub fn get_moref(&self, raw_key: &str) -> Result<Option<MoRef>, GuestinfoError> {
        self.get(raw_key).map(str::parse).transpose()
    }

    /// An `@secret` value split into nonce and sealed box.
    pub fn get_secret(&self, path: &str) -> Result<Option<SealedSecret>, GuestinfoError> {
        self.get(&format!("{}{SECRET_SUFFIX}", ro_key(path)))
            .map(decode_secret)
            .transpose()
    }

    /// A map's keys.
    pub fn get_map_keys(&self, raw_key: &str) -> Option<Vec<&str>> {
        self.get(raw_key).map(|v| {
            if v.is_empty() {
                Vec::new()
            } else {
                v.split('|').collect()
            }
        })
    }

    /// A string slice as VIC's tether decodes it: the `~` value split at every `|`, whatever
    /// the last-index key says. A value that contained `|` arrives as several (vmware/vic
    /// #3510, open in VIC 1.2: `sh -c 'a || b'` runs as `sh -c 'a ' '' ' b'`).
    pub fn get_strings_as_vic_reads(&self, raw_key: &str) -> Option<Vec<&str>> {
        let base = raw_key.strip_suffix('~').unwrap_or(raw_key);
        let joined = self.get(&format!("{base}~"))?;
        if joined.is_empty() && self.get_int(base).ok().flatten().is_none_or(|l| l < 0) {
            return Some(Vec::new());
        }
        Some(joined.split('|').collect())
    }

    /// A string slice (`raw_key` with or without `~`). The last-index key, when present, fixes
    /// the length, which tells an empty slice from one empty string.
    pub fn get_strings(&self, raw_key: &str) -> Result<Option<Vec<&str>>, GuestinfoError> {
        let base = raw_key.strip_suffix('~').unwrap_or(raw_key);
        let Some(joined) = self.get(&format!("{base}~")) else {
            return Ok(None);
        };
        let expected = match self.get_int(base)? {
            Some(last) => usize::try_from(last.saturating_add(1)).unwrap_or(0),
            None if joined.is_empty() => 0,
            None => joined.split('|').count(),
        };
        let values: Vec<&str> = if expected == 0 && joined.is_empty() {
            Vec::new()
        } else {
            joined.split('|').collect()
        };
        if values.len() != expected {
            return Err(GuestinfoError::SliceLength {
                key: base.to_owned(),
                expected,
                found: values.len(),
            });
        }
        Ok(Some(values))
    }
}

/// Keys of the VCH appliance (vic.md §6.4 "VCH keys", §4.4).
pub mod vch {
    use super::{ro_key, rw_key};

    /// The VCH moref `VirtualMachine:vm-N`; [`ID_CREATING`] during create.
    pub const ID: &str = "guestinfo.vice./init/common/id";
    /// [`ID`]'s value until the moref is known (vic.md §6.1 step 5.5).
    pub const ID_CREATING: &str = "CreatingVCH";
    /// The VCH name (hidden).
    pub const NAME: &str = "init/common/name";
    /// DHCP result of the client interface, written by the appliance; readiness waits on it.
    pub const CLIENT_ASSIGNED_IP: &str = "guestinfo.vice..init.networks|client.assigned.IP";
    /// Set by configure and upgrade while running (hidden, `true`/`false`).
    pub const UPDATE_IN_PROGRESS: &str = "UpdateInProgress";

    /// Network role `public`.
    pub const ROLE_PUBLIC: &str = "public";
    /// Network role `client`.
    pub const ROLE_CLIENT: &str = "client";
    /// Network role `management`.
    pub const ROLE_MANAGEMENT: &str = "management";
    /// Network role `bridge`.
    pub const ROLE_BRIDGE: &str = "bridge";

    /// Component `docker-personality`.
    pub const DOCKER_PERSONALITY: &str = "docker-personality";
    /// Component `port-layer`.
    pub const PORT_LAYER: &str = "port-layer";
    /// Component `vicadmin`.
    pub const VICADMIN: &str = "vicadmin";
    /// The three components whose `started` keys readiness waits for (vic.md §6.1 step 9).
    pub const COMPONENTS: [&str; 3] = [VICADMIN, DOCKER_PERSONALITY, PORT_LAYER];

    /// Debug level.
    pub const DEBUG: &str = "guestinfo.vice./init/diagnostics/debug";
    /// Asymmetric routing.
    pub const ASYMROUTING: &str = "guestinfo.vice./init/asymrouting";
    /// vSphere target.
    pub const CONNECT_TARGET: &str = "guestinfo.vice./connect/target";
    /// vSphere user.
    pub const CONNECT_USERNAME: &str = "guestinfo.vice./connect/username";
    /// vSphere thumbprint.
    pub const CONNECT_TARGET_THUMBPRINT: &str = "guestinfo.vice./connect/target_thumbprint";
    /// Session keepalive.
    pub const CONNECT_KEEPALIVE: &str = "guestinfo.vice./connect/keepalive";
    /// vSphere password/token, encrypted.
    pub const CONNECT_TOKEN: &str = "guestinfo.vice./connect/token@secret";
    /// Server certificate, base64 PEM (vic.md §4.4).
    pub const HOST_CERTIFICATE: &str = "guestinfo.vice./cert/HostCertificate/Cert";
    /// Server key, encrypted (vic.md §4.4).
    pub const HOST_CERTIFICATE_KEY: &str = "guestinfo.vice./cert/HostCertificate/Key@secret";
    /// Client CAs, base64 PEM; non-empty means tlsverify (vic.md §4.4).
    pub const CERTIFICATE_AUTHORITIES: &str = "guestinfo.vice./cert/CertificateAuthorities";
    /// Registry CAs (vic.md §4.4).
    pub const REGISTRY_CERTIFICATE_AUTHORITIES: &str =
        "guestinfo.vice./cert/RegistryCertificateAuthorities";
    /// Image stores (struct slice; elements via [`image_store_key`]).
    pub const IMAGE_STORES: &str = "guestinfo.vice./storage/image_stores";
    /// Volume stores (map keyed by label; entries via [`volume_location_key`]).
    pub const VOLUME_LOCATIONS: &str = "guestinfo.vice./storage/VolumeLocations";
    /// Scratch (base image) size.
    pub const SCRATCH_SIZE: &str = "guestinfo.vice./storage/scratch_size";
    /// Storage quota.
    pub const STORAGE_QUOTA: &str = "guestinfo.vice./storage/storage_quota";
    /// Bridge network name (`bridge`).
    pub const BRIDGE_NETWORK: &str = "guestinfo.vice./network/bridge_network";
    /// Bridge range address.
    pub const BRIDGE_IP_RANGE_IP: &str = "guestinfo.vice./network/bridge-ip-range/IP";
    /// Bridge range mask.
    pub const BRIDGE_IP_RANGE_MASK: &str = "guestinfo.vice./network/bridge-ip-range/Mask";
    /// Bridge network width.
    pub const BRIDGE_NET_WIDTH: &str = "guestinfo.vice./network/bridge-net-width";
    /// Container networks (map keyed by alias; entries via [`container_network_key`]).
    pub const CONTAINER_NETWORKS: &str = "guestinfo.vice./network/container_networks";
    /// Compute resources (struct slice; elements via [`compute_resource_key`]).
    pub const COMPUTE_RESOURCES: &str = "guestinfo.vice./container/ComputeResources";
    /// Bootstrap ISO path.
    pub const BOOTSTRAP_IMAGE_PATH: &str = "guestinfo.vice./container/bootstrap_image_path";
    /// `--container-name-convention` (vic.md §2).
    pub const CONTAINER_NAME_CONVENTION: &str = "guestinfo.vice./container/ContainerNameConvention";
    /// `--containers`.
    pub const CONTAINER_COUNT: &str = "guestinfo.vice./container/container_count";
    /// `--affinity-vm-group`.
    pub const USE_VM_GROUP: &str = "guestinfo.vice./container/UseVMGroup";
    /// DRS VM group name.
    pub const VM_GROUP_NAME: &str = "guestinfo.vice./container/VMGroupName";
    /// Insecure registries (string slice).
    pub const INSECURE_REGISTRIES: &str = "guestinfo.vice./registry/insecure_registries~";
    /// Whitelisted registries (string slice).
    pub const WHITELIST_REGISTRIES: &str = "guestinfo.vice./registry/whitelist_registries~";
    /// Whether vic-machine created the ESX bridge.
    pub const CREATE_BRIDGE_NETWORK: &str = "guestinfo.vice./create_bridge_network";
    /// `--ops-grant-perms`.
    pub const GRANT_PERMISSIONS: &str = "guestinfo.vice./grant_permissions";
    /// The create arguments as logged (string slice).
    pub const VIC_MACHINE_CREATE_OPTIONS: &str = "guestinfo.vice./vic_machine_create_options~";

    /// `init/networks|<role>/<field>`, e.g. field `Common/id` (PCI slot), `network/Common/id`
    /// (port-group moref), `static`, `ip/IP`, `network/gateway`, `network/dns`, `network/default`.
    pub fn network_key(role: &str, field: &str) -> String {
        ro_key(&format!("init/networks|{role}/{field}"))
    }

    /// `init.networks|<role>.assigned.IP` (rw); [`CLIENT_ASSIGNED_IP`] for `client`.
    pub fn network_assigned_ip_key(role: &str) -> String {
        rw_key(&format!("init.networks|{role}.assigned.IP"))
    }

    /// `init/sessions|<component>/<field>`: `cmd/Path`, `cmd/Args~`, `cmd/Env~`, `restart`, `active`.
    pub fn session_key(component: &str, field: &str) -> String {
        ro_key(&format!("init/sessions|{component}/{field}"))
    }

    /// `guestinfo.vice..init.sessions|<component>.started` (rw): [`super::STARTED_OK`] or the error.
    pub fn session_started_key(component: &str) -> String {
        rw_key(&format!("init.sessions|{component}.started"))
    }

    /// `guestinfo.vice..init.sessions|<component>.status` (rw): exit status.
    pub fn session_status_key(component: &str) -> String {
        rw_key(&format!("init.sessions|{component}.status"))
    }

    /// `init/version/<field>`: `Version`, `BuildNumber`, `GitCommit`, `State`, `BuildDate`,
    /// `PluginVersion`.
    pub fn version_key(field: &str) -> String {
        ro_key(&format!("init/version/{field}"))
    }

    /// `storage/image_stores|<i>/<field>`.
    pub fn image_store_key(index: usize, field: &str) -> String {
        ro_key(&format!("storage/image_stores|{index}/{field}"))
    }

    /// `storage/VolumeLocations|<label>/<field>` (URL sub-fields such as `Scheme`, `Host`, `Path`).
    pub fn volume_location_key(label: &str, field: &str) -> String {
        ro_key(&format!("storage/VolumeLocations|{label}/{field}"))
    }

    /// `network/container_networks|<alias>/<field>`: `Common/id`, `Common/name`, `type`,
    /// `gateway/...`, `dns`, `pools|<i>/first`, `pools|<i>/last`, `TrustLevel`, `default`.
    pub fn container_network_key(alias: &str, field: &str) -> String {
        ro_key(&format!("network/container_networks|{alias}/{field}"))
    }

    /// `container/ComputeResources|<i>/<field>` (`Type`, `Value`).
    pub fn compute_resource_key(index: usize, field: &str) -> String {
        ro_key(&format!("container/ComputeResources|{index}/{field}"))
    }
}

/// Keys of a containerVM (vic.md §6.4 "Container keys").
pub mod container {
    use super::{hidden_key, ro_key, rw_key};

    /// Full 64-hex container id.
    pub const ID: &str = "guestinfo.vice./common/id";
    /// Docker name (hidden).
    pub const NAME: &str = "common/name";
    /// Exec sessions, dropped on power-off.
    pub const EXECS: &str = "guestinfo.vice./execs@non-persistent";
    /// RSA-512 PEM key.
    pub const KEY: &str = "guestinfo.vice./key";
    /// Top layer id.
    pub const LAYER_ID: &str = "guestinfo.vice./layerid";
    /// Image id.
    pub const IMAGE_ID: &str = "guestinfo.vice./imageid";
    /// Image repository.
    pub const REPO: &str = "guestinfo.vice./repo";
    /// Hostname.
    pub const HOSTNAME: &str = "guestinfo.vice./hostname";
    /// Domain name.
    pub const DOMAINNAME: &str = "guestinfo.vice./domainname";
    /// Creation time.
    pub const CREATETIME: &str = "guestinfo.vice./createtime";
    /// Asymmetric routing.
    pub const ASYMROUTING: &str = "guestinfo.vice./asymrouting";
    /// Debug level.
    pub const DEBUG: &str = "guestinfo.vice./diagnostics/debug";

    /// `sessions|<id>/<field>`: `cmd/Path`, `cmd/Args~`, `cmd/Env~`, `cmd/Dir`, `tty`,
    /// `attach`, `openstdin`, `restart`, `stopSignal`, `User`, `Group`, `common/id`,
    /// `common/name`.
    pub fn session_key(id: &str, field: &str) -> String {
        ro_key(&format!("sessions|{id}/{field}"))
    }

    /// `guestinfo.vice..sessions|<id>.<field>` (rw): `started`, `status`, `runblock`,
    /// `detail.createtime`, `detail.starttime`, `detail.stoptime`.
    pub fn session_state_key(id: &str, field: &str) -> String {
        rw_key(&format!("sessions|{id}.{field}"))
    }

    /// `guestinfo.vice..sessions|<id>.started`: start succeeded only if it is
    /// [`super::STARTED_OK`] (vic.md §9 item 17).
    pub fn container_started_key(id: &str) -> String {
        session_state_key(id, "started")
    }

    /// `execs|<id>/<field>` of an exec session: the fields of [`session_key`].
    pub fn exec_key(id: &str, field: &str) -> String {
        ro_key(&format!("execs|{id}/{field}"))
    }

    /// `guestinfo.vice..execs|<id>.<field>` (rw): `started`, `status`, `detail.starttime`,
    /// `detail.stoptime`.
    pub fn exec_state_key(id: &str, field: &str) -> String {
        rw_key(&format!("execs|{id}.{field}"))
    }

    /// `networks|<net>/<field>`: `Common/id` (PCI slot), `network/Common/name`, `network/type`,
    /// `network/TrustLevel`, `network/pools`, `ports~`, `static`, `ip/IP`.
    pub fn endpoint_key(net: &str, field: &str) -> String {
        ro_key(&format!("networks|{net}/{field}"))
    }

    /// `networks|<net>.assigned.<field>` (rw): `IP`, `Mask`.
    pub fn endpoint_assigned_key(net: &str, field: &str) -> String {
        rw_key(&format!("networks|{net}.assigned.{field}"))
    }

    /// `networks|<net>.network.assigned.<field>` (rw): `gateway.IP`, `gateway.Mask`, `dns`.
    pub fn endpoint_network_assigned_key(net: &str, field: &str) -> String {
        rw_key(&format!("networks|{net}.network.assigned.{field}"))
    }

    /// `mounts|<path>/<field>`: `source/...`, `dest`, `mode`, `copymode`.
    pub fn mount_key(path: &str, field: &str) -> String {
        ro_key(&format!("mounts|{path}/{field}"))
    }

    /// `version/<field>`; the presence of version marks a containerVM.
    pub fn version_key(field: &str) -> String {
        ro_key(&format!("version/{field}"))
    }

    /// `annotations|<k>` (hidden): labels and other annotations.
    pub fn annotation_key(k: &str) -> String {
        hidden_key(&format!("annotations|{k}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_forms() {
        assert_eq!(ro_key("init/common/id"), "guestinfo.vice./init/common/id");
        assert_eq!(ro_key("/init/common/id"), "guestinfo.vice./init/common/id");
        assert_eq!(
            rw_key("init.sessions|docker-personality.started"),
            "guestinfo.vice..init.sessions|docker-personality.started"
        );
        assert_eq!(hidden_key("init/common/name"), "init/common/name");
        assert_eq!(key(Scope::Hidden, "annotations|k"), "annotations|k");
    }

    #[test]
    fn ip_example_is_verbatim() {
        assert_eq!(
            encode_ip("10.10.10.1".parse().unwrap()),
            "AAAAAAAAAAAAAP//CgoKAQ=="
        );
        assert_eq!(
            decode_ip("AAAAAAAAAAAAAP//CgoKAQ==").unwrap(),
            "10.10.10.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            decode_ip("CgoKAQ==").unwrap(),
            "10.10.10.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(decode_ip("AAE="), Err(GuestinfoError::IpLength(2)));
        assert!(decode_ip("not base64!").is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(encode_mask(24, true), encode_bytes(&[255, 255, 255, 0]));
        assert_eq!(encode_mask(12, true), encode_bytes(&[255, 240, 0, 0]));
        assert_eq!(encode_mask(0, true), encode_bytes(&[0; 4]));
        assert_eq!(
            encode_mask(64, false),
            encode_bytes(&[
                255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0
            ])
        );
    }

    #[test]
    fn parse_key_classifies() {
        let k = parse_key("guestinfo.vice./connect/token@secret").unwrap();
        assert_eq!(
            (k.scope, k.path, k.secret),
            (Scope::ReadOnly, "connect/token", true)
        );
        let k = parse_key(CLIENT_ASSIGNED_IP).unwrap();
        assert_eq!(
            (k.scope, k.path),
            (Scope::ReadWrite, "init.networks|client.assigned.IP")
        );
        let k = parse_key(container::EXECS).unwrap();
        assert!(k.non_persistent && !k.secret);
        assert_eq!(parse_key("init/common/name").unwrap().scope, Scope::Hidden);
        assert_eq!(parse_key(OVF_ENV_KEY), None);
    }

    #[test]
    fn secrets_frame_nonce_and_box() {
        let nonce = [7u8; SECRET_NONCE_LEN];
        let keys = Keys::new().secret("connect/token", &nonce, b"sealed");
        let raw = keys.get(vch::CONNECT_TOKEN).unwrap();
        assert_eq!(
            decode_secret(raw).unwrap(),
            SealedSecret {
                nonce,
                sealed: b"sealed".to_vec()
            }
        );
        assert_eq!(
            keys.get_secret("connect/token").unwrap().unwrap().sealed,
            b"sealed"
        );
        assert_eq!(decode_secret("AAAA"), Err(GuestinfoError::SecretLength(3)));
    }

    #[test]
    fn bools_follow_go_parse_bool() {
        assert_eq!(decode_bool("True"), Ok(true));
        assert_eq!(decode_bool("0"), Ok(false));
        assert!(decode_bool("yes").is_err());
    }
}
