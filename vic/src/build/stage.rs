//! One build stage's state (the config being built, its layers, the files COPY put in it)
//! and the pure helpers the executor shares: commit to a content-derived image id, ports,
//! paths, the final [`BuiltImage`].

use std::collections::{BTreeMap, BTreeSet};

use crate::images::{ImageConfig, Proto, Reference};

use super::packages::{Family, PkgState};
use super::{BaseImage, BuiltImage, Layer, sha256_hex};
use crate::image_content::LayerBlob;

/// Ports one EXPOSE range may name.
const MAX_PORTS: usize = 1024;

/// One build stage's state.
#[derive(Clone, Debug)]
pub(crate) struct Stage {
    pub(crate) name: Option<String>,
    pub(crate) image_id: String,
    pub(crate) base: Option<ImageConfig>,
    pub(crate) pkg: PkgState,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cmd: Vec<String>,
    pub(crate) cmd_set: bool,
    pub(crate) entrypoint: Vec<String>,
    pub(crate) exposed: BTreeSet<(u16, Proto)>,
    pub(crate) workdir: String,
    pub(crate) user: String,
    pub(crate) volumes: Vec<String>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) stop_signal: Option<String>,
    pub(crate) author: String,
    pub(crate) diff_ids: Vec<String>,
    pub(crate) layers: Vec<Layer>,
    /// Every layer's content, base first (parallel to `diff_ids`).
    pub(crate) blobs: Vec<LayerBlob>,
    pub(crate) history: Vec<serde_json::Value>,
    pub(crate) size_bytes: u64,
    /// Files COPY put in this stage: absolute path → content (`cat` in a RUN reads them,
    /// `COPY --from` copies them).
    pub(crate) files: BTreeMap<String, Vec<u8>>,
    /// ARGs declared in this stage with their values.
    pub(crate) args: Vec<(String, Option<String>)>,
    pub(crate) config_json: String,
}

impl Stage {
    pub(crate) fn from_base(name: Option<String>, base: Option<&BaseImage>) -> Stage {
        let (config, env) = match base {
            Some(b) => (
                Some(b.config.clone()),
                b.config
                    .env
                    .iter()
                    .map(|e| match e.split_once('=') {
                        Some((k, v)) => (k.to_owned(), v.to_owned()),
                        None => (e.clone(), String::new()),
                    })
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        let family = config
            .as_ref()
            .map_or(Family::Bare, |c| Family::of(&c.repository, &c.tag));
        Stage {
            name,
            image_id: config.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
            pkg: PkgState::new(family),
            env,
            cmd: config.as_ref().map(|c| c.cmd.clone()).unwrap_or_default(),
            cmd_set: false,
            entrypoint: config
                .as_ref()
                .map(|c| c.entrypoint.clone())
                .unwrap_or_default(),
            exposed: config
                .as_ref()
                .map(|c| c.exposed_ports.iter().copied().collect())
                .unwrap_or_default(),
            workdir: config
                .as_ref()
                .map(|c| c.working_dir.clone())
                .unwrap_or_default(),
            user: base.map(|b| b.user.clone()).unwrap_or_default(),
            volumes: config
                .as_ref()
                .map(|c| c.volumes.clone())
                .unwrap_or_default(),
            labels: base.map(|b| b.labels.clone()).unwrap_or_default(),
            stop_signal: None,
            author: String::new(),
            diff_ids: base.map(|b| b.diff_ids.clone()).unwrap_or_default(),
            layers: Vec::new(),
            blobs: base.map(|b| b.layers.clone()).unwrap_or_default(),
            history: Vec::new(),
            size_bytes: config.as_ref().map_or(0, |c| c.size_bytes),
            files: BTreeMap::new(),
            args: Vec::new(),
            config_json: String::new(),
            base: config,
        }
    }

    /// The environment substitution sees: declared args with values, then ENV (which wins).
    pub(crate) fn word_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        env.extend(self.env.iter().cloned());
        env
    }

    pub(crate) fn env_strings(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    pub(crate) fn set_env(&mut self, key: String, value: String) {
        match self.env.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.env.push((key, value)),
        }
    }

    /// Records a step's result and returns the new image id.
    pub(crate) fn commit(
        &mut self,
        created_by: &str,
        layer: Option<Layer>,
        created: &str,
    ) -> String {
        self.history.push(serde_json::json!({
            "created": created,
            "created_by": created_by,
            "empty_layer": layer.is_none(),
        }));
        if let Some(l) = layer {
            self.diff_ids.push(l.diff_id.clone());
            self.blobs.push(l.blob.clone());
            self.size_bytes = self.size_bytes.saturating_add(l.size_bytes);
            self.layers.push(l);
        }
        let ports: serde_json::Map<String, serde_json::Value> = self
            .exposed
            .iter()
            .map(|(p, proto)| (format!("{p}/{}", proto.as_str()), serde_json::json!({})))
            .collect();
        let volumes: serde_json::Map<String, serde_json::Value> = self
            .volumes
            .iter()
            .map(|v| (v.clone(), serde_json::json!({})))
            .collect();
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "author": self.author,
            "created": created,
            "parent": self.image_id,
            "config": {
                "Env": self.env_strings(),
                "Cmd": self.cmd,
                "Entrypoint": self.entrypoint,
                "ExposedPorts": ports,
                "WorkingDir": self.workdir,
                "Volumes": volumes,
                "Labels": self.labels,
                "User": self.user,
                "StopSignal": self.stop_signal,
            },
            "rootfs": { "type": "layers", "diff_ids": self.diff_ids },
            "history": self.history,
        });
        self.config_json = config.to_string();
        self.image_id = format!("sha256:{}", sha256_hex(self.config_json.as_bytes()));
        self.image_id.clone()
    }
}

pub(crate) fn built_image(stage: Stage, tags: Vec<String>, created: &str) -> BuiltImage {
    let (repository, tag) = tags
        .first()
        .and_then(|t| Reference::parse(t))
        .map_or(("<none>".to_owned(), "<none>".to_owned()), |r| {
            (r.repo_name(), r.tag)
        });
    let base_workload = stage.base.as_ref().and_then(|b| {
        (b.cmd == stage.cmd && b.entrypoint == stage.entrypoint)
            .then(|| b.workload.clone())
            .flatten()
    });
    let config = ImageConfig {
        repository,
        tag,
        id: stage.image_id.clone(),
        entrypoint: stage.entrypoint.clone(),
        cmd: stage.cmd.clone(),
        env: stage.env_strings(),
        exposed_ports: stage.exposed.iter().copied().collect(),
        working_dir: stage.workdir.clone(),
        size_bytes: stage.size_bytes,
        created: created.to_owned(),
        workload: base_workload,
        volumes: stage.volumes.clone(),
        labels: stage.labels.clone(),
        user: stage.user.clone(),
    };
    BuiltImage {
        config,
        labels: stage.labels,
        user: stage.user,
        stop_signal: stage.stop_signal,
        diff_ids: stage.diff_ids,
        layers: stage.layers,
        blobs: stage.blobs,
        config_json: stage.config_json,
        tags,
    }
}

/// `["a" "b"]`, as Docker's history shows a command list.
pub(crate) fn quoted_list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", q.join(" "))
}

/// `dir` joined onto `base` (absolute stays), cleaned of `.`/`..`; always absolute. A
/// trailing `/` is not kept.
pub(crate) fn join_path(base: &str, dir: &str) -> String {
    let full = if dir.starts_with('/') {
        dir.to_owned()
    } else {
        format!("{}/{dir}", if base.is_empty() { "/" } else { base })
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in full.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `80`, `80/tcp`, `53/udp`, `8000-8002[/proto]`.
pub(crate) fn parse_ports(word: &str) -> Result<Vec<(u16, Proto)>, String> {
    let (range, proto) = match word.split_once('/') {
        Some((r, p)) => (r, p),
        None => (word, "tcp"),
    };
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        other => return Err(format!("Invalid proto: {other}")),
    };
    let bad = || format!("Invalid containerPort: {range}");
    let (lo, hi) = match range.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = range.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if lo > hi || usize::from(hi - lo) >= MAX_PORTS {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| (p, proto)).collect())
}
