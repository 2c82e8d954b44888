//! `vicbed vcsim` and the binary run as `vcsim`: started as govmomi's test helpers start
//! vcsim (Go-style flags, the `export GOVC_URL=… GOVC_SIM_PID=…` line on stdout or a fifo,
//! SIGTERM/SIGINT), with vcsim's model counted through pyvmomi, and `/about`,
//! `/debug/vars`, `-trace-file` and `-tunnel` over raw HTTP.

use crate::support::{
    Server, output_text, python, read_response, roundtrip, soap_request, url_addr, vicbed,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// pyvmomi counts the inventory by type (and lists the names of some) as JSON.
const COUNT_SCRIPT: &str = r#"
import json, sys, urllib.parse
from pyVim.connect import SmartConnect, Disconnect
from pyVmomi import vim
u = urllib.parse.urlsplit(sys.argv[1])
si = SmartConnect(protocol=u.scheme, host=u.hostname, port=u.port, user=urllib.parse.unquote(u.username),
                  pwd=urllib.parse.unquote(u.password), disableSslCertValidation=True)
content = si.RetrieveContent()
out = {"root": len(content.rootFolder.childEntity)}
for name, ty in [("dc", vim.Datacenter), ("host", vim.HostSystem), ("vm", vim.VirtualMachine),
                 ("ds", vim.Datastore), ("pool", vim.ResourcePool), ("cluster", vim.ClusterComputeResource)]:
    view = content.viewManager.CreateContainerView(content.rootFolder, [ty], True)
    objs = list(view.view)
    out[name] = len(objs)
    out[name + "_names"] = sorted(o.name for o in objs)
    view.Destroy()
vm = [v for v in content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True).view]
out["cdroms"] = sum(1 for v in vm for d in v.config.hardware.device if isinstance(d, vim.vm.device.VirtualCdrom))
print(json.dumps(out))
Disconnect(si)
"#;

/// Runs [`COUNT_SCRIPT`] against `url`.
fn counts(url: &str) -> serde_json::Value {
    let out = Command::new(python())
        .args(["-c", COUNT_SCRIPT, url])
        .stdin(Stdio::null())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the pyvmomi count failed: {}",
        output_text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the count is JSON")
}

fn vcsim_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vicbed"));
    cmd.arg("vcsim").args(args);
    cmd
}

fn get_json(url: &str, path: &str) -> serde_json::Value {
    let addr = url_addr(url).expect("an address in the URL");
    let r = roundtrip(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    serde_json::from_slice(&r.body).expect("JSON")
}

#[test]
fn vicbed_vcsim_serves_vcsims_default_model_over_tls() {
    let server = Server::spawn(vcsim_cmd(&["-l", "127.0.0.1:0"]));
    assert!(
        server.url.starts_with("https://user:pass@127.0.0.1:") && server.url.ends_with("/sdk"),
        "{}",
        server.url
    );
    assert_eq!(server.exports["GOVC_SIM_PID"], server.pid().to_string());
    let c = counts(&server.url);
    assert_eq!(c["dc_names"], serde_json::json!(["DC0"]));
    assert_eq!(
        c["host_names"],
        serde_json::json!(["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2", "DC0_H0"])
    );
    assert_eq!(
        c["vm_names"],
        serde_json::json!([
            "DC0_C0_RP0_VM0",
            "DC0_C0_RP0_VM1",
            "DC0_H0_VM0",
            "DC0_H0_VM1"
        ])
    );
    assert_eq!(c["ds_names"], serde_json::json!(["LocalDS_0"]));
    assert_eq!(c["cdroms"], 4, "each default VM carries a CD-ROM");
    server.stop();
}

#[test]
fn a_link_named_vcsim_runs_vcsims_command_line_and_counts() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let link = dir.path().join("vcsim");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vicbed"), &link).expect("symlink");
    let mut cmd = Command::new(&link);
    cmd.args([
        "-l",
        "127.0.0.1:0",
        "-tls=false",
        "-dc",
        "2",
        "-cluster",
        "2",
        "-host",
        "2",
        "--vm",
        "3",
        "-pool=1",
        "-ds",
        "2",
    ]);
    let server = Server::spawn(cmd);
    assert!(server.url.starts_with("http://"), "{}", server.url);
    let c = counts(&server.url);
    assert_eq!(c["dc"], 2);
    // Per datacenter: 1 standalone host + 2 clusters × 2 hosts.
    assert_eq!(c["host"], 10);
    // -vm is per resource pool: (1 standalone + 2 cluster root pools) × 3, per datacenter.
    assert_eq!(c["vm"], 18);
    // Each datacenter has its own LocalDS_0 and LocalDS_1.
    assert_eq!(c["ds"], 4);
    // Root pools (1 standalone + 2 clusters) and one child pool per cluster, per datacenter.
    assert_eq!(c["pool"], 10);
    assert!(
        c["pool_names"]
            .as_array()
            .is_some_and(|p| p.iter().any(|n| n == "DC1_C1_RP1"))
    );
    server.stop_with("INT");
}

#[test]
fn the_export_line_goes_to_the_fifo_and_the_front_answers() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let fifo = dir.path().join("vcsim.fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let trace = dir.path().join("trace.log");
    let child = vcsim_cmd(&["-l", "127.0.0.1:0", "-tls=false", "-E"])
        .arg(&fifo)
        .arg("-trace-file")
        .arg(&trace)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vicbed vcsim starts");
    // Opening the read end waits for the server to open the write end; a server that fails
    // first never does, so the read runs on a thread and a failed server fails the test
    // rather than hanging it.
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    let reader_fifo = fifo.clone();
    std::thread::spawn(move || {
        let read = std::fs::File::open(&reader_fifo).and_then(|f| {
            let mut line = String::new();
            BufReader::new(f).read_line(&mut line).map(|_| line)
        });
        let _ = line_tx.send(read);
    });
    let mut child = child;
    let line = loop {
        match line_rx.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(read) => break read.expect("read the fifo"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().expect("poll the server") {
                    panic!("vcsim exited before writing the fifo: {status:?}");
                }
            }
            Err(e) => panic!("the fifo reader: {e}"),
        }
    };
    let pid = child.id();
    let exports = crate::support::parse_exports(line.trim_end()).expect("an export line");
    let exports: BTreeMap<String, String> = exports.into_iter().collect();
    assert_eq!(exports.len(), 2, "{line}");
    assert_eq!(exports["GOVC_SIM_PID"], pid.to_string());
    let url = exports["GOVC_URL"].clone();
    assert!(url.starts_with("http://user:pass@127.0.0.1:"), "{url}");

    let about = get_json(&url, "/about");
    assert!(
        about["Methods"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x == "RetrieveServiceContent"))
    );
    assert!(
        about["Types"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "VirtualMachine"))
    );
    let addr = url_addr(&url).expect("address");
    let sc = roundtrip(
        addr,
        &soap_request(
            addr,
            "<RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></RetrieveServiceContent>",
            "",
        ),
    );
    assert_eq!(sc.status, 200, "{}", sc.text());
    let vars = get_json(&url, "/debug/vars");
    assert_eq!(vars["vcsim"]["model"]["Machine"], 4, "{vars}");
    assert_eq!(vars["vcsim"]["model"]["Host"], 4, "{vars}");
    assert!(vars["vcsim"]["requests"].as_u64().is_some_and(|n| n >= 1));
    assert!(vars["cmdline"].as_array().is_some_and(|a| a.len() > 1));
    // Any password logs in here; the trace must not show it.
    assert_eq!(login(addr, "user", "trace-secret-pw"), 200);
    let traced = std::fs::read_to_string(&trace).expect("the trace file");
    assert!(
        traced.contains("Request: <?xml") && traced.contains("Response: <?xml"),
        "{traced}"
    );
    assert!(!traced.contains("trace-secret-pw"), "{traced}");
    assert!(
        traced.contains("<password>(redacted)</password>"),
        "{traced}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&trace)
            .expect("trace metadata")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the trace is its owner's only");

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("the server exits");
    assert!(
        out.status.success(),
        "SIGTERM ends vcsim cleanly: {:?}; stderr:\n{}",
        out.status,
        output_text(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "with -E nothing goes to stdout: {}",
        output_text(&out.stdout)
    );
}

fn login(addr: std::net::SocketAddr, user: &str, pass: &str) -> u16 {
    let body = format!(
        "<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this>\
         <userName>{user}</userName><password>{pass}</password></Login>"
    );
    roundtrip(addr, &soap_request(addr, &body, "")).status
}

/// Without -username/-password vcsim lets any non-empty user name and password log in;
/// empty ones are still refused.
#[test]
fn any_login_without_credentials_flags() {
    let server = Server::spawn(vcsim_cmd(&["-l", "127.0.0.1:0", "-tls=false"]));
    assert!(
        server.url.starts_with("http://user:pass@"),
        "{}",
        server.url
    );
    assert_eq!(login(server.addr, "user", "pass"), 200);
    assert_eq!(login(server.addr, "ci-robot", "anything"), 200);
    assert_eq!(login(server.addr, "ci-robot", ""), 500);
    server.stop();
}

#[test]
fn credentials_may_come_from_files() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let user = dir.path().join("user");
    let pass = dir.path().join("pass");
    std::fs::write(&user, "alice\n").expect("write");
    std::fs::write(&pass, "s3cret\n").expect("write");
    let mut cmd = vcsim_cmd(&["-l", "127.0.0.1:0", "-tls=false", "-username"]);
    cmd.arg(&user).arg("-password").arg(&pass);
    let server = Server::spawn(cmd);
    assert!(
        server.url.starts_with("http://alice:s3cret@"),
        "{}",
        server.url
    );
    assert_eq!(login(server.addr, "alice", "s3cret"), 200);
    assert_eq!(login(server.addr, "user", "pass"), 500);
    server.stop();
}

#[test]
fn bad_flags_exit_2_with_gos_message_and_help_exits_0() {
    let out = vicbed(&["vcsim", "-nosuch", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = output_text(&out.stderr);
    assert!(
        err.starts_with("flag provided but not defined: -nosuch\nUsage of vcsim:\n"),
        "{err}"
    );
    let out = vicbed(&["vcsim", "-vm", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        output_text(&out.stderr).starts_with("invalid value \"many\" for flag -vm: parse error")
    );
    let out = vicbed(&["vcsim", "-h"]);
    assert_eq!(out.status.code(), Some(0));
    let usage = output_text(&out.stderr);
    assert!(
        usage.contains(
            "  -vm int\n    \tNumber of virtual machines per resource pool (default 2)\n"
        ),
        "{usage}"
    );
    assert!(
        usage.contains("  -tls\n    \tEnable TLS (default true)\n"),
        "{usage}"
    );
    let out = vicbed(&["vcsim", "-load", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(output_text(&out.stderr).contains("not supported"));
    // `vicbed serve` keeps its own (clap) flags.
    let out = vicbed(&["serve", "-vm", "3"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn uuidgen_prints_a_fresh_v4_uuid() {
    let a = vicbed(&["vcsim", "uuidgen"]);
    let b = vicbed(&["vcsim", "uuidgen"]);
    assert!(a.status.success() && b.status.success());
    let (a, b) = (output_text(&a.stdout), output_text(&b.stdout));
    let u = a.trim_end();
    assert_eq!(a, format!("{u}\n"));
    let parts: Vec<&str> = u.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{u}"
    );
    assert!(parts[2].starts_with('4') && u.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

/// `-E` opens an existing pipe for writing and never creates one: a missing path is an
/// error (exit 1 naming the flag), and no file appears there.
#[test]
fn a_missing_e_path_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let missing = dir.path().join("no-such.fifo");
    let out = vcsim_cmd(&["-l", "127.0.0.1:0", "-tls=false", "-E"])
        .arg(&missing)
        .stdin(Stdio::null())
        .output()
        .expect("vicbed vcsim runs");
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out.stderr));
    assert!(
        output_text(&out.stderr).contains("-E "),
        "{}",
        output_text(&out.stderr)
    );
    assert!(!missing.exists(), "-E created {}", missing.display());
}

#[test]
fn dc_0_serves_an_empty_root_folder() {
    let server = Server::spawn(vcsim_cmd(&["-l", "127.0.0.1:0", "-tls=false", "-dc", "0"]));
    let c = counts(&server.url);
    assert_eq!(
        (c["root"].clone(), c["dc"].clone(), c["vm"].clone()),
        (0.into(), 0.into(), 0.into())
    );
    server.stop();
}

#[test]
fn the_tunnel_connects_to_the_server() {
    let server = Server::spawn(vcsim_cmd(&[
        "-l",
        "127.0.0.1:0",
        "-tls=false",
        "-tunnel",
        "0",
    ]));
    let (_, port) = server
        .url
        .split_once("?GOVMOMI_TUNNEL_PROXY_PORT=")
        .unwrap_or_else(|| panic!("no tunnel port in {}", server.url));
    let port: u16 = port.parse().expect("a port");
    let tunnel = std::net::SocketAddr::new(server.addr.ip(), port);
    let mut s = crate::support::connect(tunnel);
    s.write_all(b"CONNECT vcenter.example:443 HTTP/1.1\r\nHost: vcenter.example:443\r\n\r\n")
        .expect("write");
    let mut reader = BufReader::new(s.try_clone().expect("clone"));
    let mut status = String::new();
    reader.read_line(&mut status).expect("read");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut blank = String::new();
    reader.read_line(&mut blank).expect("read");
    s.write_all(b"GET /about HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let r = read_response(&mut reader).expect("a response through the tunnel");
    assert_eq!(r.status, 200);
    let plain = roundtrip(tunnel, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(plain.status, 405);
    server.stop();
}
