//! What event and task history collectors share (HistoryCollector in the WSDL): page sizes,
//! read counts, session-scoped references, the per-session limit, and dropping collectors
//! whose session ended. `events.rs` and `task_history.rs` keep only what differs (the filter
//! and the history they read).

use super::{Args, CallContext};
use crate::emulator::Emulator;
use crate::inventory::Inventory;
use crate::session::Sessions;
use crate::vmodl::{Fault, MoRef, Value};
use std::collections::BTreeMap;

/// `latestPage` size when a filter or `SetCollectorPageSize` gives none (vCenter's default).
pub const PAGE_SIZE_DEFAULT: usize = 10;
/// Largest `latestPage` accepted.
pub const PAGE_SIZE_MAX: usize = 1000;
/// Collectors of one kind across all sessions (each holds a page of up to
/// [`PAGE_SIZE_MAX`] entries).
pub const COLLECTORS_MAX: usize = 1024;

/// A page size from a `maxCount` (0 or unset: the default; negative or above the maximum:
/// `InvalidArgument`).
pub fn page_size(max_count: Option<i64>, field: &str) -> Result<usize, Fault> {
    match max_count {
        None | Some(0) => Ok(PAGE_SIZE_DEFAULT),
        Some(n) if n < 0 || n as usize > PAGE_SIZE_MAX => Err(Fault::invalid_argument(field)),
        Some(n) => Ok(n as usize),
    }
}

/// A read's `maxCount`: positive (`InvalidArgument` otherwise, as vCenter), at most `max`.
pub fn read_count(args: &Args<'_>, max: usize) -> Result<usize, Fault> {
    match args.opt_i64("maxCount")? {
        Some(n) if n > 0 => Ok((n as usize).min(max)),
        _ => Err(Fault::invalid_argument("maxCount")),
    }
}

/// A new collector's reference value: vCenter names session-scoped objects
/// `session[<session key>]<id>`.
pub fn new_collector_value(emu: &mut Emulator, ctx: &CallContext) -> String {
    format!(
        "session[{}]{}",
        ctx.session.as_deref().unwrap_or(""),
        emu.idgen.uuid()
    )
}

/// Refuses one more collector beyond the manager's `maxCollector` for this session, or
/// beyond [`COLLECTORS_MAX`] overall, with `InvalidState` as the API reference documents.
pub fn check_limit<'a>(
    emu: &Emulator,
    manager: &MoRef,
    session: &Option<String>,
    owners: impl Iterator<Item = &'a Option<String>>,
    what: &str,
) -> Result<(), Fault> {
    let max = emu
        .inv
        .prop(manager, "maxCollector")
        .and_then(Value::as_i64)
        // vCenter's default `maxCollector`.
        .unwrap_or(32)
        .max(1) as usize;
    let (mut mine, mut total) = (0usize, 0usize);
    for o in owners {
        total += 1;
        if o == session {
            mine += 1;
        }
    }
    if mine >= max || total >= COLLECTORS_MAX {
        return Err(Fault::invalid_state(format!(
            "Too many {what} collectors to create"
        )));
    }
    Ok(())
}

/// The collectors (keys of `states`) whose session ended or whose object is gone.
pub fn ended<S>(
    sessions: &Sessions,
    inv: &Inventory,
    states: &BTreeMap<String, S>,
    owner: impl Fn(&S) -> Option<&str>,
    reference: impl Fn(&str) -> MoRef,
) -> Vec<String> {
    states
        .iter()
        .filter(|(k, s)| {
            owner(s).is_some_and(|o| sessions.get(o).is_none()) || !inv.contains(&reference(k))
        })
        .map(|(k, _)| k.clone())
        .collect()
}
