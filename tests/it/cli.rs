//! `vicbed serve` as a process: the export lines, clean shutdown, and command-line errors.

use crate::support::{SHUTDOWN_TIMEOUT, Server, connect, repo_root, roundtrip};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn prints_govc_exports() {
    let server = Server::start(&[]);
    let url = &server.url;
    assert!(
        url.starts_with("http://user:pass@127.0.0.1:") && url.ends_with("/sdk"),
        "GOVC_URL={url}"
    );
    assert_ne!(
        server.addr.port(),
        0,
        "port 0 must be replaced by the bound port"
    );
    let want = [
        ("GOVC_INSECURE", "1"),
        ("GOVC_DATACENTER", "DC0"),
        ("GOVC_DATASTORE", "LocalDS_0"),
        ("GOVC_RESOURCE_POOL", "/DC0/host/DC0_C0/Resources"),
        ("GOVC_NETWORK", "/DC0/network/DC0_DVPG0"),
    ];
    for (name, value) in want {
        assert_eq!(
            server.exports.get(name).map(String::as_str),
            Some(value),
            "export {name}; all exports: {:?}",
            server.exports
        );
    }
    assert_eq!(
        server.exports.get("GOVC_SIM_PID").map(String::as_str),
        Some(server.pid().to_string().as_str()),
        "GOVC_SIM_PID must be the server's pid"
    );
    // The URL really serves.
    let res = roundtrip(
        server.addr,
        format!(
            "GET /sdk/vimServiceVersions.xml HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    server.stop();
}

#[test]
fn tls_exports_https() {
    let server = Server::start(&["--tls"]);
    assert!(
        server.url.starts_with("https://user:pass@127.0.0.1:"),
        "GOVC_URL={}",
        server.url
    );
    assert_eq!(
        server.exports.get("GOVC_INSECURE").map(String::as_str),
        Some("1")
    );
    server.stop();
}

#[test]
fn sigterm_exits_cleanly() {
    let server = Server::start(&[]);
    let took = server.stop_with("TERM");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
}

#[test]
fn sigint_exits_cleanly() {
    let server = Server::start(&[]);
    let took = server.stop_with("INT");
    assert!(took < Duration::from_secs(5), "SIGINT took {took:?}");
}

/// Idle keep-alive and half-sent requests must not hold the shutdown up.
#[test]
fn shutdown_with_open_connections() {
    let server = Server::start(&["--speed", "100"]);
    let idle = connect(server.addr);
    let mut partial = connect(server.addr);
    partial
        .write_all(b"POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<soapenv:Env")
        .expect("partial write");
    let mut keepalive = connect(server.addr);
    keepalive
        .write_all(
            format!(
                "GET /sdk/vimServiceVersions.xml HTTP/1.1\r\nHost: {}\r\n\r\n",
                server.addr
            )
            .as_bytes(),
        )
        .expect("keep-alive request");
    let res = crate::support::read_response(&mut keepalive).expect("keep-alive response");
    assert_eq!(res.status, 200);
    std::thread::sleep(Duration::from_millis(200));
    let took = server.stop();
    assert!(took <= SHUTDOWN_TIMEOUT, "shutdown took {took:?}");
    drop((idle, partial, keepalive));
}

fn run_vicbed(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vicbed"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vicbed");
    // Bounded: a command-line error must end the process at once.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vicbed {args:?} kept running; it should have failed at once");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn assert_clean_error(args: &[&str], codes: &[i32], needle: &str) {
    let (code, text) = run_vicbed(args);
    assert!(
        codes.contains(&code),
        "vicbed {args:?} exited {code}, want one of {codes:?}:\n{text}"
    );
    assert!(
        !text.contains("panicked"),
        "vicbed {args:?} panicked:\n{text}"
    );
    assert!(
        !text.contains("export GOVC_URL"),
        "vicbed {args:?} claimed to be ready:\n{text}"
    );
    assert!(
        text.to_lowercase().contains(&needle.to_lowercase()),
        "vicbed {args:?}: the message should mention {needle:?}:\n{text}"
    );
}

#[test]
fn command_line_errors() {
    assert_clean_error(&["serve", "--listen", "not-an-address"], &[2], "listen");
    assert_clean_error(&["serve", "--no-such-flag"], &[2], "no-such-flag");
    assert_clean_error(&["serve", "--vm", "many"], &[2], "vm");
    assert_clean_error(
        &["serve", "--listen", "127.0.0.1:0", "--speed", "0"],
        &[1, 2],
        "speed",
    );
    assert_clean_error(
        &["serve", "--listen", "127.0.0.1:0", "--speed=-3"],
        &[1, 2],
        "speed",
    );
    assert_clean_error(&["no-such-command"], &[2], "no-such-command");
    assert_clean_error(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--clock-start",
            "yesterday",
        ],
        &[1],
        "--clock-start",
    );
    for (flag, value, needle) in [
        ("--fail-host", "NO_SUCH_HOST@10m", "no host named"),
        ("--fail-host", "DC0_C0_H1", "HOST@TIME"),
        ("--recover-host", "DC0_C0_H1@soon", "--recover-host"),
    ] {
        assert_clean_error(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--history-days",
                "0",
                flag,
                value,
            ],
            &[1],
            needle,
        );
    }
}

#[test]
fn inventory_file_errors() {
    assert_clean_error(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--inventory",
            "/nonexistent/inventory.toml",
        ],
        &[1, 2],
        "/nonexistent/inventory.toml",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("not-toml.toml", "this is [not toml", "inventory"),
        (
            "unknown-key.toml",
            "datacenter = \"DC0\"\nbogus = 1\n",
            "bogus",
        ),
        (
            "bad-parent.toml",
            "[[cluster]]\nname = \"C\"\nhosts = [{ name = \"h\" }]\n\
             pools = [{ name = \"P\", parent = \"Nope\" }]\n",
            "Nope",
        ),
        (
            "bad-workload.toml",
            "[[cluster]]\nname = \"C\"\nhosts = [{ name = \"h\" }]\n\
             vms = [{ name = \"v\", workload = \"warp-speed\" }]\n",
            "warp-speed",
        ),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write inventory");
        let path = path.to_str().expect("utf-8 path");
        assert_clean_error(
            &["serve", "--listen", "127.0.0.1:0", "--inventory", path],
            &[1, 2],
            needle,
        );
    }
    // The checked-in fixture itself is valid (the interop test uses it).
    assert!(repo_root().join("tests/interop/inventory.toml").exists());
}

#[test]
fn port_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    assert_clean_error(&["serve", "--listen", &addr], &[1], &addr);
}
