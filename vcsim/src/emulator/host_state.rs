//! Host connection and power state: `DisconnectHost_Task`, `ReconnectHost_Task`,
//! `ShutdownHost_Task`, `RebootHost_Task`, and the testbed's own host failure and recovery
//! ([`Emulator::fail_host`], [`Emulator::recover_host`]), with what vCenter shows for each:
//!
//! | host | `runtime.connectionState` | `runtime.powerState` | its VMs |
//! |---|---|---|---|
//! | disconnected (by a user) | `disconnected` | `unknown` | keep running, `connectionState` `disconnected` |
//! | failed (crash, power loss) | `notResponding` | `unknown` | stop; `disconnected`, last known power state, until HA restarts them elsewhere |
//! | shut down | `notResponding` | `poweredOff` | powered off first (`force`) |
//! | rebooting | `notResponding` | `unknown` | powered off first (`force`); back after [`REBOOT_MS`] |
//!
//! (`HostSystemPowerState.unknown`: "if the host is disconnected, or notResponding, we cannot
//! possibly have knowledge of its power state".) The contention model follows through
//! [`scheduler_model::HostState`]: a host's capacity leaves its cluster while it is not
//! available (`scheduler-model/MODEL.md` §10).
//!
//! Things that take virtual time — a reboot, HA declaring a host failed and restarting its
//! VMs, a maintenance-mode task waiting for VMs to leave — advance in
//! [`Emulator::host_states_on_interval`], which runs once per 20 s realtime interval after
//! the model step.

use super::Emulator;
use crate::events::EventArgs;
use crate::vmodl::{Fault, MoRef, Value};
use scheduler_model::HostState;
use std::collections::BTreeMap;

/// How long a host takes to come back from `RebootHost_Task`, in virtual ms [A: a few
/// minutes is typical of an ESXi reboot].
pub const REBOOT_MS: i64 = 180_000;

/// Why a host is down.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Down {
    /// It failed at `at_ms`; `vms` ran on it then. HA has not looked at it yet unless
    /// `declared`.
    Failed {
        at_ms: i64,
        declared: bool,
        vms: Vec<MoRef>,
    },
    /// `ShutdownHost_Task`.
    PoweredOff,
    /// `RebootHost_Task`: back at `until_ms`.
    Rebooting { until_ms: i64 },
}

/// An `EnterMaintenanceMode_Task` still running: the host waits for its VMs to leave.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct EnterWait {
    pub task: MoRef,
    pub deadline_ms: i64,
    pub evacuate_powered_off: bool,
    pub user: String,
}

/// A VM vSphere HA still has to restart.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PendingRestart {
    pub vm: MoRef,
    pub source: MoRef,
    /// Restart order: lower first (highest priority is 0).
    pub rank: u8,
    pub seq: u64,
    /// A `VmFailoverFailed` was posted for it already.
    pub reported: bool,
}

/// What a cluster last showed, for status-change events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ClusterStatus {
    pub overall: &'static str,
    pub overcommitted: bool,
    pub failover_ok: bool,
}

/// Host and cluster state that outlives one call.
#[derive(Debug, Default)]
pub struct HostStates {
    pub(super) down: BTreeMap<String, Down>,
    pub(super) entering: BTreeMap<String, EnterWait>,
    pub(super) restarts: Vec<PendingRestart>,
    pub(super) status: BTreeMap<String, ClusterStatus>,
    pub(super) vmotions: BTreeMap<String, i32>,
    pub(super) seq: u64,
}

fn field_str<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a str> {
    v.and_then(|r| r.field(name)).and_then(Value::as_str)
}

impl Emulator {
    /// A host's `runtime.connectionState` (`connected` when unknown).
    pub fn host_connection(&self, host: &MoRef) -> String {
        field_str(self.inv.prop(host, "runtime"), "connectionState")
            .unwrap_or("connected")
            .to_owned()
    }

    /// Whether vCenter manages the host now (connected and powered on).
    pub fn host_connected(&self, host: &MoRef) -> bool {
        let rt = self.inv.prop(host, "runtime");
        field_str(rt, "connectionState").unwrap_or("connected") == "connected"
            && field_str(rt, "powerState").unwrap_or("poweredOn") == "poweredOn"
    }

    /// Whether a host is down (failed, shut down, rebooting).
    pub fn host_down(&self, host: &MoRef) -> bool {
        self.host_states.down.contains_key(&host.value)
    }

    /// Whether new or moving VMs may go to a host: connected, not in (or entering)
    /// maintenance mode, and giving capacity to its cluster's model root.
    pub fn host_accepts_vms(&self, host: &MoRef) -> bool {
        self.host_connected(host)
            && !self.in_maintenance(host)
            && !self.host_states.entering.contains_key(&host.value)
            && !self.detached_hosts.contains(&host.value)
            && !self.host_down(host)
    }

    /// The cluster a host belongs to (none for a standalone host).
    pub fn cluster_of_host(&self, host: &MoRef) -> Option<MoRef> {
        self.inv
            .lookup(host)
            .and_then(|o| o.parent().cloned())
            .filter(|p| p.ty == "ClusterComputeResource")
    }

    /// Refuses powering on `vm` where vCenter would: its host in (or entering) maintenance
    /// mode or not connected, or vSphere HA admission control.
    pub(super) fn check_power_on_host(&self, vm: &MoRef) -> Result<(), Fault> {
        let Some(h) = self.host_of(vm) else {
            return Ok(());
        };
        if self.in_maintenance(&h) {
            return Err(Fault::invalid_state(
                "The host is in maintenance mode: VMs cannot be powered on",
            ));
        }
        self.check_vm_host_connected(vm)?;
        if self.host_states.entering.contains_key(&h.value) {
            return Err(Fault::invalid_state(
                "The host is entering maintenance mode: VMs cannot be powered on",
            ));
        }
        self.check_ha_admission(vm)
    }

    /// `InvalidHostState` when `vm`'s host is not connected (vCenter cannot operate the VMs
    /// of a disconnected or not-responding host).
    pub(super) fn check_vm_host_connected(&self, vm: &MoRef) -> Result<(), Fault> {
        match self.host_of(vm) {
            Some(h) if !self.host_connected(&h) => Err(Fault::new(
                "InvalidHostState",
                format!(
                    "The operation is not allowed in the current connection state of the host ({})",
                    self.host_connection(&h)
                ),
            )
            .with("host", Value::moref(&h))),
            _ => Ok(()),
        }
    }

    /// Sets a host's connection and power state (in `runtime` and `summary.runtime`) and the
    /// status vCenter shows for it: green when connected, red when not responding, gray when
    /// disconnected.
    fn set_host_runtime(
        &mut self,
        host: &MoRef,
        connection: &'static str,
        power: &'static str,
    ) -> Result<(), Fault> {
        let now = self.clock.now_ms();
        let status = match connection {
            "connected" => "green",
            "notResponding" => "red",
            _ => "gray",
        };
        let was_on = field_str(self.inv.prop(host, "runtime"), "powerState") == Some("poweredOn");
        let set = |rt: &mut crate::vmodl::DataObject| {
            rt.set(
                "connectionState",
                Value::enumv("HostSystemConnectionState", connection),
            );
            rt.set("powerState", Value::enumv("HostSystemPowerState", power));
            if power == "poweredOn" && !was_on {
                rt.set("bootTime", Value::DateTime(now));
            }
        };
        self.inv.update(host, |o| {
            if let Some(rt) = o.props.get_mut("runtime").and_then(Value::as_data_mut) {
                set(rt);
            }
            if let Some(s) = o.props.get_mut("summary").and_then(Value::as_data_mut) {
                if let Some(rt) = s.get_mut("runtime").and_then(Value::as_data_mut) {
                    set(rt);
                }
                s.set("overallStatus", Value::enumv("ManagedEntityStatus", status));
            }
            o.props.insert(
                "overallStatus".into(),
                Value::enumv("ManagedEntityStatus", status),
            );
        })
    }

    /// Sets `runtime.connectionState` of every VM registered on `host`.
    fn set_vms_connection(&mut self, host: &MoRef, state: &'static str) {
        for vm in self.inv.refs(host, "vm") {
            let _ = self.set_runtime(&vm, |rt| {
                rt.set(
                    "connectionState",
                    Value::enumv("VirtualMachineConnectionState", state),
                );
            });
        }
    }

    /// The model state the inventory implies for a host.
    fn model_state_of(&self, host: &MoRef) -> HostState {
        if self.host_down(host) {
            HostState::Failed
        } else if self.host_connection(host) == "disconnected" {
            HostState::Disconnected
        } else if self.in_maintenance(host) {
            HostState::Maintenance
        } else {
            HostState::Available
        }
    }

    /// Brings the model's host state in line with the inventory; the VMs the model stopped
    /// (a host going down) stop their guests. Returns them.
    pub(super) fn sync_model_host(&mut self, host: &MoRef) -> Result<Vec<MoRef>, Fault> {
        let Some(id) = self.ids.hosts.get(&host.value).copied() else {
            return Ok(Vec::new());
        };
        let state = self.model_state_of(host);
        let stopped = self
            .world
            .set_host_state(id, state)
            .map_err(super::vm_ops::model_fault)?;
        let mut out = Vec::new();
        for v in stopped {
            if let Some(r) = self.ids.vm_ref(v) {
                out.push(MoRef::new("VirtualMachine", r.to_owned()));
            }
        }
        for vm in &out {
            self.stop_guest(vm)?;
        }
        Ok(out)
    }

    /// A host event (datacenter, compute resource, host).
    pub(super) fn post_host_event(
        &mut self,
        ty: &'static str,
        user: &str,
        host: &MoRef,
        msg: String,
        extra: Vec<(&'static str, Value)>,
    ) {
        let named = |e: &Emulator, r: &MoRef| {
            (
                r.clone(),
                e.inv
                    .lookup(r)
                    .map(|o| o.name().to_owned())
                    .unwrap_or_default(),
            )
        };
        let cr = self.inv.lookup(host).and_then(|o| o.parent().cloned());
        let args = EventArgs {
            datacenter: self.datacenter_of(host).map(|d| named(self, &d)),
            compute_resource: cr.map(|c| named(self, &c)),
            host: Some(named(self, host)),
            vm: None,
        };
        self.events
            .post(ty, self.clock.now_ms(), user, &args, msg, extra);
    }

    fn host_name(&self, host: &MoRef) -> String {
        self.inv
            .lookup(host)
            .map(|o| o.name().to_owned())
            .unwrap_or_default()
    }

    /// Fails a running `EnterMaintenanceMode_Task` of a host that left vCenter's hands.
    fn abandon_enter(&mut self, host: &MoRef) {
        if let Some(w) = self.host_states.entering.remove(&host.value) {
            let f = Fault::new(
                "HostNotConnected",
                format!(
                    "The host {} is not connected: maintenance mode was not entered",
                    self.host_name(host)
                ),
            );
            let now = self.clock.now_ms();
            self.tasks.finish(&mut self.inv, &w.task, now, &Err(f));
        }
    }

    fn refresh_cluster_of(&mut self, host: &MoRef) {
        if let Some(c) = self.cluster_of_host(host) {
            self.refresh_cluster(&c);
        }
    }

    /// `DisconnectHost_Task`: vCenter stops managing the host; its VMs keep running
    /// (disconnected) and its capacity leaves the cluster. Disconnecting a disconnected host
    /// changes nothing.
    pub fn disconnect_host(&mut self, user: &str, host: &MoRef) -> Result<(), Fault> {
        self.inv.get(host)?;
        if self.host_connection(host) == "disconnected" {
            return Ok(());
        }
        self.abandon_enter(host);
        let power = if self.host_states.down.get(&host.value) == Some(&Down::PoweredOff) {
            "poweredOff"
        } else {
            "unknown"
        };
        self.set_host_runtime(host, "disconnected", power)?;
        self.set_vms_connection(host, "disconnected");
        self.sync_model_host(host)?;
        let name = self.host_name(host);
        let dc = self.dc_name(host);
        self.post_host_event(
            "HostDisconnectedEvent",
            user,
            host,
            format!("Disconnected from {name} in {dc}. Reason: User requested disconnect"),
            vec![("reason", Value::str("userRequest"))],
        );
        self.refresh_cluster_of(host);
        Ok(())
    }

    /// `ReconnectHost_Task`: a running host is managed again (its VMs with it). A host that
    /// is down cannot be contacted (`HostConnectFault`).
    pub fn reconnect_host(&mut self, user: &str, host: &MoRef) -> Result<(), Fault> {
        self.inv.get(host)?;
        let name = self.host_name(host);
        if self.host_down(host) {
            return Err(Fault::new(
                "HostConnectFault",
                format!(
                    "Cannot contact the specified host ({name}). The host may not be available on the network, a network configuration problem may exist, or the management services on this host may not be responding."
                ),
            ));
        }
        let was = self.host_connection(host);
        self.set_host_runtime(host, "connected", "poweredOn")?;
        self.set_vms_connection(host, "connected");
        self.sync_model_host(host)?;
        if was != "connected" {
            let dc = self.dc_name(host);
            self.post_host_event(
                "HostConnectedEvent",
                user,
                host,
                format!("Connected to {name} in {dc}"),
                Vec::new(),
            );
        }
        self.refresh_cluster_of(host);
        Ok(())
    }

    /// What `ShutdownHost_Task` and `RebootHost_Task` check and do first: the host must be
    /// connected, and in maintenance mode unless `force`; with `force`, VMs still running
    /// are powered off.
    fn stop_host(&mut self, user: &str, host: &MoRef, force: bool) -> Result<(), Fault> {
        self.inv.get(host)?;
        let name = self.host_name(host);
        if !self.host_connected(host) {
            return Err(Fault::new(
                "HostNotConnected",
                format!("The host {name} is not connected"),
            ));
        }
        if !force && !self.in_maintenance(host) {
            return Err(Fault::invalid_state(format!(
                "The host {name} is not in maintenance mode; power it down with force or enter maintenance mode first"
            )));
        }
        for vm in self.inv.refs(host, "vm") {
            if self.power_state(&vm)? != "poweredOff" {
                self.power_off_vm(user, &vm)?;
            }
        }
        self.abandon_enter(host);
        Ok(())
    }

    /// `ShutdownHost_Task(force)`: the host powers off (`notResponding`, `poweredOff`). It
    /// stays down until [`Emulator::recover_host`].
    pub fn shutdown_host(&mut self, user: &str, host: &MoRef, force: bool) -> Result<(), Fault> {
        self.stop_host(user, host, force)?;
        self.host_states
            .down
            .insert(host.value.clone(), Down::PoweredOff);
        self.set_host_runtime(host, "notResponding", "poweredOff")?;
        self.set_vms_connection(host, "disconnected");
        self.sync_model_host(host)?;
        let name = self.host_name(host);
        let dc = self.dc_name(host);
        let reason = "Shutdown requested by the user";
        self.post_host_event(
            "HostShutdownEvent",
            user,
            host,
            format!("Shut down of {name} in {dc}: {reason}"),
            vec![("reason", Value::str(reason))],
        );
        self.refresh_cluster_of(host);
        Ok(())
    }

    /// `RebootHost_Task(force)`: the host goes away (`notResponding`) and is back, connected,
    /// [`REBOOT_MS`] of virtual time later (still in maintenance mode if it was).
    pub fn reboot_host(&mut self, user: &str, host: &MoRef, force: bool) -> Result<(), Fault> {
        self.stop_host(user, host, force)?;
        let until_ms = self.clock.now_ms() + REBOOT_MS;
        self.host_states
            .down
            .insert(host.value.clone(), Down::Rebooting { until_ms });
        self.set_host_runtime(host, "notResponding", "unknown")?;
        self.set_vms_connection(host, "disconnected");
        self.sync_model_host(host)?;
        self.refresh_cluster_of(host);
        Ok(())
    }

    /// Fails a host, as a crash or a power loss would (the testbed's operation; vSphere has
    /// no method for it): vCenter loses it (`notResponding`, power `unknown`, a
    /// `HostConnectionLostEvent`), its VMs stop in the model (their guests with them) and
    /// show `disconnected`, and its capacity leaves the cluster. When the cluster has vSphere
    /// HA, the host is declared failed at the first interval at least
    /// [`super::ha::HA_DETECTION_MS`] later and its VMs are restarted elsewhere.
    pub fn fail_host(&mut self, host: &MoRef) -> Result<(), Fault> {
        self.inv.get(host)?;
        let name = self.host_name(host);
        if self.host_down(host) {
            return Err(Fault::invalid_state(format!(
                "The host {name} is already down"
            )));
        }
        self.abandon_enter(host);
        let at_ms = self.clock.now_ms();
        // Mark it down first: the model state follows from it.
        self.host_states.down.insert(
            host.value.clone(),
            Down::Failed {
                at_ms,
                declared: false,
                vms: Vec::new(),
            },
        );
        self.set_host_runtime(host, "notResponding", "unknown")?;
        self.set_vms_connection(host, "disconnected");
        let stopped = self.sync_model_host(host)?;
        if let Some(Down::Failed { vms, .. }) = self.host_states.down.get_mut(&host.value) {
            *vms = stopped;
        }
        let dc = self.dc_name(host);
        self.post_host_event(
            "HostConnectionLostEvent",
            "",
            host,
            format!("Host {name} in {dc} is not responding"),
            Vec::new(),
        );
        self.refresh_cluster_of(host);
        Ok(())
    }

    /// Brings a failed, shut-down or rebooting host back (the testbed's operation, as
    /// powering the server on would): connected and powered on, its capacity back in the
    /// cluster. VMs still on it were stopped by the failure and show powered off.
    pub fn recover_host(&mut self, host: &MoRef) -> Result<(), Fault> {
        self.inv.get(host)?;
        let name = self.host_name(host);
        if !self.host_down(host) {
            return Err(Fault::invalid_state(format!("The host {name} is not down")));
        }
        self.bring_back(host)
    }

    fn bring_back(&mut self, host: &MoRef) -> Result<(), Fault> {
        self.host_states.down.remove(&host.value);
        self.set_host_runtime(host, "connected", "poweredOn")?;
        self.set_vms_connection(host, "connected");
        // What the model stopped is off: vCenter learns it on reconnection.
        for vm in self.inv.refs(host, "vm") {
            let off_in_model = self
                .ids
                .vms
                .get(&vm.value)
                .is_some_and(|id| self.world.is_powered_on(*id) == Ok(false));
            if off_in_model && self.power_state(&vm)? != "poweredOff" {
                self.set_power(&vm, "poweredOff")?;
                self.post_vm_event("VmPoweredOffEvent", "", &vm, "is powered off");
            }
        }
        self.sync_model_host(host)?;
        let name = self.host_name(host);
        let dc = self.dc_name(host);
        self.post_host_event(
            "HostConnectedEvent",
            "",
            host,
            format!("Connected to {name} in {dc}"),
            Vec::new(),
        );
        self.refresh_cluster_of(host);
        Ok(())
    }

    /// What happens once per realtime interval, after the model step: rebooting hosts come
    /// back, vSphere HA declares failed hosts and restarts their VMs, maintenance-mode tasks
    /// finish or time out, and clusters' summaries and statuses follow.
    pub fn host_states_on_interval(&mut self) {
        let now = self.clock.now_ms();
        let back: Vec<MoRef> = self
            .host_states
            .down
            .iter()
            .filter(|(_, d)| matches!(d, Down::Rebooting { until_ms } if *until_ms <= now))
            .map(|(h, _)| MoRef::new("HostSystem", h.clone()))
            .collect();
        for h in back {
            let _ = self.bring_back(&h);
        }
        self.ha_on_interval(now);
        self.maintenance_on_interval(now);
        let clusters: Vec<MoRef> = self.inv.of_type("ClusterComputeResource");
        for c in clusters {
            self.refresh_cluster(&c);
        }
    }
}

#[cfg(test)]
#[path = "host_state_tests.rs"]
mod tests;
