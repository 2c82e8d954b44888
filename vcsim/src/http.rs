//! One accept loop for plain HTTP and HTTPS: each connection is served by hyper (HTTP/1.1,
//! with upgrades) with the axum router, carrying [`ConnInfo`] (peer address, whether TLS) as
//! a request extension. `vic` reuses it for the VCH Docker endpoints.
//!
//! Every listener is bounded ([`Limits`]): at most `max_connections` at once (beyond them a
//! client gets `503` and the connection is closed), a request's headers must arrive within
//! `header_timeout`, its body may pause at most `body_timeout` between chunks, and a
//! keep-alive connection with no request in flight is closed after `idle_timeout`. A request
//! in flight (a `WaitForUpdatesEx` long poll, `docker wait`, a log stream) is never cut by the
//! idle timeout: its own bounds apply.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// What a handler knows about its connection.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The client certificate chain's leaf (DER), when one was presented.
    pub client_cert: Option<Vec<u8>>,
}

/// The bounds a listener applies to its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more are answered `503` and closed.
    pub max_connections: usize,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// How long a request's headers may take to arrive, from its first byte.
    pub header_timeout: Duration,
    /// The longest pause between two chunks of a request body.
    pub body_timeout: Duration,
    /// How long a connection may stay open with no request in flight. The default is above
    /// pyVmomi's 900 s connection-pool idle time, so its pooled connections are never closed
    /// under it (it would report the next call on such a connection as an error).
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(960),
        }
    }
}

/// Connections being refused at once (each gets its `503`); beyond this they are dropped.
const REFUSALS_MAX: usize = 64;

/// How often a connection's watchdog looks at it.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// Serves `router` on `listener` with the default [`Limits`] until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with_limits(listener, router, tls, Limits::default(), shutdown).await
}

/// Serves `router` on `listener` until `shutdown` resolves. Connections already accepted
/// keep running on the runtime; the listener stops at once.
pub async fn serve_with_limits(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_MAX));
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Running out of descriptors or a reset during accept must not end the server.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if let Ok(refusal) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream, acceptor, limits).await;
                    drop(refusal);
                });
            }
            continue;
        };
        let router = router.clone();
        tokio::spawn(async move {
            match acceptor {
                None => {
                    let info = ConnInfo {
                        peer,
                        tls: false,
                        client_cert: None,
                    };
                    serve_connection(stream, router, info, limits).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                            .await;
                    let Ok(Ok(tls_stream)) = handshake else {
                        return;
                    };
                    let client_cert = tls_stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| c.as_ref().to_vec());
                    let info = ConnInfo {
                        peer,
                        tls: true,
                        client_cert,
                    };
                    serve_connection(tls_stream, router, info, limits).await;
                }
            }
            drop(slot);
        });
    }
}

/// Serves one connection until it ends, upgrades, or its watchdog finds it stalled.
async fn serve_connection<S>(stream: S, router: Router, info: ConnInfo, limits: Limits)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let watch = Arc::new(Watch::new());
    let io = Watched {
        inner: stream,
        watch: watch.clone(),
    };
    let svc = router
        .layer(Extension(info))
        .layer(axum::middleware::from_fn_with_state(
            watch.clone(),
            track_in_flight,
        ));
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our watchdog times headers from a request's first byte; hyper's own timer would also
    // cut idle keep-alive connections at the header timeout.
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    let conn = builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(svc))
        .with_upgrades();
    tokio::select! {
        _ = conn => {}
        _ = watch.stalled(limits) => {}
    }
}

/// Marks a request in flight until its response body is finished (or dropped).
async fn track_in_flight(
    axum::extract::State(watch): axum::extract::State<Arc<Watch>>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response<Body> {
    let guard = InFlight::new(watch);
    let resp = next.run(req).await;
    resp.map(|body| {
        Body::new(GuardedBody {
            inner: body,
            _guard: guard,
        })
    })
}

/// What a connection's watchdog knows: bytes read, requests in flight, and when the
/// connection last became idle.
#[derive(Debug)]
struct Watch {
    start: Instant,
    read_bytes: AtomicU64,
    /// `read_bytes` when the last request finished (more than this: a request is arriving).
    read_at_idle: AtomicU64,
    /// Milliseconds since `start` at which the connection last became idle.
    idle_since_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            start: Instant::now(),
            read_bytes: AtomicU64::new(0),
            read_at_idle: AtomicU64::new(0),
            idle_since_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Resolves when the connection has been idle longer than the idle timeout, or a request
    /// has been arriving for longer than the header timeout.
    async fn stalled(&self, limits: Limits) {
        let mut partial_since_ms: Option<u64> = None;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.in_flight.load(Ordering::Acquire) > 0 {
                partial_since_ms = None;
                continue;
            }
            let now = self.now_ms();
            let arriving =
                self.read_bytes.load(Ordering::Acquire) > self.read_at_idle.load(Ordering::Acquire);
            if arriving {
                let since = *partial_since_ms.get_or_insert(now);
                if now.saturating_sub(since) > limits.header_timeout.as_millis() as u64 {
                    return;
                }
            } else {
                partial_since_ms = None;
                let idle_since = self.idle_since_ms.load(Ordering::Acquire);
                if now.saturating_sub(idle_since) > limits.idle_timeout.as_millis() as u64 {
                    return;
                }
            }
        }
    }
}

/// Counts a request in flight for as long as it lives.
struct InFlight {
    watch: Arc<Watch>,
}

impl InFlight {
    fn new(watch: Arc<Watch>) -> InFlight {
        watch.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight { watch }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let w = &self.watch;
        w.read_at_idle
            .store(w.read_bytes.load(Ordering::Acquire), Ordering::Release);
        w.idle_since_ms.store(w.now_ms(), Ordering::Release);
        w.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted in flight until hyper has sent it.
struct GuardedBody {
    inner: Body,
    _guard: InFlight,
}

impl http_body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's stream, counting the bytes read for the watchdog.
struct Watched<S> {
    inner: S,
    watch: Arc<Watch>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.watch.read_bytes.fetch_add(n as u64, Ordering::AcqRel);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Answers a connection beyond `max_connections` with `503` (through hyper, after the TLS
/// handshake on a TLS listener) and closes it.
async fn refuse(stream: tokio::net::TcpStream, acceptor: Option<TlsAcceptor>, limits: Limits) {
    let svc = hyper::service::service_fn(|_req| async {
        let mut r = Response::new(Body::from(
            "the server is at its connection limit; retry later\n",
        ));
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        r.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        Ok::<_, std::convert::Infallible>(r)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.handshake_timeout)
        .keep_alive(false);
    let serve = async {
        match acceptor {
            None => {
                let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
            }
            Some(a) => {
                if let Ok(tls) = a.accept(stream).await {
                    let _ = builder.serve_connection(TokioIo::new(tls), svc).await;
                }
            }
        }
    };
    let _ = tokio::time::timeout(limits.handshake_timeout * 2, serve).await;
}
