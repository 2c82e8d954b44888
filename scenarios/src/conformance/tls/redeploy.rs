//! Certificate selection errors (no cname, a non-empty cert path, another cname against an
//! existing cert path) and reuse of the mutual VCH's certificates on redeploy.

use std::fs;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use super::vch::{Deployed, observe, snapshot, verify_args};
use super::{CLI, MACHINE, MUTUAL_FILES, Run, probe};

/// VIC's hints when a tlsverify create has no cname (vic.md §4.2).
const NO_CNAME_HINTS: [&str; 6] = [
    "Common Name must be provided when generating certificates for client authentication:",
    "--tls-cname=<FQDN or static IP>",
    "--tls-cname=<*.yourdomain.com>",
    "--no-tlsverify",
    "--no-tls",
    "cannot continue: unable to generate certificates",
];

impl Run<'_> {
    pub(super) async fn selection(&mut self, mutual_dir: &Path, mutual_ip: Ipv4Addr) {
        let dir = self.root.join("nocname");
        let (observed, lines) = self
            .failing_create("tls-nocname", &dir, &[], str::to_owned)
            .await;
        let hints = NO_CNAME_HINTS;
        let printed = match lines.iter().position(|l| l == hints[0]) {
            Some(i) if lines.get(i..i + hints.len()).is_some_and(|w| w == hints) => "hints printed",
            _ => "hints missing",
        };
        self.case(
            "tls-no-cname",
            "a tlsverify create with no cname and no static IP fails after printing VIC's hints, \
             before any vSphere connection; nothing is written (VIC \"may\" have created the \
             cert path already: must-get-right #1; vicbed validates before writing anything)",
            "failed: provide Common Name for server certificate; VCH listed: no; cert path: \
             absent; hints printed",
            format!("{observed}; {printed}"),
            MACHINE,
        );

        let dir = self.root.join("nonempty");
        let observed = match fs::create_dir_all(&dir)
            .and_then(|()| fs::write(dir.join("README"), "not a certificate\n"))
        {
            Err(e) => format!("cannot prepare {}: {e}", dir.display()),
            Ok(()) => {
                let extra = vec!["--tls-cname".to_owned(), "127.0.1.199".to_owned()];
                self.failing_create("tls-nonempty", &dir, &extra, str::to_owned)
                    .await
                    .0
            }
        };
        self.case(
            "tls-cert-dir-not-empty",
            "generating into a non-empty cert path is refused (vic.md §4.2 step 6)",
            format!(
                "failed: Specified directory to store certificates is not empty. Specify a new \
                 path in which to store generated certificates using --tls-cert-path or remove \
                 the contents of \"{}\" and run vic-machine again.; VCH listed: no; cert path: \
                 README",
                dir.display()
            ),
            observed,
            MACHINE,
        );

        // Another cname against the mutual VCH's cert path.
        let other = if mutual_ip.octets()[3] == 199 {
            "127.0.1.198"
        } else {
            "127.0.1.199"
        };
        let names = MUTUAL_FILES.map(|(n, _)| n);
        let before = snapshot(mutual_dir, &names);
        let extra = vec!["--tls-cname".to_owned(), other.to_owned()];
        let (observed, lines) = self
            .failing_create("tls-cname", mutual_dir, &extra, str::to_owned)
            .await;
        let logged =
            format!("Provided cname does not match that in existing server certificate: {other}");
        let logged = if lines.contains(&logged) {
            logged
        } else {
            format!("no {logged:?} line")
        };
        let unchanged =
            if snapshot(mutual_dir, &names) == before && before.values().all(Option::is_some) {
                "files unchanged"
            } else {
                "files changed or missing"
            };
        self.case(
            "tls-cname-mismatch",
            "redeploying into an existing cert path with another --tls-cname fails with VIC's \
             messages and leaves the certificates alone (vic.md §4.2 step 5.2)",
            format!(
                "failed: cname option doesn't match existing server certificate in certificate \
                 path {}; VCH listed: no; cert path: ca-key.pem ca.pem cert.pem key.pem \
                 server-cert.pem server-key.pem tls-mutual.env; Provided cname does not match \
                 that in existing server certificate: {other}; files unchanged",
                mutual_dir.display()
            ),
            format!("{observed}; {logged}; {unchanged}"),
            MACHINE,
        );
    }

    /// Deletes the mutual VCH and creates it again into the same cert path.
    async fn redeploy(&mut self, old: Deployed, ip: Ipv4Addr, dir: &Path) -> Deployed {
        let v = old?;
        self.delete(&v.name).await?;
        // The old endpoint must be gone before its address is bound again.
        for _ in 0..100 {
            if probe::port_state(v.ip, 2376).await == "closed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.create("tls-mutual", Some(ip), dir, &[]).await
    }

    pub(super) async fn reuse(&mut self, old: Deployed, ip: Ipv4Addr, dir: &Path) -> Deployed {
        let names = MUTUAL_FILES.map(|(n, _)| n);
        let before = snapshot(dir, &names);
        // The user's copy of the client files, as handed out after the first create.
        let copy = self.root.join("user-copy");
        let kept = fs::create_dir_all(&copy)
            .and_then(|()| {
                for f in ["ca.pem", "cert.pem", "key.pem"] {
                    fs::copy(dir.join(f), copy.join(f))?;
                }
                Ok(())
            })
            .map_err(|e| format!("cannot copy the client files: {e}"));
        let redeployed = self.redeploy(old, ip, dir).await;
        self.keep_log("tls-mutual-redeploy.log", &redeployed);
        let d = dir.display();
        let loaded = [
            format!("Loaded server certificate {d}/server-cert.pem"),
            format!("Loaded CA with default name from certificate path {d}"),
            format!("Loaded client certificate with default name from certificate path {d}"),
        ];
        let observed = observe(&redeployed, |v| {
            let mut parts: Vec<String> = loaded
                .iter()
                .map(|l| {
                    if v.has_line(l) {
                        l.clone()
                    } else {
                        format!("missing {l:?}")
                    }
                })
                .collect();
            let generated = v.generating().len();
            parts.push(if generated == 0 {
                "nothing generated".to_owned()
            } else {
                format!("{generated} Generating lines")
            });
            parts.join(" | ")
        });
        self.case(
            "tls-reuse-log",
            "a redeploy with the same cert path loads the server certificate, CA and client \
             certificate and generates nothing (vic.md §4.2, reuse on redeploy)",
            format!(
                "Loaded server certificate {d}/server-cert.pem | Loaded CA with default name from \
                 certificate path {d} | Loaded client certificate with default name from \
                 certificate path {d} | nothing generated"
            ),
            observed,
            MACHINE,
        );

        let observed = observe(&redeployed, |_| {
            let after = snapshot(dir, &names);
            let changed: Vec<&str> = names
                .iter()
                .filter(|n| {
                    before.get(**n) != after.get(**n) || after.get(**n).is_none_or(Option::is_none)
                })
                .copied()
                .collect();
            if changed.is_empty() {
                "all unchanged".to_owned()
            } else {
                format!("changed or missing: {}", changed.join(" "))
            }
        });
        self.case(
            "tls-reuse-files-unchanged",
            "the redeploy leaves every certificate and key byte for byte as it was",
            "all unchanged",
            observed,
            MACHINE,
        );

        let observed = self
            .cli_works(&redeployed, |v| {
                kept.clone()?;
                let f = |n: &str| copy.join(n).display().to_string();
                let (ca, c, k) = (f("ca.pem"), f("cert.pem"), f("key.pem"));
                Ok(verify_args(v.ip, &ca, Some((&c, &k))))
            })
            .await;
        self.case(
            "tls-reuse-old-client-cert",
            "the client certificate handed out before the redeploy still works with the \
             redeployed VCH",
            "ok: tls-mutual",
            observed,
            CLI,
        );
        redeployed
    }
}
