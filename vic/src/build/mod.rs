//! The `docker build` engine of a Docker Container Host (the legacy builder its `POST /build`
//! runs for API ≤ 1.25 clients), as a pure library: no HTTP, no sockets, no clock, no
//! randomness. The same Dockerfile, context, build args and base image always give the same
//! layer digests, image ids, container ids and output.
//!
//! The pieces:
//! - [`context`]: reads the build context tar (or gzip) into [`context::ContextFiles`],
//!   bounded by [`context::ContextLimits`], refusing absolute and `..` paths;
//! - [`dockerfile`]: parses a Dockerfile into [`dockerfile::Step`]s with Docker's error texts
//!   ([`dockerfile::ParseError`]: `Dockerfile parse error line 3: unknown instruction: FOO`);
//! - [`words`]: Docker's `$VAR` / `${VAR:-default}` substitution and quote removal;
//! - [`executor`]: runs the steps ([`plan`] / [`plan_from_context`]) into a [`BuildPlan`]:
//!   one [`StepPlan`] per instruction with the stream messages Docker 17.06 prints (`Step 1/2
//!   : FROM nginx:latest`, ` ---> Running in …`, the RUN's output, `Removing intermediate
//!   container …`), the CPU work it costs in MHz·s and the virtual time it sleeps, then the
//!   [`BuiltImage`] (an [`ImageConfig`] plus labels, user, layers, config JSON);
//! - [`packages`]: what RUN prints and costs for package managers and other programs outside
//!   the emulated BusyBox set ([`crate::process`] runs the emulated ones for real).
//!
//! The caller (the DCH's HTTP side) spends the plan's total `cpu_mhz_s` on its containerVM
//! under the contention model, then sends every step's messages and the plan's `trailer`
//! (warnings, `Successfully built`, `Successfully tagged`, or the error) at once. Not paced
//! yet: each step's own output time, and `sleep_ms` (a RUN's `sleep`), which costs no
//! virtual time.

pub mod context;
pub mod dockerfile;
pub mod executor;
pub mod packages;
mod run;
mod stage;
pub mod words;

use std::collections::{BTreeMap, BTreeSet};

use crate::image_content::LayerBlob;
use crate::images::ImageConfig;

pub use executor::{plan, plan_from_context};

/// One JSON object of the `POST /build` response stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamMessage {
    /// `{"stream": "…"}`: output text (lines end with `\n`).
    Stream(String),
    /// `{"errorDetail": {"code"?, "message"}, "error": "…"}`: the build failed.
    Error {
        /// The message.
        message: String,
        /// An exit status (a failed RUN).
        code: Option<i32>,
    },
}

impl StreamMessage {
    /// The JSON object Docker writes, on one line without the trailing newline.
    pub fn to_json(&self) -> String {
        let value = match self {
            StreamMessage::Stream(text) => serde_json::json!({ "stream": text }),
            StreamMessage::Error {
                message,
                code: Some(code),
            } => serde_json::json!({
                "errorDetail": { "code": code, "message": message },
                "error": message,
            }),
            StreamMessage::Error {
                message,
                code: None,
            } => serde_json::json!({
                "errorDetail": { "message": message },
                "error": message,
            }),
        };
        value.to_string()
    }

    /// Text on the daemon's stderr, which Docker 17.06 wraps in red for the terminal.
    pub fn stderr(text: &str) -> StreamMessage {
        StreamMessage::Stream(format!("\u{1b}[91m{text}\u{1b}[0m"))
    }
}

/// What `POST /build` asks for (its query parameters, parsed by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// `t` (repeatable): tags for the result.
    pub tags: Vec<String>,
    /// `dockerfile`: path of the Dockerfile in the context.
    pub dockerfile_path: String,
    /// `buildargs`: values by name (`null` in the JSON is `None`: the arg counts as given but
    /// unset).
    pub build_args: BTreeMap<String, Option<String>>,
    /// `labels`: added as a last LABEL step, as Docker does.
    pub labels: BTreeMap<String, String>,
    /// `q`: only the image id is printed.
    pub quiet: bool,
    /// `nocache`: ignore [`BuildOptions::cached_image_ids`].
    pub nocache: bool,
    /// `rm` (default true): intermediate containers are removed after a successful step.
    pub remove_intermediate: bool,
    /// Image ids the daemon already has: a step whose result is among them prints
    /// ` ---> Using cache` and costs nothing (ids are content-derived, so this is Docker's
    /// cache rule).
    pub cached_image_ids: BTreeSet<String>,
    /// Creation time stamped on the new image (RFC 3339, from the virtual clock); empty:
    /// the base image's.
    pub created: String,
    /// The virtual clock at the start of the build, Unix seconds (`date` in a RUN).
    pub clock_unix_s: i64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            tags: Vec::new(),
            dockerfile_path: "Dockerfile".into(),
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            quiet: false,
            nocache: false,
            remove_intermediate: true,
            cached_image_ids: BTreeSet::new(),
            created: String::new(),
            clock_unix_s: 0,
        }
    }
}

/// A base image as the resolver returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImage {
    /// Its configuration.
    pub config: ImageConfig,
    /// Its layers' diff ids (`sha256:…`), bottom first.
    pub diff_ids: Vec<String>,
    /// Its layers' content, bottom first (the same order as `diff_ids`).
    pub layers: Vec<LayerBlob>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its `User`.
    pub user: String,
    /// Lines to print under its FROM step (a pull's progress, when the caller pulled it).
    pub pull_output: Vec<String>,
}

impl BaseImage {
    /// A catalogue image: one emulated layer standing for its file system
    /// ([`crate::image_content::catalogue_layer`]), no labels, root.
    pub fn from_config(config: ImageConfig) -> BaseImage {
        let layer = crate::image_content::catalogue_layer(&config);
        // The id a DCH shows for it: its content's.
        let id = crate::image_content::catalogue_content(&config).id();
        BaseImage {
            config: ImageConfig { id, ..config },
            diff_ids: vec![layer.diff_id.clone()],
            layers: vec![layer],
            labels: BTreeMap::new(),
            user: String::new(),
            pull_output: Vec::new(),
        }
    }
}

/// A layer a step adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// `sha256:<64 hex>` over a canonical form of what the step adds.
    pub diff_id: String,
    /// Bytes it adds (COPY: the files; RUN: the packages model's estimate).
    pub size_bytes: u64,
    /// The history entry (`/bin/sh -c apt-get update`).
    pub created_by: String,
    /// Its content (`blob.diff_id == diff_id`).
    pub blob: LayerBlob,
}

/// One step of a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepPlan {
    /// 1-based.
    pub number: usize,
    /// The instruction as printed (`RUN apt-get update && apt-get upgrade -y`).
    pub instruction: String,
    /// Messages to emit once the step's work is done.
    pub output: Vec<StreamMessage>,
    /// CPU work of the step.
    pub cpu_mhz_s: u64,
    /// Virtual time the step sleeps besides its CPU work (`sleep` in an emulated RUN).
    pub sleep_ms: u64,
    /// The image after the step (`sha256:…`), if it succeeded and made one.
    pub image_id: Option<String>,
    /// The layer it added.
    pub layer: Option<Layer>,
    /// Whether the cache answered it.
    pub cached: bool,
    /// Notes for the caller's log (not for the client): programs not emulated, archives
    /// not extracted, ignored flags.
    pub notes: Vec<String>,
}

/// The image a build made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltImage {
    /// Its configuration as the image catalogue holds one (repository/tag: the first tag,
    /// or `<none>`).
    pub config: ImageConfig,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `User`.
    pub user: String,
    /// `StopSignal`, when set.
    pub stop_signal: Option<String>,
    /// All layers' diff ids, base first.
    pub diff_ids: Vec<String>,
    /// The layers this build added (final stage).
    pub layers: Vec<Layer>,
    /// Every layer's content, base first (what a push uploads).
    pub blobs: Vec<LayerBlob>,
    /// The canonical config JSON whose sha256 is the id.
    pub config_json: String,
    /// Tags, normalised (`nginx:patched`), de-duplicated.
    pub tags: Vec<String>,
}

impl BuiltImage {
    /// The image's content: its config JSON over every layer.
    pub fn content(&self) -> crate::image_content::ImageContent {
        crate::image_content::ImageContent {
            config_json: bytes::Bytes::from(self.config_json.clone()),
            layers: self.blobs.clone(),
        }
    }
}

/// A whole build, ready for the caller to pace and emit.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BuildPlan {
    /// Steps in order (a failed build ends with the failing step).
    pub steps: Vec<StepPlan>,
    /// Messages after the last step: warnings, `Successfully built/tagged`, the quiet
    /// mode's image id, or the error.
    pub trailer: Vec<StreamMessage>,
    /// The result, when the build succeeded.
    pub image: Option<BuiltImage>,
    /// The error message, when it failed.
    pub error: Option<String>,
    /// Notes for the caller's log.
    pub notes: Vec<String>,
}

impl BuildPlan {
    /// Total CPU work of all steps.
    pub fn total_cpu_mhz_s(&self) -> u64 {
        self.steps.iter().map(|s| s.cpu_mhz_s).sum()
    }

    /// Every message in emission order.
    pub fn messages(&self) -> impl Iterator<Item = &StreamMessage> {
        self.steps
            .iter()
            .flat_map(|s| s.output.iter())
            .chain(self.trailer.iter())
    }

    /// The response body: one JSON object per line.
    pub fn json_lines(&self) -> String {
        self.messages().map(|m| m.to_json() + "\r\n").collect()
    }

    /// The plain text a terminal shows (stream texts concatenated, errors on their own
    /// line).
    pub fn text(&self) -> String {
        self.messages()
            .map(|m| match m {
                StreamMessage::Stream(t) => t.clone(),
                StreamMessage::Error { message, .. } => format!("{message}\n"),
            })
            .collect()
    }
}

/// Lowercase hex sha256 (the registry's [`registry::Digest`] without its `sha256:`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    registry::Digest::of(bytes).hex().to_owned()
}

/// The 12-hex short form of an id (`sha256:` dropped).
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}
