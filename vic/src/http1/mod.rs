//! The HTTP/1.1 client layer under vic's two clients — the vSphere SOAP transport
//! (`vsphere::http`) and the Docker endpoint client (`engine::client`). It knows neither
//! SOAP nor Docker JSON: bytes in, status, headers and bytes out.
//!
//! - [`connect`]: TCP, or TLS over TCP with a caller's rustls configuration ([`TlsTarget`]),
//!   as one [`Stream`] type;
//! - [`request_head`] and [`exchange`]: write a request over any `AsyncBufRead + AsyncWrite`
//!   stream and read its [`Response`], framed by `Content-Length`, `Transfer-Encoding:
//!   chunked` or the connection's end, `1xx` interim answers skipped, everything bounded
//!   (head size, header count, chunk lines, body size: [`ReadRules`]);
//! - failures as [`ReadError`]/[`ConnectError`], which each client turns into its own
//!   errors and words.
//!
//! Deadlines stay with the callers (`tokio::time::timeout` around [`connect`] and
//! [`exchange`]), since each bounds a different span: one connect and one exchange for the
//! Docker client, connect plus one retry for the SOAP transport's pool. Written here rather
//! than pulling in an HTTP client crate, which would add dozens of crates for these few
//! hundred lines.

mod framing;
mod response;
mod stream;

pub(crate) use response::{ReadError, ReadRules, Response, is_reset, read_response};
pub(crate) use stream::{ConnectError, Stream, TlsTarget, connect};

use tokio::io::{AsyncBufRead, AsyncWrite, AsyncWriteExt};

/// A request head: `method target HTTP/1.1`, `Host: host`, then `headers` in order and
/// the empty line. CR and LF are dropped from header values, so none can inject a header.
pub(crate) fn request_head(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
    for (n, v) in headers {
        let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Writes `head` and `body` to `io` and flushes (a failure is [`ReadError::Unsent`]), then
/// reads the response under `rules`.
pub(crate) async fn exchange<S: AsyncBufRead + AsyncWrite + Unpin>(
    io: &mut S,
    head: &[u8],
    body: &[u8],
    rules: ReadRules,
) -> Result<Response, ReadError> {
    let write = async {
        io.write_all(head).await?;
        io.write_all(body).await?;
        io.flush().await
    };
    write.await.map_err(ReadError::Unsent)?;
    read_response(io, rules).await
}

#[cfg(test)]
mod tests;
