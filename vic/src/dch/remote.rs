//! The DCH's registry traffic: `docker login` (`POST /auth`), `docker push`
//! (`POST /images/{name}/push`) and `docker pull` of an image whose registry the testbed
//! runs, over [`crate::image_transfer`]. The DCH trusts the CAs of the testbed's
//! registries (the post's environment had Harbor's CA in the DCH) and does not verify the
//! registries its `--insecure-registry` options name (plain HTTP when one serves no TLS).

use super::images::Pulled;
use super::{Answer, Dch, error, json_answer};
use crate::image_transfer::{self, Trust, credentials_from_header, error_line, line};
use crate::images::Reference;
use hyper::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;

impl Dch {
    fn trust(&self) -> Trust {
        Trust {
            ca_pems: self.registries.ca_pems(),
            insecure: self.insecure_registries.clone(),
        }
    }

    /// Whether `POST /images/create` for `q` goes to a testbed registry (else the
    /// catalogue answers, as for Docker Hub's images).
    pub(super) fn pulls_from_registry(&self, q: &BTreeMap<String, String>) -> Option<Reference> {
        let r = super::images::pull_reference(q)?;
        let host = r.registry.as_deref()?;
        self.registries.get(host).is_some().then_some(r)
    }

    /// `docker pull` of `r` from its registry into this engine.
    pub(super) async fn pull_remote(&self, r: &Reference, auth: Option<&str>) -> Answer {
        let host = r.registry.clone().unwrap_or_default();
        let target = match image_transfer::target(
            &self.registries,
            &host,
            &self.trust(),
            credentials_from_header(auth),
        ) {
            Ok(t) => t,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        };
        let have = |diff_id: &str| self.store().has_layer(diff_id);
        match image_transfer::pull(&target, r, &have).await {
            Ok((pulled, mut out)) => {
                let canonical = r.canonical();
                let mut store = self.store();
                let same = store
                    .get(&canonical)
                    .is_some_and(|p| p.id == pulled.content.id());
                store.insert(
                    &canonical,
                    Pulled::from_content(pulled.config, pulled.content),
                );
                let status = if same {
                    format!("Status: Image is up to date for {canonical}")
                } else {
                    format!("Status: Downloaded newer image for {canonical}")
                };
                out.push_str(&line(&json!({ "status": status })));
                json_answer(StatusCode::OK, out)
            }
            // dockerd answers a failed pull before streaming with an error status.
            Err(e) => error(status_of(&e), &e),
        }
    }

    /// `POST /images/{name}/push?tag=` with the client's `X-Registry-Auth`.
    pub(super) async fn push(
        &self,
        name: &str,
        q: &BTreeMap<String, String>,
        auth: Option<&str>,
    ) -> Answer {
        let tag = q.get("tag").map(String::as_str).unwrap_or("");
        let text = if tag.is_empty() {
            name.to_owned()
        } else {
            format!("{name}:{tag}")
        };
        let Some(r) = Reference::parse(&text) else {
            return error(StatusCode::BAD_REQUEST, "invalid reference format");
        };
        let images: Vec<(Reference, Pulled)> = if tag.is_empty() {
            self.store()
                .tags_of(&r.repo_name())
                .into_iter()
                .filter_map(|(t, p)| Reference::parse(&t).map(|r| (r, p)))
                .collect()
        } else {
            self.store()
                .get(&r.canonical())
                .cloned()
                .map(|p| vec![(r.clone(), p)])
                .unwrap_or_default()
        };
        let mut out = String::new();
        if images.is_empty() {
            out.push_str(&line(&json!({
                "status": format!("The push refers to a repository [{}]", r.repo_name())
            })));
            out.push_str(&error_line(&format!(
                "An image does not exist locally with the tag: {}",
                r.repo_name()
            )));
            return json_answer(StatusCode::OK, out);
        }
        let Some(host) = r.registry.clone() else {
            // Docker Hub is outside the testbed's closed network.
            let official = if r.repository.contains('/') {
                r.repository.clone()
            } else {
                format!("library/{}", r.repository)
            };
            out.push_str(&line(&json!({
                "status": format!("The push refers to a repository [docker.io/{official}]")
            })));
            out.push_str(&error_line(&image_transfer::no_such_host(
                "registry-1.docker.io",
            )));
            return json_answer(StatusCode::OK, out);
        };
        let target = match image_transfer::target(
            &self.registries,
            &host,
            &self.trust(),
            credentials_from_header(auth),
        ) {
            Ok(t) => t,
            Err(e) => {
                out.push_str(&error_line(&e));
                return json_answer(StatusCode::OK, out);
            }
        };
        for (r, p) in images {
            match image_transfer::push(&target, &r, &p.content).await {
                Ok(lines) => out.push_str(&lines),
                Err(lines) => {
                    out.push_str(&lines);
                    break;
                }
            }
        }
        json_answer(StatusCode::OK, out)
    }

    /// `POST /auth` (`docker login`): the credentials are checked against the registry
    /// the body names; dockerd keeps nothing (the CLI stores them and sends them with
    /// each push and pull).
    pub(super) async fn login(&self, body: &[u8]) -> Answer {
        let Some(creds) = image_transfer::credentials_from_json(body) else {
            return error(StatusCode::BAD_REQUEST, "Error: Username is required");
        };
        let Some(host) = image_transfer::server_address(body) else {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &image_transfer::no_such_host("registry-1.docker.io"),
            );
        };
        let target =
            match image_transfer::target(&self.registries, &host, &self.trust(), Some(creds)) {
                Ok(t) => t,
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e),
            };
        match image_transfer::login(&target).await {
            Ok(()) => json_answer(
                StatusCode::OK,
                json!({"IdentityToken": "", "Status": "Login Succeeded"}).to_string(),
            ),
            Err(e) => error(status_of(&e), &e),
        }
    }
}

/// dockerd's status for a registry failure: 401 for refused credentials, 404 for what the
/// registry does not have, 500 otherwise.
fn status_of(message: &str) -> StatusCode {
    if message.starts_with("unauthorized") || message.contains("authentication required") {
        StatusCode::UNAUTHORIZED
    } else if message.contains("not found") {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}
