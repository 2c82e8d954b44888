//! Advancing virtual time: every completed 20 s realtime interval steps the contention model,
//! stores its samples for QueryPerf and refreshes the quick stats vCenter shows in
//! `summary.quickStats` and a pool's `runtime` (see `pool_runtime`).

use super::Emulator;
use super::quick_stats::{self, CounterSample};
use crate::guest::{GuestEvent, GuestView};
use crate::perf::PerfHint;
use crate::vmodl::{MoRef, Value};
use scheduler_model::{Counter, Entity};

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
        let mut sink = IntervalSink {
            perf: &mut self.perf,
            hints: &mut self.perf_hints,
            inv: &mut self.inv,
            refs: EntityRefs::new(&self.ids),
            names: SampleNames::new(),
            moref: MoRef::new("VirtualMachine", String::new()),
            end_ms,
        };
        // Each entity's samples together, hosts then pools then VMs, each by id: one buffer
        // collects them and is handed on.
        let mut buf: Vec<CounterSample> = Vec::new();
        let samples = self.world.step(interval_s);
        for e in samples.entities() {
            buf.clear();
            buf.extend(samples.entity(e).map(|s| (s.counter, s.instance, s.value)));
            if !buf.is_empty() {
                sink.entity(e, &buf);
            }
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
        // The default agent (always last, see `add_agent`) does nothing at a tick (tested
        // below): an estate of plain VMs would otherwise read every VM's name, hardware and
        // quick stats each interval for nothing, a seventh of an interval at 10 000 VMs.
        let default_agent = self.agents.last();
        let running: Vec<(String, std::sync::Arc<dyn crate::guest::GuestAgent>)> = self
            .running
            .iter()
            .filter(|(_, agent)| !default_agent.is_some_and(|d| std::sync::Arc::ptr_eq(d, agent)))
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
}

/// MoRef values of the model's entities, by kind and id, borrowed from `ModelIds` (which
/// maps the other way): built once per interval without copying a name.
struct EntityRefs<'a> {
    hosts: Vec<Option<&'a str>>,
    pools: Vec<Option<&'a str>>,
    vms: Vec<Option<&'a str>>,
}

impl<'a> EntityRefs<'a> {
    fn new(ids: &'a super::ModelIds) -> EntityRefs<'a> {
        fn by_id<'a>(m: impl Iterator<Item = (&'a String, u32)>) -> Vec<Option<&'a str>> {
            let mut out: Vec<Option<&'a str>> = Vec::new();
            for (value, id) in m {
                let i = id as usize;
                if out.len() <= i {
                    out.resize(i + 1, None);
                }
                out[i] = Some(value.as_str());
            }
            out
        }
        EntityRefs {
            hosts: by_id(ids.hosts.iter().map(|(k, v)| (k, v.0))),
            pools: by_id(ids.pools.iter().map(|(k, v)| (k, v.0))),
            vms: by_id(ids.vms.iter().map(|(k, v)| (k, v.0))),
        }
    }

    /// The managed object type and reference value of a model entity, if it has one.
    fn get(&self, e: Entity) -> Option<(&'static str, &'a str)> {
        let (ty, table, id) = match e {
            Entity::Host(h) => ("HostSystem", &self.hosts, h.0),
            Entity::Pool(p) => ("ResourcePool", &self.pools, p.0),
            Entity::Vm(v) => ("VirtualMachine", &self.vms, v.0),
        };
        Some((ty, table.get(id as usize).copied().flatten()?))
    }
}

/// The model's samples as the perf store names them: catalogue key by counter (a counter's
/// discriminant is its index in `Counter::ALL`, looked up once, not once per sample) and
/// vCPU instance names (`"0"`, `"1"`, …, made once, as far as needed so far).
pub(super) struct SampleNames {
    keys: [Option<i32>; Counter::ALL.len()],
    instances: Vec<String>,
}

impl SampleNames {
    pub(super) fn new() -> SampleNames {
        let mut keys = [None; Counter::ALL.len()];
        for c in Counter::ALL {
            keys[*c as usize] = crate::perf::catalogue::key_of(c.name());
        }
        SampleNames {
            keys,
            instances: Vec::new(),
        }
    }

    /// One entity's samples as `(catalogue key, instance, value)`; counters the catalogue
    /// lacks are left out.
    pub(super) fn named<'a>(
        &'a mut self,
        samples: &'a [CounterSample],
    ) -> impl Iterator<Item = (i32, &'a str, i64)> + Clone + 'a {
        let vcpus = samples
            .iter()
            .filter_map(|(_, i, _)| *i)
            .max()
            .map_or(0, |i| usize::from(i) + 1);
        while self.instances.len() < vcpus {
            self.instances.push(self.instances.len().to_string());
        }
        let (keys, instances) = (&self.keys, &self.instances);
        samples.iter().filter_map(|(counter, instance, value)| {
            let key = keys[*counter as usize]?;
            let inst = instance.map_or("", |i| instances[usize::from(i)].as_str());
            Some((key, inst, *value))
        })
    }
}

/// Where the perf store keeps each model entity, by kind and id: found again each interval
/// without a search by name.
#[derive(Debug, Default)]
pub(super) struct PerfHints {
    hosts: Vec<PerfHint>,
    pools: Vec<PerfHint>,
    vms: Vec<PerfHint>,
}

impl PerfHints {
    fn get(&mut self, e: Entity) -> &mut PerfHint {
        let (table, id) = match e {
            Entity::Host(h) => (&mut self.hosts, h.0),
            Entity::Pool(p) => (&mut self.pools, p.0),
            Entity::Vm(v) => (&mut self.vms, v.0),
        };
        let i = id as usize;
        if table.len() <= i {
            table.resize(i + 1, PerfHint::default());
        }
        &mut table[i]
    }
}

/// Where one interval's samples go: the perf store and the quick stats, with what the
/// interval's entities share (catalogue keys, instance names, one MoRef buffer).
struct IntervalSink<'a> {
    perf: &'a mut crate::perf::PerfStore,
    hints: &'a mut PerfHints,
    inv: &'a mut crate::inventory::Inventory,
    refs: EntityRefs<'a>,
    names: SampleNames,
    /// Reused for every entity: filling it copies the value into an existing buffer.
    moref: MoRef,
    end_ms: i64,
}

impl IntervalSink<'_> {
    /// Records one entity's samples of the interval and refreshes its quick stats.
    fn entity(&mut self, e: Entity, samples: &[CounterSample]) {
        let Some((ty, value)) = self.refs.get(e) else {
            return;
        };
        self.moref.ty = std::borrow::Cow::Borrowed(ty);
        self.moref.value.clear();
        self.moref.value.push_str(value);
        let named = self.names.named(samples);
        self.perf
            .record_all_hinted(self.hints.get(e), &self.moref, self.end_ms, named);
        quick_stats::refresh(self.inv, &self.moref, samples);
    }
}

#[cfg(test)]
mod tests {
    use crate::guest::{DefaultAgent, GuestAgent, GuestEvent, GuestHandle, GuestView};
    use crate::vmodl::MoRef;

    /// `tick_guests` skips VMs run by the default agent on this ground: if the default agent
    /// ever acts at a tick, that shortcut must go.
    #[test]
    fn the_default_agent_does_nothing_at_a_tick() {
        let view = GuestView {
            vm: MoRef::new("VirtualMachine", "vm-1"),
            name: "vm".to_owned(),
            num_cpu: 2,
            memory_mb: 4096,
            extra_config: vec![(crate::guest::WORKLOAD_KEY.to_owned(), "cpu=50%".to_owned())],
            now_ms: 1_000,
            cpu_usage_mhz: 1_200,
        };
        let handle = GuestHandle::default();
        let effects = DefaultAgent.on_event(GuestEvent::Tick, &view, &handle);
        assert!(effects.is_empty());
        assert!(handle.drain().is_empty());
    }
}
