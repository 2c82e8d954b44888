//! What vic-machine tells the user to connect (vic.md §1.3): the one-line `DOCKER_*`
//! environment, the `docker -H … info` hint, and the env file `<cert path>/<name>.env`.

use std::fs;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use super::error::TlsError;
use super::generate::{CERT_MODE, set_mode};
use super::{TlsMaterial, TlsMode};

/// The connection instructions for one VCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerConnect {
    /// The space-separated variables line (`Docker environment variables:`).
    pub env: String,
    /// The command (`Connect to docker:`).
    pub command: String,
    /// Warnings vic-machine prints with them (tlsverify without a known client certificate).
    pub warnings: Vec<String>,
}

/// The instructions for reaching `m`'s endpoint at `host` (the client IP, or a name from the
/// server certificate that resolves to it).
pub fn docker_connect(m: &TlsMaterial, host: &str) -> DockerConnect {
    let endpoint = host_port(host, m.port);
    let compose = "COMPOSE_TLS_VERSION=TLSv1_2";
    match (m.mode, &m.client_cert) {
        (TlsMode::NoTls, _) => DockerConnect {
            env: format!("DOCKER_HOST={endpoint} {compose}"),
            command: format!("docker -H {endpoint} info"),
            warnings: Vec::new(),
        },
        (TlsMode::ServerOnly, _) => {
            // VIC prints `--tls` alone, but a current docker CLI then loads
            // ~/.docker/ca.pem and fails when it is absent. Naming the VCH's own server
            // certificate as the CA file keeps the hint copy-pasteable; with `--tls` (no
            // verify) the CLI loads it without verifying the server against it.
            let server_cert = m
                .cert_dir
                .as_ref()
                .map(|d| absolute(&d.join("server-cert.pem")))
                .filter(|p| p.exists());
            let command = match server_cert {
                Some(p) => format!(
                    "docker -H {endpoint} --tls --tlscacert={} info",
                    shell_word(&p.display().to_string())
                ),
                None => format!("docker -H {endpoint} --tls info"),
            };
            DockerConnect {
                env: format!("DOCKER_HOST={endpoint} {compose}"),
                command,
                warnings: Vec::new(),
            }
        }
        (TlsMode::Mutual, Some(files)) => {
            // VIC reports the absolute path of the cert path's *base name* under the current
            // directory, wrong for any other location [issue #4683]; this is the real one.
            let cert_dir = absolute(files.cert.parent().unwrap_or(Path::new(".")));
            DockerConnect {
                env: format!(
                    "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={} DOCKER_HOST={endpoint} {compose}",
                    shell_word(&cert_dir.display().to_string())
                ),
                command: format!(
                    "docker -H {endpoint} --tlsverify --tlscacert={} --tlscert={} --tlskey={} info",
                    quoted(&absolute(&files.ca)),
                    quoted(&absolute(&files.cert)),
                    quoted(&absolute(&files.key)),
                ),
                warnings: Vec::new(),
            }
        }
        (TlsMode::Mutual, None) => DockerConnect {
            env: format!("DOCKER_TLS_VERIFY=1 DOCKER_HOST={endpoint} {compose}"),
            command: format!("docker -H {endpoint} --tlsverify info"),
            warnings: vec![
                "Unable to find valid client certs".into(),
                "DOCKER_CERT_PATH must be provided in environment or certificates specified \
                 individually via CLI arguments"
                    .into(),
            ],
        },
    }
}

/// Writes `connect.env` to `m.env_file` (mode 0644) if the cert path exists, as vic-machine
/// does; returns the path written, for `Environment saved in <path>`.
pub fn write_env_file(
    m: &TlsMaterial,
    connect: &DockerConnect,
) -> Result<Option<PathBuf>, TlsError> {
    if !m.env_file.parent().is_some_and(Path::is_dir) {
        return Ok(None);
    }
    let path = &m.env_file;
    let ctx = || format!("unable to write {}", path.display());
    fs::write(path, format!("{}\n", connect.env)).map_err(|e| TlsError::io(ctx(), e))?;
    set_mode(path, CERT_MODE).map_err(|e| TlsError::io(ctx(), e))?;
    Ok(Some(path.clone()))
}

/// `host:port`, bracketing an IPv6 literal.
fn host_port(host: &str, port: u16) -> String {
    if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `"…"` with the shell's double-quote specials escaped.
fn quoted(path: &Path) -> String {
    let mut out = String::from("\"");
    for c in path.display().to_string().chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The value as is when the shell would keep it one word, else quoted. VIC never quotes, so a
/// VCH name with a space (which `--name` allows) broke its variables line.
fn shell_word(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_owned()
    } else {
        quoted(Path::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::ClientCertFiles;

    fn material(mode: TlsMode, client_cert: Option<ClientCertFiles>) -> TlsMaterial {
        TlsMaterial {
            mode,
            port: mode.port(),
            server_chain_pem: String::new(),
            server_key_pem: String::new(),
            client_ca_pems: Vec::new(),
            cert_dir: Some("/certs/vch".into()),
            env_file: "/certs/vch/vch.env".into(),
            cname: None,
            client_cert,
            generated: false,
            reused: false,
            log: Vec::new(),
        }
    }

    #[test]
    fn lines_per_mode_match_vic() {
        let c = docker_connect(&material(TlsMode::NoTls, None), "10.0.0.5");
        assert_eq!(
            c.env,
            "DOCKER_HOST=10.0.0.5:2375 COMPOSE_TLS_VERSION=TLSv1_2"
        );
        assert_eq!(c.command, "docker -H 10.0.0.5:2375 info");

        let c = docker_connect(&material(TlsMode::ServerOnly, None), "10.0.0.5");
        assert_eq!(
            c.env,
            "DOCKER_HOST=10.0.0.5:2376 COMPOSE_TLS_VERSION=TLSv1_2"
        );
        assert_eq!(c.command, "docker -H 10.0.0.5:2376 --tls info");

        let files = ClientCertFiles {
            ca: "/certs/vch/ca.pem".into(),
            cert: "/certs/vch/cert.pem".into(),
            key: "/certs/vch/key.pem".into(),
        };
        let c = docker_connect(&material(TlsMode::Mutual, Some(files)), "10.0.0.5");
        assert_eq!(
            c.env,
            "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=/certs/vch DOCKER_HOST=10.0.0.5:2376 \
             COMPOSE_TLS_VERSION=TLSv1_2"
        );
        assert_eq!(
            c.command,
            "docker -H 10.0.0.5:2376 --tlsverify --tlscacert=\"/certs/vch/ca.pem\" \
             --tlscert=\"/certs/vch/cert.pem\" --tlskey=\"/certs/vch/key.pem\" info"
        );
        assert!(c.warnings.is_empty());

        let c = docker_connect(&material(TlsMode::Mutual, None), "::1");
        assert_eq!(
            c.env,
            "DOCKER_TLS_VERIFY=1 DOCKER_HOST=[::1]:2376 COMPOSE_TLS_VERSION=TLSv1_2"
        );
        assert_eq!(c.command, "docker -H [::1]:2376 --tlsverify info");
        assert_eq!(c.warnings.len(), 2);
    }

    #[test]
    fn cert_paths_with_spaces_stay_one_shell_word() {
        let files = ClientCertFiles {
            ca: "/c/my vch/ca.pem".into(),
            cert: "/c/my vch/cert.pem".into(),
            key: "/c/my vch/key.pem".into(),
        };
        let c = docker_connect(&material(TlsMode::Mutual, Some(files)), "h");
        assert!(
            c.env.contains("DOCKER_CERT_PATH=\"/c/my vch\" "),
            "{}",
            c.env
        );
        assert_eq!(shell_word("a$b"), "\"a\\$b\"");
    }

    #[test]
    fn env_file_is_written_only_into_an_existing_cert_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut m = material(TlsMode::NoTls, None);
        m.env_file = tmp.path().join("missing/vch.env");
        let c = docker_connect(&m, "1.2.3.4");
        assert_eq!(write_env_file(&m, &c).expect("write"), None);
        m.env_file = tmp.path().join("vch.env");
        assert_eq!(
            write_env_file(&m, &c).expect("write"),
            Some(m.env_file.clone())
        );
        let text = fs::read_to_string(&m.env_file).expect("read");
        assert_eq!(
            text,
            "DOCKER_HOST=1.2.3.4:2375 COMPOSE_TLS_VERSION=TLSv1_2\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&m.env_file)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }
}
