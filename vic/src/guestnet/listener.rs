//! Listening and accepting for the data plane: binding, the accept loop shared by forwards
//! and routable services (connection limit, decision per connection, idle timeout), and the
//! [`Lease`] that ends a set of listeners and their connections together.

use super::Service;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Connections one listener serves at once; more are closed as they are accepted.
pub const MAX_CONNECTIONS: usize = 64;

/// A connection with no traffic either way for this long is closed (nginx's default
/// `keepalive_timeout` is 65 s).
pub const IDLE_TIMEOUT_MS: u64 = 65_000;

/// The listen backlog.
const BACKLOG: u32 = 128;

/// A pause after a failed accept (out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds a listener on `addr` with `SO_REUSEADDR`, so a port whose previous listener
/// closed with connections in TIME_WAIT can be bound again at once (a container restarted
/// with the same `-p`). Must run inside a tokio runtime.
pub(crate) fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// An accepted connection as a service sees it: the TCP stream, with its traffic counted
/// for the idle timeout.
#[derive(Debug)]
pub struct GuestConn {
    stream: TcpStream,
    origin: Instant,
    /// Milliseconds after `origin` of the latest traffic.
    last_ms: Arc<AtomicU64>,
}

impl GuestConn {
    fn new(stream: TcpStream) -> (GuestConn, Idle) {
        let origin = Instant::now();
        let last_ms = Arc::new(AtomicU64::new(0));
        let idle = Idle {
            origin,
            last_ms: last_ms.clone(),
        };
        (
            GuestConn {
                stream,
                origin,
                last_ms,
            },
            idle,
        )
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// A handle that marks this connection active without traffic: a request that waits on
    /// the virtual clock (a DCH build) is not idle.
    pub fn activity(&self) -> Activity {
        Activity {
            origin: self.origin,
            last_ms: self.last_ms.clone(),
        }
    }

    /// The local address the client connected to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

/// Marks a [`GuestConn`] active ([`GuestConn::activity`]).
#[derive(Clone, Debug)]
pub struct Activity {
    origin: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    /// The connection is in use now.
    pub fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for GuestConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for GuestConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The idle watchdog of one [`GuestConn`].
struct Idle {
    origin: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Idle {
    /// Resolves once the connection has been idle for `idle`.
    async fn expired(self, idle: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = self.origin + last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Resolves when `stop` says so or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Decides, for a connection from `peer` accepted at `local`, which service serves it
/// (None: close it at once).
pub(crate) type Decide =
    Arc<dyn Fn(SocketAddr, SocketAddr) -> Option<Arc<dyn Service>> + Send + Sync>;

/// A set of listeners and their connections that end together: when the lease is closed
/// or dropped, the listeners stop accepting and the connections are closed.
pub(crate) struct Lease {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The addresses listened on.
    pub(crate) addrs: Vec<SocketAddr>,
}

impl Default for Lease {
    fn default() -> Lease {
        Lease {
            stop: watch::Sender::new(false),
            tasks: Vec::new(),
            addrs: Vec::new(),
        }
    }
}

impl Lease {
    /// Starts accepting on `listener` (inside the current runtime) until the lease ends.
    pub(crate) fn accept(&mut self, listener: TcpListener, decide: Decide) {
        if let Ok(a) = listener.local_addr() {
            self.addrs.push(a);
        }
        let stop = self.stop.subscribe();
        self.tasks
            .push(tokio::spawn(accept_loop(listener, decide, stop)));
    }

    /// Runs `task` (which may bind and accept later) until the lease ends.
    pub(crate) fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    /// A receiver that reports the lease's end, for a task that accepts by itself.
    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    fn signal(&self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Ends the lease and waits until its listeners are closed (their ports free again).
    pub(crate) async fn close(mut self) {
        self.signal();
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.signal();
    }
}

/// Accepts on `listener` until `stop`: each connection within the limit that `decide`
/// gives a service is served in its own task, the others are closed at once.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    decide: Decide,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = stopped(&mut stop) => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Over the limit: closed as accepted.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let Some(service) = decide(peer, local) else {
            // No service, or the firewall refused: closed without data.
            continue;
        };
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let (conn, idle) = GuestConn::new(stream);
            tokio::select! {
                () = service.serve(conn, peer) => {}
                () = idle.expired(Duration::from_millis(IDLE_TIMEOUT_MS)) => {}
                () = stopped(&mut stop) => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Echoes what it reads.
    struct Echo;

    impl Service for Echo {
        fn name(&self) -> &'static str {
            "echo"
        }

        fn serve(self: Arc<Self>, mut conn: GuestConn, _peer: SocketAddr) -> super::super::Serving {
            Box::pin(async move {
                let mut buf = [0u8; 64];
                while let Ok(n) = conn.read(&mut buf).await {
                    if n == 0 || conn.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            })
        }
    }

    async fn read_to_end(mut s: TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        out
    }

    #[tokio::test]
    async fn a_lease_serves_refuses_and_frees_its_port() {
        let listener = bind_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut lease = Lease::default();
        let decide: Decide = Arc::new(|peer: SocketAddr, _| {
            // Serves only connections from an even source port.
            peer.port()
                .is_multiple_of(2)
                .then(|| Arc::new(Echo) as Arc<dyn Service>)
        });
        lease.accept(listener, decide);
        assert_eq!(lease.addrs, [addr]);
        let mut served = None;
        let mut refused = None;
        while served.is_none() || refused.is_none() {
            let s = TcpStream::connect(addr).await.unwrap();
            if s.local_addr().unwrap().port().is_multiple_of(2) {
                served.get_or_insert(s);
            } else {
                refused.get_or_insert(s);
            }
        }
        let mut s = served.unwrap();
        s.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        assert!(read_to_end(refused.unwrap()).await.is_empty());
        lease.close().await;
        // The served connection ends with the lease, and the port is free again.
        assert!(read_to_end(s).await.is_empty());
        let again = bind_listener(addr).expect("the port is free after close");
        drop(again);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_expires_after_the_timeout_since_its_last_traffic() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let (conn, idle) = GuestConn::new(server);
        let idle_for = Duration::from_millis(IDLE_TIMEOUT_MS);
        let started = Instant::now();
        tokio::time::advance(Duration::from_millis(1000)).await;
        conn.touch();
        idle.expired(idle_for).await;
        assert!(started.elapsed() >= idle_for + Duration::from_millis(1000));
        drop((conn, client));
    }
}
