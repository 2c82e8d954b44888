//! Certificates for the TLS suite: reading what vic-machine generated (the facts vic.md §4.3
//! lists, rendered as comparable text) and making the clients' own — a foreign CA, an
//! impostor CA carrying the VCH CA's name, client certificates signed with the VCH CA's key
//! (valid or expired), and a custom server certificate set for `--tls-server-cert`.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use time::{Duration, OffsetDateTime};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::public_key::PublicKey;

/// What vic.md §4.3 says about a certificate, read from one.
#[derive(Debug, Clone)]
pub(super) struct Facts {
    /// `RSA 2048`, `EC`, ….
    pub key: String,
    /// `sha256WithRSA` or the OID.
    pub signature: String,
    /// Subject CN, if any.
    pub cn: Option<String>,
    /// Subject O values.
    pub orgs: Vec<String>,
    /// Basic constraints: (critical, CA).
    pub basic: Option<(bool, bool)>,
    /// Key usage names, and whether the extension is critical.
    pub key_usage: Option<(bool, Vec<&'static str>)>,
    /// Extended key usage names.
    pub eku: Vec<&'static str>,
    /// `IP:…`/`DNS:…`.
    pub sans: Vec<String>,
    /// Validity.
    pub not_before: OffsetDateTime,
    /// Validity.
    pub not_after: OffsetDateTime,
    /// Subject and issuer, rendered.
    pub subject: String,
    /// See `subject`.
    pub issuer: String,
    /// Subject key id.
    pub ski: Option<Vec<u8>>,
    /// Authority key id.
    pub aki: Option<Vec<u8>>,
}

/// The first certificate of a PEM text, as DER.
pub(super) fn first_der(pem: &str) -> Result<Vec<u8>, String> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.to_vec())
        .map_err(|e| format!("no certificate PEM: {e}"))
}

/// Reads the facts of the first certificate in `pem`.
pub(super) fn facts(pem: &str) -> Result<Facts, String> {
    let der = first_der(pem)?;
    let (_, cert) =
        X509Certificate::from_der(&der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    Ok(facts_of(&cert))
}

fn facts_of(cert: &X509Certificate<'_>) -> Facts {
    let key = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => "EC".to_owned(),
        Ok(_) => "other key".to_owned(),
        Err(e) => format!("unparseable key: {e}"),
    };
    let sig = &cert.signature_algorithm.algorithm;
    let signature = if *sig == x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA {
        "sha256WithRSA".to_owned()
    } else if *sig == x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256 {
        "ecdsaWithSHA256".to_owned()
    } else {
        sig.to_id_string()
    };
    let text = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| {
        a.as_str().map(str::to_owned).unwrap_or_default()
    };
    let cn = cert.subject().iter_common_name().next().map(text);
    let orgs = cert.subject().iter_organization().map(text).collect();
    let basic = cert
        .basic_constraints()
        .ok()
        .flatten()
        .map(|b| (b.critical, b.value.ca));
    let key_usage = cert.key_usage().ok().flatten().map(|ku| {
        let v = &ku.value;
        let names = [
            (v.digital_signature(), "digitalSignature"),
            (v.non_repudiation(), "nonRepudiation"),
            (v.key_encipherment(), "keyEncipherment"),
            (v.data_encipherment(), "dataEncipherment"),
            (v.key_agreement(), "keyAgreement"),
            (v.key_cert_sign(), "keyCertSign"),
            (v.crl_sign(), "cRLSign"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n)
        .collect();
        (ku.critical, names)
    });
    let eku = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .map(|e| {
            let v = &e.value;
            let mut names = Vec::new();
            if v.server_auth {
                names.push("serverAuth");
            }
            if v.client_auth {
                names.push("clientAuth");
            }
            if v.any || v.code_signing || v.email_protection || v.time_stamping || v.ocsp_signing {
                names.push("other");
            }
            if !v.other.is_empty() {
                names.push("other");
            }
            names
        })
        .unwrap_or_default();
    let sans = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                GeneralName::IPAddress(b) => match <[u8; 4]>::try_from(*b) {
                    Ok(v4) => format!("IP:{}", IpAddr::from(v4)),
                    Err(_) => match <[u8; 16]>::try_from(*b) {
                        Ok(v6) => format!("IP:{}", IpAddr::from(v6)),
                        Err(_) => format!("IP:{b:?}"),
                    },
                },
                other => format!("{other:?}"),
            })
            .collect(),
        _ => Vec::new(),
    };
    let ext = |want: fn(&ParsedExtension<'_>) -> Option<Vec<u8>>| {
        cert.extensions()
            .iter()
            .find_map(|e| want(e.parsed_extension()))
    };
    Facts {
        key,
        signature,
        cn,
        orgs,
        basic,
        key_usage,
        eku,
        sans,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        ski: ext(|e| match e {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        }),
        aki: ext(|e| match e {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|id| id.0.to_vec())
            }
            _ => None,
        }),
    }
}

impl Facts {
    /// `basicConstraints critical CA:TRUE` and the like.
    pub fn basic_text(&self) -> String {
        match self.basic {
            None => "no basicConstraints".to_owned(),
            Some((critical, ca)) => format!(
                "basicConstraints{} CA:{}",
                if critical { " critical" } else { "" },
                if ca { "TRUE" } else { "FALSE" }
            ),
        }
    }

    /// `keyUsage critical digitalSignature,…`.
    pub fn key_usage_text(&self) -> String {
        match &self.key_usage {
            None => "no keyUsage".to_owned(),
            Some((critical, names)) => format!(
                "keyUsage{} {}",
                if *critical { " critical" } else { "" },
                names.join(",")
            ),
        }
    }

    /// `EKU serverAuth` or `no EKU`.
    pub fn eku_text(&self) -> String {
        if self.eku.is_empty() {
            "no EKU".to_owned()
        } else {
            format!("EKU {}", self.eku.join(","))
        }
    }

    /// `CN=x` or `no CN`.
    pub fn cn_text(&self) -> String {
        self.cn
            .as_ref()
            .map_or_else(|| "no CN".to_owned(), |cn| format!("CN={cn}"))
    }

    /// `SAN IP:…` or `no SAN`.
    pub fn san_text(&self) -> String {
        if self.sans.is_empty() {
            "no SAN".to_owned()
        } else {
            format!("SAN {}", self.sans.join(","))
        }
    }

    /// Whether `self` names `ca` as its issuer (issuer DN and authority key id).
    pub fn issued_by(&self, ca: &Facts) -> bool {
        self.issuer == ca.subject && self.aki.is_some() && self.aki == ca.ski
    }

    /// The validity relative to `created` (when vic-machine ran): `now-1d..now+1y` when it is
    /// VIC's window (to the minute), the timestamps otherwise.
    pub fn validity_text(&self, created: OffsetDateTime) -> String {
        let close = |a: OffsetDateTime, b: OffsetDateTime| (a - b).abs() <= Duration::minutes(2);
        let nb = if close(self.not_before, created - Duration::days(1)) {
            "now-1d".to_owned()
        } else {
            self.not_before.to_string()
        };
        let year_later = created
            .replace_year(created.year() + 1)
            .unwrap_or(created + Duration::days(365));
        let na = if close(self.not_after, year_later) {
            "now+1y".to_owned()
        } else {
            self.not_after.to_string()
        };
        format!("{nb}..{na}")
    }
}

/// A certificate and its key, PEM.
#[derive(Debug, Clone)]
pub(super) struct Pair {
    /// The certificate.
    pub cert: String,
    /// The key.
    pub key: String,
}

fn err(what: &str) -> impl Fn(rcgen::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// A new CA (ECDSA P-256) named `O=<org>`.
pub(super) struct Ca {
    params: CertificateParams,
    key: KeyPair,
    /// Its certificate, PEM.
    pub pem: String,
}

impl Ca {
    /// Makes a CA valid from a day ago for 30 days.
    pub fn new(org: &str) -> Result<Ca, String> {
        let key = KeyPair::generate().map_err(err("CA key"))?;
        let mut params = named(org);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(30);
        let cert = params.self_signed(&key).map_err(err("CA certificate"))?;
        Ok(Ca {
            pem: cert.pem(),
            params,
            key,
        })
    }

    /// A client certificate this CA signs.
    pub fn client(&self) -> Result<Pair, String> {
        let issuer = Issuer::new(self.params.clone(), &self.key);
        let now = OffsetDateTime::now_utc();
        client_signed(&issuer, now - Duration::days(1), now + Duration::days(30))
    }

    /// A server certificate for `ip` this CA signs, with the usages VIC asks of a custom
    /// certificate (DigitalSignature, KeyEncipherment, KeyAgreement; ServerAuth).
    pub fn server(&self, ip: IpAddr) -> Result<Pair, String> {
        let issuer = Issuer::new(self.params.clone(), &self.key);
        let key = KeyPair::generate().map_err(err("server key"))?;
        let mut params = named("vicbed conformance");
        params
            .distinguished_name
            .push(DnType::CommonName, ip.to_string());
        params.subject_alt_names = vec![SanType::IpAddress(ip)];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(30);
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(err("server certificate"))?;
        Ok(Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

/// A client certificate valid from `not_before` to `not_after`, signed with the key in
/// `ca_key_pem` under the name (and key id) of the CA in `ca_pem`: with the VCH's own
/// `ca.pem`/`ca-key.pem` a genuine one; with another key, an impostor.
pub(super) fn client_under(
    ca_pem: &str,
    signing_key_pem: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Pair, String> {
    let key = KeyPair::from_pem(signing_key_pem).map_err(err("CA key"))?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, &key).map_err(err("CA certificate"))?;
    let pair = client_signed(&issuer, not_before, not_after)?;
    // rcgen re-encodes the CA's name from its parsed form; clients match the issuer against
    // the server's acceptable CAs byte for byte, so the CA's own encoding is put back.
    let ca_der = first_der(ca_pem)?;
    let (_, ca) = X509Certificate::from_der(&ca_der).map_err(|e| format!("CA certificate: {e}"))?;
    let der = with_raw_issuer(&first_der(&pair.cert)?, ca.subject().as_raw(), &key)?;
    Ok(Pair {
        cert: pem_encode("CERTIFICATE", &der),
        key: pair.key,
    })
}

/// `cert_der` with its issuer field replaced by `issuer` (raw DER of a Name), re-signed with
/// `key` (the algorithm the certificate already names).
fn with_raw_issuer(cert_der: &[u8], issuer: &[u8], key: &KeyPair) -> Result<Vec<u8>, String> {
    let (_, cert) = X509Certificate::from_der(cert_der).map_err(|e| format!("certificate: {e}"))?;
    let raw = cert.as_raw();
    let tbs = cert.tbs_certificate.as_ref();
    let old = cert.issuer().as_raw();
    let offset = |inner: &[u8], outer: &[u8]| {
        (inner.as_ptr() as usize)
            .checked_sub(outer.as_ptr() as usize)
            .filter(|o| o + inner.len() <= outer.len())
            .ok_or_else(|| "certificate fields out of place".to_owned())
    };
    let (tbs_at, old_at) = (offset(tbs, raw)?, offset(old, tbs)?);
    let tbs_header = header_len(tbs)?;
    let mut content = tbs[tbs_header..old_at].to_vec();
    content.extend_from_slice(issuer);
    content.extend_from_slice(&tbs[old_at + old.len()..]);
    let new_tbs = tlv(0x30, &content);
    let rest = &raw[tbs_at + tbs.len()..];
    let alg_len = header_len(rest)? + content_len(rest)?;
    let alg = rest
        .get(..alg_len)
        .ok_or_else(|| "truncated signature algorithm".to_owned())?;
    let signature = rcgen::SigningKey::sign(key, &new_tbs).map_err(err("signing"))?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut body = new_tbs;
    body.extend_from_slice(alg);
    body.extend(tlv(0x03, &bits));
    Ok(tlv(0x30, &body))
}

/// Length of a DER header (tag and length bytes) at the start of `der`.
fn header_len(der: &[u8]) -> Result<usize, String> {
    match der.get(1) {
        Some(b) if *b < 0x80 => Ok(2),
        Some(b) => Ok(2 + usize::from(b & 0x7f)),
        None => Err("truncated DER".into()),
    }
}

/// Content length of the DER value at the start of `der`.
fn content_len(der: &[u8]) -> Result<usize, String> {
    match der.get(1) {
        Some(b) if *b < 0x80 => Ok(usize::from(*b)),
        Some(b) => {
            let n = usize::from(b & 0x7f);
            let bytes = der.get(2..2 + n).ok_or("truncated DER length")?;
            Ok(bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
        }
        None => Err("truncated DER".into()),
    }
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(u8::try_from(n).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// PEM with 64-character lines.
fn pem_encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A fresh ECDSA P-256 key, PEM (a key that matches nothing).
pub(super) fn new_key_pem() -> Result<String, String> {
    Ok(KeyPair::generate().map_err(err("key"))?.serialize_pem())
}

/// A fresh RSA 2048 key, PEM: an impostor of a generated (RSA) CA differs only in the key.
pub(super) fn new_rsa_key_pem() -> Result<String, String> {
    Ok(KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map_err(err("RSA key"))?
        .serialize_pem())
}

/// Certificate parameters with the subject `O=<org>`.
fn named(org: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, org);
    params
}

fn client_signed(
    issuer: &Issuer<'_, &KeyPair>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Pair, String> {
    let key = KeyPair::generate().map_err(err("client key"))?;
    let mut params = named("vicbed conformance client");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(err("client certificate"))?;
    Ok(Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}
