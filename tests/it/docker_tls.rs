//! The real docker CLI against a VCH deployed by `vicbed vic-machine create` in each TLS mode
//! (`--no-tls`, `--no-tlsverify`, the default mutual TLS): what connects, what is refused
//! (TLS to the plain port, plain HTTP to the TLS port, no client certificate, a client
//! certificate from a foreign CA), and VIC's seed command
//! `docker run -d -m 4g --cpuset-cpus 2 progrium/stress --cpu 1 --timeout 300s` with the
//! containerVM checked over SOAP (display name per convention, 2 vCPUs, 4096 MB, in the VCH
//! pool) and the rest of the lifecycle (ps, inspect, logs, stop, rm).
//!
//! Each test uses its own `vicbed serve`, and its VCHs get loopback client addresses that are
//! free when the test runs ([`free_client_ip`]).

use crate::support::{Server, free_client_ip};
use crate::vic_machine::{docker, run_bounded, soap, target, text, vic_machine};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use vcsim::vmodl::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// Runs the docker CLI with `args`, a private config directory, none of the caller's
/// `DOCKER_*` settings, and `env` added.
pub(crate) fn dk(cfg: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(docker());
    cmd.args(args).env("DOCKER_CONFIG", cfg).current_dir("/");
    for k in [
        "DOCKER_HOST",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "DOCKER_CONTEXT",
        "DOCKER_API_VERSION",
        "DOCKER_TLS",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    run_bounded(&mut cmd, LIMIT)
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `vic-machine create` of VCH `name` on client IP `ip` with `extra` options; returns stdout.
fn create(server: &Server, dir: &Path, name: &str, ip: &str, extra: &[&str]) -> String {
    let t = target(server);
    let cnip = format!("{ip}/8");
    let mut args = vec![
        "create",
        "--target",
        &t,
        "--name",
        name,
        "-r",
        "DC0_C0",
        "-b",
        "DC0_DVPG0",
        "--client-network-ip",
        &cnip,
        "--timeout",
        "60s",
    ];
    args.extend_from_slice(extra);
    let out = vic_machine(dir, &args, Duration::from_secs(120));
    assert!(out.status.success(), "create {name}: {}", text(&out));
    stdout(&out)
}

pub(crate) fn delete(server: &Server, dir: &Path, name: &str) {
    let t = target(server);
    let out = vic_machine(
        dir,
        &["delete", "--target", &t, "--name", name],
        Duration::from_secs(90),
    );
    assert!(out.status.success(), "delete {name}: {}", text(&out));
}

/// The printed line after `header` (without the `INFO[0000] ` prefix).
pub(crate) fn line_after(out: &str, header: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.ends_with(header))
        .unwrap_or_else(|| panic!("no {header:?} in\n{out}"));
    let l = lines[i + 1];
    l.split_once("] ").map_or(l, |(_, rest)| rest).to_owned()
}

/// (name, vCPUs, memory MB, in the VCH pool, power state) of every VM under the VCH pool.
pub(crate) fn vms_in_pool(server: &Server, vch: &str) -> Vec<(String, i64, i64, bool, String)> {
    let path = format!("DC0_C0/Resources/{vch}");
    soap(server, async |c| {
        let mut f = c.finder();
        f.use_datacenter(None).await.unwrap();
        let pool = f.resource_pool(Some(&path)).await.unwrap().moref;
        let found = c
            .view_contents(
                &pool,
                &["VirtualMachine"],
                true,
                &[
                    "name",
                    "config.hardware.numCPU",
                    "config.hardware.memoryMB",
                    "resourcePool",
                    "runtime.powerState",
                ],
            )
            .await
            .unwrap();
        found
            .iter()
            .map(|o| {
                (
                    o.text("name").unwrap_or("").to_owned(),
                    o.get("config.hardware.numCPU")
                        .and_then(Value::as_i64)
                        .unwrap_or(0),
                    o.get("config.hardware.memoryMB")
                        .and_then(Value::as_i64)
                        .unwrap_or(0),
                    o.get("resourcePool").and_then(Value::as_moref) == Some(&pool),
                    o.text("runtime.powerState").unwrap_or("").to_owned(),
                )
            })
            .collect()
    })
}

/// The seed command and the container lifecycle through `conn` (the `-H …` and TLS flags),
/// with the containerVM checked over SOAP.
fn seed_lifecycle(server: &Server, vch: &str, cfg: &Path, env: &[(String, String)], conn: &[&str]) {
    let with = |args: &[&str]| {
        let all: Vec<&str> = conn.iter().chain(args).copied().collect();
        dk(cfg, env, &all)
    };
    let v = with(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert!(v.status.success(), "version: {}", text(&v));
    assert_eq!(stdout(&v).trim(), "1.25");
    let info = with(&["info", "--format", "{{.Name}}"]);
    assert!(info.status.success(), "info: {}", text(&info));
    assert_eq!(stdout(&info).trim(), vch);

    let run = with(&[
        "run",
        "-d",
        "-m",
        "4g",
        "--cpuset-cpus",
        "2",
        "progrium/stress",
        "--cpu",
        "1",
        "--timeout",
        "300s",
    ]);
    assert!(run.status.success(), "run: {}", text(&run));
    // No error after the id. One line is the docker CLI's own race, not the endpoint's: at
    // API < 1.30 even `run -d` subscribes to /events, and when it returns it cancels that
    // subscription; its goroutine may see the cancellation on the error channel first and
    // log `error getting events from daemon: context canceled` before the process exits.
    let err = String::from_utf8_lossy(&run.stderr).to_lowercase();
    let unexpected = err
        .lines()
        .filter(|l| l.contains("error"))
        .any(|l| !l.contains("error getting events from daemon: context canceled"));
    assert!(!unexpected, "run: {}", text(&run));
    let id = stdout(&run).lines().last().unwrap_or("").trim().to_owned();
    assert_eq!(id.len(), 64, "run: {}", text(&run));

    let ps = with(&["ps", "--format", "{{.ID}} {{.Status}}"]);
    assert!(ps.status.success(), "ps: {}", text(&ps));
    assert!(
        stdout(&ps).contains(&format!("{} Up ", &id[..12])),
        "ps: {}",
        text(&ps)
    );
    let inspect = with(&[
        "inspect",
        "-f",
        "{{.Name}} {{.State.Running}} {{.HostConfig.Memory}}",
        &id,
    ]);
    assert!(inspect.status.success(), "inspect: {}", text(&inspect));
    let fields: Vec<String> = stdout(&inspect)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(&fields[1..], ["true", "4294967296"], "{}", text(&inspect));
    let name = fields[0].trim_start_matches('/');
    let logs = with(&["logs", &id]);
    assert!(logs.status.success(), "logs: {}", text(&logs));
    assert!(
        stdout(&logs).contains("dispatching hogs: 1 cpu"),
        "logs: {}",
        text(&logs)
    );

    // Over SOAP: the default convention `{name}-{id}` (12-character id), 2 vCPUs, 4096 MB,
    // in the VCH's pool, powered on.
    let display = format!("{name}-{}", &id[..12]);
    let vms = vms_in_pool(server, vch);
    let vm = vms
        .iter()
        .find(|v| v.0 == display)
        .unwrap_or_else(|| panic!("{display} not in the pool of {vch}: {vms:?}"));
    assert_eq!(
        (vm.1, vm.2, vm.3, vm.4.as_str()),
        (2, 4096, true, "poweredOn"),
        "{vm:?}"
    );

    let stop = with(&["stop", &id]);
    assert!(stop.status.success(), "stop: {}", text(&stop));
    let rm = with(&["rm", &id]);
    assert!(rm.status.success(), "rm: {}", text(&rm));
    assert!(
        !vms_in_pool(server, vch).iter().any(|v| v.0 == display),
        "{display} still exists after rm"
    );
}

#[test]
fn no_tls_plain_port() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = tempfile::tempdir().unwrap();
    let plain_ip = free_client_ip();
    let out = create(&server, dir.path(), "vchp", &plain_ip, &["--no-tls"]);
    assert!(
        out.contains(&format!("DOCKER_HOST={plain_ip}:2375")),
        "{out}"
    );
    assert!(
        line_after(&out, "Connect to docker:")
            .starts_with(&format!("docker -H {plain_ip}:2375 info")),
        "{out}"
    );
    let info = dk(
        cfg.path(),
        &[],
        &["-H", &format!("{plain_ip}:2375"), "info"],
    );
    assert!(info.status.success(), "{}", text(&info));
    assert!(stdout(&info).contains("Name: vchp"), "{}", text(&info));
    // TLS to the plain-HTTP port fails. The docker CLI cannot even start `--tls` without a
    // CA file (it opens `$DOCKER_CONFIG/ca.pem`; VIC's hint passes `--tlscacert` for that
    // reason), so the CA is a `--no-tlsverify` VCH's server certificate, with which the same
    // command reaches that VCH: the refusal is the plain port's.
    let tls_ip = free_client_ip();
    create(&server, dir.path(), "vchq", &tls_ip, &["--no-tlsverify"]);
    let tlscacert = format!(
        "--tlscacert={}",
        dir.path().join("vchq/server-cert.pem").display()
    );
    let other = dk(
        cfg.path(),
        &[],
        &["-H", &format!("{tls_ip}:2376"), "--tls", &tlscacert, "info"],
    );
    assert!(other.status.success(), "{}", text(&other));
    let tls = dk(
        cfg.path(),
        &[],
        &[
            "-H",
            &format!("{plain_ip}:2375"),
            "--tls",
            &tlscacert,
            "info",
        ],
    );
    assert!(!tls.status.success(), "{}", text(&tls));
    // Nothing listens on 2376.
    let none = dk(
        cfg.path(),
        &[],
        &[
            "-H",
            &format!("{plain_ip}:2376"),
            "--tls",
            &tlscacert,
            "info",
        ],
    );
    assert!(!none.status.success(), "{}", text(&none));
    delete(&server, dir.path(), "vchq");
    seed_lifecycle(
        &server,
        "vchp",
        cfg.path(),
        &[],
        &["-H", &format!("{plain_ip}:2375")],
    );
    delete(&server, dir.path(), "vchp");
    server.stop();
}

#[test]
fn no_tlsverify_server_tls_only() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = tempfile::tempdir().unwrap();
    let ip = free_client_ip();
    let out = create(&server, dir.path(), "vchs", &ip, &["--no-tlsverify"]);
    assert!(out.contains(&format!("DOCKER_HOST={ip}:2376")), "{out}");
    assert!(
        !dir.path().join("vchs/ca.pem").exists(),
        "--no-tlsverify generates no CA"
    );
    let hint = line_after(&out, "Connect to docker:");
    let cacert = format!(
        "--tlscacert={}",
        dir.path().join("vchs/server-cert.pem").display()
    );
    assert_eq!(
        hint,
        format!("docker -H {ip}:2376 --tls {cacert} info"),
        "{out}"
    );
    // `--tls` without verification (the printed form) works; no client certificate needed.
    let tls = ["-H", &format!("{ip}:2376"), "--tls", &cacert];
    let info = dk(cfg.path(), &[], &[&tls[..], &["info"]].concat());
    assert!(info.status.success(), "{}", text(&info));
    // Plain HTTP to the TLS port fails.
    let plain = dk(cfg.path(), &[], &["-H", &format!("{ip}:2376"), "info"]);
    assert!(!plain.status.success(), "{}", text(&plain));
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("TLS-enabled daemon"),
        "{}",
        text(&plain)
    );
    seed_lifecycle(&server, "vchs", cfg.path(), &[], &tls);
    delete(&server, dir.path(), "vchs");
    server.stop();
}

#[test]
fn tlsverify_mutual_tls() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = tempfile::tempdir().unwrap();
    let ip = free_client_ip();
    let out = create(
        &server,
        dir.path(),
        "vcht",
        &ip,
        &["--tls-cert-path", "certs-t"],
    );
    // A second VCH with its own CA: its client certificate is foreign to the first.
    let foreign_ip = free_client_ip();
    let foreign_out = create(
        &server,
        dir.path(),
        "vchf",
        &foreign_ip,
        &["--tls-cert-path", "certs-f"],
    );
    let certs = dir.path().join("certs-t");
    let foreign = dir.path().join("certs-f");
    let p = |d: &Path, f: &str| d.join(f).display().to_string();
    let (ca, cert, key) = (
        p(&certs, "ca.pem"),
        p(&certs, "cert.pem"),
        p(&certs, "key.pem"),
    );
    let tlscacert = format!("--tlscacert={ca}");
    let verified = [
        "-H",
        &format!("{ip}:2376"),
        "--tlsverify",
        &tlscacert,
        &format!("--tlscert={cert}"),
        &format!("--tlskey={key}"),
    ]
    .map(str::to_owned);
    let verified: Vec<&str> = verified.iter().map(String::as_str).collect();

    // `docker --tlsverify` with the generated client certificate.
    let info = dk(cfg.path(), &[], &[&verified[..], &["info"]].concat());
    assert!(info.status.success(), "{}", text(&info));
    assert!(stdout(&info).contains("Name: vcht"), "{}", text(&info));

    // The environment form, with the variables exactly as printed.
    let env_line = line_after(&out, "Docker environment variables:");
    let env: Vec<(String, String)> = env_line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("DOCKER_TLS_VERIFY"), Some("1"), "{env_line}");
    assert_eq!(
        get("DOCKER_HOST"),
        Some(format!("{ip}:2376").as_str()),
        "{env_line}"
    );
    assert_eq!(
        get("DOCKER_CERT_PATH").map(Path::new),
        Some(certs.as_path()),
        "{env_line}"
    );
    let info = dk(cfg.path(), &env, &["info", "--format", "{{.Name}}"]);
    assert!(info.status.success(), "env form: {}", text(&info));
    assert_eq!(stdout(&info).trim(), "vcht");

    // Refused without a client certificate.
    let refused = dk(
        cfg.path(),
        &[],
        &[
            "-H",
            &format!("{ip}:2376"),
            "--tlsverify",
            &tlscacert,
            "info",
        ],
    );
    assert!(!refused.status.success(), "{}", text(&refused));

    // Refused with a client certificate from a foreign CA (the second VCH's), which its own
    // VCH accepts.
    let (fcert, fkey) = (
        format!("--tlscert={}", p(&foreign, "cert.pem")),
        format!("--tlskey={}", p(&foreign, "key.pem")),
    );
    let own = dk(
        cfg.path(),
        &[],
        &[
            "-H",
            &format!("{foreign_ip}:2376"),
            "--tlsverify",
            &format!("--tlscacert={}", p(&foreign, "ca.pem")),
            &fcert,
            &fkey,
            "info",
            "--format",
            "{{.Name}}",
        ],
    );
    assert!(own.status.success(), "{}\n{foreign_out}", text(&own));
    assert_eq!(stdout(&own).trim(), "vchf");
    let cross = dk(
        cfg.path(),
        &[],
        &[
            "-H",
            &format!("{ip}:2376"),
            "--tlsverify",
            &tlscacert,
            &fcert,
            &fkey,
            "info",
        ],
    );
    assert!(!cross.status.success(), "foreign CA: {}", text(&cross));

    // Plain HTTP to the TLS port.
    let plain = dk(cfg.path(), &[], &["-H", &format!("{ip}:2376"), "info"]);
    assert!(!plain.status.success(), "{}", text(&plain));

    seed_lifecycle(&server, "vcht", cfg.path(), &[], &verified);
    // The seed command again through the environment form.
    seed_lifecycle(&server, "vcht", cfg.path(), &env, &[]);

    delete(&server, dir.path(), "vchf");
    delete(&server, dir.path(), "vcht");
    server.stop();
}
