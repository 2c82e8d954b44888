//! The attached commands: a foreground `docker run` and a plain `docker exec`, over the
//! transport's upgraded connections (`Connection: Upgrade`, `Upgrade: tcp`, answered
//! `101`), as the docker CLI runs them.
//!
//! - `run` without `-d`: after the create (and pull) `run` shares with `-d`, attach
//!   (`POST /containers/{id}/attach?stream=1&stdout=1&stderr=1`, upgraded) before the
//!   start so no output is missed, start, read the stream to its end (the end of the run),
//!   then `POST /containers/{id}/wait` for the exit code, which the command exits with.
//! - `exec` without `-d`: `POST /containers/{id}/exec` (`AttachStdout`/`AttachStderr`),
//!   `POST /exec/{id}/start` with `{"Detach":false}` upgraded, the stream to its end, then
//!   `GET /exec/{id}/json` for `ExitCode` (polled while the exec still reports itself
//!   running). `exec -d` starts it with `{"Detach":true}` and prints nothing.
//!
//! The stream is demultiplexed from docker's stdcopy frames (stream byte — 1 stdout, 2
//! stderr —, three zero bytes, big-endian length), or taken raw with a TTY (`run -t`).
//! Output is bounded: at [`MAX_ATTACHED_OUTPUT_BYTES`] reading stops (the process runs
//! on; the exit code still comes from `wait`), and reading is bounded in time by the wait
//! timeout.
//!
//! Departure: for a foreground `run --rm` the docker CLI (API ≥ 1.25) leaves the removal
//! to the daemon (`AutoRemove`) and learns the exit code from the event stream; this client
//! reads no event stream, so it creates the container without `AutoRemove`, reads the exit
//! code from `wait` and then removes the container itself (`DELETE …?v=1`, as the CLI did
//! before API 1.25; a 404 there means it is gone already and is not an error).

use super::cli::{ExecArgs, RunArgs};
use super::error::ClientError;
use super::exec::{daemon_error, enc};
use super::http::{RawStream, Upgrade};
use super::render::demux_logs;
use super::types::CliOutput;
use super::{API_PREFIX, DockerClient};
use serde_json::{Value as Json, json};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Most bytes of an attached stream read (frame headers included); the rest is dropped.
pub const MAX_ATTACHED_OUTPUT_BYTES: usize = 1 << 20;

/// Pause between exec inspections while the exec still reports itself running.
const EXEC_POLL: Duration = Duration::from_millis(100);

/// Reads `stream` to its end, or to `cap` bytes, within `timeout`; `what` names the
/// request in a timeout or read error. A read error after the start ends the stream as
/// the connection's end does.
async fn read_capped(
    client: &DockerClient,
    mut stream: RawStream,
    cap: usize,
    timeout: Duration,
    what: &str,
) -> Result<Vec<u8>, ClientError> {
    let read = async {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        while out.len() < cap {
            let want = chunk.len().min(cap - out.len());
            match stream.read(&mut chunk[..want]).await {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if out.is_empty() => {
                    return Err(ClientError::Http {
                        method: "POST".into(),
                        url: client.url().to_owned(),
                        path: what.to_owned(),
                        reason: format!("reading the attached stream: {e}"),
                    });
                }
                Err(_) => break,
            }
        }
        Ok(out)
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ClientError::Timeout {
            what: format!("reading the stream of POST {what} on"),
            url: client.url().to_owned(),
            after_ms: timeout.as_millis() as u64,
        })?
}

/// A JSON answer's field, or a decode error naming `what`.
fn field<'a>(v: &'a Json, key: &str, what: &str) -> Result<&'a Json, ClientError> {
    v.get(key).ok_or_else(|| ClientError::Decode {
        what: what.to_owned(),
        reason: format!("no {key} in the answer"),
    })
}

impl DockerClient {
    /// `POST path` (with an optional JSON `body`) upgraded to a raw stream; a refusal is
    /// the daemon's error.
    async fn post_upgrade(
        &self,
        path: &str,
        body: Option<&Json>,
    ) -> Result<RawStream, ClientError> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let full = format!("{API_PREFIX}{path}");
        let (status, answer) = self
            .transport
            .upgrade("POST", &full, bytes.as_deref(), self.request_timeout())
            .await?;
        match answer {
            Upgrade::Switched(stream) => Ok(stream),
            Upgrade::Refused(r) if status >= 400 => Err(daemon_error(&r)),
            Upgrade::Refused(_) => Err(ClientError::Http {
                method: "POST".into(),
                url: self.url().to_owned(),
                path: full,
                reason: format!("the daemon answered {status} instead of switching protocols"),
            }),
        }
    }

    /// The attached part of a foreground `run` of the created container `id`: attach,
    /// start, the output, the exit code; with `--rm`, the removal.
    pub(super) async fn run_attached(
        &self,
        args: &RunArgs,
        id: &str,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        let result = self.attach_start_wait(args, id, out).await;
        if args.auto_remove {
            let path = format!("/containers/{}?v=1", enc(id));
            match self
                .call("DELETE", &path, None, self.request_timeout())
                .await
            {
                Ok(_) | Err(ClientError::Daemon { status: 404, .. }) => {}
                Err(e) if result.is_ok() => return Err(e),
                Err(_) => {}
            }
        }
        result
    }

    async fn attach_start_wait(
        &self,
        args: &RunArgs,
        id: &str,
        out: &mut CliOutput,
    ) -> Result<(), ClientError> {
        let attach = format!("/containers/{}/attach?stream=1&stdout=1&stderr=1", enc(id));
        let stream = self.post_upgrade(&attach, None).await?;
        let start = format!("/containers/{}/start", enc(id));
        self.post(&start, self.request_timeout()).await?;
        let cap = MAX_ATTACHED_OUTPUT_BYTES;
        let bytes = read_capped(self, stream, cap, self.wait_timeout(), &attach).await?;
        let (stdout, stderr) = demux_logs(&bytes, args.tty);
        out.stdout.push_str(&stdout);
        out.stderr.push_str(&stderr);
        let wait = format!("/containers/{}/wait", enc(id));
        let r = self.post(&wait, self.wait_timeout()).await?;
        let v: Json = serde_json::from_slice(&r.body).unwrap_or(Json::Null);
        let what = format!("POST {wait}");
        out.exit_code = field(&v, "StatusCode", &what)?
            .as_i64()
            .map_or(-1, |c| c as i32);
        Ok(())
    }

    /// `docker exec`.
    pub(super) async fn exec(&self, a: &ExecArgs, out: &mut CliOutput) -> Result<(), ClientError> {
        let attach = !a.detach;
        let body = json!({
            "User": a.user.clone().unwrap_or_default(),
            "Privileged": a.privileged,
            "Tty": false,
            "AttachStdin": false,
            "AttachStdout": attach,
            "AttachStderr": attach,
            "Detach": a.detach,
            "DetachKeys": a.detach_keys.clone().unwrap_or_default(),
            "Env": a.env,
            "Cmd": a.cmd,
        });
        let create = format!("/containers/{}/exec", enc(&a.container));
        let r = self
            .call("POST", &create, Some(&body), self.request_timeout())
            .await?;
        let v: Json = serde_json::from_slice(&r.body).unwrap_or(Json::Null);
        let what = format!("POST {create}");
        let id = field(&v, "Id", &what)?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let start = format!("/exec/{}/start", enc(&id));
        if a.detach {
            let body = json!({"Detach": true, "Tty": false});
            self.call("POST", &start, Some(&body), self.request_timeout())
                .await?;
            return Ok(());
        }
        let body = json!({"Detach": false, "Tty": false});
        let stream = self.post_upgrade(&start, Some(&body)).await?;
        let cap = MAX_ATTACHED_OUTPUT_BYTES;
        let bytes = read_capped(self, stream, cap, self.wait_timeout(), &start).await?;
        let (stdout, stderr) = demux_logs(&bytes, false);
        out.stdout.push_str(&stdout);
        out.stderr.push_str(&stderr);
        out.exit_code = self.exec_exit_code(&id).await?;
        Ok(())
    }

    /// The exit code `GET /exec/{id}/json` reports, asked again while the exec still runs
    /// (its stream may end just before its record does), up to the wait timeout.
    async fn exec_exit_code(&self, id: &str) -> Result<i32, ClientError> {
        let path = format!("/exec/{}/json", enc(id));
        let rounds = (self.wait_timeout().as_millis() / EXEC_POLL.as_millis()).max(1);
        for _ in 0..rounds {
            let v = self.get_json(&path).await?;
            let running = v.get("Running").and_then(Json::as_bool) == Some(true);
            if let Some(code) = v.get("ExitCode").and_then(Json::as_i64)
                && !running
            {
                return Ok(code as i32);
            }
            tokio::time::sleep(EXEC_POLL).await;
        }
        Err(ClientError::Timeout {
            what: format!("GET {path} (the exec's exit) on"),
            url: self.url().to_owned(),
            after_ms: self.wait_timeout().as_millis() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::client::GlobalOptions;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A client of a local server that answers every request with `answer` (then, after a
    /// `101`, `stream`) and closes.
    async fn client_of(answer: &'static [u8], stream: &'static [u8]) -> DockerClient {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut b).await.unwrap_or(0) == 1 {
                    head.push(b[0]);
                }
                let _ = s.write_all(answer).await;
                let _ = s.write_all(stream).await;
            }
        });
        let g = GlobalOptions::from_args(&["-H".to_owned(), format!("tcp://127.0.0.1:{port}")])
            .unwrap();
        DockerClient::new(&g).unwrap()
    }

    #[tokio::test]
    async fn upgraded_streams_are_read_to_their_end_or_the_cap() {
        let up = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
        let frames = b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n\x02\x00\x00\x00\x00\x00\x00\x04err\n";
        let c = client_of(up, frames).await;
        let s = c.post_upgrade("/containers/x/attach", None).await.unwrap();
        let t = Duration::from_secs(5);
        let bytes = read_capped(&c, s, 1024, t, "x").await.unwrap();
        assert_eq!(demux_logs(&bytes, false), ("hi\n".into(), "err\n".into()));
        let s = c.post_upgrade("/containers/x/attach", None).await.unwrap();
        assert_eq!(read_capped(&c, s, 5, t, "x").await.unwrap().len(), 5);
    }

    #[tokio::test]
    async fn refused_upgrades_are_daemon_errors() {
        let refused = b"HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n{\"message\":\"Container abc is not running\"}\n\n\n";
        let c = client_of(refused, b"").await;
        let e = c.post_upgrade("/exec/x/start", None).await.err().unwrap();
        assert_eq!(
            e.to_string(),
            "Error response from daemon: Container abc is not running"
        );
    }
}
