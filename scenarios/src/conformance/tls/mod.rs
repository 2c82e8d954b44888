//! The TLS suite (vic.md §4): VCHs created with `vic-machine create` in each TLS mode on the
//! in-process emulator, then reached with the real docker CLI in every client role, their
//! generated files and certificates read back, vic-machine's certificate validation errors
//! provoked, and a redeploy into an existing certificate directory.
//!
//! Four VCHs are deployed (mutual TLS, `--no-tlsverify`, `--no-tls`, custom certificates), one
//! of them twice (the redeploy). Each gets a static `--client-network-ip` in `127.0.1.200–254`
//! (the generated server certificate carries it as its cname and IP SAN); addresses are handed
//! out per process and skipped when something already listens there.
//!
//! Modes: `docker-cli` (the real `docker` on `PATH`, with a private `HOME`; when it is missing
//! those cases fail saying so), `vic-machine` (its output and the files it wrote), `engine`
//! (raw TCP/TLS/HTTP probes of the endpoint) and `client` (`vic::engine::client` following
//! the printed hints).
//!
//! This file holds the run and its shared context; the cases live in [`mutual`] (what a
//! default create prints and writes), [`roles`] (the docker CLI against mutual TLS),
//! [`modes`] (`--no-tlsverify`, `--no-tls`, the Rust client), [`custom`] (custom
//! certificates) and [`redeploy`] (cname errors, reuse on redeploy).

mod certs;
mod cli;
mod custom;
mod deploy;
mod modes;
mod mutual;
mod probe;
mod redeploy;
mod roles;
mod vch;

use std::fs;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Mutex;

use self::cli::{DockerCli, refused};
use self::vch::{Vch, s, write};
use super::{Artifact, CaseResult, Suite, SuiteContext, SuiteResult};
use crate::testbed::{Testbed, TestbedConfig};

const CLI: &str = "docker-cli";
const MACHINE: &str = "vic-machine";
const ENGINE: &str = "engine";
const CLIENT: &str = "client";

/// Compute resource and bridge network of the default inventory.
const COMPUTE: &str = "DC0_C0";
const BRIDGE: &str = "DC0_DVPG0";

/// The docker CLI's error fragments the cases expect (docker 20.10–28; Go's crypto/tls).
const NO_CERT: &str = "remote error: tls: certificate required";
const EXPIRED: &str = "remote error: tls: expired certificate";
const BAD_SIGNATURE: &str = "remote error: tls: error decrypting message";
const NOT_CLIENT_CERT: &str = "remote error: tls: unsupported certificate";
const UNKNOWN_SERVER_CA: &str = "x509: certificate signed by unknown authority";
const PLAIN_TO_TLS: &str = "TLS-enabled daemon without TLS";
const TLS_TO_PLAIN: &str = "server gave HTTP response to HTTPS client";

/// vic-machine's messages (vic.md §4.2).
const WARN_NO_TLS: &str = "Configuring without TLS - all communications will be insecure";
const WARN_NO_VERIFY: &str =
    "Configuring without TLS verify - certificate-based authentication disabled";

/// The generated mutual-TLS file set and modes (vic.md §4.3).
const MUTUAL_FILES: [(&str, &str); 6] = [
    ("ca.pem", "0644"),
    ("ca-key.pem", "0600"),
    ("server-cert.pem", "0644"),
    ("server-key.pem", "0600"),
    ("cert.pem", "0644"),
    ("key.pem", "0600"),
];

/// Runs the suite.
pub(super) async fn run(ctx: &SuiteContext) -> SuiteResult {
    let mut result = SuiteResult::new(Suite::Tls);
    if !ctx.testbed {
        result.notes.push(
            "testbed disabled: every TLS case needs vic-machine, the endpoint and the docker CLI"
                .into(),
        );
        return testbed_failure(
            result,
            "the TLS suite runs on the testbed",
            "testbed running",
            "testbed disabled".into(),
        );
    }
    let dir = match tempfile::Builder::new().prefix("vicbed-tls-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            return testbed_failure(
                result,
                "the TLS suite's working directory",
                "created",
                format!("cannot create a temporary directory: {e}"),
            );
        }
    };
    let tb = match Testbed::start(TestbedConfig::default()).await {
        Ok(tb) => tb,
        Err(e) => {
            return testbed_failure(
                result,
                "the in-process emulator starts",
                "testbed running",
                format!("testbed: {e}"),
            );
        }
    };
    let root = std::path::absolute(dir.path()).unwrap_or_else(|_| dir.path().to_path_buf());
    let home = root.join("home");
    let clients = root.join("clients");
    for d in [&home, &clients] {
        if let Err(e) = fs::create_dir_all(d) {
            result
                .notes
                .push(format!("cannot create {}: {e}", d.display()));
        }
    }
    let docker = DockerCli::locate(&home);
    let mut run = Run {
        tb: &tb,
        root,
        clients,
        docker,
        r: result,
        made: Vec::new(),
    };
    run.note_docker().await;
    run.all().await;
    run.cleanup().await;
    let result = run.r;
    tb.shutdown().await;
    drop(dir);
    result
}

/// `result` with the failed `tls-testbed` case.
fn testbed_failure(
    mut result: SuiteResult,
    description: &str,
    expected: &str,
    observed: String,
) -> SuiteResult {
    result.cases.push(CaseResult::check(
        "tls-testbed",
        description,
        expected,
        observed,
        MACHINE,
    ));
    result
}

/// Addresses handed out in this process (a suite may run twice in one process, e.g. tests).
fn next_ip() -> Ipv4Addr {
    static CURSOR: Mutex<u8> = Mutex::new(200);
    let Ok(mut cursor) = CURSOR.lock() else {
        return Ipv4Addr::new(127, 0, 1, 254);
    };
    for _ in 0..55 {
        let n = *cursor;
        *cursor = if n >= 254 { 200 } else { n + 1 };
        let ip = Ipv4Addr::new(127, 0, 1, n);
        let free = [2375u16, 2376]
            .iter()
            .all(|p| std::net::TcpListener::bind((ip, *p)).is_ok());
        if free {
            return ip;
        }
    }
    Ipv4Addr::new(127, 0, 1, *cursor)
}

/// Client material written for the docker CLI.
struct Material {
    foreign_ca: String,
    foreign_cert: String,
    foreign_key: String,
}

/// The suite's state: the testbed, the working directories, the docker CLI and the result.
struct Run<'a> {
    tb: &'a Testbed,
    root: PathBuf,
    clients: PathBuf,
    docker: DockerCli,
    r: SuiteResult,
    /// VCH names to delete at the end.
    made: Vec<String>,
}

impl Run<'_> {
    fn case(
        &mut self,
        id: &str,
        description: &str,
        expected: impl Into<String>,
        observed: impl Into<String>,
        mode: &str,
    ) {
        self.r
            .cases
            .push(CaseResult::check(id, description, expected, observed, mode));
    }

    /// Keeps vic-machine's output of a create as an artifact.
    fn keep_log(&mut self, name: &str, vch: &Result<Vch, String>) {
        if let Ok(v) = vch {
            self.r.artifacts.push(Artifact {
                name: name.into(),
                content: v.lines.join("\n"),
            });
        }
    }

    async fn note_docker(&mut self) {
        match self.docker.program() {
            Err(why) => self.r.notes.push(why.to_owned()),
            Ok(p) => {
                let p = p.display().to_string();
                let version = match self.docker.run(&s(&["--version"]), &[]).await {
                    Ok(r) => r.stdout.trim().to_owned(),
                    Err(e) => e,
                };
                self.r.notes.push(format!(
                    "docker CLI: {p} ({version}), HOME set to a private directory"
                ));
            }
        }
        self.r.notes.push(
            "cert.pfx (VIC writes it when openssl is on the installer's PATH) is not generated \
             by the testbed; the file-set cases leave it out"
                .into(),
        );
    }

    async fn all(&mut self) {
        let material = self.material();
        let mutual_ip = next_ip();
        let mutual_dir = self.root.join("mutual");
        let mutual = self
            .create("tls-mutual", Some(mutual_ip), &mutual_dir, &[])
            .await;
        self.keep_log("tls-mutual-create.log", &mutual);
        self.mutual_output(&mutual, mutual_ip, &mutual_dir).await;
        self.mutual_certificates(&mutual, mutual_ip);
        self.mutual_clients(&mutual, &material).await;

        let server_ip = next_ip();
        let server_dir = self.root.join("server");
        let no_verify = s(&["--no-tlsverify"]);
        let server = self
            .create("tls-server", Some(server_ip), &server_dir, &no_verify)
            .await;
        self.server_only(&server, server_ip, &mutual).await;

        let plain_ip = next_ip();
        let plain_dir = self.root.join("plain");
        let plain = self
            .create("tls-plain", Some(plain_ip), &plain_dir, &s(&["--no-tls"]))
            .await;
        self.plain(&plain, plain_ip, &plain_dir, &material).await;

        self.custom().await;
        self.selection(&mutual_dir, mutual_ip).await;
        let mutual = self.reuse(mutual, mutual_ip, &mutual_dir).await;
        self.rust_client(&[&mutual, &server, &plain]).await;
    }

    /// A foreign CA and a client certificate it signed, written for the docker CLI.
    fn material(&mut self) -> Result<Material, String> {
        let ca = certs::Ca::new("vicbed foreign CA")?;
        let client = ca.client()?;
        Ok(Material {
            foreign_ca: write(&self.clients.join("foreign-ca.pem"), &ca.pem)?,
            foreign_cert: write(&self.clients.join("foreign-cert.pem"), &client.cert)?,
            foreign_key: write(&self.clients.join("foreign-key.pem"), &client.key)?,
        })
    }
}
