//! Custom certificates: a VCH on a server certificate and CA the suite made, and vic-machine's
//! validation of custom certificate flags (each create must be refused before vSphere).

use std::fs;
use std::net::{IpAddr, Ipv4Addr};

use super::vch::{observe, verify_args, write};
use super::{CLI, MACHINE, Run, certs, next_ip};

/// Ids of the custom-certificate validation cases, in order.
const CUSTOM_FAILURES: [&str; 7] = [
    "tls-custom-pair-incomplete",
    "tls-custom-key-mismatch",
    "tls-custom-inputs-switched",
    "tls-custom-key-is-cert",
    "tls-custom-missing-key",
    "tls-custom-ca-not-a-certificate",
    "tls-custom-ca-missing",
];

/// Custom certificate files.
struct Custom {
    ip: Ipv4Addr,
    ca: String,
    cert: String,
    key: String,
    client_cert: String,
    client_key: String,
    other_key: String,
}

/// Which of vic-machine's messages count as the expected one.
enum Matching {
    /// Only the expected message itself.
    Exact,
    /// Any message containing this text.
    Contains(String),
    /// Any message starting with this text.
    StartsWith(String),
}

/// A create that must be refused: description, extra flags, the expected message, and which
/// observed messages are taken as it.
struct Refusal {
    description: &'static str,
    flags: Vec<String>,
    message: String,
    matching: Matching,
}

impl Refusal {
    fn new(description: &'static str, flags: Vec<String>, message: impl Into<String>) -> Self {
        Refusal {
            description,
            flags,
            message: message.into(),
            matching: Matching::Exact,
        }
    }

    fn matching(self, matching: Matching) -> Self {
        Refusal { matching, ..self }
    }

    /// The observed message as compared: the expected one when it matches, else itself.
    fn shape(&self, observed: &str) -> String {
        let matches = match &self.matching {
            Matching::Exact => observed == self.message,
            Matching::Contains(p) => observed.contains(p.as_str()),
            Matching::StartsWith(p) => observed.starts_with(p.as_str()),
        };
        if matches {
            self.message.clone()
        } else {
            observed.to_owned()
        }
    }
}

/// `--tls-server-cert CERT [--tls-server-key KEY] [--tls-ca CA]`.
fn flags(cert: &str, key: Option<&str>, ca: Option<&str>) -> Vec<String> {
    let mut a = vec!["--tls-server-cert".to_owned(), cert.to_owned()];
    if let Some(k) = key {
        a.push("--tls-server-key".into());
        a.push(k.to_owned());
    }
    if let Some(ca) = ca {
        a.push("--tls-ca".into());
        a.push(ca.to_owned());
    }
    a
}

impl Run<'_> {
    pub(super) async fn custom(&mut self) {
        let files = self.root.join("custom-files");
        let made = (|| {
            fs::create_dir_all(&files)
                .map_err(|e| format!("cannot create {}: {e}", files.display()))?;
            let ip = next_ip();
            let ca = certs::Ca::new("vicbed custom CA")?;
            let server = ca.server(IpAddr::V4(ip))?;
            let client = ca.client()?;
            let w = |n: &str, t: &str| write(&files.join(n), t);
            Ok::<_, String>(Custom {
                ip,
                ca: w("ca.pem", &ca.pem)?,
                cert: w("server-cert.pem", &server.cert)?,
                key: w("server-key.pem", &server.key)?,
                client_cert: w("client-cert.pem", &client.cert)?,
                client_key: w("client-key.pem", &client.key)?,
                other_key: w("other-key.pem", &certs::new_key_pem()?)?,
            })
        })();

        // A VCH on custom files.
        let dir = self.root.join("custom");
        let vch = match &made {
            Err(e) => Err(e.clone()),
            Ok(c) => {
                let extra = flags(&c.cert, Some(&c.key), Some(&c.ca));
                self.create("tls-custom", Some(c.ip), &dir, &extra).await
            }
        };
        let observed = self
            .cli_works(&vch, |v| {
                let c = made.as_ref().map_err(Clone::clone)?;
                let client = Some((c.client_cert.as_str(), c.client_key.as_str()));
                Ok(verify_args(v.ip, &c.ca, client))
            })
            .await;
        self.case(
            "tls-custom-cli",
            "a VCH on a custom server certificate and --tls-ca: docker --tlsverify with a client \
             certificate from that CA reaches it",
            "ok: tls-custom",
            observed,
            CLI,
        );
        let expected = match &made {
            Ok(c) => format!(
                "Loaded server certificate {}; nothing generated; cert path absent",
                c.cert
            ),
            Err(e) => e.clone(),
        };
        let observed = observe(&vch, |v| {
            let generated = v.generating();
            let generated = if generated.is_empty() {
                "nothing generated".to_owned()
            } else {
                generated.join(", ")
            };
            let path = if dir.exists() {
                "cert path created"
            } else {
                "cert path absent"
            };
            format!(
                "{}; {generated}; {path}",
                v.line_starting("Loaded server certificate ")
            )
        });
        self.case(
            "tls-custom-loaded",
            "with custom server files and --tls-ca vic-machine loads them and generates nothing \
             (vic.md §4.2 steps 5–6)",
            expected,
            observed,
            MACHINE,
        );

        // Validation errors: create fails during parameter processing, before vSphere.
        let c = match made {
            Ok(c) => c,
            Err(e) => {
                for id in CUSTOM_FAILURES {
                    let description = "custom-certificate validation";
                    self.case(id, description, "create refused", e.clone(), MACHINE);
                }
                return;
            }
        };
        let missing_key = files.join("missing-key.pem").display().to_string();
        let missing_ca = files.join("missing-ca.pem").display().to_string();
        let ca_prefix = format!("Failed to load authority from file {missing_ca}: ");
        let cases = [
            Refusal::new(
                "--tls-server-cert without --tls-server-key is refused",
                flags(&c.cert, None, None),
                "key and cert should be specified at the same time",
            ),
            Refusal::new(
                "a server key that does not match the certificate is refused with Go's message",
                flags(&c.cert, Some(&c.other_key), None),
                "tls: private key does not match public key",
            ),
            Refusal::new(
                "certificate and key files switched: Go's tls.X509KeyPair message (vic.md §4.2)",
                flags(&c.key, Some(&c.cert), None),
                "tls: failed to find certificate PEM data in certificate input, but did find a \
                 private key; PEM inputs may have been switched",
            ),
            Refusal::new(
                "a certificate given as the key: Go's tls.X509KeyPair message (vic.md §4.2)",
                flags(&c.cert, Some(&c.cert), None),
                "tls: found a certificate rather than a key in the PEM for the private key",
            ),
            Refusal::new(
                "an explicit server key that does not exist fails the create, naming the file",
                flags(&c.cert, Some(&missing_key), None),
                format!("an error naming {missing_key}"),
            )
            .matching(Matching::Contains(missing_key.clone())),
            Refusal::new(
                "a --tls-ca file that holds no certificate (a key) is refused (vic.md §4.2)",
                flags(&c.cert, Some(&c.key), Some(&c.key)),
                "Unable to load certificate authority data",
            ),
            Refusal::new(
                "a --tls-ca file that does not exist is refused (vic.md §4.2 step 5.1)",
                flags(&c.cert, Some(&c.key), Some(&missing_ca)),
                format!("{ca_prefix}…"),
            )
            .matching(Matching::StartsWith(ca_prefix.clone())),
        ];
        for (i, (id, refusal)) in CUSTOM_FAILURES.iter().zip(cases).enumerate() {
            let name = format!("tls-bad-{i}");
            let dir = self.root.join(&name);
            let (observed, _) = self
                .failing_create(&name, &dir, &refusal.flags, |m| refusal.shape(m))
                .await;
            self.case(
                id,
                refusal.description,
                format!(
                    "failed: {}; VCH listed: no; cert path: absent",
                    refusal.message
                ),
                observed,
                MACHINE,
            );
        }
    }
}
