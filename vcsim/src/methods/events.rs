//! EventManager.QueryEvents and the EventHistoryCollector: CreateCollectorForEvents,
//! ReadNextEvents, ReadPreviousEvents, RewindCollector, ResetCollector,
//! SetCollectorPageSize and DestroyCollector.
//!
//! Every view is the event history ([`crate::events::EventLog`], bounded as vCenter's is)
//! seen through an `EventFilterSpec`: by entity (self, children or all, walking the same
//! parent → child lists the API exposes), time, user, chain, category, type and type id.
//!
//! Ordering follows what clients rely on: `latestPage` and QueryEvents list the newest event
//! first (the API reference calls the page "unordered" and defines the oldest event as the
//! one with the smallest key; govmomi's event tailer, `event/processor.go` `newEvents`,
//! takes element 0 as the newest, and govmomi's vcsim builds pages newest first). A
//! collector's scrollable view starts at the oldest event (RewindCollector: "the oldest
//! item, which is the default setting"); ReadNextEvents returns older-to-newer,
//! ReadPreviousEvents newer-to-older, and ResetCollector moves the view to just before the
//! latest page.
//!
//! The four HistoryCollector methods serve task collectors too (handing them to
//! `task_history.rs`).
//!
//! A collector keeps its `filter` and `latestPage` as its WSDL properties (so the property
//! collector serves and watches them); its cursor, page size and owning session live in
//! [`EventCollectorState`] (`Emulator::event_collectors`). Collectors end with their session,
//! as vCenter's do ("event collectors do not persist beyond the current client session").

use super::history;
use super::task_history::TaskFilter;
use super::{Args, CallContext, user_of};
use crate::emulator::Emulator;
use crate::events::{EVENT_HISTORY_MAX, StoredEvent};
use crate::inventory::children;
use crate::soap::{Call, Element, decode};
use crate::vmodl::{DataObject, Fault, MoRef, Value, parse_datetime};
use std::collections::{BTreeMap, BTreeSet};

/// Most entries in one list of a filter (`type`, `eventTypeId`, `category`, `userList`,
/// `tag`), and the longest entry.
const MAX_FILTER_ITEMS: usize = 1024;
const MAX_FILTER_TEXT: usize = 1024;

/// `EventFilterSpecRecursionOption`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recursion {
    /// `self`: events about the entity itself.
    Itself,
    /// `children`: events about entities below it, not itself.
    Children,
    /// `all`: both.
    All,
}

impl Recursion {
    fn wsdl(self) -> &'static str {
        match self {
            Recursion::Itself => "self",
            Recursion::Children => "children",
            Recursion::All => "all",
        }
    }
}

/// An `EventFilterSpec` as the emulator applies it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    entity: Option<(MoRef, Recursion)>,
    begin_ms: Option<i64>,
    end_ms: Option<i64>,
    /// `userName`: (systemUser, userList).
    user: Option<(bool, Vec<String>)>,
    chain_id: Option<i32>,
    alarm: Option<MoRef>,
    scheduled_task: Option<MoRef>,
    disable_full_message: bool,
    categories: Vec<String>,
    types: Vec<String>,
    tags: Vec<String>,
    event_type_ids: Vec<String>,
    max_count: Option<i32>,
}

/// `InvalidArgument` for a filter field.
fn bad(field: &str) -> Fault {
    Fault::invalid_argument(&format!("filter.{field}"))
}

/// The texts of a repeated child, bounded.
fn texts(el: &Element, name: &str, field: &str) -> Result<Vec<String>, Fault> {
    let v: Vec<String> = el.child_texts(name).map(str::to_owned).collect();
    if v.len() > MAX_FILTER_ITEMS || v.iter().any(|t| t.len() > MAX_FILTER_TEXT) {
        return Err(bad(field));
    }
    Ok(v)
}

/// A boolean child (absent = false).
fn flag(el: &Element, name: &str, field: &str) -> Result<bool, Fault> {
    match el.child_text(name) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(bad(field)),
    }
}

/// An optional `xsd:dateTime` child.
fn time(el: &Element, name: &str, field: &str) -> Result<Option<i64>, Fault> {
    el.child_text(name)
        .map(|t| parse_datetime(t).ok_or_else(|| bad(field)))
        .transpose()
}

/// An optional `xsd:int` child.
fn int(el: &Element, name: &str) -> Result<Option<i32>, Fault> {
    el.child_text(name)
        .map(|t| t.parse::<i32>().map_err(|_| bad(name)))
        .transpose()
}

impl EventFilter {
    /// Reads an `EventFilterSpec` element.
    pub fn parse(el: &Element) -> Result<EventFilter, Fault> {
        let entity = match el.child("entity") {
            Some(e) => {
                let r = e
                    .child("entity")
                    .and_then(decode::moref)
                    .ok_or_else(|| bad("entity.entity"))?;
                let rec = match e.child_text("recursion") {
                    Some("self") => Recursion::Itself,
                    Some("children") => Recursion::Children,
                    Some("all") => Recursion::All,
                    _ => return Err(bad("entity.recursion")),
                };
                Some((r, rec))
            }
            None => None,
        };
        let (begin_ms, end_ms) = match el.child("time") {
            Some(t) => (
                time(t, "beginTime", "time.beginTime")?,
                time(t, "endTime", "time.endTime")?,
            ),
            None => (None, None),
        };
        let user = match el.child("userName") {
            Some(u) => Some((
                flag(u, "systemUser", "userName.systemUser")?,
                texts(u, "userList", "userName.userList")?,
            )),
            None => None,
        };
        Ok(EventFilter {
            entity,
            begin_ms,
            end_ms,
            user,
            chain_id: int(el, "eventChainId")?,
            alarm: el.child("alarm").and_then(decode::moref),
            scheduled_task: el.child("scheduledTask").and_then(decode::moref),
            disable_full_message: flag(el, "disableFullMessage", "disableFullMessage")?,
            categories: texts(el, "category", "category")?,
            types: texts(el, "type", "type")?,
            tags: texts(el, "tag", "tag")?,
            event_type_ids: texts(el, "eventTypeId", "eventTypeId")?,
            max_count: int(el, "maxCount")?,
        })
    }

    /// The filter as an `EventFilterSpec` data object (`HistoryCollector.filter`), rebuilt
    /// with WSDL types and field order rather than echoed, so it reads back cleanly.
    pub fn to_value(&self) -> Value {
        let strings = |v: &[String]| (!v.is_empty()).then(|| Value::strings(v.iter().cloned()));
        let entity = self.entity.as_ref().map(|(r, rec)| {
            DataObject::new("EventFilterSpecByEntity")
                .with("entity", Value::moref(r))
                .with(
                    "recursion",
                    Value::enumv("EventFilterSpecRecursionOption", rec.wsdl()),
                )
                .into_value()
        });
        let time = (self.begin_ms.is_some() || self.end_ms.is_some()).then(|| {
            DataObject::new("EventFilterSpecByTime")
                .with_opt("beginTime", self.begin_ms.map(Value::DateTime))
                .with_opt("endTime", self.end_ms.map(Value::DateTime))
                .into_value()
        });
        let user = self.user.as_ref().map(|(system, list)| {
            DataObject::new("EventFilterSpecByUsername")
                .with("systemUser", Value::Bool(*system))
                .with_opt("userList", strings(list))
                .into_value()
        });
        DataObject::new("EventFilterSpec")
            .with_opt("entity", entity)
            .with_opt("time", time)
            .with_opt("userName", user)
            .with_opt("eventChainId", self.chain_id.map(Value::Int))
            .with_opt("alarm", self.alarm.as_ref().map(Value::moref))
            .with_opt(
                "scheduledTask",
                self.scheduled_task.as_ref().map(Value::moref),
            )
            .with_opt(
                "disableFullMessage",
                self.disable_full_message.then_some(Value::Bool(true)),
            )
            .with_opt("category", strings(&self.categories))
            .with_opt("type", strings(&self.types))
            .with_opt("tag", strings(&self.tags))
            .with_opt("eventTypeId", strings(&self.event_type_ids))
            .with_opt("maxCount", self.max_count.map(Value::Int))
            .into_value()
    }
}

/// Applies a filter to stored events: the entity scope is computed once per use, and type
/// answers are memoised per event type.
struct Matcher<'a> {
    filter: &'a EventFilter,
    /// The filter entity is the root folder: every event concerns it.
    root: bool,
    /// Moref values that count as the entity for `self` (the entity, or for a folder or pool
    /// the entities it directly contains).
    own: BTreeSet<String>,
    /// Moref values below the entity (for `children` and `all`).
    below: BTreeSet<String>,
    types_memo: BTreeMap<&'static str, bool>,
    ids_memo: BTreeMap<&'static str, bool>,
}

/// The inventory children of `r` for event scoping: the API's child lists, plus the VMs a
/// host runs (a host's events concern its VMs).
fn event_children(emu: &Emulator, r: &MoRef) -> Vec<MoRef> {
    let mut v = children(&emu.inv, r);
    if r.ty == "HostSystem" {
        v.extend(emu.inv.refs(r, "vm"));
    }
    v
}

impl<'a> Matcher<'a> {
    fn new(emu: &Emulator, filter: &'a EventFilter) -> Matcher<'a> {
        let mut m = Matcher {
            filter,
            root: false,
            own: BTreeSet::new(),
            below: BTreeSet::new(),
            types_memo: BTreeMap::new(),
            ids_memo: BTreeMap::new(),
        };
        let Some((entity, rec)) = &filter.entity else {
            return m;
        };
        m.root = entity.value == emu.root_folder().value;
        // The API reference: "If the specified managed entity is a Folder or a ResourcePool,
        // the query will actually be performed on the entities contained within".
        if matches!(
            entity.ty.as_ref(),
            "Folder" | "ResourcePool" | "VirtualApp" | "StoragePod"
        ) {
            m.own
                .extend(event_children(emu, entity).into_iter().map(|r| r.value));
        } else {
            m.own.insert(entity.value.clone());
        }
        if *rec != Recursion::Itself {
            // Breadth-first below the entity; the visited set bounds the walk by the
            // inventory's size even if a parent cycle slipped in.
            let mut queue = event_children(emu, entity);
            let mut i = 0;
            while i < queue.len() {
                let r = queue[i].clone();
                i += 1;
                if r.value != entity.value && m.below.insert(r.value.clone()) {
                    queue.extend(event_children(emu, &r));
                }
            }
        }
        m
    }

    /// Whether the entity part of the filter admits `e`.
    fn entity_ok(&self, e: &StoredEvent) -> bool {
        let Some((_, rec)) = &self.filter.entity else {
            return true;
        };
        let is_own = || e.entities.iter().any(|r| self.own.contains(&r.value));
        let is_below = || e.entities.iter().any(|r| self.below.contains(&r.value));
        match rec {
            Recursion::Itself => self.root || is_own(),
            Recursion::Children => is_below(),
            Recursion::All => self.root || is_own() || is_below(),
        }
    }

    fn matches(&mut self, e: &StoredEvent) -> bool {
        let f = self.filter;
        if f.begin_ms.is_some_and(|b| e.created_ms < b)
            || f.end_ms.is_some_and(|end| e.created_ms > end)
        {
            return false;
        }
        if let Some(id) = f.chain_id
            && e.value.field("chainId").and_then(Value::as_i64) != Some(i64::from(id))
        {
            return false;
        }
        if let Some((system, list)) = &f.user {
            let user = e
                .value
                .field("userName")
                .and_then(Value::as_str)
                .unwrap_or("");
            let restricted = *system || !list.is_empty();
            if restricted && !(list.iter().any(|u| u == user) || (*system && is_system_user(user)))
            {
                return false;
            }
        }
        if let Some(alarm) = &f.alarm
            && argument_ref(e, "alarm", "alarm") != Some(&alarm.value)
        {
            return false;
        }
        if let Some(task) = &f.scheduled_task
            && argument_ref(e, "scheduledTask", "scheduledTask") != Some(&task.value)
        {
            return false;
        }
        if !f.categories.is_empty() && !f.categories.iter().any(|c| c == category_of(e.ty)) {
            return false;
        }
        if !f.tags.is_empty() {
            let tag = e.value.field("changeTag").and_then(Value::as_str);
            if !f.tags.iter().any(|t| Some(t.as_str()) == tag) {
                return false;
            }
        }
        if !f.types.is_empty() {
            let types = &f.types;
            let ok = *self
                .types_memo
                .entry(e.ty)
                .or_insert_with(|| types.iter().any(|t| event_is_a(e.ty, t)));
            if !ok {
                return false;
            }
        }
        if !f.event_type_ids.is_empty() {
            let ids = &f.event_type_ids;
            let ok = if matches!(e.ty, "EventEx" | "ExtendedEvent") {
                // Extension events carry their own type id.
                let id = e.value.field("eventTypeId").and_then(Value::as_str);
                ids.iter().any(|i| Some(i.as_str()) == id)
            } else {
                *self
                    .ids_memo
                    .entry(e.ty)
                    .or_insert_with(|| ids.iter().any(|i| event_is_a(e.ty, i)))
            };
            if !ok {
                return false;
            }
        }
        self.entity_ok(e)
    }

    /// The event as the client receives it, if the filter admits it.
    fn keep(&mut self, e: &StoredEvent) -> Option<Value> {
        if self.matches(e) {
            Some(self.output(e))
        } else {
            None
        }
    }

    /// The event as the client receives it.
    fn output(&self, e: &StoredEvent) -> Value {
        let mut v = e.value.clone();
        if self.filter.disable_full_message
            && let Some(d) = v.as_data_mut()
        {
            d.remove("fullFormattedMessage");
        }
        v
    }
}

/// The moref value inside an event argument (`alarm.alarm`, `scheduledTask.scheduledTask`).
fn argument_ref<'e>(e: &'e StoredEvent, arg: &str, field: &str) -> Option<&'e String> {
    e.value
        .field(arg)
        .and_then(|a| a.field(field))
        .and_then(Value::as_moref)
        .map(|m| &m.value)
}

/// Users vCenter counts as system users: internal operations carry no user or `vpxuser`.
fn is_system_user(user: &str) -> bool {
    user.is_empty() || user == "vpxuser" || user.eq_ignore_ascii_case("vpxd-extension")
}

/// The `EventDescription` category of an event type. vCenter files the lifecycle events the
/// emulator posts under `info`; failures under `error`; the general events by name.
fn category_of(ty: &str) -> &'static str {
    match ty {
        "GeneralUserEvent" => "user",
        "GeneralWarningEvent" => "warning",
        "GeneralErrorEvent" => "error",
        t if t.contains("Failed") || t.contains("Error") => "error",
        _ => "info",
    }
}

/// The newest event's key (0 before any event).
fn latest_key(emu: &Emulator) -> i32 {
    emu.events.latest().map(|e| e.key).unwrap_or(0)
}

/// The events `filter` matches, read from `position` as [`history::read_from`] does.
fn read_events(
    emu: &Emulator,
    filter: &EventFilter,
    position: i32,
    forward: bool,
    n: usize,
) -> (Vec<Value>, i32) {
    let mut m = Matcher::new(emu, filter);
    let events = emu.events.iter().map(|e| (e.key, e));
    history::read_from(events, position, forward, n, |e| m.keep(e))
}

/// The newest `n` events matching `filter`, newest first.
fn newest(emu: &Emulator, filter: &EventFilter, n: usize) -> Vec<Value> {
    read_events(emu, filter, i32::MAX, false, n).0
}

/// `EventManagerViewByStartId` (vSphere 9): page from an event key.
fn view_by_start_id(el: Option<&Element>) -> Result<Option<(i32, bool)>, Fault> {
    let Some(el) = el else { return Ok(None) };
    let start = el
        .child_text("startEventId")
        .and_then(|t| t.parse::<i32>().ok())
        .filter(|s| *s >= 0)
        .ok_or_else(|| Fault::invalid_argument("eventViewSpec.startEventId"))?;
    let forward = match el.child_text("isForward") {
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        _ => return Err(Fault::invalid_argument("eventViewSpec.isForward")),
    };
    Ok(Some((start, forward)))
}

/// `QueryEvents(filter, eventViewSpec?)`: the matching events, newest first, at most
/// `filter.maxCount` (unset: the whole retained history). With an `eventViewSpec`, the
/// `maxCount` events just after (`isForward`) or before its `startEventId`.
pub fn query_events(emu: &mut Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    let el = args
        .element("filter")
        .ok_or_else(|| Fault::invalid_argument("filter"))?;
    let filter = EventFilter::parse(el)?;
    if let Some((e, _)) = &filter.entity {
        emu.inv.get(e)?;
    }
    let max = match filter.max_count {
        None | Some(0) => EVENT_HISTORY_MAX,
        Some(n) if n < 0 => return Err(bad("maxCount")),
        Some(n) => (n as usize).min(EVENT_HISTORY_MAX),
    };
    let events = match view_by_start_id(args.element("eventViewSpec"))? {
        None => newest(emu, &filter, max),
        Some((start, true)) => {
            let (mut out, _) = read_events(emu, &filter, start, true, max);
            // Newest first, like every other event list.
            out.reverse();
            out
        }
        Some((start, false)) => read_events(emu, &filter, start - 1, false, max).0,
    };
    Ok(Some(Value::array("Event", events)))
}

/// The cursor and settings of one EventHistoryCollector.
pub type EventCollectorState = history::CollectorState<EventFilter>;

impl history::Filter for EventFilter {
    const TYPE: &'static str = "EventHistoryCollector";
    const ITEM: &'static str = "Event";
    const KIND: &'static str = "event";
    const READ_MAX: usize = EVENT_HISTORY_MAX;
    const RESIZE_SEES: bool = true;

    fn collectors(emu: &Emulator) -> &BTreeMap<String, EventCollectorState> {
        &emu.event_collectors
    }

    fn collectors_mut(emu: &mut Emulator) -> &mut BTreeMap<String, EventCollectorState> {
        &mut emu.event_collectors
    }

    fn manager(emu: &Emulator) -> &MoRef {
        &emu.refs.event_manager
    }

    fn read(&self, emu: &Emulator, position: i32, forward: bool, n: usize) -> (Vec<Value>, i32) {
        read_events(emu, self, position, forward, n)
    }

    fn spec(&self) -> Value {
        self.to_value()
    }

    fn latest(emu: &Emulator) -> i32 {
        latest_key(emu)
    }

    fn page_key(entry: &Value) -> Option<i64> {
        entry.field("key").and_then(Value::as_i64)
    }
}

/// `CreateCollectorForEvents(filter)`: a collector whose `latestPage` holds the newest
/// matching events. Each session may hold `EventManager.maxCollector` collectors; one more
/// is `InvalidState`, as the API reference documents.
pub fn create_collector(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let el = args
        .element("filter")
        .ok_or_else(|| Fault::invalid_argument("filter"))?;
    let filter = EventFilter::parse(el)?;
    if let Some((e, _)) = &filter.entity {
        emu.inv.get(e)?;
    }
    let size = history::page_size(filter.max_count.map(i64::from), "filter.maxCount")?;
    history::create(emu, ctx, filter, size)
}

/// Whether a HistoryCollector method targets a task collector.
fn of_tasks(call: &Call) -> bool {
    call.this.ty == "TaskHistoryCollector"
}

/// `ReadNextEvents(maxCount)`: the next events after the view, oldest first; the view moves
/// past them. Empty at the end of the history.
pub fn read_next(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    history::read::<EventFilter>(emu, call, args, true)
}

/// `ReadPreviousEvents(maxCount)`: the events before the view, newest first; the view moves
/// before them. Empty at the head of the history.
pub fn read_previous(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    history::read::<EventFilter>(emu, call, args, false)
}

/// `RewindCollector`: the view moves to the oldest event (or task).
pub fn rewind(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    if of_tasks(call) {
        return history::rewind::<TaskFilter>(emu, call);
    }
    history::rewind::<EventFilter>(emu, call)
}

/// `ResetCollector`: the view moves to just before the latest page, so ReadPreviousEvents
/// continues with the events older than the page.
pub fn reset(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    if of_tasks(call) {
        return history::reset::<TaskFilter>(emu, call);
    }
    history::reset::<EventFilter>(emu, call)
}

/// `SetCollectorPageSize(maxCount)`: resizes `latestPage` (0: the default size; above
/// [`history::PAGE_SIZE_MAX`] or negative: `InvalidArgument`) and refills it.
pub fn set_page_size(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    if of_tasks(call) {
        return history::set_page_size::<TaskFilter>(emu, call, args);
    }
    history::set_page_size::<EventFilter>(emu, call, args)
}

/// `DestroyCollector`.
pub fn destroy(emu: &mut Emulator, call: &Call) -> Result<Option<Value>, Fault> {
    if of_tasks(call) {
        return history::destroy::<TaskFilter>(emu, call);
    }
    history::destroy::<EventFilter>(emu, call)
}

/// Brings every collector's `latestPage` up to date with events posted since it was last
/// refreshed (only collectors that gain events change, so property-collector watchers wake
/// only for real news), and drops the collectors of sessions that have ended. Called by the
/// server after every call.
pub fn refresh_event_collectors(emu: &mut Emulator) {
    super::task_history::refresh(emu);
    let latest = latest_key(emu);
    let stale = history::sweep::<EventFilter>(emu);
    for k in stale {
        let Some(state) = emu.event_collectors.get(&k).cloned() else {
            continue;
        };
        let fresh = {
            let mut m = Matcher::new(emu, &state.filter);
            let events = emu.events.iter().rev();
            let since = events.take_while(|e| e.key > state.seen);
            history::collect(since.map(|e| (e.key, e)), state.page_size, |e| m.keep(e)).0
        };
        if !fresh.is_empty() {
            let r = history::reference::<EventFilter>(&k);
            let mut page = fresh;
            if let Some(old) = emu.inv.prop(&r, "latestPage") {
                page.extend(old.items().iter().cloned());
            }
            page.truncate(state.page_size);
            let _ = emu.inv.set(&r, "latestPage", Value::array("Event", page));
        }
        if let Some(s) = emu.event_collectors.get_mut(&k) {
            s.seen = latest;
        }
    }
}

/// The direct WSDL base of an event type (`VmPoweredOnEvent` → `VmEvent`), from
/// [`EVENT_PARENTS`].
fn event_parent(ty: &str) -> Option<&'static str> {
    EVENT_PARENTS.lines().find_map(|line| {
        let mut words = line.split_ascii_whitespace();
        let parent = words.next()?;
        words.any(|w| w == ty).then_some(parent)
    })
}

/// Whether event type `ty` is `base` or derives from it (`DrsVmPoweredOnEvent` is a
/// `VmPoweredOnEvent`, a `VmEvent` and an `Event`).
pub fn event_is_a(ty: &str, base: &str) -> bool {
    if base == "Event" {
        return true;
    }
    let mut cur = ty;
    // The event hierarchy is at most six deep; the bound guards the table.
    for _ in 0..12 {
        if cur == base {
            return true;
        }
        match event_parent(cur) {
            Some(p) => cur = p,
            None => return false,
        }
    }
    false
}

/// Every vim25 event type by direct base: each line is a base type followed by types that
/// derive from it directly. Generated from pyVmomi 9.1.1.0's type registry
/// (`VmomiSupport.GetWsdlType`, all subclasses of `Event`, 442 types).
const EVENT_PARENTS: &str = "
    AlarmEvent AlarmAcknowledgedEvent AlarmActionTriggeredEvent AlarmClearedEvent AlarmCreatedEvent
    AlarmEvent AlarmEmailCompletedEvent AlarmEmailFailedEvent AlarmReconfiguredEvent
    AlarmEvent AlarmRemovedEvent AlarmScriptCompleteEvent AlarmScriptFailedEvent
    AlarmEvent AlarmSnmpCompletedEvent AlarmSnmpFailedEvent AlarmStatusChangedEvent
    AuthorizationEvent PermissionEvent RoleEvent
    ClusterEvent ClusterComplianceCheckedEvent ClusterCreatedEvent ClusterDestroyedEvent
    ClusterEvent ClusterOvercommittedEvent ClusterReconfiguredEvent ClusterStatusChangedEvent
    ClusterEvent DasAdmissionControlDisabledEvent DasAdmissionControlEnabledEvent DasAgentFoundEvent
    ClusterEvent DasAgentUnavailableEvent DasClusterIsolatedEvent DasDisabledEvent DasEnabledEvent
    ClusterEvent DasHostFailedEvent DasHostIsolatedEvent DrsDisabledEvent DrsEnabledEvent
    ClusterEvent DrsInvocationFailedEvent DrsRecoveredFromFailureEvent FailoverLevelRestored
    ClusterEvent HostMonitoringStateChangedEvent InsufficientFailoverResourcesEvent
    ClusterEvent VmHealthMonitoringStateChangedEvent
    ClusterOvercommittedEvent HostOvercommittedEvent
    ClusterStatusChangedEvent HostStatusChangedEvent
    CustomFieldDefEvent CustomFieldDefAddedEvent CustomFieldDefRemovedEvent
    CustomFieldDefEvent CustomFieldDefRenamedEvent
    CustomFieldEvent CustomFieldDefEvent CustomFieldValueChangedEvent
    CustomizationEvent CustomizationFailed CustomizationStartedEvent CustomizationSucceeded
    CustomizationFailed CustomizationLinuxIdentityFailed CustomizationNetworkSetupFailed
    CustomizationFailed CustomizationSysprepFailed CustomizationUnknownFailure
    DVPortgroupEvent DVPortgroupCreatedEvent DVPortgroupDestroyedEvent DVPortgroupReconfiguredEvent
    DVPortgroupEvent DVPortgroupRenamedEvent DvpgImportEvent DvpgRestoreEvent
    DatacenterEvent DatacenterCreatedEvent DatacenterRenamedEvent
    DatastoreEvent DatastoreCapacityIncreasedEvent DatastoreDestroyedEvent DatastoreDuplicatedEvent
    DatastoreEvent DatastoreFileEvent DatastoreIORMReconfiguredEvent DatastoreRenamedEvent
    DatastoreEvent NonVIWorkloadDetectedOnDatastoreEvent
    DatastoreFileEvent DatastoreFileCopiedEvent DatastoreFileDeletedEvent DatastoreFileMovedEvent
    DvsEvent DvsCreatedEvent DvsDestroyedEvent DvsHostBackInSyncEvent DvsHostJoinedEvent
    DvsEvent DvsHostLeftEvent DvsHostStatusUpdated DvsHostWentOutOfSyncEvent DvsImportEvent
    DvsEvent DvsMergedEvent DvsPortBlockedEvent DvsPortConnectedEvent DvsPortCreatedEvent
    DvsEvent DvsPortDeletedEvent DvsPortDisconnectedEvent DvsPortEnteredPassthruEvent
    DvsEvent DvsPortExitedPassthruEvent DvsPortJoinPortgroupEvent DvsPortLeavePortgroupEvent
    DvsEvent DvsPortLinkDownEvent DvsPortLinkUpEvent DvsPortReconfiguredEvent
    DvsEvent DvsPortRuntimeChangeEvent DvsPortUnblockedEvent DvsPortVendorSpecificStateChangeEvent
    DvsEvent DvsReconfiguredEvent DvsRenamedEvent DvsRestoreEvent DvsUpgradeAvailableEvent
    DvsEvent DvsUpgradeInProgressEvent DvsUpgradeRejectedEvent DvsUpgradedEvent
    DvsEvent HostLocalPortCreatedEvent OutOfSyncDvsHost RecoveryEvent RollbackEvent
    DvsEvent VmVnicPoolReservationViolationClearEvent VmVnicPoolReservationViolationRaiseEvent
    DvsHealthStatusChangeEvent MtuMatchEvent MtuMismatchEvent TeamingMatchEvent TeamingMisMatchEvent
    DvsHealthStatusChangeEvent UplinkPortMtuNotSupportEvent UplinkPortMtuSupportEvent
    DvsHealthStatusChangeEvent UplinkPortVlanTrunkedEvent UplinkPortVlanUntrunkedEvent
    EnteredStandbyModeEvent DrsEnteredStandbyModeEvent
    EnteringStandbyModeEvent DrsEnteringStandbyModeEvent
    Event AlarmEvent AuthorizationEvent ClusterEvent CustomFieldEvent DVPortgroupEvent
    Event DatacenterEvent DatastoreEvent DvsEvent EventEx GeneralEvent HealthStatusChangedEvent
    Event HostEvent HostInventoryUnreadableEvent LicenseEvent LicenseExpiredEvent
    Event LockerMisconfiguredEvent LockerReconfiguredEvent NetworkRollbackEvent ProfileEvent
    Event ResourcePoolEvent ScheduledTaskEvent SessionEvent TaskEvent TemplateUpgradeEvent
    Event UpgradeEvent VmEvent
    ExitStandbyModeFailedEvent DrsExitStandbyModeFailedEvent
    ExitedStandbyModeEvent DrsExitedStandbyModeEvent
    ExitingStandbyModeEvent DrsExitingStandbyModeEvent
    GeneralEvent ExtendedEvent GeneralHostErrorEvent GeneralHostInfoEvent GeneralHostWarningEvent
    GeneralEvent GeneralUserEvent GeneralVmErrorEvent GeneralVmInfoEvent GeneralVmWarningEvent
    HostDasEvent HostExtraNetworksEvent HostIsolationIpPingFailedEvent HostMissingNetworksEvent
    HostDasEvent HostNoAvailableNetworksEvent HostNoHAEnabledPortGroupsEvent
    HostDasEvent HostNoRedundantManagementNetworkEvent HostNotInClusterEvent
    HostDasEvent HostPrimaryAgentNotShortNameEvent HostShortNameInconsistentEvent
    HostEvent AccountCreatedEvent AccountRemovedEvent AccountUpdatedEvent
    HostEvent AdminPasswordNotChangedEvent CanceledHostOperationEvent DatastoreDiscoveredEvent
    HostEvent DatastorePrincipalConfigured DatastoreRemovedOnHostEvent DatastoreRenamedOnHostEvent
    HostEvent DrsResourceConfigureFailedEvent DrsResourceConfigureSyncedEvent
    HostEvent DuplicateIpDetectedEvent DvsHealthStatusChangeEvent EnteredMaintenanceModeEvent
    HostEvent EnteredStandbyModeEvent EnteringMaintenanceModeEvent EnteringStandbyModeEvent
    HostEvent ExitMaintenanceModeEvent ExitStandbyModeFailedEvent ExitedStandbyModeEvent
    HostEvent ExitingStandbyModeEvent GhostDvsProxySwitchDetectedEvent
    HostEvent GhostDvsProxySwitchRemovedEvent HostAddFailedEvent HostAddedEvent
    HostEvent HostAdminDisableEvent HostAdminEnableEvent HostCnxFailedAccountFailedEvent
    HostEvent HostCnxFailedAlreadyManagedEvent HostCnxFailedBadCcagentEvent
    HostEvent HostCnxFailedBadUsernameEvent HostCnxFailedBadVersionEvent
    HostEvent HostCnxFailedCcagentUpgradeEvent HostCnxFailedEvent HostCnxFailedNetworkErrorEvent
    HostEvent HostCnxFailedNoAccessEvent HostCnxFailedNoConnectionEvent HostCnxFailedNoLicenseEvent
    HostEvent HostCnxFailedNotFoundEvent HostCnxFailedTimeoutEvent HostComplianceCheckedEvent
    HostEvent HostCompliantEvent HostConfigAppliedEvent HostConnectedEvent HostConnectionLostEvent
    HostEvent HostDasDisabledEvent HostDasDisablingEvent HostDasEnabledEvent HostDasEnablingEvent
    HostEvent HostDasErrorEvent HostDasEvent HostDasOkEvent HostDisconnectedEvent
    HostEvent HostEnableAdminFailedEvent HostGetShortNameFailedEvent HostInAuditModeEvent
    HostEvent HostIpChangedEvent HostIpInconsistentEvent HostIpToShortNameFailedEvent
    HostEvent HostNonCompliantEvent HostProfileAppliedEvent HostReconnectionFailedEvent
    HostEvent HostRemovedEvent HostShortNameToIpFailedEvent HostShutdownEvent
    HostEvent HostSpecificationChangedEvent HostSpecificationRequireEvent
    HostEvent HostSpecificationUpdateEvent HostSubSpecificationDeleteEvent
    HostEvent HostSubSpecificationUpdateEvent HostSyncFailedEvent HostUpgradeFailedEvent
    HostEvent HostUserWorldSwapNotEnabledEvent HostVnicConnectedToCustomizedDVPortEvent
    HostEvent HostWwnChangedEvent HostWwnConflictEvent IScsiBootFailureEvent
    HostEvent LocalDatastoreCreatedEvent LocalTSMEnabledEvent NASDatastoreCreatedEvent
    HostEvent NoDatastoresConfiguredEvent RemoteTSMEnabledEvent TimedOutHostOperationEvent
    HostEvent UpdatedAgentBeingRestartedEvent UserAssignedToGroup UserPasswordChanged
    HostEvent UserUnassignedFromGroup VMFSDatastoreCreatedEvent VMFSDatastoreExpandedEvent
    HostEvent VMFSDatastoreExtendedEvent VcAgentUninstallFailedEvent VcAgentUninstalledEvent
    HostEvent VcAgentUpgradeFailedEvent VcAgentUpgradedEvent VimAccountPasswordChangedEvent
    LicenseEvent AllVirtualMachinesLicensedEvent HostInventoryFullEvent HostLicenseExpiredEvent
    LicenseEvent IncorrectHostInformationEvent InvalidEditionEvent LicenseNonComplianceEvent
    LicenseEvent LicenseRestrictedEvent LicenseServerAvailableEvent LicenseServerUnavailableEvent
    LicenseEvent NoLicenseEvent ServerLicenseExpiredEvent UnlicensedVirtualMachinesEvent
    LicenseEvent UnlicensedVirtualMachinesFoundEvent VMotionLicenseExpiredEvent
    MigrationEvent MigrationErrorEvent MigrationHostErrorEvent MigrationHostWarningEvent
    MigrationEvent MigrationResourceErrorEvent MigrationResourceWarningEvent MigrationWarningEvent
    PermissionEvent PermissionAddedEvent PermissionRemovedEvent PermissionUpdatedEvent
    ProfileEvent ProfileAssociatedEvent ProfileChangedEvent ProfileCreatedEvent
    ProfileEvent ProfileDissociatedEvent ProfileReferenceHostChangedEvent ProfileRemovedEvent
    ResourcePoolEvent ResourcePoolCreatedEvent ResourcePoolDestroyedEvent ResourcePoolMovedEvent
    ResourcePoolEvent ResourcePoolReconfiguredEvent ResourceViolatedEvent
    RoleEvent RoleAddedEvent RoleRemovedEvent RoleUpdatedEvent
    ScheduledTaskEvent ScheduledTaskCompletedEvent ScheduledTaskCreatedEvent
    ScheduledTaskEvent ScheduledTaskEmailCompletedEvent ScheduledTaskEmailFailedEvent
    ScheduledTaskEvent ScheduledTaskFailedEvent ScheduledTaskReconfiguredEvent
    ScheduledTaskEvent ScheduledTaskRemovedEvent ScheduledTaskStartedEvent
    SessionEvent AlreadyAuthenticatedSessionEvent BadUsernameSessionEvent GlobalMessageChangedEvent
    SessionEvent NoAccessUserEvent ServerStartedSessionEvent SessionTerminatedEvent
    SessionEvent UserLoginSessionEvent UserLogoutSessionEvent
    TaskEvent TaskTimeoutEvent
    TemplateUpgradeEvent TemplateBeingUpgradedEvent TemplateUpgradeFailedEvent TemplateUpgradedEvent
    UpgradeEvent ErrorUpgradeEvent InfoUpgradeEvent UserUpgradeEvent WarningUpgradeEvent
    VmCloneEvent VmBeingClonedEvent VmBeingClonedNoFolderEvent VmCloneFailedEvent VmClonedEvent
    VmDasBeingResetEvent VmDasBeingResetWithScreenshotEvent
    VmEvent CustomizationEvent DrsRuleComplianceEvent DrsRuleViolationEvent
    VmEvent DrsSoftRuleViolationEvent MigrationEvent NoMaintenanceModeDrsRecommendationForVM
    VmEvent NotEnoughResourcesToStartVmEvent VmAcquiredMksTicketEvent VmAcquiredTicketEvent
    VmEvent VmAutoRenameEvent VmBeingCreatedEvent VmBeingDeployedEvent VmBeingHotMigratedEvent
    VmEvent VmBeingMigratedEvent VmCloneEvent VmConfigMissingEvent VmConnectedEvent VmCreatedEvent
    VmEvent VmDasBeingResetEvent VmDasResetFailedEvent VmDasUpdateErrorEvent VmDasUpdateOkEvent
    VmEvent VmDateRolledBackEvent VmDeployFailedEvent VmDeployedEvent VmDisconnectedEvent
    VmEvent VmDiscoveredEvent VmDiskFailedEvent VmEmigratingEvent VmEndRecordingEvent
    VmEvent VmEndReplayingEvent VmFailedMigrateEvent VmFailedRelayoutEvent
    VmEvent VmFailedRelayoutOnVmfs2DatastoreEvent VmFailedStartingSecondaryEvent
    VmEvent VmFailedToPowerOffEvent VmFailedToPowerOnEvent VmFailedToRebootGuestEvent
    VmEvent VmFailedToResetEvent VmFailedToShutdownGuestEvent VmFailedToStandbyGuestEvent
    VmEvent VmFailedToSuspendEvent VmFailedUpdatingSecondaryConfig VmFailoverFailed
    VmEvent VmFaultToleranceStateChangedEvent VmFaultToleranceTurnedOffEvent
    VmEvent VmFaultToleranceVmTerminatedEvent VmGuestOSCrashedEvent VmGuestRebootEvent
    VmEvent VmGuestShutdownEvent VmGuestStandbyEvent VmInstanceUuidAssignedEvent
    VmEvent VmInstanceUuidChangedEvent VmInstanceUuidConflictEvent VmMacAssignedEvent
    VmEvent VmMacChangedEvent VmMacConflictEvent VmMaxFTRestartCountReached VmMaxRestartCountReached
    VmEvent VmMessageErrorEvent VmMessageEvent VmMessageWarningEvent VmMigratedEvent
    VmEvent VmNoCompatibleHostForSecondaryEvent VmNoNetworkAccessEvent VmOrphanedEvent
    VmEvent VmPoweredOffEvent VmPoweredOnEvent VmPoweringOnWithCustomizedDVPortEvent
    VmEvent VmPrimaryFailoverEvent VmReconfiguredEvent VmRegisteredEvent VmRelayoutSuccessfulEvent
    VmEvent VmRelayoutUpToDateEvent VmReloadFromPathEvent VmReloadFromPathFailedEvent
    VmEvent VmRelocateSpecEvent VmRemoteConsoleConnectedEvent VmRemoteConsoleDisconnectedEvent
    VmEvent VmRemovedEvent VmRenamedEvent VmRequirementsExceedCurrentEVCModeEvent VmResettingEvent
    VmEvent VmResourcePoolMovedEvent VmResourceReallocatedEvent VmResumingEvent
    VmEvent VmSecondaryAddedEvent VmSecondaryDisabledBySystemEvent VmSecondaryDisabledEvent
    VmEvent VmSecondaryEnabledEvent VmSecondaryStartedEvent VmStartRecordingEvent
    VmEvent VmStartReplayingEvent VmStartingEvent VmStartingSecondaryEvent VmStaticMacConflictEvent
    VmEvent VmStoppingEvent VmSuspendedEvent VmSuspendingEvent VmTimedoutStartingSecondaryEvent
    VmEvent VmUpgradeCompleteEvent VmUpgradeFailedEvent VmUpgradingEvent VmUuidAssignedEvent
    VmEvent VmUuidChangedEvent VmUuidConflictEvent VmWwnAssignedEvent VmWwnChangedEvent
    VmEvent VmWwnConflictEvent
    VmMigratedEvent DrsVmMigratedEvent
    VmPoweredOffEvent VmPowerOffOnIsolationEvent VmShutdownOnIsolationEvent
    VmPoweredOnEvent DrsVmPoweredOnEvent VmRestartedOnAlternateHostEvent
    VmRelocateSpecEvent VmBeingRelocatedEvent VmRelocateFailedEvent VmRelocatedEvent
    VmStartingEvent VmUnsupportedStartingEvent
";

/// Longest `fullFormattedMessage` a posted event keeps, in characters.
const POSTED_MESSAGE_MAX_CHARS: usize = 4096;

fn invalid_event(why: impl Into<String>) -> Fault {
    Fault::new("InvalidEvent", why)
}

/// `PostEvent(eventToPost, taskInfo?)`: logs a client's event (a `GeneralUserEvent`, an
/// `EventEx`, any `Event` type). As vCenter, the server assigns `key`, `chainId`,
/// `createdTime` and `userName` (the caller's); the entities the event names must exist, and
/// their arguments are completed from the inventory (a VM's event also names its host,
/// compute resource and datacenter), so entity filters find it. An entity given as
/// `GeneralUserEvent.entity` counts as the event's VM, host, compute resource or datacenter
/// by its type. `InvalidEvent` for anything not a valid event. `taskInfo` (associating the
/// event with a task) is accepted and not kept.
pub fn post_event(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    use crate::events::EventArgs;
    let el = args
        .element("eventToPost")
        .ok_or_else(|| Fault::invalid_argument("eventToPost"))?;
    let event = super::conform::checked(el, "Event", |p| {
        invalid_event(format!("Invalid event: {p}"))
    })?;
    let ty = super::conform::type_of(&event)
        .and_then(crate::vmodl::data_type)
        .map(|t| t.name)
        .filter(|t| crate::vmodl::is_subtype(t, "Event"))
        .ok_or_else(|| invalid_event("The event type is not an Event"))?;
    let mut eargs = EventArgs::default();
    let named = |emu: &Emulator, m: &MoRef| -> Result<(MoRef, String), Fault> {
        let o = emu
            .inv
            .lookup(m)
            .ok_or_else(|| invalid_event(format!("The event names {m}, which does not exist")))?;
        Ok((o.moref.clone(), o.name().to_owned()))
    };
    let arg_ref = |field: &str, inner: &str| {
        event
            .field(field)
            .and_then(|a| a.field(inner))
            .and_then(Value::as_moref)
            .cloned()
    };
    let mut refs: Vec<MoRef> = [
        ("vm", "vm"),
        ("host", "host"),
        ("computeResource", "computeResource"),
        ("datacenter", "datacenter"),
        ("entity", "entity"),
    ]
    .iter()
    .filter_map(|(f, i)| arg_ref(f, i))
    .collect();
    refs.dedup();
    for m in &refs {
        let (r, name) = named(emu, m)?;
        let slot = match r.ty.as_ref() {
            "VirtualMachine" => &mut eargs.vm,
            "HostSystem" => &mut eargs.host,
            "ComputeResource" | "ClusterComputeResource" => &mut eargs.compute_resource,
            "Datacenter" => &mut eargs.datacenter,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some((r, name));
        }
    }
    if let Some((vm, _)) = eargs.vm.clone() {
        let around = emu.vm_event_args(&vm);
        eargs.host = eargs.host.or(around.host);
        eargs.compute_resource = eargs.compute_resource.or(around.compute_resource);
        eargs.datacenter = eargs.datacenter.or(around.datacenter);
    }
    let message: String = super::conform::text(&event, "fullFormattedMessage")
        .unwrap_or_default()
        .chars()
        .take(POSTED_MESSAGE_MAX_CHARS)
        .collect();
    const SERVER_FIELDS: &[&str] = &[
        "key",
        "chainId",
        "createdTime",
        "userName",
        "datacenter",
        "computeResource",
        "host",
        "vm",
        "fullFormattedMessage",
    ];
    let mut extra = Vec::new();
    if let Some(d) = event.as_data() {
        for (n, v) in &d.fields {
            if SERVER_FIELDS.contains(&n.as_ref()) {
                continue;
            }
            let f = crate::vmodl::field(ty, n)
                .ok_or_else(|| invalid_event(format!("{ty} has no field {n}")))?;
            extra.push((f.name, crate::events::summarize(v)));
        }
    }
    // VM events carry `template` (a required field of VmEvent).
    if crate::vmodl::is_subtype(ty, "VmEvent") && !extra.iter().any(|(n, _)| *n == "template") {
        extra.push(("template", Value::Bool(false)));
    }
    let user = user_of(emu, ctx);
    let now = emu.clock.now_ms();
    emu.events.post(ty, now, &user, &eargs, message, extra);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::super::history::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, page_size};
    use super::*;
    use crate::soap::parse_document;

    fn filter(xml: &str) -> Result<EventFilter, Fault> {
        EventFilter::parse(&parse_document(xml).expect("test XML parses"))
    }

    fn event(
        key: i32,
        ty: &'static str,
        created_ms: i64,
        user: &str,
        entities: &[&str],
    ) -> StoredEvent {
        StoredEvent {
            key,
            ty,
            created_ms,
            entities: entities
                .iter()
                .map(|v| MoRef::new("VirtualMachine", *v))
                .collect(),
            value: DataObject::new(ty)
                .with("key", Value::Int(key))
                .with("chainId", Value::Int(key))
                .with("createdTime", Value::DateTime(created_ms))
                .with("userName", Value::str(user))
                .with("fullFormattedMessage", Value::str("m"))
                .into_value(),
        }
    }

    fn bare_matcher(f: &EventFilter) -> Matcher<'_> {
        Matcher {
            filter: f,
            root: false,
            own: BTreeSet::new(),
            below: BTreeSet::new(),
            types_memo: BTreeMap::new(),
            ids_memo: BTreeMap::new(),
        }
    }

    #[test]
    fn event_types_know_their_bases() {
        assert!(event_is_a("VmPoweredOnEvent", "VmEvent"));
        assert!(event_is_a("VmPoweredOnEvent", "Event"));
        assert!(event_is_a("DrsVmPoweredOnEvent", "VmPoweredOnEvent"));
        assert!(event_is_a("DrsVmPoweredOnEvent", "VmEvent"));
        assert!(event_is_a("UserLoginSessionEvent", "SessionEvent"));
        assert!(!event_is_a("VmPoweredOnEvent", "HostEvent"));
        assert!(!event_is_a("VmPoweredOnEvent", "VmPoweredOffEvent"));
        assert!(!event_is_a("NoSuchEvent", "VmEvent"));
        assert_eq!(event_parent("VmGuestShutdownEvent"), Some("VmEvent"));
        assert_eq!(
            EVENT_PARENTS.split_ascii_whitespace().count()
                - EVENT_PARENTS
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .count(),
            442
        );
    }

    #[test]
    fn filters_parse_and_round_trip_as_wsdl_objects() {
        let f = filter(
            r#"<filter><entity><entity type="ClusterComputeResource">domain-c7</entity><recursion>all</recursion></entity>
               <time><beginTime>2024-01-01T00:00:00Z</beginTime></time>
               <eventTypeId>VmPoweredOnEvent</eventTypeId><eventTypeId>VmRemovedEvent</eventTypeId>
               <maxCount>200</maxCount></filter>"#,
        )
        .unwrap();
        assert_eq!(
            f.entity,
            Some((
                MoRef::new("ClusterComputeResource", "domain-c7"),
                Recursion::All
            ))
        );
        assert_eq!(f.event_type_ids, vec!["VmPoweredOnEvent", "VmRemovedEvent"]);
        assert_eq!(f.max_count, Some(200));
        assert!(f.begin_ms.is_some());
        let v = f.to_value();
        assert_eq!(v.xsi_type(), "EventFilterSpec");
        assert_eq!(
            v.field("entity").unwrap().xsi_type(),
            "EventFilterSpecByEntity"
        );
        assert_eq!(
            v.field("entity")
                .and_then(|e| e.field("recursion"))
                .and_then(Value::as_str),
            Some("all")
        );
        assert_eq!(v.field("time").unwrap().xsi_type(), "EventFilterSpecByTime");
        assert_eq!(v.field("eventTypeId").unwrap().items().len(), 2);
        assert!(v.field("type").is_none());
    }

    #[test]
    fn malformed_filters_name_the_field() {
        let e = filter(
            "<filter><entity><entity type=\"Folder\">f</entity><recursion>up</recursion></entity></filter>",
        );
        assert_eq!(
            e.unwrap_err().fields[0].1.as_str(),
            Some("filter.entity.recursion")
        );
        let e = filter("<filter><time><beginTime>yesterday</beginTime></time></filter>");
        assert_eq!(
            e.unwrap_err().fields[0].1.as_str(),
            Some("filter.time.beginTime")
        );
        let e = filter("<filter><maxCount>x</maxCount></filter>");
        assert!(e.is_err());
    }

    #[test]
    fn type_time_user_and_chain_filters() {
        let on = event(1, "VmPoweredOnEvent", 1_000, "root", &["vm-1"]);
        let off = event(2, "VmPoweredOffEvent", 2_000, "vpxuser", &["vm-1"]);
        let login = event(3, "UserLoginSessionEvent", 3_000, "root", &[]);

        let f = EventFilter {
            types: vec!["VmEvent".into()],
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        assert!(m.matches(&on) && m.matches(&off) && !m.matches(&login));

        let f = EventFilter {
            event_type_ids: vec!["VmPoweredOffEvent".into()],
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        assert!(!m.matches(&on) && m.matches(&off));

        let f = EventFilter {
            begin_ms: Some(1_500),
            end_ms: Some(2_500),
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        assert!(!m.matches(&on) && m.matches(&off) && !m.matches(&login));

        let f = EventFilter {
            user: Some((true, vec![])),
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        assert!(!m.matches(&on) && m.matches(&off));
        let f = EventFilter {
            user: Some((false, vec!["root".into()])),
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        assert!(m.matches(&on) && !m.matches(&off) && m.matches(&login));

        let f = EventFilter {
            chain_id: Some(2),
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        assert!(!m.matches(&on) && m.matches(&off));

        let f = EventFilter {
            categories: vec!["error".into()],
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        assert!(!m.matches(&on));
        assert_eq!(category_of("VmFailedToPowerOnEvent"), "error");
    }

    #[test]
    fn entity_scopes() {
        let vm_event = event(1, "VmPoweredOnEvent", 0, "root", &["vm-1"]);
        let login = event(2, "UserLoginSessionEvent", 0, "root", &[]);
        let vm = MoRef::new("VirtualMachine", "vm-1");
        let pool = MoRef::new("ResourcePool", "resgroup-1");

        let f = EventFilter {
            entity: Some((vm.clone(), Recursion::Itself)),
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        m.own.insert("vm-1".into());
        assert!(m.matches(&vm_event) && !m.matches(&login));

        // Children excludes the entity itself.
        let f = EventFilter {
            entity: Some((vm, Recursion::Children)),
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        m.own.insert("vm-1".into());
        assert!(!m.matches(&vm_event));

        let f = EventFilter {
            entity: Some((pool, Recursion::All)),
            ..EventFilter::default()
        };
        let mut m = bare_matcher(&f);
        m.below.insert("vm-1".into());
        assert!(m.matches(&vm_event) && !m.matches(&login));

        // The root folder concerns every event.
        let mut m = bare_matcher(&f);
        m.root = true;
        assert!(m.matches(&login));
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None, "m").unwrap(), PAGE_SIZE_DEFAULT);
        assert_eq!(page_size(Some(0), "m").unwrap(), PAGE_SIZE_DEFAULT);
        assert_eq!(page_size(Some(200), "m").unwrap(), 200);
        assert!(page_size(Some(-1), "m").is_err());
        assert!(page_size(Some(PAGE_SIZE_MAX as i64 + 1), "m").is_err());
    }

    #[test]
    fn full_messages_can_be_left_out() {
        let e = event(1, "VmPoweredOnEvent", 0, "root", &["vm-1"]);
        let f = EventFilter {
            disable_full_message: true,
            ..EventFilter::default()
        };
        let m = bare_matcher(&f);
        assert!(m.output(&e).field("fullFormattedMessage").is_none());
        assert!(e.value.field("fullFormattedMessage").is_some());
    }

    use super::super::search_index::harness::{H, mo};
    use crate::config::Flavor;

    /// `(type, key, vm name)` of each event in a list.
    fn summary(v: &Value) -> Vec<(String, i64, String)> {
        v.items()
            .iter()
            .map(|e| {
                let vm = e
                    .field("vm")
                    .and_then(|a| a.field("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                (
                    e.xsi_type().into_owned(),
                    e.field("key").and_then(Value::as_i64).unwrap_or(-1),
                    vm.to_owned(),
                )
            })
            .collect()
    }

    fn page(h: &H, c: &MoRef) -> Vec<(String, i64, String)> {
        summary(h.emu.inv.prop(c, "latestPage").expect("latestPage"))
    }

    #[test]
    fn query_events_lists_newest_first_within_the_entity() {
        let mut h = H::new(Flavor::VirtualCenter);
        let em = h.emu.refs.event_manager.clone();
        let vm = h.find("VirtualMachine", "DC0_H0_VM0");
        let body = format!(
            "<filter><entity>{}<recursion>self</recursion></entity></filter>",
            mo("entity", &vm)
        );
        let got = summary(&h.call("QueryEvents", &em, &body).unwrap().unwrap());
        let kinds: Vec<&str> = got.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(kinds, vec!["VmPoweredOnEvent", "VmCreatedEvent"]);
        assert!(got.iter().all(|(_, _, n)| n == "DC0_H0_VM0"));
        assert!(got[0].1 > got[1].1, "newest first");

        // Type filters match base types; maxCount caps the answer.
        let body = "<filter><type>VmEvent</type><maxCount>3</maxCount></filter>";
        let got = summary(&h.call("QueryEvents", &em, body).unwrap().unwrap());
        assert_eq!(got.len(), 3);
        assert!(got.windows(2).all(|w| w[0].1 > w[1].1));
        let body = "<filter><eventTypeId>UserLoginSessionEvent</eventTypeId></filter>";
        let got = summary(&h.call("QueryEvents", &em, body).unwrap().unwrap());
        assert_eq!(got.len(), 1);
        let body = format!(
            "<filter><entity>{}<recursion>all</recursion></entity></filter>",
            mo("entity", &MoRef::new("VirtualMachine", "vm-0"))
        );
        assert_eq!(
            h.call("QueryEvents", &em, &body).unwrap_err().ty,
            "ManagedObjectNotFound"
        );
    }

    #[test]
    fn a_collector_follows_new_events_like_vics_port_layer() {
        let mut h = H::new(Flavor::VirtualCenter);
        let em = h.emu.refs.event_manager.clone();
        let cluster = h.find("ClusterComputeResource", "DC0_C0");
        let body = format!(
            "<filter><entity>{}<recursion>all</recursion></entity><eventTypeId>VmPoweredOnEvent</eventTypeId>\
             <eventTypeId>VmPoweredOffEvent</eventTypeId><eventTypeId>VmRemovedEvent</eventTypeId></filter>",
            mo("entity", &cluster)
        );
        let c = h
            .call("CreateCollectorForEvents", &em, &body)
            .unwrap()
            .unwrap();
        let c = c.as_moref().unwrap().clone();
        assert_eq!(c.ty, "EventHistoryCollector");
        assert!(c.value.starts_with("session["));
        // The default page is 10; the cluster's six VMs were powered on.
        assert_eq!(page(&h, &c).len(), 6);
        h.call("SetCollectorPageSize", &c, "<maxCount>200</maxCount>")
            .unwrap();
        assert_eq!(page(&h, &c).len(), 6);
        assert_eq!(
            h.call("SetCollectorPageSize", &c, "<maxCount>1001</maxCount>")
                .unwrap_err()
                .ty,
            "InvalidArgument"
        );
        let filter = h.emu.inv.prop(&c, "filter").unwrap();
        assert_eq!(filter.xsi_type(), "EventFilterSpec");

        // A VM outside the cluster does not show; one inside does, newest first.
        let outside = h.find("VirtualMachine", "DC0_H0_VM0");
        h.task("PowerOffVM_Task", &outside, "").unwrap();
        assert_eq!(page(&h, &c).len(), 6);
        let inside = h.find("VirtualMachine", "DC0_C0_RP0_VM3");
        h.task("PowerOffVM_Task", &inside, "").unwrap();
        let p = page(&h, &c);
        assert_eq!(p.len(), 7);
        assert_eq!(
            (p[0].0.as_str(), p[0].2.as_str()),
            ("VmPoweredOffEvent", "DC0_C0_RP0_VM3")
        );

        // The scrollable view: oldest first from the start, back again, rewind, reset.
        let next = summary(
            &h.call("ReadNextEvents", &c, "<maxCount>2</maxCount>")
                .unwrap()
                .unwrap(),
        );
        assert_eq!(next.len(), 2);
        assert!(next[0].1 < next[1].1);
        let prev = summary(
            &h.call("ReadPreviousEvents", &c, "<maxCount>5</maxCount>")
                .unwrap()
                .unwrap(),
        );
        assert_eq!(
            prev.iter().map(|e| e.1).collect::<Vec<_>>(),
            vec![next[1].1, next[0].1]
        );
        assert!(
            h.call("ReadPreviousEvents", &c, "<maxCount>5</maxCount>")
                .unwrap()
                .unwrap()
                .items()
                .is_empty()
        );
        let rest = summary(
            &h.call("ReadNextEvents", &c, "<maxCount>100</maxCount>")
                .unwrap()
                .unwrap(),
        );
        assert_eq!(rest.len(), 7);
        assert!(
            h.call("ReadNextEvents", &c, "<maxCount>1</maxCount>")
                .unwrap()
                .unwrap()
                .items()
                .is_empty()
        );
        h.call("RewindCollector", &c, "").unwrap();
        let first = summary(
            &h.call("ReadNextEvents", &c, "<maxCount>1</maxCount>")
                .unwrap()
                .unwrap(),
        );
        assert_eq!(first[0].1, rest[0].1);
        h.call("SetCollectorPageSize", &c, "<maxCount>2</maxCount>")
            .unwrap();
        h.call("ResetCollector", &c, "").unwrap();
        let older = summary(
            &h.call("ReadPreviousEvents", &c, "<maxCount>100</maxCount>")
                .unwrap()
                .unwrap(),
        );
        assert_eq!(
            older.len(),
            5,
            "everything before the two-event latest page"
        );
        assert!(older[0].1 > older[1].1);
        assert_eq!(
            h.call("ReadNextEvents", &c, "<maxCount>0</maxCount>")
                .unwrap_err()
                .ty,
            "InvalidArgument"
        );

        h.call("DestroyCollector", &c, "").unwrap();
        assert!(!h.emu.inv.contains(&c));
        assert_eq!(
            h.call("ReadNextEvents", &c, "<maxCount>1</maxCount>")
                .unwrap_err()
                .ty,
            "ManagedObjectNotFound"
        );
    }

    #[test]
    fn collectors_are_bounded_per_session_and_end_with_it() {
        let mut h = H::new(Flavor::VirtualCenter);
        let em = h.emu.refs.event_manager.clone();
        let mut made = Vec::new();
        for _ in 0..32 {
            made.push(
                h.call("CreateCollectorForEvents", &em, "<filter/>")
                    .unwrap()
                    .unwrap(),
            );
        }
        assert_eq!(
            h.call("CreateCollectorForEvents", &em, "<filter/>")
                .unwrap_err()
                .ty,
            "InvalidState"
        );
        assert_eq!(
            h.call(
                "CreateCollectorForEvents",
                &em,
                "<filter><maxCount>-1</maxCount></filter>"
            )
            .unwrap_err()
            .ty,
            "InvalidArgument"
        );
        let sm = h.emu.refs.session_manager.clone();
        h.call("Logout", &sm, "").unwrap();
        assert!(h.emu.event_collectors.is_empty());
        assert!(
            made.iter()
                .all(|c| !h.emu.inv.contains(c.as_moref().unwrap()))
        );
    }
}
