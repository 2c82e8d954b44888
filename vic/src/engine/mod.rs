//! The VCH Docker endpoint: the Docker Engine API 1.25 (minimum 1.19) served over plain HTTP
//! (2375), TLS or mutual TLS (2376), turning container operations into SOAP calls on the
//! VCH's vSphere. The only code that knows Docker JSON.

mod config;

pub use config::{ContainerNetwork, EngineConfig, VsphereTarget};
