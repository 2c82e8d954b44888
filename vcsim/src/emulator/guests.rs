//! Running guest agents and applying what they report back.

use super::Emulator;
use crate::guest::{GuestEffects, GuestEvent, GuestView};
use crate::inventory::option_value;
use crate::vmodl::{Fault, MoRef, Value};
use std::sync::Arc;

/// Bound on extraConfig entries a VM may hold (vSphere stores them in the .vmx file; a
/// bound keeps a misbehaving guest from growing a VM without limit).
pub use crate::methods::EXTRA_CONFIG_MAX;

impl Emulator {
    /// What an agent sees of a VM.
    pub fn guest_view(&self, vm: &MoRef) -> Result<GuestView, Fault> {
        let o = self.inv.get(vm)?;
        let config = o.get("config");
        let hw = config.and_then(|c| c.field("hardware"));
        let extra_config = config
            .and_then(|c| c.field("extraConfig"))
            .map(|ec| {
                ec.items()
                    .iter()
                    .filter_map(|ov| {
                        let k = ov.field("key")?.as_str()?.to_owned();
                        let v = ov.field("value").map(value_text).unwrap_or_default();
                        Some((k, v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(GuestView {
            vm: vm.clone(),
            name: o.name().to_owned(),
            num_cpu: hw
                .and_then(|h| h.field("numCPU"))
                .and_then(Value::as_i64)
                .unwrap_or(1)
                .max(1) as u32,
            memory_mb: hw
                .and_then(|h| h.field("memoryMB"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .max(0) as u64,
            extra_config,
            now_ms: self.clock.now_ms(),
            cpu_usage_mhz: 0,
        })
    }

    pub(super) fn start_guest(&mut self, vm: &MoRef) -> Result<(), Fault> {
        let view = self.guest_view(vm)?;
        let agent = self.agents.iter().find(|a| a.claims(&view)).cloned();
        if let Some(agent) = agent {
            // The default agent (always last, see `add_agent`) does nothing at a tick.
            if self.agents.last().is_some_and(|d| Arc::ptr_eq(d, &agent)) {
                self.ticking.remove(&vm.value);
            } else {
                self.ticking.insert(vm.value.clone());
            }
            self.running.insert(vm.value.clone(), agent);
        }
        self.run_agent(vm, GuestEvent::PowerOn)
    }

    pub(super) fn stop_guest(&mut self, vm: &MoRef) -> Result<(), Fault> {
        self.run_agent(vm, GuestEvent::PowerOff)?;
        self.running.remove(&vm.value);
        self.ticking.remove(&vm.value);
        Ok(())
    }

    pub(super) fn run_agent(&mut self, vm: &MoRef, event: GuestEvent) -> Result<(), Fault> {
        let Some(agent) = self.running.get(&vm.value).cloned() else {
            return Ok(());
        };
        let view = self.guest_view(vm)?;
        let effects = agent.on_event(event, &view, &self.guest_handle);
        self.apply_guest_effects(vm, effects)
    }

    /// Applies effects posted by agents since the last call (from other tasks).
    pub fn apply_posted_guest_effects(&mut self) {
        for (vm, effects) in self.guest_handle.drain() {
            // A VM destroyed since the agent posted is simply gone.
            let _ = self.apply_guest_effects(&vm, effects);
        }
    }

    /// Applies a guest's effects to its VM.
    pub fn apply_guest_effects(&mut self, vm: &MoRef, effects: GuestEffects) -> Result<(), Fault> {
        if effects.is_empty() {
            return Ok(());
        }
        let running = self.power_state(vm)? == "poweredOn";
        if let Some(w) = effects.workload.clone()
            && let Some(id) = self.ids.vms.get(&vm.value).copied()
        {
            // A daily profile follows the virtual clock's time of day (UTC): the workload
            // starts now.
            let now_s_of_day = (self.clock.now_ms() / 1000).rem_euclid(86_400) as u64;
            self.world
                .set_workload(id, w.starting_at_time_of_day(now_s_of_day))
                .map_err(super::vm_ops::model_fault)?;
        }
        let tools = effects.tools_running;
        let ip = effects.ip_address.clone();
        let host_name = effects.host_name.clone();
        let writes = effects.extra_config;
        // Guest info, extraConfig and the summary's copies: no reference property moves.
        self.inv.update_leaf(vm, |o| {
            if let Some(ec) = o
                .props
                .get_mut("config")
                .and_then(Value::as_data_mut)
                .and_then(|c| c.get_mut("extraConfig"))
                .and_then(Value::items_mut)
            {
                for (k, v) in writes {
                    let pos = ec
                        .iter()
                        .position(|ov| ov.field("key").and_then(Value::as_str) == Some(k.as_str()));
                    match pos {
                        Some(i) => ec[i] = option_value(&k, Value::str(v)),
                        None if ec.len() < EXTRA_CONFIG_MAX => {
                            ec.push(option_value(&k, Value::str(v)))
                        }
                        None => {}
                    }
                }
            }
            if let Some(g) = o.props.get_mut("guest").and_then(Value::as_data_mut) {
                if let Some(t) = tools {
                    let (status, running_status, state) = if t {
                        ("toolsOk", "guestToolsRunning", "running")
                    } else {
                        ("toolsNotRunning", "guestToolsNotRunning", "notRunning")
                    };
                    g.set(
                        "toolsStatus",
                        Value::enumv("VirtualMachineToolsStatus", status),
                    );
                    g.set("toolsRunningStatus", Value::str(running_status));
                    g.set("guestState", Value::str(state));
                    if !t {
                        g.remove("ipAddress");
                        g.remove("hostName");
                    }
                }
                if let Some(ip) = &ip {
                    g.set("ipAddress", Value::str(ip.clone()));
                }
                if let Some(h) = &host_name {
                    g.set("hostName", Value::str(h.clone()));
                }
            }
            let guest = o.props.get("guest").cloned();
            if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut)
                && let Some(gs) = s.get_mut("guest").and_then(Value::as_data_mut)
            {
                for f in ["toolsStatus", "toolsRunningStatus", "ipAddress", "hostName"] {
                    match guest.as_ref().and_then(|g| g.field(f)) {
                        Some(v) => gs.set(f, v.clone()),
                        None => {
                            gs.remove(f);
                        }
                    }
                }
            }
            if let Some(t) = tools {
                o.props.insert(
                    "guestHeartbeatStatus".into(),
                    Value::enumv("ManagedEntityStatus", if t { "green" } else { "gray" }),
                );
            }
        })?;
        if effects.power_off && running {
            // The guest's main process exited: the VM powers off, as a containerVM does when
            // its process ends.
            let user = "vpxuser";
            self.power_off_vm(user, vm)?;
        }
        Ok(())
    }
}

/// The text of an extraConfig value, whatever its declared type.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Any(inner) => value_text(inner),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Long(l) => l.to_string(),
        Value::Short(s) => s.to_string(),
        Value::Byte(b) => b.to_string(),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
}
