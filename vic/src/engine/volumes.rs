//! Docker volumes on the VCH's volume stores (vic.md §7.2; VIC's `backends/volume.go` and the
//! volume half of `container_proxy.go`): `GET /volumes`, `POST /volumes/create`,
//! `GET /volumes/{name}`, `DELETE /volumes/{name}`, the volumes of `docker create -v`, and
//! what they add to container inspect (`Mounts`) and remove (`docker rm -v`).
//!
//! The volumes themselves live on the datastore ([`crate::portlayer::volumes`]); nothing
//! about them is cached here, so a restarted endpoint sees exactly what the stores hold.
//! Messages and statuses are VIC 1.2's (most volume errors are 500, as VIC wraps them in
//! `VolumeInternalServerError`). Two things follow later VIC rather than 1.2: `Options`
//! shows the driver options the volume was created with (1.2 left it null), and
//! `docker rm -v` removes the container's anonymous volumes (1.2 ignored `-v`).

use super::api::{Result, json_response, ok_json, status};
use super::state::{ApiError, Engine};
use crate::portlayer::volumes::{self as plv, MountedVolume, VolumeError, VolumeMount};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The volume driver VIC reports.
pub const DRIVER: &str = "vsphere";
/// The store anonymous volumes (and `-v name:/path` of a new name) go to.
pub const DEFAULT_STORE: &str = "default";
/// A volume's size when `Capacity` is not given: VIC's port layer uses 1024 MB
/// (`storage_handlers.go`, "FIXME: this should look for a default cap").
pub const DEFAULT_CAPACITY_MB: i64 = 1024;
/// The driver options VIC accepts, lower case (`validDriverOptsKeys`).
const OPTIONS: [&str; 5] = ["volumestore", "capacity", "flags", "container", "image"];
/// The filters `GET /volumes` accepts (`acceptedVolumeFilters`).
const FILTERS: [&str; 4] = ["dangling", "name", "driver", "label"];

/// VIC's `DockerMetaData`, the JSON kept beside each volume's disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Metadata {
    /// The driver asked for.
    pub driver: String,
    /// The driver options as given (keys in the caller's case, as VIC records them).
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// The volume's name.
    pub name: String,
    /// User labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// The container the volume was made for (empty for `docker volume create`).
    pub attach_history: Vec<String>,
    /// That container's image.
    pub image: String,
}

fn server(message: impl Into<String>) -> ApiError {
    ApiError::server(message)
}

/// A volume's JSON (docker's `types.Volume`).
pub fn volume_json(name: &str, meta: &Metadata) -> Json {
    json!({
        "Driver": DRIVER,
        "Labels": meta.labels,
        "Mountpoint": plv::volume_label(name),
        "Name": name,
        "Options": meta.driver_opts,
        "Scope": "",
    })
}

fn metadata_of(v: &plv::Volume) -> Metadata {
    v.metadata
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_else(|| Metadata {
            name: v.name.clone(),
            ..Metadata::default()
        })
}

/// VIC's volume name rule.
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn invalid_volume_name(name: &str) -> String {
    format!(
        "volume name {name:?} includes invalid characters, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
    )
}

/// go-units' `FromHumanSize`: `<n>[.<n>…][ ][kmgtp][b]`, decimal units, truncated to bytes.
/// A value past `int64` gives `i64::MIN`, as Go's conversion does on amd64.
fn from_human_size(text: &str) -> std::result::Result<i64, String> {
    let mut rest = text;
    rest = rest.strip_suffix(['b', 'B']).unwrap_or(rest);
    let mut mul = 1f64;
    if let Some(c) = rest.chars().last() {
        let m = match c.to_ascii_lowercase() {
            'k' => 1e3,
            'm' => 1e6,
            'g' => 1e9,
            't' => 1e12,
            'p' => 1e15,
            _ => 0.0,
        };
        if m > 0.0 {
            mul = m;
            rest = &rest[..rest.len() - 1];
        }
    }
    rest = rest.strip_suffix(' ').unwrap_or(rest);
    let shaped = !rest.is_empty()
        && rest
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !shaped {
        return Err(format!("invalid size: '{text}'"));
    }
    let n: f64 = rest
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {rest:?}: invalid syntax"))?;
    let bytes = n * mul;
    // 2^63: the first value an int64 cannot hold.
    Ok(if bytes >= 9_223_372_036_854_775_808f64 {
        i64::MIN
    } else {
        bytes as i64
    })
}

/// VIC's `Capacity` option in MB: a plain integer is MB, anything else a decimal human size
/// (`2G` is 2000 MB), with VIC's messages (its "too large" also covers sizes below 1 byte).
pub fn capacity_mb(text: &str) -> std::result::Result<i64, String> {
    if let Ok(n) = text.parse::<i64>() {
        return if n < 1 {
            Err(format!("Invalid size: {text}"))
        } else {
            Ok(n)
        };
    }
    let bytes = from_human_size(text)?;
    if bytes < 1 {
        return Err(format!("Capacity value too large: {text}"));
    }
    Ok(bytes / 1_000_000)
}

/// A new volume name: VIC names unnamed volumes with a UUID. Derived from the VCH, the
/// virtual clock and the endpoint's own counter (`n`), so it is fresh but reproducible in a
/// scenario run whatever else the process ran before.
fn new_volume_name(vch: &str, now_ms: i64, n: u64) -> String {
    use sha1::{Digest, Sha1};
    let d = Sha1::new()
        .chain_update(vch.as_bytes())
        .chain_update(now_ms.to_le_bytes())
        .chain_update(n.to_le_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The endpoint's next volume number.
fn next_volume_number(engine: &Engine) -> u64 {
    let mut store = engine.lock();
    store.volume_counter += 1;
    store.volume_counter
}

/// `POST /volumes/create`'s body (docker's `VolumesCreateBody`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// Decodes a create body as Go's decoder does (errors are 500: dockerd returns them as is).
fn parse_create(bytes: &[u8]) -> Result<CreateBody> {
    use super::decode::{Ty, check, syntax_error};
    const STRING_MAP: Ty = Ty::Map("map[string]string", &Ty::Str);
    const BODY: Ty = Ty::Struct(
        "volume.VolumesCreateBody",
        &[
            ("Name", Ty::Str),
            ("Driver", Ty::Str),
            ("DriverOpts", STRING_MAP),
            ("Labels", STRING_MAP),
        ],
    );
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(server("EOF"));
    }
    let v: Json = serde_json::from_slice(bytes).map_err(|e| {
        let text = syntax_error(bytes, &e);
        server(text.trim_start_matches("invalid JSON: ").to_owned())
    })?;
    let v = check(&v, &BODY, &mut Vec::new())
        .map_err(|e| server(e.replace("ContainerConfigWrapper.", "VolumesCreateBody.")))?;
    serde_json::from_value(v).map_err(|e| server(e.to_string()))
}

/// Checks the driver options (keys case-insensitive) and returns (store, capacity MB).
fn driver_options(opts: &BTreeMap<String, String>) -> std::result::Result<(String, i64), String> {
    let mut store = DEFAULT_STORE.to_owned();
    let mut capacity = DEFAULT_CAPACITY_MB;
    for (k, v) in opts {
        match k.to_ascii_lowercase().as_str() {
            "volumestore" => store = v.clone(),
            "capacity" => capacity = capacity_mb(v)?,
            other if OPTIONS.contains(&other) => {}
            _ => return Err(format!("{k} is not a supported option")),
        }
    }
    Ok((store, capacity))
}

fn create_error(e: VolumeError, name: &str, store: &str) -> ApiError {
    match e {
        VolumeError::Exists(_) => server(format!(
            "A volume named {name} already exists. Choose a different volume name."
        )),
        VolumeError::NoStore(_) => server(format!("No volume store named ({store}) exists")),
        other => server(other.to_string()),
    }
}

/// Creates `name` in `store` with `metadata`; capacity in MB.
async fn make(
    engine: &Engine,
    store: &str,
    name: &str,
    capacity: i64,
    meta: &Metadata,
) -> std::result::Result<(), VolumeError> {
    let json = serde_json::to_vec(meta).unwrap_or_default();
    let kb = capacity.checked_mul(1024).unwrap_or(i64::MAX);
    engine
        .pl
        .volume_create(store, name, kb, &[(plv::DOCKER_METADATA, json.as_slice())])
        .await
}

/// `POST /volumes/create`.
pub async fn create(engine: &Arc<Engine>, raw: &[u8]) -> Result<Response> {
    let body = parse_create(raw)?;
    if !matches!(body.driver.as_str(), "" | "local" | DRIVER) {
        return Err(server(format!(
            "error looking up volume plugin {}: plugin not found",
            body.driver
        )));
    }
    if !body.name.is_empty() && !valid_volume_name(&body.name) {
        return Err(server(invalid_volume_name(&body.name)));
    }
    let opts = body.driver_opts.clone().unwrap_or_default();
    let (store, capacity) =
        driver_options(&opts).map_err(|e| server(format!("bad driver value - {e}")))?;
    let name = if body.name.is_empty() {
        new_volume_name(
            &engine.config.vch_name,
            engine.pl.now_ms().await?,
            next_volume_number(engine),
        )
    } else {
        body.name.clone()
    };
    let meta = Metadata {
        driver: if body.driver.is_empty() {
            DRIVER.to_owned()
        } else {
            body.driver.clone()
        },
        driver_opts: body.driver_opts.clone(),
        name: name.clone(),
        labels: body.labels.clone(),
        attach_history: vec![String::new()],
        image: String::new(),
    };
    make(engine, &store, &name, capacity, &meta)
        .await
        .map_err(|e| create_error(e, &body.name, &store))?;
    Ok(json_response(
        StatusCode::CREATED,
        &volume_json(&name, &meta),
    ))
}

/// The names of the volumes joined to some containerVM of the VCH.
async fn joined(engine: &Engine) -> Result<BTreeMap<String, String>> {
    let states = engine.pl.states().await?;
    let mut out = BTreeMap::new();
    for st in states.values() {
        for m in plv::mounts_of(&st.extra) {
            out.entry(m.name).or_insert_with(|| st.id.clone());
        }
    }
    Ok(out)
}

/// VIC's volume filters over one volume.
fn matches(
    f: &BTreeMap<String, Vec<String>>,
    name: &str,
    meta: &Metadata,
    dangling: Option<bool>,
    joined: bool,
) -> bool {
    let labels = meta.labels.clone().unwrap_or_default();
    let label_ok = f.get("label").is_none_or(|vals| {
        vals.is_empty()
            || (!labels.is_empty()
                && vals.iter().all(|v| match v.split_once('=') {
                    Some((k, want)) => labels.get(k).is_some_and(|x| x == want),
                    None => labels.contains_key(v),
                }))
    });
    // docker matches names as regular expressions; a plain substring covers the usual use.
    let name_ok = f
        .get("name")
        .is_none_or(|vals| vals.is_empty() || vals.iter().any(|v| name.contains(v.as_str())));
    let driver_ok = f
        .get("driver")
        .is_none_or(|vals| vals.is_empty() || vals.iter().any(|v| v == DRIVER));
    label_ok && name_ok && driver_ok && dangling.is_none_or(|d| d != joined)
}

/// `GET /volumes`.
pub async fn list(engine: &Arc<Engine>, q: &BTreeMap<String, String>) -> Result<Response> {
    let f = super::view::parse_filters(q.get("filters").map(String::as_str).unwrap_or(""))?;
    if let Some(bad) = f.keys().find(|k| !FILTERS.contains(&k.as_str())) {
        return Err(server(format!("Invalid filter '{bad}'")));
    }
    let dangling = match f.get("dangling").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) if v.iter().any(|x| x == "true" || x == "1") => Some(true),
        Some(v) if v.iter().any(|x| x == "false" || x == "0") => Some(false),
        Some(v) => {
            return Err(server(format!(
                "invalid filter 'dangling=[{}]'",
                v.join(" ")
            )));
        }
    };
    let used = if dangling.is_some() {
        joined(engine).await?
    } else {
        BTreeMap::new()
    };
    let volumes = engine
        .pl
        .volume_list(true)
        .await
        .map_err(|e| server(format!("error from portlayer server: {e}")))?;
    let out: Vec<Json> = volumes
        .iter()
        .map(|v| (v, metadata_of(v)))
        .filter(|(v, m)| matches(&f, &v.name, m, dangling, used.contains_key(&v.name)))
        .map(|(v, m)| volume_json(&v.name, &m))
        .collect();
    // VIC answers null, not [], when nothing matches.
    let volumes = if out.is_empty() {
        Json::Null
    } else {
        Json::Array(out)
    };
    ok_json(&json!({ "Volumes": volumes, "Warnings": null }))
}

/// `GET /volumes/{name}`.
pub async fn inspect(engine: &Arc<Engine>, name: &str) -> Result<Response> {
    match engine.pl.volume_get(name).await {
        Ok(Some(v)) => ok_json(&volume_json(&v.name, &metadata_of(&v))),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("No such volume: {name}"),
        )),
        Err(e) => Err(server(format!("error from portlayer server: {e}"))),
    }
}

/// `DELETE /volumes/{name}`: refused while any container (running or not) has it.
pub async fn remove(engine: &Arc<Engine>, name: &str) -> Result<Response> {
    let found = engine
        .pl
        .volume_get(name)
        .await
        .map_err(|e| server(format!("Server error from portlayer: {e}")))?;
    let Some(v) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Get {name}: no such volume"),
        ));
    };
    if let Some(id) = joined(engine).await?.get(name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("volume {name} in use by {id}"),
        ));
    }
    engine
        .pl
        .volume_destroy(&v.store, name)
        .await
        .map_err(|e| server(format!("Server error from portlayer: {e}")))?;
    status(StatusCode::NO_CONTENT)
}

/// One `-v` of `docker create`: a named volume, or an anonymous one (`name` None).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountPlan {
    /// The volume's name, or None for a new anonymous volume.
    pub name: Option<String>,
    /// The mount point.
    pub dest: String,
    /// The mode flags (`rw` by default).
    pub mode: String,
}

fn plan_one(spec: &str) -> Result<MountPlan> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() > 1 && parts[0].starts_with('/') {
        return Err(server(
            "mounting directories as a data volume is not supported.",
        ));
    }
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("volume bind input is invalid: -v {spec}"),
        )
    };
    let plan = match parts.as_slice() {
        [dest] => MountPlan {
            name: None,
            dest: (*dest).to_owned(),
            mode: "rw".into(),
        },
        [name, dest] => MountPlan {
            name: Some((*name).to_owned()),
            dest: (*dest).to_owned(),
            mode: "rw".into(),
        },
        [name, dest, mode] => MountPlan {
            name: Some((*name).to_owned()),
            dest: (*dest).to_owned(),
            mode: (*mode).to_owned(),
        },
        _ => return Err(invalid()),
    };
    if plan.dest.is_empty() || plan.name.as_deref() == Some("") {
        return Err(invalid());
    }
    Ok(plan)
}

/// The volumes of a create body as VIC's `finalizeVolumeList` makes them: `HostConfig.Binds`
/// and `Config.Volumes` (anonymous), one per mount point, a named one winning. A host
/// directory is refused (`mounting directories as a data volume is not supported.`).
pub fn plan_mounts(binds: &[String], anonymous: &[String]) -> Result<Vec<MountPlan>> {
    let mut by_dest: BTreeMap<String, MountPlan> = BTreeMap::new();
    for spec in anonymous {
        let p = plan_one(spec)?;
        by_dest.insert(p.dest.clone(), p);
    }
    for spec in binds {
        let p = plan_one(spec)?;
        by_dest.insert(p.dest.clone(), p);
    }
    Ok(by_dest.into_values().collect())
}

/// Finds or creates the planned volumes for container `container` of `image` (a name not
/// yet known, or an anonymous volume, is made in the `default` store at the default size,
/// as VIC's `AddVolumesToContainer` does). Call before the containerVM exists.
pub async fn prepare_mounts(
    engine: &Engine,
    plans: &[MountPlan],
    container: &str,
    image: &str,
    now_ms: i64,
) -> Result<Vec<VolumeMount>> {
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let portlayer = |e: VolumeError| server(format!("Server error from portlayer: {e}"));
    let existing: BTreeMap<String, String> = engine
        .pl
        .volume_list(false)
        .await
        .map_err(portlayer)?
        .into_iter()
        .map(|v| (v.name, v.store))
        .collect();
    let mut out = Vec::new();
    for p in plans {
        let name = match &p.name {
            Some(n) => n.clone(),
            None => new_volume_name(&engine.config.vch_name, now_ms, next_volume_number(engine)),
        };
        let mut label = existing.get(&name).cloned();
        if label.is_none() {
            if !valid_volume_name(&name) {
                return Err(server(format!(
                    "Server error from portlayer: {}",
                    invalid_volume_name(&name)
                )));
            }
            let mut opts = BTreeMap::new();
            opts.insert("flags".to_owned(), p.mode.clone());
            opts.insert("container".to_owned(), container.to_owned());
            opts.insert("image".to_owned(), image.to_owned());
            let meta = Metadata {
                driver: DRIVER.into(),
                driver_opts: Some(opts),
                name: name.clone(),
                labels: None,
                attach_history: vec![container.to_owned()],
                image: image.to_owned(),
            };
            label = match make(engine, DEFAULT_STORE, &name, DEFAULT_CAPACITY_MB, &meta).await {
                Ok(()) => Some(DEFAULT_STORE.to_owned()),
                // Made meanwhile: join it.
                Err(VolumeError::Exists(_)) => engine
                    .pl
                    .volume_get(&name)
                    .await
                    .map_err(portlayer)?
                    .map(|v| v.store),
                Err(VolumeError::NoStore(_)) => {
                    return Err(server(format!(
                        "No volume store named ({DEFAULT_STORE}) exists"
                    )));
                }
                Err(e) => return Err(portlayer(e)),
            };
        }
        let store = label
            .and_then(|l| engine.pl.volume_store(&l).cloned())
            .ok_or_else(|| {
                server(format!(
                    "Server error from portlayer: volume {name} not found"
                ))
            })?;
        out.push(VolumeMount {
            name,
            store,
            dest: p.dest.clone(),
            mode: p.mode.clone(),
            anonymous: p.name.is_none(),
        });
    }
    Ok(out)
}

/// docker's `MountPoint` of a joined volume.
fn mount_json(m: &MountedVolume) -> Json {
    json!({
        "Type": "volume",
        "Name": m.name,
        "Source": m.name,
        "Destination": m.dest,
        "Driver": DRIVER,
        "Mode": m.mode,
        "RW": m.mode.to_ascii_lowercase().contains("rw"),
        "Propagation": "",
    })
}

/// A container inspect's `Mounts`, from its containerVM's `mounts|…` keys.
pub fn mounts_json(st: Option<&crate::portlayer::VmState>) -> Json {
    Json::Array(
        st.map(|s| plv::mounts_of(&s.extra))
            .unwrap_or_default()
            .iter()
            .map(mount_json)
            .collect(),
    )
}

/// The volumes mounted in a containerVM: (name, mount point).
pub fn mounted(st: Option<&crate::portlayer::VmState>) -> Vec<(String, String)> {
    st.map(|s| plv::mounts_of(&s.extra))
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.name, m.dest))
        .collect()
}

/// The anonymous volumes mounted in a containerVM (what `docker rm -v` removes).
pub fn anonymous_volumes(st: &crate::portlayer::VmState) -> Vec<String> {
    plv::mounts_of(&st.extra)
        .into_iter()
        .filter(|m| m.anonymous)
        .map(|m| m.name)
        .collect()
}

/// Removes those of `names` that no container uses any more (failures only logged, as in
/// VIC's `RemoveAnonContainerVols`).
pub async fn remove_unused(engine: &Engine, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let used: BTreeSet<String> = match joined(engine).await {
        Ok(j) => j.into_keys().collect(),
        Err(e) => {
            tracing::warn!("listing joined volumes: {}", e.message);
            return;
        }
    };
    let stores: BTreeMap<String, String> = match engine.pl.volume_list(false).await {
        Ok(v) => v.into_iter().map(|v| (v.name, v.store)).collect(),
        Err(e) => {
            tracing::warn!("listing volumes: {e}");
            return;
        }
    };
    for name in names.iter().filter(|n| !used.contains(*n)) {
        if let Some(store) = stores.get(name)
            && let Err(e) = engine.pl.volume_destroy(store, name).await
        {
            tracing::warn!(volume = %name, "removing an anonymous volume: {e}");
        }
    }
}

/// `docker info`'s volume parts: `Plugins.Volume` (`vsphere` once a store exists; VIC leaves
/// out `local`, which it takes as `vsphere`) and the `VolumeStores` status pair (the labels,
/// space-separated).
pub fn info_parts(engine: &Engine) -> (Json, Json) {
    let labels: Vec<&str> = engine
        .config
        .volume_stores
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    let plugins = if labels.is_empty() {
        json!([])
    } else {
        json!([DRIVER])
    };
    (plugins, json!(["VolumeStores", labels.join(" ")]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_parse_as_vic_does() {
        assert_eq!(capacity_mb("10000"), Ok(10000));
        assert_eq!(capacity_mb("2G"), Ok(2000));
        assert_eq!(capacity_mb("512M"), Ok(512));
        assert_eq!(capacity_mb("512MB"), Ok(512));
        assert_eq!(capacity_mb("1.5 gb"), Ok(1500));
        assert_eq!(capacity_mb("10g"), Ok(10000));
        assert_eq!(capacity_mb("0").unwrap_err(), "Invalid size: 0");
        assert_eq!(capacity_mb("-1").unwrap_err(), "Invalid size: -1");
        for big in ["9223372036854775808", "9999999999999999999"] {
            assert_eq!(
                capacity_mb(big).unwrap_err(),
                format!("Capacity value too large: {big}")
            );
        }
        assert_eq!(capacity_mb("lots").unwrap_err(), "invalid size: 'lots'");
        assert_eq!(capacity_mb("2X").unwrap_err(), "invalid size: '2X'");
        assert_eq!(
            capacity_mb("1.2.3").unwrap_err(),
            "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax"
        );
    }

    #[test]
    fn options_and_names_are_checked() {
        let opts = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            driver_options(&opts(&[("cAPACITy", "10000"), ("VolumeStore", "fast")])),
            Ok(("fast".to_owned(), 10000))
        );
        assert_eq!(
            driver_options(&opts(&[])),
            Ok((DEFAULT_STORE.to_owned(), DEFAULT_CAPACITY_MB))
        );
        assert_eq!(
            driver_options(&opts(&[("bogus", "foo")])).unwrap_err(),
            "bogus is not a supported option"
        );
        assert!(valid_volume_name("a-b_c.1") && !valid_volume_name("test???"));
        assert!(!valid_volume_name("_a") && !valid_volume_name(""));
        assert_eq!(
            invalid_volume_name("test???"),
            r#"volume name "test???" includes invalid characters, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed"#
        );
        let n = new_volume_name("vch", 5, 1);
        assert_eq!((n.len(), &n[14..15]), (36, "4"));
        assert_ne!(n, new_volume_name("vch", 5, 2));
        assert_eq!(n, new_volume_name("vch", 5, 1), "reproducible");
    }

    #[test]
    fn create_bodies_decode_as_go_does() {
        let b = parse_create(
            br#"{"Name":"v1","Driver":"local","DriverOpts":{"Capacity":"2G"},"Labels":null}"#,
        )
        .unwrap();
        assert_eq!((b.name.as_str(), b.driver.as_str()), ("v1", "local"));
        assert_eq!(b.driver_opts.unwrap()["Capacity"], "2G");
        assert!(b.labels.is_none());
        let e = parse_create(br#"{"Name":1}"#).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "json: cannot unmarshal number into Go struct field VolumesCreateBody.Name of type string"
            )
        );
        assert_eq!(parse_create(b"").unwrap_err().message, "EOF");
        assert!(parse_create(b"{").is_err());
    }

    #[test]
    fn volume_json_has_docker_shape() {
        let meta = Metadata {
            driver: "local".into(),
            driver_opts: Some([("Capacity".to_owned(), "2G".to_owned())].into()),
            name: "v1".into(),
            labels: None,
            attach_history: vec![String::new()],
            image: String::new(),
        };
        let v = volume_json("v1", &meta);
        assert_eq!(v["Driver"], "vsphere");
        assert_eq!(v["Mountpoint"], "6654c734ccab8f44");
        assert_eq!(v["Labels"], Json::Null);
        assert_eq!(v["Options"]["Capacity"], "2G");
        assert_eq!(v["Scope"], "");
        // VIC's metadata JSON: Go's field names, nil maps as null.
        let text = serde_json::to_string(&meta).unwrap();
        assert_eq!(
            text,
            r#"{"Driver":"local","DriverOpts":{"Capacity":"2G"},"Name":"v1","Labels":null,"AttachHistory":[""],"Image":""}"#
        );
        assert_eq!(serde_json::from_str::<Metadata>(&text).unwrap(), meta);
    }

    #[test]
    fn filters_follow_vic() {
        let f = |text: &str| super::super::view::parse_filters(text).unwrap();
        let meta = Metadata {
            labels: Some([("env".to_owned(), "prod".to_owned())].into()),
            ..Metadata::default()
        };
        let none = Metadata::default();
        assert!(matches(
            &f(r#"{"name":["dang"]}"#),
            "danglingVol",
            &none,
            None,
            false
        ));
        assert!(!matches(
            &f(r#"{"name":["dang"]}"#),
            "testVol",
            &none,
            None,
            false
        ));
        assert!(matches(
            &f(r#"{"driver":["vsphere"]}"#),
            "v",
            &none,
            None,
            false
        ));
        assert!(!matches(
            &f(r#"{"driver":["vsph"]}"#),
            "v",
            &none,
            None,
            false
        ));
        assert!(matches(&f(r#"{"label":["env"]}"#), "v", &meta, None, false));
        assert!(matches(
            &f(r#"{"label":["env=prod"]}"#),
            "v",
            &meta,
            None,
            false
        ));
        assert!(!matches(
            &f(r#"{"label":["env=dev"]}"#),
            "v",
            &meta,
            None,
            false
        ));
        assert!(!matches(
            &f(r#"{"label":["env"]}"#),
            "v",
            &none,
            None,
            false
        ));
        assert!(matches(&f("{}"), "v", &none, Some(true), false));
        assert!(!matches(&f("{}"), "v", &none, Some(true), true));
        assert!(matches(&f("{}"), "v", &none, Some(false), true));
    }

    #[test]
    fn binds_and_anonymous_volumes_plan_as_vic_does() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let p = plan_mounts(&s(&["v1:/data", "v2:/ro:ro"]), &s(&["/anon", "/data"])).unwrap();
        assert_eq!(p.len(), 3);
        let by = |d: &str| p.iter().find(|m| m.dest == d).unwrap().clone();
        assert_eq!(by("/data").name.as_deref(), Some("v1"), "named wins");
        assert_eq!((by("/ro").mode.as_str()), "ro");
        assert_eq!((by("/anon").name, by("/anon").mode.as_str()), (None, "rw"));
        let e = plan_mounts(&s(&["/host:/data"]), &[]).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "mounting directories as a data volume is not supported."
            )
        );
        let e = plan_mounts(&s(&["a:b:c:d"]), &[]).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (
                StatusCode::BAD_REQUEST,
                "volume bind input is invalid: -v a:b:c:d"
            )
        );
    }
}
