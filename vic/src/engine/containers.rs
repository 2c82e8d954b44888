//! Container operations: start, stop, restart, kill, remove, rename, wait, logs.
//!
//! The state-changing ones run through `api::detached`, so each either completes or undoes
//! what it did (ports and addresses released on a failed start; a failed create's VM is
//! handled in [`super::create`]). A bridge container's `-p` mappings are forwarded from the
//! VCH's client address while it runs ([`crate::guestnet::Forwards`]).

use super::api::{MAX_WAIT, Result, atoi_param, bad_request, ok_json, status, truthy};
use super::create::check_json_content_type;
use super::decode;
use super::events::Event;
use super::lifecycle;
use super::state::{ApiError, Container, Engine};
use super::util;
use super::view::phase;
use crate::firewall::{PortMapping, PortRange, Transport};
use crate::guestnet;
use crate::portlayer::{self, Attachment, Power, signal_number};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::net::TcpListener;

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
/// the VCH) and binds their forwards ([`crate::guestnet::Forwards`]) on the VCH's client
/// address: the mappings with host ports resolved, and the TCP listeners with their
/// container ports. A host port something else listens on fails the start with dockerd's
/// words and leaves nothing bound; an assigned one (`-p C`) skips such ports, so the port
/// `docker ps` shows is the one listened on.
async fn map_ports(
    engine: &Engine,
    c: &Container,
) -> Result<(Vec<PortMapping>, Vec<(TcpListener, u16)>)> {
    if c.network != Attachment::Bridge || c.ports.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // This container's own forwards from a run that ended by itself go first.
    engine.forwards.close(&c.id).await;
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
            release_ports(engine, &id).await;
        }
    }
    let ip = engine.local.ip();
    let mut store = engine.lock();
    store.host_ports.retain(|_, id| *id != c.id);
    let mut mapped = Vec::new();
    let mut listeners = Vec::new();
    for p in &c.ports {
        let proto = p.transport.as_str();
        // Only TCP is forwarded; a UDP mapping is recorded.
        let tcp = p.transport == Transport::Tcp;
        let host = match p.host_port {
            Some(h) => {
                if store.host_ports.contains_key(&(h.start, proto)) {
                    store.host_ports.retain(|_, id| *id != c.id);
                    return Err(ApiError::server(format!(
                        "Bind for 0.0.0.0:{} failed: port is already allocated",
                        h.start
                    )));
                }
                if tcp {
                    match guestnet::bind_forward(ip, h.start) {
                        Ok(l) => listeners.extend(l.map(|l| (l, p.container_port.start))),
                        Err(e) => {
                            store.host_ports.retain(|_, id| *id != c.id);
                            return Err(ApiError::server(e.docker_message(&c.name, &c.id)));
                        }
                    }
                }
                h.start
            }
            None => {
                let mut found = None;
                for h in EPHEMERAL_PORTS {
                    if store.host_ports.contains_key(&(h, proto)) {
                        continue;
                    }
                    if !tcp {
                        found = Some(h);
                        break;
                    }
                    // Taken by another process: the next one.
                    if let Ok(l) = guestnet::bind_forward(ip, h) {
                        listeners.extend(l.map(|l| (l, p.container_port.start)));
                        found = Some(h);
                        break;
                    }
                }
                match found {
                    Some(h) => h,
                    None => {
                        store.host_ports.retain(|_, id| *id != c.id);
                        return Err(ApiError::server("all ports are allocated"));
                    }
                }
            }
        };
        store.host_ports.insert((host, proto), c.id.clone());
        let mut m = *p;
        m.host_port = Some(PortRange::single(host));
        mapped.push(m);
    }
    Ok((mapped, listeners))
}

/// Gives `id`'s host ports back and closes its forwards (returns once they are closed).
pub(super) async fn release_ports(engine: &Engine, id: &str) {
    {
        let mut store = engine.lock();
        store.host_ports.retain(|_, owner| owner != id);
        if let Some(c) = store.containers.get_mut(id) {
            c.mapped.clear();
        }
    }
    engine.forwards.close(id).await;
}

pub async fn start(engine: &Arc<Engine>, key: &str) -> Result<Response> {
    let c = engine.resolve(key)?;
    let busy = engine.busy(&c, "start")?;
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    if st.power == Power::On {
        return status(StatusCode::NOT_MODIFIED);
    }
    let (mapped, listeners) = map_ports(engine, &c).await?;
    // Forwarding before the power-on, as dockerd programs connectivity before it starts the
    // container: a connection before the process serves is closed.
    if !listeners.is_empty() {
        engine
            .forwards
            .open(&c.id, listeners, engine.config.services.as_ref());
    }
    match engine.pl.start(&c.vm, &c.id, &c.network).await {
        Ok(binding) => {
            engine.update(&c.id, |c| {
                c.binding = Some(binding);
                c.mapped = mapped;
                c.killed = None;
            });
            let now = engine.pl.now_ms().await.unwrap_or(c.created_ms);
            engine
                .events
                .publish(Event::container("start", &c.id, &c.name, &c.image_ref, now));
            // A process that already ended (`docker run busybox true`) dies after its start.
            let exited = busy.release_with(|s| s.deferred_exits.remove(&c.id));
            if let Some(exit) = exited {
                let c = engine.resolve(&c.id).unwrap_or(c);
                lifecycle::died(engine, &c, exit.code, exit.at_ms).await;
            }
            status(StatusCode::NO_CONTENT)
        }
        Err(e) => {
            release_ports(engine, &c.id).await;
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
    stop_inner(engine, &c.id, q).await?;
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
    let (r, stopped) = stop_inner(engine, key, q).await?;
    if let Some(c) = stopped {
        lifecycle::auto_remove(engine, &c).await;
    }
    Ok(r)
}

/// Publishes `kill`, `die` and (for a stop) `stop` for `c`, stopped by the endpoint with
/// `signal` and exit `code`; an exit its process reported meanwhile is this report.
fn publish_stopped(engine: &Engine, c: &Container, signal: i32, code: i32, at_ms: i64, stop: bool) {
    engine.lock().deferred_exits.remove(&c.id);
    let ev = |action: &str| Event::container(action, &c.id, &c.name, &c.image_ref, at_ms);
    engine
        .events
        .publish(ev("kill").with("signal", signal.to_string()));
    engine
        .events
        .publish(ev("die").with("exitCode", code.to_string()));
    if stop {
        engine.events.publish(ev("stop"));
    }
}

/// `stop` without `--rm`'s removal (restart stops and starts the same container).
async fn stop_inner(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<(Response, Option<Container>)> {
    atoi_param(q, "t")?;
    let c = engine.resolve(key)?;
    let _busy = engine.busy(&c, "stop")?;
    let st = engine.pl.state(&c.vm).await.map_err(|e| gone(e, key))?;
    if st.power != Power::On {
        return Ok((StatusCode::NOT_MODIFIED.into_response(), None));
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
    release_ports(engine, &c.id).await;
    // A stopped container gives its address back (VIC unbinds on stop).
    engine.pl.unbind(&c.id);
    let signal = signal_number(&c.stop_signal).unwrap_or(15);
    publish_stopped(engine, &c, signal, code, now, true);
    Ok((StatusCode::NO_CONTENT.into_response(), Some(c)))
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
    let busy = engine.busy(&c, "kill")?;
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
    let now = engine.pl.now_ms().await.unwrap_or(c.created_ms);
    if portlayer::signal_terminates(&signal) {
        engine.update(&c.id, |c| {
            c.killed = Some((128 + num, now));
            c.binding = None;
        });
        release_ports(engine, &c.id).await;
        engine.pl.unbind(&c.id);
        publish_stopped(engine, &c, num, 128 + num, now, false);
        drop(busy);
        lifecycle::auto_remove(engine, &c).await;
    } else {
        engine.events.publish(
            Event::container("kill", &c.id, &c.name, &c.image_ref, now)
                .with("signal", num.to_string()),
        );
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
    // `-v`: its anonymous volumes go too, once the container has.
    let mut anonymous = Vec::new();
    match engine.pl.state(&c.vm).await {
        Ok(st) if st.power == Power::On => {
            if truthy(q, "v") {
                anonymous = super::volumes::anonymous_volumes(&st);
            }
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
        Ok(st) => {
            if truthy(q, "v") {
                anonymous = super::volumes::anonymous_volumes(&st);
            }
            engine.pl.remove(&c.vm, &c.id).await?;
        }
        // Gone already: forget it.
        Err(e) if e.is_gone() => engine.pl.unbind(&c.id),
        Err(e) => return Err(e.into()),
    }
    {
        let mut store = engine.lock();
        store.containers.remove(&c.id);
        if store.names.get(&c.name) == Some(&c.id) {
            store.names.remove(&c.name);
        }
        store.host_ports.retain(|_, owner| *owner != c.id);
        store.deferred_exits.remove(&c.id);
    }
    engine.forwards.close(&c.id).await;
    // The container's log and attach link go with it (as its datastore folder does), and
    // its execs.
    if let Some(hub) = &engine.config.interaction {
        hub.forget(&c.id);
    }
    super::exec::forget_container(engine, &c.id);
    let now = engine.pl.now_ms().await.unwrap_or(c.created_ms);
    engine.events.publish(Event::container(
        "destroy",
        &c.id,
        &c.name,
        &c.image_ref,
        now,
    ));
    super::volumes::remove_unused(engine, &anonymous).await;
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
            {
                let mut store = engine.lock();
                store.names.remove(&c.name);
                if let Some(x) = store.containers.get_mut(&c.id) {
                    x.name = new.clone();
                }
            }
            let now = engine.pl.now_ms().await.unwrap_or(c.created_ms);
            engine.events.publish(
                Event::container("rename", &c.id, &new, &c.image_ref, now)
                    .with("oldName", format!("/{}", c.name)),
            );
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
