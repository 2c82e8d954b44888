//! The Docker Container Host (DCH): the native Docker engine that `vmware/dch-photon:1.13`
//! runs inside its containerVM (`dch-entrypoint.sh -H tcp://0.0.0.0:2375`, Docker 1.13.1,
//! API 1.26), reached through the VCH's port forward (`-p 12375:2375`) or a routable
//! container network. It is a [`crate::guestnet::Service`] the tether registers on port
//! [`PORT`] for that process ([`crate::guestnet::recognise`]).
//!
//! **Emulated**, not dockerd: an HTTP/1.1 server (hyper) answering a small part of the
//! Docker Engine API as dockerd 1.13.1 does, with deterministic output (no dates, ids are
//! sha256 digests of content). Endpoints, each also under an API version prefix
//! `/v1.12` … `/v1.26` (a higher version is refused with dockerd's 400, a lower one too):
//!
//! - `GET`/`HEAD /_ping` (`OK`, with `Api-Version`, `Docker-Experimental`, `Ostype`
//!   headers, which the docker CLI negotiates its API version from);
//! - `GET /version`, `GET /info` (the containerVM's hostname, CPUs and memory as [`Host`]);
//! - images: `POST /images/create` (pull: from a registry the testbed runs when the
//!   reference names one, [`crate::registry_hosts`]; else from the testbed's image
//!   catalogue [`crate::images::Catalogue`]), `GET /images/json`, `GET /images/{name}/json`,
//!   `POST /images/{name}/tag`, `DELETE /images/{name}` ([`images`]);
//! - `POST /images/{name}/push` and `POST /auth` (`docker push`, `docker login`) against
//!   the testbed's registries (`remote`), with the client's `X-Registry-Auth`; the DCH
//!   trusts those registries' CAs and does not verify its `--insecure-registry` hosts (plain
//!   HTTP when such a registry serves no TLS);
//! - `POST /build`: the legacy builder over [`crate::build`] (`build`): the context tar,
//!   `-t`, `-f`, `--build-arg`, `--label`, `-q`, `--no-cache`; the built image is kept
//!   under its tags, with its layers ([`crate::image_content`]) for a push;
//! - `GET /containers/json`: always empty — containers inside a DCH are not emulated.
//!
//! Everything else (containers, networks, volumes, …) is answered 501 with a
//! Docker error JSON (`{"message": …}`) saying this emulation does not implement it yet.
//!
//! Each running DCH container has its own [`Dch`] instance, so its images are its own.

mod build;
pub mod images;
mod remote;

use crate::guestnet::{Activity, GuestConn, Service, Serving};
use crate::images::Catalogue;
use crate::registry_hosts::RegistryHosts;
use crate::workload::meter::WorkMeter;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The port dch-photon's dockerd listens on (`-H tcp://0.0.0.0:2375`).
pub const PORT: u16 = 2375;

/// The Docker version of `vmware/dch-photon:1.13`.
pub const VERSION: &str = "1.13.1";

/// The newest API version Docker 1.13.1 serves.
pub const API_VERSION: &str = "1.26";

/// The oldest API version Docker 1.13.1 serves.
pub const MIN_API_VERSION: &str = "1.12";

/// The containerVM kernel the DCH reports (a Photon OS 4.9 kernel, the era of VIC 1.2).
pub const KERNEL_VERSION: &str = "4.9.40-1.ph2-esx";

/// What Docker 1.13.1 was built with.
pub const GO_VERSION: &str = "go1.7.5";

/// Docker 1.13.1's git commit.
pub const GIT_COMMIT: &str = "092cba3";

/// Request line and headers, at most.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How long a request's headers may take (also the keep-alive wait between requests).
pub const HEADER_TIMEOUT_MS: u64 = 60_000;

/// A request body (a build context) larger than this is refused; bodies are read only to
/// be discarded, so that the client sees the answer rather than a reset connection.
pub const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// A `POST /auth` body (an auth config: user, password, server) larger than this is
/// refused.
pub const MAX_AUTH_BODY_BYTES: u64 = 64 * 1024;

/// The response header of `POST /build` carrying the build's virtual duration in ms (the
/// time its CPU work took on this containerVM under the contention model). Not dockerd's:
/// the docker CLI ignores it; vicbed's client and scenarios report it.
pub const BUILD_VIRTUAL_MS_HEADER: &str = "vicbed-build-virtual-ms";

/// What the DCH knows of the containerVM it runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The container's hostname (`docker info`'s Name).
    pub hostname: String,
    /// The containerVM's vCPUs.
    pub ncpu: u32,
    /// The containerVM's memory in bytes.
    pub mem_total_bytes: u64,
}

impl Default for Host {
    /// VIC's default containerVM: 2 vCPUs, 2048 MB, and the image's name as hostname (the
    /// tether passes the containerVM's own when it registers the service).
    fn default() -> Host {
        Host {
            hostname: "dch-photon".to_owned(),
            ncpu: 2,
            mem_total_bytes: 2048 * 1024 * 1024,
        }
    }
}

/// One answer: status, content type and body. Headers common to all answers are added
/// when it is sent ([`Answer::into_response`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `Content-Type` (none when empty).
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The HTTP response, with the headers dockerd puts on every answer; `head` drops the
    /// body but keeps its length.
    pub fn into_response(self, head: bool, ping: bool) -> Response<Full<Bytes>> {
        let len = self.body.len();
        let body = if head {
            Bytes::new()
        } else {
            Bytes::from(self.body)
        };
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        h.insert(
            header::SERVER,
            HeaderValue::from_static("Docker/1.13.1 (linux)"),
        );
        h.insert("api-version", HeaderValue::from_static(API_VERSION));
        if ping {
            h.insert("docker-experimental", HeaderValue::from_static("false"));
            h.insert("ostype", HeaderValue::from_static("linux"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
        if !self.content_type.is_empty() {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        r
    }
}

fn answer(status: StatusCode, content_type: &'static str, body: String) -> Answer {
    Answer {
        status,
        content_type,
        body,
    }
}

fn json_answer(status: StatusCode, body: String) -> Answer {
    answer(status, "application/json", body)
}

/// A Docker error: `{"message": …}`.
fn error(status: StatusCode, message: &str) -> Answer {
    json_answer(status, json!({ "message": message }).to_string())
}

/// The 501 for an operation (`docker push`) this emulation does not have yet.
fn not_implemented(what: &str) -> Answer {
    error(
        StatusCode::NOT_IMPLEMENTED,
        &format!(
            "{what} is not implemented yet by this DCH emulation (vicbed emulates the Docker \
             {VERSION} engine of vmware/dch-photon: ping, version, info, login, build, and image \
             pull, push, list, inspect, tag and remove)"
        ),
    )
}

/// `"1.26"` as (1, 26); `None` when not a version.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Splits an API version prefix off `path`: the version (if any) and the rest. A
/// `/v<major>.<minor>` first segment is a version; anything else is left as the path.
pub fn split_version(path: &str) -> (Option<&str>, &str) {
    let Some(rest) = path.strip_prefix("/v") else {
        return (None, path);
    };
    let (seg, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    match parse_version(seg) {
        Some(_) => (Some(seg), tail),
        None => (None, path),
    }
}

/// dockerd's check of a request's API version: `Err` is its 400.
pub fn check_version(version: &str) -> Result<(), Answer> {
    let v = parse_version(version);
    let (max, min) = (parse_version(API_VERSION), parse_version(MIN_API_VERSION));
    if v > max {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "client version {version} is too new. Maximum supported API version is {API_VERSION}"
            ),
        ));
    }
    if v < min {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "client version {version} is too old. Minimum supported API version is \
                 {MIN_API_VERSION}, please upgrade your client to a newer version"
            ),
        ));
    }
    Ok(())
}

/// Decodes `%XX` and `+` in a query component; malformed escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query string as a map (a repeated key keeps its last value).
pub fn parse_query(query: Option<&str>) -> BTreeMap<String, String> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The DCH service for `dch-entrypoint.sh`/`dockerd` run with `args`: listening on the
/// TCP ports of its `-H tcp://…` options ([`PORT`] when it names none). `None` for a
/// one-shot invocation (`--version`, `--help`) and for TLS options, which this emulation
/// does not serve.
pub fn recognise(
    args: &[String],
    host: &Host,
    registries: &Arc<RegistryHosts>,
) -> Option<crate::guestnet::Recognised> {
    let mut ports = Vec::new();
    let mut insecure = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = match a.as_str() {
            "-v" | "--version" | "-h" | "--help" => return None,
            t if t.starts_with("--tls") => return None,
            "--insecure-registry" => {
                insecure.extend(it.next().cloned());
                continue;
            }
            t if t.starts_with("--insecure-registry=") => {
                insecure.push(t["--insecure-registry=".len()..].to_owned());
                continue;
            }
            "-H" | "--host" => it.next().map(String::as_str),
            t => t
                .strip_prefix("-H=")
                .or_else(|| t.strip_prefix("--host="))
                .or_else(|| t.strip_prefix("-H").filter(|v| v.starts_with("tcp://"))),
        };
        let port = value
            .and_then(|v| v.strip_prefix("tcp://"))
            .and_then(|hp| hp.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok());
        if let Some(p) = port.filter(|p| !ports.contains(p)) {
            ports.push(p);
        }
    }
    if ports.is_empty() {
        ports.push(PORT);
    }
    let mut dch = Dch::new(host.clone(), Catalogue::builtin())
        .with_registries(Arc::clone(registries), insecure);
    dch.pace_builds = true;
    let meter = Arc::clone(&dch.meter);
    Some(crate::guestnet::Recognised {
        service: Arc::new(dch),
        meter: Some(meter),
        ports,
    })
}

/// The Docker engine of one DCH container.
#[derive(Debug)]
pub struct Dch {
    host: Host,
    catalogue: Catalogue,
    store: Mutex<images::Store>,
    /// The testbed's registries (name resolution and their CAs).
    registries: Arc<RegistryHosts>,
    /// `--insecure-registry` hosts: not verified (plain HTTP when they serve no TLS).
    insecure_registries: Vec<String>,
    /// The containerVM's CPU, which builds spend (paid by the tether at each tick).
    meter: Arc<WorkMeter>,
    /// Whether builds wait for [`Dch::meter`] (only a DCH a tether runs: nothing else
    /// ticks the meter).
    pace_builds: bool,
}

impl Dch {
    /// A fresh engine (no images) in a containerVM described by `host`, pulling from
    /// `catalogue`.
    pub fn new(host: Host, catalogue: Catalogue) -> Dch {
        Dch {
            host,
            catalogue,
            store: Mutex::new(images::Store::default()),
            registries: Arc::default(),
            insecure_registries: Vec::new(),
            meter: Arc::default(),
            pace_builds: false,
        }
    }

    /// The same engine resolving registries through `registries`, with `insecure` as its
    /// `--insecure-registry` hosts.
    pub fn with_registries(mut self, registries: Arc<RegistryHosts>, insecure: Vec<String>) -> Dch {
        self.registries = registries;
        self.insecure_registries = insecure;
        self
    }

    fn store(&self) -> MutexGuard<'_, images::Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer to `method path?query` (the path may carry an API version prefix).
    pub fn route(&self, method: &Method, path: &str, query: Option<&str>) -> Answer {
        let (version, path) = split_version(path);
        if let Some(v) = version
            && let Err(refused) = check_version(v)
        {
            return refused;
        }
        let q = parse_query(query);
        let m = method.clone();
        match (m, path) {
            (Method::GET | Method::HEAD, "/_ping") => {
                answer(StatusCode::OK, "text/plain; charset=utf-8", "OK".to_owned())
            }
            (Method::GET, "/version") => self.version(),
            (Method::GET, "/info") => self.info(),
            (Method::GET, "/containers/json") => json_answer(StatusCode::OK, "[]".to_owned()),
            (Method::GET, "/images/json") => self.store().list(&q),
            (Method::POST, "/images/create") => self.store().pull(&self.catalogue, &q),
            (m, p) => self
                .image_route(&m, p, &q)
                .unwrap_or_else(|| not_implemented(&format!("the Docker API endpoint {m} {p}"))),
        }
    }

    /// `/images/{name}/…` routes, whose names may contain `/`.
    fn image_route(
        &self,
        method: &Method,
        path: &str,
        q: &BTreeMap<String, String>,
    ) -> Option<Answer> {
        let rest = path.strip_prefix("/images/")?;
        let rest = percent_decode(rest);
        let ends = |suffix: &str| rest.strip_suffix(suffix).filter(|n| !n.is_empty());
        Some(match *method {
            Method::GET => match ends("/json") {
                Some(name) => self.store().inspect(name),
                None => return None,
            },
            Method::POST => match ends("/tag") {
                Some(name) => self.store().tag(name, q),
                None => return None,
            },
            Method::DELETE if !rest.is_empty() => self.store().delete(&rest, q),
            _ => return None,
        })
    }

    fn version(&self) -> Answer {
        let body = json!({
            "Version": VERSION,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": GIT_COMMIT,
            "GoVersion": GO_VERSION,
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": KERNEL_VERSION,
            "BuildTime": "2017-02-08T08:47:51.966588051+00:00",
            "Experimental": false,
        });
        json_answer(StatusCode::OK, body.to_string())
    }

    /// The engine's ID as dockerd shows it (12 groups of 4 base32 characters), derived from
    /// the hostname so that it is stable.
    fn engine_id(&self) -> String {
        const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let digest = Sha256::digest(format!("dch:{}", self.host.hostname).as_bytes());
        let chars: Vec<char> = digest
            .iter()
            // Two characters a byte (its low and high five bits): 64, of which 48 are used.
            .flat_map(|b| [b % 32, b / 8])
            .take(48)
            .map(|i| BASE32[usize::from(i)] as char)
            .collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(":")
    }

    fn info(&self) -> Answer {
        let images = self.store().image_count();
        let mut body = json!({
            "ID": self.engine_id(),
            "Containers": 0,
            "ContainersRunning": 0,
            "ContainersPaused": 0,
            "ContainersStopped": 0,
            "Images": images,
            "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"],
                ["Native Overlay Diff", "true"]],
            "SystemStatus": null,
            "Plugins": {
                "Volume": ["local"],
                "Network": ["bridge", "host", "macvlan", "null", "overlay"],
                "Authorization": null,
            },
            "MemoryLimit": true,
            "SwapLimit": true,
            "KernelMemory": true,
            "CpuCfsPeriod": true,
            "CpuCfsQuota": true,
            "CPUShares": true,
            "CPUSet": true,
            "IPv4Forwarding": true,
            "BridgeNfIptables": true,
            "BridgeNfIp6tables": true,
            "Debug": false,
            "OomKillDisable": true,
        });
        // In two parts: one `json!` of every field exceeds the macro recursion limit.
        let rest = json!({
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "KernelVersion": KERNEL_VERSION,
            "OperatingSystem": "VMware Photon OS/Linux",
            "OSType": "linux",
            "Architecture": "x86_64",
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": null,
                    "Secure": true, "Official": true}},
                "Mirrors": null,
            },
            "NCPU": self.host.ncpu,
            "MemTotal": self.host.mem_total_bytes,
            "DockerRootDir": "/var/lib/docker",
            "HttpProxy": "",
            "HttpsProxy": "",
            "NoProxy": "",
            "Name": self.host.hostname,
            "Labels": [],
            "ExperimentalBuild": false,
            "ServerVersion": VERSION,
            "ClusterStore": "",
            "ClusterAdvertise": "",
            "Runtimes": {"runc": {"path": "docker-runc"}},
            "DefaultRuntime": "runc",
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                "ControlAvailable": false, "Error": "", "RemoteManagers": null},
            "LiveRestoreEnabled": false,
            "Isolation": "",
            "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": "aa8187dbd3b7ad67d8e5e3a15115d3eef43a7ed1",
                "Expected": "aa8187dbd3b7ad67d8e5e3a15115d3eef43a7ed1"},
            "RuncCommit": {"ID": "9df8b306d01f59d3a8029be411de015b7304dd8f",
                "Expected": "9df8b306d01f59d3a8029be411de015b7304dd8f"},
            "InitCommit": {"ID": "949e6fa", "Expected": "949e6fa"},
            "SecurityOptions": ["name=seccomp,profile=default"],
        });
        if let (Some(b), serde_json::Value::Object(r)) = (body.as_object_mut(), rest) {
            b.extend(r);
        }
        json_answer(StatusCode::OK, body.to_string())
    }

    /// Answers one request: reads its body (kept only for `POST /build`, the build
    /// context; discarded otherwise), then routes it.
    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        activity: Option<Activity>,
    ) -> Response<Full<Bytes>> {
        let (parts, mut body) = req.into_parts();
        let (version, path) = split_version(parts.uri.path());
        let is_build = parts.method == Method::POST && path == "/build";
        let is_auth = parts.method == Method::POST && path == "/auth";
        let keep_limit = if is_build {
            MAX_BODY_BYTES
        } else if is_auth {
            MAX_AUTH_BODY_BYTES
        } else {
            0
        };
        let mut kept: Vec<u8> = Vec::new();
        let mut read_bytes: u64 = 0;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Some(data) = f.data_ref() {
                        read_bytes += data.len() as u64;
                        if read_bytes <= keep_limit {
                            kept.extend_from_slice(data);
                        }
                    }
                    if read_bytes > MAX_BODY_BYTES {
                        return error(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "request body too large for this DCH emulation",
                        )
                        .into_response(false, false);
                    }
                }
                Err(_) => break,
            }
        }
        let ping = path == "/_ping";
        if let Some(a) = self
            .remote_route(&parts, version, path, &kept, read_bytes)
            .await
        {
            return a.into_response(false, false);
        }
        if is_build {
            let refused = version.and_then(|v| check_version(v).err());
            let answer = match refused {
                Some(a) => a,
                // Reading the tar and planning the build is CPU work: off the I/O threads.
                None => {
                    let dch = Arc::clone(&self);
                    let query = parts.uri.query().map(str::to_owned);
                    let built = tokio::task::spawn_blocking(move || {
                        Some(dch.build(query.as_deref(), &kept))
                    })
                    .await
                    .ok()
                    .flatten();
                    let Some(build::Built {
                        answer,
                        cpu_mhz_s,
                        image,
                    }) = built
                    else {
                        return error(StatusCode::INTERNAL_SERVER_ERROR, "the build failed")
                            .into_response(false, false);
                    };
                    let virtual_ms = match self.spend_active(cpu_mhz_s, activity.as_ref()).await {
                        Ok(ms) => ms,
                        Err(BuildBusy) => {
                            return error(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "too many builds are waiting for this DCH's CPU; try again later",
                            )
                            .into_response(false, false);
                        }
                    };
                    self.keep(image);
                    let mut r = answer.into_response(false, false);
                    if let Some(ms) = virtual_ms
                        && let Ok(v) = HeaderValue::from_str(&ms.to_string())
                    {
                        r.headers_mut().insert(BUILD_VIRTUAL_MS_HEADER, v);
                    }
                    return r;
                }
            };
            return answer.into_response(false, false);
        }
        self.route(&parts.method, parts.uri.path(), parts.uri.query())
            .into_response(parts.method == Method::HEAD, ping)
    }
}

/// A build's CPU could not be queued (the meter is full) or its wait ended without it.
#[derive(Debug, Clone, Copy)]
struct BuildBusy;

impl Dch {
    /// Spends `cpu_mhz_s` of work on this DCH's containerVM (its build steps), at the rate
    /// the contention model grants it, and returns how long that took in virtual time.
    /// `None` for a DCH no tether runs (nothing would pay the work).
    async fn spend(&self, cpu_mhz_s: u64) -> Result<Option<i64>, BuildBusy> {
        if !self.pace_builds {
            return Ok(None);
        }
        let (started_ms, done) = self.meter.submit_now(cpu_mhz_s).ok_or(BuildBusy)?;
        let ended_ms = done.await.map_err(|_| BuildBusy)?;
        Ok(Some(ended_ms - started_ms))
    }

    /// [`Dch::spend`], the connection marked active meanwhile: a build waiting on the
    /// virtual clock (at `vicbed serve --speed 1`, a minute or more) is not an idle client.
    async fn spend_active(
        &self,
        cpu_mhz_s: u64,
        activity: Option<&Activity>,
    ) -> Result<Option<i64>, BuildBusy> {
        let spend = self.spend(cpu_mhz_s);
        tokio::pin!(spend);
        loop {
            tokio::select! {
                r = &mut spend => return r,
                () = tokio::time::sleep(Duration::from_secs(10)) => {
                    if let Some(a) = activity {
                        a.touch();
                    }
                }
            }
        }
    }

    /// The routes that talk to a registry (login, push, pull from a testbed registry):
    /// async, so apart from [`Dch::route`]. `None` for every other request.
    async fn remote_route(
        &self,
        parts: &hyper::http::request::Parts,
        version: Option<&str>,
        path: &str,
        body: &[u8],
        body_bytes: u64,
    ) -> Option<Answer> {
        if parts.method != Method::POST {
            return None;
        }
        let auth = parts
            .headers
            .get("x-registry-auth")
            .and_then(|v| v.to_str().ok());
        let q = parse_query(parts.uri.query());
        let push_name = path
            .strip_prefix("/images/")
            .map(percent_decode)
            .and_then(|rest| rest.strip_suffix("/push").map(str::to_owned))
            .filter(|n| !n.is_empty());
        let remote_pull = (path == "/images/create")
            .then(|| self.pulls_from_registry(&q))
            .flatten();
        if path != "/auth" && push_name.is_none() && remote_pull.is_none() {
            return None;
        }
        if let Some(refused) = version.and_then(|v| check_version(v).err()) {
            return Some(refused);
        }
        Some(if path == "/auth" {
            if body_bytes > MAX_AUTH_BODY_BYTES {
                error(StatusCode::PAYLOAD_TOO_LARGE, "auth config too large")
            } else {
                self.login(body).await
            }
        } else if let Some(name) = push_name {
            self.push(&name, &q, auth).await
        } else if let Some(r) = remote_pull {
            self.pull_remote(&r, auth).await
        } else {
            return None;
        })
    }
}

impl Service for Dch {
    fn name(&self) -> &'static str {
        "dockerd"
    }

    fn serve(self: Arc<Self>, conn: GuestConn, _peer: SocketAddr) -> Serving {
        let activity = conn.activity();
        Box::pin(self.serve_io(conn, Some(activity)))
    }
}

impl Dch {
    /// Serves HTTP/1.1 on one connection until either side ends it.
    async fn serve_io<I>(self: Arc<Self>, io: I, activity: Option<Activity>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let mut b = hyper::server::conn::http1::Builder::new();
        b.timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(HEADER_TIMEOUT_MS))
            .max_buf_size(MAX_HEADER_BYTES)
            .keep_alive(true)
            .auto_date_header(false);
        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
            let dch = self.clone();
            let activity = activity.clone();
            async move { Ok::<_, Infallible>(dch.handle(req, activity).await) }
        });
        if let Err(e) = b.serve_connection(TokioIo::new(io), svc).await {
            tracing::debug!(error = %e, "dch connection ended");
        }
    }
}

#[cfg(test)]
mod tests;
