//! Mutual TLS (the default), as vic-machine left it: the port, the printed hints, the
//! generated files and their modes, and the facts of the three generated certificates.

use std::net::Ipv4Addr;
use std::path::Path;

use super::vch::{Deployed, Vch, listing, mode_of, modes_line, observe};
use super::{Artifact, MACHINE, MUTUAL_FILES, Run, certs};

/// The certificates' common facts (vic.md §4.3).
const COMMON: &str = "RSA 2048 sha256WithRSA now-1d..now+1y basicConstraints critical";

impl Run<'_> {
    pub(super) async fn mutual_output(&mut self, vch: &Deployed, ip: Ipv4Addr, dir: &Path) {
        let d = dir.display();
        self.port_case(
            (
                "tls-mutual-port",
                "mutual TLS (the default) serves the Docker API on 2376 only",
            ),
            vch,
            ip,
            (2376, 2375),
        )
        .await;

        let observed = observe(vch, |v| {
            [
                v.after("Docker environment variables:"),
                v.line_starting("Environment saved in "),
                v.after("Connect to docker:"),
            ]
            .join(" | ")
        });
        self.case(
            "tls-mutual-hint",
            "create prints the tlsverify environment, saves it in <cert path>/<name>.env and \
             prints the docker command with the generated CA and client files (vic.md §1.3)",
            format!(
                "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={d} DOCKER_HOST={ip}:2376 \
                 COMPOSE_TLS_VERSION=TLSv1_2 | Environment saved in {d}/tls-mutual.env | \
                 docker -H {ip}:2376 --tlsverify --tlscacert=\"{d}/ca.pem\" \
                 --tlscert=\"{d}/cert.pem\" --tlskey=\"{d}/key.pem\" info"
            ),
            observed,
            MACHINE,
        );

        let mut expected: Vec<&str> = MUTUAL_FILES.iter().map(|(n, _)| *n).collect();
        expected.push("tls-mutual.env");
        expected.sort_unstable();
        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => listing(&v.dir).map_or_else(
                |e| e,
                |l| {
                    self.r.artifacts.push(Artifact {
                        name: "tls-mutual-files.txt".into(),
                        content: l
                            .iter()
                            .map(|n| format!("{} {n}", mode_of(&v.dir.join(n))))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    });
                    l.join(" ")
                },
            ),
        };
        self.case(
            "tls-files-generated",
            "a default create generates the CA, server and client pairs and the env file in \
             the cert path (vic.md §4.2 step 6)",
            expected.join(" "),
            observed,
            MACHINE,
        );

        let mut expected = vec!["dir 0700".to_owned()];
        expected.extend(MUTUAL_FILES.iter().map(|(n, m)| format!("{n} {m}")));
        expected.push("tls-mutual.env 0644".into());
        let names = MUTUAL_FILES.map(|(n, _)| n);
        let observed = observe(vch, |v| {
            modes_line(&v.dir, names.iter().chain(&["tls-mutual.env"]))
        });
        self.case(
            "tls-files-modes",
            "certificates and the env file are 0644, keys 0600, the directory 0700 (vic.md §4.3)",
            expected.join(", "),
            observed,
            MACHINE,
        );
    }

    pub(super) fn mutual_certificates(&mut self, vch: &Deployed, ip: Ipv4Addr) {
        let facts = match vch {
            Err(e) => Err(e.clone()),
            Ok(v) => generated_facts(v).map(|f| (f, v.created)),
        };
        let orgs = format!("O=tls-mutual,{ip}");

        let observed = match &facts {
            Err(e) => e.clone(),
            Ok((fs, created)) => ["ca", "server", "client"]
                .iter()
                .zip(fs.iter())
                .map(|(n, f)| {
                    format!(
                        "{n}: {} {} {} {}",
                        f.key,
                        f.signature,
                        f.validity_text(*created),
                        f.basic_text().split(" CA:").next().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        self.case(
            "tls-cert-common",
            "every generated certificate: RSA 2048, SHA256-RSA, valid from a day ago for a \
             year, critical basic constraints (vic.md §4.3)",
            format!("ca: {COMMON}; server: {COMMON}; client: {COMMON}"),
            observed,
            MACHINE,
        );

        let cases = [
            (
                "tls-cert-ca",
                "the CA: O only (no CN), CA:TRUE, key usage with CertSign, no EKU, no SAN",
                format!(
                    "{orgs}; no CN; basicConstraints critical CA:TRUE; keyUsage critical \
                     digitalSignature,keyEncipherment,keyAgreement,keyCertSign; no EKU; no SAN"
                ),
            ),
            (
                "tls-cert-server",
                "the server certificate: CN = cname (the client IP), IP SAN, ServerAuth, \
                 signed by the CA",
                format!(
                    "{orgs}; CN={ip}; basicConstraints critical CA:FALSE; keyUsage critical \
                     digitalSignature,keyEncipherment,keyAgreement; EKU serverAuth; SAN IP:{ip}; \
                     issued by ca.pem"
                ),
            ),
            (
                "tls-cert-client",
                "the client certificate: O only (no CN), DigitalSignature, ClientAuth, signed \
                 by the CA",
                format!(
                    "{orgs}; no CN; basicConstraints critical CA:FALSE; keyUsage critical \
                     digitalSignature; EKU clientAuth; no SAN; issued by ca.pem"
                ),
            ),
        ];
        for (i, (id, description, expected)) in cases.into_iter().enumerate() {
            let observed = match &facts {
                Err(e) => e.clone(),
                Ok((fs, _)) => render(&fs[i], (i > 0).then_some(&fs[0])),
            };
            self.case(id, description, expected, observed, MACHINE);
        }
    }
}

/// The facts of `ca.pem`, `server-cert.pem` and `cert.pem`.
fn generated_facts(v: &Vch) -> Result<[certs::Facts; 3], String> {
    let f = |n: &str| {
        v.read(n)
            .and_then(|p| certs::facts(&p).map_err(|e| format!("{n}: {e}")))
    };
    Ok([f("ca.pem")?, f("server-cert.pem")?, f("cert.pem")?])
}

/// A certificate's subject, constraints, usages and SAN, and whether `ca` issued it.
fn render(f: &certs::Facts, ca: Option<&certs::Facts>) -> String {
    let mut parts = vec![
        format!("O={}", f.orgs.join(",")),
        f.cn_text(),
        f.basic_text(),
        f.key_usage_text(),
        f.eku_text(),
        f.san_text(),
    ];
    if let Some(ca) = ca {
        parts.push(if f.issued_by(ca) {
            "issued by ca.pem".to_owned()
        } else {
            format!("issuer {}", f.issuer)
        });
    }
    parts.join("; ")
}
