//! A Docker client for the VCH endpoint, driven by docker CLI command lines: what the
//! scenario runner and the conformance suites use to act as `docker` against a VCH in any of
//! its TLS modes. It lives in `vic::engine` because only the engine knows Docker JSON/HTTP.
//!
//! - [`cli`]: parsing — [`parse`] (global options, then the command), [`parse_command`]
//!   (the command alone, pure: for validating scenario files), [`parse_line`] (a shell line
//!   such as vic-machine's `Connect to docker:` hint), [`GlobalOptions::from_env_line`]
//!   (its `Docker environment variables:` line).
//! - [`DockerClient`]: connects as the options say — plain TCP; `--tls` (TLS accepting any
//!   server certificate, presenting a client certificate if given); `--tlsverify` (the
//!   server certificate verified against `--tlscacert`, its IP SAN or DNS name matching the
//!   `-H` host, the client certificate presented). Files default from `DOCKER_CERT_PATH`
//!   (`ca.pem`, `cert.pem`, `key.pem`) as in the CLI. Requests use the `/v1.25` prefix, one
//!   connection each (on the hyper-based `crate::http1`), bounded by connect and request timeouts and a body limit ([`Limits`]).
//! - [`DockerClient::execute`]: runs a [`CliCommand`] and returns what the CLI would print
//!   ([`CliOutput`]: stdout, stderr, exit code, the new container's id), daemon refusals in
//!   the CLI's words (`Error response from daemon: …`, exit 125 for `run`); typed helpers
//!   ([`DockerClient::containers`], [`DockerClient::inspect_container`]) for checks.
//! - Attached commands over HTTP upgrades (`attach`): a foreground `run` (attach, start,
//!   the demultiplexed output, the container's exit code; `--rm` removes it afterwards)
//!   and `exec` (the process's output and exit code, or `-d`), output bounded by
//!   [`MAX_ATTACHED_OUTPUT_BYTES`].
//! - Volumes (`volume`): `docker volume create|ls|inspect|rm` ([`VolumeCommand`]) and
//!   `run -v name:/path` / `-v /path`.
//! - The image workflow against a Docker Container Host (`image_verbs`, [`ImageCommand`]):
//!   `build` of a context directory, `login`/`logout` (the client remembers the
//!   credentials per registry and sends them as `X-Registry-Auth` with later `push`,
//!   `pull` and the pull of `run`/`create`), `push`, `tag` and `images`.
//!
//! Not implemented, because the endpoint does not implement them or the testbed does not
//! need them: stdin and terminals (`run -i` without `-d`, `exec -i/-t`, `start -a`,
//! `attach`), `--volumes-from` and `--mount`, Go templates (`--format`; `images` takes
//! its three plain fields), the process environment and `~/.docker` as option sources
//! (logins live as long as the [`DockerClient`]).

mod attach;
mod body;
pub mod cli;
mod error;
mod exec;
mod flags;
mod global;
mod http;
mod image_verbs;
pub(crate) mod render;
mod run_args;
mod tls;
mod types;
mod units;
mod verbs;
mod volume;
mod words;

pub use attach::MAX_ATTACHED_OUTPUT_BYTES;
pub use cli::{
    CliCommand, CliInvocation, ExecArgs, InspectKind, RestartPolicy, RunArgs, parse, parse_command,
    parse_line, parse_with,
};
pub use error::{CliError, ClientError};
pub use global::{
    CA_FILE, CERT_FILE, DEFAULT_PLAIN_PORT, DEFAULT_TLS_PORT, DockerHost, GlobalOptions, KEY_FILE,
    TlsMode,
};
pub use image_verbs::{BuildArgs, ImageCommand, MAX_CONTEXT_BYTES};
pub use render::short_id;
pub use types::{CliOutput, ContainerDetails, ContainerSummary, ImageSummary, PortSummary};
pub use units::{nano_cpus, ram_in_bytes};
pub use volume::VolumeCommand;
pub use words::split_words;

use std::time::Duration;

/// The API version prefix every request carries.
pub const API_PREFIX: &str = "/v1.25";

/// Bounds on one client's requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// TCP connect plus TLS handshake.
    pub connect_timeout_s: u64,
    /// One request and its answer.
    pub request_timeout_s: u64,
    /// Requests that wait for a container to end (`wait`, `logs -f`).
    pub wait_timeout_s: u64,
    /// Largest response body.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout_s: 30,
            request_timeout_s: 30,
            wait_timeout_s: 600,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A client for one endpoint.
pub struct DockerClient {
    transport: http::Transport,
    limits: Limits,
    /// `docker login`s by registry host, kept for this client's lifetime.
    logins: image_verbs::Logins,
}

impl std::fmt::Debug for DockerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerClient")
            .field("url", &self.transport.url)
            .field("tls", &self.transport.is_tls())
            .field("limits", &self.limits)
            .field("logged_in", &self.logged_in())
            .finish()
    }
}

impl DockerClient {
    /// A client for the endpoint `global` names, with [`Limits::default`]. Reads the TLS
    /// files now; connects per request.
    pub fn new(global: &GlobalOptions) -> Result<DockerClient, ClientError> {
        DockerClient::with_limits(global, Limits::default())
    }

    /// [`DockerClient::new`] with `limits`.
    pub fn with_limits(
        global: &GlobalOptions,
        limits: Limits,
    ) -> Result<DockerClient, ClientError> {
        let host = global.host.as_ref().ok_or_else(|| {
            CliError::Connection(
                "no docker host given: pass -H tcp://HOST:PORT (or DOCKER_HOST in the environment line)"
                    .into(),
            )
        })?;
        let uses_tls = global.uses_tls();
        let tls = match tls::client_config(&global.tls_mode()?)? {
            Some(config) => Some((config, tls::server_name(&host.host)?)),
            None => None,
        };
        let transport = http::Transport::new(
            host.host.clone(),
            host.port(uses_tls),
            host.authority(uses_tls),
            tls,
            Duration::from_secs(limits.connect_timeout_s),
            limits.max_body_bytes,
        );
        Ok(DockerClient {
            transport,
            limits,
            logins: Default::default(),
        })
    }

    /// `tcp://host:port`.
    pub fn url(&self) -> &str {
        &self.transport.url
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}
