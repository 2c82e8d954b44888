//! Pulling an image: the manifest by tag or digest (Docker schema 2 or OCI; both asked for
//! in `Accept`), its digest checked against the reference (by digest) or the registry's
//! `Docker-Content-Digest` (by tag); then the config blob and each layer blob, each read
//! bounded by its declared size (itself bounded) and checked against its digest and size.
//! Refusals of the manifest are translated as dockerd 1.13 translates them
//! (`TranslatePullError`): `manifest for <name>:<tag> not found`, `repository <name> not
//! found: does not exist or no pull access`.

use super::auth::pull_scope;
use super::client::{Client, Request};
use super::error::{DistributionError, Refusal, refusal};
use super::{
    DOCKER_MANIFEST, Descriptor, MAX_CONFIG_BYTES, MAX_LAYERS, MAX_MANIFEST_BYTES, MAX_PULL_BYTES,
    OCI_MANIFEST, PulledImage, check_reference, check_repository, is_sha256_digest, sha256_digest,
};
use bytes::Bytes;

/// A manifest as read (only what a pull needs).
#[derive(serde::Deserialize)]
struct ManifestJson {
    #[serde(rename = "schemaVersion", default)]
    schema_version: u64,
    #[serde(rename = "mediaType", default)]
    media_type: String,
    config: Option<BlobJson>,
    layers: Option<Vec<BlobJson>>,
    manifests: Option<serde_json::Value>,
}

/// A descriptor as read.
#[derive(serde::Deserialize)]
struct BlobJson {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    size: u64,
    digest: String,
    #[serde(default)]
    urls: Vec<String>,
}

/// The config and layer descriptors of an image manifest; `content_type` is the answer's
/// `Content-Type`, used when the document names no media type.
fn parse_manifest(
    body: &[u8],
    content_type: Option<&str>,
) -> Result<(Descriptor, Vec<Descriptor>), String> {
    let doc: ManifestJson =
        serde_json::from_slice(body).map_err(|e| format!("invalid manifest: {e}"))?;
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or_default().trim())
        .filter(|c| !c.is_empty() && *c != "application/json");
    let media_type = match (doc.media_type.as_str(), header) {
        ("", Some(h)) => h.to_owned(),
        ("", None) if doc.manifests.is_some() => "application/vnd.oci.image.index.v1+json".into(),
        ("", None) => OCI_MANIFEST.to_owned(),
        (m, _) => m.to_owned(),
    };
    if media_type != DOCKER_MANIFEST && media_type != OCI_MANIFEST {
        return Err(format!("unsupported manifest media type {media_type:?}"));
    }
    if doc.schema_version != 2 {
        return Err("unsupported manifest format".into());
    }
    let descriptor = |b: BlobJson| -> Result<Descriptor, String> {
        if !b.urls.is_empty() {
            return Err(format!(
                "foreign layer {} (urls) is not supported",
                b.digest
            ));
        }
        if !b.digest.starts_with("sha256:") && b.digest.contains(':') {
            return Err(format!("unsupported digest algorithm: {}", b.digest));
        }
        if !is_sha256_digest(&b.digest) {
            return Err(format!("invalid checksum digest format: {:?}", b.digest));
        }
        Ok(Descriptor {
            media_type: b.media_type,
            size: b.size,
            digest: b.digest,
        })
    };
    let config = doc
        .config
        .ok_or_else(|| "invalid manifest: no config".to_owned())
        .and_then(descriptor)?;
    let layers = doc
        .layers
        .ok_or_else(|| "invalid manifest: no layers".to_owned())?
        .into_iter()
        .map(descriptor)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((config, layers))
}

impl Client {
    /// Pulls `repository` at `reference` (a tag or `sha256:` digest): the manifest, then
    /// the config, then each layer, every digest and size verified.
    pub async fn pull(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<PulledImage, DistributionError> {
        check_repository(repository)?;
        check_reference(reference)?;
        let scope = pull_scope(repository);
        let by_digest = is_sha256_digest(reference);
        let sep = if by_digest { '@' } else { ':' };
        let shown = format!("{}{sep}{reference}", self.familiar(repository));
        let mut req = Request::new("GET", format!("/v2/{repository}/manifests/{reference}"));
        req.headers
            .push(("Accept", format!("{DOCKER_MANIFEST}, {OCI_MANIFEST}")));
        req.max_body_bytes = MAX_MANIFEST_BYTES as usize;
        req.what = "manifest".into();
        let resp = self.send(&req, Some(&scope)).await?;
        if resp.status != 200 {
            return Err(self.translate(repository, &shown, refusal(&resp)));
        }
        let manifest_digest = sha256_digest(&resp.body);
        let claimed = resp
            .header_values("docker-content-digest")
            .next()
            .filter(|d| is_sha256_digest(d));
        let expected = if by_digest { Some(reference) } else { claimed };
        if let Some(expected) = expected
            && expected != manifest_digest
        {
            return Err(DistributionError::Verification {
                digest: expected.to_owned(),
                text: format!("manifest verification failed for digest {expected}"),
            });
        }
        let content_type = resp.header_values("content-type").next();
        let (config_desc, layer_descs) = parse_manifest(&resp.body, content_type)
            .map_err(|text| DistributionError::Protocol { text })?;
        let config = self
            .fetch_blob(
                repository,
                &scope,
                &config_desc,
                MAX_CONFIG_BYTES,
                Kind::Config,
            )
            .await?;
        // Bounded as a whole too: a small manifest may list many (or the same) large
        // blobs. The sizes are the manifest's, checked again as each blob is read.
        let declared: u64 = layer_descs
            .iter()
            .fold(0u64, |sum, d| sum.saturating_add(d.size));
        if layer_descs.len() > MAX_LAYERS || declared > MAX_PULL_BYTES {
            return Err(DistributionError::TooLarge {
                limit_bytes: MAX_PULL_BYTES,
                text: format!(
                    "image {shown} is too large to pull: {} layers, {declared} bytes (at most {MAX_LAYERS} layers and {MAX_PULL_BYTES} bytes)",
                    layer_descs.len()
                ),
            });
        }
        let mut layers: Vec<(Descriptor, Bytes)> = Vec::with_capacity(layer_descs.len());
        for desc in layer_descs {
            // A blob listed twice is read once.
            if let Some((_, data)) = layers.iter().find(|(d, _)| d.digest == desc.digest) {
                let data = data.clone();
                layers.push((desc, data));
                continue;
            }
            let data = self
                .fetch_blob(repository, &scope, &desc, self.max_layer_bytes, Kind::Layer)
                .await?;
            layers.push((desc, data));
        }
        Ok(PulledImage {
            manifest_digest,
            manifest: Bytes::from(resp.body),
            config,
            layers,
        })
    }

    /// dockerd's translation of a refused manifest request.
    fn translate(&self, repository: &str, shown: &str, r: Refusal) -> DistributionError {
        let no_access = || {
            format!(
                "repository {} not found: does not exist or no pull access",
                self.familiar(repository)
            )
        };
        match r.code.as_deref() {
            Some("MANIFEST_UNKNOWN") => DistributionError::NotFound {
                text: format!("manifest for {shown} not found"),
            },
            Some("NAME_UNKNOWN") => DistributionError::NotFound { text: no_access() },
            Some("DENIED") => DistributionError::Denied { text: no_access() },
            _ => r.into_error(),
        }
    }

    /// Reads the blob `desc` of `repository`, at most `limit_bytes`, and checks it.
    async fn fetch_blob(
        &self,
        repository: &str,
        scope: &str,
        desc: &Descriptor,
        limit_bytes: u64,
        kind: Kind,
    ) -> Result<Bytes, DistributionError> {
        let what = format!("{} {}", kind.name(), desc.digest);
        if desc.size > limit_bytes {
            return Err(DistributionError::TooLarge {
                limit_bytes,
                text: format!(
                    "{what} is {} bytes, more than the limit of {limit_bytes} bytes",
                    desc.size
                ),
            });
        }
        let failed = || DistributionError::Verification {
            digest: desc.digest.clone(),
            text: format!(
                "{} verification failed for digest {}",
                kind.words(),
                desc.digest
            ),
        };
        let mut req = Request::new("GET", format!("/v2/{repository}/blobs/{}", desc.digest));
        // Not more than declared: a longer blob fails its check anyway.
        req.max_body_bytes = usize::try_from(desc.size).unwrap_or(usize::MAX);
        req.what = what;
        let resp = match self.send(&req, Some(scope)).await {
            Ok(r) => r,
            Err(DistributionError::TooLarge { .. }) => return Err(failed()),
            Err(e) => return Err(e),
        };
        if resp.status != 200 {
            return Err(refusal(&resp).into_error());
        }
        if resp.body.len() as u64 != desc.size || sha256_digest(&resp.body) != desc.digest {
            return Err(failed());
        }
        Ok(Bytes::from(resp.body))
    }
}

/// Which blob of an image.
#[derive(Clone, Copy)]
enum Kind {
    Config,
    Layer,
}

impl Kind {
    /// For bounds: `config`, `layer`.
    fn name(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::Layer => "layer",
        }
    }

    /// dockerd's words for a failed check.
    fn words(self) -> &'static str {
        match self {
            Kind::Config => "image config",
            Kind::Layer => "filesystem layer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::{PushImage, manifest_for};

    #[test]
    fn pushed_manifests_parse_back() {
        let image = PushImage {
            config: Bytes::from_static(b"{}"),
            layers: vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")],
        };
        let (bytes, _) = manifest_for(&image);
        let (config, layers) = parse_manifest(&bytes, None).expect("parses");
        assert_eq!(config.digest, sha256_digest(b"{}"));
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[1].size, 1);
    }

    #[test]
    fn oci_and_refused_manifests() {
        let d = sha256_digest(b"c");
        let oci =
            format!(r#"{{"schemaVersion":2,"config":{{"size":1,"digest":"{d}"}},"layers":[]}}"#);
        let (config, layers) = parse_manifest(oci.as_bytes(), Some(OCI_MANIFEST)).expect("oci");
        assert_eq!((config.size, layers.len()), (1, 0));
        let cases = [
            (
                r#"{"schemaVersion":2,"manifests":[]}"#.to_owned(),
                "unsupported manifest media type",
            ),
            (
                r#"{"schemaVersion":1,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#
                    .to_owned(),
                "unsupported manifest format",
            ),
            (
                r#"{"schemaVersion":2,"config":{"size":1,"digest":"md5:00"},"layers":[]}"#
                    .to_owned(),
                "unsupported digest algorithm",
            ),
            (
                r#"{"schemaVersion":2,"config":{"size":1,"digest":"sha256:XY"},"layers":[]}"#
                    .to_owned(),
                "invalid checksum digest format",
            ),
            (
                format!(
                    r#"{{"schemaVersion":2,"config":{{"size":-1,"digest":"{d}"}},"layers":[]}}"#
                ),
                "invalid manifest",
            ),
            (
                format!(
                    r#"{{"schemaVersion":2,"config":{{"size":1,"digest":"{d}"}},"layers":[{{"size":1,"digest":"{d}","urls":["http://x"]}}]}}"#
                ),
                "foreign layer",
            ),
            (
                format!(r#"{{"schemaVersion":2,"config":{{"size":1,"digest":"{d}"}}}}"#),
                "no layers",
            ),
            ("[]".to_owned(), "invalid manifest"),
        ];
        for (body, why) in cases {
            let e = parse_manifest(body.as_bytes(), None).expect_err(&body);
            assert!(e.contains(why), "{body}: {e}");
        }
    }
}
