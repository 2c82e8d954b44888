//! Raw probes of a VCH endpoint for the TLS suite: is a port open, what does the endpoint answer
//! to a TLS 1.1-only ClientHello (VIC's minimum is TLS 1.2), which version does a TLS 1.2-only
//! client get, and how does the plain-HTTP port treat a foreign `Host` header. Every probe is
//! bounded in time.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Connect and read timeout of every probe.
const TIMEOUT: Duration = Duration::from_secs(5);

/// `open` when a TCP connection to `ip:port` succeeds, `closed` otherwise.
pub(super) async fn port_state(ip: IpAddr, port: u16) -> &'static str {
    let addr = SocketAddr::new(ip, port);
    match tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => "open",
        _ => "closed",
    }
}

/// Runs a blocking probe off the runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("probe task failed: {e}"))?
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s =
        TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT))
        .and_then(|()| s.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))?;
    Ok(s)
}

/// Sends a ClientHello offering only TLS 1.1 and describes the first record of the answer:
/// `alert protocol_version` is what a TLS ≥ 1.2 server sends.
pub(super) async fn tls11_hello(addr: SocketAddr) -> Result<String, String> {
    blocking(move || {
        let mut s = connect(addr)?;
        s.write_all(&tls11_client_hello())
            .map_err(|e| format!("write: {e}"))?;
        let mut head = [0u8; 7];
        match s.read_exact(&mut head) {
            Ok(()) => Ok(describe_record(&head)),
            Err(e) => Ok(format!("no answer ({e})")),
        }
    })
    .await
}

/// A TLS 1.1 ClientHello (legacy version 3.2, no supported_versions extension) offering the
/// suites the endpoint serves (ECDHE GCM) besides the CBC ones, and the signature algorithms
/// extension, so that the version alone decides.
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02]; // client_version TLS 1.1
    body.extend((0u8..32).map(|i| i.wrapping_mul(7).wrapping_add(1))); // random
    body.push(0); // session id
    let suites: [u16; 6] = [0xc02f, 0xc030, 0xc02b, 0xc013, 0xc014, 0x002f];
    body.extend(u16::try_from(suites.len() * 2).unwrap_or(0).to_be_bytes());
    for s in suites {
        body.extend(s.to_be_bytes());
    }
    body.extend([1, 0]); // compression: null
    // signature_algorithms: rsa_pkcs1_sha256, ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256.
    let schemes: [u16; 3] = [0x0401, 0x0403, 0x0804];
    let mut list = u16::try_from(schemes.len() * 2)
        .unwrap_or(0)
        .to_be_bytes()
        .to_vec();
    for s in schemes {
        list.extend(s.to_be_bytes());
    }
    let mut ext = 0x000du16.to_be_bytes().to_vec();
    ext.extend(u16::try_from(list.len()).unwrap_or(0).to_be_bytes());
    ext.extend(list);
    body.extend(u16::try_from(ext.len()).unwrap_or(0).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![1u8]; // client_hello
    let len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
    hs.extend(&len[1..]);
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend(u16::try_from(hs.len()).unwrap_or(0).to_be_bytes());
    rec.extend(hs);
    rec
}

fn describe_record(head: &[u8; 7]) -> String {
    match head[0] {
        0x15 => {
            let desc = match head[6] {
                40 => "handshake_failure".to_owned(),
                70 => "protocol_version".to_owned(),
                71 => "insufficient_security".to_owned(),
                n => format!("alert {n}"),
            };
            format!("alert {desc}")
        }
        0x16 => "handshake continued".to_owned(),
        other => format!("record type {other}"),
    }
}

/// Client material for [`tls12_version`].
pub(super) struct ClientFiles {
    /// The CA PEM the server is verified against.
    pub ca_pem: String,
    /// The client certificate, PEM.
    pub cert_pem: String,
    /// The client key, PEM.
    pub key_pem: String,
}

/// Connects with a TLS 1.2-only rustls client (server verified against the CA, client
/// certificate presented), sends `GET /_ping` and returns the negotiated version and the HTTP
/// status line.
pub(super) async fn tls12_version(addr: SocketAddr, files: ClientFiles) -> Result<String, String> {
    blocking(move || {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(files.ca_pem.as_bytes()) {
            let c = c.map_err(|e| format!("CA PEM: {e}"))?;
            roots.add(c).map_err(|e| format!("CA: {e}"))?;
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(files.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("client certificate PEM: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(files.key_pem.as_bytes())
            .map_err(|e| format!("client key PEM: {e}"))?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("client certificate: {e}"))?;
        let name = ServerName::IpAddress(addr.ip().into());
        let conn = rustls::ClientConnection::new(Arc::new(config), name)
            .map_err(|e| format!("TLS client: {e}"))?;
        let mut tls = rustls::StreamOwned::new(conn, connect(addr)?);
        let req = format!("GET /_ping HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        tls.write_all(req.as_bytes())
            .map_err(|e| format!("TLS 1.2 handshake or write: {e}"))?;
        let mut answer = Vec::new();
        // A close without close_notify is fine once the answer is in.
        let _ = tls.read_to_end(&mut answer);
        let version = match tls.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
            Some(v) => format!("{v:?}"),
            None => "no version".to_owned(),
        };
        let text = String::from_utf8_lossy(&answer);
        let status = text.lines().next().unwrap_or("no answer").trim().to_owned();
        Ok(format!("{version}, {status}"))
    })
    .await
}

/// `GET /_ping` over plain HTTP with `Host: host`; returns the status code and the body.
pub(super) async fn plain_get(addr: SocketAddr, host: String) -> Result<(u16, String), String> {
    blocking(move || {
        let mut s = connect(addr)?;
        let req = format!("GET /_ping HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut answer = Vec::new();
        let _ = s.take(64 * 1024).read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    })
    .await
}
