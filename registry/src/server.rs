//! Serving a registry: TLS material made (or plain HTTP), the router put on the shared
//! accept loop (`vcsim::http::serve_with_limits`: connection limits and idle timeouts), and
//! a sweeper that drops idle upload sessions. [`serve`] returns a [`RegistryHandle`] at once.

use crate::config::{RegistryConfig, TlsMode};
use crate::error::RegistryError;
use crate::state::Registry;
use crate::tls::{self, TlsError};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why a registry could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The storage could not be opened.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// TLS material could not be made or written.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listener failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A running registry.
pub struct RegistryHandle {
    addr: SocketAddr,
    tls: bool,
    ca_pem: Option<String>,
    ca_path: Option<PathBuf>,
    registry: Registry,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RegistryHandle {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://IP:PORT` (or `http://` when insecure).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The CA certificate (PEM) clients must trust; `None` when insecure.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Where `ca.crt` was written, if it was.
    pub fn ca_path(&self) -> Option<&std::path::Path> {
        self.ca_path.as_deref()
    }

    /// The state machine behind it.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Stops listening and waits for the accept loop to end.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.wait().await
    }

    /// Waits until the registry stops (its shutdown future resolved).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }
}

/// Binds `addr` and serves; see [`serve`].
pub async fn bind_and_serve(
    config: RegistryConfig,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RegistryHandle, ServeError> {
    let listener = TcpListener::bind(addr).await?;
    serve(config, listener, shutdown).await
}

/// Serves a registry on `listener` until `shutdown` resolves or the handle is stopped.
pub async fn serve(
    config: RegistryConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RegistryHandle, ServeError> {
    let addr = listener.local_addr()?;
    let registry = Registry::new(&config)?;
    let (ca_pem, ca_path, server_tls) = match &config.tls {
        TlsMode::Insecure => (None, None, None),
        TlsMode::Generate { cert_dir } => {
            let mut ips = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
            if !addr.ip().is_unspecified() && !ips.contains(&addr.ip()) {
                ips.push(addr.ip());
            }
            let material = tls::generate(&config.host_name, &ips)?;
            let path = match cert_dir {
                Some(dir) => Some(tls::write_ca(dir, &material.ca_pem)?),
                None => None,
            };
            (Some(material.ca_pem), path, Some(material.server))
        }
    };
    let scheme = if server_tls.is_some() {
        "https"
    } else {
        "http"
    };
    let router = crate::http::router(registry.clone(), scheme);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let sweep_every = (config.limits.upload_idle_timeout / 4)
        .clamp(Duration::from_secs(1), Duration::from_secs(30));
    let sweeper_registry = registry.clone();
    let limits = vcsim::http::Limits {
        // A layer upload may pause longer than a SOAP call between chunks.
        body_timeout: Duration::from_secs(120),
        ..vcsim::http::Limits::default()
    };
    let task = tokio::spawn(async move {
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_every);
            loop {
                tick.tick().await;
                sweeper_registry.sweep_uploads();
            }
        });
        let stopped = async move {
            tokio::select! {
                _ = shutdown => {}
                _ = stop_rx => {}
            }
        };
        let result =
            vcsim::http::serve_with_limits(listener, router, server_tls, limits, stopped).await;
        sweeper.abort();
        result
    });
    tracing::info!(%addr, scheme, host = %config.host_name, "registry listening");
    Ok(RegistryHandle {
        addr,
        tls: scheme == "https",
        ca_pem,
        ca_path,
        registry,
        stop: Some(stop_tx),
        task,
    })
}
