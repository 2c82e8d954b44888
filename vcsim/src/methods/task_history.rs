//! TaskManager.CreateCollectorForTasks and the TaskHistoryCollector: ReadNextTasks,
//! ReadPreviousTasks and `latestPage` (TaskInfo[]). The HistoryCollector methods
//! (RewindCollector, ResetCollector, SetCollectorPageSize, DestroyCollector) are the event
//! collectors' ones in `events.rs`, which hand task collectors to the generic ones in
//! `history.rs` (as does the cursor here, through [`history::Collector`]).
//!
//! The history is the task log (bounded by `tasks::RECENT_TASKS_MAX`), ordered by task
//! number; a collector's view sits after a task number as an event collector's sits after
//! an event key. `latestPage` lists the newest matching tasks first.

use super::history::{self, Filter};
use super::{Args, CallContext};
use crate::emulator::Emulator;
use crate::inventory::children;
use crate::soap::{Call, Element, decode};
use crate::tasks::TaskLog;
use crate::vmodl::{DataObject, Fault, MoRef, Value, parse_datetime};
use std::collections::BTreeMap;

use super::history::PAGE_SIZE_DEFAULT;
/// Most entries in a filter list.
const MAX_FILTER_ITEMS: usize = 1024;

/// A parsed `TaskFilterSpec` (entity, state, user and time criteria).
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    entity: Option<(MoRef, String)>,
    states: Vec<String>,
    users: Option<(Vec<String>, bool)>,
    time: Option<(String, Option<i64>, Option<i64>)>,
}

fn bad(field: &str) -> Fault {
    Fault::invalid_argument(field)
}

impl TaskFilter {
    /// Reads a `TaskFilterSpec`.
    pub fn parse(el: &Element) -> Result<TaskFilter, Fault> {
        let mut f = TaskFilter::default();
        if let Some(e) = el.child("entity") {
            let r = e
                .child("entity")
                .and_then(decode::moref)
                .ok_or_else(|| bad("filter.entity.entity"))?;
            let rec = e.child_text("recursion").unwrap_or("self").to_owned();
            if !matches!(rec.as_str(), "self" | "children" | "all") {
                return Err(bad("filter.entity.recursion"));
            }
            f.entity = Some((r, rec));
        }
        f.states = el.child_texts("state").map(str::to_owned).collect();
        if f.states.len() > MAX_FILTER_ITEMS
            || f.states
                .iter()
                .any(|s| !matches!(s.as_str(), "queued" | "running" | "success" | "error"))
        {
            return Err(bad("filter.state"));
        }
        if let Some(u) = el.child("userName") {
            let list: Vec<String> = u.child_texts("userList").map(str::to_owned).collect();
            if list.len() > MAX_FILTER_ITEMS {
                return Err(bad("filter.userName.userList"));
            }
            let system = matches!(u.child_text("systemUser"), Some("true" | "1"));
            f.users = Some((list, system));
        }
        if let Some(t) = el.child("time") {
            let ty = t.child_text("timeType").unwrap_or("queuedTime").to_owned();
            if !matches!(ty.as_str(), "queuedTime" | "startedTime" | "completedTime") {
                return Err(bad("filter.time.timeType"));
            }
            let at = |n: &str| -> Result<Option<i64>, Fault> {
                t.child_text(n)
                    .map(|s| parse_datetime(s).ok_or_else(|| bad(&format!("filter.time.{n}"))))
                    .transpose()
            };
            f.time = Some((ty, at("beginTime")?, at("endTime")?));
        }
        Ok(f)
    }

    /// The filter as a `TaskFilterSpec` value (the collector's `filter` property).
    pub fn to_value(&self) -> Value {
        let mut d = DataObject::new("TaskFilterSpec");
        if let Some((e, rec)) = &self.entity {
            d = d.with(
                "entity",
                DataObject::new("TaskFilterSpecByEntity")
                    .with("entity", Value::moref(e))
                    .with(
                        "recursion",
                        Value::enumv("TaskFilterSpecRecursionOption", rec.clone()),
                    )
                    .into_value(),
            );
        }
        if let Some((ty, begin, end)) = &self.time {
            d = d.with(
                "time",
                DataObject::new("TaskFilterSpecByTime")
                    .with(
                        "timeType",
                        Value::enumv("TaskFilterSpecTimeOption", ty.clone()),
                    )
                    .with_opt("beginTime", begin.map(Value::DateTime))
                    .with_opt("endTime", end.map(Value::DateTime))
                    .into_value(),
            );
        }
        if let Some((list, system)) = &self.users {
            d = d.with(
                "userName",
                DataObject::new("TaskFilterSpecByUsername")
                    .with("systemUser", Value::Bool(*system))
                    .with("userList", Value::strings(list.iter().cloned()))
                    .into_value(),
            );
        }
        if !self.states.is_empty() {
            d = d.with(
                "state",
                Value::array(
                    "TaskInfoState",
                    self.states
                        .iter()
                        .map(|s| Value::enumv("TaskInfoState", s.clone()))
                        .collect(),
                ),
            );
        }
        d.into_value()
    }

    /// The entities a filter's entity criterion covers (`None`: any).
    fn scope(&self, emu: &Emulator) -> Option<Vec<MoRef>> {
        let (e, rec) = self.entity.as_ref()?;
        let mut out = vec![e.clone()];
        match rec.as_str() {
            "children" => out.extend(children(&emu.inv, e)),
            "all" => {
                let mut i = 0;
                while i < out.len() && out.len() < 100_000 {
                    let c = children(&emu.inv, &out[i]);
                    out.extend(c);
                    i += 1;
                }
            }
            _ => {}
        }
        Some(out)
    }

    fn matches(&self, info: &Value, scope: Option<&[MoRef]>) -> bool {
        if let Some(scope) = scope {
            let Some(e) = info.field("entity").and_then(Value::as_moref) else {
                return false;
            };
            if !scope.contains(e) {
                return false;
            }
        }
        let state = info.field("state").and_then(Value::as_str).unwrap_or("");
        if !self.states.is_empty() && !self.states.iter().any(|s| s == state) {
            return false;
        }
        if let Some((list, system)) = &self.users {
            let user = info
                .field("reason")
                .and_then(|r| r.field("userName"))
                .and_then(Value::as_str);
            let ok = match user {
                Some(u) => list.iter().any(|l| l == u),
                None => *system,
            };
            if !ok {
                return false;
            }
        }
        if let Some((ty, begin, end)) = &self.time {
            let field = match ty.as_str() {
                "startedTime" => "startTime",
                "completedTime" => "completeTime",
                _ => "queueTime",
            };
            let Some(Value::DateTime(t)) = info.field(field) else {
                return false;
            };
            if begin.is_some_and(|b| *t < b) || end.is_some_and(|e| *t > e) {
                return false;
            }
        }
        true
    }
}

/// The cursor and settings of one TaskHistoryCollector.
pub type TaskCollectorState = history::CollectorState<TaskFilter>;

/// The tasks the log holds, oldest first, with their numbers and infos.
fn history(emu: &Emulator) -> Vec<(i32, Value)> {
    emu.tasks
        .recent()
        .filter_map(|t| {
            let seq = TaskLog::seq(&t.value)?;
            Some((seq, emu.inv.prop(t, "info")?.clone()))
        })
        .collect()
}

impl Filter for TaskFilter {
    const TYPE: &'static str = "TaskHistoryCollector";
    const ITEM: &'static str = "TaskInfo";
    const KIND: &'static str = "task";
    const READ_MAX: usize = crate::tasks::RECENT_TASKS_MAX;
    const RESIZE_SEES: bool = false;

    fn collectors(emu: &Emulator) -> &BTreeMap<String, TaskCollectorState> {
        &emu.task_collectors
    }

    fn collectors_mut(emu: &mut Emulator) -> &mut BTreeMap<String, TaskCollectorState> {
        &mut emu.task_collectors
    }

    fn manager(emu: &Emulator) -> &MoRef {
        &emu.refs.task_manager
    }

    fn read(&self, emu: &Emulator, position: i32, forward: bool, n: usize) -> (Vec<Value>, i32) {
        let scope = self.scope(emu);
        history::read_from(history(emu).into_iter(), position, forward, n, |info| {
            self.matches(&info, scope.as_deref()).then_some(info)
        })
    }

    fn spec(&self) -> Value {
        self.to_value()
    }

    fn latest(emu: &Emulator) -> i32 {
        emu.tasks.latest_seq()
    }

    fn page_key(entry: &Value) -> Option<i64> {
        let key = entry.field("key").and_then(Value::as_str)?;
        TaskLog::seq(key).map(i64::from)
    }
}

/// `CreateCollectorForTasks(filter)`: `InvalidState` beyond `TaskManager.maxCollector`
/// collectors per session.
pub fn create_collector(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let el = args.element("filter").ok_or_else(|| bad("filter"))?;
    let filter = TaskFilter::parse(el)?;
    if let Some((e, _)) = &filter.entity {
        emu.inv.get(e)?;
    }
    history::create(emu, ctx, filter, PAGE_SIZE_DEFAULT)
}

/// `ReadNextTasks(maxCount)`: the tasks after the view, oldest first.
pub fn read_next(emu: &mut Emulator, call: &Call, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    history::read::<TaskFilter>(emu, call, args, true)
}

/// `ReadPreviousTasks(maxCount)`: the tasks before the view, newest first.
pub fn read_previous(
    emu: &mut Emulator,
    call: &Call,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    history::read::<TaskFilter>(emu, call, args, false)
}

/// Refreshes `latestPage` of collectors when tasks were started since, and drops the
/// collectors of ended sessions (called with the event collectors' refresh).
pub fn refresh(emu: &mut Emulator) {
    let latest = emu.tasks.latest_seq();
    let stale = history::sweep::<TaskFilter>(emu);
    for k in stale {
        let Some(state) = emu.task_collectors.get(&k).cloned() else {
            continue;
        };
        let page = history::newest(emu, &state.filter, state.page_size);
        let _ = emu.inv.set(
            &history::reference::<TaskFilter>(&k),
            "latestPage",
            Value::array("TaskInfo", page),
        );
        if let Some(s) = emu.task_collectors.get_mut(&k) {
            s.seen = latest;
        }
    }
}
