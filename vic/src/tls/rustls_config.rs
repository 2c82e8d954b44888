//! The endpoint's rustls configuration (vic.md §4.1): TLS 1.2 minimum, the aws-lc-rs provider
//! passed explicitly, and client certificates required and verified against the configured
//! CAs exactly in [`TlsMode::Mutual`].
//!
//! VIC's cipher list is Go's TLS 1.2 ECDHE suites plus RSA key exchange; rustls' defaults are
//! those ECDHE suites (and ChaCha20) and TLS 1.3, without RSA key exchange, which no current
//! docker client needs.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls::version::{TLS12, TLS13};
use rustls_pki_types::CertificateDer;

use super::error::TlsError;
use super::validate::{self, provider};
use super::{TlsMaterial, TlsMode, pem};

/// Builds the server configuration for `m`.
pub fn server_config(m: &TlsMaterial) -> Result<Arc<ServerConfig>, TlsError> {
    if m.mode == TlsMode::NoTls {
        return Err(TlsError::NoTls);
    }
    let chain: Vec<CertificateDer<'static>> = pem::certificates(m.server_chain_pem.as_bytes())
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    if chain.is_empty() {
        return Err(if m.client_ca_pems.is_empty() {
            TlsError::NoServerCertificate
        } else {
            TlsError::CaWithoutServerCert
        });
    }
    let key = validate::private_key_der(&m.server_key_pem)
        .ok_or_else(|| TlsError::KeyPair("tls: failed to find any PEM data in key input".into()))?;

    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match m.mode {
        TlsMode::Mutual => {
            let ders: Vec<Vec<u8>> = m
                .client_ca_pems
                .iter()
                .flat_map(|p| validate::ca_certificates(p.as_bytes()))
                .collect();
            if ders.is_empty() {
                return Err(TlsError::NoCertificateAuthority);
            }
            let roots = validate::root_store(&ders).ok_or(TlsError::CaData)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        TlsMode::ServerOnly | TlsMode::NoTls => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn material(mode: TlsMode) -> TlsMaterial {
        TlsMaterial {
            mode,
            port: mode.port(),
            server_chain_pem: String::new(),
            server_key_pem: String::new(),
            client_ca_pems: Vec::new(),
            cert_dir: None,
            env_file: PathBuf::from("./vch/vch.env"),
            cname: None,
            client_cert: None,
            generated: false,
            reused: false,
            log: Vec::new(),
        }
    }

    #[test]
    fn refuses_no_tls_and_missing_material() {
        assert!(matches!(
            server_config(&material(TlsMode::NoTls)),
            Err(TlsError::NoTls)
        ));
        assert!(matches!(
            server_config(&material(TlsMode::ServerOnly)),
            Err(TlsError::NoServerCertificate)
        ));
        let mut m = material(TlsMode::Mutual);
        m.client_ca_pems = vec!["x".into()];
        assert!(matches!(
            server_config(&m),
            Err(TlsError::CaWithoutServerCert)
        ));
    }

    #[test]
    fn mutual_needs_a_usable_ca() {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let mut m = material(TlsMode::Mutual);
        m.server_chain_pem = cert.pem();
        m.server_key_pem = key.serialize_pem();
        assert!(matches!(
            server_config(&m),
            Err(TlsError::NoCertificateAuthority)
        ));
        m.client_ca_pems = vec![cert.pem()];
        assert!(server_config(&m).is_ok());
        m.mode = TlsMode::ServerOnly;
        assert!(server_config(&m).is_ok());
    }
}
