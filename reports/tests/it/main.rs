//! Integration tests of `reports`: rendering a synthetic run, determinism, each output's
//! shape, and the conformance helpers.

mod conformance;
mod fixture;
mod glance;
mod long_run;
mod render;
