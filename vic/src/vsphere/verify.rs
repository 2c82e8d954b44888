//! How the client decides to trust a server certificate.
//!
//! - **Thumbprint** (`--thumbprint`): the leaf certificate's SHA-1 thumbprint must equal the
//!   one given; the chain and host name are not checked (vCenter and ESXi certificates are
//!   usually self-signed, which is why VIC has the flag). govmomi, and so VIC, accepts a
//!   certificate that verifies normally *whatever* the thumbprint and compares thumbprints
//!   only when verification fails; here a given thumbprint is a pin and must match: a user
//!   who states which certificate to expect should not silently get another.
//! - **Insecure** (`--force`): any certificate.
//! - **Default**: the system's trusted roots (`SSL_CERT_FILE` or the usual bundle paths)
//!   plus any extra roots given, with host-name checks (webpki). The emulator's self-signed
//!   certificate fails here, with the thumbprint in the error as VIC prints it.
//!
//! In every mode the handshake signatures are still verified with the crypto provider's
//! algorithms, so the peer must hold the certificate's private key: each [`Policy`] is a
//! [`CertificateCheck`] inside the crate's one verifier (`crate::tlsverify`).

use super::Error;
use super::thumbprint::{CertificateProbe, ProbeSlot, thumbprint_of};
use crate::tlsverify::{CertificateCheck, Presented, builder, provider, rustls_error, verifier};
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConfig, WebPkiServerVerifier};
use rustls::{CertificateError, OtherError, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::sync::{Arc, OnceLock};

/// Bundle files tried for the system's trusted roots, after `SSL_CERT_FILE`.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Largest root bundle read.
const MAX_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

/// The trust decision for one client.
pub(crate) enum Policy {
    /// Roots + host name; `None` when no roots could be found.
    WebPki(Option<Arc<WebPkiServerVerifier>>),
    /// The leaf's thumbprint must equal this (normalised) one.
    Thumbprint(String),
    /// Accept any certificate.
    Insecure,
    /// Accept any certificate, recording it and whether it would verify normally.
    Probe(ProbeSlot, Option<Arc<WebPkiServerVerifier>>),
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Policy::WebPki(_) => "WebPki",
            Policy::Thumbprint(_) => "Thumbprint",
            Policy::Insecure => "Insecure",
            Policy::Probe(..) => "Probe",
        })
    }
}

impl Policy {
    /// The default policy: system roots plus `extra_roots` (DER).
    pub(crate) fn webpki(extra_roots: &[Vec<u8>]) -> Policy {
        Policy::WebPki(webpki_verifier(extra_roots))
    }

    /// A probe recording into `slot`.
    pub(crate) fn probe(slot: ProbeSlot, extra_roots: &[Vec<u8>]) -> Policy {
        Policy::Probe(slot, webpki_verifier(extra_roots))
    }
}

fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
        let candidates = env
            .into_iter()
            .chain(BUNDLES.iter().map(std::path::PathBuf::from));
        for path in candidates {
            let fits =
                std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_BUNDLE_BYTES);
            let Some(pem) = fits.then(|| std::fs::read(&path).ok()).flatten() else {
                continue;
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
                .filter_map(Result::ok)
                .collect();
            if !certs.is_empty() {
                return certs;
            }
        }
        Vec::new()
    })
}

fn webpki_verifier(extra_roots: &[Vec<u8>]) -> Option<Arc<WebPkiServerVerifier>> {
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(system_roots().iter().cloned());
    store.add_parsable_certificates(extra_roots.iter().map(|d| CertificateDer::from(d.clone())));
    if store.is_empty() {
        return None;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
        .build()
        .ok()
}

/// Why a certificate was refused, carried through rustls to [`tls_error`].
#[derive(Debug)]
enum Rejection {
    Mismatch { expected: String, actual: String },
    Untrusted { thumbprint: String, reason: String },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Mismatch { expected, actual } => {
                write!(f, "thumbprint {actual} does not match {expected}")
            }
            Rejection::Untrusted { thumbprint, reason } => {
                write!(f, "{reason} (thumbprint={thumbprint})")
            }
        }
    }
}

impl std::error::Error for Rejection {}

fn reject(r: Rejection) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(r))))
}

impl CertificateCheck for Policy {
    fn check(&self, p: &Presented<'_>) -> Result<ServerCertVerified, rustls::Error> {
        let end_entity = p.end_entity;
        let webpki = |v: &Option<Arc<WebPkiServerVerifier>>| match v {
            Some(v) => v
                .verify_server_cert(
                    end_entity,
                    p.intermediates,
                    p.server_name,
                    p.ocsp_response,
                    p.now,
                )
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("no trusted root certificates are installed".to_owned()),
        };
        match self {
            Policy::Insecure => Ok(ServerCertVerified::assertion()),
            Policy::Thumbprint(expected) => {
                let actual = thumbprint_of(end_entity.as_ref());
                if actual == *expected {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(reject(Rejection::Mismatch {
                        expected: expected.clone(),
                        actual,
                    }))
                }
            }
            Policy::WebPki(v) => match webpki(v) {
                Ok(()) => Ok(ServerCertVerified::assertion()),
                Err(reason) => Err(reject(Rejection::Untrusted {
                    thumbprint: thumbprint_of(end_entity.as_ref()),
                    reason,
                })),
            },
            Policy::Probe(slot, v) => {
                let probe = CertificateProbe {
                    thumbprint: thumbprint_of(end_entity.as_ref()),
                    der: end_entity.as_ref().to_vec(),
                    verify_error: webpki(v).err(),
                };
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(probe);
                Ok(ServerCertVerified::assertion())
            }
        }
    }
}

/// A server certificate verifier that accepts exactly the certificate whose SHA-1
/// thumbprint is `thumbprint` (signatures still checked with the provider's algorithms).
/// vic-machine uses it to check the endpoint it has just deployed.
pub(crate) fn pinned_verifier(thumbprint: String) -> Arc<dyn ServerCertVerifier> {
    verifier(Policy::Thumbprint(thumbprint))
}

/// A TLS 1.2/1.3 client configuration applying `policy`.
pub(crate) fn client_config(policy: Policy) -> Result<Arc<ClientConfig>, Error> {
    let mut config = builder()
        .map_err(|e| Error::Config(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier(policy))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS server name for a host (a DNS name, or an IP address, which sends no SNI).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_owned()).map_err(|_| Error::Url {
        url: host.to_owned(),
        reason: "the host is not a valid DNS name or IP address".into(),
    })
}

/// Turns a failed handshake into the matching error: a thumbprint mismatch, an untrusted
/// certificate (with its thumbprint), or another TLS failure.
pub(crate) fn tls_error(host: &str, addr: &str, err: std::io::Error) -> Error {
    let Some(rustls_err) = rustls_error(&err) else {
        return Error::Tls {
            addr: addr.to_owned(),
            reason: err.to_string(),
        };
    };
    if let rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) =
        rustls_err
        && let Some(r) = inner.downcast_ref::<Rejection>()
    {
        return match r {
            Rejection::Mismatch { expected, actual } => Error::ThumbprintMismatch {
                addr: addr.to_owned(),
                expected: expected.clone(),
                actual: actual.clone(),
            },
            Rejection::Untrusted { thumbprint, reason } => Error::Untrusted {
                host: host.to_owned(),
                thumbprint: thumbprint.clone(),
                reason: reason.clone(),
            },
        };
    }
    Error::Tls {
        addr: addr.to_owned(),
        reason: rustls_err.to_string(),
    }
}
