//! The live demo (`vicbed demo`): a scenario's testbed on a running virtual clock, and the
//! web console a trainer shows to a room.
//!
//! - [`Demo`] (`demo`) starts the testbed and the scenario's VCHs, runs the clock
//!   ([`vcsim::ClockControl`]) and polls vSphere over SOAP as a monitoring client does;
//! - [`feed`] holds the counters read, their display units and the rolling [`feed::Window`];
//! - [`story`] tells the scenario as steps with live verdicts;
//! - [`controls`] are the typed requests ([`controls::Control`]) the page sends: clock, pool
//!   allocation (`UpdateConfig`), power, docker commands;
//! - [`hub`] fans events out to every page (Server-Sent Events), [`api`] is the HTTP edge,
//!   [`model`] the JSON the page reads, [`inventory`] the SOAP reads behind it.

pub mod api;
mod assets;
pub mod controls;
pub mod demo;
pub mod feed;
pub mod hub;
pub mod inventory;
pub mod model;
pub mod story;

pub use demo::{Demo, DemoConfig, DemoError, SEED_SCENARIO};

/// Serves the console of `demo` on `listener` until `shutdown` resolves.
pub async fn serve(
    demo: &Demo,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    vcsim::http::serve(listener, api::router(demo.shared()), None, shutdown).await
}
