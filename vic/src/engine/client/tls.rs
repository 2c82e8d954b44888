//! The client's rustls configuration per [`TlsMode`] (TLS 1.2/1.3, aws-lc-rs):
//!
//! - `--tlsverify`: webpki verification against the CA file only (no system roots, as the
//!   docker CLI with `--tlscacert`), the server name being the `-H` host, so an IP host must
//!   be an IP SAN of the server certificate;
//! - `--tls`: any server certificate is accepted (the crate's one verifier with
//!   `tlsverify::AcceptAny`: the handshake signature is still checked, so the server must
//!   hold the key of the certificate it shows);
//! - in both, the client certificate and key are presented when given.

use super::error::ClientError;
use super::global::TlsMode;
use crate::tlsverify::{self, AcceptAny};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;

/// Largest TLS file read (CA bundles included).
const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    let fail =
        |e: &dyn std::fmt::Display| ClientError::TlsConfig(format!("open {}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(fail(&format!("larger than {MAX_PEM_BYTES} bytes")));
    }
    std::fs::read(path).map_err(|e| fail(&e))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let pem = read(path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(ClientError::TlsConfig(format!(
            "{}: no PEM certificates in it",
            path.display()
        )));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, ClientError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        ClientError::TlsConfig(format!("{}: no usable private key: {e}", path.display()))
    })
}

/// The client configuration for `mode` (`None` for plain HTTP); reads the files it names.
pub(super) fn client_config(mode: &TlsMode) -> Result<Option<Arc<ClientConfig>>, ClientError> {
    let config_error = |e: rustls::Error| ClientError::TlsConfig(e.to_string());
    let builder = tlsverify::builder().map_err(config_error)?;
    let (builder, client) = match mode {
        TlsMode::Plain => return Ok(None),
        TlsMode::NoVerify { client } => (
            builder
                .dangerous()
                .with_custom_certificate_verifier(tlsverify::verifier(AcceptAny)),
            client,
        ),
        TlsMode::Verify { ca, client } => {
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(certificates(ca)?);
            if added == 0 {
                return Err(ClientError::TlsConfig(format!(
                    "{}: no usable CA certificate in it",
                    ca.display()
                )));
            }
            (builder.with_root_certificates(roots), client)
        }
    };
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(certificates(cert)?, private_key(key)?)
            .map_err(|e| {
                ClientError::TlsConfig(format!(
                    "the client certificate {} and key {}: {e}",
                    cert.display(),
                    key.display()
                ))
            })?,
    };
    Ok(Some(Arc::new(config)))
}

/// The TLS server name for `host` (an IP address sends no SNI and is matched against the
/// certificate's IP SANs).
pub(super) fn server_name(host: &str) -> Result<ServerName<'static>, ClientError> {
    ServerName::try_from(host.to_owned()).map_err(|_| {
        ClientError::TlsConfig(format!("{host:?} is not a valid DNS name or IP address"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem");
        let e = client_config(&TlsMode::Verify {
            ca: missing.clone(),
            client: None,
        })
        .unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "unable to load the TLS configuration: open {}:",
                missing.display()
            )),
            "{e}"
        );
        std::fs::write(&missing, "not pem").unwrap();
        let e = client_config(&TlsMode::Verify {
            ca: missing.clone(),
            client: None,
        })
        .unwrap_err();
        assert!(e.to_string().contains("no PEM certificates"), "{e}");

        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        std::fs::write(&missing, cert.pem()).unwrap();
        let client = Some((c.clone(), k.clone()));
        assert!(
            client_config(&TlsMode::Verify {
                ca: missing,
                client: client.clone()
            })
            .unwrap()
            .is_some()
        );
        assert!(
            client_config(&TlsMode::NoVerify { client })
                .unwrap()
                .is_some()
        );
        assert!(client_config(&TlsMode::Plain).unwrap().is_none());
        std::fs::write(&k, "junk").unwrap();
        let e = client_config(&TlsMode::NoVerify {
            client: Some((c, k)),
        })
        .unwrap_err();
        assert!(e.to_string().contains("no usable private key"), "{e}");
        assert!(server_name("127.0.1.2").is_ok());
        assert!(server_name("bad name").is_err());
    }
}
