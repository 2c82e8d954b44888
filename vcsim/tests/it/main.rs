//! vcsim integration tests: SOAP over the real router, in-process.

mod support;

mod faults;
mod property_collector;
mod snapshots;
mod vm_lifecycle;
