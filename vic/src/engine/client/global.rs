//! The docker CLI's global options (`-H`, `--tls`, `--tlsverify`, `--tlscacert`,
//! `--tlscert`, `--tlskey`, `-D`; `--config` and `--log-level` accepted and ignored), the
//! `DOCKER_*` variables line vic-machine prints, and how they resolve to a TLS mode.
//!
//! Nothing here reads the process environment or `~/.docker`: the cert directory is only
//! what `DOCKER_CERT_PATH` in an environment line names, so a scenario behaves the same on
//! every machine.

use super::error::CliError;
use super::flags::{self, Flag};
use super::words::split_words;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

/// Docker's plain-HTTP port, the default for `-H host` without TLS.
pub const DEFAULT_PLAIN_PORT: u16 = 2375;
/// Docker's TLS port, the default for `-H host` with `--tls` or `--tlsverify`.
pub const DEFAULT_TLS_PORT: u16 = 2376;
/// The CA file name in a cert directory.
pub const CA_FILE: &str = "ca.pem";
/// The client certificate file name in a cert directory.
pub const CERT_FILE: &str = "cert.pem";
/// The client key file name in a cert directory.
pub const KEY_FILE: &str = "key.pem";

const FLAGS: &[Flag] = &[
    Flag::value("host", Some('H')),
    Flag::bool("tls", None),
    Flag::bool("tlsverify", None),
    Flag::value("tlscacert", None),
    Flag::value("tlscert", None),
    Flag::value("tlskey", None),
    Flag::bool("debug", Some('D')),
    Flag::value("config", None),
    Flag::value("log-level", Some('l')),
    Flag::unsupported(
        "context",
        Some('c'),
        "give the endpoint with -H and the TLS flags",
    ),
];

/// A `-H` address: `tcp://` only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerHost {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The port, when given; otherwise 2375, or 2376 with TLS.
    pub port: Option<u16>,
}

impl DockerHost {
    /// Parses `tcp://host:port`, `host:port`, `tcp://host`, `:port` or `[v6]:port`, as the
    /// CLI's `ParseHost` does for tcp.
    pub fn parse(text: &str) -> Result<DockerHost, CliError> {
        let bad = || CliError::Connection(format!("Invalid bind address format: {text}"));
        let trimmed = text.trim();
        let addr = match trimmed.split_once("://") {
            None => trimmed,
            Some(("tcp", rest)) => rest,
            Some((scheme @ ("unix" | "npipe" | "ssh" | "fd"), _)) => {
                return Err(CliError::Unsupported {
                    what: format!("-H {scheme}://"),
                    why: "the VCH endpoint listens on tcp; use -H tcp://HOST:PORT".into(),
                });
            }
            Some(_) => return Err(bad()),
        };
        let addr = addr.strip_suffix('/').unwrap_or(addr);
        if addr.contains('/') {
            return Err(bad());
        }
        let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
            let (h, tail) = rest.split_once(']').ok_or_else(bad)?;
            h.parse::<Ipv6Addr>().map_err(|_| bad())?;
            match tail {
                "" => (h, None),
                t => (h, Some(t.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else {
            match addr.rsplit_once(':') {
                Some((h, _)) if h.contains(':') => return Err(bad()),
                Some((h, p)) => (h, Some(p)),
                None => (addr, None),
            }
        };
        let port = match port {
            None | Some("") => None,
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?),
        };
        let host = if host.is_empty() { "localhost" } else { host };
        if host.chars().any(|c| c.is_whitespace() || c == '@') {
            return Err(bad());
        }
        Ok(DockerHost {
            host: host.to_owned(),
            port,
        })
    }

    /// `host:port` (IPv6 bracketed) with the port resolved for `tls`.
    pub fn authority(&self, tls: bool) -> String {
        let port = self.port(tls);
        if self.host.contains(':') {
            format!("[{}]:{port}", self.host)
        } else {
            format!("{}:{port}", self.host)
        }
    }

    /// The port, or the default for `tls`.
    pub fn port(&self, tls: bool) -> u16 {
        self.port.unwrap_or(if tls {
            DEFAULT_TLS_PORT
        } else {
            DEFAULT_PLAIN_PORT
        })
    }
}

/// The connection options: global flags over an environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalOptions {
    /// `-H` / `DOCKER_HOST`.
    pub host: Option<DockerHost>,
    /// `--tls` / `DOCKER_TLS`: TLS without verifying the server.
    pub tls: bool,
    /// `--tlsverify` / `DOCKER_TLS_VERIFY`: TLS, verifying the server against the CA.
    pub tls_verify: bool,
    /// `--tlscacert`.
    pub tls_ca_cert: Option<PathBuf>,
    /// `--tlscert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tlskey`.
    pub tls_key: Option<PathBuf>,
    /// `DOCKER_CERT_PATH`: where `ca.pem`, `cert.pem` and `key.pem` default from.
    pub cert_path: Option<PathBuf>,
    /// `-D`.
    pub debug: bool,
}

/// How to connect, resolved from [`GlobalOptions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP.
    Plain,
    /// `--tls`: TLS accepting any server certificate; the client certificate, when there is
    /// one, is still presented.
    NoVerify {
        /// (certificate, key) files.
        client: Option<(PathBuf, PathBuf)>,
    },
    /// `--tlsverify`: the server certificate must chain to `ca` and name the `-H` host.
    Verify {
        /// The CA bundle file.
        ca: PathBuf,
        /// (certificate, key) files.
        client: Option<(PathBuf, PathBuf)>,
    },
}

impl GlobalOptions {
    /// Global options from `args` alone (all of them must be global options), e.g. the
    /// words of vic-machine's `Connect to docker:` line without `docker` and `info`.
    pub fn from_args(args: &[String]) -> Result<GlobalOptions, CliError> {
        let (global, rest) = GlobalOptions::default().apply_args(args)?;
        match rest.first() {
            None => Ok(global),
            Some(w) => Err(CliError::Connection(format!(
                "{w:?} is not a global docker option"
            ))),
        }
    }

    /// Options from vic-machine's `Docker environment variables:` line, e.g.
    /// `DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=/x DOCKER_HOST=127.0.1.2:2376
    /// COMPOSE_TLS_VERSION=TLSv1_2` (values may be quoted; a leading `export` is skipped).
    /// `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_TLS` and `DOCKER_CERT_PATH` are used;
    /// other variables are ignored. As in the CLI, any non-empty `DOCKER_TLS_VERIFY` (even
    /// `0`) turns verification on.
    pub fn from_env_line(line: &str) -> Result<GlobalOptions, CliError> {
        let mut words = split_words(line)?;
        if words.first().map(String::as_str) == Some("export") {
            words.remove(0);
        }
        let mut g = GlobalOptions::default();
        for w in words {
            let (k, v) = w.split_once('=').ok_or_else(|| {
                CliError::Connection(format!("{w:?} in the environment line is not NAME=VALUE"))
            })?;
            g.apply_env(k, v)?;
        }
        Ok(g)
    }

    /// Sets one `DOCKER_*` variable (unknown names are ignored).
    pub fn apply_env(&mut self, name: &str, value: &str) -> Result<(), CliError> {
        match name {
            "DOCKER_HOST" if !value.is_empty() => self.host = Some(DockerHost::parse(value)?),
            "DOCKER_TLS_VERIFY" => self.tls_verify = !value.is_empty(),
            "DOCKER_TLS" => self.tls = !value.is_empty(),
            "DOCKER_CERT_PATH" if !value.is_empty() => self.cert_path = Some(value.into()),
            _ => {}
        }
        Ok(())
    }

    /// Applies the global flags at the start of `argv` over `self`; returns the options and
    /// the rest (the command and its arguments).
    pub fn apply_args(mut self, argv: &[String]) -> Result<(GlobalOptions, Vec<String>), CliError> {
        let parsed = flags::scan("", FLAGS, argv, false)?;
        let hosts = parsed.all("host");
        if hosts.len() > 1 {
            return Err(CliError::Connection("Please specify only one -H".into()));
        }
        if let Some(h) = hosts.first() {
            self.host = Some(DockerHost::parse(h)?);
        }
        if parsed.changed("tls") {
            self.tls = parsed.bool("tls");
        }
        if parsed.changed("tlsverify") {
            self.tls_verify = parsed.bool("tlsverify");
        }
        let path = |k: &str| parsed.last(k).map(PathBuf::from);
        self.tls_ca_cert = path("tlscacert").or(self.tls_ca_cert);
        self.tls_cert = path("tlscert").or(self.tls_cert);
        self.tls_key = path("tlskey").or(self.tls_key);
        if parsed.changed("debug") {
            self.debug = parsed.bool("debug");
        }
        Ok((self, parsed.args))
    }

    /// Whether the connection uses TLS (`--tls` or `--tlsverify`).
    pub fn uses_tls(&self) -> bool {
        self.tls || self.tls_verify
    }

    /// `tcp://host:port`, as the CLI names the daemon in messages.
    pub fn url(&self) -> Option<String> {
        self.host
            .as_ref()
            .map(|h| format!("tcp://{}", h.authority(self.uses_tls())))
    }

    /// The TLS mode with its files: explicit flags first, then `ca.pem`, `cert.pem` and
    /// `key.pem` in [`GlobalOptions::cert_path`] (the client pair only when both default
    /// files exist, as the CLI does). `--tlsverify` needs a CA; `--tls` ignores it.
    pub fn tls_mode(&self) -> Result<TlsMode, CliError> {
        if !self.uses_tls() {
            return Ok(TlsMode::Plain);
        }
        let in_dir = |f: &str| self.cert_path.as_deref().map(|d| d.join(f));
        let default_file = |f: &str| in_dir(f).filter(|p| p.is_file());
        let cert = self.tls_cert.clone().or_else(|| default_file(CERT_FILE));
        let key = self.tls_key.clone().or_else(|| default_file(KEY_FILE));
        let client = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            (Some(c), None) => return Err(missing_pair(&c, "--tlskey")),
            (None, Some(k)) => return Err(missing_pair(&k, "--tlscert")),
        };
        if !self.tls_verify {
            return Ok(TlsMode::NoVerify { client });
        }
        let ca = self
            .tls_ca_cert
            .clone()
            .or_else(|| in_dir(CA_FILE))
            .ok_or_else(|| {
                CliError::Connection(
                    "--tlsverify needs the CA certificate: give --tlscacert or DOCKER_CERT_PATH"
                        .into(),
                )
            })?;
        Ok(TlsMode::Verify { ca, client })
    }
}

fn missing_pair(given: &Path, missing: &str) -> CliError {
    CliError::Connection(format!(
        "the client certificate pair is incomplete: {} has no {missing}",
        given.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn hosts_parse_as_the_cli() {
        let h = |s: &str| DockerHost::parse(s);
        let ok = |host: &str, port: Option<u16>| {
            Ok(DockerHost {
                host: host.into(),
                port,
            })
        };
        assert_eq!(h("tcp://127.0.1.2:2376"), ok("127.0.1.2", Some(2376)));
        assert_eq!(h("127.0.1.2:2375"), ok("127.0.1.2", Some(2375)));
        assert_eq!(h("tcp://vch.example"), ok("vch.example", None));
        assert_eq!(h("tcp://h:2376/"), ok("h", Some(2376)));
        assert_eq!(h(":2376"), ok("localhost", Some(2376)));
        assert_eq!(h("[::1]:2376"), ok("::1", Some(2376)));
        assert_eq!(h("tcp://[::1]"), ok("::1", None));
        for bad in [
            "h:x",
            "h:0",
            "h:99999",
            "http://h:1",
            "h:1/path",
            "::1:2376",
            "[zz]:1",
        ] {
            assert!(
                matches!(h(bad), Err(CliError::Connection(_))),
                "{bad}: {:?}",
                h(bad)
            );
        }
        assert!(matches!(
            h("unix:///var/run/docker.sock"),
            Err(CliError::Unsupported { .. })
        ));
        let d = h("[::1]").unwrap();
        assert_eq!(d.authority(true), "[::1]:2376");
        assert_eq!(h("h").unwrap().authority(false), "h:2375");
    }

    #[test]
    fn global_flags_stop_at_the_command() {
        let (g, rest) = GlobalOptions::default()
            .apply_args(&args(
                "-H 127.0.1.2:2376 --tlsverify --tlscacert=\"/c/ca.pem\" --tlscert /c/cert.pem --tlskey=/c/key.pem -D --config /x ps -a",
            ))
            .unwrap();
        assert_eq!(rest, ["ps", "-a"]);
        assert!(g.tls_verify && !g.tls && g.debug);
        assert_eq!(g.url().as_deref(), Some("tcp://127.0.1.2:2376"));
        assert_eq!(
            g.tls_mode().unwrap(),
            TlsMode::Verify {
                ca: "/c/ca.pem".into(),
                client: Some(("/c/cert.pem".into(), "/c/key.pem".into()))
            }
        );
        let e = GlobalOptions::from_args(&args("-H a:1 -H b:2")).unwrap_err();
        assert_eq!(e.to_string(), "Please specify only one -H");
        let e = GlobalOptions::from_args(&args("--foo")).unwrap_err();
        assert_eq!(e.to_string(), "unknown flag: --foo");
        let e = GlobalOptions::from_args(&args("-H a:1 info")).unwrap_err();
        assert!(e.to_string().contains("not a global docker option"), "{e}");
        let e = GlobalOptions::from_args(&args("--context x")).unwrap_err();
        assert!(matches!(e, CliError::Unsupported { .. }), "{e}");
    }

    #[test]
    fn env_lines_as_vic_machine_prints_them() {
        let g = GlobalOptions::from_env_line(
            "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=\"/certs/my vch\" DOCKER_HOST=127.0.1.2:2376 COMPOSE_TLS_VERSION=TLSv1_2",
        )
        .unwrap();
        assert!(g.tls_verify);
        assert_eq!(g.cert_path.as_deref(), Some(Path::new("/certs/my vch")));
        assert_eq!(g.url().as_deref(), Some("tcp://127.0.1.2:2376"));
        // The directory does not exist: the CA still defaults into it, the client pair not.
        assert_eq!(
            g.tls_mode().unwrap(),
            TlsMode::Verify {
                ca: "/certs/my vch/ca.pem".into(),
                client: None
            }
        );
        let g = GlobalOptions::from_env_line(
            "export DOCKER_HOST=10.0.0.5:2375 COMPOSE_TLS_VERSION=TLSv1_2",
        )
        .unwrap();
        assert_eq!(g.tls_mode().unwrap(), TlsMode::Plain);
        assert_eq!(g.url().as_deref(), Some("tcp://10.0.0.5:2375"));
        assert!(GlobalOptions::from_env_line("DOCKER_HOST").is_err());
        assert!(GlobalOptions::from_env_line("DOCKER_HOST='x").is_err());
    }

    #[test]
    fn tls_modes_resolve_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in [CA_FILE, CERT_FILE, KEY_FILE] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let mut g = GlobalOptions {
            tls: true,
            cert_path: Some(dir.path().into()),
            ..GlobalOptions::default()
        };
        assert_eq!(
            g.tls_mode().unwrap(),
            TlsMode::NoVerify {
                client: Some((dir.path().join(CERT_FILE), dir.path().join(KEY_FILE)))
            }
        );
        g.cert_path = None;
        assert_eq!(g.tls_mode().unwrap(), TlsMode::NoVerify { client: None });
        g.tls_cert = Some("/c.pem".into());
        assert!(g.tls_mode().unwrap_err().to_string().contains("--tlskey"));
        g.tls_cert = None;
        g.tls_verify = true;
        assert!(
            g.tls_mode()
                .unwrap_err()
                .to_string()
                .contains("--tlscacert")
        );
    }
}
