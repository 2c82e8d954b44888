//! The Docker API handlers: one dispatcher over [`super::routes`], Docker 1.25 JSON in and
//! out, errors as `{"message": …}`; the system routes (`_ping`, `version`, `info`,
//! `events`) and the query-parameter rules every route shares.
//!
//! State-changing container operations run in their own task ([`detached`]): hyper drops a
//! request's future when its client hangs up, and an operation cut off between two SOAP
//! calls would leave a containerVM the endpoint does not know about.

use super::routes::{self, API_VERSION, MIN_API_VERSION, Route, SERVER_HEADER, SWARM_MESSAGE};
use super::state::{ApiError, Engine};
use super::util::rfc3339_ms;
use super::{
    attach, containers, create, events, exec, images, logs, networks, stats, view, volumes,
};
use crate::portlayer::Power;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body read (container create configs are a few KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest `docker wait` / `logs --follow` wait.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// A handler's result.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &json!({ "message": self.message }))
    }
}

/// `v` as a JSON response with `status`.
pub fn json_response(status: StatusCode, v: &Json) -> Response {
    let mut r = (status, format!("{v}\n")).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// 200 with `v`.
pub fn ok_json(v: &Json) -> Result<Response> {
    Ok(json_response(StatusCode::OK, v))
}

/// An empty response with status `s`.
pub fn status(s: StatusCode) -> Result<Response> {
    Ok(s.into_response())
}

/// A 400 with `message`.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
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

/// dockerd's `httputils.BoolValue`: anything but empty, `0`, `no`, `false` or `none` is true.
pub fn truthy(q: &BTreeMap<String, String>, k: &str) -> bool {
    let v = q
        .get(k)
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
}

/// An integer parameter read with Go's `strconv.Atoi`, as dockerd reads `t` and `limit`:
/// absent or empty is None, anything else must be a 64-bit integer (400 with Go's error).
pub fn atoi_param(q: &BTreeMap<String, String>, k: &str) -> Result<Option<i64>> {
    let Some(v) = q.get(k).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    v.parse::<i64>().map(Some).map_err(|_| {
        let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
        let why = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        bad_request(format!("strconv.Atoi: parsing {v:?}: {why}"))
    })
}

/// A Unix-time parameter (`since`, `until`: seconds, optionally with a fraction); absent or
/// empty is None.
pub fn time_param(q: &BTreeMap<String, String>, k: &str) -> Result<Option<f64>> {
    let Some(v) = q.get(k).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    v.parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map(Some)
        .ok_or_else(|| bad_request(format!("invalid value for {k}: {v}")))
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

/// Runs a state-changing operation in its own task and waits for it. A client that hangs
/// up drops the waiting future, never the operation: it completes, or rolls back on its
/// own error paths, exactly as if the client had stayed.
async fn detached<F, Fut>(engine: &Arc<Engine>, op: F) -> Result<Response>
where
    F: FnOnce(Arc<Engine>) -> Fut,
    Fut: Future<Output = Result<Response>> + Send + 'static,
{
    tokio::spawn(op(engine.clone()))
        .await
        .unwrap_or_else(|e| Err(ApiError::server(format!("internal error: {e}"))))
}

async fn read_body(req: Request) -> Result<bytes::Bytes> {
    axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            // Bounded: an error's source chain is short.
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut too_large = false;
            while let Some(c) = cause {
                too_large |= c.is::<http_body_util::LengthLimitError>();
                cause = c.source();
            }
            if too_large {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                bad_request(format!("reading the request body: {e}"))
            }
        })
}

async fn handle(engine: &Arc<Engine>, req: Request) -> Result<Response> {
    check_host(engine, &req)?;
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = parse_query(req.uri().query());
    let (ver, rest) = routes::split_version(&path);
    if let Some(msg) = ver.and_then(routes::version_error) {
        return Err(bad_request(msg));
    }
    let route = routes::route(&method, rest);
    let headers = req.headers().clone();
    let mut req = req;
    // An exec start may upgrade after its body is read: take the upgrade first.
    let exec_upgrade = match route {
        Route::ExecStart(_) => Some((attach::wants_upgrade(&req), hyper::upgrade::on(&mut req))),
        _ => None,
    };
    let (body, req) = match route {
        Route::ContainerCreate
        | Route::ContainerStart(_)
        | Route::ExecCreate(_)
        | Route::ExecStart(_)
        | Route::VolumeCreate => (read_body(req).await?, None),
        _ => (Default::default(), Some(req)),
    };
    let head = method == Method::HEAD;
    match route {
        Route::Ping => ping(head),
        Route::Version => version(engine),
        Route::Info => info(engine).await,
        Route::ImagesCreate => {
            let auth = headers.get("x-registry-auth").and_then(|v| v.to_str().ok());
            images::pull(engine, &query, auth).await
        }
        Route::ImagesList => images::images(engine, &query),
        Route::ImageInspect(n) => images::image_inspect(engine, &n),
        Route::ImageTag(n) => images::image_tag(engine, &n, &query),
        Route::ImageDelete(n) => images::image_delete(engine, &n),
        Route::ContainerCreate => {
            create::check_json_content_type(&headers, &body)?;
            detached(engine, move |e| async move {
                create::create(&e, &query, &body).await
            })
            .await
        }
        Route::ContainerList => view::list(engine, &query).await,
        Route::ContainerInspect(id) => view::inspect(engine, &id).await,
        Route::ContainerStart(id) => {
            containers::check_start_body(&headers, &body)?;
            detached(
                engine,
                move |e| async move { containers::start(&e, &id).await },
            )
            .await
        }
        Route::ContainerStop(id) => {
            detached(engine, move |e| async move {
                containers::stop(&e, &id, &query).await
            })
            .await
        }
        Route::ContainerKill(id) => {
            detached(engine, move |e| async move {
                containers::kill(&e, &id, &query).await
            })
            .await
        }
        Route::ContainerRestart(id) => {
            detached(engine, move |e| async move {
                containers::restart(&e, &id, &query).await
            })
            .await
        }
        Route::ContainerWait(id) => containers::wait(engine, &id).await,
        Route::ContainerLogs(id) => logs::logs(engine, &id, &query).await,
        // The emulated terminal has no size to change; the container must exist.
        Route::ContainerResize(id) => engine.resolve(&id).and_then(|_| status(StatusCode::OK)),
        Route::ContainerStats(id) => stats::stats(engine, &id, &query).await,
        Route::ExecCreate(id) => exec::create(engine, &id, &headers, &body).await,
        Route::ExecStart(id) => match exec_upgrade {
            Some((wants, on_upgrade)) => {
                exec::start(engine, &id, &headers, &body, wants, on_upgrade).await
            }
            None => Err(ApiError::server("the exec start request was consumed")),
        },
        Route::ExecInspect(id) => exec::inspect(engine, &id),
        Route::ExecResize(id) => exec::resize(engine, &id),
        Route::ContainerAttach(id) => match req {
            Some(req) => attach::attach(engine, &id, &query, req).await,
            None => Err(ApiError::server("the attach request was consumed")),
        },
        Route::ContainerRename(id) => {
            detached(engine, move |e| async move {
                containers::rename(&e, &id, &query).await
            })
            .await
        }
        Route::ContainerDelete(id) => {
            detached(engine, move |e| async move {
                containers::remove(&e, &id, &query).await
            })
            .await
        }
        Route::VolumeList => volumes::list(engine, &query).await,
        Route::VolumeCreate => {
            create::check_json_content_type(&headers, &body)?;
            detached(
                engine,
                move |e| async move { volumes::create(&e, &body).await },
            )
            .await
        }
        Route::VolumeInspect(name) => volumes::inspect(engine, &name).await,
        Route::VolumeDelete(name) => {
            detached(
                engine,
                move |e| async move { volumes::remove(&e, &name).await },
            )
            .await
        }
        Route::NetworkList => networks::networks(engine, &query),
        Route::NetworkInspect(id) => networks::network_inspect(engine, &id),
        Route::Events => events::stream(&engine.events, &query),
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
    let (images, storage) = {
        let store = engine.lock();
        let ids: std::collections::BTreeSet<&str> =
            store.images.values().map(|i| i.id.as_str()).collect();
        (ids.len(), super::quota::storage_in_use(&store))
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
    // VIC's order: limits (the VCH's storage and container limits after memory), usages
    // (storage after memory), then the rest (vic.md §5.3, `engine::quota`).
    let pairs = |v: Vec<[String; 2]>| v.into_iter().map(|p| json!(p));
    let cfg = &engine.config;
    let mut system_status = vec![
        json!([" VCH CPU limit", format!("{} MHz", pool.cpu_limit_mhz)]),
        json!([" VCH memory limit", format!("{} MiB", pool.mem_limit_mb)]),
    ];
    system_status.extend(pairs(super::quota::limit_status(
        cfg.container_limit,
        cfg.storage_quota_bytes,
    )));
    system_status.push(json!([
        " VCH CPU usage",
        format!("{} MHz", pool.cpu_usage_mhz)
    ]));
    system_status.push(json!([
        " VCH memory usage",
        format!("{} MiB", pool.mem_usage_mb)
    ]));
    system_status.extend(pairs(super::quota::usage_status(&storage)));
    let (volume_plugins, volume_stores) = volumes::info_parts(engine);
    system_status.extend([
        volume_stores,
        json!([driver.clone(), "RUNNING"]),
        json!([" VMware Product", about.full_name]),
        json!([" VMware OS", about.name]),
        json!([" VMware OS version", about.version]),
    ]);
    // Insecure registries, then the whitelist mode (and the whitelist), as VIC lists them.
    system_status.extend(pairs(cfg.registries.info_status()));
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
        "Plugins": {"Volume": volume_plugins, "Network": networks, "Authorization": null, "Log": null},
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
    fn parameters_read_as_dockerd_reads_them() {
        let q = parse_query(Some(
            "a=yes&b=0&c=False&d=none&t=abc&n=-3&big=99999999999999999999&s=1.5&u=x",
        ));
        assert!(truthy(&q, "a"));
        assert!(!truthy(&q, "b") && !truthy(&q, "c") && !truthy(&q, "d") && !truthy(&q, "e"));
        assert_eq!(
            atoi_param(&q, "t").unwrap_err().message,
            "strconv.Atoi: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            atoi_param(&q, "big").unwrap_err().message,
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(atoi_param(&q, "n").unwrap(), Some(-3));
        assert_eq!(atoi_param(&q, "missing").unwrap(), None);
        assert_eq!(time_param(&q, "s").unwrap(), Some(1.5));
        let e = time_param(&q, "u").unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (StatusCode::BAD_REQUEST, "invalid value for u: x")
        );
    }
}
