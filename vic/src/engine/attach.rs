//! `POST /containers/{id}/attach`: the hijacked connection the docker CLI opens for a
//! foreground `docker run`, `docker attach` and `docker start -a` (vic.md §7.3 step 4: VIC
//! serves it over the containerVM's vSPC serial link; here over its [`crate::interaction`]
//! channel).
//!
//! The request asks for an HTTP upgrade (`Connection: Upgrade`, `Upgrade: tcp`); the answer
//! is `101 UPGRADED` with `Content-Type: application/vnd.docker.raw-stream`, and then the
//! connection carries the process's output — raw with a TTY, otherwise in stdcopy frames
//! (stream byte, three zero bytes, big-endian length) — and, with `stdin=1` on a container
//! created with `-i`, the client's stdin. The stream ends when the run it attached to ends
//! (the run in progress, or the next one for a container not yet started), when the
//! container is removed, when the client types the detach keys (default ctrl-p,ctrl-q), or
//! after [`MAX_WAIT`]. stdin the client sends before the process reads it is held (at most
//! [`MAX_PENDING_STDIN`]); its end closes the process's stdin when the container was created
//! with `StdinOnce` (what `docker run -i` sets) and has no TTY, as dockerd does; with a TTY it
//! ends the session instead (the docker CLI detaches that way).

use super::api::{MAX_WAIT, Result, bad_request, truthy};
use super::events::Event;
use super::state::{ApiError, Engine};
use crate::interaction::{Channel, Entry, Input, Stream};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// stdin held for a process that does not read yet.
pub const MAX_PENDING_STDIN: usize = 1 << 20;

/// Docker's default detach sequence: ctrl-p, ctrl-q.
const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

/// Parses docker's `detachKeys` (`ctrl-p,ctrl-q`, `a,ctrl-@`): single characters and
/// `ctrl-<a-z @ [ \ ] ^ _>`.
pub fn parse_detach_keys(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for key in text.split(',') {
        let k = key.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b @ b'a'..=b'z'] => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return None,
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Frames `e` for the client: raw with a TTY, a stdcopy frame otherwise.
fn frame(tty: bool, e: &Entry, out: &mut Vec<u8>) {
    if tty {
        out.extend_from_slice(&e.bytes);
    } else {
        out.push(e.stream as u8);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&(e.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&e.bytes);
    }
}

/// What the request asked for.
struct Wanted {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    logs: bool,
    stream: bool,
    detach_keys: Vec<u8>,
}

/// One session on an upgraded connection (an attach or an exec start).
pub struct Session {
    /// Raw output (a TTY) instead of stdcopy frames.
    pub tty: bool,
    /// The client's stdin goes to the process.
    pub read_stdin: bool,
    /// The end of the client's stdin closes the process's.
    pub stdin_once: bool,
    /// The first entry sent.
    pub from_seq: u64,
    /// The run whose end ends the session.
    pub target_run: u64,
    /// Send stdout.
    pub stdout: bool,
    /// Send stderr.
    pub stderr: bool,
    /// Follow new output (false: what is there, then the end).
    pub stream: bool,
    /// The sequence that detaches.
    pub detach_keys: Vec<u8>,
}

/// The `101 UPGRADED` head of a hijacked stream.
pub fn upgraded() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.docker.raw-stream"),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    r
}

/// Whether the request asks to upgrade to a raw stream.
pub fn wants_upgrade(req: &Request) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .unwrap_or("")
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "tcp")
}

/// The attach handler: checks, the 101, and the session on the upgraded connection.
pub async fn attach(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
    mut req: Request,
) -> Result<Response> {
    let c = engine.resolve(key)?;
    let detach_keys = match q.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => parse_detach_keys(k)
            .ok_or_else(|| bad_request(format!("Invalid detach keys ({k}) provided")))?,
        None => DEFAULT_DETACH_KEYS.to_vec(),
    };
    let wanted = Wanted {
        stdin: truthy(q, "stdin"),
        stdout: truthy(q, "stdout"),
        stderr: truthy(q, "stderr"),
        logs: truthy(q, "logs"),
        stream: truthy(q, "stream"),
        detach_keys,
    };
    if !wants_upgrade(&req) {
        return Err(bad_request(
            "attach needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)",
        ));
    }
    let Some(hub) = engine.config.interaction.clone() else {
        return Err(ApiError::server(
            "Server error from portlayer: the containerVM has no attach link",
        ));
    };
    let channel = hub.channel(&c.id);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let now_ms = engine.pl.now_ms().await.unwrap_or_default();
    engine.events.publish(Event::container(
        "attach",
        &c.id,
        &c.name,
        &c.image_ref,
        now_ms,
    ));
    // The run and the output position are read now, before the 101 goes out: the docker CLI
    // sends `wait` and `start` as soon as it has the 101, and a short run (`docker run busybox
    // true`) can start and end before a task spawned here is first polled. Read there, the
    // ended run looked like the past and the session waited for a next start that never came.
    let runs = channel.runs();
    let spec = Session {
        tty: c.tty,
        read_stdin: wanted.stdin && c.open_stdin,
        stdin_once: c.attach.3,
        from_seq: if wanted.logs { 0 } else { channel.next_seq() },
        // The run in progress, or the next start.
        target_run: if runs.running { runs.run } else { runs.run + 1 },
        stdout: wanted.stdout,
        stderr: wanted.stderr,
        stream: wanted.stream,
        detach_keys: wanted.detach_keys,
    };
    let e = engine.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let detached = session(TokioIo::new(upgraded), &channel, &spec).await;
        if detached {
            let at = e.pl.now_ms().await.unwrap_or(now_ms);
            e.events
                .publish(Event::container("detach", &c.id, &c.name, &c.image_ref, at));
        }
    });
    Ok(upgraded())
}

/// Runs one session; true when the client detached with the detach keys.
pub async fn session<S>(io: S, channel: &Arc<Channel>, w: &Session) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut changed = channel.watch();
    let target_run = w.target_run;
    let mut next_seq = w.from_seq;
    let read_stdin = w.read_stdin;
    let stdin_once = w.stdin_once;
    let mut pending: Vec<u8> = Vec::new();
    let mut stdin_eof = false;
    let mut eof_sent = false;
    let mut reading = true;
    let mut matched = 0usize;
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::sleep(MAX_WAIT);
    tokio::pin!(deadline);
    let mut detached = false;
    loop {
        // Output first: everything written since the last pass, with the run state read
        // together, so an ended run has all its output sent before the stream closes.
        let (entries, state) = channel.read_from(next_seq);
        let mut out = Vec::new();
        for e in &entries {
            next_seq = e.seq + 1;
            let want = match e.stream {
                Stream::Stdout => w.stdout,
                Stream::Stderr => w.stderr,
            };
            if want {
                frame(w.tty, e, &mut out);
            }
        }
        if !out.is_empty() && (wr.write_all(&out).await.is_err() || wr.flush().await.is_err()) {
            return false;
        }
        // stdin held until the target run reads it.
        if state.running && state.run >= target_run && channel.accepts_input() {
            if !pending.is_empty() {
                channel.send_input(Input::Bytes(std::mem::take(&mut pending)));
            }
            if stdin_eof && stdin_once && !eof_sent {
                eof_sent = true;
                channel.send_input(Input::Eof);
            }
        }
        let run_over = state
            .last_exit
            .is_some_and(|(run, _)| run >= target_run && !state.running);
        if state.closed || run_over || !w.stream {
            break;
        }
        tokio::select! {
            () = &mut deadline => break,
            r = changed.changed() => {
                if r.is_err() {
                    break;
                }
            }
            n = rd.read(&mut buf), if reading => match n {
                // With a TTY, the end of the stdin the client sends ends the session and leaves the
                // process's stdin open (dockerd closes the container's stdin on StdinOnce
                // only without a TTY): the docker CLI detaches this way, handling the
                // detach keys itself and closing the connection.
                Ok(0) | Err(_) if w.tty && read_stdin => {
                    detached = true;
                    break;
                }
                Ok(0) | Err(_) => {
                    reading = false;
                    stdin_eof = true;
                }
                Ok(n) => {
                    // The detach sequence may span reads; bytes of a partial match are
                    // held back and passed on if the sequence breaks off.
                    let mut keep = Vec::with_capacity(n);
                    for &b in &buf[..n] {
                        if b == w.detach_keys[matched] {
                            matched += 1;
                            if matched == w.detach_keys.len() {
                                detached = true;
                                break;
                            }
                        } else {
                            keep.extend_from_slice(&w.detach_keys[..matched]);
                            matched = 0;
                            if b == w.detach_keys[0] {
                                matched = 1;
                            } else {
                                keep.push(b);
                            }
                        }
                    }
                    if detached {
                        break;
                    }
                    if read_stdin && pending.len() + keep.len() <= MAX_PENDING_STDIN {
                        pending.extend_from_slice(&keep);
                    }
                }
            },
        }
    }
    let _ = wr.shutdown().await;
    detached
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q"), Some(vec![16, 17]));
        assert_eq!(parse_detach_keys("a,ctrl-@"), Some(vec![b'a', 0]));
        assert_eq!(parse_detach_keys("ctrl-1"), None);
        assert_eq!(parse_detach_keys("ab"), None);
        assert_eq!(parse_detach_keys(""), None);
    }

    #[test]
    fn frames() {
        let e = Entry {
            seq: 0,
            stream: Stream::Stderr,
            at_ms: 0,
            bytes: Bytes::from_static(b"hi\n"),
        };
        let mut out = Vec::new();
        frame(false, &e, &mut out);
        assert_eq!(out, [2, 0, 0, 0, 0, 0, 0, 3, b'h', b'i', b'\n']);
        out.clear();
        frame(true, &e, &mut out);
        assert_eq!(out, b"hi\n");
    }
}
