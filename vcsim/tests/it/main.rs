//! vcsim integration tests: SOAP over the real router, in-process.

mod support;

mod connections;
mod drs;
mod faults;
mod hardening;
mod hosts;
mod management;
mod network;
mod property_collector;
mod schema;
mod snapshots;
mod varying_workloads;
mod vm_lifecycle;
