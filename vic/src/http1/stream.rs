//! The connection under an HTTP/1.1 exchange: TCP, or TLS over TCP (rustls), and the
//! adapter that may take a TLS close without `close_notify` for the connection's end.

use rustls_pki_types::ServerName;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// How to secure a connection: the client configuration and the name the server is
/// checked against (and sent as SNI, unless it is an IP address).
pub(crate) struct TlsTarget {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl TlsTarget {
    /// TLS with `config` to the server named `name`.
    pub fn new(config: Arc<rustls::ClientConfig>, name: ServerName<'static>) -> TlsTarget {
        TlsTarget {
            connector: TlsConnector::from(config),
            name,
        }
    }
}

/// Why connecting failed.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The TCP connection.
    Tcp(io::Error),
    /// The TLS handshake (the rustls error, if any, inside: [`crate::tlsverify::rustls_error`]).
    Tls(io::Error),
}

/// A TCP or TLS stream.
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

/// Connects to `host:port` (TCP without Nagle's delay), then does the TLS handshake when
/// `tls` is given. Unbounded in time: callers put their own deadline around it.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    tls: Option<&TlsTarget>,
) -> Result<Stream, ConnectError> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(ConnectError::Tcp)?;
    let _ = tcp.set_nodelay(true);
    Ok(match tls {
        None => Stream::Plain(tcp),
        Some(t) => Stream::Tls(Box::new(
            t.connector
                .connect(t.name.clone(), tcp)
                .await
                .map_err(ConnectError::Tls)?,
        )),
    })
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

/// A [`Stream`] whose reads may end at a TLS close without `close_notify`: rustls reports
/// that as an `UnexpectedEof` error, which this turns into the end of the stream when
/// `lenient`. (A body framed by a length or chunks still fails if cut short: hyper sees
/// the end before the framing does.)
pub(super) struct LenientEof {
    inner: Stream,
    lenient: bool,
}

impl LenientEof {
    pub(super) fn new(inner: Stream, lenient: bool) -> LenientEof {
        LenientEof { inner, lenient }
    }
}

impl AsyncRead for LenientEof {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if this.lenient && e.kind() == io::ErrorKind::UnexpectedEof => {
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for LenientEof {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, b)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
