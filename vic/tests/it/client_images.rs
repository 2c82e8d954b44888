//! The built-in docker client's image workflow against a Docker Container Host served in
//! this process (no VCH, no tether): `build` of a context directory, `images`, `tag`, then
//! `login`, `push` and `pull` against a real registry (Harbor-shaped, TLS from its own CA,
//! a private project) that the DCH resolves through its `RegistryHosts`.
//!
//! The DCH is served as the tether would serve it, through `guestnet`: registered in a
//! `Services` under a bridge address and reached by a forward from a loopback listener.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use vic::dch::{Dch, Host};
use vic::engine::client::{CliOutput, DockerClient, GlobalOptions, parse_command, split_words};
use vic::guestnet::{EndpointAddr, Forwards, Recognised, Registration, Services};
use vic::images::Catalogue;
use vic::registry_hosts::RegistryHosts;

const REGISTRY: &str = "registry.corp.local";
const IMAGE: &str = "registry.corp.local/justait/nginx:patched";
const PASSWORD: &str = "dev-pw-in-test";

/// A DCH resolving `registries`, served on a loopback port; what keeps it served, and a
/// client for it.
struct ServedDch {
    _services: Arc<Services>,
    _forwards: Forwards,
    client: DockerClient,
}

async fn serve_dch(registries: &Arc<RegistryHosts>) -> ServedDch {
    let dch = Dch::new(Host::default(), Catalogue::builtin())
        .with_registries(registries.clone(), Vec::new());
    let services = Services::new();
    let problems = services.register(Registration {
        owner: "dch".into(),
        server: Recognised {
            service: Arc::new(dch),
            ports: vec![vic::dch::PORT],
            meter: None,
        },
        endpoints: vec![EndpointAddr {
            network: "bridge".into(),
            iface: "eth0".into(),
            ip: IpAddr::V4(Ipv4Addr::new(172, 16, 0, 2)),
            prefix: 16,
            redirects: Vec::new(),
        }],
        rules: None,
    });
    assert!(problems.is_empty(), "{problems:?}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let forwards = Forwards::default();
    forwards.open("dch", vec![(listener, vic::dch::PORT)], Some(&services));
    let global =
        GlobalOptions::from_args(&["-H".into(), format!("127.0.0.1:{port}")]).expect("options");
    ServedDch {
        _services: services,
        _forwards: forwards,
        client: DockerClient::new(&global).expect("client"),
    }
}

/// Runs one docker command line (without `docker`).
async fn docker(client: &DockerClient, line: &str) -> CliOutput {
    let cmd = parse_command(&split_words(line).expect("words")).expect("parses");
    client.execute(&cmd).await.expect("no transport failure")
}

/// [`docker`], which must succeed; its stdout.
async fn ok(client: &DockerClient, line: &str) -> String {
    let out = docker(client, line).await;
    assert_eq!(out.exit_code, 0, "{line}: {out:?}");
    out.stdout
}

/// `to` relative to the current directory (`../../tmp/…`), to build from a relative path.
fn relative_to_cwd(to: &Path) -> PathBuf {
    let cwd = std::env::current_dir().expect("cwd");
    let ups = cwd
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let mut rel: PathBuf = std::iter::repeat_n("..", ups).collect();
    rel.extend(
        to.components()
            .filter(|c| matches!(c, Component::Normal(_))),
    );
    rel
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_tag_login_push_and_pull_with_the_built_in_client() {
    let reg = crate::dch_registry::start_registry(None, PASSWORD).await;
    let registries = Arc::new(RegistryHosts::default());
    registries.insert(REGISTRY, (&reg).into());
    let dch = serve_dch(&registries).await;
    let c = &dch.client;

    // The seed build, from a context directory with a nested file and ignored ones.
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("Dockerfile"),
        "FROM nginx:latest\nRUN apt-get update && apt-get upgrade -y\nCOPY index.html /usr/share/nginx/html/\nCOPY conf /etc/nginx/conf.d/\nLABEL owner=justait\n",
    )
    .expect("write");
    std::fs::write(d.join("index.html"), "<h1>patched</h1>\n").expect("write");
    std::fs::create_dir_all(d.join("conf")).expect("mkdir");
    std::fs::write(d.join("conf/site.conf"), "server {}\n").expect("write");
    std::fs::write(d.join("secret.log"), "not for the image\n").expect("write");
    std::fs::write(d.join(".dockerignore"), "*.log\n").expect("write");
    let build = docker(c, &format!("build -t {IMAGE} {}", d.display())).await;
    assert_eq!(build.exit_code, 0, "{build:?}");
    assert!(
        build
            .stdout
            .starts_with("Sending build context to Docker daemon  "),
        "{build:?}"
    );
    assert!(
        build.stdout.contains("Step 1/5 : FROM nginx:latest\n"),
        "{build:?}"
    );
    assert!(
        build
            .stdout
            .contains(&format!("Successfully tagged {IMAGE}\n")),
        "{build:?}"
    );
    // No tether paces this DCH: the build reports no virtual duration.
    assert_eq!(build.virtual_ms, None);

    // The ignored file is not in the context: a Dockerfile that copies it fails, and the
    // stream's error is the failure (stderr, exit 1). Built from a relative path.
    std::fs::write(
        d.join("Dockerfile.secret"),
        "FROM nginx:latest\nCOPY secret.log /\n",
    )
    .expect("write");
    let rel = relative_to_cwd(d);
    let line = format!(
        "build -f {} {}",
        d.join("Dockerfile.secret").display(),
        rel.display()
    );
    let failed = docker(c, &line).await;
    assert_eq!(failed.exit_code, 1, "{failed:?}");
    assert!(failed.stderr.contains("COPY failed"), "{failed:?}");
    let missing = docker(c, "build /nonexistent/ctx").await;
    assert_eq!(missing.exit_code, 1, "{missing:?}");
    assert_eq!(
        missing.stderr,
        "unable to prepare context: path \"/nonexistent/ctx\" not found\n"
    );

    // images, tag.
    let table = ok(c, "images").await;
    assert!(
        table.starts_with("REPOSITORY"),
        "the CLI's header first: {table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("registry.corp.local/justait/nginx "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.split_whitespace().nth(1) == Some("patched"), "{row}");
    assert_eq!(ok(c, "tag nginx:latest localhost:5000/x/nginx").await, "");
    let refs = ok(c, "images --format '{{.Repository}}:{{.Tag}}'").await;
    for r in [IMAGE, "nginx:latest", "localhost:5000/x/nginx:latest"] {
        assert!(refs.lines().any(|l| l == r), "{r} in {refs}");
    }
    let ids = ok(c, "images -q nginx").await;
    assert_eq!(ids.lines().count(), 1, "{ids}");
    let refused = docker(c, "tag no-such-image x").await;
    assert_eq!(refused.exit_code, 1, "{refused:?}");
    assert!(
        refused.stderr.starts_with("Error response from daemon: "),
        "{refused:?}"
    );

    // push: without a login the private project refuses it.
    let anonymous = docker(c, &format!("push {IMAGE}")).await;
    assert_eq!(anonymous.exit_code, 1, "{anonymous:?}");
    assert!(anonymous.stderr.contains("unauthorized"), "{anonymous:?}");
    let wrong = docker(c, &format!("login -u dev -p nope {REGISTRY}")).await;
    assert_eq!(wrong.exit_code, 1, "{wrong:?}");
    assert!(
        wrong.stderr.contains("Error response from daemon: ")
            && wrong.stderr.contains("unauthorized"),
        "{wrong:?}"
    );
    assert!(c.logged_in().is_empty());
    let login = ok(c, &format!("login -u dev -p {PASSWORD} {REGISTRY}")).await;
    assert_eq!(login, "Login Succeeded\n");
    assert_eq!(c.logged_in(), [REGISTRY]);
    let push = ok(c, &format!("push {IMAGE}")).await;
    assert!(
        push.starts_with("The push refers to a repository [registry.corp.local/justait/nginx]\n"),
        "{push}"
    );
    assert!(push.contains(": Pushed\n"), "{push}");
    let digest = push
        .lines()
        .find(|l| l.starts_with("patched: digest: sha256:"))
        .unwrap_or_else(|| panic!("{push}"));
    assert!(digest.contains(" size: "), "{digest}");
    assert!(!push.contains("\n\n"), "aux lines are not shown: {push}");

    // Another DCH pulls it: refused without a login, then with the client's login.
    let other = serve_dch(&registries).await;
    let o = &other.client;
    let denied = docker(o, &format!("pull {IMAGE}")).await;
    assert_eq!(denied.exit_code, 1, "{denied:?}");
    ok(
        o,
        &format!("login -u dev -p {PASSWORD} https://{REGISTRY}/v2/"),
    )
    .await;
    assert_eq!(o.logged_in(), [REGISTRY]);
    let pull = ok(o, &format!("pull {IMAGE}")).await;
    assert!(
        pull.contains(&format!("Status: Downloaded newer image for {IMAGE}\n")),
        "{pull}"
    );
    let same_id = |images: &str| {
        images
            .lines()
            .find(|l| l.starts_with("registry.corp.local/justait/nginx "))
            .and_then(|l| l.split_whitespace().nth(2))
            .map(str::to_owned)
    };
    let built_id = same_id(&table).unwrap_or_else(|| panic!("{table}"));
    assert_eq!(
        same_id(&ok(o, "images").await),
        Some(built_id),
        "ids are content hashes"
    );

    // logout forgets the credentials: the next push is anonymous again.
    assert_eq!(
        ok(c, &format!("logout {REGISTRY}")).await,
        format!("Removing login credentials for {REGISTRY}\n")
    );
    assert!(c.logged_in().is_empty());
    let again = docker(c, &format!("push {IMAGE}")).await;
    assert_eq!(again.exit_code, 1, "{again:?}");
}
