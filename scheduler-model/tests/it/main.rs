//! Integration tests of the public API: the seed experiment bands, proptest invariants,
//! admission control, samples and accessors.

mod admission;
mod api;
mod checksum;
mod common;
mod invariants;
mod seed_bands;
mod varying;
