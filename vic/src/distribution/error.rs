//! What can go wrong between the client and a registry, each in the words the docker CLI
//! shows after `Error response from daemon: ` — dockerd 1.13's, which come from Go's
//! `net/http` and `crypto/x509` and from docker/distribution's error codes:
//!
//! - a registry refusal with an error body: the first error's code lower-cased (`_` as a
//!   space) and its message, `unauthorized: authentication required`; no parseable body on
//!   a 401: the code's default message; a status of 500 or more: `received unexpected HTTP
//!   status: 500 Internal Server Error` (distribution's client reads no body then);
//! - a transport failure: Go's `url.Error`, `Get https://host/v2/: <cause>`, the cause as Go
//!   words it (`dial tcp 10.0.0.1:443: getsockopt: connection refused`, `x509: certificate
//!   signed by unknown authority`, `http: server gave HTTP response to HTTPS client`);
//! - pull translations (dockerd's `TranslatePullError`) stay with the pull.
//!
//! One difference from distribution's client, on purpose: it prints only the code
//! (`unauthorized`) when an error's `detail` is null and its message is the code's default;
//! here the message always follows, as with registries that fill `detail` (docker's own,
//! Harbor), which is the text users know.

use crate::http1::{ConnectError, ReadError, Response};
use crate::tlsverify::rustls_error;
use rustls::{AlertDescription, CertificateError, InvalidMessage};
use std::io;
use std::net::SocketAddr;

/// Why a registry operation failed. Every variant's text (its `Display`) is the docker
/// CLI's for the same failure; the variant says what kind of failure it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DistributionError {
    /// No credentials, wrong ones, or a token the registry refused (401).
    #[error("{text}")]
    Unauthorized {
        /// `unauthorized: authentication required`, or
        /// `Get https://host/v2/: unauthorized: authentication required` when the token
        /// service refused the credentials.
        text: String,
    },
    /// Authenticated, but not allowed (403).
    #[error("{text}")]
    Denied {
        /// `denied: requested access to the resource is denied`.
        text: String,
    },
    /// The repository, manifest or blob does not exist (404, or a pull's translation).
    #[error("{text}")]
    NotFound {
        /// `manifest for registry.corp.local/library/x:v1 not found`.
        text: String,
    },
    /// The TLS handshake failed: an untrusted or mismatched certificate, an alert, or a
    /// plain-HTTP server on the TLS port.
    #[error("{text}")]
    Tls {
        /// `Get https://host/v2/: x509: certificate signed by unknown authority`.
        text: String,
    },
    /// The TCP connection failed.
    #[error("{text}")]
    Connect {
        /// Where the client tried to connect.
        addr: SocketAddr,
        /// `Get https://host/v2/: dial tcp 10.0.0.1:443: getsockopt: connection refused`.
        text: String,
    },
    /// Connecting or an exchange took longer than its limit.
    #[error("{text}")]
    Timeout {
        /// The limit that ran out.
        after_ms: u64,
        /// `Get https://host/v2/: dial tcp 10.0.0.1:443: i/o timeout`.
        text: String,
    },
    /// Content that does not match its digest or size.
    #[error("{text}")]
    Verification {
        /// The digest expected.
        digest: String,
        /// `filesystem layer verification failed for digest sha256:…`.
        text: String,
    },
    /// A manifest, config or layer beyond its bound.
    #[error("{text}")]
    TooLarge {
        /// The bound.
        limit_bytes: u64,
        /// What was too large, and the bound.
        text: String,
    },
    /// Any other refusal by the registry (a `400 MANIFEST_INVALID`, a `429`, a `500`).
    #[error("{text}")]
    Registry {
        /// The HTTP status.
        status: u16,
        /// `manifest invalid: manifest invalid: …`.
        text: String,
    },
    /// An answer that is not what the protocol says: not HTTP (a plain request to a TLS
    /// port), cut short, a missing header, unexpected JSON, an unexpected status.
    #[error("{text}")]
    Protocol {
        /// What went wrong.
        text: String,
    },
    /// A repository name, reference or registry host the client refuses before sending.
    #[error("{text}")]
    InvalidReference {
        /// `invalid reference format`.
        text: String,
    },
}

/// What Go's TLS server answers to a plain HTTP request — a fatal `unexpected_message`
/// alert — as `net/http` quotes it (up to the alert's `\n` byte). The registries the
/// testbed stands for (docker's, Harbor) are Go servers, so this is the text users see.
const GO_TLS_ALERT: &str = r#""\x15\x03\x01\x00\x02\x02""#;

/// A failure below HTTP semantics: connecting, TLS, reading, deadlines.
#[derive(Debug)]
pub(super) enum Failure {
    /// The TLS configuration could not be made (an unusable server name).
    Config(String),
    /// Connecting (TCP or TLS) failed.
    Connect(ConnectError),
    /// Connecting took longer than the limit.
    ConnectTimeout {
        /// The limit.
        after_ms: u64,
    },
    /// No response head within the exchange limit.
    HeadTimeout {
        /// The limit.
        after_ms: u64,
    },
    /// The body was not read within the exchange limit.
    BodyTimeout {
        /// The limit.
        after_ms: u64,
    },
    /// The exchange failed.
    Read(ReadError),
}

/// Where a failed request went, for Go's `url.Error` prefix.
pub(super) struct RequestSite<'a> {
    /// `Get`, `Head`, `Post`, `Put` (Go's spelling).
    pub op: &'a str,
    /// `https://host/v2/…`.
    pub url: &'a str,
    /// The address connected to.
    pub addr: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// What the body is (`manifest`, `layer sha256:…`), for a too-large answer.
    pub what: &'a str,
}

/// Go's spelling of a method in `url.Error` (`Get`, `Head`).
pub(super) fn go_op(method: &str) -> String {
    let mut chars = method.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + &chars.as_str().to_lowercase(),
        None => String::new(),
    }
}

impl Failure {
    /// The error `self` is for a request to `site`, in Go's words.
    pub(super) fn at(self, site: &RequestSite<'_>) -> DistributionError {
        let RequestSite {
            op, url, addr, tls, ..
        } = site;
        let prefixed = |cause: &str| format!("{op} {url}: {cause}");
        match self {
            Failure::Config(why) => DistributionError::Tls {
                text: prefixed(&why),
            },
            Failure::Connect(ConnectError::Tcp(e)) => DistributionError::Connect {
                addr: *addr,
                text: prefixed(&format!("dial tcp {addr}: getsockopt: {}", go_errno(&e))),
            },
            Failure::Connect(ConnectError::Tls(e)) => DistributionError::Tls {
                text: prefixed(&go_tls_io(&e)),
            },
            Failure::ConnectTimeout { after_ms } => DistributionError::Timeout {
                after_ms,
                text: prefixed(&format!("dial tcp {addr}: i/o timeout")),
            },
            Failure::HeadTimeout { after_ms } => DistributionError::Timeout {
                after_ms,
                text: prefixed(
                    "net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
                ),
            },
            Failure::BodyTimeout { after_ms } => DistributionError::Timeout {
                after_ms,
                text: prefixed(
                    "net/http: request canceled (Client.Timeout exceeded while reading body)",
                ),
            },
            Failure::Read(ReadError::Closed(_)) => DistributionError::Protocol {
                text: prefixed("EOF"),
            },
            Failure::Read(ReadError::NotHttp) => {
                let broken =
                    "net/http: HTTP/1.x transport connection broken: malformed HTTP response";
                // Over plain TCP, bytes that are not HTTP are a TLS server's alert.
                let text = if *tls {
                    prefixed(broken)
                } else {
                    prefixed(&format!("{broken} {GO_TLS_ALERT}"))
                };
                DistributionError::Protocol { text }
            }
            Failure::Read(ReadError::Io { source, .. }) => match rustls_error(&source) {
                Some(tls_error) => DistributionError::Tls {
                    text: prefixed(&go_tls(tls_error)),
                },
                None => DistributionError::Protocol {
                    text: prefixed(&format!(
                        "net/http: HTTP/1.x transport connection broken: {}",
                        go_errno(&source)
                    )),
                },
            },
            Failure::Read(ReadError::Protocol(why)) => DistributionError::Protocol {
                text: prefixed(&why),
            },
            Failure::Read(ReadError::TooLarge { limit }) => DistributionError::TooLarge {
                limit_bytes: limit as u64,
                text: prefixed(&format!(
                    "the {} is larger than the limit of {limit} bytes",
                    site.what
                )),
            },
        }
    }
}

/// An OS error as Go prints it (`connection refused`), without Rust's `(os error N)`.
fn go_errno(e: &io::Error) -> String {
    use io::ErrorKind::*;
    let known = match e.kind() {
        ConnectionRefused => "connection refused",
        ConnectionReset => "connection reset by peer",
        ConnectionAborted => "software caused connection abort",
        HostUnreachable => "no route to host",
        NetworkUnreachable => "network is unreachable",
        TimedOut => "connection timed out",
        AddrNotAvailable => "cannot assign requested address",
        BrokenPipe => "broken pipe",
        PermissionDenied => "permission denied",
        UnexpectedEof => "EOF",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => text,
    }
}

/// A TLS handshake's I/O error in Go's words.
fn go_tls_io(e: &io::Error) -> String {
    match rustls_error(e) {
        Some(tls_error) => go_tls(tls_error),
        None => go_errno(e),
    }
}

/// A rustls error in the words of Go's `crypto/tls` and `crypto/x509`.
pub(super) fn go_tls(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => go_x509(c),
        // The first record was not TLS: a plain HTTP server answered the ClientHello (Go
        // sees `HTTP/` in the record header and says so).
        rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType) => {
            "http: server gave HTTP response to HTTPS client".into()
        }
        rustls::Error::AlertReceived(alert) => format!("remote error: tls: {}", go_alert(*alert)),
        other => format!("tls: {other}"),
    }
}

/// A certificate refusal as Go's `crypto/x509` words it.
fn go_x509(c: &CertificateError) -> String {
    match c {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            "x509: certificate signed by unknown authority".into()
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => {
            "x509: certificate has expired or is not yet valid".into()
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => not_valid_for(&expected.to_str(), presented),
        CertificateError::NotValidForName => "x509: certificate is not valid for this name".into(),
        other => format!("x509: {other:?}"),
    }
}

/// Go's name-mismatch text: the certificate's names of the kind wanted (DNS names for a
/// host name, IP addresses for an address).
fn not_valid_for(wanted: &str, presented: &[String]) -> String {
    let is_ip = wanted.parse::<std::net::IpAddr>().is_ok();
    let names: Vec<&str> = presented
        .iter()
        .filter_map(|p| {
            // webpki lists them as `DnsName("x")` and `IpAddress(1.2.3.4)`.
            if let Some(n) = p.strip_prefix("DnsName(\"") {
                (!is_ip).then(|| n.trim_end_matches("\")"))
            } else if let Some(n) = p.strip_prefix("IpAddress(") {
                is_ip.then(|| n.trim_end_matches(')'))
            } else {
                None
            }
        })
        .collect();
    match (names.is_empty(), is_ip) {
        (true, true) => format!(
            "x509: cannot validate certificate for {wanted} because it doesn't contain any IP SANs"
        ),
        (true, false) => "x509: certificate is not valid for any names".into(),
        (false, _) => format!(
            "x509: certificate is valid for {}, not {wanted}",
            names.join(", ")
        ),
    }
}

/// A TLS alert's name as Go prints it.
fn go_alert(a: AlertDescription) -> String {
    match a {
        AlertDescription::HandshakeFailure => "handshake failure".into(),
        AlertDescription::BadCertificate => "bad certificate".into(),
        AlertDescription::UnknownCA => "unknown certificate authority".into(),
        AlertDescription::CertificateRequired => "certificate required".into(),
        AlertDescription::ProtocolVersion => "protocol version not supported".into(),
        AlertDescription::InternalError => "internal error".into(),
        AlertDescription::DecodeError => "error decoding message".into(),
        AlertDescription::UnexpectedMessage => "unexpected message".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// docker/distribution's error codes and their default messages; a code not here reads
/// as `UNKNOWN`.
const CODES: &[(&str, &str)] = &[
    ("UNKNOWN", "unknown error"),
    ("UNSUPPORTED", "The operation is unsupported."),
    ("UNAUTHORIZED", "authentication required"),
    ("DENIED", "requested access to the resource is denied"),
    ("UNAVAILABLE", "service unavailable"),
    ("TOOMANYREQUESTS", "too many requests"),
    (
        "DIGEST_INVALID",
        "provided digest did not match uploaded content",
    ),
    (
        "SIZE_INVALID",
        "provided length did not match content length",
    ),
    ("NAME_INVALID", "invalid repository name"),
    ("TAG_INVALID", "manifest tag did not match URI"),
    ("NAME_UNKNOWN", "repository name not known to registry"),
    ("MANIFEST_UNKNOWN", "manifest unknown"),
    ("MANIFEST_INVALID", "manifest invalid"),
    (
        "MANIFEST_UNVERIFIED",
        "manifest failed signature verification",
    ),
    ("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"),
    ("BLOB_UNKNOWN", "blob unknown to registry"),
    ("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"),
    ("BLOB_UPLOAD_INVALID", "blob upload invalid"),
    (
        "PAGINATION_NUMBER_INVALID",
        "invalid number of results requested",
    ),
    ("RANGE_INVALID", "invalid content range"),
];

/// One error of a body: its code (known, else `UNKNOWN`) and the text.
fn error_text(code: &str, message: &str) -> (String, String) {
    let (code, default) = CODES
        .iter()
        .find(|(c, _)| *c == code)
        .copied()
        .unwrap_or(CODES[0]);
    let message = if message.is_empty() { default } else { message };
    let words = code.replace('_', " ").to_lowercase();
    (code.to_owned(), format!("{words}: {message}"))
}

/// A registry's refusal: the status, the first error's code and the whole text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The first error's code (`UNKNOWN` for codes distribution does not know), if the
    /// body had errors.
    pub code: Option<String>,
    /// The text docker shows.
    pub text: String,
}

/// The `{"errors": [...]}` body.
#[derive(serde::Deserialize)]
struct ErrorsBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(serde::Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Reads a refusal from `resp` as docker/distribution's client does.
pub(super) fn refusal(resp: &Response) -> Refusal {
    let status = resp.status;
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let unexpected = |text: String| Refusal {
        status,
        code: None,
        text,
    };
    if !(400..500).contains(&status) {
        return unexpected(format!(
            "received unexpected HTTP status: {status} {reason}"
        ));
    }
    let body = &resp.body;
    // An old form: `{"details": "…"}`.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(details) = v.get("details").and_then(|d| d.as_str())
        && !details.is_empty()
    {
        let code = match status {
            401 => "UNAUTHORIZED",
            429 => "TOOMANYREQUESTS",
            _ => "UNKNOWN",
        };
        let (code, text) = error_text(code, details);
        return Refusal {
            status,
            code: Some(code),
            text,
        };
    }
    let parsed = serde_json::from_slice::<ErrorsBody>(body);
    match parsed {
        Ok(b) if !b.errors.is_empty() => {
            let texts: Vec<(String, String)> = b
                .errors
                .iter()
                .map(|e| error_text(&e.code, &e.message))
                .collect();
            let code = texts.first().map(|(c, _)| c.clone());
            let text = if texts.len() == 1 {
                texts[0].1.clone()
            } else {
                let mut all = String::from("errors:\n");
                for (_, t) in &texts {
                    all.push_str(t);
                    all.push('\n');
                }
                all
            };
            Refusal { status, code, text }
        }
        _ if status == 401 => {
            let (code, text) = error_text("UNAUTHORIZED", "");
            Refusal {
                status,
                code: Some(code),
                text,
            }
        }
        Ok(_) => unexpected(format!(
            "error parsing HTTP {status} response body: no error details found in HTTP \
             response body: {:?}",
            String::from_utf8_lossy(body)
        )),
        Err(e) => {
            let why = if body.is_empty() {
                "unexpected end of JSON input".to_owned()
            } else {
                e.to_string()
            };
            unexpected(format!(
                "error parsing HTTP {status} response body: {why}: {:?}",
                String::from_utf8_lossy(body)
            ))
        }
    }
}

impl Refusal {
    /// The error for this refusal, the variant by status (and by code for a 401 or 403
    /// given another status).
    pub(super) fn into_error(self) -> DistributionError {
        let text = self.text;
        match (self.status, self.code.as_deref()) {
            (401, _) | (_, Some("UNAUTHORIZED")) => DistributionError::Unauthorized { text },
            (403, _) | (_, Some("DENIED")) => DistributionError::Denied { text },
            (404, _) => DistributionError::NotFound { text },
            (status, _) => DistributionError::Registry { status, text },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
            reusable: false,
        }
    }

    #[test]
    fn error_bodies_read_as_distribution_does() {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        let r = refusal(&resp(401, body));
        assert_eq!(r.text, "unauthorized: authentication required");
        assert!(matches!(
            r.into_error(),
            DistributionError::Unauthorized { .. }
        ));
        let r = refusal(&resp(
            404,
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"project nope not found"}]}"#,
        ));
        assert_eq!(
            (r.code.as_deref(), r.text.as_str()),
            (Some("NAME_UNKNOWN"), "name unknown: project nope not found")
        );
        let r = refusal(&resp(
            404,
            r#"{"errors":[{"code":"NOT_FOUND","message":"not found"}]}"#,
        ));
        assert_eq!(r.text, "unknown: not found");
        let two = r#"{"errors":[{"code":"DENIED","message":""},{"code":"BLOB_UNKNOWN"}]}"#;
        let r = refusal(&resp(403, two));
        assert_eq!(
            r.text,
            "errors:\ndenied: requested access to the resource is denied\n\
             blob unknown: blob unknown to registry\n"
        );
        assert!(matches!(r.into_error(), DistributionError::Denied { .. }));
    }

    #[test]
    fn bodiless_and_server_errors() {
        // A HEAD answer has no body: a 401 still says what the code means.
        let r = refusal(&resp(401, ""));
        assert_eq!(r.text, "unauthorized: authentication required");
        let r = refusal(&resp(500, r#"{"errors":[{"code":"UNKNOWN"}]}"#));
        assert_eq!(
            r.text,
            "received unexpected HTTP status: 500 Internal Server Error"
        );
        assert!(matches!(
            r.into_error(),
            DistributionError::Registry { status: 500, .. }
        ));
        let r = refusal(&resp(400, ""));
        assert_eq!(
            r.text,
            "error parsing HTTP 400 response body: unexpected end of JSON input: \"\""
        );
        let r = refusal(&resp(429, r#"{"details":"slow down"}"#));
        assert_eq!(r.text, "toomanyrequests: slow down");
    }

    #[test]
    fn tls_failures_in_gos_words() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(
            go_tls(&unknown),
            "x509: certificate signed by unknown authority"
        );
        let plain = rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType);
        assert_eq!(
            go_tls(&plain),
            "http: server gave HTTP response to HTTPS client"
        );
        let presented = vec![
            "DnsName(\"registry.corp.local\")".to_owned(),
            "DnsName(\"localhost\")".to_owned(),
            "IpAddress(127.0.0.1)".to_owned(),
        ];
        assert_eq!(
            not_valid_for("other.local", &presented),
            "x509: certificate is valid for registry.corp.local, localhost, not other.local"
        );
        assert_eq!(
            not_valid_for("10.0.0.1", &presented),
            "x509: certificate is valid for 127.0.0.1, not 10.0.0.1"
        );
        assert_eq!(
            not_valid_for("10.0.0.1", &presented[..1]),
            "x509: cannot validate certificate for 10.0.0.1 because it doesn't contain any IP SANs"
        );
        let alert = rustls::Error::AlertReceived(AlertDescription::HandshakeFailure);
        assert_eq!(go_tls(&alert), "remote error: tls: handshake failure");
    }

    #[test]
    fn transport_failures_carry_gos_url_error_prefix() {
        let site = RequestSite {
            op: "Get",
            url: "https://registry.corp.local/v2/",
            addr: "10.0.0.1:443".parse().expect("addr"),
            tls: true,
            what: "response",
        };
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let e = Failure::Connect(ConnectError::Tcp(refused)).at(&site);
        assert_eq!(
            e.to_string(),
            "Get https://registry.corp.local/v2/: dial tcp 10.0.0.1:443: getsockopt: connection refused"
        );
        assert!(matches!(e, DistributionError::Connect { .. }));
        let e = Failure::ConnectTimeout { after_ms: 10_000 }.at(&site);
        assert!(
            e.to_string()
                .ends_with("dial tcp 10.0.0.1:443: i/o timeout")
        );
        let plain = RequestSite {
            url: "http://registry.corp.local/v2/",
            tls: false,
            ..site
        };
        let e = Failure::Read(ReadError::NotHttp).at(&plain);
        assert_eq!(
            e.to_string(),
            "Get http://registry.corp.local/v2/: net/http: HTTP/1.x transport connection \
             broken: malformed HTTP response \"\\x15\\x03\\x01\\x00\\x02\\x02\""
        );
        assert_eq!(go_op("HEAD"), "Head");
        assert_eq!(
            go_errno(&io::Error::from_raw_os_error(111)),
            "connection refused"
        );
    }
}
