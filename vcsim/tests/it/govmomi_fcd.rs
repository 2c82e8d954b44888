//! First-class disks through govmomi's `vslm` package (`vcsim/tests/govmomi/fcd_test.go`).

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn govc_disk_commands_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestFcd");
}
