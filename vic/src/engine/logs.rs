//! `GET /containers/{id}/logs`: what the container's process wrote, as VIC serves it from
//! the containerVM's `output.log` (here its [`crate::interaction`] channel, the same bytes
//! with their virtual times), with dockerd's parameters: `stdout`/`stderr` (at least one),
//! `timestamps` (RFC 3339 with nanoseconds, per line), `since`/`until` (Unix seconds on the
//! virtual clock), `tail` (`all` or a count) and `follow` (new output as it is written,
//! until the run in progress ends or the container goes).
//!
//! A containerVM whose tether has no link to this endpoint (a VCH pointed at another
//! vSphere) gets the lines its planned process prints ([`crate::workload`]).

use super::api::{MAX_WAIT, Result, bad_request, time_param, truthy};
use super::events::ChannelBody;
use super::state::{ApiError, Container, Engine};
use super::util::rfc3339_ms;
use crate::interaction::{Channel, Entry};
use crate::portlayer::{PortLayerError, Power, VmState};
use crate::workload;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// One log line: stream (1 stdout, 2 stderr), virtual time ms, bytes with the line end.
type Line = (u8, i64, Vec<u8>);

/// Splits entries into lines (a write's trailing partial line is a line too).
fn lines_of(entries: &[Entry]) -> Vec<Line> {
    let mut out = Vec::new();
    for e in entries {
        for line in e.bytes.split_inclusive(|b| *b == b'\n') {
            out.push((e.stream as u8, e.at_ms, line.to_vec()));
        }
    }
    out
}

/// The lines of a containerVM without a link, from its planned process.
fn planned_lines(c: &Container, st: &VmState) -> Vec<Line> {
    if st.started.as_deref() != Some("true") {
        return Vec::new();
    }
    let plan = workload::plan(&c.argv, c.tty, c.open_stdin, c.image.workload.as_deref());
    let start_ms = st.start_s.map(|t| t * 1000).unwrap_or(c.created_ms);
    let line = |s: u8, at: i64, l: &String| (s, at, format!("{l}\n").into_bytes());
    let mut out: Vec<Line> = plan
        .start_log
        .iter()
        .map(|l| line(1, start_ms, l))
        .collect();
    if let (Some(_), Power::Off) = (st.status, st.power) {
        let at = st.stop_s.map(|t| t * 1000).unwrap_or(start_ms);
        let stream = if plan.exit_code == 0 { 1 } else { 2 };
        out.extend(plan.exit_log.iter().map(|l| line(stream, at, l)));
    }
    out
}

/// The query, checked before anything is read.
struct Params {
    tail: Option<usize>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    stdout: bool,
    stderr: bool,
    stamps: bool,
    follow: bool,
}

impl Params {
    fn parse(q: &BTreeMap<String, String>) -> Result<Params> {
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
        let p = Params {
            tail,
            since_ms: time_param(q, "since")?.map(|s| (s * 1000.0) as i64),
            until_ms: time_param(q, "until")?.map(|s| (s * 1000.0) as i64),
            stdout: truthy(q, "stdout"),
            stderr: truthy(q, "stderr"),
            stamps: truthy(q, "timestamps"),
            follow: truthy(q, "follow"),
        };
        if !p.stdout && !p.stderr {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "Bad parameters: you must choose at least one stream",
            ));
        }
        Ok(p)
    }

    fn wants(&self, (stream, at, _): &Line) -> bool {
        ((*stream == 1 && self.stdout) || (*stream == 2 && self.stderr))
            && self.since_ms.is_none_or(|s| *at >= s)
            && self.until_ms.is_none_or(|u| u == 0 || *at <= u)
    }

    /// The selected lines, framed.
    fn render(&self, tty: bool, lines: Vec<Line>) -> Vec<u8> {
        let mut body = Vec::new();
        for (stream, at, text) in lines.into_iter().filter(|l| self.wants(l)) {
            let mut line = Vec::with_capacity(text.len() + 32);
            if self.stamps {
                line.extend_from_slice(rfc3339_ms(at).as_bytes());
                line.push(b' ');
            }
            line.extend_from_slice(&text);
            if tty {
                body.extend_from_slice(&line);
            } else {
                // stdcopy framing: stream, three zero bytes, big-endian length.
                body.push(stream);
                body.extend_from_slice(&[0, 0, 0]);
                body.extend_from_slice(&(line.len() as u32).to_be_bytes());
                body.extend_from_slice(&line);
            }
        }
        body
    }
}

fn gone(e: PortLayerError, key: &str) -> ApiError {
    if e.is_gone() {
        ApiError::no_such_container(key)
    } else {
        e.into()
    }
}

fn raw_stream(body: Body) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.docker.raw-stream"),
    );
    r
}

pub async fn logs(
    engine: &Arc<Engine>,
    key: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response> {
    let p = Params::parse(q)?;
    let c = engine.resolve(key)?;
    let channel = engine
        .config
        .interaction
        .as_ref()
        .and_then(|h| h.get(&c.id));
    let Some(channel) = channel else {
        if p.follow {
            // Without a link the lines come once the container has stopped.
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
        let lines = tail(planned_lines(&c, &st), &p);
        return Ok(raw_stream(Body::from(p.render(c.tty, lines))));
    };
    let (entries, runs) = channel.read_from(0);
    let next_seq = entries.last().map_or(0, |e| e.seq + 1);
    let first = p.render(c.tty, tail(lines_of(&entries), &p));
    if !p.follow || !runs.running {
        return Ok(raw_stream(Body::from(first)));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let tty = c.tty;
    tokio::spawn(follow(channel, next_seq, p, tty, first, tx));
    Ok(raw_stream(Body::new(ChannelBody(rx))))
}

/// `tail` applied to the lines `p` selects.
fn tail(mut lines: Vec<Line>, p: &Params) -> Vec<Line> {
    lines.retain(|l| p.wants(l));
    if let Some(n) = p.tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    lines
}

/// Sends what was there, then new output until the run ends, the container goes, the
/// client hangs up or [`MAX_WAIT`] passes.
async fn follow(
    channel: Arc<Channel>,
    mut next_seq: u64,
    p: Params,
    tty: bool,
    first: Vec<u8>,
    tx: mpsc::Sender<Bytes>,
) {
    let mut changed = channel.watch();
    if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
        return;
    }
    let deadline = tokio::time::sleep(MAX_WAIT);
    tokio::pin!(deadline);
    loop {
        let (entries, runs) = channel.read_from(next_seq);
        if let Some(e) = entries.last() {
            next_seq = e.seq + 1;
        }
        let out = p.render(tty, lines_of(&entries));
        if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
            return;
        }
        if !runs.running || runs.closed {
            return;
        }
        tokio::select! {
            () = &mut deadline => return,
            () = tx.closed() => return,
            r = changed.changed() => if r.is_err() { return },
        }
    }
}
