//! vic integration tests (one binary; modules per area).
mod convention;
mod firewall;
mod guestinfo;
mod tls;
mod vsphere;
