//! The testbed a run (or a conformance suite) drives: the built-in vSphere emulator served
//! over HTTPS on loopback with the VIC guest agents installed, and VCHs created on it with
//! `vic-machine create` through the real SOAP path.
//!
//! Virtual time only moves when the caller says so ([`Testbed::advance_ms`]); meanwhile a pump
//! task applies what guests post (an appliance's endpoint address, a tether's `started` key)
//! without moving the clock, so `vic-machine create` and `docker run` complete at a fixed
//! virtual instant — what makes a run deterministic.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vcsim::{Config, Emulator, Flavor, InventorySpec, Vcsim};
use vic::machine::Failure;
use vic::vsphere::{Client, ConnectOptions};

/// The emulator's credentials (the testbed is loopback-only).
pub const USERNAME: &str = "vicbed";
/// See [`USERNAME`].
pub const PASSWORD: &str = "vicbed";

/// Why the testbed could not do something.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// The inventory or image catalogue is not usable.
    #[error("inventory: {0}")]
    Inventory(String),
    /// A socket, TLS or file problem.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A SOAP call failed.
    #[error("vSphere: {0}")]
    Vsphere(#[from] vic::vsphere::Error),
    /// `vic-machine` failed; `output` is what it printed.
    #[error("vic-machine {command} failed: {message}\n{output}")]
    Machine {
        /// The subcommand.
        command: String,
        /// VIC's failure line.
        message: String,
        /// Everything it logged.
        output: String,
    },
}

/// What builds a testbed.
#[derive(Clone, Debug)]
pub struct TestbedConfig {
    /// The inventory; `None` is the default vcsim model (DC0, DC0_C0, …).
    pub inventory: Option<InventorySpec>,
    /// Seed of every id the emulator hands out and of stochastic workloads.
    pub seed: u64,
    /// Virtual start, milliseconds since the epoch.
    pub start_ms: i64,
}

impl Default for TestbedConfig {
    fn default() -> TestbedConfig {
        TestbedConfig {
            inventory: None,
            seed: 1,
            start_ms: Config::default().start_ms,
        }
    }
}

/// A running emulator with the VIC agents, served on `127.0.0.1:<port>` over HTTPS.
pub struct Testbed {
    vc: Vcsim,
    agents: vic::Agents,
    url: String,
    thumbprint: String,
    certs: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    pump: JoinHandle<()>,
    /// The registries [`Testbed::start_registry`] started, by host name, with the path of
    /// each one's CA certificate.
    registries: Vec<(String, registry::RegistryHandle, PathBuf)>,
}

/// A VCH that `vic-machine create` deployed.
#[derive(Clone, Debug)]
pub struct VchHandle {
    /// The vSphere name.
    pub name: String,
    /// The appliance VM's MoRef value (`VCH ID:`).
    pub vm: String,
    /// The docker global options from vic-machine's `Connect to docker:` line (`-H …`,
    /// `--tlsverify`, `--tlscacert=…`), without `docker` and `info`.
    pub docker_args: Vec<String>,
    /// The endpoint's address (`Published ports can be reached at:`).
    pub address: IpAddr,
    /// The certificate directory (`--tls-cert-path`).
    pub cert_dir: PathBuf,
    /// Everything `vic-machine create` printed.
    pub output: Vec<String>,
}

impl Testbed {
    /// Builds the emulator, installs the VIC agents (images the inventory declares
    /// included) and serves it on an ephemeral loopback port.
    pub async fn start(config: TestbedConfig) -> Result<Testbed, TestbedError> {
        let declared = config
            .inventory
            .as_ref()
            .map(|i| i.images.clone())
            .unwrap_or_default();
        let images =
            vic::images::Catalogue::with_declared(&declared).map_err(TestbedError::Inventory)?;
        let mut emu = Emulator::new(Config {
            flavor: Flavor::VirtualCenter,
            inventory: config.inventory,
            username: USERNAME.into(),
            password: PASSWORD.into(),
            seed: config.seed,
            start_ms: config.start_ms,
            ..Config::default()
        })
        .map_err(|e| TestbedError::Inventory(e.to_string()))?;
        let agents = vic::install_agents_with_images(&mut emu, images);
        let guests = emu.guest_handle.clone();
        let vc = Vcsim::new(emu);

        let io = |context: &str| {
            let context = context.to_owned();
            move |source| TestbedError::Io { context, source }
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(io("binding the emulator on 127.0.0.1"))?;
        let addr = listener
            .local_addr()
            .map_err(io("reading the emulator's address"))?;
        let tls = vcsim::tls::self_signed(addr.ip())
            .map_err(|e| TestbedError::Inventory(format!("emulator certificate: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = {
            let vc = vc.clone();
            tokio::spawn(async move {
                let _ = vc
                    .serve(listener, Some(tls), async {
                        let _ = stopped.await;
                    })
                    .await;
            })
        };
        // Guests post effects from their own tasks; applying them at the current instant
        // (advance by 0) is what a running host does between samples.
        let pump = {
            let vc = vc.clone();
            tokio::spawn(async move {
                loop {
                    guests.posted().await;
                    vc.advance(0);
                }
            })
        };
        let url = format!("https://{USERNAME}:{PASSWORD}@{addr}/sdk");
        let thumbprint = vic::vsphere::fetch_thumbprint(&format!("https://{addr}/sdk")).await?;
        let certs = tempfile::Builder::new()
            .prefix("vicbed-certs-")
            .tempdir()
            .map_err(io("creating the certificate directory"))?;
        Ok(Testbed {
            vc,
            agents,
            url,
            thumbprint,
            certs,
            stop: Some(stop),
            server: Some(server),
            pump,
            registries: Vec::new(),
        })
    }

    /// The emulator (in process).
    pub fn vcsim(&self) -> &Vcsim {
        &self.vc
    }

    /// The VIC guest agents running in the emulator's VMs (the tether knows the firewall
    /// rules it applied to each containerVM).
    pub fn agents(&self) -> &vic::Agents {
        &self.agents
    }

    /// The SDK URL with credentials (`https://vicbed:vicbed@127.0.0.1:PORT/sdk`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The emulator certificate's SHA-1 thumbprint.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Where VCH certificates go unless a VCH's arguments say otherwise (removed with the
    /// testbed).
    pub fn cert_root(&self) -> &Path {
        self.certs.path()
    }

    /// Starts the registry `spec` on `127.0.0.1` (a free port), with TLS from a CA of its
    /// own, and names it for the engines (the VCH endpoints and DCHs resolve it with no
    /// DNS, [`vic::registry_hosts`]).
    pub async fn start_registry(
        &mut self,
        spec: &crate::schema::RegistrySpec,
    ) -> Result<(), TestbedError> {
        let cert_dir = self.certs.path().join(format!("registry-{}", spec.name));
        let config = registry::RegistryConfig {
            host_name: spec.name.clone(),
            users: spec
                .users
                .iter()
                .map(|(name, password)| registry::User {
                    name: name.clone(),
                    password: password.clone(),
                })
                .collect(),
            projects: spec
                .projects
                .iter()
                .map(|(name, public)| registry::Project {
                    name: name.clone(),
                    public: *public,
                })
                .collect(),
            tls: registry::TlsMode::Generate {
                cert_dir: Some(cert_dir.clone()),
            },
            ..registry::RegistryConfig::default()
        };
        let handle = registry::bind_and_serve(
            config,
            std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            std::future::pending(),
        )
        .await
        .map_err(|e| TestbedError::Inventory(format!("registry {}: {e}", spec.name)))?;
        self.agents
            .tether
            .services()
            .registries()
            .insert(&spec.name, (&handle).into());
        let ca = handle
            .ca_path()
            .map_or_else(|| cert_dir.join("ca.crt"), Path::to_path_buf);
        self.registries.push((spec.name.clone(), handle, ca));
        Ok(())
    }

    /// The CA certificate file of the registry named `name` (for `--registry-ca`).
    pub fn registry_ca_path(&self, name: &str) -> Option<&Path> {
        self.registries
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, _, p)| p.as_path())
    }

    /// The running registry named `name`.
    pub fn registry(&self, name: &str) -> Option<&registry::RegistryHandle> {
        self.registries
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, h, _)| h)
    }

    /// Whether a containerVM's service waits for CPU work on the virtual clock (a DCH's
    /// build): the caller advances the clock while it does.
    pub fn work_pending(&self) -> bool {
        self.agents.tether.work_pending()
    }

    /// Virtual now, milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.vc.with(|e| e.clock.now_ms())
    }

    /// Advances virtual time by `delta_ms`, stepping the model each 20 s; returns the steps.
    pub fn advance_ms(&self, delta_ms: i64) -> usize {
        self.vc.advance(delta_ms)
    }

    /// The SDK URL without credentials (`https://127.0.0.1:PORT/sdk`).
    pub fn sdk_url(&self) -> String {
        self.url.replacen(&format!("{USERNAME}:{PASSWORD}@"), "", 1)
    }

    /// A logged-in SOAP client pinned to the emulator's thumbprint.
    pub async fn client(&self) -> Result<Client, TestbedError> {
        let client = Client::connect(
            &self.sdk_url(),
            ConnectOptions {
                thumbprint: Some(self.thumbprint.clone()),
                user_agent: format!("vicbed/{}", env!("CARGO_PKG_VERSION")),
                ..ConnectOptions::default()
            },
        )
        .await?;
        client.login(USERNAME, PASSWORD).await?;
        Ok(client)
    }

    /// `--target URL --thumbprint T`, which every `vic-machine` command against this
    /// emulator needs.
    pub fn target_args(&self) -> Vec<String> {
        vec![
            "--target".into(),
            self.url.clone(),
            "--thumbprint".into(),
            self.thumbprint.clone(),
        ]
    }

    /// Runs `vic-machine <command> --target … --thumbprint … ARGS…` with captured output.
    pub async fn vic_machine(
        &self,
        command: &str,
        args: &[String],
    ) -> (Vec<String>, Result<(), Failure>) {
        let mut argv: Vec<&str> = vec![command];
        let target = self.target_args();
        argv.extend(target.iter().map(String::as_str));
        argv.extend(args.iter().map(String::as_str));
        vic::machine::run_captured(&argv).await
    }

    /// `vic-machine create` with `args` (certificates under [`Testbed::cert_root`] unless
    /// `--tls-cert-path` is given); reads the connection details from its output.
    pub async fn create_vch(&self, args: &[String]) -> Result<VchHandle, TestbedError> {
        let name = crate::schema::flag_value(args, &["--name", "-n"])
            .unwrap_or("virtual-container-host")
            .to_owned();
        let mut all = args.to_vec();
        let cert_dir = match crate::schema::flag_value(args, &["--tls-cert-path"]) {
            Some(p) => PathBuf::from(p),
            None => {
                let dir = self.cert_root().join(&name);
                all.push("--tls-cert-path".into());
                all.push(dir.display().to_string());
                dir
            }
        };
        let (lines, result) = self.vic_machine("create", &all).await;
        if let Err(f) = result {
            return Err(TestbedError::Machine {
                command: "create".into(),
                message: f.to_string(),
                output: lines.join("\n"),
            });
        }
        let parsed = parse_create_output(&lines).ok_or_else(|| TestbedError::Machine {
            command: "create".into(),
            message: "its output has no VCH ID, address or `Connect to docker:` line".into(),
            output: lines.join("\n"),
        })?;
        Ok(VchHandle {
            name,
            vm: parsed.vm,
            docker_args: parsed.docker_args,
            address: parsed.address,
            cert_dir,
            output: lines,
        })
    }

    /// Stops serving and the guest pump.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        for (_, handle, _) in self.registries.drain(..) {
            let _ = handle.stop().await;
        }
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.pump.abort();
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.stop_now();
    }
}

struct CreateOutput {
    vm: String,
    address: IpAddr,
    docker_args: Vec<String>,
}

/// Reads `VCH ID:`, the address after `Published ports can be reached at:` and the words of
/// the line after `Connect to docker:` from vic-machine's output (vic.md §1.3).
fn parse_create_output(lines: &[String]) -> Option<CreateOutput> {
    let text_after = |header: &str| {
        lines
            .iter()
            .position(|l| strip_log(l) == header)
            .and_then(|i| lines.get(i + 1))
            .map(|l| strip_log(l).to_owned())
    };
    let vm = lines
        .iter()
        .find_map(|l| strip_log(l).strip_prefix("VCH ID: "))?
        .trim()
        .to_owned();
    let address = text_after("Published ports can be reached at:")?
        .parse()
        .ok()?;
    let command = text_after("Connect to docker:")?;
    let mut words = vic::engine::client::split_words(&command).ok()?;
    if words.first().map(String::as_str) != Some("docker")
        || words.last().map(String::as_str) != Some("info")
    {
        return None;
    }
    words.remove(0);
    words.pop();
    Some(CreateOutput {
        vm,
        address,
        docker_args: words,
    })
}

/// A captured line without vic-machine's `INFO[0001] ` prefix.
fn strip_log(line: &str) -> &str {
    let rest = match line.split_once("] ") {
        Some((head, rest)) if head.len() <= 12 && head.contains('[') => rest,
        _ => line,
    };
    rest.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_create_output() {
        let lines: Vec<String> = [
            "INFO[0000] ### Installing VCH ####",
            "INFO[0001] VCH ID: vm-57",
            "INFO[0001] Published ports can be reached at:",
            "INFO[0001] 127.0.1.3",
            "INFO[0001] Connect to docker:",
            "INFO[0001] docker -H 127.0.1.3:2376 --tlsverify --tlscacert=\"/t/ca.pem\" --tlscert=\"/t/cert.pem\" --tlskey=\"/t/key.pem\" info",
        ]
        .map(String::from)
        .to_vec();
        let o = parse_create_output(&lines).unwrap();
        assert_eq!(o.vm, "vm-57");
        assert_eq!(o.address.to_string(), "127.0.1.3");
        assert_eq!(
            o.docker_args,
            [
                "-H",
                "127.0.1.3:2376",
                "--tlsverify",
                "--tlscacert=/t/ca.pem",
                "--tlscert=/t/cert.pem",
                "--tlskey=/t/key.pem"
            ]
        );
        assert!(parse_create_output(&lines[..3]).is_none());
    }
}
