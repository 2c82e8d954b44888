//! `vic::machine`: flag syntax (exit 2), `ProcessParams` order and messages (vic.md §1.1,
//! §1.2, §1.4, §9), and `create`/`ls`-level behaviour against the in-process emulator with the
//! appliance agent.

use clap::Parser;
use vic::machine::{Cli, CreateOpts, MachineCommand, create_captured};

/// Parses `vic-machine create ARGS…`.
fn create_opts(args: &[&str]) -> CreateOpts {
    let mut argv = vec!["vic-machine", "create"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv)
        .expect("flags parse")
        .machine
        .command
    {
        MachineCommand::Create(o) => *o,
        other => panic!("not create: {other:?}"),
    }
}

/// Runs create with `args` (plus a cert path in a fresh temp dir) and returns the failure
/// message and the logged lines. The target is a closed port: any attempt to connect would
/// fail with a connection error, so a `ProcessParams` message proves no connection was made.
fn fails_offline(args: &[&str]) -> (String, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let mut all: Vec<&str> = args.to_vec();
    let cp = certs.to_str().unwrap().to_owned();
    all.extend(["--tls-cert-path", &cp]);
    let o = create_opts(&all);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (lines, r) = rt.block_on(create_captured(&o, &mut |_| None));
    (r.expect_err("create must fail").message, lines)
}

const T: &str = "--target=http://user:pass@127.0.0.1:1";

#[test]
fn usage_errors_are_clap_errors_with_exit_2() {
    for args in [
        &["--memory", "abc"][..],
        &["--cpu", "1.5"],
        &["--cpu-shares", "lots"],
        &["--memory-shares", "-3"],
        &["--timeout", "3"],
        &["--endpoint-cpu", "0"],
        &["--no-such-flag"],
    ] {
        let mut argv = vec!["vic-machine", "create"];
        argv.extend_from_slice(args);
        let err = Cli::try_parse_from(argv).expect_err("a usage error");
        // VIC exits 0 here (urfave/cli quirk); the testbed uses the usage-error code.
        assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
    }
}

#[test]
fn defaults_and_aliases() {
    let o = create_opts(&[T]);
    assert_eq!(o.name, "virtual-container-host");
    assert_eq!(o.public_network, "VM Network");
    assert_eq!(o.target.timeout, std::time::Duration::from_secs(180));
    assert_eq!((o.endpoint_cpu, o.endpoint_memory), (1, 2048));
    assert_eq!(o.bridge_network_range, "172.16.0.0/12");
    assert_eq!(o.bridge_network_width, "16");
    assert!(o.cpu.is_none() && o.memory.is_none());
    let o = create_opts(&[
        T,
        "--pn",
        "pub",
        "--cn",
        "a:b",
        "--cnf",
        "a:open",
        "--kv",
        "--mem",
        "512",
        "--cpus",
        "high",
        "-n",
        "x",
        "-r",
        "DC0_C0",
        "--ca",
        "/tmp/ca.pem",
        "-k",
        "-f",
        "--timeout",
        "1m30s",
    ]);
    assert_eq!(o.public_network, "pub");
    assert_eq!(o.container_network, ["a:b"]);
    assert_eq!(o.container_network_firewall, ["a:open"]);
    assert!(o.no_tlsverify && o.no_tls && o.force);
    assert_eq!(o.memory, Some(512));
    assert_eq!(o.cpu_shares, Some(vic::machine::opts::Shares::High));
    assert_eq!(o.name, "x");
    assert_eq!(o.compute_resource.as_deref(), Some("DC0_C0"));
    assert_eq!(o.target.timeout, std::time::Duration::from_secs(90));
}

#[test]
fn target_is_checked_first() {
    // A bad name too, but the credentials check comes first.
    let (msg, _) = fails_offline(&["--name", "bad/name"]);
    assert_eq!(msg, "--target argument must be specified");
    let (msg, _) = fails_offline(&["--target", "127.0.0.1:1"]);
    assert_eq!(
        msg,
        "vSphere user must be specified, either with --user or as part of --target"
    );
}

#[test]
fn name_characters_then_length() {
    let (msg, _) = fails_offline(&[T, "--name", "bad/name"]);
    assert_eq!(
        msg,
        "--name contains unsupported characters: unsupported character \"/\" in \"bad/name\" Allowed characters are alphanumeric, space and symbols - _ ( )"
    );
    let long = "a".repeat(32);
    let (msg, _) = fails_offline(&[T, "--name", &long]);
    assert_eq!(
        msg,
        format!(
            "Display name {long} exceeds the permitted 31 characters limit. Please use a shorter -name parameter"
        )
    );
    // Both wrong: characters are reported.
    let long_bad = format!("{long}|");
    let (msg, _) = fails_offline(&[T, "--name", &long_bad]);
    assert!(
        msg.starts_with("--name contains unsupported characters: unsupported character \"|\""),
        "{msg}"
    );
}

#[test]
fn ops_password_needs_ops_user() {
    let (msg, _) = fails_offline(&[T, "--ops-password", "x", "--cn", "a b"]);
    assert_eq!(
        msg,
        "Password for operations user specified without operations username"
    );
}

#[test]
fn container_network_syntax() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["--cn", "net:my alias"],
            "The network alias supplied in \"net:my alias\" cannot contain spaces.",
        ),
        (
            &["--cn", "VM Network"],
            "A network alias must be supplied when network name \"VM Network\" contains spaces.",
        ),
        (&["--cn", "a:b:c"], "Invalid value for parameter a:b:c"),
        (
            &["--cn", "net", "--cnf", "net:foo"],
            "Unrecognized container trust level foo.",
        ),
        (
            &["--cn", "net", "--cng", "net:10.0.0.1"],
            "Error parsing container network parameter net:10.0.0.1: invalid CIDR address: 10.0.0.1",
        ),
        (
            &["--cn", "net", "--cnr", "net:10.0.0.1-foo"],
            "Error parsing container network parameter net:10.0.0.1-foo: parse error: 10.0.0.1-foo",
        ),
        (
            &["--cn", "net", "--cnd", "net"],
            "DNS IP not specified for container network net",
        ),
        (
            &["--cn", "net:alias", "--cng", "alias:10.0.0.1/24"],
            "Inconsistent container network configuration.",
        ),
        (
            &["--cn", "net", "--cnf", "other:open"],
            "Inconsistent container network configuration.",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec![T];
        all.extend_from_slice(args);
        let (msg, lines) = fails_offline(&all);
        assert_eq!(msg, want, "{args:?}");
        if want.starts_with("Inconsistent") {
            assert!(
                lines.iter().any(|l| l.contains(
                    "is set, but CONTAINER-NETWORK cannot be found. Please check the --container-network and"
                )),
                "{lines:?}"
            );
        }
    }
    // Trust levels are case-insensitive: this one gets past the container-network step and
    // fails later, on the bridge range.
    let (msg, _) = fails_offline(&[T, "--cn", "net", "--cnf", "net:OPEN", "--bnr", "x"]);
    assert!(
        msg.starts_with("Error parsing bridge network ip range"),
        "{msg}"
    );
}

#[test]
fn bridge_range_and_width() {
    let (msg, _) = fails_offline(&[T, "--bridge-network-range", "10.0.0.0"]);
    assert_eq!(
        msg,
        "Error parsing bridge network ip range: invalid CIDR address: 10.0.0.0. Range must be in CIDR format, e.g., 172.16.0.0/12"
    );
    let (msg, _) = fails_offline(&[T, "--bnw", "4"]);
    assert_eq!(
        msg,
        "Error specifying bridge network width: 4. Width must be larger than prefix of bridge network ip range."
    );
    let (msg, _) = fails_offline(&[T, "--bnw", "31"]);
    assert!(
        msg.starts_with("Error parsing bridge network width:")
            && msg.ends_with("Width must be an integer less than 31."),
        "{msg}"
    );
}

#[test]
fn addresses_and_dns() {
    let (msg, _) = fails_offline(&[T, "--client-network-ip", "10.0.0.5"]);
    assert_eq!(
        msg,
        "Failed to parse the provided client network IP address 10.0.0.5: invalid CIDR address: 10.0.0.5"
    );
    let (msg, _) = fails_offline(&[T, "--dns-server", "foo"]);
    assert_eq!(msg, "Invalid DNS server specified: foo");
}

#[test]
fn tlsverify_without_a_cname_fails_before_connecting() {
    let (msg, lines) = fails_offline(&[T]);
    assert_eq!(msg, "provide Common Name for server certificate");
    assert!(
        lines.iter().any(|l| l.contains(
            "Common Name must be provided when generating certificates for client authentication"
        )),
        "{lines:?}"
    );
    // A server key without its certificate.
    let (msg, _) = fails_offline(&[T, "--tls-server-key", "/nonexistent/key.pem"]);
    assert_eq!(msg, "key and cert should be specified at the same time");
}

#[test]
fn image_store_characters_come_after_certificates() {
    let (msg, _) = fails_offline(&[T, "--no-tls", "--image-store", "ds1/a*b"]);
    assert_eq!(
        msg,
        "--image-store contains unsupported characters: unsupported character \"*\" in \"ds1/a*b\" Allowed characters are alphanumeric, space and symbols - _ ( ) / :"
    );
}

#[test]
fn extra_arguments_and_deep_targets() {
    let (msg, lines) = fails_offline(&[T, "--no-tls", "surplus"]);
    assert_eq!(msg, "invalid CLI arguments");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("Unknown argument: surplus")),
        "{lines:?}"
    );
    let (msg, _) = fails_offline(&[
        "--target=http://user:pass@127.0.0.1:1/DC0/host/cluster",
        "--no-tls",
    ]);
    assert_eq!(
        msg,
        "--target should only specify datacenter in the path (e.g. https://addr/datacenter) - specify cluster, resource pool, or folder with --compute-resource"
    );
}
