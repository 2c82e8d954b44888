//! `vicbed top`'s command line ([`TopArgs`], clap) and its checked form ([`Settings`]).

use crate::keys::parse_delay;
use std::time::Duration;
use vic::vsphere::{ConnectOptions, Endpoint};

/// `vicbed top --url URL [--user U --password P] [-d SECONDS] [-n N] [-b]`.
#[derive(clap::Args, Debug, Clone)]
pub struct TopArgs {
    /// The SDK URL: `https://vc.example.com/sdk`, `http://127.0.0.1:8989/sdk`; may carry
    /// `user:password@` as GOVC_URL does.
    #[arg(long)]
    pub url: String,
    /// User name (default: the URL's).
    #[arg(long)]
    pub user: Option<String>,
    /// Password (default: the URL's).
    #[arg(long)]
    pub password: Option<String>,
    /// Accept any server certificate.
    #[arg(long, short = 'k')]
    pub insecure: bool,
    /// The server certificate's expected SHA-1 thumbprint (`AB:CD:…`).
    #[arg(long)]
    pub thumbprint: Option<String>,
    /// Wall seconds between refreshes (esxtop's -d; 1 to 3600, fractions allowed).
    #[arg(short = 'd', long = "delay", default_value = "5")]
    pub delay: String,
    /// Quit after this many refreshes (esxtop's -n; default: run until `q`).
    #[arg(short = 'n', long = "iterations")]
    pub iterations: Option<u64>,
    /// Batch mode: no screen; one CSV line per VM per refresh on stdout (with -n, a script's
    /// reader; without it, until interrupted).
    #[arg(short = 'b', long = "batch")]
    pub batch: bool,
}

/// The arguments checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The URL without credentials.
    pub url: String,
    /// The URL as given minus credentials, for the screen.
    pub endpoint: Endpoint,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// TLS policy.
    pub connect: ConnectOptions,
    /// Delay between refreshes.
    pub delay: Duration,
    /// Refreshes before quitting.
    pub iterations: Option<u64>,
    /// CSV to stdout instead of a screen.
    pub batch: bool,
}

/// How long one SOAP request may take: a restarting server must show up as "reconnecting"
/// within a few refreshes, not after the client's default minute.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl TopArgs {
    /// Checks the arguments (exit 2 on error).
    pub fn settings(&self) -> Result<Settings, String> {
        let endpoint = Endpoint::parse(&self.url).map_err(|e| e.to_string())?;
        let user = self
            .user
            .clone()
            .or_else(|| endpoint.user.clone())
            .filter(|u| !u.is_empty())
            .ok_or("no user: give --user or user:password@ in --url")?;
        let password = self
            .password
            .clone()
            .or_else(|| endpoint.password.clone())
            .unwrap_or_default();
        let delay = parse_delay(&self.delay).map_err(|e| format!("-d: {e}"))?;
        if self.iterations == Some(0) {
            return Err("-n: must be at least 1".into());
        }
        if let Some(t) = &self.thumbprint
            && vic::vsphere::normalize_thumbprint(t).is_none()
        {
            return Err(format!(
                "--thumbprint {t:?}: expected a SHA-1 thumbprint (20 hex pairs separated by colons)"
            ));
        }
        let connect = ConnectOptions {
            thumbprint: self.thumbprint.clone(),
            insecure: self.insecure,
            user_agent: format!("vicbed-top/{}", env!("CARGO_PKG_VERSION")),
            timeout: REQUEST_TIMEOUT,
            ..ConnectOptions::default()
        };
        Ok(Settings {
            url: endpoint.url(),
            endpoint,
            user,
            password,
            connect,
            delay,
            iterations: self.iterations,
            batch: self.batch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str) -> TopArgs {
        TopArgs {
            url: url.into(),
            user: None,
            password: None,
            insecure: false,
            thumbprint: None,
            delay: "5".into(),
            iterations: None,
            batch: false,
        }
    }

    #[test]
    fn credentials_come_from_the_flags_or_the_url() {
        let s = args("http://user:pa%40ss@127.0.0.1:8989/sdk")
            .settings()
            .expect("ok");
        assert_eq!((s.user.as_str(), s.password.as_str()), ("user", "pa@ss"));
        assert_eq!(s.url, "http://127.0.0.1:8989/sdk");
        assert_eq!(s.delay, Duration::from_secs(5));
        let mut a = args("https://vc/sdk");
        assert!(a.settings().unwrap_err().contains("no user"));
        a.user = Some("admin".into());
        a.password = Some("pw".into());
        let s = a.settings().expect("ok");
        assert_eq!((s.user.as_str(), s.password.as_str()), ("admin", "pw"));
        assert_eq!(s.connect.timeout, REQUEST_TIMEOUT);
    }

    #[test]
    fn bad_values_are_refused() {
        let mut a = args("http://u:p@h/sdk");
        a.delay = "0".into();
        assert!(a.settings().unwrap_err().starts_with("-d:"));
        a.delay = "1".into();
        a.iterations = Some(0);
        assert!(a.settings().is_err());
        a.iterations = Some(3);
        a.thumbprint = Some("nope".into());
        assert!(a.settings().unwrap_err().contains("thumbprint"));
        assert!(args("ftp://h").settings().is_err());
    }
}
