//! The Docker Container Host end to end, as the VIC 1.2 DCH blog post drives it: a VCH
//! deployed by `vic-machine create`, `docker run -d -p <port>:2375 vmware/dch-photon:1.13`
//! on it, then the **real docker CLI** pointed at `<VCH client address>:<port>` — the
//! emulated native Docker 1.13.1 engine inside that containerVM, not VIC's endpoint.
//!
//! Addresses and ports are picked at run time ([`sim::free_client_ip`], a free host port on
//! it); every docker CLI run is bounded by [`CLI_TIMEOUT`].

use crate::sim::{self, Sim};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use vic::appliance::{ApplianceAgent, engine_launcher};
use vic::engine::client::{parse_command, split_words};
use vic::tether::TetherAgent;

/// How long one docker CLI run may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// The emulator (cluster `DC0_C0`, port group `DC0_DVPG0`) with the appliance and the
/// tether, the endpoints given the tether's services.
async fn start_sim() -> Sim {
    start_sim_with(Arc::new(TetherAgent::new())).await
}

/// [`start_sim`] with a given tether (whose services the caller also uses).
pub(crate) async fn start_sim_with(tether: Arc<TetherAgent>) -> Sim {
    let appliance = ApplianceAgent::new(engine_launcher())
        .with_interaction(tether.hub())
        .with_services(tether.services());
    let inventory = vcsim::InventorySpec::parse(
        "port_groups = [\"routable-pg\"]\n[[cluster]]\nname = \"DC0_C0\"\nhosts = [{ name = \"esx0\" }]",
    )
    .unwrap();
    let config = vcsim::Config {
        inventory: Some(inventory),
        ..vcsim::Config::default()
    };
    let agents: Vec<Arc<dyn vcsim::GuestAgent>> = vec![Arc::new(appliance), tether];
    // 20× real time: a build ends at the model's next 20 s ticks, a second or two away.
    sim::start_with_speed(config, agents, 20.0).await
}

/// The output of one docker CLI run.
#[derive(Debug)]
pub(crate) struct Cli {
    pub(crate) ok: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs the real docker CLI against `host` (`tcp://…`) in `dir` with a private config,
/// bounded by [`CLI_TIMEOUT`] (then the child is killed and the test fails).
pub(crate) async fn docker(host: &str, dir: &Path, args: &[&str]) -> Cli {
    let mut cmd = std::process::Command::new("docker");
    cmd.arg("-H")
        .arg(host)
        .args(args)
        .current_dir(dir)
        .env("DOCKER_CONFIG", dir.join(".docker"))
        // The classic builder: the DCH's engine predates BuildKit.
        .env("DOCKER_BUILDKIT", "0")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_API_VERSION")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("docker runs");
    let pid = child.id();
    let waited = tokio::time::timeout(
        CLI_TIMEOUT,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    let Ok(out) = waited else {
        // Ends only the child this test started, by its id.
        let _ = std::process::Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .status();
        panic!("docker {args:?} did not finish within {CLI_TIMEOUT:?}");
    };
    let out = out.unwrap().expect("docker output");
    Cli {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`docker`] that must succeed; its stdout.
pub(crate) async fn ok(host: &str, dir: &Path, args: &[&str]) -> String {
    let out = docker(host, dir, args).await;
    assert!(out.ok, "docker {args:?}: {out:?}");
    out.stdout
}

/// The IMAGE ID column of `docker images` for `repo`.
pub(crate) fn image_id_of(images: &str, repo: &str) -> Option<String> {
    images.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.first() == Some(&repo)).then(|| cols.get(2).map(|s| (*s).to_owned()))?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docker_cli_drives_a_dch_through_the_vch_port_forward() {
    assert!(
        crate::engine::have_docker_cli(),
        "no docker CLI on PATH: run `bash scripts/test.sh` (it installs one) or install one"
    );
    let sim = start_sim().await;
    let ip = sim::free_client_ip();
    let vch = sim::plain_vch(&sim, "vchdch", ip, &[]).await;
    let port = sim::free_port(ip);
    let run = format!("run -d --name dch -h dch01 -m 4g -p {port}:2375 vmware/dch-photon:1.13");
    let cmd = parse_command(&split_words(&run).unwrap()).unwrap();
    let out = vch.execute_cli(&cmd).await;
    assert_eq!(out.exit_code, 0, "{run}: {out:?}");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let host = format!("tcp://{ip}:{port}");

    // The CLI negotiates down to API 1.26 from the ping's Api-Version header.
    let version = ok(&host, d, &["version"]).await;
    let server = version
        .split("Server:")
        .nth(1)
        .unwrap_or_else(|| panic!("{version}"));
    assert!(server.contains("1.13.1"), "{version}");
    assert!(server.contains("1.26"), "{version}");
    let fmt = ok(&host, d, &["version", "--format", "{{.Server.Version}}"]).await;
    assert_eq!(fmt.trim(), "1.13.1");

    let info = ok(&host, d, &["info"]).await;
    for text in [
        "Server Version: 1.13.1",
        "Storage Driver: overlay2",
        "Operating System: VMware Photon OS/Linux",
        "Images: 0",
        // The containerVM it runs in: its hostname and size.
        "Name: dch01",
        "Total Memory: 4GiB",
    ] {
        assert!(info.contains(text), "{text} in\n{info}");
    }

    let pull = ok(&host, d, &["pull", "busybox"]).await;
    assert!(
        pull.contains("Status: Downloaded newer image for busybox:latest"),
        "{pull}"
    );
    let missing = docker(&host, d, &["pull", "nope/nothing"]).await;
    assert!(!missing.ok, "{missing:?}");
    assert!(
        missing
            .stderr
            .contains("repository nope/nothing not found: does not exist or no pull access"),
        "{missing:?}"
    );

    ok(
        &host,
        d,
        &["tag", "busybox", "registry.corp.local/justait/busybox:1"],
    )
    .await;
    let images = ok(&host, d, &["images"]).await;
    let plain = image_id_of(&images, "busybox").unwrap_or_else(|| panic!("{images}"));
    let tagged = image_id_of(&images, "registry.corp.local/justait/busybox")
        .unwrap_or_else(|| panic!("{images}"));
    assert_eq!(plain, tagged, "{images}");
    assert_eq!(plain.len(), 12, "{images}");

    // The VCH's own endpoint has not seen these images: the DCH is a separate engine.
    let line = "inspect registry.corp.local/justait/busybox:1";
    let vch_inspect = vch
        .execute_cli(&parse_command(&split_words(line).unwrap()).unwrap())
        .await;
    assert_ne!(vch_inspect.exit_code, 0, "{vch_inspect:?}");

    let rmi = ok(&host, d, &["rmi", "registry.corp.local/justait/busybox:1"]).await;
    assert!(
        rmi.contains("Untagged: registry.corp.local/justait/busybox:1") && !rmi.contains("Deleted"),
        "{rmi}"
    );
    let rmi = ok(&host, d, &["rmi", "busybox"]).await;
    assert!(rmi.contains("Deleted: sha256:"), "{rmi}");
    let images = ok(&host, d, &["images", "-q"]).await;
    assert_eq!(images.trim(), "", "{images}");

    // Step 3 of the seed workflow: build the patched nginx on the DCH (the legacy builder,
    // which is what the CLI uses against an API 1.26 engine).
    std::fs::write(
        d.join("Dockerfile"),
        "FROM nginx:latest\nRUN apt-get update && apt-get upgrade -y\n",
    )
    .unwrap();
    let tag = "registry.corp.local/justait/nginx:patched";
    let build = docker(&host, d, &["build", "-t", tag, d.to_str().unwrap()]).await;
    assert!(build.ok, "{build:?}");
    for text in [
        "Step 1/2 : FROM nginx:latest",
        "Step 2/2 : RUN apt-get update && apt-get upgrade -y",
        "Successfully built ",
        &format!("Successfully tagged {tag}"),
    ] {
        assert!(build.stdout.contains(text), "{text} in {build:?}");
    }
    let images = ok(
        &host,
        d,
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
    )
    .await;
    assert!(images.lines().any(|l| l == tag), "{images}");
    assert!(
        images.lines().any(|l| l == "nginx:latest"),
        "the base was pulled: {images}"
    );
    // A malformed Dockerfile: docker's parse error, exit 1.
    std::fs::write(d.join("Dockerfile"), "FROM busybox\nFOO bar\n").unwrap();
    let bad = docker(&host, d, &["build", d.to_str().unwrap()]).await;
    assert!(!bad.ok, "{bad:?}");
    assert!(
        format!("{}{}", bad.stdout, bad.stderr)
            .contains("Dockerfile parse error line 2: unknown instruction: FOO"),
        "{bad:?}"
    );
}
