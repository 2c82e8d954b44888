//! vic-machine's certificate selection, `ProcessCertificates` (vic.md §4.2), step by step:
//! cert path, `--no-tls`, the server pair check, the cname, loading (custom files, then the
//! cert path's default names), generation into an empty cert path, and the final checks.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::error::TlsError;
use super::files::PendingFiles;
use super::generate::{self, CERT_MODE, KEY_MODE, Spec};
use super::pem;
use super::validate::{self, KeyPair};
use super::{
    CA_CERT_FILE, CA_KEY_FILE, CLIENT_CERT_FILE, CLIENT_KEY_FILE, ClientCertFiles, LogLevel,
    LogLine, SERVER_CERT_FILE, SERVER_KEY_FILE, TlsMaterial, TlsMode, TlsRequest,
};

/// Appends log lines as vic-machine would print them.
struct Log<'a>(&'a mut Vec<LogLine>);

impl Log<'_> {
    fn push(&mut self, level: LogLevel, message: impl Into<String>) {
        self.0.push(LogLine {
            level,
            message: message.into(),
        });
    }
    fn info(&mut self, message: impl Into<String>) {
        self.push(LogLevel::Info, message);
    }
    fn warn(&mut self, message: impl Into<String>) {
        self.push(LogLevel::Warn, message);
    }
    fn error(&mut self, message: impl Into<String>) {
        self.push(LogLevel::Error, message);
    }
}

/// A CA bundle and where it came from.
struct CaBundle {
    path: PathBuf,
    bundle: Vec<u8>,
}

/// The server certificate chain and key, as PEM.
struct ServerPem {
    chain: String,
    key: String,
}

/// What the load step found.
#[derive(Default)]
struct Loaded {
    cas: Vec<CaBundle>,
    server: Option<ServerPem>,
    client: Option<ClientCertFiles>,
    /// Something came from the cert path's default names.
    reused: bool,
}

/// Runs the selection; see [`super::plan_logged`]. Writes nothing: generated files come back
/// as [`PendingFiles`], so that every check (here and the caller's) runs before the first
/// file is written.
pub(crate) fn process(
    req: &TlsRequest,
    log: &mut Vec<LogLine>,
) -> Result<(TlsMaterial, PendingFiles), TlsError> {
    let mut log = Log(log);

    // 1. The cert path and the env file in it.
    let cert_dir = req
        .cert_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("./{}", req.name)));
    let env_file = cert_dir.join(format!("{}.env", req.name));

    // 2. --no-tls stops here. VIC silently ignores every certificate flag given with it;
    // they contradict it, so they are refused (before anything is read or written).
    if req.no_tls {
        check_no_tls_conflicts(req)?;
        log.warn("Configuring without TLS - all communications will be insecure");
        let material = TlsMaterial {
            mode: TlsMode::NoTls,
            port: TlsMode::NoTls.port(),
            server_chain_pem: String::new(),
            server_key_pem: String::new(),
            client_ca_pems: Vec::new(),
            cert_dir: None,
            env_file,
            cname: None,
            client_cert: None,
            generated: false,
            reused: false,
            log: Vec::new(),
        };
        return Ok((material, PendingFiles::default()));
    }

    // 3. The server pair comes as a pair.
    let explicit = match (&req.server_cert, &req.server_key) {
        (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
        (None, None) => None,
        _ => return Err(TlsError::ServerPairIncomplete),
    };
    // VIC loads --tls-ca files even with --no-tlsverify and then verifies nothing.
    if req.no_tlsverify && !req.ca.is_empty() {
        return Err(TlsError::FlagConflict {
            flag: "--tls-ca",
            with: "--no-tlsverify",
            why: "client certificates are not verified without TLS verify",
        });
    }

    // 4. The cname.
    let cname = effective_cname(req, &mut log);
    let tlsverify = !req.no_tlsverify;

    // 5. Load; with --force a load error means "start from nothing".
    let loaded = match load(
        req,
        &cert_dir,
        explicit,
        cname.as_deref(),
        tlsverify,
        &mut log,
    ) {
        Ok(loaded) => loaded,
        Err(e) if req.force => {
            log.warn(e.to_string());
            log.warn("Ignoring error loading certificates due to --force");
            Loaded::default()
        }
        Err(e) => return Err(e),
    };
    let Loaded {
        mut cas,
        mut server,
        mut client,
        reused,
    } = loaded;

    // 6. Generate what is missing.
    let need_server = server.is_none();
    let need_client = tlsverify && cas.is_empty();
    let generated = need_server || need_client;
    let mut pending = PendingFiles::default();
    if generated {
        let out = generate(
            req,
            &cert_dir,
            cname.as_deref(),
            need_server,
            need_client,
            &mut log,
        )?;
        cas.extend(out.ca);
        server = server.or(out.server);
        client = client.or(out.client);
        pending = out.files;
    }

    // 7. Final checks.
    if tlsverify && cas.is_empty() {
        return Err(TlsError::NoCertificateAuthority);
    }
    let Some(server) = server else {
        return Err(TlsError::NoServerCertificate);
    };
    let mode = if tlsverify {
        TlsMode::Mutual
    } else {
        TlsMode::ServerOnly
    };
    if mode == TlsMode::ServerOnly {
        log.warn("Configuring without TLS verify - certificate-based authentication disabled");
    }

    // The validator's CA check: every bundle must hold a usable certificate.
    let mut client_ca_pems = Vec::new();
    if mode == TlsMode::Mutual {
        let mut all = Vec::new();
        for ca in &cas {
            let ders = validate::ca_certificates(&ca.bundle);
            if ders.is_empty() {
                log.error(format!(
                    "No certificate found in CA file {}",
                    ca.path.display()
                ));
                return Err(TlsError::CaData);
            }
            all.extend(ders);
        }
        if validate::root_store(&all).is_none() {
            return Err(TlsError::CaData);
        }
        client_ca_pems = all
            .iter()
            .map(|der| pem::encode(pem::CERTIFICATE, der))
            .collect();
    }

    let material = TlsMaterial {
        mode,
        port: mode.port(),
        server_chain_pem: server.chain,
        server_key_pem: server.key,
        client_ca_pems,
        cert_dir: Some(cert_dir),
        env_file,
        cname,
        client_cert: if mode == TlsMode::Mutual {
            client
        } else {
            None
        },
        generated,
        reused,
        log: Vec::new(),
    };
    Ok((material, pending))
}

/// The certificate flags `--no-tls` contradicts: with no TLS at all there is nothing to
/// verify, no certificate to serve and no name to put in one.
fn check_no_tls_conflicts(req: &TlsRequest) -> Result<(), TlsError> {
    let conflict = |flag: &'static str, why: &'static str| TlsError::FlagConflict {
        flag,
        with: "--no-tls",
        why,
    };
    if req.no_tlsverify {
        return Err(conflict(
            "--no-tlsverify",
            "--no-tls serves plain HTTP, --no-tlsverify asks for TLS without client certificates",
        ));
    }
    let no_certificate = "the endpoint serves plain HTTP and uses no certificate";
    if req.server_cert.is_some() {
        return Err(conflict("--tls-server-cert", no_certificate));
    }
    if req.server_key.is_some() {
        return Err(conflict("--tls-server-key", no_certificate));
    }
    if !req.ca.is_empty() {
        return Err(conflict(
            "--tls-ca",
            "the endpoint serves plain HTTP and verifies no client certificate",
        ));
    }
    if req.cname.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(conflict("--tls-cname", no_certificate));
    }
    Ok(())
}

/// Step 4: `--tls-cname`, else the client network IP (mask already stripped). An IP cname is
/// normalised, as VIC writes it into the certificate, so that comparisons with an existing
/// certificate's CN do not trip over spelling.
fn effective_cname(req: &TlsRequest, log: &mut Log<'_>) -> Option<String> {
    if let Some(cname) = req.cname.as_deref().filter(|c| !c.is_empty()) {
        return Some(
            cname
                .parse::<IpAddr>()
                .map_or_else(|_| cname.to_owned(), |ip| ip.to_string()),
        );
    }
    let ip = req.client_network_ip?;
    log.info(format!(
        "Using client-network-ip as cname where needed - use --tls-cname to override: {ip}"
    ));
    Some(ip.to_string())
}

/// Reads a file, mapping "not found" to `None`.
fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Step 5: load what exists. Every error here is a load error (`--force` ignores it).
fn load(
    req: &TlsRequest,
    cert_dir: &Path,
    explicit: Option<(&Path, &Path)>,
    cname: Option<&str>,
    tlsverify: bool,
    log: &mut Log<'_>,
) -> Result<Loaded, TlsError> {
    let mut loaded = Loaded::default();

    // 5.1 Every --tls-ca file.
    for path in &req.ca {
        let bundle = fs::read(path).map_err(|source| TlsError::CaFileRead {
            path: path.clone(),
            source,
        })?;
        loaded.cas.push(CaBundle {
            path: path.clone(),
            bundle,
        });
    }

    // 5.2 The server pair: explicit, else the cert path's default names.
    let (cert_path, key_path) = match explicit {
        Some((cert, key)) => (cert.to_path_buf(), key.to_path_buf()),
        None => (
            cert_dir.join(SERVER_CERT_FILE),
            cert_dir.join(SERVER_KEY_FILE),
        ),
    };
    let read = |what: &'static str, path: &Path| {
        read_optional(path).map_err(|source| TlsError::FileRead {
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read("server certificate", &cert_path)?;
    let key_pem = read("server key", &key_path)?;
    match (cert_pem, key_pem) {
        (Some(cert_pem), Some(key_pem)) => {
            let pair = validate::x509_key_pair(&cert_pem, &key_pem)?;
            if let Some(cname) = cname
                && pair.leaf_cn.as_deref().unwrap_or_default() != cname
            {
                log.error(format!(
                    "Provided cname does not match that in existing server certificate: {cname}"
                ));
                // For custom files the file is the useful location; else the cert path.
                let where_ = if explicit.is_some() {
                    cert_path
                } else {
                    cert_dir.to_path_buf()
                };
                return Err(TlsError::CnameMismatch { cert_path: where_ });
            }
            validate::check_validity(&pair, &cert_path, req.now)?;
            log.info(format!("Loaded server certificate {}", cert_path.display()));
            loaded.server = Some(ServerPem {
                chain: pair.chain_pem(),
                key: pair.key_pem(),
            });
            loaded.reused |= explicit.is_none();
        }
        (cert, _) => {
            if explicit.is_some() {
                // Explicit files must exist.
                let (what, path) = if cert.is_none() {
                    ("server certificate", cert_path)
                } else {
                    ("server key", key_path)
                };
                let source = io::Error::from(io::ErrorKind::NotFound);
                return Err(TlsError::FileRead { what, path, source });
            }
        }
    }

    // 5.3 With tlsverify and no --tls-ca: the cert path's CA and client certificate.
    if tlsverify && req.ca.is_empty() {
        let ca_path = cert_dir.join(CA_CERT_FILE);
        let bundle = read_optional(&ca_path).map_err(|source| TlsError::CaFileRead {
            path: ca_path.clone(),
            source,
        })?;
        match bundle {
            None => log.info("Unable to locate existing CA in cert path"),
            Some(bundle) => {
                let ca_ders = validate::ca_certificates(&bundle);
                if ca_ders.is_empty() {
                    return Err(TlsError::CaData);
                }
                log.info(format!(
                    "Loaded CA with default name from certificate path {}",
                    cert_dir.display()
                ));
                loaded.cas.push(CaBundle {
                    path: ca_path.clone(),
                    bundle,
                });
                loaded.reused = true;
                loaded.client = load_client(cert_dir, &ca_path, &ca_ders, req, log);
            }
        }
    }
    Ok(loaded)
}

/// 5.3 continued: `cert.pem`/`key.pem` count only if they verify against the CA for client
/// auth; otherwise vic-machine carries on without a client certificate.
fn load_client(
    cert_dir: &Path,
    ca_path: &Path,
    ca_ders: &[Vec<u8>],
    req: &TlsRequest,
    log: &mut Log<'_>,
) -> Option<ClientCertFiles> {
    let files = ClientCertFiles {
        ca: ca_path.to_path_buf(),
        cert: cert_dir.join(CLIENT_CERT_FILE),
        key: cert_dir.join(CLIENT_KEY_FILE),
    };
    let pair: Option<KeyPair> = match (fs::read(&files.cert), fs::read(&files.key)) {
        (Ok(cert), Ok(key)) => validate::x509_key_pair(&cert, &key).ok(),
        _ => None,
    };
    if pair.is_some_and(|pair| validate::verifies_as_client(ca_ders, &pair, req.now)) {
        log.info(format!(
            "Loaded client certificate with default name from certificate path {}",
            cert_dir.display()
        ));
        Some(files)
    } else {
        log.warn(
            "Client certificate in certificate path does not validate with provided CA - \
             continuing without client certificate",
        );
        None
    }
}

/// What generation produced, and the files still to be written.
struct Generated {
    ca: Option<CaBundle>,
    server: Option<ServerPem>,
    client: Option<ClientCertFiles>,
    files: PendingFiles,
}

/// Step 6: generate for an empty (or new) cert path: the CA, the server certificate if
/// needed and the client certificate; or, without client auth, a self-signed server
/// certificate. Keys are made in memory; the files are returned to be written later.
fn generate(
    req: &TlsRequest,
    cert_dir: &Path,
    cname: Option<&str>,
    need_server: bool,
    need_client: bool,
    log: &mut Log<'_>,
) -> Result<Generated, TlsError> {
    // Flag checks first, so a bad flag leaves nothing on disk.
    let key_size = generate::key_size(req.key_size_bits)?;
    let orgs = generate::organizations(&req.organization, &req.name, cname);
    if orgs.len() > 2 {
        return Err(TlsError::TooManyOrganizations(orgs.len()));
    }
    let (not_before, not_after) = generate::validity(req.now)?;

    match fs::read_dir(cert_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(TlsError::CertDirNotEmpty {
                    path: cert_dir.to_path_buf(),
                });
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(TlsError::io(
                format!("unable to read {}", cert_dir.display()),
                e,
            ));
        }
    }
    // VIC creates the directory before noticing the missing cname (must-get-right #1); here
    // the check comes first, so a failed create leaves no empty directory behind.
    if need_client && cname.is_none() {
        log.error(
            "Common Name must be provided when generating certificates for client authentication:",
        );
        for hint in [
            "--tls-cname=<FQDN or static IP>",
            "--tls-cname=<*.yourdomain.com>",
            "--no-tlsverify",
            "--no-tls",
        ] {
            log.info(hint);
        }
        log.error("cannot continue: unable to generate certificates");
        return Err(TlsError::MissingCname);
    }

    let spec = Spec {
        cname: cname.map(str::to_owned),
        orgs,
        client_ip: req.client_network_ip,
        key_size,
        not_before,
        not_after,
        resolve: req.resolve_cname_sans,
    };
    let file = |name: &str| cert_dir.join(name);
    let mut files = PendingFiles::new(cert_dir);

    if !need_client {
        log.info(format!(
            "Generating self-signed certificate/key pair - private key in {}",
            file(SERVER_KEY_FILE).display()
        ));
        let server = generate::server(&spec, None)?;
        let server = pend_pair(
            &mut files,
            &server,
            &file(SERVER_CERT_FILE),
            &file(SERVER_KEY_FILE),
        )?;
        return Ok(Generated {
            ca: None,
            server: Some(server),
            client: None,
            files,
        });
    }

    log.info(format!(
        "Generating CA certificate/key pair - private key in {}",
        file(CA_KEY_FILE).display()
    ));
    let ca = generate::ca(&spec)?;
    let ca_pem = pend_pair(&mut files, &ca, &file(CA_CERT_FILE), &file(CA_KEY_FILE))?;
    let issuer = ca.issuer();

    let server = if need_server {
        log.info(format!(
            "Generating server certificate/key pair - private key in {}",
            file(SERVER_KEY_FILE).display()
        ));
        let server = generate::server(&spec, Some(&issuer))?;
        Some(pend_pair(
            &mut files,
            &server,
            &file(SERVER_CERT_FILE),
            &file(SERVER_KEY_FILE),
        )?)
    } else {
        None
    };

    log.info(format!(
        "Generating client certificate/key pair - private key in {}",
        file(CLIENT_KEY_FILE).display()
    ));
    let client = generate::client(&spec, &issuer)?;
    pend_pair(
        &mut files,
        &client,
        &file(CLIENT_CERT_FILE),
        &file(CLIENT_KEY_FILE),
    )?;

    Ok(Generated {
        ca: Some(CaBundle {
            path: file(CA_CERT_FILE),
            bundle: ca_pem.chain.into_bytes(),
        }),
        server,
        client: Some(ClientCertFiles {
            ca: file(CA_CERT_FILE),
            cert: file(CLIENT_CERT_FILE),
            key: file(CLIENT_KEY_FILE),
        }),
        files,
    })
}

/// Queues a generated certificate (0644) and key (0600); returns their PEM.
fn pend_pair(
    files: &mut PendingFiles,
    issued: &generate::Issued,
    cert: &Path,
    key: &Path,
) -> Result<ServerPem, TlsError> {
    let pem = ServerPem {
        chain: issued.cert_pem(),
        key: issued.key_pem()?,
    };
    files.push(cert, &pem.chain, CERT_MODE);
    files.push(key, &pem.key, KEY_MODE);
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::DOCKER_PLAIN_PORT;
    use time::OffsetDateTime;

    fn request(dir: &Path) -> TlsRequest {
        let mut req = TlsRequest::new("vch", OffsetDateTime::now_utc());
        req.cert_path = Some(dir.join("certs"));
        req.resolve_cname_sans = false;
        req
    }

    fn messages(log: &[LogLine]) -> Vec<&str> {
        log.iter().map(|l| l.message.as_str()).collect()
    }

    #[test]
    fn no_tls_stops_before_any_other_check() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut req = request(tmp.path());
        req.no_tls = true;
        req.key_size_bits = 1000; // would fail generation
        let m = crate::tls::process(&req).expect("no-tls");
        assert_eq!((m.mode, m.port), (TlsMode::NoTls, DOCKER_PLAIN_PORT));
        assert!(m.server_chain_pem.is_empty() && m.cert_dir.is_none() && !m.generated);
        assert_eq!(m.env_file, tmp.path().join("certs/vch.env"));
        assert_eq!(
            messages(&m.log),
            ["Configuring without TLS - all communications will be insecure"]
        );
        assert!(!tmp.path().join("certs").exists());
    }

    #[test]
    fn no_tls_refuses_every_certificate_flag_and_reads_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = {
            let mut r = request(tmp.path());
            r.no_tls = true;
            r
        };
        type Set = fn(&mut TlsRequest);
        let cases: [(&str, Set); 5] = [
            ("--no-tlsverify", |r| r.no_tlsverify = true),
            ("--tls-server-cert", |r| {
                r.server_cert = Some("/nonexistent/cert.pem".into())
            }),
            ("--tls-server-key", |r| {
                r.server_key = Some("/nonexistent/key.pem".into())
            }),
            ("--tls-ca", |r| r.ca = vec!["/nonexistent/ca.pem".into()]),
            ("--tls-cname", |r| r.cname = Some("vch.example.test".into())),
        ];
        for (flag, set) in cases {
            let mut req = base.clone();
            set(&mut req);
            let err = crate::tls::process(&req).expect_err(flag);
            assert!(
                err.to_string()
                    .starts_with(&format!("{flag} cannot be used with --no-tls: ")),
                "{flag}: {err}"
            );
        }
        let mut req = base.clone();
        req.no_tls = false;
        req.no_tlsverify = true;
        req.ca = vec![tmp.path().join("ca.pem")];
        assert_eq!(
            crate::tls::process(&req).expect_err("ca").to_string(),
            "--tls-ca cannot be used with --no-tlsverify: client certificates are not verified \
             without TLS verify"
        );
        assert!(!tmp.path().join("certs").exists());
    }

    #[test]
    fn default_cert_path_is_dot_slash_name() {
        let mut req = TlsRequest::new("my-vch", OffsetDateTime::now_utc());
        req.no_tls = true;
        let m = crate::tls::process(&req).expect("no-tls");
        assert_eq!(m.env_file, Path::new("./my-vch/my-vch.env"));
    }

    #[test]
    fn half_a_server_pair_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut req = request(tmp.path());
        req.server_key = Some(tmp.path().join("key.pem"));
        let err = crate::tls::process(&req).expect_err("pair");
        assert_eq!(
            err.to_string(),
            "key and cert should be specified at the same time"
        );
    }

    #[test]
    fn missing_cname_fails_before_creating_the_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let req = request(tmp.path());
        let mut log = Vec::new();
        let err = crate::tls::process_logged(&req, &mut log).expect_err("cname");
        assert_eq!(
            err.to_string(),
            "provide Common Name for server certificate"
        );
        assert_eq!(
            messages(&log),
            [
                "Unable to locate existing CA in cert path",
                "Common Name must be provided when generating certificates for client \
                 authentication:",
                "--tls-cname=<FQDN or static IP>",
                "--tls-cname=<*.yourdomain.com>",
                "--no-tlsverify",
                "--no-tls",
                "cannot continue: unable to generate certificates",
            ]
        );
        // VIC has already made the directory here (must-get-right #1); a failed create must
        // leave nothing behind, so the check comes first.
        assert!(!tmp.path().join("certs").exists());
    }

    #[test]
    fn cname_comes_from_the_flag_or_the_client_ip_and_ips_are_normalised() {
        let mut log = Vec::new();
        let mut req = TlsRequest::new("vch", OffsetDateTime::now_utc());
        assert_eq!(effective_cname(&req, &mut Log(&mut log)), None);
        req.client_network_ip = Some("127.0.1.7".parse().expect("ip"));
        assert_eq!(
            effective_cname(&req, &mut Log(&mut log)).as_deref(),
            Some("127.0.1.7")
        );
        assert_eq!(
            messages(&log),
            [
                "Using client-network-ip as cname where needed - use --tls-cname to override: \
                 127.0.1.7"
            ]
        );
        req.cname = Some("0:0::1".into());
        assert_eq!(
            effective_cname(&req, &mut Log(&mut log)).as_deref(),
            Some("::1")
        );
        req.cname = Some(String::new());
        assert_eq!(
            effective_cname(&req, &mut Log(&mut log)).as_deref(),
            Some("127.0.1.7")
        );
    }

    #[test]
    fn non_empty_directory_without_server_certificate_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("certs");
        fs::create_dir(&dir).expect("mkdir");
        fs::write(dir.join("notes.txt"), "x").expect("write");
        let mut req = request(tmp.path());
        req.cname = Some("vch.example.test".into());
        let err = crate::tls::process(&req).expect_err("non-empty");
        assert!(matches!(err, TlsError::CertDirNotEmpty { .. }));
    }

    #[test]
    fn bad_key_size_and_too_many_orgs_leave_nothing_on_disk() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut req = request(tmp.path());
        req.cname = Some("10.0.0.1".into());
        req.key_size_bits = 1000;
        assert!(matches!(
            crate::tls::process(&req),
            Err(TlsError::UnsupportedKeySize(1000))
        ));
        req.key_size_bits = 2048;
        req.organization = vec!["a".into(), "b".into(), "c".into()];
        assert!(matches!(
            crate::tls::process(&req),
            Err(TlsError::TooManyOrganizations(3))
        ));
        assert!(!tmp.path().join("certs").exists());
    }

    #[test]
    fn unreadable_ca_is_a_load_error_that_force_turns_into_generation() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut req = request(tmp.path());
        req.cname = Some("10.0.0.1".into());
        req.ca = vec![tmp.path().join("missing-ca.pem")];
        let err = crate::tls::process(&req).expect_err("ca");
        assert!(
            err.to_string().starts_with(&format!(
                "Failed to load authority from file {}: ",
                tmp.path().join("missing-ca.pem").display()
            )),
            "{err}"
        );
        req.force = true;
        let m = crate::tls::process(&req).expect("forced");
        assert!(m.generated && m.mode == TlsMode::Mutual);
        assert!(messages(&m.log).contains(&"Ignoring error loading certificates due to --force"));
    }

    #[test]
    fn explicit_server_files_must_exist() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut req = request(tmp.path());
        req.server_cert = Some(tmp.path().join("nope-cert.pem"));
        req.server_key = Some(tmp.path().join("nope-key.pem"));
        let err = crate::tls::process(&req).expect_err("missing");
        assert!(
            matches!(
                err,
                TlsError::FileRead {
                    what: "server certificate",
                    ..
                }
            ),
            "{err}"
        );
    }
}
