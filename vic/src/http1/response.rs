//! Reading one HTTP/1.1 response: the status line and headers (interim `1xx` answers
//! skipped), then the body framed by `Content-Length`, `Transfer-Encoding: chunked` or the
//! end of the connection. Every read is bounded: head size, header count, interim answers,
//! chunk-line length and body size.

use super::framing::{read_chunked, read_line, read_to_close, required_line};
use crate::tlsverify::rustls_error;
use std::io;
use tokio::io::{AsyncBufRead, AsyncReadExt};

/// Longest response head (status line and headers) accepted; also bounds the trailers.
pub(super) const MAX_HEAD_BYTES: u64 = 64 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 128;
/// Most interim (1xx) responses skipped before the real one.
const MAX_INTERIM: usize = 8;

/// How a response body may be read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadRules {
    /// Largest body accepted.
    pub max_body: usize,
    /// Refuse a `Content-Encoding` other than `identity` (the client asked for none).
    pub identity_only: bool,
    /// A body framed by the end of the connection may also end at a TLS close without
    /// `close_notify` (the request asked for `Connection: close`); otherwise that is an error.
    pub lenient_close: bool,
}

/// A response.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in order, names in lower case, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the connection may carry another request: the body was framed and neither
    /// `Connection: close` nor HTTP/1.0 without `keep-alive` ends it.
    pub reusable: bool,
}

impl Response {
    /// All values of header `name` (lower case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether header `name` lists `token` (comma-separated, case-insensitive).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name)
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// Why a request or its response failed. Each client words these its own way.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Writing the request failed.
    Unsent(io::Error),
    /// The connection ended (closed or reset) before the first byte of the response: on a
    /// reused connection, the server had closed it; on a new one, it hung up unanswered.
    Closed(io::Error),
    /// The first bytes did not make a line (no line end before the close or the head
    /// limit): not HTTP, a TLS alert to a plain request, say.
    NoStatusLine(io::Error),
    /// The status line is not `HTTP/1.x`.
    NotHttp,
    /// Reading failed; `what` was being read.
    Io {
        /// `reading the response` or `reading a chunked response`.
        what: &'static str,
        /// The socket (or TLS) error.
        source: io::Error,
    },
    /// The response is malformed or beyond a count limit.
    Protocol(&'static str),
    /// The body is larger than `limit` bytes.
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// Where the connection closed, when it closed inside the head.
const HEAD_EOF: &str = "the connection closed inside the headers";
/// What is being read, in [`ReadError::Io`].
const READING: &str = "reading the response";
/// What is being read in a chunked body, in [`ReadError::Io`].
pub(super) const CHUNKED: &str = "reading a chunked response";

pub(super) fn reading(source: io::Error) -> ReadError {
    ReadError::Io {
        what: READING,
        source,
    }
}

/// A connection closed under us (rather than a TLS alert or a protocol error).
pub(crate) fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// Reads one response from `r` (1xx interim answers skipped).
pub(crate) async fn read_response<R: AsyncBufRead + Unpin>(
    r: &mut R,
    rules: ReadRules,
) -> Result<Response, ReadError> {
    let (http10, status, headers) = read_head(r).await?;
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
        reusable: false,
    };
    if rules.identity_only
        && resp
            .header_values("content-encoding")
            .any(|v| !v.eq_ignore_ascii_case("identity"))
    {
        return Err(ReadError::Protocol(
            "the response is compressed, which was not asked for",
        ));
    }
    let close = resp.has_token("connection", "close")
        || (http10 && !resp.has_token("connection", "keep-alive"));
    let length = resp
        .header_values("content-length")
        .next()
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ReadError::Protocol("a bad Content-Length"))
        })
        .transpose()?;
    let framed = if status == 204 || status == 304 {
        true
    } else if resp.has_token("transfer-encoding", "chunked") {
        resp.body = read_chunked(r, rules.max_body).await?;
        true
    } else if let Some(len) = length {
        if len > rules.max_body as u64 {
            return Err(ReadError::TooLarge {
                limit: rules.max_body,
            });
        }
        resp.body = vec![0u8; len as usize];
        r.read_exact(&mut resp.body).await.map_err(reading)?;
        true
    } else {
        resp.body = read_to_close(r, rules).await?;
        false
    };
    resp.reusable = framed && !close;
    Ok(resp)
}

/// The final status line and headers: (HTTP/1.0?, status, headers).
async fn read_head<R: AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<(bool, u16, Vec<(String, String)>), ReadError> {
    let mut budget = MAX_HEAD_BYTES;
    let mut first = true;
    for _ in 0..=MAX_INTERIM {
        let line = match read_line(r, &mut budget).await {
            Ok(Some(l)) => l,
            Ok(None) if first => {
                return Err(ReadError::Closed(io::ErrorKind::UnexpectedEof.into()));
            }
            Ok(None) => return Err(ReadError::Protocol(HEAD_EOF)),
            Err(e) if first && is_reset(&e) => return Err(ReadError::Closed(e)),
            Err(e)
                if first
                    && e.kind() == io::ErrorKind::InvalidData
                    && rustls_error(&e).is_none() =>
            {
                return Err(ReadError::NoStatusLine(e));
            }
            Err(e) => return Err(reading(e)),
        };
        first = false;
        let (http10, status) = parse_status(&line)?;
        let mut headers = Vec::new();
        loop {
            let line = required_line(r, &mut budget, READING, HEAD_EOF).await?;
            if line.is_empty() {
                break;
            }
            if headers.len() >= MAX_HEADERS {
                return Err(ReadError::Protocol("too many response headers"));
            }
            let (n, v) = line
                .split_once(':')
                .ok_or(ReadError::Protocol("a header line without ':'"))?;
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        if !(100..200).contains(&status) {
            return Ok((http10, status, headers));
        }
    }
    Err(ReadError::Protocol("too many interim (1xx) responses"))
}

/// `HTTP/1.1 200 OK` → (false, 200).
fn parse_status(line: &str) -> Result<(bool, u16), ReadError> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::NotHttp);
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or(ReadError::Protocol("a bad status line"))?;
    Ok((version == "HTTP/1.0", status))
}
