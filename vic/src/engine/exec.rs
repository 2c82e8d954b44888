//! `docker exec`: `POST /containers/{id}/exec` (create), `POST /exec/{id}/start` (detached,
//! or the hijacked stream the CLI and docker-py read), `GET /exec/{id}/json` (inspect: the
//! CLI reads the exit code there after the stream ends) and `POST /exec/{id}/resize` (vic.md
//! §7.2: VIC supports all four).
//!
//! The process runs in the containerVM: start adds the exec to the VM's extraConfig through
//! the port layer ([`crate::portlayer::PortLayer::exec`]) and the tether runs it on the same
//! emulated commands as a primary process, on a [`crate::interaction`] channel named by the
//! exec id. Exec records live until their container is removed, at most
//! [`MAX_EXECS_PER_CONTAINER`] per container (the oldest finished ones go first).

use super::api::{Result, bad_request, json_response, ok_json, status};
use super::attach::{self, parse_detach_keys};
use super::create::check_json_content_type;
use super::decode;
use super::state::{ApiError, Engine};
use super::util;
use crate::portlayer::{ExecSpec, Power};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use serde_json::{Value as Json, json};
use std::sync::Arc;

/// Exec records kept per container: as many as its containerVM's extraConfig keeps.
pub const MAX_EXECS_PER_CONTAINER: usize = crate::portlayer::MAX_EXECS;

/// What `docker exec` asked for.
#[derive(Clone, Debug)]
pub struct ExecRecord {
    /// The exec id.
    pub id: String,
    /// Its container.
    pub container: String,
    /// The command line.
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: Vec<String>,
    /// `-t`.
    pub tty: bool,
    /// `-i` (AttachStdin).
    pub stdin: bool,
    /// AttachStdout.
    pub stdout: bool,
    /// AttachStderr.
    pub stderr: bool,
    /// `-u`.
    pub user: String,
    /// `--detach-keys` as given.
    pub detach_keys: String,
    /// Started (an exec runs once).
    pub started: bool,
    /// Creation order, for the bound.
    pub seq: u64,
}

/// Exec `id`'s record.
fn record(engine: &Engine, id: &str) -> Result<ExecRecord> {
    engine
        .lock()
        .execs
        .get(id)
        .cloned()
        .ok_or_else(|| no_such_exec(id))
}

/// Exec `id` did not run after all: it may be started again.
fn unstart(engine: &Engine, id: &str) {
    if let Some(r) = engine.lock().execs.get_mut(id) {
        r.started = false;
    }
}

fn no_such_exec(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("No such exec instance '{id}' found in daemon"),
    )
}

fn not_running(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("Container {id} is not running"),
    )
}

fn body_json(headers: &HeaderMap, body: &[u8]) -> Result<Json> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    check_json_content_type(headers, body)?;
    let v: Json =
        serde_json::from_slice(body).map_err(|e| bad_request(decode::syntax_error(body, &e)))?;
    if !v.is_object() {
        return Err(bad_request(
            "json: cannot unmarshal into the exec configuration: not an object",
        ));
    }
    Ok(v)
}

fn flag(v: &Json, k: &str) -> Result<bool> {
    match v.get(k) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(other) => Err(bad_request(format!(
            "json: cannot unmarshal {} into Go struct field ExecConfig.{k} of type bool",
            decode::json_kind(other)
        ))),
    }
}

fn strings(v: &Json, k: &str) -> Result<Vec<String>> {
    match v.get(k) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(a)) => a
            .iter()
            .map(|s| {
                s.as_str().map(str::to_owned).ok_or_else(|| {
                    bad_request(format!(
                        "json: cannot unmarshal {} into Go struct field ExecConfig.{k} of type string",
                        decode::json_kind(s)
                    ))
                })
            })
            .collect(),
        Some(Json::String(s)) => Ok(vec![s.clone()]),
        Some(other) => Err(bad_request(format!(
            "json: cannot unmarshal {} into Go struct field ExecConfig.{k} of type []string",
            decode::json_kind(other)
        ))),
    }
}

/// `POST /containers/{id}/exec`.
pub async fn create(
    engine: &Arc<Engine>,
    key: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response> {
    let v = body_json(headers, body)?;
    let argv = strings(&v, "Cmd")?;
    let env = strings(&v, "Env")?;
    let (tty, stdin, stdout, stderr) = (
        flag(&v, "Tty")?,
        flag(&v, "AttachStdin")?,
        flag(&v, "AttachStdout")?,
        flag(&v, "AttachStderr")?,
    );
    flag(&v, "Privileged")?;
    let user = v
        .get("User")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    let detach_keys = v
        .get("DetachKeys")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    if !detach_keys.is_empty() && parse_detach_keys(&detach_keys).is_none() {
        return Err(bad_request(format!(
            "Invalid detach keys ({detach_keys}) provided"
        )));
    }
    if argv.is_empty() {
        return Err(bad_request("No exec command specified"));
    }
    let c = engine.resolve(key)?;
    let st = engine.pl.state(&c.vm).await?;
    if st.power != Power::On {
        return Err(not_running(&c.id));
    }
    let id = {
        let mut store = engine.lock();
        store.exec_counter += 1;
        let seq = store.exec_counter;
        let id = util::container_id(&format!("{}/exec/{}", engine.config.vch_name, c.id), seq);
        // The bound: the oldest started execs of this container go.
        let mine: Vec<(u64, String)> = store
            .execs
            .values()
            .filter(|e| e.container == c.id && e.started)
            .map(|e| (e.seq, e.id.clone()))
            .collect();
        let total = store.execs.values().filter(|e| e.container == c.id).count();
        if total >= MAX_EXECS_PER_CONTAINER {
            let mut mine = mine;
            mine.sort();
            for (_, old) in mine.into_iter().take(total + 1 - MAX_EXECS_PER_CONTAINER) {
                store.execs.remove(&old);
                if let Some(hub) = &engine.config.interaction {
                    hub.forget(&old);
                }
            }
        }
        store.execs.insert(
            id.clone(),
            ExecRecord {
                id: id.clone(),
                container: c.id.clone(),
                argv,
                env,
                tty,
                stdin,
                stdout,
                stderr,
                user,
                detach_keys,
                started: false,
                seq,
            },
        );
        id
    };
    Ok(json_response(StatusCode::CREATED, &json!({ "Id": id })))
}

/// How long a hijacked exec waits after the 101 before its process launches.
///
/// docker-py reads the 101 head through http.client's buffered reader and then reads the
/// raw socket (`_get_raw_response_socket`), so bytes that reach it in the same read as the
/// head are lost: `exec_run` then returns the exit code with empty output. dockerd (and
/// VIC's tether, which launches the session through a guestinfo reconfigure) take longer
/// than this to start a process, so a client always has the head before the first frame;
/// our emulated process is instant, so the gap is made explicit. Real time, not the
/// virtual clock: it only orders bytes on the wire and never reaches a report.
const HIJACKED_LAUNCH_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// `POST /exec/{id}/start`.
pub async fn start(
    engine: &Arc<Engine>,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    wants_upgrade: bool,
    on_upgrade: hyper::upgrade::OnUpgrade,
) -> Result<Response> {
    let v = body_json(headers, body)?;
    let detach = flag(&v, "Detach")?;
    flag(&v, "Tty")?;
    let rec = record(engine, id)?;
    if rec.started {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Error: Exec command {id} is already running"),
        ));
    }
    if !detach && !wants_upgrade {
        return Err(bad_request(
            "exec start needs a connection upgrade (Connection: Upgrade, Upgrade: tcp) unless Detach is set",
        ));
    }
    let Some(hub) = engine.config.interaction.clone() else {
        return Err(ApiError::server(
            "Server error from portlayer: the containerVM has no exec link",
        ));
    };
    let c = engine.resolve(&rec.container)?;
    {
        let mut store = engine.lock();
        match store.execs.get_mut(id) {
            Some(e) if !e.started => e.started = true,
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("Error: Exec command {id} is already running"),
                ));
            }
            None => return Err(no_such_exec(id)),
        }
    }
    let channel = hub.channel(id);
    let spec = ExecSpec {
        id: id.to_owned(),
        argv: rec.argv.clone(),
        env: rec.env.clone(),
        tty: rec.tty,
        open_stdin: rec.stdin,
        user: rec.user.clone(),
    };
    let st = engine.pl.state(&c.vm).await?;
    if st.power != Power::On {
        unstart(engine, id);
        return Err(not_running(&c.id));
    }
    if detach {
        if let Err(e) = engine.pl.exec(&c.vm, &spec).await {
            unstart(engine, id);
            return Err(e.into());
        }
        return status(StatusCode::OK);
    }
    let session = attach::Session {
        tty: rec.tty,
        read_stdin: rec.stdin,
        // The end of the client's stdin is the end of the exec's (docker closes it).
        stdin_once: true,
        from_seq: 0,
        target_run: 1,
        stdout: rec.stdout,
        stderr: rec.stderr,
        stream: true,
        detach_keys: if rec.detach_keys.is_empty() {
            vec![0x10, 0x11]
        } else {
            parse_detach_keys(&rec.detach_keys).unwrap_or_else(|| vec![0x10, 0x11])
        },
    };
    // The process starts once the stream is up, as dockerd starts it after the hijack, and
    // a launch delay later (HIJACKED_LAUNCH_DELAY: docker-py loses bytes that share a read
    // with the 101 head).
    let e = engine.clone();
    let (vm, exec_id) = (c.vm.clone(), id.to_owned());
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            unstart(&e, &exec_id);
            return;
        };
        let mut io = TokioIo::new(upgraded);
        tokio::time::sleep(HIJACKED_LAUNCH_DELAY).await;
        if let Err(err) = e.pl.exec(&vm, &spec).await {
            unstart(&e, &exec_id);
            // After the hijack an error can only go into the stream, as dockerd writes it.
            let msg = format!(
                "Error response from daemon: {}\n",
                ApiError::from(err).message
            );
            let _ = tokio::io::AsyncWriteExt::write_all(&mut io, msg.as_bytes()).await;
            return;
        }
        attach::session(io, &channel, &session).await;
    });
    Ok(attach::upgraded())
}

/// `GET /exec/{id}/json`.
pub fn inspect(engine: &Engine, id: &str) -> Result<Response> {
    let rec = record(engine, id)?;
    let runs = engine
        .config
        .interaction
        .as_ref()
        .and_then(|h| h.get(id))
        .map(|c| c.runs())
        .unwrap_or_default();
    let running = rec.started && runs.running;
    // An exec whose container stopped under it reports SIGKILL's code ([A]: dockerd leaves
    // such an exec's code as the process's, which here has none).
    let exit_code = match runs.last_exit {
        Some((_, Some(code))) => json!(code),
        Some((_, None)) => json!(137),
        None => Json::Null,
    };
    ok_json(&json!({
        "ID": rec.id,
        "Running": running,
        "ExitCode": exit_code,
        "ProcessConfig": {
            "tty": rec.tty,
            "entrypoint": rec.argv.first().cloned().unwrap_or_default(),
            "arguments": rec.argv.iter().skip(1).cloned().collect::<Vec<_>>(),
            "privileged": false,
            "user": rec.user,
        },
        "OpenStdin": rec.stdin,
        "OpenStderr": rec.stderr,
        "OpenStdout": rec.stdout,
        "CanRemove": false,
        "ContainerID": rec.container,
        "DetachKeys": rec.detach_keys,
        "Pid": 0,
    }))
}

/// `POST /exec/{id}/resize`: the emulated terminal has no size; the exec must exist.
pub fn resize(engine: &Engine, id: &str) -> Result<Response> {
    if !engine.lock().execs.contains_key(id) {
        return Err(no_such_exec(id));
    }
    status(StatusCode::OK)
}

/// Forgets container `id`'s execs (it was removed).
pub fn forget_container(engine: &Engine, id: &str) {
    let gone: Vec<String> = {
        let mut store = engine.lock();
        let ids: Vec<String> = store
            .execs
            .values()
            .filter(|e| e.container == id)
            .map(|e| e.id.clone())
            .collect();
        for i in &ids {
            store.execs.remove(i);
        }
        ids
    };
    if let Some(hub) = &engine.config.interaction {
        for i in gone {
            hub.forget(&i);
        }
    }
}
