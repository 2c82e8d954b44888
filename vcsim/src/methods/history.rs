//! What event and task history collectors share (HistoryCollector in the WSDL): page sizes,
//! read counts, session-scoped references, the per-session limit, dropping collectors
//! whose session ended, and the scrollable view (ReadNext / ReadPrevious, RewindCollector,
//! ResetCollector, SetCollectorPageSize, DestroyCollector) over any [`Collector`].
//! `events.rs` and `task_history.rs` keep only what differs (the filter and the history
//! they read).

use super::{Args, CallContext};
use crate::emulator::Emulator;
use crate::inventory::ManagedObject;
use crate::soap::Call;
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

/// The cursor and settings of one history collector, by the kind of filter it holds (its
/// `filter` and `latestPage` are also inventory properties, so the property collector
/// serves and watches them).
#[derive(Clone, Debug)]
pub struct CollectorState<F> {
    /// The session that created it (`None` for collectors made without one, e.g. in tests).
    pub owner: Option<String>,
    /// What it collects.
    pub filter: F,
    /// `latestPage` size.
    pub page_size: usize,
    /// The scrollable view sits just after the entry with this key (0: before the oldest).
    pub position: i32,
    /// The newest history key `latestPage` reflects.
    pub seen: i32,
}

/// The filter of one kind of history collector (events or tasks), as the methods here see
/// it. Its history is a list of entries keyed by increasing numbers; the scrollable view
/// sits after a key.
pub trait Filter: Clone + Sized {
    /// The collector's managed object type.
    const TYPE: &'static str;
    /// The type of the entries it returns (`Event`, `TaskInfo`).
    const ITEM: &'static str;
    /// The kind, as the "too many collectors" fault names it.
    const KIND: &'static str;
    /// Most entries one read returns.
    const READ_MAX: usize;
    /// Whether SetCollectorPageSize counts the refilled page as up to date.
    const RESIZE_SEES: bool;
    /// The collectors of this kind, by reference value.
    fn collectors(emu: &Emulator) -> &BTreeMap<String, CollectorState<Self>>;
    /// The same, to change.
    fn collectors_mut(emu: &mut Emulator) -> &mut BTreeMap<String, CollectorState<Self>>;
    /// The manager whose `maxCollector` bounds the collectors of this kind.
    fn manager(emu: &Emulator) -> &MoRef;
    /// Up to `n` entries the filter matches, read from `position` as [`read_from`] does,
    /// with the position after them.
    fn read(&self, emu: &Emulator, position: i32, forward: bool, n: usize) -> (Vec<Value>, i32);
    /// The filter as its WSDL spec (the collector's `filter` property).
    fn spec(&self) -> Value;
    /// The key of the newest entry in the history (0 when empty).
    fn latest(emu: &Emulator) -> i32;
    /// The history key of an entry of `latestPage`.
    fn page_key(entry: &Value) -> Option<i64>;
}

/// The reference of a collector of kind `F` by value.
pub fn reference<F: Filter>(value: &str) -> MoRef {
    MoRef::new(F::TYPE, value.to_owned())
}

/// Up to `n` values `keep` makes of `entries` (keyed history entries in reading order; it
/// is not asked again once `n` are kept), and the key of the last entry kept.
pub fn collect<T>(
    entries: impl Iterator<Item = (i32, T)>,
    n: usize,
    mut keep: impl FnMut(T) -> Option<Value>,
) -> (Vec<Value>, Option<i32>) {
    let mut out = Vec::new();
    let mut last = None;
    for (key, entry) in entries {
        if out.len() >= n {
            break;
        }
        if let Some(v) = keep(entry) {
            out.push(v);
            last = Some(key);
        }
    }
    (out, last)
}

/// Reads a history (`entries`, oldest first) from a view after `position`: `forward`, up
/// to `n` kept entries after it, oldest first, and the view moves past them; otherwise up
/// to `n` at or before it, newest first, and the view moves before them. Returns the
/// entries and the view's new position.
pub fn read_from<T>(
    entries: impl DoubleEndedIterator<Item = (i32, T)>,
    position: i32,
    forward: bool,
    n: usize,
    keep: impl FnMut(T) -> Option<Value>,
) -> (Vec<Value>, i32) {
    if forward {
        let (out, last) = collect(entries.filter(|(k, _)| *k > position), n, keep);
        (out, last.unwrap_or(position))
    } else {
        let (out, last) = collect(entries.rev().filter(|(k, _)| *k <= position), n, keep);
        (out, last.map_or(position, |k| k - 1))
    }
}

/// The newest `n` entries `filter` matches, newest first (a `latestPage`).
pub fn newest<F: Filter>(emu: &Emulator, filter: &F, n: usize) -> Vec<Value> {
    filter.read(emu, i32::MAX, false, n).0
}

/// `CreateCollectorFor…(filter)`: a collector whose `latestPage` holds the newest
/// `page_size` entries `filter` matches; [`check_limit`] bounds how many there are.
pub fn create<F: Filter>(
    emu: &mut Emulator,
    ctx: &CallContext,
    filter: F,
    page_size: usize,
) -> Result<Option<Value>, Fault> {
    let owners = F::collectors(emu).values().map(|s| &s.owner);
    check_limit(emu, F::manager(emu), &ctx.session, owners, F::KIND)?;
    let value = new_collector_value(emu, ctx);
    let r = reference::<F>(&value);
    let page = newest(emu, &filter, page_size);
    emu.inv.insert(
        ManagedObject::new(r.clone())
            .with("filter", Value::any(filter.spec()))
            .with("latestPage", Value::array(F::ITEM, page)),
    );
    let state = CollectorState {
        owner: ctx.session.clone(),
        filter,
        page_size,
        position: 0,
        seen: F::latest(emu),
    };
    F::collectors_mut(emu).insert(value, state);
    Ok(Some(Value::moref(&r)))
}

/// The state of the collector a call targets (`MethodNotFound` on another type).
fn state_of<F: Filter>(emu: &Emulator, call: &Call) -> Result<CollectorState<F>, Fault> {
    if call.this.ty != F::TYPE {
        return Err(Fault::method_not_found(&call.this, &call.method));
    }
    F::collectors(emu)
        .get(&call.this.value)
        .cloned()
        .ok_or_else(|| Fault::not_found(&call.this))
}

/// Stores the new position of the collector a call targets.
fn set_position<F: Filter>(emu: &mut Emulator, call: &Call, position: i32) {
    if let Some(s) = F::collectors_mut(emu).get_mut(&call.this.value) {
        s.position = position;
    }
}

/// `ReadNext…(maxCount)` (`forward`): the entries after the view, oldest first, and the view
/// moves past them; `ReadPrevious…(maxCount)`: the entries before it, newest first, and the
/// view moves before them. Empty at either end of the history.
pub fn read<F: Filter>(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
    forward: bool,
) -> Result<Option<Value>, Fault> {
    let state = state_of::<F>(emu, call)?;
    let n = read_count(args, F::READ_MAX)?;
    let (out, position) = state.filter.read(emu, state.position, forward, n);
    set_position::<F>(emu, call, position);
    Ok(Some(Value::array(F::ITEM, out)))
}

/// `RewindCollector`: the view moves to the oldest entry.
pub fn rewind<F: Filter>(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    state_of::<F>(emu, call)?;
    set_position::<F>(emu, call, 0);
    Ok(None)
}

/// `ResetCollector`: the view moves to just before the latest page, so a backward read
/// continues with the entries older than the page.
pub fn reset<F: Filter>(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    state_of::<F>(emu, call)?;
    let oldest_in_page = emu
        .inv
        .prop(&call.this, "latestPage")
        .and_then(|p| p.items().iter().filter_map(F::page_key).min());
    let position = match oldest_in_page {
        Some(k) => i32::try_from(k - 1).unwrap_or(0),
        None => F::latest(emu),
    };
    set_position::<F>(emu, call, position);
    Ok(None)
}

/// `SetCollectorPageSize(maxCount)`: resizes `latestPage` (0: the default size; above
/// [`PAGE_SIZE_MAX`] or negative: `InvalidArgument`) and refills it.
pub fn set_page_size<F: Filter>(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let state = state_of::<F>(emu, call)?;
    let n = args
        .opt_i64("maxCount")?
        .ok_or_else(|| Fault::invalid_argument("maxCount"))?;
    let size = page_size(Some(n), "maxCount")?;
    let page = newest(emu, &state.filter, size);
    emu.inv
        .set(&call.this, "latestPage", Value::array(F::ITEM, page))?;
    let latest = F::latest(emu);
    if let Some(s) = F::collectors_mut(emu).get_mut(&call.this.value) {
        s.page_size = size;
        if F::RESIZE_SEES {
            s.seen = latest;
        }
    }
    Ok(None)
}

/// `DestroyCollector`.
pub fn destroy<F: Filter>(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    state_of::<F>(emu, call)?;
    F::collectors_mut(emu).remove(&call.this.value);
    emu.inv.remove(&call.this);
    Ok(None)
}

/// Drops the collectors of kind `F` whose session ended or whose object is gone, and
/// returns the keys of those left whose `latestPage` predates the newest entry.
pub fn sweep<F: Filter>(emu: &mut Emulator) -> Vec<String> {
    let dead: Vec<String> = F::collectors(emu)
        .iter()
        .filter(|(k, s)| {
            s.owner
                .as_deref()
                .is_some_and(|o| emu.sessions.get(o).is_none())
                || !emu.inv.contains(&reference::<F>(k))
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in dead {
        F::collectors_mut(emu).remove(&k);
        emu.inv.remove(&reference::<F>(&k));
    }
    let latest = F::latest(emu);
    F::collectors(emu)
        .iter()
        .filter(|(_, s)| s.seen != latest)
        .map(|(k, _)| k.clone())
        .collect()
}
