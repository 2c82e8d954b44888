//! Tags on first-class disks: `AttachTagToVStorageObject`, `DetachTagFromVStorageObject`,
//! `ListVStorageObjectsAttachedToTag`, `ListTagsAttachedToVStorageObject`.
//!
//! vCenter names the tag by its category's name and its own name (`VslmTagEntry`), not by
//! the tagging service's id, and keeps the association with the disk.

use super::{FcdStore, id_arg, id_value, not_found_id};
use crate::emulator::Emulator;
use crate::methods::Args;
use crate::vmodl::{DataObject, Fault, Value};

/// Most tags on one disk (a bound; vCenter documents none).
pub const FCD_TAGS_MAX: usize = 64;

/// Longest category or tag name accepted (vAPI tagging's own limit is 256 characters).
const TAG_NAME_MAX: usize = 256;

/// The `category` and `tag` parameters.
fn entry(args: &Args<'_>) -> Result<(String, String), Fault> {
    let get = |name: &str| -> Result<String, Fault> {
        let t = args.text(name)?;
        if t.is_empty() || t.len() > TAG_NAME_MAX {
            return Err(Fault::invalid_argument(name));
        }
        Ok(t.to_owned())
    };
    Ok((get("category")?, get("tag")?))
}

impl FcdStore {
    fn tags_mut(&mut self, id: &str) -> Result<&mut Vec<(String, String)>, Fault> {
        self.disks
            .get_mut(id)
            .map(|d| &mut d.tags)
            .ok_or_else(|| not_found_id(id))
    }
}

/// `AttachTagToVStorageObject(id, category, tag)`: attaching a tag twice is no change.
pub(super) fn attach(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let id = id_arg(args, "id")?;
    let e = entry(args)?;
    let tags = emu.fcd.tags_mut(&id)?;
    if !tags.contains(&e) {
        if tags.len() >= FCD_TAGS_MAX {
            return Err(Fault::insufficient_resources(format!(
                "A first-class disk carries at most {FCD_TAGS_MAX} tags in the emulator"
            )));
        }
        tags.push(e);
    }
    Ok(None)
}

/// `DetachTagFromVStorageObject(id, category, tag)`: `NotFound` when the tag is not attached.
pub(super) fn detach(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let id = id_arg(args, "id")?;
    let e = entry(args)?;
    let tags = emu.fcd.tags_mut(&id)?;
    let before = tags.len();
    tags.retain(|t| *t != e);
    if tags.len() == before {
        return Err(Fault::not_found_plain(format!(
            "The tag {}:{} is not attached to {id}",
            e.0, e.1
        )));
    }
    Ok(None)
}

/// `ListVStorageObjectsAttachedToTag(category, tag)`: the ids of the disks carrying it.
pub(super) fn list_by_tag(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let e = entry(args)?;
    let ids = emu
        .fcd
        .disks
        .iter()
        .filter(|(_, d)| d.tags.contains(&e))
        .map(|(id, _)| id_value(id.clone()))
        .collect();
    Ok(Some(Value::array("ID", ids)))
}

/// `ListTagsAttachedToVStorageObject(id)`: the disk's tags as `VslmTagEntry`s.
pub(super) fn list_tags(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let id = id_arg(args, "id")?;
    let tags = emu.fcd.tags_mut(&id)?;
    let entries = tags
        .iter()
        .map(|(c, t)| {
            DataObject::new("VslmTagEntry")
                .with("tagName", Value::str(t.clone()))
                .with("parentCategoryName", Value::str(c.clone()))
                .into_value()
        })
        .collect();
    Ok(Some(Value::array("VslmTagEntry", entries)))
}
