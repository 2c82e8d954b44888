//! The Docker API handlers: one dispatcher over [`super::routes`], Docker 1.25 JSON in and
//! out, errors as `{"message": …}`.

use super::routes::{self, API_VERSION, MIN_API_VERSION, Route, SERVER_HEADER, SWARM_MESSAGE};
use super::sizing;
use super::state::{ApiError, Container, Engine, reserve};
use super::util::{self, ZERO_TIME, human_duration, rfc3339_ms};
use crate::firewall::{PortMapping, PortRange, TrustLevel, check_bindings, check_ports};
use crate::images::{DEFAULT_PATH, ImageConfig, Reference, digest_of};
use crate::portlayer::{self, Attachment, ContainerSpec, Power, VmState, signal_number};
use crate::workload;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body read (container create configs are a few KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest `docker wait` / `logs --follow` wait.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Bridge host ports handed out for `-p C` (docker's ephemeral range).
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

type Result<T, E = ApiError> = std::result::Result<T, E>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &json!({ "message": self.message }))
    }
}

fn json_response(status: StatusCode, v: &Json) -> Response {
    let mut r = (status, format!("{v}\n")).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn ok_json(v: &Json) -> Result<Response> {
    Ok(json_response(StatusCode::OK, v))
}

fn status(s: StatusCode) -> Result<Response> {
    Ok(s.into_response())
}

/// The router: everything goes through [`dispatch`].
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new().fallback(dispatch).with_state(engine)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters (the last of repeated keys wins).
pub fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn truthy(q: &BTreeMap<String, String>, k: &str) -> bool {
    matches!(
        q.get(k).map(String::as_str),
        Some("1" | "true" | "True" | "TRUE")
    )
}

async fn dispatch(State(engine): State<Arc<Engine>>, req: Request) -> Response {
    let mut r = handle(&engine, req)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    let h = r.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static(SERVER_HEADER));
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    r
}

/// VIC's Host-header check on the plain-HTTP port (vic.md §4.1): the Host must be the
/// endpoint's address. Disabled when debug > 2, as in VIC.
fn check_host(engine: &Engine, req: &Request) -> Result<()> {
    if engine.config.tls.is_some() || engine.config.debug > 2 {
        return Ok(());
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let ok = bare
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip == engine.local.ip() || ip == engine.config.listen.ip());
    if ok {
        return Ok(());
    }
    let remote = req
        .extensions()
        .get::<vcsim::http::ConnInfo>()
        .map(|c| c.peer.to_string())
        .unwrap_or_default();
    Err(ApiError::server(format!(
        "invalid host header from {remote} to requested host {host}"
    )))
}

async fn handle(engine: &Arc<Engine>, req: Request) -> Result<Response> {
    check_host(engine, &req)?;
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = parse_query(req.uri().query());
    let (ver, rest) = routes::split_version(&path);
    if let Some(msg) = ver.and_then(routes::version_error) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, msg));
    }
    let route = routes::route(&method, rest);
    let body = match route {
        Route::ContainerCreate => axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?,
        _ => Default::default(),
    };
    let head = method == Method::HEAD;
    match route {
        Route::Ping => ping(head),
        Route::Version => version(engine),
        Route::Info => info(engine).await,
        Route::ImagesCreate => pull(engine, &query),
        Route::ImagesList => images(engine),
        Route::ImageInspect(n) => image_inspect(engine, &n),
        Route::ImageTag(n) => image_tag(engine, &n, &query),
        Route::ImageDelete(n) => image_delete(engine, &n),
        Route::ContainerCreate => create(engine, &query, &body).await,
        Route::ContainerList => list(engine, &query).await,
        Route::ContainerInspect(id) => inspect(engine, &id).await,
        Route::ContainerStart(id) => start(engine, &id).await,
        Route::ContainerStop(id) => stop(engine, &id).await,
        Route::ContainerKill(id) => kill(engine, &id, &query).await,
        Route::ContainerRestart(id) => {
            let c = engine.resolve(&id)?;
            stop(engine, &c.id).await?;
            start(engine, &c.id).await?;
            status(StatusCode::NO_CONTENT)
        }
        Route::ContainerWait(id) => wait(engine, &id).await,
        Route::ContainerLogs(id) => logs(engine, &id, &query).await,
        Route::ContainerRename(id) => rename(engine, &id, &query).await,
        Route::ContainerDelete(id) => remove(engine, &id, &query).await,
        Route::NetworkList => networks(engine),
        Route::NetworkInspect(id) => network_inspect(engine, &id),
        Route::Events => events(&query),
        Route::NotImplemented(m) => Err(ApiError::server(routes::not_implemented(m))),
        Route::Swarm => Err(ApiError::new(StatusCode::NOT_FOUND, SWARM_MESSAGE)),
        Route::NotFound => Err(ApiError::new(StatusCode::NOT_FOUND, "page not found")),
    }
}

// ---------------------------------------------------------------------------------------
// System

fn ping(head: bool) -> Result<Response> {
    let mut r = if head {
        StatusCode::OK.into_response()
    } else {
        (StatusCode::OK, "OK").into_response()
    };
    let h = r.headers_mut();
    h.insert("Docker-Experimental", HeaderValue::from_static("true"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(r)
}

/// `GET /events`: VIC supports the event stream (vic.md §7.2). This endpoint records no
/// events, so the stream is empty: the response head goes out at once and the body stays
/// open until the client hangs up, `until` (Unix seconds) passes, or [`MAX_WAIT`] elapses.
/// The docker CLI (API < 1.30) subscribes to it during `docker run` to learn the exit
/// status; refusing it printed `error getting events from daemon` after every `run -d`.
fn events(query: &BTreeMap<String, String>) -> Result<Response> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let open_for = match query.get("until").filter(|u| !u.is_empty()) {
        Some(u) => {
            let until = u
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("invalid value for until: {u}"),
                    )
                })?;
            Duration::from_secs_f64(until.min(1e12))
                .saturating_sub(now)
                .min(MAX_WAIT)
        }
        None => MAX_WAIT,
    };
    let body = EmptyStream(Box::pin(tokio::time::sleep(open_for)));
    let mut r = (StatusCode::OK, Body::new(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// A response body with no data that ends when its timer fires.
struct EmptyStream(std::pin::Pin<Box<tokio::time::Sleep>>);

impl hyper::body::Body for EmptyStream {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<hyper::body::Frame<Self::Data>, Self::Error>>>
    {
        std::future::Future::poll(self.0.as_mut(), cx).map(|()| None)
    }
}

fn vic_version(engine: &Engine) -> String {
    engine.config.vic_version.trim_start_matches('v').to_owned()
}

fn driver_name(engine: &Engine) -> String {
    format!(
        "vSphere Integrated Containers v{} Backend Engine",
        vic_version(engine)
    )
}

fn version(engine: &Engine) -> Result<Response> {
    ok_json(&json!({
        "Version": vic_version(engine),
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "-",
        "GoVersion": "-",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": "-",
        "Experimental": true,
        "BuildTime": "-",
    }))
}

async fn info(engine: &Arc<Engine>) -> Result<Response> {
    let pool = engine.pl.pool_info().await?;
    let states = engine.pl.states().await?;
    let now = engine.pl.now_ms().await?;
    let running = states.values().filter(|s| s.power == Power::On).count();
    let total = states.len();
    let images = {
        let store = engine.lock();
        let ids: std::collections::BTreeSet<&str> =
            store.images.values().map(|i| i.id.as_str()).collect();
        ids.len()
    };
    let about = engine.pl.client().about().clone();
    let driver = driver_name(engine);
    let mut networks = vec![Json::from("bridge")];
    networks.extend(
        engine
            .config
            .container_networks
            .iter()
            .map(|n| Json::from(n.alias.clone())),
    );
    let system_status = json!([
        [" VCH CPU limit", format!("{} MHz", pool.cpu_limit_mhz)],
        [" VCH memory limit", format!("{} MiB", pool.mem_limit_mb)],
        [" VCH CPU usage", format!("{} MHz", pool.cpu_usage_mhz)],
        [" VCH memory usage", format!("{} MiB", pool.mem_usage_mb)],
        [driver.clone(), "RUNNING"],
        [" VMware Product", about.full_name],
        [" VMware OS", about.name],
        [" VMware OS version", about.version],
        [
            " Registry Whitelist Mode",
            "disabled.  All registry access allowed."
        ],
    ]);
    let v = json!({
        "ID": "vSphere Integrated Containers",
        "Containers": total,
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": total - running,
        "Images": images,
        "Driver": driver,
        "DriverStatus": [],
        "SystemStatus": system_status,
        "Plugins": {"Volume": [], "Network": networks, "Authorization": null, "Log": null},
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
        "Debug": engine.config.debug > 0,
        "NFd": 0,
        "OomKillDisable": true,
        "NGoroutines": 0,
        "SystemTime": rfc3339_ms(now),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "NEventsListener": 0,
        "KernelVersion": "",
        "OperatingSystem": "VMware Photon OS/Linux",
        "OSType": "linux",
        "Architecture": "x86_64",
        "IndexServerAddress": "https://index.docker.io/v1/",
    });
    let rest = json!({
        "RegistryConfig": {"InsecureRegistryCIDRs": [], "IndexConfigs": {}, "Mirrors": null},
        // NCPU is the pool's CPU limit in MHz and MemTotal its memory limit (vic.md §5.3).
        "NCPU": pool.cpu_limit_mhz,
        "MemTotal": pool.mem_limit_mb.saturating_mul(1024 * 1024),
        "DockerRootDir": "",
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": engine.config.vch_name,
        "Labels": [],
        "ExperimentalBuild": true,
        "ServerVersion": vic_version(engine),
        "ClusterStore": "",
        "ClusterAdvertise": "",
        "Runtimes": {},
        "DefaultRuntime": "",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        "LiveRestoreEnabled": false,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": [],
    });
    let mut v = v;
    if let (Some(a), Json::Object(b)) = (v.as_object_mut(), rest) {
        a.extend(b);
    }
    ok_json(&v)
}

// ---------------------------------------------------------------------------------------
// Images

fn stream_line(v: &Json) -> String {
    format!("{v}\r\n")
}

fn pull(engine: &Engine, q: &BTreeMap<String, String>) -> Result<Response> {
    if q.contains_key("fromSrc") {
        return Err(ApiError::server(routes::not_implemented("ImportImage")));
    }
    let from = q.get("fromImage").map(String::as_str).unwrap_or("");
    let tag = q.get("tag").map(String::as_str).unwrap_or("");
    let text = if tag.is_empty()
        || Reference::parse(from)
            .is_some_and(|_| from.rsplit('/').next().is_some_and(|l| l.contains(':')))
    {
        from.to_owned()
    } else {
        format!("{from}:{tag}")
    };
    let r = Reference::parse(&text)
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid reference format"))?;
    let canonical = r.canonical();
    let remote = match (&r.registry, r.repository.contains('/')) {
        (None, false) => format!("library/{}", r.repository),
        _ => r.repository.clone(),
    };
    let mut out = String::new();
    let Some(img) = engine.config.images.resolve(&canonical).cloned() else {
        let msg = format!(
            "repository {} not found: does not exist or no pull access",
            r.repo_name()
        );
        out.push_str(&stream_line(
            &json!({"errorDetail": {"message": msg}, "error": msg}),
        ));
        return Ok(stream_response(out));
    };
    let already = engine.lock().images.contains_key(&canonical);
    if already {
        out.push_str(&stream_line(
            &json!({"status": format!("Status: Image is up to date for {canonical}")}),
        ));
    } else {
        out.push_str(&stream_line(
            &json!({"status": format!("Pulling from {remote}"), "id": r.tag}),
        ));
        let layer = &img.id.trim_start_matches("sha256:")[..12.min(img.id.len().saturating_sub(7))];
        for s in [
            "Pulling fs layer",
            "Verifying Checksum",
            "Download complete",
            "Pull complete",
        ] {
            out.push_str(&stream_line(
                &json!({"status": s, "progressDetail": {}, "id": layer}),
            ));
        }
        out.push_str(&stream_line(&json!({"status": format!("Digest: sha256:{}", digest_of(&format!("digest:{canonical}")))})));
        out.push_str(&stream_line(
            &json!({"status": format!("Status: Downloaded newer image for {canonical}")}),
        ));
        engine.lock().images.insert(canonical, img);
    }
    Ok(stream_response(out))
}

fn stream_response(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn created_s(img: &ImageConfig) -> i64 {
    vcsim::vmodl::parse_datetime(&img.created).unwrap_or(0) / 1000
}

fn images(engine: &Engine) -> Result<Response> {
    let store = engine.lock();
    let mut by_id: BTreeMap<String, (ImageConfig, Vec<String>)> = BTreeMap::new();
    for (r, img) in &store.images {
        by_id
            .entry(img.id.clone())
            .or_insert_with(|| (img.clone(), Vec::new()))
            .1
            .push(r.clone());
    }
    let mut list: Vec<Json> = by_id
        .into_iter()
        .map(|(id, (img, tags))| {
            let used = store
                .containers
                .values()
                .filter(|c| c.image.id == id)
                .count();
            json!({
                "Id": id,
                "ParentId": "",
                "RepoTags": tags,
                "RepoDigests": [],
                "Created": created_s(&img),
                "Size": img.size_bytes,
                "VirtualSize": img.size_bytes,
                "SharedSize": -1,
                "Labels": {},
                "Containers": used,
            })
        })
        .collect();
    list.sort_by_key(|v| std::cmp::Reverse(v["Created"].as_i64().unwrap_or(0)));
    ok_json(&Json::Array(list))
}

fn image_json(img: &ImageConfig, tags: Vec<String>) -> Json {
    let exposed: serde_json::Map<String, Json> = img
        .exposed_ports
        .iter()
        .map(|(p, proto)| (format!("{p}/{}", proto.as_str()), json!({})))
        .collect();
    let config = json!({
        "Hostname": "", "Domainname": "", "User": "",
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "ExposedPorts": if exposed.is_empty() { Json::Null } else { Json::Object(exposed) },
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": img.env, "Cmd": if img.cmd.is_empty() { Json::Null } else { json!(img.cmd) },
        "Image": "", "Volumes": null, "WorkingDir": img.working_dir,
        "Entrypoint": if img.entrypoint.is_empty() { Json::Null } else { json!(img.entrypoint) },
        "OnBuild": null, "Labels": {},
    });
    json!({
        "Id": img.id,
        "RepoTags": tags,
        "RepoDigests": [],
        "Parent": "",
        "Comment": "",
        "Created": img.created,
        "Container": "",
        "ContainerConfig": config.clone(),
        "DockerVersion": "",
        "Author": "",
        "Config": config,
        "Architecture": "amd64",
        "Os": "linux",
        "Size": img.size_bytes,
        "VirtualSize": img.size_bytes,
        "GraphDriver": {"Name": "vsphere", "Data": null},
        "RootFS": {"Type": "layers", "Layers": [img.id]},
    })
}

fn no_such_image(name: &str) -> ApiError {
    let shown = Reference::parse(name).map_or_else(|| name.to_owned(), |r| r.canonical());
    ApiError::new(StatusCode::NOT_FOUND, format!("No such image: {shown}"))
}

fn image_inspect(engine: &Engine, name: &str) -> Result<Response> {
    let img = engine.find_image(name).ok_or_else(|| no_such_image(name))?;
    let tags: Vec<String> = engine
        .lock()
        .images
        .iter()
        .filter(|(_, i)| i.id == img.id)
        .map(|(r, _)| r.clone())
        .collect();
    ok_json(&image_json(&img, tags))
}

fn image_tag(engine: &Engine, name: &str, q: &BTreeMap<String, String>) -> Result<Response> {
    let img = engine.find_image(name).ok_or_else(|| no_such_image(name))?;
    let repo = q.get("repo").map(String::as_str).unwrap_or("");
    let tag = q
        .get("tag")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    let r = Reference::parse(&format!("{repo}:{tag}"))
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid reference format"))?;
    engine.lock().images.insert(r.canonical(), img);
    status(StatusCode::CREATED)
}

fn image_delete(engine: &Engine, name: &str) -> Result<Response> {
    let img = engine.find_image(name).ok_or_else(|| no_such_image(name))?;
    let mut store = engine.lock();
    if let Some(c) = store.containers.values().find(|c| c.image.id == img.id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                &c.id[..12],
                &img.id.trim_start_matches("sha256:")[..12.min(img.id.len().saturating_sub(7))]
            ),
        ));
    }
    let refs: Vec<String> = store
        .images
        .iter()
        .filter(|(_, i)| i.id == img.id)
        .map(|(r, _)| r.clone())
        .collect();
    let mut out: Vec<Json> = Vec::new();
    for r in refs {
        store.images.remove(&r);
        out.push(json!({ "Untagged": r }));
    }
    out.push(json!({ "Deleted": img.id }));
    ok_json(&Json::Array(out))
}

// ---------------------------------------------------------------------------------------
// Containers

fn strings_of(v: &Json) -> Option<Vec<String>> {
    match v {
        Json::Array(a) => Some(
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
        ),
        Json::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// `HostConfig.PortBindings` as `-p` mappings.
fn port_bindings(hc: &Json) -> Result<Vec<PortMapping>> {
    let mut out = Vec::new();
    let Some(map) = hc.get("PortBindings").and_then(Json::as_object) else {
        return Ok(out);
    };
    for (cport, bindings) in map {
        let list = bindings.as_array().cloned().unwrap_or_default();
        let list = if list.is_empty() {
            vec![json!({})]
        } else {
            list
        };
        for b in list {
            let ip = b.get("HostIp").and_then(Json::as_str).unwrap_or("");
            let hp = b.get("HostPort").and_then(Json::as_str).unwrap_or("");
            let spec = match (ip.is_empty(), hp.is_empty()) {
                (true, true) => cport.clone(),
                (true, false) => format!("{hp}:{cport}"),
                (false, _) => format!("{ip}:{hp}:{cport}"),
            };
            let m: PortMapping = spec
                .parse()
                .map_err(|e: crate::firewall::FirewallError| ApiError::server(e.to_string()))?;
            out.push(m);
        }
    }
    Ok(out)
}

fn network_of(engine: &Engine, body: &Json, hc: &Json) -> Result<(Attachment, String)> {
    let endpoints = body
        .pointer("/NetworkingConfig/EndpointsConfig")
        .and_then(Json::as_object);
    if endpoints.is_some_and(|e| e.len() > 1) {
        return Err(ApiError::server(
            "NetworkMode error: Container can be connected to one vicnetwork endpoint only",
        ));
    }
    let mode = hc
        .get("NetworkMode")
        .and_then(Json::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .or_else(|| endpoints.and_then(|e| e.keys().next().cloned()))
        .unwrap_or_else(|| "default".into());
    match mode.as_str() {
        "default" | "bridge" => Ok((Attachment::Bridge, mode)),
        alias => {
            if engine
                .config
                .container_networks
                .iter()
                .any(|n| n.alias == alias)
            {
                Ok((Attachment::Container(alias.to_owned()), mode))
            } else {
                Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("network {alias} not found"),
                ))
            }
        }
    }
}

async fn create(
    engine: &Arc<Engine>,
    q: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Response> {
    let body: Json = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")))?;
    let hc = body.get("HostConfig").cloned().unwrap_or_else(|| json!({}));
    let image_ref = body
        .get("Image")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(limit) = engine.config.container_limit {
        let count = engine.lock().containers.len();
        if count >= limit as usize {
            return Err(ApiError::server(format!(
                "Container count exceeds limit {limit}. containers: {count}, reservation: 1"
            )));
        }
    }
    let image = engine
        .find_image(&image_ref)
        .ok_or_else(|| no_such_image(&image_ref))?;
    // Sizing and port checks (validateCreateConfig, vic.md §5.3, §3.2).
    let memory = hc.get("Memory").and_then(Json::as_i64).unwrap_or(0);
    let memory_mb = sizing::memory_mb(memory);
    let cpuset = hc
        .get("CpusetCpus")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    let num_cpus = sizing::cpu_count(
        &cpuset,
        hc.get("CpuCount").and_then(Json::as_i64).unwrap_or(0),
    )
    .map_err(ApiError::server)?;
    if let Some(b) = hc
        .get("Binds")
        .and_then(strings_of)
        .and_then(|b| b.first().cloned())
    {
        if b.starts_with('/') {
            return Err(ApiError::server(
                "mounting directories as a data volume is not supported.",
            ));
        }
        // Named volumes need the volume store, which this endpoint does not implement.
        return Err(ApiError::server(routes::not_implemented("VolumeCreate")));
    }
    let (network, network_mode) = network_of(engine, &body, &hc)?;
    let ports = port_bindings(&hc)?;
    check_bindings(&ports, None).map_err(|e| ApiError::server(e.to_string()))?;
    if let Attachment::Container(alias) = &network {
        let trust = portlayer::container_network(&engine.config, alias)
            .map(|n| n.trust)
            .unwrap_or(None);
        check_ports(alias, trust, &ports).map_err(|e| ApiError::server(e.to_string()))?;
    }
    // Merge with the image (vic.md §7.3 step 3.1).
    let req_entry = body.get("Entrypoint").and_then(strings_of);
    let req_cmd = body
        .get("Cmd")
        .and_then(strings_of)
        .filter(|c| !c.is_empty());
    let entrypoint = req_entry
        .clone()
        .unwrap_or_else(|| image.entrypoint.clone());
    let cmd = match (req_cmd, &req_entry) {
        (Some(c), _) => c,
        (None, Some(_)) => Vec::new(),
        (None, None) => image.cmd.clone(),
    };
    let argv: Vec<String> = entrypoint.iter().chain(cmd.iter()).cloned().collect();
    if argv.is_empty() || argv[0].is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "No command specified"));
    }
    let tty = body.get("Tty").and_then(Json::as_bool).unwrap_or(false);
    let open_stdin = body
        .get("OpenStdin")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let mut env: Vec<String> = image.env.clone();
    for e in body.get("Env").and_then(strings_of).unwrap_or_default() {
        let key = e.split('=').next().unwrap_or("").to_owned();
        env.retain(|x| x.split('=').next() != Some(key.as_str()));
        env.push(e);
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_owned());
    }
    if tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let labels: BTreeMap<String, String> = body
        .get("Labels")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let stop_signal = body
        .get("StopSignal")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("SIGTERM")
        .to_owned();
    let wanted = q
        .get("name")
        .map(|n| n.trim_start_matches('/'))
        .filter(|n| !n.is_empty());
    let (id, name) = {
        let mut store = engine.lock();
        reserve(&mut store, &engine.config.vch_name, wanted)?
    };
    let release = |engine: &Engine| {
        let mut store = engine.lock();
        if store.names.get(&name) == Some(&id) {
            store.names.remove(&name);
        }
    };
    let created_ms = match engine.pl.now_ms().await {
        Ok(t) => t,
        Err(e) => {
            release(engine);
            return Err(e.into());
        }
    };
    let hostname = body
        .get("Hostname")
        .and_then(Json::as_str)
        .filter(|h| !h.is_empty())
        .map_or_else(|| id[..12].to_owned(), str::to_owned);
    let working_dir = body
        .get("WorkingDir")
        .and_then(Json::as_str)
        .filter(|w| !w.is_empty())
        .map_or_else(|| image.working_dir.clone(), str::to_owned);
    let attach_out = body
        .get("AttachStdout")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let spec = ContainerSpec {
        id: id.clone(),
        name: name.clone(),
        num_cpus,
        memory_mb,
        path: argv[0].clone(),
        args: argv.clone(),
        env: env.clone(),
        working_dir: working_dir.clone(),
        tty,
        attach: attach_out,
        open_stdin,
        stop_signal: stop_signal.clone(),
        hostname: hostname.clone(),
        repo: image_ref.clone(),
        image_id: image.id.clone(),
        workload: image.workload.clone(),
        network: network.clone(),
        ports: ports.clone(),
        labels: labels.clone(),
        created_s: created_ms.div_euclid(1000),
    };
    let vm = match engine.pl.create(&spec).await {
        Ok(vm) => vm,
        Err(e) => {
            release(engine);
            return Err(e.into());
        }
    };
    let mut host_config = hc.clone();
    if let Some(o) = host_config.as_object_mut() {
        o.insert("NetworkMode".into(), json!(network_mode));
    }
    let exposed = body
        .get("ExposedPorts")
        .and_then(Json::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_else(|| {
            image
                .exposed_ports
                .iter()
                .map(|(p, t)| format!("{p}/{}", t.as_str()))
                .collect()
        });
    let flag = |k: &str| body.get(k).and_then(Json::as_bool).unwrap_or(false);
    let c = Container {
        id: id.clone(),
        name,
        vm,
        image_ref,
        image,
        entrypoint,
        cmd,
        argv,
        env,
        working_dir,
        tty,
        open_stdin,
        attach: (
            flag("AttachStdin"),
            attach_out,
            flag("AttachStderr"),
            flag("StdinOnce"),
        ),
        hostname,
        user: body
            .get("User")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned(),
        exposed,
        labels,
        network,
        ports,
        mapped: Vec::new(),
        num_cpus,
        memory_mb,
        cpuset,
        stop_signal,
        created_ms,
        killed: None,
        binding: None,
        host_config,
    };
    engine.lock().containers.insert(id.clone(), c);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "Id": id, "Warnings": null }),
    ))
}

/// Maps `c`'s bridge ports on the endpoint (vic.md §3.4: `-p H:C` on the bridge is served by
/// the VCH). The mapping is recorded; the testbed forwards no traffic.
async fn map_ports(engine: &Engine, c: &Container) -> Result<Vec<PortMapping>> {
    if c.network != Attachment::Bridge || c.ports.is_empty() {
        return Ok(Vec::new());
    }
    // Holders that are no longer running give their ports back first.
    let holders: Vec<(String, vcsim::vmodl::MoRef)> = {
        let store = engine.lock();
        store
            .host_ports
            .values()
            .filter(|id| **id != c.id)
            .filter_map(|id| store.containers.get(id).map(|o| (id.clone(), o.vm.clone())))
            .collect()
    };
    for (id, vm) in holders {
        let running = matches!(engine.pl.state(&vm).await, Ok(s) if s.power == Power::On);
        if !running {
            release_ports(engine, &id);
        }
    }
    let mut store = engine.lock();
    store.host_ports.retain(|_, id| *id != c.id);
    let mut mapped = Vec::new();
    for p in &c.ports {
        let proto = p.transport.as_str();
        let host = match p.host_port {
            Some(h) => {
                if store.host_ports.contains_key(&(h.start, proto)) {
                    store.host_ports.retain(|_, id| *id != c.id);
                    return Err(ApiError::server(format!(
                        "Bind for 0.0.0.0:{} failed: port is already allocated",
                        h.start
                    )));
                }
                h.start
            }
            None => match EPHEMERAL_PORTS
                .clone()
                .find(|h| !store.host_ports.contains_key(&(*h, proto)))
            {
                Some(h) => h,
                None => {
                    store.host_ports.retain(|_, id| *id != c.id);
                    return Err(ApiError::server("all ports are allocated"));
                }
            },
        };
        store.host_ports.insert((host, proto), c.id.clone());
        let mut m = *p;
        m.host_port = Some(PortRange::single(host));
        mapped.push(m);
    }
    Ok(mapped)
}

fn release_ports(engine: &Engine, id: &str) {
    let mut store = engine.lock();
    store.host_ports.retain(|_, owner| owner != id);
    if let Some(c) = store.containers.get_mut(id) {
        c.mapped.clear();
    }
}

async fn start(engine: &Arc<Engine>, key: &str) -> Result<Response> {
    let c = engine.resolve(key)?;
    let _busy = engine.busy(&c, "start")?;
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    if st.power == Power::On {
        return status(StatusCode::NOT_MODIFIED);
    }
    let mapped = map_ports(engine, &c).await?;
    match engine.pl.start(&c.vm, &c.id, &c.network).await {
        Ok(binding) => {
            engine.update(&c.id, |c| {
                c.binding = Some(binding);
                c.mapped = mapped;
                c.killed = None;
            });
            status(StatusCode::NO_CONTENT)
        }
        Err(e) => {
            release_ports(engine, &c.id);
            Err(e.into())
        }
    }
}

fn gone(e: portlayer::PortLayerError, key: &str) -> ApiError {
    if e.is_gone() {
        ApiError::no_such_container(key)
    } else {
        e.into()
    }
}

async fn stop(engine: &Arc<Engine>, key: &str) -> Result<Response> {
    let c = engine.resolve(key)?;
    let _busy = engine.busy(&c, "stop")?;
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    if st.power != Power::On {
        return status(StatusCode::NOT_MODIFIED);
    }
    engine.pl.stop(&c.vm, &c.id, &c.stop_signal).await?;
    let now = engine.pl.now_ms().await?;
    let code = 128 + signal_number(&c.stop_signal).unwrap_or(15);
    engine.update(&c.id, |c| {
        c.killed = Some((code, now));
        c.binding = None;
    });
    release_ports(engine, &c.id);
    // A stopped container gives its address back (VIC unbinds on stop).
    engine.pl.unbind(&c.id);
    status(StatusCode::NO_CONTENT)
}

async fn kill(engine: &Arc<Engine>, key: &str, q: &BTreeMap<String, String>) -> Result<Response> {
    let c = engine.resolve(key)?;
    let signal = q
        .get("signal")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "KILL".into());
    let Some(num) = signal_number(&signal) else {
        return Err(ApiError::server(format!("Invalid signal: {signal}")));
    };
    let _busy = engine.busy(&c, "kill")?;
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    if st.power != Power::On {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Cannot kill container {key}: Container {} is not running",
                c.id
            ),
        ));
    }
    engine.pl.signal(&c.vm, &c.id, &signal).await?;
    if portlayer::signal_terminates(&signal) {
        let now = engine.pl.now_ms().await?;
        engine.update(&c.id, |c| {
            c.killed = Some((128 + num, now));
            c.binding = None;
        });
        release_ports(engine, &c.id);
        engine.pl.unbind(&c.id);
    }
    status(StatusCode::NO_CONTENT)
}

async fn remove(engine: &Arc<Engine>, key: &str, q: &BTreeMap<String, String>) -> Result<Response> {
    let c = engine.resolve(key)?;
    let _busy = engine.busy(&c, "remove")?;
    match engine.pl.state(&c.vm).await {
        Ok(st) if st.power == Power::On => {
            if !truthy(q, "force") {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "You cannot remove a running container {}. Stop the container before attempting removal or use -f",
                        c.id
                    ),
                ));
            }
            engine.pl.stop(&c.vm, &c.id, "SIGKILL").await?;
            engine.pl.remove(&c.vm, &c.id).await?;
        }
        Ok(_) => engine.pl.remove(&c.vm, &c.id).await?,
        // Gone already: forget it.
        Err(e) if e.is_gone() => engine.pl.unbind(&c.id),
        Err(e) => return Err(e.into()),
    }
    let mut store = engine.lock();
    store.containers.remove(&c.id);
    if store.names.get(&c.name) == Some(&c.id) {
        store.names.remove(&c.name);
    }
    store.host_ports.retain(|_, owner| *owner != c.id);
    status(StatusCode::NO_CONTENT)
}

async fn rename(engine: &Arc<Engine>, key: &str, q: &BTreeMap<String, String>) -> Result<Response> {
    let c = engine.resolve(key)?;
    let new = q
        .get("name")
        .map(|n| n.trim_start_matches('/'))
        .unwrap_or("")
        .to_owned();
    if new.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Neither old nor new names may be empty",
        ));
    }
    if !util::valid_name(&new) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            util::invalid_name(&new),
        ));
    }
    let _busy = engine.busy(&c, "rename")?;
    {
        let mut store = engine.lock();
        if let Some(other) = store.names.get(&new) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                util::name_conflict(&new, other),
            ));
        }
        store.names.insert(new.clone(), c.id.clone());
    }
    match engine.pl.rename(&c.vm, &c.id, &new).await {
        Ok(_) => {
            let mut store = engine.lock();
            store.names.remove(&c.name);
            if let Some(x) = store.containers.get_mut(&c.id) {
                x.name = new;
            }
            status(StatusCode::NO_CONTENT)
        }
        Err(e) => {
            engine.lock().names.remove(&new);
            Err(gone(e, key))
        }
    }
}

/// The container's state as docker reports it.
struct Phase {
    status: &'static str,
    running: bool,
    exit_code: i32,
    error: String,
    started_ms: Option<i64>,
    finished_ms: Option<i64>,
}

fn phase(c: &Container, st: Option<&VmState>) -> Phase {
    let started_ms = st.and_then(|s| s.start_s.map(|t| t * 1000).or(s.boot_ms));
    let Some(s) = st else {
        return Phase {
            status: "dead",
            running: false,
            exit_code: 0,
            error: "the container VM no longer exists".into(),
            started_ms: None,
            finished_ms: None,
        };
    };
    if s.power == Power::On {
        return Phase {
            status: "running",
            running: true,
            exit_code: 0,
            error: String::new(),
            started_ms,
            finished_ms: None,
        };
    }
    match s.started.as_deref() {
        None => Phase {
            status: "created",
            running: false,
            exit_code: 0,
            error: String::new(),
            started_ms: None,
            finished_ms: None,
        },
        Some("true") => {
            let (code, finished) = match (s.status, c.killed) {
                (Some(code), _) => (code, s.stop_s.map(|t| t * 1000)),
                (None, Some((code, at))) => (code, Some(at)),
                (None, None) => (0, s.stop_s.map(|t| t * 1000)),
            };
            Phase {
                status: "exited",
                running: false,
                exit_code: code,
                error: String::new(),
                started_ms,
                finished_ms: finished,
            }
        }
        Some(err) => Phase {
            status: "created",
            running: false,
            exit_code: 128,
            error: err.to_owned(),
            started_ms: None,
            finished_ms: None,
        },
    }
}

fn status_text(p: &Phase, now_ms: i64) -> String {
    let ago = |t: Option<i64>| human_duration((now_ms - t.unwrap_or(now_ms)) / 1000);
    match p.status {
        "running" => format!("Up {}", ago(p.started_ms)),
        "exited" => format!("Exited ({}) {} ago", p.exit_code, ago(p.finished_ms)),
        "dead" => "Dead".into(),
        _ => "Created".into(),
    }
}

fn network_id(engine: &Engine, name: &str) -> String {
    util::object_id("network", &engine.config.vch_name, name)
}

/// The address, prefix and gateway docker shows for `c`.
fn address(
    engine: &Engine,
    c: &Container,
    st: Option<&VmState>,
    running: bool,
) -> (String, u8, String) {
    if !running {
        return (String::new(), 0, String::new());
    }
    let b = c.binding.as_ref();
    let ip = b
        .and_then(|b| b.ip)
        .or_else(|| st.and_then(|s| s.ip))
        .map(|i| i.to_string())
        .unwrap_or_default();
    let prefix = b.map(|b| b.prefix).unwrap_or(0);
    let gw = b
        .and_then(|b| b.gateway)
        .map(|g| g.to_string())
        .unwrap_or_default();
    let _ = engine;
    (ip, prefix, gw)
}

fn endpoint_json(engine: &Engine, c: &Container, ip: &str, prefix: u8, gw: &str) -> Json {
    let name = c.network.name();
    json!({ name: {
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "NetworkID": network_id(engine, name),
        "EndpointID": if ip.is_empty() { String::new() } else { util::object_id("endpoint", &c.id, name) },
        "Gateway": gw,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
    }})
}

/// `docker ps` port entries (vic.md §3.4 "docker ps / docker port").
fn ps_ports(engine: &Engine, c: &Container, ip: &str, running: bool) -> Vec<Json> {
    let mut out = Vec::new();
    match &c.network {
        Attachment::Bridge => {
            for m in &c.mapped {
                out.push(json!({"IP": "0.0.0.0", "PrivatePort": m.container_port.start, "PublicPort": m.host_port.map(|h| h.start).unwrap_or(0), "Type": m.transport.as_str()}));
            }
            if c.mapped.is_empty() {
                for e in &c.exposed {
                    let (p, t) = e.split_once('/').unwrap_or((e, "tcp"));
                    out.push(json!({"PrivatePort": p.parse::<u16>().unwrap_or(0), "Type": t}));
                }
            }
        }
        Attachment::Container(alias) => {
            if !running {
                return out;
            }
            let trust = portlayer::container_network(&engine.config, alias)
                .map(|n| n.trust)
                .unwrap_or(None);
            match TrustLevel::effective(trust) {
                TrustLevel::Published => {
                    for m in &c.ports {
                        let public = m.host_port.unwrap_or(m.container_port).start;
                        out.push(json!({"IP": ip, "PrivatePort": m.container_port.start, "PublicPort": public, "Type": m.transport.as_str()}));
                    }
                }
                TrustLevel::Open => {
                    out.push(json!({"IP": ip, "PrivatePort": 0, "PublicPort": 0, "Type": "*"}));
                }
                _ => {}
            }
        }
    }
    out
}

fn inspect_ports(c: &Container) -> Json {
    let mut m = serde_json::Map::new();
    for e in &c.exposed {
        m.insert(e.clone(), Json::Null);
    }
    for p in &c.mapped {
        let key = format!("{}/{}", p.container_port.start, p.transport.as_str());
        let entry = m.entry(key).or_insert_with(|| json!([]));
        if !entry.is_array() {
            *entry = json!([]);
        }
        if let Some(a) = entry.as_array_mut() {
            a.push(json!({"HostIp": "0.0.0.0", "HostPort": p.host_port.map(|h| h.start.to_string()).unwrap_or_default()}));
        }
    }
    Json::Object(m)
}

fn command_text(c: &Container) -> String {
    c.argv.join(" ")
}

fn ps_entry(engine: &Engine, c: &Container, st: Option<&VmState>, now_ms: i64) -> Json {
    let p = phase(c, st);
    let (ip, prefix, gw) = address(engine, c, st, p.running);
    json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": c.image_ref,
        "ImageID": c.image.id,
        "Command": command_text(c),
        "Created": c.created_ms.div_euclid(1000),
        "Ports": ps_ports(engine, c, &ip, p.running),
        "Labels": c.labels,
        "State": p.status,
        "Status": status_text(&p, now_ms),
        "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode").cloned().unwrap_or(json!("default"))},
        "NetworkSettings": {"Networks": endpoint_json(engine, c, &ip, prefix, &gw)},
        "Mounts": [],
    })
}

/// Docker's list filters, in the JSON map form (`{"status":{"exited":true}}`) or the older
/// list form (`{"status":["exited"]}`).
fn parse_filters(text: &str) -> Result<BTreeMap<String, Vec<String>>> {
    if text.is_empty() {
        return Ok(BTreeMap::new());
    }
    let v: Json = serde_json::from_str(text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid filter: {e}")))?;
    let mut out = BTreeMap::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        let list: Vec<String> = match vals {
            Json::Object(m) => m
                .iter()
                .filter(|(_, b)| b.as_bool().unwrap_or(true))
                .map(|(s, _)| s.clone())
                .collect(),
            Json::Array(a) => a
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        out.insert(k.clone(), list);
    }
    Ok(out)
}

fn matches_filters(c: &Container, status: &str, f: &BTreeMap<String, Vec<String>>) -> Result<bool> {
    for (k, vals) in f {
        if vals.is_empty() {
            continue;
        }
        let ok = match k.as_str() {
            "status" => vals.iter().any(|v| v == status),
            "name" => vals
                .iter()
                .any(|v| c.name.contains(v.trim_start_matches('/'))),
            "id" => vals.iter().any(|v| c.id.starts_with(v.as_str())),
            "label" => vals.iter().any(|v| match v.split_once('=') {
                Some((lk, lv)) => c.labels.get(lk).is_some_and(|x| x == lv),
                None => c.labels.contains_key(v),
            }),
            "ancestor" => vals.iter().any(|v| {
                v == &c.image_ref
                    || Reference::parse(v)
                        .zip(Reference::parse(&c.image_ref))
                        .is_some_and(|(a, b)| a.canonical() == b.canonical())
                    || c.image
                        .id
                        .trim_start_matches("sha256:")
                        .starts_with(v.trim_start_matches("sha256:"))
            }),
            "network" => vals.iter().any(|v| v == c.network.name()),
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid filter '{other}'"),
                ));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn list(engine: &Arc<Engine>, q: &BTreeMap<String, String>) -> Result<Response> {
    let filters = parse_filters(q.get("filters").map(String::as_str).unwrap_or(""))?;
    let all = truthy(q, "all") || filters.get("status").is_some_and(|s| !s.is_empty());
    let limit: Option<usize> = q
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let states = engine.pl.states().await?;
    let now = engine.pl.now_ms().await?;
    let mut containers: Vec<Container> = engine.lock().containers.values().cloned().collect();
    containers.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
    let mut out = Vec::new();
    for c in &containers {
        let st = states.get(&c.id);
        let p = phase(c, st);
        if !all && !p.running {
            continue;
        }
        if !matches_filters(c, p.status, &filters)? {
            continue;
        }
        out.push(ps_entry(engine, c, st, now));
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    ok_json(&Json::Array(out))
}

async fn inspect(engine: &Arc<Engine>, key: &str) -> Result<Response> {
    let c = engine.resolve(key)?;
    let st = match engine.pl.state(&c.vm).await {
        Ok(s) => Some(s),
        Err(e) if e.is_gone() => None,
        Err(e) => return Err(e.into()),
    };
    let p = phase(&c, st.as_ref());
    let (ip, prefix, gw) = address(engine, &c, st.as_ref(), p.running);
    let mut hc = c.host_config.clone();
    if !hc.is_object() {
        hc = json!({});
    }
    if let Some(o) = hc.as_object_mut() {
        o.insert("Memory".into(), json!(c.memory_mb * 1024 * 1024));
        o.insert("CpusetCpus".into(), json!(c.cpuset));
        // The vCPU count the containerVM got (the Windows client's field).
        o.insert("CpuCount".into(), json!(c.num_cpus));
        o.entry("RestartPolicy")
            .or_insert(json!({"Name": "no", "MaximumRetryCount": 0}));
        o.entry("LogConfig")
            .or_insert(json!({"Type": "json-file", "Config": {}}));
        o.entry("PortBindings").or_insert(json!({}));
        o.entry("Binds").or_insert(Json::Null);
    }
    let exposed: serde_json::Map<String, Json> =
        c.exposed.iter().map(|e| (e.clone(), json!({}))).collect();
    let or_null = |v: &Vec<String>| if v.is_empty() { Json::Null } else { json!(v) };
    let v = json!({
        "Id": c.id,
        "Created": rfc3339_ms(c.created_ms),
        "Path": c.argv.first().cloned().unwrap_or_default(),
        "Args": c.argv.get(1..).unwrap_or(&[]).to_vec(),
        "State": {
            "Status": p.status,
            "Running": p.running,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": false,
            "Dead": p.status == "dead",
            "Pid": if p.running { 1 } else { 0 },
            "ExitCode": p.exit_code,
            "Error": p.error,
            "StartedAt": p.started_ms.map_or_else(|| ZERO_TIME.to_owned(), rfc3339_ms),
            "FinishedAt": p.finished_ms.map_or_else(|| ZERO_TIME.to_owned(), rfc3339_ms),
        },
        "Image": c.image.id,
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "LogPath": "",
        "Name": format!("/{}", c.name),
        "RestartCount": 0,
        "Driver": "vsphere",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": hc,
        "GraphDriver": {"Name": "vsphere", "Data": null},
        "Mounts": [],
        "Config": {
            "Hostname": c.hostname,
            "Domainname": "",
            "User": c.user,
            "AttachStdin": c.attach.0,
            "AttachStdout": c.attach.1,
            "AttachStderr": c.attach.2,
            "ExposedPorts": if exposed.is_empty() { Json::Null } else { Json::Object(exposed) },
            "Tty": c.tty,
            "OpenStdin": c.open_stdin,
            "StdinOnce": c.attach.3,
            "Env": c.env,
            "Cmd": or_null(&c.cmd),
            "Image": c.image_ref,
            "Volumes": null,
            "WorkingDir": c.working_dir,
            "Entrypoint": or_null(&c.entrypoint),
            "OnBuild": null,
            "Labels": c.labels,
            "StopSignal": c.stop_signal,
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "",
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": inspect_ports(&c),
            "SandboxKey": "",
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": if ip.is_empty() { String::new() } else { util::object_id("endpoint", &c.id, c.network.name()) },
            "Gateway": gw,
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": ip,
            "IPPrefixLen": prefix,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": endpoint_json(engine, &c, &ip, prefix, &gw),
        },
    });
    ok_json(&v)
}

async fn wait(engine: &Arc<Engine>, key: &str) -> Result<Response> {
    let c = engine.resolve(key)?;
    let client = engine.pl.client();
    client
        .wait_for_property(&c.vm, "runtime.powerState", MAX_WAIT, |v| {
            v.and_then(|v| v.as_str()) != Some("poweredOn")
        })
        .await
        .map_err(|e| gone(e.into(), key))?;
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    let c = engine.resolve(&c.id).unwrap_or(c);
    let p = phase(&c, Some(&st));
    ok_json(&json!({ "StatusCode": p.exit_code }))
}

/// The container's log lines, derived from its planned process (see [`crate::tether`]):
/// (stream 1 = stdout, 2 = stderr, time ms, text).
fn log_lines(c: &Container, st: Option<&VmState>) -> Vec<(u8, i64, String)> {
    let Some(s) = st else { return Vec::new() };
    if s.started.as_deref() != Some("true") {
        return Vec::new();
    }
    let plan = workload::plan(&c.argv, c.tty, c.open_stdin, c.image.workload.as_deref());
    let start_ms = s.start_s.map(|t| t * 1000).unwrap_or(c.created_ms);
    let mut out: Vec<(u8, i64, String)> = plan
        .start_log
        .iter()
        .map(|l| (1, start_ms, l.clone()))
        .collect();
    if let (Some(_), Power::Off) = (s.status, s.power) {
        let at = s.stop_s.map(|t| t * 1000).unwrap_or(start_ms);
        let stream = if plan.exit_code == 0 { 1 } else { 2 };
        out.extend(plan.exit_log.iter().map(|l| (stream, at, l.clone())));
    }
    out
}

async fn logs(engine: &Arc<Engine>, key: &str, q: &BTreeMap<String, String>) -> Result<Response> {
    let c = engine.resolve(key)?;
    let want_out = truthy(q, "stdout");
    let want_err = truthy(q, "stderr");
    if !want_out && !want_err {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Bad parameters: you must choose at least one stream",
        ));
    }
    if truthy(q, "follow") {
        // Following ends when the container does; the lines come once it has (the emulated
        // process prints nothing in between).
        engine
            .pl
            .client()
            .wait_for_property(&c.vm, "runtime.powerState", MAX_WAIT, |v| {
                v.and_then(|v| v.as_str()) != Some("poweredOn")
            })
            .await
            .map_err(|e| gone(e.into(), key))?;
    }
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    let mut lines = log_lines(&c, Some(&st));
    lines.retain(|(s, _, _)| (*s == 1 && want_out) || (*s == 2 && want_err));
    if let Some(n) = q.get("tail").and_then(|t| t.parse::<usize>().ok()) {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let stamps = truthy(q, "timestamps");
    let mut body: Vec<u8> = Vec::new();
    for (stream, at, text) in lines {
        let line = if stamps {
            format!("{} {text}\n", rfc3339_ms(at))
        } else {
            format!("{text}\n")
        };
        if c.tty {
            body.extend_from_slice(line.as_bytes());
        } else {
            // stdcopy framing: stream, three zero bytes, big-endian length.
            body.push(stream);
            body.extend_from_slice(&[0, 0, 0]);
            body.extend_from_slice(&(line.len() as u32).to_be_bytes());
            body.extend_from_slice(line.as_bytes());
        }
    }
    let mut r = (StatusCode::OK, Body::from(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.docker.raw-stream"),
    );
    Ok(r)
}

// ---------------------------------------------------------------------------------------
// Networks

fn network_json(engine: &Engine, name: &str) -> Option<Json> {
    let store = engine.lock();
    let members: serde_json::Map<String, Json> = store
        .containers
        .values()
        .filter(|c| c.network.name() == name)
        .filter_map(|c| {
            let ip = c.binding.as_ref()?.ip?;
            let prefix = c.binding.as_ref().map(|b| b.prefix).unwrap_or(0);
            Some((
                c.id.clone(),
                json!({"Name": c.name, "EndpointID": util::object_id("endpoint", &c.id, name), "MacAddress": "", "IPv4Address": format!("{ip}/{prefix}"), "IPv6Address": ""}),
            ))
        })
        .collect();
    drop(store);
    let (driver, config) = if name == "bridge" {
        let (net, prefix) =
            portlayer::bridge_network(engine.config.bridge_range, engine.config.bridge_width);
        let gw = match net {
            IpAddr::V4(a) => std::net::Ipv4Addr::from(u32::from(a) + 1).to_string(),
            v6 => v6.to_string(),
        };
        (
            "bridge",
            json!([{"Subnet": format!("{net}/{prefix}"), "Gateway": gw}]),
        )
    } else {
        let n = engine
            .config
            .container_networks
            .iter()
            .find(|n| n.alias == name)?;
        let mut cfg = serde_json::Map::new();
        if let Some((g, p)) = n.gateway
            && let Some(r) = crate::firewall::IpRange::cidr(g, p)
        {
            cfg.insert("Subnet".into(), json!(format!("{}/{p}", r.first())));
            cfg.insert("Gateway".into(), json!(g.to_string()));
        }
        if let Some((f, l)) = n.ip_range
            && let Some(r) = crate::firewall::IpRange::new(f, l)
        {
            cfg.insert("IPRange".into(), json!(r.to_string()));
        }
        ("external", json!([Json::Object(cfg)]))
    };
    Some(json!({
        "Name": name,
        "Id": network_id(engine, name),
        "Created": ZERO_TIME,
        "Scope": "",
        "Driver": driver,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": {}, "Config": config},
        "Internal": false,
        "Attachable": false,
        "Containers": members,
        "Options": {},
        "Labels": {},
    }))
}

fn network_names(engine: &Engine) -> Vec<String> {
    std::iter::once("bridge".to_owned())
        .chain(
            engine
                .config
                .container_networks
                .iter()
                .map(|n| n.alias.clone()),
        )
        .collect()
}

fn networks(engine: &Engine) -> Result<Response> {
    let list: Vec<Json> = network_names(engine)
        .iter()
        .filter_map(|n| network_json(engine, n))
        .collect();
    ok_json(&Json::Array(list))
}

fn network_inspect(engine: &Engine, key: &str) -> Result<Response> {
    let found = network_names(engine)
        .into_iter()
        .find(|n| n == key || (key.len() >= 3 && network_id(engine, n).starts_with(key)));
    match found.and_then(|n| network_json(engine, &n)) {
        Some(v) => ok_json(&v),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("network {key} not found"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        let q = parse_query(Some("fromImage=progrium%2Fstress&tag=latest&all=1&x"));
        assert_eq!(q["fromImage"], "progrium/stress");
        assert_eq!(q["tag"], "latest");
        assert!(truthy(&q, "all"));
        assert_eq!(q["x"], "");
        assert_eq!(percent_decode("a%"), "a%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%7B%22a%22%7D"), "{\"a\"}");
    }

    #[test]
    fn filters_in_both_forms() {
        let f = parse_filters(r#"{"status":{"exited":true},"name":["web"]}"#).unwrap();
        assert_eq!(f["status"], vec!["exited"]);
        assert_eq!(f["name"], vec!["web"]);
        assert!(parse_filters("{").is_err());
    }

    #[test]
    fn port_bindings_parse() {
        let hc = json!({"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "", "HostPort": ""}]}});
        let mut p = port_bindings(&hc).unwrap();
        p.sort_by_key(|m| m.container_port.start);
        assert_eq!(p[0].to_string(), "53/udp");
        assert_eq!(p[1].to_string(), "8080:80/tcp");
        let bad = json!({"PortBindings": {"80/tcp": [{"HostIp": "1.2.3.4", "HostPort": "80"}]}});
        let p = port_bindings(&bad).unwrap();
        assert_eq!(
            check_bindings(&p, None).unwrap_err().to_string(),
            "host IP for port bindings is only supported for 0.0.0.0 and the public interface IP address"
        );
    }
}
