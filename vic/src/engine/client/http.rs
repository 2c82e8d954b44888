//! One HTTP/1.1 exchange per connection to the Docker endpoint, over TCP or TLS: connect
//! (bounded by the connect timeout), send the request with `Connection: close`, read the
//! response framed by `Content-Length`, `Transfer-Encoding: chunked` or the end of the
//! connection (bounded by the request timeout and the body limit).
//!
//! vic's SOAP transport (`vsphere::http`) is POST-only and bound to one `/sdk` path and the
//! vSphere error type, so the endpoint client has this small one; failures come out as the
//! [`ClientError`]s the docker CLI has words for (cannot connect, TLS, timeout).

use super::error::ClientError;
use super::tls::rustls_reason;
use rustls_pki_types::ServerName;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Longest response head (status line and headers) accepted.
const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// Why an answer that does not start with `HTTP/1.` is refused.
const NOT_HTTP: &str = "the answer is not an HTTP/1.x response";
/// Most header lines accepted.
const MAX_HEADERS: usize = 128;
/// Most interim (1xx) responses skipped.
const MAX_INTERIM: usize = 8;
/// Longest chunk-size line.
const MAX_CHUNK_LINE: u64 = 1024;

/// A response.
#[derive(Debug)]
pub(super) struct Response {
    /// The status code.
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// Why reading a response failed.
#[derive(Debug)]
enum ReadError {
    /// The connection failed.
    Io(io::Error),
    /// The connection closed before the first byte of the response.
    Empty,
    /// Not HTTP/1.x, or beyond a limit.
    Protocol(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

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
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Connect limit (TCP and TLS handshake).
    pub connect_timeout: Duration,
    /// Largest response body.
    pub max_body_bytes: usize,
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
            tls: tls.map(|(c, n)| (TlsConnector::from(c), n)),
            connect_timeout,
            max_body_bytes,
        }
    }

    /// Whether the connection uses TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    async fn connect(&self) -> Result<Box<dyn Io>, ClientError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| ClientError::Connect {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((connector, name)) => {
                let s =
                    connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| ClientError::Tls {
                            url: self.url.clone(),
                            reason: rustls_reason(&e).unwrap_or_else(|| e.to_string()),
                        })?;
                Ok(Box::new(s))
            }
        }
    }

    /// Sends `method path` with an optional JSON `body` and reads the answer, all within
    /// `timeout` after connecting.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Response, ClientError> {
        let conn = tokio::time::timeout(self.connect_timeout, self.connect())
            .await
            .map_err(|_| ClientError::Timeout {
                what: "connecting to".into(),
                url: self.url.clone(),
                after_ms: self.connect_timeout.as_millis() as u64,
            })??;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: vicbed-docker-client (vic::engine::client)\r\nConnection: close\r\n",
            self.authority
        );
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        } else if method == "POST" {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str("\r\n");
        let exchange = async {
            let mut io = BufReader::new(conn);
            let write = async {
                io.get_mut().write_all(head.as_bytes()).await?;
                if let Some(b) = body {
                    io.get_mut().write_all(b).await?;
                }
                io.get_mut().flush().await
            };
            write.await.map_err(|e| {
                if is_reset(&e) {
                    ReadError::Empty
                } else {
                    ReadError::Io(e)
                }
            })?;
            read_response(&mut io, self.max_body_bytes).await
        };
        let result =
            tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| ClientError::Timeout {
                    what: format!("{method} {path} on"),
                    url: self.url.clone(),
                    after_ms: timeout.as_millis() as u64,
                })?;
        result.map_err(|e| self.read_error(method, path, e))
    }

    fn read_error(&self, method: &str, path: &str, e: ReadError) -> ClientError {
        let http = |reason: String| ClientError::Http {
            method: method.to_owned(),
            url: self.url.clone(),
            path: path.to_owned(),
            reason,
        };
        match e {
            ReadError::Io(e) => match rustls_reason(&e) {
                Some(reason) => ClientError::Tls {
                    url: self.url.clone(),
                    reason,
                },
                None => http(e.to_string()),
            },
            ReadError::Empty if !self.is_tls() => http(
                "the daemon closed the connection without answering. \
                 Are you trying to connect to a TLS-enabled daemon without TLS?"
                    .into(),
            ),
            ReadError::Empty => http("the daemon closed the connection without answering".into()),
            ReadError::Protocol(reason) if reason == NOT_HTTP && !self.is_tls() => http(format!(
                "{reason}. Are you trying to connect to a TLS-enabled daemon without TLS?"
            )),
            ReadError::Protocol(reason) => http(reason),
        }
    }
}

/// Reads one response (1xx interim answers skipped).
async fn read_response<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max_body: usize,
) -> Result<Response, ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    let mut first = true;
    for _ in 0..=MAX_INTERIM {
        let line = match read_line(r, &mut budget).await {
            Ok(Some(l)) => l,
            Ok(None) if first => return Err(ReadError::Empty),
            Ok(None) => return Err(protocol("the connection closed inside the headers")),
            Err(e) if first && is_reset(&e) && rustls_reason(&e).is_none() => {
                return Err(ReadError::Empty);
            }
            // Bytes without a line end, then the close: not HTTP (a TLS alert, say).
            Err(e)
                if first
                    && e.kind() == io::ErrorKind::InvalidData
                    && rustls_reason(&e).is_none() =>
            {
                return Err(protocol(NOT_HTTP));
            }
            Err(e) => return Err(e.into()),
        };
        first = false;
        let status = parse_status(&line)?;
        let mut headers = Vec::new();
        loop {
            let line = read_line(r, &mut budget)
                .await?
                .ok_or_else(|| protocol("the connection closed inside the headers"))?;
            if line.is_empty() {
                break;
            }
            if headers.len() >= MAX_HEADERS {
                return Err(protocol("too many response headers"));
            }
            let (n, v) = line
                .split_once(':')
                .ok_or_else(|| protocol("a header line without ':'"))?;
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        if (100..200).contains(&status) {
            continue;
        }
        let chunked = headers.iter().any(|(n, v)| {
            n == "transfer-encoding"
                && v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("chunked"))
        });
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| {
                v.parse::<u64>()
                    .map_err(|_| protocol("a bad Content-Length"))
            })
            .transpose()?;
        let body = if status == 204 || status == 304 {
            Vec::new()
        } else if chunked {
            read_chunked(r, max_body).await?
        } else if let Some(len) = length {
            if len > max_body as u64 {
                return Err(too_large(max_body));
            }
            let mut body = vec![0u8; len as usize];
            r.read_exact(&mut body).await?;
            body
        } else {
            read_to_close(r, max_body).await?
        };
        return Ok(Response { status, body });
    }
    Err(protocol("too many interim (1xx) responses"))
}

/// A connection closed under us (rather than a TLS alert or a protocol error).
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

fn protocol(msg: &str) -> ReadError {
    ReadError::Protocol(msg.to_owned())
}

fn too_large(limit: usize) -> ReadError {
    ReadError::Protocol(format!("the response body is larger than {limit} bytes"))
}

/// The body up to the end of the connection. A TLS peer that closes without `close_notify`
/// ends the body too (the request asked for `Connection: close`).
async fn read_to_close<R: AsyncRead + Unpin>(
    r: &mut R,
    max_body: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match r.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.into()),
        };
        if body.len() + n > max_body {
            return Err(too_large(max_body));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(body)
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status(line: &str) -> Result<u16, ReadError> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(protocol(NOT_HTTP));
    }
    parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| protocol("a bad status line"))
}

/// One CRLF- (or LF-) terminated line, charged to `budget`; `None` at a clean end.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    budget: &mut u64,
) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = (&mut *r).take(*budget).read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return if *budget == 0 {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the response head is too long",
            ))
        } else {
            Ok(None)
        };
    }
    *budget = budget.saturating_sub(n as u64);
    if buf.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            if *budget == 0 {
                "the response head is too long"
            } else {
                "the connection closed inside a line"
            },
        ));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a header line is not UTF-8"))
}

async fn read_chunked<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max_body: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let mut budget = MAX_CHUNK_LINE;
        let line = read_line(r, &mut budget)
            .await?
            .ok_or_else(|| protocol("the connection closed inside a chunked body"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| protocol("a bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            let mut budget = MAX_HEAD_BYTES;
            while let Some(l) = read_line(r, &mut budget).await? {
                if l.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len().saturating_add(size) > max_body {
            return Err(too_large(max_body));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).await?;
        let mut budget = 2;
        let end = read_line(r, &mut budget).await?;
        if end.as_deref() != Some("") {
            return Err(protocol("a chunk without its CRLF"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8], max: usize) -> Result<Response, ReadError> {
        let mut r = bytes;
        read_response(&mut r, max).await
    }

    #[tokio::test]
    async fn framings() {
        let r = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nokEXTRA", 10)
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        let r = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
            10,
        )
        .await
        .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = parse(b"HTTP/1.0 404 Not Found\n\nall of it", 100)
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"all of it"[..]));
        let r = parse(b"HTTP/1.1 204 No Content\r\n\r\n", 10).await.unwrap();
        assert!(r.body.is_empty());
    }

    #[tokio::test]
    async fn limits_and_garbage() {
        let is_protocol = |r: Result<Response, ReadError>| matches!(r, Err(ReadError::Protocol(_)));
        assert!(is_protocol(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 10).await
        ));
        assert!(is_protocol(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n",
                10
            )
            .await
        ));
        assert!(is_protocol(
            parse(b"HTTP/1.1 200 OK\r\n\r\n0123456789ab", 10).await
        ));
        assert!(is_protocol(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                10
            )
            .await
        ));
        assert!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                10
            )
            .await
            .is_err()
        );
        assert!(matches!(parse(b"", 10).await, Err(ReadError::Empty)));
        assert!(is_protocol(parse(b"SSH-2.0-OpenSSH\r\n\r\n", 10).await));
        assert!(is_protocol(parse(b"HTTP/1.1 999 What\r\n\r\n", 10).await));
        assert!(is_protocol(
            parse(b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 10).await
        ));
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(70_000));
        assert!(matches!(
            parse(long.as_bytes(), 10).await,
            Err(ReadError::Io(_))
        ));
        let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "X: y\r\n".repeat(200));
        assert!(is_protocol(parse(many.as_bytes(), 10).await));
        let interim = "HTTP/1.1 100 Continue\r\n\r\n".repeat(10);
        assert!(is_protocol(parse(interim.as_bytes(), 10).await));
        assert!(is_protocol(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 10).await
        ));
    }

    #[tokio::test]
    async fn refused_and_closed_connections_say_so() {
        // A port nothing listens on.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let t = Transport::new(
            "127.0.0.1".into(),
            port,
            format!("127.0.0.1:{port}"),
            None,
            Duration::from_secs(5),
            1024,
        );
        let e = t
            .send("GET", "/v1.25/_ping", None, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Cannot connect to the Docker daemon at tcp://127.0.0.1:{port}. Is the docker daemon running?"
            )
        );
        // A server that hangs up without answering (as a TLS port does to plain HTTP).
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            drop(s);
        });
        let t = Transport::new(
            "127.0.0.1".into(),
            port,
            format!("127.0.0.1:{port}"),
            None,
            Duration::from_secs(5),
            1024,
        );
        let e = t
            .send("GET", "/v1.25/info", None, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("TLS-enabled daemon without TLS"),
            "{e}"
        );
        // A server that never answers: the request timeout.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(s);
        });
        let t = Transport::new(
            "127.0.0.1".into(),
            port,
            format!("127.0.0.1:{port}"),
            None,
            Duration::from_secs(5),
            1024,
        );
        let e = t
            .send("GET", "/v1.25/info", None, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
        hold.abort();
    }
}
