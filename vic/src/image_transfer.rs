//! Pull and push between an engine's image store and a testbed registry, as dockerd's
//! distribution code streams them: the registry named by a reference is resolved through
//! [`RegistryHosts`] (no DNS), spoken to with [`crate::distribution::Client`], and the
//! progress is the JSON lines the docker CLI prints (`Pulling fs layer`, `Pushed`,
//! `<tag>: digest: sha256:… size: N`). Both engines use it: the VCH endpoint (with VIC's
//! registry policy deciding trust) and the DCH's dockerd.
//!
//! Core types: [`Target`] (where and how to reach a registry), [`Pulled`] (what a pull
//! brought: content and config), functions [`pull`] and [`push`].

use crate::distribution::{
    Client, Credentials, DistributionError, Endpoint, PushEvent, PushImage, Transport,
};
use crate::image_content::{ImageContent, LayerBlob};
use crate::images::{ImageConfig, Reference};
use crate::registry_hosts::RegistryHosts;
use serde_json::{Value as Json, json};

/// How to reach one registry.
#[derive(Clone, Debug)]
pub struct Target {
    /// The endpoint (address, host name, TLS roots or plain HTTP).
    pub endpoint: Endpoint,
    /// Credentials (`X-Registry-Auth`, a `docker login`).
    pub credentials: Option<Credentials>,
}

/// How an engine trusts registries.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// CA certificates (PEM) the engine trusts for registries.
    pub ca_pems: Vec<String>,
    /// Registry hosts the engine does not verify (`--insecure-registry`): plain HTTP when
    /// they serve no TLS.
    pub insecure: Vec<String>,
}

/// `Get https://<host>/v2/: dial tcp: lookup <host>: no such host`, dockerd's words for a
/// registry name nothing resolves.
pub fn no_such_host(host: &str) -> String {
    let host = hub_alias(host);
    format!("Get https://{host}/v2/: dial tcp: lookup {host}: no such host")
}

/// The target for registry `host` of a reference: resolved through `hosts`; unverified
/// (or plain HTTP) when `trust` names it insecure, else TLS with `trust`'s CAs. `Err` is dockerd's text
/// for a name that does not resolve.
pub fn target(
    hosts: &RegistryHosts,
    host: &str,
    trust: &Trust,
    credentials: Option<Credentials>,
) -> Result<Target, String> {
    let resolved = hosts.get(host).ok_or_else(|| no_such_host(host))?;
    let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let insecure = trust
        .insecure
        .iter()
        .any(|i| i.eq_ignore_ascii_case(host) || i.eq_ignore_ascii_case(bare));
    let transport = if insecure {
        // Docker skips verification for an insecure registry that serves TLS: trusting
        // that registry's own CA stands for it; plain HTTP otherwise.
        match &resolved.ca_pem {
            Some(pem) => Transport::Tls {
                roots: crate::tls::pem::certificates(pem.as_bytes())
                    .into_iter()
                    .map(rustls::pki_types::CertificateDer::from)
                    .collect(),
            },
            None => Transport::Plain,
        }
    } else {
        Transport::Tls {
            roots: trust
                .ca_pems
                .iter()
                .flat_map(|p| crate::tls::pem::certificates(p.as_bytes()))
                .map(rustls::pki_types::CertificateDer::from)
                .collect(),
        }
    };
    Ok(Target {
        endpoint: Endpoint {
            host: host.to_owned(),
            addr: resolved.addr,
            transport,
        },
        credentials,
    })
}

/// One progress line (`\r\n`-terminated JSON, as dockerd streams).
pub fn line(v: &Json) -> String {
    format!("{v}\r\n")
}

/// A stream error line: `{"errorDetail": {"message": m}, "error": m}`.
pub fn error_line(message: &str) -> String {
    line(&json!({"errorDetail": {"message": message}, "error": message}))
}

/// What a pull brought.
#[derive(Clone, Debug)]
pub struct Pulled {
    /// The image's content (config and layers, digests checked).
    pub content: ImageContent,
    /// Its config as the engines keep one.
    pub config: ImageConfig,
    /// The manifest digest (`Digest: sha256:…`).
    pub manifest_digest: String,
}

/// Pulls `r` (whose registry is `target`'s) and returns the image with the progress lines
/// dockerd prints before its final status line; `Err` is the stream's error text.
/// `have_id` tells whether the engine already has an image id (its layers then show
/// `Already exists`).
pub async fn pull(
    target: &Target,
    r: &Reference,
    have_layer: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(Pulled, String), String> {
    let client = Client::new(target.endpoint.clone(), target.credentials.clone());
    let image = client
        .pull(&r.repository, &r.tag)
        .await
        .map_err(|e| describe(&e))?;
    let layers: Vec<bytes::Bytes> = image.layers.iter().map(|(_, b)| b.clone()).collect();
    // Inflating and hashing the layers is CPU work: off the I/O threads.
    let config_json = image.config.clone();
    let content =
        tokio::task::spawn_blocking(move || ImageContent::from_pulled(config_json, layers))
            .await
            .map_err(|e| format!("checking the pulled layers: {e}"))?
            .map_err(|e| e.to_string())?;
    let config = content
        .image_config(&r.repo_name(), &r.tag)
        .map_err(|e| e.to_string())?;
    let out = pull_progress(
        &r.repository,
        &r.tag,
        &content,
        &image.manifest_digest,
        false,
        have_layer,
    );
    Ok((
        Pulled {
            content,
            config,
            manifest_digest: image.manifest_digest,
        },
        out,
    ))
}

/// The lines dockerd streams for a pull of `content` (as `repository:tag`) before its final
/// status line: `Pulling from`, each layer's progress by its blob digest (`Already exists`
/// when `have_layer` knows its diff id; none when the engine has the image `up_to_date`),
/// then `Digest: <manifest digest>`. Every pull — from a testbed registry or the catalogue,
/// into a VCH or a DCH — prints these.
pub fn pull_progress(
    repository: &str,
    tag: &str,
    content: &ImageContent,
    manifest_digest: &str,
    up_to_date: bool,
    have_layer: &(dyn Fn(&str) -> bool + Sync),
) -> String {
    let mut out = line(&json!({"status": format!("Pulling from {repository}"), "id": tag}));
    let layers = if up_to_date {
        &[][..]
    } else {
        &content.layers[..]
    };
    for l in layers {
        let id = crate::build::short_id(&l.digest);
        if have_layer(&l.diff_id) {
            out.push_str(&line(
                &json!({"status": "Already exists", "progressDetail": {}, "id": id}),
            ));
            continue;
        }
        for s in [
            "Pulling fs layer",
            "Verifying Checksum",
            "Download complete",
            "Pull complete",
        ] {
            out.push_str(&line(&json!({"status": s, "progressDetail": {}, "id": id})));
        }
    }
    out.push_str(&line(
        &json!({"status": format!("Digest: {manifest_digest}")}),
    ));
    out
}

/// Pushes `content` to `r`'s repository under `r.tag`, returning the progress lines
/// dockerd prints (from `The push refers to a repository` to the `aux` digest line); on
/// failure the lines so far followed by the error line.
pub async fn push(
    target: &Target,
    r: &Reference,
    content: &ImageContent,
) -> Result<String, String> {
    let mut out = line(&json!({
        "status": format!("The push refers to a repository [{}]", r.repo_name())
    }));
    // dockerd lists the layers top first, named by their diff ids.
    let by_digest: Vec<&LayerBlob> = content.layers.iter().rev().collect();
    for l in &by_digest {
        out.push_str(&line(
            &json!({"status": "Preparing", "progressDetail": {}, "id": crate::build::short_id(&l.diff_id)}),
        ));
    }
    let image = PushImage {
        config: content.config_json.clone(),
        layers: content.layers.iter().map(|l| l.gzip.clone()).collect(),
    };
    let client = Client::new(target.endpoint.clone(), target.credentials.clone());
    let diff_of = |digest: &str| -> String {
        content
            .layers
            .iter()
            .find(|l| l.digest == digest)
            .map_or_else(
                || crate::build::short_id(digest).to_owned(),
                |l| crate::build::short_id(&l.diff_id).to_owned(),
            )
    };
    let mut events: Vec<String> = Vec::new();
    let mut progress = |e: PushEvent| {
        let (status, digest) = match &e {
            PushEvent::Exists { digest } => ("Layer already exists", digest),
            PushEvent::Pushed { digest } => ("Pushed", digest),
            _ => return,
        };
        // The config blob is pushed too but not shown.
        if content.layers.iter().any(|l| &l.digest == digest) {
            events.push(line(
                &json!({"status": status, "progressDetail": {}, "id": diff_of(digest)}),
            ));
        }
    };
    let result = client
        .push(&r.repository, &r.tag, &image, &mut progress)
        .await;
    for e in events {
        out.push_str(&e);
    }
    match result {
        Ok(pushed) => {
            out.push_str(&line(&json!({
                "status": format!("{}: digest: {} size: {}", r.tag, pushed.digest, pushed.size)
            })));
            out.push_str(&line(&json!({
                "progressDetail": {},
                "aux": {"Tag": r.tag, "Digest": pushed.digest, "Size": pushed.size},
            })));
            Ok(out)
        }
        Err(e) => {
            out.push_str(&error_line(&describe(&e)));
            Err(out)
        }
    }
}

/// The registry host dockerd 1.13 names for Docker Hub's aliases (`index.docker.io`,
/// `docker.io`, the CLI's `https://index.docker.io/v1/` server address).
pub fn hub_alias(host: &str) -> &str {
    match host {
        "index.docker.io" | "docker.io" | "registry-1.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

/// Checks `credentials` against the registry (`docker login`): `Err` is dockerd's text.
pub async fn login(target: &Target) -> Result<(), String> {
    let client = Client::new(target.endpoint.clone(), target.credentials.clone());
    client.ping().await.map_err(|e| describe(&e))
}

/// The text dockerd shows for a registry failure.
pub fn describe(e: &DistributionError) -> String {
    e.to_string()
}

/// Credentials from an `X-Registry-Auth` header (base64url JSON with `username` and
/// `password`, as the docker CLI sends them); `None` when absent or without a user.
pub fn credentials_from_header(value: Option<&str>) -> Option<Credentials> {
    use base64::Engine as _;
    let text = value?.trim();
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let raw = engines.iter().find_map(|e| e.decode(text).ok())?;
    credentials_from_json(&raw)
}

/// Credentials from an auth config JSON (`POST /auth`'s body).
pub fn credentials_from_json(raw: &[u8]) -> Option<Credentials> {
    let v: Json = serde_json::from_slice(raw).ok()?;
    let username = v.get("username").and_then(Json::as_str)?.to_owned();
    if username.is_empty() {
        return None;
    }
    let password = v
        .get("password")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    Some(Credentials { username, password })
}

/// The server address of an auth config JSON (`registry.corp.local`), scheme and path
/// dropped.
pub fn server_address(raw: &[u8]) -> Option<String> {
    let v: Json = serde_json::from_slice(raw).ok()?;
    let s = v.get("serveraddress").and_then(Json::as_str)?;
    let s = s
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = s.split('/').next().unwrap_or_default();
    (!host.is_empty()).then(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_headers_decode_as_the_cli_sends_them() {
        use base64::Engine as _;
        let json = br#"{"username":"dev","password":"s3cret","serveraddress":"https://registry.corp.local/v2/"}"#;
        let header = base64::engine::general_purpose::URL_SAFE.encode(json);
        let c = credentials_from_header(Some(&header)).expect("credentials");
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("dev", "s3cret")
        );
        assert_eq!(server_address(json).as_deref(), Some("registry.corp.local"));
        assert!(
            credentials_from_header(Some("e30=")).is_none(),
            "{{}} has no user"
        );
        assert!(credentials_from_header(Some("!!")).is_none());
        assert!(credentials_from_header(None).is_none());
    }

    #[test]
    fn names_nothing_resolves_get_dockerds_words() {
        let hosts = RegistryHosts::default();
        let err = target(&hosts, "nowhere.local", &Trust::default(), None).expect_err("unresolved");
        assert_eq!(
            err,
            "Get https://nowhere.local/v2/: dial tcp: lookup nowhere.local: no such host"
        );
    }
}
