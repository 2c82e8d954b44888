//! PropertyFilters and the updates they report.
//!
//! A filter remembers what it last reported for each object. Polling re-evaluates its spec
//! and diffs: new objects `enter`, changed ones `modify` with one PropertyChange per path,
//! vanished ones `leave`. With `maxObjectUpdates`, only that many objects are reported and
//! the rest stay unreported (so the next poll picks them up) and `truncated` is set — the
//! same contract as vCenter's paging of large update sets.

use super::collect::{reach, values_for};
use super::spec::FilterSpec;
use crate::emulator::Emulator;
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::BTreeMap;

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
    reported: BTreeMap<String, (MoRef, Vec<(String, Value)>)>,
    seen: Option<(u64, i64)>,
}

impl Filter {
    /// A filter that has reported nothing yet.
    pub fn new(
        collector: MoRef,
        session: String,
        spec: FilterSpec,
        partial_updates: bool,
    ) -> Filter {
        Filter {
            collector,
            session,
            spec,
            partial_updates,
            reported: BTreeMap::new(),
            seen: None,
        }
    }
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
        .filter(|(_, f)| f.collector == *collector && f.session == session && f.seen != Some(stamp))
        .map(|(k, _)| k.clone())
        .collect();
    let mut budget = max_objects.unwrap_or(usize::MAX).max(1);
    let mut truncated = false;
    let mut filter_set = Vec::new();
    for key in keys {
        let Some(f) = emu.collectors.filters.get(&key) else {
            continue;
        };
        let spec = f.spec.clone();
        // When the filter's start object is gone, everything it reported leaves.
        let reached = reach(emu, Some(session), &spec).unwrap_or_default();
        let current: Vec<(MoRef, Vec<(String, Value)>)> = reached
            .into_iter()
            .filter(|o| spec.props.iter().any(|p| crate::vmodl::is_a(&o.ty, &p.ty)))
            .map(|o| {
                let v = values_for(emu, Some(session), &o, &spec.props);
                (o, v)
            })
            .collect();
        let Some(f) = emu.collectors.filters.get_mut(&key) else {
            continue;
        };
        let mut updates = Vec::new();
        let mut complete = true;
        for (obj, values) in &current {
            let update = match f.reported.get(&obj.value) {
                None => Some(object_update(
                    "enter",
                    obj,
                    values.iter().map(|(n, v)| change(n, Some(v))).collect(),
                )),
                Some((_, before)) if before != values => {
                    let mut changes: Vec<Value> = values
                        .iter()
                        .filter(|(n, v)| {
                            before.iter().find(|(bn, _)| bn == n).map(|(_, bv)| bv) != Some(v)
                        })
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
            };
            if let Some(u) = update {
                if budget == 0 {
                    truncated = true;
                    complete = false;
                    break;
                }
                budget -= 1;
                updates.push(u);
                f.reported
                    .insert(obj.value.clone(), (obj.clone(), values.clone()));
            }
        }
        if complete {
            let gone: Vec<String> = f
                .reported
                .keys()
                .filter(|k| !current.iter().any(|(o, _)| &o.value == *k))
                .cloned()
                .collect();
            for k in gone {
                if budget == 0 {
                    truncated = true;
                    complete = false;
                    break;
                }
                budget -= 1;
                if let Some((obj, _)) = f.reported.remove(&k) {
                    updates.push(object_update("leave", &obj, Vec::new()));
                }
            }
        }
        if complete {
            f.seen = Some(stamp);
        }
        if !updates.is_empty() {
            filter_set.push(
                DataObject::new("PropertyFilterUpdate")
                    .with(
                        "filter",
                        Value::moref(&MoRef::new("PropertyFilter", key.clone())),
                    )
                    .with("objectSet", Value::array("ObjectUpdate", updates))
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
