//! An OCI Distribution v2 client: how the testbed's Docker engines (the VCH endpoint and
//! the emulated DCH dockerd) pull images from, and push images to, a registry over real
//! HTTP(S) — the workspace's `registry` crate, Harbor-shaped, or any v2 registry.
//!
//! - [`Client::ping`]: `GET /v2/` with authentication, what `docker login` checks;
//! - [`Client::pull`]: the manifest (Docker schema 2 or OCI, by tag or digest), then the
//!   config blob, then each layer blob, every digest (sha256) and size verified, each read
//!   bounded (manifest and config 4 MiB, a layer [`Client::max_layer_bytes`]);
//! - [`Client::push`]: per layer `HEAD` (present: "Layer already exists"), else `POST
//!   /blobs/uploads/` then one monolithic `PUT <Location>?digest=…`; then the config the
//!   same way; then `PUT` of the schema 2 manifest ([`manifest_for`]) under the tag;
//! - authentication (`auth`): the registry's `WWW-Authenticate` challenge decides —
//!   `Basic` with the credentials, or `Bearer`: a token fetched from the challenge's realm
//!   (`service`, `scope`, the credentials as Basic), cached per scope until it expires;
//! - failures ([`DistributionError`]): each variant says what kind (unauthorized, not
//!   found, TLS, connect, timeout, verification, protocol…), its text is what the docker
//!   CLI prints after `Error response from daemon: ` for the same failure, in dockerd's
//!   (1.13, Go 1.7/1.8) words.
//!
//! Transport: the crate's HTTP/1.1 layer (`crate::http1`), one connection per request
//! (`Connection: close`) — simple, and a pull is a handful of requests. The connection
//! goes to [`Endpoint::addr`] (the testbed resolves names itself); [`Endpoint::host`] is the
//! `Host` header and, without its port, the TLS server name, checked by webpki against
//! the given roots only. Deadlines: [`CONNECT_TIMEOUT`] for TCP plus the TLS handshake,
//! [`EXCHANGE_TIMEOUT`] for each request and its whole answer. Bodies are whole in memory
//! both ways (the HTTP layer has no streaming request body), so a layer costs its size.

mod auth;
mod client;
mod error;
mod pull;
mod push;

pub use client::Client;
pub use error::DistributionError;

use bytes::Bytes;
use rustls::pki_types::CertificateDer;
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Limit on connecting: TCP and the TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Limit on one exchange: the request sent and the whole answer read.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest manifest read (the registry's own bound too).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest image config read.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// The most layers one pulled image may have (Docker's own limit is 127 layers).
pub const MAX_LAYERS: usize = 128;
/// The most bytes of layers one pull reads (the sizes its manifest declares).
pub const MAX_PULL_BYTES: u64 = 1 << 30;
/// The default largest layer read ([`Client::max_layer_bytes`]).
pub const DEFAULT_MAX_LAYER_BYTES: u64 = 512 << 20;

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker gzip'd tar layer.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Where a registry is and how to reach it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The registry as in image references (`registry.corp.local` or
    /// `registry.corp.local:5000`): the `Host` header, and without its port the TLS server
    /// name; it also starts the names in messages (`registry.corp.local/library/busybox`).
    pub host: String,
    /// Where it really listens (the testbed resolves names itself: no DNS).
    pub addr: SocketAddr,
    /// Plain HTTP or TLS.
    pub transport: Transport,
}

/// Plain HTTP or TLS.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Plain HTTP, for `--insecure-registry`.
    Plain,
    /// TLS, the server certificate checked against these roots only.
    Tls {
        /// Trusted CA certificates (DER).
        roots: Vec<CertificateDer<'static>>,
    },
}

/// A registry user.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password stays out of logs.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A blob as a manifest references it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    /// Its media type.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// `sha256:<hex>`.
    pub digest: String,
}

impl Descriptor {
    /// The descriptor of `data` as `media_type`.
    fn of(media_type: &str, data: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            size: data.len() as u64,
            digest: sha256_digest(data),
        }
    }
}

/// An image as pulled: every byte verified against its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledImage {
    /// `sha256:<hex>` of [`PulledImage::manifest`].
    pub manifest_digest: String,
    /// The manifest as the registry sent it.
    pub manifest: Bytes,
    /// The image config (JSON).
    pub config: Bytes,
    /// The layers in manifest order, with their descriptors.
    pub layers: Vec<(Descriptor, Bytes)>,
}

/// An image to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushImage {
    /// The image config (JSON).
    pub config: Bytes,
    /// The layers, gzip'd tar blobs ([`DOCKER_LAYER`]), base first.
    pub layers: Vec<Bytes>,
}

/// Progress of a push, per layer, in the order docker reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushEvent {
    /// About to look the layer up (`Preparing`).
    Preparing {
        /// The layer's digest.
        digest: String,
    },
    /// The registry has it already (`Layer already exists`).
    Exists {
        /// The layer's digest.
        digest: String,
    },
    /// Uploading it (`Pushing`).
    Pushing {
        /// The layer's digest.
        digest: String,
        /// Its size.
        bytes: u64,
    },
    /// Uploaded (`Pushed`).
    Pushed {
        /// The layer's digest.
        digest: String,
    },
}

/// What a push produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// The manifest's digest (`<tag>: digest: sha256:… size: N`).
    pub digest: String,
    /// The manifest's size in bytes.
    pub size: u64,
}

/// The schema 2 manifest document, fields in Docker's order.
#[derive(Serialize)]
struct ManifestDoc<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// The Docker schema 2 manifest of `image` as docker writes it (Go's `MarshalIndent` with a
/// three-space indent, fields in schema order) and its digest.
pub fn manifest_for(image: &PushImage) -> (Bytes, String) {
    let doc = ManifestDoc {
        schema_version: 2,
        media_type: DOCKER_MANIFEST,
        config: Descriptor::of(DOCKER_CONFIG, &image.config),
        layers: image
            .layers
            .iter()
            .map(|l| Descriptor::of(DOCKER_LAYER, l))
            .collect(),
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Strings, numbers and fixed keys only: serializing into memory cannot fail.
    if doc.serialize(&mut ser).is_err() {
        out.clear();
    }
    let digest = sha256_digest(&out);
    (Bytes::from(out), digest)
}

pub(crate) use crate::image_content::sha256_digest;

/// Whether `text` is a sha256 digest (`sha256:` and 64 lower-case hex digits), the only
/// algorithm this client verifies.
pub(crate) fn is_sha256_digest(text: &str) -> bool {
    registry::Digest::parse(text).is_ok()
}

/// Checks a repository path against the distribution grammar: `/`-separated components of
/// lower-case letters and digits, joined inside by `.`, `_`, `__` or dashes.
fn check_repository(name: &str) -> Result<(), DistributionError> {
    let invalid = |why: &str| DistributionError::InvalidReference {
        text: format!("invalid reference format{why}"),
    };
    if name.is_empty() || name.len() > 255 {
        return Err(invalid(""));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(invalid(": repository name must be lowercase"));
    }
    for component in name.split('/') {
        if !registry::name::component_ok(component) {
            return Err(invalid(""));
        }
    }
    Ok(())
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(text: &str) -> bool {
    let b = text.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

/// Checks a tag or digest reference.
fn check_reference(reference: &str) -> Result<(), DistributionError> {
    if is_tag(reference) || is_sha256_digest(reference) {
        Ok(())
    } else {
        Err(DistributionError::InvalidReference {
            text: "invalid reference format".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> PushImage {
        PushImage {
            config: Bytes::from_static(b"{\"architecture\":\"amd64\"}"),
            layers: vec![Bytes::from_static(b"layer-1"), Bytes::from_static(b"")],
        }
    }

    #[test]
    fn manifest_for_is_dockers_canonical_form() {
        let img = image();
        let (bytes, digest) = manifest_for(&img);
        let text = std::str::from_utf8(&bytes).expect("utf-8");
        let expected = format!(
            "{{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"{DOCKER_MANIFEST}\",\n   \
             \"config\": {{\n      \"mediaType\": \"{DOCKER_CONFIG}\",\n      \"size\": 24,\n      \
             \"digest\": \"{}\"\n   }},\n   \"layers\": [\n      {{\n         \"mediaType\": \
             \"{DOCKER_LAYER}\",\n         \"size\": 7,\n         \"digest\": \"{}\"\n      }},\n      \
             {{\n         \"mediaType\": \"{DOCKER_LAYER}\",\n         \"size\": 0,\n         \
             \"digest\": \"{}\"\n      }}\n   ]\n}}",
            sha256_digest(&img.config),
            sha256_digest(b"layer-1"),
            sha256_digest(b""),
        );
        assert_eq!(text, expected);
        assert_eq!(digest, sha256_digest(&bytes));
        // The same image always gives the same bytes (pushes are idempotent).
        assert_eq!(manifest_for(&img), (bytes.clone(), digest));
        let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(doc["layers"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn sha256_digests() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_sha256_digest(&sha256_digest(b"x")));
        assert!(!is_sha256_digest("sha256:E3B0"));
        assert!(!is_sha256_digest("sha512:e3b0"));
        assert!(!is_sha256_digest(&sha256_digest(b"x").to_uppercase()));
    }

    #[test]
    fn names_and_references_follow_the_grammar() {
        for ok in [
            "library/busybox",
            "a",
            "a/b.c/d_e/f__g/h--i",
            "project/app-1",
        ] {
            assert!(check_repository(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "-a", "a-", "a..b", "a___b", "a:b", "a b",
        ] {
            assert!(check_repository(bad).is_err(), "{bad:?}");
        }
        let upper = check_repository("Library/x").expect_err("upper case");
        assert_eq!(
            upper.to_string(),
            "invalid reference format: repository name must be lowercase"
        );
        assert!(check_reference("latest").is_ok());
        assert!(check_reference("v1.2_3-rc").is_ok());
        assert!(check_reference(&sha256_digest(b"m")).is_ok());
        for bad in ["", ".x", "-x", "a/b", "a:b", &"x".repeat(129)] {
            assert!(check_reference(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credentials_never_show_their_password() {
        let c = Credentials {
            username: "admin".into(),
            password: "s3cret".into(),
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
