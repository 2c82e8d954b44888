//! vic integration tests (one binary; modules per area).
mod appliance;
mod client;
mod convention;
mod engine;
mod firewall;
mod guestinfo;
mod machine;
mod sim;
mod tls;
mod vsphere;
