//! Events: what the emulator posts for lifecycle operations, and the history that
//! `QueryEvents` and event history collectors page through (bounded, as vCenter's is).

use crate::vmodl::{DataObject, MoRef, Value};
use std::collections::VecDeque;

/// How many events are kept (govmomi's vcsim keeps 1000; vCenter ages them out by time).
pub const EVENT_HISTORY_MAX: usize = 1000;

/// Context an event names: the entities involved, each with its display name.
#[derive(Clone, Debug, Default)]
pub struct EventArgs {
    /// Datacenter.
    pub datacenter: Option<(MoRef, String)>,
    /// Compute resource.
    pub compute_resource: Option<(MoRef, String)>,
    /// Host.
    pub host: Option<(MoRef, String)>,
    /// VM.
    pub vm: Option<(MoRef, String)>,
}

/// One stored event with the entities it concerns (for entity filters).
#[derive(Clone, Debug)]
pub struct StoredEvent {
    /// Event key.
    pub key: i32,
    /// WSDL type (`VmPoweredOnEvent`).
    pub ty: &'static str,
    /// Time (virtual clock).
    pub created_ms: i64,
    /// Entities the event names.
    pub entities: Vec<MoRef>,
    /// The event as a data object.
    pub value: Value,
}

/// The event history.
#[derive(Debug, Default)]
pub struct EventLog {
    events: VecDeque<StoredEvent>,
    next_key: i32,
}

impl EventLog {
    /// Posts an event of type `ty` and returns its key. `extra` holds type-specific fields.
    pub fn post(
        &mut self,
        ty: &'static str,
        now_ms: i64,
        user: &str,
        args: &EventArgs,
        message: String,
        extra: Vec<(&'static str, Value)>,
    ) -> i32 {
        self.next_key += 1;
        let key = self.next_key;
        let mut d = DataObject::new(ty)
            .with("key", Value::Int(key))
            .with("chainId", Value::Int(key))
            .with("createdTime", Value::DateTime(now_ms))
            .with("userName", Value::str(user));
        let arg = |ty: &'static str, field: &'static str, (r, name): &(MoRef, String)| {
            DataObject::new(ty)
                .with("name", Value::str(name.clone()))
                .with(field, Value::moref(r))
                .into_value()
        };
        let mut entities = Vec::new();
        if let Some(x) = &args.datacenter {
            d = d.with(
                "datacenter",
                arg("DatacenterEventArgument", "datacenter", x),
            );
            entities.push(x.0.clone());
        }
        if let Some(x) = &args.compute_resource {
            d = d.with(
                "computeResource",
                arg("ComputeResourceEventArgument", "computeResource", x),
            );
            entities.push(x.0.clone());
        }
        if let Some(x) = &args.host {
            d = d.with("host", arg("HostEventArgument", "host", x));
            entities.push(x.0.clone());
        }
        if let Some(x) = &args.vm {
            d = d.with("vm", arg("VmEventArgument", "vm", x));
            entities.push(x.0.clone());
        }
        d = d.with("fullFormattedMessage", Value::str(message));
        for (n, v) in extra {
            d = d.with(n, v);
        }
        self.events.push_back(StoredEvent {
            key,
            ty,
            created_ms: now_ms,
            entities,
            value: d.into_value(),
        });
        if self.events.len() > EVENT_HISTORY_MAX {
            self.events.pop_front();
        }
        key
    }

    /// Events oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &StoredEvent> {
        self.events.iter()
    }

    /// The newest event.
    pub fn latest(&self) -> Option<&StoredEvent> {
        self.events.back()
    }
}

/// Most items of one list (or repeats of one field) an event keeps of a request value.
pub const SUMMARY_ITEMS_MAX: usize = 32;
/// Longest text an event keeps of a request value, in characters.
pub const SUMMARY_TEXT_MAX_CHARS: usize = 1024;
/// Most values (nodes) an event keeps of one request value.
pub const SUMMARY_NODES_MAX: usize = 2048;

/// A bounded copy of a request value for an event (vCenter's event store keeps a summary, not
/// the request): at most [`SUMMARY_ITEMS_MAX`] items per list or repeated field,
/// [`SUMMARY_TEXT_MAX_CHARS`] per text and [`SUMMARY_NODES_MAX`] values in all. What is cut
/// is simply absent, so every kept value stays well-typed.
pub fn summarize(v: &Value) -> Value {
    let mut budget = SUMMARY_NODES_MAX;
    summarize_in(v, &mut budget)
}

fn summarize_in(v: &Value, budget: &mut usize) -> Value {
    *budget = budget.saturating_sub(1);
    match v {
        Value::Str(s) => Value::Str(truncate(s)),
        Value::Text(s) => Value::Text(truncate(s)),
        Value::Base64(s) => Value::Base64(truncate_base64(s)),
        Value::Any(inner) => Value::Any(Box::new(summarize_in(inner, budget))),
        Value::Array(a) => {
            let mut items = Vec::new();
            for item in a.items.iter().take(SUMMARY_ITEMS_MAX) {
                if *budget == 0 {
                    break;
                }
                items.push(summarize_in(item, budget));
            }
            Value::Array(crate::vmodl::Array {
                item: a.item.clone(),
                items,
            })
        }
        Value::Data(d) => {
            let mut out = DataObject {
                ty: d.ty.clone(),
                fields: Vec::new(),
            };
            let mut repeats: std::collections::BTreeMap<&str, usize> = Default::default();
            for (name, field) in &d.fields {
                if *budget == 0 {
                    break;
                }
                let n = repeats.entry(name.as_ref()).or_default();
                *n += 1;
                if *n > SUMMARY_ITEMS_MAX {
                    continue;
                }
                out.fields.push((name.clone(), summarize_in(field, budget)));
            }
            Value::Data(std::sync::Arc::new(out))
        }
        other => other.clone(),
    }
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(SUMMARY_TEXT_MAX_CHARS) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// Base64 text cut to whole 4-character groups (so it still decodes).
fn truncate_base64(s: &str) -> String {
    if s.len() <= SUMMARY_TEXT_MAX_CHARS {
        return s.to_owned();
    }
    s.chars().take(SUMMARY_TEXT_MAX_CHARS / 4 * 4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_bounded_whatever_the_request() {
        let mut spec = DataObject::new("VirtualMachineConfigSpec");
        for i in 0..10_000 {
            // Repeated fields, as a decoded request holds them.
            spec.fields.push((
                "extraConfig".into(),
                DataObject::new("OptionValue")
                    .with("key", Value::str(format!("guestinfo.k{i}")))
                    .with("value", Value::any(Value::str("v".repeat(5000))))
                    .into_value(),
            ));
        }
        spec = spec.with("name", Value::str("web"));
        let s = summarize(&spec.into_value());
        let d = s.as_data().expect("data");
        let kept = d.fields.iter().filter(|(n, _)| n == "extraConfig").count();
        assert_eq!(kept, SUMMARY_ITEMS_MAX);
        assert_eq!(s.field("name").and_then(Value::as_str), Some("web"));
        let first = d.fields[0].1.field("value").expect("value");
        let text = match first {
            Value::Any(inner) => inner.as_str().expect("text"),
            other => other.as_str().expect("text"),
        };
        assert_eq!(text.chars().count(), SUMMARY_TEXT_MAX_CHARS);
    }
}
