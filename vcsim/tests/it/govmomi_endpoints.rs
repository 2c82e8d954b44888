//! The side SOAP services and the vCenter behaviours of `vcsim/tests/govmomi/endpoints_test.go`
//! through govmomi's lookup, pbm and vsan clients.

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn side_services_and_vcenter_behaviours_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestEndpoints");
}

#[test]
fn side_services_over_tls_through_govmomi() {
    let server = GoServer::start_tls(Config::default());
    go_test(&server.url, "^TestEndpoints(Lookup|Pbm)$");
}
