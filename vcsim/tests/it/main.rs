//! vcsim integration tests: SOAP over the real router, in-process.

mod support;

mod connections;
mod faults;
mod hardening;
mod management;
mod network;
mod property_collector;
mod schema;
mod snapshots;
mod vm_lifecycle;
