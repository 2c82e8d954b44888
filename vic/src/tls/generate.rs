//! Generation of VIC's certificates (vic.md §4.3) and writing them with VIC's modes.
//!
//! Common to all: an RSA key of `--certificate-key-size` bits written as PKCS#1
//! (`RSA PRIVATE KEY`), SHA256-RSA signatures, a random serial below 2^128, validity from
//! now − 1 day to now + 1 year, SubjectKeyId = SHA-1 of the SubjectPublicKeyInfo, an
//! AuthorityKeyId on CA-signed certificates, and a critical BasicConstraints on every
//! certificate (CA:TRUE only on the CA). Keys are written 0600, certificates 0644.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{IpAddr, ToSocketAddrs as _};
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData as _, RsaKeySize, SanType,
    SerialNumber,
};
use sha1::{Digest as _, Sha1};
use time::{Duration, Month, OffsetDateTime, UtcOffset};

use super::error::TlsError;
use super::pem;
use super::validate::provider;

/// Mode of generated certificate files.
pub(crate) const CERT_MODE: u32 = 0o644;
/// Mode of generated key files.
pub(crate) const KEY_MODE: u32 = 0o600;
/// Mode of a cert path vic-machine creates.
pub(crate) const DIR_MODE: u32 = 0o700;

/// The OID of `O` (organizationName), to hold a second organization (see [`subject`]).
const ORGANIZATION_OID: &[u64] = &[2, 5, 4, 10];
/// The organization of a self-signed (`--no-tlsverify`) server certificate.
const SELF_SIGNED_ORG: &str = "default";

/// What every generated certificate of one run shares.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    /// The cname (already normalised if it is an IP); `None` if unknown.
    pub(crate) cname: Option<String>,
    /// Subject organizations of CA-signed certificates (see [`organizations`]).
    pub(crate) orgs: Vec<String>,
    /// The VCH client address, also put in the server certificate's IP SANs.
    pub(crate) client_ip: Option<IpAddr>,
    /// RSA key size.
    pub(crate) key_size: RsaKeySize,
    /// NotBefore.
    pub(crate) not_before: OffsetDateTime,
    /// NotAfter.
    pub(crate) not_after: OffsetDateTime,
    /// Resolve a DNS cname for extra IP SANs.
    pub(crate) resolve: bool,
}

/// A generated certificate with its key.
pub(crate) struct Issued {
    /// The certificate, DER.
    pub(crate) cert_der: Vec<u8>,
    /// The key, for signing further certificates (CA only).
    key: KeyPair,
    /// The parameters, for the issuer (CA only).
    params: CertificateParams,
}

impl Issued {
    /// The certificate as PEM.
    pub(crate) fn cert_pem(&self) -> String {
        pem::encode(pem::CERTIFICATE, &self.cert_der)
    }

    /// The key as PKCS#1 PEM, as VIC writes it.
    pub(crate) fn key_pem(&self) -> Result<String, TlsError> {
        let pkcs1 = pem::pkcs8_to_pkcs1(self.key.serialized_der())
            .ok_or_else(|| TlsError::Generate("generated key is not an RSA PKCS#8 key".into()))?;
        Ok(pem::encode(pem::RSA_PRIVATE_KEY, pkcs1))
    }

    /// An issuer that signs with this certificate's name and key.
    pub(crate) fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

/// The RSA key size for `--certificate-key-size`.
pub(crate) fn key_size(bits: u32) -> Result<RsaKeySize, TlsError> {
    match bits {
        2048 => Ok(RsaKeySize::_2048),
        3072 => Ok(RsaKeySize::_3072),
        4096 => Ok(RsaKeySize::_4096),
        other => Err(TlsError::UnsupportedKeySize(other)),
    }
}

/// VIC's organization list: `--organization`, else `[name]`; with exactly one entry and a
/// non-wildcard cname, the cname is appended.
///
/// VIC's CLI never sets the name it means to default to, so its subjects read `O="", O=<cname>`
/// (vic.md §4.3 quirk); the help text promises "VCH name and IP/FQDN", which is what this gives.
pub(crate) fn organizations(orgs: &[String], name: &str, cname: Option<&str>) -> Vec<String> {
    let mut out = if orgs.is_empty() {
        vec![name.to_owned()]
    } else {
        orgs.to_vec()
    };
    if let Some(cname) = cname
        && out.len() == 1
        && !cname.starts_with('*')
    {
        out.push(cname.to_owned());
    }
    out
}

/// NotBefore = now − 1 day, NotAfter = now + 1 calendar year (29 February → 1 March, as Go's
/// `AddDate` normalises), both in UTC and whole seconds.
pub(crate) fn validity(now: OffsetDateTime) -> Result<(OffsetDateTime, OffsetDateTime), TlsError> {
    let out_of_range =
        || TlsError::Generate(format!("certificate validity out of range for {now}"));
    let now = now
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|_| out_of_range())?;
    let not_before = now
        .checked_sub(Duration::days(1))
        .ok_or_else(out_of_range)?;
    let year = now.year().checked_add(1).ok_or_else(out_of_range)?;
    let not_after = match now.replace_year(year) {
        Ok(t) => t,
        Err(_) if now.month() == Month::February && now.day() == 29 => now
            .replace_day(1)
            .and_then(|t| t.replace_month(Month::March))
            .and_then(|t| t.replace_year(year))
            .map_err(|_| out_of_range())?,
        Err(_) => return Err(out_of_range()),
    };
    Ok((not_before, not_after))
}

/// The server certificate's SANs: an IP cname gives an IP SAN, a DNS cname a DNS SAN plus the
/// IPs it resolves to (VIC's forward lookup). VIC's reverse lookup for an IP cname is skipped:
/// the standard library has no reverse resolver and a PTR name adds nothing the IP lacks.
///
/// Deliberate difference: the client address is always an IP SAN. VIC only has it when it is
/// the cname, so `docker -H <ip>:2376 --tlsverify` — the hint vic-machine prints — fails
/// against a certificate issued for a name that does not resolve to that IP.
pub(crate) fn server_sans(spec: &Spec) -> Result<Vec<SanType>, TlsError> {
    let mut sans = Vec::new();
    let push_ip = |sans: &mut Vec<SanType>, ip: IpAddr| {
        if !sans.contains(&SanType::IpAddress(ip)) {
            sans.push(SanType::IpAddress(ip));
        }
    };
    if let Some(cname) = spec.cname.as_deref() {
        if let Ok(ip) = cname.parse::<IpAddr>() {
            push_ip(&mut sans, ip);
        } else {
            let dns = cname.try_into().map_err(|_| {
                TlsError::Generate(format!("invalid DNS name {cname:?} for --tls-cname"))
            })?;
            sans.push(SanType::DnsName(dns));
            if spec.resolve && !cname.starts_with('*') {
                // A failed lookup just adds nothing, as in VIC.
                for addr in (cname, 0).to_socket_addrs().into_iter().flatten() {
                    push_ip(&mut sans, addr.ip());
                }
            }
        }
    }
    if let Some(ip) = spec.client_ip {
        push_ip(&mut sans, ip);
    }
    Ok(sans)
}

/// A subject of up to two `O` attributes and an optional CN.
///
/// rcgen keeps one value per attribute type, so the second organization is written under the
/// same OID as a "custom" type; a third cannot be expressed and is refused.
fn subject(orgs: &[String], cn: Option<&str>) -> Result<DistinguishedName, TlsError> {
    if orgs.len() > 2 {
        return Err(TlsError::TooManyOrganizations(orgs.len()));
    }
    let mut dn = DistinguishedName::new();
    let types = [
        DnType::OrganizationName,
        DnType::CustomDnType(ORGANIZATION_OID.to_vec()),
    ];
    for (ty, org) in types.into_iter().zip(orgs) {
        dn.push(ty, org.as_str());
    }
    if let Some(cn) = cn.filter(|cn| !cn.is_empty()) {
        dn.push(DnType::CommonName, cn);
    }
    Ok(dn)
}

/// Parameters shared by all certificates, for a subject key.
fn base_params(spec: &Spec, key: &KeyPair) -> Result<CertificateParams, TlsError> {
    let mut serial = [0u8; 16];
    provider()
        .secure_random
        .fill(&mut serial)
        .map_err(|_| TlsError::Generate("no secure random numbers available".into()))?;
    let mut params = CertificateParams::default();
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.key_identifier_method =
        KeyIdMethod::PreSpecified(Sha1::digest(key.subject_public_key_info()).to_vec());
    params.is_ca = IsCa::ExplicitNoCa;
    Ok(params)
}

fn new_key(spec: &Spec) -> Result<KeyPair, TlsError> {
    super::key_reuse::new_key(spec.key_size)
}

fn sign(
    params: CertificateParams,
    key: KeyPair,
    issuer: Option<&Issuer<'_, &KeyPair>>,
) -> Result<Issued, TlsError> {
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer),
        None => params.self_signed(&key),
    }
    .map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok(Issued {
        cert_der: cert.der().to_vec(),
        key,
        params,
    })
}

/// The CA: O only, CA:TRUE, DigitalSignature/KeyEncipherment/KeyAgreement/CertSign, no EKU.
pub(crate) fn ca(spec: &Spec) -> Result<Issued, TlsError> {
    let key = new_key(spec)?;
    let mut params = base_params(spec, &key)?;
    params.distinguished_name = subject(&spec.orgs, None)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    sign(params, key, None)
}

/// The server certificate: O + CN=cname, ServerAuth, SANs; CA-signed, or self-signed with
/// `O=default` when there is no CA (`--no-tlsverify`).
pub(crate) fn server(
    spec: &Spec,
    issuer: Option<&Issuer<'_, &KeyPair>>,
) -> Result<Issued, TlsError> {
    let key = new_key(spec)?;
    let mut params = base_params(spec, &key)?;
    let self_signed_orgs = [SELF_SIGNED_ORG.to_owned()];
    let orgs = if issuer.is_some() {
        spec.orgs.as_slice()
    } else {
        &self_signed_orgs
    };
    params.distinguished_name = subject(orgs, spec.cname.as_deref())?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.subject_alt_names = server_sans(spec)?;
    params.use_authority_key_identifier_extension = issuer.is_some();
    sign(params, key, issuer)
}

/// The client certificate: O only, DigitalSignature, ClientAuth, CA-signed.
pub(crate) fn client(spec: &Spec, issuer: &Issuer<'_, &KeyPair>) -> Result<Issued, TlsError> {
    let key = new_key(spec)?;
    let mut params = base_params(spec, &key)?;
    params.distinguished_name = subject(&spec.orgs, None)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    sign(params, key, Some(issuer))
}

/// Writes `contents` to a new file with exactly `mode` (independent of the umask).
pub(crate) fn write_new(path: &Path, contents: &str, mode: u32) -> Result<(), TlsError> {
    let ctx = || format!("unable to write {}", path.display());
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options.open(path).map_err(|e| TlsError::io(ctx(), e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| TlsError::io(ctx(), e))?;
    set_mode(path, mode).map_err(|e| TlsError::io(ctx(), e))
}

/// `mkdir -p` with mode 0700 for the directories it creates.
pub(crate) fn create_dir(path: &Path) -> Result<(), TlsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder
        .create(path)
        .map_err(|e| TlsError::io(format!("unable to create {}", path.display()), e))
}

#[cfg(unix)]
pub(crate) fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub(crate) fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Date, PrimitiveDateTime, Time};

    /// A time in UTC (+ `offset_h` hours), without relying on `time`'s macros feature.
    fn at(y: i32, mo: u8, d: u8, h: u8, offset_h: i8) -> OffsetDateTime {
        let month = Month::try_from(mo).expect("month");
        let date = Date::from_calendar_date(y, month, d).expect("date");
        let offset = UtcOffset::from_hms(offset_h, 0, 0).expect("offset");
        PrimitiveDateTime::new(date, Time::from_hms(h, 0, 0).expect("time")).assume_offset(offset)
    }

    fn spec(cname: Option<&str>, client_ip: Option<IpAddr>) -> Spec {
        let (not_before, not_after) = validity(at(2024, 5, 1, 12, 0)).expect("valid");
        Spec {
            cname: cname.map(str::to_owned),
            orgs: vec!["vch".into()],
            client_ip,
            key_size: RsaKeySize::_2048,
            not_before,
            not_after,
            resolve: false,
        }
    }

    #[test]
    fn key_sizes_are_the_generator_ones() {
        assert!(key_size(2048).is_ok() && key_size(3072).is_ok() && key_size(4096).is_ok());
        assert_eq!(
            key_size(1024).map(|_| ()).unwrap_err().to_string(),
            "unsupported --certificate-key-size 1024: use 2048, 3072 or 4096"
        );
    }

    #[test]
    fn organizations_default_to_name_and_append_a_plain_cname() {
        assert_eq!(
            organizations(&[], "vch", Some("1.2.3.4")),
            ["vch", "1.2.3.4"]
        );
        assert_eq!(organizations(&[], "vch", None), ["vch"]);
        assert_eq!(organizations(&[], "vch", Some("*.example.com")), ["vch"]);
        let two = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(organizations(&two, "vch", Some("x")), ["a", "b"]);
        assert_eq!(
            organizations(&["a".to_owned()], "vch", Some("x")),
            ["a", "x"]
        );
    }

    #[test]
    fn validity_is_minus_a_day_to_plus_a_year_in_utc() {
        let now = at(2024, 5, 1, 12, 2).replace_millisecond(750).expect("ms");
        let (nb, na) = validity(now).expect("valid");
        assert_eq!(nb, at(2024, 4, 30, 10, 0));
        assert_eq!(na, at(2025, 5, 1, 10, 0));
        assert_eq!(nb.offset(), UtcOffset::UTC);
        let (_, na) = validity(at(2024, 2, 29, 0, 0)).expect("valid");
        assert_eq!(na, at(2025, 3, 1, 0, 0));
        assert!(validity(at(9999, 12, 31, 0, 0)).is_err());
    }

    #[test]
    fn sans_follow_the_cname_kind_and_add_the_client_ip_once() {
        let ip: IpAddr = "127.0.1.5".parse().expect("ip");
        assert_eq!(
            server_sans(&spec(Some("127.0.1.5"), Some(ip))).expect("sans"),
            [SanType::IpAddress(ip)]
        );
        let sans = server_sans(&spec(Some("vch.example.test"), Some(ip))).expect("sans");
        assert_eq!(
            sans,
            [
                SanType::DnsName("vch.example.test".try_into().expect("ia5")),
                SanType::IpAddress(ip)
            ]
        );
        assert!(server_sans(&spec(None, None)).expect("sans").is_empty());
        assert!(server_sans(&spec(Some("bad name ü"), None)).is_err());
    }

    #[test]
    fn subjects_hold_at_most_two_organizations() {
        let three = ["a", "b", "c"].map(str::to_owned);
        assert!(matches!(
            subject(&three, None),
            Err(TlsError::TooManyOrganizations(3))
        ));
        let dn = subject(&three[..2], Some("cn")).expect("dn");
        assert_eq!(dn.iter().count(), 3);
        assert_eq!(
            subject(&three[..1], Some("")).expect("dn").iter().count(),
            1
        );
    }

    /// Secrets are the exception to the seed (ARCHITECTURE.md invariants): two runs with
    /// identical inputs — same name, cname, clock — must still get fresh private keys.
    #[test]
    fn identical_requests_get_fresh_private_keys_and_serials() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let now = OffsetDateTime::now_utc();
        let run = |sub: &str| {
            let mut req = crate::tls::TlsRequest::new("vch", now);
            req.cert_path = Some(tmp.path().join(sub));
            req.resolve_cname_sans = false;
            req.cname = Some("10.0.0.1".into());
            crate::tls::process(&req).expect("generate");
            [
                crate::tls::CA_KEY_FILE,
                crate::tls::SERVER_KEY_FILE,
                crate::tls::CLIENT_KEY_FILE,
                crate::tls::CA_CERT_FILE,
            ]
            .map(|f| fs::read_to_string(tmp.path().join(sub).join(f)).expect("read"))
        };
        let (a, b) = (run("a"), run("b"));
        for i in 0..3 {
            assert_ne!(a[i], b[i], "key {i} repeated across runs");
        }
        assert!(a[0] != a[1] && a[1] != a[2] && a[0] != a[2]);
        // Same subject and validity, so only the random serial and key tell the CAs apart.
        assert_ne!(a[3], b[3]);
    }
}
