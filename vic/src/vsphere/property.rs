//! The PropertyCollector: filter-spec builders, `RetrieveProperties`, container views, and
//! waiting for property values with a private collector and the legacy `WaitForUpdates`
//! loop, as VIC's govmomi does (`property.Wait`): `CreatePropertyCollector` → `CreateFilter`
//! → `WaitForUpdates(version)` until the condition holds → `DestroyPropertyCollector`.

use super::decode::unwrap_any;
use super::envelope::localized_fault;
use super::{Client, Error, Fault};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;
use vcsim::vmodl::{DataObject, MoRef, Value};

/// Most update sets one wait reads before giving up (each wakes only on a change, so this
/// bounds a wait on an object that changes forever without meeting the condition).
pub const MAX_UPDATE_ROUNDS: usize = 100_000;
/// Limit for the clean-up call after a wait.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// `PropertySpec`: `paths` of objects of type `ty`; no paths means every property.
pub fn property_spec(ty: &str, paths: &[&str]) -> Value {
    let d = DataObject::new("PropertySpec").with("type", Value::str(ty));
    if paths.is_empty() {
        d.with("all", Value::Bool(true)).into_value()
    } else {
        d.with("pathSet", Value::strings(paths.iter().copied()))
            .into_value()
    }
}

/// `ObjectSpec` starting at `obj`, following `select`.
pub fn object_spec(obj: &MoRef, skip: bool, select: Vec<Value>) -> Value {
    let d = DataObject::new("ObjectSpec")
        .with("obj", Value::moref(obj))
        .with("skip", Value::Bool(skip));
    if select.is_empty() {
        d.into_value()
    } else {
        d.with("selectSet", Value::array("SelectionSpec", select))
            .into_value()
    }
}

/// `TraversalSpec` named `name`: from objects of type `ty`, follow property `path`.
pub fn traversal_spec(name: &str, ty: &str, path: &str, select: Vec<Value>) -> Value {
    let d = DataObject::new("TraversalSpec")
        .with("name", Value::str(name))
        .with("type", Value::str(ty))
        .with("path", Value::str(path))
        .with("skip", Value::Bool(false));
    if select.is_empty() {
        d.into_value()
    } else {
        d.with("selectSet", Value::array("SelectionSpec", select))
            .into_value()
    }
}

/// `SelectionSpec` referring to the traversal spec named `name`.
pub fn selection_spec(name: &str) -> Value {
    DataObject::new("SelectionSpec")
        .with("name", Value::str(name))
        .into_value()
}

/// `PropertyFilterSpec`.
pub fn filter_spec(props: Vec<Value>, objects: Vec<Value>) -> Value {
    DataObject::new("PropertyFilterSpec")
        .with("propSet", Value::array("PropertySpec", props))
        .with("objectSet", Value::array("ObjectSpec", objects))
        .into_value()
}

/// One object's properties from `RetrieveProperties`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectContent {
    /// The object.
    pub obj: MoRef,
    /// Property values by path (unset properties are absent).
    pub props: BTreeMap<String, Value>,
    /// Properties that could not be read, with why (`NoPermission`, …).
    pub missing: Vec<(String, Fault)>,
}

impl ObjectContent {
    /// The value at `path`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.props.get(path)
    }

    /// The text at `path` (strings and enums).
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    fn from_value(v: &Value) -> Option<ObjectContent> {
        let obj = v.field("obj").and_then(Value::as_moref)?.clone();
        let mut props = BTreeMap::new();
        for p in list(v, "propSet") {
            if let (Some(name), Some(val)) =
                (p.field("name").and_then(Value::as_str), p.field("val"))
            {
                props.insert(name.to_owned(), unwrap_any(val.clone()));
            }
        }
        let missing = list(v, "missingSet")
            .into_iter()
            .filter_map(|m| {
                let path = m.field("path").and_then(Value::as_str)?.to_owned();
                Some((path, localized_fault(m.field("fault")?)))
            })
            .collect();
        Some(ObjectContent {
            obj,
            props,
            missing,
        })
    }
}

/// The values of a (possibly repeated, possibly array-valued) field `name` of `v`: the items
/// of an array, or the field itself.
pub fn list<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    let Some(d) = v.as_data() else {
        return Vec::new();
    };
    d.fields
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, f)| match f {
            Value::Array(a) => a.items.iter().collect::<Vec<_>>(),
            Value::Any(inner) if matches!(**inner, Value::Array(_)) => {
                inner.items().iter().collect()
            }
            other => vec![other],
        })
        .collect()
}

impl Client {
    /// `RetrieveProperties` with one filter spec (see [`filter_spec`]).
    pub async fn retrieve(&self, spec: Value) -> Result<Vec<ObjectContent>, Error> {
        let pc = self.service_content().property_collector.clone();
        let values = self
            .call_list("RetrieveProperties", &pc, &[("specSet", spec)])
            .await?;
        values
            .iter()
            .map(|v| {
                ObjectContent::from_value(v)
                    .ok_or_else(|| Error::Protocol("an ObjectContent without obj".into()))
            })
            .collect()
    }

    /// `paths` of each of `objects` (read as type `ty`, which may be a base type such as
    /// `ManagedEntity`); no paths means every property. In the order the server answers.
    pub async fn retrieve_properties(
        &self,
        objects: &[MoRef],
        ty: &str,
        paths: &[&str],
    ) -> Result<Vec<ObjectContent>, Error> {
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let spec = filter_spec(
            vec![property_spec(ty, paths)],
            objects
                .iter()
                .map(|o| object_spec(o, false, Vec::new()))
                .collect(),
        );
        self.retrieve(spec).await
    }

    /// One property of one object: `None` when it is unset. A property the server could not
    /// read (`missingSet`) is an error.
    pub async fn get_property(&self, obj: &MoRef, path: &str) -> Result<Option<Value>, Error> {
        let mut found = self
            .retrieve_properties(std::slice::from_ref(obj), &obj.ty, &[path])
            .await?;
        let Some(mut oc) = found.pop() else {
            return Ok(None);
        };
        if let Some((_, f)) = oc.missing.into_iter().find(|(p, _)| p == path) {
            return Err(Error::Fault(f));
        }
        Ok(oc.props.remove(path))
    }

    /// `paths` of every object of `types` below `container` (recursively or not), read
    /// through a `ContainerView` that is destroyed afterwards.
    pub async fn view_contents(
        &self,
        container: &MoRef,
        types: &[&str],
        recursive: bool,
        paths: &[&str],
    ) -> Result<Vec<ObjectContent>, Error> {
        let vm = self
            .service_content()
            .view_manager
            .clone()
            .ok_or_else(|| Error::Protocol("the server has no ViewManager".into()))?;
        let view = self
            .call(
                "CreateContainerView",
                &vm,
                &[
                    ("container", Value::moref(container)),
                    ("type", Value::strings(types.iter().copied())),
                    ("recursive", Value::Bool(recursive)),
                ],
            )
            .await?
            .and_then(|v| v.as_moref().cloned())
            .ok_or_else(|| Error::Protocol("CreateContainerView returned no view".into()))?;
        let ty = match types {
            [one] => *one,
            _ => "ManagedEntity",
        };
        let spec = filter_spec(
            vec![property_spec(ty, paths)],
            vec![object_spec(
                &view,
                true,
                vec![traversal_spec("view", "ContainerView", "view", Vec::new())],
            )],
        );
        let result = self.retrieve(spec).await;
        let destroyed = self.call("DestroyView", &view, &[]).await;
        let contents = result?;
        destroyed?;
        Ok(contents)
    }

    /// Waits until `done` holds for the values of `paths` of `obj` (absent = unset), and
    /// returns them. `done` sees the values after each update (the first one holds the
    /// current values). Fails with [`Error::Timeout`] after `timeout`, and with
    /// [`Error::Deleted`] when the object goes away.
    pub async fn wait_for_properties<F>(
        &self,
        obj: &MoRef,
        paths: &[&str],
        timeout: Duration,
        mut done: F,
    ) -> Result<BTreeMap<String, Value>, Error>
    where
        F: FnMut(&BTreeMap<String, Value>) -> bool,
    {
        let now = Instant::now();
        // A timeout too large to add is as good as a year.
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        let what = || format!("waiting for {} of {obj}", paths.join(", "));
        let pc_default = self.service_content().property_collector.clone();
        let left = || deadline.saturating_duration_since(Instant::now());
        let created = self
            .call_typed(
                "CreatePropertyCollector",
                &pc_default,
                &[],
                None,
                left().min(self.options().timeout),
            )
            .await;
        let pc = match created {
            Ok(v) => v
                .into_iter()
                .next()
                .and_then(|v| v.as_moref().cloned())
                .ok_or_else(|| {
                    Error::Protocol("CreatePropertyCollector returned nothing".into())
                })?,
            Err(Error::Timeout { .. }) => {
                return Err(Error::Timeout {
                    what: what(),
                    after: timeout,
                });
            }
            Err(e) => return Err(e),
        };
        let outcome = self.wait_loop(&pc, obj, paths, deadline, &mut done).await;
        // The collector (and its filter) goes whatever happened; a failure to clean up is
        // less interesting than the wait's own outcome.
        let _ = self
            .call_typed("DestroyPropertyCollector", &pc, &[], None, CLEANUP_TIMEOUT)
            .await;
        match outcome {
            Err(Error::Timeout { .. }) => Err(Error::Timeout {
                what: what(),
                after: timeout,
            }),
            other => other,
        }
    }

    async fn wait_loop<F>(
        &self,
        pc: &MoRef,
        obj: &MoRef,
        paths: &[&str],
        deadline: Instant,
        done: &mut F,
    ) -> Result<BTreeMap<String, Value>, Error>
    where
        F: FnMut(&BTreeMap<String, Value>) -> bool,
    {
        let left = || deadline.saturating_duration_since(Instant::now());
        let spec = filter_spec(
            vec![property_spec(&obj.ty, paths)],
            vec![object_spec(obj, false, Vec::new())],
        );
        self.call_typed(
            "CreateFilter",
            pc,
            &[("spec", spec), ("partialUpdates", Value::Bool(false))],
            None,
            left().min(self.options().timeout),
        )
        .await?;
        let mut values = BTreeMap::new();
        let mut version = String::new();
        for _ in 0..MAX_UPDATE_ROUNDS {
            if left().is_zero() {
                return Err(Error::Timeout {
                    what: String::new(),
                    after: Duration::ZERO,
                });
            }
            let mut args = Vec::new();
            if !version.is_empty() {
                args.push(("version", Value::str(version.clone())));
            }
            // Legacy WaitForUpdates blocks until something changes: the request's own limit
            // is what is left of the wait.
            let set = self
                .call_typed("WaitForUpdates", pc, &args, Some("UpdateSet"), left())
                .await?;
            let Some(set) = set.into_iter().next() else {
                continue;
            };
            if let Some(v) = set.field("version").and_then(Value::as_str) {
                version = v.to_owned();
            }
            for fs in list(&set, "filterSet") {
                for ou in list(fs, "objectSet") {
                    if ou.field("obj").and_then(Value::as_moref) != Some(obj) {
                        continue;
                    }
                    if ou.field("kind").and_then(Value::as_str) == Some("leave") {
                        return Err(Error::Deleted(obj.clone()));
                    }
                    apply_changes(&mut values, ou);
                }
            }
            if done(&values) {
                return Ok(values);
            }
        }
        Err(Error::Protocol(format!(
            "{obj} changed {MAX_UPDATE_ROUNDS} times without meeting the condition"
        )))
    }

    /// Waits until `pred` holds for the value of `path` of `obj` (`None` while unset), and
    /// returns that value. VIC waits this way on `runtime.powerState` and on guestinfo
    /// keys in `config.extraConfig`.
    pub async fn wait_for_property<F>(
        &self,
        obj: &MoRef,
        path: &str,
        timeout: Duration,
        mut pred: F,
    ) -> Result<Option<Value>, Error>
    where
        F: FnMut(Option<&Value>) -> bool,
    {
        let mut values = self
            .wait_for_properties(obj, &[path], timeout, |v| pred(v.get(path)))
            .await?;
        Ok(values.remove(path))
    }
}

/// Applies an `ObjectUpdate`'s `changeSet` to `values`.
fn apply_changes(values: &mut BTreeMap<String, Value>, update: &Value) {
    for change in list(update, "changeSet") {
        let Some(name) = change.field("name").and_then(Value::as_str) else {
            continue;
        };
        match change.field("op").and_then(Value::as_str) {
            Some("remove" | "indirectRemove") => {
                values.remove(name);
            }
            _ => match change.field("val") {
                Some(v) => {
                    values.insert(name.to_owned(), unwrap_any(v.clone()));
                }
                // An assign without a value unsets the property.
                None => {
                    values.remove(name);
                }
            },
        }
    }
}

/// The value of `OptionValue` key `key` in an `OptionValue[]` (such as `config.extraConfig`).
pub fn option_value<'a>(options: &'a Value, key: &str) -> Option<&'a Value> {
    options
        .items()
        .iter()
        .find(|o| o.field("key").and_then(Value::as_str) == Some(key))
        .and_then(|o| o.field("value"))
        .map(|v| match v {
            Value::Any(inner) => inner.as_ref(),
            other => other,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_serialise_as_govmomi_sends_them() {
        let mut out = String::new();
        let spec = filter_spec(
            vec![property_spec(
                "VirtualMachine",
                &["name", "runtime.powerState"],
            )],
            vec![object_spec(
                &MoRef::new("Folder", "group-v3"),
                true,
                vec![traversal_spec(
                    "f",
                    "Folder",
                    "childEntity",
                    vec![selection_spec("f")],
                )],
            )],
        );
        vcsim::vmodl::xml::write_value(&mut out, "specSet", &spec, false);
        assert!(out.contains("<propSet xsi:type=\"PropertySpec\"><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet></propSet>"), "{out}");
        assert!(out.contains("<selectSet xsi:type=\"TraversalSpec\"><name>f</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet xsi:type=\"SelectionSpec\"><name>f</name></selectSet></selectSet>"), "{out}");
    }

    #[test]
    fn change_sets_assign_and_remove() {
        let change = |name: &str, op: &str, val: Option<Value>| {
            DataObject::new("PropertyChange")
                .with("name", Value::str(name))
                .with("op", Value::enumv("PropertyChangeOp", op.to_owned()))
                .with_opt("val", val.map(Value::any))
                .into_value()
        };
        let update = DataObject::new("ObjectUpdate")
            .with(
                "changeSet",
                Value::array(
                    "PropertyChange",
                    vec![
                        change("a", "assign", Some(Value::Int(1))),
                        change("b", "assign", Some(Value::Int(2))),
                        change("b", "remove", None),
                    ],
                ),
            )
            .into_value();
        let mut values = BTreeMap::new();
        apply_changes(&mut values, &update);
        assert_eq!(values.get("a"), Some(&Value::Int(1)));
        assert!(!values.contains_key("b"));
    }

    #[test]
    fn option_values_by_key() {
        let ec = Value::array(
            "OptionValue",
            vec![
                DataObject::new("OptionValue")
                    .with("key", "guestinfo.a".into())
                    .with("value", Value::any("x".into()))
                    .into(),
            ],
        );
        assert_eq!(
            option_value(&ec, "guestinfo.a").and_then(Value::as_str),
            Some("x")
        );
        assert_eq!(option_value(&ec, "guestinfo.b"), None);
    }
}
