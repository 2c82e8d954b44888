//! VIC's TLS handling for the VCH Docker endpoint (vic.md §4).
//!
//! [`process`] is vic-machine's `ProcessCertificates`: it decides, in VIC's order, whether the
//! endpoint runs without TLS, with server-only TLS (`--no-tlsverify`) or with mutual TLS, and
//! where the material comes from — custom files (`--tls-server-cert`/`--tls-server-key`/
//! `--tls-ca`), files reused from the cert path (`./<name>` or `--tls-cert-path`), or freshly
//! generated ones written there (CA, server and client certificate; RSA, SHA-256, one year).
//! It writes files only when it generates, and only after every check has passed:
//! [`plan_logged`] decides and generates in memory, returning the files as [`PendingFiles`];
//! [`PendingFiles::commit`] writes them and returns [`WrittenFiles`] to take them back when a
//! later step fails. [`process`] does both at once.
//!
//! [`server_config`] turns the result into a rustls `ServerConfig` (TLS ≥ 1.2, aws-lc-rs, client
//! certificates required iff a CA is configured), and [`docker_connect`]/[`write_env_file`]
//! render the `DOCKER_*` variables and the `docker -H …` hint that vic-machine prints (§1.3).
//!
//! Where VIC has a quirk that hurts users, this module does the right thing and says so in a
//! comment (e.g. `DOCKER_CERT_PATH` for a cert path outside the current directory, the empty
//! `O=""` subject from the CLI, the client address missing from the server certificate).

mod env;
mod error;
mod files;
mod generate;
mod key_reuse;
pub(crate) mod pem;
mod rustls_config;
mod select;
mod validate;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use time::OffsetDateTime;

pub use env::{DockerConnect, docker_connect, write_env_file};
pub use error::TlsError;
pub use files::{PendingFiles, WrittenFiles};
pub use key_reuse::reuse_private_keys_in_this_process;
pub use rustls_config::server_config;

/// Docker's TLS port, used whenever TLS is on.
pub const DOCKER_TLS_PORT: u16 = 2376;
/// Docker's plain-HTTP port, used with `--no-tls`.
pub const DOCKER_PLAIN_PORT: u16 = 2375;
/// The default `--certificate-key-size`.
pub const DEFAULT_KEY_SIZE_BITS: u32 = 2048;

/// CA certificate file in the cert path.
pub const CA_CERT_FILE: &str = "ca.pem";
/// CA private key file in the cert path.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// Server certificate file in the cert path.
pub const SERVER_CERT_FILE: &str = "server-cert.pem";
/// Server private key file in the cert path.
pub const SERVER_KEY_FILE: &str = "server-key.pem";
/// Client certificate file in the cert path (docker's default name).
pub const CLIENT_CERT_FILE: &str = "cert.pem";
/// Client private key file in the cert path (docker's default name).
pub const CLIENT_KEY_FILE: &str = "key.pem";

/// The TLS-related `vic-machine create` options (vic.md §1.2), already parsed.
#[derive(Clone, Debug)]
pub struct TlsRequest {
    /// The VCH name (`--name`): default cert path `./<name>` and env file `<name>.env`.
    pub name: String,
    /// `--tls-cname`; `None` (or empty) derives it from `client_network_ip`.
    pub cname: Option<String>,
    /// `--tls-cert-path`; `None` means `./<name>`.
    pub cert_path: Option<PathBuf>,
    /// `--tls-server-cert`; must come with `server_key`.
    pub server_cert: Option<PathBuf>,
    /// `--tls-server-key`; must come with `server_cert`.
    pub server_key: Option<PathBuf>,
    /// `--tls-ca` (repeatable): CA bundles that client certificates are verified against.
    pub ca: Vec<PathBuf>,
    /// `--no-tls`: plain HTTP on 2375.
    pub no_tls: bool,
    /// `--no-tlsverify`: server-only TLS, no client certificates.
    pub no_tlsverify: bool,
    /// `--certificate-key-size` in bits (2048, 3072 or 4096).
    pub key_size_bits: u32,
    /// `--organization`; empty means `[name]`.
    pub organization: Vec<String>,
    /// `--client-network-ip` without its mask: the default cname, and an IP SAN of the server
    /// certificate.
    pub client_network_ip: Option<IpAddr>,
    /// `--force`: certificate load errors are ignored and the material regenerated.
    pub force: bool,
    /// Whether a DNS cname is resolved for extra IP SANs as VIC does (a forward lookup on the
    /// machine running vic-machine). Off in tests that must not depend on the resolver.
    pub resolve_cname_sans: bool,
    /// The current time: validity of generated certificates and checks of loaded ones.
    pub now: OffsetDateTime,
}

impl TlsRequest {
    /// A request with vic-machine's defaults for the VCH `name`.
    pub fn new(name: impl Into<String>, now: OffsetDateTime) -> Self {
        let name = name.into();
        Self {
            organization: vec![name.clone()],
            name,
            cname: None,
            cert_path: None,
            server_cert: None,
            server_key: None,
            ca: Vec::new(),
            no_tls: false,
            no_tlsverify: false,
            key_size_bits: DEFAULT_KEY_SIZE_BITS,
            client_network_ip: None,
            force: false,
            resolve_cname_sans: true,
            now,
        }
    }
}

/// How the Docker endpoint speaks TLS (vic.md §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// `--no-tls`: plain HTTP on 2375.
    NoTls,
    /// `--no-tlsverify`: HTTPS on 2376, no client certificate requested.
    ServerOnly,
    /// tlsverify: HTTPS on 2376, a client certificate signed by a configured CA is required.
    Mutual,
}

impl TlsMode {
    /// The endpoint port for this mode.
    pub fn port(self) -> u16 {
        match self {
            Self::NoTls => DOCKER_PLAIN_PORT,
            Self::ServerOnly | Self::Mutual => DOCKER_TLS_PORT,
        }
    }
}

/// Severity of a [`LogLine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogLevel {
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR` (printed before the command fails).
    Error,
}

/// One line vic-machine logs while processing certificates; the caller prints them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// The message, VIC's text where vic.md gives it.
    pub message: String,
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        };
        write!(f, "{level} {}", self.message)
    }
}

/// Paths of a client certificate usable with the VCH (docker's `--tlscacert/--tlscert/--tlskey`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertFiles {
    /// The CA that signed the server certificate and the client certificate.
    pub ca: PathBuf,
    /// The client certificate.
    pub cert: PathBuf,
    /// The client key.
    pub key: PathBuf,
}

/// The outcome of [`process`]: what the endpoint serves and what vic-machine tells the user.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The TLS mode.
    pub mode: TlsMode,
    /// The endpoint port (2376 with TLS, 2375 without).
    pub port: u16,
    /// The server certificate chain, PEM (leaf first); empty with `--no-tls`.
    pub server_chain_pem: String,
    /// The server private key, PEM; empty with `--no-tls`. Secret.
    pub server_key_pem: String,
    /// The CA certificates client certificates must chain to, one PEM per certificate;
    /// non-empty exactly in [`TlsMode::Mutual`].
    pub client_ca_pems: Vec<String>,
    /// The cert path the material was read from or written to; `None` with `--no-tls`.
    pub cert_dir: Option<PathBuf>,
    /// Where vic-machine saves the environment: `<cert path>/<name>.env`.
    pub env_file: PathBuf,
    /// The cname in effect (explicit or derived), if any.
    pub cname: Option<String>,
    /// A client certificate known to work with this VCH (generated, or reused from the cert
    /// path after verifying against the CA).
    pub client_cert: Option<ClientCertFiles>,
    /// Whether anything was generated (and written) in this run.
    pub generated: bool,
    /// Whether existing material was reused from the cert path.
    pub reused: bool,
    /// What vic-machine logged while processing, in order.
    pub log: Vec<LogLine>,
}

impl TlsMaterial {
    /// All client CAs as one PEM bundle (guestinfo `cert/CertificateAuthorities`, vic.md §4.4).
    pub fn certificate_authorities_pem(&self) -> String {
        self.client_ca_pems.concat()
    }
}

// The key is secret: keep it out of debug output and logs.
impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("mode", &self.mode)
            .field("port", &self.port)
            .field("server_chain_pem", &self.server_chain_pem)
            .field("server_key_pem", &"[elided]")
            .field("client_ca_pems", &self.client_ca_pems)
            .field("cert_dir", &self.cert_dir)
            .field("env_file", &self.env_file)
            .field("cname", &self.cname)
            .field("client_cert", &self.client_cert)
            .field("generated", &self.generated)
            .field("reused", &self.reused)
            .field("log", &self.log)
            .finish()
    }
}

/// Runs VIC's certificate selection (vic.md §4.2) for `req` and writes what it generated.
///
/// Log lines are in [`TlsMaterial::log`]; use [`process_logged`] to keep them on failure too.
pub fn process(req: &TlsRequest) -> Result<TlsMaterial, TlsError> {
    let mut log = Vec::new();
    let mut material = process_logged(req, &mut log)?;
    material.log = log;
    Ok(material)
}

/// As [`process`], appending log lines to `log` as they happen, so that the lines printed
/// before a failure (e.g. the cname hints) are available with the error.
/// [`TlsMaterial::log`] is left empty.
pub fn process_logged(req: &TlsRequest, log: &mut Vec<LogLine>) -> Result<TlsMaterial, TlsError> {
    let (material, pending) = select::process(req, log)?;
    pending.commit()?;
    Ok(material)
}

/// The selection of [`process_logged`] without touching the disk: generated keys and
/// certificates are in the material and in the returned [`PendingFiles`], which the caller
/// commits once everything else has been checked.
pub fn plan_logged(
    req: &TlsRequest,
    log: &mut Vec<LogLine>,
) -> Result<(TlsMaterial, PendingFiles), TlsError> {
    select::process(req, log)
}
