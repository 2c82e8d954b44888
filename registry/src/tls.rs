//! The registry's own CA and a server certificate it signs for the registry's host name
//! and addresses; the CA is written as `ca.crt` for clients (docker's
//! `/etc/docker/certs.d/<host:port>/ca.crt`, skopeo's `--cert-dir`, or a root store).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why the TLS material could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// Writing `ca.crt` failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A CA and the server configuration with a certificate it signed.
pub struct RegistryTls {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The server configuration (HTTP/1.1 only).
    pub server: Arc<rustls::ServerConfig>,
}

/// Generates a CA and a server certificate for `host_name`, `localhost` and `ips`.
pub fn generate(host_name: &str, ips: &[IpAddr]) -> Result<RegistryTls, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "vicbed registry CA");
    ca.distinguished_name
        .push(DnType::OrganizationName, "vicbed");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::from_params(&ca, &ca_key);

    let mut names = vec![host_name.to_owned()];
    if host_name != "localhost" {
        names.push("localhost".to_owned());
    }
    let mut params = CertificateParams::new(names)?;
    for ip in ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params
        .distinguished_name
        .push(DnType::CommonName, host_name);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    let chain = vec![
        CertificateDer::from(cert.der().to_vec()),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    // The accept loop speaks HTTP/1.1 only; say so rather than let a client guess h2.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(RegistryTls {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    })
}

/// Writes `ca.crt` into `dir` (created if missing); returns its path.
pub fn write_ca(dir: &Path, ca_pem: &str) -> Result<PathBuf, TlsError> {
    let path = dir.join("ca.crt");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(&path, ca_pem)
    };
    write().map_err(|source| TlsError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_written_where_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls =
            generate("registry.corp.local", &["127.0.0.1".parse().expect("ip")]).expect("generate");
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let path = write_ca(&dir.path().join("certs.d/x"), &tls.ca_pem).expect("write");
        assert_eq!(std::fs::read_to_string(path).expect("read"), tls.ca_pem);
    }
}
