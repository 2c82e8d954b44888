//! The last readiness check of `create` (vic.md §6.1 step 6.3, §4.2 "Post-deploy API check"):
//! `GET /info` on the Docker endpoint every second until it answers 200 with a
//! `SystemStatus` entry `[<Driver>, "RUNNING"]`.
//!
//! VIC verifies the server against the system roots plus the VCH's CAs and, when that fails
//! for a reason it expects (self-signed `--no-tlsverify` certificate, no name matching the
//! address), only warns and treats the VCH as up. This check is stricter and simpler: it pins
//! the server certificate vic-machine itself just deployed, so it always verifies the real
//! endpoint, and presents the client certificate when one is known. Only tlsverify without a
//! known client certificate (custom `--tls-ca`) cannot be checked; then, as VIC, it warns and
//! accepts a listening endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Failure, Ui};
use crate::tls::{TlsMaterial, TlsMode};

/// Limit on one `/info` attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest `/info` answer read.
const MAX_RESPONSE: usize = 1 << 20;

/// How to reach the endpoint.
enum Plan {
    Plain,
    Tls(Arc<ClientConfig>),
    /// tlsverify without a client certificate: only the listener can be checked.
    ListenOnly,
}

fn plan(m: &TlsMaterial) -> Result<Plan, Failure> {
    if m.mode == TlsMode::NoTls {
        return Ok(Plan::Plain);
    }
    if m.mode == TlsMode::Mutual && m.client_cert.is_none() {
        return Ok(Plan::ListenOnly);
    }
    let leaf = CertificateDer::pem_slice_iter(m.server_chain_pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| Failure::new("the deployed server certificate cannot be read"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(crate::vsphere::pinned_verifier(
            crate::vsphere::thumbprint_of(leaf.as_ref()),
        ));
    let config = match &m.client_cert {
        Some(files) if m.mode == TlsMode::Mutual => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| Failure::new(format!("reading {}: {e}", files.cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(&files.key)
                .map_err(|e| Failure::new(format!("reading {}: {e}", files.key.display())))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| Failure::new(e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Plan::Tls(Arc::new(config)))
}

/// Waits (every second, until the caller's timeout) for a healthy `/info` on `addr`.
pub async fn wait_ready(addr: SocketAddr, m: &TlsMaterial, ui: &mut Ui) -> Result<(), Failure> {
    let plan = plan(m)?;
    let mut last_error = String::new();
    loop {
        let attempt = tokio::time::timeout(ATTEMPT_TIMEOUT, probe(addr, &plan)).await;
        match attempt {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => {
                if e != last_error {
                    tracing::debug!(%addr, error = %e, "docker API not ready");
                    last_error = e;
                }
            }
            Err(_) => last_error = "timed out".into(),
        }
        if matches!(plan, Plan::ListenOnly) && TcpStream::connect(addr).await.is_ok() {
            ui.warn(
                "Unable to find valid client certs to check the Docker API: treating the VCH as up",
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn probe(addr: SocketAddr, plan: &Plan) -> Result<(), String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    match plan {
        Plan::Plain => get_info(tcp, addr).await,
        Plan::Tls(config) => {
            let connector = tokio_rustls::TlsConnector::from(config.clone());
            let name = ServerName::IpAddress(addr.ip().into());
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            get_info(tls, addr).await
        }
        Plan::ListenOnly => Err("no client certificate".into()),
    }
}

async fn get_info<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    addr: SocketAddr,
) -> Result<(), String> {
    let req = format!(
        "GET /info HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: vic-machine/{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        super::full_version()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_RESPONSE {
                    return Err("the /info answer is too large".into());
                }
            }
            // A peer that closes without close_notify still sent the whole answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    check_info(&buf)
}

/// Checks a raw HTTP answer to `GET /info`.
pub fn check_info(raw: &[u8]) -> Result<(), String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("bad status line")?;
    if status != 200 {
        return Err(format!("/info answered {status}"));
    }
    if head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    }) {
        body = dechunk(&body).ok_or("bad chunked body")?;
    }
    // The Docker JSON itself is the engine's business (only vic::engine knows it).
    crate::engine::info_reports_running(&body)
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_needs_the_driver_running() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Driver\":\"vSphere Integrated Containers v1.2.1 Backend Engine\",\"SystemStatus\":[[\"VCH CPU limit\",\"500 MHz\"],[\"vSphere Integrated Containers v1.2.1 Backend Engine\",\"RUNNING\"]]}";
        assert_eq!(check_info(ok), Ok(()));
        let down =
            b"HTTP/1.1 200 OK\r\n\r\n{\"Driver\":\"d\",\"SystemStatus\":[[\"d\",\"STOPPED\"]]}";
        assert!(check_info(down).is_err());
        let body = r#"{"Driver":"d","SystemStatus":[["d","RUNNING"]]}"#;
        let (a, b) = body.split_at(17);
        let chunked = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
        assert_eq!(check_info(chunked.as_bytes()), Ok(()));
        assert!(check_info(b"HTTP/1.1 500 x\r\n\r\n{}").is_err());
    }
}
