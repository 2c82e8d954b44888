//! Advancing virtual time: every completed 20 s realtime interval steps the contention model,
//! stores its samples for QueryPerf and refreshes the quick stats vCenter shows in
//! `summary.quickStats` and a pool's `runtime`.

use super::Emulator;
use crate::guest::GuestEvent;
use crate::vmodl::{MoRef, Value};
use scheduler_model::Entity;
use std::collections::BTreeMap;

/// Quick-stat fields fed from model counters: (counter, VirtualMachineQuickStats field, divisor
/// turning the counter's unit into the field's).
const VM_QUICK: &[(&str, &str, i64)] = &[
    ("cpu.usagemhz.average", "overallCpuUsage", 1),
    ("cpu.demand.average", "overallCpuDemand", 1),
    ("cpu.entitlement.latest", "distributedCpuEntitlement", 1),
    ("mem.active.average", "guestMemoryUsage", 1024),
    ("mem.consumed.average", "hostMemoryUsage", 1024),
    (
        "mem.entitlement.average",
        "distributedMemoryEntitlement",
        1024,
    ),
    ("mem.shared.average", "sharedMemory", 1024),
    ("mem.swapped.average", "swappedMemory", 1024),
    ("mem.vmmemctl.average", "balloonedMemory", 1024),
    ("mem.overhead.average", "consumedOverheadMemory", 1024),
];

/// One model sample: counter name, vCPU instance (None: the aggregate), value.
type CounterSample = (&'static str, Option<u16>, i64);

impl Emulator {
    /// Moves virtual time forward by `delta_ms`, stepping the model for each completed
    /// realtime interval. Returns how many intervals were stepped.
    pub fn advance(&mut self, delta_ms: i64) -> usize {
        self.apply_posted_guest_effects();
        let target_ms = self.clock.now_ms() + delta_ms.max(0);
        let mut steps = 0;
        // One interval at a time: the guests' tick and the model step of each interval see
        // that interval's end as "now" (a stress run's timeout ends within the right one).
        while let Some(end_ms) = self.clock.step_towards(target_ms) {
            self.step_interval(end_ms);
            steps += 1;
        }
        steps
    }

    fn step_interval(&mut self, end_ms: i64) {
        // Guests act first (a stress run reaching its timeout exits), then the model runs
        // the interval with the resulting workloads.
        let running: Vec<String> = self.running.keys().cloned().collect();
        for vm in running {
            let _ = self.notify_guest(&MoRef::new("VirtualMachine", vm), GuestEvent::Tick);
        }
        self.apply_posted_guest_effects();
        let interval_s = crate::clock::REALTIME_INTERVAL_S as u32;
        let mut by_entity: BTreeMap<(u8, u32), Vec<CounterSample>> = BTreeMap::new();
        for s in self.world.step(interval_s).iter() {
            let key = match s.entity {
                Entity::Host(h) => (0, h.0),
                Entity::Pool(p) => (1, p.0),
                Entity::Vm(v) => (2, v.0),
            };
            by_entity
                .entry(key)
                .or_default()
                .push((s.counter.name(), s.instance, s.value));
        }
        let refs = self.entity_refs();
        for ((kind, id), samples) in by_entity {
            let Some(moref) = refs.get(&(kind, id)) else {
                continue;
            };
            for (counter, instance, value) in &samples {
                if let Some(key) = crate::perf::catalogue::key_of(counter) {
                    let inst = instance.map(|i| i.to_string()).unwrap_or_default();
                    self.perf.record(moref, end_ms, key, &inst, *value);
                }
            }
            self.refresh_quick_stats(moref, &samples);
        }
    }

    fn entity_refs(&self) -> BTreeMap<(u8, u32), MoRef> {
        let mut m = BTreeMap::new();
        for (k, v) in &self.ids.hosts {
            m.insert((0, v.0), MoRef::new("HostSystem", k.clone()));
        }
        for (k, v) in &self.ids.pools {
            m.insert((1, v.0), MoRef::new("ResourcePool", k.clone()));
        }
        for (k, v) in &self.ids.vms {
            m.insert((2, v.0), MoRef::new("VirtualMachine", k.clone()));
        }
        m
    }

    fn refresh_quick_stats(&mut self, entity: &MoRef, samples: &[CounterSample]) {
        let total = |name: &str| {
            samples
                .iter()
                .find(|(c, i, _)| *c == name && i.is_none())
                .map(|(_, _, v)| *v)
        };
        match entity.ty.as_ref() {
            "VirtualMachine" => {
                let fields: Vec<(&str, i64)> = VM_QUICK
                    .iter()
                    .filter_map(|(c, f, div)| total(c).map(|v| (*f, v / div)))
                    .collect();
                let _ = self.inv.update(entity, |o| {
                    let Some(qs) = o
                        .props
                        .get_mut("summary")
                        .and_then(Value::as_data_mut)
                        .and_then(|s| s.get_mut("quickStats"))
                        .and_then(Value::as_data_mut)
                    else {
                        return;
                    };
                    for (f, v) in fields {
                        qs.set(f, Value::Int(v.clamp(0, i64::from(i32::MAX)) as i32));
                    }
                    if let Some(c) = total("mem.compressed.average") {
                        qs.set("compressedMemory", Value::Long(c));
                    }
                    qs.set(
                        "guestHeartbeatStatus",
                        Value::enumv("ManagedEntityStatus", "green"),
                    );
                });
            }
            "HostSystem" => {
                let cpu = total("cpu.usagemhz.average").unwrap_or(0);
                let mem_mb = total("mem.consumed.average").unwrap_or(0) / 1024;
                let _ = self.inv.update(entity, |o| {
                    if let Some(qs) = o
                        .props
                        .get_mut("summary")
                        .and_then(Value::as_data_mut)
                        .and_then(|s| s.get_mut("quickStats"))
                        .and_then(Value::as_data_mut)
                    {
                        qs.set(
                            "overallCpuUsage",
                            Value::Int(cpu.clamp(0, i64::from(i32::MAX)) as i32),
                        );
                        qs.set(
                            "overallMemoryUsage",
                            Value::Int(mem_mb.clamp(0, i64::from(i32::MAX)) as i32),
                        );
                    }
                });
            }
            "ResourcePool" => {
                let cpu = total("cpu.usagemhz.average").unwrap_or(0);
                let mem_bytes = total("mem.consumed.average").unwrap_or(0) * 1024;
                let _ = self.inv.update(entity, |o| {
                    for holder in ["runtime", "summary"] {
                        let rt = match o.props.get_mut(holder).and_then(Value::as_data_mut) {
                            Some(d) if holder == "runtime" => Some(d),
                            Some(d) => d.get_mut("runtime").and_then(Value::as_data_mut),
                            None => None,
                        };
                        if let Some(rt) = rt {
                            if let Some(c) = rt.get_mut("cpu").and_then(Value::as_data_mut) {
                                c.set("overallUsage", Value::Long(cpu));
                            }
                            if let Some(m) = rt.get_mut("memory").and_then(Value::as_data_mut) {
                                m.set("overallUsage", Value::Long(mem_bytes));
                            }
                        }
                    }
                });
            }
            _ => {}
        }
    }
}
