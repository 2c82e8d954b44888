//! pyvmomi against `vicbed serve`: one test per script of `tests/interop/` (see the
//! docstring at the top of each script for what it checks).

use crate::support::{Server, repo_root, run_script};
use std::thread;

/// The default model, spelled out (the counts are passed on to inventory.py).
const DEFAULT_MODEL: &[&str] = &[
    "--datacenter",
    "1",
    "--cluster",
    "1",
    "--host",
    "3",
    "--vm",
    "2",
    "--standalone-host",
    "1",
];

#[test]
fn login_sessions_and_bad_credentials() {
    let server = Server::start(&[]);
    run_script(&server, "login.py", &[]);
    server.stop();
}

#[test]
fn login_with_custom_credentials() {
    let server = Server::start(&["--username", "alice", "--password", "wonderland-42"]);
    assert!(
        server.url.contains("://alice:wonderland-42@"),
        "GOVC_URL {} does not carry the credentials",
        server.url
    );
    // login.py takes user and password from the URL; user/pass must now be refused.
    run_script(&server, "login.py", &[]);
    server.stop();
}

#[test]
fn tls_login() {
    let server = Server::start(&["--tls"]);
    assert!(
        server.url.starts_with("https://"),
        "--tls printed {}",
        server.url
    );
    run_script(&server, "login.py", &[]);
    run_script(&server, "faults.py", &[]);
    server.stop();
}

#[test]
fn inventory_walk_is_strictly_typed() {
    let server = Server::start(DEFAULT_MODEL);
    let args = [
        "--datacenters=1",
        "--clusters=1",
        "--hosts=3",
        "--vms=2",
        "--standalone=1",
    ];
    run_script(&server, "inventory.py", &args);
    server.stop();
}

#[test]
fn inventory_counts_follow_the_flags() {
    let server = Server::start(&[
        "--cluster",
        "2",
        "--host",
        "2",
        "--vm",
        "3",
        "--standalone-host",
        "2",
    ]);
    let args = [
        "--datacenters=1",
        "--clusters=2",
        "--hosts=2",
        "--vms=3",
        "--standalone=2",
    ];
    run_script(&server, "inventory.py", &args);
    server.stop();
}

#[test]
fn inventory_file() {
    let file = repo_root().join("tests/interop/inventory.toml");
    let path = file.to_str().expect("utf-8 path");
    let server = Server::start(&["--inventory", path]);
    run_script(
        &server,
        "toml_inventory.py",
        &[&format!("--inventory={path}")],
    );
    server.stop();
}

#[test]
fn property_collector_paging() {
    let server = Server::start(DEFAULT_MODEL);
    run_script(&server, "paging.py", &[]);
    server.stop();
}

#[test]
fn vm_lifecycle_through_tasks() {
    let server = Server::start(&[]);
    run_script(&server, "vm_lifecycle.py", &[]);
    server.stop();
}

#[test]
fn wait_for_updates() {
    let server = Server::start(&[]);
    run_script(&server, "updates.py", &[]);
    server.stop();
}

#[test]
fn resource_pools() {
    let server = Server::start(&[]);
    run_script(&server, "resource_pool.py", &[]);
    server.stop();
}

#[test]
fn pool_runtime_follows_the_model() {
    let server = Server::start(&["--speed", "600"]);
    run_script(&server, "pool_runtime.py", &[]);
    server.stop();
}

#[test]
fn perf_counters_from_the_contention_model() {
    let server = Server::start(&["--speed", "600"]);
    run_script(&server, "perf.py", &[]);
    server.stop();
}

/// A fresh server has a day of history (`--history-days 1` is the default): 300 s and
/// coarser samples for VMs, hosts, clusters and datastores at once.
#[test]
fn perf_history_of_a_fresh_server() {
    let server = Server::start(&[]);
    run_script(&server, "perf_history.py", &["--part=past"]);
    server.stop();
}

/// While the clock runs, a new VM's 300 s samples are rolled up from its realtime ones.
#[test]
fn perf_history_rolls_up_live_samples() {
    let server = Server::start(&["--speed", "60"]);
    run_script(&server, "perf_history.py", &["--part=live"]);
    server.stop();
}

/// `--history-days 0`: no past, so no historical samples until the clock makes them.
#[test]
fn perf_history_can_be_turned_off() {
    let server = Server::start(&["--history-days", "0"]);
    run_script(&server, "perf_history.py", &["--part=none"]);
    server.stop();
}

/// A steady VM through more than a day of the live clock (its samples repeats the server
/// neither writes as rows nor rolls up one by one) reads as any other through pyvmomi.
#[test]
fn perf_history_of_a_steady_vm_over_a_day() {
    let server = Server::start(&["--history-days", "0", "--speed", "5000"]);
    run_script(&server, "perf_history.py", &["--part=steady"]);
    server.stop();
}

#[test]
fn soap_faults_and_bad_input() {
    let server = Server::start(&[]);
    run_script(&server, "faults.py", &[]);
    server.stop();
}

#[test]
fn datastore_files() {
    let server = Server::start(&[]);
    run_script(&server, "datastore.py", &[]);
    server.stop();
}

#[test]
fn esx_flavour() {
    let server = Server::start(&["--esx"]);
    run_script(&server, "login.py", &["--esx"]);
    run_script(&server, "esx.py", &[]);
    server.stop();
}

/// Several pyvmomi clients at once against one server: no deadlock, no cross-talk.
#[test]
fn concurrent_clients() {
    let server = Server::start(&["--speed", "60"]);
    thread::scope(|scope| {
        let scripts = [
            "updates.py",
            "vm_lifecycle.py",
            "resource_pool.py",
            "datastore.py",
            "login.py",
        ];
        let handles: Vec<_> = scripts
            .iter()
            .map(|s| scope.spawn(|| run_script(&server, s, &[])))
            .collect();
        for (script, handle) in scripts.iter().zip(handles) {
            if let Err(panic) = handle.join() {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                panic!("{script} failed while running concurrently:\n{msg}");
            }
        }
    });
    server.stop();
}

#[test]
fn host_state_and_cluster_ha_drs() {
    let server = Server::start(DEFAULT_MODEL);
    run_script(&server, "hosts.py", &[]);
    server.stop();
}

#[test]
fn drs_balances_and_places() {
    let server = Server::start(&["--speed", "600"]);
    run_script(&server, "drs.py", &[]);
    server.stop();
}

#[test]
fn ha_restarts_the_vms_of_a_failed_host() {
    let server = Server::start(&["--speed", "600", "--fail-host", "DC0_C0_H1@30m"]);
    run_script(&server, "ha.py", &[]);
    server.stop();
}

#[test]
fn first_class_disks() {
    let server = Server::start(&[]);
    run_script(&server, "fcd.py", &[]);
    server.stop();
}

#[test]
fn snapshots_and_clones() {
    let server = Server::start(&[]);
    run_script(&server, "snapshots_clone.py", &[]);
    server.stop();
}

#[test]
fn storage_policies_through_pbm() {
    let server = Server::start(&[]);
    run_script(&server, "pbm.py", &[]);
    server.stop();
}

/// `vicbed vcsim` (vcsim's command line and model) answers pyvmomi over TLS, as the scripts
/// written for govmomi's vcsim expect: a login with any credentials and the default walk.
#[test]
fn pyvmomi_against_vicbed_vcsim() {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vicbed"));
    cmd.args(["vcsim", "-l", "127.0.0.1:0"]);
    let server = Server::spawn(cmd);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    run_script(&server, "login.py", &["--any-login"]);
    run_script(&server, "pbm.py", &[]);
    run_script(&server, "vcsim_window.py", &[]);
    server.stop();
}
