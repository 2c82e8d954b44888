//! Image routes: pull (from a registry the testbed runs, else the built-in catalogue),
//! list, inspect, tag, remove.

use super::api::{Result, ok_json, status};
use super::registry_policy::Access;
use super::routes;
use super::state::{ApiError, Engine};
use super::view::parse_filters;
use crate::image_transfer;
use crate::images::{ImageConfig, Reference};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

pub async fn pull(
    engine: &Engine,
    q: &BTreeMap<String, String>,
    auth: Option<&str>,
) -> Result<Response> {
    if q.contains_key("fromSrc") {
        return Err(ApiError::server(routes::not_implemented("ImportImage")));
    }
    let from = q.get("fromImage").map(String::as_str).unwrap_or("");
    let tag = q.get("tag").map(String::as_str).unwrap_or("");
    let text = if tag.is_empty()
        || Reference::parse(from)
            .is_some_and(|_| from.rsplit('/').next().is_some_and(|l| l.contains(':')))
    {
        from.to_owned()
    } else {
        format!("{from}:{tag}")
    };
    let r = Reference::parse(&text)
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid reference format"))?;
    let canonical = r.canonical();
    // VIC checks every pull against the whitelist first (vic.md §7.3 step 2).
    let registry_host = r.registry.clone().unwrap_or_else(|| "docker.io".to_owned());
    let access = match engine.config.registries.check(&registry_host) {
        Ok(a) => a,
        Err(denied) => return Ok(stream_response(image_transfer::error_line(&denied))),
    };
    if let Some(host) = &r.registry
        && let Some(services) = &engine.config.services
        && services.registries().get(host).is_some()
    {
        return pull_from_registry(engine, &r, host, access, services, auth).await;
    }
    let remote = match (&r.registry, r.repository.contains('/')) {
        (None, false) => format!("library/{}", r.repository),
        _ => r.repository.clone(),
    };
    let mut out = String::new();
    let Some(img) = engine.config.images.resolve(&canonical).cloned() else {
        let msg = format!(
            "repository {} not found: does not exist or no pull access",
            r.repo_name()
        );
        out.push_str(&image_transfer::line(
            &json!({"errorDetail": {"message": msg}, "error": msg}),
        ));
        return Ok(stream_response(out));
    };
    let already = engine.lock().images.contains_key(&canonical);
    let content = crate::image_content::catalogue_content(&img);
    out.push_str(&image_transfer::pull_progress(
        &remote,
        &r.tag,
        &content,
        &content.manifest_digest(),
        already,
        &|_: &str| false,
    ));
    let status = if already {
        format!("Status: Image is up to date for {canonical}")
    } else {
        engine.lock().images.insert(canonical.clone(), img);
        format!("Status: Downloaded newer image for {canonical}")
    };
    out.push_str(&image_transfer::line(&json!({ "status": status })));
    let now = engine.pl.now_ms().await.unwrap_or_default();
    engine
        .events
        .publish(super::events::Event::image("pull", &canonical, now));
    Ok(stream_response(out))
}

/// A pull from a registry the testbed runs, trusted as the VCH's `--registry-ca` and
/// `--insecure-registry` say (vic.md §7.3 steps 3–6): the image's config is what the
/// registry holds (the layers are checked, then dropped: VIC would write them to the
/// image store's disks, which the testbed does not model).
async fn pull_from_registry(
    engine: &Engine,
    r: &Reference,
    host: &str,
    access: Access,
    services: &crate::guestnet::Services,
    auth: Option<&str>,
) -> Result<Response> {
    let trust = image_transfer::Trust {
        ca_pems: engine.config.registries.ca_pems.clone(),
        insecure: match access {
            Access::Insecure => vec![host.to_owned()],
            Access::Secure => Vec::new(),
        },
    };
    let target = match image_transfer::target(
        services.registries(),
        host,
        &trust,
        image_transfer::credentials_from_header(auth),
    ) {
        Ok(t) => t,
        Err(e) => return Ok(stream_response(image_transfer::error_line(&e))),
    };
    let canonical = r.canonical();
    let had = engine.lock().images.get(&canonical).map(|i| i.id.clone());
    let have = |_: &str| false;
    let out = match image_transfer::pull(&target, r, &have).await {
        Ok((pulled, out)) => {
            let status = if had.as_deref() == Some(pulled.config.id.as_str()) {
                format!("Status: Image is up to date for {canonical}")
            } else {
                format!("Status: Downloaded newer image for {canonical}")
            };
            engine
                .lock()
                .images
                .insert(canonical.clone(), pulled.config);
            out + &image_transfer::line(&json!({ "status": status }))
        }
        Err(e) => return Ok(stream_response(image_transfer::error_line(&e))),
    };
    let now = engine.pl.now_ms().await.unwrap_or_default();
    engine
        .events
        .publish(super::events::Event::image("pull", &canonical, now));
    Ok(stream_response(out))
}

fn stream_response(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn created_s(img: &ImageConfig) -> i64 {
    vcsim::vmodl::parse_datetime(&img.created).unwrap_or(0) / 1000
}

/// Whether image `img` (with `tags`) passes `docker images` filters (`dangling`, `label`,
/// `reference`, `before`, `since`), checked by [`image_filters`].
fn image_matches(
    img: &ImageConfig,
    tags: &[String],
    f: &BTreeMap<String, Vec<String>>,
    created: &BTreeMap<&str, i64>,
) -> bool {
    f.iter()
        .filter(|(_, vals)| !vals.is_empty())
        .all(|(k, vals)| match k.as_str() {
            // Every image here has a tag.
            "dangling" => vals.iter().all(|v| v == "false" || v == "0"),
            // `key` or `key=value`, each one required (as dockerd filters labels).
            "label" => vals.iter().all(|v| match v.split_once('=') {
                Some((k, want)) => img.labels.get(k).is_some_and(|have| have == want),
                None => img.labels.contains_key(v.as_str()),
            }),
            "reference" => vals.iter().any(|v| {
                tags.iter().any(|t| {
                    let repo = t.rsplit_once(':').map_or(t.as_str(), |(r, _)| r);
                    t == v || repo == v || Reference::parse(v).is_some_and(|r| r.canonical() == *t)
                })
            }),
            "before" => vals
                .iter()
                .all(|v| created.get(v.as_str()).is_some_and(|t| created_s(img) < *t)),
            "since" => vals
                .iter()
                .all(|v| created.get(v.as_str()).is_some_and(|t| created_s(img) > *t)),
            _ => false,
        })
}

/// Checks `docker images` filters: the keys dockerd knows, `dangling` a boolean, `before`
/// and `since` images that exist. Returns each `before`/`since` image's creation time.
fn image_filters<'a>(
    engine: &Engine,
    f: &'a BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<&'a str, i64>> {
    let mut created = BTreeMap::new();
    for (k, vals) in f {
        match k.as_str() {
            "dangling" => {
                if let Some(v) = vals
                    .iter()
                    .find(|v| !matches!(v.as_str(), "true" | "false" | "1" | "0"))
                {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("Invalid filter 'dangling={v}'"),
                    ));
                }
            }
            "label" | "reference" => {}
            "before" | "since" => {
                for v in vals {
                    let img = engine.find_image(v).ok_or_else(|| no_such_image(v))?;
                    created.insert(v.as_str(), created_s(&img));
                }
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid filter '{other}'"),
                ));
            }
        }
    }
    Ok(created)
}

pub fn images(engine: &Engine, q: &BTreeMap<String, String>) -> Result<Response> {
    let mut filters = parse_filters(q.get("filters").map(String::as_str).unwrap_or(""))?;
    // The pre-1.25 `filter` parameter is a reference filter.
    if let Some(r) = q.get("filter").filter(|r| !r.is_empty()) {
        filters
            .entry("reference".into())
            .or_default()
            .push(r.clone());
    }
    let created = image_filters(engine, &filters)?;
    let store = engine.lock();
    let mut by_id: BTreeMap<String, (ImageConfig, Vec<String>)> = BTreeMap::new();
    for (r, img) in &store.images {
        by_id
            .entry(img.id.clone())
            .or_insert_with(|| (img.clone(), Vec::new()))
            .1
            .push(r.clone());
    }
    let mut list: Vec<Json> = by_id
        .into_iter()
        .filter(|(_, (img, tags))| image_matches(img, tags, &filters, &created))
        .map(|(id, (img, tags))| {
            let used = store
                .containers
                .values()
                .filter(|c| c.image.id == id)
                .count();
            json!({
                "Id": id,
                "ParentId": "",
                "RepoTags": tags,
                "RepoDigests": [],
                "Created": created_s(&img),
                "Size": img.size_bytes,
                "VirtualSize": img.size_bytes,
                "SharedSize": -1,
                "Labels": img.labels,
                "Containers": used,
            })
        })
        .collect();
    list.sort_by_key(|v| std::cmp::Reverse(v["Created"].as_i64().unwrap_or(0)));
    ok_json(&Json::Array(list))
}

fn image_json(img: &ImageConfig, tags: Vec<String>) -> Json {
    let exposed: serde_json::Map<String, Json> = img
        .exposed_ports
        .iter()
        .map(|(p, proto)| (format!("{p}/{}", proto.as_str()), json!({})))
        .collect();
    let config = json!({
        "Hostname": "", "Domainname": "", "User": img.user,
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "ExposedPorts": if exposed.is_empty() { Json::Null } else { Json::Object(exposed) },
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": img.env, "Cmd": if img.cmd.is_empty() { Json::Null } else { json!(img.cmd) },
        "Image": "",
        "Volumes": if img.volumes.is_empty() {
            Json::Null
        } else {
            Json::Object(img.volumes.iter().map(|v| (v.clone(), json!({}))).collect())
        },
        "WorkingDir": img.working_dir,
        "Entrypoint": if img.entrypoint.is_empty() { Json::Null } else { json!(img.entrypoint) },
        "OnBuild": null, "Labels": img.labels,
    });
    json!({
        "Id": img.id,
        "RepoTags": tags,
        "RepoDigests": [],
        "Parent": "",
        "Comment": "",
        "Created": img.created,
        "Container": "",
        "ContainerConfig": config.clone(),
        "DockerVersion": "",
        "Author": "",
        "Config": config,
        "Architecture": "amd64",
        "Os": "linux",
        "Size": img.size_bytes,
        "VirtualSize": img.size_bytes,
        "GraphDriver": {"Name": "vsphere", "Data": null},
        "RootFS": {"Type": "layers", "Layers": [img.id]},
    })
}

pub fn no_such_image(name: &str) -> ApiError {
    let shown = Reference::parse(name).map_or_else(|| name.to_owned(), |r| r.canonical());
    ApiError::new(StatusCode::NOT_FOUND, format!("No such image: {shown}"))
}

pub fn image_inspect(engine: &Engine, name: &str) -> Result<Response> {
    let img = engine.find_image(name).ok_or_else(|| no_such_image(name))?;
    let tags: Vec<String> = engine
        .lock()
        .images
        .iter()
        .filter(|(_, i)| i.id == img.id)
        .map(|(r, _)| r.clone())
        .collect();
    ok_json(&image_json(&img, tags))
}

pub fn image_tag(engine: &Engine, name: &str, q: &BTreeMap<String, String>) -> Result<Response> {
    let img = engine.find_image(name).ok_or_else(|| no_such_image(name))?;
    let repo = q.get("repo").map(String::as_str).unwrap_or("");
    let tag = q
        .get("tag")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    let r = Reference::parse(&format!("{repo}:{tag}"))
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid reference format"))?;
    engine.lock().images.insert(r.canonical(), img);
    status(StatusCode::CREATED)
}

pub fn image_delete(engine: &Engine, name: &str) -> Result<Response> {
    let img = engine.find_image(name).ok_or_else(|| no_such_image(name))?;
    let mut store = engine.lock();
    if let Some(c) = store.containers.values().find(|c| c.image.id == img.id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                &c.id[..12],
                &img.id.trim_start_matches("sha256:")[..12.min(img.id.len().saturating_sub(7))]
            ),
        ));
    }
    let refs: Vec<String> = store
        .images
        .iter()
        .filter(|(_, i)| i.id == img.id)
        .map(|(r, _)| r.clone())
        .collect();
    let mut out: Vec<Json> = Vec::new();
    for r in refs {
        store.images.remove(&r);
        out.push(json!({ "Untagged": r }));
    }
    out.push(json!({ "Deleted": img.id }));
    ok_json(&Json::Array(out))
}
