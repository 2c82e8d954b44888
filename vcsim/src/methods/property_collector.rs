//! PropertyCollector: RetrieveProperties(Ex) with paging, filters, extra collectors and the
//! WaitForUpdates family.

use super::{Args, CallContext, Method, Outcome, WaitRequest};
use crate::emulator::Emulator;
use crate::inventory::ManagedObject;
use crate::property::{Filter, FilterSpec, PER_SESSION_MAX, collect, poll_updates, spec};
use crate::soap::{Call, decode};
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::VecDeque;

/// The default page size of RetrievePropertiesEx when `maxObjects` is unset (vCenter pages
/// large results too; 100 keeps each response small while paging stays rare).
pub const DEFAULT_MAX_OBJECTS: usize = 100;

/// Upper bound of `maxWaitSeconds` honoured (longer waits are cut to this; clients loop).
pub const MAX_WAIT_MS: u64 = 15 * 60 * 1000;

fn session_of(ctx: &CallContext) -> Result<&str, Fault> {
    ctx.session.as_deref().ok_or_else(|| {
        Fault::not_authenticated(&MoRef::new("PropertyCollector", "propertyCollector"))
    })
}

fn specs(args: &Args<'_>) -> Result<Vec<FilterSpec>, Fault> {
    let list: Vec<FilterSpec> = args
        .elements("specSet")
        .map(spec::filter_spec)
        .collect::<Result<_, _>>()?;
    if list.is_empty() {
        return Err(Fault::invalid_argument("specSet"));
    }
    Ok(list)
}

/// `RetrieveProperties`: every matching object in one answer.
pub fn retrieve_properties(
    emu: &Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let objects = collect::retrieve(emu, ctx.session.as_deref(), &specs(args)?)?;
    Ok(Some(Value::array("ObjectContent", objects)))
}

fn page(
    emu: &mut Emulator,
    session: &str,
    mut objects: VecDeque<Value>,
    max: usize,
) -> Option<Value> {
    if objects.is_empty() {
        return None;
    }
    let first: Vec<Value> = objects.drain(..max.min(objects.len())).collect();
    let mut result = DataObject::new("RetrieveResult");
    if !objects.is_empty() {
        let token = emu.collectors.store_pages(session, max, objects);
        result = result.with("token", Value::str(token));
    }
    Some(
        result
            .with("objects", Value::array("ObjectContent", first))
            .into_value(),
    )
}

fn max_objects(args: &Args<'_>) -> Result<usize, Fault> {
    let opts = args.element("options").map(Args::new);
    let max = match opts {
        Some(o) => o.opt_i64("maxObjects")?,
        None => None,
    };
    Ok(match max {
        Some(n) if n > 0 => n as usize,
        _ => DEFAULT_MAX_OBJECTS,
    })
}

/// `RetrievePropertiesEx`: the first page and a token for the rest.
pub fn retrieve_properties_ex(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let session = session_of(ctx)?.to_owned();
    let max = max_objects(args)?;
    let objects = collect::retrieve(emu, Some(&session), &specs(args)?)?;
    Ok(page(emu, &session, objects.into(), max))
}

/// `ContinueRetrievePropertiesEx(token)`.
pub fn continue_retrieve(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let session = session_of(ctx)?.to_owned();
    let token = args.text("token")?;
    let (owner, max, rest) = emu
        .collectors
        .tokens
        .remove(token)
        .ok_or_else(|| Fault::invalid_property("token"))?;
    if owner != session {
        return Err(Fault::invalid_property("token"));
    }
    Ok(page(emu, &session, rest, max))
}

/// `CancelRetrievePropertiesEx(token)`.
pub fn cancel_retrieve(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let token = args.text("token")?;
    emu.collectors
        .tokens
        .remove(token)
        .ok_or_else(|| Fault::invalid_property("token"))?;
    Ok(None)
}

/// `CreateFilter(spec, partialUpdates)`.
pub fn create_filter(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let session = session_of(ctx)?.to_owned();
    let el = args
        .element("spec")
        .ok_or_else(|| Fault::invalid_argument("spec"))?;
    let spec = spec::filter_spec(el)?;
    collect::reach(emu, Some(&session), &spec)?;
    if emu.collectors.owned_by(&session) >= PER_SESSION_MAX {
        return Err(Fault::invalid_state(
            "too many filters and views in this session",
        ));
    }
    let partial = args.opt_bool("partialUpdates")?.unwrap_or(false);
    let value = format!("session[{session}]{}", emu.idgen.uuid());
    let filter = MoRef::new("PropertyFilter", value.clone());
    emu.inv.insert(
        ManagedObject::new(filter.clone())
            .with("spec", decode::value(el))
            .with("partialUpdates", Value::Bool(partial)),
    );
    emu.collectors.filters.insert(
        value,
        Filter::new(call.this.clone(), session, spec, partial),
    );
    Ok(Some(Value::moref(&filter)))
}

/// `DestroyPropertyFilter`.
pub fn destroy_filter(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    emu.collectors
        .filters
        .remove(&call.this.value)
        .ok_or_else(|| Fault::not_found(&call.this))?;
    emu.inv.remove(&call.this);
    Ok(None)
}

/// `CreatePropertyCollector`: a session-scoped collector with its own filters.
pub fn create_collector(emu: &mut Emulator, ctx: &CallContext) -> Result<Option<Value>, Fault> {
    let session = session_of(ctx)?.to_owned();
    let value = format!("session[{session}]{}", emu.idgen.uuid());
    let pc = MoRef::new("PropertyCollector", value);
    emu.inv.insert(ManagedObject::new(pc.clone()));
    emu.collectors.state_mut(&pc, &session);
    Ok(Some(Value::moref(&pc)))
}

/// `DestroyPropertyCollector`: the default collector cannot be destroyed.
pub fn destroy_collector(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    if call.this == emu.refs.property_collector {
        return Err(Fault::invalid_argument("_this"));
    }
    let session = session_of(ctx)?;
    let filters = emu.collectors.filters_of(&call.this, Some(session));
    for f in filters {
        emu.collectors.filters.remove(&f.value);
        emu.inv.remove(&f);
    }
    emu.collectors
        .collectors
        .retain(|k, _| !k.starts_with(&format!("{}/", call.this.value)));
    emu.inv.remove(&call.this);
    Ok(None)
}

/// WaitForUpdates, WaitForUpdatesEx and CheckForUpdates: answer at once when something
/// changed (or for a non-blocking call), otherwise ask the server to wait.
pub fn wait_request(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
    args: &Args<'_>,
    m: Method,
) -> Outcome {
    let session = match session_of(ctx) {
        Ok(s) => s.to_owned(),
        Err(f) => return Outcome::Done(Err(f)),
    };
    let version = args.opt_text("version").unwrap_or("");
    let current = emu.collectors.state_mut(&call.this, &session).version;
    if !version.is_empty() && version.parse::<u64>().map_or(true, |v| v > current) {
        return Outcome::Done(Err(Fault::invalid_collector_version()));
    }
    if version.is_empty() {
        // A fresh start: every filter reports its whole state again.
        let keys: Vec<String> = emu
            .collectors
            .filters_of(&call.this, Some(&session))
            .into_iter()
            .map(|f| f.value)
            .collect();
        for k in keys {
            if let Some(f) = emu.collectors.filters.get_mut(&k) {
                *f = Filter::new(
                    f.collector.clone(),
                    f.session.clone(),
                    f.spec.clone(),
                    f.partial_updates,
                );
            }
        }
    }
    emu.collectors
        .state_mut(&call.this, &session)
        .cancel_requested = false;
    let opts = args.element("options").map(Args::new);
    let (max_wait_s, max_objects) = match opts {
        Some(o) => match (o.opt_i64("maxWaitSeconds"), o.opt_i64("maxObjectUpdates")) {
            (Ok(w), Ok(n)) => (w, n.filter(|n| *n > 0).map(|n| n as usize)),
            (Err(f), _) | (_, Err(f)) => return Outcome::Done(Err(f)),
        },
        None => (None, None),
    };
    let req = WaitRequest {
        collector: call.this.clone(),
        session,
        max_wait_ms: match m {
            Method::WaitForUpdates => None,
            _ => max_wait_s.map(|s| (s.max(0) as u64).saturating_mul(1000).min(MAX_WAIT_MS)),
        },
        max_objects,
        legacy: m == Method::WaitForUpdates,
    };
    match poll(emu, &req) {
        Some(r) => Outcome::Done(r),
        None if m == Method::CheckForUpdates || req.max_wait_ms == Some(0) => {
            Outcome::Done(Ok(None))
        }
        None => Outcome::Wait(req),
    }
}

/// One poll of a pending wait: the update set, a cancellation, or nothing yet.
pub fn poll(emu: &mut Emulator, req: &WaitRequest) -> Option<Result<Option<Value>, Fault>> {
    // A collector destroyed while a wait is pending ends the wait (from any session).
    if !emu.inv.contains(&req.collector) {
        return Some(Err(Fault::not_found(&req.collector)));
    }
    let state = emu.collectors.state_mut(&req.collector, &req.session);
    if state.cancel_requested {
        state.cancel_requested = false;
        return Some(Err(Fault::request_canceled()));
    }
    match poll_updates(emu, &req.session, &req.collector, req.max_objects) {
        Ok(Some(set)) => Some(Ok(Some(set))),
        Ok(None) => None,
        Err(f) => Some(Err(f)),
    }
}

/// `CancelWaitForUpdates`: the pending wait of this session answers RequestCanceled.
pub fn cancel_wait(
    emu: &mut Emulator,
    ctx: &CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    let session = session_of(ctx)?.to_owned();
    emu.collectors
        .state_mut(&call.this, &session)
        .cancel_requested = true;
    Ok(None)
}
