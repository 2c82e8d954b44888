//! Advancing virtual time: every completed 20 s realtime interval steps the contention model,
//! stores its samples for QueryPerf and refreshes the quick stats vCenter shows in
//! `summary.quickStats` and a pool's `runtime` (see `pool_runtime`).

use super::Emulator;
use crate::guest::{GuestEvent, GuestView};
use crate::vmodl::{MoRef, Value};
use scheduler_model::{Counter, Entity};
use std::collections::BTreeMap;

/// Quick-stat fields fed from model counters: (counter, VirtualMachineQuickStats field, divisor
/// turning the counter's unit into the field's).
const VM_QUICK: &[(Counter, &str, i64)] = &[
    (Counter::CpuUsagemhzAverage, "overallCpuUsage", 1),
    (Counter::CpuDemandAverage, "overallCpuDemand", 1),
    (
        Counter::CpuEntitlementLatest,
        "distributedCpuEntitlement",
        1,
    ),
    (Counter::MemActiveAverage, "guestMemoryUsage", 1024),
    (Counter::MemConsumedAverage, "hostMemoryUsage", 1024),
    (
        Counter::MemEntitlementAverage,
        "distributedMemoryEntitlement",
        1024,
    ),
    (Counter::MemSharedAverage, "sharedMemory", 1024),
    (Counter::MemSwappedAverage, "swappedMemory", 1024),
    (Counter::MemVmmemctlAverage, "balloonedMemory", 1024),
    (Counter::MemOverheadAverage, "consumedOverheadMemory", 1024),
];

/// One model sample: counter, vCPU instance (None: the aggregate), value.
type CounterSample = (Counter, Option<u16>, i64);

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
        // Scheduled host failures and recoveries due by now (`serve --fail-host`).
        self.run_host_schedule();
        // Guests act first (a stress run reaching its timeout exits), then the model runs
        // the interval with the resulting workloads.
        self.tick_guests();
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
                .push((s.counter, s.instance, s.value));
        }
        // Catalogue keys and instance names once per interval, not once per sample: this
        // loop runs for every entity and counter of every interval.
        let keys: BTreeMap<Counter, Option<i32>> = Counter::ALL
            .iter()
            .map(|c| (*c, crate::perf::catalogue::key_of(c.name())))
            .collect();
        let mut instances: Vec<String> = Vec::new();
        let refs = self.entity_refs();
        for ((kind, id), samples) in by_entity {
            let Some(moref) = refs.get(&(kind, id)) else {
                continue;
            };
            let vcpus = samples
                .iter()
                .filter_map(|(_, i, _)| *i)
                .max()
                .map_or(0, |i| usize::from(i) + 1);
            while instances.len() < vcpus {
                instances.push(instances.len().to_string());
            }
            let named = samples.iter().filter_map(|(counter, instance, value)| {
                let key = keys.get(counter).copied().flatten()?;
                let inst = instance.map_or("", |i| instances[usize::from(i)].as_str());
                Some((key, inst, *value))
            });
            self.perf.record_all(moref, end_ms, named);
            self.refresh_quick_stats(moref, &samples);
        }
        self.refresh_pool_runtimes();
        // DRS balances each DRS cluster when the clock crosses a 5-minute mark.
        self.drs_on_interval();
        // Clusters' and datastores' history, and closing the 300 s periods of entities that
        // stopped producing.
        self.record_history(end_ms);
        // Hosts: HA restarts, maintenance tasks that wait, reboots coming back.
        self.host_states_on_interval();
    }

    /// Sends [`GuestEvent::Tick`] to every running guest. A tick's view leaves
    /// `extra_config` empty: copying every VM's guestinfo each interval was a fifth of a
    /// run's time, and a tick only needs the VM and the time (an agent keeps what it read
    /// at power-on, as the tether keeps its session's timeout).
    fn tick_guests(&mut self) {
        let running: Vec<(String, std::sync::Arc<dyn crate::guest::GuestAgent>)> = self
            .running
            .iter()
            .map(|(vm, agent)| (vm.clone(), std::sync::Arc::clone(agent)))
            .collect();
        let now_ms = self.clock.now_ms();
        for (vm, agent) in running {
            let vm = MoRef::new("VirtualMachine", vm);
            let Ok(o) = self.inv.get(&vm) else {
                continue;
            };
            let hw = o.get("config").and_then(|c| c.field("hardware"));
            let number = |field: &str| hw.and_then(|h| h.field(field)).and_then(Value::as_i64);
            let cpu_usage_mhz = o
                .get("summary")
                .and_then(|s| s.field("quickStats"))
                .and_then(|q| q.field("overallCpuUsage"))
                .and_then(Value::as_i64)
                .map_or(0, |v| v.clamp(0, i64::from(u32::MAX)) as u32);
            let view = GuestView {
                vm: o.moref.clone(),
                name: o.name().to_owned(),
                num_cpu: number("numCPU").unwrap_or(1).max(1) as u32,
                memory_mb: number("memoryMB").unwrap_or(0).max(0) as u64,
                extra_config: Vec::new(),
                now_ms,
                cpu_usage_mhz,
            };
            let effects = agent.on_event(GuestEvent::Tick, &view, &self.guest_handle);
            let _ = self.apply_guest_effects(&vm, effects);
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
        // Aggregate values by counter (a counter's discriminant is its index in
        // `Counter::ALL`): one pass, where looking each field's counter up by name was a
        // string comparison per sample per field, a third of a 10 000-VM interval.
        let mut totals = [None; Counter::ALL.len()];
        for (c, i, v) in samples {
            if i.is_none() {
                totals[*c as usize] = Some(*v);
            }
        }
        let total = |c: Counter| totals[c as usize];
        match entity.ty.as_ref() {
            "VirtualMachine" => {
                let fields: Vec<(&str, i64)> = VM_QUICK
                    .iter()
                    .filter_map(|(c, f, div)| total(*c).map(|v| (*f, v / div)))
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
                    if let Some(c) = total(Counter::MemCompressedAverage) {
                        qs.set("compressedMemory", Value::Long(c));
                    }
                    qs.set(
                        "guestHeartbeatStatus",
                        Value::enumv("ManagedEntityStatus", "green"),
                    );
                });
            }
            "HostSystem" => {
                let cpu = total(Counter::CpuUsagemhzAverage).unwrap_or(0);
                let mem_mb = total(Counter::MemConsumedAverage).unwrap_or(0) / 1024;
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
            // Pools: every field of their runtime, after the loop (`refresh_pool_runtimes`).
            _ => {}
        }
    }
}
