//! `vcsim`: a vSphere Web Services (SOAP) emulator that real clients (pyvmomi, govc) accept
//! unchanged, whose performance counters come from the `scheduler-model` contention model.
//!
//! Core types:
//! - [`Emulator`]: the whole state — inventory, model, sessions, collectors, tasks, events,
//!   perf samples — plain and synchronous;
//! - [`Vcsim`]: the shareable handle that serves it over HTTP(S) (`serve(listener, tls,
//!   shutdown)`) and drives its virtual [`clock`];
//! - [`vmodl`]: values, MoRefs and faults shared with the `vic` SOAP client;
//! - [`soap`]: the only server code that touches XML;
//! - [`GuestAgent`]: the seam where software inside a VM (VIC's appliance and tether) plugs in.

pub mod clock;
pub mod config;
pub mod emulator;
pub mod endpoints;
pub mod events;
pub mod guest;
pub mod http;
pub mod ids;
pub mod inventory;
pub mod methods;
pub mod perf;
pub mod property;
pub mod rest;
pub mod secret;
pub mod server;
pub mod session;
pub mod soap;
pub mod tasks;
pub mod tls;
pub mod vmodl;

pub use config::{Config, Flavor, ModelCounts};
pub use emulator::Emulator;
pub use guest::{GuestAgent, GuestEffects, GuestEvent, GuestHandle, GuestView};
pub use inventory::InventorySpec;
pub use server::Vcsim;
pub use server::pace::{ClockControl, Pace, PaceError};
