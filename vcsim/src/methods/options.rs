//! OptionManager (`ServiceContent.setting`): QueryOptions and UpdateOptions over the
//! `setting` property (`OptionValue[]`).
//!
//! Semantics from the API reference: QueryOptions returns "the option with the given name.
//! If the name ends with a dot, all options for that subtree are returned", and
//! `InvalidName` is "thrown if no option or subtree exists with the given name".
//! UpdateOptions is atomic ("either all are applied or none are"). New keys are accepted
//! only under `config.` (what vCenter allows, as govmomi's vcsim notes); VIC relies on that
//! to set `config.vpxd.SerialPort.PersistNetworkBacking`.

use super::Args;
use crate::emulator::Emulator;
use crate::inventory::option_value;
use crate::soap::{Call, decode};
use crate::vmodl::{Fault, Value};

/// Most settings an OptionManager holds (a bound on what clients can add).
pub const SETTINGS_MAX: usize = 4096;

/// Longest option key.
const MAX_KEY: usize = 256;

/// Largest option value, counted as text plus a little per nested element.
const MAX_VALUE_WEIGHT: usize = 64 * 1024;

/// Most `changedValue` entries in one call.
const MAX_CHANGES: usize = 1024;

/// The prefix under which clients may create options.
const NEW_KEY_PREFIX: &str = "config.";

/// `InvalidName { name }`.
fn invalid_name(name: &str) -> Fault {
    Fault::new("InvalidName", format!("The name '{name}' is invalid."))
        .with("name", Value::str(name))
}

/// The key of an `OptionValue`.
fn key_of(v: &Value) -> Option<&str> {
    v.field("key").and_then(Value::as_str)
}

/// The settings `name` selects: all for no name, the subtree for a name ending in `.`, the
/// one option otherwise. `None` when nothing matches (`InvalidName`).
pub fn select<'a>(settings: &'a [Value], name: Option<&str>) -> Option<Vec<&'a Value>> {
    let name = name.unwrap_or("");
    if name.is_empty() {
        return Some(settings.iter().collect());
    }
    let hits: Vec<&Value> = if name.ends_with('.') {
        settings
            .iter()
            .filter(|v| key_of(v).is_some_and(|k| k.starts_with(name)))
            .collect()
    } else {
        settings
            .iter()
            .filter(|v| key_of(v) == Some(name))
            .collect()
    };
    (!hits.is_empty()).then_some(hits)
}

/// The receiver must be an OptionManager (the dispatcher checks only that it exists).
fn option_manager(call: &Call) -> Result<(), Fault> {
    if call.this.ty == "OptionManager" {
        Ok(())
    } else {
        Err(Fault::method_not_found(&call.this, &call.method))
    }
}

/// The current settings.
fn settings(emu: &Emulator, call: &Call) -> Vec<Value> {
    emu.inv
        .prop(&call.this, "setting")
        .map(|v| v.items().to_vec())
        .unwrap_or_default()
}

/// `QueryOptions(name?)`.
pub fn query_options(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    option_manager(call)?;
    let name = args.opt_text("name");
    let all = settings(emu, call);
    match select(&all, name) {
        Some(hits) => Ok(Some(Value::array(
            "OptionValue",
            hits.into_iter().cloned().collect(),
        ))),
        None => Err(invalid_name(name.unwrap_or(""))),
    }
}

/// A rough size of a value: its text plus a little per node (decoding already bounds the
/// nesting depth).
fn weight(v: &Value) -> usize {
    match v {
        Value::Str(s) | Value::Text(s) | Value::Base64(s) => s.len() + 8,
        Value::Enum(t, s) => t.len() + s.len() + 8,
        Value::MoRef(m) => m.ty.len() + m.value.len() + 8,
        Value::Data(d) => {
            d.fields
                .iter()
                .map(|(n, f)| n.len() + weight(f))
                .sum::<usize>()
                + 16
        }
        Value::Array(a) => a.items.iter().map(weight).sum::<usize>() + 16,
        Value::Any(inner) => weight(inner),
        _ => 16,
    }
}

/// One validated change.
struct Change {
    key: String,
    value: Option<Value>,
}

/// Reads and checks the `changedValue` entries.
fn changes(args: &Args<'_>) -> Result<Vec<Change>, Fault> {
    let mut out = Vec::new();
    for el in args.elements("changedValue") {
        if out.len() >= MAX_CHANGES {
            return Err(Fault::invalid_argument("changedValue"));
        }
        let key = el.child_text("key").unwrap_or("");
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(Fault::invalid_argument("changedValue.key"));
        }
        let value = el.child("value").map(decode::value);
        if let Some(v) = &value {
            // A data object without `xsi:type` could not be written back typed at the
            // `anyType` position `OptionValue.value`.
            let untyped = matches!(v, Value::Data(d) if d.ty.is_none());
            if untyped || weight(v) > MAX_VALUE_WEIGHT {
                return Err(Fault::invalid_argument("changedValue.value"));
            }
        }
        out.push(Change {
            key: key.to_owned(),
            value,
        });
    }
    Ok(out)
}

/// `UpdateOptions(changedValue[])`: sets existing options and creates new ones under
/// `config.`; any other unknown key is `InvalidName` and nothing changes.
pub fn update_options(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    option_manager(call)?;
    let changes = changes(args)?;
    let mut all = settings(emu, call);
    for c in &changes {
        let exists = all.iter().any(|v| key_of(v) == Some(c.key.as_str()));
        if !exists && !c.key.starts_with(NEW_KEY_PREFIX) {
            return Err(invalid_name(&c.key));
        }
    }
    for c in changes {
        let ov = match c.value {
            Some(v) => option_value(&c.key, v),
            None => crate::vmodl::DataObject::new("OptionValue")
                .with("key", Value::str(c.key.clone()))
                .into_value(),
        };
        match all.iter().position(|v| key_of(v) == Some(c.key.as_str())) {
            Some(i) => all[i] = ov,
            None if all.len() < SETTINGS_MAX => all.push(ov),
            None => return Err(Fault::invalid_argument("changedValue")),
        }
    }
    emu.inv
        .set(&call.this, "setting", Value::array("OptionValue", all))?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Vec<Value> {
        vec![
            option_value("config.vpxd.sso.default.admin", Value::str("a")),
            option_value(
                "config.vpxd.SerialPort.PersistNetworkBacking",
                Value::str("true"),
            ),
            option_value("event.maxAge", Value::Int(30)),
        ]
    }

    fn keys(v: Option<Vec<&Value>>) -> Option<Vec<&str>> {
        v.map(|v| v.into_iter().filter_map(key_of).collect())
    }

    #[test]
    fn names_select_one_option_or_a_subtree() {
        let s = settings();
        assert_eq!(select(&s, None).map(|v| v.len()), Some(3));
        assert_eq!(select(&s, Some("")).map(|v| v.len()), Some(3));
        assert_eq!(
            keys(select(&s, Some("event.maxAge"))),
            Some(vec!["event.maxAge"])
        );
        assert_eq!(
            keys(select(&s, Some("config.vpxd."))),
            Some(vec![
                "config.vpxd.sso.default.admin",
                "config.vpxd.SerialPort.PersistNetworkBacking"
            ])
        );
        // Without the trailing dot a subtree name is not an option.
        assert_eq!(keys(select(&s, Some("config.vpxd"))), None);
        assert_eq!(keys(select(&s, Some("no.such.key"))), None);
    }

    #[test]
    fn invalid_name_carries_the_name() {
        let f = invalid_name("x.y");
        assert_eq!(f.ty, "InvalidName");
        assert_eq!(f.fields[0].1.as_str(), Some("x.y"));
    }

    #[test]
    fn weights_grow_with_content() {
        assert!(weight(&Value::str("a".repeat(100))) > 100);
        assert!(weight(&Value::strings(["a", "b"])) > weight(&Value::str("a")));
    }

    use super::super::search_index::harness::H;
    use crate::config::Flavor;

    fn query(h: &mut H, name: &str) -> Result<Vec<(String, Value)>, Fault> {
        let om = h.emu.refs.setting.clone();
        let body = if name.is_empty() {
            String::new()
        } else {
            format!("<name>{name}</name>")
        };
        let v = h.call("QueryOptions", &om, &body)?.unwrap();
        Ok(v.items()
            .iter()
            .map(|o| {
                (
                    key_of(o).unwrap_or("").to_owned(),
                    o.field("value").cloned().unwrap_or(Value::Bool(false)),
                )
            })
            .collect())
    }

    #[test]
    fn vic_sets_persist_network_backing() {
        let mut h = H::new(Flavor::VirtualCenter);
        let om = h.emu.refs.setting.clone();
        let key = "config.vpxd.SerialPort.PersistNetworkBacking";
        assert_eq!(query(&mut h, key).unwrap_err().ty, "InvalidName");
        let body = format!(
            "<changedValue><key>{key}</key><value xsi:type=\"xsd:string\">true</value></changedValue>"
        );
        h.call("UpdateOptions", &om, &body).unwrap();
        let got = query(&mut h, key).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.as_str(), Some("true"));
        assert_eq!(got[0].1.xsi_type(), "xsd:string");
        let subtree = query(&mut h, "config.vpxd.").unwrap();
        assert!(subtree.len() >= 2 && subtree.iter().all(|(k, _)| k.starts_with("config.vpxd.")));
        assert!(query(&mut h, "").unwrap().len() > subtree.len());
    }

    #[test]
    fn updates_are_all_or_nothing() {
        let mut h = H::new(Flavor::VirtualCenter);
        let om = h.emu.refs.setting.clone();
        let body = "<changedValue><key>event.maxAge</key><value xsi:type=\"xsd:int\">7</value></changedValue>\
                    <changedValue><key>NoSuch.Option</key><value xsi:type=\"xsd:int\">1</value></changedValue>";
        assert_eq!(
            h.call("UpdateOptions", &om, body).unwrap_err().ty,
            "InvalidName"
        );
        assert_eq!(
            query(&mut h, "event.maxAge").unwrap()[0].1,
            Value::Any(Box::new(Value::Int(30)))
        );
        let body = "<changedValue><key>event.maxAge</key><value xsi:type=\"xsd:int\">7</value></changedValue>";
        h.call("UpdateOptions", &om, body).unwrap();
        assert_eq!(
            query(&mut h, "event.maxAge").unwrap()[0].1,
            Value::Any(Box::new(Value::Int(7)))
        );
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        assert_eq!(
            h.call("QueryOptions", &vm, "").unwrap_err().ty,
            "MethodNotFound"
        );
    }
}
