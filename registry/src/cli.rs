//! The `vicbed serve --registry …` flags and what they start: parsed here so the binary
//! only flattens [`RegistryArgs`] into its serve flags, calls [`start`] and prints
//! [`Started::export_lines`].

use crate::config::{Project, RegistryConfig, TlsMode, User};
use crate::server::{RegistryHandle, ServeError};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The registry flags of `vicbed serve`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// Also serve a container registry (Harbor-shaped, OCI distribution v2) for host name
    /// NAME, listening on IP:PORT (default 127.0.0.1 and a free port).
    #[arg(long = "registry", value_name = "NAME[@IP:PORT]")]
    pub registry: Option<String>,
    /// A registry user (repeatable); with none, anyone may push and pull.
    #[arg(long = "registry-user", value_name = "USER:PASSWORD")]
    pub users: Vec<String>,
    /// A project (Harbor's `project/repository` names; repeatable): `NAME` is private,
    /// `NAME:public` lets anyone pull. `library` always exists.
    #[arg(long = "registry-project", value_name = "NAME[:public]")]
    pub projects: Vec<String>,
    /// Keep the registry's blobs and metadata under DIR (default: in memory).
    #[arg(long = "registry-data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Write the registry's `ca.crt` into DIR (default: the data dir, else a temp dir
    /// removed at exit).
    #[arg(long = "registry-cert-dir", value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Serve the registry over plain HTTP (for `--insecure-registry` clients).
    #[arg(long = "registry-insecure")]
    pub insecure: bool,
}

/// Why the flags do not make a registry.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag value that does not parse.
    #[error("{flag} {value:?}: {why}")]
    Flag {
        /// The flag.
        flag: &'static str,
        /// Its value (never a password: users are reported by name only).
        value: String,
        /// What was expected.
        why: &'static str,
    },
    /// Starting failed.
    #[error("starting the registry: {0}")]
    Serve(#[from] ServeError),
    /// The temp cert dir could not be made.
    #[error("creating the registry's cert dir: {0}")]
    Io(#[from] std::io::Error),
}

/// `NAME[@IP:PORT]` → host name and listen address.
pub fn parse_spec(spec: &str) -> Result<(String, SocketAddr), CliError> {
    let bad = |why| CliError::Flag {
        flag: "--registry",
        value: spec.to_owned(),
        why,
    };
    let (name, addr) = match spec.split_once('@') {
        Some((n, a)) => (
            n,
            a.parse::<SocketAddr>()
                .map_err(|_| bad("expected NAME@IP:PORT, e.g. registry.corp.local@127.0.0.1:0"))?,
        ),
        None => (spec, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !name_ok {
        return Err(bad("expected a host name such as registry.corp.local"));
    }
    Ok((name.to_owned(), addr))
}

/// The configuration and listen address the flags ask for (`None`: no `--registry`).
pub fn config(args: &RegistryArgs) -> Result<Option<(RegistryConfig, SocketAddr)>, CliError> {
    let Some(spec) = &args.registry else {
        return Ok(None);
    };
    let (host_name, addr) = parse_spec(spec)?;
    let mut users = Vec::new();
    for u in &args.users {
        let user = User::parse(u).ok_or_else(|| CliError::Flag {
            flag: "--registry-user",
            // Only the part before the colon: the rest may be a password.
            value: u.split(':').next().unwrap_or_default().to_owned(),
            why: "expected USER:PASSWORD",
        })?;
        users.push(user);
    }
    let mut projects = Vec::new();
    for p in &args.projects {
        let (name, public) = match p.split_once(':') {
            Some((n, "public")) => (n, true),
            Some((n, "private")) => (n, false),
            None => (p.as_str(), false),
            Some(_) => {
                return Err(CliError::Flag {
                    flag: "--registry-project",
                    value: p.clone(),
                    why: "expected NAME, NAME:public or NAME:private",
                });
            }
        };
        if !crate::name::component_ok(name) {
            return Err(CliError::Flag {
                flag: "--registry-project",
                value: p.clone(),
                why: "a project name is lower-case letters, digits, '.', '_' or '-'",
            });
        }
        projects.push(Project {
            name: name.to_owned(),
            public,
        });
    }
    let tls = if args.insecure {
        TlsMode::Insecure
    } else {
        TlsMode::Generate {
            cert_dir: args.cert_dir.clone().or_else(|| args.data_dir.clone()),
        }
    };
    let config = RegistryConfig {
        host_name,
        users,
        projects,
        data_dir: args.data_dir.clone(),
        tls,
        ..RegistryConfig::default()
    };
    Ok(Some((config, addr)))
}

/// A registry started from the flags.
pub struct Started {
    handle: RegistryHandle,
    host_name: String,
    /// A cert dir this process made (removed at stop).
    temp_cert_dir: Option<PathBuf>,
}

/// Starts the registry the flags ask for, if any.
pub async fn start(args: &RegistryArgs) -> Result<Option<Started>, CliError> {
    let Some((mut config, addr)) = config(args)? else {
        return Ok(None);
    };
    let mut temp_cert_dir = None;
    if let TlsMode::Generate { cert_dir: None } = config.tls {
        let dir = std::env::temp_dir().join(format!(
            "vicbed-registry-{}-{}",
            std::process::id(),
            crate::upload::random_id()?
        ));
        config.tls = TlsMode::Generate {
            cert_dir: Some(dir.clone()),
        };
        temp_cert_dir = Some(dir);
    }
    let host_name = config.host_name.clone();
    let handle = crate::server::bind_and_serve(config, addr, std::future::pending()).await?;
    Ok(Some(Started {
        handle,
        host_name,
        temp_cert_dir,
    }))
}

impl Started {
    /// The running registry.
    pub fn handle(&self) -> &RegistryHandle {
        &self.handle
    }

    /// The host name image references use for it (`registry.corp.local`).
    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// `export NAME=VALUE` lines for the serve output.
    pub fn export_lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("export VICBED_REGISTRY={}", self.handle.addr()),
            format!("export VICBED_REGISTRY_URL={}", self.handle.url()),
            format!("export VICBED_REGISTRY_NAME={}", self.host_name),
        ];
        if let Some(p) = self.handle.ca_path() {
            let quoted = p.display().to_string().replace('\'', r"'\''");
            lines.push(format!("export VICBED_REGISTRY_CA='{quoted}'"));
        }
        lines
    }

    /// Stops the registry and removes a temp cert dir it made.
    pub async fn stop(self) -> std::io::Result<()> {
        let result = self.handle.stop().await;
        if let Some(dir) = &self.temp_cert_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let (n, a) = parse_spec("registry.corp.local").expect("name only");
        assert_eq!(
            (n.as_str(), a.to_string().as_str()),
            ("registry.corp.local", "127.0.0.1:0")
        );
        let (_, a) = parse_spec("r@10.0.0.5:5000").expect("with addr");
        assert_eq!(a.to_string(), "10.0.0.5:5000");
        assert!(parse_spec("r@nowhere").is_err());
        assert!(parse_spec("bad name@127.0.0.1:1").is_err());
    }

    #[test]
    fn a_bad_user_flag_never_echoes_the_password() {
        let args = RegistryArgs {
            registry: Some("r".into()),
            users: vec!["admin:".into(), "x".into()],
            ..RegistryArgs::default()
        };
        let e = config(&args).expect_err("refused").to_string();
        assert!(e.contains("admin") && e.contains("USER:PASSWORD"), "{e}");
        let args = RegistryArgs {
            registry: Some("r".into()),
            users: vec!["admin:pw".into()],
            insecure: true,
            ..RegistryArgs::default()
        };
        let (c, _) = config(&args).expect("ok").expect("some");
        assert_eq!(c.tls, TlsMode::Insecure);
        assert_eq!(c.users.len(), 1);
        let args = RegistryArgs {
            registry: Some("r".into()),
            projects: vec!["justait:public".into(), "team".into()],
            ..RegistryArgs::default()
        };
        let (c, _) = config(&args).expect("ok").expect("some");
        assert_eq!(
            c.projects,
            [
                Project {
                    name: "justait".into(),
                    public: true
                },
                Project {
                    name: "team".into(),
                    public: false
                },
            ]
        );
        for bad in ["Bad", "x:maybe", ":public", "a..b", "a-"] {
            let args = RegistryArgs {
                registry: Some("r".into()),
                projects: vec![bad.into()],
                ..RegistryArgs::default()
            };
            assert!(config(&args).is_err(), "{bad}");
        }
    }
}
