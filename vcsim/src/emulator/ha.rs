//! vSphere HA: restarting the VMs of a failed host on the surviving hosts of its cluster, and
//! HA admission control.
//!
//! **Restarts.** A host is declared failed when 15 s pass without heartbeats ("if a 15-second
//! period elapses without the receipt of heartbeats from a host, and the host cannot be
//! pinged, the host is declared as failed"): at the first realtime interval at least
//! [`HA_DETECTION_MS`] after the failure, when the cluster has HA with host monitoring on,
//! a `DasHostFailedEvent` is posted and the VMs that ran there are queued by restart
//! priority (per-VM `dasVmConfig`, else the cluster's `defaultVmSettings`, medium by default;
//! `disabled` ones stay off). Each VM then goes to the available host with the most
//! unreserved capacity ("restarted on the alternate hosts with the most available unreserved
//! capacity (CPU and memory)"; ties: fewest powered-on vCPUs, then inventory order), through
//! the model's admission control (host and resource-pool reservations). One that fits nowhere
//! stays off with a `VmFailoverFailed` event and is tried again every interval ("vSphere HA
//! waits for more unreserved capacity to become available … and then retries"). Restarted
//! VMs run from the next interval on, with a `VmRestartedOnAlternateHostEvent` (vCenter 5.0+
//! posts the `EventEx` `com.vmware.vc.ha.VmRestartedByHAEvent` instead; the typed event is
//! what the vim25 API documents and what filters on `VmPoweredOnEvent` catch). HA admission
//! control does not apply to restarts (it reserves capacity for them).
//!
//! **Admission control** (`admissionControlEnabled`, on by default) refuses a power-on that
//! would leave the cluster unable to restart its VMs after the configured host failures
//! (`InsufficientFailoverResourcesFault`), and the cluster turns red when failures already
//! took that capacity away. Policies:
//! - `ClusterFailoverLevelAdmissionControlPolicy` (slots): slot = the largest CPU reservation
//!   (at least 32 MHz) and the largest memory reservation + overhead of the powered-on VMs
//!   (or the fixed slot policy); each effective host holds ⌊capacity / slot⌋; the cluster
//!   tolerates k failures when the hosts left after losing its k largest hold a slot for
//!   every powered-on VM.
//! - `ClusterFailoverResourcesAdmissionControlPolicy` (percentage): current failover capacity
//!   = (capacity − Σ reservations) / capacity per resource, reservations counted as for slots;
//!   with `autoComputePercentages` the required percentage is the share of the `failoverLevel`
//!   largest hosts. Also the default when HA is on without a policy (vSphere 6.5+).
//! - `ClusterFailoverHostAdmissionControlPolicy`: the designated failover hosts must be
//!   effective and run no VM.

use super::Emulator;
use super::cluster_config::{ClusterSettings, HaPolicy};
use super::host_state::{Down, PendingRestart};
use crate::vmodl::{DataObject, Fault, MoRef, Value};
use scheduler_model::HostId;

/// How long HA takes to declare a host failed (no heartbeat, no ping), ms.
pub const HA_DETECTION_MS: i64 = 15_000;
/// CPU a VM without a CPU reservation counts for in HA admission control (`das.vmcpuminmhz`).
pub const HA_MIN_CPU_MHZ: u64 = 32;

/// Restart order of a priority (lower first); `None` for `disabled`.
pub fn restart_rank(priority: &str) -> Option<u8> {
    Some(match priority {
        "highest" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "lowest" => 4,
        _ => return None,
    })
}

/// A cluster's HA failover capacity: what it tolerates now against what it must.
#[derive(Clone, Debug, PartialEq)]
pub struct FailoverCapacity {
    /// Host failures the cluster tolerates now (`summary.currentFailoverLevel`).
    pub current_level: i32,
    /// Whether the configured requirement holds.
    pub ok: bool,
    /// `summary.admissionControlInfo`.
    pub info: Option<Value>,
}

/// What admission control weighs: effective hosts' capacities and VMs' needs (MHz, MB).
struct Load {
    hosts: Vec<(MoRef, u64, u64)>,
    vms: Vec<(u64, u64)>,
    host_vms: Vec<usize>,
}

/// Σ of the capacities left after the `k` largest (by `key`) are taken away.
fn without_largest(caps: &[u64], k: usize) -> u64 {
    let mut sorted = caps.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.iter().skip(k).sum()
}

/// The most failures `caps` can lose while still covering `need` (both resources), capped at
/// one less than the hosts.
fn tolerated(cpu: &[u64], mem: &[u64], need_cpu: u64, need_mem: u64) -> i32 {
    let n = cpu.len();
    let mut k = 0;
    while k + 1 < n
        && without_largest(cpu, k + 1) >= need_cpu
        && without_largest(mem, k + 1) >= need_mem
    {
        k += 1;
    }
    if n == 0 || without_largest(cpu, 0) < need_cpu || without_largest(mem, 0) < need_mem {
        return 0;
    }
    k as i32
}

fn percent_left(total: u64, used: u64) -> i64 {
    if total == 0 {
        return 0;
    }
    (total.saturating_sub(used) as u128 * 100 / total as u128) as i64
}

fn share_of_largest(caps: &[u64], k: usize) -> i64 {
    let total: u64 = caps.iter().sum();
    if total == 0 || k >= caps.len() {
        return 100;
    }
    let lost = total - without_largest(caps, k);
    (lost as u128 * 100).div_ceil(total as u128) as i64
}

impl Emulator {
    /// Whether a host counts in its cluster's effective capacity (`numEffectiveHosts`):
    /// connected, powered on, not in maintenance mode.
    pub fn host_is_effective(&self, host: &MoRef) -> bool {
        self.host_connected(host) && !self.in_maintenance(host) && !self.host_down(host)
    }

    fn load_of(&self, cluster: &MoRef, extra: Option<&MoRef>) -> Load {
        let mut hosts = Vec::new();
        let mut vms = Vec::new();
        let mut host_vms = Vec::new();
        for h in self.inv.refs(cluster, "host") {
            let effective = self.host_is_effective(&h);
            let mut count = 0;
            for vm in self.inv.refs(&h, "vm") {
                let Some(id) = self.ids.vms.get(&vm.value).copied() else {
                    continue;
                };
                let is_extra = extra == Some(&vm);
                if !(is_extra || self.world.is_powered_on(id) == Ok(true)) {
                    continue;
                }
                count += 1;
                if let Ok(spec) = self.world.vm_spec(id) {
                    let overhead = self.world.vm_overhead_mb(id).unwrap_or(0);
                    vms.push((
                        spec.cpu.reservation.max(HA_MIN_CPU_MHZ),
                        spec.memory.reservation + overhead,
                    ));
                }
            }
            if effective && let Some(id) = self.ids.hosts.get(&h.value) {
                let (cpu, mem) = self.world.host_capacity(*id).unwrap_or((0, 0));
                hosts.push((h.clone(), cpu, mem));
                host_vms.push(count);
            }
        }
        Load {
            hosts,
            vms,
            host_vms,
        }
    }

    /// A cluster's HA failover capacity under `s` (with `extra` counted as powered on).
    fn failover_capacity(
        &self,
        cluster: &MoRef,
        s: &ClusterSettings,
        extra: Option<&MoRef>,
    ) -> FailoverCapacity {
        let load = self.load_of(cluster, extra);
        let cpu: Vec<u64> = load.hosts.iter().map(|h| h.1).collect();
        let mem: Vec<u64> = load.hosts.iter().map(|h| h.2).collect();
        let need_cpu: u64 = load.vms.iter().map(|v| v.0).sum();
        let need_mem: u64 = load.vms.iter().map(|v| v.1).sum();
        let policy = s.ha.policy.clone().unwrap_or(HaPolicy::Resources {
            cpu_percent: 0,
            mem_percent: 0,
            level: Some(s.ha.failover_level),
            auto: true,
        });
        match policy {
            HaPolicy::FailoverLevel { level, fixed_slot } => {
                let (slot_cpu, slot_mem) = match fixed_slot {
                    Some((c, m)) => (c.max(1) as u64, m.max(1) as u64),
                    None => (
                        load.vms
                            .iter()
                            .map(|v| v.0)
                            .max()
                            .unwrap_or(HA_MIN_CPU_MHZ)
                            .max(1),
                        load.vms.iter().map(|v| v.1).max().unwrap_or(1).max(1),
                    ),
                };
                let slots: Vec<u64> = load
                    .hosts
                    .iter()
                    .map(|h| (h.1 / slot_cpu).min(h.2 / slot_mem))
                    .collect();
                let used = load.vms.len() as u64;
                let current = tolerated(&slots, &slots, used, used);
                let fits_now = without_largest(&slots, 0) >= used;
                let info = DataObject::new("ClusterFailoverLevelAdmissionControlInfo")
                    .with("currentFailoverLevel", Value::Int(current))
                    .into_value();
                FailoverCapacity {
                    current_level: current,
                    ok: fits_now && current >= level,
                    info: Some(info),
                }
            }
            HaPolicy::Resources {
                cpu_percent,
                mem_percent,
                level,
                auto,
            } => {
                let (req_cpu, req_mem) = if auto {
                    let k = level.unwrap_or(s.ha.failover_level).max(0) as usize;
                    (share_of_largest(&cpu, k), share_of_largest(&mem, k))
                } else {
                    (i64::from(cpu_percent), i64::from(mem_percent))
                };
                let total_cpu: u64 = cpu.iter().sum();
                let total_mem: u64 = mem.iter().sum();
                let cur_cpu = percent_left(total_cpu, need_cpu);
                let cur_mem = percent_left(total_mem, need_mem);
                let info = DataObject::new("ClusterFailoverResourcesAdmissionControlInfo")
                    .with(
                        "currentCpuFailoverResourcesPercent",
                        Value::Int(cur_cpu as i32),
                    )
                    .with(
                        "currentMemoryFailoverResourcesPercent",
                        Value::Int(cur_mem as i32),
                    )
                    .into_value();
                FailoverCapacity {
                    current_level: tolerated(&cpu, &mem, need_cpu, need_mem),
                    ok: total_cpu > 0 && cur_cpu >= req_cpu && cur_mem >= req_mem,
                    info: Some(info),
                }
            }
            HaPolicy::FailoverHosts { hosts, level } => {
                let standby: Vec<usize> = load
                    .hosts
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| hosts.contains(&h.0))
                    .map(|(i, _)| i)
                    .collect();
                let idle = standby.iter().all(|&i| load.host_vms[i] == 0);
                let current = standby.len() as i32;
                FailoverCapacity {
                    current_level: current,
                    ok: idle && current >= level.unwrap_or(1).min(hosts.len() as i32),
                    info: None,
                }
            }
        }
    }

    /// The failover capacity of a cluster as it is (None when HA is off).
    pub fn cluster_failover(&self, cluster: &MoRef) -> Option<FailoverCapacity> {
        let s = self.cluster_settings(cluster);
        s.ha.enabled
            .then(|| self.failover_capacity(cluster, &s, None))
    }

    /// HA admission control for powering on `vm`: refused when, with it, the cluster could
    /// no longer restart its VMs after the configured host failures.
    pub(super) fn check_ha_admission(&self, vm: &MoRef) -> Result<(), Fault> {
        let Some(cluster) = self.host_of(vm).and_then(|h| self.cluster_of_host(&h)) else {
            return Ok(());
        };
        let s = self.cluster_settings(&cluster);
        if !s.ha.enabled || !s.ha.admission_enabled {
            return Ok(());
        }
        if self.failover_capacity(&cluster, &s, Some(vm)).ok {
            Ok(())
        } else {
            Err(Fault::new(
                "InsufficientFailoverResourcesFault",
                "Insufficient resources to satisfy configured failover level for vSphere HA.",
            ))
        }
    }

    /// Hosts of `cluster` that may take a VM, best first: most unreserved capacity (the sum
    /// of the CPU and memory fractions left), then fewest powered-on vCPUs, then inventory
    /// order.
    pub(super) fn ranked_hosts(&self, cluster: &MoRef, exclude: Option<&MoRef>) -> Vec<MoRef> {
        let mut scored: Vec<(f64, u64, usize, MoRef)> = Vec::new();
        for (i, h) in self.inv.refs(cluster, "host").into_iter().enumerate() {
            if Some(&h) == exclude || !self.host_accepts_vms(&h) {
                continue;
            }
            let Some(id) = self.ids.hosts.get(&h.value).copied() else {
                continue;
            };
            let (cap_cpu, cap_mem) = self.world.host_capacity(id).unwrap_or((0, 0));
            let (free_cpu, free_mem) = self.world.host_unreserved(id).unwrap_or((0, 0));
            let frac = |free: u64, cap: u64| {
                if cap == 0 {
                    0.0
                } else {
                    free as f64 / cap as f64
                }
            };
            let vcpus: u64 = self
                .world
                .vms_on_host(id, true)
                .into_iter()
                .filter_map(|v| self.world.vm_spec(v).ok())
                .map(|s| u64::from(s.vcpus))
                .sum();
            scored.push((
                frac(free_cpu, cap_cpu) + frac(free_mem, cap_mem),
                vcpus,
                i,
                h,
            ));
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        scored.into_iter().map(|s| s.3).collect()
    }

    /// Declares the failed hosts whose detection time passed and restarts what HA can.
    pub(super) fn ha_on_interval(&mut self, now_ms: i64) {
        let due: Vec<String> = self
            .host_states
            .down
            .iter()
            .filter(|(_, d)| {
                matches!(d, Down::Failed { at_ms, declared: false, .. } if now_ms >= at_ms + HA_DETECTION_MS)
            })
            .map(|(h, _)| h.clone())
            .collect();
        for h in due {
            let host = MoRef::new("HostSystem", h.clone());
            let Some(Down::Failed { declared, vms, .. }) = self.host_states.down.get_mut(&h) else {
                continue;
            };
            *declared = true;
            let vms = std::mem::take(vms);
            let Some(cluster) = self.cluster_of_host(&host) else {
                continue;
            };
            let s = self.cluster_settings(&cluster);
            if !s.ha.enabled || !s.ha.host_monitoring {
                continue;
            }
            self.declare_failed(&cluster, &host);
            for vm in vms {
                let prio = s
                    .ha_vms
                    .get(&vm.value)
                    .filter(|p| p.as_str() != "clusterRestartPriority")
                    .unwrap_or(&s.ha.restart_priority);
                if let Some(rank) = restart_rank(prio) {
                    self.host_states.seq += 1;
                    let seq = self.host_states.seq;
                    self.host_states.restarts.push(PendingRestart {
                        vm,
                        source: host.clone(),
                        rank,
                        seq,
                        reported: false,
                    });
                }
            }
        }
        self.restart_pending();
    }

    fn declare_failed(&mut self, cluster: &MoRef, host: &MoRef) {
        let host_name = self
            .inv
            .lookup(host)
            .map(|o| o.name().to_owned())
            .unwrap_or_default();
        let cluster_name = self
            .inv
            .lookup(cluster)
            .map(|o| o.name().to_owned())
            .unwrap_or_default();
        let dc = self.cluster_dc_name(cluster);
        let failed = DataObject::new("HostEventArgument")
            .with("name", Value::str(host_name.clone()))
            .with("host", Value::moref(host))
            .into_value();
        self.cluster_event(
            "DasHostFailedEvent",
            "",
            cluster,
            format!(
                "A possible host failure has been detected by vSphere HA on {host_name} in cluster {cluster_name} in {dc}"
            ),
            vec![("failedHost", failed)],
        );
    }

    /// Tries every queued restart, highest priority first.
    fn restart_pending(&mut self) {
        let mut queue = std::mem::take(&mut self.host_states.restarts);
        queue.sort_by_key(|r| (r.rank, r.seq));
        let mut left = Vec::new();
        for mut r in queue {
            let Some(id) = self.ids.vms.get(&r.vm.value).copied() else {
                continue; // removed meanwhile
            };
            let still_there = self.host_of(&r.vm).as_ref() == Some(&r.source);
            if !still_there || self.world.is_powered_on(id) != Ok(false) {
                continue;
            }
            let Some(cluster) = self.cluster_of_host(&r.source) else {
                continue;
            };
            let s = self.cluster_settings(&cluster);
            if !s.ha.enabled {
                continue;
            }
            let mut last = None;
            let mut done = false;
            for target in self.ranked_hosts(&cluster, None) {
                match self.ha_restart(&r.vm, &r.source, &target) {
                    Ok(()) => {
                        done = true;
                        break;
                    }
                    Err(f) => last = Some(f),
                }
            }
            if done {
                continue;
            }
            if !r.reported {
                r.reported = true;
                let f = last.unwrap_or_else(|| {
                    Fault::insufficient_resources(
                        "No compatible host is available to restart the virtual machine",
                    )
                });
                let reason = f.to_data().into_value();
                let args = self.vm_event_args(&r.vm);
                let name = args.vm.as_ref().map(|(_, n)| n.clone()).unwrap_or_default();
                self.events.post(
                    "VmFailoverFailed",
                    self.clock.now_ms(),
                    "",
                    &args,
                    format!("vSphere HA unsuccessfully failed over {name}: {}", f.msg),
                    vec![("template", Value::Bool(false)), ("reason", reason)],
                );
            }
            left.push(r);
        }
        self.host_states.restarts = left;
    }

    /// Restarts `vm` (stopped with `source`) on `target`: admission in the model, then the
    /// inventory moves it and powers it on, and its guest starts.
    fn ha_restart(&mut self, vm: &MoRef, source: &MoRef, target: &MoRef) -> Result<(), Fault> {
        let id = self.model_vm(vm)?;
        let host_id: HostId = *self
            .ids
            .hosts
            .get(&target.value)
            .ok_or_else(|| Fault::invalid_argument("host"))?;
        self.world
            .restart_vm_on(id, host_id)
            .map_err(super::vm_ops::model_fault)?;
        if target != source {
            let _ = self.inv.pull_ref(source, "vm", vm);
            self.inv.push_ref(target, "vm", vm)?;
        }
        self.set_runtime(vm, |rt| {
            rt.set("host", Value::moref(target));
            rt.set(
                "connectionState",
                Value::enumv("VirtualMachineConnectionState", "connected"),
            );
        })?;
        self.set_power(vm, "poweredOn")?;
        if target == source {
            self.post_vm_event("VmPoweredOnEvent", "", vm, "is powered on");
        } else {
            self.post_vm_moved_event("VmRestartedOnAlternateHostEvent", "", vm, source, |n| {
                format!(
                    "Virtual machine {} was restarted on {} since {} failed",
                    n.vm, n.to, n.from
                )
            });
        }
        self.start_guest(vm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_counts_the_largest_hosts_first() {
        // Three hosts of 10, one needed 15: losing one (10) leaves 20 ≥ 15, two leave 10.
        assert_eq!(tolerated(&[10, 10, 10], &[10, 10, 10], 15, 15), 1);
        assert_eq!(tolerated(&[10, 10, 10], &[10, 10, 10], 5, 5), 2);
        assert_eq!(tolerated(&[10, 10, 10], &[10, 10, 10], 40, 5), 0);
        assert_eq!(tolerated(&[], &[], 0, 0), 0);
        // Unequal hosts: the largest fails first.
        assert_eq!(tolerated(&[30, 10, 10], &[30, 10, 10], 25, 0), 0);
    }

    #[test]
    fn percentages() {
        assert_eq!(percent_left(200, 50), 75);
        assert_eq!(percent_left(0, 0), 0);
        assert_eq!(share_of_largest(&[10, 10, 10], 1), 34);
        assert_eq!(share_of_largest(&[10, 10], 2), 100);
        assert_eq!(share_of_largest(&[10, 10], 0), 0);
    }

    #[test]
    fn priorities_order_restarts() {
        let ranks: Vec<Option<u8>> = ["highest", "high", "medium", "low", "lowest", "disabled"]
            .iter()
            .map(|p| restart_rank(p))
            .collect();
        assert_eq!(
            ranks,
            vec![Some(0), Some(1), Some(2), Some(3), Some(4), None]
        );
    }
}
