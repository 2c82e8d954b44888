//! The vAPI REST family through govmomi's vapi clients (`vcsim/tests/govmomi/vapi_test.go`):
//! sessions, tagging, content libraries and the `/api/vcenter` inventory.

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn vapi_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestVapi");
}

#[test]
fn vapi_through_govmomi_over_tls() {
    // Upload URLs must name the scheme the client used.
    let server = GoServer::start_tls(Config::default());
    go_test(&server.url, "^TestVapi(Library|Session)$");
}
