//! The runner's side of the developer workflow: docker lines sent to a Docker Container Host
//! (a `dch = "…"` container of a VCH, reached through the port the VCH publishes for its
//! 2375), build contexts read beside the scenario file, the virtual clock driven while a
//! DCH spends a build's CPU, and the `http` probe of a container's service.
//!
//! Determinism: the clock moves only while the tether reports queued work
//! ([`vic::tether::TetherAgent::work_pending`]), one 20 s sample at a time, so the build's
//! end is the contention model's answer and never the wall clock's.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use serde_json::Value as Json;

use crate::docker::Docker;
use crate::schema::HttpProbe;

/// The most virtual time one step may drive the clock (a build): past it the step fails.
pub const MAX_STEP_VIRTUAL_MS: i64 = 25 * 60 * 1000;

/// How long a probe may take (connect, request and answer), wall time.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a probed answer's body kept.
pub const MAX_PROBE_BODY_BYTES: usize = 64 * 1024;

/// What drives the clock while a step waits for the model.
#[derive(Clone)]
pub struct Pacer {
    /// The emulator.
    pub vc: vcsim::Vcsim,
    /// The tether, which knows of queued work.
    pub tether: Arc<vic::tether::TetherAgent>,
    /// The scenario's end (virtual ms since the epoch): the clock never passes it.
    pub end_ms: i64,
}

impl Pacer {
    /// Runs `fut`, advancing the clock by one sample whenever a service waits for CPU
    /// work and `fut` has not finished; `Err` past [`MAX_STEP_VIRTUAL_MS`] or the
    /// scenario's end.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, String> {
        tokio::pin!(fut);
        let mut advanced_ms: i64 = 0;
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                () = tokio::time::sleep(Duration::from_millis(2)) => {}
            }
            if self.tether.work_pending() {
                let step_ms = vcsim::clock::REALTIME_INTERVAL_S * 1000;
                if advanced_ms >= MAX_STEP_VIRTUAL_MS {
                    return Err(format!(
                        "the step needed more than {} min of virtual time",
                        MAX_STEP_VIRTUAL_MS / 60_000
                    ));
                }
                if self.vc.with(|e| e.clock.now_ms()) + step_ms > self.end_ms {
                    return Err("the step was still running at the scenario's end".to_owned());
                }
                self.vc.advance(step_ms);
                advanced_ms += step_ms;
                tokio::task::yield_now().await;
            }
        }
    }
}

/// The Docker client of the DCH that container `container` of a VCH runs: its published
/// 2375 on the VCH's address `vch_address`.
pub async fn dch_client(
    vch: &Docker,
    vch_address: std::net::IpAddr,
    container: &str,
) -> Result<Docker, String> {
    let out = vch
        .run(&["inspect", "--type", "container", container])
        .await?;
    let doc: Json = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("docker inspect {container}: {e}"))?;
    let port = doc
        .pointer("/0/NetworkSettings/Ports/2375~1tcp/0/HostPort")
        .and_then(Json::as_str)
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| {
            format!(
                "container {container:?} does not publish port 2375 (run it with -p <port>:2375)"
            )
        })?;
    Docker::from_args(&["-H".to_owned(), format!("tcp://{vch_address}:{port}")])
}

/// `build … PATH` (and `-f FILE`): relative paths read beside the scenario file (`base`).
pub fn resolve_build_path(argv: &[String], base: Option<&Path>) -> Vec<String> {
    let Some(base) = base else {
        return argv.to_vec();
    };
    if argv.first().map(String::as_str) != Some("build") {
        return argv.to_vec();
    }
    let resolve = |p: &str| -> String {
        if Path::new(p).is_relative() && p != "-" {
            base.join(p).display().to_string()
        } else {
            p.to_owned()
        }
    };
    // The builder flags that take a value as the next word.
    const VALUED: &[&str] = &["-t", "--tag", "-f", "--file", "--build-arg", "--label"];
    let mut out = Vec::with_capacity(argv.len());
    let mut it = argv.iter();
    if let Some(verb) = it.next() {
        out.push(verb.clone());
    }
    let mut path_seen = false;
    while let Some(a) = it.next() {
        if a == "-f" || a == "--file" {
            out.push(a.clone());
            if let Some(v) = it.next() {
                out.push(resolve(v));
            }
        } else if let Some(v) = a.strip_prefix("--file=") {
            out.push(format!("--file={}", resolve(v)));
        } else if VALUED.contains(&a.as_str()) {
            out.push(a.clone());
            out.extend(it.next().cloned());
        } else if a.starts_with('-') || path_seen {
            out.push(a.clone());
        } else {
            path_seen = true;
            out.push(resolve(a));
        }
    }
    out
}

/// GET `/` of the probe's container on its network: `"<status> <body>"`, or why not.
pub async fn http_probe(vch: &Docker, probe: &HttpProbe) -> Result<String, String> {
    let out = vch
        .run(&["inspect", "--type", "container", &probe.container])
        .await?;
    let doc: Json = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("docker inspect {}: {e}", probe.container))?;
    let ip = doc
        .pointer(&format!(
            "/0/NetworkSettings/Networks/{}/IPAddress",
            probe.network.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(Json::as_str)
        .filter(|ip| !ip.is_empty())
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        .ok_or_else(|| {
            format!(
                "container {:?} has no address on network {:?}",
                probe.container, probe.network
            )
        })?;
    let addr = std::net::SocketAddr::new(ip, probe.port);
    tokio::time::timeout(PROBE_TIMEOUT, get(addr))
        .await
        .map_err(|_| format!("GET http://{addr}/: no answer within {PROBE_TIMEOUT:?}"))?
}

async fn get(addr: std::net::SocketAddr) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("GET http://{addr}/: {e}");
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| fail(&e))?;
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| fail(&e))?;
    let task = tokio::spawn(conn);
    let req = hyper::Request::get("/")
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::USER_AGENT, "vicbed-scenario")
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| fail(&e))?;
    let resp = send.send_request(req).await.map_err(|e| fail(&e))?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), MAX_PROBE_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| fail(&*e))?
        .to_bytes();
    task.abort();
    let text = String::from_utf8_lossy(&body);
    let result = format!("{} {}", status.as_u16(), text.trim());
    if status.is_success() {
        Ok(result)
    } else {
        Err(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_paths_resolve_beside_the_scenario() {
        let argv: Vec<String> = ["build", "-t", "x:1", "ctx"].map(str::to_owned).to_vec();
        let out = resolve_build_path(&argv, Some(Path::new("/s/dir")));
        assert_eq!(out.last().map(String::as_str), Some("/s/dir/ctx"));
        let argv: Vec<String> = ["build", ".", "-t", "x:1", "-f", "ctx/Dockerfile.dev", "-q"]
            .map(str::to_owned)
            .to_vec();
        let out = resolve_build_path(&argv, Some(Path::new("/s")));
        assert_eq!(
            out,
            [
                "build",
                "/s/.",
                "-t",
                "x:1",
                "-f",
                "/s/ctx/Dockerfile.dev",
                "-q"
            ]
        );
        let abs: Vec<String> = ["build", "/abs"].map(str::to_owned).to_vec();
        assert_eq!(resolve_build_path(&abs, Some(Path::new("/s"))), abs);
        let run: Vec<String> = ["run", "busybox"].map(str::to_owned).to_vec();
        assert_eq!(resolve_build_path(&run, Some(Path::new("/s"))), run);
    }
}
