//! Advancing virtual time: every completed 20 s realtime interval steps the contention model,
//! stores its samples for QueryPerf and refreshes the quick stats vCenter shows in
//! `summary.quickStats` and a pool's `runtime` (see `pool_runtime`).

use super::Emulator;
use super::quick_stats::{self, CounterSample};
use crate::guest::{GuestEvent, GuestView};
use crate::perf::{PerfHint, PerfStore, RowLayout};
use crate::vmodl::{MoRef, Value};
use scheduler_model::{Applies, Counter, Entity, Samples};
use std::collections::HashMap;

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
            shapes: &mut self.row_shapes,
            moref: MoRef::new("VirtualMachine", String::new()),
            end_ms,
            kept: Vec::new(),
        };
        // Each entity's values together, hosts then pools then VMs, each by id, named once
        // per shape (kind and vCPU count): one buffer collects them and is handed on.
        let mut values: Vec<i64> = Vec::new();
        let samples = self.world.step(interval_s);
        for e in samples.entities() {
            let Some(shape) = samples.shape(e) else {
                continue;
            };
            samples.write_values(e, &mut values);
            if !values.is_empty() {
                sink.entity(e, samples, shape, &values);
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
        // `ticking` holds the others, so that walking 10 000 default VMs to skip them is not
        // paid either.
        let running: Vec<(String, std::sync::Arc<dyn crate::guest::GuestAgent>)> = self
            .ticking
            .iter()
            .filter_map(|vm| Some((vm.clone(), std::sync::Arc::clone(self.running.get(vm)?))))
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
#[derive(Debug)]
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

    /// The catalogue key of `c`, if the catalogue has it.
    fn key(&self, c: Counter) -> Option<i32> {
        self.keys[c as usize]
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
    pub(super) fn get(&mut self, e: Entity) -> &mut PerfHint {
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

/// One shape's samples (see `Samples::shape`) as the perf store and quick stats name them,
/// worked out from the first entity of that shape.
#[derive(Debug)]
pub(super) struct NamedShape {
    /// The model's counter and instance at each position `Samples::write_values` writes.
    counters: Vec<(Counter, Option<u16>)>,
    /// The positions whose counter the catalogue has, in order; `None` when all do.
    kept: Option<Vec<usize>>,
    /// The perf store's series of the kept positions.
    layout: Option<RowLayout>,
    /// The same series by name, for a recording the layout cannot take.
    keys: Vec<(i32, String)>,
}

/// The [`NamedShape`] of each shape met so far (a few: hosts, pools, one per vCPU count).
#[derive(Debug, Default)]
pub(super) struct RowShapes {
    names: Option<SampleNames>,
    by_shape: HashMap<(Applies, u32), NamedShape>,
}

impl NamedShape {
    /// Whether `values` (an entity's `Samples::write_values`) are this shape's positions.
    pub(super) fn fits(&self, values: &[i64]) -> bool {
        self.counters.len() == values.len()
    }

    /// The values of the positions the perf store keeps, in `buf` when some are dropped.
    pub(super) fn kept<'a>(&'a self, values: &'a [i64], buf: &'a mut Vec<i64>) -> &'a [i64] {
        match &self.kept {
            None => values,
            Some(positions) => {
                buf.clear();
                buf.extend(positions.iter().map(|&i| values[i]));
                buf
            }
        }
    }

    /// The perf store's series of the kept values, by name.
    pub(super) fn keys(&self) -> &[(i32, String)] {
        &self.keys
    }

    /// Records `kept` (see [`NamedShape::kept`]) as `entity`'s realtime samples at `end_ms`.
    pub(super) fn record(
        &self,
        perf: &mut PerfStore,
        hint: &mut PerfHint,
        entity: &MoRef,
        end_ms: i64,
        kept: &[i64],
    ) {
        match &self.layout {
            Some(layout) => perf.record_row_hinted(hint, entity, end_ms, layout, kept),
            None => {
                let samples = self
                    .keys
                    .iter()
                    .zip(kept)
                    .map(|((key, instance), v)| (*key, instance.as_str(), *v));
                perf.record_all_hinted(hint, entity, end_ms, samples);
            }
        }
    }
}

impl RowShapes {
    /// The naming of `e`'s shape, worked out from `e`'s samples when first met.
    pub(super) fn named(
        &mut self,
        perf: &mut PerfStore,
        samples: &Samples,
        e: Entity,
        shape: (Applies, u32),
    ) -> &NamedShape {
        let names = self.names.get_or_insert_with(SampleNames::new);
        self.by_shape.entry(shape).or_insert_with(|| {
            let counters: Vec<(Counter, Option<u16>)> =
                samples.entity(e).map(|s| (s.counter, s.instance)).collect();
            let listed: Vec<CounterSample> = counters.iter().map(|&(c, i)| (c, i, 0)).collect();
            let keys: Vec<(i32, String)> = names
                .named(&listed)
                .map(|(key, instance, _)| (key, instance.to_owned()))
                .collect();
            let kept = (keys.len() != counters.len()).then(|| {
                (0..counters.len())
                    .filter(|&i| names.key(counters[i].0).is_some())
                    .collect()
            });
            NamedShape {
                layout: perf.row_layout(&keys),
                counters,
                kept,
                keys,
            }
        })
    }
}

/// Where one interval's samples go: the perf store and the quick stats, with what the
/// interval's entities share (the shapes' names, one MoRef buffer).
struct IntervalSink<'a> {
    perf: &'a mut PerfStore,
    hints: &'a mut PerfHints,
    inv: &'a mut crate::inventory::Inventory,
    refs: EntityRefs<'a>,
    shapes: &'a mut RowShapes,
    /// Reused for every entity: filling it copies the value into an existing buffer.
    moref: MoRef,
    end_ms: i64,
    /// The kept values of an entity whose shape drops some (reused).
    kept: Vec<i64>,
}

impl IntervalSink<'_> {
    /// Records one entity's values of the interval (`Samples::write_values`, of shape
    /// `shape`) and refreshes its quick stats.
    fn entity(&mut self, e: Entity, samples: &Samples, shape: (Applies, u32), values: &[i64]) {
        let Some((ty, value)) = self.refs.get(e) else {
            return;
        };
        self.moref.ty = std::borrow::Cow::Borrowed(ty);
        self.moref.value.clear();
        self.moref.value.push_str(value);
        let named = self.shapes.named(self.perf, samples, e, shape);
        if !named.fits(values) {
            // Not the shape's count: name these samples one by one.
            let listed: Vec<CounterSample> = samples
                .entity(e)
                .map(|s| (s.counter, s.instance, s.value))
                .collect();
            let mut names = SampleNames::new();
            self.perf.record_all_hinted(
                self.hints.get(e),
                &self.moref,
                self.end_ms,
                names.named(&listed),
            );
            quick_stats::refresh(self.inv, &self.moref, &quick_stats::totals(listed));
            return;
        }
        let kept = named.kept(values, &mut self.kept);
        named.record(self.perf, self.hints.get(e), &self.moref, self.end_ms, kept);
        let totals = quick_stats::totals(
            named
                .counters
                .iter()
                .zip(values)
                .map(|(&(c, i), &v)| (c, i, v)),
        );
        quick_stats::refresh(self.inv, &self.moref, &totals);
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
