//! The inventory: managed objects and their properties, as plain state.
//!
//! Every object is a [`ManagedObject`]: a MoRef plus a map from top-level property name to
//! vmodl [`Value`]. The PropertyCollector reads any path straight from these trees, so a
//! property exists for every client as soon as a method stores it. Each change bumps a global
//! version and stamps the object, which is how `WaitForUpdates` finds what changed: the
//! change log ([`Inventory::changed_since`]) lists each object's latest change by version, so
//! a filter reads only what changed since it last looked. What a traversal spec can follow
//! is tracked apart: [`Inventory::links_version`] moves when an object is replaced or
//! removed, and [`Inventory::refs_changed_since`] tells whether any object of a type may have
//! changed a given reference property (`childEntity`, `vm`, …) since a version. While
//! neither moved for what a filter follows, the set of objects it reaches stands still.
//! A leaf update that a few numbers determine ([`Inventory::update_leaf_from`], the quick
//! stats of each interval) is stamped and logged like any other but skips rewriting the
//! object when it would repeat itself; [`Inventory::repeat_leaf`] stamps such a repeat for
//! a caller that knows its inputs repeat. [`Inventory::of_type`] lists the few clusters and
//! datastores from an index.
//!
//! This module knows no XML and no HTTP.

mod change_log;
mod entities;
mod names;
mod refkey;
mod repeat;
mod spec;

pub use entities::*;
pub use names::{NAME_MAX_CHARS, entity_name, invalid_name, is_xml_char};
pub use spec::{
    ClusterSpec, HostSpec, ImageSpec, InventorySpec, PoolSpec, SharesSpec, SpecError,
    SpecHostExpand, VmSpec, expand_names, expand_vm_names,
};

use crate::vmodl::{Fault, MoRef, Value};
use change_log::ChangeLog;
use refkey::RefKey;
use std::collections::BTreeMap;

/// A managed object: its reference and its top-level properties.
#[derive(Debug)]
pub struct ManagedObject {
    /// Its reference.
    pub moref: MoRef,
    /// Top-level properties by name, absent when unset.
    pub props: BTreeMap<String, Value>,
    /// The inventory version at which this object last changed.
    pub changed_at: u64,
    /// What its last [`Inventory::update_leaf_from`] was made from, if any.
    leaf_inputs: Option<repeat::LeafInputs>,
}

/// A copy leaves out what the last [`Inventory::update_leaf_from`] was made from: that is
/// about the stored object, and a copy stored again is a new change.
impl Clone for ManagedObject {
    fn clone(&self) -> ManagedObject {
        ManagedObject {
            moref: self.moref.clone(),
            props: self.props.clone(),
            changed_at: self.changed_at,
            leaf_inputs: None,
        }
    }
}

impl ManagedObject {
    /// An object with no properties yet.
    pub fn new(moref: MoRef) -> ManagedObject {
        ManagedObject {
            moref,
            props: BTreeMap::new(),
            changed_at: 0,
            leaf_inputs: None,
        }
    }

    /// Builder-style property setter.
    pub fn with(mut self, name: &str, v: Value) -> ManagedObject {
        self.props.insert(name.to_owned(), v);
        self
    }

    /// A property.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.props.get(name)
    }

    /// The `name` property as text.
    pub fn name(&self) -> &str {
        self.get("name").and_then(Value::as_str).unwrap_or("")
    }

    /// The `parent` property.
    pub fn parent(&self) -> Option<&MoRef> {
        self.get("parent").and_then(Value::as_moref)
    }
}

/// All managed objects, with the change version the property collector watches.
#[derive(Debug, Default)]
pub struct Inventory {
    /// By reference value, kept in the map's nodes ([`RefKey`]): a search reads no heap.
    objects: BTreeMap<RefKey, ManagedObject>,
    next_id: u64,
    version: u64,
    /// Objects removed, with the version of their removal (pruned by the collector).
    removed: Vec<(u64, MoRef)>,
    /// Objects by display name, so a sibling-name check does not scan a folder of
    /// thousands of VMs (which made building large inventories quadratic).
    by_name: BTreeMap<String, Vec<String>>,
    /// The change log: every object's latest change, by the version it changed at (an
    /// object appears once, at its `changed_at`).
    changes: ChangeLog,
    /// Moves when an object is replaced or removed.
    links_version: u64,
    /// When a reference property last changed (or may have), by property name then by the
    /// object's type: a few dozen entries, whatever the inventory's size.
    ref_changes: BTreeMap<String, Vec<(String, u64)>>,
    /// Interns inserted trees while an inventory is being built (see
    /// [`Inventory::start_interning`]).
    interner: Option<Box<crate::vmodl::Interner>>,
    /// The reference values of the objects of each [`INDEXED_TYPES`] type, so that a walk
    /// of the few clusters each interval does not read 10 000 VMs to find them.
    by_type: [std::collections::BTreeSet<String>; INDEXED_TYPES.len()],
}

/// Types [`Inventory::of_type`] lists from an index rather than by a walk of every object.
const INDEXED_TYPES: [&str; 2] = ["ClusterComputeResource", "Datastore"];

/// How many removals are remembered for filters that have not caught up yet.
const REMOVED_MEMORY: usize = 4096;

impl Inventory {
    /// An empty inventory whose first allocated id is `first_id`.
    pub fn new(first_id: u64) -> Inventory {
        Inventory {
            next_id: first_id,
            ..Inventory::default()
        }
    }

    /// The objects of type `ty` (exactly that type, not its subtypes), by reference value.
    pub fn of_type(&self, ty: &str) -> Vec<MoRef> {
        match indexed(ty) {
            Some(t) => self.by_type[t]
                .iter()
                .map(|v| MoRef::new(INDEXED_TYPES[t], v.clone()))
                .collect(),
            None => self
                .iter()
                .filter(|o| o.moref.ty == ty)
                .map(|o| o.moref.clone())
                .collect(),
        }
    }

    /// How many objects are of type `ty` (exactly), as [`Inventory::of_type`] counts them.
    pub fn count_of_type(&self, ty: &str) -> usize {
        match indexed(ty) {
            Some(t) => self.by_type[t].len(),
            None => self.iter().filter(|o| o.moref.ty == ty).count(),
        }
    }

    /// The current change version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The version at which an object was last replaced or removed. A new object does not
    /// move it: nothing reaches a new object until another one names it, which is a change
    /// of that one's reference property (see [`Inventory::refs_changed_since`]).
    pub fn links_version(&self) -> u64 {
        self.links_version
    }

    /// Whether an object of type `ty` (or a subtype) may have changed its reference property
    /// `name` after `version`. Every [`Inventory::update`] counts as changing all reference
    /// properties of its object (top-level properties holding a reference or an array of
    /// them), before or after; [`Inventory::update_leaf`] counts as changing none.
    pub fn refs_changed_since(&self, ty: &str, name: &str, version: u64) -> bool {
        self.ref_changes.get(name).is_some_and(|by_type| {
            by_type
                .iter()
                .any(|(t, v)| *v > version && crate::vmodl::is_a(t, ty))
        })
    }

    /// Records that reference property `name` of an object of type `ty` changed now (a
    /// computed membership, such as a list view's, changed with no property behind it).
    pub fn mark_refs_changed(&mut self, ty: &str, name: &str) {
        let version = self.version;
        let by_type = self.ref_changes.entry(name.to_owned()).or_default();
        match by_type.iter_mut().find(|(t, _)| t == ty) {
            Some(slot) => slot.1 = version,
            None => by_type.push((ty.to_owned(), version)),
        }
    }

    /// The objects changed after `version` (inserted or updated, and still present), each
    /// once, in the order of their latest change. Removed objects are not listed: a
    /// removal moves [`Inventory::links_version`], or, through
    /// [`Inventory::remove_unlinked`], is listed by [`Inventory::removed_since`].
    pub fn changed_since(&self, version: u64) -> impl Iterator<Item = &str> {
        self.changes.since(version)
    }

    /// Records that `value` changed at `version` (its previous change was at `before`).
    fn log_change(&mut self, value: &str, before: Option<u64>, version: u64) {
        self.changes.log(value, before, version);
    }

    /// A fresh reference value: `prefix` followed by the next counter value (`vm-42`).
    pub fn alloc(&mut self, prefix: &str) -> String {
        let id = self.next_id;
        self.next_id += 1;
        format!("{prefix}{id}")
    }

    fn index_name(&mut self, name: &str, value: &str) {
        if !name.is_empty() {
            self.by_name
                .entry(name.to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }

    fn unindex_name(&mut self, name: &str, value: &str) {
        if let Some(list) = self.by_name.get_mut(name) {
            list.retain(|v| v != value);
            if list.is_empty() {
                self.by_name.remove(name);
            }
        }
    }

    /// Starts interning the data objects of every object inserted (see
    /// [`crate::vmodl::Interner`]): for building a large inventory, whose VMs' trees are
    /// mostly equal. [`Inventory::stop_interning`] drops what the interner keeps alive.
    pub fn start_interning(&mut self) {
        self.interner = Some(Box::default());
    }

    /// Stops interning; objects stay shared where they were interned.
    pub fn stop_interning(&mut self) {
        self.interner = None;
    }

    /// Inserts (or replaces) an object.
    pub fn insert(&mut self, mut obj: ManagedObject) {
        for v in obj.props.values_mut() {
            match self.interner.as_mut() {
                Some(interner) => interner.intern_shrunk(v),
                None => v.shrink(),
            }
        }
        self.version += 1;
        obj.changed_at = self.version;
        let value = obj.moref.value.clone();
        let name = obj.name().to_owned();
        if let Some(t) = indexed(&obj.moref.ty) {
            self.by_type[t].insert(value.clone());
        }
        let ty = obj.moref.ty.clone();
        let before = match self.objects.insert(RefKey::new(&value), obj) {
            Some(old) => {
                if let Some(t) = indexed(&old.moref.ty).filter(|_| old.moref.ty != ty) {
                    self.by_type[t].remove(&value);
                }
                self.unindex_name(old.name(), &value);
                // A replaced object may name other objects than before.
                self.links_version = self.version;
                Some(old.changed_at)
            }
            None => None,
        };
        self.log_change(&value, before, self.version);
        self.index_name(&name, &value);
    }

    /// Removes an object.
    pub fn remove(&mut self, r: &MoRef) -> Option<ManagedObject> {
        let obj = self.objects.remove(r.value.as_bytes())?;
        if let Some(t) = indexed(&obj.moref.ty) {
            self.by_type[t].remove(&r.value);
        }
        self.unindex_name(obj.name(), &r.value);
        self.changes.take(obj.changed_at);
        self.version += 1;
        self.links_version = self.version;
        self.removed.push((self.version, obj.moref.clone()));
        if self.removed.len() > REMOVED_MEMORY {
            self.removed.drain(..self.removed.len() - REMOVED_MEMORY);
        }
        Some(obj)
    }

    /// Objects removed after `version` (see [`Inventory::forgot_removals_since`]).
    pub fn removed_since(&self, version: u64) -> impl Iterator<Item = &MoRef> {
        // Removals are remembered in version order.
        let first = self.removed.partition_point(|(v, _)| *v <= version);
        self.removed[first..].iter().map(|(_, r)| r)
    }

    /// Whether removals after `version` may have been forgotten (only the newest
    /// `REMOVED_MEMORY` are kept).
    pub fn forgot_removals_since(&self, version: u64) -> bool {
        self.removed.len() >= REMOVED_MEMORY
            && self.removed.first().is_some_and(|(v, _)| *v > version + 1)
    }

    /// [`Inventory::remove`] for an object through which no traversal reaches anything
    /// else (a task dropped from the recent list; a stale reference to it is skipped as
    /// any dangling one is): [`Inventory::links_version`] stays. A filter that reported it, or starts at it, finds
    /// it in [`Inventory::removed_since`].
    pub fn remove_unlinked(&mut self, r: &MoRef) -> Option<ManagedObject> {
        let links = self.links_version;
        let obj = self.remove(r);
        self.links_version = links;
        obj
    }

    /// Whether `r` names an existing object of its type (or a subtype).
    pub fn contains(&self, r: &MoRef) -> bool {
        self.lookup(r).is_some()
    }

    /// The object `r` names, if any.
    pub fn lookup(&self, r: &MoRef) -> Option<&ManagedObject> {
        let obj = match RefKey::probe(&r.value) {
            Some(key) => self.objects.get(&key),
            None => self.objects.get(r.value.as_bytes()),
        };
        obj.filter(|o| names(o, r))
    }

    /// The object `r` names, or `ManagedObjectNotFound`.
    pub fn get(&self, r: &MoRef) -> Result<&ManagedObject, Fault> {
        self.lookup(r).ok_or_else(|| Fault::not_found(r))
    }

    /// A property of `r`.
    pub fn prop(&self, r: &MoRef, name: &str) -> Option<&Value> {
        self.lookup(r).and_then(|o| o.get(name))
    }

    /// Changes an object through `f`, stamping it as changed.
    pub fn update<T>(
        &mut self,
        r: &MoRef,
        f: impl FnOnce(&mut ManagedObject) -> T,
    ) -> Result<T, Fault> {
        self.update_inner(r, |o, _| f(o), true)
    }

    /// [`Inventory::update`] for a change that leaves the object's reference properties as
    /// they were: the top-level properties that are a managed object reference or an array
    /// of them, the only ones a traversal spec can follow (a reference inside a data object,
    /// such as `runtime.host` or a task's `info.result`, is never traversed). Power state,
    /// quick stats, a pool's runtime and a task's progress are such changes. The change is
    /// logged, but [`Inventory::links_version`] stays, so property filters re-read this
    /// object only rather than everything they reach. The name stays too. Debug builds
    /// check both promises.
    pub fn update_leaf<T>(
        &mut self,
        r: &MoRef,
        f: impl FnOnce(&mut ManagedObject) -> T,
    ) -> Result<T, Fault> {
        self.update_inner(r, |o, _| f(o), false)
    }

    /// The update behind all others: `f` gets the object, already stamped with the new
    /// version, and the version it carried before.
    fn update_inner<T>(
        &mut self,
        r: &MoRef,
        f: impl FnOnce(&mut ManagedObject, u64) -> T,
        links: bool,
    ) -> Result<T, Fault> {
        let obj = object_mut(&mut self.objects, r).ok_or_else(|| Fault::not_found(r))?;
        self.version += 1;
        let version = self.version;
        let changed_before = std::mem::replace(&mut obj.changed_at, version);
        // A leaf change keeps the name too (checked below in debug builds), so only other
        // changes copy it to see whether the name index must follow.
        let before = links.then(|| obj.name().to_owned());
        #[cfg(debug_assertions)]
        let leaf_name = (!links).then(|| obj.name().to_owned());
        // The reference properties before the change (one that `f` removes changed too).
        let mut ref_names: Vec<String> = if links {
            obj.props
                .iter()
                .filter(|(_, v)| is_ref_prop(v))
                .map(|(n, _)| n.clone())
                .collect()
        } else {
            Vec::new()
        };
        #[cfg(debug_assertions)]
        let refs_before = (!links).then(|| object_refs(obj));
        let out = f(obj, changed_before);
        #[cfg(debug_assertions)]
        if let Some(refs) = refs_before {
            debug_assert!(
                refs == object_refs(obj),
                "update_leaf changed the references of {}",
                r.value
            );
        }
        #[cfg(debug_assertions)]
        if let Some(name) = leaf_name {
            debug_assert!(name == obj.name(), "update_leaf renamed {}", r.value);
        }
        let renamed = before
            .filter(|b| b != obj.name())
            .map(|b| (b, obj.name().to_owned()));
        if links {
            for (n, v) in &obj.props {
                if is_ref_prop(v) && !ref_names.contains(n) {
                    ref_names.push(n.clone());
                }
            }
        }
        let ty = obj.moref.ty.clone();
        if let Some((before, after)) = renamed {
            self.unindex_name(&before, &r.value);
            self.index_name(&after, &r.value);
        }
        self.log_change(&r.value, Some(changed_before), version);
        for n in &ref_names {
            self.mark_refs_changed(&ty, n);
        }
        Ok(out)
    }

    /// Sets one top-level property.
    pub fn set(&mut self, r: &MoRef, name: &str, v: Value) -> Result<(), Fault> {
        self.update(r, |o| {
            o.props.insert(name.to_owned(), v);
        })
    }

    /// Appends a MoRef to an array property, creating the array when absent.
    pub fn push_ref(&mut self, r: &MoRef, name: &str, item: &MoRef) -> Result<(), Fault> {
        self.update(r, |o| {
            let slot = o
                .props
                .entry(name.to_owned())
                .or_insert_with(|| Value::morefs([]));
            if let Some(items) = slot.items_mut()
                && !items.iter().any(|v| v.as_moref() == Some(item))
            {
                items.push(Value::moref(item));
            }
        })
    }

    /// Appends a MoRef to an array property without the duplicate check, for an object
    /// created just now (the check is linear in the list, and lists grow to thousands).
    pub fn push_new_ref(&mut self, r: &MoRef, name: &str, item: &MoRef) -> Result<(), Fault> {
        self.update(r, |o| {
            let slot = o
                .props
                .entry(name.to_owned())
                .or_insert_with(|| Value::morefs([]));
            if let Some(items) = slot.items_mut() {
                items.push(Value::moref(item));
            }
        })
    }

    /// Removes a MoRef from an array property.
    pub fn pull_ref(&mut self, r: &MoRef, name: &str, item: &MoRef) -> Result<(), Fault> {
        self.update(r, |o| {
            if let Some(items) = o.props.get_mut(name).and_then(Value::items_mut) {
                items.retain(|v| v.as_moref() != Some(item));
            }
        })
    }

    /// The MoRefs of an array property (empty when unset).
    pub fn refs(&self, r: &MoRef, name: &str) -> Vec<MoRef> {
        self.prop(r, name)
            .map(|v| {
                v.items()
                    .iter()
                    .filter_map(Value::as_moref)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// All objects in reference order.
    pub fn iter(&self) -> impl Iterator<Item = &ManagedObject> {
        self.objects.values()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the inventory is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The child of container `parent` (via its `childEntity`, `vm`, `host` or
    /// `resourcePool` lists) named `name`.
    pub fn child_named(&self, parent: &MoRef, name: &str) -> Option<MoRef> {
        // Every inventory child names its container as `parent`, except VMs, which a pool
        // lists through their `resourcePool`.
        let is_child = |o: &ManagedObject| {
            o.parent() == Some(parent)
                || (o.moref.ty == "VirtualMachine"
                    && o.get("resourcePool").and_then(Value::as_moref) == Some(parent))
        };
        self.by_name
            .get(name)?
            .iter()
            .filter_map(|v| self.objects.get(v.as_bytes()))
            .find(|o| is_child(o))
            .map(|o| o.moref.clone())
    }

    /// The inventory path of an entity (`/DC0/vm/DC0_H0_VM0`), root folder excluded.
    pub fn path_of(&self, r: &MoRef) -> String {
        let mut parts = Vec::new();
        let mut cur = self.lookup(r);
        // Inventory depth is small; the bound guards against a parent cycle.
        for _ in 0..64 {
            let Some(o) = cur else { break };
            match o.parent() {
                Some(p) => {
                    parts.push(o.name().to_owned());
                    cur = self.lookup(p);
                }
                None => break,
            }
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }
}

/// The index of `ty` in [`INDEXED_TYPES`].
fn indexed(ty: &str) -> Option<usize> {
    INDEXED_TYPES.iter().position(|t| *t == ty)
}

/// The object `r` names in `objects`, if it exists with that type (or a subtype), for a
/// change (a function of the map alone, so the inventory's other fields stay free).
fn object_mut<'a>(
    objects: &'a mut BTreeMap<RefKey, ManagedObject>,
    r: &MoRef,
) -> Option<&'a mut ManagedObject> {
    let obj = match RefKey::probe(&r.value) {
        Some(key) => objects.get_mut(&key),
        None => objects.get_mut(r.value.as_bytes()),
    };
    obj.filter(|o| names(o, r))
}

/// Whether `o`, found under `r`'s value, is of `r`'s type or a subtype of it.
fn names(o: &ManagedObject, r: &MoRef) -> bool {
    o.moref.ty == r.ty || crate::vmodl::is_a(&o.moref.ty, &r.ty)
}

/// Whether a top-level property is a reference property: a managed object reference, or an
/// array typed as references or holding one.
fn is_ref_prop(v: &Value) -> bool {
    match v {
        Value::MoRef(_) => true,
        Value::Array(a) => {
            a.item == "ManagedObjectReference" || a.items.iter().any(|i| i.as_moref().is_some())
        }
        Value::Any(b) => is_ref_prop(b),
        _ => false,
    }
}

/// `o`'s reference properties (top-level, a reference or an array of them) with their
/// values, in name order: what [`Inventory::update_leaf`] promises to leave alone.
#[cfg(debug_assertions)]
fn object_refs(o: &ManagedObject) -> Vec<(String, Vec<MoRef>)> {
    o.props
        .iter()
        .filter_map(|(name, v)| {
            let refs: Vec<MoRef> = v.referenced().cloned().collect();
            (!refs.is_empty()).then(|| (name.clone(), refs))
        })
        .collect()
}

/// The reference properties [`children`] follows, by the container type that has them: a
/// container view's members change only when one of these does (or an object goes).
pub const CONTAINMENT: &[(&str, &str)] = &[
    ("Folder", "childEntity"),
    ("StoragePod", "childEntity"),
    ("Datacenter", "vmFolder"),
    ("Datacenter", "hostFolder"),
    ("Datacenter", "datastoreFolder"),
    ("Datacenter", "networkFolder"),
    ("ComputeResource", "host"),
    ("ComputeResource", "resourcePool"),
    ("ResourcePool", "resourcePool"),
    ("ResourcePool", "vm"),
];

/// The inventory children of an entity, in the order the API lists them: folders'
/// `childEntity`; a datacenter's four folders; a compute resource's hosts and root pool; a
/// pool's child pools and VMs.
pub fn children(inv: &Inventory, r: &MoRef) -> Vec<MoRef> {
    let Some(o) = inv.lookup(r) else {
        return Vec::new();
    };
    let mut names: Vec<&str> = Vec::new();
    for (ty, name) in CONTAINMENT {
        // A storage pod is a folder too: its `childEntity` is listed once.
        if crate::vmodl::is_a(&o.moref.ty, ty) && !names.contains(name) {
            names.push(name);
        }
    }
    let mut out = Vec::new();
    for name in names {
        out.extend(o.get(name).into_iter().flat_map(Value::referenced).cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_advance_on_every_change() {
        let mut inv = Inventory::new(1);
        let r = MoRef::new("Folder", inv.alloc("group-d"));
        assert_eq!(r.value, "group-d1");
        inv.insert(ManagedObject::new(r.clone()).with("name", "Datacenters".into()));
        let v1 = inv.version();
        inv.set(&r, "name", "x".into()).unwrap();
        assert!(inv.version() > v1);
        assert_eq!(inv.get(&r).unwrap().name(), "x");
        let wrong_type = MoRef::new("VirtualMachine", "group-d1");
        assert_eq!(
            inv.get(&wrong_type).unwrap_err().ty,
            "ManagedObjectNotFound"
        );
        inv.remove(&r);
        assert_eq!(inv.removed_since(v1).count(), 1);
    }

    #[test]
    fn ref_arrays_do_not_duplicate() {
        let mut inv = Inventory::new(1);
        let f = MoRef::new("Folder", "f");
        let c = MoRef::new("VirtualMachine", "vm-1");
        inv.insert(ManagedObject::new(f.clone()));
        inv.push_ref(&f, "childEntity", &c).unwrap();
        inv.push_ref(&f, "childEntity", &c).unwrap();
        assert_eq!(inv.refs(&f, "childEntity"), vec![c.clone()]);
        inv.pull_ref(&f, "childEntity", &c).unwrap();
        assert!(inv.refs(&f, "childEntity").is_empty());
    }

    /// `of_type` lists what a walk of every object finds, in the same order, through
    /// inserts, a replacement by an object of another type, and removals.
    #[test]
    fn of_type_is_the_walk() {
        let walk = |inv: &Inventory, ty: &str| -> Vec<MoRef> {
            inv.iter()
                .filter(|o| o.moref.ty == ty)
                .map(|o| o.moref.clone())
                .collect()
        };
        let mut inv = Inventory::new(1);
        for v in ["domain-c9", "domain-c10", "vm-3", "domain-c2"] {
            let ty = if v.starts_with("vm") {
                "VirtualMachine"
            } else {
                "ClusterComputeResource"
            };
            inv.insert(ManagedObject::new(MoRef::new(ty, v)));
        }
        inv.insert(ManagedObject::new(MoRef::new("Datastore", "datastore-1")));
        inv.insert(ManagedObject::new(MoRef::new("Datastore", "domain-c9")));
        inv.remove(&MoRef::new("ClusterComputeResource", "domain-c2"));
        for ty in [
            "ClusterComputeResource",
            "Datastore",
            "VirtualMachine",
            "Folder",
        ] {
            assert_eq!(inv.of_type(ty), walk(&inv, ty), "{ty}");
            assert_eq!(inv.count_of_type(ty), walk(&inv, ty).len(), "{ty}");
        }
        assert_eq!(inv.of_type("ClusterComputeResource").len(), 1);
    }
}
