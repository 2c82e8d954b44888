//! OVF import/export and vApps through govmomi's `ovf` and `nfc` packages
//! (`vcsim/tests/govmomi/vapp_test.go`), over HTTPS (lease URLs `https://*/nfc/...`, as
//! vCenter's) and over plain HTTP (`http://*/nfc/...`, the scheme the client came with).

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;

#[test]
fn govc_import_export_and_vapps_through_govmomi() {
    let server = GoServer::start_tls(Config::default());
    go_test(&server.url, "^TestVapp");
}

#[test]
fn ovf_import_over_plain_http() {
    let server = GoServer::start(Config::default());
    go_test(&server.url, "^TestVappOvfImportExport");
}
