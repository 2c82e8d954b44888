//! `vic::engine::client` against real VCH endpoints, in process: the emulator with the VCH
//! appliance agent (running the real engine) and the containerVM tether, VCHs deployed by
//! `vic-machine create` in each TLS mode, driven with docker command lines parsed by the
//! client — connecting from vic-machine's printed environment line or `Connect to docker:`
//! command — and compared with the real docker CLI against the same endpoint; foreground
//! `run` and `exec` over upgraded connections, with the tether's streams given to the
//! endpoint.
//!
//! Client addresses 127.0.1.210–213 (other vic tests use 201–202 and DHCP from .2 up, the
//! benchmark 230 and up).

use crate::sim::{self, Sim, create_vch};
use std::path::Path;
use std::sync::Arc;
use vic::appliance::{ApplianceAgent, engine_launcher};
use vic::engine::client::{
    CliCommand, ClientError, DockerClient, GlobalOptions, parse_command, parse_line, split_words,
};
use vic::tether::TetherAgent;

async fn start_sim() -> Sim {
    sim::start(vec![
        Arc::new(ApplianceAgent::new(engine_launcher())),
        Arc::new(TetherAgent::new()),
    ])
    .await
}

async fn delete_vch(sim: &Sim, name: &str) {
    let target = format!("--target={}", sim.url);
    let (lines, r) = vic::machine::run_captured(&["delete", &target, "--name", name]).await;
    assert!(r.is_ok(), "delete {name}: {r:?}\n{}", lines.join("\n"));
}

/// The line after `header` in vic-machine's output, without its `INFO[0001] ` prefix.
fn line_after(lines: &[String], header: &str) -> String {
    let strip = |l: &str| l.split_once("] ").map_or(l, |(_, rest)| rest).to_owned();
    let i = lines
        .iter()
        .position(|l| strip(l) == header)
        .unwrap_or_else(|| panic!("no {header:?} in\n{}", lines.join("\n")));
    strip(&lines[i + 1])
}

fn argv(line: &str) -> Vec<String> {
    split_words(line).unwrap()
}

fn command(line: &str) -> CliCommand {
    parse_command(&argv(line)).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Runs `line` (a docker command without `docker`) through `client`.
async fn docker(client: &DockerClient, line: &str) -> vic::engine::client::CliOutput {
    client
        .execute(&command(line))
        .await
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// The real docker CLI with `args`, a private config directory and none of the caller's
/// `DOCKER_*` variables: (exit code, stdout, stderr).
async fn real_docker(config: &Path, args: Vec<String>) -> (i32, String, String) {
    let mut cmd = std::process::Command::new("docker");
    cmd.args(&args)
        .env("DOCKER_CONFIG", config)
        .current_dir("/");
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
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("the docker CLI runs (scripts/test.sh installs it)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SEED: &str = "run -d -m 4g --cpuset-cpus 2 progrium/stress --cpu 1 --timeout 300s";

/// The seed command, then ps, inspect, stop, rm; returns nothing, asserts everything.
async fn seed_lifecycle(client: &DockerClient) {
    let out = docker(client, SEED).await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    let id = out.container_id.clone().expect("an id");
    assert_eq!(out.stdout, format!("{id}\n"));
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");

    let ps = docker(client, "ps").await;
    assert_eq!(ps.exit_code, 0, "{ps:?}");
    let lines: Vec<&str> = ps.stdout.lines().collect();
    assert!(
        lines[0].starts_with("CONTAINER ID   IMAGE") && lines[0].ends_with("NAMES"),
        "{}",
        ps.stdout
    );
    let row = lines
        .iter()
        .find(|l| l.starts_with(&id[..12]))
        .unwrap_or_else(|| panic!("{id} in\n{}", ps.stdout));
    assert!(
        row.contains("progrium/stress") && row.contains("Up "),
        "{row}"
    );
    let q = docker(client, "ps -q").await;
    assert!(q.stdout.lines().any(|l| l == &id[..12]), "{q:?}");

    let details = client.inspect_container(&id).await.unwrap();
    assert!(details.running, "{details:?}");
    assert_eq!(details.memory_bytes, 4_294_967_296);
    assert_eq!(details.cpuset_cpus, "2");
    assert_eq!(details.image, "progrium/stress");
    let listed = client.containers(false).await.unwrap();
    let mine = listed.iter().find(|c| c.id == id).expect("listed");
    assert_eq!(mine.state, "running");
    assert_eq!(mine.names, std::slice::from_ref(&details.name));

    let inspect = docker(client, &format!("inspect {}", &id[..12])).await;
    assert_eq!(inspect.exit_code, 0, "{inspect:?}");
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(v[0]["HostConfig"]["Memory"], 4_294_967_296_i64);
    assert!(
        inspect.stdout.starts_with("[\n    {\n"),
        "{}",
        inspect.stdout
    );

    let stop = docker(client, &format!("stop {id}")).await;
    assert_eq!(
        (stop.exit_code, stop.stdout.clone()),
        (0, format!("{id}\n")),
        "{stop:?}"
    );
    let details = client.inspect_container(&id).await.unwrap();
    assert_eq!(
        (details.running, details.status.as_str()),
        (false, "exited")
    );
    let rm = docker(client, &format!("rm {}", details.name)).await;
    assert_eq!(rm.exit_code, 0, "{rm:?}");
    assert_eq!(rm.stdout, format!("{}\n", details.name));
    let all = docker(client, "ps -aq").await;
    assert!(!all.stdout.contains(&id[..12]), "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_from_the_printed_environment() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("vchcm");
    let lines = create_vch(&sim, "vchcm", "127.0.1.210", &certs, &[]).await;
    let env = line_after(&lines, "Docker environment variables:");
    assert!(
        env.starts_with("DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="),
        "{env}"
    );
    let global = GlobalOptions::from_env_line(&env).unwrap();
    let client = DockerClient::new(&global).unwrap();
    assert_eq!(client.url(), "tcp://127.0.1.210:2376");

    // The first run pulls, as the CLI does.
    seed_lifecycle(&client).await;
    let out = docker(&client, "run -d --name web nginx").await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    assert!(
        out.stderr
            .starts_with("Unable to find image 'nginx:latest' locally\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("Status: Downloaded newer image for nginx:latest"),
        "{}",
        out.stderr
    );

    // The `Connect to docker:` command works as printed.
    let hint = line_after(&lines, "Connect to docker:");
    let inv = parse_line(&hint).unwrap();
    assert_eq!(inv.command, CliCommand::Info);
    let by_hint = DockerClient::new(&inv.global).unwrap();
    let info = by_hint.execute(&inv.command).await.unwrap();
    assert!(info.stdout.contains(" Name: vchcm\n"), "{}", info.stdout);

    // A daemon refusal in the CLI's words: a name conflict fails `run` with 125.
    let out = docker(&client, "run -d --name web nginx").await;
    assert_eq!(out.exit_code, 125, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "docker: Error response from daemon: conflict. The name \"web\" is already in use"
        ),
        "{}",
        out.stderr
    );
    assert!(matches!(
        out.error,
        Some(ClientError::Daemon { status: 409, .. })
    ));
    assert_eq!(out.container_id, None);

    // The real CLI with the same flags sees the same containers.
    let ca = certs.join("ca.pem").display().to_string();
    let cert = certs.join("cert.pem").display().to_string();
    let key = certs.join("key.pem").display().to_string();
    let cfg = tempfile::tempdir().unwrap();
    let mut real = argv(&format!(
        "-H 127.0.1.210:2376 --tlsverify --tlscacert={ca} --tlscert={cert} --tlskey={key}"
    ));
    real.extend(argv("ps -q"));
    let (code, stdout, stderr) = real_docker(cfg.path(), real).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, docker(&client, "ps -q").await.stdout);

    // Server-only (`--tls`) against the mutual endpoint, presenting the client certificate.
    let no_verify = format!("-H 127.0.1.210:2376 --tls --tlscert={cert} --tlskey={key}");
    let g = GlobalOptions::from_args(&argv(&no_verify)).unwrap();
    let out = DockerClient::new(&g)
        .unwrap()
        .execute(&CliCommand::Info)
        .await
        .unwrap();
    assert!(out.stdout.contains(" Name: vchcm\n"), "{out:?}");

    // Refusals at the TLS layer: no client certificate, or a CA that did not sign the
    // server's certificate.
    let g = GlobalOptions::from_args(&argv(&format!(
        "-H 127.0.1.210:2376 --tlsverify --tlscacert={ca}"
    )))
    .unwrap();
    let e = DockerClient::new(&g)
        .unwrap()
        .execute(&CliCommand::Info)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Tls { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("error during connect: TLS with tcp://127.0.1.210:2376 failed:"),
        "{e}"
    );

    let foreign_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let foreign = params.self_signed(&foreign_key).unwrap();
    let foreign_ca = tmp.path().join("foreign-ca.pem");
    std::fs::write(&foreign_ca, foreign.pem()).unwrap();
    let g = GlobalOptions::from_args(&argv(&format!(
        "-H 127.0.1.210:2376 --tlsverify --tlscacert={} --tlscert={cert} --tlskey={key}",
        foreign_ca.display()
    )))
    .unwrap();
    let out = DockerClient::new(&g)
        .unwrap()
        .execute_cli(&command(SEED))
        .await;
    assert_eq!(out.exit_code, 125, "{out:?}");
    assert!(
        matches!(out.error, Some(ClientError::Tls { .. })),
        "{out:?}"
    );
    assert!(
        out.stderr.starts_with("docker: error during connect: TLS"),
        "{}",
        out.stderr
    );

    let out = docker(&client, "rm -f web").await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    delete_vch(&sim, "vchcm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_only_tls_from_the_printed_command() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("vchcs");
    let lines = create_vch(&sim, "vchcs", "127.0.1.211", &certs, &["--no-tlsverify"]).await;
    let hint = line_after(&lines, "Connect to docker:");
    assert!(
        hint.starts_with("docker -H 127.0.1.211:2376 --tls "),
        "{hint}"
    );
    let inv = parse_line(&hint).unwrap();
    assert!(inv.global.tls && !inv.global.tls_verify);
    let client = DockerClient::new(&inv.global).unwrap();
    seed_lifecycle(&client).await;

    // Plain HTTP to the TLS port is refused with the CLI's hint.
    let plain = GlobalOptions::from_args(&argv("-H 127.0.1.211:2376")).unwrap();
    let e = DockerClient::new(&plain)
        .unwrap()
        .execute(&CliCommand::Info)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("TLS-enabled daemon without TLS"),
        "{e}"
    );
    delete_vch(&sim, "vchcs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_lifecycle_matches_the_docker_cli() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("vchcp");
    let lines = create_vch(&sim, "vchcp", "127.0.1.212", &certs, &["--no-tls"]).await;
    let env = line_after(&lines, "Docker environment variables:");
    assert_eq!(
        env,
        "DOCKER_HOST=127.0.1.212:2375 COMPOSE_TLS_VERSION=TLSv1_2"
    );
    let client = DockerClient::new(&GlobalOptions::from_env_line(&env).unwrap()).unwrap();
    seed_lifecycle(&client).await;

    // Logs of the seed command, then kill and rm -f.
    let run = docker(
        &client,
        "run -d --name hog progrium/stress --cpu 1 --timeout 300s",
    )
    .await;
    assert_eq!(run.exit_code, 0, "{run:?}");
    let logs = docker(&client, "logs hog").await;
    assert!(logs.stdout.contains("dispatching hogs: 1 cpu"), "{logs:?}");
    let kill = docker(&client, "kill hog").await;
    assert_eq!(
        (kill.exit_code, kill.stdout.as_str()),
        (0, "hog\n"),
        "{kill:?}"
    );
    let d = client.inspect_container("hog").await.unwrap();
    assert_eq!((d.running, d.exit_code), (false, 137), "{d:?}");

    // A container that exits: wait prints its code; rename; filters.
    let run = docker(&client, "run -d --name sleeper busybox sleep 5").await;
    assert_eq!(run.exit_code, 0, "{run:?}");
    sim.vc.advance(10_000);
    let wait = docker(&client, "wait sleeper").await;
    assert_eq!(
        (wait.exit_code, wait.stdout.as_str()),
        (0, "0\n"),
        "{wait:?}"
    );
    let rename = docker(&client, "rename sleeper napper").await;
    assert_eq!(
        (rename.exit_code, rename.stdout.as_str()),
        (0, ""),
        "{rename:?}"
    );
    let ps = docker(&client, "ps -a --filter name=napper").await;
    assert!(
        ps.stdout.contains("Exited (0)") && ps.stdout.contains("napper"),
        "{ps:?}"
    );
    assert_eq!(ps.stdout.lines().count(), 2, "{}", ps.stdout);

    // Errors as the CLI prints them, compared with the real CLI on the same endpoint.
    let cfg = tempfile::tempdir().unwrap();
    let host = argv("-H 127.0.1.212:2375");
    let real = |line: &str| {
        let mut a = host.clone();
        a.extend(argv(line));
        real_docker(cfg.path(), a)
    };
    // Only commands that leave the endpoint as they found it, so both see the same state.
    let mut differ = Vec::new();
    for line in [
        "ps -a -q",
        "run -d nosuch/image",
        "run -d --name hog busybox",
        "create --name hog busybox",
        "stop nosuch",
        "start nosuch",
        "kill napper",
        "rm nosuch",
        "logs nosuch",
        "inspect nosuch",
        "container inspect nosuch",
        "image inspect nosuch",
        "inspect --type image busybox",
        "ps -a -q --filter status=exited",
        "wait nosuch",
        "rename nosuch x",
    ] {
        let (code, stdout, stderr) = real(line).await;
        let ours = docker(&client, line).await;
        if (ours.exit_code, ours.stdout.as_str(), ours.stderr.as_str())
            != (code, stdout.as_str(), stderr.as_str())
        {
            differ.push(format!(
                "{line}:\n  CLI:  {code} {stdout:?} {stderr:?}\n  ours: {} {:?} {:?}",
                ours.exit_code, ours.stdout, ours.stderr
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));

    // Nothing listens: the CLI's words, exit 1.
    let g = GlobalOptions::from_args(&argv("-H tcp://127.0.1.213:2375")).unwrap();
    let out = DockerClient::new(&g)
        .unwrap()
        .execute_cli(&command("ps"))
        .await;
    assert_eq!(out.exit_code, 1);
    assert_eq!(
        out.stderr,
        "Cannot connect to the Docker daemon at tcp://127.0.1.213:2375. Is the docker daemon running?\n"
    );
    let out = docker(&client, "rm -f napper").await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    delete_vch(&sim, "vchcp").await;
}

/// Foreground `run` and `exec` over upgraded connections: output, exit codes, `--rm`, and
/// the daemon's refusals as the CLI prints them.
async fn attached_commands(client: &DockerClient) {
    let out = docker(client, "pull -q busybox").await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    let out = docker(client, "run busybox echo hi").await;
    assert_eq!(
        (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "hi\n", ""),
        "{out:?}"
    );
    // The emulated shell has no redirections; cat's complaint goes to stderr.
    let nope = "cat: can't open '/nope': No such file or directory\n";
    let out = docker(client, "run busybox sh -c 'cat /nope; exit 3'").await;
    assert_eq!(
        (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
        (3, "", nope),
        "{out:?}"
    );
    let out = docker(client, "run --rm busybox true").await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    let id = out.container_id.clone().expect("an id");
    let gone = client.inspect_container(&id).await.unwrap_err();
    assert!(gone.is_daemon(404), "{gone}");

    // exec in a running container, then in a stopped one.
    let run = docker(client, "run -d busybox sleep 3600").await;
    assert_eq!(run.exit_code, 0, "{run:?}");
    let id = run.container_id.clone().expect("an id");
    let out = docker(client, &format!("exec {id} echo hi")).await;
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, "hi\n"), "{out:?}");
    let out = docker(client, &format!("exec {id} sh -c 'cat /nope; exit 4'")).await;
    assert_eq!((out.exit_code, out.stderr.as_str()), (4, nope), "{out:?}");
    let out = docker(client, &format!("exec -d {id} sleep 5")).await;
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, ""), "{out:?}");
    let out = docker(client, &format!("kill {id}")).await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    let out = docker(client, &format!("exec {id} echo hi")).await;
    assert_eq!(out.exit_code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!("Error response from daemon: Container {id} is not running\n")
    );
    let out = docker(client, "exec nosuch echo hi").await;
    assert_eq!(
        (out.exit_code, out.stderr.as_str()),
        (1, "Error response from daemon: No such container: nosuch\n"),
        "{out:?}"
    );
    let out = docker(client, &format!("rm -f {id}")).await;
    assert_eq!(out.exit_code, 0, "{out:?}");
}

/// [`start_sim`] with the tether's interaction hub given to the endpoint, which attach and
/// exec streams go through.
async fn start_sim_with_streams() -> Sim {
    let tether = Arc::new(TetherAgent::new());
    let appliance = ApplianceAgent::new(engine_launcher()).with_interaction(tether.hub());
    sim::start(vec![Arc::new(appliance), tether]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_run_and_exec_over_server_tls() {
    let sim = start_sim_with_streams().await;
    let tmp = tempfile::tempdir().unwrap();
    let ip = sim::free_client_ip().to_string();
    let lines = create_vch(
        &sim,
        "vchat",
        &ip,
        &tmp.path().join("c"),
        &["--no-tlsverify"],
    )
    .await;
    let inv = parse_line(&line_after(&lines, "Connect to docker:")).unwrap();
    let client = DockerClient::new(&inv.global).unwrap();
    attached_commands(&client).await;
    delete_vch(&sim, "vchat").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_run_and_exec_over_plain_http() {
    let sim = start_sim_with_streams().await;
    let tmp = tempfile::tempdir().unwrap();
    let ip = sim::free_client_ip().to_string();
    let lines = create_vch(&sim, "vchap", &ip, &tmp.path().join("c"), &["--no-tls"]).await;
    let env = line_after(&lines, "Docker environment variables:");
    let client = DockerClient::new(&GlobalOptions::from_env_line(&env).unwrap()).unwrap();
    attached_commands(&client).await;
    delete_vch(&sim, "vchap").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_through_the_built_in_client() {
    let sim = start_sim_with_streams().await;
    let tmp = tempfile::tempdir().unwrap();
    let ip = sim::free_client_ip().to_string();
    let lines = create_vch(
        &sim,
        "vchvol",
        &ip,
        &tmp.path().join("c"),
        &["--no-tls", "--volume-store", "LocalDS_0/volumes:default"],
    )
    .await;
    let env = line_after(&lines, "Docker environment variables:");
    let client = DockerClient::new(&GlobalOptions::from_env_line(&env).unwrap()).unwrap();
    let out = docker(&client, "volume create -o Capacity=2G data").await;
    assert_eq!(
        (out.exit_code, out.stdout.as_str()),
        (0, "data\n"),
        "{out:?}"
    );
    let out = docker(&client, "volume ls").await;
    assert_eq!(
        out.stdout, "DRIVER              VOLUME NAME\nvsphere             data\n",
        "{out:?}"
    );
    let out = docker(&client, "volume inspect data").await;
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["Driver"], "vsphere", "{out:?}");
    // A named and an anonymous volume in a foreground run; the named one is then in use.
    let out = docker(
        &client,
        "run --name user -v data:/data -v /scratch busybox true",
    )
    .await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    let d = client.inspect_container("user").await.unwrap();
    assert_eq!(d.name, "user");
    let out = docker(&client, "volume ls -q").await;
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
    let out = docker(&client, "volume rm data").await;
    assert_eq!(out.exit_code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("Error response from daemon: volume data in use by "),
        "{out:?}"
    );
    let out = docker(&client, "rm -v user").await;
    assert_eq!(out.exit_code, 0, "{out:?}");
    let out = docker(&client, "volume rm data").await;
    assert_eq!(
        (out.exit_code, out.stdout.as_str()),
        (0, "data\n"),
        "{out:?}"
    );
    let out = docker(&client, "volume ls -q").await;
    assert_eq!(out.stdout, "", "{out:?}");
    let out = docker(&client, "volume rm nosuch").await;
    assert_eq!(out.exit_code, 1, "{out:?}");
    delete_vch(&sim, "vchvol").await;
}
