//! `vic::tls` end to end: generated files and their contents (vic.md §4.3), reuse and the
//! selection errors (§4.2), custom certificates, and real TLS handshakes against
//! `server_config` in each mode (§4.1).

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha1::{Digest as _, Sha1};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use vic::tls::{self, LogLevel, TlsError, TlsMaterial, TlsMode, TlsRequest};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::public_key::PublicKey;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const ALL_FILES: [&str; 6] = [
    "ca-key.pem",
    "ca.pem",
    "cert.pem",
    "key.pem",
    "server-cert.pem",
    "server-key.pem",
];

fn request(root: &Path, name: &str) -> TlsRequest {
    let mut req = TlsRequest::new(name, OffsetDateTime::now_utc());
    req.cert_path = Some(root.join(name));
    req.resolve_cname_sans = false;
    req
}

/// A tlsverify request whose cname defaults to the loopback client address.
fn loopback_request(root: &Path, name: &str) -> TlsRequest {
    let mut req = request(root, name);
    req.client_network_ip = Some(LOOPBACK);
    req
}

fn expect_err(r: Result<TlsMaterial, TlsError>) -> TlsError {
    match r {
        Ok(m) => panic!("expected an error, got {m:?}"),
        Err(e) => e,
    }
}

fn messages(m: &TlsMaterial, level: LogLevel) -> Vec<String> {
    m.log
        .iter()
        .filter(|l| l.level == level)
        .map(|l| l.message.clone())
        .collect()
}

/// File name → contents of a directory.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn der_of(pem: &[u8]) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem)
        .expect("certificate PEM")
        .to_vec()
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).expect("x509").1
}

fn orgs(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject()
        .iter_organization()
        .map(|a| a.as_str().expect("utf8").to_owned())
        .collect()
}

fn cn(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .map(|a| a.as_str().expect("utf8").to_owned())
}

fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
}

fn authority_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|id| id.0.to_vec())
            }
            _ => None,
        })
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Some(san) = cert.subject_alternative_name().expect("san") else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) if b.len() == 4 => {
                format!("IP:{}", Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// Checks shared by every generated certificate (vic.md §4.3 "Common to all").
fn assert_common(
    cert: &X509Certificate<'_>,
    bits: usize,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) {
    match cert.public_key().parsed().expect("public key") {
        PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), bits),
        other => panic!("not RSA: {other:?}"),
    }
    assert_eq!(
        cert.signature_algorithm.algorithm,
        x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA,
        "SHA256-RSA"
    );
    assert_eq!(cert.validity().not_before.to_datetime(), not_before);
    assert_eq!(cert.validity().not_after.to_datetime(), not_after);
    // Random serial below 2^128: at most 16 bytes plus a sign byte.
    assert!(cert.raw_serial().len() <= 17 && cert.raw_serial().len() >= 8);
    let bc = cert
        .basic_constraints()
        .expect("bc")
        .expect("basic constraints present");
    assert!(bc.critical, "basic constraints critical");
    assert!(
        cert.key_usage().expect("ku").expect("key usage").critical,
        "key usage critical"
    );
    // SubjectKeyId = SHA-1 of the PKIX public key.
    assert_eq!(
        subject_key_id(cert),
        Some(Sha1::digest(cert.public_key().raw).to_vec())
    );
}

fn utc(y: i32, mo: Month, d: u8, h: u8, mi: u8, s: u8) -> OffsetDateTime {
    let date = Date::from_calendar_date(y, mo, d).expect("date");
    PrimitiveDateTime::new(date, Time::from_hms(h, mi, s).expect("time")).assume_utc()
}

#[test]
fn generation_writes_vic_files_names_and_modes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let req = loopback_request(tmp.path(), "vch1");
    let m = tls::process(&req).expect("generate");
    let dir = tmp.path().join("vch1");

    assert_eq!((m.mode, m.port), (TlsMode::Mutual, 2376));
    assert!(m.generated && !m.reused);
    assert_eq!(m.cname.as_deref(), Some("127.0.0.1"));
    assert_eq!(m.cert_dir.as_deref(), Some(dir.as_path()));
    assert_eq!(m.env_file, dir.join("vch1.env"));
    let names: Vec<_> = snapshot(&dir).into_keys().collect();
    assert_eq!(names, ALL_FILES);
    let client = m.client_cert.clone().expect("client files");
    assert_eq!(
        (client.ca, client.cert, client.key),
        (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem")
        )
    );

    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        for f in ["ca.pem", "server-cert.pem", "cert.pem"] {
            assert_eq!(mode(&dir.join(f)), 0o644, "{f}");
        }
        for f in ["ca-key.pem", "server-key.pem", "key.pem"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
    }
    for f in ["ca-key.pem", "server-key.pem", "key.pem"] {
        let text = fs::read_to_string(dir.join(f)).expect("key");
        assert!(
            text.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"),
            "{f} is PKCS#1"
        );
        assert!(matches!(
            PrivateKeyDer::from_pem_slice(text.as_bytes()),
            Ok(PrivateKeyDer::Pkcs1(_))
        ));
    }
    // What the endpoint serves is what is on disk.
    assert_eq!(
        m.server_chain_pem,
        fs::read_to_string(dir.join("server-cert.pem")).expect("read")
    );
    assert_eq!(
        m.server_key_pem,
        fs::read_to_string(dir.join("server-key.pem")).expect("read")
    );
    assert_eq!(
        m.client_ca_pems,
        [fs::read_to_string(dir.join("ca.pem")).expect("read")]
    );
    assert!(
        !format!("{m:?}").contains("PRIVATE KEY"),
        "Debug elides the key"
    );

    let info = messages(&m, LogLevel::Info);
    let derived = "Using client-network-ip as cname where needed - use --tls-cname to override: \
                   127.0.0.1";
    assert!(info.iter().any(|l| l == derived), "{info:?}");
    assert!(messages(&m, LogLevel::Warn).is_empty(), "{:?}", m.log);
}

#[test]
fn generated_certificates_have_vic_contents() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut req = request(tmp.path(), "vch2");
    req.client_network_ip = Some("127.0.1.5".parse().expect("ip"));
    // A fixed clock with sub-second noise: validity is whole seconds, −1 day .. +1 year.
    req.now = utc(2026, Month::June, 15, 12, 34, 56) + Duration::milliseconds(789);
    let (not_before, not_after) = (
        utc(2026, Month::June, 14, 12, 34, 56),
        utc(2027, Month::June, 15, 12, 34, 56),
    );
    tls::process(&req).expect("generate");
    let dir = tmp.path().join("vch2");

    let ca_der = der_of(&fs::read(dir.join("ca.pem")).expect("ca"));
    let server_der = der_of(&fs::read(dir.join("server-cert.pem")).expect("server"));
    let client_der = der_of(&fs::read(dir.join("cert.pem")).expect("client"));
    let (ca, server, client) = (parse(&ca_der), parse(&server_der), parse(&client_der));
    for cert in [&ca, &server, &client] {
        assert_common(cert, 2048, not_before, not_after);
    }
    let ca_ski = subject_key_id(&ca);

    // CA: O only (name, then the cname), CA:TRUE, DS|KE|KA|CertSign, no EKU, no SAN.
    assert_eq!(orgs(&ca), ["vch2", "127.0.1.5"]);
    assert_eq!(cn(&ca), None);
    assert!(ca.basic_constraints().expect("bc").expect("bc").value.ca);
    assert_eq!(
        ca.key_usage().expect("ku").expect("ku").value.flags,
        0b11_0101
    );
    assert!(ca.extended_key_usage().expect("eku").is_none());
    assert!(sans(&ca).is_empty());

    // Server: O + CN=cname, CA:FALSE, DS|KE|KA, ServerAuth only, IP SAN, signed by the CA.
    assert_eq!(orgs(&server), ["vch2", "127.0.1.5"]);
    assert_eq!(cn(&server).as_deref(), Some("127.0.1.5"));
    assert!(
        !server
            .basic_constraints()
            .expect("bc")
            .expect("bc")
            .value
            .ca
    );
    assert_eq!(
        server.key_usage().expect("ku").expect("ku").value.flags,
        0b1_0101
    );
    let eku = server
        .extended_key_usage()
        .expect("eku")
        .expect("eku")
        .value
        .clone();
    assert!(eku.server_auth && !eku.client_auth && eku.other.is_empty());
    assert_eq!(sans(&server), ["IP:127.0.1.5"]);
    assert_eq!(server.issuer().to_string(), ca.subject().to_string());
    assert_eq!(authority_key_id(&server), ca_ski);

    // Client: O only, CA:FALSE, DS, ClientAuth only, no SAN, signed by the CA.
    assert_eq!(orgs(&client), ["vch2", "127.0.1.5"]);
    assert_eq!(cn(&client), None);
    assert_eq!(
        client.key_usage().expect("ku").expect("ku").value.flags,
        0b1
    );
    let eku = client
        .extended_key_usage()
        .expect("eku")
        .expect("eku")
        .value
        .clone();
    assert!(eku.client_auth && !eku.server_auth);
    assert!(sans(&client).is_empty());
    assert_eq!(authority_key_id(&client), ca_ski);
    assert_ne!(server.raw_serial(), client.raw_serial());
}

#[test]
fn dns_cname_gets_a_dns_san_plus_the_client_ip_and_wildcards_skip_the_org() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut req = request(tmp.path(), "vch3");
    req.cname = Some("vch3.example.test".into());
    req.client_network_ip = Some("127.0.1.9".parse().expect("ip"));
    req.no_tlsverify = true; // one key is enough here
    let m = tls::process(&req).expect("generate");
    assert_eq!(m.cname.as_deref(), Some("vch3.example.test"));
    let der = der_of(m.server_chain_pem.as_bytes());
    let server = parse(&der);
    assert_eq!(sans(&server), ["DNS:vch3.example.test", "IP:127.0.1.9"]);
    // Self-signed (--no-tlsverify): O=default, CN=cname.
    assert_eq!(orgs(&server), ["default"]);
    assert_eq!(cn(&server).as_deref(), Some("vch3.example.test"));
    assert_eq!(server.issuer().to_string(), server.subject().to_string());

    let mut req = request(tmp.path(), "vch3w");
    req.cname = Some("*.example.test".into());
    let m = tls::process(&req).expect("generate");
    let ca_der = der_of(m.client_ca_pems[0].as_bytes());
    assert_eq!(
        orgs(&parse(&ca_der)),
        ["vch3w"],
        "no cname appended for a wildcard"
    );
    let der = der_of(m.server_chain_pem.as_bytes());
    assert_eq!(sans(&parse(&der)), ["DNS:*.example.test"]);
}

#[test]
fn no_tlsverify_generates_only_a_self_signed_server_pair() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut req = request(tmp.path(), "vch4");
    req.no_tlsverify = true;
    req.key_size_bits = 3072;
    let m = tls::process(&req).expect("generate");
    assert_eq!((m.mode, m.port), (TlsMode::ServerOnly, 2376));
    assert!(m.client_ca_pems.is_empty() && m.client_cert.is_none() && m.cname.is_none());
    let dir = tmp.path().join("vch4");
    let names: Vec<_> = snapshot(&dir).into_keys().collect();
    assert_eq!(names, ["server-cert.pem", "server-key.pem"]);
    let der = der_of(m.server_chain_pem.as_bytes());
    let server = parse(&der);
    let not_before = server.validity().not_before.to_datetime();
    assert_common(
        &server,
        3072,
        not_before,
        server.validity().not_after.to_datetime(),
    );
    assert_eq!(
        (orgs(&server), cn(&server)),
        (vec!["default".to_owned()], None)
    );
    assert!(sans(&server).is_empty());
    let expected = format!(
        "Generating self-signed certificate/key pair - private key in {}",
        dir.join("server-key.pem").display()
    );
    assert!(messages(&m, LogLevel::Info).contains(&expected));
    assert_eq!(
        messages(&m, LogLevel::Warn),
        ["Configuring without TLS verify - certificate-based authentication disabled"]
    );
}

#[test]
fn redeploy_reuses_everything_silently_and_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let req = loopback_request(tmp.path(), "vch5");
    let first = tls::process(&req).expect("generate");
    let dir = tmp.path().join("vch5");
    // The env file vic-machine saves after create must not get in the way of reuse.
    let connect = tls::docker_connect(&first, "127.0.0.1");
    assert_eq!(
        tls::write_env_file(&first, &connect).expect("env"),
        Some(dir.join("vch5.env"))
    );
    let before = snapshot(&dir);

    let second = tls::process(&req).expect("reuse");
    assert!(second.reused && !second.generated);
    assert_eq!(snapshot(&dir), before, "nothing rewritten");
    assert_eq!(second.server_chain_pem, first.server_chain_pem);
    assert_eq!(second.server_key_pem, first.server_key_pem);
    assert_eq!(second.client_ca_pems, first.client_ca_pems);
    assert_eq!(second.client_cert, first.client_cert);
    assert_eq!(second.mode, TlsMode::Mutual);
    let d = dir.display();
    let info = messages(&second, LogLevel::Info);
    for line in [
        format!("Loaded server certificate {d}/server-cert.pem"),
        format!("Loaded CA with default name from certificate path {d}"),
        format!("Loaded client certificate with default name from certificate path {d}"),
    ] {
        assert!(info.contains(&line), "{line} not in {info:?}");
    }
    assert!(
        messages(&second, LogLevel::Warn).is_empty(),
        "silent: {:?}",
        second.log
    );
}

#[test]
fn reused_client_certificate_from_another_ca_is_dropped_with_vic_warning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let req = loopback_request(tmp.path(), "vch6");
    tls::process(&req).expect("generate");
    let other = loopback_request(tmp.path(), "other6");
    tls::process(&other).expect("generate other");
    let (dir, other_dir) = (tmp.path().join("vch6"), tmp.path().join("other6"));
    for f in ["cert.pem", "key.pem"] {
        fs::copy(other_dir.join(f), dir.join(f)).expect("copy");
    }
    let m = tls::process(&req).expect("reuse");
    assert!(m.client_cert.is_none() && m.mode == TlsMode::Mutual && m.reused);
    assert_eq!(
        messages(&m, LogLevel::Warn),
        [
            "Client certificate in certificate path does not validate with provided CA - \
             continuing without client certificate"
        ]
    );
    let connect = tls::docker_connect(&m, "127.0.0.1");
    assert_eq!(connect.command, "docker -H 127.0.0.1:2376 --tlsverify info");
}

#[test]
fn cname_mismatch_with_the_existing_certificate_fails_with_vic_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut req = loopback_request(tmp.path(), "vch7");
    tls::process(&req).expect("generate");
    req.cname = Some("127.0.1.6".into());
    let mut log = Vec::new();
    let err = tls::process_logged(&req, &mut log).expect_err("mismatch");
    let dir = tmp.path().join("vch7");
    assert_eq!(
        err.to_string(),
        format!(
            "cname option doesn't match existing server certificate in certificate path {}",
            dir.display()
        )
    );
    assert!(log.iter().any(|l| l.level == LogLevel::Error
        && l.message
            == "Provided cname does not match that in existing server certificate: 127.0.1.6"));

    // --force ignores the load error and regenerates — into a non-empty directory (VIC's order).
    req.force = true;
    assert!(matches!(
        expect_err(tls::process(&req)),
        TlsError::CertDirNotEmpty { .. }
    ));
}

#[test]
fn non_empty_directory_and_mixed_mode_trap_fail_with_vic_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("vch8");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("README"), "mine").expect("write");
    let req = loopback_request(tmp.path(), "vch8");
    assert_eq!(
        expect_err(tls::process(&req)).to_string(),
        format!(
            "Specified directory to store certificates is not empty. Specify a new path in \
             which to store generated certificates using --tls-cert-path or remove the \
             contents of \"{}\" and run vic-machine again.",
            dir.display()
        )
    );

    // A --no-tlsverify run leaves a server pair; a tlsverify run with the same cname then
    // loads it and must generate a CA into the non-empty directory.
    let mut server_only = loopback_request(tmp.path(), "vch8b");
    server_only.no_tlsverify = true;
    tls::process(&server_only).expect("server only");
    let err = expect_err(tls::process(&loopback_request(tmp.path(), "vch8b")));
    assert!(matches!(err, TlsError::CertDirNotEmpty { .. }), "{err}");
}

/// A CA and a server certificate made outside vic (ECDSA: custom files need not be RSA).
struct Custom {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn custom(cn: &str, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Custom {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.signed_by(&key, &issuer).expect("cert");
    Custom {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write");
    path
}

#[test]
fn custom_certificates_are_validated_and_used_as_given() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let now = OffsetDateTime::now_utc();
    let good = custom(
        "vch.corp.test",
        now - Duration::days(2),
        now + Duration::days(30),
    );
    let other = custom(
        "vch.corp.test",
        now - Duration::days(2),
        now + Duration::days(30),
    );
    let expired = custom(
        "vch.corp.test",
        now - Duration::days(60),
        now - Duration::days(1),
    );
    let files = tmp.path().join("files");
    fs::create_dir(&files).expect("mkdir");
    let cert = write(&files, "server.crt", &good.cert_pem);
    let key = write(&files, "server.key", &good.key_pem);
    let ca = write(&files, "ca.crt", &good.ca_pem);

    let base = |req: &mut TlsRequest| {
        req.cname = Some("vch.corp.test".into());
        req.server_cert = Some(cert.clone());
        req.server_key = Some(key.clone());
        req.ca = vec![ca.clone()];
    };

    // Valid: used verbatim, nothing generated or written.
    let mut req = request(tmp.path(), "vch9");
    base(&mut req);
    let m = tls::process(&req).expect("custom");
    assert_eq!(m.mode, TlsMode::Mutual);
    assert!(!m.generated && !m.reused && m.client_cert.is_none());
    assert_eq!(m.server_chain_pem, good.cert_pem);
    assert_eq!(m.client_ca_pems, std::slice::from_ref(&good.ca_pem));
    assert!(!tmp.path().join("vch9").exists());
    assert!(tls::server_config(&m).is_ok());

    // Mismatched key.
    let mut bad = req.clone();
    bad.server_key = Some(write(&files, "other.key", &other.key_pem));
    assert_eq!(
        expect_err(tls::process(&bad)).to_string(),
        "tls: private key does not match public key"
    );

    // Switched inputs: Go's messages, verbatim as VIC shows them.
    let mut bad = req.clone();
    bad.server_cert = Some(key.clone());
    bad.server_key = Some(cert.clone());
    assert_eq!(
        expect_err(tls::process(&bad)).to_string(),
        "tls: failed to find certificate PEM data in certificate input, but did find a \
         private key; PEM inputs may have been switched"
    );
    let mut bad = req.clone();
    bad.server_key = Some(cert.clone());
    assert_eq!(
        expect_err(tls::process(&bad)).to_string(),
        "tls: found a certificate rather than a key in the PEM for the private key"
    );

    // Expired.
    let mut bad = req.clone();
    bad.server_cert = Some(write(&files, "expired.crt", &expired.cert_pem));
    bad.server_key = Some(write(&files, "expired.key", &expired.key_pem));
    let err = expect_err(tls::process(&bad));
    assert!(matches!(err, TlsError::ServerCertNotValid { .. }), "{err}");
    assert!(
        err.to_string().contains("expired.crt is not valid at"),
        "{err}"
    );

    // Unreadable: a directory where the certificate should be, and a missing key.
    let mut bad = req.clone();
    bad.server_cert = Some(files.clone());
    let err = expect_err(tls::process(&bad));
    assert!(
        err.to_string().starts_with(&format!(
            "Failed to read server certificate {}: ",
            files.display()
        )),
        "{err}"
    );
    let mut bad = req.clone();
    bad.server_key = Some(files.join("missing.key"));
    assert!(matches!(
        expect_err(tls::process(&bad)),
        TlsError::FileRead {
            what: "server key",
            ..
        }
    ));

    // CA files: missing, and a key passed as a CA.
    let mut bad = req.clone();
    bad.ca = vec![files.join("missing-ca.crt")];
    let err = expect_err(tls::process(&bad));
    assert!(err.to_string().starts_with(&format!(
        "Failed to load authority from file {}",
        files.join("missing-ca.crt").display()
    )));
    let mut bad = req.clone();
    bad.ca = vec![key.clone()];
    assert_eq!(
        expect_err(tls::process(&bad)).to_string(),
        "Unable to load certificate authority data"
    );

    // The cname must match the custom certificate's CN too.
    let mut bad = req.clone();
    bad.cname = Some("other.corp.test".into());
    assert!(matches!(
        expect_err(tls::process(&bad)),
        TlsError::CnameMismatch { .. }
    ));
}

#[test]
fn custom_server_certificate_without_tls_ca_gets_a_generated_ca_and_client() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let now = OffsetDateTime::now_utc();
    let good = custom(
        "vch.corp.test",
        now - Duration::days(1),
        now + Duration::days(30),
    );
    let mut req = request(tmp.path(), "vch10");
    req.cname = Some("vch.corp.test".into());
    req.server_cert = Some(write(tmp.path(), "s.crt", &good.cert_pem));
    req.server_key = Some(write(tmp.path(), "s.key", &good.key_pem));
    let m = tls::process(&req).expect("custom + generated CA");
    assert!(m.generated && m.mode == TlsMode::Mutual && m.client_cert.is_some());
    assert_eq!(m.server_chain_pem, good.cert_pem);
    let names: Vec<_> = snapshot(&tmp.path().join("vch10")).into_keys().collect();
    assert_eq!(names, ["ca-key.pem", "ca.pem", "cert.pem", "key.pem"]);
}

#[test]
fn docker_connect_points_at_the_real_cert_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let m = tls::process(&loopback_request(tmp.path(), "vch11")).expect("generate");
    let c = tls::docker_connect(&m, "127.0.0.1");
    let dir = std::path::absolute(tmp.path().join("vch11")).expect("abs");
    let d = dir.display();
    assert_eq!(
        c.env,
        format!(
            "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={d} DOCKER_HOST=127.0.0.1:2376 \
             COMPOSE_TLS_VERSION=TLSv1_2"
        )
    );
    assert_eq!(
        c.command,
        format!(
            "docker -H 127.0.0.1:2376 --tlsverify --tlscacert=\"{d}/ca.pem\" \
             --tlscert=\"{d}/cert.pem\" --tlskey=\"{d}/key.pem\" info"
        )
    );
}

// ---- handshakes -------------------------------------------------------------------------------

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Certificates and key of a client, from PEM files.
fn identity(cert: &Path, key: &Path) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let chain = CertificateDer::pem_file_iter(cert)
        .expect("open")
        .map(|c| c.expect("cert"))
        .collect();
    (chain, PrivateKeyDer::from_pem_file(key).expect("key"))
}

/// A client that trusts `ca_pem` for the server and presents `identity` if given.
fn verifying_client(
    ca_pem: &str,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    tls12_only: bool,
) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("ca")).expect("add");
    }
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots);
    match identity {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).expect("identity"),
        None => builder.with_no_client_auth(),
    }
}

/// docker's `--tls` without verification: the server certificate is not checked.
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Serves one connection with `m`'s config on 127.0.0.1 (answering `ok` after the handshake)
/// and connects with `client` to the server name 127.0.0.1. Returns what the client read:
/// under TLS 1.3 a rejected client certificate only shows after the handshake, so "success"
/// means the application data arrived.
async fn exchange(m: &TlsMaterial, client: ClientConfig) -> Result<String, String> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls::server_config(m).expect("server config"));
    let listener = tokio::net::TcpListener::bind((LOOPBACK, 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        if let Ok(mut tls) = acceptor.accept(tcp).await {
            let _ = tls.write_all(b"ok\n").await;
            let _ = tls.shutdown().await;
        }
    });
    let result = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let name = ServerName::IpAddress(LOOPBACK.into());
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        tls.read_to_string(&mut text)
            .await
            .map_err(|e| e.to_string())?;
        Ok(text)
    }
    .await;
    server.await.expect("server task");
    result.and_then(|t| {
        if t == "ok\n" {
            Ok(t)
        } else {
            Err(format!("server closed early: {t:?}"))
        }
    })
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_vch_ca() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let m = tls::process(&loopback_request(tmp.path(), "vch12")).expect("generate");
    let foreign = tls::process(&loopback_request(tmp.path(), "foreign12")).expect("generate");
    let files = m.client_cert.clone().expect("client files");
    let ca = &m.client_ca_pems[0];
    let ours = || Some(identity(&files.cert, &files.key));

    // The generated CA verifies the server by its IP SAN, and the client certificate is accepted.
    exchange(&m, verifying_client(ca, ours(), false))
        .await
        .expect("mutual TLS 1.3");
    exchange(&m, verifying_client(ca, ours(), true))
        .await
        .expect("mutual TLS 1.2");

    // No client certificate, a foreign CA's, or the server's own (ServerAuth EKU only): refused.
    let err = exchange(&m, verifying_client(ca, None, false))
        .await
        .expect_err("no client cert");
    assert!(!err.is_empty());
    let f = foreign.client_cert.clone().expect("foreign files");
    exchange(
        &m,
        verifying_client(ca, Some(identity(&f.cert, &f.key)), false),
    )
    .await
    .expect_err("foreign client cert");
    let dir = m.cert_dir.clone().expect("dir");
    let server_as_client = identity(&dir.join("server-cert.pem"), &dir.join("server-key.pem"));
    exchange(&m, verifying_client(ca, Some(server_as_client), true))
        .await
        .expect_err("server certificate as client certificate");

    // And the client refuses a server from another CA.
    exchange(
        &m,
        verifying_client(&foreign.client_ca_pems[0], ours(), false),
    )
    .await
    .expect_err("foreign server");
}

#[tokio::test]
async fn server_only_mode_asks_for_no_client_certificate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut req = loopback_request(tmp.path(), "vch13");
    req.no_tlsverify = true;
    let m = tls::process(&req).expect("generate");
    assert_eq!(m.mode, TlsMode::ServerOnly);
    let client = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider())))
        .with_no_client_auth();
    assert_eq!(exchange(&m, client).await.expect("server-only TLS"), "ok\n");
}
