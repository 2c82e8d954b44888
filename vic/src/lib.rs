//! `vic`: the vSphere Integrated Containers control path, talking SOAP to a vCenter (the
//! built-in `vcsim` emulator in the testbed) exactly as VIC does.
//!
//! Core modules:
//! - [`vsphere`]: a small SOAP client (login, finder, property collector, task wait);
//! - [`tls`]: VIC's certificate handling (generated CA/server/client, custom certificates);
//! - [`convention`]: the containerVM name convention (`--container-name-convention`);
//! - [`firewall`]: container-network trust levels as rule sets and a flow evaluator;
//! - [`guestinfo`]: VIC's extraConfig (guestinfo) key encoding;
//! - [`images`]: the image catalogue a VCH pulls from;
//! - [`workload`]: what a container's process does to the contention model.

pub mod convention;
pub mod engine;
pub mod firewall;
pub mod guestinfo;
pub mod images;
pub mod tls;
pub mod vsphere;
pub mod workload;
