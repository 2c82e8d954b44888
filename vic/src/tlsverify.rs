//! The one rustls server-certificate verifier of vic's TLS clients (the vSphere client, the
//! Docker endpoint client, vic-machine's readiness check), and what they share around it.
//!
//! A [`verifier`] applies a [`CertificateCheck`] to the server's certificate — accept any
//! ([`AcceptAny`], docker's `--tls`), or the vSphere client's policies (a pinned thumbprint,
//! webpki roots, a probe) — while the handshake signatures are always verified with the
//! crypto provider's algorithms, so the peer must hold the certificate's private key.

use rustls::client::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ConfigBuilder, DigitallySignedStruct, SignatureScheme, WantsVerifier};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::{Arc, OnceLock};

/// Handshake-signature check results.
type Signature = Result<HandshakeSignatureValid, rustls::Error>;
/// `DigitallySignedStruct`, shortened.
type Signed = DigitallySignedStruct;

/// The crypto provider of every client (aws-lc-rs defaults), made once.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// A TLS 1.3/1.2 client configuration builder with [`provider`], waiting for the verifier.
pub(crate) fn builder() -> Result<ConfigBuilder<ClientConfig, WantsVerifier>, rustls::Error> {
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
}

/// What a server presented in a handshake: the arguments of
/// [`ServerCertVerifier::verify_server_cert`].
pub(crate) struct Presented<'a> {
    /// The server's (leaf) certificate.
    pub end_entity: &'a CertificateDer<'a>,
    /// The rest of the chain it sent.
    pub intermediates: &'a [CertificateDer<'a>],
    /// The name the client connects to.
    pub server_name: &'a ServerName<'a>,
    /// A stapled OCSP response (may be empty).
    pub ocsp_response: &'a [u8],
    /// The time of the check.
    pub now: UnixTime,
}

/// The decision about a server certificate.
pub(crate) trait CertificateCheck: std::fmt::Debug + Send + Sync {
    /// Accepts or refuses what the server presented.
    fn check(&self, presented: &Presented<'_>) -> Result<ServerCertVerified, rustls::Error>;
}

/// Accepts any server certificate.
#[derive(Debug)]
pub(crate) struct AcceptAny;

impl CertificateCheck for AcceptAny {
    fn check(&self, _: &Presented<'_>) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
}

/// A verifier applying `C` to the certificate; signatures checked with [`provider`].
#[derive(Debug)]
struct Verifier<C> {
    check: C,
    provider: Arc<CryptoProvider>,
}

/// A verifier applying `check`.
pub(crate) fn verifier<C: CertificateCheck + 'static>(check: C) -> Arc<dyn ServerCertVerifier> {
    Arc::new(Verifier {
        check,
        provider: provider(),
    })
}

impl<C: CertificateCheck> ServerCertVerifier for Verifier<C> {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check.check(&Presented {
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        })
    }

    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, s: &Signed) -> Signature {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(m, c, s, algorithms)
    }

    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, s: &Signed) -> Signature {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(m, c, s, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls error inside an I/O error from a TLS stream or handshake, if there is one.
pub(crate) fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}
