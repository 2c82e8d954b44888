//! Loading and checking existing material: certificate/key pairs with the semantics (and error
//! texts) of Go's `tls.X509KeyPair`, which VIC surfaces verbatim (vic.md §4.2 step 5.2), CA
//! bundles, and the check that a client certificate chains to a CA for client auth.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
    UnixTime,
};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use super::error::TlsError;
use super::pem;

/// The crypto provider used everywhere in this module, passed explicitly (never the
/// process-wide default, which panics when two providers are linked).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate chain with its matching private key.
#[derive(Clone)]
pub(crate) struct KeyPair {
    /// DER certificates, leaf first.
    pub(crate) chain: Vec<Vec<u8>>,
    /// The key's PEM label (kept so it is written back in its original form).
    pub(crate) key_label: String,
    /// The key's DER.
    pub(crate) key_der: Vec<u8>,
    /// The leaf's subject CN, if it has one.
    pub(crate) leaf_cn: Option<String>,
    /// The leaf's validity window.
    pub(crate) not_before: OffsetDateTime,
    /// See `not_before`.
    pub(crate) not_after: OffsetDateTime,
}

impl KeyPair {
    /// The chain re-encoded as PEM. Only certificate blocks survive, so a combined
    /// cert+key file never leaks its key into the (non-secret) certificate field.
    pub(crate) fn chain_pem(&self) -> String {
        self.chain
            .iter()
            .map(|der| pem::encode(pem::CERTIFICATE, der))
            .collect()
    }

    /// The key re-encoded as PEM, in its original form.
    pub(crate) fn key_pem(&self) -> String {
        pem::encode(&self.key_label, &self.key_der)
    }
}

/// Parses a certificate/key pair like Go's `tls.X509KeyPair`: the first `CERTIFICATE` blocks
/// form the chain, the first block whose type ends in `PRIVATE KEY` is the key, the leaf must
/// parse and the key must match its public key. Errors carry Go's texts.
pub(crate) fn x509_key_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<KeyPair, TlsError> {
    let err = |s: String| TlsError::KeyPair(s);

    let mut chain = Vec::new();
    let mut skipped = Vec::new();
    for block in pem::blocks(cert_pem) {
        if block.label == pem::CERTIFICATE {
            chain.push(block.der);
        } else {
            skipped.push(block.label);
        }
    }
    if chain.is_empty() {
        return Err(err(match skipped.as_slice() {
            [] => "tls: failed to find any PEM data in certificate input".into(),
            [only] if only.ends_with("PRIVATE KEY") => "tls: failed to find certificate PEM data \
                 in certificate input, but did find a private key; PEM inputs may have been \
                 switched"
                .into(),
            _ => format!(
                "tls: failed to find \"CERTIFICATE\" PEM block in certificate input after \
                 skipping PEM blocks of the following types: [{}]",
                skipped.join(" ")
            ),
        }));
    }

    let mut skipped = Vec::new();
    let mut key = None;
    for block in pem::blocks(key_pem) {
        if block.label == "PRIVATE KEY" || block.label.ends_with(" PRIVATE KEY") {
            key = Some(block);
            break;
        }
        skipped.push(block.label);
    }
    let Some(key) = key else {
        return Err(err(match skipped.as_slice() {
            [] => "tls: failed to find any PEM data in key input".into(),
            [only] if only == pem::CERTIFICATE => {
                "tls: found a certificate rather than a key in the PEM for the private key".into()
            }
            _ => format!(
                "tls: failed to find PEM block with type ending in \"PRIVATE KEY\" in key input \
                 after skipping PEM blocks of the following types: [{}]",
                skipped.join(" ")
            ),
        }));
    };

    let leaf = parse_certificate(&chain[0]).map_err(|e| err(format!("x509: {e}")))?;
    let leaf_cn = leaf
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let not_before = leaf.validity().not_before.to_datetime();
    let not_after = leaf.validity().not_after.to_datetime();
    let leaf_spki = leaf.public_key().raw.to_vec();

    let signing_key = load_private_key(&key.label, &key.der)
        .ok_or_else(|| err("tls: failed to parse private key".into()))?;
    let key_spki = signing_key
        .public_key()
        .ok_or_else(|| err("tls: failed to parse private key".into()))?;
    if key_spki.as_ref() != leaf_spki.as_slice() {
        let same_type = SubjectPublicKeyInfo::from_der(key_spki.as_ref())
            .map(|(_, k)| k.algorithm.algorithm == leaf.public_key().algorithm.algorithm)
            .unwrap_or(false);
        return Err(err(if same_type {
            "tls: private key does not match public key".into()
        } else {
            "tls: private key type does not match public key type".into()
        }));
    }

    Ok(KeyPair {
        chain,
        key_label: key.label,
        key_der: key.der,
        leaf_cn,
        not_before,
        not_after,
    })
}

fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => Ok(cert),
        Err(e) => Err(e.to_string()),
    }
}

/// Loads a private key whatever its label says, as Go tries PKCS#1, PKCS#8 and SEC1 in turn.
fn load_private_key(label: &str, der: &[u8]) -> Option<Arc<dyn rustls::sign::SigningKey>> {
    let provider = provider();
    let pkcs1 = || PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der.to_vec()));
    let pkcs8 = || PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.to_vec()));
    let sec1 = || PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der.to_vec()));
    let order: [&dyn Fn() -> PrivateKeyDer<'static>; 3] = match label {
        "RSA PRIVATE KEY" => [&pkcs1, &pkcs8, &sec1],
        "EC PRIVATE KEY" => [&sec1, &pkcs8, &pkcs1],
        _ => [&pkcs8, &pkcs1, &sec1],
    };
    order
        .iter()
        .find_map(|make| provider.key_provider.load_private_key(make()).ok())
}

/// The private key of a PEM string (for rustls), whatever its form.
pub(crate) fn private_key_der(key_pem: &str) -> Option<PrivateKeyDer<'static>> {
    let block = pem::blocks(key_pem.as_bytes())
        .into_iter()
        .find(|b| b.label == "PRIVATE KEY" || b.label.ends_with(" PRIVATE KEY"))?;
    Some(match block.label.as_str() {
        "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(block.der.into()),
        "EC PRIVATE KEY" => PrivateKeyDer::Sec1(block.der.into()),
        _ => PrivateKeyDer::Pkcs8(block.der.into()),
    })
}

/// Refuses a server certificate outside its validity window at `now`.
pub(crate) fn check_validity(
    pair: &KeyPair,
    path: &Path,
    now: OffsetDateTime,
) -> Result<(), TlsError> {
    if now < pair.not_before || now > pair.not_after {
        return Err(TlsError::ServerCertNotValid {
            path: path.to_path_buf(),
            now,
            not_before: pair.not_before,
            not_after: pair.not_after,
        });
    }
    Ok(())
}

/// The parseable certificates of a CA bundle, as DER. Like Go's `AppendCertsFromPEM`, blocks
/// that are not certificates, or do not parse, are skipped.
pub(crate) fn ca_certificates(bundle: &[u8]) -> Vec<Vec<u8>> {
    pem::certificates(bundle)
        .into_iter()
        .filter(|der| parse_certificate(der).is_ok())
        .collect()
}

/// A root store of the given CA certificates; `None` if none of them is usable as a trust
/// anchor.
pub(crate) fn root_store(ca_ders: &[Vec<u8>]) -> Option<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for der in ca_ders {
        // A CA that webpki cannot use as an anchor is skipped, like an unparseable one.
        let _ = roots.add(CertificateDer::from(der.clone()));
    }
    (!roots.is_empty()).then_some(roots)
}

/// Whether `pair`'s certificate chains to one of `ca_ders` for client authentication
/// (ClientAuth EKU, validity at `now`), as vic-machine checks a reused `cert.pem`.
pub(crate) fn verifies_as_client(ca_ders: &[Vec<u8>], pair: &KeyPair, now: OffsetDateTime) -> bool {
    let Some(roots) = root_store(ca_ders) else {
        return false;
    };
    let Ok(verifier) =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build()
    else {
        return false;
    };
    let Some((leaf, intermediates)) = pair.chain.split_first() else {
        return false;
    };
    let intermediates: Vec<_> = intermediates
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let Ok(secs) = u64::try_from(now.unix_timestamp()) else {
        return false;
    };
    verifier
        .verify_client_cert(
            &CertificateDer::from(leaf.as_slice()),
            &intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(secs)),
        )
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<KeyPair, TlsError>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    fn ecdsa_pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("keygen");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("sign");
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn go_messages_for_missing_or_switched_blocks() {
        let (cert, key) = ecdsa_pair();
        assert_eq!(
            message(x509_key_pair(b"", key.as_bytes())),
            "tls: failed to find any PEM data in certificate input"
        );
        assert_eq!(
            message(x509_key_pair(key.as_bytes(), cert.as_bytes())),
            "tls: failed to find certificate PEM data in certificate input, but did find a \
             private key; PEM inputs may have been switched"
        );
        assert_eq!(
            message(x509_key_pair(cert.as_bytes(), cert.as_bytes())),
            "tls: found a certificate rather than a key in the PEM for the private key"
        );
        assert_eq!(
            message(x509_key_pair(cert.as_bytes(), b"garbage")),
            "tls: failed to find any PEM data in key input"
        );
        let other = pem::encode("X509 CRL", &[1]);
        assert!(
            message(x509_key_pair(other.as_bytes(), key.as_bytes())).ends_with("types: [X509 CRL]")
        );
    }

    #[test]
    fn go_messages_for_bad_or_mismatched_keys() {
        let (cert, key) = ecdsa_pair();
        let (_, other_key) = ecdsa_pair();
        assert_eq!(
            message(x509_key_pair(cert.as_bytes(), other_key.as_bytes())),
            "tls: private key does not match public key"
        );
        let junk_key = pem::encode("PRIVATE KEY", &[0x30, 0x00]);
        assert_eq!(
            message(x509_key_pair(cert.as_bytes(), junk_key.as_bytes())),
            "tls: failed to parse private key"
        );
        let junk_cert = pem::encode("CERTIFICATE", &[0x30, 0x00]);
        assert!(message(x509_key_pair(junk_cert.as_bytes(), key.as_bytes())).starts_with("x509: "));
        let pair = x509_key_pair(cert.as_bytes(), key.as_bytes()).expect("pair");
        assert_eq!(pair.chain.len(), 1);
        assert_eq!(pair.leaf_cn.as_deref(), Some("rcgen self signed cert"));
    }

    #[test]
    fn combined_file_does_not_leak_the_key_into_the_chain() {
        let (cert, key) = ecdsa_pair();
        let combined = format!("{key}{cert}");
        let pair = x509_key_pair(combined.as_bytes(), combined.as_bytes()).expect("pair");
        assert!(!pair.chain_pem().contains("PRIVATE KEY"));
        assert!(private_key_der(&pair.key_pem()).is_some());
    }

    #[test]
    fn ca_bundles_skip_non_certificates() {
        let (cert, key) = ecdsa_pair();
        assert_eq!(ca_certificates(key.as_bytes()).len(), 0);
        assert_eq!(
            ca_certificates(format!("{key}{cert}{cert}").as_bytes()).len(),
            2
        );
        assert!(root_store(&[]).is_none());
    }
}
