//! Container operations: start, stop, restart, kill, remove, rename, wait, logs.
//!
//! The state-changing ones run through `api::detached`, so each either completes or undoes
//! what it did (ports and addresses released on a failed start; a failed create's VM is
//! handled in [`super::create`]).

use super::api::{MAX_WAIT, Result, atoi_param, bad_request, ok_json, status, time_param, truthy};
use super::create::check_json_content_type;
use super::decode;
use super::state::{ApiError, Container, Engine};
use super::util::{self, rfc3339_ms};
use super::view::phase;
use crate::firewall::{PortMapping, PortRange};
use crate::portlayer::{self, Attachment, Power, VmState, signal_number};
use crate::workload;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bridge host ports handed out for `-p C` (docker's ephemeral range).
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

/// `POST /containers/{id}/start` takes no body since API 1.24 (dockerd refuses a host config
/// there); an empty body, `{}` or `null` is what clients send.
pub fn check_start_body(headers: &HeaderMap, body: &[u8]) -> Result<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    check_json_content_type(headers, body)?;
    let v: Json =
        serde_json::from_slice(body).map_err(|e| bad_request(decode::syntax_error(body, &e)))?;
    if v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty) {
        return Ok(());
    }
    Err(bad_request(
        "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24",
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

pub async fn start(engine: &Arc<Engine>, key: &str) -> Result<Response> {
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

/// `POST /containers/{id}/restart`: stop, then start.
pub async fn restart(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
    let c = engine.resolve(key)?;
    stop(engine, &c.id, q).await?;
    start(engine, &c.id).await?;
    status(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/stop?t=N`. The wait `t` is checked as dockerd does; the port layer's
/// stop sequence (vic.md §6.2) does not wait on the emulated guest.
pub async fn stop(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
    atoi_param(q, "t")?;
    let c = engine.resolve(key)?;
    let _busy = engine.busy(&c, "stop")?;
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    if st.power != Power::On {
        return status(StatusCode::NOT_MODIFIED);
    }
    engine.pl.stop(&c.vm, &c.id, &c.stop_signal).await?;
    // The container is stopped now: its bookkeeping follows even if the clock cannot be read
    // (the finish time then falls back to the creation time).
    let now = engine.pl.now_ms().await.unwrap_or(c.created_ms);
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

pub async fn kill(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
    let c = engine.resolve(key)?;
    let signal = q
        .get("signal")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "KILL".into());
    let Some(num) = signal_number(&signal) else {
        return Err(bad_request(format!("Invalid signal: {signal}")));
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
        let now = engine.pl.now_ms().await.unwrap_or(c.created_ms);
        engine.update(&c.id, |c| {
            c.killed = Some((128 + num, now));
            c.binding = None;
        });
        release_ports(engine, &c.id);
        engine.pl.unbind(&c.id);
    }
    status(StatusCode::NO_CONTENT)
}

pub async fn remove(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
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

pub async fn rename(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
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
    if new == c.name {
        return Err(bad_request(
            "Renaming a container with the same name as its current name",
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

pub async fn wait(engine: &Arc<Engine>, key: &str) -> Result<Response> {
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

pub async fn logs(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
    // `tail`: "all" or a count (negative means all), as dockerd reads it.
    let tail = match q.get("tail").map(String::as_str) {
        None | Some("" | "all") => None,
        Some(t) => match t.parse::<i64>() {
            Ok(n) => usize::try_from(n).ok(),
            Err(_) => {
                return Err(bad_request(format!(
                    "invalid value for tail: {t} (a number of lines or \"all\")"
                )));
            }
        },
    };
    let since_ms = time_param(q, "since")?.map(|s| (s * 1000.0) as i64);
    let until_ms = time_param(q, "until")?.map(|s| (s * 1000.0) as i64);
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
    lines.retain(|(_, at, _)| {
        since_ms.is_none_or(|s| *at >= s) && until_ms.is_none_or(|u| u == 0 || *at <= u)
    });
    if let Some(n) = tail {
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
