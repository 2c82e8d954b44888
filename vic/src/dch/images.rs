//! The DCH's image store: what `docker pull` brought into this one engine, by reference,
//! and the image routes over it (pull, list, inspect, tag, remove).
//!
//! An image's id is, as dockerd forms it, the sha256 of its configuration JSON (here a
//! canonical rendering of the catalogue's [`ImageConfig`]), so the same image pulled into
//! two DCHs has the same id, and a tag shares its image's id.

use super::{Answer, error, json_answer};
use crate::image_content::{ImageContent, catalogue_content};
use crate::image_transfer::{line, pull_progress};
use crate::images::{Catalogue, ImageConfig, Reference};
use hyper::StatusCode;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// An image this engine holds: its configuration, content (config JSON and layers) and
/// content-derived id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    /// `sha256:<64 hex>` of the content's config JSON.
    pub id: String,
    /// The configuration as the engines keep one.
    pub config: ImageConfig,
    /// The bytes a push uploads.
    pub content: ImageContent,
}

impl Pulled {
    /// A catalogue image, with its emulated content ([`catalogue_content`]).
    pub fn from_catalogue(img: &ImageConfig) -> Pulled {
        let content = catalogue_content(img);
        // One id everywhere: the content's (what `docker images` and a build's FROM show).
        let config = ImageConfig {
            id: content.id(),
            ..img.clone()
        };
        Pulled {
            id: content.id(),
            config,
            content,
        }
    }

    /// An image from its content (a build's result, a registry pull).
    pub fn from_content(config: ImageConfig, content: ImageContent) -> Pulled {
        Pulled {
            id: content.id(),
            config,
            content,
        }
    }
}

/// `sha256:` + the hex sha256 of a catalogue image's configuration JSON.
pub fn content_id(img: &ImageConfig) -> String {
    catalogue_content(img).id()
}

/// One DCH's images, by canonical reference (`busybox:latest`).
#[derive(Debug, Default)]
pub struct Store {
    by_ref: BTreeMap<String, Pulled>,
}

impl Store {
    /// How many distinct images (ids) there are.
    pub fn image_count(&self) -> usize {
        let mut ids: Vec<&str> = self.by_ref.values().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The image `name` means: a reference, or an id (full, `sha256:`-prefixed or a unique
    /// prefix of at least one hex digit), as dockerd resolves it.
    fn find(&self, name: &str) -> Option<(&Pulled, bool)> {
        if let Some(r) = Reference::parse(name)
            && let Some(p) = self.by_ref.get(&r.canonical())
        {
            return Some((p, true));
        }
        let hex = name.trim_start_matches("sha256:");
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let mut hits = self
            .by_ref
            .values()
            .filter(|p| p.id.trim_start_matches("sha256:").starts_with(hex));
        let first = hits.next()?;
        hits.all(|p| p.id == first.id).then_some((first, false))
    }

    /// The image `name` (a reference or an id) means.
    pub fn get(&self, name: &str) -> Option<&Pulled> {
        self.find(name).map(|(p, _)| p)
    }

    /// Stores `p` under `reference` (a built image's tag, a base a build pulled).
    pub fn insert(&mut self, reference: &str, p: Pulled) {
        let key =
            Reference::parse(reference).map_or_else(|| reference.to_owned(), |r| r.canonical());
        self.by_ref.insert(key, p);
    }

    /// Whether any image held has the layer `diff_id` (a pull shows it `Already exists`).
    pub fn has_layer(&self, diff_id: &str) -> bool {
        self.by_ref
            .values()
            .any(|p| p.content.layers.iter().any(|l| l.diff_id == diff_id))
    }

    /// Every reference of repository `repo_name` (`registry.corp.local/justait/nginx`),
    /// with its image: what `docker push` without a tag pushes.
    pub fn tags_of(&self, repo_name: &str) -> Vec<(String, Pulled)> {
        self.by_ref
            .iter()
            .filter(|(r, _)| {
                r.rsplit_once(':')
                    .is_some_and(|(repo, _)| repo == repo_name)
            })
            .map(|(r, p)| (r.clone(), p.clone()))
            .collect()
    }

    /// Every image id held (a build's cache may reuse them).
    pub fn ids(&self) -> std::collections::BTreeSet<String> {
        self.by_ref.values().map(|p| p.id.clone()).collect()
    }

    fn refs_of(&self, id: &str) -> Vec<String> {
        self.by_ref
            .iter()
            .filter(|(_, p)| p.id == id)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// `POST /images/create?fromImage=&tag=`: the progress lines dockerd streams, or its
    /// error for an image the catalogue does not have.
    pub fn pull(&mut self, catalogue: &Catalogue, q: &BTreeMap<String, String>) -> Answer {
        if q.contains_key("fromSrc") {
            return super::not_implemented("docker import");
        }
        let Some(r) = pull_reference(q) else {
            return error(StatusCode::BAD_REQUEST, "invalid reference format");
        };
        let canonical = r.canonical();
        let Some(img) = catalogue.resolve(&canonical) else {
            return error(
                StatusCode::NOT_FOUND,
                &format!(
                    "repository {} not found: does not exist or no pull access",
                    r.repo_name()
                ),
            );
        };
        let pulled = Pulled::from_catalogue(img);
        let up_to_date = self
            .by_ref
            .get(&canonical)
            .is_some_and(|p| p.id == pulled.id);
        // An image it has already: the manifest only, no layer lines (as dockerd).
        let mut out = pull_progress(
            &remote(&r),
            &r.tag,
            &pulled.content,
            &pulled.content.manifest_digest(),
            up_to_date,
            &|diff_id: &str| self.has_layer(diff_id),
        );
        let status = if up_to_date {
            format!("Status: Image is up to date for {canonical}")
        } else {
            self.by_ref.insert(canonical.clone(), pulled);
            format!("Status: Downloaded newer image for {canonical}")
        };
        out.push_str(&line(&json!({ "status": status })));
        json_answer(StatusCode::OK, out)
    }

    /// `GET /images/json`: one entry per image id with all its tags, newest first. Of the
    /// filters, `reference` and `dangling` are understood.
    pub fn list(&self, q: &BTreeMap<String, String>) -> Answer {
        let filters: BTreeMap<String, BTreeMap<String, bool>> =
            match q.get("filters").map(String::as_str).unwrap_or("") {
                "" => BTreeMap::new(),
                text => match serde_json::from_str(text) {
                    Ok(f) => f,
                    Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
                },
            };
        let mut wanted_refs: Vec<&str> = Vec::new();
        for (key, values) in &filters {
            match key.as_str() {
                "reference" => wanted_refs.extend(values.keys().map(String::as_str)),
                // Every image here is tagged: `dangling=false` keeps all, `true` none.
                "dangling" => {
                    if values.contains_key("true") || values.contains_key("1") {
                        return json_answer(StatusCode::OK, "[]".to_owned());
                    }
                }
                "before" | "since" | "label" => {
                    return super::not_implemented(&format!("the images filter {key:?}"));
                }
                other => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!("Invalid filter '{other}'"),
                    );
                }
            }
        }
        let mut by_id: BTreeMap<&str, (&Pulled, Vec<String>)> = BTreeMap::new();
        for (r, p) in &self.by_ref {
            let matches = wanted_refs.is_empty()
                || wanted_refs.iter().any(|w| {
                    let repo = r.rsplit_once(':').map_or(r.as_str(), |(repo, _)| repo);
                    *w == r
                        || *w == repo
                        || Reference::parse(w).is_some_and(|x| x.canonical() == *r)
                });
            if matches {
                by_id
                    .entry(&p.id)
                    .or_insert_with(|| (p, Vec::new()))
                    .1
                    .push(r.clone());
            }
        }
        let mut list: Vec<Json> = by_id
            .into_values()
            .map(|(p, tags)| {
                json!({
                    "Id": p.id,
                    "ParentId": "",
                    "RepoTags": tags,
                    "RepoDigests": [],
                    "Created": created_s(&p.config),
                    "Size": p.config.size_bytes,
                    "VirtualSize": p.config.size_bytes,
                    "SharedSize": -1,
                    "Labels": p.content.labels(),
                    "Containers": -1,
                })
            })
            .collect();
        list.sort_by_key(|v| std::cmp::Reverse(v["Created"].as_i64().unwrap_or(0)));
        json_answer(StatusCode::OK, Json::Array(list).to_string())
    }

    /// `GET /images/{name}/json`.
    pub fn inspect(&self, name: &str) -> Answer {
        let Some((p, _)) = self.find(name) else {
            return no_such_image(name);
        };
        let c = &p.config;
        let doc: Json = serde_json::from_slice(&p.content.config_json).unwrap_or(Json::Null);
        let config = json!({
            "Hostname": "", "Domainname": "", "User": p.content.user(),
            "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
            "Tty": false, "OpenStdin": false, "StdinOnce": false,
            "Env": c.env,
            "Cmd": if c.cmd.is_empty() { Json::Null } else { json!(c.cmd) },
            "Entrypoint": if c.entrypoint.is_empty() { Json::Null } else { json!(c.entrypoint) },
            "ExposedPorts": doc.pointer("/config/ExposedPorts").cloned().unwrap_or(Json::Null),
            "Volumes": doc.pointer("/config/Volumes").cloned().unwrap_or(Json::Null),
            "WorkingDir": c.working_dir,
            "Image": "", "OnBuild": null, "Labels": p.content.labels(),
        });
        let body = json!({
            "Id": p.id,
            "RepoTags": self.refs_of(&p.id),
            "RepoDigests": [],
            "Parent": "",
            "Comment": "",
            "Created": c.created,
            "Container": "",
            "ContainerConfig": config.clone(),
            "DockerVersion": "",
            "Author": "",
            "Config": config,
            "Architecture": "amd64",
            "Os": "linux",
            "Size": c.size_bytes,
            "VirtualSize": c.size_bytes,
            "GraphDriver": {"Name": "overlay2", "Data": null},
            "RootFS": {"Type": "layers", "Layers": p.content.diff_ids()},
        });
        json_answer(StatusCode::OK, body.to_string())
    }

    /// `POST /images/{name}/tag?repo=&tag=`: 201 with no body.
    pub fn tag(&mut self, name: &str, q: &BTreeMap<String, String>) -> Answer {
        let Some((p, _)) = self.find(name) else {
            return no_such_image(name);
        };
        let p = p.clone();
        let repo = q.get("repo").map(String::as_str).unwrap_or("");
        let tag = q
            .get("tag")
            .map(String::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or("latest");
        let Some(r) = Reference::parse(&format!("{repo}:{tag}")) else {
            return error(StatusCode::BAD_REQUEST, "invalid reference format");
        };
        self.by_ref.insert(r.canonical(), p);
        super::answer(StatusCode::CREATED, "", String::new())
    }

    /// `DELETE /images/{name}?force=`: a reference with other references left is only
    /// untagged; the last one (or an id) deletes the image. An id with several references
    /// needs `force`, as with dockerd.
    pub fn delete(&mut self, name: &str, q: &BTreeMap<String, String>) -> Answer {
        let Some((p, by_reference)) = self.find(name) else {
            return no_such_image(name);
        };
        let id = p.id.clone();
        let refs = self.refs_of(&id);
        let force = q
            .get("force")
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True"));
        let mut out: Vec<Json> = Vec::new();
        if by_reference && refs.len() > 1 {
            if let Some(r) = Reference::parse(name).map(|r| r.canonical()) {
                self.by_ref.remove(&r);
                out.push(json!({ "Untagged": r }));
            }
            return json_answer(StatusCode::OK, Json::Array(out).to_string());
        }
        if !by_reference && refs.len() > 1 && !force {
            return error(
                StatusCode::CONFLICT,
                &format!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    crate::build::short_id(&id)
                ),
            );
        }
        for r in refs {
            self.by_ref.remove(&r);
            out.push(json!({ "Untagged": r }));
        }
        out.push(json!({ "Deleted": id }));
        json_answer(StatusCode::OK, Json::Array(out).to_string())
    }
}

/// The reference `POST /images/create?fromImage=&tag=` asks for (`fromImage` may carry
/// the tag itself; `tag` is added only when it does not).
pub fn pull_reference(q: &BTreeMap<String, String>) -> Option<Reference> {
    let from = q.get("fromImage").map(String::as_str).unwrap_or("");
    let tag = q.get("tag").map(String::as_str).unwrap_or("");
    let has_tag = from
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'));
    let text = if tag.is_empty() || has_tag {
        from.to_owned()
    } else {
        format!("{from}:{tag}")
    };
    Reference::parse(&text)
}

/// The repository as the registry knows it (`library/busybox` for official images).
fn remote(r: &Reference) -> String {
    match (&r.registry, r.repository.contains('/')) {
        (None, false) => format!("library/{}", r.repository),
        _ => r.repository.clone(),
    }
}

fn created_s(img: &ImageConfig) -> i64 {
    vcsim::vmodl::parse_datetime(&img.created).unwrap_or(0) / 1000
}

fn no_such_image(name: &str) -> Answer {
    let shown = Reference::parse(name).map_or_else(|| name.to_owned(), |r| r.canonical());
    error(StatusCode::NOT_FOUND, &format!("No such image: {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn body(a: &Answer) -> String {
        a.body.clone()
    }

    #[test]
    fn pull_tag_list_and_remove() {
        let cat = Catalogue::builtin();
        let mut s = Store::default();
        let a = s.pull(
            &cat,
            &q(&[
                ("fromImage", "docker.io/library/busybox"),
                ("tag", "latest"),
            ]),
        );
        assert_eq!(a.status, StatusCode::OK);
        assert!(
            body(&a).contains("Pulling from library/busybox"),
            "{}",
            body(&a)
        );
        assert!(body(&a).contains("Status: Downloaded newer image for busybox:latest"));
        let again = s.pull(&cat, &q(&[("fromImage", "busybox:latest")]));
        assert!(body(&again).contains("Image is up to date for busybox:latest"));

        let busybox = cat.resolve("busybox").unwrap();
        let id = content_id(busybox);
        assert_eq!(id.len(), 71);
        assert_eq!(id, content_id(busybox), "deterministic");

        let t = s.tag(
            "busybox",
            &q(&[
                ("repo", "registry.corp.local/justait/busybox"),
                ("tag", "1"),
            ]),
        );
        assert_eq!(t.status, StatusCode::CREATED);
        assert_eq!(s.image_count(), 1);
        let list: Json = serde_json::from_str(&body(&s.list(&q(&[])))).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["Id"], id.as_str());
        assert_eq!(
            list[0]["RepoTags"],
            json!(["busybox:latest", "registry.corp.local/justait/busybox:1"])
        );
        let filtered = s.list(&q(&[("filters", r#"{"reference":{"busybox":true}}"#)]));
        let filtered: Json = serde_json::from_str(&body(&filtered)).unwrap();
        assert_eq!(filtered[0]["RepoTags"], json!(["busybox:latest"]));

        let inspect: Json =
            serde_json::from_str(&body(&s.inspect(crate::build::short_id(&id)))).unwrap();
        assert_eq!(inspect["Id"], id.as_str());
        assert_eq!(inspect["Config"]["Cmd"], json!(["sh"]));

        // An id with two references needs force; a reference is only untagged.
        assert_eq!(s.delete(&id, &q(&[])).status, StatusCode::CONFLICT);
        let d = s.delete("busybox", &q(&[]));
        assert_eq!(body(&d), r#"[{"Untagged":"busybox:latest"}]"#);
        let d = s.delete("registry.corp.local/justait/busybox:1", &q(&[]));
        assert!(
            body(&d).contains(&format!(r#"{{"Deleted":"{id}"}}"#)),
            "{}",
            body(&d)
        );
        assert_eq!(s.image_count(), 0);
        assert_eq!(s.delete("busybox", &q(&[])).status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn unknown_and_malformed_images_are_refused() {
        let cat = Catalogue::builtin();
        let mut s = Store::default();
        let a = s.pull(
            &cat,
            &q(&[("fromImage", "nope/nothing"), ("tag", "latest")]),
        );
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert!(
            body(&a)
                .contains("repository nope/nothing not found: does not exist or no pull access"),
            "{}",
            body(&a)
        );
        let a = s.pull(&cat, &q(&[("fromImage", "Bad Name")]));
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        let t = s.tag("busybox", &q(&[("repo", "x")]));
        assert_eq!(t.status, StatusCode::NOT_FOUND);
        assert!(body(&t).contains("No such image: busybox:latest"));
        assert_eq!(
            s.list(&q(&[("filters", "{")])).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            s.list(&q(&[("filters", r#"{"bogus":{"x":true}}"#)])).status,
            StatusCode::BAD_REQUEST
        );
    }
}
