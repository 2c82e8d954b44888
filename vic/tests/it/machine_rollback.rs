//! `vic-machine create` failing after its first change: every failure — the `--timeout`
//! deadline in any phase, an appliance that cannot listen, a vSphere fault after the pool —
//! leaves no pool, folder, appliance VM or certificate directory of its own behind; and a
//! client address another VCH holds is refused before anything is made.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use vcsim::vmodl::{MoRef, Value};
use vic::appliance::{ApplianceAgent, engine_launcher};
use vic::machine::run_captured;
use vic::vsphere::{Client, ConnectOptions, Kind};

use crate::sim::{self, Sim};

async fn client(sim: &Sim) -> Client {
    let url = sim.url.replace("user:pass@", "");
    let c = Client::connect(
        &url,
        ConnectOptions {
            timeout: Duration::from_secs(20),
            ..ConnectOptions::default()
        },
    )
    .await
    .expect("connect");
    c.login("user", "pass").await.expect("login");
    c
}

/// What of the VCH `name` exists in the inventory: its pool, VM and folder.
async fn leftovers(sim: &Sim, name: &str) -> Vec<String> {
    let c = client(sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.expect("DC0");
    let mut left = Vec::new();
    if let Ok(p) = f
        .resource_pool(Some(&format!("DC0_C0/Resources/{name}")))
        .await
    {
        left.push(format!("pool {}", p.moref));
    }
    if let Ok(vm) = f.virtual_machine(name).await {
        left.push(format!("vm {}", vm.moref));
    }
    if let Ok(folders) = f.find(Kind::Folder, &format!("vm/{name}")).await {
        left.extend(folders.iter().map(|e| format!("folder {}", e.moref)));
    }
    left
}

/// `create` with a generated (tlsverify) cert path under `dir`, the test's own flags after.
async fn create(sim: &Sim, name: &str, certs: &Path, extra: &[&str]) -> (String, Vec<String>) {
    let target = format!("--target={}", sim.url);
    let mut args = vec![
        "create",
        &target,
        "--name",
        name,
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--tls-cert-path",
        certs.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let (lines, r) = run_captured(&args).await;
    let msg = r
        .err()
        .unwrap_or_else(|| panic!("create {name} must fail:\n{}", lines.join("\n")))
        .message;
    (msg, lines)
}

const TIME_LIMIT: &str =
    "Please increase the timeout using --timeout to accommodate for a busy vSphere target";

/// No appliance agent: the VM powers on and never reports an address, so the deadline
/// passes in the readiness wait, after the pool, folder, VM and certificates exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_timeout_rolls_back_everything() {
    let sim = sim::start(Vec::new()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let certs = tmp.path().join("vchT");
    let (msg, lines) = create(
        &sim,
        "vchT",
        &certs,
        &["--client-network-ip", "127.0.1.231/8", "--timeout", "4s"],
    )
    .await;
    let all = lines.join("\n");
    assert_eq!(
        msg,
        format!("Creating VCH exceeded time limit of 4s. {TIME_LIMIT}"),
        "{all}"
    );
    assert_eq!(leftovers(&sim, "vchT").await, Vec::<String>::new(), "{all}");
    assert!(
        !certs.exists(),
        "certificates left in {}\n{all}",
        certs.display()
    );
}

/// `--timeout 0s` expires before the first SOAP answer: nothing is made, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_timeout_fails_with_the_time_limit_and_leaves_nothing() {
    let sim = sim::start(vec![Arc::new(ApplianceAgent::new(engine_launcher()))]).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let certs = tmp.path().join("vch0");
    let (msg, lines) = create(
        &sim,
        "vch0",
        &certs,
        &["--client-network-ip", "127.0.1.232/8", "--timeout", "0s"],
    )
    .await;
    let all = lines.join("\n");
    assert_eq!(
        msg,
        format!("Creating VCH exceeded time limit of 0s. {TIME_LIMIT}"),
        "{all}"
    );
    assert_eq!(leftovers(&sim, "vch0").await, Vec::<String>::new(), "{all}");
    assert!(!certs.exists(), "{all}");
    assert!(!tmp.path().join("vch0").exists());
}

/// Another listener holds the static client address: the appliance powers on but its
/// endpoint cannot listen. Everything create made goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_client_address_rolls_back_everything() {
    let sim = sim::start(vec![Arc::new(ApplianceAgent::new(engine_launcher()))]).await;
    // The blocker must sit on the VCH's own address and port, as the real conflict does.
    let taken = TcpListener::bind("127.0.1.233:2376").await.expect("bind");
    let tmp = tempfile::tempdir().expect("tempdir");
    let certs = tmp.path().join("vchB");
    let (msg, lines) = create(
        &sim,
        "vchB",
        &certs,
        &["--client-network-ip", "127.0.1.233/8", "--timeout", "60s"],
    )
    .await;
    drop(taken);
    let all = lines.join("\n");
    assert!(
        msg.starts_with("Failed to start docker-personality: listen tcp 127.0.1.233:2376"),
        "{msg}\n{all}"
    );
    assert!(
        all.contains("Deploying VCH failed") && all.contains("Cleaning up appliance"),
        "{all}"
    );
    assert_eq!(leftovers(&sim, "vchB").await, Vec::<String>::new(), "{all}");
    assert!(!certs.exists(), "{all}");
}

/// A folder of the VCH's name already exists: `CreateFolder` fails after the pool is made.
/// The pool and the certificates go; the folder that was there before stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_after_the_pool_removes_the_pool_and_certificates_only() {
    let sim = sim::start(vec![Arc::new(ApplianceAgent::new(engine_launcher()))]).await;
    let c = client(&sim).await;
    let mut f = c.finder();
    let dc = f.use_datacenter(None).await.expect("DC0");
    let theirs: MoRef = c
        .call(
            "CreateFolder",
            &dc.vm_folder,
            &[("name", Value::str("vchF"))],
        )
        .await
        .expect("CreateFolder")
        .and_then(|v| v.as_moref().cloned())
        .expect("a folder");
    let tmp = tempfile::tempdir().expect("tempdir");
    let certs = tmp.path().join("vchF");
    let (msg, lines) = create(
        &sim,
        "vchF",
        &certs,
        &["--client-network-ip", "127.0.1.234/8"],
    )
    .await;
    let all = lines.join("\n");
    assert_eq!(
        msg, "The specified VCH name (vchF) is already in use",
        "{all}"
    );
    assert!(all.contains("Cleaning up the resource pool"), "{all}");
    assert_eq!(
        leftovers(&sim, "vchF").await,
        [format!("folder {theirs}")],
        "{all}"
    );
    assert!(!certs.exists(), "{all}");
}

/// A second VCH on the first one's client address is a validation issue: nothing is made,
/// and the first VCH keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_vch_holding_the_address_is_refused_before_any_change() {
    let sim = sim::start(vec![Arc::new(ApplianceAgent::new(engine_launcher()))]).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = format!("--target={}", sim.url);
    let first = tmp.path().join("vchA");
    let (lines, r) = run_captured(&[
        "create",
        &target,
        "--name",
        "vchA",
        "-r",
        "DC0_C0",
        "-b",
        "DC0_DVPG0",
        "--no-tlsverify",
        "--client-network-ip",
        "127.0.1.235/8",
        "--tls-cert-path",
        first.to_str().expect("utf-8"),
        "--timeout",
        "60s",
    ])
    .await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    let certs = tmp.path().join("vchC");
    let (msg, lines) = create(
        &sim,
        "vchC",
        &certs,
        &["--client-network-ip", "127.0.1.235/8", "--timeout", "60s"],
    )
    .await;
    let all = lines.join("\n");
    assert_eq!(msg, "validation of configuration failed", "{all}");
    assert!(
        all.contains("--client-network-ip 127.0.1.235 is already in use by VCH \"vchA\""),
        "{all}"
    );
    assert_eq!(leftovers(&sim, "vchC").await, Vec::<String>::new(), "{all}");
    assert!(!certs.exists(), "{all}");
    // The first VCH is untouched.
    let c = client(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.expect("DC0");
    let vm = f.virtual_machine("vchA").await.expect("vchA").moref;
    let power = c
        .get_property(&vm, "runtime.powerState")
        .await
        .expect("powerState");
    assert_eq!(power.as_ref().and_then(Value::as_str), Some("poweredOn"));
    let (lines, r) = run_captured(&["delete", &target, "--name", "vchA"]).await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
}
