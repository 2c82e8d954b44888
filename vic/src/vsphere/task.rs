//! Waiting for a `Task` as VIC's govmomi does (`task.Wait` → `property.Wait` on `info`):
//! until `info.state` is `success` (the result is `info.result`) or `error` (the
//! `LocalizedMethodFault` in `info.error` becomes [`Error::Fault`]).

use super::envelope::localized_fault;
use super::{Client, Error, Fault};
use std::time::Duration;
use vcsim::vmodl::{MoRef, Value};

/// `TaskInfo.state` values that end a task.
fn finished(info: Option<&Value>) -> bool {
    matches!(
        info.and_then(|i| i.field("state")).and_then(Value::as_str),
        Some("success" | "error")
    )
}

/// The outcome of a finished `TaskInfo`.
fn outcome(task: &MoRef, info: &Value) -> Result<Option<Value>, Error> {
    match info.field("state").and_then(Value::as_str) {
        Some("success") => Ok(info.field("result").cloned().map(super::decode::unwrap_any)),
        _ => Err(Error::Fault(match info.field("error") {
            Some(e) => localized_fault(e),
            None => Fault {
                code: None,
                ty: "RuntimeFault".into(),
                msg: format!("{task} failed without saying why"),
                fields: Vec::new(),
            },
        })),
    }
}

impl Client {
    /// Waits for `task` to finish within the client's `wait_timeout`; see
    /// [`Client::wait_for_task_within`].
    pub async fn wait_for_task(&self, task: &MoRef) -> Result<Option<Value>, Error> {
        self.wait_for_task_within(task, self.options().wait_timeout)
            .await
    }

    /// Waits for `task` to finish and returns its result (`CreateVM_Task`: the new VM's
    /// reference; many tasks: nothing). A task that ends in error gives [`Error::Fault`]
    /// with the task's fault and localized message.
    pub async fn wait_for_task_within(
        &self,
        task: &MoRef,
        timeout: Duration,
    ) -> Result<Option<Value>, Error> {
        let info = self
            .wait_for_property(task, "info", timeout, finished)
            .await?
            .ok_or_else(|| Error::Protocol(format!("{task} has no info")))?;
        outcome(task, &info)
    }

    /// Calls a `*_Task` method and waits for the task it returns.
    pub async fn run_task(
        &self,
        method: &str,
        this: &MoRef,
        args: &[(&str, Value)],
    ) -> Result<Option<Value>, Error> {
        let task = self
            .call(method, this, args)
            .await?
            .and_then(|v| v.as_moref().cloned())
            .ok_or_else(|| Error::Protocol(format!("{method} returned no task")))?;
        self.wait_for_task(&task).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcsim::vmodl::DataObject;

    #[test]
    fn task_outcomes() {
        let task = MoRef::new("Task", "task-1");
        let ok = DataObject::new("TaskInfo")
            .with("state", Value::enumv("TaskInfoState", "success"))
            .with(
                "result",
                Value::any(Value::MoRef(MoRef::new("VirtualMachine", "vm-7"))),
            )
            .into_value();
        assert!(finished(Some(&ok)));
        assert_eq!(
            outcome(&task, &ok).unwrap(),
            Some(Value::MoRef(MoRef::new("VirtualMachine", "vm-7")))
        );
        let running = DataObject::new("TaskInfo")
            .with("state", Value::enumv("TaskInfoState", "running"))
            .into_value();
        assert!(!finished(Some(&running)));
        assert!(!finished(None));
        let fault = vcsim::vmodl::Fault::invalid_power_state(Some("poweredOn"), "poweredOn");
        let err = DataObject::new("TaskInfo")
            .with("state", Value::enumv("TaskInfoState", "error"))
            .with("error", fault.to_localized())
            .into_value();
        let e = outcome(&task, &err).unwrap_err();
        let f = e.fault().unwrap();
        assert_eq!(f.ty, "InvalidPowerState");
        assert_eq!(f.msg, fault.msg);
        assert_eq!(
            f.field("existingState").and_then(Value::as_str),
            Some("poweredOn")
        );
    }
}
