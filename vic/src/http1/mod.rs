//! The HTTP/1.1 client layer under vic's clients — the vSphere SOAP transport
//! (`vsphere::http`), the Docker endpoint client (`engine::client`) and the port layer's
//! datastore transfers: a thin layer on hyper's connection-level client
//! (`hyper::client::conn::http1`). It knows neither SOAP nor Docker JSON: bytes in,
//! status, headers and bytes out.
//!
//! - [`connect`]: TCP, or TLS over TCP with a caller's rustls configuration ([`TlsTarget`]),
//!   as one [`Stream`] type;
//! - [`Conn`]: hyper's HTTP/1.1 handshake over a [`Stream`], its connection task spawned
//!   (it ends when the [`Conn`] is dropped, or hands the socket over after an upgrade);
//!   [`Conn::send`] sends a [`request`] and reads the whole [`Response`] bounded by
//!   [`ReadRules`], [`Conn::send_head`] stops at the head (for `101 Switching Protocols`,
//!   then `hyper::upgrade::on`);
//! - hyper does the framing (`Content-Length`, chunked, to the connection's end, `1xx`
//!   interim answers skipped) and bounds the head (size and header count set here); the
//!   body is bounded by `http_body_util::Limited`;
//! - failures as [`ReadError`]/[`ConnectError`], which each client turns into its own
//!   errors and words.
//!
//! Deadlines stay with the callers (`tokio::time::timeout` around [`connect`] and
//! [`Conn::send`]), since each bounds a different span: one connect and one exchange for
//! the Docker client, connect plus one retry for the SOAP transport's pool. No pooling
//! here either: the SOAP transport keeps its own few idle [`Conn`]s.

mod response;
mod stream;

pub(crate) use response::{ReadError, ReadRules, Response, read_body};
pub(crate) use stream::{ConnectError, Stream, TlsTarget, connect};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{Builder, SendRequest};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use response::{from_hyper, io_cause};
use stream::LenientEof;
use tokio::sync::oneshot;

/// Longest response head (status line and headers) accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most response headers accepted.
const MAX_HEADERS: usize = 128;

/// A request with `body`: `method target`, `Host: host`, then `headers` in order. Control
/// characters (CR and LF among them) are dropped from header values, so none can inject a
/// header. A method, target or header name hyper refuses is [`ReadError::Protocol`].
pub(crate) fn request(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Request<Full<Bytes>>, ReadError> {
    let bad = |what: &str, v: &str| ReadError::Protocol(format!("invalid request {what} {v:?}"));
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| bad("method", method))?;
    let mut req = Request::builder()
        .method(method)
        .uri(target)
        .body(Full::new(body.into()))
        .map_err(|_| bad("target", target))?;
    let h = req.headers_mut();
    h.insert(HOST, value(host));
    for (n, v) in headers {
        let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad("header", n))?;
        h.append(name, value(v));
    }
    Ok(req)
}

/// A header value without control characters (tab kept), which makes it always valid.
fn value(v: &str) -> HeaderValue {
    let clean: Vec<u8> = v
        .bytes()
        .filter(|b| *b == b'\t' || (*b >= b' ' && *b != 0x7f))
        .collect();
    HeaderValue::from_bytes(&clean).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// One HTTP/1.1 client connection: hyper's request sender; the connection itself runs in
/// a spawned task, which ends when this is dropped and the connection is idle.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    /// How the connection task ended: a failure while no request was waiting (a TLS alert
    /// right after the handshake, say) reaches the next request only as "closed", so that
    /// request looks here for the reason.
    ended: Option<oneshot::Receiver<hyper::Result<()>>>,
}

impl Conn {
    /// The HTTP/1.1 handshake over `stream` (nothing is sent yet). With `lenient_close`, a
    /// TLS close without `close_notify` counts as the end of the connection — enough to end
    /// a body framed by it (for requests with `Connection: close`); otherwise it is an error.
    pub async fn new(stream: Stream, lenient_close: bool) -> Result<Conn, ReadError> {
        let io = TokioIo::new(LenientEof::new(stream, lenient_close));
        let (sender, conn) = Builder::new()
            .title_case_headers(true)
            .max_headers(MAX_HEADERS)
            .max_header_size(MAX_HEAD_BYTES)
            .handshake(io)
            .await
            .map_err(|e| from_hyper(e, false))?;
        let (done, ended) = oneshot::channel();
        tokio::spawn(async move {
            // The receiver may be gone (the Conn dropped): nobody needs the reason then.
            let _ = done.send(conn.with_upgrades().await);
        });
        Ok(Conn {
            sender,
            ended: Some(ended),
        })
    }

    /// `e` from the sender, or, when it only says the connection is gone, the failure that
    /// ended the connection task (if it failed).
    async fn reason(&mut self, e: hyper::Error) -> ReadError {
        // Only a bare "closed" or "canceled" can hide the task's failure; the task is ending
        // then, so its outcome comes at once.
        if (e.is_closed() || e.is_canceled())
            && io_cause(&e).is_none()
            && let Some(ended) = self.ended.take()
            && let Ok(Err(task)) = ended.await
        {
            return from_hyper(task, false);
        }
        from_hyper(e, false)
    }

    /// Whether the connection has closed (the server hung up, or it failed).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Waits until the connection can take a request; an error means it has closed.
    pub async fn ready(&mut self) -> Result<(), ReadError> {
        match self.sender.ready().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.reason(e).await),
        }
    }

    /// Sends `req` and reads the response head, leaving the body (or, after a `101`
    /// answer, the upgrade: `hyper::upgrade::on`) to the caller.
    pub async fn send_head(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<hyper::Response<Incoming>, ReadError> {
        self.ready().await?;
        match self.sender.send_request(req).await {
            Ok(resp) => Ok(resp),
            Err(e) => Err(self.reason(e).await),
        }
    }

    /// Sends `req` and reads the whole response under `rules`.
    pub async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
        rules: ReadRules,
    ) -> Result<Response, ReadError> {
        let head = self.send_head(req).await?;
        read_body(head, rules).await
    }
}

#[cfg(test)]
mod tests;
