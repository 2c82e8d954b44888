//! The emulated nginx of the built-in `nginx` image (`nginx -g 'daemon off;'`, port 80): an
//! HTTP/1.1 server (hyper) answering as a fresh nginx 1.13.5 with its default site does.
//!
//! - `GET /` (and `/index.html`): 200 with a short "Welcome to nginx!" page (our own
//!   text with nginx's title; the same bytes every time), `Content-Type: text/html`, fixed
//!   `Last-Modified`/`ETag` (the file's time in the image), `Accept-Ranges: bytes`;
//! - any other path: 404 in nginx's error-page style; `POST` to the page: 405, other
//!   methods: 405; `HEAD` as `GET` without the body;
//! - `Server: nginx/1.13.5` on every answer; keep-alive; no `Date` header, so answers are
//!   deterministic (the testbed's clock is virtual);
//! - bounded: request headers up to [`MAX_HEADER_BYTES`] (hyper answers 431 above that), a
//!   request's headers must arrive within [`HEADER_TIMEOUT_MS`] (also the keep-alive wait
//!   between requests); request bodies are never read.

use super::{GuestConn, Service, Serving};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The port nginx's default site listens on.
pub const PORT: u16 = 80;

/// The `Server` header.
pub const SERVER: &str = "nginx/1.13.5";

/// Request line and headers, at most (nginx's `large_client_header_buffers` is 8k).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// How long a request's headers may take, and an idle keep-alive connection may wait
/// (nginx's `client_header_timeout` is 60 s).
pub const HEADER_TIMEOUT_MS: u64 = 60_000;

/// The connection buffer (hyper's minimum is 8 KiB).
const MAX_BUF_BYTES: usize = 16 * 1024;

/// When the default page was written into the image (2017-08-08 15:25:00 UTC).
const PAGE_MTIME_S: u64 = 1_502_205_900;
const PAGE_LAST_MODIFIED: &str = "Tue, 08 Aug 2017 15:25:00 GMT";

/// The default page.
pub const WELCOME_PAGE: &str = "<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>nginx is running in this container. This is its default page; the site has no other
content yet.</p>
<p><em>Emulated by vicbed for the nginx image.</em></p>
</body>
</html>
";

/// Flags with which nginx does one thing and exits instead of serving.
pub fn is_one_shot_flag(arg: &str) -> bool {
    matches!(arg, "-v" | "-V" | "-t" | "-T" | "-h" | "-?" | "-s")
}

/// The nginx service.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nginx;

impl Service for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn serve(self: Arc<Self>, conn: GuestConn, _peer: SocketAddr) -> Serving {
        Box::pin(async move {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(Duration::from_millis(HEADER_TIMEOUT_MS))
                .max_header_size(MAX_HEADER_BYTES)
                .max_buf_size(MAX_BUF_BYTES)
                .keep_alive(true)
                .auto_date_header(false);
            let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                Ok::<_, Infallible>(respond(req.method(), req.uri().path()))
            });
            if let Err(e) = b.serve_connection(TokioIo::new(conn), svc).await {
                tracing::debug!(error = %e, "nginx connection ended");
            }
        })
    }
}

/// nginx's error page for `status`.
fn error_page(status: StatusCode) -> String {
    let title = format!(
        "{} {}",
        status.as_u16(),
        // nginx's own reason for 405.
        if status == StatusCode::METHOD_NOT_ALLOWED {
            "Not Allowed"
        } else {
            status.canonical_reason().unwrap_or("")
        }
    );
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body bgcolor=\"white\">\r\n<center><h1>{title}</h1></center>\r\n<hr><center>{SERVER}</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// The answer to `method path`.
pub fn respond(method: &Method, path: &str) -> Response<Full<Bytes>> {
    let page = matches!(path, "/" | "/index.html");
    let (status, body) = match (method, page) {
        (&Method::GET | &Method::HEAD, true) => (StatusCode::OK, WELCOME_PAGE.to_owned()),
        (&Method::GET | &Method::HEAD | &Method::POST, false) => {
            (StatusCode::NOT_FOUND, error_page(StatusCode::NOT_FOUND))
        }
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            error_page(StatusCode::METHOD_NOT_ALLOWED),
        ),
    };
    let len = body.len();
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(body)
    };
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::SERVER, HeaderValue::from_static(SERVER));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if status == StatusCode::OK {
        h.insert(
            header::LAST_MODIFIED,
            HeaderValue::from_static(PAGE_LAST_MODIFIED),
        );
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{PAGE_MTIME_S:x}-{len:x}\"")) {
            h.insert(header::ETAG, etag);
        }
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A connection to a fresh nginx on loopback.
    async fn connect() -> TcpStream {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut leases = super::super::listener::Lease::default();
        leases.accept(
            l,
            Arc::new(|_, _| Some(Arc::new(Nginx) as Arc<dyn Service>)),
        );
        // The lease lives as long as the test's runtime.
        std::mem::forget(leases);
        TcpStream::connect(addr).await.unwrap()
    }

    /// Reads one response: head and, per Content-Length, body (none for HEAD).
    async fn read_response(s: &mut TcpStream, head_only: bool) -> (String, String) {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).await.unwrap(), 1, "EOF in the head");
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf).unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; if head_only { 0 } else { len }];
        s.read_exact(&mut body).await.unwrap();
        (head, String::from_utf8(body).unwrap())
    }

    #[test]
    fn pages_and_headers() {
        let r = respond(&Method::GET, "/");
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h["server"], "nginx/1.13.5");
        assert_eq!(h["content-type"], "text/html");
        assert_eq!(h["content-length"], WELCOME_PAGE.len().to_string().as_str());
        assert_eq!(
            h["etag"],
            format!("\"5989d7cc-{:x}\"", WELCOME_PAGE.len()).as_str()
        );
        assert!(WELCOME_PAGE.contains("<title>Welcome to nginx!</title>"));
        assert_eq!(
            respond(&Method::GET, "/index.html").status(),
            StatusCode::OK
        );
        assert_eq!(respond(&Method::GET, "/x").status(), StatusCode::NOT_FOUND);
        assert_eq!(respond(&Method::POST, "/x").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            respond(&Method::POST, "/").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            respond(&Method::DELETE, "/x").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert!(
            error_page(StatusCode::NOT_FOUND).contains("<center><h1>404 Not Found</h1></center>")
        );
        assert!(error_page(StatusCode::METHOD_NOT_ALLOWED).contains("405 Not Allowed"));
    }

    #[tokio::test]
    async fn keep_alive_head_and_404_on_one_connection() {
        let mut s = connect().await;
        s.write_all(b"GET / HTTP/1.1\r\nHost: c\r\n\r\n")
            .await
            .unwrap();
        let (head, body) = read_response(&mut s, false).await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("server: nginx/1.13.5\r\n"), "{head}");
        assert!(!head.contains("date:"), "{head}");
        assert_eq!(body, WELCOME_PAGE);
        s.write_all(b"HEAD / HTTP/1.1\r\nHost: c\r\n\r\n")
            .await
            .unwrap();
        let (head, _) = read_response(&mut s, true).await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}\r\n", WELCOME_PAGE.len())),
            "{head}"
        );
        s.write_all(b"GET /missing HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (head, body) = read_response(&mut s, false).await;
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
        assert!(body.contains("<title>404 Not Found</title>"), "{body}");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "closed after Connection: close");
    }

    #[tokio::test]
    async fn oversized_headers_are_refused() {
        let mut s = connect().await;
        let big = "a".repeat(MAX_HEADER_BYTES + 100);
        let req = format!("GET / HTTP/1.1\r\nHost: c\r\nX-Big: {big}\r\n\r\n");
        // The server may close before reading everything; the answer is what counts.
        let _ = s.write_all(req.as_bytes()).await;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let out = String::from_utf8_lossy(&out);
        assert!(out.is_empty() || out.starts_with("HTTP/1.1 431"), "{out}");
    }
}
