//! Wave 2's SOAP methods through govmomi (`vcsim/tests/govmomi/methods2_test.go`):
//! customization specs and vm.customize, IP pools, PostEvent, UpgradeVM_Task and
//! VirtualDiskManager's move and UUID methods.

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn wave2_methods_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestMethods2");
}
