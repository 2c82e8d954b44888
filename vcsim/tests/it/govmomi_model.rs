//! vcsim's model and counting through govmomi's library (`vcsim/tests/govmomi/model_test.go`):
//! the Config `vicbed vcsim` builds with vcsim's default flags, and with `-esx`.

use crate::govmomi::{GoServer, go_test};
use vcsim::config::VcsimModel;
use vcsim::{Config, Flavor};

/// What `vicbed vcsim` with no model flags serves (wall-clock time aside).
fn vcsim_default() -> Config {
    Config {
        vcsim_model: Some(VcsimModel::vpx()),
        ..Config::default()
    }
}

#[test]
fn vcsims_default_model_through_govmomi() {
    let server = GoServer::start_tls(vcsim_default());
    go_test(&server.url, "^TestModel(Default|Vms|Power)");
}

#[test]
fn vcsims_esx_model_through_govmomi() {
    let server = GoServer::start(Config {
        flavor: Flavor::HostAgent,
        vcsim_model: Some(VcsimModel::esx()),
        ..Config::default()
    });
    go_test(&server.url, "^TestModelEsx");
}
