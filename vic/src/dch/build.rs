//! `POST /build` on the DCH: the legacy builder's API (API ≤ 1.26, what the docker CLI uses
//! without BuildKit) over [`crate::build`]. The body is the build context as a tar stream
//! (gzip allowed); the query carries `t` (repeatable), `dockerfile`, `buildargs` and
//! `labels` (JSON maps), `q`, `nocache` and `rm`. Base images come from this DCH's images
//! or, as dockerd pulls a missing `FROM`, from the testbed's catalogue (and then stay in
//! the DCH). The answer is the JSON-lines stream dockerd writes; the built image is stored
//! under its tags.
//!
//! Emulated: the build's CPU work (each step's `cpu_mhz_s`, see `crate::build::packages`)
//! is spent on the DCH's containerVM through its [`crate::workload::meter::WorkMeter`]
//! before the answer goes out: one busy vCPU at the rate the contention model grants it,
//! so a build under a tight VCH limit answers later in virtual time. The answer carries that
//! virtual duration in the `vicbed-build-virtual-ms` header.

use super::images::Pulled;
use super::{Answer, Dch, error, json_answer, percent_decode};
use crate::build::context::{ContextLimits, read_context};
use crate::build::{BaseImage, BuildOptions, plan_from_context};
use crate::images::Reference;
use hyper::StatusCode;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Every value of `key` in a raw query string, in order (`t` may repeat).
fn all_values(query: Option<&str>, key: &str) -> Vec<String> {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k) == key).then(|| percent_decode(v))
        })
        .filter(|v| !v.is_empty())
        .collect()
}

fn truthy(q: &BTreeMap<String, String>, key: &str, default: bool) -> bool {
    match q.get(key).map(String::as_str) {
        None | Some("") => default,
        Some(v) => matches!(v, "1" | "true" | "True"),
    }
}

/// A JSON map parameter (`buildargs`, `labels`): absent or empty is an empty map.
fn json_map(
    q: &BTreeMap<String, String>,
    key: &str,
) -> Result<BTreeMap<String, Option<String>>, Answer> {
    match q.get(key).map(String::as_str) {
        None | Some("") => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str::<BTreeMap<String, Option<String>>>(text).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                &format!("invalid {key} parameter: {e}"),
            )
        }),
    }
}

impl Dch {
    /// `POST /build` with `context` (the request body).
    pub(super) fn build(&self, query: Option<&str>, context: &[u8]) -> Built {
        self.build_inner(query, context)
            .unwrap_or_else(|refused| Built {
                answer: refused,
                cpu_mhz_s: 0,
                image: None,
            })
    }

    /// Keeps a finished build's image under its tags (once its CPU was spent: an image
    /// does not show in `docker images` while its build still runs).
    pub(super) fn keep(&self, image: Option<(Vec<String>, Pulled)>) {
        if let Some((tags, p)) = image {
            let mut store = self.store();
            for t in &tags {
                store.insert(t, p.clone());
            }
        }
    }

    fn build_inner(&self, query: Option<&str>, context: &[u8]) -> Result<Built, Answer> {
        let q = super::parse_query(query);
        let build_args = json_map(&q, "buildargs")?;
        let labels = json_map(&q, "labels")?
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
        let tags = all_values(query, "t");
        for t in &tags {
            if Reference::parse(t).is_none() {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Error parsing reference: {t:?} is not a valid repository/tag: invalid reference format"
                    ),
                ));
            }
        }
        let ctx = match read_context(context, &ContextLimits::default()) {
            Ok(c) => c,
            Err(e) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    &format!("Error processing tar file: {e}"),
                ));
            }
        };
        let cached_image_ids = if truthy(&q, "nocache", false) {
            Default::default()
        } else {
            self.store().ids()
        };
        let opts = BuildOptions {
            tags,
            dockerfile_path: q
                .get("dockerfile")
                .filter(|d| !d.is_empty())
                .cloned()
                .unwrap_or_else(|| "Dockerfile".to_owned()),
            build_args,
            labels,
            quiet: truthy(&q, "q", false),
            nocache: truthy(&q, "nocache", false),
            remove_intermediate: truthy(&q, "rm", true),
            cached_image_ids,
            ..BuildOptions::default()
        };
        // Bases this DCH has, else the catalogue's (pulled, as dockerd pulls a missing FROM).
        let pulled: RefCell<Vec<(String, Pulled)>> = RefCell::new(Vec::new());
        let plan = {
            let store = self.store();
            let resolve = |name: &str| -> Option<BaseImage> {
                if let Some(p) = store.get(name) {
                    return Some(BaseImage {
                        config: p.config.clone(),
                        diff_ids: p.content.diff_ids(),
                        layers: p.content.layers.clone(),
                        labels: p.content.labels(),
                        user: p.content.user(),
                        pull_output: Vec::new(),
                    });
                }
                let img = self.catalogue.resolve(name)?;
                let canonical = Reference::parse(name).map(|r| r.canonical())?;
                pulled
                    .borrow_mut()
                    .push((canonical, Pulled::from_catalogue(img)));
                Some(BaseImage::from_config(img.clone()))
            };
            plan_from_context(&ctx.files, &opts, &resolve)
        };
        let mut store = self.store();
        for (reference, p) in pulled.into_inner() {
            store.insert(&reference, p);
        }
        drop(store);
        let image = plan.image.as_ref().map(|img| {
            (
                img.tags.clone(),
                Pulled::from_content(img.config.clone(), img.content()),
            )
        });
        Ok(Built {
            answer: json_answer(StatusCode::OK, plan.json_lines()),
            cpu_mhz_s: plan.total_cpu_mhz_s(),
            image,
        })
    }
}

/// What `POST /build` made: the answer, the CPU work (MHz·s) its steps cost, which the
/// caller spends on the containerVM before answering, and the image to keep under its tags
/// once that is done ([`Dch::keep`]).
pub(super) struct Built {
    pub(super) answer: Answer,
    pub(super) cpu_mhz_s: u64,
    pub(super) image: Option<(Vec<String>, Pulled)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dch::Host;
    use crate::images::Catalogue;

    /// A one-file tar archive (ustar) holding `name` with `content`.
    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, content) in files {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[100..107].copy_from_slice(b"0000644");
            h[108..115].copy_from_slice(b"0000000");
            h[116..123].copy_from_slice(b"0000000");
            let size = format!("{:011o}", content.len());
            h[124..135].copy_from_slice(size.as_bytes());
            h[136..147].copy_from_slice(b"00000000000");
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
            h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(content.as_bytes());
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    #[test]
    fn builds_the_seed_image_and_keeps_it_under_its_tag() {
        let dch = Dch::new(Host::default(), Catalogue::builtin());
        let ctx = tar_of(&[(
            "Dockerfile",
            "FROM nginx:latest\nRUN apt-get update && apt-get upgrade -y\n",
        )]);
        let q = "t=registry.corp.local%2Fjustait%2Fnginx%3Apatched&rm=1";
        let built = dch.build(Some(q), &ctx);
        assert!(
            dch.store()
                .get("registry.corp.local/justait/nginx:patched")
                .is_none(),
            "not kept before its CPU is spent"
        );
        dch.keep(built.image);
        let a = built.answer;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(
            a.body.contains("Step 1/2 : FROM nginx:latest"),
            "{}",
            a.body
        );
        assert!(
            a.body
                .contains("Successfully tagged registry.corp.local/justait/nginx:patched"),
            "{}",
            a.body
        );
        let store = dch.store();
        let built = store
            .get("registry.corp.local/justait/nginx:patched")
            .expect("tagged");
        assert_eq!(built.config.cmd, ["nginx", "-g", "daemon off;"]);
        assert!(store.get("nginx:latest").is_some(), "the base was pulled");
        drop(store);
        // The same build again gives the same image.
        let again = dch.build(Some(q), &ctx);
        let id = |body: &str| {
            body.split("Successfully built ")
                .nth(1)
                .map(|s| s[..12].to_owned())
        };
        assert_eq!(id(&a.body), id(&again.answer.body));
    }

    #[test]
    fn bad_input_is_refused_with_docker_words() {
        let dch = Dch::new(Host::default(), Catalogue::builtin());
        let ctx = tar_of(&[("Dockerfile", "FROM busybox\nFOO bar\n")]);
        let a = dch.build(None, &ctx).answer;
        assert!(
            a.body
                .contains("Dockerfile parse error line 2: unknown instruction: FOO"),
            "{}",
            a.body
        );
        let a = dch.build(Some("t=Bad%20Tag"), &ctx).answer;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        let a = dch.build(Some("buildargs=%7Bnot"), &ctx).answer;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        // A context without the Dockerfile: the builder's own error in the stream.
        let a = dch.build(None, &tar_of(&[("other", "x")])).answer;
        assert!(
            a.body
                .contains("Cannot locate specified Dockerfile: Dockerfile"),
            "{}",
            a.body
        );
        // A body that is no tar: the context reader's refusal.
        let mut junk = vec![b'x'; 1024];
        junk.extend_from_slice(&[0; 1024]);
        let a = dch.build(None, &junk).answer;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(a.body.contains("Error processing tar file"), "{}", a.body);
        assert_eq!(all_values(Some("t=a&x=1&t=b&t="), "t"), ["a", "b"]);
    }
}
