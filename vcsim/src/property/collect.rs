//! Evaluating a filter spec against the inventory: which objects it reaches, and which
//! property values it reports for each.

use super::spec::{FilterSpec, ObjSpec, PropSpec, Selection, Traversal};
use crate::emulator::Emulator;
use crate::vmodl::{DataObject, Fault, MoRef, PathCheck, PropertyPath, Value, is_a, path_type};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// Bound on objects one evaluation may reach (guards against runaway traversal specs).
const REACH_MAX: usize = 1_000_000;

/// The objects a spec reaches, in first-reached order, without duplicates.
pub fn reach(
    emu: &Emulator,
    session: Option<&str>,
    spec: &FilterSpec,
) -> Result<Vec<MoRef>, Fault> {
    let mut named: BTreeMap<&str, &Traversal> = BTreeMap::new();
    for o in &spec.objects {
        collect_names(&o.select, &mut named);
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut visited = BTreeSet::new();
    for ObjSpec { obj, skip, select } in &spec.objects {
        if !emu.inv.contains(obj) {
            if spec.report_missing {
                continue;
            }
            return Err(Fault::not_found(obj));
        }
        if !skip && seen.insert(obj.value.clone()) {
            out.push(obj.clone());
        }
        for s in select {
            walk(
                emu,
                session,
                obj,
                s,
                &named,
                &mut out,
                &mut seen,
                &mut visited,
            )?;
        }
    }
    Ok(out)
}

fn collect_names<'a>(sel: &'a [Selection], named: &mut BTreeMap<&'a str, &'a Traversal>) {
    for s in sel {
        if let Selection::Traversal(t) = s {
            if let Some(n) = &t.name {
                named.insert(n.as_str(), t);
            }
            collect_names(&t.select, named);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn walk<'a>(
    emu: &Emulator,
    session: Option<&str>,
    from: &MoRef,
    sel: &'a Selection,
    named: &BTreeMap<&'a str, &'a Traversal>,
    out: &mut Vec<MoRef>,
    seen: &mut BTreeSet<String>,
    visited: &mut BTreeSet<(String, usize)>,
) -> Result<(), Fault> {
    let t: &Traversal = match sel {
        Selection::Traversal(t) => t,
        Selection::Named(n) => named
            .get(n.as_str())
            .copied()
            .ok_or_else(|| Fault::invalid_argument(n))?,
    };
    // A (object, spec) pair is walked once: recursive specs (folder → childEntity → folder)
    // terminate on any inventory, even one with a cycle.
    if !visited.insert((from.value.clone(), t as *const Traversal as usize))
        || out.len() > REACH_MAX
    {
        return Ok(());
    }
    if !is_a(&from.ty, &t.ty) {
        return Ok(());
    }
    let Some(v) = read_prop(emu, session, from, &t.path) else {
        return Ok(());
    };
    let targets: Vec<MoRef> = match v.as_ref() {
        Value::MoRef(m) => vec![m.clone()],
        other => other
            .items()
            .iter()
            .filter_map(Value::as_moref)
            .cloned()
            .collect(),
    };
    for target in targets {
        if !emu.inv.contains(&target) {
            continue;
        }
        if !t.skip && seen.insert(target.value.clone()) {
            out.push(target.clone());
        }
        for s in &t.select {
            walk(emu, session, &target, s, named, out, seen, visited)?;
        }
    }
    Ok(())
}

/// Reads a top-level property, including the ones computed on read: a view's `view`, the
/// caller's `currentSession`, the sessions list and the server clock.
pub fn read_prop<'a>(
    emu: &'a Emulator,
    session: Option<&str>,
    obj: &MoRef,
    name: &str,
) -> Option<Cow<'a, Value>> {
    match (obj.ty.as_ref(), name) {
        ("ContainerView" | "ListView" | "InventoryView", "view") => Some(Cow::Owned(
            Value::morefs(&emu.collectors.view_members(&emu.inv, obj)?),
        )),
        ("SessionManager", "currentSession") => {
            Some(Cow::Owned(emu.sessions.get(session?)?.to_value()))
        }
        ("SessionManager", "sessionList") => Some(Cow::Owned(Value::array(
            "UserSession",
            emu.sessions.iter().map(|s| s.to_value()).collect(),
        ))),
        ("ServiceInstance", "serverClock") => Some(Cow::Owned(Value::DateTime(emu.clock.now_ms()))),
        ("PropertyCollector", "filter") => Some(Cow::Owned(Value::morefs(
            &emu.collectors.filters_of(obj, session),
        ))),
        ("EventManager", "latestEvent") => emu.events.latest().map(|e| Cow::Owned(e.value.clone())),
        ("TaskManager", "recentTask") => Some(Cow::Owned(Value::morefs(emu.tasks.recent()))),
        _ => emu.inv.prop(obj, name).map(Cow::Borrowed),
    }
}

/// The properties every property spec matching `obj` asks for: `(path text, value)` for
/// each set property, in spec order.
pub fn values_for(
    emu: &Emulator,
    session: Option<&str>,
    obj: &MoRef,
    props: &[PropSpec],
) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut push = |path: String, v: Value| {
        if !out.iter().any(|(p, _)| *p == path) {
            out.push((path, v));
        }
    };
    for spec in props.iter().filter(|p| is_a(&obj.ty, &p.ty)) {
        if spec.all {
            if let Some(o) = emu.inv.lookup(obj) {
                for (name, v) in &o.props {
                    push(name.clone(), v.clone());
                }
            }
            for dynamic in [
                "view",
                "currentSession",
                "sessionList",
                "serverClock",
                "filter",
                "latestEvent",
                "recentTask",
            ] {
                if let Some(v) = read_prop(emu, session, obj, dynamic) {
                    push(dynamic.to_owned(), v.into_owned());
                }
            }
        }
        for path in spec.paths.iter().filter(|p| path_is_valid(&obj.ty, p)) {
            if let Some(v) = select(emu, session, obj, path) {
                push(path.text.clone(), v);
            }
        }
    }
    out
}

/// Whether `path` names a property (or part of one) of managed type `ty`. Types the schema
/// does not know count as valid.
fn path_is_valid(ty: &str, path: &PropertyPath) -> bool {
    !matches!(path_type(ty, path), PathCheck::Invalid { .. })
}

/// The paths of the property specs matching `obj` that name no property of its type (they
/// are reported in `missingSet` with `InvalidProperty`), in spec order, without duplicates.
pub fn invalid_paths<'a>(obj: &MoRef, props: &'a [PropSpec]) -> Vec<&'a PropertyPath> {
    let mut out: Vec<&PropertyPath> = Vec::new();
    for spec in props.iter().filter(|p| is_a(&obj.ty, &p.ty)) {
        for path in &spec.paths {
            if !path_is_valid(&obj.ty, path) && !out.iter().any(|p| p.text == path.text) {
                out.push(path);
            }
        }
    }
    out
}

/// The value at a full property path of `obj`.
pub fn select(
    emu: &Emulator,
    session: Option<&str>,
    obj: &MoRef,
    path: &PropertyPath,
) -> Option<Value> {
    let root = read_prop(emu, session, obj, path.head())?;
    path.select(&root).cloned()
}

/// `DynamicProperty { name, val }`.
pub fn dynamic_property(name: &str, v: Value) -> Value {
    DataObject::new("DynamicProperty")
        .with("name", Value::str(name))
        .with("val", Value::any(v))
        .into_value()
}

/// `MissingProperty { path, fault: InvalidProperty }` for a path the object's type lacks.
pub fn invalid_property(path: &str) -> Value {
    DataObject::new("MissingProperty")
        .with("path", Value::str(path))
        .with("fault", Fault::invalid_property(path).to_localized())
        .into_value()
}

/// `ObjectContent` for one object: its set properties, then the `invalid` paths (which name
/// no property of its type) as `missingSet`. Valid but unset paths are simply absent.
pub fn object_content(
    obj: &MoRef,
    values: Vec<(String, Value)>,
    invalid: &[&PropertyPath],
) -> Value {
    let mut d = DataObject::new("ObjectContent").with("obj", Value::moref(obj));
    if !values.is_empty() {
        d = d.with(
            "propSet",
            Value::array(
                "DynamicProperty",
                values
                    .into_iter()
                    .map(|(n, v)| dynamic_property(&n, v))
                    .collect(),
            ),
        );
    }
    if !invalid.is_empty() {
        d = d.with(
            "missingSet",
            Value::array(
                "MissingProperty",
                invalid.iter().map(|p| invalid_property(&p.text)).collect(),
            ),
        );
    }
    d.into_value()
}

/// RetrieveProperties: the object contents of every spec in the set, in order.
pub fn retrieve(
    emu: &Emulator,
    session: Option<&str>,
    specs: &[FilterSpec],
) -> Result<Vec<Value>, Fault> {
    let mut out = Vec::new();
    for spec in specs {
        for obj in reach(emu, session, spec)? {
            if !spec.props.iter().any(|p| is_a(&obj.ty, &p.ty)) {
                continue;
            }
            let values = values_for(emu, session, &obj, &spec.props);
            let invalid = invalid_paths(&obj, &spec.props);
            out.push(object_content(&obj, values, &invalid));
        }
    }
    Ok(out)
}
