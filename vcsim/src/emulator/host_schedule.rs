//! Host failures on a schedule, for `vicbed serve --fail-host NAME@TIME` (and
//! `--recover-host`): what a scenario's `host` step does, for clients that only talk SOAP.
//! A CI job or a classroom can watch vSphere HA react (`DasHostFailedEvent`,
//! `VmRestartedOnAlternateHostEvent`, cluster status) with pyvmomi or govc alone. The events
//! fire when the virtual clock reaches them, before that interval's model step.

use super::Emulator;
use crate::vmodl::{Fault, MoRef};

/// Most scheduled host events a server keeps.
pub const HOST_SCHEDULE_MAX: usize = 1024;

/// What happens to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostAction {
    /// It fails ([`Emulator::fail_host`]).
    Fail,
    /// It comes back ([`Emulator::recover_host`]).
    Recover,
}

/// One scheduled event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledHostEvent {
    /// Virtual time (epoch ms) it fires at.
    pub at_ms: i64,
    /// The host.
    pub host: MoRef,
    /// What happens.
    pub action: HostAction,
}

impl Emulator {
    /// Schedules `action` on the host named `host_name`, `after_ms` of virtual time from now.
    /// An unknown name is an `InvalidArgument` naming it (checked now, not when it fires).
    pub fn schedule_host_event(
        &mut self,
        host_name: &str,
        after_ms: i64,
        action: HostAction,
    ) -> Result<(), Fault> {
        if self.host_schedule.len() >= HOST_SCHEDULE_MAX {
            return Err(Fault::invalid_argument("host schedule"));
        }
        let host = self
            .inv
            .iter()
            .find(|o| o.moref.ty == "HostSystem" && o.name() == host_name)
            .map(|o| o.moref.clone())
            .ok_or_else(|| Fault::invalid_argument(&format!("host {host_name:?}")))?;
        let at_ms = self.clock.now_ms().saturating_add(after_ms.max(0));
        // Kept in time order (stable: same-time events in the order given).
        let i = self.host_schedule.partition_point(|e| e.at_ms <= at_ms);
        self.host_schedule.insert(
            i,
            ScheduledHostEvent {
                at_ms,
                host,
                action,
            },
        );
        Ok(())
    }

    /// Applies the events due by now.
    pub(super) fn run_host_schedule(&mut self) {
        let now = self.clock.now_ms();
        let due = self.host_schedule.partition_point(|e| e.at_ms <= now);
        let events: Vec<ScheduledHostEvent> = self.host_schedule.drain(..due).collect();
        for e in events {
            let r = match e.action {
                HostAction::Fail => self.fail_host(&e.host),
                HostAction::Recover => self.recover_host(&e.host),
            };
            if let Err(f) = r {
                tracing::warn!(host = %e.host.value, fault = ?f, "a scheduled host event failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn a_scheduled_failure_fires_when_the_clock_reaches_it() {
        let mut emu = Emulator::new(Config::default()).unwrap();
        assert!(
            emu.schedule_host_event("no-such-host", 0, HostAction::Fail)
                .is_err()
        );
        emu.schedule_host_event("DC0_C0_H1", 60_000, HostAction::Fail)
            .unwrap();
        let host = emu.host_schedule[0].host.clone();
        emu.advance(40_000);
        assert!(!emu.host_down(&host), "not before its time");
        emu.advance(40_000);
        assert!(emu.host_down(&host), "down once the clock passed 60 s");
        assert!(emu.host_schedule.is_empty());
        emu.schedule_host_event("DC0_C0_H1", 0, HostAction::Recover)
            .unwrap();
        emu.advance(20_000);
        assert!(!emu.host_down(&host));
    }
}
