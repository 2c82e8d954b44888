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
