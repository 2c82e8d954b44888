//! The CI pattern of `vcsim -dc 0` plus govc building the inventory by hand, through
//! govmomi's library (`vcsim/tests/govmomi/empty_test.go`).

use crate::govmomi::{GoServer, go_test};
use vcsim::Config;
use vcsim::config::VcsimModel;

#[test]
fn an_empty_vcsim_built_by_hand_through_govmomi() {
    let server = GoServer::start(Config {
        vcsim_model: Some(VcsimModel {
            datacenter: 0,
            ..VcsimModel::vpx()
        }),
        ..Config::default()
    });
    go_test(&server.url, "^TestEmpty");
}
