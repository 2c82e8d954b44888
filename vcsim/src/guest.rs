//! The guest seam: what runs *inside* a VM.
//!
//! The emulator calls a [`GuestAgent`] when a VM powers on or off, is reconfigured, and on
//! every realtime interval. An agent reads the VM's extraConfig (guestinfo) and answers with
//! [`GuestEffects`]: keys it writes back, the guest IP, a workload for the contention model, or
//! that its process exited and the VM powers off. Agents that need time (the VCH appliance
//! starting its Docker endpoint) post effects later through a [`GuestHandle`]. vcsim ships
//! the [`DefaultAgent`]; the `vic` crate provides the VCH appliance and containerVM tether.

use crate::vmodl::MoRef;
use scheduler_model::Workload;
use std::sync::{Arc, Mutex};

/// What the emulator tells an agent about its VM.
#[derive(Clone, Debug)]
pub struct GuestView {
    /// The VM.
    pub vm: MoRef,
    /// Its display name.
    pub name: String,
    /// vCPUs.
    pub num_cpu: u32,
    /// Memory in MB.
    pub memory_mb: u64,
    /// `config.extraConfig` as key/value text, in the VM's order.
    pub extra_config: Vec<(String, String)>,
    /// Virtual time now, in milliseconds since the epoch.
    pub now_ms: i64,
}

impl GuestView {
    /// An extraConfig value.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra_config
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an agent is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestEvent {
    /// The VM powered on.
    PowerOn,
    /// The VM powered off (or was reset, before the following power-on).
    PowerOff,
    /// Its configuration changed while powered on.
    Reconfigure,
    /// A realtime interval passed while powered on. The view's `extra_config` is empty (it
    /// is not copied for every VM every interval); read it at power-on or reconfigure.
    Tick,
}

/// What a guest did in response to an event.
#[derive(Clone, Debug, Default)]
pub struct GuestEffects {
    /// extraConfig keys written by the guest (guestinfo write-back).
    pub extra_config: Vec<(String, String)>,
    /// The guest's primary IP address.
    pub ip_address: Option<String>,
    /// The guest's host name.
    pub host_name: Option<String>,
    /// The workload the guest now runs.
    pub workload: Option<Workload>,
    /// Whether VMware Tools are running in the guest.
    pub tools_running: Option<bool>,
    /// The guest's main process exited: the VM powers off.
    pub power_off: bool,
}

impl GuestEffects {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.extra_config.is_empty()
            && self.ip_address.is_none()
            && self.host_name.is_none()
            && self.workload.is_none()
            && self.tools_running.is_none()
            && !self.power_off
    }
}

/// Software inside a VM.
pub trait GuestAgent: Send + Sync {
    /// Whether this agent is what runs inside `vm` (decided from its extraConfig).
    fn claims(&self, vm: &GuestView) -> bool;
    /// Reacts to an event. `handle` posts effects later, from any task.
    fn on_event(&self, event: GuestEvent, vm: &GuestView, handle: &GuestHandle) -> GuestEffects;
}

/// Effects waiting to be applied, shared between agents and the emulator.
#[derive(Clone, Default)]
pub struct GuestHandle {
    pending: Arc<Mutex<Vec<(MoRef, GuestEffects)>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for GuestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuestHandle")
    }
}

impl GuestHandle {
    /// Posts effects for `vm`; the emulator applies them at its next request or tick.
    pub fn post(&self, vm: MoRef, effects: GuestEffects) {
        if let Ok(mut p) = self.pending.lock() {
            p.push((vm, effects));
        }
        self.notify.notify_one();
    }

    /// Takes everything posted so far.
    pub fn drain(&self) -> Vec<(MoRef, GuestEffects)> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Resolves when something is posted.
    pub async fn posted(&self) {
        self.notify.notified().await;
    }
}

/// The extraConfig key the default agent reads its workload from.
pub const WORKLOAD_KEY: &str = "guestinfo.vicbed.workload";

/// The agent of every VM nobody else claims: a guest that idles, or runs the workload named in
/// `guestinfo.vicbed.workload` (`idle`, or `cpu=<MHz per vCPU>[,mem=<active MB>]`), with
/// VMware Tools running.
#[derive(Debug, Default)]
pub struct DefaultAgent;

/// Parses the default agent's workload syntax.
pub fn parse_workload_key(text: &str) -> Option<Workload> {
    let text = text.trim();
    if text.is_empty() || text == "idle" {
        return Some(Workload::Idle);
    }
    let mut mhz_per_vcpu = 0u32;
    let mut active_mb = 0u64;
    for part in text.split(',') {
        let (k, v) = part.split_once('=')?;
        match k.trim() {
            "cpu" => mhz_per_vcpu = v.trim().parse().ok()?,
            "mem" => active_mb = v.trim().parse().ok()?,
            _ => return None,
        }
    }
    Some(Workload::Constant {
        mhz_per_vcpu,
        active_mb,
    })
}

impl GuestAgent for DefaultAgent {
    fn claims(&self, _vm: &GuestView) -> bool {
        true
    }

    fn on_event(&self, event: GuestEvent, vm: &GuestView, _handle: &GuestHandle) -> GuestEffects {
        match event {
            GuestEvent::PowerOn | GuestEvent::Reconfigure => GuestEffects {
                workload: Some(
                    vm.extra(WORKLOAD_KEY)
                        .and_then(parse_workload_key)
                        .unwrap_or(Workload::Idle),
                ),
                tools_running: Some(true),
                ..GuestEffects::default()
            },
            GuestEvent::PowerOff => GuestEffects {
                tools_running: Some(false),
                ..GuestEffects::default()
            },
            GuestEvent::Tick => GuestEffects::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_key_syntax() {
        assert!(matches!(parse_workload_key("idle"), Some(Workload::Idle)));
        assert!(parse_workload_key("cpu=500,mem=256").is_some());
        assert!(parse_workload_key("cpu=abc").is_none());
        assert!(parse_workload_key("gpu=1").is_none());
    }
}
