//! The build executor: a pure state machine from a parsed Dockerfile, a context, build args
//! and a base-image resolver to a [`BuildPlan`].
//!
//! Output follows Docker 17.06's legacy builder (the daemon of `vmware/dch-photon:17.06`):
//! `Step i/n : TEXT`; FROM prints the base's short id; a RUN or metadata step prints
//! ` ---> Running in <container>`, its output, ` ---> <image>`, then `Removing intermediate
//! container <container>` (with `rm`); COPY/ADD print no `Running in`. An instruction before
//! any FROM fails with that era's `Please provide a source image with `from` prior to
//! commit` (`… prior to run` for RUN); 17.10+ daemons say `No build stage in current
//! context` instead.
//!
//! Ids are content-derived: a layer's diff id is the sha256 of its tar
//! ([`crate::image_content`]: COPY: the copied files; RUN: an emulated note of the parent
//! image id and the command with its build args); an image id is the sha256 of its canonical config
//! JSON (config, parent, layer diff ids, history); a step's container id is the sha256 of
//! its parent image id and command.
//!
//! # CPU costs (our assumptions)
//! Each step that makes a container costs [`COMMIT_CPU_MHZ_S`] (create + commit); COPY/ADD add
//! [`COPY_CPU_MHZ_S_PER_MIB`] per MiB copied (rounded up); RUN adds what
//! [`super::packages`] charges (the emulated BusyBox commands are free). FROM, a meta ARG and
//! a cached step cost nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::images::Reference;
use crate::process::Context;

use super::context::{self, ContextFiles};
use super::dockerfile::{self, CommandForm, CopySpec, Dockerfile, Instruction, Step};
use super::stage::{Stage, built_image, join_path, parse_ports, quoted_list};
use super::words::{self, lookup};
use super::{
    BaseImage, BuildOptions, BuildPlan, Layer, StepPlan, StreamMessage, sha256_hex, short_id,
};

/// Create + commit of one intermediate container.
pub const COMMIT_CPU_MHZ_S: u64 = 10;
/// Copying one MiB into a layer (tar, checksum, write).
pub const COPY_CPU_MHZ_S_PER_MIB: u64 = 4;
/// Build args Docker never reports as unused.
const PREDEFINED_ARGS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A base resolver: image reference → the image, or `None` when it cannot be had.
pub type Resolver<'a> = &'a dyn Fn(&str) -> Option<BaseImage>;

/// The executor's state across steps.
struct Exec<'a> {
    options: &'a BuildOptions,
    context: &'a ContextFiles,
    resolve: Resolver<'a>,
    escape: char,
    meta_args: Vec<(String, Option<String>)>,
    consumed: BTreeSet<String>,
    done: Vec<Stage>,
    cur: Option<Stage>,
    created: String,
}

/// A step failure: the message and, for a failed RUN, its status.
struct Fail(String, Option<i32>);

impl From<words::WordError> for Fail {
    fn from(e: words::WordError) -> Fail {
        Fail(e.to_string(), None)
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, Fail> {
    Err(Fail(message.into(), None))
}

fn container_id(parent: &str, created_by: &str) -> String {
    sha256_hex(format!("vicbed-build-container\0{parent}\0{created_by}").as_bytes())
}

/// Finds the Dockerfile in the context, parses it and builds.
pub fn plan_from_context(
    context: &ContextFiles,
    options: &BuildOptions,
    resolve: Resolver<'_>,
) -> BuildPlan {
    let wanted = context::normalise(&options.dockerfile_path).unwrap_or_default();
    let found = context.get(&wanted).or_else(|| {
        // Docker falls back to `dockerfile` when the default `Dockerfile` is missing.
        (options.dockerfile_path == "Dockerfile")
            .then(|| context.get("dockerfile"))
            .flatten()
    });
    let Some(bytes) = found else {
        return failed(format!(
            "Cannot locate specified Dockerfile: {}",
            options.dockerfile_path
        ));
    };
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        return failed(format!(
            "The Dockerfile ({}) cannot be empty",
            options.dockerfile_path
        ));
    }
    match dockerfile::parse(&text) {
        Ok(file) => plan(&file, context, options, resolve),
        Err(e) => failed(e.to_string()),
    }
}

fn failed(message: String) -> BuildPlan {
    BuildPlan {
        trailer: vec![StreamMessage::Error {
            message: message.clone(),
            code: None,
        }],
        error: Some(message),
        ..BuildPlan::default()
    }
}

/// Builds a parsed Dockerfile.
pub fn plan(
    file: &Dockerfile,
    context: &ContextFiles,
    options: &BuildOptions,
    resolve: Resolver<'_>,
) -> BuildPlan {
    let mut tags: Vec<String> = Vec::new();
    for t in options.tags.iter().filter(|t| !t.is_empty()) {
        match Reference::parse(t) {
            Some(r) if !tags.contains(&r.canonical()) => tags.push(r.canonical()),
            Some(_) => {}
            None => return failed("invalid reference format".into()),
        }
    }
    let mut steps: Vec<Step> = file.steps.clone();
    if !options.labels.is_empty() {
        let pairs: Vec<(String, String)> = options
            .labels
            .iter()
            .map(|(k, v)| (format!("{k:?}"), format!("{v:?}")))
            .collect();
        let text = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        steps.push(Step {
            line: 0,
            text: format!("LABEL {text}"),
            instruction: Instruction::Label(pairs),
        });
    }
    let mut exec = Exec {
        options,
        context,
        resolve,
        escape: file.escape,
        meta_args: Vec::new(),
        consumed: BTreeSet::new(),
        done: Vec::new(),
        cur: None,
        created: options.created.clone(),
    };
    let mut result = BuildPlan {
        notes: file.notes.clone(),
        ..BuildPlan::default()
    };
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let mut sp = StepPlan {
            number: i + 1,
            instruction: step.text.clone(),
            output: vec![StreamMessage::Stream(format!(
                "Step {}/{total} : {}\n",
                i + 1,
                step.text
            ))],
            cpu_mhz_s: 0,
            sleep_ms: 0,
            image_id: None,
            layer: None,
            cached: false,
            notes: Vec::new(),
        };
        let outcome = exec.step(&step.instruction, &mut sp);
        result.steps.push(sp);
        if let Err(Fail(message, code)) = outcome {
            result.trailer.push(StreamMessage::Error {
                message: message.clone(),
                code,
            });
            result.error = Some(message);
            return result;
        }
    }
    exec.finish(result, tags)
}

impl Exec<'_> {
    fn stage(&mut self, what: &str) -> Result<&mut Stage, Fail> {
        match self.cur.as_mut() {
            Some(s) if !s.image_id.is_empty() || s.base.is_none() => Ok(s),
            _ => fail(format!(
                "Please provide a source image with `from` prior to {what}"
            )),
        }
    }

    fn step(&mut self, ins: &Instruction, sp: &mut StepPlan) -> Result<(), Fail> {
        match ins {
            Instruction::From { image, stage } => self.from(image, stage.clone(), sp),
            Instruction::Arg { name, default } if self.cur.is_none() => {
                let env: Vec<(String, String)> = self
                    .meta_args
                    .iter()
                    .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                    .collect();
                let default = match default {
                    Some(d) => Some(words::process_word(d, &env, self.escape)?),
                    None => None,
                };
                let value = self
                    .options
                    .build_args
                    .get(name)
                    .cloned()
                    .unwrap_or(default);
                self.consumed.insert(name.clone());
                self.meta_args.push((name.clone(), value));
                Ok(())
            }
            Instruction::Run(form) => self.run(form, sp),
            Instruction::Copy(spec) => self.copy(spec, sp),
            other => self.metadata(other, sp),
        }
    }

    fn from(&mut self, image: &str, name: Option<String>, sp: &mut StepPlan) -> Result<(), Fail> {
        let env: Vec<(String, String)> = self
            .meta_args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        let image = words::process_word(image, &env, self.escape)?;
        if let Some(prev) = self.cur.take() {
            self.done.push(prev);
        }
        let by_name = self.done.iter().enumerate().find(|(i, s)| {
            s.name.as_deref() == Some(image.to_ascii_lowercase().as_str())
                || image.parse::<usize>().ok() == Some(*i)
        });
        let mut stage = if let Some((_, earlier)) = by_name {
            let mut s = earlier.clone();
            s.name = name;
            s.args.clear();
            s.layers.clear();
            s
        } else if image == "scratch" {
            Stage::from_base(name, None)
        } else {
            let Some(base) = (self.resolve)(&image) else {
                return fail(format!(
                    "repository {} not found: does not exist or no pull access",
                    Reference::parse(&image).map_or(image.clone(), |r| r.repo_name())
                ));
            };
            for line in &base.pull_output {
                sp.output.push(StreamMessage::Stream(format!("{line}\n")));
            }
            Stage::from_base(name, Some(&base))
        };
        stage.history.clear();
        if !stage.image_id.is_empty() {
            sp.output.push(StreamMessage::Stream(format!(
                " ---> {}\n",
                short_id(&stage.image_id)
            )));
            sp.image_id = Some(stage.image_id.clone());
        }
        if self.created.is_empty() {
            self.created = stage
                .base
                .as_ref()
                .map(|b| b.created.clone())
                .unwrap_or_default();
        }
        self.cur = Some(stage);
        Ok(())
    }

    /// Emits a committed step's lines and applies the cache rule.
    fn committed(&self, sp: &mut StepPlan, container: Option<&str>, image_id: &str) {
        let cached = !self.options.nocache && self.options.cached_image_ids.contains(image_id);
        sp.image_id = Some(image_id.to_owned());
        if cached {
            sp.cached = true;
            sp.cpu_mhz_s = 0;
            sp.sleep_ms = 0;
            sp.output.truncate(1);
            sp.output
                .push(StreamMessage::Stream(" ---> Using cache\n".into()));
            sp.output.push(StreamMessage::Stream(format!(
                " ---> {}\n",
                short_id(image_id)
            )));
            return;
        }
        sp.cpu_mhz_s += COMMIT_CPU_MHZ_S;
        sp.output.push(StreamMessage::Stream(format!(
            " ---> {}\n",
            short_id(image_id)
        )));
        if let Some(c) = container
            && self.options.remove_intermediate
        {
            sp.output.push(StreamMessage::Stream(format!(
                "Removing intermediate container {}\n",
                short_id(c)
            )));
        }
    }

    fn metadata(&mut self, ins: &Instruction, sp: &mut StepPlan) -> Result<(), Fail> {
        let escape = self.escape;
        let meta = self.meta_args.clone();
        let build_args = self.options.build_args.clone();
        let stage = self.stage("commit")?;
        let env = stage.word_env();
        let word = |w: &str| words::process_word(w, &env, escape);
        let created_by = match ins {
            Instruction::Env(pairs) => {
                let mut done = Vec::new();
                for (k, v) in pairs {
                    let (k, v) = (word(k)?, word(v)?);
                    done.push(format!("{k}={v}"));
                    stage.set_env(k, v);
                }
                format!("ENV {}", done.join(" "))
            }
            Instruction::Label(pairs) => {
                let mut done = Vec::new();
                for (k, v) in pairs {
                    let (k, v) = (word(k)?, word(v)?);
                    done.push(format!("{k}={v}"));
                    stage.labels.insert(k, v);
                }
                format!("LABEL {}", done.join(" "))
            }
            Instruction::Arg { name, default } => {
                let default = match default {
                    Some(d) => Some(word(d)?),
                    None => lookup_meta(&meta, name),
                };
                let value = build_args.get(name).cloned().unwrap_or(default.clone());
                stage.args.retain(|(k, _)| k != name);
                stage.args.push((name.clone(), value));
                match default {
                    Some(d) => format!("ARG {name}={d}"),
                    None => format!("ARG {name}"),
                }
            }
            Instruction::Expose(items) => {
                for item in items {
                    for w in words::process_words(item, &env, escape)? {
                        for port in parse_ports(&w).map_err(|m| Fail(m, None))? {
                            stage.exposed.insert(port);
                        }
                    }
                }
                let list: Vec<String> = stage
                    .exposed
                    .iter()
                    .map(|(p, proto)| format!("{p}/{}", proto.as_str()))
                    .collect();
                format!("EXPOSE map[{}]", list.join(" "))
            }
            Instruction::Workdir(dir) => {
                let dir = word(dir)?;
                stage.workdir = join_path(&stage.workdir, &dir);
                format!("WORKDIR {}", stage.workdir)
            }
            Instruction::User(user) => {
                stage.user = word(user)?;
                format!("USER {}", stage.user)
            }
            Instruction::Volume(items) => {
                let mut list = Vec::new();
                for item in items {
                    let v = word(item)?;
                    if v.trim().is_empty() {
                        return fail("VOLUME specified can not be an empty string");
                    }
                    if !stage.volumes.contains(&v) {
                        stage.volumes.push(v.clone());
                    }
                    list.push(v);
                }
                format!("VOLUME [{}]", list.join(" "))
            }
            Instruction::Cmd(form) => {
                stage.cmd = form.argv();
                stage.cmd_set = true;
                format!("CMD {}", quoted_list(&stage.cmd))
            }
            Instruction::Entrypoint(form) => {
                stage.entrypoint = form.argv();
                if !stage.cmd_set {
                    // An ENTRYPOINT resets a CMD inherited from the base image.
                    stage.cmd.clear();
                }
                format!("ENTRYPOINT {}", quoted_list(&stage.entrypoint))
            }
            Instruction::Maintainer(who) => {
                stage.author = word(who)?;
                format!("MAINTAINER {}", stage.author)
            }
            Instruction::StopSignal(sig) => {
                let sig = word(sig)?;
                stage.stop_signal = Some(sig.clone());
                format!("STOPSIGNAL {sig}")
            }
            Instruction::From { .. } | Instruction::Run(_) | Instruction::Copy(_) => {
                return fail("vicbed: internal: not a metadata instruction");
            }
        };
        if let Instruction::Arg { name, .. } = ins {
            self.consumed.insert(name.clone());
        }
        let created = self.created.clone();
        let stage = self.stage("commit")?;
        let created_by = format!("/bin/sh -c #(nop)  {created_by}");
        let container = container_id(&stage.image_id, &created_by);
        let id = stage.commit(&created_by, None, &created);
        sp.output.push(StreamMessage::Stream(format!(
            " ---> Running in {}\n",
            short_id(&container)
        )));
        self.committed(sp, Some(&container), &id);
        Ok(())
    }

    fn run(&mut self, form: &CommandForm, sp: &mut StepPlan) -> Result<(), Fail> {
        let clock = self.options.clock_unix_s;
        let created = self.created.clone();
        let stage = self.stage("run")?;
        let argv = form.argv();
        // Build args reach the RUN's environment (ENV wins) and its history entry.
        let args: Vec<(String, String)> = stage
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .filter(|(k, _)| lookup(&stage.env, k).is_none())
            .collect();
        let command = argv.join(" ");
        let created_by = if args.is_empty() {
            command.clone()
        } else {
            let list: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("|{} {} {command}", args.len(), list.join(" "))
        };
        let container = container_id(&stage.image_id, &created_by);
        let mut env = args;
        env.extend(stage.env.iter().cloned());
        let ctx = Context {
            env,
            hostname: short_id(&container).to_owned(),
            files: stage.files.clone(),
            start_unix_s: clock,
            workdir: stage.workdir.clone(),
        };
        sp.output.push(StreamMessage::Stream(format!(
            " ---> Running in {}\n",
            short_id(&container)
        )));
        let outcome = super::run::run_step(&argv, &ctx, &mut stage.pkg);
        for (is_err, text) in &outcome.output {
            sp.output.push(if *is_err {
                StreamMessage::stderr(text)
            } else {
                StreamMessage::Stream(text.clone())
            });
        }
        sp.cpu_mhz_s += outcome.cpu_mhz_s;
        sp.sleep_ms = outcome.sleep_ms;
        sp.notes.extend(outcome.notes);
        if outcome.code != 0 {
            return Err(Fail(
                format!(
                    "The command '{command}' returned a non-zero code: {}",
                    outcome.code
                ),
                Some(outcome.code),
            ));
        }
        // The RUN's layer is emulated: a note of what ran on which parent, and the size the
        // packages model estimated (crate::image_content).
        let note = sha256_hex(format!("run\0{}\0{created_by}", stage.image_id).as_bytes());
        let blob = crate::image_content::emulated_layer(
            &format!("/.vicbed/layers/{}", &note[..16]),
            &format!("RUN {created_by} (on {})", stage.image_id),
            outcome.added_bytes,
        );
        let layer = Layer {
            diff_id: blob.diff_id.clone(),
            size_bytes: outcome.added_bytes,
            created_by: created_by.clone(),
            blob,
        };
        sp.layer = Some(layer.clone());
        let id = stage.commit(&created_by, Some(layer), &created);
        self.committed(sp, Some(&container), &id);
        Ok(())
    }

    fn copy(&mut self, spec: &CopySpec, sp: &mut StepPlan) -> Result<(), Fail> {
        let escape = self.escape;
        let created = self.created.clone();
        let what = if spec.add { "ADD" } else { "COPY" };
        // Sources come from the context, or from an earlier stage's copied files.
        let from_files: Option<ContextFiles> = match &spec.from {
            None => None,
            Some(from) => {
                let from_lc = from.to_ascii_lowercase();
                let found = self.done.iter().enumerate().find(|(i, s)| {
                    s.name.as_deref() == Some(from_lc.as_str())
                        || from.parse::<usize>().ok() == Some(*i)
                });
                match found {
                    Some((_, s)) => Some(
                        s.files
                            .iter()
                            .map(|(k, v)| (k.trim_start_matches('/').to_owned(), v.clone()))
                            .collect(),
                    ),
                    None => {
                        return fail(format!(
                            "vicbed: COPY --from={from}: only earlier build stages are emulated"
                        ));
                    }
                }
            }
        };
        let digest_tag =
            sha256_hex(format!("{:?}", self.context.keys().collect::<Vec<_>>()).as_bytes());
        let context_files = self.context;
        let stage = self.stage("commit")?;
        let env = stage.word_env();
        let files_src: &ContextFiles = from_files.as_ref().unwrap_or(context_files);
        let dest = words::process_word(&spec.dest, &env, escape)?;
        let mut matches = Vec::new();
        for src in &spec.sources {
            let src = words::process_word(src, &env, escape)?;
            if spec.add && (src.starts_with("http://") || src.starts_with("https://")) {
                return fail(format!(
                    "vicbed: ADD of a URL ({src}) is not emulated: the testbed has no network; put the file in the build context and COPY it"
                ));
            }
            let found = context::match_sources(files_src, &src).map_err(|_| {
                Fail(
                    format!("Forbidden path outside the build context: {src} ()"),
                    None,
                )
            })?;
            if found.is_empty() {
                if src.contains(['*', '?', '[']) {
                    return fail(format!("{what} failed: no source files were specified"));
                }
                // Docker names its temporary context directory; ours is derived from it.
                return fail(format!(
                    "{what} failed: stat /var/lib/docker/tmp/docker-builder{}/{}: no such file or directory",
                    &digest_tag[..9],
                    src.trim_start_matches("./").trim_start_matches('/')
                ));
            }
            if spec.add && ARCHIVES.iter().any(|ext| src.ends_with(ext)) {
                sp.notes.push(format!(
                    "vicbed: ADD {src}: local archives are copied as files, not extracted"
                ));
            }
            matches.extend(found);
        }
        let multi = matches.len() > 1;
        if multi && !dest.ends_with('/') {
            return fail(format!(
                "When using {what} with more than one source file, the destination must be a directory and end with a /"
            ));
        }
        let dest_abs = join_path(&stage.workdir, &dest);
        let into_dir = dest.ends_with('/') || multi;
        let mut added: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for m in &matches {
            for (src_path, rel) in &m.files {
                let target = if m.is_dir || into_dir {
                    join_path(&dest_abs, rel)
                } else {
                    dest_abs.clone()
                };
                if let Some(data) = files_src.get(src_path) {
                    added.insert(target, data.clone());
                }
            }
        }
        let chown = spec.chown.clone().unwrap_or_default();
        let mut canonical = String::from("copy\n");
        let mut bytes: u64 = 0;
        for (path, data) in &added {
            bytes = bytes.saturating_add(data.len() as u64);
            canonical.push_str(&format!(
                "{path}\0{chown}\0{}\0{}\n",
                data.len(),
                sha256_hex(data)
            ));
        }
        // The layer holds the copied files themselves.
        let blob = crate::image_content::LayerBlob::from_tar(
            &crate::image_content::layer_tar(added.iter().map(|(p, d)| (p.as_str(), d.as_slice()))),
            bytes,
        );
        // The history names the canonical form (ownership included), as Docker's
        // `COPY file:<digest>` does.
        let diff = sha256_hex(canonical.as_bytes());
        let kind = if matches.len() == 1 && !matches[0].is_dir {
            "file"
        } else if matches.len() == 1 {
            "dir"
        } else {
            "multi"
        };
        let created_by = format!("/bin/sh -c #(nop) {what} {kind}:{diff} in {dest} ");
        let container = container_id(&stage.image_id, &created_by);
        let layer = Layer {
            diff_id: blob.diff_id.clone(),
            size_bytes: bytes,
            created_by: created_by.clone(),
            blob,
        };
        stage.files.extend(added);
        sp.layer = Some(layer.clone());
        sp.cpu_mhz_s += (bytes.saturating_mul(COPY_CPU_MHZ_S_PER_MIB)).div_ceil(1024 * 1024);
        let id = stage.commit(&created_by, Some(layer), &created);
        self.committed(sp, Some(&container), &id);
        Ok(())
    }

    fn finish(mut self, mut result: BuildPlan, tags: Vec<String>) -> BuildPlan {
        let Some(stage) = self.cur.take().filter(|s| !s.image_id.is_empty()) else {
            let message = "No image was generated. Is your Dockerfile empty?".to_owned();
            result.trailer.push(StreamMessage::Error {
                message: message.clone(),
                code: None,
            });
            result.error = Some(message);
            return result;
        };
        let unused: Vec<&str> = self
            .options
            .build_args
            .keys()
            .map(String::as_str)
            .filter(|k| !self.consumed.contains(*k) && !PREDEFINED_ARGS.contains(k))
            .collect();
        if !unused.is_empty() {
            result.trailer.push(StreamMessage::stderr(&format!(
                "[Warning] One or more build-args [{}] were not consumed\n",
                unused.join(" ")
            )));
        }
        let id = stage.image_id.clone();
        if self.options.quiet {
            for s in &mut result.steps {
                s.output.clear();
            }
            result.trailer.clear();
            result
                .trailer
                .push(StreamMessage::Stream(format!("{id}\n")));
        } else {
            result.trailer.push(StreamMessage::Stream(format!(
                "Successfully built {}\n",
                short_id(&id)
            )));
            for t in &tags {
                result
                    .trailer
                    .push(StreamMessage::Stream(format!("Successfully tagged {t}\n")));
            }
        }
        result.image = Some(built_image(stage, tags, &self.created));
        result
    }
}

/// Archive suffixes Docker's ADD would extract.
const ARCHIVES: [&str; 7] = [
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
];

fn lookup_meta(meta: &[(String, Option<String>)], name: &str) -> Option<String> {
    meta.iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.clone())
}

#[cfg(test)]
#[path = "executor_tests.rs"]
mod tests;
