//! `vic-machine create --registry-ca/--insecure-registry/--whitelist-registry` end to end,
//! in process: the flags land in the appliance's guestinfo under VIC's keys (the whitelist
//! merged with the insecure registries), `inspect config` prints them, and the endpoint's
//! `/info` reports whitelist mode and the insecure registry as VIC words them. Bad CA files
//! and entries fail create with VIC's messages and exit code 1.

use crate::engine::http_raw;
use crate::sim::{self, client, has};
use clap::Parser as _;
use std::net::SocketAddr;
use std::sync::Arc;
use vcsim::vmodl::Value;
use vic::appliance::{ApplianceAgent, engine_launcher};
use vic::guestinfo::vch;
use vic::machine::run_captured;
use vic::machine::vchconfig::decode_pem_value;
use vic::vsphere::option_value;

/// A self-signed CA certificate (PEM) for a registry.
fn registry_ca_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    rcgen::CertificateParams::new(vec!["registry.corp.local".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_flags_travel_from_create_to_docker_info() {
    let sim = sim::start(vec![Arc::new(ApplianceAgent::new(engine_launcher()))]).await;
    let tmp = tempfile::tempdir().unwrap();
    let ca_pem = registry_ca_pem();
    let ca = tmp.path().join("reg-ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();
    let ip = sim::free_client_ip();
    sim::plain_vch(
        &sim,
        "vchR",
        ip,
        &[
            "--registry-ca",
            ca.to_str().unwrap(),
            "--insecure-registry",
            "reg.corp.local:5000",
            "--wr",
            "*.corp.local",
            "--whitelist-registry",
            "10.2.2.1/24",
        ],
    )
    .await;

    // VIC's keys: the CA bundle, the insecure list as given, the whitelist merged.
    let c = client(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.unwrap();
    let vm = f.virtual_machine("vchR").await.unwrap().moref;
    let ec = c
        .get_property(&vm, "config.extraConfig")
        .await
        .unwrap()
        .unwrap();
    let text = |k: &str| {
        option_value(&ec, k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(
        text(vch::REGISTRY_CERTIFICATE_AUTHORITIES)
            .as_deref()
            .and_then(decode_pem_value),
        Some(ca_pem)
    );
    assert_eq!(
        text(vch::INSECURE_REGISTRIES).as_deref(),
        Some("reg.corp.local:5000")
    );
    assert_eq!(
        text(vch::WHITELIST_REGISTRIES).as_deref(),
        Some("*.corp.local|10.2.2.0/24|reg.corp.local:5000")
    );

    // inspect config prints the stored lists.
    let target = format!("--target={}", sim.url);
    let (lines, r) = run_captured(&["inspect", "config", &target, "--name", "vchR"]).await;
    assert!(r.is_ok(), "{r:?}\n{}", lines.join("\n"));
    for want in [
        "\t--insecure-registry=reg.corp.local:5000",
        "\t--whitelist-registry=*.corp.local",
        "\t--whitelist-registry=10.2.2.0/24",
        "\t--whitelist-registry=reg.corp.local:5000",
    ] {
        assert!(has(&lines, want), "{want}: {lines:?}");
    }

    // docker info over the VCH endpoint.
    let addr = SocketAddr::new(ip, 2375);
    let (status, _, raw) = http_raw(addr, "GET", "/info", &addr.to_string(), None).await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let pairs = info["SystemStatus"].as_array().unwrap();
    let at = |label: &str| {
        pairs
            .iter()
            .position(|p| p[0] == label)
            .unwrap_or_else(|| panic!("no {label:?}: {info}"))
    };
    let os_version = at(" VMware OS version");
    let (insecure, mode, list) = (
        at(" Insecure Registries"),
        at(" Registry Whitelist Mode"),
        at(" Whitelisted Registries"),
    );
    assert_eq!(
        (insecure, mode, list),
        (os_version + 1, os_version + 2, os_version + 3),
        "{info}"
    );
    assert_eq!(pairs[insecure][1], "reg.corp.local:5000");
    assert_eq!(pairs[mode][1], "enabled");
    assert_eq!(
        pairs[list][1],
        "*.corp.local,10.2.2.0/24,reg.corp.local:5000"
    );

    sim::delete_vch(&sim, "vchR").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_registry_cas_and_entries_fail_validation_with_vics_messages() {
    let sim = sim::start(Vec::new()).await;
    let tmp = tempfile::tempdir().unwrap();
    let not_pem = tmp.path().join("not-pem.crt");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let target = format!("--target={}", sim.url);
    let certs = tmp.path().join("vchB");
    let base = [
        "create",
        &target,
        "--name",
        "vchB",
        "--compute-resource",
        "DC0_C0",
        "--bridge-network",
        "DC0_DVPG0",
        "--no-tls",
        "--tls-cert-path",
        certs.to_str().unwrap(),
    ];
    for (extra, issue) in [
        (
            vec!["--registry-ca", not_pem.to_str().unwrap()],
            "Unable to load certificate authority data for registry",
        ),
        (
            vec!["--whitelist-registry", "not a host"],
            "could not parse entry not a host",
        ),
        (
            vec!["--insecure-registry", "10.0.0.1/8"],
            "invalid insecure registry entry: 10.0.0.0/8",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        let (lines, r) = run_captured(&args).await;
        assert_eq!(
            r.unwrap_err().message,
            "validation of configuration failed",
            "{lines:?}"
        );
        assert!(has(&lines, issue), "{issue}: {lines:?}");
    }
    let c = client(&sim).await;
    let mut f = c.finder();
    f.use_datacenter(None).await.unwrap();
    assert!(f.virtual_machine("vchB").await.is_err(), "no appliance");
}

#[test]
fn an_unreadable_registry_ca_fails_before_connecting_with_exit_code_1() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing-ca.pem");
    let certs = tmp.path().join("certs");
    // A closed port: a connection attempt would fail differently.
    let args = [
        "vic-machine",
        "create",
        "--target=http://user:pass@127.0.0.1:1",
        "--no-tls",
        "--tls-cert-path",
        certs.to_str().unwrap(),
        "--rc",
        missing.to_str().unwrap(),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (lines, r) = rt.block_on(run_captured(&args[1..]));
    let message = r.unwrap_err().message;
    let want = format!(
        "Unable to load CA certificates for registry logins: Failed to load authority from file {}: ",
        missing.display()
    );
    assert!(message.starts_with(&want), "{message}\n{lines:?}");
    drop(rt);
    let cli = vic::machine::Cli::try_parse_from(args).unwrap();
    assert_eq!(vic::machine::run(cli.machine), 1);
}
