//! Content-library deployments through govmomi's vapi/vcenter client
//! (`vcsim/tests/govmomi/vapi_deploy_test.go`): OVF items deployed into VMs, OVF items made
//! from VMs, and VM templates in a library.

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn vapi_deploy_through_govmomi() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestVapiDeploy");
}
