//! Manifests the registry accepts, and what they reference: Docker v2 schema 2 manifests
//! and manifest lists, OCI image manifests and indexes. An image manifest references its
//! config and layers (blobs that must be in the repository; foreign layers with `urls` are
//! exempt); a list or index references manifests that must be in the repository.

use crate::digest::Digest;
use crate::error::RegistryError;

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// What a manifest references, by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedManifest {
    /// One of the four media types above.
    pub media_type: String,
    /// Blobs (config, layers) that must exist.
    pub blobs: Vec<Digest>,
    /// Manifests (of a list or index) that must exist.
    pub manifests: Vec<Digest>,
}

/// Checks a pushed manifest: JSON, schemaVersion 2, a supported media type (from the body's
/// `mediaType`, else the request's `Content-Type`; the two must agree when both are given).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, RegistryError> {
    let invalid = |why: &str| RegistryError::ManifestInvalid(why.to_owned());
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| invalid(&format!("not JSON: {e}")))?;
    if !doc.is_object() {
        return Err(invalid("not a JSON object"));
    }
    if doc["schemaVersion"].as_u64() != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or_default().trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "application/octet-stream");
    let field = doc["mediaType"].as_str();
    let media_type = match (field, header) {
        (Some(f), Some(h)) if f != h => {
            return Err(invalid(&format!(
                "mediaType {f:?} does not match Content-Type {h:?}"
            )));
        }
        (Some(f), _) => f.to_owned(),
        (None, Some(h)) => h.to_owned(),
        // An OCI document may omit mediaType: its shape tells.
        (None, None) if doc.get("manifests").is_some() => OCI_INDEX.to_owned(),
        (None, None) => OCI_MANIFEST.to_owned(),
    };
    let digest_of = |v: &serde_json::Value, what: &str| -> Result<Digest, RegistryError> {
        let text = v["digest"]
            .as_str()
            .ok_or_else(|| invalid(&format!("{what} has no digest")))?;
        Digest::parse(text).map_err(|e| invalid(&format!("{what}: {e}")))
    };
    let mut blobs = Vec::new();
    let mut manifests = Vec::new();
    match media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            if !doc["config"].is_object() {
                return Err(invalid("image manifest without config"));
            }
            blobs.push(digest_of(&doc["config"], "config")?);
            let layers = doc["layers"]
                .as_array()
                .ok_or_else(|| invalid("image manifest without layers"))?;
            for layer in layers {
                let foreign = layer["urls"].as_array().is_some_and(|u| !u.is_empty());
                if !foreign {
                    blobs.push(digest_of(layer, "layer")?);
                }
            }
        }
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            let list = doc["manifests"]
                .as_array()
                .ok_or_else(|| invalid("index without manifests"))?;
            for m in list {
                manifests.push(digest_of(m, "manifest entry")?);
            }
        }
        other => return Err(invalid(&format!("unsupported media type {other:?}"))),
    }
    Ok(ParsedManifest {
        media_type,
        blobs,
        manifests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> String {
        Digest::of(s.as_bytes()).to_string()
    }

    #[test]
    fn image_manifests_reference_config_and_non_foreign_layers() {
        let m = json!({
            "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "x", "size": 1, "digest": d("c")},
            "layers": [
                {"size": 1, "digest": d("l1")},
                {"size": 1, "digest": d("f"), "urls": ["https://x/f"]},
            ]
        });
        let p = parse(Some(DOCKER_MANIFEST), m.to_string().as_bytes()).expect("valid");
        assert_eq!(p.media_type, DOCKER_MANIFEST);
        assert_eq!(p.blobs, vec![Digest::of(b"c"), Digest::of(b"l1")]);
        assert!(p.manifests.is_empty());
    }

    #[test]
    fn oci_documents_may_omit_media_type() {
        let idx = json!({"schemaVersion": 2, "manifests": [{"digest": d("m"), "size": 2}]});
        let p = parse(None, idx.to_string().as_bytes()).expect("valid");
        assert_eq!((p.media_type.as_str(), p.manifests.len()), (OCI_INDEX, 1));
        let img = json!({"schemaVersion": 2, "config": {"digest": d("c")}, "layers": []});
        let p = parse(Some(OCI_MANIFEST), img.to_string().as_bytes()).expect("valid");
        assert_eq!(p.media_type, OCI_MANIFEST);
    }

    #[test]
    fn bad_manifests_are_manifest_invalid() {
        let cases: Vec<(Option<&str>, String)> = vec![
            (None, "not json".into()),
            (None, "[]".into()),
            (None, json!({"schemaVersion": 1}).to_string()),
            (
                Some(OCI_MANIFEST),
                json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                       "config": {"digest": d("c")}, "layers": []})
                .to_string(),
            ),
            (
                None,
                json!({"schemaVersion": 2, "mediaType": "text/plain"}).to_string(),
            ),
            (
                None,
                json!({"schemaVersion": 2, "config": {"digest": "md5:x"}, "layers": []})
                    .to_string(),
            ),
        ];
        for (ct, body) in cases {
            let e = parse(ct, body.as_bytes()).expect_err(&body);
            assert_eq!(e.code(), "MANIFEST_INVALID", "{body}");
        }
    }
}
