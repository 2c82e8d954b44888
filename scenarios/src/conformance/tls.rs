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

#[path = "tls_certs.rs"]
mod certs;
#[path = "tls_cli.rs"]
mod cli;
#[path = "tls_probe.rs"]
mod probe;

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use self::cli::{DockerCli, refused};
use super::{Artifact, CaseResult, Suite, SuiteContext, SuiteResult};
use crate::testbed::{Testbed, TestbedConfig, TestbedError, VchHandle};

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

/// Runs the suite.
pub(super) async fn run(ctx: &SuiteContext) -> SuiteResult {
    let mut result = SuiteResult::new(Suite::Tls);
    if !ctx.testbed {
        result.notes.push(
            "testbed disabled: every TLS case needs vic-machine, the endpoint and the docker CLI"
                .into(),
        );
        result.cases.push(CaseResult::check(
            "tls-testbed",
            "the TLS suite runs on the testbed",
            "testbed running",
            "testbed disabled",
            MACHINE,
        ));
        return result;
    }
    let dir = match tempfile::Builder::new().prefix("vicbed-tls-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            result.cases.push(CaseResult::check(
                "tls-testbed",
                "the TLS suite's working directory",
                "created",
                format!("cannot create a temporary directory: {e}"),
                MACHINE,
            ));
            return result;
        }
    };
    let tb = match Testbed::start(TestbedConfig::default()).await {
        Ok(tb) => tb,
        Err(e) => {
            result.cases.push(CaseResult::check(
                "tls-testbed",
                "the in-process emulator starts",
                "testbed running",
                format!("testbed: {e}"),
                MACHINE,
            ));
            return result;
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

/// A VCH the suite created.
struct Vch {
    name: String,
    ip: IpAddr,
    dir: PathBuf,
    /// vic-machine's lines without the `INFO[0000] ` prefix.
    lines: Vec<String>,
    /// The `Connect to docker:` options.
    docker_args: Vec<String>,
    /// When create started.
    created: OffsetDateTime,
}

impl Vch {
    fn from_handle(h: VchHandle, created: OffsetDateTime) -> Vch {
        Vch {
            lines: h.output.iter().map(|l| strip_log(l).to_owned()).collect(),
            name: h.name,
            ip: h.address,
            dir: h.cert_dir,
            docker_args: h.docker_args,
            created,
        }
    }

    /// The line after `header`.
    fn after(&self, header: &str) -> String {
        self.lines
            .iter()
            .position(|l| l == header)
            .and_then(|i| self.lines.get(i + 1))
            .cloned()
            .unwrap_or_else(|| format!("no line after {header:?}"))
    }

    fn has_line(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// The `Docker environment variables:` line as variables.
    fn env(&self) -> Vec<(String, String)> {
        self.after("Docker environment variables:")
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
            .collect()
    }

    fn docker_host(&self) -> String {
        self.env()
            .into_iter()
            .find(|(k, _)| k == "DOCKER_HOST")
            .map_or_else(|| "no DOCKER_HOST".to_owned(), |(k, v)| format!("{k}={v}"))
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn read(&self, name: &str) -> Result<String, String> {
        fs::read_to_string(self.dir.join(name))
            .map_err(|e| format!("cannot read {}: {e}", self.file(name)))
    }
}

/// A captured line without vic-machine's `INFO[0001] ` prefix.
fn strip_log(line: &str) -> &str {
    let rest = match line.split_once("] ") {
        Some((head, rest)) if head.len() <= 12 && head.contains('[') => rest,
        _ => line,
    };
    rest.trim()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

fn host(ip: IpAddr, port: u16) -> Vec<String> {
    vec!["-H".into(), format!("{ip}:{port}")]
}

fn info() -> Vec<String> {
    s(&["info", "--format", "{{.Name}}"])
}

/// `-H ip:2376 --tlsverify --tlscacert=CA [--tlscert=C --tlskey=K] info --format {{.Name}}`.
fn verify_args(ip: IpAddr, ca: &str, client: Option<(&str, &str)>) -> Vec<String> {
    let mut a = host(ip, 2376);
    a.push("--tlsverify".into());
    a.push(format!("--tlscacert={ca}"));
    if let Some((c, k)) = client {
        a.push(format!("--tlscert={c}"));
        a.push(format!("--tlskey={k}"));
    }
    a.extend(info());
    a
}

#[cfg(unix)]
fn mode_of(p: &Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    match fs::metadata(p) {
        Ok(m) => format!("{:04o}", m.permissions().mode() & 0o777),
        Err(e) => format!("unreadable ({e})"),
    }
}

#[cfg(not(unix))]
fn mode_of(p: &Path) -> String {
    if p.exists() { "exists" } else { "missing" }.to_owned()
}

/// Sorted file names of `dir`.
fn listing(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// File name → bytes.
fn snapshot(dir: &Path, names: &[&str]) -> BTreeMap<String, Option<Vec<u8>>> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), fs::read(dir.join(n)).ok()))
        .collect()
}

fn write(path: &Path, text: &str) -> Result<String, String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// The generated mutual-TLS file set and modes (vic.md §4.3).
const MUTUAL_FILES: [(&str, &str); 6] = [
    ("ca.pem", "0644"),
    ("ca-key.pem", "0600"),
    ("server-cert.pem", "0644"),
    ("server-key.pem", "0600"),
    ("cert.pem", "0644"),
    ("key.pem", "0600"),
];

/// Client material written for the docker CLI.
struct Material {
    foreign_ca: String,
    foreign_cert: String,
    foreign_key: String,
}

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

    /// `vic-machine create` on a static client address with the cert path `dir`.
    async fn create(
        &mut self,
        name: &str,
        ip: Option<Ipv4Addr>,
        dir: &Path,
        extra: &[String],
    ) -> Result<Vch, String> {
        let mut args = s(&[
            "--name",
            name,
            "--compute-resource",
            COMPUTE,
            "--bridge-network",
            BRIDGE,
        ]);
        if let Some(ip) = ip {
            args.push("--client-network-ip".into());
            args.push(format!("{ip}/8"));
        }
        args.push("--tls-cert-path".into());
        args.push(dir.display().to_string());
        args.extend_from_slice(extra);
        let created = OffsetDateTime::now_utc();
        match self.tb.create_vch(&args).await {
            Ok(h) => {
                self.made.push(name.to_owned());
                Ok(Vch::from_handle(h, created))
            }
            Err(TestbedError::Machine { message, .. }) => {
                Err(format!("vic-machine create {name} failed: {message}"))
            }
            Err(e) => Err(format!("vic-machine create {name} failed: {e}")),
        }
    }

    async fn delete(&mut self, name: &str) -> Result<(), String> {
        let (_, r) = self
            .tb
            .vic_machine(
                "delete",
                &s(&["--name", name, "--compute-resource", COMPUTE]),
            )
            .await;
        self.made.retain(|n| n != name);
        r.map_err(|f| format!("vic-machine delete {name} failed: {}", f.message))
    }

    async fn cleanup(&mut self) {
        for name in std::mem::take(&mut self.made) {
            if let Err(e) = self.delete(&name).await {
                self.r.notes.push(e);
            }
        }
    }

    /// Whether `vic-machine ls` lists `name`.
    async fn listed(&self, name: &str) -> String {
        let (lines, r) = self
            .tb
            .vic_machine("ls", &s(&["--compute-resource", COMPUTE]))
            .await;
        if let Err(f) = r {
            return format!("ls failed: {}", f.message);
        }
        let found = lines
            .iter()
            .any(|l| strip_log(l).split_whitespace().nth(2) == Some(name));
        if found { "yes" } else { "no" }.to_owned()
    }

    /// A create that must fail: `failed: <message>; VCH listed: <yes|no>; cert path: <…>`,
    /// with the message passed through `shape`.
    async fn failing_create(
        &mut self,
        name: &str,
        dir: &Path,
        extra: &[String],
        shape: impl Fn(&str) -> String,
    ) -> (String, Vec<String>) {
        let mut args = s(&[
            "--name",
            name,
            "--compute-resource",
            COMPUTE,
            "--bridge-network",
            BRIDGE,
            "--tls-cert-path",
        ]);
        args.push(dir.display().to_string());
        args.extend_from_slice(extra);
        let (lines, r) = self.tb.vic_machine("create", &args).await;
        let lines: Vec<String> = lines.iter().map(|l| strip_log(l).to_owned()).collect();
        let head = match r {
            Ok(()) => {
                self.made.push(name.to_owned());
                "succeeded".to_owned()
            }
            Err(f) => format!("failed: {}", shape(&f.message)),
        };
        let listed = self.listed(name).await;
        let path = if dir.exists() {
            match listing(dir) {
                Ok(l) if l.is_empty() => "empty".to_owned(),
                Ok(l) => l.join(" "),
                Err(e) => e,
            }
        } else {
            "absent".to_owned()
        };
        (
            format!("{head}; VCH listed: {listed}; cert path: {path}"),
            lines,
        )
    }

    async fn all(&mut self) {
        let material = self.material();
        let mutual_ip = next_ip();
        let mutual_dir = self.root.join("mutual");
        let mutual = self
            .create("tls-mutual", Some(mutual_ip), &mutual_dir, &[])
            .await;
        if let Ok(v) = &mutual {
            self.r.artifacts.push(Artifact {
                name: "tls-mutual-create.log".into(),
                content: v.lines.join("\n"),
            });
        }
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

    // ---- mutual TLS: what vic-machine printed and wrote -------------------------------------

    async fn mutual_output(&mut self, vch: &Result<Vch, String>, ip: Ipv4Addr, dir: &Path) {
        let d = dir.display();
        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => format!(
                "{}; 2376 {}; 2375 {}",
                v.docker_host(),
                probe::port_state(v.ip, 2376).await,
                probe::port_state(v.ip, 2375).await
            ),
        };
        self.case(
            "tls-mutual-port",
            "mutual TLS (the default) serves the Docker API on 2376 only",
            format!("DOCKER_HOST={ip}:2376; 2376 open; 2375 closed"),
            observed,
            "vic-machine+engine",
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => [
                v.after("Docker environment variables:"),
                v.lines
                    .iter()
                    .find(|l| l.starts_with("Environment saved in "))
                    .cloned()
                    .unwrap_or_else(|| "no `Environment saved in` line".into()),
                v.after("Connect to docker:"),
            ]
            .join(" | "),
        };
        self.case(
            "tls-mutual-hint",
            "create prints the tlsverify environment, saves it in <cert path>/<name>.env and \
             prints the docker command with the generated CA and client files (vic.md §1.3)",
            format!(
                "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={d} DOCKER_HOST={ip}:2376 \
                 COMPOSE_TLS_VERSION=TLSv1_2 | Environment saved in {d}/tls-mutual.env | \
                 docker -H {ip}:2376 --tlsverify --tlscacert=\"{d}/ca.pem\" \
                 --tlscert=\"{d}/cert.pem\" --tlskey=\"{d}/key.pem\" info"
            ),
            observed,
            MACHINE,
        );

        let mut expected: Vec<String> = MUTUAL_FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        expected.push("tls-mutual.env".into());
        expected.sort();
        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => match listing(&v.dir) {
                Ok(l) => {
                    self.r.artifacts.push(Artifact {
                        name: "tls-mutual-files.txt".into(),
                        content: l
                            .iter()
                            .map(|n| format!("{} {n}", mode_of(&v.dir.join(n))))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    });
                    l.join(" ")
                }
                Err(e) => e,
            },
        };
        self.case(
            "tls-files-generated",
            "a default create generates the CA, server and client pairs and the env file in \
             the cert path (vic.md §4.2 step 6)",
            expected.join(" "),
            observed,
            MACHINE,
        );

        let mode_line = |dir: &Path| {
            let mut parts = vec![format!("dir {}", mode_of(dir))];
            for (n, _) in MUTUAL_FILES {
                parts.push(format!("{n} {}", mode_of(&dir.join(n))));
            }
            parts.push(format!(
                "tls-mutual.env {}",
                mode_of(&dir.join("tls-mutual.env"))
            ));
            parts.join(", ")
        };
        let mut expected = vec!["dir 0700".to_owned()];
        for (n, m) in MUTUAL_FILES {
            expected.push(format!("{n} {m}"));
        }
        expected.push("tls-mutual.env 0644".into());
        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => mode_line(&v.dir),
        };
        self.case(
            "tls-files-modes",
            "certificates and the env file are 0644, keys 0600, the directory 0700 (vic.md §4.3)",
            expected.join(", "),
            observed,
            MACHINE,
        );
    }

    fn mutual_certificates(&mut self, vch: &Result<Vch, String>, ip: Ipv4Addr) {
        let read = |v: &Vch| -> Result<[certs::Facts; 3], String> {
            let f = |n: &str| {
                v.read(n)
                    .and_then(|p| certs::facts(&p).map_err(|e| format!("{n}: {e}")))
            };
            Ok([f("ca.pem")?, f("server-cert.pem")?, f("cert.pem")?])
        };
        let facts = match vch {
            Err(e) => Err(e.clone()),
            Ok(v) => read(v).map(|f| (f, v.created)),
        };
        let orgs = format!("O=tls-mutual,{ip}");

        let observed = match &facts {
            Err(e) => e.clone(),
            Ok((fs, created)) => ["ca", "server", "client"]
                .iter()
                .zip(fs.iter())
                .map(|(n, f)| {
                    format!(
                        "{n}: {} {} {} {}",
                        f.key,
                        f.signature,
                        f.validity_text(*created),
                        f.basic_text().split(" CA:").next().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        let common = "RSA 2048 sha256WithRSA now-1d..now+1y basicConstraints critical";
        self.case(
            "tls-cert-common",
            "every generated certificate: RSA 2048, SHA256-RSA, valid from a day ago for a \
             year, critical basic constraints (vic.md §4.3)",
            format!("ca: {common}; server: {common}; client: {common}"),
            observed,
            MACHINE,
        );

        let render = |f: &certs::Facts, ca: Option<&certs::Facts>| {
            let mut parts = vec![
                format!("O={}", f.orgs.join(",")),
                f.cn_text(),
                f.basic_text(),
                f.key_usage_text(),
                f.eku_text(),
                f.san_text(),
            ];
            if let Some(ca) = ca {
                parts.push(if f.issued_by(ca) {
                    "issued by ca.pem".to_owned()
                } else {
                    format!("issuer {}", f.issuer)
                });
            }
            parts.join("; ")
        };
        let cases = [
            (
                "tls-cert-ca",
                "the CA: O only (no CN), CA:TRUE, key usage with CertSign, no EKU, no SAN",
                format!(
                    "{orgs}; no CN; basicConstraints critical CA:TRUE; keyUsage critical \
                     digitalSignature,keyEncipherment,keyAgreement,keyCertSign; no EKU; no SAN"
                ),
                0,
            ),
            (
                "tls-cert-server",
                "the server certificate: CN = cname (the client IP), IP SAN, ServerAuth, \
                 signed by the CA",
                format!(
                    "{orgs}; CN={ip}; basicConstraints critical CA:FALSE; keyUsage critical \
                     digitalSignature,keyEncipherment,keyAgreement; EKU serverAuth; SAN IP:{ip}; \
                     issued by ca.pem"
                ),
                1,
            ),
            (
                "tls-cert-client",
                "the client certificate: O only (no CN), DigitalSignature, ClientAuth, signed \
                 by the CA",
                format!(
                    "{orgs}; no CN; basicConstraints critical CA:FALSE; keyUsage critical \
                     digitalSignature; EKU clientAuth; no SAN; issued by ca.pem"
                ),
                2,
            ),
        ];
        for (id, description, expected, i) in cases {
            let observed = match &facts {
                Err(e) => e.clone(),
                Ok((fs, _)) => render(&fs[i], (i > 0).then_some(&fs[0])),
            };
            self.case(id, description, expected, observed, MACHINE);
        }
    }

    // ---- mutual TLS: the docker CLI in every client role ------------------------------------

    async fn mutual_clients(
        &mut self,
        vch: &Result<Vch, String>,
        material: &Result<Material, String>,
    ) {
        let v = match vch {
            Ok(v) => Ok(v),
            Err(e) => Err(e.clone()),
        };
        let ca = v.as_ref().map(|v| v.file("ca.pem")).unwrap_or_default();
        let name = "tls-mutual";
        let ok = format!("ok: {name}");

        let observed = match &v {
            Err(e) => e.clone(),
            Ok(v) => {
                let mut a = v.docker_args.clone();
                a.extend(info());
                self.docker.works(&a, &[]).await
            }
        };
        self.case(
            "tls-mutual-cli-client-cert",
            "docker with the printed --tlsverify command (generated CA and client certificate) \
             reaches the VCH",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = match &v {
            Err(e) => e.clone(),
            Ok(v) => self.docker.works(&info(), &v.env()).await,
        };
        self.case(
            "tls-mutual-cli-env",
            "docker with the printed environment (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, \
             DOCKER_HOST) reaches the VCH",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = match &v {
            Err(e) => e.clone(),
            Ok(v) => {
                self.docker
                    .refused(&verify_args(v.ip, &ca, None), &[], NO_CERT)
                    .await
            }
        };
        self.case(
            "tls-mutual-cli-no-client-cert",
            "docker --tlsverify without a client certificate is refused: the server requires one",
            refused(NO_CERT),
            observed,
            CLI,
        );

        let observed = match (&v, material) {
            (Err(e), _) | (_, Err(e)) => e.clone(),
            (Ok(v), Ok(m)) => {
                self.docker
                    .refused(
                        &verify_args(v.ip, &ca, Some((&m.foreign_cert, &m.foreign_key))),
                        &[],
                        NO_CERT,
                    )
                    .await
            }
        };
        self.case(
            "tls-mutual-cli-foreign-ca",
            "a client certificate from a foreign CA is refused (the server only accepts its own \
             CA, so the CLI has no certificate to offer)",
            refused(NO_CERT),
            observed,
            CLI,
        );

        // Client certificates made with the VCH's own CA key (ca-key.pem), and one made with
        // another key under the CA's name.
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let clients = self.clients.clone();
        let own = |v: &Vch, key: Result<String, String>, nb, na, tag: &str| {
            let ca_pem = v.read("ca.pem")?;
            let pair = certs::client_under(&ca_pem, &key?, nb, na)?;
            let cert = write(&clients.join(format!("{tag}-cert.pem")), &pair.cert)?;
            let key = write(&clients.join(format!("{tag}-key.pem")), &pair.key)?;
            Ok::<_, String>((cert, key))
        };
        let roles = [
            (
                "tls-mutual-cli-own-ca-fresh",
                "a new client certificate signed with the generated ca-key.pem is accepted",
                None,
                "fresh",
                now - day,
                now + day * 30,
                true,
            ),
            (
                "tls-mutual-cli-expired",
                "an expired client certificate signed by the VCH's own CA is refused",
                Some(EXPIRED),
                "expired",
                now - day * 30,
                now - day,
                true,
            ),
            (
                "tls-mutual-cli-impostor-ca",
                "a client certificate carrying the VCH CA's name but signed with another key is \
                 refused",
                Some(BAD_SIGNATURE),
                "impostor",
                now - day,
                now + day * 30,
                false,
            ),
        ];
        for (id, description, refusal, tag, nb, na, genuine) in roles {
            let observed = match &v {
                Err(e) => e.clone(),
                Ok(v) => {
                    let key = if genuine {
                        v.read("ca-key.pem")
                    } else {
                        certs::new_rsa_key_pem()
                    };
                    match own(v, key, nb, na, tag) {
                        Err(e) => e,
                        Ok((c, k)) => {
                            let a = verify_args(v.ip, &ca, Some((&c, &k)));
                            match refusal {
                                None => self.docker.works(&a, &[]).await,
                                Some(f) => self.docker.refused(&a, &[], f).await,
                            }
                        }
                    }
                }
            };
            let expected = refusal.map_or_else(|| ok.clone(), refused);
            self.case(id, description, expected, observed, CLI);
        }

        let observed = match &v {
            Err(e) => e.clone(),
            Ok(v) => {
                let (c, k) = (v.file("server-cert.pem"), v.file("server-key.pem"));
                self.docker
                    .refused(
                        &verify_args(v.ip, &ca, Some((&c, &k))),
                        &[],
                        NOT_CLIENT_CERT,
                    )
                    .await
            }
        };
        self.case(
            "tls-mutual-cli-server-cert-as-client",
            "the server certificate (ServerAuth only) presented as a client certificate is refused",
            refused(NOT_CLIENT_CERT),
            observed,
            CLI,
        );

        let observed = match (&v, material) {
            (Err(e), _) | (_, Err(e)) => e.clone(),
            (Ok(v), Ok(m)) => {
                let (c, k) = (v.file("cert.pem"), v.file("key.pem"));
                self.docker
                    .refused(
                        &verify_args(v.ip, &m.foreign_ca, Some((&c, &k))),
                        &[],
                        UNKNOWN_SERVER_CA,
                    )
                    .await
            }
        };
        self.case(
            "tls-mutual-cli-wrong-server-ca",
            "docker --tlsverify with another CA rejects the VCH's server certificate",
            refused(UNKNOWN_SERVER_CA),
            observed,
            CLI,
        );

        let observed = match &v {
            Err(e) => e.clone(),
            Ok(v) => {
                let mut a = host(v.ip, 2376);
                a.extend(info());
                self.docker.refused(&a, &[], PLAIN_TO_TLS).await
            }
        };
        self.case(
            "tls-mutual-cli-plain-http",
            "plain HTTP to the TLS port fails",
            refused(PLAIN_TO_TLS),
            observed,
            CLI,
        );

        let observed = match &v {
            Err(e) => e.clone(),
            Ok(v) => {
                let addr = SocketAddr::new(v.ip, 2376);
                let old = probe::tls11_hello(addr)
                    .await
                    .unwrap_or_else(|e| format!("probe failed: {e}"));
                let files = (|| {
                    Ok::<_, String>(probe::ClientFiles {
                        ca_pem: v.read("ca.pem")?,
                        cert_pem: v.read("cert.pem")?,
                        key_pem: v.read("key.pem")?,
                    })
                })();
                let new = match files {
                    Err(e) => e,
                    Ok(files) => probe::tls12_version(addr, files)
                        .await
                        .unwrap_or_else(|e| format!("failed: {e}")),
                };
                format!("TLS 1.1 hello: {old}; TLS 1.2-only client: {new}")
            }
        };
        self.case(
            "tls-min-version",
            "the endpoint's minimum is TLS 1.2: a TLS 1.1 ClientHello gets a protocol_version \
             alert, a TLS 1.2-only client is served (vic.md §4.1)",
            "TLS 1.1 hello: alert protocol_version; TLS 1.2-only client: TLSv1.2, HTTP/1.1 200 OK",
            observed,
            ENGINE,
        );
    }

    // ---- --no-tlsverify -----------------------------------------------------------------------

    async fn server_only(
        &mut self,
        vch: &Result<Vch, String>,
        ip: Ipv4Addr,
        mutual: &Result<Vch, String>,
    ) {
        let name = "tls-server";
        let ok = format!("ok: {name}");
        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => format!(
                "{}; 2376 {}; 2375 {}",
                v.docker_host(),
                probe::port_state(v.ip, 2376).await,
                probe::port_state(v.ip, 2375).await
            ),
        };
        self.case(
            "tls-serveronly-port",
            "--no-tlsverify serves TLS on 2376 only",
            format!("DOCKER_HOST={ip}:2376; 2376 open; 2375 closed"),
            observed,
            "vic-machine+engine",
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => {
                // vicbed adds `--tlscacert=<server-cert.pem>` to VIC's `--tls` hint (a current
                // CLI needs a CA file even without verification); compared without it.
                let hint = v
                    .after("Connect to docker:")
                    .split_whitespace()
                    .filter(|w| !w.starts_with("--tlscacert="))
                    .collect::<Vec<_>>()
                    .join(" ");
                let warned = if v.has_line(WARN_NO_VERIFY) {
                    WARN_NO_VERIFY.to_owned()
                } else {
                    format!("no {WARN_NO_VERIFY:?} warning")
                };
                format!(
                    "{warned} | {} | {}",
                    v.after("Docker environment variables:"),
                    hint
                )
            }
        };
        self.case(
            "tls-serveronly-hint",
            "--no-tlsverify: the warning, no DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, and a `--tls` \
             docker command (vic.md §1.3, §4.2 step 7)",
            format!(
                "{WARN_NO_VERIFY} | DOCKER_HOST={ip}:2376 COMPOSE_TLS_VERSION=TLSv1_2 | \
                 docker -H {ip}:2376 --tls info"
            ),
            observed,
            MACHINE,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => match listing(&v.dir) {
                Err(e) => e,
                Ok(l) => {
                    let mut parts = vec![format!("dir {}", mode_of(&v.dir))];
                    parts.extend(l.iter().map(|n| format!("{n} {}", mode_of(&v.dir.join(n)))));
                    parts.join(", ")
                }
            },
        };
        self.case(
            "tls-serveronly-files",
            "--no-tlsverify generates only a server pair (no CA, no client certificate) and the \
             env file",
            "dir 0700, server-cert.pem 0644, server-key.pem 0600, tls-server.env 0644",
            observed,
            MACHINE,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => match v.read("server-cert.pem").and_then(|p| certs::facts(&p)) {
                Err(e) => e,
                Ok(f) => format!(
                    "{}; O={}; {}; {} {}; {}; {}; {}",
                    if f.issuer == f.subject {
                        "self-signed"
                    } else {
                        "issued by another"
                    },
                    f.orgs.join(","),
                    f.cn_text(),
                    f.key,
                    f.signature,
                    f.key_usage_text(),
                    f.eku_text(),
                    f.san_text()
                ),
            },
        };
        self.case(
            "tls-serveronly-cert",
            "the --no-tlsverify server certificate is self-signed with O=default and CN = cname \
             (vic.md §4.3)",
            format!(
                "self-signed; O=default; CN={ip}; RSA 2048 sha256WithRSA; keyUsage critical \
                 digitalSignature,keyEncipherment,keyAgreement; EKU serverAuth; SAN IP:{ip}"
            ),
            observed,
            MACHINE,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => {
                let mut a = v.docker_args.clone();
                a.extend(info());
                self.docker.works(&a, &[]).await
            }
        };
        self.case(
            "tls-serveronly-cli-tls",
            "docker --tls (the printed command) reaches the VCH without a client certificate",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => {
                let cert = v.file("server-cert.pem");
                self.docker
                    .works(&verify_args(v.ip, &cert, None), &[])
                    .await
            }
        };
        self.case(
            "tls-serveronly-cli-tlsverify",
            "docker --tlsverify against the self-signed server certificate works without a \
             client certificate",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = match (vch, mutual) {
            (Err(e), _) | (_, Err(e)) => e.clone(),
            (Ok(v), Ok(m)) => {
                let (cert, c, k) = (
                    v.file("server-cert.pem"),
                    m.file("cert.pem"),
                    m.file("key.pem"),
                );
                let mut a = host(v.ip, 2376);
                a.push("--tls".into());
                a.push(format!("--tlscacert={cert}"));
                a.push(format!("--tlscert={c}"));
                a.push(format!("--tlskey={k}"));
                a.extend(info());
                self.docker.works(&a, &[]).await
            }
        };
        self.case(
            "tls-serveronly-cli-client-cert",
            "docker --tls with a client certificate (another VCH's) still works: none is requested",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => {
                let mut a = host(v.ip, 2376);
                a.extend(info());
                self.docker.refused(&a, &[], PLAIN_TO_TLS).await
            }
        };
        self.case(
            "tls-serveronly-cli-plain-http",
            "plain HTTP to the --no-tlsverify port fails",
            refused(PLAIN_TO_TLS),
            observed,
            CLI,
        );
    }

    // ---- --no-tls -----------------------------------------------------------------------------

    async fn plain(
        &mut self,
        vch: &Result<Vch, String>,
        ip: Ipv4Addr,
        dir: &Path,
        material: &Result<Material, String>,
    ) {
        let ok = "ok: tls-plain".to_owned();
        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => format!(
                "{}; 2375 {}; 2376 {}",
                v.docker_host(),
                probe::port_state(v.ip, 2375).await,
                probe::port_state(v.ip, 2376).await
            ),
        };
        self.case(
            "tls-notls-port",
            "--no-tls serves plain HTTP on 2375 only",
            format!("DOCKER_HOST={ip}:2375; 2375 open; 2376 closed"),
            observed,
            "vic-machine+engine",
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => {
                let warned = if v.has_line(WARN_NO_TLS) {
                    WARN_NO_TLS.to_owned()
                } else {
                    format!("no {WARN_NO_TLS:?} warning")
                };
                format!(
                    "{warned} | {} | {}",
                    v.after("Docker environment variables:"),
                    v.after("Connect to docker:")
                )
            }
        };
        self.case(
            "tls-notls-hint",
            "--no-tls: the insecurity warning, DOCKER_HOST on 2375 and a plain docker command \
             (vic.md §1.3, §4.2 step 2)",
            format!(
                "{WARN_NO_TLS} | DOCKER_HOST={ip}:2375 COMPOSE_TLS_VERSION=TLSv1_2 | \
                 docker -H {ip}:2375 info"
            ),
            observed,
            MACHINE,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(_) => {
                if dir.exists() {
                    match listing(dir) {
                        Ok(l) => format!("cert path holds: {}", l.join(" ")),
                        Err(e) => e,
                    }
                } else {
                    "cert path absent".to_owned()
                }
            }
        };
        self.case(
            "tls-notls-no-files",
            "--no-tls writes no certificate and, the cert path not existing, no env file",
            "cert path absent",
            observed,
            MACHINE,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => {
                let mut a = v.docker_args.clone();
                a.extend(info());
                self.docker.works(&a, &[]).await
            }
        };
        self.case(
            "tls-notls-cli-plain",
            "docker over plain HTTP (the printed command) reaches a --no-tls VCH",
            ok,
            observed,
            CLI,
        );

        let observed = match (vch, material) {
            (Err(e), _) | (_, Err(e)) => e.clone(),
            (Ok(v), Ok(m)) => {
                // The CLI needs a CA file even for --tls without verification.
                let mut a = host(v.ip, 2375);
                a.push("--tls".into());
                a.push(format!("--tlscacert={}", m.foreign_ca));
                a.extend(info());
                self.docker.refused(&a, &[], TLS_TO_PLAIN).await
            }
        };
        self.case(
            "tls-notls-cli-tls",
            "docker --tls to the plain-HTTP port fails",
            refused(TLS_TO_PLAIN),
            observed,
            CLI,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => {
                let addr = SocketAddr::new(v.ip, 2375);
                let foreign = match probe::plain_get(addr, "vicbed.invalid:2375".into()).await {
                    Err(e) => e,
                    Ok((code, body)) => format!("{code} {}", host_message(&body)),
                };
                let own = match probe::plain_get(addr, format!("{}:2375", v.ip)).await {
                    Err(e) => e,
                    Ok((code, _)) => code.to_string(),
                };
                format!(
                    "Host vicbed.invalid:2375: {foreign}; Host {}:2375: {own}",
                    v.ip
                )
            }
        };
        self.case(
            "tls-notls-host-header",
            "the plain-HTTP endpoint refuses a Host header that is not its address (vic.md §4.1)",
            format!(
                "Host vicbed.invalid:2375: 500 invalid host header from <client> to requested \
                 host vicbed.invalid:2375; Host {ip}:2375: 200"
            ),
            observed,
            ENGINE,
        );
    }

    // ---- custom certificates ------------------------------------------------------------------

    async fn custom(&mut self) {
        let files = self.root.join("custom-files");
        let made = (|| {
            fs::create_dir_all(&files)
                .map_err(|e| format!("cannot create {}: {e}", files.display()))?;
            let ip = next_ip();
            let ca = certs::Ca::new("vicbed custom CA")?;
            let server = ca.server(IpAddr::V4(ip))?;
            let client = ca.client()?;
            let w = |n: &str, t: &str| write(&files.join(n), t);
            Ok::<_, String>(Custom {
                ip,
                ca: w("ca.pem", &ca.pem)?,
                cert: w("server-cert.pem", &server.cert)?,
                key: w("server-key.pem", &server.key)?,
                client_cert: w("client-cert.pem", &client.cert)?,
                client_key: w("client-key.pem", &client.key)?,
                other_key: w("other-key.pem", &certs::new_key_pem()?)?,
            })
        })();

        // A VCH on custom files.
        let dir = self.root.join("custom");
        let vch = match &made {
            Err(e) => Err(e.clone()),
            Ok(c) => {
                let extra = vec![
                    "--tls-server-cert".to_owned(),
                    c.cert.clone(),
                    "--tls-server-key".into(),
                    c.key.clone(),
                    "--tls-ca".into(),
                    c.ca.clone(),
                ];
                self.create("tls-custom", Some(c.ip), &dir, &extra).await
            }
        };
        let observed = match (&vch, &made) {
            (Err(e), _) | (_, Err(e)) => e.clone(),
            (Ok(v), Ok(c)) => {
                let a = verify_args(v.ip, &c.ca, Some((&c.client_cert, &c.client_key)));
                self.docker.works(&a, &[]).await
            }
        };
        self.case(
            "tls-custom-cli",
            "a VCH on a custom server certificate and --tls-ca: docker --tlsverify with a client \
             certificate from that CA reaches it",
            "ok: tls-custom",
            observed,
            CLI,
        );
        let expected = match &made {
            Ok(c) => format!(
                "Loaded server certificate {}; nothing generated; cert path absent",
                c.cert
            ),
            Err(e) => e.clone(),
        };
        let observed = match &vch {
            Err(e) => e.clone(),
            Ok(v) => {
                let loaded = v
                    .lines
                    .iter()
                    .find(|l| l.starts_with("Loaded server certificate "))
                    .cloned()
                    .unwrap_or_else(|| "no `Loaded server certificate` line".into());
                let generated: Vec<&String> = v
                    .lines
                    .iter()
                    .filter(|l| l.starts_with("Generating "))
                    .collect();
                let generated = if generated.is_empty() {
                    "nothing generated".to_owned()
                } else {
                    generated
                        .iter()
                        .map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let path = if dir.exists() {
                    "cert path created"
                } else {
                    "cert path absent"
                };
                format!("{loaded}; {generated}; {path}")
            }
        };
        self.case(
            "tls-custom-loaded",
            "with custom server files and --tls-ca vic-machine loads them and generates nothing \
             (vic.md §4.2 steps 5–6)",
            expected,
            observed,
            MACHINE,
        );

        // Validation errors: create fails during parameter processing, before vSphere.
        let c = match made {
            Ok(c) => c,
            Err(e) => {
                for id in CUSTOM_FAILURES {
                    self.case(
                        id,
                        "custom-certificate validation",
                        "create refused",
                        e.clone(),
                        MACHINE,
                    );
                }
                return;
            }
        };
        let missing_key = files.join("missing-key.pem").display().to_string();
        let missing_ca = files.join("missing-ca.pem").display().to_string();
        let exact = |m: &str| m.to_owned();
        let flags = |cert: &str, key: Option<&str>, ca: Option<&str>| {
            let mut a = vec!["--tls-server-cert".to_owned(), cert.to_owned()];
            if let Some(k) = key {
                a.push("--tls-server-key".into());
                a.push(k.to_owned());
            }
            if let Some(ca) = ca {
                a.push("--tls-ca".into());
                a.push(ca.to_owned());
            }
            a
        };
        let cases: Vec<Refusal<'_>> = vec![
            (
                CUSTOM_FAILURES[0],
                "--tls-server-cert without --tls-server-key is refused",
                flags(&c.cert, None, None),
                "key and cert should be specified at the same time".into(),
                Box::new(exact),
            ),
            (
                CUSTOM_FAILURES[1],
                "a server key that does not match the certificate is refused with Go's message",
                flags(&c.cert, Some(&c.other_key), None),
                "tls: private key does not match public key".into(),
                Box::new(exact),
            ),
            (
                CUSTOM_FAILURES[2],
                "certificate and key files switched: Go's tls.X509KeyPair message (vic.md §4.2)",
                flags(&c.key, Some(&c.cert), None),
                "tls: failed to find certificate PEM data in certificate input, but did find a \
                 private key; PEM inputs may have been switched"
                    .into(),
                Box::new(exact),
            ),
            (
                CUSTOM_FAILURES[3],
                "a certificate given as the key: Go's tls.X509KeyPair message (vic.md §4.2)",
                flags(&c.cert, Some(&c.cert), None),
                "tls: found a certificate rather than a key in the PEM for the private key".into(),
                Box::new(exact),
            ),
            (
                CUSTOM_FAILURES[4],
                "an explicit server key that does not exist fails the create, naming the file",
                flags(&c.cert, Some(&missing_key), None),
                format!("an error naming {missing_key}"),
                {
                    let p = missing_key.clone();
                    Box::new(move |m: &str| {
                        if m.contains(&p) {
                            format!("an error naming {p}")
                        } else {
                            m.to_owned()
                        }
                    })
                },
            ),
            (
                CUSTOM_FAILURES[5],
                "a --tls-ca file that holds no certificate (a key) is refused (vic.md §4.2)",
                flags(&c.cert, Some(&c.key), Some(&c.key)),
                "Unable to load certificate authority data".into(),
                Box::new(exact),
            ),
            (
                CUSTOM_FAILURES[6],
                "a --tls-ca file that does not exist is refused (vic.md §4.2 step 5.1)",
                flags(&c.cert, Some(&c.key), Some(&missing_ca)),
                format!("Failed to load authority from file {missing_ca}: …"),
                {
                    let prefix = format!("Failed to load authority from file {missing_ca}: ");
                    Box::new(move |m: &str| {
                        if m.starts_with(&prefix) {
                            format!("{prefix}…")
                        } else {
                            m.to_owned()
                        }
                    })
                },
            ),
        ];
        for (i, (id, description, extra, message, shape)) in cases.into_iter().enumerate() {
            let name = format!("tls-bad-{i}");
            let dir = self.root.join(&name);
            let (observed, _) = self.failing_create(&name, &dir, &extra, shape).await;
            self.case(
                id,
                description,
                format!("failed: {message}; VCH listed: no; cert path: absent"),
                observed,
                MACHINE,
            );
        }
    }

    // ---- certificate selection errors ---------------------------------------------------------

    async fn selection(&mut self, mutual_dir: &Path, mutual_ip: Ipv4Addr) {
        let dir = self.root.join("nocname");
        let (observed, lines) = self
            .failing_create("tls-nocname", &dir, &[], str::to_owned)
            .await;
        let hints = [
            "Common Name must be provided when generating certificates for client authentication:",
            "--tls-cname=<FQDN or static IP>",
            "--tls-cname=<*.yourdomain.com>",
            "--no-tlsverify",
            "--no-tls",
            "cannot continue: unable to generate certificates",
        ];
        let printed = match lines.iter().position(|l| l == hints[0]) {
            Some(i) if lines.get(i..i + hints.len()).is_some_and(|w| w == hints) => {
                "hints printed".to_owned()
            }
            _ => "hints missing".to_owned(),
        };
        self.case(
            "tls-no-cname",
            "a tlsverify create with no cname and no static IP fails after printing VIC's hints; \
             the cert path is already created (must-get-right #1)",
            "failed: provide Common Name for server certificate; VCH listed: no; cert path: \
             empty; hints printed",
            format!("{observed}; {printed}"),
            MACHINE,
        );

        let dir = self.root.join("nonempty");
        let observed = match fs::create_dir_all(&dir)
            .and_then(|()| fs::write(dir.join("README"), "not a certificate\n"))
        {
            Err(e) => format!("cannot prepare {}: {e}", dir.display()),
            Ok(()) => {
                let extra = vec!["--tls-cname".to_owned(), "127.0.1.199".to_owned()];
                self.failing_create("tls-nonempty", &dir, &extra, str::to_owned)
                    .await
                    .0
            }
        };
        self.case(
            "tls-cert-dir-not-empty",
            "generating into a non-empty cert path is refused (vic.md §4.2 step 6)",
            format!(
                "failed: Specified directory to store certificates is not empty. Specify a new \
                 path in which to store generated certificates using --tls-cert-path or remove \
                 the contents of \"{}\" and run vic-machine again.; VCH listed: no; cert path: \
                 README",
                dir.display()
            ),
            observed,
            MACHINE,
        );

        // Another cname against the mutual VCH's cert path.
        let other = if mutual_ip.octets()[3] == 199 {
            "127.0.1.198"
        } else {
            "127.0.1.199"
        };
        let names = MUTUAL_FILES.map(|(n, _)| n);
        let before = snapshot(mutual_dir, &names);
        let extra = vec!["--tls-cname".to_owned(), other.to_owned()];
        let (observed, lines) = self
            .failing_create("tls-cname", mutual_dir, &extra, str::to_owned)
            .await;
        let logged =
            format!("Provided cname does not match that in existing server certificate: {other}");
        let logged = if lines.contains(&logged) {
            logged
        } else {
            format!("no {logged:?} line")
        };
        let unchanged =
            if snapshot(mutual_dir, &names) == before && before.values().all(Option::is_some) {
                "files unchanged"
            } else {
                "files changed or missing"
            };
        self.case(
            "tls-cname-mismatch",
            "redeploying into an existing cert path with another --tls-cname fails with VIC's \
             messages and leaves the certificates alone (vic.md §4.2 step 5.2)",
            format!(
                "failed: cname option doesn't match existing server certificate in certificate \
                 path {}; VCH listed: no; cert path: ca-key.pem ca.pem cert.pem key.pem \
                 server-cert.pem server-key.pem tls-mutual.env; Provided cname does not match \
                 that in existing server certificate: {other}; files unchanged",
                mutual_dir.display()
            ),
            format!("{observed}; {logged}; {unchanged}"),
            MACHINE,
        );
    }

    // ---- reuse on redeploy --------------------------------------------------------------------

    async fn reuse(
        &mut self,
        old: Result<Vch, String>,
        ip: Ipv4Addr,
        dir: &Path,
    ) -> Result<Vch, String> {
        let names = MUTUAL_FILES.map(|(n, _)| n);
        let before = snapshot(dir, &names);
        // The user's copy of the client files, as handed out after the first create.
        let copy = self.root.join("user-copy");
        let kept = fs::create_dir_all(&copy)
            .and_then(|()| {
                for f in ["ca.pem", "cert.pem", "key.pem"] {
                    fs::copy(dir.join(f), copy.join(f))?;
                }
                Ok(())
            })
            .map_err(|e| format!("cannot copy the client files: {e}"));
        let redeployed = match old {
            Err(e) => Err(e),
            Ok(v) => match self.delete(&v.name).await {
                Err(e) => Err(e),
                Ok(()) => {
                    // The old endpoint must be gone before its address is bound again.
                    for _ in 0..100 {
                        if probe::port_state(v.ip, 2376).await == "closed" {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    self.create("tls-mutual", Some(ip), dir, &[]).await
                }
            },
        };
        if let Ok(v) = &redeployed {
            self.r.artifacts.push(Artifact {
                name: "tls-mutual-redeploy.log".into(),
                content: v.lines.join("\n"),
            });
        }
        let d = dir.display();
        let observed = match &redeployed {
            Err(e) => e.clone(),
            Ok(v) => {
                let mut parts: Vec<String> = [
                    format!("Loaded server certificate {d}/server-cert.pem"),
                    format!("Loaded CA with default name from certificate path {d}"),
                    format!(
                        "Loaded client certificate with default name from certificate path {d}"
                    ),
                ]
                .into_iter()
                .map(|l| {
                    if v.has_line(&l) {
                        l
                    } else {
                        format!("missing {l:?}")
                    }
                })
                .collect();
                let generated = v
                    .lines
                    .iter()
                    .filter(|l| l.starts_with("Generating "))
                    .count();
                parts.push(if generated == 0 {
                    "nothing generated".to_owned()
                } else {
                    format!("{generated} Generating lines")
                });
                parts.join(" | ")
            }
        };
        self.case(
            "tls-reuse-log",
            "a redeploy with the same cert path loads the server certificate, CA and client \
             certificate and generates nothing (vic.md §4.2, reuse on redeploy)",
            format!(
                "Loaded server certificate {d}/server-cert.pem | Loaded CA with default name from \
                 certificate path {d} | Loaded client certificate with default name from \
                 certificate path {d} | nothing generated"
            ),
            observed,
            MACHINE,
        );

        let observed = match &redeployed {
            Err(e) => e.clone(),
            Ok(_) => {
                let after = snapshot(dir, &names);
                let changed: Vec<&str> = names
                    .iter()
                    .filter(|n| {
                        before.get(**n) != after.get(**n)
                            || after.get(**n).is_none_or(Option::is_none)
                    })
                    .copied()
                    .collect();
                if changed.is_empty() {
                    "all unchanged".to_owned()
                } else {
                    format!("changed or missing: {}", changed.join(" "))
                }
            }
        };
        self.case(
            "tls-reuse-files-unchanged",
            "the redeploy leaves every certificate and key byte for byte as it was",
            "all unchanged",
            observed,
            MACHINE,
        );

        let observed = match (&redeployed, &kept) {
            (Err(e), _) | (_, Err(e)) => e.clone(),
            (Ok(v), Ok(())) => {
                let f = |n: &str| copy.join(n).display().to_string();
                let (ca, c, k) = (f("ca.pem"), f("cert.pem"), f("key.pem"));
                self.docker
                    .works(&verify_args(v.ip, &ca, Some((&c, &k))), &[])
                    .await
            }
        };
        self.case(
            "tls-reuse-old-client-cert",
            "the client certificate handed out before the redeploy still works with the \
             redeployed VCH",
            "ok: tls-mutual",
            observed,
            CLI,
        );
        redeployed
    }

    // ---- the testbed's own Docker client --------------------------------------------------------

    async fn rust_client(&mut self, vchs: &[&Result<Vch, String>; 3]) {
        let mut parts = Vec::new();
        for (label, vch) in ["mutual", "server-only", "plain"].iter().zip(vchs) {
            let outcome = match vch {
                Err(e) => e.clone(),
                Ok(v) => match vic::engine::client::GlobalOptions::from_args(&v.docker_args)
                    .map_err(|e| e.to_string())
                    .and_then(|g| {
                        vic::engine::client::DockerClient::new(&g).map_err(|e| e.to_string())
                    }) {
                    Err(e) => format!("no client: {e}"),
                    Ok(c) => match c.ping().await {
                        Ok(()) => "ok".to_owned(),
                        Err(e) => format!("ping failed: {e}"),
                    },
                },
            };
            parts.push(format!("{label}: {outcome}"));
        }
        self.case(
            "tls-client-printed-hints",
            "vic::engine::client, following each mode's printed docker options, reaches the VCH",
            "mutual: ok; server-only: ok; plain: ok",
            parts.join("; "),
            CLIENT,
        );
    }
}

/// A create that must be refused: id, description, extra flags, the expected message, and
/// how the observed message is shaped before comparison.
type Refusal<'a> = (
    &'a str,
    &'a str,
    Vec<String>,
    String,
    Box<dyn Fn(&str) -> String>,
);

/// Ids of the custom-certificate validation cases, in order.
const CUSTOM_FAILURES: [&str; 7] = [
    "tls-custom-pair-incomplete",
    "tls-custom-key-mismatch",
    "tls-custom-inputs-switched",
    "tls-custom-key-is-cert",
    "tls-custom-missing-key",
    "tls-custom-ca-not-a-certificate",
    "tls-custom-ca-missing",
];

/// Custom certificate files.
struct Custom {
    ip: Ipv4Addr,
    ca: String,
    cert: String,
    key: String,
    client_cert: String,
    client_key: String,
    other_key: String,
}

/// `invalid host header from <client> to requested host H` from an error body.
fn host_message(body: &str) -> String {
    let Some(start) = body.find("invalid host header from ") else {
        return format!("body {:?}", body.trim());
    };
    let msg = &body[start..];
    let msg = msg.split(['"', '\n']).next().unwrap_or(msg);
    match msg
        .strip_prefix("invalid host header from ")
        .and_then(|r| r.split_once(" to requested host "))
    {
        Some((_, host)) => format!("invalid host header from <client> to requested host {host}"),
        None => msg.to_owned(),
    }
}
