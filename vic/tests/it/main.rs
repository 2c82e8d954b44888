//! vic integration tests (one binary; modules per area).
mod appliance;
mod client;
mod convention;
mod engine;
mod engine_atomic;
mod engine_attach;
mod engine_input;
mod engine_quota;
mod engine_volumes;
mod firewall;
mod guestinfo;
mod machine;
mod machine_limits;
mod machine_rollback;
mod sim;
mod tls;
mod vsphere;
