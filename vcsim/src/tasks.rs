//! Tasks: `*_Task` methods answer with a Task whose `info` walks the TaskInfo state machine
//! (queued → running → success | error). The emulator runs task bodies synchronously, so a
//! task is complete by the time its MoRef reaches the client, which then observes the final
//! state through the property collector exactly as with a real vCenter.

use crate::inventory::{Inventory, ManagedObject};
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use std::collections::VecDeque;

/// How many tasks `recentTask` lists and the emulator keeps (vCenter keeps recent tasks
/// for about 10 minutes; a bound keeps long CI runs from growing).
pub const RECENT_TASKS_MAX: usize = 200;

/// The task log.
#[derive(Debug, Default)]
pub struct TaskLog {
    recent: VecDeque<MoRef>,
    next_key: u64,
}

/// A task being run.
#[derive(Debug, Clone)]
pub struct TaskStart<'a> {
    /// The method's WSDL name (`PowerOnVM_Task`).
    pub method: &'a str,
    /// The object type the method was called on (`VirtualMachine`).
    pub on_type: &'a str,
    /// The entity the task concerns.
    pub entity: Option<(MoRef, String)>,
    /// The user who started it.
    pub user: &'a str,
    /// Now (virtual clock).
    pub now_ms: i64,
}

/// The vmodl name of a method, which vCenter uses in `TaskInfo.descriptionId`
/// (`VirtualMachine.powerOn` for `PowerOnVM_Task`).
pub fn vmodl_method_name(wsdl: &str) -> String {
    let known = match wsdl {
        "CreateVM_Task" => "createVm",
        "PowerOnMultiVM_Task" => "powerOnVm",
        "PowerOnVM_Task" => "powerOn",
        "PowerOffVM_Task" => "powerOff",
        "ResetVM_Task" => "reset",
        "SuspendVM_Task" => "suspend",
        "ReconfigVM_Task" => "reconfigure",
        "SearchDatastore_Task" => "search",
        "SearchDatastoreSubFolders_Task" => "searchSubFolders",
        "DeleteDatastoreFile_Task" => "deleteFile",
        other => {
            let base = other.trim_end_matches("_Task");
            let mut out = String::with_capacity(base.len());
            let mut chars = base.chars();
            if let Some(c) = chars.next() {
                out.extend(c.to_lowercase());
            }
            out.push_str(chars.as_str());
            return out;
        }
    };
    known.to_owned()
}

impl TaskLog {
    /// Creates a task in state `queued` (with `queueTime`; no `startTime` yet) and returns
    /// its reference. The ESXi flavour names tasks `haTask-N`, vCenter `task-N`.
    pub fn start(&mut self, inv: &mut Inventory, t: &TaskStart<'_>, esx: bool) -> MoRef {
        self.next_key += 1;
        let value = if esx {
            format!("haTask-{}", self.next_key)
        } else {
            format!("task-{}", self.next_key)
        };
        let task = MoRef::new("Task", value.clone());
        let method_short = vmodl_method_name(t.method);
        let mut info = DataObject::new("TaskInfo")
            .with("key", Value::str(value))
            .with("task", Value::moref(&task))
            .with("name", Value::str(t.method.to_owned()))
            .with(
                "descriptionId",
                Value::str(format!("{}.{}", t.on_type, method_short)),
            );
        if let Some((e, name)) = &t.entity {
            info = info
                .with("entity", Value::moref(e))
                .with("entityName", Value::str(name.clone()));
        }
        let info = info
            .with("state", Value::enumv("TaskInfoState", "queued"))
            .with("cancelled", Value::Bool(false))
            .with("cancelable", Value::Bool(false))
            .with(
                "reason",
                DataObject::new("TaskReasonUser")
                    .with("userName", Value::str(t.user))
                    .into_value(),
            )
            .with("queueTime", Value::DateTime(t.now_ms))
            .with("eventChainId", Value::Int(0));
        inv.insert(ManagedObject::new(task.clone()).with("info", info.into_value()));
        self.recent.push_back(task.clone());
        while self.recent.len() > RECENT_TASKS_MAX {
            if let Some(old) = self.recent.pop_front() {
                // A task leads a traversal nowhere (its `info` is data), and a filter that
                // reported it finds it among the removals: no filter need walk again.
                inv.remove_unlinked(&old);
            }
        }
        task
    }

    /// Moves a queued task to `running`, stamping `startTime` and `progress` 0.
    pub fn run(&self, inv: &mut Inventory, task: &MoRef, now_ms: i64) {
        let _ = inv.update_leaf(task, |o| {
            if let Some(info) = o.props.get_mut("info").and_then(Value::as_data_mut) {
                info.set("state", Value::enumv("TaskInfoState", "running"));
                info.set("progress", Value::Int(0));
                info.set("startTime", Value::DateTime(now_ms));
            }
        });
    }

    /// The sequence number of a task (`N` of `task-N` / `haTask-N`).
    pub fn seq(task: &str) -> Option<i32> {
        task.rsplit('-').next().and_then(|n| n.parse().ok())
    }

    /// The newest task's sequence number (0 when none was ever started).
    pub fn latest_seq(&self) -> i32 {
        i32::try_from(self.next_key).unwrap_or(i32::MAX)
    }

    /// Finishes a running task with its outcome (a task still queued is started first, so
    /// the states always follow queued → running → success | error).
    pub fn finish(
        &self,
        inv: &mut Inventory,
        task: &MoRef,
        now_ms: i64,
        outcome: &Result<Option<Value>, Fault>,
    ) {
        let queued = inv
            .prop(task, "info")
            .and_then(|i| i.field("state"))
            .and_then(Value::as_str)
            == Some("queued");
        if queued {
            self.run(inv, task, now_ms);
        }
        // `info` is a data object: a reference in its result is not a traversal path.
        let _ = inv.update_leaf(task, |o| {
            if let Some(info) = o.props.get_mut("info").and_then(Value::as_data_mut) {
                info.remove("progress");
                match outcome {
                    Ok(result) => {
                        info.set("state", Value::enumv("TaskInfoState", "success"));
                        if let Some(r) = result {
                            info.set("result", Value::any(r.clone()));
                        }
                    }
                    Err(f) => {
                        info.set("state", Value::enumv("TaskInfoState", "error"));
                        info.set("error", f.to_localized());
                    }
                }
                info.set("completeTime", Value::DateTime(now_ms));
            }
        });
    }

    /// Recent tasks, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &MoRef> {
        self.recent.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_ids_use_vmodl_names() {
        assert_eq!(vmodl_method_name("PowerOnVM_Task"), "powerOn");
        assert_eq!(vmodl_method_name("Destroy_Task"), "destroy");
        assert_eq!(vmodl_method_name("CreateVM_Task"), "createVm");
    }

    #[test]
    fn tasks_finish_with_result_or_error_and_are_bounded() {
        let mut inv = Inventory::new(1);
        let mut log = TaskLog::default();
        let start = TaskStart {
            method: "PowerOnVM_Task",
            on_type: "VirtualMachine",
            entity: None,
            user: "u",
            now_ms: 5,
        };
        let t = log.start(&mut inv, &start, false);
        let state = |inv: &Inventory| {
            let info = inv.prop(&t, "info").unwrap();
            (
                info.field("state")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                info.field("startTime").is_some(),
                info.field("completeTime").is_some(),
            )
        };
        assert_eq!(state(&inv), (Some("queued".into()), false, false));
        log.run(&mut inv, &t, 6);
        assert_eq!(state(&inv), (Some("running".into()), true, false));
        log.finish(&mut inv, &t, 7, &Err(Fault::invalid_state("x")));
        assert_eq!(state(&inv), (Some("error".into()), true, true));
        let info = inv.prop(&t, "info").unwrap();
        assert_eq!(info.field("queueTime"), Some(&Value::DateTime(5)));
        assert_eq!(info.field("startTime"), Some(&Value::DateTime(6)));
        assert_eq!(info.field("completeTime"), Some(&Value::DateTime(7)));
        assert_eq!(TaskLog::seq("task-12"), Some(12));
        assert_eq!(TaskLog::seq("haTask-3"), Some(3));
        let info = inv.prop(&t, "info").unwrap();
        assert_eq!(info.field("state").and_then(Value::as_str), Some("error"));
        assert_eq!(
            info.field("error")
                .and_then(|e| e.field("fault"))
                .map(|f| f.xsi_type().into_owned()),
            Some("InvalidState".into())
        );
        for _ in 0..RECENT_TASKS_MAX + 5 {
            log.start(&mut inv, &start, false);
        }
        assert_eq!(log.recent().count(), RECENT_TASKS_MAX);
        assert!(!inv.contains(&t), "old tasks are dropped");
        let queued = log.start(&mut inv, &start, false);
        log.finish(&mut inv, &queued, 9, &Ok(None));
        let info = inv.prop(&queued, "info").unwrap();
        assert_eq!(info.field("state").and_then(Value::as_str), Some("success"));
        assert_eq!(info.field("startTime"), Some(&Value::DateTime(9)));
    }
}
