//! Integration tests of the `scenarios` crate.

mod broken;
mod library;
