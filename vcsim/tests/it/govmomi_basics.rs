//! The everyday govc commands through govmomi's library (`vcsim/tests/govmomi/basics_test.go`).

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn govc_everyday_commands_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestBasics");
}
