//! vcsim integration tests: SOAP over the real router, in-process.

mod support;

mod connections;
mod drs;
mod endpoints;
mod faults;
mod fcd;
mod govmomi;
mod govmomi_basics;
mod govmomi_empty;
mod govmomi_endpoints;
mod govmomi_fcd;
mod govmomi_fixes;
mod govmomi_host_storage;
mod govmomi_methods2;
mod govmomi_model;
mod govmomi_props;
mod govmomi_vapi;
mod govmomi_vapi_deploy;
mod govmomi_vapp;
mod govmomi_vm_methods;
mod hardening;
mod host_storage;
mod hosts;
mod management;
mod methods2;
mod network;
mod properties;
mod property_collector;
mod schema;
mod session_keys;
mod snapshots;
mod vapp;
mod varying_workloads;
mod vm_lifecycle;
mod vm_methods;
