//! Host storage, firewall, search, privilege and Storage DRS calls through govmomi's library
//! (`vcsim/tests/govmomi/host_storage_test.go`).

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn govc_host_storage_calls_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestHostStorage");
}
