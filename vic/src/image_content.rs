//! The bytes of an image, as a registry holds them: the configuration JSON (whose sha256 is
//! the image id) and the layers, each an uncompressed tar (whose sha256 is its diff id)
//! and the gzip blob a push uploads (whose sha256 is its digest in the manifest).
//!
//! Core types: [`ImageContent`] (config plus layers) and [`LayerBlob`]. Builders:
//! [`layer_tar`] (a deterministic ustar archive of files), [`catalogue_content`] (a
//! catalogue image, whose one layer stands for the root file system the testbed does not
//! have), [`emulated_layer`] (a RUN step's layer) and [`ImageContent::from_pulled`] (what a
//! pull brought, read back into an [`ImageConfig`]).
//!
//! **Emulated**: a catalogue image's layer and a RUN step's layer are small text files
//! under `/.vicbed/` describing what they stand for, with the size the packages model
//! estimated (`emulated_size_bytes`), which `docker images` shows after a push and a pull
//! as it did after the build. COPY layers hold the copied files themselves. Everything is
//! deterministic: zero times, root owner, fixed modes, a fixed gzip level.

use crate::images::{ImageConfig, Proto};
use bytes::Bytes;
use flate2::Compression;
use serde_json::Value as Json;
use std::io::Write;

/// The marker line giving a layer's emulated size.
const SIZE_MARKER: &str = "emulated_size_bytes: ";

/// Largest uncompressed layer [`layer_size`] reads through (a pulled layer is bounded by
/// the client already; this bounds the inflation).
pub const MAX_LAYER_TAR_BYTES: u64 = 1024 * 1024 * 1024;

/// `sha256:` and the hex sha256 of `bytes` (the registry's [`registry::Digest`]).
pub fn sha256_digest(bytes: &[u8]) -> String {
    registry::Digest::of(bytes).to_string()
}

/// One layer: its tar's digest, the gzip blob and that blob's digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerBlob {
    /// `sha256:` of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
    /// The gzip'd tar.
    pub gzip: Bytes,
    /// `sha256:` of [`LayerBlob::gzip`] (the manifest's layer digest).
    pub digest: String,
    /// The size `docker images` counts for it (the emulated size where the layer says one).
    pub size_bytes: u64,
}

impl LayerBlob {
    /// A layer from its uncompressed tar, counted as `size_bytes`.
    pub fn from_tar(tar: &[u8], size_bytes: u64) -> LayerBlob {
        let gzip = Bytes::from(gzip(tar));
        LayerBlob {
            diff_id: sha256_digest(tar),
            digest: sha256_digest(&gzip),
            gzip,
            size_bytes,
        }
    }
}

/// An image's content: the configuration document and the layers, bottom first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageContent {
    /// The configuration JSON exactly as stored (its sha256 is the image id).
    pub config_json: Bytes,
    /// Layers, bottom first.
    pub layers: Vec<LayerBlob>,
}

/// Why pulled content does not make an image.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContentError {
    /// The config is not an image configuration.
    #[error("invalid image configuration: {0}")]
    Config(String),
    /// A layer does not match the configuration's `rootfs.diff_ids`.
    #[error("layer {index} does not match the image configuration's diff id {expected}")]
    DiffId {
        /// Its position.
        index: usize,
        /// What the config says.
        expected: String,
    },
    /// A layer is not gzip'd tar.
    #[error("layer {0} is not a gzip'd tar: {1}")]
    Layer(usize, String),
}

impl ImageContent {
    /// `sha256:` of the configuration: the image id.
    pub fn id(&self) -> String {
        sha256_digest(&self.config_json)
    }

    /// The digest of the schema-2 manifest a push of this content uploads (what a pull
    /// prints as `Digest:`).
    pub fn manifest_digest(&self) -> String {
        crate::distribution::manifest_for(&crate::distribution::PushImage {
            config: self.config_json.clone(),
            layers: self.layers.iter().map(|l| l.gzip.clone()).collect(),
        })
        .1
    }

    /// The `rootfs.diff_ids` of the layers.
    pub fn diff_ids(&self) -> Vec<String> {
        self.layers.iter().map(|l| l.diff_id.clone()).collect()
    }

    /// What a pull brought (the config blob and the gzip'd layers): each layer inflated to
    /// check its diff id against the configuration and to count its size.
    pub fn from_pulled(
        config_json: Bytes,
        gzip_layers: Vec<Bytes>,
    ) -> Result<ImageContent, ContentError> {
        let doc: Json = serde_json::from_slice(&config_json)
            .map_err(|e| ContentError::Config(e.to_string()))?;
        let diff_ids: Vec<String> = doc
            .pointer("/rootfs/diff_ids")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .ok_or_else(|| ContentError::Config("no rootfs.diff_ids".to_owned()))?;
        if diff_ids.len() != gzip_layers.len() {
            return Err(ContentError::Config(format!(
                "{} diff ids for {} layers",
                diff_ids.len(),
                gzip_layers.len()
            )));
        }
        let mut layers = Vec::with_capacity(gzip_layers.len());
        for (index, (gz, expected)) in gzip_layers.into_iter().zip(diff_ids).enumerate() {
            let tar =
                gunzip(&gz, MAX_LAYER_TAR_BYTES).map_err(|e| ContentError::Layer(index, e))?;
            let diff_id = sha256_digest(&tar);
            if diff_id != expected {
                return Err(ContentError::DiffId { index, expected });
            }
            layers.push(LayerBlob {
                diff_id,
                digest: sha256_digest(&gz),
                size_bytes: layer_size(&tar),
                gzip: gz,
            });
        }
        Ok(ImageContent {
            config_json,
            layers,
        })
    }

    /// The [`ImageConfig`] the configuration describes, as `repository:tag`.
    pub fn image_config(&self, repository: &str, tag: &str) -> Result<ImageConfig, ContentError> {
        let doc: Json = serde_json::from_slice(&self.config_json)
            .map_err(|e| ContentError::Config(e.to_string()))?;
        let c = doc.get("config").cloned().unwrap_or(Json::Null);
        let strings = |key: &str| -> Vec<String> {
            c.get(key)
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let keys = |key: &str| -> Vec<String> {
            c.get(key)
                .and_then(Json::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let mut exposed_ports = Vec::new();
        for p in keys("ExposedPorts") {
            let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
            let proto = match proto {
                "udp" => Proto::Udp,
                _ => Proto::Tcp,
            };
            if let Ok(port) = port.parse::<u16>() {
                exposed_ports.push((port, proto));
            }
        }
        exposed_ports.sort_unstable();
        Ok(ImageConfig {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            id: self.id(),
            entrypoint: strings("Entrypoint"),
            cmd: strings("Cmd"),
            env: strings("Env"),
            exposed_ports,
            working_dir: c
                .get("WorkingDir")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned(),
            size_bytes: self
                .layers
                .iter()
                .fold(0u64, |sum, l| sum.saturating_add(l.size_bytes)),
            created: doc
                .get("created")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned(),
            workload: None,
            volumes: keys("Volumes"),
            labels: self.labels(),
            user: self.user(),
        })
    }

    /// The configuration's `config.Labels`.
    pub fn labels(&self) -> std::collections::BTreeMap<String, String> {
        serde_json::from_slice::<Json>(&self.config_json)
            .ok()
            .and_then(|d| d.pointer("/config/Labels").cloned())
            .and_then(|l| serde_json::from_value(l).ok())
            .unwrap_or_default()
    }

    /// The configuration's `config.User`.
    pub fn user(&self) -> String {
        serde_json::from_slice::<Json>(&self.config_json)
            .ok()
            .and_then(|d| {
                d.pointer("/config/User")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }
}

/// A deterministic ustar archive of `files` (absolute or relative paths; stored relative,
/// parents as directory entries first), root-owned, mode 0644 (directories 0755), time 0.
/// Paths longer than ustar's 255 bytes are stored as PAX `path` records.
pub fn layer_tar<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for (path, data) in files {
        let rel = path.trim_start_matches('/');
        if rel.is_empty() {
            continue;
        }
        let mut prefix = String::new();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        for dir in &parts[..parts.len().saturating_sub(1)] {
            prefix.push_str(dir);
            prefix.push('/');
            if dirs.insert(prefix.clone()) {
                entry(&mut out, &prefix, b'5', 0o755, &[]);
            }
        }
        entry(&mut out, &parts.join("/"), b'0', 0o644, data);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// One tar entry (a PAX header first when the name does not fit ustar).
fn entry(out: &mut Vec<u8>, name: &str, kind: u8, mode: u32, data: &[u8]) {
    let fits = name.len() <= 100;
    if !fits {
        // A PAX record: "<len> path=<name>\n", its length counting itself.
        let body = format!(" path={name}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        let record = format!("{len}{body}");
        header(out, "././@PaxHeader", b'x', 0o644, record.len() as u64);
        out.extend_from_slice(record.as_bytes());
        pad(out);
    }
    let short: String = if fits {
        name.to_owned()
    } else {
        name.chars()
            .rev()
            .take(90)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    };
    header(out, &short, kind, mode, data.len() as u64);
    out.extend_from_slice(data);
    pad(out);
}

fn pad(out: &mut Vec<u8>) {
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn header(out: &mut Vec<u8>, name: &str, kind: u8, mode: u32, size: u64) {
    let mut h = [0u8; 512];
    let n = name.as_bytes();
    let n = &n[..n.len().min(100)];
    h[..n.len()].copy_from_slice(n);
    h[100..108].copy_from_slice(format!("{mode:07o}\0").as_bytes());
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", size.min(0o777_7777_7777)).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
}

/// `tar` gzip'd deterministically (no name, time 0, the fastest level: layers here are small text files or copied context files, and a build spends its time in the model, not in zlib).
pub fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(tar);
    enc.finish().unwrap_or_default()
}

/// `gz` inflated, refused past `max_bytes`.
pub fn gunzip(gz: &[u8], max_bytes: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > max_bytes {
        return Err(format!("larger than {max_bytes} bytes uncompressed"));
    }
    Ok(out)
}

/// The size a layer counts for: the `emulated_size_bytes` of an emulated layer's note (a
/// regular file under `.vicbed/`, which only the testbed writes), else the bytes of the
/// regular files it holds, as Docker counts a layer's size.
pub fn layer_size(tar: &[u8]) -> u64 {
    let mut files_bytes: u64 = 0;
    let mut at = 0usize;
    while let Some(h) = tar.get(at..at + 512) {
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let size = std::str::from_utf8(&h[124..136])
            .ok()
            .map(|t| t.trim_matches(|c: char| c == '\0' || c == ' '))
            .and_then(|t| u64::from_str_radix(t, 8).ok())
            .unwrap_or(0);
        let body = at + 512;
        let Some(next) = usize::try_from(size.div_ceil(512).saturating_mul(512))
            .ok()
            .and_then(|padded| body.checked_add(padded))
        else {
            break;
        };
        if matches!(h[156], b'0' | 0) {
            let name_end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
            let name = String::from_utf8_lossy(&h[..name_end]);
            let data = usize::try_from(size)
                .ok()
                .and_then(|n| tar.get(body..body.checked_add(n)?));
            if name.starts_with(".vicbed/")
                && let Some(marked) = data.and_then(|d| {
                    String::from_utf8_lossy(d)
                        .lines()
                        .find_map(|l| l.strip_prefix(SIZE_MARKER))
                        .and_then(|n| n.trim().parse::<u64>().ok())
                })
            {
                return marked;
            }
            files_bytes = files_bytes.saturating_add(size);
        }
        at = next;
    }
    files_bytes
}

/// An emulated layer: one text file at `path` saying what it stands for and its size.
pub fn emulated_layer(path: &str, what: &str, size_bytes: u64) -> LayerBlob {
    let text = format!("vicbed emulated layer\nstands for: {what}\n{SIZE_MARKER}{size_bytes}\n");
    LayerBlob::from_tar(&layer_tar([(path, text.as_bytes())]), size_bytes)
}

/// The one layer of a catalogue image (which has no file system here).
pub fn catalogue_layer(img: &ImageConfig) -> LayerBlob {
    let name = format!("{}:{}", img.repository, img.tag);
    emulated_layer(
        "/.vicbed/image",
        &format!("the root file system of {name} ({})", img.id),
        img.size_bytes,
    )
}

/// The configuration document of a catalogue image (the fields Docker Hub's config has
/// that the catalogue knows) over its one layer.
pub fn catalogue_config_json(img: &ImageConfig, diff_id: &str) -> Json {
    serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": img.created,
        "config": {
            "Entrypoint": img.entrypoint,
            "Cmd": img.cmd,
            "Env": img.env,
            "ExposedPorts": img.exposed_ports.iter()
                .map(|(p, proto)| (format!("{p}/{}", proto.as_str()), serde_json::json!({})))
                .collect::<serde_json::Map<_, _>>(),
            "Volumes": img.volumes.iter().map(|v| (v.clone(), serde_json::json!({})))
                .collect::<serde_json::Map<_, _>>(),
            "WorkingDir": img.working_dir,
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    })
}

/// A catalogue image's content: [`catalogue_layer`] under [`catalogue_config_json`].
pub fn catalogue_content(img: &ImageConfig) -> ImageContent {
    let layer = catalogue_layer(img);
    let config = catalogue_config_json(img, &layer.diff_id).to_string();
    ImageContent {
        config_json: Bytes::from(config),
        layers: vec![layer],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::Catalogue;

    #[test]
    fn tars_are_deterministic_and_readable_by_the_context_reader() {
        let files: Vec<(&str, &[u8])> = vec![
            ("/usr/share/nginx/html/index.html", b"hello\n"),
            ("/etc/motd", b"hi"),
        ];
        let a = layer_tar(files.clone());
        assert_eq!(a, layer_tar(files));
        assert_eq!(a.len() % 512, 0);
        let ctx = crate::build::context::read_context(
            &a,
            &crate::build::context::ContextLimits::default(),
        )
        .expect("a tar");
        assert_eq!(
            ctx.files
                .get("usr/share/nginx/html/index.html")
                .map(Vec::as_slice),
            Some(&b"hello\n"[..])
        );
        let long = format!("/{}/f", "d".repeat(150));
        let t = layer_tar([(long.as_str(), &b"x"[..])]);
        let ctx = crate::build::context::read_context(
            &t,
            &crate::build::context::ContextLimits::default(),
        )
        .expect("a PAX tar");
        assert!(
            ctx.files.contains_key(long.trim_start_matches('/')),
            "{:?}",
            ctx.files.keys()
        );
    }

    #[test]
    fn gzip_round_trips_and_is_bounded() {
        let tar = layer_tar([("/a", &b"abc"[..])]);
        let gz = gzip(&tar);
        assert_eq!(gz, gzip(&tar));
        assert_eq!(gunzip(&gz, 1 << 20).expect("inflates"), tar);
        assert!(gunzip(&gz, 100).is_err());
        assert!(gunzip(b"not gzip", 100).is_err());
    }

    #[test]
    fn catalogue_content_round_trips_through_a_pull() {
        let cat = Catalogue::builtin();
        let nginx = cat.resolve("nginx:latest").expect("builtin").clone();
        let c = catalogue_content(&nginx);
        let back = ImageContent::from_pulled(
            c.config_json.clone(),
            c.layers.iter().map(|l| l.gzip.clone()).collect(),
        )
        .expect("consistent");
        assert_eq!(back, c);
        let img = back.image_config("nginx", "latest").expect("a config");
        assert_eq!(img.cmd, nginx.cmd);
        assert_eq!(img.exposed_ports, nginx.exposed_ports);
        assert_eq!(
            img.size_bytes, nginx.size_bytes,
            "the emulated size survives"
        );
        assert_eq!(img.id, c.id());
        // A layer swapped for another is caught.
        let other = emulated_layer("/x", "other", 1);
        let err = ImageContent::from_pulled(c.config_json.clone(), vec![other.gzip])
            .expect_err("mismatch");
        assert!(
            matches!(err, ContentError::DiffId { index: 0, .. }),
            "{err}"
        );
        assert!(ImageContent::from_pulled(Bytes::from_static(b"{}"), vec![]).is_err());
    }
}
