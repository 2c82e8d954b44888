//! The properties govc dereferences, read through govmomi
//! (`vcsim/tests/govmomi/properties_test.go`).

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn govc_dereferenced_properties_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestProps");
}
