//! A built-in container registry, Harbor-shaped, speaking the OCI Distribution API v2, for
//! VIC's image pulls and for clients such as docker and skopeo.
//!
//! The core types:
//! - [`Registry`] (`state`): the state machine: projects, repositories, blobs, manifests,
//!   tags, upload sessions. Repositories are named Harbor-style `project/repository[/more]`;
//!   the project must exist (`library`, public, always does; more come from
//!   [`RegistryConfig::projects`]), else `404 NAME_UNKNOWN` "project xyz not found".
//! - [`RegistryRequest`] (`request`): the HTTP edge parsed into one typed request;
//!   `http` runs it on the registry and answers with the spec's headers and errors.
//! - [`RegistryError`] (`error`): every refusal, with its spec code and status
//!   (`DIGEST_INVALID` 400, `MANIFEST_BLOB_UNKNOWN` 400, `SIZE_INVALID` 413,
//!   `TOOMANYREQUESTS` 429, `UNAUTHORIZED` 401 with a bearer challenge, …).
//! - [`RegistryConfig`] / [`RegistryLimits`] (`config`): host name, projects, users,
//!   storage, TLS mode and bounds (4 MiB manifests, 2 GiB blobs, 64 upload sessions idle
//!   at most 5 minutes, 4096 tokens of 30 minutes, by default).
//! - [`serve`] / [`RegistryHandle`] (`server`): serving on a listener through the shared
//!   accept loop of `vcsim::http` (connection limits, idle timeouts).
//!
//! Storage is in memory, or under `data_dir` (`blobs/sha256/xx/<hex>`, uploads in
//! `uploads/` renamed into place once verified, metadata in `repositories.json`).
//! Authentication: HTTP Basic, or Docker token auth (`GET /service/token`, service
//! `harbor-registry`), tokens from the OS CSPRNG held server-side with their scopes.
//! Anonymous clients may pull from public projects; users may do everything; with no users
//! configured authentication is off. TLS uses a CA of the registry's own ([`tls`]), or plain
//! HTTP for `--insecure-registry` setups.
//!
//! From the command line, `vicbed serve` starts one beside the vSphere emulator:
//!
//! | flag | meaning |
//! | --- | --- |
//! | `--registry NAME[@IP:PORT]` | serve a registry for host name NAME (default listen `127.0.0.1:0`) |
//! | `--registry-user USER:PASSWORD` | a user (repeatable); without one, anyone may push |
//! | `--registry-data-dir DIR` | keep blobs and metadata under DIR instead of in memory |
//! | `--registry-cert-dir DIR` | write `ca.crt` there (default: the data dir, else a temp dir removed at exit) |
//! | `--registry-insecure` | plain HTTP instead of HTTPS |
//!
//! It adds `export VICBED_REGISTRY=IP:PORT`, `VICBED_REGISTRY_URL`, `VICBED_REGISTRY_NAME`
//! and (with TLS) `VICBED_REGISTRY_CA=<path of ca.crt>` to the serve output. Exit codes are
//! those of `vicbed serve`: 0 after SIGINT/SIGTERM, 1 when the registry cannot start (bad
//! flag value, port taken, data directory unusable), 2 for usage errors.

pub mod auth;
mod body;
pub mod cli;
pub mod config;
pub mod digest;
pub mod error;
pub mod http;
pub mod manifest;
pub mod name;
pub mod request;
pub mod server;
pub mod state;
mod storage;
pub mod tls;
mod upload;

pub use config::{Project, RegistryConfig, RegistryLimits, TlsMode, User};
pub use digest::Digest;
pub use error::RegistryError;
pub use request::RegistryRequest;
pub use server::{RegistryHandle, ServeError, bind_and_serve, serve};
pub use state::Registry;
pub use storage::BlobRead;
