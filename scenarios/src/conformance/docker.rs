//! A minimal Docker Engine API client over plain HTTP (a VCH created with `--no-tls`), enough
//! for the suites: pull, create, start, rename, inspect. One request per connection, every
//! exchange bounded in time and size.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest a request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response read.
const MAX_RESPONSE: u64 = 8 * 1024 * 1024;

/// A Docker endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Docker {
    addr: SocketAddr,
}

/// A response: status and body text.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or(Json::Null)
    }

    /// The `message` of an error body, or the body itself.
    pub fn message(&self) -> String {
        match self.json().get("message").and_then(Json::as_str) {
            Some(m) => m.to_owned(),
            None => self.body.trim().to_owned(),
        }
    }
}

impl Docker {
    /// The endpoint named by `-H host:port` (or `tcp://host:port`) in docker global options.
    /// TLS options are refused: the suites create their VCHs with `--no-tls`.
    pub fn from_args(args: &[String]) -> Result<Docker, String> {
        if args.iter().any(|a| a.starts_with("--tls")) {
            return Err(format!(
                "the suites speak plain HTTP, but the VCH wants TLS: {args:?}"
            ));
        }
        let host = args
            .iter()
            .position(|a| a == "-H" || a == "--host")
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
            .or_else(|| {
                args.iter()
                    .find_map(|a| a.strip_prefix("-H=").or_else(|| a.strip_prefix("--host=")))
            })
            .ok_or_else(|| format!("no -H in the docker options {args:?}"))?;
        let host = host.strip_prefix("tcp://").unwrap_or(host);
        let addr = host
            .parse()
            .map_err(|e| format!("docker host {host:?}: {e}"))?;
        Ok(Docker { addr })
    }

    /// One request; `body` is sent as JSON.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Reply, String> {
        tokio::time::timeout(TIMEOUT, self.exchange(method, path, body))
            .await
            .map_err(|_| format!("{method} {path}: no answer within {TIMEOUT:?}"))?
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Reply, String> {
        let io = |e: std::io::Error| format!("{method} {path}: {e}");
        let mut s = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(io)?;
        let body = body.unwrap_or("");
        let req = format!(
            "{method} /v1.25{path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vicbed-conformance\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes()).await.map_err(io)?;
        let mut buf = Vec::new();
        s.take(MAX_RESPONSE)
            .read_to_end(&mut buf)
            .await
            .map_err(io)?;
        parse_response(&buf).ok_or_else(|| format!("{method} {path}: malformed HTTP response"))
    }

    /// `docker pull image:tag`.
    pub async fn pull(&self, image: &str, tag: &str) -> Result<(), String> {
        let r = self
            .request(
                "POST",
                &format!("/images/create?fromImage={image}&tag={tag}"),
                None,
            )
            .await?;
        match r.status {
            200 => Ok(()),
            s => Err(format!("pull {image}:{tag}: {s} {}", r.message())),
        }
    }

    /// `docker create`: `Ok(Ok(id))`, or `Ok(Err(message))` when the endpoint refused.
    pub async fn create(
        &self,
        name: Option<&str>,
        body: &Json,
    ) -> Result<Result<String, String>, String> {
        let path = match name {
            Some(n) => format!("/containers/create?name={n}"),
            None => "/containers/create".to_owned(),
        };
        let r = self.request("POST", &path, Some(&body.to_string())).await?;
        if r.status != 201 {
            return Ok(Err(r.message()));
        }
        match r.json().get("Id").and_then(Json::as_str) {
            Some(id) => Ok(Ok(id.to_owned())),
            None => Err(format!("create answered 201 without an Id: {}", r.body)),
        }
    }

    /// `docker start`.
    pub async fn start(&self, id: &str) -> Result<(), String> {
        let r = self
            .request("POST", &format!("/containers/{id}/start"), None)
            .await?;
        match r.status {
            204 | 304 => Ok(()),
            s => Err(format!("start {id}: {s} {}", r.message())),
        }
    }

    /// `docker rename`: `Ok(Ok(()))`, or `Ok(Err(message))` when the endpoint refused.
    pub async fn rename(&self, id: &str, new_name: &str) -> Result<Result<(), String>, String> {
        let r = self
            .request(
                "POST",
                &format!("/containers/{id}/rename?name={}", query_escape(new_name)),
                None,
            )
            .await?;
        Ok(match r.status {
            204 => Ok(()),
            _ => Err(r.message()),
        })
    }

    /// `docker inspect` of a container.
    pub async fn inspect(&self, id: &str) -> Result<Json, String> {
        let r = self
            .request("GET", &format!("/containers/{id}/json"), None)
            .await?;
        match r.status {
            200 => Ok(r.json()),
            s => Err(format!("inspect {id}: {s} {}", r.message())),
        }
    }
}

/// Percent-encodes a query value (names may hold characters the endpoint must see verbatim).
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Status and body of a complete HTTP/1.1 response (chunked or not).
fn parse_response(buf: &[u8]) -> Option<Reply> {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..split]).ok()?;
    let mut lines = head.lines();
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")
        })
    });
    let raw = &buf[split + 4..];
    let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
    Some(Reply {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The payload of a chunked body; `None` when it is malformed.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let end = body.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&body[..end]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        body = &body[end + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..).unwrap_or(&[]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_chunked_responses() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{\"Id\":1}\n")
            .unwrap();
        assert_eq!((r.status, r.body.trim()), (201, "{\"Id\":1}"));
        let r = parse_response(
            b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"mes\r\nf\r\nsage\":\"no way\"}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.message()), (500, "no way".to_owned()));
        assert!(parse_response(b"garbage").is_none());
        assert!(dechunk(b"zz\r\n").is_none());
    }

    #[test]
    fn host_from_docker_options() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let d = Docker::from_args(&args(&["-H", "127.0.1.3:2375"])).unwrap();
        assert_eq!(d.addr.to_string(), "127.0.1.3:2375");
        assert!(Docker::from_args(&args(&["-H", "127.0.1.3:2376", "--tls"])).is_err());
        assert!(Docker::from_args(&args(&[])).is_err());
        assert_eq!(query_escape("a b/c"), "a%20b%2Fc");
    }
}
