//! The SOAP transport: `POST`s to the endpoint's `/sdk` path over the shared hyper-based
//! HTTP/1.1 layer (`crate::http1`), with a small pool of kept-alive connections.
//!
//! Only what vSphere's `/sdk` needs: `POST` with a `Content-Length` body; compressed
//! answers refused (none are asked for). Everything is bounded: the HTTP/1.1 layer's head,
//! header and body limits, the idle connections kept and their age, and the whole
//! exchange (connecting and one retry included) by a deadline. A reused connection found
//! closed before the response began (hyper: the request was canceled, or the connection
//! ended or was reset before a response) is retried once on a new one.

use super::Error;
use super::endpoint::{Endpoint, Scheme};
use super::verify::tls_error;
use crate::http1::{self, Conn, ConnectError, ReadError, ReadRules, TlsTarget};
use rustls_pki_types::ServerName;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use crate::http1::Response;

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 4;
/// Idle connections older than this are not reused (servers close idle connections after
/// a while; vCenter's reverse proxy after about a minute).
const MAX_IDLE_AGE: Duration = Duration::from_secs(45);

/// How an exchange failed.
enum Failure {
    /// The connection was found closed before the response began: safe to retry on a new
    /// one when it was a reused connection.
    Stale(io::Error),
    /// Anything else.
    Fatal(Error),
}

impl From<ReadError> for Failure {
    fn from(e: ReadError) -> Failure {
        Failure::Fatal(match e {
            ReadError::Closed(e) => return Failure::Stale(e),
            ReadError::NotHttp => Error::Protocol("not an HTTP/1.x response".into()),
            ReadError::Io { what, source } => Error::Io { what, source },
            ReadError::Protocol(m) => Error::Protocol(m),
            ReadError::TooLarge { limit } => Error::TooLarge { limit },
        })
    }
}

/// Connections to one endpoint.
pub(crate) struct Transport {
    endpoint: Endpoint,
    tls: Option<TlsTarget>,
    idle: Mutex<Vec<(Conn, Instant)>>,
    rules: ReadRules,
}

impl Transport {
    /// A transport to `endpoint`; `tls` is required for HTTPS.
    pub fn new(
        endpoint: Endpoint,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
        max_body: usize,
    ) -> Transport {
        Transport {
            endpoint,
            tls: tls.map(|(c, n)| TlsTarget::new(c, n)),
            idle: Mutex::new(Vec::new()),
            rules: ReadRules {
                max_body,
                identity_only: true,
            },
        }
    }

    /// The newest idle connection that is young enough and not closed (hyper's connection
    /// task notices a server's hang-up while idle). Whether it takes a request is checked
    /// when sending; a failure there is retried.
    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < MAX_IDLE_AGE && !conn.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    fn put_idle(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    async fn connect(&self) -> Result<Conn, Error> {
        let ep = &self.endpoint;
        let tls = self.tls.as_ref().filter(|_| ep.scheme == Scheme::Https);
        let stream = http1::connect(&ep.host, ep.port, tls)
            .await
            .map_err(|e| match e {
                ConnectError::Tcp(source) => Error::Connect {
                    addr: ep.addr(),
                    source,
                },
                ConnectError::Tls(e) => tls_error(&ep.host, &ep.addr(), e),
            })?;
        Conn::new(stream, false)
            .await
            .map_err(|e| match Failure::from(e) {
                Failure::Stale(source) => Error::Io {
                    what: "starting an HTTP/1.1 connection",
                    source,
                },
                Failure::Fatal(e) => e,
            })
    }

    /// POSTs `body` to the endpoint's path with `headers`, within `timeout` (connecting
    /// included). `what` names the call in a timeout error.
    pub async fn post(
        &self,
        headers: &[(&str, &str)],
        body: &[u8],
        timeout: Duration,
        what: &str,
    ) -> Result<Response, Error> {
        let length = body.len().to_string();
        let mut all = vec![("Content-Length", length.as_str())];
        all.extend_from_slice(headers);
        let host = self.endpoint.host_header();
        let body = bytes::Bytes::copy_from_slice(body);
        let work = async {
            // One retry, on a new connection, only when a reused one turned out to be closed.
            let mut fresh = false;
            for _ in 0..2 {
                let req = http1::request("POST", &self.endpoint.path, &host, &all, body.clone())
                    .map_err(|e| match Failure::from(e) {
                        Failure::Fatal(e) => e,
                        Failure::Stale(source) => Error::Io {
                            what: "sending",
                            source,
                        },
                    })?;
                let idle = if fresh { None } else { self.take_idle() };
                let (mut conn, reused) = match idle {
                    Some(c) => (c, true),
                    None => (self.connect().await?, false),
                };
                match conn.send(req, self.rules).await.map_err(Failure::from) {
                    Ok(resp) => {
                        if resp.reusable {
                            self.put_idle(conn);
                        }
                        return Ok(resp);
                    }
                    Err(Failure::Stale(_)) if reused => fresh = true,
                    Err(Failure::Stale(source)) => {
                        return Err(Error::Io {
                            what: "the server closed the connection without answering",
                            source,
                        });
                    }
                    Err(Failure::Fatal(e)) => return Err(e),
                }
            }
            Err(Error::Protocol(
                "the server closed the connection without answering, twice".into(),
            ))
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| Error::Timeout {
                what: what.to_owned(),
                after: timeout,
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    #[test]
    fn read_errors_in_vsphere_terms() {
        let fatal = |e| match Failure::from(e) {
            Failure::Fatal(e) => e.to_string(),
            Failure::Stale(e) => panic!("stale: {e}"),
        };
        assert!(matches!(
            Failure::from(ReadError::Closed(io::ErrorKind::UnexpectedEof.into())),
            Failure::Stale(_)
        ));
        assert!(matches!(
            Failure::from(ReadError::Closed(io::ErrorKind::BrokenPipe.into())),
            Failure::Stale(_)
        ));
        assert_eq!(
            fatal(ReadError::NotHttp),
            Error::Protocol("not an HTTP/1.x response".into()).to_string()
        );
        assert_eq!(
            fatal(ReadError::TooLarge { limit: 10 }),
            Error::TooLarge { limit: 10 }.to_string()
        );
    }

    /// Reads one request (head and `Content-Length` body) from a raw socket.
    async fn read_request(s: &mut TcpStream) -> Option<String> {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte).await.ok()? == 0 {
                return None;
            }
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf).ok()?;
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())?;
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.ok()?;
        String::from_utf8(body).ok()
    }

    #[tokio::test]
    async fn reuses_connections_and_retries_one_closed_under_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            // First connection: answers one request, keeps the connection, then drops the
            // next request unanswered (as a server closing an idle connection does).
            let (mut s, _) = listener.accept().await.unwrap();
            assert_eq!(read_request(&mut s).await.as_deref(), Some("one"));
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await
                .unwrap();
            assert_eq!(read_request(&mut s).await.as_deref(), Some("two"));
            drop(s);
            // Second connection: the retried request.
            let (mut s, _) = listener.accept().await.unwrap();
            assert_eq!(read_request(&mut s).await.as_deref(), Some("two"));
            s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nok2")
                .await
                .unwrap();
        });
        let ep = Endpoint::parse(&format!("http://{addr}/sdk")).unwrap();
        let t = Transport::new(ep, None, 1024);
        let limit = Duration::from_secs(5);
        let r = t.post(&[], b"one", limit, "one").await.unwrap();
        assert_eq!(r.body, b"ok");
        let r = t.post(&[], b"two", limit, "two").await.unwrap();
        assert_eq!(r.body, b"ok2");
        server.await.unwrap();
    }
}
