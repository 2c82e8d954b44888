//! A response read through hyper: the body collected within a limit, compressed bodies
//! refused when none were asked for, and hyper's errors sorted into [`ReadError`]s.

use crate::tlsverify::rustls_error;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH};
use std::error::Error as _;
use std::io;

/// How a response body may be read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadRules {
    /// Largest body accepted.
    pub max_body: usize,
    /// Refuse a `Content-Encoding` other than `identity` (the client asked for none).
    pub identity_only: bool,
}

/// A response.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in order, names in lower case, values trimmed (those that are not text
    /// are left out).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the connection may carry another request: neither `Connection: close` nor
    /// HTTP/1.0 without `keep-alive` ends it. (hyper closes it in those cases anyway; this
    /// saves pooling a connection about to close.)
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
    /// The connection ended (closed or reset), or the request could not be sent, before
    /// the response began: on a reused connection, the server had closed it; on a new
    /// one, it hung up unanswered (or sent a few bytes that did not make a head).
    Closed(io::Error),
    /// The answer is not an HTTP/1.x response head (a TLS alert to a plain request, say).
    NotHttp,
    /// Reading or writing failed; `what` was being done.
    Io {
        /// `reading the response` or `reading the response body`.
        what: &'static str,
        /// The socket (or TLS) error.
        source: io::Error,
    },
    /// The response is malformed or beyond a count limit, or the request could not be
    /// made.
    Protocol(String),
    /// The body is larger than `limit` bytes.
    TooLarge {
        /// The limit.
        limit: usize,
    },
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

/// The socket error inside a hyper error, as an owned copy: the OS error, or the rustls
/// error (so `tlsverify::rustls_error` still finds it), or the kind and text.
pub(super) fn io_cause(e: &hyper::Error) -> Option<io::Error> {
    let mut cause = e.source();
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            return Some(match (io.raw_os_error(), rustls_error(io)) {
                (Some(code), _) => io::Error::from_raw_os_error(code),
                (None, Some(tls)) => io::Error::new(io.kind(), tls.clone()),
                (None, None) => io::Error::new(io.kind(), io.to_string()),
            });
        }
        cause = c.source();
    }
    None
}

/// Sorts a hyper error; `in_body` when it came while reading the body (the response had
/// begun, so nothing is [`ReadError::Closed`]).
pub(super) fn from_hyper(e: hyper::Error, in_body: bool) -> ReadError {
    let what = if in_body {
        "reading the response body"
    } else {
        "reading the response"
    };
    if e.is_parse_too_large() {
        return ReadError::Protocol("the response head is too large".into());
    }
    if e.is_parse() {
        return ReadError::NotHttp;
    }
    let io = io_cause(&e);
    // A request canceled because the connection failed carries the failure: a TLS alert
    // (a client certificate refused, say) is an I/O error, not a hang-up.
    let hung_up = io.as_ref().is_none_or(is_reset);
    if !in_body && hung_up && (e.is_canceled() || e.is_incomplete_message() || e.is_closed()) {
        let source = io.unwrap_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, e));
        return ReadError::Closed(source);
    }
    match io {
        Some(source) if !in_body && is_reset(&source) => ReadError::Closed(source),
        Some(source) => ReadError::Io { what, source },
        None if e.is_incomplete_message() => ReadError::Protocol(
            "the connection closed before the response body was complete".into(),
        ),
        None => ReadError::Protocol(e.to_string()),
    }
}

/// Reads the body of `resp` under `rules`.
pub(crate) async fn read_body(
    resp: hyper::Response<Incoming>,
    rules: ReadRules,
) -> Result<Response, ReadError> {
    let (parts, body) = resp.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.trim().to_owned())))
        .collect();
    let mut out = Response {
        status: parts.status.as_u16(),
        headers,
        body: Vec::new(),
        reusable: false,
    };
    let encodings = parts.headers.get_all(CONTENT_ENCODING);
    if rules.identity_only
        && encodings
            .iter()
            .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Err(ReadError::Protocol(
            "the response is compressed, which was not asked for".into(),
        ));
    }
    let length = parts.headers.get(CONTENT_LENGTH);
    if let Some(n) = length.and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && n > rules.max_body as u64
    {
        return Err(ReadError::TooLarge {
            limit: rules.max_body,
        });
    }
    let collected = Limited::new(body, rules.max_body)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<LengthLimitError>() {
                return ReadError::TooLarge {
                    limit: rules.max_body,
                };
            }
            match e.downcast::<hyper::Error>() {
                Ok(h) => from_hyper(*h, true),
                Err(e) => ReadError::Protocol(e.to_string()),
            }
        })?;
    out.body = collected.to_bytes().to_vec();
    let close = out.has_token(CONNECTION.as_str(), "close")
        || (parts.version == hyper::Version::HTTP_10
            && !out.has_token(CONNECTION.as_str(), "keep-alive"));
    out.reusable = !close;
    Ok(out)
}
