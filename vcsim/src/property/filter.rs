//! PropertyFilters and the updates they report.
//!
//! A filter remembers what it last reported for each object. Polling re-evaluates its spec
//! and diffs: new objects `enter`, changed ones `modify` with one PropertyChange per path,
//! vanished ones `leave`. With `maxObjectUpdates`, only that many objects are reported and
//! the rest stay unreported (so the next poll picks them up) and `truncated` is set — the
//! same contract as vCenter's paging of large update sets.
//!
//! A poll costs what changed, not what the filter sees: after one complete evaluation, as
//! long as no change since could have altered which objects the spec reaches (no object
//! replaced or removed, and no reference property the spec follows changed on an object of
//! the type it follows it from: [`crate::inventory::Inventory::refs_changed_since`]), only
//! the objects the filter reports that changed since
//! ([`crate::inventory::Inventory::changed_since`]) are read again. A power-off at 10 000 VMs reads one VM, where re-walking the spec read all of
//! them. Filters that read a property computed from more than its object
//! ([`super::collect::COMPUTED`]: a view's members, the clock, sessions) evaluate in full at
//! every poll, as before.

use super::collect::{COMPUTED, reach, values_for};
use super::spec::{FilterSpec, Selection};
use crate::emulator::Emulator;
use crate::inventory::CONTAINMENT;
use crate::vmodl::{DataObject, Fault, MoRef, Value, is_a};
use std::collections::{BTreeMap, HashSet};

/// An object's reported properties: `(path, value)` in spec order.
type PropValues = Vec<(String, Value)>;

/// What a filter reported of one object.
#[derive(Clone, Debug)]
struct Reported {
    obj: MoRef,
    values: Vec<(String, Value)>,
    /// Its place in the spec's reach order, so updates of an incremental poll come in the
    /// order a full evaluation gives them.
    position: usize,
}

/// The inventory as of a filter's last complete evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Evaluated {
    version: u64,
    links_version: u64,
}

/// A created PropertyFilter.
#[derive(Clone, Debug)]
pub struct Filter {
    /// The collector it belongs to.
    pub collector: MoRef,
    /// The owning session.
    pub session: String,
    /// Its spec.
    pub spec: FilterSpec,
    /// `partialUpdates` (stored; changes are always reported per path).
    pub partial_updates: bool,
    reported: BTreeMap<String, Reported>,
    /// Inventory version and clock of the last complete evaluation of a volatile filter.
    seen: Option<(u64, i64)>,
    evaluated: Option<Evaluated>,
    /// Whether the spec reads a computed property (its results can change with no change
    /// to the objects it reports).
    volatile: bool,
    /// The `(type, reference property)` pairs the spec's traversals follow; a view's
    /// members count as following its container's [`CONTAINMENT`] properties.
    follows: Vec<(String, String)>,
    /// Polls that walked the whole spec (the rest read only what changed).
    full_polls: u64,
}

impl Filter {
    /// A filter that has reported nothing yet.
    pub fn new(
        collector: MoRef,
        session: String,
        spec: FilterSpec,
        partial_updates: bool,
    ) -> Filter {
        let volatile = reads_computed(&spec);
        let mut follows = Vec::new();
        for o in &spec.objects {
            followed(&o.select, &mut follows);
        }
        Filter {
            collector,
            session,
            spec,
            partial_updates,
            reported: BTreeMap::new(),
            seen: None,
            evaluated: None,
            volatile,
            follows,
            full_polls: 0,
        }
    }

    /// Diffs `obj` against what was reported of it and queues the update, if any, from
    /// `budget`; false (nothing queued or recorded) when the budget is spent. An unchanged
    /// object keeps its report, at its new place in the reach order.
    fn report(
        &mut self,
        position: usize,
        obj: MoRef,
        values: PropValues,
        budget: &mut usize,
        updates: &mut Vec<Value>,
    ) -> bool {
        match object_diff(&obj, self.reported.get(&obj.value), &values) {
            Some(u) => {
                if !take(budget) {
                    return false;
                }
                updates.push(u);
                self.reported.insert(
                    obj.value.clone(),
                    Reported {
                        obj,
                        values,
                        position,
                    },
                );
            }
            None => {
                if let Some(r) = self.reported.get_mut(&obj.value) {
                    r.position = position;
                }
            }
        }
        true
    }

    /// Whether the objects the spec reaches may differ from those of its last complete
    /// evaluation.
    fn reach_may_have_changed(&self, inv: &crate::inventory::Inventory) -> bool {
        let Some(e) = self.evaluated else {
            return true;
        };
        e.links_version != inv.links_version()
            || self
                .follows
                .iter()
                .any(|(ty, name)| inv.refs_changed_since(ty, name, e.version))
    }
}

/// Adds the `(type, path)` of every traversal in `sel` to `out` (named selections point to
/// traversals written out elsewhere in the same spec).
fn followed(sel: &[Selection], out: &mut Vec<(String, String)>) {
    for s in sel {
        let Selection::Traversal(t) = s else {
            continue;
        };
        let mut add = |ty: &str, name: &str| {
            if !out.iter().any(|(t, n)| t == ty && n == name) {
                out.push((ty.to_owned(), name.to_owned()));
            }
        };
        add(&t.ty, &t.path);
        // A list view's members are its list; any other view's follow containers.
        if t.path == "view" && t.ty != "ListView" {
            for (ty, name) in CONTAINMENT {
                add(ty, name);
            }
        }
        followed(&t.select, out);
    }
}

/// Whether a spec reads a property [`COMPUTED`] on read: in its property specs (named, or
/// through `all`), or as a traversal path other than a view's members. A view's members
/// depend on the containers below it, whose membership changes move the inventory's
/// links version (`ModifyListView` stamps the view as a linking change too), so a view
/// traversal needs no full evaluation of its own.
fn reads_computed(spec: &FilterSpec) -> bool {
    let props = spec.props.iter().any(|p| {
        COMPUTED.iter().any(|(ty, name)| {
            is_a(ty, &p.ty) && (p.all || p.paths.iter().any(|path| path.head() == *name))
        })
    });
    fn traverses(sel: &[Selection]) -> bool {
        sel.iter().any(|s| match s {
            Selection::Traversal(t) => {
                COMPUTED
                    .iter()
                    .any(|(ty, name)| *name != "view" && t.path == *name && is_a(ty, &t.ty))
                    || traverses(&t.select)
            }
            Selection::Named(_) => false,
        })
    }
    props || spec.objects.iter().any(|o| traverses(&o.select))
}

fn change(name: &str, v: Option<&Value>) -> Value {
    DataObject::new("PropertyChange")
        .with("name", Value::str(name))
        .with("op", Value::enumv("PropertyChangeOp", "assign"))
        .with_opt("val", v.map(|v| Value::any(v.clone())))
        .into_value()
}

fn object_update(kind: &'static str, obj: &MoRef, changes: Vec<Value>) -> Value {
    let mut d = DataObject::new("ObjectUpdate")
        .with("kind", Value::enumv("ObjectUpdateKind", kind))
        .with("obj", Value::moref(obj));
    if !changes.is_empty() {
        d = d.with("changeSet", Value::array("PropertyChange", changes));
    }
    d.into_value()
}

/// The update of one object against what was reported of it (`None` when unchanged).
fn object_diff(
    obj: &MoRef,
    before: Option<&Reported>,
    values: &[(String, Value)],
) -> Option<Value> {
    match before {
        None => Some(object_update(
            "enter",
            obj,
            values.iter().map(|(n, v)| change(n, Some(v))).collect(),
        )),
        Some(r) if r.values != values => {
            let before = &r.values;
            let mut changes: Vec<Value> = values
                .iter()
                .filter(|(n, v)| before.iter().find(|(bn, _)| bn == n).map(|(_, bv)| bv) != Some(v))
                .map(|(n, v)| change(n, Some(v)))
                .collect();
            changes.extend(
                before
                    .iter()
                    .filter(|(bn, _)| !values.iter().any(|(n, _)| n == bn))
                    .map(|(bn, _)| change(bn, None)),
            );
            Some(object_update("modify", obj, changes))
        }
        Some(_) => None,
    }
}

/// What one filter's poll found: its object updates, and whether it saw everything.
struct FilterPoll {
    updates: Vec<Value>,
    complete: bool,
}

/// Collects pending updates of every filter the session has on `collector`. Returns
/// `None` when nothing changed. `max_objects` bounds the object updates in the set.
pub fn poll_updates(
    emu: &mut Emulator,
    session: &str,
    collector: &MoRef,
    max_objects: Option<usize>,
) -> Result<Option<Value>, Fault> {
    let stamp = (emu.inv.version(), emu.clock.now_ms());
    let keys: Vec<String> = emu
        .collectors
        .filters
        .iter()
        .filter(|(_, f)| f.collector == *collector && f.session == session && !up_to_date(f, stamp))
        .map(|(k, _)| k.clone())
        .collect();
    let mut budget = max_objects.unwrap_or(usize::MAX).max(1);
    let mut truncated = false;
    let mut filter_set = Vec::new();
    for key in keys {
        let Some(f) = emu.collectors.filters.get(&key) else {
            continue;
        };
        let links_version = emu.inv.links_version();
        let incremental = !f.volatile && !f.reach_may_have_changed(&emu.inv);
        let poll = if incremental {
            poll_changed(emu, session, &key, &mut budget)
        } else {
            poll_full(emu, session, &key, &mut budget)
        };
        let Some(poll) = poll else {
            continue;
        };
        if let Some(f) = emu.collectors.filters.get_mut(&key) {
            if poll.complete {
                f.seen = Some(stamp);
                f.evaluated = Some(Evaluated {
                    version: stamp.0,
                    links_version,
                });
            } else {
                truncated = true;
            }
        }
        if !poll.updates.is_empty() {
            filter_set.push(
                DataObject::new("PropertyFilterUpdate")
                    .with(
                        "filter",
                        Value::moref(&MoRef::new("PropertyFilter", key.clone())),
                    )
                    .with("objectSet", Value::array("ObjectUpdate", poll.updates))
                    .into_value(),
            );
        }
    }
    if filter_set.is_empty() {
        return Ok(None);
    }
    let state = emu.collectors.state_mut(collector, session);
    state.version += 1;
    let mut set = DataObject::new("UpdateSet")
        .with("version", Value::str(state.version.to_string()))
        .with(
            "filterSet",
            Value::array("PropertyFilterUpdate", filter_set),
        );
    if truncated {
        set = set.with("truncated", Value::Bool(true));
    }
    Ok(Some(set.into_value()))
}

/// Whether a filter has nothing new to see at `stamp` (inventory version, clock): a
/// volatile one when neither moved since its last complete evaluation, any other when the
/// inventory did not.
fn up_to_date(f: &Filter, stamp: (u64, i64)) -> bool {
    if f.volatile {
        f.seen == Some(stamp)
    } else {
        f.evaluated.is_some_and(|e| e.version == stamp.0)
    }
}

/// Takes one object update from the budget; false (and nothing taken) when it is spent.
fn take(budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    true
}

/// A poll that re-reads only the reported objects changed since the last complete
/// evaluation (the set of objects reached cannot have changed: see the module comment).
fn poll_changed(
    emu: &mut Emulator,
    session: &str,
    key: &str,
    budget: &mut usize,
) -> Option<FilterPoll> {
    let f = emu.collectors.filters.get(key)?;
    let since = f.evaluated?.version;
    // A removal that did not move the links version (a pruned task) still matters when
    // the filter reported the object or starts at it.
    let removed_here = emu.inv.forgot_removals_since(since)
        || emu.inv.removed_since(since).any(|r| {
            f.reported.contains_key(&r.value)
                || f.spec.objects.iter().any(|o| o.obj.value == r.value)
        });
    if removed_here {
        return poll_full(emu, session, key, budget);
    }
    let mut changed: Vec<(usize, MoRef, PropValues)> = emu
        .inv
        .changed_since(since)
        .filter_map(|value| f.reported.get(value))
        .map(|r| {
            let values = values_for(emu, Some(session), &r.obj, &f.spec.props);
            (r.position, r.obj.clone(), values)
        })
        .collect();
    changed.sort_by_key(|(position, _, _)| *position);
    let f = emu.collectors.filters.get_mut(key)?;
    let mut updates = Vec::new();
    for (position, obj, values) in changed {
        if !f.report(position, obj, values, budget, &mut updates) {
            return Some(FilterPoll {
                updates,
                complete: false,
            });
        }
    }
    Some(FilterPoll {
        updates,
        complete: true,
    })
}

/// A poll that walks the whole spec again and diffs every object it reaches.
fn poll_full(
    emu: &mut Emulator,
    session: &str,
    key: &str,
    budget: &mut usize,
) -> Option<FilterPoll> {
    let f = emu.collectors.filters.get_mut(key)?;
    f.full_polls += 1;
    let spec = f.spec.clone();
    // When the filter's start object is gone, everything it reported leaves.
    let reached = reach(emu, Some(session), &spec).unwrap_or_default();
    let current: Vec<(MoRef, Vec<(String, Value)>)> = reached
        .into_iter()
        .filter(|o| spec.props.iter().any(|p| is_a(&o.ty, &p.ty)))
        .map(|o| {
            let v = values_for(emu, Some(session), &o, &spec.props);
            (o, v)
        })
        .collect();
    let present: HashSet<String> = current.iter().map(|(o, _)| o.value.clone()).collect();
    let f = emu.collectors.filters.get_mut(key)?;
    let mut updates = Vec::new();
    for (position, (obj, values)) in current.into_iter().enumerate() {
        if !f.report(position, obj, values, budget, &mut updates) {
            return Some(FilterPoll {
                updates,
                complete: false,
            });
        }
    }
    let gone: Vec<String> = f
        .reported
        .keys()
        .filter(|k| !present.contains(k.as_str()))
        .cloned()
        .collect();
    for k in gone {
        if !take(budget) {
            return Some(FilterPoll {
                updates,
                complete: false,
            });
        }
        if let Some(r) = f.reported.remove(&k) {
            updates.push(object_update("leave", &r.obj, Vec::new()));
        }
    }
    Some(FilterPoll {
        updates,
        complete: true,
    })
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
