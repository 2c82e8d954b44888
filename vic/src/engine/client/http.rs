//! One HTTP/1.1 exchange per connection to the Docker endpoint, over TCP or TLS, on the
//! shared hyper-based HTTP/1.1 layer (`crate::http1`): connect (bounded by the connect
//! timeout), send the request with `Connection: close`, read the response (bounded by the
//! request timeout and the body limit); or, for attach and exec, ask for an HTTP upgrade
//! (`Connection: Upgrade`, `Upgrade: tcp`) and hand over the raw stream after the daemon's
//! `101`. Failures come out as the [`ClientError`]s the docker CLI has words
//! for (cannot connect, TLS, timeout, a plain request to a TLS port).

use super::error::ClientError;
use crate::http1::{self, Conn, ConnectError, ReadError, ReadRules, TlsTarget};
use crate::tlsverify::rustls_error;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Why an answer that does not start with `HTTP/1.` is refused.
const NOT_HTTP: &str = "the answer is not an HTTP/1.x response";
/// What the CLI adds when a plain connection meets something that is not HTTP.
const TLS_HINT: &str = "Are you trying to connect to a TLS-enabled daemon without TLS?";

/// A response.
#[derive(Debug)]
pub(super) struct Response {
    /// The status code.
    pub status: u16,
    /// The headers in order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The raw stream of an upgraded connection (after `101 Switching Protocols`).
pub(super) type RawStream = TokioIo<hyper::upgrade::Upgraded>;

/// The answer to an upgrade request.
pub(super) enum Upgrade {
    /// `101`: the connection now carries the raw stream.
    Switched(RawStream),
    /// Any other answer (a refusal), read whole.
    Refused(Response),
}

/// Where and how to connect.
pub(super) struct Transport {
    /// Host name or IP (IPv6 without brackets).
    host: String,
    /// The port.
    port: u16,
    /// `tcp://host:port`, for messages.
    pub url: String,
    /// The `Host` header value (`host:port`).
    authority: String,
    /// TLS, when used.
    tls: Option<TlsTarget>,
    /// Connect limit (TCP and TLS handshake).
    pub connect_timeout: Duration,
    /// Largest response body.
    pub max_body_bytes: usize,
}

/// The reason a rustls error inside `e` gives, if there is one.
fn tls_reason(e: &io::Error) -> Option<String> {
    rustls_error(e).map(rustls::Error::to_string)
}

impl Transport {
    /// A transport to `host:port` (`authority` is `host:port` with IPv6 brackets).
    pub fn new(
        host: String,
        port: u16,
        authority: String,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
        connect_timeout: Duration,
        max_body_bytes: usize,
    ) -> Transport {
        Transport {
            url: format!("tcp://{authority}"),
            host,
            port,
            authority,
            tls: tls.map(|(c, n)| TlsTarget::new(c, n)),
            connect_timeout,
            max_body_bytes,
        }
    }

    /// Whether the connection uses TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Connects (TCP and TLS handshake) within the connect timeout.
    async fn connect(&self) -> Result<Conn, ClientError> {
        let connect = async {
            http1::connect(&self.host, self.port, self.tls.as_ref())
                .await
                .map_err(|e| match e {
                    ConnectError::Tcp(e) => ClientError::Connect {
                        url: self.url.clone(),
                        reason: e.to_string(),
                    },
                    ConnectError::Tls(e) => ClientError::Tls {
                        url: self.url.clone(),
                        reason: tls_reason(&e).unwrap_or_else(|| e.to_string()),
                    },
                })
        };
        let stream = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| ClientError::Timeout {
                what: "connecting to".into(),
                url: self.url.clone(),
                after_ms: self.connect_timeout.as_millis() as u64,
            })??;
        // The request asks for `Connection: close`, so a TLS close without `close_notify`
        // may end a body framed by the connection's end.
        Conn::new(stream, true)
            .await
            .map_err(|e| self.read_error("CONNECT", "", e))
    }

    /// The request `method path` with the client's headers, `extra`, and an optional
    /// `body` (JSON unless `extra` names another `Content-Type`).
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        extra: &[(&str, &str)],
    ) -> Result<hyper::Request<http_body_util::Full<bytes::Bytes>>, ClientError> {
        let length = body.map(|b| b.len().to_string());
        let mut headers = vec![("User-Agent", "vicbed-docker-client (vic::engine::client)")];
        headers.extend_from_slice(extra);
        let typed = extra
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        match &length {
            Some(n) if typed => headers.push(("Content-Length", n)),
            Some(n) => {
                headers.extend([("Content-Type", "application/json"), ("Content-Length", n)])
            }
            None if method == "POST" => headers.push(("Content-Length", "0")),
            None => {}
        }
        let body = bytes::Bytes::copy_from_slice(body.unwrap_or_default());
        http1::request(method, path, &self.authority, &headers, body)
            .map_err(|e| self.read_error(method, path, e))
    }

    /// The request timeout error for `method path`.
    fn timed_out(&self, method: &str, path: &str, timeout: Duration) -> ClientError {
        ClientError::Timeout {
            what: format!("{method} {path} on"),
            url: self.url.clone(),
            after_ms: timeout.as_millis() as u64,
        }
    }

    /// Sends `method path` with `headers` (`X-Registry-Auth`, a `Content-Type` other
    /// than JSON) and an optional `body` (JSON unless `headers` say otherwise), and reads
    /// the answer, all within `timeout` after connecting.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let mut conn = self.connect().await?;
        let mut extra = vec![("Connection", "close")];
        extra.extend_from_slice(headers);
        let req = self.request(method, path, body, &extra)?;
        let rules = ReadRules {
            max_body: self.max_body_bytes,
            identity_only: false,
        };
        let result = tokio::time::timeout(timeout, conn.send(req, rules))
            .await
            .map_err(|_| self.timed_out(method, path, timeout))?;
        result
            .map(|r| Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(|e| self.read_error(method, path, e))
    }

    /// Sends `method path` with an optional JSON `body`, asking to upgrade the connection
    /// to a raw stream, and reads the answer's head within `timeout` after connecting. The
    /// stream itself is unbounded in time: the caller bounds its reads.
    pub async fn upgrade(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<(u16, Upgrade), ClientError> {
        let mut conn = self.connect().await?;
        let up = [("Connection", "Upgrade"), ("Upgrade", "tcp")];
        let req = self.request(method, path, body, &up)?;
        let rules = ReadRules {
            max_body: self.max_body_bytes,
            identity_only: false,
        };
        let exchange = async {
            let head = conn
                .send_head(req)
                .await
                .map_err(|e| self.read_error(method, path, e))?;
            let status = head.status().as_u16();
            if status != 101 {
                let answer = http1::read_body(head, rules)
                    .await
                    .map_err(|e| self.read_error(method, path, e))?;
                let refused = Response {
                    status,
                    headers: answer.headers,
                    body: answer.body,
                };
                return Ok((status, Upgrade::Refused(refused)));
            }
            let upgraded = hyper::upgrade::on(head)
                .await
                .map_err(|e| ClientError::Http {
                    method: method.to_owned(),
                    url: self.url.clone(),
                    path: path.to_owned(),
                    reason: format!("the connection upgrade failed: {e}"),
                })?;
            Ok((status, Upgrade::Switched(TokioIo::new(upgraded))))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| self.timed_out(method, path, timeout))?
    }

    fn read_error(&self, method: &str, path: &str, e: ReadError) -> ClientError {
        let http = |reason: String| ClientError::Http {
            method: method.to_owned(),
            url: self.url.clone(),
            path: path.to_owned(),
            reason,
        };
        // Over plain TCP, a hang-up or non-HTTP bytes likely mean a TLS port.
        let hint = |reason: &str| {
            if self.is_tls() {
                http(reason.to_owned())
            } else {
                http(format!("{reason}. {TLS_HINT}"))
            }
        };
        let closed = "the daemon closed the connection without answering";
        match e {
            ReadError::Closed(_) => hint(closed),
            ReadError::Io { source, .. } => match tls_reason(&source) {
                Some(reason) => ClientError::Tls {
                    url: self.url.clone(),
                    reason,
                },
                None => http(source.to_string()),
            },
            ReadError::NotHttp => hint(NOT_HTTP),
            ReadError::Protocol(reason) => http(reason),
            ReadError::TooLarge { limit } => {
                http(format!("the response body is larger than {limit} bytes"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain transport to a local `port`.
    fn local(port: u16) -> Transport {
        let authority = format!("127.0.0.1:{port}");
        let limit = Duration::from_secs(5);
        Transport::new("127.0.0.1".into(), port, authority, None, limit, 1024)
    }

    #[test]
    fn read_errors_in_the_clis_words() {
        let t = local(2375);
        let say = |e| t.read_error("GET", "/v1.25/info", e).to_string();
        assert!(say(ReadError::NotHttp).ends_with(&format!("{NOT_HTTP}. {TLS_HINT}")));
        let closed = ReadError::Closed(io::ErrorKind::ConnectionReset.into());
        assert!(say(closed).ends_with(TLS_HINT));
        let big = say(ReadError::TooLarge { limit: 10 });
        assert!(
            big.ends_with("the response body is larger than 10 bytes"),
            "{big}"
        );
    }

    /// The error of a GET to a local listener that `serve` handles, within `timeout`.
    async fn error_from<F: Future<Output = ()> + Send + 'static>(
        serve: impl FnOnce(tokio::net::TcpListener) -> F,
        timeout: Duration,
    ) -> ClientError {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let server = tokio::spawn(serve(l));
        let sent = local(port)
            .send("GET", "/v1.25/info", None, &[], timeout)
            .await;
        server.abort();
        sent.unwrap_err()
    }

    #[tokio::test]
    async fn refused_and_closed_connections_say_so() {
        // A port nothing listens on.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = local(port)
            .send("GET", "/v1.25/_ping", None, &[], Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Cannot connect to the Docker daemon at tcp://127.0.0.1:{port}. Is the docker daemon running?"
            )
        );
        // A server that hangs up without answering (as a TLS port does to plain HTTP).
        let hang_up = |l: tokio::net::TcpListener| async move {
            drop(l.accept().await);
        };
        let e = error_from(hang_up, Duration::from_secs(5)).await;
        let text = e.to_string();
        assert!(text.contains("TLS-enabled daemon without TLS"), "{text}");
        // A server that never answers: the request timeout.
        let hold = |l: tokio::net::TcpListener| async move {
            let _conn = l.accept().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        };
        let e = error_from(hold, Duration::from_millis(200)).await;
        assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
    }
}
