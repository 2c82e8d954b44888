//! Advancing virtual time: every completed 20 s realtime interval steps the contention model,
//! stores its samples for QueryPerf and refreshes the quick stats vCenter shows in
//! `summary.quickStats` and a pool's `runtime` (see `pool_runtime`).

use super::Emulator;
use super::quick_stats::{self, CounterSample};
use crate::guest::{GuestEvent, GuestView};
use crate::perf::{EntityKey, PerfHint, PerfStore, RowLayout};
use crate::vmodl::{MoRef, Value};
use scheduler_model::{Applies, Counter, Entity, Samples, VmId};

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
        self.entity_refs.refresh(&self.ids);
        let mut sink = IntervalSink {
            perf: &mut self.perf,
            hints: &mut self.perf_hints,
            inv: &mut self.inv,
            refs: &self.entity_refs,
            shapes: &mut self.row_shapes,
            end_ms,
            kept: Vec::new(),
        };
        // Each entity's values together, hosts then pools then VMs, each by id, named once
        // per shape (kind and vCPU count): one buffer collects them and is handed on.
        let mut values: Vec<i64> = Vec::new();
        let samples = self.world.step(interval_s);
        let repeats = &mut self.vm_repeats;
        repeats.start(sink.inv, &self.ids);
        let previous_ms = end_ms - i64::from(interval_s) * 1000;
        for e in samples.entities() {
            let Some(shape) = samples.shape(e) else {
                continue;
            };
            // A VM whose samples repeat the last interval's: its newest row and quick stats
            // are repeated as they stand, without deriving its values again.
            let mut done = Done::default();
            if let Entity::Vm(v) = e
                && repeats.repeats(samples, v, previous_ms, end_ms)
            {
                done = sink.repeat(e, samples, shape, previous_ms, repeats.untouched(v));
                if done.perf && done.quick_stats {
                    continue;
                }
            }
            samples.write_values(e, &mut values);
            if !values.is_empty() {
                sink.entity(e, samples, shape, &values, done);
            }
        }
        repeats.finish(sink.inv);
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

/// The MoRefs of the model's entities by kind and id, with each one's key for the perf
/// store's repeats: rebuilt only when `ModelIds` changed (rebuilding it each interval walked
/// three maps of 10 000 names, and naming each entity copied its name).
#[derive(Debug, Default)]
pub(super) struct EntityRefs {
    /// The `ModelIds` change counts it was built at.
    built_at: Option<[u64; 3]>,
    hosts: Vec<Option<(MoRef, EntityKey)>>,
    pools: Vec<Option<(MoRef, EntityKey)>>,
    vms: Vec<Option<(MoRef, EntityKey)>>,
}

impl EntityRefs {
    /// Brings the table up to date with `ids`.
    fn refresh(&mut self, ids: &super::ModelIds) {
        let at = [ids.hosts.changes(), ids.pools.changes(), ids.vms.changes()];
        if self.built_at == Some(at) {
            return;
        }
        fn by_id(
            ty: &'static str,
            m: impl Iterator<Item = (String, u32)>,
        ) -> Vec<Option<(MoRef, EntityKey)>> {
            let mut out = Vec::new();
            for (value, id) in m {
                let i = id as usize;
                if out.len() <= i {
                    out.resize(i + 1, None);
                }
                let moref = MoRef::new(ty, value);
                let key = EntityKey::of(&moref);
                out[i] = Some((moref, key));
            }
            out
        }
        self.hosts = by_id(
            "HostSystem",
            ids.hosts.iter().map(|(k, v)| (k.clone(), v.0)),
        );
        self.pools = by_id(
            "ResourcePool",
            ids.pools.iter().map(|(k, v)| (k.clone(), v.0)),
        );
        self.vms = by_id(
            "VirtualMachine",
            ids.vms.iter().map(|(k, v)| (k.clone(), v.0)),
        );
        self.built_at = Some(at);
    }

    /// The MoRef of a model entity and its key, if it has one.
    fn get(&self, e: Entity) -> Option<&(MoRef, EntityKey)> {
        let (table, id) = match e {
            Entity::Host(h) => (&self.hosts, h.0),
            Entity::Pool(p) => (&self.pools, p.0),
            Entity::Vm(v) => (&self.vms, v.0),
        };
        table.get(id as usize)?.as_ref()
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

/// Which VMs' samples repeat the last interval's, bit for bit (`Samples::vm_repeats`), and
/// when each VM's samples were last taken in: a repeat counts only for a VM taken in at the
/// interval just before, so that what the perf store and the inventory hold for it is that
/// interval's (each checks too that nothing else wrote there since).
///
/// It also knows which VMs' objects changed since the last interval's samples were taken
/// in. A repeating VM whose object did not holds the quick stats this interval's values
/// give, so they are left as they stand: not looked up, not stamped. No property changed,
/// so no filter has anything to report; a stamp would only make every filter read 10 000
/// VMs again each interval to find that.
#[derive(Debug, Default)]
pub(super) struct VmRepeats {
    memo: scheduler_model::RepeatMemo,
    /// By VM id: the end of the last interval whose samples were taken in.
    seen_ms: Vec<i64>,
    /// The inventory's version when the last interval's samples had all been taken in.
    taken_at: Option<u64>,
    /// By VM id: whether its object changed since `taken_at` (this interval's view).
    touched: Vec<bool>,
    /// No repeats: every VM's values derived and recorded (tests compare the two).
    #[cfg(test)]
    pub(super) off: bool,
}

impl VmRepeats {
    /// Notes which VMs' objects changed since the last interval's samples were taken in:
    /// a walk of the inventory's changes since then, not of the VMs.
    fn start(&mut self, inv: &crate::inventory::Inventory, ids: &super::ModelIds) {
        self.touched.fill(false);
        let Some(since) = self.taken_at else {
            return;
        };
        for value in inv.changed_since(since) {
            if let Some(v) = ids.vms.get(value) {
                let i = v.0 as usize;
                if self.touched.len() <= i {
                    self.touched.resize(i + 1, false);
                }
                self.touched[i] = true;
            }
        }
    }

    /// Marks this interval's samples as taken in.
    fn finish(&mut self, inv: &crate::inventory::Inventory) {
        self.taken_at = Some(inv.version());
    }

    /// Whether VM `v`'s samples in the interval ending at `end_ms` repeat those of the
    /// interval ending at `previous_ms`, taken in just before; records this interval's.
    fn repeats(&mut self, samples: &Samples, v: VmId, previous_ms: i64, end_ms: i64) -> bool {
        let i = v.0 as usize;
        if self.seen_ms.len() <= i {
            self.seen_ms.resize(i + 1, i64::MIN);
        }
        let seen = std::mem::replace(&mut self.seen_ms[i], end_ms);
        #[cfg(test)]
        if self.off {
            return false;
        }
        samples.vm_repeats(v, &mut self.memo) && seen == previous_ms
    }

    /// Whether repeating VM `v`'s object is as the last interval left it (see the type).
    fn untouched(&self, v: VmId) -> bool {
        self.taken_at.is_some() && !self.touched.get(v.0 as usize).copied().unwrap_or(false)
    }
}

/// What a repeat already did for an entity this interval: its perf row, its quick stats.
#[derive(Clone, Copy, Debug, Default)]
struct Done {
    perf: bool,
    quick_stats: bool,
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
    /// A handful, searched in order: a hash of the key cost more than the search, once
    /// per entity per interval.
    by_shape: Vec<((Applies, u32), NamedShape)>,
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
        let at = match self.by_shape.iter().position(|(s, _)| *s == shape) {
            Some(at) => at,
            None => {
                self.by_shape
                    .push((shape, Self::name(perf, names, samples, e)));
                self.by_shape.len() - 1
            }
        };
        &self.by_shape[at].1
    }

    /// Works out the naming of `e`'s shape from `e`'s samples.
    fn name(
        perf: &mut PerfStore,
        names: &mut SampleNames,
        samples: &Samples,
        e: Entity,
    ) -> NamedShape {
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
    }
}

/// Where one interval's samples go: the perf store and the quick stats, with what the
/// interval's entities share (the shapes' names, the entities' MoRefs).
struct IntervalSink<'a> {
    perf: &'a mut PerfStore,
    hints: &'a mut PerfHints,
    inv: &'a mut crate::inventory::Inventory,
    refs: &'a EntityRefs,
    shapes: &'a mut RowShapes,
    end_ms: i64,
    /// The kept values of an entity whose shape drops some (reused).
    kept: Vec<i64>,
}

impl IntervalSink<'_> {
    /// Repeats a VM's newest perf row and quick stats, whose samples repeat those of the
    /// interval ending at `previous_ms` (see [`VmRepeats`]); says which of the two it did
    /// (each refuses when something else wrote there since: the caller then records the
    /// values).
    fn repeat(
        &mut self,
        e: Entity,
        samples: &Samples,
        shape: (Applies, u32),
        previous_ms: i64,
        untouched: bool,
    ) -> Done {
        let refs = self.refs;
        let Some((moref, key)) = refs.get(e) else {
            // No MoRef: `entity` would record nothing either.
            return Done {
                perf: true,
                quick_stats: true,
            };
        };
        let named = self.shapes.named(self.perf, samples, e, shape);
        let perf = named.layout.as_ref().is_some_and(|layout| {
            self.perf.record_repeat_hinted(
                self.hints.get(e),
                moref,
                *key,
                previous_ms,
                self.end_ms,
                layout,
            )
        });
        // Untouched since the last interval left it: its quick stats stand as they are.
        let quick_stats = untouched || self.inv.repeat_leaf(moref, quick_stats::REFRESH);
        Done { perf, quick_stats }
    }

    /// Records one entity's values of the interval (`Samples::write_values`, of shape
    /// `shape`) and refreshes its quick stats, but for what `done` says a repeat did.
    fn entity(
        &mut self,
        e: Entity,
        samples: &Samples,
        shape: (Applies, u32),
        values: &[i64],
        done: Done,
    ) {
        let refs = self.refs;
        let Some((moref, _)) = refs.get(e) else {
            return;
        };
        let named = self.shapes.named(self.perf, samples, e, shape);
        if !named.fits(values) {
            // Not the shape's count: name these samples one by one.
            let listed: Vec<CounterSample> = samples
                .entity(e)
                .map(|s| (s.counter, s.instance, s.value))
                .collect();
            let mut names = SampleNames::new();
            if !done.perf {
                self.perf.record_all_hinted(
                    self.hints.get(e),
                    moref,
                    self.end_ms,
                    names.named(&listed),
                );
            }
            if !done.quick_stats {
                quick_stats::refresh(self.inv, moref, &quick_stats::totals(listed));
            }
            return;
        }
        if !done.perf {
            let kept = named.kept(values, &mut self.kept);
            named.record(self.perf, self.hints.get(e), moref, self.end_ms, kept);
        }
        if !done.quick_stats {
            let totals = quick_stats::totals(
                named
                    .counters
                    .iter()
                    .zip(values)
                    .map(|(&(c, i), &v)| (c, i, v)),
            );
            quick_stats::refresh(self.inv, moref, &totals);
        }
    }
}

#[cfg(test)]
#[path = "repeats_tests.rs"]
mod repeats_tests;

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
