//! `vicbed vic-machine` end to end: `vicbed serve` (with the VIC guest agents), the
//! installer as a separate process, the real docker CLI against the VCH it deploys, and the
//! emulator's state checked over SOAP with `vic::vsphere`.

use crate::support::Server;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use vcsim::vmodl::Value;
use vic::guestinfo::vch;
use vic::vsphere::{Client, ConnectOptions, option_value};

/// The docker CLI (`DOCKER` overrides).
pub(crate) fn docker() -> String {
    std::env::var("DOCKER").unwrap_or_else(|_| "docker".into())
}

/// Runs `vicbed vic-machine ARGS…` in `dir`, bounded by `limit`.
pub(crate) fn vic_machine(dir: &Path, args: &[&str], limit: Duration) -> Output {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_vicbed"))
            .arg("vic-machine")
            .args(args)
            .current_dir(dir),
        limit,
    )
}

pub(crate) fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    run_bounded_with_stdin(cmd, None, limit)
}

/// [`run_bounded`] with `stdin` written to the command (then closed); None: no stdin.
pub(crate) fn run_bounded_with_stdin(
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    limit: Duration,
) -> Output {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Small inputs: the pipe's buffer holds them; the pipe closes when dropped here.
        std::io::Write::write_all(&mut pipe, bytes).expect("write stdin");
    }
    let deadline = std::time::Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The target without `/sdk`, as a VIC user writes it.
pub(crate) fn target(server: &Server) -> String {
    server.url.trim_end_matches("/sdk").to_owned()
}

pub(crate) fn soap<T>(server: &Server, f: impl AsyncFnOnce(Client) -> T) -> T {
    let url = format!("http://{}/sdk", server.addr);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
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
            f(c).await
        })
}

#[test]
fn create_docker_ls_inspect_delete() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let t = target(&server);
    let out = vic_machine(
        dir.path(),
        &[
            "create",
            "--target",
            &t,
            "--force",
            "--name",
            "vch1",
            "--compute-resource",
            "DC0_C0",
            "--bridge-network",
            "DC0_DVPG0",
            "--cpu",
            "500",
            "--memory",
            "500",
            "--no-tlsverify",
            "--client-network-ip",
            "127.0.1.61/8",
            "--timeout",
            "60s",
        ],
        Duration::from_secs(120),
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "VCH ID: vm-",
        "VCH Default Bridge Network Range: 172.16.0.0/12",
        "VCH Default Bridge Network Width: 16",
        "Docker environment variables:",
        "DOCKER_HOST=127.0.1.61:2376 COMPOSE_TLS_VERSION=TLSv1_2",
        "Environment saved in ./vch1/vch1.env",
        "Connect to docker:",
        "docker -H 127.0.1.61:2376 --tls --tlscacert=",
        "Installer completed successfully",
    ] {
        assert!(stdout.contains(want), "missing {want:?}\n{all}");
    }
    assert!(dir.path().join("vch1/server-cert.pem").is_file());

    // The pool and the appliance, over SOAP.
    let (limits, vm_props) = soap(&server, async |c| {
        let mut f = c.finder();
        f.use_datacenter(None).await.unwrap();
        let pool = f
            .resource_pool(Some("DC0_C0/Resources/vch1"))
            .await
            .unwrap();
        let p = c
            .retrieve_properties(
                std::slice::from_ref(&pool.moref),
                "ResourcePool",
                &[
                    "config.cpuAllocation.limit",
                    "config.memoryAllocation.limit",
                ],
            )
            .await
            .unwrap()
            .remove(0);
        let limits = (
            p.get("config.cpuAllocation.limit").and_then(Value::as_i64),
            p.get("config.memoryAllocation.limit")
                .and_then(Value::as_i64),
        );
        let vm = f.virtual_machine("vch1").await.unwrap().moref;
        let v = c
            .retrieve_properties(
                std::slice::from_ref(&vm),
                "VirtualMachine",
                &["runtime.powerState", "config.extraConfig", "resourcePool"],
            )
            .await
            .unwrap()
            .remove(0);
        let ec = v.get("config.extraConfig").cloned().unwrap();
        let key = |k: &str| {
            option_value(&ec, k)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let started: Vec<Option<String>> = vch::COMPONENTS
            .iter()
            .map(|c| key(&vch::session_started_key(c)))
            .collect();
        (
            limits,
            (
                v.text("runtime.powerState").map(str::to_owned),
                v.get("resourcePool").and_then(Value::as_moref) == Some(&pool.moref),
                key(vch::ID) == Some(vm.to_string()),
                key(vch::CLIENT_ASSIGNED_IP),
                started,
            ),
        )
    });
    assert_eq!(limits, (Some(500), Some(500)));
    let (power, in_pool, id_ok, ip, started) = vm_props;
    assert_eq!(power.as_deref(), Some("poweredOn"));
    assert!(in_pool && id_ok);
    assert_eq!(
        ip.as_deref(),
        Some("AAAAAAAAAAAAAP//fwABPQ=="),
        "127.0.1.61"
    );
    assert!(
        started.iter().all(|s| s.as_deref() == Some("true")),
        "{started:?}"
    );

    // The printed hint, run verbatim with the real docker CLI (the copy-paste path).
    let hint = stdout
        .lines()
        .skip_while(|l| !l.contains("Connect to docker:"))
        .nth(1)
        .and_then(|l| l.find("docker -H").map(|i| l[i..].trim().to_owned()))
        .expect("a `Connect to docker:` hint");
    assert!(
        hint.starts_with("docker -H 127.0.1.61:2376 --tls --tlscacert="),
        "{hint}"
    );
    let info = run_bounded(
        Command::new("sh").args(["-c", &hint.replacen("docker", &docker(), 1)]),
        Duration::from_secs(60),
    );
    assert!(info.status.success(), "docker info: {}", text(&info));
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("vSphere Integrated Containers"),
        "{}",
        text(&info)
    );

    // ls and inspect.
    let ls = vic_machine(dir.path(), &["ls", "--target", &t], Duration::from_secs(60));
    let ls_text = String::from_utf8_lossy(&ls.stdout);
    assert!(ls.status.success(), "{}", text(&ls));
    assert!(ls_text.contains("UPGRADE STATUS"), "{ls_text}");
    assert!(
        ls_text
            .lines()
            .any(|l| l.contains("/DC0/host/DC0_C0/Resources/vch1")
                && l.contains("vch1")
                && l.contains("Up to date")),
        "{ls_text}"
    );
    let inspect = vic_machine(
        dir.path(),
        &["inspect", "--target", &t, "--name", "vch1"],
        Duration::from_secs(60),
    );
    let inspect_text = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.status.success(), "{}", text(&inspect));
    for want in [
        "VCH ID: vm-",
        "DOCKER_HOST=127.0.1.61:2376",
        "docker -H 127.0.1.61:2376 --tls",
    ] {
        assert!(inspect_text.contains(want), "{want}: {inspect_text}");
    }

    // delete removes the pool, the VM and the folder.
    let del = vic_machine(
        dir.path(),
        &["delete", "--target", &t, "--name", "vch1"],
        Duration::from_secs(90),
    );
    assert!(del.status.success(), "{}", text(&del));
    assert!(String::from_utf8_lossy(&del.stdout).contains("Completed successfully"));
    let gone = soap(&server, async |c| {
        let mut f = c.finder();
        f.use_datacenter(None).await.unwrap();
        (
            f.resource_pool(Some("DC0_C0/Resources/vch1"))
                .await
                .is_err(),
            f.virtual_machine("vch1").await.is_err(),
            f.find(vic::vsphere::Kind::Folder, "vm/vch1").await.is_err(),
        )
    });
    assert_eq!(gone, (true, true, true));
    server.stop();
}

/// Default (tlsverify) mode: the printed command and the env file work verbatim.
#[test]
fn tlsverify_hint_and_env_file_work_verbatim() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let t = target(&server);
    let out = vic_machine(
        dir.path(),
        &[
            "create",
            "--target",
            &t,
            "--name",
            "vch3",
            "-r",
            "DC0_C0",
            "-b",
            "DC0_DVPG0",
            "--client-network-ip",
            "127.0.1.63/8",
            "--timeout",
            "60s",
        ],
        Duration::from_secs(120),
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line_after = |header: &str| {
        let lines: Vec<&str> = stdout.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.ends_with(header))
            .unwrap_or_else(|| panic!("no {header:?}\n{all}"));
        let l = lines[i + 1];
        // Strip the `INFO[0000] ` log prefix.
        l.split_once("] ").map_or(l, |(_, rest)| rest).to_owned()
    };
    let command = line_after("Connect to docker:");
    assert!(
        command.starts_with("docker -H 127.0.1.63:2376 --tlsverify --tlscacert=\""),
        "{command}"
    );
    let command = command.replacen("docker", &docker(), 1);
    let info = run_bounded(
        Command::new("sh").args(["-c", &command]).current_dir("/"),
        Duration::from_secs(60),
    );
    assert!(info.status.success(), "{command}: {}", text(&info));
    // The env file, sourced as is.
    let env = line_after("Docker environment variables:");
    assert!(
        env.starts_with("DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=")
            && env.contains(" DOCKER_HOST=127.0.1.63:2376 COMPOSE_TLS_VERSION=TLSv1_2"),
        "{env}"
    );
    let script = format!("set -a; . ./vch3/vch3.env; {} info", docker());
    let info = run_bounded(
        Command::new("sh")
            .args(["-c", &script])
            .current_dir(dir.path()),
        Duration::from_secs(60),
    );
    assert!(info.status.success(), "env file: {}", text(&info));
    // Without a client certificate the endpoint refuses.
    let refused = run_bounded(
        Command::new(docker()).args([
            "-H",
            "127.0.1.63:2376",
            "--tls",
            &format!("--tlscacert={}", dir.path().join("vch3/ca.pem").display()),
            "info",
        ]),
        Duration::from_secs(60),
    );
    assert!(!refused.status.success(), "{}", text(&refused));
    let del = vic_machine(
        dir.path(),
        &["delete", "--target", &t, "--name", "vch3"],
        Duration::from_secs(90),
    );
    assert!(del.status.success(), "{}", text(&del));
    server.stop();
}

#[test]
fn failed_create_exits_1_and_leaves_nothing() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let t = target(&server);
    let out = vic_machine(
        dir.path(),
        &[
            "create",
            "--target",
            &t,
            "--name",
            "vch2",
            "--compute-resource",
            "DC0_C0",
            "--bridge-network",
            "no-such-dpg",
            "--no-tlsverify",
            "--client-network-ip",
            "127.0.1.62/8",
        ],
        Duration::from_secs(60),
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--------------------\nvic-machine-linux create failed: validation of configuration failed"),
        "{all}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "An existing distributed port group or opaque network must be specified for bridge network on vCenter"
        ),
        "{all}"
    );
    let left = soap(&server, async |c| {
        let mut f = c.finder();
        f.use_datacenter(None).await.unwrap();
        f.resource_pool(Some("DC0_C0/Resources/vch2")).await.is_ok()
            || f.virtual_machine("vch2").await.is_ok()
    });
    assert!(!left, "a failed create left objects behind");
    // A usage error exits 2, not VIC's 0.
    let usage = vic_machine(
        dir.path(),
        &["create", "--target", &t, "--memory", "abc"],
        Duration::from_secs(30),
    );
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage));
    let version = vic_machine(dir.path(), &["version"], Duration::from_secs(30));
    assert!(
        String::from_utf8_lossy(&version.stdout)
            .starts_with("vic-machine-linux version v1.2.1-vicbed-"),
        "{}",
        text(&version)
    );
    server.stop();
}

/// `create -x` lists VIC's hidden options and `--help` does not (vic.md §1.2 "H"); both exit
/// 0 without connecting anywhere.
#[test]
fn create_extended_help_lists_hidden_options() {
    let dir = tempfile::tempdir().unwrap();
    let limit = Duration::from_secs(60);
    let x = vic_machine(dir.path(), &["create", "-x"], limit);
    assert!(x.status.success(), "{}", text(&x));
    let extended = String::from_utf8_lossy(&x.stdout);
    let help = vic_machine(dir.path(), &["create", "--help"], limit);
    assert!(help.status.success(), "{}", text(&help));
    let short = String::from_utf8_lossy(&help.stdout);
    // A flag is listed when a word of the help is that flag (`--no-tls` is part of
    // `--no-tlsverify`, which --help lists).
    let lists = |help: &str, flag: &str| {
        help.split_whitespace()
            .any(|w| w.trim_matches(|c: char| matches!(c, ',' | '[' | ']')) == flag)
    };
    for flag in ["--ops-user", "--no-tls", "--client-network-ip", "--debug"] {
        assert!(lists(&extended, flag), "-x lacks {flag}:\n{}", text(&x));
        assert!(
            !lists(&short, flag),
            "--help shows {flag}:\n{}",
            text(&help)
        );
    }
    for flag in ["--containers", "--storage-quota", "--extended-help"] {
        assert!(lists(&extended, flag) && lists(&short, flag), "{flag}");
    }
}
