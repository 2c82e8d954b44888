//! What a registry is configured with: its host name, projects (public or private, as in
//! Harbor), users, storage and bounds.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The project every registry has, public, as in Harbor.
pub const DEFAULT_PROJECT: &str = "library";
/// The token service name clients pass back (`service=`), Harbor's.
pub const TOKEN_SERVICE: &str = "harbor-registry";

/// A Harbor project: the first component of repository names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Project {
    /// The project name.
    pub name: String,
    /// Anonymous clients may pull from a public project.
    pub public: bool,
}

/// A user who may log in; every user may push to and pull from every project.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// The password (never logged: `Debug` hides it).
    pub password: String,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl User {
    /// Parses `USER:PASSWORD` (the password may contain colons).
    pub fn parse(text: &str) -> Option<User> {
        let (name, password) = text.split_once(':')?;
        (!name.is_empty() && !password.is_empty()).then(|| User {
            name: name.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// The bounds that keep one client from exhausting the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistryLimits {
    /// The largest manifest accepted.
    pub max_manifest_bytes: u64,
    /// The largest blob accepted.
    pub max_blob_bytes: u64,
    /// Upload sessions open at once; more get `429`.
    pub max_upload_sessions: usize,
    /// An upload session with no request for this long is dropped with its data.
    pub upload_idle_timeout: Duration,
    /// Bearer tokens held at once (the oldest are dropped beyond this).
    pub max_tokens: usize,
    /// How long a bearer token is valid.
    pub token_ttl: Duration,
    /// The most entries one tags or catalog page holds.
    pub max_page_entries: usize,
}

impl Default for RegistryLimits {
    fn default() -> RegistryLimits {
        RegistryLimits {
            max_manifest_bytes: 4 << 20,
            max_blob_bytes: 2 << 30,
            max_upload_sessions: 64,
            upload_idle_timeout: Duration::from_secs(300),
            max_tokens: 4096,
            // Harbor's default token lifetime: 30 minutes.
            token_ttl: Duration::from_secs(1800),
            max_page_entries: 10_000,
        }
    }
}

/// How the registry serves: HTTPS with a certificate from its own CA, or plain HTTP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Generate a CA and a server certificate; write the CA as `ca.crt` into `cert_dir`
    /// (docker's `/etc/docker/certs.d/<host:port>/` layout, skopeo's `--cert-dir`).
    Generate {
        /// Where `ca.crt` goes (created if missing); `None`: not written.
        cert_dir: Option<PathBuf>,
    },
    /// Plain HTTP, for `--insecure-registry` setups.
    Insecure,
}

/// Everything a registry is configured with.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// The registry's host name, put in its certificate (`registry.corp.local`).
    pub host_name: String,
    /// Projects besides `library` (which always exists, public).
    pub projects: Vec<Project>,
    /// Users; with none, authentication is off and anyone may pull and push.
    pub users: Vec<User>,
    /// Store blobs and metadata under this directory instead of in memory.
    pub data_dir: Option<PathBuf>,
    /// HTTPS or plain HTTP.
    pub tls: TlsMode,
    /// The bounds.
    pub limits: RegistryLimits,
}

impl Default for RegistryConfig {
    fn default() -> RegistryConfig {
        RegistryConfig {
            host_name: "registry.corp.local".to_owned(),
            projects: Vec::new(),
            users: Vec::new(),
            data_dir: None,
            tls: TlsMode::Generate { cert_dir: None },
            limits: RegistryLimits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_and_never_show_their_password() {
        let u = User::parse("admin:s3:cret").expect("valid");
        assert_eq!((u.name.as_str(), u.password.as_str()), ("admin", "s3:cret"));
        assert!(!format!("{u:?}").contains("s3:cret"));
        assert_eq!(User::parse("admin"), None);
        assert_eq!(User::parse(":x"), None);
        assert_eq!(User::parse("x:"), None);
    }
}
