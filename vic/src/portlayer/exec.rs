//! Exec sessions on a running containerVM (`docker exec`): the port layer's `tasks.Join`
//! for an exec, committed with `ReconfigVM_Task` (vic.md §6.2, §6.4): the exec's
//! `execs|<id>/…` keys and the `execs` map listing it. The tether starts it on the
//! reconfigure ([`crate::tether`]). The map keeps the newest [`MAX_EXECS`] sessions: older
//! ones' keys are removed in the same reconfigure (an empty value removes a key), so a
//! long-running container's extraConfig does not grow with every `docker exec`.

use super::{PortLayer, PortLayerError, ov};
use crate::guestinfo::{Keys, container as ck};
use vcsim::vmodl::{DataObject, MoRef, Value};

/// Exec sessions a containerVM's extraConfig keeps (the endpoint keeps as many records).
pub const MAX_EXECS: usize = 256;

/// The `execs|<id>/…` fields an exec writes.
const EXEC_FIELDS: [&str; 10] = [
    "cmd/Path",
    "cmd/Args",
    "cmd/Args~",
    "cmd/Env",
    "cmd/Env~",
    "tty",
    "openstdin",
    "attach",
    "User",
    "common/id",
];

/// The `execs|<id>.…` fields the tether writes back.
const EXEC_STATE_FIELDS: [&str; 4] = ["started", "status", "detail.starttime", "detail.stoptime"];

/// What an exec runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecSpec {
    /// The exec id (64 hex).
    pub id: String,
    /// The command line.
    pub argv: Vec<String>,
    /// Extra environment (`KEY=VALUE`).
    pub env: Vec<String>,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// `-u`.
    pub user: String,
}

impl PortLayer {
    /// Adds exec `spec` to `vm` (which must be running) and lets the tether start it.
    pub async fn exec(&self, vm: &MoRef, spec: &ExecSpec) -> Result<(), PortLayerError> {
        let st = self.state(vm).await?;
        let mut ids: Vec<String> = st
            .extra
            .get_map_keys(ck::EXECS)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect();
        ids.push(spec.id.clone());
        let dropped: Vec<String> = ids.drain(..ids.len().saturating_sub(MAX_EXECS)).collect();
        let argv: Vec<&str> = spec.argv.iter().map(String::as_str).collect();
        let env: Vec<&str> = spec.env.iter().map(String::as_str).collect();
        let keys = Keys::new()
            .put(
                ck::exec_key(&spec.id, "cmd/Path"),
                argv.first().copied().unwrap_or(""),
            )
            .strings(&ck::exec_key(&spec.id, "cmd/Args"), &argv)
            .strings(&ck::exec_key(&spec.id, "cmd/Env"), &env)
            .put(ck::exec_key(&spec.id, "tty"), spec.tty)
            .put(ck::exec_key(&spec.id, "openstdin"), spec.open_stdin)
            .put(ck::exec_key(&spec.id, "attach"), true)
            .put(ck::exec_key(&spec.id, "User"), spec.user.as_str())
            .put(ck::exec_key(&spec.id, "common/id"), spec.id.as_str())
            .put(ck::EXECS, ids.join("|"));
        let mut extra: Vec<Value> = keys.iter().map(|(k, v)| ov(k, v)).collect();
        for old in &dropped {
            extra.extend(EXEC_FIELDS.iter().map(|f| ov(&ck::exec_key(old, f), "")));
            extra.extend(
                EXEC_STATE_FIELDS
                    .iter()
                    .map(|f| ov(&ck::exec_state_key(old, f), "")),
            );
        }
        let config = DataObject::new("VirtualMachineConfigSpec")
            .with("extraConfig", Value::array("OptionValue", extra))
            .into_value();
        self.client
            .run_task("ReconfigVM_Task", vm, &[("spec", config)])
            .await?;
        Ok(())
    }
}
