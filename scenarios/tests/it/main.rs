//! Integration tests of the `scenarios` crate.

mod broken;
mod conformance;
mod library;
mod runner;
