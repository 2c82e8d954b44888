//! OVF library items (`vcenter/ovf/library-item`): deploying an item's OVF package into a
//! VM (`?action=deploy`), reading its summary (`?action=filter`) and making an item from a
//! VM (`?action=create`, or a plain POST).
//!
//! The package is the item's files: its `.ovf` descriptor and the disk files the descriptor
//! references, all on the library's datastore (`Emulator::files`). The VM side is
//! `methods::vapp`'s ([`crate::methods::vapp::deploy_ovf`], [`crate::methods::vapp::vm_export`]).
//! As vCenter, a deployment that fails on the server answers `succeeded: false` with its
//! errors; a missing item, target or malformed request is a vAPI error.

use super::*;
use crate::methods::vapp::{OvfDeploy, deploy_ovf, vm_export};
use crate::vmodl::Fault;

/// The vAPI error for a fault of the vSphere side.
pub(crate) fn fault_error(f: Fault) -> VapiError {
    let kind = match f.ty {
        "ManagedObjectNotFound" | "NotFound" => ErrorKind::NotFound,
        "DuplicateName" | "AlreadyExists" => ErrorKind::AlreadyExists,
        "InvalidState" | "InvalidPowerState" | "TaskInProgress" => {
            ErrorKind::NotAllowedInCurrentState
        }
        "InsufficientResourcesFault" => ErrorKind::UnableToAllocateResource,
        "NotSupported" => ErrorKind::InvalidElementType,
        _ => ErrorKind::InvalidArgument,
    };
    VapiError::new(kind, f.msg)
}

/// The reference of the object with value `id` among `types`, or `not_found`.
pub(crate) fn object(emu: &Emulator, types: &[&'static str], id: &str) -> Result<MoRef, VapiError> {
    types
        .iter()
        .map(|t| MoRef::new(*t, id.to_owned()))
        .find(|r| emu.inv.contains(r))
        .ok_or_else(|| VapiError::not_found(format!("{} {id} does not exist.", types[0])))
}

/// An optional id: `None` when absent or empty.
fn opt(id: &Option<String>) -> Option<&str> {
    id.as_deref().filter(|s| !s.is_empty())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Target {
    resource_pool_id: Option<String>,
    host_id: Option<String>,
    folder_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeploymentSpec {
    name: Option<String>,
    annotation: Option<String>,
    /// A map: `[{key, value}]` on `/rest`, `{key: value}` on `/api`.
    network_mappings: Value,
    storage_provisioning: Option<String>,
    default_datastore_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeployRequest {
    deployment_spec: DeploymentSpec,
    target: Target,
}

/// A vAPI map in either form, as `(key, value)` strings (at most `OVF_REFS_MAX`).
fn map_pairs(v: &Value) -> Vec<(String, String)> {
    let max = crate::methods::vapp::OVF_REFS_MAX;
    match v {
        Value::Array(a) => a
            .iter()
            .take(max)
            .filter_map(|e| {
                Some((
                    e["key"].as_str()?.to_owned(),
                    e["value"].as_str()?.to_owned(),
                ))
            })
            .collect(),
        Value::Object(m) => m
            .iter()
            .take(max)
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

/// Dispatches `vcenter/ovf/library-item/<rest>` for `caller`.
pub fn handle(
    emu: &mut Emulator,
    req: &Req<'_>,
    rest: &[&str],
    caller: &Caller,
) -> Result<Reply, VapiError> {
    if req.method != Method::POST {
        return Err(crate::rest::no_operation(req));
    }
    match (rest, req.action()) {
        ([], None | Some("create")) => create(emu, req, &caller.user),
        ([id], Some("deploy")) => deploy(emu, req, id, &caller.user),
        ([id], Some("filter")) => filter(emu, req, id),
        _ => Err(crate::rest::no_operation(req)),
    }
}

/// The item's descriptor: the name and text of its `.ovf` file.
fn descriptor(emu: &Emulator, id: &str) -> Result<(String, String), VapiError> {
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    let name = item
        .files
        .keys()
        .find(|n| n.to_ascii_lowercase().ends_with(".ovf"))
        .ok_or_else(|| {
            VapiError::new(
                ErrorKind::InvalidElementType,
                format!("Library item {id} holds no OVF package (no .ovf file)."),
            )
        })?;
    let key = format!("{}{name}", item_dir(emu, id)?);
    let bytes = emu
        .files
        .get(&key)
        .ok_or_else(|| VapiError::not_found(format!("File {key} is gone.")))?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| VapiError::invalid(format!("The descriptor {name} is not UTF-8 text.")))?;
    Ok((name.clone(), text))
}

fn deploy(emu: &mut Emulator, req: &Req<'_>, id: &str, user: &str) -> Result<Reply, VapiError> {
    let spec: DeployRequest = req.json()?;
    let (_, text) = descriptor(emu, id)?;
    let dir = item_dir(emu, id)?;
    let pool_id = opt(&spec.target.resource_pool_id)
        .ok_or_else(|| VapiError::invalid("target.resource_pool_id is required"))?;
    let pool = object(emu, &["ResourcePool", "VirtualApp"], pool_id)?;
    let host = opt(&spec.target.host_id)
        .map(|h| object(emu, &["HostSystem"], h))
        .transpose()?;
    let folder = opt(&spec.target.folder_id)
        .map(|f| object(emu, &["Folder"], f))
        .transpose()?;
    let ds = &spec.deployment_spec;
    let datastore = opt(&ds.default_datastore_id)
        .map(|d| object(emu, &["Datastore"], d))
        .transpose()?;
    let mut networks = Vec::new();
    for (k, v) in map_pairs(&ds.network_mappings) {
        let net = object(
            emu,
            &["Network", "DistributedVirtualPortgroup", "OpaqueNetwork"],
            &v,
        )?;
        networks.push((k, net));
    }
    let d = OvfDeploy {
        descriptor: &text,
        name: opt(&ds.name),
        annotation: opt(&ds.annotation),
        pool,
        host,
        folder,
        datastore,
        networks: &networks,
        thin: !matches!(
            ds.storage_provisioning.as_deref(),
            Some("thick" | "eagerZeroedThick")
        ),
    };
    let key_of = |href: &str| format!("{dir}{href}");
    match deploy_ovf(emu, user, &d, &key_of) {
        Ok(vm) => Ok(Reply::Value(json!({
            "succeeded": true,
            "resource_id": {"type": "VirtualMachine", "id": vm.value},
            "error": {"errors": [], "warnings": [], "information": []},
        }))),
        // A reference or argument the request got wrong is the caller's error.
        Err(f) if matches!(f.ty, "ManagedObjectNotFound" | "InvalidArgument") => {
            Err(fault_error(f))
        }
        Err(f) => Ok(Reply::Value(json!({
            "succeeded": false,
            "error": {"errors": [{
                "category": "SERVER",
                "error": {"@class": "com.vmware.vapi.std.errors.error",
                    "messages": [{"id": "com.vmware.vcenter.ovf.deploy.error",
                        "default_message": f.msg, "args": []}]},
            }], "warnings": [], "information": []},
        }))),
    }
}

fn filter(emu: &Emulator, req: &Req<'_>, id: &str) -> Result<Reply, VapiError> {
    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Filter {
        target: Target,
    }
    let spec: Filter = req.json()?;
    if let Some(p) = opt(&spec.target.resource_pool_id) {
        object(emu, &["ResourcePool", "VirtualApp"], p)?;
    }
    let (_, text) = descriptor(emu, id)?;
    let env = crate::methods::vapp::parse_ovf(&text)
        .map_err(|e| VapiError::invalid(format!("The OVF descriptor is invalid: {e}")))?;
    let networks: Vec<&String> = env.networks.iter().map(|(n, _)| n).collect();
    Ok(Reply::Value(json!({
        "name": env.name,
        "annotation": env.annotation,
        "EULAs": env.eulas,
        "networks": networks,
        "storage_groups": [],
        "additional_params": [],
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Source {
    #[serde(rename = "type")]
    ty: Option<String>,
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LibraryTarget {
    library_id: Option<String>,
    library_item_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateSpec {
    name: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CreateRequest {
    source: Source,
    target: LibraryTarget,
    create_spec: CreateSpec,
}

/// `name` made a datastore file name (path separators become `_`).
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn create(emu: &mut Emulator, req: &Req<'_>, _user: &str) -> Result<Reply, VapiError> {
    let spec: CreateRequest = req.json()?;
    if opt(&spec.source.ty).is_some_and(|t| t != "VirtualMachine") {
        return Err(VapiError::invalid(
            "only a VirtualMachine source is emulated (source.type)",
        ));
    }
    let vm_id = opt(&spec.source.id).ok_or_else(|| VapiError::invalid("source.id is required"))?;
    let vm = object(emu, &["VirtualMachine"], vm_id)?;
    let (item_id, name) = match (
        opt(&spec.target.library_item_id),
        opt(&spec.target.library_id),
    ) {
        (Some(i), _) => {
            writable_item(emu, i)?;
            let item = emu.vapi.library.items.get(i).ok_or_else(|| no_item(i))?;
            (Some(i.to_owned()), item.name.clone())
        }
        (None, Some(l)) => {
            writable(emu, l)?;
            let name = check_name(spec.create_spec.name.as_deref())?;
            if emu
                .vapi
                .library
                .items
                .values()
                .any(|i| i.library_id == l && i.name == name)
            {
                return Err(VapiError::exists(format!(
                    "An item with name {name} already exists in library {l}."
                )));
            }
            (None, name)
        }
        (None, None) => {
            return Err(VapiError::invalid(
                "target.library_id or target.library_item_id is required",
            ));
        }
    };
    let stem = file_stem(&name);
    let export = vm_export(emu, &vm, &stem).map_err(fault_error)?;
    let mut files = vec![(format!("{stem}.ovf"), export.descriptor.into_bytes())];
    files.extend(export.disks);
    let item_id = match item_id {
        Some(i) => i,
        None => {
            let lib = opt(&spec.target.library_id).unwrap_or_default().to_owned();
            new_item(emu, &lib, &name, spec.create_spec.description, "ovf")?
        }
    };
    if let Err(e) = store_files(emu, &item_id, files) {
        if opt(&spec.target.library_item_id).is_none() {
            emu.vapi.library.items.remove(&item_id);
        }
        return Err(e);
    }
    Ok(Reply::Value(json!({
        "succeeded": true,
        "ovf_library_item_id": item_id,
        "error": {"errors": [], "warnings": [], "information": []},
    })))
}

/// A new item `name` of type `ty` in library `lib` (which exists); its id.
pub(super) fn new_item(
    emu: &mut Emulator,
    lib: &str,
    name: &str,
    description: Option<String>,
    ty: &str,
) -> Result<String, VapiError> {
    if emu.vapi.library.items.len() >= MAX_ITEMS {
        return Err(VapiError::full("library items", MAX_ITEMS));
    }
    let id = emu.idgen.uuid();
    let now = emu.clock.now_ms();
    emu.vapi.library.items.insert(
        id.clone(),
        Item {
            id: id.clone(),
            library_id: lib.to_owned(),
            name: name.to_owned(),
            description: description.unwrap_or_default(),
            ty: ty.to_owned(),
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
    Ok(id)
}

/// Makes `files` the whole content of item `id` (its old files go), within every bound.
fn store_files(
    emu: &mut Emulator,
    id: &str,
    files: Vec<(String, Vec<u8>)>,
) -> Result<(), VapiError> {
    if files.len() > MAX_FILES_PER_ITEM {
        return Err(VapiError::full("files per item", MAX_FILES_PER_ITEM));
    }
    let dir = item_dir(emu, id)?;
    let item = emu.vapi.library.items.get(id).ok_or_else(|| no_item(id))?;
    let old: usize = item.files.values().map(|f| f.size).sum();
    let incoming: usize = files.iter().map(|(_, b)| b.len()).sum();
    let lib_bytes = emu.vapi.library.bytes() - old;
    let stored: usize = emu
        .files
        .iter()
        .filter(|(k, _)| !k.starts_with(&dir))
        .map(|(_, v)| v.len())
        .sum();
    if lib_bytes + incoming > MAX_LIBRARY_BYTES {
        return Err(VapiError::full("content library bytes", MAX_LIBRARY_BYTES));
    }
    if stored + incoming > crate::server::MAX_TOTAL_FILE_BYTES
        || emu.files.len() + files.len() > crate::server::MAX_FILES
    {
        return Err(VapiError::full(
            "datastore bytes",
            crate::server::MAX_TOTAL_FILE_BYTES,
        ));
    }
    let version = item.content_version + 1;
    emu.files.retain(|k, _| !k.starts_with(&dir));
    let mut metas = BTreeMap::new();
    for (name, bytes) in files {
        let sha1 = Sha1::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        metas.insert(
            name.clone(),
            FileMeta {
                size: bytes.len(),
                sha1,
                version,
            },
        );
        emu.files.insert(format!("{dir}{name}"), bytes);
    }
    let now = emu.clock.now_ms();
    if let Some(i) = emu.vapi.library.items.get_mut(id) {
        i.files = metas;
        i.content_version = version;
        i.modified_ms = now;
        if i.ty.is_empty() {
            i.ty = "ovf".into();
        }
    }
    Ok(())
}
