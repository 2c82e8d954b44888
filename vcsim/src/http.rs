//! One accept loop for plain HTTP and HTTPS: each connection is served by hyper with the
//! axum router, carrying [`ConnInfo`] (peer address, whether TLS) as a request extension.
//! `vic` reuses it for the VCH Docker endpoints.

use axum::Extension;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
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

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT_S: u64 = 10;

/// Serves `router` on `listener` until `shutdown` resolves. Connections already accepted
/// keep running on the runtime; the listener stops at once.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Running out of descriptors or a reset during accept must not end the server.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match acceptor {
                None => {
                    let svc = router.layer(Extension(ConnInfo {
                        peer,
                        tls: false,
                        client_cert: None,
                    }));
                    let _ = builder
                        .serve_connection_with_upgrades(
                            TokioIo::new(stream),
                            TowerToHyperService::new(svc),
                        )
                        .await;
                }
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(
                        std::time::Duration::from_secs(HANDSHAKE_TIMEOUT_S),
                        acceptor.accept(stream),
                    )
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
                    let svc = router.layer(Extension(ConnInfo {
                        peer,
                        tls: true,
                        client_cert,
                    }));
                    let _ = builder
                        .serve_connection_with_upgrades(
                            TokioIo::new(tls_stream),
                            TowerToHyperService::new(svc),
                        )
                        .await;
                }
            }
        });
    }
}
