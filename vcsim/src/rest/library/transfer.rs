//! Update and download sessions of library items, and the transfer endpoint
//! (`/cls/data/<session>/<name>`) that takes and serves their bytes.

use super::*;

pub(super) fn transfer_json(t: &Transfer, item: Option<&Item>) -> Value {
    let mut v = json!({
        "id": t.id,
        "library_item_id": t.item_id,
        "library_item_content_version": item.map(|i| i.content_version.to_string()),
        "state": t.state,
        "client_progress": if t.state == "DONE" { 100 } else { 0 },
        "expiration_time": crate::rest::time(t.expires_ms),
    });
    if let Some(e) = &t.error {
        v["error_message"] = json!({"id": "com.vmware.vapi.std.errors.error",
            "default_message": e, "args": []});
    }
    v
}

pub(super) fn update_file_json(req_base: &str, t: &Transfer, name: &str, f: &UpdateFile) -> Value {
    let status = match (&f.error, &f.staged, t.upload) {
        (Some(_), _, _) => "ERROR",
        (None, Some(_), _) => "READY",
        (None, None, true) => "WAITING_FOR_TRANSFER",
        (None, None, false) => "PREPARED",
    };
    let uri = format!("{req_base}/cls/data/{}/{}", t.id, url_segment(name));
    let endpoint = if t.upload {
        "upload_endpoint"
    } else {
        "download_endpoint"
    };
    let mut v = json!({
        "name": name,
        "status": status,
        "bytes_transferred": f.staged.as_ref().map(Vec::len).unwrap_or(0),
        endpoint: {"uri": uri},
    });
    if t.upload {
        v["source_type"] = json!(f.source_type);
    }
    if let Some(s) = f.size {
        v["size"] = json!(s);
    }
    if let Some(e) = &f.error {
        v["error_message"] =
            json!({"id": "com.vmware.vapi.std.errors.error", "default_message": e, "args": []});
    }
    v
}

/// Every file of session `t`, as the file `list` calls answer.
pub(super) fn files_reply(req_base: &str, t: &Transfer) -> Reply {
    let files: Vec<Value> = t
        .files
        .iter()
        .map(|(n, f)| update_file_json(req_base, t, n, f))
        .collect();
    Reply::Value(json!(files))
}

/// `name` percent-encoded as one URL path segment.
fn url_segment(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn create_transfer(
    emu: &mut Emulator,
    req: &Req<'_>,
    upload: bool,
    user: &str,
) -> Result<Reply, VapiError> {
    let spec: SessionSpec = req.spec("create_spec")?;
    let item_id = spec.library_item_id.unwrap_or_default();
    let item = emu
        .vapi
        .library
        .items
        .get(&item_id)
        .ok_or_else(|| no_item(&item_id))?;
    if upload {
        writable(emu, &item.library_id)?;
    }
    let prepared: BTreeMap<String, UpdateFile> = if upload {
        BTreeMap::new()
    } else {
        item.files
            .keys()
            .map(|n| {
                (
                    n.clone(),
                    UpdateFile {
                        source_type: String::new(),
                        size: None,
                        staged: None,
                        error: None,
                    },
                )
            })
            .collect()
    };
    let now = emu.clock.now_ms();
    let libs = &mut emu.vapi.library;
    if libs.transfers.len() >= MAX_TRANSFER_SESSIONS {
        // Finished and expired sessions go, oldest first; live active ones are never
        // dropped, and abandoned ones stop holding the bound once past their expiry.
        let oldest = libs
            .transfers
            .values()
            .filter(|t| t.state != "ACTIVE" || t.expires_ms < now)
            .min_by_key(|t| t.seq)
            .map(|t| t.id.clone());
        match oldest {
            Some(id) => {
                libs.transfers.remove(&id);
            }
            None => return Err(VapiError::full("transfer sessions", MAX_TRANSFER_SESSIONS)),
        }
    }
    let id = emu.idgen.uuid();
    let libs = &mut emu.vapi.library;
    libs.seq += 1;
    let t = Transfer {
        id: id.clone(),
        item_id,
        user: user.to_owned(),
        upload,
        state: "ACTIVE",
        expires_ms: now.saturating_add(SESSION_LIFETIME_MS),
        error: None,
        files: prepared,
        seq: libs.seq,
    };
    libs.transfers.insert(id.clone(), t);
    Ok(Reply::Created(json!(id)))
}

pub(super) fn transfer_call(
    emu: &mut Emulator,
    req: &Req<'_>,
    id: &str,
    action: Option<&str>,
    user: &str,
) -> Result<Reply, VapiError> {
    let t = emu.vapi.library.transfer(id, user)?;
    let m = &req.method;
    match action {
        None if m == Method::GET => {
            let item = emu.vapi.library.items.get(&t.item_id);
            Ok(Reply::Value(transfer_json(t, item)))
        }
        None if m == Method::DELETE => {
            emu.vapi.library.transfers.remove(id);
            Ok(Reply::Empty)
        }
        Some("keep-alive") if m == Method::POST => {
            let expires = emu.clock.now_ms().saturating_add(SESSION_LIFETIME_MS);
            if let Some(t) = emu.vapi.library.transfers.get_mut(id) {
                t.expires_ms = expires;
            }
            Ok(Reply::Empty)
        }
        Some(a @ ("cancel" | "fail")) if m == Method::POST => {
            if t.state != "ACTIVE" {
                return Err(not_active(t));
            }
            if let Some(t) = emu.vapi.library.transfers.get_mut(id) {
                t.state = if a == "cancel" { "CANCELED" } else { "ERROR" };
                if a == "fail" {
                    t.error = Some("the client failed the session".into());
                }
                for f in t.files.values_mut() {
                    f.staged = None;
                }
            }
            Ok(Reply::Empty)
        }
        Some("complete") if m == Method::POST => complete(emu, id).map(|()| Reply::Empty),
        _ => Err(crate::rest::no_operation(req)),
    }
}

pub(super) fn not_active(t: &Transfer) -> VapiError {
    VapiError::new(
        ErrorKind::NotAllowedInCurrentState,
        format!("Session {} is in state {}, not ACTIVE.", t.id, t.state),
    )
}

/// `update-session?~action=complete`: the staged files become the item's.
fn complete(emu: &mut Emulator, id: &str) -> Result<(), VapiError> {
    let Some(t) = emu.vapi.library.transfers.get(id).cloned() else {
        return Err(no_session(id));
    };
    if t.state != "ACTIVE" {
        return Err(not_active(&t));
    }
    if !t.upload {
        // Completing a download session only ends it.
        if let Some(t) = emu.vapi.library.transfers.get_mut(id) {
            t.state = "DONE";
        }
        return Ok(());
    }
    if let Some((name, _)) = t.files.iter().find(|(_, f)| f.staged.is_none()) {
        return Err(VapiError::new(
            ErrorKind::NotAllowedInCurrentState,
            format!("File {name} of session {id} has not been uploaded."),
        ));
    }
    let dir = item_dir(emu, &t.item_id)?;
    let item = emu
        .vapi
        .library
        .items
        .get(&t.item_id)
        .cloned()
        .ok_or_else(|| no_item(&t.item_id))?;
    let new_names = t
        .files
        .keys()
        .filter(|n| !item.files.contains_key(*n))
        .count();
    if item.files.len() + new_names > MAX_FILES_PER_ITEM {
        return Err(VapiError::full("files per item", MAX_FILES_PER_ITEM));
    }
    let incoming: usize = t
        .files
        .values()
        .filter_map(|f| f.staged.as_ref())
        .map(Vec::len)
        .sum();
    let stored: usize = emu.files.values().map(Vec::len).sum();
    if stored + incoming > crate::server::MAX_TOTAL_FILE_BYTES
        || emu.files.len() + t.files.len() > crate::server::MAX_FILES
    {
        return Err(VapiError::full(
            "datastore bytes",
            crate::server::MAX_TOTAL_FILE_BYTES,
        ));
    }
    let version = item.content_version + 1;
    let mut metas = Vec::new();
    for (name, f) in t.files {
        let bytes = f.staged.unwrap_or_default();
        let sha1 = Sha1::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        metas.push((
            name.clone(),
            FileMeta {
                size: bytes.len(),
                sha1,
                version,
            },
        ));
        emu.files.insert(format!("{dir}{name}"), bytes);
    }
    let now = emu.clock.now_ms();
    if let Some(i) = emu.vapi.library.items.get_mut(&item.id) {
        i.files.extend(metas);
        i.content_version = version;
        i.modified_ms = now;
    }
    if let Some(t) = emu.vapi.library.transfers.get_mut(id) {
        t.state = "DONE";
        // The bytes now live in the datastore; the session keeps only the names.
        for f in t.files.values_mut() {
            if let Some(b) = f.staged.take() {
                f.size = Some(b.len() as i64);
            }
        }
    }
    Ok(())
}

pub(super) fn transfer_file_call(
    emu: &mut Emulator,
    req: &Req<'_>,
    id: &str,
    action: &str,
    user: &str,
) -> Result<Reply, VapiError> {
    let t = emu.vapi.library.transfer(id, user)?;
    match action {
        "add" if t.upload => {
            let spec: FileSpec = req.spec("file_spec")?;
            let name = spec.name.unwrap_or_default();
            check_file_name(&name)?;
            if t.state != "ACTIVE" {
                return Err(not_active(t));
            }
            if t.files.len() >= MAX_FILES_PER_ITEM && !t.files.contains_key(&name) {
                return Err(VapiError::full("files per session", MAX_FILES_PER_ITEM));
            }
            let source = spec.source_type.unwrap_or_else(|| "PUSH".into());
            let error = (source != "PUSH")
                .then(|| format!("source type {source} is not emulated: only PUSH uploads are"));
            let f = UpdateFile {
                source_type: source,
                size: spec.size,
                staged: None,
                error,
            };
            let v = update_file_json(&req.base_url, t, &name, &f);
            if let Some(t) = emu.vapi.library.transfers.get_mut(id) {
                t.files.insert(name, f);
            }
            Ok(Reply::Value(v))
        }
        "get" | "prepare" => {
            let spec: FileName = req.json()?;
            let name = spec.get(req);
            if action == "prepare" && t.upload {
                return Err(crate::rest::no_operation(req));
            }
            let f = t.files.get(&name).ok_or_else(|| {
                VapiError::not_found(format!("File {name} is not part of session {id}."))
            })?;
            Ok(Reply::Value(update_file_json(&req.base_url, t, &name, f)))
        }
        "list" => Ok(files_reply(&req.base_url, t)),
        "remove" if t.upload => {
            let spec: FileName = req.json()?;
            let name = spec.get(req);
            if let Some(t) = emu.vapi.library.transfers.get_mut(id)
                && t.files.remove(&name).is_none()
            {
                return Err(VapiError::not_found(format!(
                    "File {name} is not part of session {id}."
                )));
            }
            Ok(Reply::Empty)
        }
        "validate" if t.upload => {
            let missing: Vec<&String> = t
                .files
                .iter()
                .filter(|(_, f)| f.staged.is_none())
                .map(|(n, _)| n)
                .collect();
            Ok(Reply::Value(json!({
                "has_errors": !missing.is_empty(),
                "missing_files": missing,
                "invalid_files": [],
            })))
        }
        _ => Err(crate::rest::no_operation(req)),
    }
}

/// `/cls/data/<session>/<name>`: PUT stages an upload in an update session, GET reads a
/// prepared file of a download session. Authenticated as every vAPI call.
pub async fn transfer(
    State(vc): State<Vcsim>,
    method: Method,
    Path((session, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let creds = crate::rest::credentials(&headers);
    let form = crate::rest::json::Form::Rest;
    vc.with(|emu| {
        let r = crate::rest::session::authenticate(emu, &creds)
            .and_then(|caller| transfer_data(emu, &method, &session, &name, &body, &caller.user));
        match r {
            Ok(reply) => reply.into_response(form),
            Err(e) => e.into_response(form),
        }
    })
    .into_response()
}

fn transfer_data(
    emu: &mut Emulator,
    method: &Method,
    session: &str,
    name: &str,
    body: &[u8],
    user: &str,
) -> Result<Reply, VapiError> {
    let t = emu.vapi.library.transfer(session, user)?;
    let f = t.files.get(name).ok_or_else(|| {
        VapiError::not_found(format!("File {name} is not part of session {session}."))
    })?;
    if t.state != "ACTIVE" {
        return Err(not_active(t));
    }
    match (method, t.upload) {
        (&Method::PUT | &Method::POST, true) => {
            if f.error.is_some() {
                return Err(VapiError::invalid(format!("File {name} is in error.")));
            }
            if body.len() > MAX_FILE_BYTES {
                return Err(VapiError::full("bytes per file", MAX_FILE_BYTES));
            }
            let previous = f.staged.as_ref().map(Vec::len).unwrap_or(0);
            if emu.vapi.library.bytes() - previous + body.len() > MAX_LIBRARY_BYTES {
                return Err(VapiError::full("content library bytes", MAX_LIBRARY_BYTES));
            }
            if let Some(f) = emu
                .vapi
                .library
                .transfers
                .get_mut(session)
                .and_then(|t| t.files.get_mut(name))
            {
                f.staged = Some(body.to_vec());
            }
            Ok(Reply::Empty)
        }
        (&Method::GET, false) => {
            let key = format!("{}{name}", item_dir(emu, &t.item_id)?);
            emu.files
                .get(&key)
                .map(|b| Reply::Bytes(b.clone()))
                .ok_or_else(|| VapiError::not_found(format!("File {key} is gone.")))
        }
        _ => Err(VapiError::new(
            ErrorKind::OperationNotFound,
            format!("{method} is not a transfer on this session"),
        )),
    }
}
