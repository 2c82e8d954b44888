//! The SDK endpoint a client talks to, read from a URL such as `https://vc.example.com/sdk`,
//! `http://127.0.0.1:8989/sdk`, `https://[fd00::1]:8443` or plain `vc.example.com`.

use super::Error;

/// HTTP or HTTPS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (the emulator without TLS).
    Http,
    /// HTTPS (every real vCenter and ESXi).
    Https,
}

/// A parsed SDK URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The scheme (HTTPS when the URL names none).
    pub scheme: Scheme,
    /// The host name or IP address, without brackets.
    pub host: String,
    /// The port (443/80 when the URL names none).
    pub port: u16,
    /// The request path (`/sdk` when the URL names none).
    pub path: String,
    /// The user name from the URL's user-info part, if any (VIC's `--target user:pw@host`).
    pub user: Option<String>,
    /// The password from the URL's user-info part, if any.
    pub password: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("Endpoint")
            .field("url", &self.url())
            .field("user", &self.user)
            .finish()
    }
}

/// Longest URL accepted.
const MAX_URL: usize = 2048;

impl Endpoint {
    /// Parses a target URL.
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = |reason: &str| Error::Url {
            url: redact(url),
            reason: reason.to_owned(),
        };
        let text = url.trim();
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text.len() > MAX_URL {
            return Err(bad("it is too long"));
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((s, r)) if s.eq_ignore_ascii_case("https") => (Scheme::Https, r),
            Some((s, r)) if s.eq_ignore_ascii_case("http") => (Scheme::Http, r),
            Some(_) => return Err(bad("the scheme must be https or http")),
            None => (Scheme::Https, text),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        let path = if path.is_empty() || path == "/" {
            "/sdk".to_owned()
        } else {
            path.to_owned()
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (name, pw) = match u.split_once(':') {
                    Some((n, p)) => (n, Some(p)),
                    None => (u, None),
                };
                (
                    Some(percent_decode(name).ok_or_else(|| bad("bad %-escape in the user"))?),
                    pw.map(|p| {
                        percent_decode(p).ok_or_else(|| bad("bad %-escape in the password"))
                    })
                    .transpose()?,
                )
            }
        };
        let default_port = match scheme {
            Scheme::Https => 443,
            Scheme::Http => 80,
        };
        let (host, port) = split_host_port(hostport, default_port).map_err(|r| bad(&r))?;
        Ok(Endpoint {
            scheme,
            host,
            port,
            path,
            user,
            password,
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Host` header value (the port only when it is not the scheme's default).
    pub fn host_header(&self) -> String {
        let default = matches!(
            (self.scheme, self.port),
            (Scheme::Https, 443) | (Scheme::Http, 80)
        );
        match (default, self.host.contains(':')) {
            (true, true) => format!("[{}]", self.host),
            (true, false) => self.host.clone(),
            (false, _) => self.addr(),
        }
    }

    /// The URL without credentials (`https://vc:443/sdk`).
    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        format!("{scheme}://{}{}", self.addr(), self.path)
    }
}

/// Splits `host[:port]` / `[v6][:port]`.
pub(crate) fn split_host_port(s: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed '[' in the host".to_owned())?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err("unexpected text after the IPv6 address".into()),
        }
    } else if s.matches(':').count() > 1 {
        // A bare IPv6 address without brackets and without a port.
        (s, None)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '"'))
    {
        return Err("the host contains characters a host name cannot have".into());
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("bad port {p:?}"))?,
    };
    Ok((host.to_owned(), port))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with any password replaced, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match url.rsplit_once('@') {
            Some((u, h)) => format!("{}@{h}", u.split(':').next().unwrap_or("")),
            None => url.to_owned(),
        };
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((u, h)) => format!(
            "{scheme}://{}@{h}{}",
            u.split(':').next().unwrap_or(""),
            &rest[end..]
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let e = Endpoint::parse("https://vc.example.com/sdk").unwrap();
        assert_eq!(
            (e.scheme, e.host.as_str(), e.port),
            (Scheme::Https, "vc.example.com", 443)
        );
        assert_eq!(e.path, "/sdk");
        assert_eq!(e.host_header(), "vc.example.com");
        let e = Endpoint::parse("http://127.0.0.1:8989").unwrap();
        assert_eq!(
            (e.scheme, e.port, e.path.as_str()),
            (Scheme::Http, 8989, "/sdk")
        );
        assert_eq!(e.url(), "http://127.0.0.1:8989/sdk");
        let e = Endpoint::parse("vc").unwrap();
        assert_eq!(e.url(), "https://vc:443/sdk");
        let e = Endpoint::parse("https://[fd00::1]:8443/sdk").unwrap();
        assert_eq!(e.host, "fd00::1");
        assert_eq!(e.addr(), "[fd00::1]:8443");
        let e = Endpoint::parse("https://admin%40vsphere.local:p%3Ass@vc/sdk").unwrap();
        assert_eq!(e.user.as_deref(), Some("admin@vsphere.local"));
        assert_eq!(e.password.as_deref(), Some("p:ss"));
        assert!(!format!("{e:?}").contains("p:ss"));
    }

    #[test]
    fn rejects_bad_urls_without_leaking_passwords() {
        for bad in [
            "",
            "ftp://x",
            "https://:443",
            "https://h:0",
            "https://h:99999",
            "https://[::1",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        let e = Endpoint::parse("https://u:secret@h:bad/sdk").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
