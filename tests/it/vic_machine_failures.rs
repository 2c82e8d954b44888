//! `vicbed vic-machine` failing: targets that refuse or never answer (one `--timeout`
//! deadline for the whole command), flag combinations that contradict each other (refused
//! before anything is written), and a create cut short by `--timeout 0s` (nothing left in
//! vSphere or in the working directory).

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::support::Server;
use crate::vic_machine::{soap, target, text, vic_machine};

/// Generous bound on one vic-machine run: the command's own deadline must end it long before.
const RUN_LIMIT: Duration = Duration::from_secs(150);

/// The entries of `dir` (a test's working directory), sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the working directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts exit code 1 with VIC's failure line ending in `message` (a prefix of the error).
fn assert_failed(out: &Output, cmd: &str, message: &str) {
    let all = text(out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let want = format!("--------------------\nvic-machine-linux {cmd} failed: {message}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&want),
        "want {want:?}\n{all}"
    );
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn refused_and_silent_targets_fail_within_the_timeout() {
    let cwd = tempfile::tempdir().expect("tempdir");
    // Refused: fails at once with the connection error, and writes no certificates.
    let port = closed_port();
    let refused = format!("http://user:pass@127.0.0.1:{port}");
    let out = vic_machine(
        cwd.path(),
        &[
            "create",
            "--target",
            &refused,
            "--tls-cname",
            "127.0.0.1",
            "--timeout",
            "10s",
        ],
        RUN_LIMIT,
    );
    assert_failed(&out, "create", &format!("connecting to 127.0.0.1:{port}: "));
    // A listener that accepts (the kernel completes the handshake) and never answers: the
    // deadline ends the SOAP call. The socket is only kept open, never read.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_target = format!("http://user:pass@{}", silent.local_addr().expect("addr"));
    let out = vic_machine(
        cwd.path(),
        &[
            "create",
            "--target",
            &silent_target,
            "--tls-cname",
            "127.0.0.1",
            "--timeout",
            "2s",
        ],
        RUN_LIMIT,
    );
    assert_failed(
        &out,
        "create",
        "Creating VCH exceeded time limit of 2s. Please increase the timeout using --timeout to accommodate for a busy vSphere target",
    );
    for (cmd, what) in [("ls", "List"), ("inspect", "Inspect"), ("delete", "Delete")] {
        let out = vic_machine(
            cwd.path(),
            &[cmd, "--target", &silent_target, "--timeout", "2s"],
            RUN_LIMIT,
        );
        assert_failed(
            &out,
            cmd,
            &format!("{what} timed out: use --timeout to add more time"),
        );
    }
    drop(silent);
    // The default cert path ./virtual-container-host was never written.
    assert_eq!(entries(cwd.path()), Vec::<String>::new());
}

#[test]
fn conflicting_flags_are_refused_before_anything_is_written() {
    let cwd = tempfile::tempdir().expect("tempdir");
    // Any connection attempt would fail with "connecting to …", not the messages below.
    let t = format!("http://user:pass@127.0.0.1:{}", closed_port());
    let create_cases: [(&[&str], &str); 12] = [
        (
            &["--no-tls", "--no-tlsverify"],
            "--no-tlsverify cannot be used with --no-tls: ",
        ),
        (
            &[
                "--no-tls",
                "--tls-server-cert",
                "missing-cert.pem",
                "--tls-server-key",
                "missing-key.pem",
            ],
            "--tls-server-cert cannot be used with --no-tls: ",
        ),
        (
            &["--no-tls", "--tls-cname", "127.0.0.1"],
            "--tls-cname cannot be used with --no-tls: ",
        ),
        (
            &["--no-tls", "--tls-ca", "missing-ca.pem"],
            "--tls-ca cannot be used with --no-tls: ",
        ),
        (
            &["--no-tls", "--organization", "acme"],
            "--organization cannot be used with --no-tls: ",
        ),
        (
            &["--no-tls", "--certificate-key-size", "4096"],
            "--certificate-key-size cannot be used with --no-tls: ",
        ),
        (
            &["--no-tlsverify", "--tls-ca", "missing-ca.pem"],
            "--tls-ca cannot be used with --no-tlsverify: ",
        ),
        (
            &["--name", "", "--tls-cname", "127.0.0.1"],
            "--name must not be empty",
        ),
        (
            &["--name", ".", "--tls-cname", "127.0.0.1"],
            "--name \".\" is not allowed",
        ),
        (
            &["--name", "..", "--no-tlsverify", "--tls-cname", "127.0.0.1"],
            "--name \"..\" is not allowed",
        ),
        // A later ProcessParams error after certificates were generated (VIC has written
        // them by then).
        (
            &["--tls-cname", "127.0.0.1", "--image-store", "ds*"],
            "--image-store contains unsupported characters",
        ),
        (
            &[
                "--tls-server-cert",
                "missing-cert.pem",
                "--tls-server-key",
                "missing-key.pem",
            ],
            "Failed to read server certificate missing-cert.pem: ",
        ),
    ];
    for (flags, message) in create_cases {
        let mut args = vec!["create", "--target", &t];
        args.extend_from_slice(flags);
        let out = vic_machine(cwd.path(), &args, RUN_LIMIT);
        assert_failed(&out, "create", message);
        assert_eq!(entries(cwd.path()), Vec::<String>::new(), "{flags:?}");
    }
    let out = vic_machine(
        cwd.path(),
        &["inspect", "--target", &t, "--tls-cert-path", "no-such-dir"],
        RUN_LIMIT,
    );
    assert_failed(
        &out,
        "inspect",
        "--tls-cert-path \"no-such-dir\" is not a directory",
    );
    // --id picks the VCH; a --name or --compute-resource with it may name another one.
    for cmd in ["inspect", "delete"] {
        for extra in [["--name", "vch1"], ["--compute-resource", "DC0_C0"]] {
            let mut args = vec![cmd, "--target", &t, "--id", "vm-42"];
            args.extend_from_slice(&extra);
            let out = vic_machine(cwd.path(), &args, RUN_LIMIT);
            assert_eq!(out.status.code(), Some(2), "{}", text(&out));
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
                "{}",
                text(&out)
            );
        }
    }
    assert_eq!(entries(cwd.path()), Vec::<String>::new());
}

#[test]
fn zero_timeout_leaves_nothing_in_vsphere_or_the_working_directory() {
    let server = Server::start(&[]);
    let cwd = tempfile::tempdir().expect("tempdir");
    let t = target(&server);
    let out = vic_machine(
        cwd.path(),
        &[
            "create",
            "--target",
            &t,
            "--name",
            "vchz",
            "--compute-resource",
            "DC0_C0",
            "--bridge-network",
            "DC0_DVPG0",
            "--client-network-ip",
            "127.0.1.236/8",
            "--timeout",
            "0s",
        ],
        RUN_LIMIT,
    );
    assert_failed(
        &out,
        "create",
        "Creating VCH exceeded time limit of 0s. Please increase the timeout using --timeout to accommodate for a busy vSphere target",
    );
    let left = soap(&server, async |c| {
        let mut f = c.finder();
        f.use_datacenter(None).await.expect("DC0");
        (
            f.resource_pool(Some("DC0_C0/Resources/vchz")).await.is_ok(),
            f.virtual_machine("vchz").await.is_ok(),
            f.find(vic::vsphere::Kind::Folder, "vm/vchz").await.is_ok(),
        )
    });
    assert_eq!(left, (false, false, false), "{}", text(&out));
    assert_eq!(entries(cwd.path()), Vec::<String>::new(), "{}", text(&out));
    server.stop();
}
