//! Integration tests of the `scenarios` crate.

mod broken;
mod conformance;
mod conformance_tls;
mod devflow;
mod hosts;
mod library;
mod limits;
mod params;
mod runner;
mod workloads;
