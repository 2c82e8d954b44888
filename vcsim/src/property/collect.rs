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
    let targets: Vec<MoRef> = v.referenced().cloned().collect();
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

/// The properties [`read_prop`] computes on read rather than finding in the object's tree,
/// by the managed type they are computed for. Their values depend on more than the object
/// (other objects, sessions, the clock), so a filter that reads one re-evaluates on every
/// poll (see `filter.rs`).
pub const COMPUTED: &[(&str, &str)] = &[
    ("ContainerView", "view"),
    ("ListView", "view"),
    ("InventoryView", "view"),
    ("SessionManager", "currentSession"),
    ("SessionManager", "sessionList"),
    ("ServiceInstance", "serverClock"),
    ("PropertyCollector", "filter"),
    ("EventManager", "latestEvent"),
    ("TaskManager", "recentTask"),
    ("DistributedVirtualPortgroup", "portKeys"),
    ("HostDatastoreSystem", "datastore"),
    ("HostSystem", "config"),
];

/// Reads a top-level property, including the ones computed on read ([`COMPUTED`]): a view's `view`, the
/// caller's `currentSession`, the sessions list, the server clock, and the properties that
/// mirror others so they can never disagree with them (a port group's `portKeys`, a host's
/// `config` and its datastore system's `datastore`).
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
        ("DistributedVirtualPortgroup", "portKeys") => {
            Some(Cow::Owned(Value::strings(port_keys(emu, obj)?)))
        }
        ("HostDatastoreSystem", "datastore") => {
            let host = host_with_manager(emu, "datastoreSystem", obj)?;
            Some(Cow::Owned(Value::morefs(&emu.inv.refs(&host, "datastore"))))
        }
        ("HostSystem", "config") => host_config(emu, obj).map(Cow::Owned),
        _ => emu.inv.prop(obj, name).map(Cow::Borrowed),
    }
}

/// The keys of port group `pg`'s ports: its range of its switch's ports, as `FetchDVPorts`
/// numbers them.
fn port_keys(emu: &Emulator, pg: &MoRef) -> Option<Vec<String>> {
    let dvs = emu
        .inv
        .prop(pg, "config")?
        .field("distributedVirtualSwitch")?
        .as_moref()?;
    let (_, first, n) = crate::inventory::dv_port_ranges(&emu.inv, dvs)
        .into_iter()
        .find(|(p, _, _)| p == pg)?;
    Some((first..first + n).map(|k| k.to_string()).collect())
}

/// The host whose `configManager.<field>` is `manager`.
pub(crate) fn host_with_manager(emu: &Emulator, field: &str, manager: &MoRef) -> Option<MoRef> {
    emu.inv
        .iter()
        .find(|o| {
            o.moref.ty == "HostSystem"
                && o.get("configManager")
                    .and_then(|c| c.field(field))
                    .and_then(Value::as_moref)
                    == Some(manager)
        })
        .map(|o| o.moref.clone())
}

/// A host's `config` (`HostConfigInfo`), assembled from its managers' properties so that
/// `config.network` is always its network system's `networkInfo`.
fn host_config(emu: &Emulator, host: &MoRef) -> Option<Value> {
    let o = emu.inv.lookup(host)?;
    let product = o.get("summary")?.field("config")?.field("product")?.clone();
    let manager = |f: &str| {
        o.get("configManager")
            .and_then(|c| c.field(f))
            .and_then(Value::as_moref)
    };
    let from = |f: &str, prop: &str| manager(f).and_then(|m| emu.inv.prop(m, prop)).cloned();
    let c = DataObject::new("HostConfigInfo")
        .with("host", Value::moref(host))
        .with("product", product)
        .with_opt("storageDevice", from("storageSystem", "storageDeviceInfo"))
        .with_opt(
            "fileSystemVolume",
            from("storageSystem", "fileSystemVolumeInfo"),
        )
        .with_opt("network", from("networkSystem", "networkInfo"))
        .with_opt(
            "datastoreCapabilities",
            from("datastoreSystem", "capabilities"),
        )
        .with_opt("firewall", from("firewallSystem", "firewallInfo"))
        .with("adminDisabled", Value::Bool(false));
    Some(c.into_value())
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
            for (ty, dynamic) in COMPUTED {
                if obj.ty == *ty
                    && let Some(v) = read_prop(emu, session, obj, dynamic)
                {
                    push((*dynamic).to_owned(), v.into_owned());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn computed_properties_of_switches_and_hosts() {
        let emu = Emulator::new(Config::default()).unwrap();
        let dvs = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "VmwareDistributedVirtualSwitch")
            .unwrap()
            .moref
            .clone();
        // Port keys run on across the switch's port groups, without gaps or overlaps.
        let mut next = 0;
        for pg in emu.inv.refs(&dvs, "portgroup") {
            let keys = read_prop(&emu, None, &pg, "portKeys").unwrap().into_owned();
            for k in keys.items() {
                assert_eq!(k.as_str(), Some(next.to_string().as_str()));
                next += 1;
            }
        }
        assert!(next > 0);
        let host = emu
            .inv
            .iter()
            .find(|o| o.moref.ty == "HostSystem")
            .unwrap()
            .moref
            .clone();
        let config = read_prop(&emu, None, &host, "config").unwrap().into_owned();
        assert!(
            config
                .field("network")
                .and_then(|n| n.field("vnic"))
                .is_some()
        );
        assert!(config.field("firewall").is_some());
        let dss = emu
            .inv
            .prop(&host, "configManager")
            .and_then(|c| c.field("datastoreSystem"))
            .and_then(Value::as_moref)
            .unwrap()
            .clone();
        let ds = read_prop(&emu, None, &dss, "datastore")
            .unwrap()
            .into_owned();
        assert_eq!(ds.items().len(), emu.inv.refs(&host, "datastore").len());
    }
}
