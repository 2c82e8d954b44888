//! Certificate thumbprints as vSphere shows them (SHA-1 of the DER certificate, upper-case
//! hex pairs joined by colons), and VIC's first step against a target: a bare TLS handshake
//! that reads the server certificate (vic.md §6.1 step 1).

use super::Error;
use super::endpoint::split_host_port;
use super::verify::{Policy, client_config, server_name, tls_error};
use sha1::{Digest, Sha1};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

/// How long [`fetch_thumbprint`] waits for the connection and handshake together.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The SHA-1 thumbprint of a DER certificate: `AB:CD:…` (20 upper-case hex pairs).
pub fn thumbprint_of(der: &[u8]) -> String {
    let digest = Sha1::digest(der);
    let mut out = String::with_capacity(59);
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// Normalises a thumbprint the user typed: case, surrounding space and the separators
/// (`:`, `-`, space or none) do not matter. `None` when it is not 20 hex bytes.
///
/// VIC compares the thumbprint as an exact string, so a lower-case copy of the right
/// thumbprint is refused there; it names the same certificate, so it is accepted here.
pub fn normalize_thumbprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let upper = hex.to_ascii_uppercase();
    let pairs: Vec<&str> = (0..20).map(|i| &upper[2 * i..2 * i + 2]).collect();
    Some(pairs.join(":"))
}

/// What a handshake showed about a server's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateProbe {
    /// The leaf certificate's thumbprint.
    pub thumbprint: String,
    /// The leaf certificate (DER).
    pub der: Vec<u8>,
    /// Why the certificate does not verify against the system's trusted roots (and the
    /// host name), or `None` when it does.
    pub verify_error: Option<String>,
}

/// The recorded outcome of a probe handshake.
pub(crate) type ProbeSlot = Arc<Mutex<Option<CertificateProbe>>>;

/// Connects to `target` (`host`, `host:port`, `[v6]:port` or an `https://` URL; port 443 by
/// default), completes a TLS handshake accepting any certificate, and reports the server
/// certificate and whether it would verify normally.
pub async fn probe_certificate(target: &str, timeout: Duration) -> Result<CertificateProbe, Error> {
    let hostport = target
        .trim()
        .strip_prefix("https://")
        .unwrap_or(target.trim());
    let hostport = hostport.split('/').next().unwrap_or("");
    let (host, port) = split_host_port(hostport, 443).map_err(|reason| Error::Url {
        url: target.to_owned(),
        reason,
    })?;
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let slot: ProbeSlot = Arc::default();
    let config = client_config(Policy::probe(slot.clone(), &[]))?;
    let name = server_name(&host)?;
    let work = async {
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|source| Error::Connect {
                addr: addr.clone(),
                source,
            })?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| tls_error(&host, &addr, e))?;
        // Close politely; the server's reaction does not matter.
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
        Ok::<(), Error>(())
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| Error::Timeout {
            what: format!("reading the certificate of {addr}"),
            after: timeout,
        })??;
    let probe = slot
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or_else(|| Error::Tls {
            addr,
            reason: "the server presented no certificate".into(),
        })?;
    Ok(probe)
}

/// The thumbprint of `target`'s certificate (see [`probe_certificate`]), within
/// [`PROBE_TIMEOUT`].
pub async fn fetch_thumbprint(target: &str) -> Result<String, Error> {
    Ok(probe_certificate(target, PROBE_TIMEOUT).await?.thumbprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_colon_separated_upper_hex() {
        // SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d
        assert_eq!(
            thumbprint_of(b"abc"),
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
        );
    }

    #[test]
    fn normalizes_user_input() {
        let want = "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D";
        for given in [
            want,
            " a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d ",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ] {
            assert_eq!(normalize_thumbprint(given).as_deref(), Some(want));
        }
        assert_eq!(normalize_thumbprint("A9:99"), None);
        assert_eq!(normalize_thumbprint(&"ZZ".repeat(20)), None);
    }
}
