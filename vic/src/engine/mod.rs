//! The VCH Docker endpoint: the Docker Engine API 1.25 (minimum 1.19) served over plain HTTP
//! (2375), TLS or mutual TLS (2376), turning container operations into SOAP calls on the
//! VCH's vSphere. The only code that knows Docker JSON.
//!
//! [`serve`] is what the VCH appliance runs: it connects to vSphere as the port layer does
//! ([`crate::portlayer::PortLayer::connect`]), rebuilds its container cache from the
//! containerVMs in the VCH pool, and serves the API on the listener it is given (with
//! `EngineConfig::tls`, through `vcsim::http::serve`) until `shutdown` resolves.
//!
//! What it serves, and how each route answers, is in [`routes`]; sizing in [`sizing`]. The
//! handlers: `api` (dispatch, system routes, query parameters), `create` (with `decode`, the
//! create body decoded and checked as dockerd does), `containers`, `view` (ps, inspect),
//! `attach` (the hijacked stream), `logs`, `exec`, `stats`, [`events`] (with `lifecycle`:
//! `die` and `--rm` when a process ends), `quota` (`--containers`, `--storage-quota`),
//! `images`, `networks`. Processes' output and stdin come over the containerVMs'
//! [`crate::interaction`] link. Bad input gets dockerd's 400 and message before anything is
//! created; state-changing operations run in their own task so a client that hangs up never
//! leaves one half done.

mod api;
mod attach;
pub mod client;
mod config;
mod containers;
mod create;
mod decode;
pub mod events;
mod exec;
mod images;
mod lifecycle;
mod logs;
mod networks;
mod quota;
pub mod registry_policy;
pub mod routes;
pub mod sizing;
mod state;
mod stats;
pub mod util;
mod view;
mod volumes;

pub use config::{ContainerNetwork, EngineConfig, VolumeStore, VsphereTarget};
pub use state::ApiError;

use crate::portlayer::{PortLayer, PortLayerError};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Why the endpoint could not serve.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Connecting or logging in to vSphere, or reading the VCH's containers, failed.
    #[error("connecting to vSphere: {0}")]
    PortLayer(#[from] PortLayerError),
    /// Reading the existing containers failed.
    #[error("reading the VCH's containers: {0}")]
    Sync(String),
    /// The listener failed.
    #[error("serving the Docker API: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves the VCH's Docker API on `listener` until `shutdown` resolves.
pub async fn serve(
    config: EngineConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), EngineError> {
    let local = listener.local_addr()?;
    let config = Arc::new(config);
    let pl = PortLayer::connect(config.clone()).await?;
    let engine = state::Engine {
        config: config.clone(),
        pl,
        store: Mutex::new(state::Store::default()),
        local,
        events: events::EventBus::default(),
        forwards: crate::guestnet::Forwards::default(),
    };
    engine
        .sync()
        .await
        .map_err(|e| EngineError::Sync(e.message))?;
    let engine = Arc::new(engine);
    lifecycle::watch_exits(&engine);
    let router = api::router(engine);
    vcsim::http::serve(listener, router, config.tls.clone(), shutdown).await?;
    Ok(())
}

/// Whether a `GET /info` body reports the engine running: a `SystemStatus` entry
/// `[<Driver>, "RUNNING"]`, which is what vic-machine's readiness check waits for (vic.md
/// §6.1 step 6.3).
pub fn info_reports_running(body: &[u8]) -> Result<(), String> {
    let info: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("/info is not JSON: {e}"))?;
    let driver = info.get("Driver").and_then(|d| d.as_str()).unwrap_or("");
    let running = info
        .get("SystemStatus")
        .and_then(|s| s.as_array())
        .is_some_and(|entries| {
            entries.iter().any(|e| {
                e.as_array().is_some_and(|pair| {
                    pair.len() == 2
                        && pair[0].as_str() == Some(driver)
                        && pair[1].as_str() == Some("RUNNING")
                })
            })
        });
    if running {
        Ok(())
    } else {
        Err(format!(
            "SystemStatus has no [{driver:?}, \"RUNNING\"] entry"
        ))
    }
}
