//! The hyper-based layer against raw sockets: a local server writes response bytes as
//! given, so framings, limits and garbage are exercised as they arrive on the wire.

use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RULES: ReadRules = ReadRules {
    max_body: 10,
    identity_only: true,
};

/// Reads one request head (up to the empty line) from a raw socket.
async fn read_head(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A local server that reads one request head, answers `raw` and closes; returns its port
/// and the head it read.
async fn serve_once(raw: &'static [u8]) -> (u16, tokio::task::JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let head = read_head(&mut s).await;
        let _ = s.write_all(raw).await;
        let _ = s.shutdown().await;
        head
    });
    (port, server)
}

/// A GET to a server answering `raw`, read with `max_body`.
async fn get(raw: &'static [u8], max_body: usize) -> Result<Response, ReadError> {
    let (port, server) = serve_once(raw).await;
    let stream = connect("127.0.0.1", port, None).await.unwrap();
    let mut conn = Conn::new(stream, false).await?;
    let req = request("GET", "/x", "h", &[], Bytes::new())?;
    let r = conn.send(req, ReadRules { max_body, ..RULES }).await;
    server.abort();
    r
}

#[tokio::test]
async fn lengths_chunks_and_close_delimited_bodies() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\n\r\nhello";
    let r = get(raw, 10).await.unwrap();
    assert_eq!(
        (r.status, r.body.as_slice(), r.reusable),
        (200, &b"hello"[..], true)
    );
    assert_eq!(r.header_values("set-cookie").collect::<Vec<_>>(), ["a=b"]);
    let raw = b"HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
    let r = get(raw, 10).await.unwrap();
    assert_eq!((r.status, r.body.as_slice()), (500, &b"abcde"[..]));
    let r = get(b"HTTP/1.0 404 Not Found\r\n\r\nall of it", 100)
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.body.as_slice(), r.reusable),
        (404, &b"all of it"[..], false)
    );
    let raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    assert!(!get(raw, 10).await.unwrap().reusable);
}

#[tokio::test]
async fn interim_answers_are_skipped() {
    let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let r = get(raw, 10).await.unwrap();
    assert_eq!((r.status, r.body.as_slice()), (201, &b"ok"[..]));
}

#[tokio::test]
async fn bodies_over_the_limit_are_too_large() {
    let too_large = |r| matches!(r, Err(ReadError::TooLarge { limit: 10 }));
    let declared = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    assert!(too_large(get(declared, 10).await));
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n";
    assert!(too_large(get(chunked, 10).await));
    assert!(too_large(
        get(b"HTTP/1.1 200 OK\r\n\r\n0123456789ab", 10).await
    ));
}

#[tokio::test]
async fn garbage_hang_ups_and_compression_are_errors() {
    let r = get(b"SSH-2.0-OpenSSH_9.6\r\n", 10).await;
    assert!(matches!(r, Err(ReadError::NotHttp)), "{r:?}");
    // A TLS alert, as a TLS port may answer a plain request.
    let r = get(b"\x15\x03\x03\x00\x02\x02\x46", 10).await;
    assert!(matches!(r, Err(ReadError::NotHttp)), "{r:?}");
    let r = get(b"", 10).await;
    assert!(matches!(r, Err(ReadError::Closed(_))), "{r:?}");
    let r = get(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", 10).await;
    assert!(
        matches!(r, Err(ReadError::Io { .. } | ReadError::Protocol(_))),
        "{r:?}"
    );
    let raw = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nz";
    assert!(matches!(get(raw, 10).await, Err(ReadError::Protocol(_))));
    let raw = b"HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 1\r\n\r\nz";
    assert_eq!(get(raw, 10).await.unwrap().body, b"z");
}

#[tokio::test]
async fn requests_carry_host_and_headers_without_line_breaks() {
    let (port, server) = serve_once(b"HTTP/1.1 204 No Content\r\n\r\n").await;
    let stream = connect("127.0.0.1", port, None).await.unwrap();
    let mut conn = Conn::new(stream, false).await.unwrap();
    let headers = [("X-A", "1\r\nInjected: yes"), ("Content-Length", "3")];
    let req = request("POST", "/sdk?a=b", "example:443", &headers, &b"abc"[..]).unwrap();
    let r = conn.send(req, RULES).await.unwrap();
    assert_eq!(r.status, 204);
    let head = server.await.unwrap();
    assert!(head.starts_with("POST /sdk?a=b HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("Host: example:443\r\n"), "{head}");
    assert!(head.contains("X-A: 1Injected: yes\r\n"), "{head}");
    assert!(!head.contains("\r\nInjected"), "{head}");
    assert!(matches!(
        request("GET", "not a target", "h", &[], Bytes::new()),
        Err(ReadError::Protocol(_))
    ));
}
