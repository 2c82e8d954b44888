//! Snapshots, clones, relocation, licenses and roles through govmomi's library
//! (`vcsim/tests/govmomi/vm_methods_test.go`).

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn govc_vm_methods_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestVmMethods");
}
