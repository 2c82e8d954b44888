//! Security and correctness fixes through govmomi (`vcsim/tests/govmomi/fixes_test.go`):
//! device keys of created VMs, upload modification times, STS token login, and session
//! keys that are not cookies.

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn fixes_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestFixes");
}

#[test]
fn token_login_over_tls() {
    // govc talks to vCenter over HTTPS: the STS URL the lookup service hands out must be
    // the https one the client reached.
    let server = GoServer::start_tls(Config::default());
    go_test(&server.url, "^TestFixesTokenLogin$");
}
