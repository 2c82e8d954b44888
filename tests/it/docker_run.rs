//! Everyday `docker run` with the real docker CLI on VCHs deployed by `vicbed vic-machine
//! create` (plain HTTP and mutual TLS): foreground runs over the hijacked attach stream,
//! exit codes, `--rm`, processes that exit by themselves (`wait`, `logs`, `ps -a`), stdin
//! for `-i`, a TTY for `-t`, and nothing left behind (the containerVMs in the VCH pool,
//! counted over SOAP).
//!
//! The VCHs get their client addresses from the appliance's own lease range (no fixed
//! addresses), read back from `vic-machine create`'s "Docker environment variables" line.

use crate::docker_tls::{dk, line_after, stdout, vms_in_pool};
use crate::support::{Server, free_client_ip, run_script_url};
use crate::vic_machine::{docker, run_bounded_with_stdin, target, text, vic_machine};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Deploys VCH `name` with `extra` flags; returns the docker environment it prints.
pub(crate) fn deploy(
    server: &Server,
    dir: &Path,
    name: &str,
    extra: &[&str],
) -> Vec<(String, String)> {
    let t = target(server);
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
        "--timeout",
        "60s",
    ];
    args.extend_from_slice(extra);
    let out = vic_machine(dir, &args, Duration::from_secs(120));
    assert!(out.status.success(), "create {name}: {}", text(&out));
    let env_line = line_after(&stdout(&out), "Docker environment variables:");
    env_line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// The docker CLI with `stdin` piped in.
fn dk_stdin(cfg: &Path, env: &[(String, String)], args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(docker());
    cmd.args(args)
        .env("DOCKER_CONFIG", cfg)
        .current_dir("/")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .envs(env.iter().map(|(k, v)| (k, v)));
    run_bounded_with_stdin(&mut cmd, Some(stdin), Duration::from_secs(60))
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// The everyday runs against one VCH.
fn everyday(server: &Server, vch: &str, env: &[(String, String)]) {
    let cfg = tempfile::tempdir().unwrap();
    let d = |args: &[&str]| dk(cfg.path(), env, args);
    let before = vms_in_pool(server, vch).len();

    // A foreground run prints the process's output and exits with its status.
    let hi = d(&["run", "busybox", "echo", "hi"]);
    assert_eq!(code(&hi), 0, "{}", text(&hi));
    assert_eq!(stdout(&hi), "hi\n", "{}", text(&hi));
    let f = d(&["run", "busybox", "false"]);
    assert_eq!(code(&f), 1, "{}", text(&f));
    let script = d(&[
        "run",
        "busybox",
        "sh",
        "-c",
        "echo one; false && echo no; echo two && exit 3",
    ]);
    assert_eq!(code(&script), 3, "{}", text(&script));
    assert_eq!(stdout(&script), "one\ntwo\n", "{}", text(&script));
    // VIC's guestinfo splits an argument at `|` (vmware/vic#3510): the script the tether
    // runs is `echo x ` with `$0` empty and `$1` = ` echo y`.
    let split = d(&["run", "--rm", "busybox", "sh", "-c", "echo x || echo y"]);
    assert_eq!(
        (code(&split), stdout(&split).as_str()),
        (0, "x\n"),
        "{}",
        text(&split)
    );

    // `--rm`: the container and its VM are gone once the run returns.
    let rm = d(&["run", "--rm", "--name", "gone", "busybox", "echo", "bye"]);
    assert_eq!(code(&rm), 0, "{}", text(&rm));
    assert_eq!(stdout(&rm), "bye\n");
    let ps = d(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!stdout(&ps).lines().any(|n| n == "gone"), "{}", text(&ps));

    // A detached container whose command ends: Exited (4), wait returns 4, logs has it.
    let job = d(&[
        "run",
        "-d",
        "--name",
        "job",
        "busybox",
        "sh",
        "-c",
        "echo done; exit 4",
    ]);
    assert_eq!(code(&job), 0, "{}", text(&job));
    let wait = d(&["wait", "job"]);
    assert_eq!(stdout(&wait).trim(), "4", "{}", text(&wait));
    let logs = d(&["logs", "job"]);
    assert_eq!(stdout(&logs), "done\n", "{}", text(&logs));
    let status = d(&[
        "ps",
        "-a",
        "--filter",
        "name=job",
        "--format",
        "{{.Status}}",
    ]);
    assert!(
        stdout(&status).starts_with("Exited (4)"),
        "{}",
        text(&status)
    );
    let stamped = d(&["logs", "-t", "--tail", "1", "job"]);
    let line = stdout(&stamped);
    assert!(
        line.ends_with(" done\n") && line.contains('T') && line.contains('Z'),
        "{line:?}"
    );

    // `-i`: the shell reads its commands from stdin and exits with the last one's status.
    let piped = dk_stdin(
        cfg.path(),
        env,
        &["run", "-i", "--rm", "busybox", "sh"],
        b"echo from-stdin\nexit 5\n",
    );
    assert_eq!(code(&piped), 5, "{}", text(&piped));
    assert_eq!(stdout(&piped), "from-stdin\n", "{}", text(&piped));

    // `-t`: one raw stream, the terminal's line ends.
    let tty = d(&["run", "-t", "--rm", "busybox", "echo", "tty"]);
    assert_eq!(code(&tty), 0, "{}", text(&tty));
    assert_eq!(stdout(&tty), "tty\r\n", "{}", text(&tty));

    // A command outside the emulated set runs as its workload, and its log says so.
    let svc = d(&["run", "-d", "--name", "svc", "busybox", "httpd", "-f"]);
    assert_eq!(code(&svc), 0, "{}", text(&svc));
    let svc_logs = d(&["logs", "svc"]);
    assert!(
        String::from_utf8_lossy(&svc_logs.stderr)
            .contains("'httpd' is not one of the emulated commands"),
        "{}",
        text(&svc_logs)
    );

    // exec: the emulated commands in a running container, exit codes, stdin; refused in a
    // stopped one.
    let ex = d(&["exec", "svc", "sh", "-c", "echo in-$HOSTNAME-ok; exit 6"]);
    assert_eq!(code(&ex), 6, "{}", text(&ex));
    assert!(
        stdout(&ex).starts_with("in-") && stdout(&ex).ends_with("-ok\n"),
        "{}",
        text(&ex)
    );
    let ex_i = dk_stdin(
        cfg.path(),
        env,
        &["exec", "-i", "svc", "sh"],
        b"echo via-stdin\nexit 2\n",
    );
    assert_eq!(
        (code(&ex_i), stdout(&ex_i).as_str()),
        (2, "via-stdin\n"),
        "{}",
        text(&ex_i)
    );
    let ex_t = d(&["exec", "-t", "svc", "echo", "tty"]);
    assert_eq!(stdout(&ex_t), "tty\r\n", "{}", text(&ex_t));
    let stopped = d(&["exec", "job", "true"]);
    assert_ne!(code(&stopped), 0, "{}", text(&stopped));
    assert!(
        String::from_utf8_lossy(&stopped.stderr).contains("is not running"),
        "{}",
        text(&stopped)
    );
    // stats from the containerVM's counters (the values are checked in vic's engine tests).
    let st = d(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.CPUPerc}} {{.MemUsage}}",
        "svc",
    ]);
    assert_eq!(code(&st), 0, "{}", text(&st));
    assert!(
        stdout(&st).starts_with("svc ") && stdout(&st).contains('%'),
        "{}",
        text(&st)
    );
    let still = d(&["inspect", "-f", "{{.State.Running}}", "svc"]);
    assert_eq!(
        stdout(&still).trim(),
        "true",
        "an exec's end leaves its container running"
    );

    let rm = d(&["rm", "-f", "svc", "job"]);
    assert_eq!(code(&rm), 0, "{}", text(&rm));

    // Nothing left behind: the foreground and --rm runs' VMs are as many as their
    // containers (`hi`, `false`, the script), and nothing else.
    let after = vms_in_pool(server, vch).len();
    assert_eq!(after, before + 3, "{:?}", vms_in_pool(server, vch));
    let all = d(&["ps", "-aq"]);
    assert_eq!(stdout(&all).lines().count(), 3, "{}", text(&all));
}

#[test]
fn everyday_runs_over_plain_http() {
    // The clock starts at the wall clock, so the CLI's ages are seconds, not years.
    let server = Server::start(&["--clock-start", "now"]);
    let dir = tempfile::tempdir().unwrap();
    let env = deploy(&server, dir.path(), "vchr", &["--no-tls"]);
    everyday(&server, "vchr", &env);
    let cfg = tempfile::tempdir().unwrap();
    let ages = dk(
        cfg.path(),
        &env,
        &["ps", "-a", "--format", "{{.RunningFor}}"],
    );
    assert!(
        stdout(&ages)
            .lines()
            .all(|l| l.contains("second") || l.contains("minute")),
        "{}",
        text(&ages)
    );
    docker_py(&server, &env);
}

/// docker-py's checks (`tests/interop/docker_py.py`) with the VCH's environment.
fn docker_py(server: &Server, env: &[(String, String)]) {
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let host = get("DOCKER_HOST").expect("DOCKER_HOST");
    let mut args = Vec::new();
    if get("DOCKER_TLS_VERIFY") == Some("1") {
        args.push(get("DOCKER_CERT_PATH").expect("DOCKER_CERT_PATH"));
    }
    let run = run_script_url(host, "docker_py.py", &args, Some(server));
    assert!(
        run.stdout.contains("ok events create, attach, start, die"),
        "{}",
        run.stdout
    );
}

#[test]
fn everyday_runs_over_server_tls() {
    // `--no-tlsverify`: TLS with the generated server certificate and no client certificate.
    // The environment vic-machine prints has no certificate path (there is no CA): the client
    // speaks TLS without verifying the server, as `docker --tls` does.
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cnip = format!("{}/8", free_client_ip());
    let mut env = deploy(
        &server,
        dir.path(),
        "vchs",
        &["--no-tlsverify", "--client-network-ip", &cnip],
    );
    assert!(
        env.iter()
            .any(|(k, v)| k == "DOCKER_HOST" && v.ends_with(":2376")),
        "{env:?}"
    );
    // The CLI still loads a `ca.pem` from its certificate path (without checking against it
    // under `--tls`): the server certificate vic-machine wrote serves, as in the printed
    // `docker --tls --tlscacert=…/server-cert.pem` hint.
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(
        dir.path().join("vchs/server-cert.pem"),
        certs.join("ca.pem"),
    )
    .unwrap();
    env.retain(|(k, _)| k != "DOCKER_TLS_VERIFY" && k != "DOCKER_CERT_PATH");
    env.push(("DOCKER_TLS".to_owned(), "1".to_owned()));
    env.push(("DOCKER_CERT_PATH".to_owned(), certs.display().to_string()));
    everyday(&server, "vchs", &env);
}

#[test]
fn everyday_runs_over_mutual_tls() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Mutual TLS needs the client address in the server certificate, so the VCH gets a
    // static one: a loopback address whose Docker ports are free right now.
    let cnip = format!("{}/8", free_client_ip());
    let env = deploy(
        &server,
        dir.path(),
        "vchm",
        &["--tls-cert-path", "certs-m", "--client-network-ip", &cnip],
    );
    assert!(
        env.iter()
            .any(|(k, v)| k == "DOCKER_TLS_VERIFY" && v == "1"),
        "{env:?}"
    );
    everyday(&server, "vchm", &env);
    docker_py(&server, &env);
}

/// The run time stress-ng prints at its end (`… successful run completed in 3.33s`).
fn completed_in_s(out: &Output) -> f64 {
    let s = stdout(out);
    let tail = s
        .lines()
        .find_map(|l| l.split_once("successful run completed in "))
        .map(|(_, t)| t.trim().trim_end_matches('s').to_owned())
        .unwrap_or_else(|| panic!("no completion line: {}", text(out)));
    tail.parse()
        .unwrap_or_else(|_| panic!("not seconds: {tail:?}"))
}

#[test]
fn a_cpu_bound_job_takes_longer_on_a_limited_vch() {
    // 200 × wall time: a 20 s model step every 100 ms.
    let server = Server::start(&["--speed", "200"]);
    let dir = tempfile::tempdir().unwrap();
    let open = deploy(&server, dir.path(), "vch-jobs-open", &["--no-tls"]);
    let limited = deploy(
        &server,
        dir.path(),
        "vch-jobs-300",
        &["--no-tls", "--cpu", "300"],
    );
    let before = (
        vms_in_pool(&server, "vch-jobs-open").len(),
        vms_in_pool(&server, "vch-jobs-300").len(),
    );
    let cfg = tempfile::tempdir().unwrap();
    // 1 worker × 200 bogo ops × 30 MHz·s = 6 000 MHz·s of work, in the foreground.
    let job = [
        "run",
        "--rm",
        "busybox",
        "stress-ng",
        "--cpu",
        "1",
        "--cpu-ops",
        "200",
    ];
    let fast = dk(cfg.path(), &open, &job);
    assert_eq!(code(&fast), 0, "{}", text(&fast));
    assert!(
        stdout(&fast).starts_with("stress-ng: info:  [1] dispatching hogs: 1 cpu\n"),
        "{}",
        text(&fast)
    );
    let slow = dk(cfg.path(), &limited, &job);
    assert_eq!(code(&slow), 0, "{}", text(&slow));
    let (fast_s, slow_s) = (completed_in_s(&fast), completed_in_s(&slow));
    // A core of its own against a share of 300 MHz.
    assert!(fast_s < 10.0, "{fast_s}");
    assert!(
        slow_s >= 20.0 && slow_s / fast_s > 3.0,
        "{fast_s} s vs {slow_s} s"
    );
    // `--rm`: nothing left in either pool.
    let after = (
        vms_in_pool(&server, "vch-jobs-open").len(),
        vms_in_pool(&server, "vch-jobs-300").len(),
    );
    assert_eq!(after, before);
}
