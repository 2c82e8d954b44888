//! vAPI content libraries (`content/library`, `content/local-library`): local libraries on a
//! datastore, their items, and the update and download sessions that move item files.
//!
//! A file is added to an update session (`updatesession/file?~action=add`), which answers
//! an upload URL on this server (`/cls/data/<session>/<name>`, as vCenter's transfer
//! service); the client PUTs the bytes there, which stages them in the session, and
//! `update-session?~action=complete` makes them the item's files. Completed files are
//! datastore files (`[ds] contentlib-<library>/<item>/<name>` in `Emulator::files`, where
//! vCenter keeps them too), so the datastore browser and `/folder` see them. PULL sources
//! are not emulated (docs/vapi.md). OVF items are deployed by [`ovf`], VM templates kept
//! by [`vmtx`], published and subscribed libraries synchronized by `subscribed`.

use super::json::{ErrorKind, Reply, Req, VapiError};
use super::session::Caller;
use crate::emulator::Emulator;
use crate::methods::datastore_key;
use crate::server::Vcsim;
use crate::vmodl::MoRef;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;

/// Most libraries kept.
pub const MAX_LIBRARIES: usize = 1_000;
/// Most items kept, all libraries together.
pub const MAX_ITEMS: usize = 10_000;
/// Most files in one item or one transfer session.
pub const MAX_FILES_PER_ITEM: usize = 256;
/// Most update and download sessions kept (finished ones are dropped first at the bound).
pub const MAX_TRANSFER_SESSIONS: usize = 256;
/// Largest file accepted on the transfer endpoint (as `/folder`'s bound).
pub const MAX_FILE_BYTES: usize = crate::server::MAX_FILE_BYTES;
/// Most bytes held by content libraries, staged uploads and completed files together.
pub const MAX_LIBRARY_BYTES: usize = 256 * 1024 * 1024;
/// Longest library, item or file name.
pub const MAX_NAME_CHARS: usize = 255;
/// How long a transfer session lives without keep-alive (virtual clock), as vCenter's.
const SESSION_LIFETIME_MS: i64 = 60 * 60 * 1000;

/// A local library.
#[derive(Clone, Debug)]
struct Library {
    id: String,
    name: String,
    description: String,
    datastore_id: String,
    created_ms: i64,
    modified_ms: i64,
    version: u64,
    /// Whether a local library is published (subscribable at its `publish_url`).
    published: bool,
    /// A subscribed library's subscription.
    subscription: Option<subscribed::Subscription>,
    /// When a subscribed library last synchronized (virtual clock).
    last_sync_ms: Option<i64>,
}

/// A completed file of an item.
#[derive(Clone, Debug)]
struct FileMeta {
    size: usize,
    sha1: String,
    version: u64,
}

/// A library item.
#[derive(Clone, Debug)]
struct Item {
    id: String,
    library_id: String,
    name: String,
    description: String,
    ty: String,
    created_ms: i64,
    modified_ms: i64,
    content_version: u64,
    metadata_version: u64,
    files: BTreeMap<String, FileMeta>,
    /// A `vm-template` item's template VM (its MoRef value).
    template: Option<String>,
    /// VMs checked out of a `vm-template` item (at most [`vmtx::MAX_CHECKOUTS`]).
    checkouts: Vec<String>,
    /// A subscribed item's item in the published library.
    source_id: Option<String>,
}

/// A file in an update session.
#[derive(Clone, Debug)]
struct UpdateFile {
    source_type: String,
    size: Option<i64>,
    staged: Option<Vec<u8>>,
    error: Option<String>,
}

/// An update or download session.
#[derive(Clone, Debug)]
struct Transfer {
    id: String,
    item_id: String,
    /// The user who made it: sessions are their creator's alone, as vCenter's are.
    user: String,
    upload: bool,
    state: &'static str,
    expires_ms: i64,
    error: Option<String>,
    /// Upload: files added; download: files prepared (no bytes).
    files: BTreeMap<String, UpdateFile>,
    seq: u64,
}

/// All content libraries, items and transfer sessions.
#[derive(Debug, Default)]
pub struct Libraries {
    libs: BTreeMap<String, Library>,
    items: BTreeMap<String, Item>,
    transfers: BTreeMap<String, Transfer>,
    seq: u64,
}

impl Libraries {
    /// Transfer session `id` when `user` made it; another user's reads as missing, so
    /// one user can neither see nor feed another's uploads (their ids come from the seed).
    fn transfer(&self, id: &str, user: &str) -> Result<&Transfer, VapiError> {
        self.transfers
            .get(id)
            .filter(|t| t.user == user)
            .ok_or_else(|| no_session(id))
    }

    /// Bytes held: completed item files and staged uploads.
    fn bytes(&self) -> usize {
        let stored: usize = self
            .items
            .values()
            .flat_map(|i| i.files.values())
            .map(|f| f.size)
            .sum();
        let staged: usize = self
            .transfers
            .values()
            .flat_map(|t| t.files.values())
            .filter_map(|f| f.staged.as_ref().map(Vec::len))
            .sum();
        stored + staged
    }
}

fn check_name(n: Option<&str>) -> Result<String, VapiError> {
    let n = n.unwrap_or("").trim();
    if n.is_empty() || n.chars().count() > MAX_NAME_CHARS {
        return Err(VapiError::invalid(format!(
            "a name of 1 to {MAX_NAME_CHARS} characters is required"
        )));
    }
    Ok(n.to_owned())
}

/// A file name usable as one datastore path segment.
fn check_file_name(n: &str) -> Result<(), VapiError> {
    if n.is_empty()
        || n == "."
        || n == ".."
        || n.contains(['/', '\\', '\0'])
        || n.chars().count() > MAX_NAME_CHARS
    {
        return Err(VapiError::invalid(format!(
            "'{n}' is not a valid file name"
        )));
    }
    Ok(())
}

fn library_json(l: &Library, base_url: &str) -> Value {
    let mut v = json!({
        "id": l.id,
        "name": l.name,
        "description": l.description,
        "type": if l.subscription.is_some() { "SUBSCRIBED" } else { "LOCAL" },
        "storage_backings": [{"datastore_id": l.datastore_id, "type": "DATASTORE"}],
        "creation_time": super::time(l.created_ms),
        "last_modified_time": super::time(l.modified_ms),
        "version": l.version.to_string(),
    });
    match &l.subscription {
        Some(sub) => {
            v["subscription_info"] = sub.json();
            if let Some(t) = l.last_sync_ms {
                v["last_sync_time"] = json!(super::time(t));
            }
        }
        None => {
            v["publish_info"] = json!({"authentication_method": "NONE",
                "published": l.published, "persist_json_enabled": false});
            if l.published {
                v["publish_info"]["publish_url"] = json!(subscribed::publish_url(base_url, &l.id));
            }
        }
    }
    v
}

fn item_json(i: &Item) -> Value {
    json!({
        "id": i.id,
        "library_id": i.library_id,
        "name": i.name,
        "description": i.description,
        "type": i.ty,
        "creation_time": super::time(i.created_ms),
        "last_modified_time": super::time(i.modified_ms),
        "content_version": i.content_version.to_string(),
        "metadata_version": i.metadata_version.to_string(),
        "version": i.metadata_version.to_string(),
        "cached": true,
        "size": i.files.values().map(|f| f.size).sum::<usize>(),
        "source_id": i.source_id,
    })
}

fn file_json(name: &str, f: &FileMeta) -> Value {
    json!({
        "name": name,
        "size": f.size,
        "cached": true,
        "version": f.version.to_string(),
        "checksum_info": {"algorithm": "SHA1", "checksum": f.sha1},
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Backing {
    datastore_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LibrarySpec {
    name: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    storage_backings: Vec<Backing>,
    subscription_info: Option<subscribed::SubscriptionSpec>,
    publish_info: Option<subscribed::PublishSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ItemSpec {
    name: Option<String>,
    description: Option<String>,
    library_id: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    cached: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SessionSpec {
    library_item_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileSpec {
    name: Option<String>,
    source_type: Option<String>,
    size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileName {
    name: Option<String>,
    file_name: Option<String>,
}

impl FileName {
    fn get(&self, req: &Req<'_>) -> String {
        self.file_name
            .clone()
            .or_else(|| self.name.clone())
            .or_else(|| req.param("name").map(str::to_owned))
            .or_else(|| req.param("file_name").map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Dispatches `content/<rest>` for `caller`.
pub fn handle(
    emu: &mut Emulator,
    req: &Req<'_>,
    rest: &[&str],
    caller: &Caller,
) -> Result<Reply, VapiError> {
    let user = caller.user.as_str();
    let m = &req.method;
    let libs = &emu.vapi.library;
    match (rest, req.action()) {
        (["library", "item"], None) if m == Method::GET => {
            let lib = req.param("library_id").unwrap_or("");
            if !libs.libs.contains_key(lib) {
                return Err(no_library(lib));
            }
            let ids: Vec<&String> = libs
                .items
                .values()
                .filter(|i| i.library_id == lib)
                .map(|i| &i.id)
                .collect();
            Ok(Reply::Value(json!(ids)))
        }
        (["library", "item"], None | Some("create")) if m == Method::POST => create_item(emu, req),
        (["library", "item"], Some("find")) if m == Method::POST => find_items(emu, req),
        (["library", "item", "file"], None) if m == Method::GET => {
            let id = req.param("library_item_id").unwrap_or("");
            list_files(emu, id)
        }
        (["library", "item", "file", id], None) if m == Method::GET => match req.param("name") {
            Some(name) => get_file(emu, id, name),
            None => list_files(emu, id),
        },
        (["library", "item", "file", id], Some("get")) if m == Method::POST => {
            let spec: FileName = req.json()?;
            get_file(emu, id, &spec.get(req))
        }
        (
            [
                "library",
                "item",
                kind @ ("update-session" | "download-session"),
            ],
            None,
        ) if m == Method::GET => {
            let upload = *kind == "update-session";
            // vCenter lists the sessions "created by the calling user".
            let ids: Vec<&String> = libs
                .transfers
                .values()
                .filter(|t| t.upload == upload && t.user == user)
                .map(|t| &t.id)
                .collect();
            Ok(Reply::Value(json!(ids)))
        }
        (
            [
                "library",
                "item",
                kind @ ("update-session" | "download-session"),
            ],
            None | Some("create"),
        ) if m == Method::POST => create_transfer(emu, req, *kind == "update-session", user),
        (["library", "item", "update-session" | "download-session", id], action) => {
            transfer_call(emu, req, id, action, user)
        }
        (
            [
                "library",
                "item",
                "updatesession" | "downloadsession",
                "file",
            ],
            None,
        ) if m == Method::GET => {
            let id = req
                .param("update_session_id")
                .or_else(|| req.param("download_session_id"))
                .unwrap_or("");
            Ok(files_reply(&req.base_url, libs.transfer(id, user)?))
        }
        (
            [
                "library",
                "item",
                "updatesession" | "downloadsession",
                "file",
                id,
            ],
            Some(action),
        ) if m == Method::POST => transfer_file_call(emu, req, id, action, user),
        (["library", "item", id], None) if m == Method::GET => libs
            .items
            .get(*id)
            .map(|i| Reply::Value(item_json(i)))
            .ok_or_else(|| no_item(id)),
        (["library", "item", id], None) if m == Method::PATCH => {
            writable_item(emu, id)?;
            update_item(emu, req, id)
        }
        (["library", "item", id], None) if m == Method::DELETE => {
            writable_item(emu, id)?;
            delete_item(emu, id);
            Ok(Reply::Empty)
        }
        ([kind @ ("library" | "local-library")], None) if m == Method::GET => {
            // `library` lists every library, `local-library` the local ones.
            let all = *kind == "library";
            let ids: Vec<&String> = libs
                .libs
                .values()
                .filter(|l| all || l.subscription.is_none())
                .map(|l| &l.id)
                .collect();
            Ok(Reply::Value(json!(ids)))
        }
        (["library" | "local-library"], None | Some("create")) if m == Method::POST => {
            create_library(emu, req)
        }
        (["library"], Some("find")) if m == Method::POST => {
            #[derive(Debug, Default, Deserialize)]
            #[serde(default)]
            struct Find {
                name: Option<String>,
                #[serde(rename = "type")]
                ty: Option<String>,
            }
            let spec: Find = req.spec("spec")?;
            let ids: Vec<&String> = libs
                .libs
                .values()
                .filter(|l| {
                    spec.name
                        .as_deref()
                        .is_none_or(|n| n.is_empty() || n.eq_ignore_ascii_case(&l.name))
                        && spec.ty.as_deref().is_none_or(|t| {
                            t.is_empty()
                                || t == if l.subscription.is_some() {
                                    "SUBSCRIBED"
                                } else {
                                    "LOCAL"
                                }
                        })
                })
                .map(|l| &l.id)
                .collect();
            Ok(Reply::Value(json!(ids)))
        }
        (["library" | "local-library", id], None) if m == Method::GET => libs
            .libs
            .get(*id)
            .map(|l| Reply::Value(library_json(l, &req.base_url)))
            .ok_or_else(|| no_library(id)),
        (["library" | "local-library", id], None) if m == Method::PATCH => {
            update_library(emu, req, id)
        }
        (["library" | "local-library", id], None) if m == Method::DELETE => delete_library(emu, id),
        (["subscribed-library", ..] | ["library", "subscribed-item", ..], _) => {
            subscribed::handle(emu, req, rest)
        }
        _ => Err(super::no_operation(req)),
    }
}

/// `Ok` when library `lib` takes items by hand (it is no subscribed library).
fn writable(emu: &Emulator, lib: &str) -> Result<(), VapiError> {
    match emu.vapi.library.libs.get(lib) {
        None => Err(no_library(lib)),
        Some(l) if l.subscription.is_some() => Err(subscribed::read_only(lib)),
        Some(_) => Ok(()),
    }
}

/// `Ok` when item `id` exists and its library is [`writable`].
fn writable_item(emu: &Emulator, id: &str) -> Result<(), VapiError> {
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    writable(emu, &item.library_id)
}

fn no_library(id: &str) -> VapiError {
    VapiError::not_found(format!("Library with identifier {id} does not exist."))
}

fn no_item(id: &str) -> VapiError {
    VapiError::not_found(format!("Library item with identifier {id} does not exist."))
}

fn no_session(id: &str) -> VapiError {
    VapiError::not_found(format!("Session with identifier {id} does not exist."))
}

/// The name of the datastore with MoRef value `id`.
fn datastore_name(emu: &Emulator, id: &str) -> Option<String> {
    emu.inv
        .lookup(&MoRef::new("Datastore", id.to_owned()))
        .map(|o| o.name().to_owned())
}

/// The datastore directory key prefix of a library (or of one of its items).
fn dir_prefix(emu: &Emulator, lib: &Library, item: Option<&str>) -> Option<String> {
    let ds = datastore_name(emu, &lib.datastore_id)?;
    let mut path = format!("contentlib-{}", lib.id);
    if let Some(i) = item {
        path.push('/');
        path.push_str(i);
    }
    Some(format!("{}/", datastore_key(&ds, &path)))
}

/// The datastore directory key of item `id` (`[ds] contentlib-<library>/<item>/`).
fn item_dir(emu: &Emulator, id: &str) -> Result<String, VapiError> {
    let libs = &emu.vapi.library;
    let item = libs.items.get(id).ok_or_else(|| no_item(id))?;
    let lib = libs
        .libs
        .get(&item.library_id)
        .ok_or_else(|| no_library(&item.library_id))?;
    dir_prefix(emu, lib, Some(id)).ok_or_else(|| {
        VapiError::not_found(format!(
            "The library's datastore {} no longer exists.",
            lib.datastore_id
        ))
    })
}

fn create_library(emu: &mut Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    let spec: LibrarySpec = req.spec("create_spec")?;
    let subscription = match (&spec.subscription_info, spec.ty.as_deref()) {
        (Some(s), _) => Some(subscribed::subscription(emu, s)?),
        (None, Some("SUBSCRIBED")) => {
            return Err(VapiError::invalid(
                "a subscribed library needs subscription_info",
            ));
        }
        (None, _) => None,
    };
    let name = check_name(spec.name.as_deref())?;
    let ds = spec
        .storage_backings
        .first()
        .and_then(|b| b.datastore_id.clone())
        .ok_or_else(|| VapiError::invalid("a datastore storage backing is required"))?;
    if datastore_name(emu, &ds).is_none() {
        return Err(VapiError::not_found(format!(
            "Datastore with identifier {ds} does not exist."
        )));
    }
    let libs = &emu.vapi.library;
    if libs.libs.values().any(|l| l.name == name) {
        return Err(VapiError::exists(format!(
            "A library with name {name} already exists."
        )));
    }
    if libs.libs.len() >= MAX_LIBRARIES {
        return Err(VapiError::full("libraries", MAX_LIBRARIES));
    }
    let id = emu.idgen.uuid();
    let now = emu.clock.now_ms();
    let lib = Library {
        id: id.clone(),
        name,
        description: spec.description.unwrap_or_default(),
        datastore_id: ds,
        created_ms: now,
        modified_ms: now,
        version: 1,
        published: spec
            .publish_info
            .as_ref()
            .and_then(|p| p.published)
            .unwrap_or(false),
        subscription,
        last_sync_ms: None,
    };
    // The library's folder on its datastore, where vCenter keeps its files.
    if let Some(dir) = dir_prefix(emu, &lib, None)
        && emu.files.len() < crate::server::MAX_FILES
    {
        emu.files.insert(dir, Vec::new());
    }
    let subscribed = lib.subscription.is_some();
    emu.vapi.library.libs.insert(id.clone(), lib);
    if subscribed {
        // A new subscription synchronizes at once, as vCenter's first sync.
        if let Err(e) = subscribed::sync(emu, &id, None) {
            delete_library(emu, &id)?;
            return Err(e);
        }
    }
    Ok(Reply::Created(json!(id)))
}

fn update_library(emu: &mut Emulator, req: &Req<'_>, id: &str) -> Result<Reply, VapiError> {
    let spec: LibrarySpec = req.spec("update_spec")?;
    let libs = &emu.vapi.library;
    if !libs.libs.contains_key(id) {
        return Err(no_library(id));
    }
    let name = match spec.name.as_deref() {
        Some(n) => {
            let n = check_name(Some(n))?;
            if libs.libs.values().any(|l| l.name == n && l.id != id) {
                return Err(VapiError::exists(format!(
                    "A library with name {n} already exists."
                )));
            }
            Some(n)
        }
        None => None,
    };
    let now = emu.clock.now_ms();
    if let Some(l) = emu.vapi.library.libs.get_mut(id) {
        if let Some(n) = name {
            l.name = n;
        }
        if let Some(d) = spec.description {
            l.description = d;
        }
        if let Some(p) = spec.publish_info.as_ref().and_then(|p| p.published)
            && l.subscription.is_none()
        {
            l.published = p;
        }
        l.modified_ms = now;
        l.version += 1;
    }
    Ok(Reply::Empty)
}

fn delete_library(emu: &mut Emulator, id: &str) -> Result<Reply, VapiError> {
    let lib = emu
        .vapi
        .library
        .libs
        .get(id)
        .cloned()
        .ok_or_else(|| no_library(id))?;
    let items: Vec<String> = emu
        .vapi
        .library
        .items
        .values()
        .filter(|i| i.library_id == id)
        .map(|i| i.id.clone())
        .collect();
    for i in items {
        delete_item(emu, &i);
    }
    if let Some(prefix) = dir_prefix(emu, &lib, None) {
        emu.files.retain(|k, _| !k.starts_with(&prefix));
    }
    emu.vapi.library.libs.remove(id);
    Ok(Reply::Empty)
}

fn create_item(emu: &mut Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    let spec: ItemSpec = req.spec("create_spec")?;
    let name = check_name(spec.name.as_deref())?;
    let lib = spec.library_id.unwrap_or_default();
    writable(emu, &lib)?;
    let libs = &emu.vapi.library;
    if libs
        .items
        .values()
        .any(|i| i.library_id == lib && i.name == name)
    {
        return Err(VapiError::exists(format!(
            "An item with name {name} already exists in library {lib}."
        )));
    }
    if libs.items.len() >= MAX_ITEMS {
        return Err(VapiError::full("library items", MAX_ITEMS));
    }
    let _ = spec.cached;
    let id = emu.idgen.uuid();
    let now = emu.clock.now_ms();
    emu.vapi.library.items.insert(
        id.clone(),
        Item {
            id: id.clone(),
            library_id: lib,
            name,
            description: spec.description.unwrap_or_default(),
            ty: spec.ty.unwrap_or_default(),
            created_ms: now,
            modified_ms: now,
            content_version: 1,
            metadata_version: 1,
            files: BTreeMap::new(),
            template: None,
            checkouts: Vec::new(),
            source_id: None,
        },
    );
    Ok(Reply::Created(json!(id)))
}

fn update_item(emu: &mut Emulator, req: &Req<'_>, id: &str) -> Result<Reply, VapiError> {
    let spec: ItemSpec = req.spec("update_spec")?;
    let libs = &emu.vapi.library;
    let cur = libs.items.get(id).ok_or_else(|| no_item(id))?;
    if let Some(n) = spec.name.as_deref() {
        let n = check_name(Some(n))?;
        if libs
            .items
            .values()
            .any(|i| i.library_id == cur.library_id && i.name == n && i.id != id)
        {
            return Err(VapiError::exists(format!(
                "An item with name {n} already exists in its library."
            )));
        }
    }
    let now = emu.clock.now_ms();
    if let Some(i) = emu.vapi.library.items.get_mut(id) {
        if let Some(n) = spec.name {
            i.name = n.trim().to_owned();
        }
        if let Some(d) = spec.description {
            i.description = d;
        }
        if let Some(t) = spec.ty {
            i.ty = t;
        }
        i.metadata_version += 1;
        i.modified_ms = now;
    }
    Ok(Reply::Empty)
}

fn delete_item(emu: &mut Emulator, id: &str) {
    if let Ok(prefix) = item_dir(emu, id) {
        emu.files.retain(|k, _| !k.starts_with(&prefix));
    }
    // A template item's VM goes with it, as on vCenter.
    if let Some(t) = emu
        .vapi
        .library
        .items
        .get(id)
        .and_then(|i| i.template.clone())
    {
        let _ = emu.destroy_vm("", &MoRef::new("VirtualMachine", t));
    }
    emu.vapi.library.items.remove(id);
    emu.vapi.library.transfers.retain(|_, t| t.item_id != id);
}

fn find_items(emu: &Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    let spec: ItemSpec = req.spec("spec")?;
    let ids: Vec<&String> = emu
        .vapi
        .library
        .items
        .values()
        .filter(|i| {
            spec.library_id
                .as_deref()
                .is_none_or(|l| l.is_empty() || l == i.library_id)
                && spec
                    .name
                    .as_deref()
                    .is_none_or(|n| n.is_empty() || n == i.name)
                && spec.ty.as_deref().is_none_or(|t| t.is_empty() || t == i.ty)
        })
        .map(|i| &i.id)
        .collect();
    Ok(Reply::Value(json!(ids)))
}

fn list_files(emu: &Emulator, id: &str) -> Result<Reply, VapiError> {
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    let files: Vec<Value> = item.files.iter().map(|(n, f)| file_json(n, f)).collect();
    Ok(Reply::Value(json!(files)))
}

fn get_file(emu: &Emulator, id: &str, name: &str) -> Result<Reply, VapiError> {
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    item.files
        .get(name)
        .map(|f| Reply::Value(file_json(name, f)))
        .ok_or_else(|| VapiError::not_found(format!("File {name} does not exist in item {id}.")))
}

pub mod ovf;
mod subscribed;
mod transfer;
pub mod vmtx;
pub use transfer::transfer;
use transfer::{create_transfer, files_reply, transfer_call, transfer_file_call};

#[cfg(test)]
mod deploy_tests;
#[cfg(test)]
mod tests;
