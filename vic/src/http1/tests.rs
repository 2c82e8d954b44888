//! The HTTP/1.1 layer on byte strings and in-memory streams: framings, limits, garbage,
//! request heads.

use super::*;
use std::io;
use tokio::io::AsyncRead;

const RULES: ReadRules = ReadRules {
    max_body: 10,
    identity_only: true,
    lenient_close: false,
};

async fn parse(raw: &[u8], max_body: usize) -> Result<Response, ReadError> {
    let mut r = tokio::io::BufReader::new(raw);
    read_response(&mut r, ReadRules { max_body, ..RULES }).await
}

/// Status, body and reusability of a response.
fn summary(r: &Response) -> (u16, &[u8], bool) {
    (r.status, r.body.as_slice(), r.reusable)
}

#[tokio::test]
async fn framings_and_reuse() {
    let r = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\n\r\nhelloEXTRA", 10)
        .await
        .unwrap();
    assert_eq!(summary(&r), (200, &b"hello"[..], true));
    assert_eq!(r.header_values("set-cookie").collect::<Vec<_>>(), ["a=b"]);
    let r = parse(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        10,
    )
    .await
    .unwrap();
    assert!(!r.reusable);
    let raw = b"HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n";
    let r = parse(raw, 10).await.unwrap();
    assert_eq!(summary(&r), (500, &b"abcde"[..], true));
    let r = parse(b"HTTP/1.0 404 Not Found\n\nall of it", 100)
        .await
        .unwrap();
    assert_eq!(summary(&r), (404, &b"all of it"[..], false));
    let r = parse(b"HTTP/1.1 204 No Content\r\n\r\n", 10).await.unwrap();
    assert!(r.body.is_empty() && r.reusable);
}

#[tokio::test]
async fn limits_and_garbage() {
    let protocol = |r: Result<Response, ReadError>| matches!(r, Err(ReadError::Protocol(_)));
    let too_large = |r| matches!(r, Err(ReadError::TooLarge { limit: 10 }));
    assert!(too_large(
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 10).await
    ));
    let big_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n";
    assert!(too_large(parse(big_chunk, 10).await));
    assert!(too_large(
        parse(b"HTTP/1.1 200 OK\r\n\r\n0123456789ab", 10).await
    ));
    let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert!(protocol(parse(bad_chunk, 10).await));
    let no_crlf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n";
    assert!(protocol(parse(no_crlf, 10).await));
    assert!(matches!(parse(b"", 10).await, Err(ReadError::Closed(_))));
    assert!(matches!(
        parse(b"\x15\x03\x03", 10).await,
        Err(ReadError::NoStatusLine(_))
    ));
    assert!(matches!(
        parse(b"SSH-2.0-OpenSSH\r\n\r\n", 10).await,
        Err(ReadError::NotHttp)
    ));
    assert!(protocol(parse(b"HTTP/1.1 999 What\r\n\r\n", 10).await));
    assert!(protocol(
        parse(b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 10).await
    ));
    assert!(protocol(
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 10).await
    ));
    let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(70_000));
    assert!(matches!(
        parse(long.as_bytes(), 10).await,
        Err(ReadError::Io { .. })
    ));
    let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "X: y\r\n".repeat(200));
    assert!(protocol(parse(many.as_bytes(), 10).await));
    let interim = "HTTP/1.1 100 Continue\r\n\r\n".repeat(10);
    assert!(protocol(parse(interim.as_bytes(), 10).await));
    let gzip = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n";
    assert!(protocol(parse(gzip, 10).await));
    let mut r = &gzip[..];
    let rules = ReadRules {
        identity_only: false,
        ..RULES
    };
    assert!(read_response(&mut r, rules).await.is_ok());
}

/// A reader that yields `data`, then fails as a TLS peer closing without
/// `close_notify` does.
struct Truncated(&'static [u8]);

impl AsyncRead for Truncated {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        if self.0.is_empty() {
            return std::task::Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
        }
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn an_unclean_close_ends_a_body_only_when_lenient() {
    let raw = b"HTTP/1.1 200 OK\r\n\r\nbody";
    let mut r = tokio::io::BufReader::new(Truncated(raw));
    assert!(matches!(
        read_response(&mut r, RULES).await,
        Err(ReadError::Io { .. })
    ));
    let mut r = tokio::io::BufReader::new(Truncated(raw));
    let rules = ReadRules {
        lenient_close: true,
        ..RULES
    };
    assert_eq!(read_response(&mut r, rules).await.unwrap().body, b"body");
}

#[test]
fn request_heads_keep_header_order_and_drop_line_breaks() {
    let head = request_head(
        "POST",
        "/sdk",
        "vc:443",
        &[("Content-Length", "3"), ("Cookie", "a=b\r\nX-Evil: 1")],
    );
    assert_eq!(
        head,
        "POST /sdk HTTP/1.1\r\nHost: vc:443\r\nContent-Length: 3\r\nCookie: a=bX-Evil: 1\r\n\r\n"
    );
}

#[tokio::test]
async fn exchange_writes_then_reads() {
    let (client, mut server) = tokio::io::duplex(1024);
    let mut client = tokio::io::BufReader::new(client);
    let head = request_head("GET", "/x", "h", &[]);
    let serve = async {
        use tokio::io::AsyncReadExt;
        let mut got = vec![0u8; head.len() + 4];
        server.read_exact(&mut got).await.unwrap();
        server
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
        String::from_utf8(got).unwrap()
    };
    let rules = ReadRules {
        max_body: 10,
        identity_only: false,
        lenient_close: false,
    };
    let (resp, got) = tokio::join!(
        exchange(&mut client, head.as_bytes(), b"body", rules),
        serve
    );
    assert_eq!(got, format!("{head}body"));
    assert_eq!(resp.unwrap().body, b"ok");
}
