//! vAPI tagging (`cis/tagging/{category,tag,tag-association}`): categories with a
//! cardinality and associable types, tags in categories, and tags attached to inventory
//! objects named by MoRef (`{"type": "VirtualMachine", "id": "vm-42"}`).
//!
//! Ids are vCenter's URNs (`urn:vmomi:InventoryServiceCategory:<uuid>:GLOBAL`) with uuids from
//! the run's seed ([`crate::ids::IdGen`]). vCenter's rules are enforced where vcsim's are
//! looser: attaching to an object that is not in the inventory is `not_found`, a second tag
//! of a SINGLE category on one object and an object type outside the category's associable
//! types are `invalid_argument`, and a category's cardinality and types only widen.

use super::json::{Reply, Req, VapiError};
use crate::emulator::Emulator;
use crate::inventory::Inventory;
use crate::vmodl::MoRef;
use axum::http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Most categories kept.
pub const MAX_CATEGORIES: usize = 2_000;
/// Most tags kept, all categories together.
pub const MAX_TAGS: usize = 20_000;
/// Most tag-object attachments kept.
pub const MAX_ATTACHMENTS: usize = 200_000;
/// Longest category or tag name (vCenter's limit is 256 characters).
pub const MAX_NAME_CHARS: usize = 256;
/// Longest description kept (an emulator bound; vCenter's is of the same order).
pub const MAX_DESCRIPTION_CHARS: usize = 2048;
/// Most object ids or tag ids in one batch call.
pub const MAX_BATCH: usize = 1_000;

/// A tag category.
#[derive(Clone, Debug)]
pub struct Category {
    /// URN id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `SINGLE` (at most one of its tags per object) or `MULTIPLE`.
    pub single: bool,
    /// Object types its tags attach to; empty means every type.
    pub associable_types: Vec<String>,
}

/// A tag.
#[derive(Clone, Debug)]
pub struct Tag {
    /// URN id.
    pub id: String,
    /// Name, unique in its category.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its category's id.
    pub category_id: String,
}

/// All categories, tags and attachments.
#[derive(Debug, Default)]
pub struct Tagging {
    categories: BTreeMap<String, Category>,
    tags: BTreeMap<String, Tag>,
    /// Tag id → objects it is attached to.
    attached: BTreeMap<String, BTreeSet<MoRef>>,
}

impl Tagging {
    fn attachment_count(&self) -> usize {
        self.attached.values().map(BTreeSet::len).sum()
    }

    fn remove_tag(&mut self, id: &str) {
        self.tags.remove(id);
        self.attached.remove(id);
    }

    /// The tags attached to `obj`, in id order; none once `obj` has left the inventory
    /// (vCenter drops a deleted object's associations, and so must every list of them).
    pub fn tags_of(&self, inv: &Inventory, obj: &MoRef) -> Vec<&Tag> {
        if !inv.contains(obj) {
            return Vec::new();
        }
        self.attached
            .iter()
            .filter(|(_, objs)| objs.contains(obj))
            .filter_map(|(t, _)| self.tags.get(t))
            .collect()
    }

    /// Drops the attachments of objects no longer in the inventory, so they stop counting
    /// against [`MAX_ATTACHMENTS`].
    fn prune_removed(&mut self, inv: &Inventory) {
        self.attached.retain(|_, objs| {
            objs.retain(|o| inv.contains(o));
            !objs.is_empty()
        });
    }
}

fn cardinality(single: bool) -> &'static str {
    if single { "SINGLE" } else { "MULTIPLE" }
}

fn category_json(c: &Category) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "cardinality": cardinality(c.single),
        "associable_types": c.associable_types,
        "used_by": [],
    })
}

fn tag_json(t: &Tag) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "category_id": t.category_id,
        "used_by": [],
    })
}

/// An object id on the wire.
#[derive(Clone, Debug, Deserialize)]
struct ObjectId {
    #[serde(rename = "type")]
    ty: String,
    id: String,
}

impl ObjectId {
    fn moref(&self) -> MoRef {
        MoRef::new(self.ty.clone(), self.id.clone())
    }
}

fn object_json(m: &MoRef) -> Value {
    json!({ "type": m.ty, "id": m.value })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CategorySpec {
    name: Option<String>,
    description: Option<String>,
    cardinality: Option<String>,
    associable_types: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TagSpec {
    name: Option<String>,
    description: Option<String>,
    category_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AssociationSpec {
    object_id: Option<ObjectId>,
    object_ids: Vec<ObjectId>,
    tag_ids: Vec<String>,
    category_id: Option<String>,
}

fn check_name(name: Option<&str>) -> Result<String, VapiError> {
    let n = name.unwrap_or("").trim();
    if n.is_empty() {
        return Err(VapiError::invalid("a name is required"));
    }
    if n.chars().count() > MAX_NAME_CHARS {
        return Err(VapiError::invalid(format!(
            "a name is at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(n.to_owned())
}

fn check_description(d: Option<&str>) -> Result<String, VapiError> {
    let d = d.unwrap_or("");
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(VapiError::invalid(format!(
            "a description is at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(d.to_owned())
}

/// `v` without repeats, first occurrences in order (govmomi appends to the list it read).
fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.retain(|t| seen.insert(t.clone()));
    v
}

fn parse_cardinality(c: &str) -> Result<bool, VapiError> {
    match c {
        "SINGLE" => Ok(true),
        "MULTIPLE" => Ok(false),
        other => Err(VapiError::invalid(format!(
            "cardinality must be SINGLE or MULTIPLE, not '{other}'"
        ))),
    }
}

fn urn(emu: &mut Emulator, kind: &str) -> String {
    format!(
        "urn:vmomi:InventoryService{kind}:{}:GLOBAL",
        emu.idgen.uuid()
    )
}

/// Dispatches `cis/tagging/<rest>`.
pub fn handle(emu: &mut Emulator, req: &Req<'_>, rest: &[&str]) -> Result<Reply, VapiError> {
    let m = &req.method;
    match (rest, req.action()) {
        (["category"], None) if m == Method::GET => Ok(Reply::Value(json!(
            emu.vapi.tagging.categories.keys().collect::<Vec<_>>()
        ))),
        (["category"], None | Some("create")) if m == Method::POST => create_category(emu, req),
        (["category", id], None) if m == Method::GET => emu
            .vapi
            .tagging
            .categories
            .get(*id)
            .map(|c| Reply::Value(category_json(c)))
            .ok_or_else(|| no_category(id)),
        (["category", id], None) if m == Method::PATCH => update_category(emu, req, id),
        (["category", id], None) if m == Method::DELETE => delete_category(emu, id),
        (["tag"], None) if m == Method::GET => Ok(Reply::Value(json!(
            emu.vapi.tagging.tags.keys().collect::<Vec<_>>()
        ))),
        (["tag"], None | Some("create")) if m == Method::POST => create_tag(emu, req),
        (["tag"], Some("list-tags-for-category")) if m == Method::POST => {
            let spec: AssociationSpec = req.json()?;
            tags_for_category(emu, spec.category_id.as_deref().unwrap_or(""))
        }
        // govmomi names the category in the path (`tag/id:<category>`).
        (["tag", id], Some("list-tags-for-category")) if m == Method::POST => {
            tags_for_category(emu, id)
        }
        (["tag", id], None) if m == Method::GET => emu
            .vapi
            .tagging
            .tags
            .get(*id)
            .map(|t| Reply::Value(tag_json(t)))
            .ok_or_else(|| no_tag(id)),
        (["tag", id], None) if m == Method::PATCH => update_tag(emu, req, id),
        (["tag", id], None) if m == Method::DELETE => {
            if !emu.vapi.tagging.tags.contains_key(*id) {
                return Err(no_tag(id));
            }
            emu.vapi.tagging.remove_tag(id);
            Ok(Reply::Empty)
        }
        (["tag-association"], Some(action)) if m == Method::POST => association(emu, req, action),
        (["tag-association", id], Some(action)) if m == Method::POST => {
            tag_association(emu, req, id, action)
        }
        _ => Err(super::no_operation(req)),
    }
}

fn no_category(id: &str) -> VapiError {
    VapiError::not_found(format!("Category with identifier {id} does not exist."))
}

fn no_tag(id: &str) -> VapiError {
    VapiError::not_found(format!("Tag with identifier {id} does not exist."))
}

fn create_category(emu: &mut Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    let spec: CategorySpec = req.spec("create_spec")?;
    let name = check_name(spec.name.as_deref())?;
    let description = check_description(spec.description.as_deref())?;
    let single = parse_cardinality(spec.cardinality.as_deref().unwrap_or(""))?;
    let types = dedup(spec.associable_types.unwrap_or_default());
    if types.len() > MAX_BATCH {
        return Err(VapiError::invalid("too many associable types"));
    }
    let t = &emu.vapi.tagging;
    if t.categories.values().any(|c| c.name == name) {
        return Err(VapiError::exists(format!(
            "A category with name {name} already exists."
        )));
    }
    if t.categories.len() >= MAX_CATEGORIES {
        return Err(VapiError::full("categories", MAX_CATEGORIES));
    }
    let id = urn(emu, "Category");
    emu.vapi.tagging.categories.insert(
        id.clone(),
        Category {
            id: id.clone(),
            name,
            description,
            single,
            associable_types: types,
        },
    );
    Ok(Reply::Created(json!(id)))
}

fn update_category(emu: &mut Emulator, req: &Req<'_>, id: &str) -> Result<Reply, VapiError> {
    let spec: CategorySpec = req.spec("update_spec")?;
    let t = &emu.vapi.tagging;
    let cur = t.categories.get(id).ok_or_else(|| no_category(id))?;
    let name = match spec.name.as_deref() {
        Some(n) => {
            let n = check_name(Some(n))?;
            if t.categories.values().any(|c| c.name == n && c.id != id) {
                return Err(VapiError::exists(format!(
                    "A category with name {n} already exists."
                )));
            }
            n
        }
        None => cur.name.clone(),
    };
    let description = match spec.description.as_deref() {
        Some(d) => check_description(Some(d))?,
        None => cur.description.clone(),
    };
    let single = match spec.cardinality.as_deref() {
        None | Some("") => cur.single,
        Some(c) => {
            let single = parse_cardinality(c)?;
            // vCenter lets a category widen from SINGLE to MULTIPLE, never narrow.
            if single && !cur.single {
                return Err(VapiError::invalid(
                    "the cardinality of a category can change from SINGLE to MULTIPLE only",
                ));
            }
            single
        }
    };
    let types = match spec.associable_types {
        None => cur.associable_types.clone(),
        Some(new) if new.is_empty() => cur.associable_types.clone(),
        Some(new) => {
            // Associable types may only be added to, as vCenter documents; an empty set
            // already means every type and cannot narrow.
            if cur.associable_types.is_empty()
                || cur.associable_types.iter().any(|t| !new.contains(t))
            {
                return Err(VapiError::invalid(
                    "associable types can only be added to a category",
                ));
            }
            if new.len() > MAX_BATCH {
                return Err(VapiError::invalid("too many associable types"));
            }
            dedup(new)
        }
    };
    if let Some(c) = emu.vapi.tagging.categories.get_mut(id) {
        c.name = name;
        c.description = description;
        c.single = single;
        c.associable_types = types;
    }
    Ok(Reply::Empty)
}

fn delete_category(emu: &mut Emulator, id: &str) -> Result<Reply, VapiError> {
    let t = &mut emu.vapi.tagging;
    if t.categories.remove(id).is_none() {
        return Err(no_category(id));
    }
    let gone: Vec<String> = t
        .tags
        .values()
        .filter(|tag| tag.category_id == id)
        .map(|tag| tag.id.clone())
        .collect();
    for tag in gone {
        t.remove_tag(&tag);
    }
    Ok(Reply::Empty)
}

fn create_tag(emu: &mut Emulator, req: &Req<'_>) -> Result<Reply, VapiError> {
    let spec: TagSpec = req.spec("create_spec")?;
    let name = check_name(spec.name.as_deref())?;
    let description = check_description(spec.description.as_deref())?;
    let category_id = spec.category_id.unwrap_or_default();
    let t = &emu.vapi.tagging;
    if !t.categories.contains_key(&category_id) {
        return Err(no_category(&category_id));
    }
    if t.tags
        .values()
        .any(|x| x.category_id == category_id && x.name == name)
    {
        return Err(VapiError::exists(format!(
            "A tag with name {name} already exists in category {category_id}."
        )));
    }
    if t.tags.len() >= MAX_TAGS {
        return Err(VapiError::full("tags", MAX_TAGS));
    }
    let id = urn(emu, "Tag");
    emu.vapi.tagging.tags.insert(
        id.clone(),
        Tag {
            id: id.clone(),
            name,
            description,
            category_id,
        },
    );
    Ok(Reply::Created(json!(id)))
}

fn update_tag(emu: &mut Emulator, req: &Req<'_>, id: &str) -> Result<Reply, VapiError> {
    let spec: TagSpec = req.spec("update_spec")?;
    let t = &emu.vapi.tagging;
    let cur = t.tags.get(id).ok_or_else(|| no_tag(id))?;
    let name = match spec.name.as_deref() {
        Some(n) => {
            let n = check_name(Some(n))?;
            if t.tags
                .values()
                .any(|x| x.category_id == cur.category_id && x.name == n && x.id != id)
            {
                return Err(VapiError::exists(format!(
                    "A tag with name {n} already exists in its category."
                )));
            }
            n
        }
        None => cur.name.clone(),
    };
    let description = match spec.description.as_deref() {
        Some(d) => check_description(Some(d))?,
        None => cur.description.clone(),
    };
    if let Some(tag) = emu.vapi.tagging.tags.get_mut(id) {
        tag.name = name;
        tag.description = description;
    }
    Ok(Reply::Empty)
}

fn tags_for_category(emu: &Emulator, category: &str) -> Result<Reply, VapiError> {
    let t = &emu.vapi.tagging;
    if !t.categories.contains_key(category) {
        return Err(no_category(category));
    }
    let ids: Vec<&String> = t
        .tags
        .values()
        .filter(|x| x.category_id == category)
        .map(|x| &x.id)
        .collect();
    Ok(Reply::Value(json!(ids)))
}

/// Why `tag` may not be attached to `obj`, if it may not.
fn attach_check(emu: &Emulator, tag_id: &str, obj: &MoRef) -> Result<(), VapiError> {
    let t = &emu.vapi.tagging;
    let tag = t.tags.get(tag_id).ok_or_else(|| no_tag(tag_id))?;
    if !emu.inv.contains(obj) {
        return Err(VapiError::not_found(format!(
            "Object {}:{} does not exist.",
            obj.ty, obj.value
        )));
    }
    let Some(cat) = t.categories.get(&tag.category_id) else {
        return Err(no_category(&tag.category_id));
    };
    if !cat.associable_types.is_empty() && !cat.associable_types.iter().any(|ty| *ty == obj.ty) {
        return Err(VapiError::invalid(format!(
            "Tag {} cannot be attached to an object of type {}: category {} accepts {}.",
            tag.name,
            obj.ty,
            cat.name,
            cat.associable_types.join(", ")
        )));
    }
    if cat.single
        && t.tags_of(&emu.inv, obj)
            .iter()
            .any(|other| other.category_id == cat.id && other.id != tag.id)
    {
        return Err(VapiError::invalid(format!(
            "Tag {} cannot be attached: the object already has a tag of category {}, whose cardinality is SINGLE.",
            tag.name, cat.name
        )));
    }
    if t.attachment_count() >= MAX_ATTACHMENTS {
        return Err(VapiError::full("tag attachments", MAX_ATTACHMENTS));
    }
    Ok(())
}

/// Makes room for attachments at the bound by dropping those of removed objects.
fn prune_at_bound(emu: &mut Emulator) {
    if emu.vapi.tagging.attachment_count() >= MAX_ATTACHMENTS {
        emu.vapi.tagging.prune_removed(&emu.inv);
    }
}

fn attach(emu: &mut Emulator, tag_id: &str, obj: &MoRef) -> Result<(), VapiError> {
    prune_at_bound(emu);
    attach_check(emu, tag_id, obj)?;
    emu.vapi
        .tagging
        .attached
        .entry(tag_id.to_owned())
        .or_default()
        .insert(obj.clone());
    Ok(())
}

fn detach(emu: &mut Emulator, tag_id: &str, obj: &MoRef) -> Result<(), VapiError> {
    let t = &mut emu.vapi.tagging;
    if !t.tags.contains_key(tag_id) {
        return Err(no_tag(tag_id));
    }
    if let Some(objs) = t.attached.get_mut(tag_id) {
        objs.remove(obj);
        if objs.is_empty() {
            t.attached.remove(tag_id);
        }
    }
    Ok(())
}

/// Attached objects still in the inventory (vCenter drops a deleted object's tags).
fn live_objects<'a>(emu: &'a Emulator, tag_id: &str) -> Vec<&'a MoRef> {
    emu.vapi
        .tagging
        .attached
        .get(tag_id)
        .map(|objs| objs.iter().filter(|o| emu.inv.contains(o)).collect())
        .unwrap_or_default()
}

fn object_of(spec: &AssociationSpec) -> Result<MoRef, VapiError> {
    spec.object_id
        .as_ref()
        .map(ObjectId::moref)
        .ok_or_else(|| VapiError::invalid("object_id is required"))
}

fn check_batch(n: usize) -> Result<(), VapiError> {
    if n > MAX_BATCH {
        return Err(VapiError::invalid(format!(
            "at most {MAX_BATCH} ids per call"
        )));
    }
    Ok(())
}

/// `tag-association?~action=…` (calls naming objects or several tags).
fn association(emu: &mut Emulator, req: &Req<'_>, action: &str) -> Result<Reply, VapiError> {
    let spec: AssociationSpec = req.json()?;
    check_batch(spec.object_ids.len().max(spec.tag_ids.len()))?;
    match action {
        "list-attached-tags" => {
            let obj = object_of(&spec)?;
            let ids: Vec<&String> = emu
                .vapi
                .tagging
                .tags_of(&emu.inv, &obj)
                .into_iter()
                .map(|t| &t.id)
                .collect();
            Ok(Reply::Value(json!(ids)))
        }
        "list-attached-objects-on-tags" => {
            let out: Vec<Value> = spec
                .tag_ids
                .iter()
                .filter(|id| emu.vapi.tagging.tags.contains_key(*id))
                .map(|id| {
                    let objs: Vec<Value> =
                        live_objects(emu, id).into_iter().map(object_json).collect();
                    json!({ "tag_id": id, "object_ids": objs })
                })
                .collect();
            Ok(Reply::Value(json!(out)))
        }
        "list-attached-tags-on-objects" => {
            let out: Vec<Value> = spec
                .object_ids
                .iter()
                .map(|o| {
                    let m = o.moref();
                    let ids: Vec<&String> = emu
                        .vapi
                        .tagging
                        .tags_of(&emu.inv, &m)
                        .into_iter()
                        .map(|t| &t.id)
                        .collect();
                    json!({ "object_id": object_json(&m), "tag_ids": ids })
                })
                .collect();
            Ok(Reply::Value(json!(out)))
        }
        "attach-multiple-tags-to-object" | "detach-multiple-tags-from-object" => {
            let obj = object_of(&spec)?;
            let mut errors = Vec::new();
            for id in &spec.tag_ids {
                let r = if action.starts_with("attach") {
                    attach(emu, id, &obj)
                } else {
                    detach(emu, id, &obj)
                };
                if let Err(e) = r {
                    errors.push(json!({
                        "id": format!("com.vmware.vapi.std.errors.{}", e.kind.snake()),
                        "default_message": e.message,
                        "args": [],
                    }));
                }
            }
            Ok(Reply::Value(json!({
                "success": errors.is_empty(),
                "error_messages": errors,
            })))
        }
        _ => Err(super::no_operation(req)),
    }
}

/// `tag-association/id:<tag>?~action=…` (calls about one tag).
fn tag_association(
    emu: &mut Emulator,
    req: &Req<'_>,
    tag_id: &str,
    action: &str,
) -> Result<Reply, VapiError> {
    let spec: AssociationSpec = req.json()?;
    check_batch(spec.object_ids.len())?;
    if !emu.vapi.tagging.tags.contains_key(tag_id) {
        return Err(no_tag(tag_id));
    }
    match action {
        "attach" => attach(emu, tag_id, &object_of(&spec)?).map(|()| Reply::Empty),
        "detach" => detach(emu, tag_id, &object_of(&spec)?).map(|()| Reply::Empty),
        "list-attached-objects" => {
            let objs: Vec<Value> = live_objects(emu, tag_id)
                .into_iter()
                .map(object_json)
                .collect();
            Ok(Reply::Value(json!(objs)))
        }
        "attach-tag-to-multiple-objects" => {
            let objs: Vec<MoRef> = spec.object_ids.iter().map(ObjectId::moref).collect();
            prune_at_bound(emu);
            // All or nothing, as vCenter checks every object before attaching any.
            for o in &objs {
                attach_check(emu, tag_id, o)?;
            }
            // The bound for the whole batch, so no attach below fails halfway.
            let t = &emu.vapi.tagging;
            let new: BTreeSet<&MoRef> = objs
                .iter()
                .filter(|o| !t.attached.get(tag_id).is_some_and(|s| s.contains(*o)))
                .collect();
            if t.attachment_count() + new.len() > MAX_ATTACHMENTS {
                return Err(VapiError::full("tag attachments", MAX_ATTACHMENTS));
            }
            for o in &objs {
                attach(emu, tag_id, o)?;
            }
            Ok(Reply::Empty)
        }
        "detach-tag-from-multiple-objects" => {
            for o in &spec.object_ids {
                detach(emu, tag_id, &o.moref())?;
            }
            Ok(Reply::Empty)
        }
        _ => Err(super::no_operation(req)),
    }
}

#[cfg(test)]
mod tests;
