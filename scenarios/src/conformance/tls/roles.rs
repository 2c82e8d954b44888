//! Mutual TLS in every client role: the docker CLI with the printed command and environment,
//! without a client certificate, with foreign, expired, impostor and misused certificates,
//! and plain HTTP; and the endpoint's minimum TLS version.

use std::net::SocketAddr;

use time::OffsetDateTime;

use super::vch::{Deployed, deployed, verify_args, with_info, write};
use super::{
    BAD_SIGNATURE, CLI, ENGINE, EXPIRED, Material, NO_CERT, NOT_CLIENT_CERT, PLAIN_TO_TLS, Run,
    UNKNOWN_SERVER_CA, certs, probe, refused,
};

impl Run<'_> {
    pub(super) async fn mutual_clients(
        &mut self,
        vch: &Deployed,
        material: &Result<Material, String>,
    ) {
        let ok = "ok: tls-mutual".to_owned();
        let foreign = || material.as_ref().map_err(Clone::clone);

        let observed = self.printed_command_works(vch).await;
        self.case(
            "tls-mutual-cli-client-cert",
            "docker with the printed --tlsverify command (generated CA and client certificate) \
             reaches the VCH",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = match vch {
            Err(e) => e.clone(),
            Ok(v) => self.docker.works(&with_info(Vec::new()), &v.env()).await,
        };
        self.case(
            "tls-mutual-cli-env",
            "docker with the printed environment (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, \
             DOCKER_HOST) reaches the VCH",
            ok.clone(),
            observed,
            CLI,
        );

        let observed = self
            .cli_refused(vch, NO_CERT, |v| {
                Ok(verify_args(v.ip, &v.file("ca.pem"), None))
            })
            .await;
        self.case(
            "tls-mutual-cli-no-client-cert",
            "docker --tlsverify without a client certificate is refused: the server requires one",
            refused(NO_CERT),
            observed,
            CLI,
        );

        let observed = self
            .cli_refused(vch, NO_CERT, |v| {
                let m = foreign()?;
                let client = Some((m.foreign_cert.as_str(), m.foreign_key.as_str()));
                Ok(verify_args(v.ip, &v.file("ca.pem"), client))
            })
            .await;
        self.case(
            "tls-mutual-cli-foreign-ca",
            "a client certificate from a foreign CA is refused (the server only accepts its own \
             CA, so the CLI has no certificate to offer)",
            refused(NO_CERT),
            observed,
            CLI,
        );

        self.own_ca_clients(vch, &ok).await;

        let observed = self
            .cli_refused(vch, NOT_CLIENT_CERT, |v| {
                let (c, k) = (v.file("server-cert.pem"), v.file("server-key.pem"));
                Ok(verify_args(v.ip, &v.file("ca.pem"), Some((&c, &k))))
            })
            .await;
        self.case(
            "tls-mutual-cli-server-cert-as-client",
            "the server certificate (ServerAuth only) presented as a client certificate is refused",
            refused(NOT_CLIENT_CERT),
            observed,
            CLI,
        );

        let observed = self
            .cli_refused(vch, UNKNOWN_SERVER_CA, |v| {
                let m = foreign()?;
                let (c, k) = (v.file("cert.pem"), v.file("key.pem"));
                Ok(verify_args(v.ip, &m.foreign_ca, Some((&c, &k))))
            })
            .await;
        self.case(
            "tls-mutual-cli-wrong-server-ca",
            "docker --tlsverify with another CA rejects the VCH's server certificate",
            refused(UNKNOWN_SERVER_CA),
            observed,
            CLI,
        );

        let observed = self.plain_http_refused(vch).await;
        self.case(
            "tls-mutual-cli-plain-http",
            "plain HTTP to the TLS port fails",
            refused(PLAIN_TO_TLS),
            observed,
            CLI,
        );

        let observed = tls_versions(vch).await;
        self.case(
            "tls-min-version",
            "the endpoint's minimum is TLS 1.2: a TLS 1.1 ClientHello gets a protocol_version \
             alert, a TLS 1.2-only client is served (vic.md §4.1)",
            "TLS 1.1 hello: alert protocol_version; TLS 1.2-only client: TLSv1.2, HTTP/1.1 200 OK",
            observed,
            ENGINE,
        );
    }

    /// Client certificates made with the VCH's own CA key (ca-key.pem), and one made with
    /// another key under the CA's name.
    async fn own_ca_clients(&mut self, vch: &Deployed, ok: &str) {
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let roles = [
            (
                "tls-mutual-cli-own-ca-fresh",
                "a new client certificate signed with the generated ca-key.pem is accepted",
                None,
                "fresh",
                now - day,
                now + day * 30,
                true,
            ),
            (
                "tls-mutual-cli-expired",
                "an expired client certificate signed by the VCH's own CA is refused",
                Some(EXPIRED),
                "expired",
                now - day * 30,
                now - day,
                true,
            ),
            (
                "tls-mutual-cli-impostor-ca",
                "a client certificate carrying the VCH CA's name but signed with another key is \
                 refused",
                Some(BAD_SIGNATURE),
                "impostor",
                now - day,
                now + day * 30,
                false,
            ),
        ];
        for (id, description, refusal, tag, nb, na, genuine) in roles {
            let observed = self
                .cli(vch, refusal, |v| {
                    let key = if genuine {
                        v.read("ca-key.pem")
                    } else {
                        certs::new_rsa_key_pem()
                    };
                    let pair = certs::client_under(&v.read("ca.pem")?, &key?, nb, na)?;
                    let cert = write(&self.clients.join(format!("{tag}-cert.pem")), &pair.cert)?;
                    let key = write(&self.clients.join(format!("{tag}-key.pem")), &pair.key)?;
                    Ok(verify_args(v.ip, &v.file("ca.pem"), Some((&cert, &key))))
                })
                .await;
            let expected = refusal.map_or_else(|| ok.to_owned(), refused);
            self.case(id, description, expected, observed, CLI);
        }
    }
}

/// What a TLS 1.1-only hello and a TLS 1.2-only client get from the VCH's port 2376.
async fn tls_versions(vch: &Deployed) -> String {
    let v = match deployed(vch) {
        Err(e) => return e,
        Ok(v) => v,
    };
    let addr = SocketAddr::new(v.ip, 2376);
    let old = probe::tls11_hello(addr)
        .await
        .unwrap_or_else(|e| format!("probe failed: {e}"));
    let files = (|| {
        Ok::<_, String>(probe::ClientFiles {
            ca_pem: v.read("ca.pem")?,
            cert_pem: v.read("cert.pem")?,
            key_pem: v.read("key.pem")?,
        })
    })();
    let new = match files {
        Err(e) => e,
        Ok(files) => probe::tls12_version(addr, files)
            .await
            .unwrap_or_else(|e| format!("failed: {e}")),
    };
    format!("TLS 1.1 hello: {old}; TLS 1.2-only client: {new}")
}
