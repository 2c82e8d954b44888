//! The other TLS modes: `--no-tlsverify` (server-only TLS) and `--no-tls` (plain HTTP), what
//! vic-machine printed and wrote for each and how the docker CLI fares; and the testbed's own
//! Docker client following every mode's printed hints.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use super::vch::{
    Deployed, Vch, deployed, host, listing, modes_line, observe, verify_args, with_info,
};
use super::{
    CLI, CLIENT, ENGINE, MACHINE, Material, PLAIN_TO_TLS, Run, TLS_TO_PLAIN, WARN_NO_TLS,
    WARN_NO_VERIFY, certs, probe, refused,
};

impl Run<'_> {
    pub(super) async fn server_only(&mut self, vch: &Deployed, ip: Ipv4Addr, mutual: &Deployed) {
        let ok = "ok: tls-server".to_owned();
        self.port_case(
            (
                "tls-serveronly-port",
                "--no-tlsverify serves TLS on 2376 only",
            ),
            vch,
            ip,
            (2376, 2375),
        )
        .await;

        let observed = observe(vch, |v| {
            // vicbed adds `--tlscacert=<server-cert.pem>` to VIC's `--tls` hint (a current CLI
            // needs a CA file even without verification); compared without it.
            let hint = v
                .after("Connect to docker:")
                .split_whitespace()
                .filter(|w| !w.starts_with("--tlscacert="))
                .collect::<Vec<_>>()
                .join(" ");
            hint_line(v, WARN_NO_VERIFY, &hint)
        });
        self.case(
            "tls-serveronly-hint",
            "--no-tlsverify: the warning, no DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, and a `--tls` \
             docker command (vic.md §1.3, §4.2 step 7)",
            format!(
                "{WARN_NO_VERIFY} | DOCKER_HOST={ip}:2376 COMPOSE_TLS_VERSION=TLSv1_2 | \
                 docker -H {ip}:2376 --tls info"
            ),
            observed,
            MACHINE,
        );

        let observed = observe(vch, |v| {
            listing(&v.dir).map_or_else(|e| e, |l| modes_line(&v.dir, &l))
        });
        self.case(
            "tls-serveronly-files",
            "--no-tlsverify generates only a server pair (no CA, no client certificate) and the \
             env file",
            "dir 0700, server-cert.pem 0644, server-key.pem 0600, tls-server.env 0644",
            observed,
            MACHINE,
        );

        let observed = observe(vch, |v| {
            v.read("server-cert.pem")
                .and_then(|p| certs::facts(&p))
                .map_or_else(|e| e, |f| self_signed_line(&f))
        });
        self.case(
            "tls-serveronly-cert",
            "the --no-tlsverify server certificate is self-signed with O=default and CN = cname \
             (vic.md §4.3)",
            format!(
                "self-signed; O=default; CN={ip}; RSA 2048 sha256WithRSA; keyUsage critical \
                 digitalSignature,keyEncipherment,keyAgreement; EKU serverAuth; SAN IP:{ip}"
            ),
            observed,
            MACHINE,
        );

        let observed = self.printed_command_works(vch).await;
        self.case(
            "tls-serveronly-cli-tls",
            "docker --tls (the printed command) reaches the VCH without a client certificate",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = self
            .cli_works(vch, |v| {
                Ok(verify_args(v.ip, &v.file("server-cert.pem"), None))
            })
            .await;
        self.case(
            "tls-serveronly-cli-tlsverify",
            "docker --tlsverify against the self-signed server certificate works without a \
             client certificate",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = self
            .cli_works(vch, |v| {
                let m = mutual.as_ref().map_err(Clone::clone)?;
                let mut a = host(v.ip, 2376);
                a.push("--tls".into());
                a.push(format!("--tlscacert={}", v.file("server-cert.pem")));
                a.push(format!("--tlscert={}", m.file("cert.pem")));
                a.push(format!("--tlskey={}", m.file("key.pem")));
                Ok(with_info(a))
            })
            .await;
        self.case(
            "tls-serveronly-cli-client-cert",
            "docker --tls with a client certificate (another VCH's) still works: none is requested",
            ok,
            observed,
            CLI,
        );

        let observed = self.plain_http_refused(vch).await;
        self.case(
            "tls-serveronly-cli-plain-http",
            "plain HTTP to the --no-tlsverify port fails",
            refused(PLAIN_TO_TLS),
            observed,
            CLI,
        );
    }

    pub(super) async fn plain(
        &mut self,
        vch: &Deployed,
        ip: Ipv4Addr,
        dir: &Path,
        material: &Result<Material, String>,
    ) {
        self.port_case(
            ("tls-notls-port", "--no-tls serves plain HTTP on 2375 only"),
            vch,
            ip,
            (2375, 2376),
        )
        .await;

        let observed = observe(vch, |v| {
            hint_line(v, WARN_NO_TLS, &v.after("Connect to docker:"))
        });
        self.case(
            "tls-notls-hint",
            "--no-tls: the insecurity warning, DOCKER_HOST on 2375 and a plain docker command \
             (vic.md §1.3, §4.2 step 2)",
            format!(
                "{WARN_NO_TLS} | DOCKER_HOST={ip}:2375 COMPOSE_TLS_VERSION=TLSv1_2 | \
                 docker -H {ip}:2375 info"
            ),
            observed,
            MACHINE,
        );

        let observed = observe(vch, |_| {
            if dir.exists() {
                listing(dir).map_or_else(|e| e, |l| format!("cert path holds: {}", l.join(" ")))
            } else {
                "cert path absent".to_owned()
            }
        });
        self.case(
            "tls-notls-no-files",
            "--no-tls writes no certificate and, the cert path not existing, no env file",
            "cert path absent",
            observed,
            MACHINE,
        );

        let observed = self.printed_command_works(vch).await;
        self.case(
            "tls-notls-cli-plain",
            "docker over plain HTTP (the printed command) reaches a --no-tls VCH",
            "ok: tls-plain",
            observed,
            CLI,
        );

        let observed = self
            .cli_refused(vch, TLS_TO_PLAIN, |v| {
                let m = material.as_ref().map_err(Clone::clone)?;
                // The CLI needs a CA file even for --tls without verification.
                let mut a = host(v.ip, 2375);
                a.push("--tls".into());
                a.push(format!("--tlscacert={}", m.foreign_ca));
                Ok(with_info(a))
            })
            .await;
        self.case(
            "tls-notls-cli-tls",
            "docker --tls to the plain-HTTP port fails",
            refused(TLS_TO_PLAIN),
            observed,
            CLI,
        );

        let observed = host_headers(vch).await;
        self.case(
            "tls-notls-host-header",
            "the plain-HTTP endpoint refuses a Host header that is not its address (vic.md §4.1)",
            format!(
                "Host vicbed.invalid:2375: 500 invalid host header from <client> to requested \
                 host vicbed.invalid:2375; Host {ip}:2375: 200"
            ),
            observed,
            ENGINE,
        );
    }

    /// `vic::engine::client`, configured from each VCH's printed docker options, pings it.
    pub(super) async fn rust_client(&mut self, vchs: &[&Deployed; 3]) {
        let mut parts = Vec::new();
        for (label, vch) in ["mutual", "server-only", "plain"].iter().zip(vchs) {
            let outcome = match vch {
                Err(e) => e.clone(),
                Ok(v) => match vic::engine::client::GlobalOptions::from_args(&v.docker_args)
                    .map_err(|e| e.to_string())
                    .and_then(|g| {
                        vic::engine::client::DockerClient::new(&g).map_err(|e| e.to_string())
                    }) {
                    Err(e) => format!("no client: {e}"),
                    Ok(c) => match c.ping().await {
                        Ok(()) => "ok".to_owned(),
                        Err(e) => format!("ping failed: {e}"),
                    },
                },
            };
            parts.push(format!("{label}: {outcome}"));
        }
        self.case(
            "tls-client-printed-hints",
            "vic::engine::client, following each mode's printed docker options, reaches the VCH",
            "mutual: ok; server-only: ok; plain: ok",
            parts.join("; "),
            CLIENT,
        );
    }
}

/// `<warning> | <environment line> | <docker command>`.
fn hint_line(v: &Vch, warning: &str, command: &str) -> String {
    format!(
        "{} | {} | {command}",
        v.warning(warning),
        v.after("Docker environment variables:")
    )
}

/// `self-signed; O=…; CN=…; <key> <signature>; <key usage>; <EKU>; <SAN>`.
fn self_signed_line(f: &certs::Facts) -> String {
    format!(
        "{}; O={}; {}; {} {}; {}; {}; {}",
        if f.issuer == f.subject {
            "self-signed"
        } else {
            "issued by another"
        },
        f.orgs.join(","),
        f.cn_text(),
        f.key,
        f.signature,
        f.key_usage_text(),
        f.eku_text(),
        f.san_text()
    )
}

/// What the plain-HTTP port answers to a foreign `Host` header and to its own address.
async fn host_headers(vch: &Deployed) -> String {
    let v = match deployed(vch) {
        Err(e) => return e,
        Ok(v) => v,
    };
    let addr = SocketAddr::new(v.ip, 2375);
    let foreign = match probe::plain_get(addr, "vicbed.invalid:2375".into()).await {
        Err(e) => e,
        Ok((code, body)) => format!("{code} {}", host_message(&body)),
    };
    let own = match probe::plain_get(addr, format!("{}:2375", v.ip)).await {
        Err(e) => e,
        Ok((code, _)) => code.to_string(),
    };
    format!(
        "Host vicbed.invalid:2375: {foreign}; Host {}:2375: {own}",
        v.ip
    )
}

/// `invalid host header from <client> to requested host H` from an error body.
fn host_message(body: &str) -> String {
    let Some(start) = body.find("invalid host header from ") else {
        return format!("body {:?}", body.trim());
    };
    let msg = &body[start..];
    let msg = msg.split(['"', '\n']).next().unwrap_or(msg);
    match msg
        .strip_prefix("invalid host header from ")
        .and_then(|r| r.split_once(" to requested host "))
    {
        Some((_, host)) => format!("invalid host header from <client> to requested host {host}"),
        None => msg.to_owned(),
    }
}
