//! A minimal HTTP/1.1 client for SOAP POSTs, over TCP or TLS (rustls), with a small pool of
//! kept-alive connections.
//!
//! Only what vSphere's `/sdk` needs: `POST` with a `Content-Length` body; responses framed by
//! `Content-Length`, `Transfer-Encoding: chunked` or connection close; `1xx` interim answers
//! skipped. Everything is bounded: header size and count, body size, chunk-line length, idle
//! connections kept, and the whole exchange by a deadline. Written here rather than pulling
//! in an HTTP client crate, which would add dozens of crates for these ~300 lines.

use super::Error;
use super::endpoint::{Endpoint, Scheme};
use super::verify::tls_error;
use rustls_pki_types::ServerName;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    ReadBuf,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Longest status line + headers accepted.
const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 128;
/// Most interim (1xx) responses skipped before the real one.
const MAX_INTERIM: usize = 8;
/// Longest chunk-size line.
const MAX_CHUNK_LINE: u64 = 1024;
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 4;
/// Idle connections older than this are not reused (servers close idle connections after
/// a while; vCenter's reverse proxy after about a minute).
const MAX_IDLE_AGE: Duration = Duration::from_secs(45);

/// A TCP or TLS stream.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, b),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, b),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

struct Conn {
    io: BufReader<Stream>,
}

impl Conn {
    /// Whether an idle connection still looks usable: nothing buffered, and the socket
    /// neither closed nor holding unexpected bytes.
    fn alive(&self) -> bool {
        if !self.io.buffer().is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.io.get_ref().tcp().try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// A response.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// All values of header `name` (lower case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How an exchange failed.
enum Failure {
    /// The connection was found closed before any response byte: safe to retry on a new one
    /// when it was a reused connection.
    Stale(io::Error),
    /// Anything else.
    Fatal(Error),
}

/// Connections to one endpoint.
pub(crate) struct Transport {
    endpoint: Endpoint,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    idle: Mutex<Vec<(Conn, Instant)>>,
    max_body: usize,
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
            tls: tls.map(|(c, n)| (TlsConnector::from(c), n)),
            idle: Mutex::new(Vec::new()),
            max_body,
        }
    }

    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < MAX_IDLE_AGE && conn.alive() {
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
        let addr = self.endpoint.addr();
        let tcp = TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
            .await
            .map_err(|source| Error::Connect {
                addr: addr.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let stream = match (&self.tls, self.endpoint.scheme) {
            (Some((connector, name)), Scheme::Https) => Stream::Tls(Box::new(
                connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| tls_error(&self.endpoint.host, &addr, e))?,
            )),
            _ => Stream::Plain(tcp),
        };
        Ok(Conn {
            io: BufReader::new(stream),
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
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.endpoint.path,
            self.endpoint.host_header(),
            body.len()
        );
        for (n, v) in headers {
            // Header values come from our own code and the server's cookie; strip line
            // breaks so neither can inject a header.
            let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let work = async {
            // One retry, on a new connection, only when a reused one turned out to be closed.
            let mut fresh = false;
            for _ in 0..2 {
                let idle = if fresh { None } else { self.take_idle() };
                let (mut conn, reused) = match idle {
                    Some(c) => (c, true),
                    None => (self.connect().await?, false),
                };
                match exchange(&mut conn, head.as_bytes(), body, self.max_body).await {
                    Ok((resp, keep)) => {
                        if keep {
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

async fn exchange(
    conn: &mut Conn,
    head: &[u8],
    body: &[u8],
    max_body: usize,
) -> Result<(Response, bool), Failure> {
    let io = &mut conn.io;
    let write = async {
        io.get_mut().write_all(head).await?;
        io.get_mut().write_all(body).await?;
        io.get_mut().flush().await
    };
    write.await.map_err(Failure::Stale)?;
    read_response(io, max_body).await
}

/// Reads one response from `r`. The flag says whether the connection may be reused.
async fn read_response<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max_body: usize,
) -> Result<(Response, bool), Failure> {
    let fatal_io = |source| {
        Failure::Fatal(Error::Io {
            what: "reading the response",
            source,
        })
    };
    let mut budget = MAX_HEAD_BYTES;
    let mut first = true;
    for _ in 0..=MAX_INTERIM {
        let line = match read_line(r, &mut budget).await {
            Ok(Some(l)) => l,
            Ok(None) if first => {
                return Err(Failure::Stale(io::ErrorKind::UnexpectedEof.into()));
            }
            Ok(None) => return Err(protocol("the connection closed inside the headers")),
            Err(e) if first && is_reset(&e) => return Err(Failure::Stale(e)),
            Err(e) => return Err(fatal_io(e)),
        };
        first = false;
        let (version, status) = parse_status(&line)?;
        let mut headers = Vec::new();
        loop {
            let line = read_line(r, &mut budget)
                .await
                .map_err(fatal_io)?
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
        let has = |name: &str, token: &str| {
            headers.iter().any(|(n, v)| {
                n == name && v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
            })
        };
        if headers
            .iter()
            .any(|(n, v)| n == "content-encoding" && !v.eq_ignore_ascii_case("identity"))
        {
            return Err(protocol(
                "the response is compressed, which was not asked for",
            ));
        }
        let close = has("connection", "close")
            || (version == "HTTP/1.0" && !has("connection", "keep-alive"));
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| {
                v.parse::<u64>()
                    .map_err(|_| protocol("a bad Content-Length"))
            })
            .transpose()?;
        let (body, framed) = if status == 204 || status == 304 {
            (Vec::new(), true)
        } else if has("transfer-encoding", "chunked") {
            (read_chunked(r, max_body).await?, true)
        } else if let Some(len) = length {
            if len > max_body as u64 {
                return Err(Failure::Fatal(Error::TooLarge { limit: max_body }));
            }
            let mut body = vec![0u8; len as usize];
            r.read_exact(&mut body).await.map_err(fatal_io)?;
            (body, true)
        } else {
            let mut body = Vec::new();
            let n = (&mut *r)
                .take(max_body as u64 + 1)
                .read_to_end(&mut body)
                .await
                .map_err(fatal_io)?;
            if n > max_body {
                return Err(Failure::Fatal(Error::TooLarge { limit: max_body }));
            }
            (body, false)
        };
        return Ok((
            Response {
                status,
                headers,
                body,
            },
            framed && !close,
        ));
    }
    Err(protocol("too many interim (1xx) responses"))
}

fn protocol(msg: &str) -> Failure {
    Failure::Fatal(Error::Protocol(msg.to_owned()))
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// `HTTP/1.1 200 OK` → (`HTTP/1.1`, 200).
fn parse_status(line: &str) -> Result<(&str, u16), Failure> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(protocol("not an HTTP/1.x response"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| protocol("a bad status line"))?;
    Ok((version, status))
}

/// One CRLF- (or LF-) terminated line, charged to `budget`; `None` at a clean EOF.
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
) -> Result<Vec<u8>, Failure> {
    let fatal_io = |source| {
        Failure::Fatal(Error::Io {
            what: "reading a chunked response",
            source,
        })
    };
    let mut body = Vec::new();
    // Each turn reads one chunk; the body limit bounds the number of non-empty chunks, and
    // empty chunk-extension lines are not accepted, so the loop ends.
    loop {
        let mut budget = MAX_CHUNK_LINE;
        let line = read_line(r, &mut budget)
            .await
            .map_err(fatal_io)?
            .ok_or_else(|| protocol("the connection closed inside a chunked body"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| protocol("a bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            let mut budget = MAX_HEAD_BYTES;
            loop {
                let t = read_line(r, &mut budget)
                    .await
                    .map_err(fatal_io)?
                    .ok_or_else(|| protocol("the connection closed inside the trailers"))?;
                if t.is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len().saturating_add(size) > max_body {
            return Err(Failure::Fatal(Error::TooLarge { limit: max_body }));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).await.map_err(fatal_io)?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).await.map_err(fatal_io)?;
        if &crlf != b"\r\n" {
            return Err(protocol("a chunk not followed by CRLF"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8], max: usize) -> Result<(Response, bool), Failure> {
        let mut r = BufReader::new(raw);
        read_response(&mut r, max).await
    }

    fn ok(r: Result<(Response, bool), Failure>) -> (Response, bool) {
        match r {
            Ok(x) => x,
            Err(Failure::Stale(e)) => panic!("stale: {e}"),
            Err(Failure::Fatal(e)) => panic!("fatal: {e}"),
        }
    }

    #[tokio::test]
    async fn content_length_and_keep_alive() {
        let (r, keep) = ok(parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\n\r\nhello",
            100,
        )
        .await);
        assert_eq!(
            (r.status, r.body.as_slice(), keep),
            (200, &b"hello"[..], true)
        );
        assert_eq!(r.header_values("set-cookie").collect::<Vec<_>>(), ["a=b"]);
        let (_, keep) = ok(parse(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            100,
        )
        .await);
        assert!(!keep);
    }

    #[tokio::test]
    async fn chunked_interim_and_eof_framing() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
        let (r, keep) = ok(parse(raw, 100).await);
        assert_eq!(
            (r.status, r.body.as_slice(), keep),
            (500, &b"abcde"[..], true)
        );
        let (r, keep) = ok(parse(b"HTTP/1.0 200 OK\r\n\r\nall of it", 100).await);
        assert_eq!((r.body.as_slice(), keep), (&b"all of it"[..], false));
    }

    #[tokio::test]
    async fn limits_and_garbage() {
        assert!(matches!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 10).await,
            Err(Failure::Fatal(Error::TooLarge { limit: 10 }))
        ));
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n",
                10
            )
            .await,
            Err(Failure::Fatal(Error::TooLarge { .. }))
        ));
        assert!(matches!(parse(b"", 10).await, Err(Failure::Stale(_))));
        assert!(matches!(
            parse(b"SSH-2.0-OpenSSH\r\n\r\n", 10).await,
            Err(Failure::Fatal(_))
        ));
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(70_000));
        assert!(matches!(
            parse(long.as_bytes(), 10).await,
            Err(Failure::Fatal(_))
        ));
        let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "X: y\r\n".repeat(200));
        assert!(matches!(
            parse(many.as_bytes(), 10).await,
            Err(Failure::Fatal(_))
        ));
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n",
                10
            )
            .await,
            Err(Failure::Fatal(Error::Protocol(_)))
        ));
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
