//! Steps 3–6 of the seed developer workflow with the real docker CLI and a real registry
//! in between: build on the DCH, `docker login` and `docker push` to the testbed's
//! registry (Harbor-shaped, TLS from its own CA, a private project), then the VCH pulls
//! the image over HTTPS as `vic-machine create --registry-ca` lets it, and runs it. The
//! refusals are VIC's and Docker's: a push without login (`unauthorized`), a VCH without
//! the registry's CA (x509), a VCH whose whitelist leaves the registry out.

use crate::dch::{docker, image_id_of, ok, start_sim_with};
use crate::sim;
use std::sync::Arc;
use vic::engine::client::{parse_command, split_words};
use vic::tether::TetherAgent;

const REGISTRY: &str = "registry.corp.local";
const IMAGE: &str = "registry.corp.local/justait/nginx:patched";

/// A registry with user `dev` and the private project `justait`, TLS from its own CA
/// (written to `certs/ca.crt` when given).
pub(crate) async fn start_registry(
    certs: Option<&std::path::Path>,
    password: &str,
) -> registry::RegistryHandle {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = registry::RegistryConfig {
        host_name: REGISTRY.to_owned(),
        users: vec![registry::User {
            name: "dev".into(),
            password: password.into(),
        }],
        projects: vec![registry::Project {
            name: "justait".into(),
            public: false,
        }],
        tls: registry::TlsMode::Generate {
            cert_dir: certs.map(std::path::Path::to_path_buf),
        },
        ..registry::RegistryConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    registry::serve(config, listener, std::future::pending())
        .await
        .expect("registry serves")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dch_pushes_to_the_registry_and_the_vch_pulls_and_runs_it() {
    assert!(
        crate::engine::have_docker_cli(),
        "no docker CLI on PATH: run `bash scripts/test.sh` (it installs one) or install one"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let certs = d.join("certs");
    let password = "dev-pw-in-test";
    let reg = start_registry(Some(&certs), password).await;
    let tether = Arc::new(TetherAgent::new());
    tether
        .services()
        .registries()
        .insert(REGISTRY, (&reg).into());
    let sim = start_sim_with(tether).await;

    // The VCH trusts the registry's CA (`--registry-ca`), as VIC's admin would set it up,
    // and has the post's routable container network (open: nginx answers there).
    let ca_file = certs.join("ca.crt");
    let ca_arg = format!("--registry-ca={}", ca_file.display());
    let net = crate::guestnet::free_routable_range().expect(crate::guestnet::NEEDS_PORT_80);
    let pg = crate::guestnet::ROUTABLE_PG;
    let (network, range, gateway, firewall) = (
        format!("{pg}:routable"),
        format!("{pg}:{net}.0/24"),
        format!("{pg}:{net}.1/24"),
        format!("{pg}:open"),
    );
    let ip = sim::free_client_ip();
    let vch = sim::plain_vch(
        &sim,
        "vchreg",
        ip,
        &[
            &ca_arg,
            "--container-network",
            &network,
            "--container-network-ip-range",
            &range,
            "--container-network-gateway",
            &gateway,
            "--container-network-firewall",
            &firewall,
        ],
    )
    .await;
    let port = sim::free_port(ip);
    let run = format!("run -d --name dch -p {port}:2375 vmware/dch-photon:1.13");
    let out = vch
        .execute_cli(&parse_command(&split_words(&run).unwrap()).unwrap())
        .await;
    assert_eq!(out.exit_code, 0, "{run}: {out:?}");
    let dch = format!("tcp://{ip}:{port}");
    let vch_host = format!("tcp://{ip}:2375");

    // Step 3: build.
    std::fs::write(
        d.join("Dockerfile"),
        "FROM nginx:latest\nRUN apt-get update && apt-get upgrade -y\nCOPY index.html /usr/share/nginx/html/\nLABEL owner=justait\n",
    )
    .unwrap();
    std::fs::write(d.join("index.html"), "<h1>patched</h1>\n").unwrap();
    let build = docker(&dch, d, &["build", "-t", IMAGE, d.to_str().unwrap()]).await;
    assert!(build.ok, "{build:?}");

    // Step 4: push. Without a login the private project refuses it, as the registry says.
    let refused = docker(&dch, d, &["push", IMAGE]).await;
    assert!(!refused.ok, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("unauthorized: authentication required"),
        "{refused:?}"
    );
    let wrong = docker(&dch, d, &["login", "-u", "dev", "-p", "nope", REGISTRY]).await;
    assert!(!wrong.ok, "{wrong:?}");
    assert!(wrong.stderr.contains("unauthorized"), "{wrong:?}");
    let login = ok(&dch, d, &["login", "-u", "dev", "-p", password, REGISTRY]).await;
    assert!(login.contains("Login Succeeded"), "{login}");
    let push = ok(&dch, d, &["push", IMAGE]).await;
    assert!(
        push.contains("The push refers to a repository [registry.corp.local/justait/nginx]"),
        "{push}"
    );
    assert!(push.contains("Pushed"), "{push}");
    let digest_line = push
        .lines()
        .find(|l| l.starts_with("patched: digest: sha256:"))
        .unwrap_or_else(|| panic!("{push}"));
    // Pushing again uploads nothing and names the same manifest.
    let again = ok(&dch, d, &["push", IMAGE]).await;
    assert!(again.contains("Layer already exists"), "{again}");
    assert!(!again.contains("Pushed"), "{again}");
    assert!(again.contains(digest_line), "{again}");

    // Step 5–6: the VCH pulls it from the registry (the CLI sends the stored login) and
    // holds the same image: ids are content hashes.
    let pull = ok(&vch_host, d, &["pull", IMAGE]).await;
    assert!(
        pull.contains(&format!("Status: Downloaded newer image for {IMAGE}")),
        "{pull}"
    );
    let dch_images = ok(&dch, d, &["images"]).await;
    let vch_images = ok(&vch_host, d, &["images"]).await;
    let repo = "registry.corp.local/justait/nginx";
    assert_eq!(
        image_id_of(&dch_images, repo),
        image_id_of(&vch_images, repo),
        "DCH:\n{dch_images}\nVCH:\n{vch_images}"
    );
    let cmd = ok(
        &vch_host,
        d,
        &[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Cmd}}",
            IMAGE,
        ],
    )
    .await;
    assert_eq!(cmd.trim(), r#"["nginx","-g","daemon off;"]"#);
    // The labels the Dockerfile set came along, and `docker images` filters on them.
    let labels = ok(
        &vch_host,
        d,
        &[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Labels}}",
            IMAGE,
        ],
    )
    .await;
    assert_eq!(labels.trim(), r#"{"owner":"justait"}"#);
    let by_label = ok(
        &vch_host,
        d,
        &[
            "images",
            "--filter",
            "label=owner=justait",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
    )
    .await;
    assert_eq!(by_label.trim(), IMAGE, "{by_label}");
    // Step 6: on the routable network, nginx answers on the container's own address.
    let id = ok(
        &vch_host,
        d,
        &["run", "-d", "--name", "web", "--net", "routable", IMAGE],
    )
    .await;
    assert_eq!(id.trim().len(), 64, "{id}");
    let ps = ok(&vch_host, d, &["ps", "--format", "{{.Image}} {{.Status}}"]).await;
    assert!(ps.contains(&format!("{IMAGE} Up")), "{ps}");
    let addr = ok(
        &vch_host,
        d,
        &[
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.routable.IPAddress}}",
            "web",
        ],
    )
    .await;
    let addr = addr.trim();
    assert!(addr.starts_with(&format!("{net}.")), "{addr} in {net}.0/24");
    // The container carries its image's labels, as dockerd merges them.
    let labels = ok(
        &vch_host,
        d,
        &["inspect", "--format", "{{json .Config.Labels}}", "web"],
    )
    .await;
    assert!(labels.contains(r#""owner":"justait""#), "{labels}");
    let (status, _, body) = crate::guestnet::get(&format!("http://{addr}/"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Welcome to nginx!"), "{body}");

    // A VCH without the registry's CA: Docker's x509 words.
    let ip2 = sim::free_client_ip();
    sim::plain_vch(&sim, "vchnoca", ip2, &[]).await;
    let no_ca = docker(&format!("tcp://{ip2}:2375"), d, &["pull", IMAGE]).await;
    assert!(!no_ca.ok, "{no_ca:?}");
    assert!(
        no_ca
            .stderr
            .contains("x509: certificate signed by unknown authority"),
        "{no_ca:?}"
    );
    // A VCH in whitelist mode without the registry: VIC's refusal.
    let ip3 = sim::free_client_ip();
    sim::plain_vch(
        &sim,
        "vchwl",
        ip3,
        &[&ca_arg, "--whitelist-registry=harbor.other.local"],
    )
    .await;
    let denied = docker(&format!("tcp://{ip3}:2375"), d, &["pull", IMAGE]).await;
    assert!(!denied.ok, "{denied:?}");
    assert!(
        denied.stderr.contains(
            "Access denied to unauthorized registry (registry.corp.local) while VCH is in whitelist mode"
        ),
        "{denied:?}"
    );
    reg.stop().await.unwrap();
}
